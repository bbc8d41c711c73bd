/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark of the per-worker flow table. For 1K, 64K and 1M established
 * flows (in a table of that capacity, and 1K flows in a 1M table) it prints
 * the lookup rate in bursts of 32 keys, bulk (gax_flow_lookup_bulk()) and
 * single (32 x gax_flow_lookup()), every key a hit, half client-side keys and
 * half replies, each found record read as the data path would. Beside it,
 * the reference measured in the same run: one random cache-line load per key
 * (floor), i.e. `sum += array[hash % N]` over a 64-byte-stride array as
 * large as the table, hash included, the least any table of that size can
 * cost. Then the memory per flow, the insert rate (keys alone, and with a
 * full-NAT source port picked for each), the cost of the expiry sweep
 * per record examined when nothing is due, and what a full-NAT port refusal
 * costs when every port of the destination is busy.
 *
 * Usage: bench_flow [--smoke]
 *   --smoke  a 1K-flow table, a few lookups, checked (for meson test).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gax_flow.h>
#include <gax_hash.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define BURST		GAX_FLOW_BULK_MAX
#define N_KEYS		(1u << 16)	/* pregenerated lookup keys, cycled */
#define N_LOOKUPS	(4u << 20)	/* lookups per run */
#define N_RUNS		3		/* best of */
#define N_ENDPOINTS	16
#define HZ		1000000000ull
#define TCP		6

struct set {
	uint32_t n;
	struct gax_flow_key *ck;	/* client-side key of flow i */
	struct gax_flow_key *ek;	/* endpoint-side key of flow i */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct gax_flow_table *
table_new(uint32_t capacity)
{
	struct gax_flow_opts o;
	struct gax_flow_table *t;

	gax_flow_opts_init(&o);
	o.capacity = capacity;
	o.ticks_per_second = HZ;
	o.seed = 0x62656e6368;
	t = gax_flow_create(&o);
	if (t == NULL)
		fprintf(stderr, "gax_flow_create(%u): %s\n", capacity, strerror(errno));
	return t;
}

/*
 * Establish @p s->n flows the way the data path does: a distinct client per
 * flow towards one VIP, one of 16 endpoints, a full-NAT source port from the
 * table. Records the keys; returns the seconds taken or a negative value.
 */
static double
populate(struct gax_flow_table *t, struct set *s)
{
	double t0 = now_s();
	uint32_t i;

	for (i = 0; i < s->n; i++) {
		uint32_t ep = IP(10, 1, 0, 1 + i % N_ENDPOINTS);
		uint32_t nat = IP(10, 1, 0, 200 + (i / N_ENDPOINTS) % 2);
		uint16_t port;
		int ret;

		gax_flow_key_init(&s->ck[i], IP(100, 64, 0, 0) + ((i * 2654435761u) & 0x3fffff),
				IP(10, 0, 0, 100), (uint16_t)(1024 + gax_hash_mix64(i) % 60000),
				443, TCP);
		ret = gax_flow_snat_port(t, nat, ep, 8443, TCP, &port);
		if (ret == 0) {
			gax_flow_key_init(&s->ek[i], ep, nat, 8443, port, TCP);
			ret = gax_flow_insert(t, &s->ck[i], &s->ek[i], 0, i % N_ENDPOINTS, 0, 900,
					NULL);
		}
		if (ret != 0) {
			fprintf(stderr, "flow %u: %s\n", i, strerror(-ret));
			return -1.0;
		}
	}
	return now_s() - t0;
}

static int
set_alloc(struct set *s, uint32_t n)
{
	s->n = n;
	s->ck = malloc(n * sizeof(s->ck[0]));
	s->ek = malloc(n * sizeof(s->ek[0]));
	return s->ck != NULL && s->ek != NULL ? 0 : -ENOMEM;
}

static void
set_free(struct set *s)
{
	free(s->ck);
	free(s->ek);
}

/* N_KEYS random keys of established flows, half of them replies. */
static void
lookup_keys(const struct set *s, struct gax_flow_key *keys)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint32_t i;

	for (i = 0; i < N_KEYS; i++) {
		uint64_t r = gax_hash_mix64(x += 0x9e3779b97f4a7c15ULL);
		uint32_t j = (uint32_t)(r % s->n);

		keys[i] = (r >> 63) ? s->ek[j] : s->ck[j];
	}
}

/* Million lookups per second, best of N_RUNS; *sum collects the endpoints found. */
static double
run_bulk(struct gax_flow_table *t, const struct gax_flow_key *keys, uint64_t *sum)
{
	struct gax_flow *f[BURST];
	double best = 0.0;
	unsigned int r;
	uint32_t i, k;

	for (r = 0; r < N_RUNS; r++) {
		double t0 = now_s(), rate;

		for (i = 0; i < N_LOOKUPS; i += BURST) {
			if (gax_flow_lookup_bulk(t, &keys[i % N_KEYS], BURST, f) != BURST)
				return -1.0;
			for (k = 0; k < BURST; k++)
				*sum += f[k]->endpoint;
		}
		rate = N_LOOKUPS / (now_s() - t0) / 1e6;
		best = rate > best ? rate : best;
	}
	return best;
}

static double
run_single(struct gax_flow_table *t, const struct gax_flow_key *keys, uint64_t *sum)
{
	double best = 0.0;
	unsigned int r;
	uint32_t i, k;

	for (r = 0; r < N_RUNS; r++) {
		double t0 = now_s(), rate;

		for (i = 0; i < N_LOOKUPS; i += BURST) {
			for (k = 0; k < BURST; k++) {
				struct gax_flow *f = gax_flow_lookup(t, &keys[(i + k) % N_KEYS]);

				if (f == NULL)
					return -1.0;
				*sum += f->endpoint;
			}
		}
		rate = N_LOOKUPS / (now_s() - t0) / 1e6;
		best = rate > best ? rate : best;
	}
	return best;
}

/*
 * The floor: hash the key, load one random cache line of an array of @p bytes
 * (hash % N, as a multiply-shift so that a division does not flatter gax).
 */
static double
run_floor(const struct gax_flow_key *keys, size_t bytes, uint64_t *sum)
{
	size_t lines = bytes / 64;
	uint64_t *a = aligned_alloc(64, lines * 64);
	double best = 0.0;
	unsigned int r;
	uint32_t i;

	if (a == NULL)
		return -1.0;
	for (i = 0; i < lines; i++)
		a[i * 8] = i;
	for (r = 0; r < N_RUNS; r++) {
		double t0 = now_s(), rate;

		for (i = 0; i < N_LOOKUPS; i++) {
			const struct gax_flow_key *k = &keys[i % N_KEYS];
			uint64_t h = gax_hash_5tuple(k->saddr, k->daddr, k->sport, k->dport,
					k->proto, 0x5eed);

			*sum += a[(size_t)gax_hash_range(h, (uint32_t)lines) * 8];
		}
		rate = N_LOOKUPS / (now_s() - t0) / 1e6;
		best = rate > best ? rate : best;
	}
	free(a);
	return best;
}

/* Time pure inserts of the recorded keys into a new table; M inserts/s. */
static double
insert_rate(const struct set *s, uint32_t capacity)
{
	struct gax_flow_table *t = table_new(capacity);
	double t0, dt;
	uint32_t i;

	if (t == NULL)
		return -1.0;
	t0 = now_s();
	for (i = 0; i < s->n; i++) {
		if (gax_flow_insert(t, &s->ck[i], &s->ek[i], 0, 0, 0, 900, NULL) != 0) {
			gax_flow_free(t);
			return -1.0;
		}
	}
	dt = now_s() - t0;
	gax_flow_free(t);
	return s->n / dt / 1e6;
}

/* Nanoseconds per record examined by a sweep that finds nothing due. */
static double
sweep_ns(struct gax_flow_table *t)
{
	uint32_t cap = gax_flow_capacity(t), calls = 4 * ((cap + 63) / 64), i;
	double t0 = now_s();
	unsigned int freed = 0;

	for (i = 0; i < calls; i++)
		freed += gax_flow_expire(t, HZ, 64); /* 1 s into 900 s timeouts */
	if (freed != 0)
		return -1.0;
	return (now_s() - t0) * 1e9 / ((double)calls * (cap < 64 ? cap : 64));
}

/*
 * A full-NAT port refused: every port of one destination taken by a flow of
 * a 1M table, then N_REFUSALS picks towards it, each trying
 * GAX_FLOW_SNAT_PROBES ports that are all busy; ns per refusal. Beside it the
 * reference: as many random cache-line loads over an array the size of the
 * table, all independent (the least those probes can cost), per refusal.
 */
#define N_REFUSALS 20000u

static int
refusal_ns(double *gax_ns, double *ref_ns, uint64_t *sum)
{
	struct gax_flow_table *t = table_new(1u << 20);
	uint32_t i, n = gax_flow_snat_port_count(t), probes, lines;
	struct gax_flow_nat nat = { IP(10, 1, 0, 7), 8080, IP(10, 2, 0, 1) };
	struct gax_flow_key ck;
	uint64_t *a;
	uint16_t port;
	double t0;

	if (t == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		gax_flow_key_init(&ck, IP(11, 0, 0, 0) + i, IP(10, 0, 0, 100), 40000, 443, TCP);
		if (gax_flow_open(t, &ck, &nat, 0, 0, 0, 900, NULL) != 0) {
			gax_flow_free(t);
			return -1;
		}
	}
	t0 = now_s();
	for (i = 0; i < N_REFUSALS; i++) {
		if (gax_flow_snat_port(t, nat.nat_addr, nat.endpoint_addr, nat.endpoint_port, TCP,
				&port) == 0) {
			gax_flow_free(t);
			return -1; /* a port was free: nothing measured */
		}
	}
	*gax_ns = (now_s() - t0) * 1e9 / N_REFUSALS;

	probes = n < GAX_FLOW_SNAT_PROBES ? n : GAX_FLOW_SNAT_PROBES;
	lines = (uint32_t)(gax_flow_mem_total(t) / 64);
	gax_flow_free(t);
	a = aligned_alloc(64, (size_t)lines * 64);
	if (a == NULL)
		return -1;
	for (i = 0; i < lines; i++)
		a[(size_t)i * 8] = i;
	t0 = now_s();
	for (i = 0; i < N_REFUSALS * probes; i++)
		*sum += a[(size_t)gax_hash_range(gax_hash_mix64(i), lines) * 8];
	*ref_ns = (now_s() - t0) * 1e9 / N_REFUSALS;
	free(a);
	return 0;
}

static int
smoke(void)
{
	static struct gax_flow_key keys[N_KEYS];
	struct gax_flow_table *t = table_new(1024);
	struct gax_flow *f[BURST];
	struct set s = { 0, NULL, NULL };
	uint32_t i;
	int ret = 1;

	if (t == NULL || set_alloc(&s, 1000) != 0)
		goto out;
	if (populate(t, &s) < 0)
		goto out;
	lookup_keys(&s, keys);
	for (i = 0; i < 100 * BURST; i += BURST) {
		if (gax_flow_lookup_bulk(t, &keys[i], BURST, f) != BURST) {
			fprintf(stderr, "bulk lookup missed an established flow\n");
			goto out;
		}
	}
	printf("smoke: 1000 flows, 3200 lookups, all found; %.1f bytes per flow\n",
			gax_flow_mem_per_flow(t));
	ret = 0;
out:
	set_free(&s);
	gax_flow_free(t);
	return ret;
}

struct row {
	uint32_t flows;
	uint32_t capacity;
};

static const struct row rows[] = {
	{ 1u << 10, 1u << 10 },
	{ 1u << 16, 1u << 16 },
	{ 1u << 20, 1u << 20 },
	{ 1u << 10, 1u << 20 },
};

int
main(int argc, char **argv)
{
	static struct gax_flow_key keys[N_KEYS];
	double new_flow_rate = 0.0, ins_rate = 0.0, sweep = 0.0, refusal, refusal_ref;
	uint64_t sum = 0;
	unsigned int r;

	if (argc > 1 && strcmp(argv[1], "--smoke") == 0)
		return smoke();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--smoke]\n", argv[0]);
		return 2;
	}

	printf("flow table: %zu-byte records, 8-byte index slots, index load <= 1/2\n",
			sizeof(struct gax_flow));
	printf("lookups: bursts of %u keys, all hits, half replies; best of %u runs of %u "
			"lookups\n", BURST, N_RUNS, N_LOOKUPS);
	printf("floor: one random cache-line load per key (floor), hash included, over an "
			"array of the table's size\n\n");
	printf("%9s %9s %10s %10s %12s %11s %9s %10s %9s\n", "flows", "capacity",
			"mem/flow_B", "bulk_Mlps", "single_Mlps", "floor_Mlps", "bulk_ns",
			"single_ns", "floor_ns");

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct gax_flow_table *t = table_new(rows[r].capacity);
		double bulk, single, floor_rate, dt;
		struct set s;

		if (t == NULL || set_alloc(&s, rows[r].flows) != 0)
			return 1;
		dt = populate(t, &s);
		if (dt < 0)
			return 1;
		lookup_keys(&s, keys);
		bulk = run_bulk(t, keys, &sum);
		single = run_single(t, keys, &sum);
		floor_rate = run_floor(keys, gax_flow_mem_total(t), &sum);
		if (bulk < 0 || single < 0 || floor_rate < 0) {
			fprintf(stderr, "lookup run failed\n");
			return 1;
		}
		printf("%9u %9u %10.1f %10.1f %12.1f %11.1f %9.1f %10.1f %9.1f\n", rows[r].flows,
				rows[r].capacity, gax_flow_mem_per_flow(t), bulk, single,
				floor_rate, 1e3 / bulk, 1e3 / single, 1e3 / floor_rate);
		if (rows[r].flows == rows[r].capacity && rows[r].flows == (1u << 20)) {
			new_flow_rate = s.n / dt / 1e6;
			ins_rate = insert_rate(&s, rows[r].capacity);
			sweep = sweep_ns(t);
		}
		set_free(&s);
		gax_flow_free(t);
	}

	printf("\ninserts into an empty 1M table, 1M flows: %.2f M/s (both keys); with a "
			"full-NAT port picked per flow: %.2f M/s\n", ins_rate, new_flow_rate);
	printf("expiry sweep, nothing due, full 1M table: %.2f ns per record examined "
			"(budget 64: %.0f ns per worker loop)\n", sweep, sweep * 64);
	if (refusal_ns(&refusal, &refusal_ref, &sum) != 0) {
		fprintf(stderr, "full-NAT refusal run failed\n");
		return 1;
	}
	printf("full-NAT port refused (every port of the destination busy, 1M table, %u "
			"probes): %.0f ns; reference, %u random cache-line loads: %.0f ns\n",
			GAX_FLOW_SNAT_PROBES, refusal, GAX_FLOW_SNAT_PROBES, refusal_ref);
	printf("(checksum %" PRIu64 ")\n", sum);
	return 0;
}
