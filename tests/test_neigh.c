/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table: refused options and arguments first, then behaviour:
 * a miss holds the packet and asks once per retry_ms, holding is bounded per
 * address and across the table, learning hands the held packets back in
 * order with the MAC (and creates entries only when told to), static entries
 * hit at once and neither learn nor expire, the timers retry then give up
 * and drop, stale entries are used but refreshed at most once per retry_ms
 * and forgotten without an answer, interfaces keep their own entries, a full
 * table refuses, freeing the table hands every held packet back, and a long
 * random run keeps every packet accounted for exactly once, in order, with
 * statistics that add up and an index that agrees with the entries.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_neigh.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define HZ_MS 1000	/* ticks are milliseconds */
#define N_PKTS 32768
#define REC_MAX 4096

static const uint8_t MAC_A[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t MAC_C[6] = { 0x0c, 0x42, 0xa1, 0x00, 0x00, 0x0c };

/* Fake packets: pkt i is &pkt_mem[i], never dereferenced. */
static char pkt_mem[N_PKTS];

static void *
pkt(unsigned int i)
{
	return &pkt_mem[i];
}

static unsigned int
pkt_id(const void *p)
{
	return (unsigned int)((const char *)p - pkt_mem);
}

/* ---- recording callbacks ------------------------------------------------- */

struct rec {
	unsigned int n;			/* packets handed back */
	unsigned int id[REC_MAX];
	uint16_t iface[REC_MAX];
	uint32_t addr[REC_MAX];
	uint8_t mac[REC_MAX][6];
	bool has_mac[REC_MAX];
	unsigned int n_req;		/* requests */
	uint16_t req_iface[REC_MAX];
	uint32_t req_addr[REC_MAX];
};

static struct rec *
rec_new(void)
{
	struct rec *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	return r;
}

static void
rec_pkt(void *ctx, void *p, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct rec *r = ctx;

	cr_assert_lt(r->n, REC_MAX);
	r->id[r->n] = pkt_id(p);
	r->iface[r->n] = iface;
	r->addr[r->n] = addr;
	r->has_mac[r->n] = mac != NULL;
	if (mac != NULL)
		memcpy(r->mac[r->n], mac, 6);
	r->n++;
}

static void
rec_req(void *ctx, uint16_t iface, uint32_t addr)
{
	struct rec *r = ctx;

	cr_assert_lt(r->n_req, REC_MAX);
	r->req_iface[r->n_req] = iface;
	r->req_addr[r->n_req] = addr;
	r->n_req++;
}

/* ---- helpers ------------------------------------------------------------- */

/* 64 entries, 4 packets per address, 16 in all, 10 s reachable, 1 s retries, 3 tries. */
static void
small_opts(struct gax_neigh_opts *o)
{
	gax_neigh_opts_init(o);
	o->capacity = 64;
	o->queue_per_entry = 4;
	o->queue_total = 16;
	o->ticks_per_second = HZ_MS;
	o->reachable_ms = 10000;
	o->retry_ms = 1000;
	o->max_retries = 3;
	o->seed = 0x1234567;
}

static struct gax_neigh_table *
table_new(const struct gax_neigh_opts *o)
{
	struct gax_neigh_table *t = gax_neigh_create(o);

	cr_assert_not_null(t, "create: %s", strerror(errno));
	return t;
}

static struct gax_neigh_table *
small_table(void)
{
	struct gax_neigh_opts o;

	small_opts(&o);
	return table_new(&o);
}

/* Resolve expecting @p want and @p want_req. */
static void
expect_resolve(struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint64_t now, void *p,
		enum gax_neigh_result want, bool want_req, const char *what)
{
	uint8_t mac[6] = { 0 };
	bool req = !want_req;
	enum gax_neigh_result r = gax_neigh_resolve(t, iface, addr, now, p, mac, &req);

	cr_expect_eq(r, want, "%s: result %d, want %d", what, r, want);
	cr_expect_eq(req, want_req, "%s: send_request %d", what, req);
}

/* Resolve expecting a hit with @p want_mac. */
static void
expect_hit(struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint64_t now,
		const uint8_t *want_mac, bool want_req, const char *what)
{
	uint8_t mac[6] = { 0 };
	bool req = !want_req;
	enum gax_neigh_result r = gax_neigh_resolve(t, iface, addr, now, pkt(N_PKTS - 1), mac,
			&req);

	cr_expect_eq(r, GAX_NEIGH_HIT, "%s: result %d", what, r);
	cr_expect_eq(memcmp(mac, want_mac, 6), 0, "%s: wrong mac", what);
	cr_expect_eq(req, want_req, "%s: send_request %d", what, req);
}

static enum gax_neigh_state
state_of(struct gax_neigh_table *t, uint16_t iface, uint32_t addr, uint64_t now)
{
	struct gax_neigh_info info;

	cr_assert_eq(gax_neigh_lookup(t, iface, addr, now, &info), 0, "no entry for %08x", addr);
	return info.state;
}

static void
expect_stats_add_up(struct gax_neigh_table *t)
{
	struct gax_neigh_stats s;

	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.entries, s.static_entries + s.resolved + s.incomplete);
	cr_expect_eq(s.entries, gax_neigh_count(t));
	cr_expect_eq(s.held, s.flushed + s.unresolved_drops + s.held_now,
			"held %lu flushed %lu dropped %lu held now %lu", (unsigned long)s.held,
			(unsigned long)s.flushed, (unsigned long)s.unresolved_drops,
			(unsigned long)s.held_now);
}

/* ---- invalid input --------------------------------------------------------- */

static void
expect_create_einval(const struct gax_neigh_opts *o, const char *what)
{
	struct gax_neigh_table *t;

	errno = 0;
	t = gax_neigh_create(o);
	cr_expect_null(t, "%s: created", what);
	cr_expect_eq(errno, EINVAL, "%s: errno %d", what, errno);
	gax_neigh_free(t, NULL, NULL);
}

Test(neigh_invalid, create_options)
{
	struct gax_neigh_opts o;

	small_opts(&o);
	o.capacity = 0;
	expect_create_einval(&o, "capacity 0");
	o.capacity = GAX_NEIGH_MAX_CAPACITY + 1;
	expect_create_einval(&o, "capacity above the maximum");

	small_opts(&o);
	o.queue_per_entry = GAX_NEIGH_MAX_QUEUE_PER_ENTRY + 1;
	expect_create_einval(&o, "queue_per_entry above the maximum");
	small_opts(&o);
	o.queue_total = GAX_NEIGH_MAX_QUEUE_TOTAL + 1;
	expect_create_einval(&o, "queue_total above the maximum");

	small_opts(&o);
	o.ticks_per_second = 0;
	expect_create_einval(&o, "ticks_per_second 0");
	o.ticks_per_second = GAX_NEIGH_MAX_TICKS_PER_SECOND + 1;
	expect_create_einval(&o, "ticks_per_second absurd");

	small_opts(&o);
	o.reachable_ms = 0;
	expect_create_einval(&o, "reachable_ms 0");
	o.reachable_ms = GAX_NEIGH_MAX_REACHABLE_MS + 1;
	expect_create_einval(&o, "reachable_ms above the maximum");

	small_opts(&o);
	o.retry_ms = 0;
	expect_create_einval(&o, "retry_ms 0");
	o.retry_ms = GAX_NEIGH_MAX_RETRY_MS + 1;
	expect_create_einval(&o, "retry_ms above the maximum");

	small_opts(&o);
	o.max_retries = 0;
	expect_create_einval(&o, "max_retries 0");
	o.max_retries = GAX_NEIGH_MAX_RETRIES + 1;
	expect_create_einval(&o, "max_retries above the maximum");
}

Test(neigh_invalid, arguments)
{
	static const uint8_t zero[6] = { 0 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct gax_neigh_table *t = small_table();
	struct gax_neigh_info info;
	struct gax_neigh_stats s;
	uint32_t a = IP(10, 0, 0, 1);
	struct rec *r = rec_new();

	expect_resolve(t, GAX_NEIGH_MAX_IFACES, a, 0, pkt(0), GAX_NEIGH_FULL, false, "iface 64");
	expect_resolve(t, 0, 0, 0, pkt(0), GAX_NEIGH_FULL, false, "addr 0");
	expect_resolve(t, 0, IP(224, 0, 0, 1), 0, pkt(0), GAX_NEIGH_FULL, false, "multicast");
	expect_resolve(t, 0, IP(255, 255, 255, 255), 0, pkt(0), GAX_NEIGH_FULL, false,
			"broadcast");
	expect_resolve(t, 0, IP(223, 255, 255, 255), 0, NULL, GAX_NEIGH_HELD, true,
			"highest unicast address");
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.invalid, 4);
	cr_expect_eq(s.queue_full, 4);
	cr_expect_eq(s.held_now, 0);
	cr_expect_eq(s.entries, 1);

	cr_expect_eq(gax_neigh_add_static(t, GAX_NEIGH_MAX_IFACES, a, MAC_A), -EINVAL);
	cr_expect_eq(gax_neigh_add_static(t, 0, 0, MAC_A), -EINVAL);
	cr_expect_eq(gax_neigh_add_static(t, 0, IP(239, 1, 1, 1), MAC_A), -EINVAL);
	cr_expect_eq(gax_neigh_add_static(t, 0, a, zero), -EINVAL);
	cr_expect_eq(gax_neigh_add_static(t, 0, a, bcast), -EINVAL);
	cr_expect_eq(gax_neigh_add_static(t, 0, a, mcast), -EINVAL);

	/* A bad MAC changes nothing: the packet stays held. */
	expect_resolve(t, 0, a, 0, pkt(1), GAX_NEIGH_HELD, true, "held");
	cr_expect_eq(gax_neigh_learn(t, 0, a, zero, 0, true, rec_pkt, r), -EINVAL);
	cr_expect_eq(gax_neigh_learn(t, 0, a, bcast, 0, true, rec_pkt, r), -EINVAL);
	cr_expect_eq(gax_neigh_learn(t, 0, a, mcast, 0, true, rec_pkt, r), -EINVAL);
	cr_expect_eq(gax_neigh_learn(t, GAX_NEIGH_MAX_IFACES, a, MAC_A, 0, true, rec_pkt, r),
			-EINVAL);
	cr_expect_eq(gax_neigh_learn(t, 0, 0, MAC_A, 0, true, rec_pkt, r), -EINVAL);
	cr_expect_eq(r->n, 0);
	cr_expect_eq(state_of(t, 0, a, 0), GAX_NEIGH_ST_INCOMPLETE);

	cr_expect_eq(gax_neigh_delete(t, GAX_NEIGH_MAX_IFACES, a, rec_pkt, r), -EINVAL);
	cr_expect_eq(gax_neigh_delete(t, 0, IP(10, 0, 0, 2), rec_pkt, r), -ENOENT);
	cr_expect_eq(gax_neigh_delete(t, 1, a, rec_pkt, r), -ENOENT);
	cr_expect_eq(gax_neigh_lookup(t, 0, IP(10, 0, 0, 2), 0, &info), -ENOENT);
	cr_expect_eq(gax_neigh_lookup(t, GAX_NEIGH_MAX_IFACES, a, 0, &info), -ENOENT);

	cr_expect_str_eq(gax_neigh_state_name(GAX_NEIGH_ST_STALE), "stale");
	cr_expect_str_eq(gax_neigh_state_name((enum gax_neigh_state)0), "?");
	expect_stats_add_up(t);
	gax_neigh_free(t, rec_pkt, r);
	cr_expect_eq(r->n, 1);
	gax_neigh_free(NULL, NULL, NULL);
	free(r);
}

/* ---- creation ---------------------------------------------------------------- */

Test(neigh_create, defaults)
{
	struct gax_neigh_table *t;
	struct gax_neigh_stats s;
	struct gax_neigh_opts o;
	uint32_t a = IP(10, 0, 0, 1);
	unsigned int i;

	memset(&o, 0xa5, sizeof(o));
	gax_neigh_opts_init(&o);
	cr_expect_eq(o.capacity, 4096);
	cr_expect_eq(o.queue_per_entry, 16);
	cr_expect_eq(o.queue_total, 1024);
	cr_expect_eq(o.ticks_per_second, 1000000000ull);
	cr_expect_eq(o.reachable_ms, 60000);
	cr_expect_eq(o.retry_ms, 1000);
	cr_expect_eq(o.max_retries, 3);
	cr_expect_eq(o.seed, 0);

	t = gax_neigh_create(NULL);
	cr_assert_not_null(t);
	cr_expect_eq(gax_neigh_capacity(t), GAX_NEIGH_DEFAULT_CAPACITY);
	cr_expect_eq(gax_neigh_count(t), 0);
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.entries + s.held + s.hits + s.misses + s.requests, 0);

	/* Nanoseconds: the retry gap is 10^9 ticks, 16 packets per address. */
	expect_resolve(t, 0, a, 0, pkt(0), GAX_NEIGH_HELD, true, "first miss");
	expect_resolve(t, 0, a, 999999999ull, pkt(1), GAX_NEIGH_HELD, false, "before 1 s");
	expect_resolve(t, 0, a, 1000000000ull, pkt(2), GAX_NEIGH_HELD, true, "at 1 s");
	for (i = 3; i < 16; i++)
		expect_resolve(t, 0, a, 1000000000ull, pkt(i), GAX_NEIGH_HELD, false, "fill");
	expect_resolve(t, 0, a, 1000000000ull, pkt(16), GAX_NEIGH_FULL, false, "17th");
	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 1000000001ull, false, NULL, NULL), 16);
	/* Reachable 60 s, then stale. */
	expect_hit(t, 0, a, 61000000000ull, MAC_A, false, "59 s after");
	expect_hit(t, 0, a, 61000000001ull, MAC_A, true, "60 s after");
	gax_neigh_free(t, NULL, NULL);

	/* A table that never holds: misses still ask. */
	small_opts(&o);
	o.queue_total = 0;
	o.capacity = 1;
	t = table_new(&o);
	expect_resolve(t, 0, a, 0, pkt(0), GAX_NEIGH_FULL, true, "nothing held, but asked");
	expect_resolve(t, 0, a, 0, NULL, GAX_NEIGH_HELD, false, "only asking");
	expect_resolve(t, 0, IP(10, 0, 0, 2), 0, NULL, GAX_NEIGH_FULL, false, "one entry only");
	gax_neigh_free(t, NULL, NULL);
}

/* ---- resolve ------------------------------------------------------------------ */

Test(neigh_resolve, miss_holds_and_asks_once_per_retry)
{
	struct gax_neigh_table *t = small_table();
	struct gax_neigh_info info;
	struct gax_neigh_stats s;
	uint32_t a = IP(10, 0, 0, 1);

	expect_resolve(t, 0, a, 100, pkt(0), GAX_NEIGH_HELD, true, "first miss");
	expect_resolve(t, 0, a, 600, pkt(1), GAX_NEIGH_HELD, false, "second miss");
	expect_resolve(t, 0, a, 1099, NULL, GAX_NEIGH_HELD, false, "just before retry_ms");
	cr_assert_eq(gax_neigh_lookup(t, 0, a, 1099, &info), 0);
	cr_expect_eq(info.state, GAX_NEIGH_ST_INCOMPLETE);
	cr_expect_eq(info.held, 2);
	cr_expect_eq(info.requests, 1);
	cr_expect_eq(info.age, 999);
	cr_expect_eq(info.iface, 0);
	cr_expect_eq(info.addr, a);

	expect_resolve(t, 0, a, 1100, pkt(2), GAX_NEIGH_HELD, true, "retry due");
	expect_resolve(t, 0, a, 1200, pkt(3), GAX_NEIGH_HELD, false, "after the retry");
	expect_resolve(t, 0, a, 2100, NULL, GAX_NEIGH_HELD, true, "third request");
	/* max_retries asked: no more, whatever the time. */
	expect_resolve(t, 0, a, 9000, NULL, GAX_NEIGH_HELD, false, "fourth refused");

	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.misses, 7);
	cr_expect_eq(s.hits, 0);
	cr_expect_eq(s.held, 4);
	cr_expect_eq(s.held_now, 4);
	cr_expect_eq(s.requests, 3);
	cr_expect_eq(s.retries, 2);
	cr_expect_eq(s.incomplete, 1);
	cr_expect_eq(s.entries, 1);
	gax_neigh_free(t, NULL, NULL);
}

Test(neigh_resolve, per_entry_bound)
{
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(10, 0, 0, 1), b = IP(10, 0, 0, 2);
	struct gax_neigh_stats s;
	struct rec *r = rec_new();
	unsigned int i;

	for (i = 0; i < 4; i++)
		expect_resolve(t, 0, a, 0, pkt(i), GAX_NEIGH_HELD, i == 0, "within the bound");
	expect_resolve(t, 0, a, 0, pkt(4), GAX_NEIGH_FULL, false, "fifth");
	expect_resolve(t, 0, a, 1000, pkt(5), GAX_NEIGH_FULL, true, "full but a retry is due");
	expect_resolve(t, 0, b, 0, pkt(6), GAX_NEIGH_HELD, true, "another address");
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.queue_full, 2);
	cr_expect_eq(s.held_now, 5);

	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 1500, false, rec_pkt, r), 4);
	for (i = 0; i < 4; i++)
		cr_expect_eq(r->id[i], i, "flushed #%u is packet %u", i, r->id[i]);
	gax_neigh_free(t, rec_pkt, r);
	cr_expect_eq(r->n, 5);
	cr_expect_eq(r->id[4], 6);
	free(r);
}

Test(neigh_resolve, total_bound_across_entries)
{
	struct gax_neigh_table *t;
	struct gax_neigh_opts o;
	struct gax_neigh_stats s;
	uint32_t a = IP(10, 0, 0, 1), b = IP(10, 0, 0, 2), c = IP(10, 0, 0, 3);
	uint32_t d = IP(10, 0, 0, 4);
	unsigned int i, n = 0;

	small_opts(&o);
	o.queue_total = 10;
	t = table_new(&o);
	for (i = 0; i < 4; i++)
		expect_resolve(t, 0, a, 0, pkt(n++), GAX_NEIGH_HELD, i == 0, "a");
	for (i = 0; i < 4; i++)
		expect_resolve(t, 0, b, 0, pkt(n++), GAX_NEIGH_HELD, i == 0, "b");
	expect_resolve(t, 0, c, 0, pkt(n++), GAX_NEIGH_HELD, true, "c 1");
	expect_resolve(t, 0, c, 0, pkt(n++), GAX_NEIGH_HELD, false, "c 2");
	expect_resolve(t, 0, c, 0, pkt(n++), GAX_NEIGH_FULL, false, "c 3: table queue full");
	/* The entry is still made and asked for: the next packet may hit. */
	expect_resolve(t, 0, d, 0, pkt(n++), GAX_NEIGH_FULL, true, "d: table queue full");
	cr_expect_eq(state_of(t, 0, d, 0), GAX_NEIGH_ST_INCOMPLETE);
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.held_now, 10);
	cr_expect_eq(s.queue_full, 2);
	cr_expect_eq(s.table_full, 0);

	/* Flushing a gives its slots back. */
	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 10, false, NULL, NULL), 4);
	expect_resolve(t, 0, c, 10, pkt(n++), GAX_NEIGH_HELD, false, "c 3 again");
	expect_resolve(t, 0, d, 10, pkt(n++), GAX_NEIGH_HELD, false, "d again");
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.held_now, 8);
	expect_stats_add_up(t);
	gax_neigh_free(t, NULL, NULL);
}

/* ---- learn ---------------------------------------------------------------- */

Test(neigh_learn, flushes_in_order_then_hits)
{
	static const unsigned int want[3] = { 10, 12, 13 };
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(10, 0, 0, 1), b = IP(10, 0, 0, 2);
	struct gax_neigh_stats s;
	struct rec *r = rec_new();
	unsigned int i;

	expect_resolve(t, 3, a, 0, pkt(10), GAX_NEIGH_HELD, true, "a 1");
	expect_resolve(t, 3, b, 0, pkt(11), GAX_NEIGH_HELD, true, "b 1");
	expect_resolve(t, 3, a, 1, pkt(12), GAX_NEIGH_HELD, false, "a 2");
	expect_resolve(t, 3, a, 2, pkt(13), GAX_NEIGH_HELD, false, "a 3");
	expect_resolve(t, 3, b, 3, pkt(14), GAX_NEIGH_HELD, false, "b 2");

	cr_assert_eq(gax_neigh_learn(t, 3, a, MAC_C, 5, false, rec_pkt, r), 3);
	cr_assert_eq(r->n, 3);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(r->id[i], want[i], "#%u: %u", i, r->id[i]);
		cr_expect_eq(r->iface[i], 3);
		cr_expect_eq(r->addr[i], a);
		cr_expect(r->has_mac[i]);
		cr_expect_eq(memcmp(r->mac[i], MAC_C, 6), 0);
	}
	expect_hit(t, 3, a, 6, MAC_C, false, "after learning");
	expect_resolve(t, 3, b, 6, pkt(15), GAX_NEIGH_HELD, false, "b still unknown");

	/* Nothing more to flush: learning again returns 0. */
	cr_expect_eq(gax_neigh_learn(t, 3, a, MAC_C, 7, false, rec_pkt, r), 0);
	cr_expect_eq(r->n, 3);
	cr_expect_eq(gax_neigh_learn(t, 3, b, MAC_B, 8, false, rec_pkt, r), 3);
	cr_expect_eq(r->n, 6);
	cr_expect_eq(r->id[5], 15);

	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.learned, 3);
	cr_expect_eq(s.flushed, 6);
	cr_expect_eq(s.held, 6);
	cr_expect_eq(s.held_now, 0);
	cr_expect_eq(s.resolved, 2);
	cr_expect_eq(s.incomplete, 0);
	cr_expect_eq(s.hits, 1);
	cr_expect_eq(s.mac_changes, 0);
	expect_stats_add_up(t);
	gax_neigh_free(t, rec_pkt, r);
	cr_expect_eq(r->n, 6, "nothing left to drop");
	free(r);
}

Test(neigh_learn, create_only_when_asked)
{
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(10, 0, 0, 1), b = IP(10, 0, 0, 2);
	struct gax_neigh_info info;
	struct gax_neigh_stats s;

	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 0, false, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_count(t), 0);
	cr_expect_eq(gax_neigh_lookup(t, 0, a, 0, &info), -ENOENT);
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.learned, 0);

	cr_expect_eq(gax_neigh_learn(t, 0, b, MAC_B, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_count(t), 1);
	cr_assert_eq(gax_neigh_lookup(t, 0, b, 50, &info), 0);
	cr_expect_eq(info.state, GAX_NEIGH_ST_RESOLVED);
	cr_expect_eq(memcmp(info.mac, MAC_B, 6), 0);
	cr_expect_eq(info.age, 50);
	cr_expect_eq(info.held, 0);
	expect_hit(t, 0, b, 100, MAC_B, false, "created by learning");

	/* RFC 826 merge: an existing entry takes the new MAC even without create. */
	cr_expect_eq(gax_neigh_learn(t, 0, b, MAC_C, 200, false, NULL, NULL), 0);
	expect_hit(t, 0, b, 300, MAC_C, false, "moved");
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.learned, 2);
	cr_expect_eq(s.mac_changes, 1);
	gax_neigh_free(t, NULL, NULL);
}

/* ---- static entries ----------------------------------------------------------- */

Test(neigh_static, hit_at_once_never_learned_never_expire)
{
	struct gax_neigh_table *t = small_table();
	uint32_t gw = IP(10, 0, 0, 254), a = IP(10, 0, 0, 1);
	struct gax_neigh_info info;
	struct gax_neigh_stats s;
	struct rec *r = rec_new();
	unsigned int i;

	cr_assert_eq(gax_neigh_add_static(t, 1, gw, MAC_A), 0);
	expect_hit(t, 1, gw, 0, MAC_A, false, "static");
	cr_expect_eq(gax_neigh_learn(t, 1, gw, MAC_B, 10, true, rec_pkt, r), 0);
	expect_hit(t, 1, gw, 20, MAC_A, false, "learning ignored");

	/* Long after any timer: still there, never asked for. */
	for (i = 0; i < 10; i++)
		cr_expect_eq(gax_neigh_tick(t, 1000000ull * i, 64, rec_req, rec_pkt, r), 0);
	expect_hit(t, 1, gw, 1000000000ull, MAC_A, false, "a long time after");
	cr_expect_eq(r->n_req, 0);
	cr_assert_eq(gax_neigh_lookup(t, 1, gw, 1000000000ull, &info), 0);
	cr_expect_eq(info.state, GAX_NEIGH_ST_STATIC);
	cr_expect_eq(info.age, 0);

	/* Re-adding updates the MAC. */
	cr_expect_eq(gax_neigh_add_static(t, 1, gw, MAC_C), 0);
	expect_hit(t, 1, gw, 1000000001ull, MAC_C, false, "re-added");

	/* A learned entry made static keeps the static MAC and stops ageing. */
	cr_expect_eq(gax_neigh_learn(t, 1, a, MAC_B, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_add_static(t, 1, a, MAC_A), 0);
	cr_expect_eq(gax_neigh_tick(t, 1000000000ull, 64, rec_req, rec_pkt, r), 0);
	expect_hit(t, 1, a, 1000000000ull, MAC_A, false, "was learned");

	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.static_entries, 2);
	cr_expect_eq(s.resolved, 0);
	cr_expect_eq(s.static_ignored, 1);
	cr_expect_eq(s.expired, 0);
	cr_expect_eq(s.requests, 0);

	/* Deleted, it is a miss again. */
	cr_expect_eq(gax_neigh_delete(t, 1, gw, rec_pkt, r), 0);
	cr_expect_eq(gax_neigh_lookup(t, 1, gw, 0, &info), -ENOENT);
	expect_resolve(t, 1, gw, 5, NULL, GAX_NEIGH_HELD, true, "deleted");
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.deleted, 1);
	cr_expect_eq(s.static_entries, 1);
	cr_expect_eq(r->n, 0);
	gax_neigh_free(t, rec_pkt, r);
	free(r);
}

Test(neigh_static, made_static_while_holding)
{
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(10, 0, 0, 1);
	struct gax_neigh_stats s;
	struct rec *r = rec_new();

	expect_resolve(t, 0, a, 0, pkt(1), GAX_NEIGH_HELD, true, "held");
	expect_resolve(t, 0, a, 0, pkt(2), GAX_NEIGH_HELD, false, "held");
	cr_expect_eq(gax_neigh_add_static(t, 0, a, MAC_A), 0);
	expect_hit(t, 0, a, 1, MAC_A, false, "static now");
	/* Its held packets go at the next tick, dropped. */
	cr_expect_eq(gax_neigh_tick(t, 2, 64, rec_req, rec_pkt, r), 0);
	cr_assert_eq(r->n, 2);
	cr_expect_eq(r->id[0], 1);
	cr_expect_eq(r->id[1], 2);
	cr_expect_not(r->has_mac[0]);
	cr_expect_eq(r->n_req, 0);
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.unresolved_drops, 2);
	cr_expect_eq(s.held_now, 0);
	cr_expect_eq(s.incomplete, 0);
	cr_expect_eq(s.static_entries, 1);
	expect_stats_add_up(t);
	gax_neigh_free(t, rec_pkt, r);
	cr_expect_eq(r->n, 2);
	free(r);
}

/* ---- timers ----------------------------------------------------------------- */

Test(neigh_tick, retries_then_drops_and_frees)
{
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(10, 0, 0, 1), b = IP(10, 0, 0, 2);
	struct gax_neigh_info info;
	struct gax_neigh_stats s;
	struct rec *r = rec_new();
	unsigned int i;

	expect_resolve(t, 2, a, 0, pkt(0), GAX_NEIGH_HELD, true, "first");
	expect_resolve(t, 2, a, 10, pkt(1), GAX_NEIGH_HELD, false, "second");
	expect_resolve(t, 2, a, 20, pkt(2), GAX_NEIGH_HELD, false, "third");
	/* b is resolved in time and needs nothing. */
	expect_resolve(t, 2, b, 0, pkt(3), GAX_NEIGH_HELD, true, "b");
	cr_expect_eq(gax_neigh_learn(t, 2, b, MAC_B, 500, false, NULL, NULL), 1);

	cr_expect_eq(gax_neigh_tick(t, 999, 64, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n_req, 0, "too early");
	cr_expect_eq(gax_neigh_tick(t, 1000, 64, rec_req, rec_pkt, r), 0);
	cr_assert_eq(r->n_req, 1, "first retry");
	cr_expect_eq(r->req_iface[0], 2);
	cr_expect_eq(r->req_addr[0], a);
	cr_expect_eq(gax_neigh_tick(t, 1500, 64, rec_req, rec_pkt, r), 0);
	cr_expect_eq(gax_neigh_tick(t, 1999, 64, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n_req, 1, "at most one per retry_ms");
	/* resolve() agrees: the retry was just asked for. */
	expect_resolve(t, 2, a, 1999, NULL, GAX_NEIGH_HELD, false, "no request after a tick");
	cr_expect_eq(gax_neigh_tick(t, 2000, 64, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n_req, 2, "second retry");
	cr_assert_eq(gax_neigh_lookup(t, 2, a, 2000, &info), 0);
	cr_expect_eq(info.requests, 3);
	cr_expect_eq(info.held, 3);
	cr_expect_eq(gax_neigh_tick(t, 2999, 64, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n, 0, "nothing dropped yet");

	/* Three requests unanswered, retry_ms after the last: give up. */
	cr_expect_eq(gax_neigh_tick(t, 3000, 64, rec_req, rec_pkt, r), 1);
	cr_expect_eq(r->n_req, 2, "no fourth request");
	cr_assert_eq(r->n, 3);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(r->id[i], i);
		cr_expect_not(r->has_mac[i]);
		cr_expect_eq(r->addr[i], a);
		cr_expect_eq(r->iface[i], 2);
	}
	cr_expect_eq(gax_neigh_lookup(t, 2, a, 3000, &info), -ENOENT);
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.requests, 4);	/* a: 1 + 2 retries; b: 1 */
	cr_expect_eq(s.retries, 2);
	cr_expect_eq(s.unresolved, 1);
	cr_expect_eq(s.unresolved_drops, 3);
	cr_expect_eq(s.expired, 1);
	cr_expect_eq(s.held_now, 0);
	cr_expect_eq(s.entries, 1);
	cr_expect_eq(s.resolved, 1);
	expect_stats_add_up(t);

	/* The address can be tried afresh. */
	expect_resolve(t, 2, a, 3001, pkt(4), GAX_NEIGH_HELD, true, "tried again");
	cr_expect_eq(gax_neigh_tick(t, 3001, 64, NULL, NULL, NULL), 0);
	gax_neigh_free(t, rec_pkt, r);
	cr_expect_eq(r->n, 4);
	cr_expect_eq(r->id[3], 4);
	free(r);
}

Test(neigh_tick, budget)
{
	struct gax_neigh_table *t = small_table();
	struct rec *r = rec_new();
	bool seen[10] = { false };
	unsigned int i, rounds;

	for (i = 0; i < 10; i++)
		expect_resolve(t, 0, IP(10, 0, 1, i + 1), 0, NULL, GAX_NEIGH_HELD, true, "miss");
	cr_expect_eq(gax_neigh_tick(t, 1000, 0, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n_req, 0, "budget 0 does nothing");
	cr_expect_eq(gax_neigh_tick(t, 1000, 5, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n_req, 5, "five entries examined");
	cr_expect_eq(gax_neigh_tick(t, 1000, 5, rec_req, rec_pkt, r), 0);
	cr_expect_eq(r->n_req, 10, "the five others");
	for (i = 0; i < 10; i++) {
		uint32_t k = r->req_addr[i] - IP(10, 0, 1, 1);

		cr_assert_lt(k, 10);
		cr_expect_not(seen[k], "address %u asked twice", k);
		seen[k] = true;
	}
	/* A full round of the sweep (64 entries) reaches all of them again. */
	for (rounds = 0; rounds < 64 / 8; rounds++)
		gax_neigh_tick(t, 2000, 8, rec_req, rec_pkt, r);
	cr_expect_eq(r->n_req, 20);
	/* A budget above the capacity examines each entry once. */
	cr_expect_eq(gax_neigh_tick(t, 3000, 1000, rec_req, rec_pkt, r), 10);
	cr_expect_eq(gax_neigh_count(t), 0);
	gax_neigh_free(t, NULL, NULL);
	free(r);
}

Test(neigh_tick, stale_refreshed_once_per_retry_then_forgotten)
{
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(10, 0, 0, 1), b = IP(10, 0, 0, 2), c = IP(10, 0, 0, 3);
	uint32_t d = IP(10, 0, 0, 4);
	struct gax_neigh_info info;
	struct gax_neigh_stats s;
	struct rec *r = rec_new();
	unsigned int i, asked = 0;
	uint64_t now;

	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_learn(t, 0, b, MAC_B, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_learn(t, 0, c, MAC_C, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_learn(t, 0, d, MAC_C, 1000, true, NULL, NULL), 0);
	expect_hit(t, 0, a, 9999, MAC_A, false, "fresh");
	cr_expect_eq(state_of(t, 0, a, 9999), GAX_NEIGH_ST_RESOLVED);
	cr_expect_eq(state_of(t, 0, a, 10000), GAX_NEIGH_ST_STALE);

	/* Stale: still a hit, one refresh per retry_ms however many packets. */
	for (now = 10000; now < 11000; now += 10) {
		uint8_t mac[6];
		bool req;

		cr_expect_eq(gax_neigh_resolve(t, 0, a, now, pkt(0), mac, &req), GAX_NEIGH_HIT);
		cr_expect_eq(memcmp(mac, MAC_A, 6), 0);
		asked += req;
	}
	cr_expect_eq(asked, 1);
	expect_hit(t, 0, a, 11000, MAC_A, true, "next refresh");
	cr_assert_eq(gax_neigh_lookup(t, 0, a, 11000, &info), 0);
	cr_expect_eq(info.requests, 2);
	/* The answer makes it fresh again. */
	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 11500, false, NULL, NULL), 0);
	cr_expect_eq(state_of(t, 0, a, 12000), GAX_NEIGH_ST_RESOLVED);
	expect_hit(t, 0, a, 12000, MAC_A, false, "refreshed");

	/* b: refreshes asked, no answer: forgotten max_retries * retry_ms after going stale. */
	expect_hit(t, 0, b, 10000, MAC_B, true, "b refresh 1");
	expect_hit(t, 0, b, 11000, MAC_B, true, "b refresh 2");
	expect_hit(t, 0, b, 12000, MAC_B, true, "b refresh 3");
	for (i = 0; i < 13; i++)
		cr_expect_eq(gax_neigh_tick(t, 12000 + i * 77, 64, rec_req, rec_pkt, r), 0);
	expect_hit(t, 0, b, 12999, MAC_B, false, "b last moment");
	/* c was never used while stale: forgotten at the same time; d was learned later. */
	cr_expect_eq(gax_neigh_tick(t, 13000, 64, rec_req, rec_pkt, r), 2);
	cr_expect_eq(gax_neigh_lookup(t, 0, b, 13000, &info), -ENOENT);
	cr_expect_eq(gax_neigh_lookup(t, 0, c, 13000, &info), -ENOENT);
	cr_expect_eq(state_of(t, 0, a, 13000), GAX_NEIGH_ST_RESOLVED);
	cr_expect_eq(r->n_req, 0, "refreshes are asked by resolve, not tick");
	cr_expect_eq(r->n, 0);
	expect_resolve(t, 0, b, 13001, pkt(1), GAX_NEIGH_HELD, true, "b unknown again");

	/* d: forgotten by resolve itself when no tick came by. */
	expect_hit(t, 0, d, 13999, MAC_C, true, "d last moment");
	expect_resolve(t, 0, d, 14000, pkt(2), GAX_NEIGH_HELD, true, "d past its last chance");
	cr_assert_eq(gax_neigh_lookup(t, 0, d, 14000, &info), 0);
	cr_expect_eq(info.state, GAX_NEIGH_ST_INCOMPLETE);
	cr_expect_eq(info.mac[0] | info.mac[5], 0);

	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.expired, 3);
	cr_expect_eq(s.refreshes, 6);
	cr_expect_eq(s.requests, 8);
	cr_expect_eq(s.unresolved, 0);
	cr_expect_eq(s.resolved, 1);
	cr_expect_eq(s.incomplete, 2);
	expect_stats_add_up(t);
	gax_neigh_free(t, rec_pkt, r);
	cr_expect_eq(r->n, 2);
	free(r);
}

/* ---- keys, capacity, free -------------------------------------------------- */

Test(neigh_table, interfaces_are_distinct)
{
	struct gax_neigh_table *t = small_table();
	uint32_t a = IP(192, 168, 1, 1);
	struct rec *r = rec_new();
	struct gax_neigh_info info;

	cr_expect_eq(gax_neigh_learn(t, 0, a, MAC_A, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_learn(t, 1, a, MAC_B, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_add_static(t, GAX_NEIGH_MAX_IFACES - 1, a, MAC_C), 0);
	expect_hit(t, 0, a, 1, MAC_A, false, "iface 0");
	expect_hit(t, 1, a, 1, MAC_B, false, "iface 1");
	expect_hit(t, GAX_NEIGH_MAX_IFACES - 1, a, 1, MAC_C, false, "iface 63");
	expect_resolve(t, 2, a, 1, pkt(7), GAX_NEIGH_HELD, true, "iface 2 unknown");
	cr_expect_eq(gax_neigh_count(t), 4);

	/* Learning on one interface flushes only that interface's packets. */
	cr_expect_eq(gax_neigh_learn(t, 1, a, MAC_C, 2, false, rec_pkt, r), 0);
	cr_expect_eq(state_of(t, 2, a, 2), GAX_NEIGH_ST_INCOMPLETE);
	cr_expect_eq(gax_neigh_delete(t, 0, a, rec_pkt, r), 0);
	cr_expect_eq(gax_neigh_lookup(t, 0, a, 3, &info), -ENOENT);
	expect_hit(t, 1, a, 3, MAC_C, false, "iface 1 after deleting iface 0");
	cr_expect_eq(gax_neigh_learn(t, 2, a, MAC_A, 4, false, rec_pkt, r), 1);
	cr_assert_eq(r->n, 1);
	cr_expect_eq(r->iface[0], 2);
	cr_expect_eq(r->id[0], 7);
	gax_neigh_free(t, NULL, NULL);
	free(r);
}

Test(neigh_table, capacity_exhausted)
{
	struct gax_neigh_table *t;
	struct gax_neigh_opts o;
	struct gax_neigh_stats s;
	struct rec *r = rec_new();
	uint32_t e = IP(10, 0, 0, 5);
	unsigned int i;

	small_opts(&o);
	o.capacity = 4;
	t = table_new(&o);
	for (i = 0; i < 4; i++)
		expect_resolve(t, 0, IP(10, 0, 0, 1 + i), 0, pkt(i), GAX_NEIGH_HELD, true, "fill");
	expect_resolve(t, 0, e, 0, pkt(4), GAX_NEIGH_FULL, false, "no free entry");
	expect_resolve(t, 0, e, 0, NULL, GAX_NEIGH_FULL, false, "no free entry to ask");
	cr_expect_eq(gax_neigh_learn(t, 0, e, MAC_A, 0, true, NULL, NULL), -ENOSPC);
	cr_expect_eq(gax_neigh_add_static(t, 0, e, MAC_A), -ENOSPC);
	cr_expect_eq(gax_neigh_learn(t, 0, e, MAC_A, 0, false, NULL, NULL), 0);
	/* Existing entries still learn and hold. */
	cr_expect_eq(gax_neigh_learn(t, 0, IP(10, 0, 0, 1), MAC_A, 0, true, rec_pkt, r), 1);
	cr_expect_eq(gax_neigh_add_static(t, 0, IP(10, 0, 0, 2), MAC_B), 0);
	expect_resolve(t, 0, IP(10, 0, 0, 3), 0, pkt(5), GAX_NEIGH_HELD, false, "existing");
	gax_neigh_stats_get(t, &s);
	cr_expect_eq(s.table_full, 4);
	cr_expect_eq(s.queue_full, 2);
	cr_expect_eq(s.entries, 4);

	/* Giving up frees entries: room again. */
	for (i = 1; i <= 3; i++)
		gax_neigh_tick(t, 1000 * i, 4, NULL, rec_pkt, r);
	cr_expect_eq(gax_neigh_count(t), 2);
	expect_resolve(t, 0, e, 3000, pkt(6), GAX_NEIGH_HELD, true, "room again");
	cr_expect_eq(gax_neigh_add_static(t, 0, IP(10, 0, 0, 6), MAC_B), 0);
	cr_expect_eq(gax_neigh_learn(t, 0, IP(10, 0, 0, 7), MAC_B, 3000, true, NULL, NULL),
			-ENOSPC);
	expect_stats_add_up(t);
	gax_neigh_free(t, rec_pkt, r);
	free(r);
}

Test(neigh_table, free_hands_back_every_held_packet)
{
	struct gax_neigh_table *t = small_table();
	struct rec *r = rec_new();
	bool seen[12] = { false };
	unsigned int i;

	for (i = 0; i < 12; i++)
		gax_neigh_resolve(t, (uint16_t)(i % 2), IP(10, 0, 0, 1 + i % 5), i, pkt(i),
				(uint8_t[6]){ 0 }, &(bool){ false });
	cr_expect_eq(gax_neigh_learn(t, 0, IP(10, 0, 0, 1), MAC_A, 20, false, NULL, NULL), 2);
	gax_neigh_free(t, rec_pkt, r);
	cr_assert_eq(r->n, 10);
	for (i = 0; i < r->n; i++) {
		cr_assert_lt(r->id[i], 12);
		cr_expect_not(seen[r->id[i]], "packet %u twice", r->id[i]);
		seen[r->id[i]] = true;
		cr_expect_not(r->has_mac[i]);
		cr_expect_eq(r->iface[i], r->id[i] % 2);
		cr_expect_eq(r->addr[i], IP(10, 0, 0, 1 + r->id[i] % 5));
	}
	cr_expect_not(seen[0]);
	cr_expect_not(seen[10]);
	free(r);
}

Test(neigh_table, iterate)
{
	struct gax_neigh_table *t = small_table();
	struct gax_neigh_info info;
	unsigned int n = 0, mask = 0;
	uint32_t pos = 0;

	cr_expect_eq(gax_neigh_add_static(t, 0, IP(10, 0, 0, 1), MAC_A), 0);
	cr_expect_eq(gax_neigh_learn(t, 0, IP(10, 0, 0, 2), MAC_B, 0, true, NULL, NULL), 0);
	cr_expect_eq(gax_neigh_learn(t, 0, IP(10, 0, 0, 3), MAC_B, 9000, true, NULL, NULL), 0);
	expect_resolve(t, 0, IP(10, 0, 0, 4), 9500, pkt(0), GAX_NEIGH_HELD, true, "incomplete");
	while (gax_neigh_next(t, &pos, 10000, &info)) {
		n++;
		switch (info.addr & 0xff) {
		case 1:
			cr_expect_eq(info.state, GAX_NEIGH_ST_STATIC);
			break;
		case 2:
			cr_expect_eq(info.state, GAX_NEIGH_ST_STALE);
			cr_expect_eq(info.age, 10000);
			break;
		case 3:
			cr_expect_eq(info.state, GAX_NEIGH_ST_RESOLVED);
			cr_expect_eq(info.age, 1000);
			cr_expect_eq(memcmp(info.mac, MAC_B, 6), 0);
			break;
		case 4:
			cr_expect_eq(info.state, GAX_NEIGH_ST_INCOMPLETE);
			cr_expect_eq(info.held, 1);
			cr_expect_eq(info.requests, 1);
			cr_expect_eq(info.age, 500);
			break;
		default:
			cr_expect_fail("unexpected entry %08x", info.addr);
		}
		mask |= 1u << (info.addr & 0xff);
	}
	cr_expect_eq(n, 4);
	cr_expect_eq(mask, 0x1e);
	cr_expect_not(gax_neigh_next(t, &pos, 10000, &info), "stays at the end");
	gax_neigh_free(t, NULL, NULL);
}

/* ---- random run against a model ------------------------------------------------- */

#define CH_IFACES 2
#define CH_ADDRS 40
#define CH_KEYS (CH_IFACES * CH_ADDRS)

enum pkt_fate { P_UNUSED, P_HELD, P_FLUSHED, P_DROPPED, P_REFUSED };

struct churn {
	uint8_t fate[N_PKTS];
	uint8_t key_of[N_PKTS];
	/* Per key, the packets held in arrival order (a FIFO). */
	unsigned int fifo[CH_KEYS][GAX_NEIGH_MAX_QUEUE_PER_ENTRY];
	unsigned int fifo_head[CH_KEYS], fifo_len[CH_KEYS];
	uint8_t mac[CH_KEYS][6];	/* last learned or static MAC */
	bool is_static[CH_KEYS];
	unsigned int held_now, requests;
	unsigned int per_entry;
};

static uint64_t rng_state;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static unsigned int
ch_key(uint16_t iface, uint32_t addr)
{
	return iface * CH_ADDRS + (addr - IP(10, 0, 0, 1));
}

static void
ch_out(void *ctx, void *p, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct churn *c = ctx;
	unsigned int id = pkt_id(p), k = ch_key(iface, addr);

	cr_assert_lt(id, N_PKTS);
	cr_assert_eq(c->fate[id], P_HELD, "packet %u handed back but not held (%u)", id,
			c->fate[id]);
	cr_assert_eq(c->key_of[id], k, "packet %u handed back for another key", id);
	cr_assert_gt(c->fifo_len[k], 0);
	cr_assert_eq(c->fifo[k][c->fifo_head[k]], id, "packet %u out of order", id);
	c->fifo_head[k] = (c->fifo_head[k] + 1) % GAX_NEIGH_MAX_QUEUE_PER_ENTRY;
	c->fifo_len[k]--;
	c->held_now--;
	if (mac != NULL) {
		cr_assert_eq(memcmp(mac, c->mac[k], 6), 0, "flushed with a wrong mac");
		c->fate[id] = P_FLUSHED;
	} else {
		c->fate[id] = P_DROPPED;
	}
}

static void
ch_req(void *ctx, uint16_t iface, uint32_t addr)
{
	struct churn *c = ctx;

	(void)iface;
	(void)addr;
	c->requests++;
}

/* Resolve a random key, with a packet mostly. Returns whether it called resolve. */
static bool
ch_resolve(struct gax_neigh_table *t, struct churn *c, unsigned int *next_pkt, uint64_t now)
{
	uint16_t iface = (uint16_t)(rnd() % CH_IFACES);
	uint32_t addr = IP(10, 0, 0, 1) + rnd() % CH_ADDRS;
	unsigned int k = ch_key(iface, addr), id = *next_pkt;
	bool ask_only = rnd() % 8 == 0, req;
	enum gax_neigh_result res;
	uint8_t mac[6];

	if (id >= N_PKTS - 1)
		return false;
	res = gax_neigh_resolve(t, iface, addr, now, ask_only ? NULL : pkt(id), mac, &req);
	c->requests += req;
	if (res == GAX_NEIGH_HIT)
		cr_assert_eq(memcmp(mac, c->mac[k], 6), 0, "hit with a wrong mac");
	if (ask_only)
		return true;
	(*next_pkt)++;
	c->key_of[id] = (uint8_t)k;
	if (res != GAX_NEIGH_HELD) {
		c->fate[id] = P_REFUSED;
		return true;
	}
	cr_assert_lt(c->fifo_len[k], c->per_entry, "held beyond the per-entry bound");
	c->fifo[k][(c->fifo_head[k] + c->fifo_len[k]) % GAX_NEIGH_MAX_QUEUE_PER_ENTRY] = id;
	c->fifo_len[k]++;
	c->fate[id] = P_HELD;
	c->held_now++;
	return true;
}

static void
ch_learn(struct gax_neigh_table *t, struct churn *c, uint64_t now)
{
	uint16_t iface = (uint16_t)(rnd() % CH_IFACES);
	uint32_t addr = IP(10, 0, 0, 1) + rnd() % CH_ADDRS;
	unsigned int k = ch_key(iface, addr), before = c->fifo_len[k];
	uint8_t mac[6] = { 0x02, 0, 0, 0, (uint8_t)k, (uint8_t)(rnd() % 3 + 1) };
	int ret;

	if (!c->is_static[k])
		memcpy(c->mac[k], mac, 6); /* what a flush must carry */
	ret = gax_neigh_learn(t, iface, addr, mac, now, rnd() % 2 == 0, ch_out, c);
	cr_assert(ret >= 0 || ret == -ENOSPC, "learn: %d", ret);
	if (ret > 0)
		cr_assert_eq((unsigned int)ret, before, "flushed %d of %u", ret, before);
}

static void
ch_control(struct gax_neigh_table *t, struct churn *c)
{
	uint16_t iface = (uint16_t)(rnd() % CH_IFACES);
	uint32_t addr = IP(10, 0, 0, 1) + rnd() % CH_ADDRS;
	unsigned int k = ch_key(iface, addr);
	uint8_t mac[6] = { 0x02, 0xee, 0, 0, 0, (uint8_t)k };
	int ret;

	if (rnd() % 4 != 0) {
		ret = gax_neigh_delete(t, iface, addr, ch_out, c);
		cr_assert(ret == 0 || ret == -ENOENT);
		if (ret == 0)
			c->is_static[k] = false;
		return;
	}
	ret = gax_neigh_add_static(t, iface, addr, mac);
	cr_assert(ret == 0 || ret == -ENOSPC);
	if (ret == 0) {
		c->is_static[k] = true;
		memcpy(c->mac[k], mac, 6);
	}
}

/* Every entry listed is found by the index, with the held count of the model. */
static void
ch_check(struct gax_neigh_table *t, struct churn *c, uint64_t now)
{
	struct gax_neigh_info info, again;
	struct gax_neigh_stats s;
	unsigned int n = 0, held = 0;
	uint32_t pos = 0;

	while (gax_neigh_next(t, &pos, now, &info)) {
		unsigned int k = ch_key(info.iface, info.addr);

		cr_assert_eq(gax_neigh_lookup(t, info.iface, info.addr, now, &again), 0,
				"entry %u listed but not found", k);
		cr_assert_eq(info.held, c->fifo_len[k], "key %u holds %u, model %u", k, info.held,
				c->fifo_len[k]);
		cr_assert_eq(info.state == GAX_NEIGH_ST_STATIC, c->is_static[k]);
		held += info.held;
		n++;
	}
	gax_neigh_stats_get(t, &s);
	cr_assert_eq(n, s.entries);
	cr_assert_eq(held, c->held_now);
	cr_assert_eq(s.held_now, c->held_now);
	cr_assert_leq(s.held_now, 20);
	cr_assert_eq(s.requests, c->requests);
	cr_assert_eq(s.entries, s.static_entries + s.resolved + s.incomplete);
	cr_assert_eq(s.held, s.flushed + s.unresolved_drops + s.held_now);
}

Test(neigh_stats, random_run_accounts_for_every_packet)
{
	struct churn *c = calloc(1, sizeof(*c));
	struct gax_neigh_table *t;
	struct gax_neigh_opts o;
	struct gax_neigh_stats s;
	unsigned int i, next_pkt = 0, calls = 0, held = 0, flushed = 0, dropped = 0;
	uint64_t now = 0;

	cr_assert_not_null(c);
	small_opts(&o);
	o.capacity = 32;	/* below the 80 keys: the table fills and empties */
	o.queue_per_entry = 3;
	o.queue_total = 20;
	o.reachable_ms = 3000;
	o.retry_ms = 400;
	o.max_retries = 2;
	c->per_entry = o.queue_per_entry;
	t = table_new(&o);
	rng_state = 0x9e3779b97f4a7c15ULL;

	for (i = 0; i < 40000; i++) {
		unsigned int op = rnd() % 100;

		now += rnd() % 40;
		if (op < 55) {
			calls += ch_resolve(t, c, &next_pkt, now);
		} else if (op < 75) {
			ch_learn(t, c, now);
		} else if (op < 93) {
			gax_neigh_tick(t, now, rnd() % 12, ch_req, ch_out, c);
		} else {
			ch_control(t, c);
		}
		if (i % 16 == 0)
			ch_check(t, c, now);
	}
	ch_check(t, c, now);
	gax_neigh_stats_get(t, &s);
	for (i = 0; i < next_pkt; i++) {
		held += c->fate[i] == P_HELD || c->fate[i] == P_FLUSHED ||
			c->fate[i] == P_DROPPED;
		flushed += c->fate[i] == P_FLUSHED;
		dropped += c->fate[i] == P_DROPPED;
	}
	cr_expect_eq(s.held, held);
	cr_expect_eq(s.flushed, flushed);
	cr_expect_eq(s.unresolved_drops, dropped);
	cr_expect_eq(s.hits + s.misses + s.invalid, calls, "every resolve counted once");
	/* The run went through every path. */
	cr_expect_gt(s.flushed, 500);
	cr_expect_gt(s.unresolved_drops, 100);
	cr_expect_gt(s.queue_full, 100);
	cr_expect_gt(s.table_full, 10);
	cr_expect_gt(s.expired, 100);
	cr_expect_gt(s.unresolved, 10);
	cr_expect_gt(s.refreshes, 10);
	cr_expect_gt(s.retries, 10);
	cr_expect_gt(s.static_ignored, 10);
	cr_expect_gt(s.deleted, 10);

	gax_neigh_free(t, ch_out, c);
	cr_expect_eq(c->held_now, 0, "free handed back every held packet");
	for (i = 0; i < next_pkt; i++)
		cr_expect_neq(c->fate[i], P_HELD, "packet %u lost", i);
	free(c);
}
