/* SPDX-License-Identifier: BSD-3-Clause */
/* What the files of gaxd share: the daemon's state, ports, workers, counters. */
#ifndef GAXD_H
#define GAXD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <gax_config.h>
#include <gax_fwd.h>
#include <gax_snapshot.h>

extern int gaxd_logtype;
#define GAXD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, gaxd_logtype, "gaxd: " fmt "\n", ##__VA_ARGS__)

#define GAXD_MAX_WORKERS	RTE_MAX_LCORE
#define GAXD_RX_DESC		1024
#define GAXD_TX_DESC		1024
#define GAXD_RING_SIZE		4096	/* hand-over ring per worker */

/* A frame waiting in a worker's transmit buffer for one interface. */
struct gaxd_txq {
	uint16_t n;
	struct rte_mbuf *m[GAX_FWD_BURST * 2];
};

struct gaxd_worker {
	struct gax_fwd_worker *fwd;
	struct rte_ring *ring;		/* frames other workers hand over (MP/SC) */
	struct gaxd *d;
	uint32_t id;
	unsigned int lcore;
	uint16_t queue;			/* RX and TX queue on every port */
	struct gaxd_txq txq[GAX_FWD_MAX_IFACES];
	uint64_t loops;
} __rte_cache_aligned;

struct gaxd_opts {
	const char *config_path;
	const char *stats_json;		/* write the final counters here */
	uint32_t flows;			/* flow capacity, all workers together */
	double duration;		/* stop after this many seconds; 0: run until a signal */
	bool check;			/* load, compile, open the ports, exit */
};

struct gaxd {
	struct gaxd_opts opts;
	struct gax_config *cfg;
	struct gax_snapshot *snap;
	struct rte_mempool *pool;
	uint32_t n_ifaces;
	uint16_t port_of_iface[GAX_FWD_MAX_IFACES];
	uint16_t iface_of_port[RTE_MAX_ETHPORTS];	/* UINT16_MAX: not ours */
	uint32_t n_workers;
	struct gaxd_worker *workers;
	volatile bool stop;
	uint64_t started_tsc;
};

/* port.c */
int gaxd_ports_open(struct gaxd *d);
void gaxd_ports_close(struct gaxd *d);

/* worker.c */
int gaxd_workers_create(struct gaxd *d);
int gaxd_worker_main(void *arg);
void gaxd_workers_free(struct gaxd *d);

/* stats.c */
void gaxd_stats_print(const struct gaxd *d, FILE *out);
int gaxd_stats_write_json(const struct gaxd *d, const char *path);

#endif /* GAXD_H */
