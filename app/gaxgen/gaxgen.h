/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxgen's program-wide state, shared by its files: the options (main.c),
 * the ports (port.c), the worker loop (loop.c) and the report (report.c).
 * The scenario logic itself is lib/gen, plain C.
 */
#ifndef GAXGEN_H
#define GAXGEN_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "gax_gen.h"

#define GEN_NO_PORT	UINT16_MAX
#define GEN_BURST	32

struct gen_opts {
	const char *scenario;
	const char *write_pcap;
	const char *json;
	bool check;
	bool list_ports;
	bool rx_only;			/* receive (and answer) only, for the duration */
	uint16_t tx_port, rx_port, reply_port;
	bool rx_port_set;
	double duration_s;		/* 0: the scenario's */
	uint64_t count;			/* 0: the scenario's */
	int64_t rate_pps;		/* -1: the scenario's */
	double drain_s;			/* receive this long after the last send */
	double linger_s;		/* then keep the ports open, unpolled, this long */
	double link_timeout_s;		/* wait this long for links and ARP */
};

struct gen_ctx {
	const struct gen_opts *o;
	struct gax_gen_scenario *sc;
	struct rte_mempool *pool;
	uint8_t src_mac[6], dst_mac[6];	/* of the frames sent on the tx port */
	uint8_t port_mac[RTE_MAX_ETHPORTS][6];
	uint64_t count;			/* packets to send; UINT64_MAX: no bound */
	double duration_s;		/* 0: no bound */
	uint64_t rate_pps;
	/* results */
	struct gax_gen_tx_summary tx;
	struct gax_gen_rx rx;
};

extern volatile bool gen_stop;

/* port.c */
int gen_ports_start(struct gen_ctx *c);
void gen_ports_stop(struct gen_ctx *c);
int gen_resolve_dst_mac(struct gen_ctx *c);
bool gen_arp_answer(struct gen_ctx *c, struct rte_mbuf *m, uint16_t port);

/* loop.c */
int gen_loop(void *arg);

/* report.c */
int gen_report(struct gen_ctx *c);

#endif /* GAXGEN_H */
