/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table itself: creation, the index from (interface, address)
 * to entry (see neigh_priv.h), the free lists of entries and held-packet
 * slots, the control-side calls (static entries, deletion) and the views for
 * display. Everything after gax_neigh_create() works inside the arrays it
 * allocated.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gax_hash.h>

#include "gax_neigh.h"
#include "neigh_priv.h"

#define NEIGH_SLOTS_PER_ENTRY	2	/* load at most 1/2 */
#define NEIGH_MIN_SLOTS		16

_Static_assert(sizeof(struct neigh_entry) == 40, "an entry is 40 bytes");
_Static_assert(GAX_NEIGH_MAX_QUEUE_PER_ENTRY <= UINT16_MAX, "n_held is 16 bits");
_Static_assert(GAX_NEIGH_MAX_RETRIES <= UINT8_MAX, "tries is 8 bits");

void
gax_neigh_opts_init(struct gax_neigh_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->capacity = GAX_NEIGH_DEFAULT_CAPACITY;
	o->queue_per_entry = GAX_NEIGH_DEFAULT_QUEUE_PER_ENTRY;
	o->queue_total = GAX_NEIGH_DEFAULT_QUEUE_TOTAL;
	o->ticks_per_second = 1000000000ull;
	o->reachable_ms = GAX_NEIGH_DEFAULT_REACHABLE_MS;
	o->retry_ms = GAX_NEIGH_DEFAULT_RETRY_MS;
	o->max_retries = GAX_NEIGH_DEFAULT_MAX_RETRIES;
}

/* ---- create / free ----------------------------------------------------- */

static int
opts_check(const struct gax_neigh_opts *o)
{
	if (o->capacity == 0 || o->capacity > GAX_NEIGH_MAX_CAPACITY)
		return -EINVAL;
	if (o->queue_per_entry > GAX_NEIGH_MAX_QUEUE_PER_ENTRY ||
			o->queue_total > GAX_NEIGH_MAX_QUEUE_TOTAL)
		return -EINVAL;
	if (o->ticks_per_second == 0 || o->ticks_per_second > GAX_NEIGH_MAX_TICKS_PER_SECOND)
		return -EINVAL;
	if (o->reachable_ms == 0 || o->reachable_ms > GAX_NEIGH_MAX_REACHABLE_MS)
		return -EINVAL;
	if (o->retry_ms == 0 || o->retry_ms > GAX_NEIGH_MAX_RETRY_MS)
		return -EINVAL;
	if (o->max_retries == 0 || o->max_retries > GAX_NEIGH_MAX_RETRIES)
		return -EINVAL;
	return 0;
}

/* @p ms in ticks of a @p hz clock, at least 1 (no overflow within the option limits). */
static uint64_t
ms_to_ticks(uint32_t ms, uint64_t hz)
{
	uint64_t ticks = (uint64_t)(ms / 1000) * hz + (uint64_t)(ms % 1000) * hz / 1000;

	return ticks > 0 ? ticks : 1;
}

static uint32_t
next_pow2(uint64_t x)
{
	uint64_t p = 1;

	while (p < x)
		p <<= 1;
	return (uint32_t)p;
}

/* Allocate the arrays of zeroed table @p t and chain their free lists. */
static int
table_arrays(struct gax_neigh_table *t, uint32_t capacity, uint32_t queue_total)
{
	uint32_t n_slots = next_pow2((uint64_t)capacity * NEIGH_SLOTS_PER_ENTRY);
	uint32_t n_pkts = queue_total > 0 ? queue_total : 1;
	uint32_t i;

	if (n_slots < NEIGH_MIN_SLOTS)
		n_slots = NEIGH_MIN_SLOTS;
	t->slots = malloc((size_t)n_slots * sizeof(t->slots[0]));
	t->entries = malloc((size_t)capacity * sizeof(t->entries[0]));
	t->pkts = malloc((size_t)n_pkts * sizeof(t->pkts[0]));
	t->pkt_next = malloc((size_t)n_pkts * sizeof(t->pkt_next[0]));
	if (t->slots == NULL || t->entries == NULL || t->pkts == NULL || t->pkt_next == NULL)
		return -ENOMEM;

	/* Writing every byte now keeps page faults off the packet path. */
	memset(t->slots, 0, (size_t)n_slots * sizeof(t->slots[0]));
	memset(t->entries, 0, (size_t)capacity * sizeof(t->entries[0]));
	memset(t->pkts, 0, (size_t)n_pkts * sizeof(t->pkts[0]));
	t->slot_mask = n_slots - 1;
	t->capacity = capacity;
	for (i = 0; i < capacity; i++)
		t->entries[i].head = i + 1 < capacity ? i + 1 : NEIGH_NONE;
	t->free_head = 0;
	for (i = 0; i < n_pkts; i++)
		t->pkt_next[i] = i + 1 < queue_total ? i + 1 : NEIGH_NONE;
	t->pkt_free = queue_total > 0 ? 0 : NEIGH_NONE;
	return 0;
}

static void
table_release(struct gax_neigh_table *t)
{
	free(t->pkt_next);
	free(t->pkts);
	free(t->entries);
	free(t->slots);
	free(t);
}

struct gax_neigh_table *
gax_neigh_create(const struct gax_neigh_opts *o)
{
	struct gax_neigh_opts defaults;
	struct gax_neigh_table *t;
	int ret;

	if (o == NULL) {
		gax_neigh_opts_init(&defaults);
		o = &defaults;
	}
	ret = opts_check(o);
	if (ret != 0) {
		errno = -ret;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto fail;
	if (table_arrays(t, o->capacity, o->queue_total) != 0)
		goto fail_arrays;

	t->queue_per_entry = o->queue_per_entry;
	t->queue_total = o->queue_total;
	t->reachable_ticks = ms_to_ticks(o->reachable_ms, o->ticks_per_second);
	t->retry_ticks = ms_to_ticks(o->retry_ms, o->ticks_per_second);
	t->last_chance_ticks = t->retry_ticks * o->max_retries;
	t->max_retries = o->max_retries;
	t->seed = o->seed != 0 ? o->seed :
		gax_hash_mix64((uint64_t)(uintptr_t)t ^ 0x6e65696768626f72ULL);
	return t;

fail_arrays:
	table_release(t);
fail:
	errno = ENOMEM;
	return NULL;
}

void
gax_neigh_free(struct gax_neigh_table *t, gax_neigh_pkt_fn drop_fn, void *ctx)
{
	uint32_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->capacity; i++) {
		if (t->entries[i].state != NEIGH_FREE)
			neigh_release(t, &t->entries[i], drop_fn, ctx, NULL);
	}
	table_release(t);
}

/* ---- index and entries ------------------------------------------------- */

static inline uint32_t
key_sig(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr)
{
	return (uint32_t)(gax_hash_mix64((((uint64_t)iface << 32) | addr) ^ t->seed) >> 32);
}

struct neigh_entry *
neigh_find(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint32_t *end)
{
	uint32_t sig = key_sig(t, iface, addr);
	uint32_t i = sig & t->slot_mask;
	uint64_t s;

	while ((s = t->slots[i]) != 0) {
		if ((uint32_t)(s >> 32) == sig) {
			struct neigh_entry *e = &t->entries[(uint32_t)s - 1];

			if (e->addr == addr && e->iface == iface) {
				if (end != NULL)
					*end = i;
				return e;
			}
		}
		i = (i + 1) & t->slot_mask;
	}
	if (end != NULL)
		*end = i;
	return NULL;
}

/* Remove slot value @p sv (present) from the index, leaving no tombstone. */
static void
index_remove(struct gax_neigh_table *t, uint64_t sv)
{
	gax_hash_oa_remove(t->slots, t->slot_mask, sv);
}

static inline uint32_t
entry_index(const struct gax_neigh_table *t, const struct neigh_entry *e)
{
	return (uint32_t)(e - t->entries);
}

void
neigh_entry_set_state(struct gax_neigh_table *t, struct neigh_entry *e, enum neigh_state state)
{
	if (e->state != NEIGH_FREE)
		t->n_state[e->state]--;
	if (state != NEIGH_FREE)
		t->n_state[state]++;
	e->state = (uint8_t)state;
	t->version++; /* every MAC change comes with a call here (learn, add_static) */
}

struct neigh_entry *
neigh_entry_new(struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint32_t end,
		enum neigh_state state, uint64_t now)
{
	struct neigh_entry *e;
	uint32_t idx;

	if (t->free_head == NEIGH_NONE) {
		t->stats.table_full++;
		return NULL;
	}
	idx = t->free_head;
	e = &t->entries[idx];
	t->free_head = e->head;
	memset(e, 0, sizeof(*e));
	e->addr = addr;
	e->iface = iface;
	e->head = NEIGH_NONE;
	e->tail = NEIGH_NONE;
	e->updated = now;
	neigh_entry_set_state(t, e, state);
	t->slots[end] = ((uint64_t)key_sig(t, iface, addr) << 32) | (idx + 1);
	return e;
}

void
neigh_entry_free(struct gax_neigh_table *t, struct neigh_entry *e)
{
	uint32_t idx = entry_index(t, e);

	index_remove(t, ((uint64_t)key_sig(t, e->iface, e->addr) << 32) | (idx + 1));
	neigh_entry_set_state(t, e, NEIGH_FREE);
	e->head = t->free_head;
	t->free_head = idx;
}

/* ---- hold queue ---------------------------------------------------------- */

bool
neigh_hold(struct gax_neigh_table *t, struct neigh_entry *e, void *pkt)
{
	uint32_t p = t->pkt_free;

	if (e->n_held >= t->queue_per_entry || p == NEIGH_NONE)
		return false;
	t->pkt_free = t->pkt_next[p];
	t->pkts[p] = pkt;
	t->pkt_next[p] = NEIGH_NONE;
	if (e->tail == NEIGH_NONE)
		e->head = p;
	else
		t->pkt_next[e->tail] = p;
	e->tail = p;
	e->n_held++;
	t->stats.held++;
	t->stats.held_now++;
	return true;
}

unsigned int
neigh_release(struct gax_neigh_table *t, struct neigh_entry *e, gax_neigh_pkt_fn fn, void *ctx,
		const uint8_t *mac)
{
	uint32_t p = e->head;
	unsigned int n = 0;

	/* Detach the list first: the entry looks empty whatever the callback sees. */
	e->head = NEIGH_NONE;
	e->tail = NEIGH_NONE;
	e->n_held = 0;
	while (p != NEIGH_NONE) {
		uint32_t next = t->pkt_next[p];
		void *pkt = t->pkts[p];

		t->pkts[p] = NULL;
		t->pkt_next[p] = t->pkt_free;
		t->pkt_free = p;
		if (fn != NULL)
			fn(ctx, pkt, e->iface, e->addr, mac);
		n++;
		p = next;
	}
	t->stats.held_now -= n;
	return n;
}

/* ---- control side -------------------------------------------------------- */

int
gax_neigh_add_static(struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		const uint8_t *mac)
{
	struct neigh_entry *e;
	uint32_t end;

	if (!neigh_key_ok(iface, addr) || !gax_neigh_mac_ok(mac))
		return -EINVAL;
	e = neigh_find(t, iface, addr, &end);
	if (e == NULL) {
		e = neigh_entry_new(t, iface, addr, end, NEIGH_STATIC, 0);
		if (e == NULL)
			return -ENOSPC;
	}
	neigh_entry_set_state(t, e, NEIGH_STATIC);
	memcpy(e->mac, mac, sizeof(e->mac));
	e->tries = 0;
	return 0;
}

int
gax_neigh_delete(struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		gax_neigh_pkt_fn drop_fn, void *ctx)
{
	struct neigh_entry *e;

	if (!neigh_key_ok(iface, addr))
		return -EINVAL;
	e = neigh_find(t, iface, addr, NULL);
	if (e == NULL)
		return -ENOENT;
	t->stats.unresolved_drops += neigh_release(t, e, drop_fn, ctx, NULL);
	neigh_entry_free(t, e);
	t->stats.deleted++;
	return 0;
}

/* ---- views ----------------------------------------------------------------- */

static void
entry_info(const struct gax_neigh_table *t, const struct neigh_entry *e, uint64_t now,
		struct gax_neigh_info *info)
{
	memset(info, 0, sizeof(*info));
	info->addr = e->addr;
	info->iface = e->iface;
	memcpy(info->mac, e->mac, sizeof(info->mac));
	info->state = (enum gax_neigh_state)e->state;
	if (e->state == NEIGH_RESOLVED && neigh_is_stale(t, e, now))
		info->state = GAX_NEIGH_ST_STALE;
	info->held = e->n_held;
	info->requests = e->tries;
	info->age = e->state == NEIGH_STATIC ? 0 : neigh_elapsed(now, e->updated);
}

int
gax_neigh_lookup(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint64_t now,
		struct gax_neigh_info *info)
{
	const struct neigh_entry *e;

	if (!neigh_key_ok(iface, addr))
		return -ENOENT;
	e = neigh_find(t, iface, addr, NULL);
	if (e == NULL)
		return -ENOENT;
	entry_info(t, e, now, info);
	return 0;
}

bool
gax_neigh_next(const struct gax_neigh_table *t, uint32_t *pos, uint64_t now,
		struct gax_neigh_info *info)
{
	uint32_t i;

	for (i = *pos; i < t->capacity; i++) {
		if (t->entries[i].state != NEIGH_FREE) {
			entry_info(t, &t->entries[i], now, info);
			*pos = i + 1;
			return true;
		}
	}
	*pos = t->capacity;
	return false;
}

const char *
gax_neigh_state_name(enum gax_neigh_state state)
{
	switch (state) {
	case GAX_NEIGH_ST_INCOMPLETE:
		return "incomplete";
	case GAX_NEIGH_ST_RESOLVED:
		return "resolved";
	case GAX_NEIGH_ST_STALE:
		return "stale";
	case GAX_NEIGH_ST_STATIC:
		return "static";
	}
	return "?";
}

void
gax_neigh_stats_get(const struct gax_neigh_table *t, struct gax_neigh_stats *s)
{
	*s = t->stats;
	s->static_entries = t->n_state[NEIGH_STATIC];
	s->resolved = t->n_state[NEIGH_RESOLVED];
	s->incomplete = t->n_state[NEIGH_INCOMPLETE];
	s->entries = s->static_entries + s->resolved + s->incomplete;
}

uint32_t
gax_neigh_count(const struct gax_neigh_table *t)
{
	return t->n_state[NEIGH_STATIC] + t->n_state[NEIGH_RESOLVED] +
		t->n_state[NEIGH_INCOMPLETE];
}

uint32_t
gax_neigh_capacity(const struct gax_neigh_table *t)
{
	return t->capacity;
}

uint64_t
gax_neigh_version(const struct gax_neigh_table *t)
{
	return t->version;
}

const uint64_t *
gax_neigh_version_ptr(const struct gax_neigh_table *t)
{
	return &t->version;
}

uint64_t
gax_neigh_hit_until(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr)
{
	const struct neigh_entry *e;

	if (!neigh_key_ok(iface, addr))
		return 0;
	e = neigh_find(t, iface, addr, NULL);
	if (e == NULL)
		return 0;
	if (e->state == NEIGH_STATIC)
		return UINT64_MAX;
	if (e->state == NEIGH_RESOLVED)
		return e->updated + t->reachable_ticks; /* then stale: a refresh is due */
	return 0;
}
