/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016), plain C.
 *
 * A table of a prime number M of slots (65537 by default) maps a flow hash to
 * a backend. Each backend's preference list is a permutation of the slots
 * derived from a hash of its key (its stable identity, e.g. the endpoint
 * address as configured), so:
 *  - the table depends only on the set of (key, weight) pairs and M: not on
 *    the order backends are given in, the host, or the process. Several gax
 *    hosts behind ECMP build identical tables and agree without talking;
 *  - backends own slots in proportion to their weights; weight 0 owns none;
 *  - removing one of N equal backends moves about 1/N of the slots (the ones
 *    it owned) and very few others.
 *
 * Thread safety: gax_maglev_build() and gax_maglev_free() run on the control
 * thread; a built table is immutable and gax_maglev_lookup() may be called by
 * any number of workers at once, lock-free.
 */
#ifndef GAX_MAGLEV_H
#define GAX_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gax_hash.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_MAGLEV_MAX_BACKENDS 256

struct gax_maglev_backend {
	const char *key; /* stable identity; NUL-terminated; unique within a table */
	uint32_t weight; /* 0: owns no slot */
};

struct gax_maglev_table {
	uint32_t size;       /* M, prime */
	uint32_t n_backends; /* as passed to gax_maglev_build() */
	uint8_t slot[];      /* M entries: index into the caller's backend array */
};

/**
 * Whether @p n is prime (deterministic for every 32-bit value).
 */
bool gax_maglev_is_prime(uint32_t n);

/**
 * Build a table.
 *
 * @param b     backends; entries in the table are indexes into this array
 * @param n     number of backends, 1-256
 * @param size  number of slots: a prime, at least 2 (gax uses 251-16777213)
 * @return the table (free with gax_maglev_free()), or NULL with errno:
 *   EINVAL  n is 0 or above 256, size is not prime, a key is NULL or given
 *           twice, or every weight is 0 (nothing could own a slot);
 *   ENOMEM  out of memory.
 */
struct gax_maglev_table *gax_maglev_build(const struct gax_maglev_backend *b, unsigned int n,
		uint32_t size);

/** Release a table; NULL is allowed. */
void gax_maglev_free(struct gax_maglev_table *t);

/** The backend index for a flow hash (any 64-bit value). */
static inline unsigned int
gax_maglev_lookup(const struct gax_maglev_table *t, uint64_t hash)
{
	return t->slot[gax_hash_range(hash, t->size)];
}

/**
 * Count the slots each backend owns into @p counts (n_backends entries);
 * for tests, tools and `gaxctl explain`.
 */
void gax_maglev_slot_counts(const struct gax_maglev_table *t, uint32_t *counts);

#ifdef __cplusplus
}
#endif

#endif /* GAX_MAGLEV_H */
