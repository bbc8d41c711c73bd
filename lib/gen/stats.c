/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The receive side's bookkeeping: a log-linear latency histogram with its
 * percentiles, and what came back per endpoint (packets, distinct clients)
 * with the affinity check (clients that reached more than one endpoint).
 * Clients are told apart by their address number in the scenario, which the
 * stamp's tuple index gives, so whatever NAT the frame went through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gax_gen.h"
#include "gen_priv.h"

void
gax_gen_hist_init(struct gax_gen_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

static unsigned int
bucket_of(uint64_t v)
{
	unsigned int msb;

	if (v < GAX_GEN_HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	return (msb - 3) * GAX_GEN_HIST_SUB + (unsigned int)((v >> (msb - 4)) & 15);
}

static uint64_t
bucket_upper(unsigned int i)
{
	unsigned int msb, sub;

	if (i < GAX_GEN_HIST_SUB)
		return i;
	msb = i / GAX_GEN_HIST_SUB + 3;
	sub = i % GAX_GEN_HIST_SUB;
	return (((uint64_t)GAX_GEN_HIST_SUB + sub) << (msb - 4)) + (1ull << (msb - 4)) - 1;
}

void
gax_gen_hist_add(struct gax_gen_hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->n++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

uint64_t
gax_gen_hist_percentile(const struct gax_gen_hist *h, double pct)
{
	uint64_t rank, seen = 0;
	unsigned int i;

	if (h->n == 0 || !(pct > 0))
		return 0;
	if (pct >= 100)
		return h->max_ns;
	rank = (uint64_t)(pct / 100.0 * (double)h->n);
	if ((double)rank < pct / 100.0 * (double)h->n)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < GAX_GEN_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t u = bucket_upper(i);

			return u < h->max_ns ? u : h->max_ns;
		}
	}
	return h->max_ns;
}

int
gax_gen_rx_init(struct gax_gen_rx *rx, const struct gax_gen_scenario *sc)
{
	memset(rx, 0, sizeof(*rx));
	rx->sc = sc;
	gax_gen_hist_init(&rx->lat);
	rx->client_eps = calloc(sc->src_count, sizeof(*rx->client_eps));
	return rx->client_eps == NULL ? -ENOMEM : 0;
}

void
gax_gen_rx_fini(struct gax_gen_rx *rx)
{
	free(rx->client_eps);
	rx->client_eps = NULL;
}

static int
endpoint_index(struct gax_gen_rx *rx, uint32_t addr, uint16_t port)
{
	unsigned int i;

	for (i = 0; i < rx->n_endpoints; i++)
		if (rx->ep[i].addr == addr && rx->ep[i].port == port)
			return (int)i;
	if (rx->n_endpoints == GAX_GEN_ENDPOINTS_MAX)
		return -1;
	rx->ep[i].addr = addr;
	rx->ep[i].port = port;
	rx->n_endpoints++;
	return (int)i;
}

int
gax_gen_rx_frame(struct gax_gen_rx *rx, const uint8_t *frame, uint32_t len, uint32_t now_ns)
{
	const struct gax_gen_scenario *sc = rx->sc;
	struct gax_gen_stamp st;
	struct gax_pkt p;
	uint32_t nports = (uint32_t)sc->sport_to - sc->sport_from + 1;
	uint32_t client;
	int e;

	if (gax_gen_stamp_read(frame, len, &st, &p) != 0 || st.tuple >= sc->tuple_space) {
		if (len >= 14 && gen_get16(frame + 12) != GAX_PKT_ETHERTYPE_ARP)
			rx->unstamped++;
		return -ENOENT;
	}
	if (!gax_pkt_l4_csum_ok(frame, &p)) {
		rx->bad_csum++;
		return -ENOENT;
	}
	rx->packets++;
	rx->bytes += len;
	gax_gen_hist_add(&rx->lat, (uint32_t)(now_ns - st.ts));
	if (st.ep_addr != 0)
		e = endpoint_index(rx, st.ep_addr, st.ep_port);
	else
		e = endpoint_index(rx, p.daddr, p.dport);
	if (e < 0) {
		rx->other_endpoint++;
		return 0;
	}
	rx->ep[e].packets++;
	client = st.tuple / nports;
	if (client < sc->src_count)
		rx->client_eps[client] |= 1ull << e;
	return 0;
}

void
gax_gen_rx_finish(struct gax_gen_rx *rx)
{
	uint64_t addr_mask[GAX_GEN_ENDPOINTS_MAX]; /* endpoints (bits) of each address */
	unsigned int i, j;
	uint32_t c;

	rx->clients_seen = 0;
	rx->clients_multi = 0;
	rx->n_addrs = 0;
	for (i = 0; i < rx->n_endpoints; i++) {
		rx->ep[i].clients = 0;
		for (j = 0; j < rx->n_addrs && rx->addr[j].addr != rx->ep[i].addr; j++)
			;
		if (j == rx->n_addrs) {
			rx->addr[j].addr = rx->ep[i].addr;
			rx->addr[j].port = 0;
			rx->addr[j].packets = 0;
			rx->addr[j].clients = 0;
			addr_mask[j] = 0;
			rx->n_addrs++;
		}
		rx->addr[j].packets += rx->ep[i].packets;
		addr_mask[j] |= 1ull << i;
	}
	for (c = 0; c < rx->sc->src_count; c++) {
		uint64_t m = rx->client_eps[c];
		unsigned int n_addr = 0;

		if (m == 0)
			continue;
		rx->clients_seen++;
		for (i = 0; i < rx->n_endpoints; i++)
			if (m & (1ull << i))
				rx->ep[i].clients++;
		for (j = 0; j < rx->n_addrs; j++)
			if (m & addr_mask[j]) {
				rx->addr[j].clients++;
				n_addr++;
			}
		if (n_addr > 1)
			rx->clients_multi++;
	}
}
