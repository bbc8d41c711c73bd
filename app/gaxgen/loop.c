/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop: one lcore sends, receives and answers. Each turn it
 * sends up to a burst (as many as the TSC-based rate allows, frames the
 * port refused are offered again first), polls the rx port (stamped frames
 * are counted, ARP requests for the clients answered) and, with a reply
 * port, turns the stamped frames arriving there into the endpoints' replies.
 * Sending stops at the count, the duration or SIGINT; receiving goes on for
 * the drain time after that, so that what is in flight is counted.
 */
#include <stdio.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "gaxgen.h"

struct loop {
	struct gen_ctx *c;
	struct gax_gen_flows *flows;
	uint64_t hz, start;
	double ns_per_cycle;
	uint64_t k;			/* next packet number */
	struct rte_mbuf *pending[GEN_BURST];
	uint16_t n_pending;
};

static inline uint64_t
now_ns(const struct loop *l)
{
	return (uint64_t)((double)(rte_rdtsc() - l->start) * l->ns_per_cycle);
}

/*
 * The stamps' clock: CLOCK_MONOTONIC (a vDSO call, once per burst), shared by
 * every process of the machine, so that a receiver in another process (or
 * namespace) measures latency against the sender's stamps.
 */
static inline uint32_t
stamp_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Build up to @p want frames into the pending burst. */
static void
fill(struct loop *l, uint64_t want)
{
	struct gen_ctx *c = l->c;
	const struct gax_gen_scenario *sc = c->sc;
	uint16_t room = GEN_BURST - l->n_pending, n, i;
	uint64_t t = now_ns(l);
	uint32_t ts = stamp_ns();

	n = want < room ? (uint16_t)want : room;
	if (n == 0 || rte_pktmbuf_alloc_bulk(c->pool, l->pending + l->n_pending, n) != 0)
		return;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = l->pending[l->n_pending + i];
		struct gax_gen_tuple tu;
		bool first = gax_gen_flows_next(l->flows, l->k, t, &tu);
		uint16_t size = sc->frame_sizes[l->k % sc->n_frame_sizes];
		int len = gax_gen_build(sc, rte_pktmbuf_mtod(m, uint8_t *),
				rte_pktmbuf_tailroom(m), size, &tu, first, (uint32_t)l->k,
				ts, c->src_mac, c->dst_mac);

		m->data_len = m->pkt_len = len > 0 ? (uint32_t)len : 0;
		l->k++;
	}
	l->n_pending += n;
}

static void
send_some(struct loop *l, uint64_t elapsed_ns)
{
	struct gen_ctx *c = l->c;
	uint64_t allowed = GEN_BURST, left = c->count - (c->tx.packets + l->n_pending);
	uint16_t sent, i;

	if (c->rate_pps != 0) {
		uint64_t due = (uint64_t)((double)elapsed_ns * 1e-9 * (double)c->rate_pps) + 1;
		uint64_t done = c->tx.packets + l->n_pending;

		allowed = due > done ? due - done : 0;
	}
	if (allowed > left)
		allowed = left;
	fill(l, allowed);
	if (l->n_pending == 0)
		return;
	sent = rte_eth_tx_burst(c->o->tx_port, 0, l->pending, l->n_pending);
	for (i = 0; i < sent; i++)
		c->tx.bytes += l->pending[i]->pkt_len;
	c->tx.packets += sent;
	if (sent < l->n_pending) {
		c->tx.tx_dropped += l->n_pending - sent;	/* offered again next turn */
		for (i = sent; i < l->n_pending; i++)
			l->pending[i - sent] = l->pending[i];
	}
	l->n_pending -= sent;
}

static void
poll_rx(struct loop *l)
{
	struct gen_ctx *c = l->c;
	uint16_t port = c->o->rx_port, n, i;
	struct rte_mbuf *pkts[GEN_BURST];
	uint32_t t;

	n = rte_eth_rx_burst(port, 0, pkts, GEN_BURST);
	if (n == 0)
		return;
	t = stamp_ns();
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (gen_arp_answer(c, m, port))
			continue;
		gax_gen_rx_frame(&c->rx, rte_pktmbuf_mtod(m, uint8_t *), m->data_len, t);
		rte_pktmbuf_free(m);
	}
}

static void
poll_reply(struct loop *l)
{
	struct gen_ctx *c = l->c;
	uint16_t port = c->o->reply_port, n, i, k = 0, sent;
	struct rte_mbuf *pkts[GEN_BURST], *out[GEN_BURST];

	n = rte_eth_rx_burst(port, 0, pkts, GEN_BURST);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (gen_arp_answer(c, m, port))
			continue;
		if (gax_gen_reply(rte_pktmbuf_mtod(m, uint8_t *), m->data_len) == 0)
			out[k++] = m;
		else
			rte_pktmbuf_free(m);
	}
	if (k == 0)
		return;
	sent = rte_eth_tx_burst(port, 0, out, k);
	c->tx.replies += sent;
	for (i = sent; i < k; i++)
		rte_pktmbuf_free(out[i]);
}

int
gen_loop(void *arg)
{
	struct gen_ctx *c = arg;
	struct loop l = { .c = c };
	uint64_t stop_at_ns, drain_ns, end_ns = UINT64_MAX, t;
	bool sending = !c->o->rx_only;

	l.flows = gax_gen_flows_create(c->sc);
	if (l.flows == NULL) {
		fprintf(stderr, "gaxgen: out of memory for %llu flows\n",
				(unsigned long long)c->sc->flows);
		return -1;
	}
	l.hz = rte_get_tsc_hz();
	l.ns_per_cycle = 1e9 / (double)l.hz;
	stop_at_ns = c->duration_s > 0 ? (uint64_t)(c->duration_s * 1e9) : UINT64_MAX;
	drain_ns = (uint64_t)(c->o->drain_s * 1e9);
	l.start = rte_rdtsc();
	if (!sending)	/* --rx-only: receive and answer for the duration (or until SIGINT) */
		end_ns = stop_at_ns;
	for (;;) {
		t = now_ns(&l);
		if (sending && (gen_stop || t >= stop_at_ns || c->tx.packets >= c->count)) {
			sending = false;
			c->tx.elapsed_s = (double)t * 1e-9;
			end_ns = t + drain_ns;
		}
		if (sending)
			send_some(&l, t);
		else if (t >= end_ns || (gen_stop && c->o->rx_only))
			break;
		poll_rx(&l);
		if (c->o->reply_port != GEN_NO_PORT)
			poll_reply(&l);
	}
	if (c->o->rx_only)
		c->tx.elapsed_s = (double)now_ns(&l) * 1e-9;
	if (l.n_pending != 0)
		rte_pktmbuf_free_bulk(l.pending, l.n_pending);
	/* a refused frame offered again is counted once it is sent, not as refused */
	c->tx.flows_opened = gax_gen_flows_opened(l.flows);
	gax_gen_flows_free(l.flows);
	return 0;
}
