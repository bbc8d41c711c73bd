/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the neighbour table shared by neigh.c (table, index, entries,
 * hold queue), resolve.c (the packet path) and tick.c (timers).
 *
 * Entries live in a fixed array with a free list. The index is an
 * open-addressing array of 64-bit slots with linear probing and
 * backward-shift deletion, as in lib/flow: a slot holds the upper 32 bits of
 * the key's hash above the entry index + 1; 0 is an empty slot. It has at
 * least two slots per entry, so the load stays at or below one half.
 *
 * Held packets live in a slot array of queue_total pointers, each entry's in
 * a singly linked list (head to tail, arrival order) through `pkt_next`,
 * free slots in another list: holding and handing back are O(1) per packet.
 */
#ifndef GAX_NEIGH_PRIV_H
#define GAX_NEIGH_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <gax_hash.h>

#include "gax_neigh.h"

#define NEIGH_NONE UINT32_MAX	/* end of a list */

/* Entry states (enum gax_neigh_state without stale, which is a matter of time). */
enum neigh_state {
	NEIGH_FREE = 0,
	NEIGH_INCOMPLETE = GAX_NEIGH_ST_INCOMPLETE,
	NEIGH_RESOLVED = GAX_NEIGH_ST_RESOLVED,
	NEIGH_STATIC = GAX_NEIGH_ST_STATIC,
	NEIGH_N_STATES = 5,
};

struct neigh_entry {
	uint32_t addr;
	uint16_t iface;
	uint8_t state;		/* enum neigh_state */
	uint8_t tries;		/* requests since created (incomplete) or since stale */
	uint8_t mac[6];
	uint16_t n_held;	/* packets in the list head..tail */
	uint32_t head;		/* first held packet slot; next free entry when free */
	uint32_t tail;		/* last held packet slot */
	uint64_t updated;	/* learned (resolved), created (incomplete) */
	uint64_t requested;	/* last request asked for */
};

struct gax_neigh_table {
	uint64_t *slots;		/* the index, slot_mask + 1 slots */
	struct neigh_entry *entries;	/* capacity entries */
	uint32_t slot_mask;
	uint32_t capacity;
	uint64_t seed;
	uint32_t free_head;		/* first free entry, linked through head */
	uint32_t sweep;			/* next entry gax_neigh_tick() examines */

	void **pkts;			/* queue_total held packet slots */
	uint32_t *pkt_next;		/* next slot in the same list */
	uint32_t pkt_free;		/* first free packet slot */
	uint32_t queue_per_entry;
	uint32_t queue_total;

	uint64_t reachable_ticks;	/* resolved -> stale */
	uint64_t retry_ticks;		/* least gap between requests, at least 1 */
	uint64_t last_chance_ticks;	/* stale -> forgotten: max_retries * retry_ticks */
	uint32_t max_retries;

	uint32_t n_state[NEIGH_N_STATES];	/* entries per enum neigh_state (not free ones) */
	uint64_t version;		/* bumped by every change of an entry's state (and MAC) */
	struct gax_neigh_stats stats;
};

/* Ticks from @p then to @p now; 0 when @p now is earlier (clocks disagreeing). */
static inline uint64_t
neigh_elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static inline bool
neigh_key_ok(uint16_t iface, uint32_t addr)
{
	return iface < GAX_NEIGH_MAX_IFACES && gax_neigh_addr_ok(addr);
}

/* Whether a learned entry is stale at @p now. */
static inline bool
neigh_is_stale(const struct gax_neigh_table *t, const struct neigh_entry *e, uint64_t now)
{
	return neigh_elapsed(now, e->updated) >= t->reachable_ticks;
}

/* Whether a learned entry is past its last chance at @p now: to be forgotten. */
static inline bool
neigh_is_dead(const struct gax_neigh_table *t, const struct neigh_entry *e, uint64_t now)
{
	return neigh_elapsed(now, e->updated) >= t->reachable_ticks + t->last_chance_ticks;
}

/*
 * The entry of (@p iface, @p addr), or NULL. When @p end is not NULL it is
 * set to the slot where the probe stopped (the entry's, or the empty slot
 * where it would go).
 */
struct neigh_entry *neigh_find(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		uint32_t *end);

/*
 * Take a free entry for (@p iface, @p addr) into empty index slot @p end (as
 * set by a neigh_find() that failed, with no change to the table since), in
 * state @p state with no packet, no request, updated at @p now. NULL when
 * none is free (counted in table_full).
 */
struct neigh_entry *neigh_entry_new(struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		uint32_t end, enum neigh_state state, uint64_t now);

/* Take entry @p e out of the index and onto the free list (it holds no packet). */
void neigh_entry_free(struct gax_neigh_table *t, struct neigh_entry *e);

/* Move entry @p e to state @p state, keeping the per-state counts. */
void neigh_entry_set_state(struct gax_neigh_table *t, struct neigh_entry *e,
		enum neigh_state state);

/* Append @p pkt to the packets @p e holds; false when its queue or the table's is full. */
bool neigh_hold(struct gax_neigh_table *t, struct neigh_entry *e, void *pkt);

/*
 * Hand every packet @p e holds to @p fn (if not NULL) with @p mac, in
 * arrival order, and forget them. Returns how many.
 */
unsigned int neigh_release(struct gax_neigh_table *t, struct neigh_entry *e,
		gax_neigh_pkt_fn fn, void *ctx, const uint8_t *mac);

#endif /* GAX_NEIGH_PRIV_H */
