/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark of the weighted Maglev table: for a 65537-slot table and 4, 16,
 * 64 and 256 backends it prints the build time (median of several builds),
 * how far each backend's slot share is from its weight's share, and how many
 * slots change owner when one of N equal backends leaves, beside the ideal
 * 1/N (the slots the leaving backend owned, and nothing else). Last, the
 * build time in the round-robin's worst case: one heavy backend among many
 * light ones, where each round visits every backend for few claims.
 *
 * Usage: bench_maglev [--smoke]
 *   --smoke  build one small table, check it and exit (for meson test).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gax_maglev.h>

#define TABLE_SIZE 65537
#define N_BUILDS   31
#define KEY_LEN    32

static const unsigned int bench_n[] = {4, 16, 64, 256};

struct backends {
	struct gax_maglev_backend b[GAX_MAGLEV_MAX_BACKENDS];
	char keys[GAX_MAGLEV_MAX_BACKENDS][KEY_LEN];
	unsigned int n;
};

/* @p n backends "10.0.<i/256>.<i%256>:8080"; equal weights or a spread of 1-255. */
static void
backends_init(struct backends *s, unsigned int n, int mixed)
{
	unsigned int i;

	s->n = n;
	for (i = 0; i < n; i++) {
		snprintf(s->keys[i], KEY_LEN, "10.0.%u.%u:8080", i / 256, i % 256);
		s->b[i].key = s->keys[i];
		s->b[i].weight = mixed ? 1 + (i * 97) % 255 : 128;
	}
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median build time in microseconds, or a negative value on failure. */
static double
build_time_us(const struct backends *s, uint32_t size)
{
	double t[N_BUILDS];
	unsigned int i;

	for (i = 0; i < N_BUILDS; i++) {
		struct gax_maglev_table *tab;
		double t0 = now_us();

		tab = gax_maglev_build(s->b, s->n, size);
		t[i] = now_us() - t0;
		if (tab == NULL)
			return -1.0;
		gax_maglev_free(tab);
	}
	qsort(t, N_BUILDS, sizeof(t[0]), cmp_double);
	return t[N_BUILDS / 2];
}

/* Largest |slot share - weight share| over the backends, in percent of M. */
static double
share_error_pct(const struct backends *s, const struct gax_maglev_table *t)
{
	uint32_t counts[GAX_MAGLEV_MAX_BACKENDS];
	double sum = 0.0, worst = 0.0;
	unsigned int i;

	gax_maglev_slot_counts(t, counts);
	for (i = 0; i < s->n; i++)
		sum += s->b[i].weight;
	for (i = 0; i < s->n; i++) {
		double d = (double)counts[i] / t->size - s->b[i].weight / sum;

		if (d < 0)
			d = -d;
		if (d > worst)
			worst = d;
	}
	return worst * 100.0;
}

/*
 * Remove backend @p gone from @p s, rebuild, and count the slots whose owner
 * (by key) changed: all of them into @p changed, those not owned by the
 * leaving backend before into @p others. Returns 0 or -errno.
 */
static int
disruption(const struct backends *s, unsigned int gone, uint32_t size, uint32_t *changed,
		uint32_t *others)
{
	struct gax_maglev_backend less[GAX_MAGLEV_MAX_BACKENDS];
	struct gax_maglev_table *before = NULL, *after = NULL;
	unsigned int i, k = 0;
	uint32_t j;
	int ret = 0;

	for (i = 0; i < s->n; i++) {
		if (i != gone)
			less[k++] = s->b[i];
	}
	before = gax_maglev_build(s->b, s->n, size);
	if (before == NULL) {
		ret = -errno;
		goto cleanup;
	}
	after = gax_maglev_build(less, k, size);
	if (after == NULL) {
		ret = -errno;
		goto cleanup;
	}
	*changed = 0;
	*others = 0;
	for (j = 0; j < size; j++) {
		const char *was = s->b[before->slot[j]].key;
		const char *is = less[after->slot[j]].key;

		if (strcmp(was, is) != 0) {
			(*changed)++;
			if (before->slot[j] != gone)
				(*others)++;
		}
	}

cleanup:
	gax_maglev_free(after);
	gax_maglev_free(before);
	return ret;
}

static int
smoke(void)
{
	static struct backends s;
	struct gax_maglev_table *t;
	uint32_t i;

	backends_init(&s, 4, 1);
	t = gax_maglev_build(s.b, s.n, 251);
	if (t == NULL) {
		perror("gax_maglev_build");
		return 1;
	}
	for (i = 0; i < t->size; i++) {
		if (t->slot[i] >= s.n) {
			fprintf(stderr, "slot %" PRIu32 " holds %u\n", i, t->slot[i]);
			gax_maglev_free(t);
			return 1;
		}
	}
	printf("smoke: 251 slots, 4 backends, share error %.2f%%\n", share_error_pct(&s, t));
	gax_maglev_free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct backends eq, mixed;
	struct backends *skewed;
	double t_skew;
	unsigned int k;

	if (argc > 1 && strcmp(argv[1], "--smoke") == 0)
		return smoke();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--smoke]\n", argv[0]);
		return 2;
	}

	printf("weighted Maglev, M = %u slots; build time is the median of %u builds\n",
			TABLE_SIZE, N_BUILDS);
	printf("mixed weights: 1 + (i * 97) %% 255; disruption: one of N equal backends "
			"leaves\n\n");
	printf("%5s %12s %12s %12s %12s %10s %12s\n", "N", "build_eq_us", "build_mix_us",
			"share_err_%", "moved_%", "ideal_%", "collateral_%");

	for (k = 0; k < sizeof(bench_n) / sizeof(bench_n[0]); k++) {
		unsigned int n = bench_n[k];
		struct gax_maglev_table *t;
		double t_eq, t_mix, err;
		uint32_t changed, others;
		int ret;

		backends_init(&eq, n, 0);
		backends_init(&mixed, n, 1);
		t_eq = build_time_us(&eq, TABLE_SIZE);
		t_mix = build_time_us(&mixed, TABLE_SIZE);
		t = gax_maglev_build(mixed.b, mixed.n, TABLE_SIZE);
		if (t_eq < 0 || t_mix < 0 || t == NULL) {
			perror("gax_maglev_build");
			gax_maglev_free(t);
			return 1;
		}
		err = share_error_pct(&mixed, t);
		gax_maglev_free(t);
		ret = disruption(&eq, n / 2, TABLE_SIZE, &changed, &others);
		if (ret != 0) {
			fprintf(stderr, "disruption: %s\n", strerror(-ret));
			return 1;
		}
		printf("%5u %12.1f %12.1f %12.3f %12.2f %10.2f %12.3f\n", n, t_eq, t_mix, err,
				100.0 * changed / TABLE_SIZE, 100.0 / n,
				100.0 * others / TABLE_SIZE);
	}
	skewed = &mixed;
	skewed->n = GAX_MAGLEV_MAX_BACKENDS;
	for (k = 0; k < skewed->n; k++)
		skewed->b[k].weight = k == 0 ? 255 : 1;
	t_skew = build_time_us(skewed, TABLE_SIZE);
	if (t_skew < 0) {
		perror("gax_maglev_build");
		return 1;
	}
	printf("\nworst case of the round-robin, N = 256, weights {255, 1 x 255}: build %.1f us\n",
			t_skew);

	printf("\nshare_err_%%: max over backends of |slots/M - weight/sum|, in %% of M\n"
			"moved_%%: slots whose owner changed; ideal_%%: 1/N, the leaving "
			"backend's share\ncollateral_%%: slots that moved between the "
			"remaining backends\n");
	return 0;
}
