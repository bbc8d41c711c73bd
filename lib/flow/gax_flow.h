/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker flow table and full-NAT source-port allocator, plain C.
 *
 * Each worker lcore owns one table: no lock, no atomic, no allocation after
 * gax_flow_create(). A flow is one 64-byte record reachable by two keys:
 *  - the client-side key: client addr:port -> accelerated addr:port;
 *  - the endpoint-side key, what the endpoint's reply carries: endpoint
 *    addr:port -> NAT source addr:port (the client's addr:port when the
 *    client IP is reserved).
 *
 * Return traffic is steered without NIC flow-director rules: a worker only
 * hands out full-NAT source ports with port % n_workers == worker_id, so any
 * worker can tell from a reply's destination port which worker owns its flow
 * (gax_flow_owner_of_port()) and pass the packet to it. Replies of flows that
 * reserve the client IP carry the client's port and are not steered this way.
 *
 * Time is whatever monotonic counter the caller likes (TSC cycles,
 * nanoseconds, seconds), declared at creation as ticks per second; timeouts
 * are in seconds. Idle flows are freed by gax_flow_expire(), an incremental
 * sweep the worker calls once per loop with a small budget.
 *
 * Thread safety: a table belongs to one thread (its worker). Every function
 * taking a table must be called by that thread only; none blocks, locks or
 * makes a syscall except gax_flow_create() and gax_flow_free(). The pure
 * helpers (keys, gax_flow_owner_of_port()) are callable from any thread.
 */
#ifndef GAX_FLOW_H
#define GAX_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_FLOW_DEFAULT_CAPACITY	(1u << 20)	/**< Flows per table by default. */
#define GAX_FLOW_MAX_CAPACITY		(1u << 26)	/**< Largest capacity accepted. */
#define GAX_FLOW_MAX_WORKERS		1024	/**< Largest n_workers accepted. */
#define GAX_FLOW_DEFAULT_SHORT_TIMEOUT	10	/**< Seconds, TCP flows closing. */
#define GAX_FLOW_TIMEOUT_MAX		65535	/**< Longest idle timeout (s); longer is clamped. */
#define GAX_FLOW_MAX_TICKS_PER_SECOND	(1ull << 40)	/**< Finest clock accepted. */
#define GAX_FLOW_BULK_MAX		32	/**< Keys per gax_flow_lookup_bulk(). */
#define GAX_FLOW_SNAT_PORT_MIN		1024	/**< Lowest full-NAT source port. */
#define GAX_FLOW_SNAT_PORT_MAX		65535	/**< Highest full-NAT source port. */
#define GAX_FLOW_SNAT_PROBES		64	/**< Ports tried per gax_flow_snat_port(). */

/* TCP flags as in the header's flags byte (same values as GAX_PKT_TCP_*). */
#define GAX_FLOW_TCP_FIN	0x01
#define GAX_FLOW_TCP_SYN	0x02
#define GAX_FLOW_TCP_RST	0x04
#define GAX_FLOW_TCP_ACK	0x10

/* Bits of gax_flow.state. */
#define GAX_FLOW_ST_USED	0x01	/**< The record holds a flow (internal). */
#define GAX_FLOW_ST_FIN_CLIENT	0x02	/**< TCP FIN seen from the client. */
#define GAX_FLOW_ST_FIN_ENDPOINT 0x04	/**< TCP FIN seen from the endpoint. */
#define GAX_FLOW_ST_RST		0x08	/**< TCP RST seen from either side. */

/** Which side a packet (or key) of a flow comes from. */
enum gax_flow_dir {
	GAX_FLOW_DIR_CLIENT = 0,	/**< Client -> accelerated address. */
	GAX_FLOW_DIR_ENDPOINT = 1,	/**< Endpoint -> NAT source (reply). */
};

/**
 * A lookup key: an IPv4 5-tuple in host byte order, 16 bytes. pad must be
 * zero (build keys with gax_flow_key_init()).
 */
struct gax_flow_key {
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t pad[3];
};

/** The addresses and ports of one direction of a flow (a key without proto). */
struct gax_flow_tuple {
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
};

/**
 * A flow record: one cache line. The two keys are tuple[dir] plus proto, so
 * everything a rewrite needs is here:
 *  - client side (tuple[0]): client addr:port -> accelerated addr:port;
 *  - endpoint side (tuple[1]): endpoint addr:port -> NAT source addr:port.
 * The accessors below name them. The caller may update the counters and read
 * everything; it changes the rest only through the functions of this module.
 */
struct gax_flow {
	struct gax_flow_tuple tuple[2];	/**< Indexed by enum gax_flow_dir. */
	uint8_t proto;		/**< IP protocol of both keys. */
	uint8_t state;		/**< GAX_FLOW_ST_* bits. */
	uint16_t timeout_s;	/**< Idle timeout in force (the short one once closing). */
	uint32_t listener;	/**< Listener index, as given at insert. */
	uint32_t endpoint;	/**< Endpoint index, as given at insert. */
	uint32_t last_seen;	/**< On the table clock (see gax_flow_idle()). */
	uint32_t pkts[2];	/**< Packets per direction (wrap at 2^32). */
	uint64_t bytes[2];	/**< Bytes per direction. */
} __attribute__((aligned(64)));

/** A flow table (opaque). */
struct gax_flow_table;

/**
 * Called by gax_flow_expire() for each flow it frees, just before freeing it.
 * The callback must not call into the table.
 */
typedef void (*gax_flow_expire_fn)(void *ctx, const struct gax_flow *f);

/** Creation options; start from gax_flow_opts_init(). */
struct gax_flow_opts {
	uint32_t capacity;		/**< Flows, 1 to GAX_FLOW_MAX_CAPACITY. */
	uint32_t short_timeout_s;	/**< TCP closing timeout, 1 to GAX_FLOW_TIMEOUT_MAX. */
	uint64_t ticks_per_second;	/**< Unit of `now`, 1 to GAX_FLOW_MAX_TICKS_PER_SECOND. */
	uint32_t n_workers;		/**< Workers sharing the NAT addresses, 1 to 1024. */
	uint32_t worker_id;		/**< This table's worker, below n_workers. */
	/** Hash seed; 0: a random one, so that clients cannot aim at one probe sequence. */
	uint64_t seed;
	/**
	 * Full-NAT source ports handed out: [snat_port_min, snat_port_max],
	 * within [GAX_FLOW_SNAT_PORT_MIN, GAX_FLOW_SNAT_PORT_MAX], holding at
	 * least n_workers ports. Default: that whole range. gaxd narrows it when
	 * the host's kernel shares the interface addresses (its ephemeral ports
	 * must not be gax's).
	 */
	uint16_t snat_port_min;
	uint16_t snat_port_max;
	gax_flow_expire_fn expire_cb;	/**< Optional, see gax_flow_expire(). */
	void *expire_ctx;		/**< First argument of expire_cb. */
	/**
	 * Optional allocator of the table's two large arrays (say
	 * rte_malloc_socket() for hugepages on the worker's NUMA node): both or
	 * neither. The memory need not be zeroed. Default: aligned_alloc() with
	 * transparent huge pages requested.
	 */
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *p);
	void *alloc_ctx;
};

/** Table statistics (counters since creation, but active). */
struct gax_flow_stats {
	uint64_t active;	/**< Flows in the table now. */
	uint64_t inserts;	/**< Successful gax_flow_insert(). */
	uint64_t insert_full;	/**< gax_flow_insert() refused with -ENOSPC. */
	uint64_t insert_exists;	/**< gax_flow_insert() refused with -EEXIST. */
	uint64_t deletes;	/**< gax_flow_delete(). */
	uint64_t expired;	/**< Freed by gax_flow_expire(). */
	uint64_t lookups;	/**< Keys looked up (single and bulk). */
	uint64_t hits;		/**< Keys found. */
	uint64_t tcp_reopened;	/**< Closing TCP flows reused by a new SYN. */
	uint64_t snat_ports;	/**< Ports handed out by gax_flow_snat_port(). */
	uint64_t snat_failures;	/**< gax_flow_snat_port() failed with -EADDRNOTAVAIL. */
};

/* ---- keys and records: pure helpers ----------------------------------- */

/** Fill @p k (pad zeroed). Thread safety: any thread. */
static inline void
gax_flow_key_init(struct gax_flow_key *k, uint32_t saddr, uint32_t daddr, uint16_t sport,
		uint16_t dport, uint8_t proto)
{
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->pad[0] = 0;
	k->pad[1] = 0;
	k->pad[2] = 0;
}

/** The key of direction @p dir of flow @p f into @p k. Thread safety: any thread. */
static inline void
gax_flow_key_of(const struct gax_flow *f, enum gax_flow_dir dir, struct gax_flow_key *k)
{
	const struct gax_flow_tuple *tp = &f->tuple[dir];

	gax_flow_key_init(k, tp->saddr, tp->daddr, tp->sport, tp->dport, f->proto);
}

/**
 * The direction of a packet whose key @p k found flow @p f: which of the two
 * keys it is (@p k must be one of them). Thread safety: any thread.
 */
static inline enum gax_flow_dir
gax_flow_key_dir(const struct gax_flow *f, const struct gax_flow_key *k)
{
	const struct gax_flow_tuple *c = &f->tuple[GAX_FLOW_DIR_CLIENT];

	return (k->saddr == c->saddr && k->daddr == c->daddr && k->sport == c->sport &&
			k->dport == c->dport) ? GAX_FLOW_DIR_CLIENT : GAX_FLOW_DIR_ENDPOINT;
}

/* Named views of the two tuples (thread safety: any thread). */

static inline uint32_t
gax_flow_client_addr(const struct gax_flow *f)
{
	return f->tuple[0].saddr;
}

static inline uint16_t
gax_flow_client_port(const struct gax_flow *f)
{
	return f->tuple[0].sport;
}

static inline uint32_t
gax_flow_vip_addr(const struct gax_flow *f)
{
	return f->tuple[0].daddr;
}

static inline uint16_t
gax_flow_vip_port(const struct gax_flow *f)
{
	return f->tuple[0].dport;
}

static inline uint32_t
gax_flow_endpoint_addr(const struct gax_flow *f)
{
	return f->tuple[1].saddr;
}

static inline uint16_t
gax_flow_endpoint_port(const struct gax_flow *f)
{
	return f->tuple[1].sport;
}

/** NAT source address (the client's address when the client IP is reserved). */
static inline uint32_t
gax_flow_nat_addr(const struct gax_flow *f)
{
	return f->tuple[1].daddr;
}

/** NAT source port (the client's port when the client IP is reserved). */
static inline uint16_t
gax_flow_nat_port(const struct gax_flow *f)
{
	return f->tuple[1].dport;
}

/** Whether a TCP flow is closing: FIN seen both ways, or an RST. */
static inline bool
gax_flow_closing(const struct gax_flow *f)
{
	return (f->state & GAX_FLOW_ST_RST) != 0 ||
		(f->state & (GAX_FLOW_ST_FIN_CLIENT | GAX_FLOW_ST_FIN_ENDPOINT)) ==
		(GAX_FLOW_ST_FIN_CLIENT | GAX_FLOW_ST_FIN_ENDPOINT);
}

/** Count one packet of @p len bytes in direction @p dir. Thread safety: the owner. */
static inline void
gax_flow_account(struct gax_flow *f, enum gax_flow_dir dir, uint32_t len)
{
	f->pkts[dir]++;
	f->bytes[dir] += len;
}

/**
 * The worker owning the flow of a reply whose destination is full-NAT source
 * port @p port: port % n_workers (0 when n_workers is 0 or 1).
 * Thread safety: any thread.
 */
static inline uint32_t
gax_flow_owner_of_port(uint16_t port, uint32_t n_workers)
{
	return n_workers > 1 ? (uint32_t)port % n_workers : 0;
}

/* ---- table ------------------------------------------------------------ */

/**
 * Fill @p o with the defaults: GAX_FLOW_DEFAULT_CAPACITY flows, a short
 * timeout of GAX_FLOW_DEFAULT_SHORT_TIMEOUT s, 10^9 ticks per second
 * (nanoseconds), one worker (id 0), a random seed, no callback, the default
 * allocator. Thread safety: any thread.
 */
void gax_flow_opts_init(struct gax_flow_opts *o);

/**
 * Create a table and allocate (and touch) all its memory: about 96 bytes per
 * flow of capacity (gax_flow_mem_per_flow()).
 *
 * @param o  options; NULL for the defaults of gax_flow_opts_init()
 * @return the table, or NULL with errno:
 *   EINVAL  capacity 0 or above GAX_FLOW_MAX_CAPACITY; short_timeout_s 0 or
 *           above GAX_FLOW_TIMEOUT_MAX; ticks_per_second 0 or above
 *           GAX_FLOW_MAX_TICKS_PER_SECOND; n_workers 0 or above
 *           GAX_FLOW_MAX_WORKERS; worker_id >= n_workers; only one of
 *           alloc and free given;
 *   ENOMEM  out of memory.
 * Thread safety: any thread (typically the control thread before the worker starts).
 */
struct gax_flow_table *gax_flow_create(const struct gax_flow_opts *o);

/**
 * Release a table and every flow in it (no callback). NULL is allowed.
 * Thread safety: once the owner no longer uses the table.
 */
void gax_flow_free(struct gax_flow_table *t);

/**
 * Add a flow under both its keys, with the TCP state cleared, last seen at
 * @p now and counters at 0.
 *
 * @param t             the table
 * @param client_key    client addr:port -> accelerated addr:port
 * @param endpoint_key  endpoint addr:port -> NAT source addr:port (or client
 *                      addr:port); same proto as @p client_key
 * @param listener      listener index, stored
 * @param endpoint      endpoint index, stored
 * @param now           current time, in the table's ticks
 * @param timeout_s     idle timeout, clamped to [1, GAX_FLOW_TIMEOUT_MAX]
 * @param flow          if not NULL, set to the new record
 * @return 0, or
 *   -EINVAL  a key's pad is not zero, the protos differ, or both keys are equal;
 *   -EEXIST  either key is already in the table (counted in insert_exists);
 *   -ENOSPC  the table holds capacity flows (counted in insert_full).
 * Thread safety: the owner only.
 */
int gax_flow_insert(struct gax_flow_table *t, const struct gax_flow_key *client_key,
		const struct gax_flow_key *endpoint_key, uint32_t listener, uint32_t endpoint,
		uint64_t now, uint32_t timeout_s, struct gax_flow **flow);

struct gax_flow_snat_hint;	/* below, with gax_flow_snat_prefetch() */

/** Where a new flow goes (see gax_flow_open()). */
struct gax_flow_nat {
	uint32_t endpoint_addr;
	uint16_t endpoint_port;
	/** The source gax gives it (full NAT); 0: the client's address and port are kept. */
	uint32_t nat_addr;
};

/**
 * Open a flow for @p client_key towards @p nat: gax_flow_snat_port() then
 * gax_flow_insert() in one, each key hashed and probed once (a full table
 * is refused before a port is taken).
 *
 * @return 0 with *@p flow set (its NAT port is gax_flow_nat_port()),
 *   -ENOSPC (table full, counted in insert_full), -EADDRNOTAVAIL (no free
 *   full-NAT port, counted in snat_failures), -EEXIST (the client key, or
 *   with the client kept the endpoint-side tuple, is in a flow; counted in
 *   insert_exists), -EINVAL (a key with pad bytes set, or no @p nat).
 * Thread safety: the owner only.
 */
int gax_flow_open(struct gax_flow_table *t, const struct gax_flow_key *client_key,
		const struct gax_flow_nat *nat, uint32_t listener, uint32_t endpoint, uint64_t now,
		uint32_t timeout_s, struct gax_flow **flow);

/**
 * gax_flow_open() with what the caller already computed: @p client_hash,
 * the hash of @p client_key that gax_flow_lookup_bulk_hashed() gave, and
 * optionally (@p snat, may be NULL) the hint gax_flow_snat_prefetch() filled
 * for this flow's destination: its candidate port's hash is used when that
 * candidate is still the next one to try (and the destination is @p nat's).
 * Same results as gax_flow_open(). Thread safety: the owner only.
 */
int gax_flow_open_hinted(struct gax_flow_table *t, const struct gax_flow_key *client_key,
		uint64_t client_hash, const struct gax_flow_nat *nat,
		const struct gax_flow_snat_hint *snat, uint32_t listener, uint32_t endpoint,
		uint64_t now, uint32_t timeout_s, struct gax_flow **flow);

/**
 * Find the flow one of whose keys is @p k.
 *
 * @return the flow, or NULL when none has that key. The pointer stays valid
 *   until the flow is deleted or expired.
 * Thread safety: the owner only.
 */
struct gax_flow *gax_flow_lookup(struct gax_flow_table *t, const struct gax_flow_key *k);

/**
 * Find the flows of @p n keys at once, hiding memory latency: hash all keys
 * and prefetch their index lines, then scan the index and prefetch the
 * candidate records, then compare. Gives the same result as n single
 * lookups.
 *
 * @param t      the table
 * @param keys   n keys
 * @param n      0 to GAX_FLOW_BULK_MAX
 * @param flows  n entries: the flow of keys[i], or NULL
 * @return the number of keys found, or -EINVAL when n > GAX_FLOW_BULK_MAX.
 * Thread safety: the owner only.
 */
int gax_flow_lookup_bulk(struct gax_flow_table *t, const struct gax_flow_key *keys,
		unsigned int n, struct gax_flow **flows);

/**
 * gax_flow_lookup_bulk(), also giving each key's hash under the table's
 * seed in @p hashes (n entries), for gax_flow_open_hinted() of the keys
 * found missing. Same return values; thread safety: the owner only.
 */
int gax_flow_lookup_bulk_hashed(struct gax_flow_table *t, const struct gax_flow_key *keys,
		unsigned int n, struct gax_flow **flows, uint64_t *hashes);

/**
 * Remove a flow's two keys and free its record (no callback).
 *
 * @return 0, or -EINVAL when @p f is not a flow in use of @p t.
 * Thread safety: the owner only.
 */
int gax_flow_delete(struct gax_flow_table *t, struct gax_flow *f);

/**
 * Mark a flow seen at @p now and set its idle timeout to @p timeout_s
 * (clamped to [1, GAX_FLOW_TIMEOUT_MAX]), or to the table's short timeout if
 * that is shorter and the flow is closing (gax_flow_closing()).
 * Thread safety: the owner only.
 */
void gax_flow_touch(struct gax_flow_table *t, struct gax_flow *f, uint64_t now,
		uint32_t timeout_s);

/**
 * Track a TCP packet's flags, then gax_flow_touch() the flow. FIN sets the
 * sending side's FIN bit, RST the RST bit; once FIN was seen both ways or an
 * RST, the flow is closing and its timeout shortens. A SYN without ACK nor
 * RST from the client on a closing flow reopens it: the TCP state is cleared
 * and the flow (with its endpoint and NAT port) serves the new connection.
 *
 * @param dir        who sent the packet
 * @param tcp_flags  the TCP flags byte (GAX_FLOW_TCP_*)
 * @return 1 when a SYN reopened the flow (counted in tcp_reopened), else 0.
 * Thread safety: the owner only.
 */
int gax_flow_tcp_track(struct gax_flow_table *t, struct gax_flow *f, enum gax_flow_dir dir,
		uint8_t tcp_flags, uint64_t now, uint32_t timeout_s);

/**
 * Sweep part of the table: examine the next @p budget records (at most the
 * span, gax_flow_span()) after where the last call stopped, wrapping around
 * at the span, and free
 * each flow idle for at least its timeout, calling the expire callback first
 * if one was given. A flow is never freed before it has been idle for its
 * timeout, and one idle that long is freed within span/budget further
 * calls (plus one coarse clock tick, under 2 ms). The sweep must visit every
 * flow at least once every 2^31 table clock ticks (about 12 days at the
 * finest clock) or very old flows may look fresh for as long again.
 *
 * @param now     current time, in the table's ticks
 * @param budget  records to examine (not flows to free); 0 does nothing
 * @return the number of flows freed.
 * Thread safety: the owner only.
 */
unsigned int gax_flow_expire(struct gax_flow_table *t, uint64_t now, unsigned int budget);

/** A destination gax_flow_snat_prefetch() is told a new flow will go to. */
struct gax_flow_snat_hint {
	uint32_t nat_addr;
	uint32_t endpoint_addr;
	uint16_t endpoint_port;
	uint8_t proto;
	/* Set by gax_flow_snat_prefetch(): the candidate it fetched, for
	 * gax_flow_open_hinted() (which checks it is still the next one). */
	uint16_t bucket;	/**< Out: the destination's cursor bucket. */
	uint32_t k;		/**< Out: the candidate's index in the bucket's rotation. */
	uint64_t hash;		/**< Out: the hash of the candidate's endpoint-side key. */
};

/**
 * Fetch the index lines gax_flow_snat_port() will most likely read for the
 * next @p n new flows, to destinations @p h in that order (at most 255 to
 * one destination), so a caller that knows them pays those cache misses
 * while it does other work. Only a hint: nothing in the table changes; the
 * out fields of each @p h are set (see gax_flow_open_hinted()).
 * Thread safety: the owner only.
 */
void gax_flow_snat_prefetch(const struct gax_flow_table *t, struct gax_flow_snat_hint *h,
		unsigned int n);

/**
 * Pick a full-NAT source port for a new flow from @p nat_addr to
 * @p endpoint_addr:@p endpoint_port: a port in [snat_port_min,
 * snat_port_max] (struct gax_flow_opts) with port % n_workers == worker_id whose
 * endpoint-side key (endpoint -> nat_addr:port, proto) is in no flow of the
 * table. Candidates are tried from a rotating cursor (so a port is reused
 * for the same endpoint as late as possible), at most GAX_FLOW_SNAT_PROBES
 * of them. Ports are shared across endpoints: only the 5-tuple must be
 * unique. Nothing is reserved: insert the flow before the next call.
 *
 * @param port  set to the port on success
 * @return 0, or -EADDRNOTAVAIL when every port tried is in use (counted in
 *   snat_failures).
 * Thread safety: the owner only.
 */
int gax_flow_snat_port(struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto, uint16_t *port);

/**
 * Ports the table can hand out per (NAT address, endpoint, protocol): those
 * in [snat_port_min, snat_port_max] with port % n_workers == worker_id. Thread safety: any thread.
 */
uint32_t gax_flow_snat_port_count(const struct gax_flow_table *t);

/**
 * How long flow @p f has been idle at @p now, in the table's ticks, to the
 * table clock's resolution (1/1024 s or finer); 0 if it was touched after
 * @p now. Exact for idle times below 2^31 table clock ticks.
 * Thread safety: the owner only.
 */
uint64_t gax_flow_idle(const struct gax_flow_table *t, const struct gax_flow *f, uint64_t now);

/**
 * The next flow in use at or after record *@p pos, advancing *@p pos past it;
 * NULL at the end. Start with *pos = 0. Deleting the flow returned is allowed.
 * Thread safety: the owner only.
 */
struct gax_flow *gax_flow_next(struct gax_flow_table *t, uint32_t *pos);

/** Copy the statistics into @p s. Thread safety: the owner only. */
void gax_flow_stats_get(const struct gax_flow_table *t, struct gax_flow_stats *s);

/** Flows in the table now. Thread safety: the owner only. */
uint32_t gax_flow_count(const struct gax_flow_table *t);

/**
 * Records ever used (all flows sit below this index): what a full sweep of
 * gax_flow_expire() examines. Freed records are reused first, so it stays
 * near the peak number of flows. Thread safety: the owner only.
 */
uint32_t gax_flow_span(const struct gax_flow_table *t);

/** Capacity in flows, as given at creation. Thread safety: any thread. */
uint32_t gax_flow_capacity(const struct gax_flow_table *t);

/** Bytes of memory the table holds (records, index, table). Thread safety: any thread. */
size_t gax_flow_mem_total(const struct gax_flow_table *t);

/** gax_flow_mem_total() / capacity, in bytes. Thread safety: any thread. */
double gax_flow_mem_per_flow(const struct gax_flow_table *t);

#ifdef __cplusplus
}
#endif

#endif /* GAX_FLOW_H */
