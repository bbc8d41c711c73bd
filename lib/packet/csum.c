/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Full Internet checksums (RFC 1071): the one's complement sum of a buffer,
 * and the verification of a parsed frame's TCP, UDP or ICMP checksum. The
 * data plane prefers the NIC's checksum offload flags and calls these only
 * when it has none; rewrites never recompute, they update incrementally
 * (the inline helpers in gax_packet.h).
 *
 * The sum is taken over the bytes as the host loads them (wire order, 4 at a
 * time, with memcpy: any alignment) into a 64-bit accumulator, then folded;
 * the one's complement sum is byte-order independent up to a final byte swap
 * (RFC 1071 2.(B)), so a verification never swaps at all: the sum of a right
 * segment is 0xffff in either order.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gax_packet.h"
#include "packet_priv.h"

/*
 * The one's complement sum of @p len bytes at @p b, as the host loads them
 * (wire order), added to @p acc, unfolded. 32-bit words go into a 64-bit
 * accumulator, which no carry can leave below 2^32 words, so none is added
 * back until the fold; 16 bytes a round, then the tail. @p b starts a 16-bit
 * word of the checksummed data (an even offset).
 */
static inline uint64_t
sum_wire(const uint8_t *b, uint32_t len, uint64_t acc)
{
	uint32_t w[4];
	uint16_t h;

	while (len >= 16) {
		memcpy(w, b, sizeof(w));
		acc += (uint64_t)w[0] + w[1] + w[2] + w[3];
		b += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(w, b, 8);
		acc += (uint64_t)w[0] + w[1];
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(w, b, 4);
		acc += w[0];
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, b, sizeof(h));
		acc += h;
		b += 2;
		len -= 2;
	}
	if (len == 1) /* the last byte is the first of its 16-bit word, zero-padded */
		acc += wire16((uint16_t)(b[0] << 8));
	return acc;
}

uint32_t
gax_pkt_csum_partial(const void *data, uint32_t len, uint32_t sum)
{
	uint32_t s = fold64to16(sum_wire(data, len, 0));

	/* Wire order to host order: the sum swaps as its words do (RFC 1071 2.(B)). */
	s = be16_host((uint16_t)s);
	return fold64to16((uint64_t)s + sum);
}

bool
gax_pkt_l4_csum_ok(const uint8_t *frame, const struct gax_pkt *p)
{
	const uint8_t *ip = frame + p->l3_off, *l4 = frame + p->l4_off;
	uint64_t acc;
	uint32_t a[2];

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4)
		return true;
	switch (p->proto) {
	case GAX_PKT_PROTO_UDP:
		if (l4[UDP_CSUM] == 0 && l4[UDP_CSUM + 1] == 0)
			return true; /* no checksum */
		/* fall through */
	case GAX_PKT_PROTO_TCP:
		/* The pseudo header, summed in wire order as the rest. */
		memcpy(a, ip + IP_SADDR, sizeof(a));
		acc = (uint64_t)a[0] + a[1] + wire16(p->proto) + wire16(p->l4_len);
		break;
	case GAX_PKT_PROTO_ICMP:
		acc = 0;
		break;
	default:
		return false;
	}
	/* Right when everything, the checksum field included, sums to 0xffff. */
	return fold64to16(sum_wire(l4, p->l4_len, acc)) == 0xffff;
}

void
gax_pkt_priv_icmp_csum_fix16(uint8_t *icmp, uint32_t len, uint16_t old_val, uint16_t new_val)
{
	uint16_t c = gax_pkt_csum_update16(load_be16(icmp + ICMP_CSUM), old_val, new_val);

	if (c == 0) {
		store_be16(icmp + ICMP_CSUM, 0);
		c = gax_pkt_csum_fold(gax_pkt_csum_partial(icmp, len, 0));
	}
	store_be16(icmp + ICMP_CSUM, c);
}
