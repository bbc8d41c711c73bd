/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the flow table shared by flow.c (table, lookups, expiry) and
 * snat.c (full-NAT source ports).
 *
 * The index is an open-addressing array of 64-bit slots with linear probing
 * and backward-shift deletion (no tombstones). A slot holds the upper 32 bits
 * of the key's hash (its signature) above a reference (record index * 2 +
 * direction + 1); 0 is an empty slot. A key's home slot is its signature
 * masked, so the home of any slot's entry is known without reading its
 * record, which backward-shift deletion needs. The index has at least four
 * slots per flow of capacity, two keys per flow: the load stays at or below
 * one half, probes are short (1.5 slots on average for a hit, eight slots to
 * a cache line) and there is always an empty slot to end a probe.
 */
#ifndef GAX_FLOW_PRIV_H
#define GAX_FLOW_PRIV_H

#include <stdint.h>
#include <string.h>

#include <gax_hash.h>

#include "gax_flow.h"

#define FLOW_NONE UINT32_MAX /* end of the free list */

/*
 * Full-NAT port cursors: one per bucket of destinations (endpoint address and
 * port, NAT address, protocol), so each destination's ports advance only
 * with its own flows and a port comes back to it only after it has used all
 * of them, not after every destination together has (which made most probes
 * hit busy ports once a table held more flows than there are ports).
 */
#define FLOW_SNAT_CURSORS 256

/* Records gax_flow_expire() prefetches ahead of the one it examines. */
#define FLOW_SWEEP_PREFETCH 8

struct gax_flow_table {
	/* Read on every lookup. */
	uint64_t *slots;		/* the index, slot_mask + 1 slots */
	struct gax_flow *flows;		/* capacity records */
	uint32_t slot_mask;
	uint32_t capacity;
	uint64_t seed;

	/* Insert, touch and expiry. */
	uint32_t free_head;		/* first free record, linked through listener */
	uint32_t sweep;			/* next record gax_flow_expire() examines */
	uint32_t span;			/* records ever used: all flows are below it */
	unsigned int clock_shift;	/* table clock = caller's ticks >> clock_shift */
	uint16_t short_timeout_s;
	uint64_t ticks_per_second;

	/* Full-NAT source ports: snat_first + k * n_workers, k < snat_count. */
	uint32_t n_workers;
	uint32_t worker_id;
	uint32_t snat_first;
	uint32_t snat_count;
	uint16_t snat_min, snat_max;	/* the range asked for (gax_flow_opts) */
	uint32_t snat_cursor[FLOW_SNAT_CURSORS];	/* next k to try, per destination bucket */

	gax_flow_expire_fn expire_cb;
	void *expire_ctx;
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *p);
	void *alloc_ctx;
	size_t slots_size;		/* bytes allocated for the index */
	size_t flows_size;		/* bytes allocated for the records */

	struct gax_flow_stats stats;
} __attribute__((aligned(64)));

/* Hash of a key under the table's seed. */
static inline uint64_t
flow_hash(const struct gax_flow_table *t, const struct gax_flow_key *k)
{
	return gax_hash_5tuple(k->saddr, k->daddr, k->sport, k->dport, k->proto, t->seed);
}

static inline uint32_t
flow_sig(uint64_t hash)
{
	return (uint32_t)(hash >> 32);
}

/* Whether @p k is the key of direction @p dir of @p f. */
static inline int
flow_key_eq(const struct gax_flow *f, unsigned int dir, const struct gax_flow_key *k)
{
	/* The tuple and the key's first 12 bytes have the same layout. */
	return memcmp(&f->tuple[dir], k, sizeof(struct gax_flow_tuple)) == 0 &&
		f->proto == k->proto;
}

/*
 * Probe from slot @p i for key @p k of signature @p sig; return its flow or
 * NULL. When @p end is not NULL it is set to the slot where the probe stopped
 * (the key's slot, or the empty slot where it would go).
 */
static inline struct gax_flow *
flow_find_from(const struct gax_flow_table *t, const struct gax_flow_key *k, uint32_t sig,
		uint32_t i, uint32_t *end)
{
	for (;;) {
		uint64_t s = t->slots[i];

		if (s == 0)
			break;
		if ((uint32_t)(s >> 32) == sig) {
			uint32_t ref = (uint32_t)s - 1;
			struct gax_flow *f = &t->flows[ref >> 1];

			if (flow_key_eq(f, ref & 1, k)) {
				if (end != NULL)
					*end = i;
				return f;
			}
		}
		i = (i + 1) & t->slot_mask;
	}
	if (end != NULL)
		*end = i;
	return NULL;
}

static inline struct gax_flow *
flow_find(const struct gax_flow_table *t, const struct gax_flow_key *k, uint64_t hash,
		uint32_t *end)
{
	uint32_t sig = flow_sig(hash);

	return flow_find_from(t, k, sig, sig & t->slot_mask, end);
}

/* Set up the full-NAT source ports of a new table (snat.c). */
void flow_snat_init(struct gax_flow_table *t);

/*
 * Find a free full-NAT port towards the destination (snat.c): fills the
 * endpoint-side key @p k, its hash and the slot where it would go; 0, or
 * -EADDRNOTAVAIL (counted) when the probes found none. @p hint (may be
 * NULL): gax_flow_snat_prefetch()'s for this destination, whose bucket and
 * candidate hash are reused when they still hold.
 */
int flow_snat_pick(struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto, const struct gax_flow_snat_hint *hint,
		struct gax_flow_key *k, uint64_t *hash, uint32_t *end);

#endif /* GAX_FLOW_PRIV_H */
