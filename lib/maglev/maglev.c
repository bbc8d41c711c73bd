/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Weighted Maglev table construction.
 *
 * Each backend's preference list is the permutation of the M slots
 * offset, offset + skip, offset + 2 * skip, ... (mod M), with offset and skip
 * drawn from two hashes of its key; M is prime, so every skip in [1, M - 1]
 * visits every slot. The fill is a weighted round-robin over the backends
 * sorted by key: in every round each backend adds its weight to an
 * accumulator and, when that reaches the largest weight W, subtracts W and
 * claims its next free preferred slot; this goes on until every slot is
 * owned. A backend of weight w thus claims w/W slots per round, and slot
 * shares follow the weights. The backend of weight W claims in every round,
 * so a round costs at most N visits per claim (one visit when the weights
 * are equal).
 *
 * Sorting by key and storing the caller's index makes the table depend on the
 * set of (key, weight) pairs and M only, never on the order of the input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gax_hash.h>

#include "gax_maglev.h"

/* Seeds of the two key hashes; changing either changes every table. */
#define MAGLEV_SEED_OFFSET 0x6761786d676c6f66ULL /* "gaxmglof" */
#define MAGLEV_SEED_SKIP   0x6761786d676c736bULL /* "gaxmglsk" */

/* One backend during the fill. */
struct mg_entry {
	const char *key;
	uint32_t weight;
	uint32_t index; /* in the caller's array */
	uint32_t next;  /* the next preferred slot not yet looked at */
	uint32_t skip;
	uint64_t acc;   /* weight accumulated towards the next claim */
};

bool
gax_maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n < 4)
		return true;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	/* 6k - 1 and 6k + 1; d <= n / d avoids overflowing d * d. */
	for (d = 5; d <= n / d; d += 6) {
		if (n % d == 0 || n % (d + 2) == 0)
			return false;
	}
	return true;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct mg_entry *x = a;
	const struct mg_entry *y = b;

	return strcmp(x->key, y->key);
}

/* @p c + @p skip within [0, @p m), both operands below m. */
static inline uint32_t
slot_step(uint32_t c, uint32_t skip, uint32_t m)
{
	c += skip;
	return c >= m ? c - m : c;
}

/*
 * The first free slot from @p c on along the permutation of step @p skip.
 * The table is not full, so one lies within M steps; the occupied ones passed
 * are taken for good. Two candidates are looked at per iteration and the
 * free one is chosen with a mask rather than a branch: the loop exit, which
 * the CPU cannot predict once the table fills up, is taken half as often
 * (a third less build time than one candidate per iteration).
 */
static inline uint32_t
next_free(const uint8_t *used, uint32_t c, uint32_t skip, uint32_t m)
{
	for (;;) {
		uint32_t c1 = slot_step(c, skip, m);
		uint32_t busy0 = used[c];
		uint32_t busy1 = used[c1];

		if ((busy0 & busy1) == 0) {
			/* c if it is free, else c1; as a mask, not a branch. */
			uint32_t sel = 0 - busy0;

			return (c & ~sel) | (c1 & sel);
		}
		c = slot_step(c1, skip, m);
	}
}

/*
 * Fill @p t->slot by the weighted round-robin over @p e, the @p n backends of
 * non-zero weight in key order; @p used is M zeroed bytes.
 */
static void
maglev_fill(struct gax_maglev_table *t, struct mg_entry *e, unsigned int n,
		uint32_t max_weight, uint8_t *used)
{
	const uint32_t m = t->size;
	uint32_t filled = 0;
	unsigned int i;

	/* Each round fills at least one slot (the heaviest backend's). */
	while (filled < m) {
		for (i = 0; i < n && filled < m; i++) {
			struct mg_entry *b = &e[i];
			uint32_t c;

			b->acc += b->weight;
			if (b->acc < max_weight)
				continue;
			b->acc -= max_weight;

			c = next_free(used, b->next, b->skip, m);
			used[c] = 1;
			t->slot[c] = (uint8_t)b->index;
			b->next = slot_step(c, b->skip, m);
			filled++;
		}
	}
}

struct gax_maglev_table *
gax_maglev_build(const struct gax_maglev_backend *b, unsigned int n, uint32_t size)
{
	struct gax_maglev_table *t = NULL;
	struct mg_entry *e = NULL;
	uint8_t *used = NULL;
	uint32_t max_weight = 0;
	unsigned int i, n_active = 0;
	int err = 0;

	if (b == NULL || n == 0 || n > GAX_MAGLEV_MAX_BACKENDS || !gax_maglev_is_prime(size)) {
		err = EINVAL;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		if (b[i].key == NULL) {
			err = EINVAL;
			goto cleanup;
		}
		if (b[i].weight > max_weight)
			max_weight = b[i].weight;
	}
	if (max_weight == 0) {
		err = EINVAL;
		goto cleanup;
	}

	e = calloc(n, sizeof(*e));
	used = calloc(size, 1);
	t = malloc(sizeof(*t) + size);
	if (e == NULL || used == NULL || t == NULL) {
		err = ENOMEM;
		goto cleanup;
	}

	for (i = 0; i < n; i++) {
		e[i].key = b[i].key;
		e[i].weight = b[i].weight;
		e[i].index = i;
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(e[i - 1].key, e[i].key) == 0) {
			err = EINVAL;
			goto cleanup;
		}
	}

	/* Keep the backends of non-zero weight, still in key order. */
	for (i = 0; i < n; i++) {
		size_t len = strlen(e[i].key);

		if (e[i].weight == 0)
			continue;
		e[n_active] = e[i];
		e[n_active].next = (uint32_t)(gax_hash_bytes(e[i].key, len, MAGLEV_SEED_OFFSET) %
				size);
		/* size == 2 gives M - 1 == 1 and skip 1, still a permutation. */
		e[n_active].skip = (uint32_t)(gax_hash_bytes(e[i].key, len, MAGLEV_SEED_SKIP) %
				(size - 1)) + 1;
		n_active++;
	}

	t->size = size;
	t->n_backends = n;
	maglev_fill(t, e, n_active, max_weight, used);

cleanup:
	free(used);
	free(e);
	if (err != 0) {
		free(t);
		errno = err;
		return NULL;
	}
	return t;
}

void
gax_maglev_free(struct gax_maglev_table *t)
{
	free(t);
}

void
gax_maglev_slot_counts(const struct gax_maglev_table *t, uint32_t *counts)
{
	uint32_t i;

	memset(counts, 0, t->n_backends * sizeof(*counts));
	for (i = 0; i < t->size; i++)
		counts[t->slot[i]]++;
}
