/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the portable hashes. The golden values pin every function: they
 * are part of the protocol between gax hosts (two hosts that hash a flow or a
 * backend key differently send it to different endpoints), so a change that
 * breaks one of them must be deliberate and go out to every host at once.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_hash.h>

/* Edge values first: gax_hash_range() must stay in [0, n). */

Test(hash_range, edge_values_stay_in_range)
{
	static const uint64_t hashes[] = {0, 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
		UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX};
	static const uint32_t ns[] = {1, 2, 3, 251, 65537, 16777213, UINT32_MAX - 1, UINT32_MAX};
	size_t i, j;

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		for (j = 0; j < sizeof(ns) / sizeof(ns[0]); j++)
			cr_assert_lt(gax_hash_range(hashes[i], ns[j]), ns[j],
					"hash %#jx n %u", (uintmax_t)hashes[i], ns[j]);
	}
	cr_assert_eq(gax_hash_range(0, 65537), 0);
	cr_assert_eq(gax_hash_range(UINT64_MAX, 65537), 65536);
	cr_assert_eq(gax_hash_range(UINT64_MAX, 1), 0);
}

Test(hash_range, uniform_over_a_small_range)
{
	uint32_t counts[7] = {0};
	uint64_t i;

	for (i = 0; i < 700000; i++)
		counts[gax_hash_range(gax_hash_mix64(i + 1), 7)]++;
	for (i = 0; i < 7; i++)
		cr_assert(counts[i] > 99000 && counts[i] < 101000, "bucket %ju: %u", (uintmax_t)i,
				counts[i]);
}

Test(hash_bytes, empty_input_may_be_null)
{
	cr_assert_eq(gax_hash_bytes(NULL, 0, 7), gax_hash_bytes("", 0, 7));
	cr_assert_eq(gax_hash_bytes("xyz", 0, 7), gax_hash_bytes("", 0, 7));
}

/* Golden values: computed once by this implementation; see the file's head. */

struct golden_bytes {
	const char *in;
	uint64_t seed0;      /* seed 0 */
	uint64_t seed_gax;   /* seed 0x676178 */
};

static const struct golden_bytes golden[] = {
	/* Seed 0 and no input is the one fixed point (mix64(0) == 0). */
	{"", 0x0000000000000000ULL, 0xb9f1c428d71470e9ULL},
	{"a", 0x1fd5e5fa911666c6ULL, 0x8768ff383c87c7a5ULL},
	{"gax", 0xa2c620dbdc04a100ULL, 0xbaab34f2d1005a21ULL},
	{"12345678", 0xe29f40c6210b6739ULL, 0x5b0c1158e89e119eULL},
	{"123456789", 0x73b719b34d50c323ULL, 0x61e43d2fd2a0c557ULL},
	{"0123456789abcdef", 0x6744325add4af6a9ULL, 0x2f136289561a67a9ULL},
	{"10.0.0.1:8080", 0x4aeb72c69d465334ULL, 0xa0c22d4a19159e9fULL},
	{"The quick brown fox jumps over the lazy dog", 0x5dd25e8f3a00ab9dULL,
		0xb4e9c9f96894802eULL},
};

Test(hash_bytes, golden_values)
{
	size_t i;

	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		size_t len = strlen(golden[i].in);

		cr_assert_eq(gax_hash_bytes(golden[i].in, len, 0), golden[i].seed0,
				"\"%s\" seed 0: %#jx", golden[i].in,
				(uintmax_t)gax_hash_bytes(golden[i].in, len, 0));
		cr_assert_eq(gax_hash_bytes(golden[i].in, len, 0x676178), golden[i].seed_gax,
				"\"%s\" seed 0x676178: %#jx", golden[i].in,
				(uintmax_t)gax_hash_bytes(golden[i].in, len, 0x676178));
	}
}

Test(hash_inline, golden_values)
{
	cr_assert_eq(gax_hash_mix64(0), 0);
	cr_assert_eq(gax_hash_mix64(1), 0x5692161d100b05e5ULL);
	cr_assert_eq(gax_hash_u32(0x0a000001, 0), 0xaa142f7d072c22edULL);
	cr_assert_eq(gax_hash_u32(0xc0a80101, 0x1234), 0x41ab4301324bea05ULL);
	cr_assert_eq(gax_hash_5tuple(0x0a000001, 0x0a000002, 12345, 80, 6, 0),
			0x65e558e47db05a61ULL);
	cr_assert_eq(gax_hash_5tuple(0xc0a80101, 0xc0a80102, 65535, 443, 17,
				0x676178656e647074ULL),
			0x866d3c7021ee800cULL);
}

Test(hash_bytes, independent_of_alignment)
{
	static const char text[] = "alignment must not matter to a portable hash, 0123456789";
	unsigned char buf[sizeof(text) + 16];
	size_t len, off;

	for (len = 0; len < sizeof(text); len++) {
		uint64_t want = gax_hash_bytes(text, len, 99);

		for (off = 1; off < 16; off++) {
			memcpy(buf + off, text, len);
			cr_assert_eq(gax_hash_bytes(buf + off, len, 99), want,
					"length %zu offset %zu", len, off);
		}
	}
}

Test(hash_bytes, reads_exactly_len_bytes)
{
	unsigned char a[32], b[32];
	size_t len;

	/* Same first len bytes, different bytes after them. */
	memset(a, 0x11, sizeof(a));
	memset(b, 0x11, sizeof(b));
	for (len = 0; len < 24; len++) {
		memset(a + len, 0xaa, sizeof(a) - len);
		memset(b + len, 0x55, sizeof(b) - len);
		cr_assert_eq(gax_hash_bytes(a, len, 5), gax_hash_bytes(b, len, 5), "length %zu",
				len);
		memset(a + len, 0x11, sizeof(a) - len);
		memset(b + len, 0x11, sizeof(b) - len);
	}
}

Test(hash_bytes, length_and_seed_change_the_value)
{
	static const unsigned char zeros[64];
	uint64_t seen[65];
	size_t i, j;

	/* Trailing zero bytes still count: the length is mixed in. */
	for (i = 0; i <= 64; i++) {
		seen[i] = gax_hash_bytes(zeros, i, 1);
		for (j = 0; j < i; j++)
			cr_assert_neq(seen[i], seen[j], "lengths %zu and %zu collide", i, j);
	}
	cr_assert_neq(gax_hash_bytes("key", 3, 1), gax_hash_bytes("key", 3, 2));
	cr_assert_neq(gax_hash_bytes("ab", 2, 0), gax_hash_bytes("ba", 2, 0));
}

/* One flipped input bit flips about half of the output bits. */
Test(hash_bytes, avalanche)
{
	unsigned char buf[24];
	uint64_t total = 0, trials = 0;
	size_t len, bit;
	unsigned int r;

	for (r = 0; r < 32; r++) {
		for (len = 1; len <= sizeof(buf); len += 7) {
			size_t k;

			for (k = 0; k < len; k++)
				buf[k] = (unsigned char)gax_hash_mix64(r * 131 + k + 1);
			for (bit = 0; bit < len * 8; bit++) {
				uint64_t h0 = gax_hash_bytes(buf, len, r);
				uint64_t h1;

				buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
				h1 = gax_hash_bytes(buf, len, r);
				buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
				total += (uint64_t)__builtin_popcountll(h0 ^ h1);
				trials++;
			}
		}
	}
	cr_assert(total > trials * 31 && total < trials * 33, "mean flipped bits %.2f",
			(double)total / (double)trials);
}
