/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config pipeline at scale: a generated configuration of N listeners (10,000
 * by default) with 4 endpoints each goes through parse + validate (lib/config)
 * and compile (lib/snapshot), cold and then again with one weight changed
 * (the previous snapshot's Maglev tables reused). The reference measured in
 * the same run is jansson parsing the same text and nothing else: the floor
 * any JSON-configured forwarder pays.
 *
 * Two endpoint layouts: "distinct" gives every listener its own 4 endpoint
 * addresses (40,000 Maglev tables to build cold), "shared" lets every
 * listener use the same 4 backends (one table, shared).
 *
 * usage: bench_compile [--listeners N] [--runs R] [--layout distinct|shared|both] [--smoke]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <gax_config.h>
#include <gax_snapshot.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Generate the config text; weight_bump changes the first endpoint's weight. */
static char *
generate(unsigned int n_listeners, bool shared, int weight_bump, size_t *len)
{
	size_t cap = (size_t)n_listeners * 600 + 4096, w = 0;
	unsigned int per_acc = 100, i, k;
	char *buf = malloc(cap);

	if (buf == NULL)
		return NULL;
#define OUT(...) (w += (size_t)snprintf(buf + w, cap - w, __VA_ARGS__))
	OUT("{\"interfaces\": [{\"name\": \"wan\", \"device\": \"net_null0\", "
			"\"addresses\": [\"10.0.0.1/24\"]}, {\"name\": \"lan\", \"device\": "
			"\"net_null1\", \"addresses\": [\"10.128.0.1/9\"]}], \"accelerators\": [");
	for (i = 0; i < n_listeners; i++) {
		unsigned int acc = i / per_acc;

		if (i % per_acc == 0)
			OUT("%s{\"name\": \"acc-%u\", \"addresses\": [\"11.%u.%u.1\"], "
					"\"listeners\": [", i ? "]}, " : "", acc, acc / 256, acc % 256);
		OUT("%s{\"name\": \"l-%u\", \"protocol\": \"%s\", \"port_ranges\": \"%u\", "
				"\"client_affinity\": \"source_ip\", \"endpoint_groups\": [{\"name\": "
				"\"eg\", \"endpoints\": [",
				i % per_acc ? ", " : "", i, i % 2 ? "udp" : "tcp", 1000 + i % per_acc);
		for (k = 0; k < 4; k++) {
			unsigned int host = shared ? k + 2 : i * 4 + k + 2;
			int weight = 100 + (int)k + (i == 0 && k == 0 ? weight_bump : 0);

			OUT("%s{\"address\": \"10.%u.%u.%u\", \"weight\": %d}", k ? ", " : "",
					128 + host / 65536, (host / 256) % 256, host % 256, weight);
		}
		OUT("]}]}");
	}
	OUT("%s]}\n", n_listeners ? "]}" : "");
#undef OUT
	*len = w;
	return w < cap ? buf : (free(buf), NULL);
}

struct figures {
	double jansson, load, compile_cold, compile_warm;
	unsigned int built_cold, built_warm;
};

static int
measure(unsigned int n, bool shared, unsigned int runs, struct figures *f)
{
	double *t[4];
	size_t len, len2;
	char *text = generate(n, shared, 0, &len);
	char *text2 = generate(n, shared, 7, &len2);
	unsigned int r, j;
	int rc = -1;

	for (j = 0; j < 4; j++)
		t[j] = calloc(runs, sizeof(double));
	if (text == NULL || text2 == NULL || t[0] == NULL || t[1] == NULL || t[2] == NULL ||
			t[3] == NULL)
		goto out;
	for (r = 0; r < runs; r++) {
		struct gax_diags d;
		struct gax_config *cfg, *cfg2;
		struct gax_snapshot *s, *s2;
		struct gax_snapshot_opts o = { 0 };
		json_error_t err;
		json_t *root;
		double t0;

		t0 = now_ms();
		root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
		t[0][r] = now_ms() - t0;
		json_decref(root);

		gax_diags_init(&d);
		t0 = now_ms();
		cfg = gax_config_load_buffer(text, len, NULL, &d);
		t[1][r] = now_ms() - t0;
		if (cfg == NULL) {
			gax_diags_print(stderr, "generated", &d);
			gax_diags_fini(&d);
			goto out;
		}
		gax_diags_fini(&d);

		t0 = now_ms();
		s = gax_snapshot_compile(cfg, NULL);
		t[2][r] = now_ms() - t0;

		gax_diags_init(&d);
		cfg2 = gax_config_load_buffer(text2, len2, NULL, &d);
		gax_diags_fini(&d);
		o.prev = s;
		t0 = now_ms();
		s2 = cfg2 != NULL ? gax_snapshot_compile(cfg2, &o) : NULL;
		t[3][r] = now_ms() - t0;
		if (s == NULL || s2 == NULL) {
			fprintf(stderr, "compile failed: %s\n", strerror(errno));
			goto out;
		}
		f->built_cold = s->n_tables_built;
		f->built_warm = s2->n_tables_built;
		gax_snapshot_free(s);
		gax_snapshot_free(s2);
		gax_config_free(cfg);
		gax_config_free(cfg2);
	}
	for (j = 0; j < 4; j++)
		qsort(t[j], runs, sizeof(double), cmp_double);
	f->jansson = t[0][runs / 2];
	f->load = t[1][runs / 2];
	f->compile_cold = t[2][runs / 2];
	f->compile_warm = t[3][runs / 2];
	rc = 0;
out:
	for (j = 0; j < 4; j++)
		free(t[j]);
	free(text);
	free(text2);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned int n = 10000, runs = 5, i;
	int layout, first = 0, last = 1;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "--smoke") == 0) {
			n = 50;
			runs = 1;
		} else if (strcmp(argv[i], "--listeners") == 0 && i + 1 < (unsigned int)argc) {
			n = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < (unsigned int)argc) {
			runs = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--layout") == 0 && i + 1 < (unsigned int)argc) {
			i++;
			first = strcmp(argv[i], "shared") == 0 ? 1 : 0;
			last = strcmp(argv[i], "distinct") == 0 ? 0 : 1;
		} else {
			fprintf(stderr, "usage: %s [--listeners N] [--runs R] "
					"[--layout distinct|shared|both] [--smoke]\n", argv[0]);
			return 2;
		}
	}
	if (n == 0 || n > 60000 || runs == 0 || runs > 1000) {
		fprintf(stderr, "listeners must be 1-60000 and runs 1-1000\n");
		return 2;
	}

	printf("config pipeline, %u listeners x 4 endpoints, median of %u runs (ms)\n", n, runs);
	printf("| endpoints | jansson parse (reference) | parse+validate | compile cold "
			"(tables built) | compile after one weight change (tables built) | "
			"parse+validate+compile cold |\n|---|---|---|---|---|---|\n");
	for (layout = first; layout <= last; layout++) {
		struct figures f = { 0 };

		if (measure(n, layout == 1, runs, &f) < 0)
			return 1;
		printf("| %s | %.1f | %.1f | %.1f (%u) | %.1f (%u) | %.1f |\n",
				layout ? "shared" : "distinct", f.jansson, f.load, f.compile_cold,
				f.built_cold, f.compile_warm, f.built_warm, f.load + f.compile_cold);
	}
	return 0;
}
