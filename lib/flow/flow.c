/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-worker flow table: a preallocated array of 64-byte flow records
 * with a free list, and an open-addressing index (see flow_priv.h) from each
 * flow's two keys to its record. Lookups come single or in bursts of up to
 * 32, where all hashes are computed and their index lines prefetched before
 * any is read, then the candidate records prefetched before any is compared,
 * so a burst waits for memory about twice instead of twice per key (the
 * pattern of DPDK's rte_hash bulk lookup).
 *
 * Idle flows are found by an incremental sweep over the record array: each
 * gax_flow_expire() call examines the next `budget` records, so expiry costs
 * the worker a bounded, small amount per loop and touching a flow costs two
 * stores. Records keep their last-seen time on a 32-bit table clock, the
 * caller's ticks shifted down to between 1/2048 and 1/1024 s, which is what
 * lets a record with both keys, listener, endpoint, TCP state, timeout and
 * per-direction packet and byte counters fit one cache line.
 *
 * Everything is single-threaded by design: a table belongs to one worker.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include <gax_hash.h>

#include "gax_flow.h"
#include "flow_priv.h"

_Static_assert(sizeof(struct gax_flow) == 64, "a flow record is one cache line");
_Static_assert(sizeof(struct gax_flow_key) == 16, "a key is 16 bytes");
_Static_assert(offsetof(struct gax_flow_key, proto) == sizeof(struct gax_flow_tuple),
		"a key starts with a tuple");

#define FLOW_HUGE_PAGE		(2u << 20)
#define FLOW_CACHE_LINE		64
#define FLOW_SLOTS_PER_FLOW	4	/* two keys per flow, load at most 1/2 */
#define FLOW_MIN_SLOTS		16
#define FLOW_CLOCK_HZ_LOG2	10	/* the table clock ticks at least 1024 times a second */

void
gax_flow_opts_init(struct gax_flow_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->capacity = GAX_FLOW_DEFAULT_CAPACITY;
	o->short_timeout_s = GAX_FLOW_DEFAULT_SHORT_TIMEOUT;
	o->ticks_per_second = 1000000000ull;
	o->n_workers = 1;
	o->worker_id = 0;
	o->snat_port_min = GAX_FLOW_SNAT_PORT_MIN;
	o->snat_port_max = GAX_FLOW_SNAT_PORT_MAX;
}

/* ---- memory ------------------------------------------------------------ */

static size_t
round_up(size_t x, size_t align)
{
	return (x + align - 1) / align * align;
}

/* aligned_alloc() in whole huge pages, with transparent huge pages asked for. */
static void *
default_alloc(void *ctx, size_t size, size_t align)
{
	void *p;

	(void)ctx;
	if (size >= FLOW_HUGE_PAGE)
		align = FLOW_HUGE_PAGE;
	p = aligned_alloc(align, round_up(size, align));
#ifdef MADV_HUGEPAGE
	if (p != NULL && align == FLOW_HUGE_PAGE)
		(void)madvise(p, round_up(size, align), MADV_HUGEPAGE);
#endif
	return p;
}

static void
default_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static uint64_t
random_seed(const void *salt)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = gax_hash_mix64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
			gax_hash_mix64((uint64_t)(uintptr_t)salt);
	}
	return seed != 0 ? seed : 0x6761786677746231ULL;
}

/* ---- create / free ----------------------------------------------------- */

static int
opts_check(const struct gax_flow_opts *o)
{
	if (o->capacity == 0 || o->capacity > GAX_FLOW_MAX_CAPACITY)
		return -EINVAL;
	if (o->short_timeout_s == 0 || o->short_timeout_s > GAX_FLOW_TIMEOUT_MAX)
		return -EINVAL;
	if (o->ticks_per_second == 0 || o->ticks_per_second > GAX_FLOW_MAX_TICKS_PER_SECOND)
		return -EINVAL;
	if (o->n_workers == 0 || o->n_workers > GAX_FLOW_MAX_WORKERS ||
			o->worker_id >= o->n_workers)
		return -EINVAL;
	if ((o->alloc == NULL) != (o->free == NULL))
		return -EINVAL;
	if (o->snat_port_min < GAX_FLOW_SNAT_PORT_MIN || o->snat_port_min > o->snat_port_max ||
			(uint32_t)o->snat_port_max - o->snat_port_min + 1 < o->n_workers)
		return -EINVAL;
	return 0;
}

/* The table clock: shift the caller's ticks down to at least 1024 per second. */
static unsigned int
clock_shift(uint64_t hz)
{
	unsigned int log2 = 63 - (unsigned int)__builtin_clzll(hz);

	return log2 > FLOW_CLOCK_HZ_LOG2 ? log2 - FLOW_CLOCK_HZ_LOG2 : 0;
}

static uint32_t
next_pow2(uint64_t x)
{
	uint64_t p = 1;

	while (p < x)
		p <<= 1;
	return (uint32_t)p;
}

struct gax_flow_table *
gax_flow_create(const struct gax_flow_opts *o)
{
	struct gax_flow_opts defaults;
	struct gax_flow_table *t;
	uint32_t n_slots, i;
	int ret;

	if (o == NULL) {
		gax_flow_opts_init(&defaults);
		o = &defaults;
	}
	ret = opts_check(o);
	if (ret != 0) {
		errno = -ret;
		return NULL;
	}

	t = aligned_alloc(FLOW_CACHE_LINE, round_up(sizeof(*t), FLOW_CACHE_LINE));
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->alloc = o->alloc != NULL ? o->alloc : default_alloc;
	t->free = o->free != NULL ? o->free : default_free;
	t->alloc_ctx = o->alloc != NULL ? o->alloc_ctx : NULL;

	n_slots = next_pow2((uint64_t)o->capacity * FLOW_SLOTS_PER_FLOW);
	if (n_slots < FLOW_MIN_SLOTS)
		n_slots = FLOW_MIN_SLOTS;
	t->slot_mask = n_slots - 1;
	t->slots_size = (size_t)n_slots * sizeof(t->slots[0]);
	t->flows_size = (size_t)o->capacity * sizeof(t->flows[0]);
	t->slots = t->alloc(t->alloc_ctx, t->slots_size, FLOW_CACHE_LINE);
	if (t->slots == NULL)
		goto fail_table;
	t->flows = t->alloc(t->alloc_ctx, t->flows_size, FLOW_CACHE_LINE);
	if (t->flows == NULL)
		goto fail_slots;

	/* Writing every byte now keeps page faults off the packet path. */
	memset(t->slots, 0, t->slots_size);
	memset(t->flows, 0, t->flows_size);
	t->capacity = o->capacity;
	for (i = 0; i < t->capacity; i++)
		t->flows[i].listener = i + 1 < t->capacity ? i + 1 : FLOW_NONE;
	t->free_head = 0;
	t->sweep = 0;
	t->span = 0;

	t->seed = o->seed != 0 ? o->seed : random_seed(t);
	t->ticks_per_second = o->ticks_per_second;
	t->clock_shift = clock_shift(o->ticks_per_second);
	t->short_timeout_s = (uint16_t)o->short_timeout_s;
	t->n_workers = o->n_workers;
	t->worker_id = o->worker_id;
	t->snat_min = o->snat_port_min;
	t->snat_max = o->snat_port_max;
	t->expire_cb = o->expire_cb;
	t->expire_ctx = o->expire_ctx;
	flow_snat_init(t);
	return t;

fail_slots:
	t->free(t->alloc_ctx, t->slots);
fail_table:
	free(t);
	errno = ENOMEM;
	return NULL;
}

void
gax_flow_free(struct gax_flow_table *t)
{
	if (t == NULL)
		return;
	t->free(t->alloc_ctx, t->flows);
	t->free(t->alloc_ctx, t->slots);
	free(t);
}

/* ---- index ------------------------------------------------------------- */

static inline uint64_t
slot_make(uint64_t hash, uint32_t idx, unsigned int dir)
{
	return ((uint64_t)flow_sig(hash) << 32) | (idx * 2 + dir + 1);
}

/* Remove slot value @p sv (present) from the index, leaving no tombstone. */
static void
index_remove(struct gax_flow_table *t, uint64_t sv)
{
	gax_hash_oa_remove(t->slots, t->slot_mask, sv);
}

/* Take flow @p f (record @p idx) out of the index and onto the free list. */
static void
flow_unlink(struct gax_flow_table *t, struct gax_flow *f, uint32_t idx)
{
	struct gax_flow_key k;
	unsigned int dir;

	for (dir = 0; dir < 2; dir++) {
		gax_flow_key_of(f, (enum gax_flow_dir)dir, &k);
		index_remove(t, slot_make(flow_hash(t, &k), idx, dir));
	}
	f->state = 0;
	f->listener = t->free_head;
	t->free_head = idx;
	t->stats.active--;
}

/* ---- insert / lookup / delete ------------------------------------------ */

static uint16_t
timeout_clamp(uint32_t timeout_s)
{
	if (timeout_s == 0)
		return 1;
	return timeout_s > GAX_FLOW_TIMEOUT_MAX ? GAX_FLOW_TIMEOUT_MAX : (uint16_t)timeout_s;
}

static bool
key_pad_ok(const struct gax_flow_key *k)
{
	return (k->pad[0] | k->pad[1] | k->pad[2]) == 0;
}

/*
 * Take a free record for a flow whose two keys were found absent, their
 * probes ending at slots @p e0 and @p e1, and index it under both.
 */
static struct gax_flow *
flow_link(struct gax_flow_table *t, const struct gax_flow_key *client_key, uint64_t h0,
		uint32_t e0, const struct gax_flow_key *endpoint_key, uint64_t h1, uint32_t e1,
		uint32_t listener, uint32_t endpoint, uint64_t now, uint32_t timeout_s)
{
	uint32_t idx = t->free_head;
	struct gax_flow *f = &t->flows[idx];

	t->free_head = f->listener;
	/* Freed records are reused first (LIFO), so the span stays near the peak count. */
	if (idx >= t->span)
		t->span = idx + 1;
	memcpy(&f->tuple[GAX_FLOW_DIR_CLIENT], client_key, sizeof(f->tuple[0]));
	memcpy(&f->tuple[GAX_FLOW_DIR_ENDPOINT], endpoint_key, sizeof(f->tuple[1]));
	f->proto = client_key->proto;
	f->state = GAX_FLOW_ST_USED;
	f->timeout_s = timeout_clamp(timeout_s);
	f->listener = listener;
	f->endpoint = endpoint;
	f->last_seen = (uint32_t)(now >> t->clock_shift);
	f->pkts[0] = 0;
	f->pkts[1] = 0;
	f->bytes[0] = 0;
	f->bytes[1] = 0;

	/* Each probe stopped on the first empty slot of its sequence; the first
	 * key may have just taken the second's. */
	t->slots[e0] = slot_make(h0, idx, GAX_FLOW_DIR_CLIENT);
	if (e1 == e0) {
		do {
			e1 = (e1 + 1) & t->slot_mask;
		} while (t->slots[e1] != 0);
	}
	t->slots[e1] = slot_make(h1, idx, GAX_FLOW_DIR_ENDPOINT);

	t->stats.inserts++;
	t->stats.active++;
	return f;
}

int
gax_flow_insert(struct gax_flow_table *t, const struct gax_flow_key *client_key,
		const struct gax_flow_key *endpoint_key, uint32_t listener, uint32_t endpoint,
		uint64_t now, uint32_t timeout_s, struct gax_flow **flow)
{
	uint32_t e0, e1;
	struct gax_flow *f;
	uint64_t h0, h1;

	if (!key_pad_ok(client_key) || !key_pad_ok(endpoint_key) ||
			client_key->proto != endpoint_key->proto ||
			memcmp(client_key, endpoint_key, sizeof(*client_key)) == 0)
		return -EINVAL;
	h0 = flow_hash(t, client_key);
	h1 = flow_hash(t, endpoint_key);
	if (flow_find(t, client_key, h0, &e0) != NULL ||
			flow_find(t, endpoint_key, h1, &e1) != NULL) {
		t->stats.insert_exists++;
		return -EEXIST;
	}
	if (t->free_head == FLOW_NONE) {
		t->stats.insert_full++;
		return -ENOSPC;
	}
	f = flow_link(t, client_key, h0, e0, endpoint_key, h1, e1, listener, endpoint, now,
			timeout_s);
	if (flow != NULL)
		*flow = f;
	return 0;
}

/* gax_flow_open() for a client key of hash @p h0, with an optional port hint. */
static inline int
flow_open(struct gax_flow_table *t, const struct gax_flow_key *client_key, uint64_t h0,
		const struct gax_flow_nat *nat, const struct gax_flow_snat_hint *hint,
		uint32_t listener, uint32_t endpoint, uint64_t now, uint32_t timeout_s,
		struct gax_flow **flow)
{
	struct gax_flow_key ek;
	uint32_t e0, e1;
	struct gax_flow *f;
	uint64_t h1;
	int rc;

	if (flow_find(t, client_key, h0, &e0) != NULL) {
		t->stats.insert_exists++;
		return -EEXIST;
	}
	if (nat->nat_addr == 0) {
		/* The client's address and port are kept: the endpoint-side tuple may be taken. */
		gax_flow_key_init(&ek, nat->endpoint_addr, client_key->saddr, nat->endpoint_port,
				client_key->sport, client_key->proto);
		h1 = flow_hash(t, &ek);
		if (memcmp(client_key, &ek, sizeof(ek)) == 0 ||
				flow_find(t, &ek, h1, &e1) != NULL) {
			t->stats.insert_exists++;
			return -EEXIST;
		}
	} else {
		rc = flow_snat_pick(t, nat->nat_addr, nat->endpoint_addr, nat->endpoint_port,
				client_key->proto, hint, &ek, &h1, &e1);
		if (rc != 0)
			return rc;
	}
	f = flow_link(t, client_key, h0, e0, &ek, h1, e1, listener, endpoint, now, timeout_s);
	if (flow != NULL)
		*flow = f;
	return 0;
}

int
gax_flow_open(struct gax_flow_table *t, const struct gax_flow_key *client_key,
		const struct gax_flow_nat *nat, uint32_t listener, uint32_t endpoint, uint64_t now,
		uint32_t timeout_s, struct gax_flow **flow)
{
	if (!key_pad_ok(client_key) || nat == NULL)
		return -EINVAL;
	if (t->free_head == FLOW_NONE) { /* before a port is taken for nothing */
		t->stats.insert_full++;
		return -ENOSPC;
	}
	return flow_open(t, client_key, flow_hash(t, client_key), nat, NULL, listener, endpoint,
			now, timeout_s, flow);
}

int
gax_flow_open_hinted(struct gax_flow_table *t, const struct gax_flow_key *client_key,
		uint64_t client_hash, const struct gax_flow_nat *nat,
		const struct gax_flow_snat_hint *snat, uint32_t listener, uint32_t endpoint,
		uint64_t now, uint32_t timeout_s, struct gax_flow **flow)
{
	if (!key_pad_ok(client_key) || nat == NULL)
		return -EINVAL;
	if (t->free_head == FLOW_NONE) {
		t->stats.insert_full++;
		return -ENOSPC;
	}
	return flow_open(t, client_key, client_hash, nat, snat, listener, endpoint, now,
			timeout_s, flow);
}

struct gax_flow *
gax_flow_lookup(struct gax_flow_table *t, const struct gax_flow_key *k)
{
	struct gax_flow *f = flow_find(t, k, flow_hash(t, k), NULL);

	t->stats.lookups++;
	t->stats.hits += f != NULL;
	return f;
}

/* gax_flow_lookup_bulk(), storing each key's hash in @p hashes when not NULL. */
static inline __attribute__((always_inline)) int
lookup_bulk(struct gax_flow_table *t, const struct gax_flow_key *keys, unsigned int n,
		struct gax_flow **flows, uint64_t *hashes)
{
	uint32_t sig[GAX_FLOW_BULK_MAX];
	uint32_t pos[GAX_FLOW_BULK_MAX];
	uint32_t mask = t->slot_mask;
	unsigned int i, hits = 0;

	if (n > GAX_FLOW_BULK_MAX)
		return -EINVAL;

	/* 1: hash every key, prefetch its home slot. */
	for (i = 0; i < n; i++) {
		uint64_t h = flow_hash(t, &keys[i]);

		if (hashes != NULL)
			hashes[i] = h;
		sig[i] = flow_sig(h);
		pos[i] = sig[i] & mask;
		__builtin_prefetch(&t->slots[pos[i]], 0, 3);
	}

	/* 2: find the first slot of matching signature, prefetch its record. */
	for (i = 0; i < n; i++) {
		uint32_t p = pos[i];
		uint64_t s;

		while ((s = t->slots[p]) != 0 && (uint32_t)(s >> 32) != sig[i])
			p = (p + 1) & mask;
		pos[i] = p;
		if (s == 0) {
			flows[i] = NULL;
			continue;
		}
		flows[i] = &t->flows[((uint32_t)s - 1) >> 1];
		__builtin_prefetch(flows[i], 0, 3);
	}

	/* 3: compare; on a signature collision carry on probing (rare). */
	for (i = 0; i < n; i++) {
		uint32_t ref;

		if (flows[i] == NULL)
			continue;
		ref = (uint32_t)t->slots[pos[i]] - 1;
		if (!flow_key_eq(flows[i], ref & 1, &keys[i]))
			flows[i] = flow_find_from(t, &keys[i], sig[i], (pos[i] + 1) & mask, NULL);
		hits += flows[i] != NULL;
	}

	t->stats.lookups += n;
	t->stats.hits += hits;
	return (int)hits;
}

int
gax_flow_lookup_bulk(struct gax_flow_table *t, const struct gax_flow_key *keys, unsigned int n,
		struct gax_flow **flows)
{
	return lookup_bulk(t, keys, n, flows, NULL);
}

int
gax_flow_lookup_bulk_hashed(struct gax_flow_table *t, const struct gax_flow_key *keys,
		unsigned int n, struct gax_flow **flows, uint64_t *hashes)
{
	return lookup_bulk(t, keys, n, flows, hashes);
}

/* The record index of @p f, or FLOW_NONE if it is not a record in use of @p t. */
static uint32_t
flow_index(const struct gax_flow_table *t, const struct gax_flow *f)
{
	uintptr_t base = (uintptr_t)t->flows;
	uintptr_t p = (uintptr_t)f;

	if (p < base || p >= base + t->flows_size || (p - base) % sizeof(*f) != 0)
		return FLOW_NONE;
	if ((f->state & GAX_FLOW_ST_USED) == 0)
		return FLOW_NONE;
	return (uint32_t)((p - base) / sizeof(*f));
}

int
gax_flow_delete(struct gax_flow_table *t, struct gax_flow *f)
{
	uint32_t idx = flow_index(t, f);

	if (idx == FLOW_NONE)
		return -EINVAL;
	flow_unlink(t, f, idx);
	t->stats.deletes++;
	return 0;
}

/* ---- time -------------------------------------------------------------- */

void
gax_flow_touch(struct gax_flow_table *t, struct gax_flow *f, uint64_t now, uint32_t timeout_s)
{
	uint16_t to = timeout_clamp(timeout_s);

	if (to > t->short_timeout_s && gax_flow_closing(f))
		to = t->short_timeout_s;
	f->last_seen = (uint32_t)(now >> t->clock_shift);
	f->timeout_s = to;
}

int
gax_flow_tcp_track(struct gax_flow_table *t, struct gax_flow *f, enum gax_flow_dir dir,
		uint8_t tcp_flags, uint64_t now, uint32_t timeout_s)
{
	int reopened = 0;

	if (dir == GAX_FLOW_DIR_CLIENT && gax_flow_closing(f) &&
			(tcp_flags & (GAX_FLOW_TCP_SYN | GAX_FLOW_TCP_ACK | GAX_FLOW_TCP_RST)) ==
			GAX_FLOW_TCP_SYN) {
		f->state &= (uint8_t)~(GAX_FLOW_ST_FIN_CLIENT | GAX_FLOW_ST_FIN_ENDPOINT |
				GAX_FLOW_ST_RST);
		t->stats.tcp_reopened++;
		reopened = 1;
	}
	if ((tcp_flags & GAX_FLOW_TCP_RST) != 0)
		f->state |= GAX_FLOW_ST_RST;
	if ((tcp_flags & GAX_FLOW_TCP_FIN) != 0)
		f->state |= dir == GAX_FLOW_DIR_CLIENT ? GAX_FLOW_ST_FIN_CLIENT :
			GAX_FLOW_ST_FIN_ENDPOINT;
	gax_flow_touch(t, f, now, timeout_s);
	return reopened;
}

/*
 * Whether @p f has been idle for at least its timeout at table clock
 * @p now_c. The last touch happened at most one table tick after its recorded
 * tick, so with a coarse clock the flow must look one tick older than its
 * timeout: it is then never expired early, and at most two ticks late.
 */
static inline bool
flow_expired(const struct gax_flow_table *t, const struct gax_flow *f, uint32_t now_c)
{
	int32_t idle = (int32_t)(now_c - f->last_seen);
	uint64_t need = (uint64_t)f->timeout_s * t->ticks_per_second;

	if (idle < 0)
		return false; /* touched after `now`: the caller's clocks disagree */
	if (t->clock_shift > 0)
		need += 1ull << t->clock_shift;
	return ((uint64_t)idle << t->clock_shift) >= need;
}

unsigned int
gax_flow_expire(struct gax_flow_table *t, uint64_t now, unsigned int budget)
{
	uint32_t now_c = (uint32_t)(now >> t->clock_shift);
	uint32_t i = t->sweep;
	unsigned int k, freed = 0;

	/* Only the records ever used can hold a flow: the sweep wraps at the span. */
	if (t->span == 0)
		return 0;
	if (budget > t->span)
		budget = t->span;
	if (i >= t->span)
		i = 0;
	for (k = 0; k < budget; k++) {
		struct gax_flow *f = &t->flows[i];

		/* The records ahead are read next: ask for them now. */
		if (i + FLOW_SWEEP_PREFETCH < t->span)
			__builtin_prefetch(&t->flows[i + FLOW_SWEEP_PREFETCH]);
		if ((f->state & GAX_FLOW_ST_USED) != 0 && flow_expired(t, f, now_c)) {
			if (t->expire_cb != NULL)
				t->expire_cb(t->expire_ctx, f);
			flow_unlink(t, f, i);
			freed++;
		}
		if (++i >= t->span)
			i = 0;
	}
	t->sweep = i;
	t->stats.expired += freed;
	return freed;
}

uint32_t
gax_flow_span(const struct gax_flow_table *t)
{
	return t->span;
}

uint64_t
gax_flow_idle(const struct gax_flow_table *t, const struct gax_flow *f, uint64_t now)
{
	int32_t idle = (int32_t)((uint32_t)(now >> t->clock_shift) - f->last_seen);

	return idle > 0 ? (uint64_t)idle << t->clock_shift : 0;
}

/* ---- walk and figures --------------------------------------------------- */

struct gax_flow *
gax_flow_next(struct gax_flow_table *t, uint32_t *pos)
{
	uint32_t i;

	for (i = *pos; i < t->span; i++) {
		if ((t->flows[i].state & GAX_FLOW_ST_USED) != 0) {
			*pos = i + 1;
			return &t->flows[i];
		}
	}
	*pos = t->capacity;
	return NULL;
}

void
gax_flow_stats_get(const struct gax_flow_table *t, struct gax_flow_stats *s)
{
	*s = t->stats;
}

uint32_t
gax_flow_count(const struct gax_flow_table *t)
{
	return (uint32_t)t->stats.active;
}

uint32_t
gax_flow_capacity(const struct gax_flow_table *t)
{
	return t->capacity;
}

size_t
gax_flow_mem_total(const struct gax_flow_table *t)
{
	return t->slots_size + t->flows_size + sizeof(*t);
}

double
gax_flow_mem_per_flow(const struct gax_flow_table *t)
{
	return (double)gax_flow_mem_total(t) / t->capacity;
}
