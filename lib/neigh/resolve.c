/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet path of the neighbour table: gax_neigh_resolve(), which finds a
 * next hop's MAC or holds the packet and says when to ask, and
 * gax_neigh_learn(), which records an answer and hands the held packets
 * back. Both cost one index probe and O(1) per packet held or handed back.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gax_neigh.h"
#include "neigh_priv.h"

/* Record that a request for @p e is asked for at @p now. */
static void
ask(struct gax_neigh_table *t, struct neigh_entry *e, uint64_t now)
{
	if (e->tries < UINT8_MAX)
		e->tries++;
	e->requested = now;
	t->stats.requests++;
}

/* Whether a stale entry is due a refresh: none asked yet, or the last retry_ms ago. */
static bool
refresh_due(const struct gax_neigh_table *t, const struct neigh_entry *e, uint64_t now)
{
	return e->tries == 0 || neigh_elapsed(now, e->requested) >= t->retry_ticks;
}

/* Whether an incomplete entry is due a retry: fewer than max_retries and retry_ms since. */
static bool
retry_due(const struct gax_neigh_table *t, const struct neigh_entry *e, uint64_t now)
{
	return e->tries < t->max_retries && neigh_elapsed(now, e->requested) >= t->retry_ticks;
}

static enum gax_neigh_result
resolve_hit(struct gax_neigh_table *t, struct neigh_entry *e, uint64_t now, uint8_t *mac,
		bool *send_request)
{
	memcpy(mac, e->mac, sizeof(e->mac));
	t->stats.hits++;
	if (e->state == NEIGH_RESOLVED && neigh_is_stale(t, e, now) && refresh_due(t, e, now)) {
		ask(t, e, now);
		t->stats.refreshes++;
		*send_request = true;
	}
	return GAX_NEIGH_HIT;
}

/* A learned entry past its last chance becomes incomplete again, as if new. */
static void
forget(struct gax_neigh_table *t, struct neigh_entry *e, uint64_t now)
{
	neigh_entry_set_state(t, e, NEIGH_INCOMPLETE);
	memset(e->mac, 0, sizeof(e->mac));
	e->tries = 0;
	e->updated = now;
	t->stats.expired++;
}

static enum gax_neigh_result
refuse(struct gax_neigh_table *t)
{
	t->stats.queue_full++;
	return GAX_NEIGH_FULL;
}

enum gax_neigh_result
gax_neigh_resolve(struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint64_t now,
		void *pkt, uint8_t *mac, bool *send_request)
{
	struct neigh_entry *e;
	uint32_t end;

	*send_request = false;
	if (!neigh_key_ok(iface, addr)) {
		t->stats.invalid++;
		return refuse(t);
	}
	e = neigh_find(t, iface, addr, &end);
	if (e != NULL && e->state == NEIGH_RESOLVED && neigh_is_dead(t, e, now))
		forget(t, e, now);
	if (e != NULL && e->state != NEIGH_INCOMPLETE)
		return resolve_hit(t, e, now, mac, send_request);

	t->stats.misses++;
	if (e == NULL) {
		e = neigh_entry_new(t, iface, addr, end, NEIGH_INCOMPLETE, now);
		if (e == NULL)
			return refuse(t);
	}
	if (e->tries == 0 || retry_due(t, e, now)) {
		if (e->tries > 0)
			t->stats.retries++;
		ask(t, e, now);
		*send_request = true;
	}
	if (pkt == NULL)
		return GAX_NEIGH_HELD;
	return neigh_hold(t, e, pkt) ? GAX_NEIGH_HELD : refuse(t);
}

int
gax_neigh_learn(struct gax_neigh_table *t, uint16_t iface, uint32_t addr, const uint8_t *mac,
		uint64_t now, bool create, gax_neigh_pkt_fn flush_fn, void *ctx)
{
	struct neigh_entry *e;
	unsigned int n;
	uint32_t end;

	if (!neigh_key_ok(iface, addr) || !gax_neigh_mac_ok(mac))
		return -EINVAL;
	e = neigh_find(t, iface, addr, &end);
	if (e != NULL && e->state == NEIGH_STATIC) {
		t->stats.static_ignored++;
		return 0;
	}
	if (e == NULL) {
		if (!create)
			return 0;
		e = neigh_entry_new(t, iface, addr, end, NEIGH_RESOLVED, now);
		if (e == NULL)
			return -ENOSPC;
	} else if (e->state == NEIGH_RESOLVED && memcmp(e->mac, mac, sizeof(e->mac)) != 0) {
		t->stats.mac_changes++;
	}
	neigh_entry_set_state(t, e, NEIGH_RESOLVED);
	memcpy(e->mac, mac, sizeof(e->mac));
	e->updated = now;
	e->tries = 0;
	t->stats.learned++;
	n = neigh_release(t, e, flush_fn, ctx, e->mac);
	t->stats.flushed += n;
	return (int)n;
}
