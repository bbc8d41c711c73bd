/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow table: refused options and arguments first, then behaviour:
 * a flow is found by both its keys, duplicates and a full table are refused
 * with distinct errors while every flow in the table stays reachable, deleted
 * flows disappear and can come back, a million random inserts, deletes,
 * lookups, touches and expiries agree with a plain reference model (on a
 * tiny table, where probe sequences wrap and cluster, and a larger one),
 * bulk lookups agree with single ones, idle flows expire after their timeout
 * and not before (with a coarse clock too), TCP closing shortens the timeout
 * and a SYN reopens, the sweep respects its budget and reaches every flow,
 * and full-NAT source ports belong to their worker, are unique per endpoint,
 * shared across endpoints and run out with -EADDRNOTAVAIL.
 *
 * Set GAX_FLOW_TEST_SMALL=1 (as under valgrind) for fewer churn operations
 * and no 1M-flow table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_flow.h>
#include <gax_hash.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define TCP 6
#define UDP 17
#define HZ_MS 1000

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s * 0x9e3779b97f4a7c15ULL + 1;
}

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static bool
small_run(void)
{
	const char *s = getenv("GAX_FLOW_TEST_SMALL");

	return s != NULL && s[0] != '\0' && s[0] != '0';
}

static struct gax_flow_table *
table_new(uint32_t capacity, uint32_t n_workers, uint32_t worker_id, uint64_t hz)
{
	struct gax_flow_opts o;
	struct gax_flow_table *t;

	gax_flow_opts_init(&o);
	o.capacity = capacity;
	o.n_workers = n_workers;
	o.worker_id = worker_id;
	o.ticks_per_second = hz;
	o.seed = 0x1234567;
	t = gax_flow_create(&o);
	cr_assert_not_null(t, "create capacity %u: %s", capacity, strerror(errno));
	return t;
}

/*
 * The two keys of flow number @p i (i < 64512): TCP or UDP by parity, a
 * distinct client address, and a distinct NAT port towards one of four
 * endpoints, so different ids never share a key.
 */
static void
flow_keys(uint32_t i, struct gax_flow_key *ck, struct gax_flow_key *ek)
{
	uint8_t proto = (i & 1) ? UDP : TCP;

	gax_flow_key_init(ck, IP(100, 64, 0, 0) + i, IP(10, 0, 0, 100),
			(uint16_t)(1024 + (i * 7919u) % 60000), 443, proto);
	gax_flow_key_init(ek, IP(10, 1, 0, 1 + i % 4), IP(10, 2, 0, 1), 8443,
			(uint16_t)(1024 + i), proto);
}

static struct gax_flow *
insert_id(struct gax_flow_table *t, uint32_t i, uint64_t now, uint32_t timeout_s)
{
	struct gax_flow_key ck, ek;
	struct gax_flow *f = NULL;
	int ret;

	flow_keys(i, &ck, &ek);
	ret = gax_flow_insert(t, &ck, &ek, i % 7, i, now, timeout_s, &f);
	cr_assert_eq(ret, 0, "insert %u: %d", i, ret);
	cr_assert_not_null(f);
	return f;
}

/* The flow found by each key of id @p i (both must agree). */
static struct gax_flow *
find_id(struct gax_flow_table *t, uint32_t i)
{
	struct gax_flow_key ck, ek;
	struct gax_flow *a, *b;

	flow_keys(i, &ck, &ek);
	a = gax_flow_lookup(t, &ck);
	b = gax_flow_lookup(t, &ek);
	cr_assert_eq(a, b, "id %u: client key finds %p, endpoint key %p", i, (void *)a,
			(void *)b);
	return a;
}

/* ---- invalid input -------------------------------------------------------- */

static void
expect_create_einval(const struct gax_flow_opts *o, const char *what)
{
	struct gax_flow_table *t;

	errno = 0;
	t = gax_flow_create(o);
	cr_expect_null(t, "%s: created", what);
	cr_expect_eq(errno, EINVAL, "%s: errno %d", what, errno);
	gax_flow_free(t);
}

static void *
dummy_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)align;
	return malloc(size);
}

Test(flow_invalid, create_options)
{
	struct gax_flow_opts o;

	gax_flow_opts_init(&o);
	o.capacity = 0;
	expect_create_einval(&o, "capacity 0");
	o.capacity = GAX_FLOW_MAX_CAPACITY + 1;
	expect_create_einval(&o, "capacity above the maximum");
	o.capacity = UINT32_MAX;
	expect_create_einval(&o, "capacity 2^32-1");

	gax_flow_opts_init(&o);
	o.capacity = 16;
	o.n_workers = 4;
	o.worker_id = 4;
	expect_create_einval(&o, "worker_id == n_workers");
	o.worker_id = 100;
	expect_create_einval(&o, "worker_id > n_workers");
	o.n_workers = 1;
	o.worker_id = 1;
	expect_create_einval(&o, "worker_id 1 of 1");
	o.n_workers = 0;
	o.worker_id = 0;
	expect_create_einval(&o, "n_workers 0");
	o.n_workers = GAX_FLOW_MAX_WORKERS + 1;
	expect_create_einval(&o, "n_workers above the maximum");

	gax_flow_opts_init(&o);
	o.capacity = 16;
	o.ticks_per_second = 0;
	expect_create_einval(&o, "ticks_per_second 0");
	o.ticks_per_second = GAX_FLOW_MAX_TICKS_PER_SECOND + 1;
	expect_create_einval(&o, "ticks_per_second absurd");

	gax_flow_opts_init(&o);
	o.capacity = 16;
	o.short_timeout_s = 0;
	expect_create_einval(&o, "short timeout 0");
	o.short_timeout_s = GAX_FLOW_TIMEOUT_MAX + 1;
	expect_create_einval(&o, "short timeout above the maximum");

	gax_flow_opts_init(&o);
	o.capacity = 16;
	o.alloc = dummy_alloc;
	expect_create_einval(&o, "alloc without free");
}

Test(flow_invalid, insert_delete_bulk)
{
	struct gax_flow_table *t = table_new(64, 1, 0, HZ_MS);
	struct gax_flow_key ck, ek, bad, keys[GAX_FLOW_BULK_MAX + 1];
	struct gax_flow *out[GAX_FLOW_BULK_MAX + 1];
	struct gax_flow stray, *f;

	flow_keys(1, &ck, &ek);
	bad = ck;
	bad.pad[1] = 1;
	cr_expect_eq(gax_flow_insert(t, &bad, &ek, 0, 0, 0, 10, NULL), -EINVAL, "client pad");
	bad = ek;
	bad.pad[2] = 7;
	cr_expect_eq(gax_flow_insert(t, &ck, &bad, 0, 0, 0, 10, NULL), -EINVAL, "endpoint pad");
	bad = ek;
	bad.proto = ck.proto == TCP ? UDP : TCP;
	cr_expect_eq(gax_flow_insert(t, &ck, &bad, 0, 0, 0, 10, NULL), -EINVAL, "protos differ");
	cr_expect_eq(gax_flow_insert(t, &ck, &ck, 0, 0, 0, 10, NULL), -EINVAL, "same key twice");
	cr_expect_eq(gax_flow_count(t), 0);

	memset(&stray, 0, sizeof(stray));
	stray.state = GAX_FLOW_ST_USED;
	cr_expect_eq(gax_flow_delete(t, &stray), -EINVAL, "record of no table");
	f = insert_id(t, 1, 0, 10);
	cr_expect_eq(gax_flow_delete(t, (struct gax_flow *)((char *)f + 8)), -EINVAL,
			"misaligned record");
	cr_expect_eq(gax_flow_delete(t, f), 0);
	cr_expect_eq(gax_flow_delete(t, f), -EINVAL, "record already free");

	memset(keys, 0, sizeof(keys));
	cr_expect_eq(gax_flow_lookup_bulk(t, keys, GAX_FLOW_BULK_MAX + 1, out), -EINVAL);
	cr_expect_eq(gax_flow_lookup_bulk(t, keys, 0, out), 0);
	gax_flow_free(t);
	gax_flow_free(NULL);
}

/* ---- creation and memory ---------------------------------------------------- */

static unsigned int hook_allocs, hook_frees;

static void *
hook_alloc(void *ctx, size_t size, size_t align)
{
	cr_assert_eq(ctx, (void *)&hook_allocs);
	hook_allocs++;
	return aligned_alloc(align, (size + align - 1) / align * align);
}

static void
hook_free(void *ctx, void *p)
{
	cr_assert_eq(ctx, (void *)&hook_allocs);
	if (p != NULL)
		hook_frees++;
	free(p);
}

Test(flow_create, defaults_and_memory)
{
	struct gax_flow_table *t;
	struct gax_flow_opts o;
	double per;

	cr_assert_eq(sizeof(struct gax_flow), 64);
	cr_assert_eq(sizeof(struct gax_flow_key), 16);
	if (!small_run()) {
		t = gax_flow_create(NULL);
		cr_assert_not_null(t, "%s", strerror(errno));
		cr_expect_eq(gax_flow_capacity(t), GAX_FLOW_DEFAULT_CAPACITY);
		per = gax_flow_mem_per_flow(t);
		cr_expect(per >= 96.0 && per < 97.0, "memory per flow %.2f", per);
		gax_flow_free(t);
	}

	/* Not a power of two: the capacity is exact, the index rounds up. */
	t = table_new(1000, 1, 0, HZ_MS);
	cr_expect_eq(gax_flow_capacity(t), 1000);
	cr_expect_eq(gax_flow_mem_total(t) / 1000, (size_t)gax_flow_mem_per_flow(t));
	cr_expect(gax_flow_mem_total(t) >= 1000 * (64 + 4 * 8));
	gax_flow_free(t);

	gax_flow_opts_init(&o);
	o.capacity = 1;
	o.alloc = hook_alloc;
	o.free = hook_free;
	o.alloc_ctx = &hook_allocs;
	t = gax_flow_create(&o);
	cr_assert_not_null(t);
	cr_expect_eq(hook_allocs, 2);
	insert_id(t, 3, 0, 5);
	cr_expect_eq(gax_flow_insert(t, &(struct gax_flow_key){ 1, 2, 3, 4, TCP, { 0 } },
			&(struct gax_flow_key){ 5, 6, 7, 8, TCP, { 0 } }, 0, 0, 0, 5, NULL),
			-ENOSPC);
	gax_flow_free(t);
	cr_expect_eq(hook_frees, 2);
}

/* ---- insert, lookup, delete ---------------------------------------------------- */

Test(flow_table, insert_and_find_by_both_keys)
{
	struct gax_flow_table *t = table_new(128, 1, 0, HZ_MS);
	struct gax_flow_key ck, ek, other;
	struct gax_flow_stats st;
	struct gax_flow *f, *g;

	gax_flow_key_init(&ck, IP(198, 51, 100, 7), IP(10, 0, 0, 100), 40000, 80, TCP);
	gax_flow_key_init(&ek, IP(10, 1, 0, 11), IP(10, 1, 0, 1), 8080, 5001, TCP);
	cr_assert_eq(gax_flow_insert(t, &ck, &ek, 3, 42, 1000, 900, &f), 0);
	cr_expect_eq(gax_flow_lookup(t, &ck), f);
	cr_expect_eq(gax_flow_lookup(t, &ek), f);
	cr_expect_eq(gax_flow_key_dir(f, &ck), GAX_FLOW_DIR_CLIENT);
	cr_expect_eq(gax_flow_key_dir(f, &ek), GAX_FLOW_DIR_ENDPOINT);

	cr_expect_eq(gax_flow_client_addr(f), IP(198, 51, 100, 7));
	cr_expect_eq(gax_flow_client_port(f), 40000);
	cr_expect_eq(gax_flow_vip_addr(f), IP(10, 0, 0, 100));
	cr_expect_eq(gax_flow_vip_port(f), 80);
	cr_expect_eq(gax_flow_endpoint_addr(f), IP(10, 1, 0, 11));
	cr_expect_eq(gax_flow_endpoint_port(f), 8080);
	cr_expect_eq(gax_flow_nat_addr(f), IP(10, 1, 0, 1));
	cr_expect_eq(gax_flow_nat_port(f), 5001);
	cr_expect_eq(f->proto, TCP);
	cr_expect_eq(f->listener, 3);
	cr_expect_eq(f->endpoint, 42);
	cr_expect_eq(f->timeout_s, 900);
	cr_expect_eq(f->pkts[0] + f->pkts[1], 0);
	cr_expect_eq(gax_flow_idle(t, f, 1000), 0);
	cr_expect_eq(gax_flow_idle(t, f, 3500), 2500);
	gax_flow_key_of(f, GAX_FLOW_DIR_ENDPOINT, &other);
	cr_expect_eq(memcmp(&other, &ek, sizeof(ek)), 0);
	gax_flow_key_of(f, GAX_FLOW_DIR_CLIENT, &other);
	cr_expect_eq(memcmp(&other, &ck, sizeof(ck)), 0);

	gax_flow_account(f, GAX_FLOW_DIR_CLIENT, 60);
	gax_flow_account(f, GAX_FLOW_DIR_ENDPOINT, 1500);
	gax_flow_account(f, GAX_FLOW_DIR_ENDPOINT, 1500);
	cr_expect_eq(f->pkts[0], 1);
	cr_expect_eq(f->bytes[0], 60);
	cr_expect_eq(f->pkts[1], 2);
	cr_expect_eq(f->bytes[1], 3000);

	/* Near misses: each field of each key. */
	other = ck;
	other.sport++;
	cr_expect_null(gax_flow_lookup(t, &other));
	other = ck;
	other.proto = UDP;
	cr_expect_null(gax_flow_lookup(t, &other));
	other = ek;
	other.daddr++;
	cr_expect_null(gax_flow_lookup(t, &other));
	other = ek;
	other.dport--;
	cr_expect_null(gax_flow_lookup(t, &other));
	/* The reply tuple of the client side is not a key. */
	gax_flow_key_init(&other, ck.daddr, ck.saddr, ck.dport, ck.sport, TCP);
	cr_expect_null(gax_flow_lookup(t, &other));

	/* A second flow sharing the client address and the endpoint. */
	ck.sport++;
	ek.dport++;
	cr_assert_eq(gax_flow_insert(t, &ck, &ek, 3, 42, 1000, 900, &g), 0);
	cr_expect_neq(f, g);
	cr_expect_eq(gax_flow_lookup(t, &ck), g);
	cr_expect_eq(gax_flow_count(t), 2);

	gax_flow_stats_get(t, &st);
	cr_expect_eq(st.active, 2);
	cr_expect_eq(st.inserts, 2);
	cr_expect_eq(st.lookups, 8);
	cr_expect_eq(st.hits, 3);
	gax_flow_free(t);
}

Test(flow_table, duplicate_key_refused)
{
	struct gax_flow_table *t = table_new(16, 1, 0, HZ_MS);
	struct gax_flow_key ck, ek, ck2, ek2;
	struct gax_flow_stats st;
	struct gax_flow *f;

	f = insert_id(t, 5, 0, 30);
	flow_keys(5, &ck, &ek);
	flow_keys(7, &ck2, &ek2); /* ids 5 and 7: both UDP */
	cr_expect_eq(gax_flow_insert(t, &ck, &ek, 0, 0, 0, 30, NULL), -EEXIST, "both keys");
	cr_expect_eq(gax_flow_insert(t, &ck, &ek2, 0, 0, 0, 30, NULL), -EEXIST, "client key");
	cr_expect_eq(gax_flow_insert(t, &ck2, &ek, 0, 0, 0, 30, NULL), -EEXIST, "endpoint key");
	/* A key of one flow used as the other side of a new one. */
	cr_expect_eq(gax_flow_insert(t, &ek, &ck2, 0, 0, 0, 30, NULL), -EEXIST, "crossed");
	cr_expect_eq(gax_flow_count(t), 1);
	cr_expect_eq(find_id(t, 5), f);
	cr_expect_null(find_id(t, 7));
	gax_flow_stats_get(t, &st);
	cr_expect_eq(st.insert_exists, 4);
	cr_expect_eq(st.inserts, 1);
	gax_flow_free(t);
}

Test(flow_table, full_table_refuses_and_keeps_every_flow)
{
	const uint32_t cap = 1000;
	struct gax_flow_table *t = table_new(cap, 1, 0, HZ_MS);
	struct gax_flow *flows[1000];
	struct gax_flow_key ck, ek;
	struct gax_flow_stats st;
	uint32_t i, pos = 0, walked = 0;

	for (i = 0; i < cap; i++)
		flows[i] = insert_id(t, i, 0, 60);
	cr_expect_eq(gax_flow_count(t), cap);
	for (i = cap; i < cap + 50; i++) {
		flow_keys(i, &ck, &ek);
		cr_expect_eq(gax_flow_insert(t, &ck, &ek, 0, 0, 0, 60, NULL), -ENOSPC, "id %u", i);
	}
	/* An existing key is still reported as such on a full table. */
	flow_keys(17, &ck, &ek);
	cr_expect_eq(gax_flow_insert(t, &ck, &ek, 0, 0, 0, 60, NULL), -EEXIST);
	gax_flow_stats_get(t, &st);
	cr_expect_eq(st.insert_full, 50);
	cr_expect_eq(st.insert_exists, 1);
	cr_expect_eq(st.active, cap);
	for (i = 0; i < cap; i++)
		cr_assert_eq(find_id(t, i), flows[i], "id %u lost", i);
	for (i = cap; i < cap + 50; i++)
		cr_assert_null(find_id(t, i));
	while (gax_flow_next(t, &pos) != NULL)
		walked++;
	cr_expect_eq(walked, cap);

	/* Room again after a delete. */
	cr_assert_eq(gax_flow_delete(t, flows[500]), 0);
	cr_expect_null(find_id(t, 500));
	flows[500] = insert_id(t, cap + 1, 0, 60);
	cr_expect_eq(find_id(t, cap + 1), flows[500]);
	flow_keys(cap + 2, &ck, &ek);
	cr_expect_eq(gax_flow_insert(t, &ck, &ek, 0, 0, 0, 60, NULL), -ENOSPC);
	gax_flow_free(t);
}

Test(flow_table, delete_then_reinsert)
{
	struct gax_flow_table *t = table_new(8, 1, 0, HZ_MS);
	struct gax_flow *f[8];
	uint32_t i, round;

	for (round = 0; round < 50; round++) {
		for (i = 0; i < 8; i++)
			f[i] = insert_id(t, i + round % 3, 0, 60);
		for (i = 0; i < 8; i++)
			cr_assert_eq(find_id(t, i + round % 3), f[i]);
		for (i = 0; i < 8; i += 2)
			cr_assert_eq(gax_flow_delete(t, f[i]), 0);
		for (i = 0; i < 8; i++)
			cr_assert_eq(find_id(t, i + round % 3), i % 2 ? f[i] : NULL);
		for (i = 1; i < 8; i += 2)
			cr_assert_eq(gax_flow_delete(t, f[i]), 0);
		cr_assert_eq(gax_flow_count(t), 0);
	}
	gax_flow_free(t);
}

/* ---- churn against a reference model ------------------------------------------ */

struct model {
	struct gax_flow_table *t;
	uint32_t n_ids;
	uint32_t capacity;
	uint32_t count;
	uint64_t now;
	struct gax_flow **flow;		/* per id: its record, NULL when absent */
	uint64_t *touched;		/* per id: last touch */
	uint32_t *timeout;		/* per id: timeout in seconds */
	uint64_t expired;
};

static struct model *cur_model;

/* Expire callback: the flow must be one the model holds and idle long enough. */
static void
model_expired(void *ctx, const struct gax_flow *f)
{
	struct model *m = ctx;
	uint32_t id = f->endpoint;

	cr_assert_eq(m, cur_model);
	cr_assert_lt(id, m->n_ids);
	cr_assert_eq(m->flow[id], f, "expired id %u is not the model's", id);
	cr_assert_geq(m->now - m->touched[id], (uint64_t)m->timeout[id] * HZ_MS,
			"id %u expired after %llu ms, timeout %u s", id,
			(unsigned long long)(m->now - m->touched[id]), m->timeout[id]);
	m->flow[id] = NULL;
	m->count--;
	m->expired++;
}

static void
model_init(struct model *m, uint32_t capacity, uint32_t n_ids)
{
	struct gax_flow_opts o;

	memset(m, 0, sizeof(*m));
	gax_flow_opts_init(&o);
	o.capacity = capacity;
	o.ticks_per_second = HZ_MS;
	o.seed = 99;
	o.expire_cb = model_expired;
	o.expire_ctx = m;
	m->t = gax_flow_create(&o);
	cr_assert_not_null(m->t);
	m->capacity = capacity;
	m->n_ids = n_ids;
	m->flow = calloc(n_ids, sizeof(m->flow[0]));
	m->touched = calloc(n_ids, sizeof(m->touched[0]));
	m->timeout = calloc(n_ids, sizeof(m->timeout[0]));
	cr_assert(m->flow != NULL && m->touched != NULL && m->timeout != NULL);
	cur_model = m;
}

static void
model_fini(struct model *m)
{
	gax_flow_free(m->t);
	free(m->flow);
	free(m->touched);
	free(m->timeout);
}

/* Check id @p i, by single or bulk lookup. */
static void
model_check_id(struct model *m, uint32_t i)
{
	cr_assert_eq(find_id(m->t, i), m->flow[i], "id %u: table %p, model %p", i,
			(void *)find_id(m->t, i), (void *)m->flow[i]);
}

static void
model_check_all(struct model *m)
{
	uint32_t i, base, n;

	cr_assert_eq(gax_flow_count(m->t), m->count);
	for (i = 0; i < m->n_ids; i++)
		model_check_id(m, i);
	/* And in bulks of every size. */
	for (base = 0, n = 1; base < m->n_ids; base += n, n = n % GAX_FLOW_BULK_MAX + 1) {
		struct gax_flow_key ck[GAX_FLOW_BULK_MAX], ek[GAX_FLOW_BULK_MAX];
		struct gax_flow *fc[GAX_FLOW_BULK_MAX], *fe[GAX_FLOW_BULK_MAX];
		uint32_t k, len = base + n <= m->n_ids ? n : m->n_ids - base;
		int hits = 0;

		for (k = 0; k < len; k++) {
			flow_keys(base + k, &ck[k], &ek[k]);
			hits += m->flow[base + k] != NULL;
		}
		cr_assert_eq(gax_flow_lookup_bulk(m->t, ck, len, fc), hits);
		cr_assert_eq(gax_flow_lookup_bulk(m->t, ek, len, fe), hits);
		for (k = 0; k < len; k++) {
			cr_assert_eq(fc[k], m->flow[base + k], "bulk id %u", base + k);
			cr_assert_eq(fe[k], m->flow[base + k], "bulk id %u", base + k);
		}
	}
}

/* @p ops random operations; a full check every @p check_every. */
static void
model_churn(struct model *m, uint32_t ops, uint32_t check_every, unsigned int budget)
{
	struct gax_flow_key ck, ek;
	uint32_t op, i;
	int ret;

	for (op = 0; op < ops; op++) {
		uint32_t r = rnd();

		i = rnd() % m->n_ids;
		switch (r % 10) {
		case 0: case 1: case 2: case 3: {
			bool present = m->flow[i] != NULL;
			struct gax_flow *f = NULL;

			flow_keys(i, &ck, &ek);
			if (!present)
				m->timeout[i] = 1 + rnd() % 5;
			ret = gax_flow_insert(m->t, &ck, &ek, 0, i, m->now, m->timeout[i], &f);
			if (present) {
				cr_assert_eq(ret, -EEXIST, "id %u present: insert %d", i, ret);
			} else if (m->count == m->capacity) {
				cr_assert_eq(ret, -ENOSPC, "id %u, table full: insert %d", i, ret);
			} else {
				cr_assert_eq(ret, 0, "id %u: insert %d", i, ret);
				cr_assert_not_null(f);
				m->flow[i] = f;
				m->touched[i] = m->now;
				m->count++;
			}
			break;
		}
		case 4: case 5:
			if (m->flow[i] != NULL) {
				cr_assert_eq(gax_flow_delete(m->t, m->flow[i]), 0);
				m->flow[i] = NULL;
				m->count--;
			}
			break;
		case 6:
			if (m->flow[i] != NULL) {
				gax_flow_touch(m->t, m->flow[i], m->now, m->timeout[i]);
				m->touched[i] = m->now;
			}
			break;
		default:
			model_check_id(m, i);
			break;
		}
		if (budget > 0 && r % 64 == 0) {
			m->now += rnd() % 700;
			gax_flow_expire(m->t, m->now, budget);
		}
		if (check_every > 0 && op % check_every == check_every - 1)
			model_check_all(m);
	}
	model_check_all(m);
}

Test(flow_churn, tiny_table_against_model)
{
	struct model m;
	uint32_t ops = small_run() ? 100000 : 500000;

	rng_seed(1);
	/* 64 records, 256 slots: probe sequences wrap around and cluster. */
	model_init(&m, 64, 200);
	model_churn(&m, ops, 97, 0);
	model_fini(&m);
}

Test(flow_churn, table_with_expiry_against_model)
{
	struct model m;
	uint32_t ops = small_run() ? 100000 : 500000;
	uint64_t expired_before;
	struct gax_flow_stats st;
	uint32_t calls;

	rng_seed(2);
	model_init(&m, 3000, 6000);
	model_churn(&m, ops, 50000, 5);
	gax_flow_stats_get(m.t, &st);
	cr_expect_gt(m.expired, 0);
	cr_expect_eq(st.expired, m.expired);
	cr_expect_gt(st.insert_full, 0, "the model never filled the table");

	/* Every idle flow goes within capacity / budget calls after its timeout. */
	m.now += 6 * HZ_MS;
	expired_before = m.expired;
	for (calls = 0; calls < (3000 + 4) / 5; calls++)
		gax_flow_expire(m.t, m.now, 5);
	cr_expect_eq(gax_flow_count(m.t), 0);
	cr_expect_eq(m.count, 0);
	cr_expect_geq(m.expired, expired_before);
	model_check_all(&m);
	model_fini(&m);
}

Test(flow_table, bulk_equals_single)
{
	struct gax_flow_table *t = table_new(4096, 1, 0, HZ_MS);
	struct gax_flow_key keys[GAX_FLOW_BULK_MAX], ek;
	struct gax_flow *bulk[GAX_FLOW_BULK_MAX];
	struct gax_flow_stats st0, st1;
	uint32_t i, n, round;

	rng_seed(3);
	for (i = 0; i < 3000; i += 2)
		insert_id(t, i, 0, 60);
	for (round = 0; round < 2000; round++) {
		int hits = 0, got;

		n = round % (GAX_FLOW_BULK_MAX + 1);
		for (i = 0; i < n; i++) {
			uint32_t id = rnd() % 3500;

			flow_keys(id, &keys[i], &ek);
			if (rnd() & 1)
				keys[i] = ek;
			if (rnd() % 16 == 0)
				keys[i].dport ^= 0x4000; /* most likely absent */
			if (i > 0 && rnd() % 8 == 0)
				keys[i] = keys[i - 1]; /* the same key twice in a burst */
		}
		gax_flow_stats_get(t, &st0);
		got = gax_flow_lookup_bulk(t, keys, n, bulk);
		gax_flow_stats_get(t, &st1);
		cr_assert_eq(st1.lookups - st0.lookups, n);
		cr_assert_eq(st1.hits - st0.hits, (uint64_t)got);
		for (i = 0; i < n; i++) {
			struct gax_flow *single = gax_flow_lookup(t, &keys[i]);

			cr_assert_eq(bulk[i], single, "round %u key %u", round, i);
			hits += single != NULL;
		}
		cr_assert_eq(got, hits);
	}
	gax_flow_free(t);
}

/*
 * Two client keys whose hashes share their upper 32 bits (the index
 * signature, hence the home slot) under @p seed. White box: a birthday search
 * over gax_hash_5tuple(), the hash flow.c uses; about 30 pairs are expected
 * among 2^19 keys.
 */
static bool
sig_collision(uint64_t seed, struct gax_flow_key *a, struct gax_flow_key *b)
{
	const uint32_t bits = 20, n_keys = 1u << 19;
	uint32_t mask = (1u << bits) - 1, i, j;
	uint32_t *sig = calloc(1u << bits, sizeof(uint32_t));
	uint32_t *id = calloc(1u << bits, sizeof(uint32_t)); /* key number + 1; 0: empty */
	bool found = false;

	cr_assert(sig != NULL && id != NULL);
	for (i = 0; i < n_keys && !found; i++) {
		uint32_t h = (uint32_t)(gax_hash_5tuple(IP(100, 64, 0, 0) + i, IP(10, 0, 0, 100),
				5000, 443, TCP, seed) >> 32);

		for (j = h & mask; id[j] != 0; j = (j + 1) & mask) {
			if (sig[j] == h) {
				gax_flow_key_init(a, IP(100, 64, 0, 0) + id[j] - 1,
						IP(10, 0, 0, 100), 5000, 443, TCP);
				gax_flow_key_init(b, IP(100, 64, 0, 0) + i, IP(10, 0, 0, 100),
						5000, 443, TCP);
				found = true;
				break;
			}
		}
		sig[j] = h;
		id[j] = i + 1;
	}
	free(sig);
	free(id);
	return found;
}

Test(flow_table, signature_collision)
{
	struct gax_flow_key a, b, ea, eb, keys[6];
	struct gax_flow *fa, *fb, *out[6], *expect[6];
	struct gax_flow_table *t;
	struct gax_flow_opts o;
	unsigned int i;

	gax_flow_opts_init(&o);
	o.capacity = 64;
	o.seed = 0xc011;
	cr_assert(sig_collision(o.seed, &a, &b), "no colliding pair found");
	t = gax_flow_create(&o);
	cr_assert_not_null(t);
	gax_flow_key_init(&ea, IP(10, 1, 0, 11), IP(10, 2, 0, 1), 8443, 2000, TCP);
	gax_flow_key_init(&eb, IP(10, 1, 0, 11), IP(10, 2, 0, 1), 8443, 2001, TCP);

	/* Only a: b has a's signature but is not in the table. */
	cr_assert_eq(gax_flow_insert(t, &a, &ea, 0, 1, 0, 60, &fa), 0);
	cr_expect_eq(gax_flow_lookup(t, &a), fa);
	cr_expect_null(gax_flow_lookup(t, &b));
	keys[0] = b;
	keys[1] = a;
	cr_expect_eq(gax_flow_lookup_bulk(t, keys, 2, out), 1);
	cr_expect_null(out[0]);
	cr_expect_eq(out[1], fa);

	/* Both: b sits after a in the same probe sequence. */
	cr_assert_eq(gax_flow_insert(t, &b, &eb, 0, 2, 0, 60, &fb), 0);
	cr_expect_eq(gax_flow_insert(t, &b, &ea, 0, 2, 0, 60, NULL), -EEXIST);
	keys[0] = b;
	keys[1] = a;
	keys[2] = eb;
	keys[3] = b;
	keys[4] = ea;
	keys[5] = a;
	cr_expect_eq(gax_flow_lookup_bulk(t, keys, 6, out), 6);
	expect[0] = fb;
	expect[1] = fa;
	expect[2] = fb;
	expect[3] = fb;
	expect[4] = fa;
	expect[5] = fa;
	for (i = 0; i < 6; i++)
		cr_expect_eq(out[i], expect[i], "key %u", i);
	cr_expect_eq(gax_flow_lookup(t, &b), fb);

	/* Delete a: b shifts back into a's place and is still found. */
	cr_assert_eq(gax_flow_delete(t, fa), 0);
	cr_expect_eq(gax_flow_lookup(t, &b), fb);
	cr_expect_null(gax_flow_lookup(t, &a));
	cr_expect_eq(gax_flow_lookup_bulk(t, keys, 2, out), 1);
	cr_expect_eq(out[0], fb);
	cr_expect_null(out[1]);
	cr_assert_eq(gax_flow_insert(t, &a, &ea, 0, 1, 0, 60, &fa), 0);
	cr_expect_eq(gax_flow_lookup(t, &a), fa);
	cr_expect_eq(gax_flow_lookup(t, &b), fb);
	gax_flow_free(t);
}

/* ---- time ------------------------------------------------------------------- */

static unsigned int
expire_all(struct gax_flow_table *t, uint64_t now)
{
	return gax_flow_expire(t, now, gax_flow_capacity(t));
}

Test(flow_expire, idle_flows_expire_after_their_timeout)
{
	struct gax_flow_table *t = table_new(100, 1, 0, HZ_MS);
	uint32_t i;

	for (i = 0; i < 50; i++)
		insert_id(t, i, 1000, i < 25 ? 20 : 40);
	cr_expect_eq(expire_all(t, 1000), 0);
	cr_expect_eq(expire_all(t, 20999), 0, "20 s timeout, 19.999 s idle");
	cr_expect_eq(expire_all(t, 21000), 25, "20 s idle");
	for (i = 0; i < 50; i++)
		cr_expect_eq(find_id(t, i) == NULL, i < 25, "id %u", i);
	cr_expect_eq(expire_all(t, 40999), 0);
	cr_expect_eq(expire_all(t, 41000), 25);
	cr_expect_eq(gax_flow_count(t), 0);
	gax_flow_free(t);
}

Test(flow_expire, touched_flows_do_not_expire)
{
	struct gax_flow_table *t = table_new(100, 1, 0, 1);
	struct gax_flow *f[40];
	uint32_t i;

	for (i = 0; i < 40; i++)
		f[i] = insert_id(t, i, 100, 10);
	for (i = 0; i < 40; i += 2)
		gax_flow_touch(t, f[i], 109, 10);
	cr_expect_eq(expire_all(t, 110), 20);
	for (i = 0; i < 40; i++)
		cr_expect_eq(find_id(t, i), i % 2 ? NULL : f[i]);
	/* A touch may lengthen the timeout too. */
	gax_flow_touch(t, f[0], 115, 300);
	cr_expect_eq(expire_all(t, 119), 19);
	cr_expect_eq(expire_all(t, 414), 0);
	cr_expect_eq(expire_all(t, 415), 1);
	gax_flow_free(t);
}

Test(flow_expire, tcp_closing_shortens_and_syn_reopens)
{
	struct gax_flow_opts o;
	struct gax_flow_table *t;
	struct gax_flow_stats st;
	struct gax_flow *a, *b, *c, *d;

	gax_flow_opts_init(&o);
	o.capacity = 16;
	o.ticks_per_second = 1;
	o.short_timeout_s = 3;
	o.seed = 5;
	t = gax_flow_create(&o);
	cr_assert_not_null(t);

	a = insert_id(t, 0, 0, 900); /* FIN from the client only: half closed */
	b = insert_id(t, 2, 0, 900); /* FIN both ways */
	c = insert_id(t, 4, 0, 900); /* RST */
	d = insert_id(t, 6, 0, 900); /* closes, then a SYN reopens it */
	cr_expect_eq(gax_flow_tcp_track(t, a, GAX_FLOW_DIR_CLIENT,
			GAX_FLOW_TCP_FIN | GAX_FLOW_TCP_ACK, 10, 900), 0);
	cr_expect_not(gax_flow_closing(a));
	cr_expect_eq(a->timeout_s, 900);
	gax_flow_tcp_track(t, b, GAX_FLOW_DIR_ENDPOINT, GAX_FLOW_TCP_FIN | GAX_FLOW_TCP_ACK, 10,
			900);
	cr_expect_not(gax_flow_closing(b));
	gax_flow_tcp_track(t, b, GAX_FLOW_DIR_CLIENT, GAX_FLOW_TCP_FIN | GAX_FLOW_TCP_ACK, 10, 900);
	cr_expect(gax_flow_closing(b));
	cr_expect_eq(b->timeout_s, 3);
	gax_flow_tcp_track(t, c, GAX_FLOW_DIR_ENDPOINT, GAX_FLOW_TCP_RST, 10, 900);
	cr_expect(gax_flow_closing(c));
	/* A later touch cannot lengthen a closing flow's timeout. */
	gax_flow_touch(t, c, 10, 900);
	cr_expect_eq(c->timeout_s, 3);
	gax_flow_tcp_track(t, d, GAX_FLOW_DIR_CLIENT, GAX_FLOW_TCP_RST | GAX_FLOW_TCP_ACK, 10, 900);
	cr_expect(gax_flow_closing(d));
	/* Not a reopening: a SYN from the endpoint, a SYN-ACK. */
	cr_expect_eq(gax_flow_tcp_track(t, d, GAX_FLOW_DIR_ENDPOINT, GAX_FLOW_TCP_SYN, 11, 900), 0);
	cr_expect_eq(gax_flow_tcp_track(t, d, GAX_FLOW_DIR_CLIENT,
			GAX_FLOW_TCP_SYN | GAX_FLOW_TCP_ACK, 11, 900), 0);
	cr_expect(gax_flow_closing(d));
	cr_expect_eq(gax_flow_tcp_track(t, d, GAX_FLOW_DIR_CLIENT, GAX_FLOW_TCP_SYN, 12, 900), 1);
	cr_expect_not(gax_flow_closing(d));
	cr_expect_eq(d->timeout_s, 900);
	cr_expect_eq(find_id(t, 6), d, "the reopened flow keeps its keys");

	cr_expect_eq(expire_all(t, 12), 0);
	cr_expect_eq(expire_all(t, 13), 2, "FIN both ways and RST: 3 s");
	cr_expect_null(find_id(t, 2));
	cr_expect_null(find_id(t, 4));
	cr_expect_eq(find_id(t, 0), a);
	cr_expect_eq(find_id(t, 6), d);
	cr_expect_eq(expire_all(t, 909), 0);
	cr_expect_eq(expire_all(t, 912), 2);
	gax_flow_stats_get(t, &st);
	cr_expect_eq(st.tcp_reopened, 1);
	cr_expect_eq(st.expired, 4);
	gax_flow_free(t);
}

Test(flow_expire, budget_respected_and_every_flow_reached)
{
	const uint32_t cap = 1000, budget = 7;
	struct gax_flow_table *t = table_new(cap, 1, 0, HZ_MS);
	uint32_t i, calls = 0, total = 0;

	for (i = 0; i < cap; i++)
		insert_id(t, i, 0, 1 + i % 30);
	/* Nothing is due: a full sweep frees nothing. */
	for (i = 0; i < (cap + budget - 1) / budget; i++)
		cr_expect_eq(gax_flow_expire(t, 999, budget), 0);
	while (gax_flow_count(t) > 0) {
		unsigned int n = gax_flow_expire(t, 30 * HZ_MS, budget);

		cr_assert_leq(n, budget);
		total += n;
		calls++;
		cr_assert_leq(calls, (cap + budget - 1) / budget, "a sweep missed flows");
	}
	cr_expect_eq(total, cap);
	cr_expect_eq(gax_flow_expire(t, 30 * HZ_MS, 0), 0);
	/* A budget beyond the capacity is one sweep. */
	insert_id(t, 1, 0, 1);
	cr_expect_eq(gax_flow_expire(t, 5 * HZ_MS, 100000), 1);
	gax_flow_free(t);
}

Test(flow_expire, coarse_clock_never_early_and_at_most_two_ms_late)
{
	const uint64_t hz = 2400000000ull; /* a 2.4 GHz TSC */
	struct gax_flow_table *t = table_new(4, 1, 0, hz);
	uint32_t round;

	rng_seed(4);
	for (round = 0; round < 20000; round++) {
		uint64_t start = ((uint64_t)rnd() << 20) ^ rnd();
		uint32_t timeout = 1 + rnd() % 100;
		uint64_t due = start + timeout * hz;
		uint64_t off = (uint64_t)rnd() % (hz / 200); /* up to 5 ms */
		struct gax_flow *f = insert_id(t, 0, start, timeout);
		unsigned int early, late;

		early = gax_flow_expire(t, due - 1 - off, 4);
		cr_assert_eq(early, 0, "expired %llu ticks early",
				(unsigned long long)(off + 1));
		if (round % 2 == 0) {
			late = gax_flow_expire(t, due + hz / 500, 4);
			cr_assert_eq(late, 1, "not expired 2 ms after its timeout");
		} else {
			cr_assert_eq(gax_flow_delete(t, f), 0);
		}
	}
	gax_flow_free(t);
}

/* ---- full-NAT source ports ------------------------------------------------- */

/* Take ports towards one endpoint until they run out; return how many. */
static uint32_t
exhaust(struct gax_flow_table *t, uint32_t n, uint32_t id, uint32_t ep, uint8_t proto,
		uint8_t *seen, uint32_t *next_client)
{
	struct gax_flow_key ck, ek;
	uint32_t got = 0;
	uint16_t port;
	int ret;

	memset(seen, 0, 65536);
	for (;;) {
		ret = gax_flow_snat_port(t, IP(10, 2, 0, 1), ep, 8080, proto, &port);
		if (ret != 0)
			break;
		cr_assert_geq(port, GAX_FLOW_SNAT_PORT_MIN);
		cr_assert_eq(port % n, id, "port %u, worker %u of %u", port, id, n);
		cr_assert_eq(gax_flow_owner_of_port(port, n), id);
		cr_assert_eq(seen[port], 0, "port %u handed out twice to one endpoint", port);
		seen[port] = 1;
		gax_flow_key_init(&ck, (*next_client)++, IP(10, 0, 0, 100), 1000, 80, proto);
		gax_flow_key_init(&ek, ep, IP(10, 2, 0, 1), 8080, port, proto);
		cr_assert_eq(gax_flow_insert(t, &ck, &ek, 0, 0, 0, 60, NULL), 0);
		got++;
	}
	cr_assert_eq(ret, -EADDRNOTAVAIL);
	return got;
}

static uint32_t
ports_of_worker(uint32_t n, uint32_t id)
{
	uint32_t p, c = 0;

	for (p = GAX_FLOW_SNAT_PORT_MIN; p <= GAX_FLOW_SNAT_PORT_MAX; p++)
		c += p % n == id;
	return c;
}

Test(flow_snat, ports_belong_to_worker_unique_and_run_out)
{
	static uint8_t seen_a[65536], seen_b[65536];
	const uint32_t n = 4, id = 1;
	struct gax_flow_table *t = table_new(50000, n, id, HZ_MS);
	uint32_t client = IP(100, 64, 0, 1), got_a, got_b, p, shared = 0;
	struct gax_flow_stats st;

	cr_expect_eq(gax_flow_snat_port_count(t), ports_of_worker(n, id));
	cr_expect_eq(gax_flow_snat_port_count(t), (65535 - 1024 + 1) / 4);

	got_a = exhaust(t, n, id, IP(10, 1, 0, 11), TCP, seen_a, &client);
	cr_expect_eq(got_a, ports_of_worker(n, id), "ports towards one endpoint: %u", got_a);
	gax_flow_stats_get(t, &st);
	cr_expect_eq(st.snat_failures, 1);
	cr_expect_eq(st.snat_ports, got_a);

	/* Another endpoint, and the same endpoint over UDP, get every port again. */
	got_b = exhaust(t, n, id, IP(10, 1, 0, 12), TCP, seen_b, &client);
	cr_expect_eq(got_b, got_a);
	for (p = 0; p < 65536; p++)
		shared += seen_a[p] & seen_b[p];
	cr_expect_eq(shared, got_a, "ports reused across endpoints");
	cr_expect_eq(exhaust(t, n, id, IP(10, 1, 0, 11), UDP, seen_b, &client), got_a);
	gax_flow_free(t);
}

Test(flow_snat, freed_port_found_again)
{
	struct gax_flow_table *t = table_new(25000, 3, 2, HZ_MS);
	static uint8_t seen[65536];
	uint32_t client = 1, got, calls;
	struct gax_flow_key ek;
	struct gax_flow *f;
	uint16_t port;
	int ret;

	got = exhaust(t, 3, 2, IP(10, 1, 0, 11), TCP, seen, &client);
	cr_expect_eq(got, ports_of_worker(3, 2));
	gax_flow_key_init(&ek, IP(10, 1, 0, 11), IP(10, 2, 0, 1), 8080, 30002, TCP);
	cr_assert_eq(30002 % 3, 2);
	f = gax_flow_lookup(t, &ek);
	cr_assert_not_null(f);
	cr_assert_eq(gax_flow_delete(t, f), 0);
	/* The cursor reaches the one free port within count / probes calls. */
	for (calls = 0; calls <= got / GAX_FLOW_SNAT_PROBES + 1; calls++) {
		ret = gax_flow_snat_port(t, IP(10, 2, 0, 1), IP(10, 1, 0, 11), 8080, TCP, &port);
		if (ret == 0)
			break;
		cr_assert_eq(ret, -EADDRNOTAVAIL);
	}
	cr_assert_eq(ret, 0, "the freed port was never found");
	cr_expect_eq(port, 30002);
	gax_flow_free(t);
}

Test(flow_snat, single_worker_and_owner_of_port)
{
	struct gax_flow_table *t = table_new(16, 1, 0, HZ_MS);
	uint32_t n, port;
	uint16_t p;

	cr_expect_eq(gax_flow_snat_port_count(t), 65535 - 1024 + 1);
	cr_assert_eq(gax_flow_snat_port(t, 1, 2, 3, UDP, &p), 0);
	cr_expect_geq(p, 1024);
	gax_flow_free(t);

	for (n = 1; n <= 9; n++) {
		for (port = 0; port <= 65535; port++)
			cr_assert_eq(gax_flow_owner_of_port((uint16_t)port, n), port % n);
	}
	cr_expect_eq(gax_flow_owner_of_port(4242, 0), 0);

	/* Every worker of 7 gets its own share, and the shares cover the range. */
	for (n = 0, port = 0; n < 7; n++) {
		t = table_new(16, 7, n, HZ_MS);
		cr_expect_eq(gax_flow_snat_port_count(t), ports_of_worker(7, n));
		cr_assert_eq(gax_flow_snat_port(t, 1, 2, 3, TCP, &p), 0);
		cr_expect_eq(p % 7, n);
		port += gax_flow_snat_port_count(t);
		gax_flow_free(t);
	}
	cr_expect_eq(port, 65535 - 1024 + 1);
}

/* A narrowed range (gaxd leaves the kernel's ephemeral ports alone): only ports inside it. */
Test(flow_snat, narrowed_range)
{
	static uint8_t seen[65536];
	struct gax_flow_opts o;
	struct gax_flow_table *t;
	uint32_t client = 1, got, p, inside = 0;

	gax_flow_opts_init(&o);
	cr_expect_eq(o.snat_port_min, GAX_FLOW_SNAT_PORT_MIN);
	cr_expect_eq(o.snat_port_max, GAX_FLOW_SNAT_PORT_MAX);
	o.capacity = 20000;
	o.n_workers = 3;
	o.worker_id = 1;
	o.seed = 7;
	o.snat_port_min = 1024;
	o.snat_port_max = 32767;
	t = gax_flow_create(&o);
	cr_assert_not_null(t);
	for (p = 1024; p <= 32767; p++)
		inside += p % 3 == 1;
	cr_expect_eq(gax_flow_snat_port_count(t), inside);
	got = exhaust(t, 3, 1, IP(10, 1, 0, 11), TCP, seen, &client);
	cr_expect_eq(got, inside);
	for (p = 32768; p < 65536; p++)
		cr_assert_eq(seen[p], 0, "port %u is outside the range", p);
	gax_flow_free(t);

	/* Refused: below 1024, reversed, fewer ports than workers. */
	o.snat_port_min = 1023;
	cr_expect_null(gax_flow_create(&o));
	cr_expect_eq(errno, EINVAL);
	o.snat_port_min = 5000;
	o.snat_port_max = 4999;
	cr_expect_null(gax_flow_create(&o));
	o.snat_port_max = 5001; /* 2 ports, 3 workers */
	cr_expect_null(gax_flow_create(&o));
	o.snat_port_max = 5002; /* 3 ports: one each */
	t = gax_flow_create(&o);
	cr_assert_not_null(t);
	cr_expect_eq(gax_flow_snat_port_count(t), 1);
	gax_flow_free(t);
}

/* gax_flow_open(): the port and the insertion in one, with every refusal of the two. */
Test(flow_snat, open_picks_a_port_and_inserts)
{
	struct gax_flow_table *t = table_new(4, 2, 1, HZ_MS);
	struct gax_flow_nat nat = { IP(10, 1, 0, 11), 8080, IP(10, 2, 0, 1) };
	struct gax_flow_nat keep = { IP(10, 1, 0, 12), 8080, 0 };
	struct gax_flow_key ck, ek;
	struct gax_flow_stats st;
	struct gax_flow *f = NULL, *g = NULL;
	uint32_t i;

	gax_flow_key_init(&ck, IP(100, 64, 0, 1), IP(10, 0, 0, 100), 40000, 80, TCP);
	cr_assert_eq(gax_flow_open(t, &ck, &nat, 3, 7, 0, 60, &f), 0);
	cr_assert_not_null(f);
	cr_expect_eq(gax_flow_nat_port(f) % 2, 1, "a port of worker 1: %u", gax_flow_nat_port(f));
	cr_expect_geq(gax_flow_nat_port(f), GAX_FLOW_SNAT_PORT_MIN);
	cr_expect_eq(gax_flow_nat_addr(f), IP(10, 2, 0, 1));
	cr_expect_eq(gax_flow_endpoint_addr(f), IP(10, 1, 0, 11));
	cr_expect_eq(gax_flow_endpoint_port(f), 8080);
	cr_expect_eq(f->listener, 3);
	cr_expect_eq(f->endpoint, 7);
	/* Found by both keys. */
	cr_expect_eq(gax_flow_lookup(t, &ck), f);
	gax_flow_key_of(f, GAX_FLOW_DIR_ENDPOINT, &ek);
	cr_expect_eq(gax_flow_lookup(t, &ek), f);
	/* The same client key again: refused. */
	cr_expect_eq(gax_flow_open(t, &ck, &nat, 3, 7, 0, 60, &g), -EEXIST);

	/* Client kept: the endpoint-side tuple is the client's; taken twice -> refused. */
	gax_flow_key_init(&ck, IP(100, 64, 0, 2), IP(10, 0, 0, 100), 40000, 80, TCP);
	cr_assert_eq(gax_flow_open(t, &ck, &keep, 3, 8, 0, 60, &g), 0);
	cr_expect_eq(gax_flow_nat_addr(g), IP(100, 64, 0, 2));
	cr_expect_eq(gax_flow_nat_port(g), 40000);
	gax_flow_key_init(&ck, IP(100, 64, 0, 2), IP(10, 0, 0, 101), 40000, 80, TCP);
	cr_expect_eq(gax_flow_open(t, &ck, &keep, 4, 8, 0, 60, &g), -EEXIST);

	/* Fill the table, then: refused before a port is taken. */
	for (i = 0; gax_flow_count(t) < 4; i++) {
		gax_flow_key_init(&ck, IP(100, 64, 1, 1 + i), IP(10, 0, 0, 100), 40000, 80, TCP);
		cr_assert_eq(gax_flow_open(t, &ck, &nat, 3, 7, 0, 60, NULL), 0);
	}
	gax_flow_stats_get(t, &st);
	gax_flow_key_init(&ck, IP(100, 64, 2, 1), IP(10, 0, 0, 100), 40000, 80, TCP);
	cr_expect_eq(gax_flow_open(t, &ck, &nat, 3, 7, 0, 60, &g), -ENOSPC);
	{
		struct gax_flow_stats st2;

		gax_flow_stats_get(t, &st2);
		cr_expect_eq(st2.snat_ports, st.snat_ports, "a refused flow takes no port");
		cr_expect_eq(st2.insert_full, st.insert_full + 1);
	}
	cr_expect_eq(gax_flow_open(t, &ck, NULL, 3, 7, 0, 60, &g), -EINVAL);
	gax_flow_free(t);
}

/*
 * gax_flow_open_hinted() with the hashes of gax_flow_lookup_bulk_hashed() and
 * the hints of gax_flow_snat_prefetch() gives what gax_flow_open() gives (two
 * tables of one seed), hints gone stale or for another destination included.
 */
Test(flow_snat, open_hinted_as_open)
{
	struct gax_flow_table *a = table_new(64, 2, 1, HZ_MS), *b = table_new(64, 2, 1, HZ_MS);
	struct gax_flow_nat nat = { IP(10, 1, 0, 11), 8080, IP(10, 2, 0, 1) };
	struct gax_flow_nat other = { IP(10, 1, 0, 12), 8080, IP(10, 2, 0, 1) };
	struct gax_flow_snat_hint hint[4];
	struct gax_flow_key ck[4], ek;
	struct gax_flow *found[4], *fa, *fb;
	uint64_t hash[4];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		gax_flow_key_init(&ck[i], IP(100, 64, 0, 1 + i), IP(10, 0, 0, 100), 40000, 80, UDP);
		hint[i].nat_addr = nat.nat_addr;
		hint[i].endpoint_addr = nat.endpoint_addr;
		hint[i].endpoint_port = nat.endpoint_port;
		hint[i].proto = UDP;
	}
	hint[3].endpoint_addr = other.endpoint_addr; /* frame 3 goes elsewhere */
	cr_assert_eq(gax_flow_lookup_bulk_hashed(b, ck, 4, found, hash), 0);
	for (i = 0; i < 4; i++)
		cr_expect_null(found[i]);
	gax_flow_snat_prefetch(b, hint, 4);
	/* In order (hints fresh), then key 0's hint again (stale: its candidate was taken). */
	cr_assert_eq(gax_flow_open(a, &ck[0], &nat, 3, 7, 0, 60, &fa), 0);
	cr_assert_eq(gax_flow_open_hinted(b, &ck[0], hash[0], &nat, &hint[0], 3, 7, 0, 60, &fb),
			0);
	cr_expect_eq(gax_flow_nat_port(fa), gax_flow_nat_port(fb));
	cr_assert_eq(gax_flow_open(a, &ck[1], &nat, 3, 7, 0, 60, &fa), 0);
	cr_assert_eq(gax_flow_open_hinted(b, &ck[1], hash[1], &nat, &hint[0], 3, 7, 0, 60, &fb),
			0);
	cr_expect_eq(gax_flow_nat_port(fa), gax_flow_nat_port(fb));
	cr_assert_eq(gax_flow_open(a, &ck[2], &nat, 3, 7, 0, 60, &fa), 0);
	cr_assert_eq(gax_flow_open_hinted(b, &ck[2], hash[2], &nat, &hint[2], 3, 7, 0, 60, &fb),
			0);
	cr_expect_eq(gax_flow_nat_port(fa), gax_flow_nat_port(fb));
	/* A hint for another destination is not used for this one. */
	cr_assert_eq(gax_flow_open(a, &ck[3], &nat, 3, 7, 0, 60, &fa), 0);
	cr_assert_eq(gax_flow_open_hinted(b, &ck[3], hash[3], &nat, &hint[3], 3, 7, 0, 60, &fb),
			0);
	cr_expect_eq(gax_flow_nat_port(fa), gax_flow_nat_port(fb));
	/* Every flow of b is found by both keys (its hashes were the right ones). */
	for (i = 0; i < 4; i++) {
		fb = gax_flow_lookup(b, &ck[i]);
		cr_assert_not_null(fb, "key %u", i);
		gax_flow_key_of(fb, GAX_FLOW_DIR_ENDPOINT, &ek);
		cr_expect_eq(gax_flow_lookup(b, &ek), fb, "key %u", i);
	}
	cr_expect_eq(gax_flow_open_hinted(b, &ck[0], hash[0], &nat, NULL, 3, 7, 0, 60, &fb),
			-EEXIST);
	cr_expect_eq(gax_flow_open_hinted(b, &ck[0], hash[0], NULL, NULL, 3, 7, 0, 60, &fb),
			-EINVAL);
	gax_flow_free(a);
	gax_flow_free(b);
}

/* gax_flow_open() when every port towards the destination is taken. */
Test(flow_snat, open_without_a_free_port)
{
	static uint8_t seen[65536];
	struct gax_flow_table *t = table_new(20000, 4, 1, HZ_MS);
	struct gax_flow_nat nat = { IP(10, 1, 0, 11), 8080, IP(10, 2, 0, 1) };
	uint32_t client = IP(100, 64, 0, 1), got, calls;
	struct gax_flow_key ck;
	int ret = 0;

	got = exhaust(t, 4, 1, IP(10, 1, 0, 11), TCP, seen, &client);
	cr_assert_eq(got, ports_of_worker(4, 1));
	gax_flow_key_init(&ck, IP(100, 65, 0, 1), IP(10, 0, 0, 100), 40000, 80, TCP);
	for (calls = 0; calls < 4; calls++) {
		ret = gax_flow_open(t, &ck, &nat, 3, 7, 0, 60, NULL);
		cr_expect_eq(ret, -EADDRNOTAVAIL, "call %u: %d", calls, ret);
	}
	cr_expect_null(gax_flow_lookup(t, &ck));
	gax_flow_free(t);
}
