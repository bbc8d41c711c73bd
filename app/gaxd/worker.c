/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll-mode worker: receive a burst on each port, let lib/fwd decide,
 * act on the verdicts (transmit, free, hand over), then the frames other
 * workers handed over, then the timers. No lock, no syscall, no allocation
 * but the mbufs of ARP requests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <gax_packet.h>

#include "gaxd.h"

static void
txq_flush(struct gaxd_worker *wk, uint16_t iface)
{
	struct gaxd_txq *q = &wk->txq[iface];
	uint64_t bytes = 0;
	uint16_t sent, i;

	if (q->n == 0)
		return;
	/* Lengths read before the driver may free the mbufs; counted once per burst. */
	for (i = 0; i < q->n; i++)
		bytes += q->m[i]->pkt_len;
	sent = rte_eth_tx_burst(wk->d->port_of_iface[iface], wk->queue, q->m, q->n);
	wk->fwd->ctr.iface[iface].tx_packets += sent;
	for (i = sent; i < q->n; i++) {
		bytes -= q->m[i]->pkt_len; /* not sent: still ours */
		gax_fwd_count_drop(wk->fwd, GAX_DROP_TX_FULL);
		rte_pktmbuf_free(q->m[i]);
	}
	wk->fwd->ctr.iface[iface].tx_bytes += bytes;
	q->n = 0;
}

static inline void
txq_add(struct gaxd_worker *wk, uint16_t iface, struct rte_mbuf *m)
{
	struct gaxd_txq *q = &wk->txq[iface];

	if (q->n == RTE_DIM(q->m))
		txq_flush(wk, iface);
	q->m[q->n++] = m;
}

/* lib/fwd asks for an ARP request: build it in a fresh mbuf. */
static void
send_arp(void *ctx, uint16_t iface, uint32_t sip, uint32_t tip)
{
	struct gaxd_worker *wk = ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(wk->d->pool);
	int len;

	if (m == NULL)
		return; /* the next packet for that hop asks again */
	len = gax_pkt_arp_request(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
			wk->fwd->mac[iface], sip, tip);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	txq_add(wk, iface, m);
}

/* A held frame's next hop answered. */
static void
tx_held(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct gaxd_worker *wk = ctx;
	struct rte_mbuf *m = pkt;

	(void)addr;
	gax_pkt_set_macs(rte_pktmbuf_mtod(m, uint8_t *), wk->fwd->mac[iface], mac);
	txq_add(wk, iface, m);
}

static void
drop_held(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	(void)ctx;
	(void)iface;
	(void)addr;
	(void)mac;
	rte_pktmbuf_free(pkt);
}

static inline uint8_t
csum_state(const struct rte_mbuf *m)
{
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD || l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return GAX_FWD_CSUM_BAD;
	if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD && l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return GAX_FWD_CSUM_GOOD;
	return GAX_FWD_CSUM_UNKNOWN;
}

/*
 * With several workers, every other worker gets a copy of each ARP frame
 * (they learn from it: the answer may be for a request one of them sent).
 * ARP is rare; the copies come from the pool.
 */
static void
share_arp(struct gaxd_worker *wk, struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct rte_mbuf *c;
	uint32_t i;

	if (m->data_len < GAX_PKT_ETH_HLEN || f[12] != (GAX_PKT_ETHERTYPE_ARP >> 8) ||
			f[13] != (GAX_PKT_ETHERTYPE_ARP & 0xff))
		return;
	for (i = 0; i < wk->d->n_workers; i++) {
		if (i == wk->id)
			continue;
		c = rte_pktmbuf_copy(m, wk->d->pool, 0, UINT32_MAX);
		if (c == NULL)
			return;
		c->port = m->port;
		if (rte_ring_mp_enqueue(wk->d->workers[i].ring, c) != 0)
			rte_pktmbuf_free(c);
	}
}

/* Serve @p n frames received on @p iface (or handed over when @p redirected). */
static void
serve(struct gaxd_worker *wk, struct rte_mbuf **m, uint16_t n, uint16_t iface, bool redirected,
		uint64_t now)
{
	uint8_t *frames[GAX_FWD_BURST];
	uint16_t lens[GAX_FWD_BURST];
	uint8_t csum[GAX_FWD_BURST];
	struct gax_fwd_verdict v[GAX_FWD_BURST];
	bool hw_csum = wk->d->rx_csum[iface]; /* else lib/fwd checks them in software */
	uint16_t i;

	if (n == 0 || n > GAX_FWD_BURST)
		return;
	for (i = 0; i < n; i++) {
		frames[i] = rte_pktmbuf_mtod(m[i], uint8_t *);
		rte_prefetch0(frames[i]);
		lens[i] = m[i]->data_len; /* single-segment mbufs: the parser reads one buffer */
		if (hw_csum)
			csum[i] = csum_state(m[i]);
		if (wk->d->n_workers > 1 && !redirected)
			share_arp(wk, m[i]);
	}
	gax_fwd_burst(wk->fwd, frames, lens, (void *const *)m, hw_csum ? csum : NULL, n, iface,
			redirected, now, v);
	for (i = 0; i < n; i++) {
		switch (v[i].action) {
		case GAX_FWD_TX:
			txq_add(wk, v[i].iface, m[i]);
			break;
		case GAX_FWD_HELD:
			break;
		case GAX_FWD_KERNEL:
			if (rte_ring_mp_enqueue(wk->d->twins[v[i].iface].to_kernel, m[i]) != 0) {
				gax_fwd_count_drop(wk->fwd, GAX_DROP_KERNEL_QUEUE_FULL);
				rte_pktmbuf_free(m[i]);
			}
			break;
		case GAX_FWD_REDIRECT:
			m[i]->port = wk->d->port_of_iface[iface];
			if (rte_ring_mp_enqueue(wk->d->workers[v[i].worker].ring, m[i]) != 0) {
				gax_fwd_count_drop(wk->fwd, GAX_DROP_REDIRECT_FULL);
				rte_pktmbuf_free(m[i]);
			}
			break;
		default:
			rte_pktmbuf_free(m[i]);
			break;
		}
	}
}

/* Frames handed over by other workers, grouped by receiving interface. */
static void
serve_ring(struct gaxd_worker *wk, uint64_t now)
{
	struct rte_mbuf *m[GAX_FWD_BURST];
	unsigned int n, i, start;

	n = rte_ring_sc_dequeue_burst(wk->ring, (void **)m, GAX_FWD_BURST, NULL);
	for (start = 0; start < n; start = i) {
		uint16_t iface = wk->d->iface_of_port[m[start]->port];

		for (i = start + 1; i < n && m[i]->port == m[start]->port; i++)
			;
		serve(wk, &m[start], (uint16_t)(i - start), iface, true, now);
	}
}

/* Worker 0 transmits what the kernel twins sent, as they sent it. */
static void
serve_from_kernel(struct gaxd_worker *wk)
{
	struct rte_mbuf *m[GAX_FWD_BURST];
	unsigned int n, i;

	n = gaxd_twin_from_kernel(wk->d, m, GAX_FWD_BURST);
	for (i = 0; i < n; i++)
		txq_add(wk, wk->d->iface_of_port[m[i]->port], m[i]);
}

/* The slice of a `flows` request this loop: scan, filter, copy a sample. */
static void
serve_flow_query(struct gaxd_worker *wk, uint64_t now)
{
	struct gaxd_flow_query *q = &wk->fq;
	struct gax_flow_table *t = wk->fwd->flows;
	uint32_t start = q->pos;
	struct gax_flow *f;

	while (q->pos - start < GAXD_FQ_SLICE) {
		f = gax_flow_next(t, &q->pos);
		if (f == NULL) {
			q->total = gax_flow_count(t);
			q->now = now;
			__atomic_store_n(&q->state, GAXD_FQ_DONE, __ATOMIC_RELEASE);
			return;
		}
		if ((q->listener_id != UINT32_MAX && f->listener != q->listener_id) ||
				(q->endpoint_addr != 0 && gax_flow_endpoint_addr(f) != q->endpoint_addr) ||
				(q->client_addr != 0 && gax_flow_client_addr(f) != q->client_addr))
			continue;
		q->matched++;
		if (q->n_out < q->limit)
			q->out[q->n_out++] = *f;
	}
}

/*
 * Between loops: move to the newest published generation, serve a slice of
 * a flows request, then report the quiescent state (nothing of an older
 * generation is held past this point).
 */
static inline void
worker_sync(struct gaxd_worker *wk, uint64_t now)
{
	struct gaxd *d = wk->d;
	const struct gaxd_gen *g = __atomic_load_n(&d->gen, __ATOMIC_ACQUIRE);

	if (unlikely(g != wk->gen)) {
		gax_fwd_switch(wk->fwd, g->snap, g->lctr[wk->id], g->snap->next_listener_id,
				g->ectr[wk->id], g->snap->next_endpoint_id);
		wk->gen = g;
	}
	if (unlikely(__atomic_load_n(&wk->fq.state, __ATOMIC_ACQUIRE) == GAXD_FQ_RUNNING))
		serve_flow_query(wk, now);
	rte_rcu_qsbr_quiescent(d->rcu, wk->id);
}

int
gaxd_worker_main(void *arg)
{
	struct gaxd_worker *wk = arg;
	struct gaxd *d = wk->d;
	struct rte_mbuf *m[GAX_FWD_BURST];
	uint16_t iface, n;

	GAXD_LOG(INFO, "worker %u on lcore %u: queue %u of every port", wk->id, wk->lcore,
			wk->queue);
	rte_rcu_qsbr_thread_register(d->rcu, wk->id);
	rte_rcu_qsbr_thread_online(d->rcu, wk->id);
	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		uint64_t now = rte_rdtsc();

		for (iface = 0; iface < d->n_ifaces; iface++) {
			n = rte_eth_rx_burst(d->port_of_iface[iface], wk->queue, m, GAX_FWD_BURST);
			if (n > 0)
				serve(wk, m, n, iface, false, now);
		}
		if (d->n_workers > 1)
			serve_ring(wk, now);
		if (wk->id == 0 && d->from_kernel != NULL)
			serve_from_kernel(wk);
		for (iface = 0; iface < d->n_ifaces; iface++)
			txq_flush(wk, iface);
		gax_fwd_housekeep(wk->fwd, now);
		worker_sync(wk, now);
		wk->loops++;
	}
	for (iface = 0; iface < d->n_ifaces; iface++)
		txq_flush(wk, iface);
	rte_rcu_qsbr_thread_offline(d->rcu, wk->id);
	rte_rcu_qsbr_thread_unregister(d->rcu, wk->id);
	return 0;
}

int
gaxd_workers_create(struct gaxd *d)
{
	struct gax_fwd_opts o;
	unsigned int lcore;
	uint32_t i = 0;
	uint16_t nat_lo, nat_hi;
	char name[RTE_RING_NAMESIZE];

	if (gaxd_twin_nat_range(d, &nat_lo, &nat_hi) != 0)
		return -EINVAL;
	d->snat_port_min = nat_lo;
	d->snat_port_max = nat_hi;
	GAXD_LOG(INFO, "TCP/UDP checksums: %s", d->opts.trust_l4 ?
			"trusted where the NIC does not check them (--trust-l4-checksums)" :
			"checked in software where the NIC does not check them");

	d->workers = rte_zmalloc("gax_workers", sizeof(*d->workers) * d->n_workers,
			RTE_CACHE_LINE_SIZE);
	d->rcu = rte_zmalloc("gax_rcu", rte_rcu_qsbr_get_memsize(d->n_workers),
			RTE_CACHE_LINE_SIZE);
	if (d->workers == NULL || d->rcu == NULL || rte_rcu_qsbr_init(d->rcu, d->n_workers) != 0)
		return -ENOMEM;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct gaxd_worker *wk = &d->workers[i];

		gax_fwd_opts_init(&o);
		o.worker_id = i;
		o.n_workers = d->n_workers;
		o.flow_capacity = d->opts.flows / d->n_workers;
		if (o.flow_capacity == 0)
			o.flow_capacity = 1;
		o.ticks_per_second = rte_get_tsc_hz();
		o.snat_port_min = nat_lo;
		o.snat_port_max = nat_hi;
		o.verify_l4_csum = !d->opts.trust_l4;
		wk->fwd = gax_fwd_create(d->snap, &o);
		if (wk->fwd == NULL) {
			GAXD_LOG(ERR, "worker %u: cannot create its tables (%u flows): %s", i,
					o.flow_capacity, strerror(errno));
			return -ENOMEM;
		}
		gax_fwd_set_io(wk->fwd, send_arp, tx_held, drop_held, wk);
		snprintf(name, sizeof(name), "gax_handover_%u", i);
		wk->ring = rte_ring_create(name, GAXD_RING_SIZE, rte_lcore_to_socket_id(lcore),
				RING_F_SC_DEQ);
		if (wk->ring == NULL) {
			GAXD_LOG(ERR, "worker %u: cannot create its ring: %s", i,
					rte_strerror(rte_errno));
			return -ENOMEM;
		}
		wk->d = d;
		wk->gen = d->gen;
		wk->id = i;
		wk->lcore = lcore;
		wk->queue = (uint16_t)i;
		i++;
	}
	return 0;
}

void
gaxd_workers_free(struct gaxd *d)
{
	struct rte_mbuf *m;
	uint32_t i;

	if (d->workers == NULL)
		return;
	for (i = 0; i < d->n_workers; i++) {
		struct gaxd_worker *wk = &d->workers[i];

		if (wk->ring != NULL) {
			while (rte_ring_dequeue(wk->ring, (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(wk->ring);
		}
		gax_fwd_free(wk->fwd);
	}
	rte_free(d->workers);
	d->workers = NULL;
	rte_free(d->rcu);
	d->rcu = NULL;
}
