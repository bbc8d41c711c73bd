/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table's timers: an incremental sweep over the entry array,
 * like gax_flow_expire(), so the worker spends a bounded, small amount per
 * loop. It repeats requests for incomplete entries, gives them up after
 * max_retries, and forgets learned entries whose refresh went unanswered.
 */
#include <stdbool.h>
#include <stdint.h>

#include "gax_neigh.h"
#include "neigh_priv.h"

/* An incomplete entry: ask again or give up. Returns whether it was freed. */
static bool
tick_incomplete(struct gax_neigh_table *t, struct neigh_entry *e, uint64_t now,
		gax_neigh_request_fn request_fn, gax_neigh_pkt_fn drop_fn, void *ctx)
{
	if (neigh_elapsed(now, e->requested) < t->retry_ticks)
		return false;
	if (e->tries < t->max_retries) {
		e->tries++;
		e->requested = now;
		t->stats.requests++;
		t->stats.retries++;
		if (request_fn != NULL)
			request_fn(ctx, e->iface, e->addr);
		return false;
	}
	t->stats.unresolved_drops += neigh_release(t, e, drop_fn, ctx, NULL);
	neigh_entry_free(t, e);
	t->stats.unresolved++;
	t->stats.expired++;
	return true;
}

/* One entry in use. Returns whether it was freed. */
static bool
tick_entry(struct gax_neigh_table *t, struct neigh_entry *e, uint64_t now,
		gax_neigh_request_fn request_fn, gax_neigh_pkt_fn drop_fn, void *ctx)
{
	switch (e->state) {
	case NEIGH_INCOMPLETE:
		return tick_incomplete(t, e, now, request_fn, drop_fn, ctx);
	case NEIGH_RESOLVED:
		if (!neigh_is_dead(t, e, now))
			return false;
		neigh_entry_free(t, e);
		t->stats.expired++;
		return true;
	case NEIGH_STATIC:
		/* Packets held while it was incomplete, before it was made static. */
		if (e->n_held > 0)
			t->stats.unresolved_drops += neigh_release(t, e, drop_fn, ctx, NULL);
		return false;
	default:
		return false;
	}
}

unsigned int
gax_neigh_tick(struct gax_neigh_table *t, uint64_t now, unsigned int budget,
		gax_neigh_request_fn request_fn, gax_neigh_pkt_fn drop_fn, void *ctx)
{
	uint32_t i = t->sweep;
	unsigned int k, freed = 0;

	if (budget > t->capacity)
		budget = t->capacity;
	for (k = 0; k < budget; k++) {
		struct neigh_entry *e = &t->entries[i];

		if (e->state != NEIGH_FREE && tick_entry(t, e, now, request_fn, drop_fn, ctx))
			freed++;
		if (++i == t->capacity)
			i = 0;
	}
	t->sweep = i;
	return freed;
}
