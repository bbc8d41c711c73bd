/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the fuzz targets share: big-endian byte access and the repair of a
 * mutated frame's checksums. Included by fuzz_packet.c and fuzz_fwd.c.
 */
#ifndef GAX_FUZZ_FRAMES_H
#define GAX_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "gax_packet.h"

static inline uint16_t
rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void
wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/*
 * Make the checksums of an IPv4 frame right (as far as its bytes allow), so
 * mutated inputs get past the checksum checks to the deeper paths: the IPv4
 * header checksum, then the TCP, UDP or ICMP checksum over what the total
 * length (bounded by the frame) covers, and for an ICMP error the embedded
 * IPv4 header checksum first.
 */
static inline void
fix_checksums(uint8_t *f, size_t size)
{
	uint8_t *ip = f + GAX_PKT_ETH_HLEN, *l4;
	size_t avail, ihl, tot, l4len, off;
	uint32_t sum;

	if (size < GAX_PKT_ETH_HLEN + 20 || rd16(f + 12) != GAX_PKT_ETHERTYPE_IPV4)
		return;
	avail = size - GAX_PKT_ETH_HLEN;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || ihl > avail)
		return;
	wr16(ip + 10, 0);
	wr16(ip + 10, gax_pkt_csum_fold(gax_pkt_csum_partial(ip, (uint32_t)ihl, 0)));
	tot = rd16(ip + 2);
	if (tot > avail)
		tot = avail;
	if (tot < ihl)
		return;
	l4 = ip + ihl;
	l4len = tot - ihl;
	switch (ip[9]) {
	case GAX_PKT_PROTO_TCP:
		off = 16;
		break;
	case GAX_PKT_PROTO_UDP:
		off = 6;
		if (l4len >= 8 && rd16(l4 + 4) <= l4len)
			l4len = rd16(l4 + 4);
		break;
	case GAX_PKT_PROTO_ICMP:
		off = 2;
		if (l4len >= 8 + 20) {
			uint8_t *in = l4 + 8;
			size_t iihl = (size_t)(in[0] & 0xf) * 4;

			if (iihl >= 20 && iihl <= l4len - 8) {
				wr16(in + 10, 0);
				wr16(in + 10, gax_pkt_csum_fold(gax_pkt_csum_partial(in,
						(uint32_t)iihl, 0)));
			}
		}
		break;
	default:
		return;
	}
	if (l4len < off + 2)
		return;
	wr16(l4 + off, 0);
	sum = ip[9] == GAX_PKT_PROTO_ICMP ? 0 :
		gax_pkt_csum_pseudo(rd32(ip + 12), rd32(ip + 16), ip[9], (uint16_t)l4len);
	wr16(l4 + off, gax_pkt_csum_fold(gax_pkt_csum_partial(l4, (uint32_t)l4len, sum)));
	if (ip[9] == GAX_PKT_PROTO_UDP && rd16(l4 + off) == 0)
		wr16(l4 + off, 0xffff);
}

#endif /* GAX_FUZZ_FRAMES_H */
