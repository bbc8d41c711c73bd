/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Full-NAT source ports that tell which worker owns a flow.
 *
 * A worker only hands out ports p in [snat_port_min, snat_port_max] (by
 * default [1024, 65535]) with
 * p % n_workers == worker_id, so whichever queue RSS delivers an endpoint's
 * reply to, the worker that reads it computes the owner from the destination
 * port and hands the packet over. A port is free for a new flow when the
 * endpoint-side key it would create (endpoint addr:port -> NAT addr:port) is
 * in no flow of the table: the table itself is the allocator's only state,
 * beside cursors that rotate through the candidates, one per bucket of
 * destinations, so a 5-tuple is reused as late as possible (the endpoint may
 * keep the old connection in TIME_WAIT for a while) and a destination's next
 * port is most likely free. A port busy towards one endpoint is free towards
 * every other.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <gax_hash.h>

#include "gax_flow.h"
#include "flow_priv.h"

/* The cursor bucket of a destination. */
static inline uint32_t
snat_bucket(const struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto)
{
	uint64_t h = gax_hash_mix64((((uint64_t)endpoint_addr << 32) | nat_addr) ^
			((uint64_t)endpoint_port << 8 | proto) ^ t->seed);

	return (uint32_t)h & (FLOW_SNAT_CURSORS - 1);
}

void
flow_snat_init(struct gax_flow_table *t)
{
	uint32_t n = t->n_workers, i;
	uint32_t first = t->snat_min + (t->worker_id + n - t->snat_min % n) % n;

	/* The range holds at least n ports (opts_check()), so first <= snat_max. */
	t->snat_first = first;
	t->snat_count = (t->snat_max - first) / n + 1;
	/* Start somewhere else after each restart, for the same TIME_WAIT reason. */
	for (i = 0; i < FLOW_SNAT_CURSORS; i++)
		t->snat_cursor[i] = gax_hash_range(gax_hash_mix64(t->seed + i), t->snat_count);
}

/*
 * Candidates checked at once after the first: when a destination's ports are
 * nearly all busy each probe is a cache miss, and fetching a batch together
 * makes a refusal cost a few misses' time rather than GAX_FLOW_SNAT_PROBES.
 */
#define SNAT_BATCH 8

int
flow_snat_pick(struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto, const struct gax_flow_snat_hint *hint,
		struct gax_flow_key *key, uint64_t *hash, uint32_t *end)
{
	uint32_t probes = t->snat_count < GAX_FLOW_SNAT_PROBES ?
		t->snat_count : GAX_FLOW_SNAT_PROBES;
	bool hinted = hint != NULL && hint->nat_addr == nat_addr &&
		hint->endpoint_addr == endpoint_addr && hint->endpoint_port == endpoint_port &&
		hint->proto == proto;
	uint32_t *cursor = &t->snat_cursor[hinted ? hint->bucket :
		snat_bucket(t, nat_addr, endpoint_addr, endpoint_port, proto)];
	uint32_t k = *cursor;
	uint32_t i = 0, j, n;

	/* The candidate gax_flow_snat_prefetch() hashed is still the next one. */
	hinted = hinted && hint->k == k;
	gax_flow_key_init(key, endpoint_addr, nat_addr, endpoint_port, 0, proto);
	while (i < probes) {
		uint64_t h[SNAT_BATCH];
		uint16_t port[SNAT_BATCH];
		uint32_t kk = k;

		/* The first candidate alone (usually free, its line prefetched), then batches. */
		n = i == 0 ? 1 : (probes - i < SNAT_BATCH ? probes - i : SNAT_BATCH);
		for (j = 0; j < n; j++) {
			port[j] = (uint16_t)(t->snat_first + kk * t->n_workers);
			if (++kk == t->snat_count)
				kk = 0;
			key->dport = port[j];
			h[j] = i == 0 && hinted ? hint->hash : flow_hash(t, key);
			if (n > 1)
				__builtin_prefetch(&t->slots[flow_sig(h[j]) & t->slot_mask], 0, 3);
		}
		for (j = 0; j < n; j++, i++) {
			key->dport = port[j];
			if (++k == t->snat_count)
				k = 0;
			if (flow_find(t, key, h[j], end) == NULL) {
				*hash = h[j];
				*cursor = k;
				t->stats.snat_ports++;
				return 0;
			}
		}
	}
	*cursor = k;
	t->stats.snat_failures++;
	return -EADDRNOTAVAIL;
}

int
gax_flow_snat_port(struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto, uint16_t *port)
{
	struct gax_flow_key key;
	uint64_t hash;
	uint32_t end;
	int rc = flow_snat_pick(t, nat_addr, endpoint_addr, endpoint_port, proto, NULL, &key,
			&hash, &end);

	if (rc == 0)
		*port = key.dport;
	return rc;
}

void
gax_flow_snat_prefetch(const struct gax_flow_table *t, struct gax_flow_snat_hint *h,
		unsigned int n)
{
	uint8_t ahead[FLOW_SNAT_CURSORS] = { 0 };
	struct gax_flow_key key;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t b = snat_bucket(t, h[i].nat_addr, h[i].endpoint_addr, h[i].endpoint_port,
				h[i].proto);
		uint32_t k = t->snat_cursor[b] + ahead[b]++;

		if (k >= t->snat_count)
			k -= t->snat_count;
		gax_flow_key_init(&key, h[i].endpoint_addr, h[i].nat_addr, h[i].endpoint_port,
				(uint16_t)(t->snat_first + k * t->n_workers), h[i].proto);
		h[i].bucket = (uint16_t)b;
		h[i].k = k;
		h[i].hash = flow_hash(t, &key);
		__builtin_prefetch(&t->slots[flow_sig(h[i].hash) & t->slot_mask], 0, 3);
	}
}

uint32_t
gax_flow_snat_port_count(const struct gax_flow_table *t)
{
	return t->snat_count;
}

