/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-place rewrites for full NAT: destination (DNAT to the endpoint), source
 * (SNAT to a local address), Ethernet addresses, TTL, and the translation of
 * an ICMP error about a NATed flow. Each field written updates every checksum
 * that covers it, incrementally (RFC 1624): the IPv4 header checksum, the L4
 * checksum through its pseudo header, and for an ICMP error also the ICMP
 * checksum, which covers the embedded packet, and the embedded packet's own
 * IPv4 and L4 checksums. Nothing is recomputed over the payload.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "gax_packet.h"
#include "packet_priv.h"

/* Offset in the L4 header of the port a rewrite sets (L4_SPORT or L4_DPORT), or -1. */
static inline int
port_off(const struct gax_pkt *p, int tcp_udp_off)
{
	switch (p->proto) {
	case GAX_PKT_PROTO_TCP:
	case GAX_PKT_PROTO_UDP:
		return tcp_udp_off;
	case GAX_PKT_PROTO_ICMP:
		return icmp_is_echo(p->icmp_type) ? ICMP_ID : -1;
	default:
		return -1;
	}
}

/* Fix the L4 checksum after a word of the L4 header changed old -> new. */
static void
l4_fix16(uint8_t *l4, const struct gax_pkt *p, uint16_t old_val, uint16_t new_val)
{
	switch (p->proto) {
	case GAX_PKT_PROTO_TCP:
		csum_fix16(l4 + TCP_CSUM, old_val, new_val);
		break;
	case GAX_PKT_PROTO_UDP:
		udp_csum_fix16(l4 + UDP_CSUM, old_val, new_val);
		break;
	case GAX_PKT_PROTO_ICMP:
		gax_pkt_priv_icmp_csum_fix16(l4, p->l4_len, old_val, new_val);
		break;
	default:
		break;
	}
}

/* Fix the L4 checksum after an address of its pseudo header changed old -> new. */
static void
l4_fix_pseudo(uint8_t *l4, const struct gax_pkt *p, uint32_t old_val, uint32_t new_val)
{
	switch (p->proto) {
	case GAX_PKT_PROTO_TCP:
		csum_fix32(l4 + TCP_CSUM, old_val, new_val);
		break;
	case GAX_PKT_PROTO_UDP:
		udp_csum_fix32(l4 + UDP_CSUM, old_val, new_val);
		break;
	default:
		break; /* ICMP has no pseudo header */
	}
}

/* Set the IPv4 address at @p addr_off (IP_SADDR or IP_DADDR); returns the old one. */
static uint32_t
set_addr(uint8_t *frame, const struct gax_pkt *p, int addr_off, uint32_t addr)
{
	uint8_t *ip = frame + p->l3_off;
	uint32_t old = load_be32(ip + addr_off);

	if (old != addr) {
		store_be32(ip + addr_off, addr);
		csum_fix32(ip + IP_CSUM, old, addr);
		l4_fix_pseudo(frame + p->l4_off, p, old, addr);
	}
	return old;
}

/* Set the port at L4 offset @p off; returns false if the packet has no such port. */
static bool
set_port(uint8_t *frame, const struct gax_pkt *p, int off, uint16_t port)
{
	uint8_t *l4 = frame + p->l4_off;
	uint16_t old;

	if (off < 0)
		return false;
	old = load_be16(l4 + off);
	if (old != port) {
		store_be16(l4 + off, port);
		l4_fix16(l4, p, old, port);
	}
	return true;
}

int
gax_pkt_set_dst(uint8_t *frame, struct gax_pkt *p, uint32_t daddr, uint16_t dport)
{
	int off;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4)
		return -EINVAL;
	set_addr(frame, p, IP_DADDR, daddr);
	p->daddr = daddr;
	off = port_off(p, L4_DPORT);
	if (set_port(frame, p, off, dport)) {
		p->dport = dport;
		if (off == ICMP_ID)
			p->sport = dport;
	}
	return 0;
}

int
gax_pkt_set_src(uint8_t *frame, struct gax_pkt *p, uint32_t saddr, uint16_t sport)
{
	int off;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4)
		return -EINVAL;
	set_addr(frame, p, IP_SADDR, saddr);
	p->saddr = saddr;
	off = port_off(p, L4_SPORT);
	if (set_port(frame, p, off, sport)) {
		p->sport = sport;
		if (off == ICMP_ID)
			p->dport = sport;
	}
	return 0;
}

int
gax_pkt_ttl_dec(uint8_t *frame, struct gax_pkt *p)
{
	uint8_t *ip = frame + p->l3_off;
	uint16_t old;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4)
		return -EINVAL;
	if (ip[IP_TTL] <= 1)
		return GAX_DROP_TTL_EXPIRED;
	old = load_be16(ip + IP_TTL); /* TTL and protocol form one word */
	ip[IP_TTL]--;
	csum_fix16(ip + IP_CSUM, old, load_be16(ip + IP_TTL));
	p->ttl = ip[IP_TTL];
	return 0;
}

/* HC' = ~(~HC + delta) on a checksum field as loaded from the wire; delta unfolded. */
static inline uint16_t
wire_csum_apply(uint16_t csum_wire, uint64_t delta)
{
	return (uint16_t)~fold64to16((uint16_t)~csum_wire + delta);
}

/*
 * Every field is handled as the host loads it from the wire: the one's
 * complement arithmetic of RFC 1624 does not care about byte order as long
 * as old values, new values and the checksum are all in the same one, so
 * the only swaps are of the four new values.
 */
int
gax_pkt_nat_forward(uint8_t *frame, struct gax_pkt *p, uint32_t saddr, uint16_t sport,
		uint32_t daddr, uint16_t dport)
{
	uint8_t *ip = frame + p->l3_off, *l4 = frame + p->l4_off;
	uint32_t old_a[2], new_a[2], old_ports, new_ports;
	uint64_t addrs;
	uint16_t old_tp, new_tp, c;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4 ||
			(p->proto != GAX_PKT_PROTO_TCP && p->proto != GAX_PKT_PROTO_UDP))
		return -EINVAL;
	if (ip[IP_TTL] <= 1)
		return GAX_DROP_TTL_EXPIRED;
	memcpy(old_a, ip + IP_SADDR, sizeof(old_a));
	memcpy(&old_ports, l4 + L4_SPORT, sizeof(old_ports));
	memcpy(&old_tp, ip + IP_TTL, sizeof(old_tp)); /* TTL and protocol form one word */
	new_a[0] = be32_host(saddr);
	new_a[1] = be32_host(daddr);
	new_ports = be32_host(((uint32_t)sport << 16) | dport);
	/* TTL - 1 (above 1: no borrow into the protocol byte), computed rather
	 * than read back: a 2-byte load of a byte just stored stalls. */
	new_tp = be16_host((uint16_t)(be16_host(old_tp) - 0x100));
	ip[IP_TTL]--;
	memcpy(ip + IP_SADDR, new_a, sizeof(new_a));
	memcpy(l4 + L4_SPORT, &new_ports, sizeof(new_ports));
	/* ~old + new per 32-bit word: the one's complement sum folds to the same 16 bits. */
	addrs = (uint64_t)(uint32_t)~old_a[0] + new_a[0] + (uint32_t)~old_a[1] + new_a[1];
	memcpy(&c, ip + IP_CSUM, sizeof(c));
	c = wire_csum_apply(c, addrs + (uint16_t)~old_tp + new_tp);
	memcpy(ip + IP_CSUM, &c, sizeof(c));
	addrs += (uint64_t)(uint32_t)~old_ports + new_ports;
	if (p->proto == GAX_PKT_PROTO_TCP) {
		memcpy(&c, l4 + TCP_CSUM, sizeof(c));
		c = wire_csum_apply(c, addrs);
		memcpy(l4 + TCP_CSUM, &c, sizeof(c));
	} else {
		memcpy(&c, l4 + UDP_CSUM, sizeof(c));
		if (c != 0) { /* 0: the sender gave no checksum, and none is made up */
			c = wire_csum_apply(c, addrs);
			c = c == 0 ? 0xffff : c; /* 0 means none: the same value in either order */
			memcpy(l4 + UDP_CSUM, &c, sizeof(c));
		}
	}
	p->ttl = ip[IP_TTL];
	p->saddr = saddr;
	p->daddr = daddr;
	p->sport = sport;
	p->dport = dport;
	return 0;
}

/*
 * The embedded packet of an ICMP error, with pointers to each checksum that
 * covers its fields: the ICMP checksum (every byte), its IPv4 header
 * checksum, and its L4 checksum if present in the frame (NULL if not).
 */
struct embedded {
	uint8_t *icmp;		/* the outer ICMP message */
	uint32_t icmp_len;
	uint8_t *ip;
	uint8_t *l4;
	uint8_t *l4_csum;
	bool l4_csum_udp;	/* UDP rules apply to l4_csum */
	bool l4_pseudo;		/* l4_csum covers a pseudo header */
};

/* Write a 16-bit field of the embedded packet, fixing the ICMP checksum. */
static void
emb_put16(const struct embedded *e, uint8_t *field, uint16_t v)
{
	uint16_t old = load_be16(field);

	if (old == v)
		return;
	store_be16(field, v);
	gax_pkt_priv_icmp_csum_fix16(e->icmp, e->icmp_len, old, v);
}

/* Fix the embedded L4 checksum for a word changing old -> new. */
static void
emb_fix_l4(const struct embedded *e, uint16_t old_val, uint16_t new_val)
{
	uint16_t c;

	if (e->l4_csum == NULL)
		return;
	c = load_be16(e->l4_csum);
	if (e->l4_csum_udp)
		c = gax_pkt_csum_udp_update16(c, old_val, new_val);
	else
		c = gax_pkt_csum_update16(c, old_val, new_val);
	emb_put16(e, e->l4_csum, c);
}

/* Set an embedded address: ICMP checksum, embedded IP and L4 checksums follow. */
static void
emb_set_addr(const struct embedded *e, int addr_off, uint32_t addr)
{
	uint32_t old = load_be32(e->ip + addr_off);
	uint16_t hi = (uint16_t)(old >> 16), lo = (uint16_t)old;

	if (old == addr)
		return;
	emb_put16(e, e->ip + addr_off, (uint16_t)(addr >> 16));
	emb_put16(e, e->ip + addr_off + 2, (uint16_t)addr);
	emb_put16(e, e->ip + IP_CSUM,
			gax_pkt_csum_update32(load_be16(e->ip + IP_CSUM), old, addr));
	if (e->l4_pseudo) {
		emb_fix_l4(e, hi, (uint16_t)(addr >> 16));
		emb_fix_l4(e, lo, (uint16_t)addr);
	}
}

/* Set an embedded port (or echo identifier) at L4 offset @p off. */
static void
emb_set_port(const struct embedded *e, int off, uint16_t port)
{
	uint16_t old = load_be16(e->l4 + off);

	if (old == port)
		return;
	emb_put16(e, e->l4 + off, port);
	emb_fix_l4(e, old, port);
}

int
gax_pkt_icmp_error_rewrite(uint8_t *frame, struct gax_pkt *p, struct gax_pkt_inner *inner,
		const struct gax_pkt_icmp_nat *nat)
{
	struct embedded e;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4 || p->proto != GAX_PKT_PROTO_ICMP)
		return -EINVAL;

	/* Outer header: the ICMP checksum has no pseudo header. */
	set_addr(frame, p, IP_SADDR, nat->outer_saddr);
	set_addr(frame, p, IP_DADDR, nat->outer_daddr);
	p->saddr = nat->outer_saddr;
	p->daddr = nat->outer_daddr;

	e.icmp = frame + p->l4_off;
	e.icmp_len = p->l4_len;
	e.ip = frame + inner->l3_off;
	e.l4 = frame + inner->l4_off;
	e.l4_csum = NULL;
	e.l4_csum_udp = false;
	e.l4_pseudo = true;
	switch (inner->proto) {
	case GAX_PKT_PROTO_TCP:
		if (inner->l4_avail >= TCP_CSUM + 2)
			e.l4_csum = e.l4 + TCP_CSUM;
		break;
	case GAX_PKT_PROTO_UDP:
		e.l4_csum = e.l4 + UDP_CSUM;
		e.l4_csum_udp = true;
		break;
	case GAX_PKT_PROTO_ICMP:
		e.l4_csum = e.l4 + ICMP_CSUM;
		e.l4_pseudo = false;
		break;
	default:
		break;
	}

	emb_set_addr(&e, IP_SADDR, nat->inner_saddr);
	emb_set_addr(&e, IP_DADDR, nat->inner_daddr);
	inner->saddr = nat->inner_saddr;
	inner->daddr = nat->inner_daddr;
	if (inner->proto == GAX_PKT_PROTO_ICMP) {
		emb_set_port(&e, ICMP_ID, nat->inner_sport);
		inner->sport = nat->inner_sport;
		inner->dport = nat->inner_sport;
	} else {
		emb_set_port(&e, L4_SPORT, nat->inner_sport);
		emb_set_port(&e, L4_DPORT, nat->inner_dport);
		inner->sport = nat->inner_sport;
		inner->dport = nat->inner_dport;
	}
	return 0;
}
