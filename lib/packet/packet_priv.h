/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals shared by the packet module's files: byte-order loads and stores
 * (byte by byte, so any alignment is fine and no pointer is cast), header
 * field offsets, and checksum field updates in place.
 */
#ifndef GAX_PACKET_PRIV_H
#define GAX_PACKET_PRIV_H

#include <stdint.h>
#include <string.h>

#include "gax_packet.h"

/* Ethernet header fields. */
#define ETH_DST		0
#define ETH_SRC		6
#define ETH_TYPE	12

/* IPv4 header fields. */
#define IP_VIHL		0
#define IP_TOTLEN	2
#define IP_FRAG		6
#define IP_TTL		8
#define IP_PROTO	9
#define IP_CSUM		10
#define IP_SADDR	12
#define IP_DADDR	16
#define IP_MF		0x2000
#define IP_OFFMASK	0x1fff

/* L4 header fields. */
#define L4_SPORT	0
#define L4_DPORT	2
#define TCP_DOFF	12
#define TCP_FLAGS	13
#define TCP_CSUM	16
#define TCP_HLEN	20
#define UDP_LEN		4
#define UDP_CSUM	6
#define UDP_HLEN	8
#define ICMP_TYPE	0
#define ICMP_CODE	1
#define ICMP_CSUM	2
#define ICMP_ID		4
#define ICMP_MTU	6
#define ICMP_HLEN	8

/* ARP message fields (after the Ethernet header). */
#define ARP_HTYPE	0
#define ARP_PTYPE	2
#define ARP_HLEN	4
#define ARP_PLEN	5
#define ARP_OP		6
#define ARP_SHA		8
#define ARP_SPA		14
#define ARP_THA		18
#define ARP_TPA		24

/* Network to host order and back (the same swap both ways). */
static inline uint16_t
be16_host(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

static inline uint32_t
be32_host(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

/*
 * The 16-bit value @p v as a host load of its two bytes in network order
 * gives it: a value to add to sums taken over wire-order words.
 */
static inline uint16_t
wire16(uint16_t v)
{
	return be16_host(v);
}

static inline uint16_t
load_be16(const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, sizeof(v)); /* one unaligned load, whatever the alignment */
	return be16_host(v);
}

static inline uint32_t
load_be32(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return be32_host(v);
}

static inline void
store_be16(uint8_t *b, uint16_t v)
{
	v = be16_host(v);
	memcpy(b, &v, sizeof(v));
}

static inline void
store_be32(uint8_t *b, uint32_t v)
{
	v = be32_host(v);
	memcpy(b, &v, sizeof(v));
}

/*
 * A one's complement sum held in 64 bits, folded to 16 with every end-around
 * carry: a value plus itself rotated by half its width has the sum of its
 * halves, carry added back, in its upper half (as Linux's csum_fold()). The
 * same result as folding 64 to 32 twice and 32 to 16 twice, in half the
 * instructions. Never 0xffff from a sum of 0; 0xffff from a right segment.
 */
static inline uint16_t
fold64to16(uint64_t s)
{
	uint32_t x;

	s += (s >> 32) | (s << 32);
	x = (uint32_t)(s >> 32);
	x += (x >> 16) | (x << 16);
	return (uint16_t)(x >> 16);
}

/* Whether an ICMP type carries an echo identifier gax treats as its ports. */
static inline int
icmp_is_echo(uint8_t type)
{
	return type == GAX_PKT_ICMP_ECHO_REQUEST || type == GAX_PKT_ICMP_ECHO_REPLY;
}

/* Update the checksum field at @p csum for a 16-bit word changing old -> new. */
static inline void
csum_fix16(uint8_t *csum, uint16_t old_val, uint16_t new_val)
{
	store_be16(csum, gax_pkt_csum_update16(load_be16(csum), old_val, new_val));
}

/* Update the checksum field at @p csum for a 32-bit field changing old -> new. */
static inline void
csum_fix32(uint8_t *csum, uint32_t old_val, uint32_t new_val)
{
	store_be16(csum, gax_pkt_csum_update32(load_be16(csum), old_val, new_val));
}

/* As csum_fix16() under the UDP rules (0 stays 0, a result of 0 is 0xffff). */
static inline void
udp_csum_fix16(uint8_t *csum, uint16_t old_val, uint16_t new_val)
{
	store_be16(csum, gax_pkt_csum_udp_update16(load_be16(csum), old_val, new_val));
}

/* As csum_fix32() under the UDP rules. */
static inline void
udp_csum_fix32(uint8_t *csum, uint32_t old_val, uint32_t new_val)
{
	store_be16(csum, gax_pkt_csum_udp_update32(load_be16(csum), old_val, new_val));
}

/*
 * Update the checksum of the ICMP message of @p len bytes at @p icmp for a
 * word that changed old -> new (call it after writing the word). RFC 1624's
 * update yields 0x0000 where the right value is 0xffff when the rest of the
 * message is all zero (an echo with identifier, sequence and payload 0), so a
 * 0 result is recomputed in full.
 */
void gax_pkt_priv_icmp_csum_fix16(uint8_t *icmp, uint32_t len, uint16_t old_val,
		uint16_t new_val);

#endif /* GAX_PACKET_PRIV_H */
