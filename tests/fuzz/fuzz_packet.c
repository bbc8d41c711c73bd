/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the packet module (build and run it with
 * tests/fuzz/run_fuzz.sh). The input is a frame. Whatever it holds, parsing
 * must not read past it; when it parses, every other entry point runs on an
 * exact-size heap copy (so AddressSanitizer sees any overrun): L4 checksum
 * verification, the rewrites, the TTL decrement, the ICMP error parser and
 * translation, and the replies. Beyond memory safety it checks what the
 * rewrites promise: the rewritten frame parses again to exactly the updated
 * parse result, and a frame whose checksums were right still has them right.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gax_packet.h"

#include "fuzz_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Values for the rewrites, derived from the input so runs are reproducible. */
static uint64_t
seed_of(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < size && i < 64; i++)
		h = (h ^ data[i]) * 0x100000001b3ULL;
	return h;
}

static uint32_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

/* An address that is never a martian source: 10.x.y.z, corner halves included. */
static uint32_t
unicast(uint64_t *s)
{
	uint32_t v = next(s);

	if ((v & 7) == 0)
		v |= 0xffff;
	return 0x0a000000 | (v & 0x00ffffff);
}

static uint16_t
port(uint64_t *s)
{
	uint32_t v = next(s);

	switch (v & 7) {
	case 0:
		return 0;
	case 1:
		return 0xffff;
	default:
		return (uint16_t)(v >> 8);
	}
}

/* Reparse @p f and check it is described by @p p exactly. */
static void
check_reparse(const uint8_t *f, size_t size, const struct gax_pkt *p, int l4_was_ok)
{
	struct gax_pkt q;

	CHECK(gax_pkt_parse(f, (uint32_t)size, &q) == GAX_DROP_NONE);
	CHECK(memcmp(p, &q, sizeof(q)) == 0);
	if (l4_was_ok)
		CHECK(gax_pkt_l4_csum_ok(f, &q));
}

static void
exercise(const uint8_t *data, size_t size)
{
	static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 }, mac2[6] = { 2, 0, 0, 0, 0, 2 };
	struct gax_pkt p;
	struct gax_pkt_inner in, in2;
	struct gax_pkt_icmp_nat nat;
	uint8_t arp[64];
	uint64_t s;
	uint8_t *f;
	int rc, ok;

	rc = gax_pkt_parse(data, (uint32_t)size, &p);
	CHECK(rc >= GAX_DROP_NONE && rc <= GAX_DROP_BAD_ICMP_ERROR && rc != GAX_DROP_TTL_EXPIRED);
	CHECK(strcmp(gax_drop_reason_name((enum gax_drop_reason)rc), "unknown") != 0);
	s = seed_of(data, size);
	rc = gax_pkt_arp_request(arp, (uint32_t)(next(&s) % sizeof(arp)), mac1, unicast(&s),
			unicast(&s));
	CHECK(rc == -ENOSPC || rc == GAX_PKT_ETH_MIN_LEN);
	if (gax_pkt_parse(data, (uint32_t)size, &p) != GAX_DROP_NONE)
		return;

	ok = gax_pkt_l4_csum_ok(data, &p);
	f = malloc(size);
	CHECK(f != NULL);
	memcpy(f, data, size);

	if (p.ethertype == GAX_PKT_ETHERTYPE_ARP) {
		if (p.arp_op == GAX_PKT_ARP_REQUEST) {
			CHECK(gax_pkt_arp_reply(f, (uint32_t)size, &p, mac1) == 0);
			check_reparse(f, size, &p, 1);
		} else {
			CHECK(gax_pkt_arp_reply(f, (uint32_t)size, &p, mac1) < 0);
		}
		CHECK(gax_pkt_set_dst(f, &p, 1, 1) < 0);
		free(f);
		return;
	}

	/* An ICMP error: translate it as gaxd would, before and after other rewrites. */
	if (gax_pkt_parse_icmp_error(f, &p, &in) == GAX_DROP_NONE) {
		CHECK(in.l3_off >= p.l4_off + 8 && in.l4_off + 8u <= p.l4_off + p.l4_len);
		nat.outer_saddr = unicast(&s);
		nat.outer_daddr = unicast(&s);
		nat.inner_saddr = next(&s);
		nat.inner_daddr = next(&s);
		nat.inner_sport = port(&s);
		nat.inner_dport = port(&s);
		CHECK(gax_pkt_icmp_error_rewrite(f, &p, &in, &nat) == 0);
		check_reparse(f, size, &p, ok);
		CHECK(gax_pkt_parse_icmp_error(f, &p, &in2) == GAX_DROP_NONE);
		CHECK(memcmp(&in, &in2, sizeof(in)) == 0);
	}

	/* (unicast: an echo reply makes the destination its source) */
	CHECK(gax_pkt_set_dst(f, &p, unicast(&s), port(&s)) == 0);
	check_reparse(f, size, &p, ok);
	CHECK(gax_pkt_set_src(f, &p, unicast(&s), port(&s)) == 0);
	check_reparse(f, size, &p, ok);
	rc = gax_pkt_ttl_dec(f, &p);
	CHECK(rc == 0 || (rc == GAX_DROP_TTL_EXPIRED && p.ttl <= 1));
	check_reparse(f, size, &p, ok);
	gax_pkt_set_macs(f, mac1, mac2);
	check_reparse(f, size, &p, ok);

	if (p.proto == GAX_PKT_PROTO_ICMP && p.icmp_type == GAX_PKT_ICMP_ECHO_REQUEST) {
		CHECK(gax_pkt_icmp_echo_reply(f, &p) == 0);
		check_reparse(f, size, &p, ok);
	} else {
		CHECK(gax_pkt_icmp_echo_reply(f, &p) < 0);
	}
	if (gax_pkt_parse_icmp_error(f, &p, &in) == GAX_DROP_NONE) {
		nat.outer_saddr = unicast(&s);
		nat.outer_daddr = next(&s);
		nat.inner_saddr = next(&s);
		nat.inner_daddr = next(&s);
		nat.inner_sport = port(&s);
		nat.inner_dport = port(&s);
		CHECK(gax_pkt_icmp_error_rewrite(f, &p, &in, &nat) == 0);
		check_reparse(f, size, &p, ok);
	}
	free(f);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	if (size > 0x20000)
		return 0;
	exercise(data, size);
	fixed = malloc(size ? size : 1);
	CHECK(fixed != NULL);
	memcpy(fixed, data, size);
	fix_checksums(fixed, size);
	exercise(fixed, size);
	free(fixed);
	return 0;
}
