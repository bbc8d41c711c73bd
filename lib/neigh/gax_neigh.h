/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker ARP neighbour cache with a bounded hold queue, plain C.
 *
 * Each worker owns one table mapping (interface, IPv4 address) to a MAC
 * address: no lock, no atomic, no syscall, no allocation after
 * gax_neigh_create(). The same address may be a neighbour on two interfaces;
 * the key is the pair.
 *
 * A packet for a next hop goes through gax_neigh_resolve(). When the MAC is
 * known the packet is sent at once; otherwise the table holds it (packets
 * are opaque pointers, rte_mbufs in gaxd) and tells the caller to broadcast
 * an ARP request. gax_neigh_learn(), fed with ARP replies and requests,
 * hands the held packets back in arrival order with the MAC to send them
 * with. Holding is bounded per address (queue_per_entry) and across the
 * table (queue_total); beyond either, packets are refused and the caller
 * drops them.
 *
 * An entry is in one of four states:
 *  - incomplete: asked for, no answer yet. gax_neigh_tick() asks again every
 *    retry_ms; after max_retries requests without an answer it drops the
 *    held packets and frees the entry.
 *  - resolved: learned less than reachable_ms ago; used without question.
 *  - stale: learned longer ago. Still used, but gax_neigh_resolve() asks for
 *    a refresh at most once per retry_ms; without an answer within
 *    max_retries * retry_ms of going stale the entry is forgotten.
 *  - static: added by the configuration; never expires and is never
 *    changed by learning.
 *
 * Time is whatever monotonic counter the caller likes, declared at creation
 * as ticks per second; durations in the options are in milliseconds.
 *
 * Thread safety: a table belongs to one thread (its worker). Every function
 * taking a table must be called by that thread only; none blocks, locks,
 * allocates or makes a syscall except gax_neigh_create() and
 * gax_neigh_free(). Callbacks must not call into the table.
 */
#ifndef GAX_NEIGH_H
#define GAX_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_NEIGH_MAX_IFACES			64	/**< Interface indexes are below this. */
#define GAX_NEIGH_DEFAULT_CAPACITY		4096	/**< Entries per table by default. */
#define GAX_NEIGH_MAX_CAPACITY			(1u << 20)	/**< Largest capacity accepted. */
#define GAX_NEIGH_DEFAULT_QUEUE_PER_ENTRY	16	/**< Packets held per address. */
#define GAX_NEIGH_MAX_QUEUE_PER_ENTRY		256	/**< Largest queue_per_entry. */
#define GAX_NEIGH_DEFAULT_QUEUE_TOTAL		1024	/**< Packets held per table. */
#define GAX_NEIGH_MAX_QUEUE_TOTAL		(1u << 20)	/**< Largest queue_total. */
#define GAX_NEIGH_MAX_TICKS_PER_SECOND		(1ull << 40)	/**< Finest clock accepted. */
#define GAX_NEIGH_DEFAULT_REACHABLE_MS		60000	/**< A learned MAC is fresh this long. */
#define GAX_NEIGH_MAX_REACHABLE_MS		86400000	/**< One day. */
#define GAX_NEIGH_DEFAULT_RETRY_MS		1000	/**< Between requests for one address. */
#define GAX_NEIGH_MAX_RETRY_MS			3600000	/**< One hour. */
#define GAX_NEIGH_DEFAULT_MAX_RETRIES		3	/**< Requests before giving up. */
#define GAX_NEIGH_MAX_RETRIES			255	/**< Largest max_retries. */

/** A neighbour table (opaque). */
struct gax_neigh_table;

/** Creation options; start from gax_neigh_opts_init(). */
struct gax_neigh_opts {
	uint32_t capacity;		/**< Entries, 1 to GAX_NEIGH_MAX_CAPACITY. */
	/** Packets held per unresolved address, 0 (never hold) to GAX_NEIGH_MAX_QUEUE_PER_ENTRY. */
	uint32_t queue_per_entry;
	/** Packets held across all entries, 0 (never hold) to GAX_NEIGH_MAX_QUEUE_TOTAL. */
	uint32_t queue_total;
	uint64_t ticks_per_second;	/**< Unit of `now`, 1 to GAX_NEIGH_MAX_TICKS_PER_SECOND. */
	/** How long a learned MAC is used without question, 1 to GAX_NEIGH_MAX_REACHABLE_MS. */
	uint32_t reachable_ms;
	/** Least gap between two requests for one address, 1 to GAX_NEIGH_MAX_RETRY_MS. */
	uint32_t retry_ms;
	/** Unanswered requests for an address before giving up, 1 to GAX_NEIGH_MAX_RETRIES. */
	uint32_t max_retries;
	/** Hash seed; 0: one derived from the table's address. */
	uint64_t seed;
};

/** What gax_neigh_resolve() did with a packet. */
enum gax_neigh_result {
	GAX_NEIGH_HIT = 0,	/**< MAC known and filled in; the packet is the caller's. */
	GAX_NEIGH_HELD = 1,	/**< The table holds the packet (or nothing, for pkt NULL). */
	GAX_NEIGH_FULL = 2,	/**< Not held (queue or table full, bad key): caller drops. */
};

/** State of an entry, as gax_neigh_lookup() and gax_neigh_next() show it. */
enum gax_neigh_state {
	GAX_NEIGH_ST_INCOMPLETE = 1,	/**< Asked for, no answer yet. */
	GAX_NEIGH_ST_RESOLVED = 2,	/**< Learned less than reachable_ms ago. */
	GAX_NEIGH_ST_STALE = 3,		/**< Learned longer ago; refreshed on use. */
	GAX_NEIGH_ST_STATIC = 4,	/**< From the configuration. */
};

/** One entry, for display. */
struct gax_neigh_info {
	uint32_t addr;			/**< IPv4 address, host byte order. */
	uint16_t iface;			/**< Interface index. */
	uint8_t mac[6];			/**< All zero while incomplete. */
	enum gax_neigh_state state;
	uint32_t held;			/**< Packets held for it now. */
	/** Requests asked for since created (incomplete) or since stale (resolved). */
	uint32_t requests;
	/** Ticks since learned (resolved, stale) or created (incomplete); 0 for static. */
	uint64_t age;
};

/**
 * Table statistics: the first five are figures of now, the others counters
 * since creation. Always entries == static_entries + resolved + incomplete,
 * and held == flushed + unresolved_drops + held_now.
 */
struct gax_neigh_stats {
	uint64_t entries;		/**< Entries in use now. */
	uint64_t static_entries;	/**< ...of which static. */
	uint64_t resolved;		/**< ...of which learned (resolved or stale). */
	uint64_t incomplete;		/**< ...of which incomplete. */
	uint64_t held_now;		/**< Packets held now. */
	uint64_t hits;			/**< gax_neigh_resolve() answered GAX_NEIGH_HIT. */
	uint64_t misses;		/**< gax_neigh_resolve() with a valid key and no MAC. */
	uint64_t held;			/**< Packets held. */
	uint64_t queue_full;		/**< gax_neigh_resolve() answered GAX_NEIGH_FULL. */
	uint64_t table_full;		/**< An entry was needed and none was free. */
	uint64_t invalid;		/**< gax_neigh_resolve() with a bad iface or address. */
	uint64_t learned;		/**< MACs learned or refreshed by gax_neigh_learn(). */
	uint64_t mac_changes;		/**< ...that replaced a different MAC. */
	uint64_t static_ignored;	/**< gax_neigh_learn() for a static entry. */
	uint64_t requests;		/**< Requests asked for (first, retries and refreshes). */
	uint64_t retries;		/**< ...repeated for an incomplete entry. */
	uint64_t refreshes;		/**< ...for a stale entry. */
	uint64_t flushed;		/**< Held packets handed back with a MAC. */
	uint64_t unresolved_drops;	/**< Held packets handed back to be dropped. */
	uint64_t unresolved;		/**< Incomplete entries given up after max_retries. */
	uint64_t expired;		/**< Entries freed by time (given up or stale). */
	uint64_t deleted;		/**< Entries removed by gax_neigh_delete(). */
};

/**
 * Called with a packet the table hands back: by gax_neigh_learn() to send
 * it to @p mac, or to drop it (@p mac NULL) by gax_neigh_tick(),
 * gax_neigh_delete() and gax_neigh_free(). The packet is the caller's again.
 */
typedef void (*gax_neigh_pkt_fn)(void *ctx, void *pkt, uint16_t iface, uint32_t addr,
		const uint8_t *mac);

/** Called by gax_neigh_tick() when an ARP request for @p addr on @p iface is due. */
typedef void (*gax_neigh_request_fn)(void *ctx, uint16_t iface, uint32_t addr);

/**
 * Fill @p o with the defaults: GAX_NEIGH_DEFAULT_CAPACITY entries, 16 packets
 * held per address and 1024 per table, 10^9 ticks per second (nanoseconds),
 * 60 s reachable, requests 1 s apart, 3 requests, a seed from the address.
 * Thread safety: any thread.
 */
void gax_neigh_opts_init(struct gax_neigh_opts *o);

/**
 * Create a table and allocate (and touch) all its memory: about 56 bytes per
 * entry and 12 per packet of queue_total.
 *
 * @param o  options; NULL for the defaults of gax_neigh_opts_init()
 * @return the table, or NULL with errno:
 *   EINVAL  an option out of the range its field documents;
 *   ENOMEM  out of memory.
 * Thread safety: any thread (typically the control thread before the worker starts).
 */
struct gax_neigh_table *gax_neigh_create(const struct gax_neigh_opts *o);

/**
 * Release a table, handing every packet it holds to @p drop_fn (mac NULL)
 * so the caller can free it. NULL is allowed.
 *
 * @param drop_fn  NULL: held packets are forgotten without a call
 * Thread safety: once the owner no longer uses the table.
 */
void gax_neigh_free(struct gax_neigh_table *t, gax_neigh_pkt_fn drop_fn, void *ctx);

/**
 * Add or update a static entry: it never expires and learning never changes
 * it. An existing entry for the key becomes static; packets it held are
 * dropped by the next gax_neigh_tick() that examines it.
 *
 * @param iface  below GAX_NEIGH_MAX_IFACES
 * @param addr   not 0 and below 224.0.0.0 (no multicast, class E or broadcast)
 * @param mac    unicast and not all zero
 * @return 0, or
 *   -EINVAL  a bad iface, addr or mac;
 *   -ENOSPC  no free entry (counted in table_full).
 * Thread safety: the owner only.
 */
int gax_neigh_add_static(struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		const uint8_t *mac);

/**
 * Remove the entry of (@p iface, @p addr), whatever its state (say a static
 * neighbour gone from the configuration), handing the packets it held to
 * @p drop_fn (counted in unresolved_drops).
 *
 * @return 0, or -EINVAL (bad iface or addr), -ENOENT (no such entry).
 * Thread safety: the owner only.
 */
int gax_neigh_delete(struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		gax_neigh_pkt_fn drop_fn, void *ctx);

/**
 * A number that changes whenever any entry's state or MAC changes (learned,
 * made static, forgotten, deleted, freed). With gax_neigh_hit_until() it lets
 * a caller keep the MAC of a hit and skip gax_neigh_resolve() for that next
 * hop. Thread safety: the owner only.
 */
uint64_t gax_neigh_version(const struct gax_neigh_table *t);

/** Where gax_neigh_version() is kept, for a caller that reads it on every packet. */
const uint64_t *gax_neigh_version_ptr(const struct gax_neigh_table *t);

/**
 * Until when (in the table's ticks) gax_neigh_resolve() of (@p iface,
 * @p addr) would return the same hit and ask for nothing, provided
 * gax_neigh_version() has not changed: UINT64_MAX for a static entry, the
 * moment a resolved entry goes stale (its refresh is then due), 0 when there
 * is no usable entry. Thread safety: the owner only.
 */
uint64_t gax_neigh_hit_until(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr);

/**
 * Find the MAC of next hop (@p iface, @p addr) for packet @p pkt.
 *
 * A static, resolved or stale entry is a hit. A stale entry past its last
 * chance (max_retries * retry_ms after going stale) is forgotten here
 * already (counted in expired) and is a miss. On a miss the entry is created
 * incomplete if need be, and @p pkt held if both its entry's queue and the
 * table's have room.
 *
 * *@p send_request is set true when the caller should broadcast an ARP
 * request for @p addr now: on the miss that creates the entry, when a retry
 * is due for an incomplete entry (fewer than max_retries requests so far),
 * and when a stale entry is due a refresh; at most once per retry_ms per
 * entry, and counted in requests. It may be true whatever the result.
 *
 * @param now   current time, in the table's ticks
 * @param pkt   the packet, opaque; NULL only to ask (e.g. to pre-resolve)
 * @param mac   6 bytes, filled on a hit
 * @param send_request  not NULL
 * @return GAX_NEIGH_HIT (mac filled, packet not kept), GAX_NEIGH_HELD (the
 *   table holds pkt, the caller must not touch it; with pkt NULL nothing is
 *   held), or GAX_NEIGH_FULL: not held because the entry's or the table's
 *   queue is full, no entry is free (table_full) or iface or addr is bad
 *   (invalid); the caller drops the packet. Every FULL is counted in
 *   queue_full.
 * Thread safety: the owner only.
 */
enum gax_neigh_result gax_neigh_resolve(struct gax_neigh_table *t, uint16_t iface,
		uint32_t addr, uint64_t now, void *pkt, uint8_t *mac, bool *send_request);

/**
 * Learn that @p addr is at @p mac on @p iface, from an ARP reply or an ARP
 * request whose target is one of ours (the RFC 826 merge). The entry is
 * created only if @p create is true; an existing incomplete, resolved or
 * stale entry is updated either way and is fresh again. Every packet the
 * entry held goes to @p flush_fn with the MAC, in arrival order, and is
 * forgotten. Static entries are left alone (counted in static_ignored).
 *
 * @param flush_fn  NULL: held packets are forgotten without a call
 * @return the number of packets flushed (0 also when nothing was learned:
 *   unknown address and create false, or a static entry), or
 *   -EINVAL  a bad iface or addr (as for gax_neigh_add_static()), or a
 *            broadcast, multicast or all-zero mac;
 *   -ENOSPC  create and no free entry (counted in table_full).
 * Thread safety: the owner only.
 */
int gax_neigh_learn(struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		const uint8_t *mac, uint64_t now, bool create, gax_neigh_pkt_fn flush_fn,
		void *ctx);

/**
 * Timers: examine the next @p budget entries (at most the capacity) after
 * where the last call stopped, wrapping around, so every entry is examined
 * once per capacity/budget calls. For each:
 *  - incomplete, last request at least retry_ms ago: fewer than max_retries
 *    requests so far: call @p request_fn and count a retry; otherwise hand
 *    its held packets to @p drop_fn (counted in unresolved_drops) and free
 *    it (counted in unresolved and expired);
 *  - stale past its last chance (max_retries * retry_ms after going stale
 *    without an answer): free it (counted in expired);
 *  - static and holding packets (it was incomplete when made static): hand
 *    them to @p drop_fn (counted in unresolved_drops).
 *
 * @param now         current time, in the table's ticks
 * @param budget      entries to examine; 0 does nothing
 * @param request_fn  NULL: the retries are counted, not sent
 * @param drop_fn     NULL: dropped packets are forgotten without a call
 * @return the number of entries freed.
 * Thread safety: the owner only.
 */
unsigned int gax_neigh_tick(struct gax_neigh_table *t, uint64_t now, unsigned int budget,
		gax_neigh_request_fn request_fn, gax_neigh_pkt_fn drop_fn, void *ctx);

/**
 * Describe the entry of (@p iface, @p addr) at @p now into @p info, without
 * changing anything.
 *
 * @return 0, or -ENOENT when there is none (or iface or addr is bad).
 * Thread safety: the owner only.
 */
int gax_neigh_lookup(const struct gax_neigh_table *t, uint16_t iface, uint32_t addr,
		uint64_t now, struct gax_neigh_info *info);

/**
 * Describe the next entry at or after slot *@p pos into @p info, advancing
 * *@p pos past it. Start with *pos = 0. Deleting the entry described is
 * allowed.
 *
 * @return true, or false at the end.
 * Thread safety: the owner only.
 */
bool gax_neigh_next(const struct gax_neigh_table *t, uint32_t *pos, uint64_t now,
		struct gax_neigh_info *info);

/** "incomplete", "resolved", "stale", "static" or "?". Thread safety: any thread. */
const char *gax_neigh_state_name(enum gax_neigh_state state);

/** Copy the statistics into @p s. Thread safety: the owner only. */
void gax_neigh_stats_get(const struct gax_neigh_table *t, struct gax_neigh_stats *s);

/** Entries in use now. Thread safety: the owner only. */
uint32_t gax_neigh_count(const struct gax_neigh_table *t);

/** Capacity in entries, as given at creation. Thread safety: any thread. */
uint32_t gax_neigh_capacity(const struct gax_neigh_table *t);

/**
 * Whether @p mac may be a neighbour's: not multicast or broadcast (low bit
 * of the first byte clear) and not all zero. Thread safety: any thread.
 */
static inline bool
gax_neigh_mac_ok(const uint8_t *mac)
{
	return (mac[0] & 1) == 0 &&
		(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

/**
 * Whether @p addr may be a neighbour's: not 0 and below 224.0.0.0 (not
 * multicast, class E or broadcast). Thread safety: any thread.
 */
static inline bool
gax_neigh_addr_ok(uint32_t addr)
{
	return addr != 0 && addr < 0xe0000000u;
}

#ifdef __cplusplus
}
#endif

#endif /* GAX_NEIGH_H */
