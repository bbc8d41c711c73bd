/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Portable hashing. Every gax host must compute the same values for the same
 * input (so several hosts behind ECMP pick the same endpoint without talking),
 * so these functions depend on nothing but their arguments: no per-process
 * seed, no CPU-specific instruction, the same result on every architecture
 * and byte order.
 *
 * Thread safety: pure functions; callable from any thread, lock-free.
 */
#ifndef GAX_HASH_H
#define GAX_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Finaliser of a 64-bit value (a bijection with full avalanche). */
static inline uint64_t
gax_hash_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/** Hash of a 32-bit key (an IPv4 address, say) under a seed. */
static inline uint64_t
gax_hash_u32(uint32_t key, uint64_t seed)
{
	return gax_hash_mix64(((uint64_t)key | ((uint64_t)key << 32)) ^ seed ^ 0x9e3779b97f4a7c15ULL);
}

/**
 * Hash of an IPv4 5-tuple (addresses and ports in host byte order).
 * The same tuple gives the same value on every host.
 */
static inline uint64_t
gax_hash_5tuple(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint8_t proto,
		uint64_t seed)
{
	uint64_t a = ((uint64_t)saddr << 32) | daddr;
	uint64_t b = ((uint64_t)sport << 48) | ((uint64_t)dport << 32) | proto;

	return gax_hash_mix64(gax_hash_mix64(a ^ seed) ^ b);
}

/**
 * Hash of @p len bytes under @p seed. Reads the bytes one by one in order
 * (little-endian assembly of 8-byte words), so the result does not depend on
 * the host's byte order or the buffer's alignment.
 */
uint64_t gax_hash_bytes(const void *data, size_t len, uint64_t seed);

/** Map a 64-bit hash uniformly onto [0, n) without a division (n > 0). */
static inline uint32_t
gax_hash_range(uint64_t hash, uint32_t n)
{
	return (uint32_t)(((hash >> 32) * (uint64_t)n) >> 32);
}

/**
 * Remove @p sv (present) from an open-addressing table of 64-bit slots whose
 * upper 32 bits are the hash (the home slot is hash & mask; 0 is an empty
 * slot) and linear probing, then shift back the entries after it that may
 * move closer to their home (Knuth's algorithm R): no tombstone is ever
 * left. Shared by the flow and neighbour tables.
 */
static inline void
gax_hash_oa_remove(uint64_t *slots, uint32_t mask, uint64_t sv)
{
	uint32_t i = (uint32_t)(sv >> 32) & mask;
	uint32_t j, home;
	uint64_t s;

	while (slots[i] != sv)
		i = (i + 1) & mask;
	for (;;) {
		slots[i] = 0;
		j = i;
		for (;;) {
			j = (j + 1) & mask;
			s = slots[j];
			if (s == 0)
				return;
			home = (uint32_t)(s >> 32) & mask;
			/* The entry may fill the hole unless its home is within (i, j]. */
			if (((j - home) & mask) >= ((j - i) & mask))
				break;
		}
		slots[i] = s;
		i = j;
	}
}

#ifdef __cplusplus
}
#endif

#endif /* GAX_HASH_H */
