/* SPDX-License-Identifier: BSD-3-Clause */
/* What the files of gaxd share: the daemon's state, ports, workers, counters. */
#ifndef GAXD_H
#define GAXD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <jansson.h>

#include <gax_config.h>
#include <gax_fwd.h>
#include <gax_health.h>
#include <gax_resolve.h>
#include <gax_snapshot.h>

extern int gaxd_logtype;
#define GAXD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, gaxd_logtype, "gaxd: " fmt "\n", ##__VA_ARGS__)

#define GAXD_MAX_WORKERS	RTE_MAX_LCORE
#define GAXD_RX_DESC		1024
#define GAXD_TX_DESC		1024
#define GAXD_RING_SIZE		4096	/* hand-over ring per worker */
#define GAXD_DEFAULT_SOCKET	"/run/gax/gaxd.sock"

/*
 * What the control thread publishes to the workers: a compiled snapshot,
 * the configuration and document it came from (control side only), and the
 * counter arrays each worker moves to (gax_fwd_switch()). Published by one
 * pointer store; freed after an RCU grace period once a newer one is out.
 */
struct gaxd_ctl;

struct gaxd_gen {
	uint64_t generation;
	struct gax_snapshot *snap;
	struct gax_config *cfg;
	json_t *doc;				/* the running config document */
	struct gax_fwd_listener_ctr **lctr;	/* [n_workers]; NULL for the first */
	struct gax_fwd_endpoint_ctr **ectr;
};

/*
 * A `flows` request, served by each worker a slice per loop (a full scan of
 * a large table at once would stall its queue). The control thread sets it
 * up and sets state RUNNING; the worker sets DONE.
 */
enum { GAXD_FQ_IDLE = 0, GAXD_FQ_RUNNING, GAXD_FQ_DONE };
#define GAXD_FQ_SLICE 4096	/* flow records a worker scans per loop */

struct gaxd_flow_query {
	uint32_t state;
	uint32_t pos;
	uint32_t listener_id;	/* UINT32_MAX: any */
	uint32_t endpoint_addr;	/* 0: any */
	uint32_t client_addr;	/* 0: any */
	uint32_t limit;		/* records wanted in out[] */
	struct gax_flow *out;	/* [limit], from the control thread */
	uint32_t n_out;
	uint64_t matched;
	uint64_t total;
	uint64_t now;		/* the worker's clock at the end of its scan */
};

/* A frame waiting in a worker's transmit buffer for one interface. */
struct gaxd_txq {
	uint16_t n;
	struct rte_mbuf *m[GAX_FWD_BURST * 2];
};

/* Counters of a kernel twin, written by the twin thread (atomics). */
struct gaxd_twin_ctr {
	uint64_t to_kernel;		/* frames written to the tap */
	uint64_t to_kernel_failed;	/* the tap refused them */
	uint64_t from_kernel;		/* frames the kernel sent, handed to worker 0 */
	uint64_t from_kernel_dropped;	/* worker 0's ring was full */
};

/* An interface's kernel twin (twin.c): a net_tap port and the ring towards it. */
struct gaxd_twin {
	bool on;
	uint16_t port;			/* the tap's DPDK port */
	int ifindex;			/* its kernel interface */
	struct rte_ring *to_kernel;	/* workers -> twin thread (MP/SC) */
	char vdev[32];			/* "" when not created */
	char name[16];			/* the kernel interface's name */
	char iface[40];			/* the gax interface's name */
	struct gax_prefix *addrs;	/* the kernel side's addresses, as gaxd set them */
	unsigned int n_addrs;
	struct gaxd_twin_ctr ctr;
};
#define GAXD_TWIN_RING		1024	/* frames queued each way */
#define GAXD_TWIN_DESC		512	/* tap RX and TX descriptors */

struct gaxd_worker {
	struct gax_fwd_worker *fwd;
	struct rte_ring *ring;		/* frames other workers hand over (MP/SC) */
	struct gaxd *d;
	uint32_t id;
	unsigned int lcore;
	uint16_t queue;			/* RX and TX queue on every port */
	struct gaxd_txq txq[GAX_FWD_MAX_IFACES];
	uint64_t loops;
	const struct gaxd_gen *gen;	/* the generation this worker runs */
	struct gaxd_flow_query fq;
} __rte_cache_aligned;

struct gaxd_opts {
	const char *config_path;
	const char *stats_json;		/* write the final counters here */
	const char *socket_path;	/* the control socket */
	uint32_t flows;			/* flow capacity, all workers together */
	double duration;		/* stop after this many seconds; 0: run until a signal */
	uint32_t resolve_interval;	/* re-resolve domain endpoints without a DNS TTL (s) */
	uint32_t mbufs;			/* pool size asked for; 0: computed */
	bool check;			/* load, compile, open the ports, exit */
	bool trust_l4;			/* no software TCP/UDP checksum check (--trust-l4-checksums) */
};

struct gaxd {
	struct gaxd_opts opts;
	struct gax_config *cfg;		/* the running generation's, for the control thread */
	struct gax_snapshot *snap;
	struct gaxd_gen *gen;		/* published to the workers */
	struct rte_rcu_qsbr *rcu;
	struct gaxd_ctl *ctl;		/* the control socket; NULL when not open */
	struct gax_resolver *res;	/* domain endpoints, resolved on threads of their own */
	struct gax_health *health;	/* the health prober (health.c) */
	struct gaxd_hstate *hstate;	/* drain, states seen, fail-open counts (health.c) */
	struct gaxd_xdp *xdp;		/* the XDP steering program's maps; NULL: no net_af_xdp port */
	/*
	 * Held by the control thread while it swaps and frees generations, and
	 * by the telemetry thread while it reads them. Never by a worker.
	 */
	pthread_mutex_t lock;
	uint64_t applied;		/* configurations published since start */
	uint64_t refused;		/* configurations refused since start */
	struct rte_mempool *pool;
	uint32_t n_ifaces;
	uint16_t port_of_iface[GAX_FWD_MAX_IFACES];
	bool rx_csum[GAX_FWD_MAX_IFACES];	/* the port's mbufs carry the NIC's checksum verdicts */
	uint16_t iface_of_port[RTE_MAX_ETHPORTS];	/* UINT16_MAX: not ours */
	uint32_t n_workers;
	struct gaxd_worker *workers;
	struct gaxd_twin twins[GAX_FWD_MAX_IFACES];
	struct rte_ring *from_kernel;	/* twin thread -> worker 0 (SP/SC); NULL: no twin */
	pthread_t twin_thread;
	bool twin_running;
	bool nft_guard;			/* twin.c added the nftables table */
	uint16_t snat_port_min;		/* the full-NAT source ports the workers use */
	uint16_t snat_port_max;
	volatile bool stop;
	uint64_t started_tsc;
};

/* port.c */
int gaxd_ports_open(struct gaxd *d);
void gaxd_ports_close(struct gaxd *d);

/* twin.c: kernel twins, the exception path */
bool gaxd_twin_any(const struct gax_config *cfg);
int gaxd_twin_nat_range(const struct gaxd *d, uint16_t *lo, uint16_t *hi);
int gaxd_twins_open(struct gaxd *d);	/* after gaxd_ports_open() */
int gaxd_twins_start(struct gaxd *d);
void gaxd_twins_sync(struct gaxd *d);	/* addresses, after each publication */
void gaxd_twins_stop(struct gaxd *d);	/* after the workers stopped */
void gaxd_twins_close(struct gaxd *d);
unsigned int gaxd_twin_from_kernel(struct gaxd *d, struct rte_mbuf **m, unsigned int max);
json_t *gaxd_twin_stats_json(const struct gaxd *d);	/* NULL: no twin */
void gaxd_twin_stats_print(const struct gaxd *d, FILE *out);

/* worker.c */
int gaxd_workers_create(struct gaxd *d);
int gaxd_worker_main(void *arg);
void gaxd_workers_free(struct gaxd *d);

/* publish.c */
int gaxd_gen_first(struct gaxd *d, json_t *doc);
json_t *gaxd_apply(struct gaxd *d, json_t *doc, bool dry_run, bool persist);
json_t *gaxd_reload(struct gaxd *d, bool dry_run);
void gaxd_gen_free_all(struct gaxd *d);
int gaxd_resolver_start(struct gaxd *d);
void gaxd_resolver_names(struct gaxd *d, const struct gax_config *cfg, bool wait);
void gaxd_resolver_changed(struct gaxd *d);

/* control.c */
int gaxd_control_open(struct gaxd *d);
void gaxd_control_poll(struct gaxd *d, int timeout_ms);
void gaxd_control_close(struct gaxd *d);

/* health.c */
int gaxd_health_start(struct gaxd *d);		/* before the first compile */
void gaxd_health_stop(struct gaxd *d);
void gaxd_health_opts(struct gaxd *d, struct gax_snapshot_opts *so); /* every compile */
void gaxd_health_published(struct gaxd *d);	/* targets and fail-open log, after each publish */
int gaxd_health_fd(const struct gaxd *d);	/* readable: gaxd_health_changed() */
void gaxd_health_changed(struct gaxd *d);
json_t *gaxd_health_drain(struct gaxd *d, const json_t *req, bool drain);
void gaxd_health_endpoint_json(const struct gaxd *d, uint32_t ei, json_t *ej);
json_t *gaxd_health_stats_json(const struct gaxd *d);

/* telemetry.c */
void gaxd_telemetry_register(struct gaxd *d);

/* cmds.c */
json_t *gaxd_handle(struct gaxd *d, const json_t *req);

/* xdp.c */
int gaxd_xdp_open(struct gaxd *d);	/* before gaxd_ports_open() */
int gaxd_xdp_refill(struct gaxd *d);	/* the maps from d->snap, after each publication */
int gaxd_xdp_check(struct gaxd *d);	/* after gaxd_ports_open() */
void gaxd_xdp_close(struct gaxd *d);	/* after gaxd_ports_close() */
json_t *gaxd_xdp_stats_json(const struct gaxd *d);	/* NULL: no XDP program */
void gaxd_xdp_stats_print(const struct gaxd *d, FILE *out);

/* stats.c */
void gaxd_stats_print(const struct gaxd *d, FILE *out);
int gaxd_stats_write_json(const struct gaxd *d, const char *path);
json_t *gaxd_stats_json(const struct gaxd *d);
/* Counters of listener/endpoint id summed over the workers (control thread). */
void gaxd_listener_sum(const struct gaxd *d, uint32_t id, struct gax_fwd_listener_ctr *out);
void gaxd_endpoint_sum(const struct gaxd *d, uint32_t id, struct gax_fwd_endpoint_ctr *out);

#endif /* GAXD_H */
