/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Portable seeded hash of a byte string, used to place Maglev backends by
 * their keys. The body is that of MurmurHash64A (Austin Appleby, public
 * domain): one multiply-xorshift-multiply per 8-byte word folded into the
 * state, the tail of 1-7 bytes folded in the same way. The finaliser is
 * gax_hash_mix64() instead of Murmur's own. Words are assembled byte by byte
 * in little-endian order, so the value is the same on every architecture,
 * byte order and alignment; every gax host computes the same Maglev tables.
 */
#include <stddef.h>
#include <stdint.h>

#include "gax_hash.h"

#define MURMUR_M 0xc6a4a7935bd1e995ULL
#define MURMUR_R 47

/* The @p n (at most 8) bytes at @p p as a little-endian integer. */
static inline uint64_t
load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline uint64_t
mix_word(uint64_t h, uint64_t k)
{
	k *= MURMUR_M;
	k ^= k >> MURMUR_R;
	k *= MURMUR_M;
	h ^= k;
	h *= MURMUR_M;
	return h;
}

uint64_t
gax_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = seed ^ ((uint64_t)len * MURMUR_M);

	while (len >= 8) {
		h = mix_word(h, load_le(p, 8));
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		/* As MurmurHash64A: the tail is xored in without the word mix. */
		h ^= load_le(p, len);
		h *= MURMUR_M;
	}
	return gax_hash_mix64(h);
}
