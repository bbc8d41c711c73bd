/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Full Internet checksums (RFC 1071): the one's complement sum of a buffer,
 * and the verification of a parsed frame's TCP, UDP or ICMP checksum. The
 * data plane prefers the NIC's checksum offload flags and calls these only
 * when it has none; rewrites never recompute, they update incrementally
 * (the inline helpers in gax_packet.h).
 *
 * The sum is taken over native 32-bit words loaded with memcpy (any
 * alignment) into a 64-bit accumulator, then folded; the one's complement
 * sum is byte-order independent up to a final byte swap (RFC 1071 2.(B)),
 * which a little-endian host applies before adding the tail bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gax_packet.h"
#include "packet_priv.h"

static inline uint32_t
fold64(uint64_t s)
{
	while ((s >> 16) != 0)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint32_t
gax_pkt_csum_partial(const void *data, uint32_t len, uint32_t sum)
{
	const uint8_t *b = data;
	uint64_t acc = 0;
	uint32_t w, s;

	while (len >= 4) {
		memcpy(&w, b, sizeof(w));
		acc += w;
		b += 4;
		len -= 4;
	}
	s = fold64(acc);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = ((s & 0xff) << 8) | (s >> 8);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#error "unknown byte order"
#endif
	if (len >= 2) {
		s += load_be16(b);
		b += 2;
		len -= 2;
	}
	if (len == 1)
		s += (uint32_t)b[0] << 8;
	return fold64((uint64_t)s + sum);
}

bool
gax_pkt_l4_csum_ok(const uint8_t *frame, const struct gax_pkt *p)
{
	const uint8_t *l4 = frame + p->l4_off;
	uint32_t sum;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4)
		return true;
	switch (p->proto) {
	case GAX_PKT_PROTO_UDP:
	case GAX_PKT_PROTO_TCP:
		if (p->proto == GAX_PKT_PROTO_UDP && load_be16(l4 + UDP_CSUM) == 0)
			return true; /* no checksum */
		sum = gax_pkt_csum_pseudo(p->saddr, p->daddr, p->proto, p->l4_len);
		break;
	case GAX_PKT_PROTO_ICMP:
		sum = 0;
		break;
	default:
		return false;
	}
	return gax_pkt_csum_fold(gax_pkt_csum_partial(l4, p->l4_len, sum)) == 0;
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
