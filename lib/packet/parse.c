/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parsing: the checks a frame passes before the data plane looks up a
 * listener or a flow, each failure named by a drop reason that gaxd counts.
 * Every read is bounds-checked against the bytes the caller says it has, so
 * the parser is safe on anything a NIC delivers (the fuzzer in tests/fuzz
 * holds it to that). Also the parser of the packet embedded in an ICMP error,
 * which names the flow the error is about.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gax_packet.h"
#include "packet_priv.h"

static const char *const drop_names[GAX_DROP_REASON_MAX] = {
	[GAX_DROP_NONE] = "none",
	[GAX_DROP_TRUNCATED_ETHERNET] = "truncated_ethernet",
	[GAX_DROP_UNSUPPORTED_ETHERTYPE] = "unsupported_ethertype",
	[GAX_DROP_TRUNCATED_IPV4] = "truncated_ipv4",
	[GAX_DROP_BAD_IP_VERSION] = "bad_ip_version",
	[GAX_DROP_BAD_IHL] = "bad_ihl",
	[GAX_DROP_IP_OPTIONS] = "ip_options",
	[GAX_DROP_BAD_TOTAL_LENGTH] = "bad_total_length",
	[GAX_DROP_FRAGMENT] = "fragment",
	[GAX_DROP_BAD_IP_CSUM] = "bad_ip_checksum",
	[GAX_DROP_MARTIAN_SOURCE] = "martian_source",
	[GAX_DROP_TTL_EXPIRED] = "ttl_expired",
	[GAX_DROP_TRUNCATED_TCP] = "truncated_tcp",
	[GAX_DROP_TRUNCATED_UDP] = "truncated_udp",
	[GAX_DROP_TRUNCATED_ICMP] = "truncated_icmp",
	[GAX_DROP_BAD_TCP_DOFF] = "bad_tcp_data_offset",
	[GAX_DROP_BAD_UDP_LENGTH] = "bad_udp_length",
	[GAX_DROP_UNSUPPORTED_PROTO] = "unsupported_ip_protocol",
	[GAX_DROP_MALFORMED_ARP] = "malformed_arp",
	[GAX_DROP_BAD_L4_CSUM] = "bad_l4_checksum",
	[GAX_DROP_UNSUPPORTED_ICMP] = "unsupported_icmp",
	[GAX_DROP_BAD_ICMP_ERROR] = "bad_icmp_error",
	[GAX_DROP_NO_LISTENER] = "no_listener",
	[GAX_DROP_NO_ENDPOINT] = "no_endpoint",
	[GAX_DROP_FLOW_TABLE_FULL] = "flow_table_full",
	[GAX_DROP_ARP_QUEUE_FULL] = "arp_queue_full",
	[GAX_DROP_NOT_FOR_US] = "not_for_us",
	[GAX_DROP_TX_FULL] = "tx_full",
	[GAX_DROP_NO_FLOW] = "no_flow",
	[GAX_DROP_NAT_PORTS_EXHAUSTED] = "nat_ports_exhausted",
	[GAX_DROP_ARP_UNRESOLVED] = "arp_unresolved",
	[GAX_DROP_REDIRECT_FULL] = "redirect_full",
	[GAX_DROP_NO_ROUTE] = "no_route",
	[GAX_DROP_KERNEL_QUEUE_FULL] = "kernel_queue_full",
	[GAX_DROP_WRONG_INTERFACE] = "wrong_interface",
};

_Static_assert(GAX_DROP_REASON_MAX == 35, "update drop_names with the new reason");

const char *
gax_drop_reason_name(enum gax_drop_reason r)
{
	if ((unsigned int)r >= GAX_DROP_REASON_MAX || drop_names[r] == NULL)
		return "unknown";
	return drop_names[r];
}

/*
 * Sources no host may use (as Linux's martian check): "this network" 0/8,
 * loopback 127/8, multicast 224/4 and the limited broadcast.
 */
static inline int
is_martian_source(uint32_t a)
{
	uint32_t o = a >> 24;

	if (o - 1 < 223 && o != 127) /* the usual source: 1-126, 128-223 */
		return 0;
	return o == 0 || o == 127 || (o & 0xf0) == 0xe0 || a == 0xffffffff;
}

static int
parse_arp(const uint8_t *arp, uint32_t avail, struct gax_pkt *p)
{
	if (avail < GAX_PKT_ARP_LEN)
		return GAX_DROP_MALFORMED_ARP;
	if (load_be16(arp + ARP_HTYPE) != 1 ||
			load_be16(arp + ARP_PTYPE) != GAX_PKT_ETHERTYPE_IPV4 ||
			arp[ARP_HLEN] != GAX_PKT_ETH_ALEN || arp[ARP_PLEN] != 4)
		return GAX_DROP_MALFORMED_ARP;
	p->arp_op = load_be16(arp + ARP_OP);
	if (p->arp_op != GAX_PKT_ARP_REQUEST && p->arp_op != GAX_PKT_ARP_REPLY)
		return GAX_DROP_MALFORMED_ARP;
	memcpy(p->arp_sha, arp + ARP_SHA, GAX_PKT_ETH_ALEN);
	memcpy(p->arp_tha, arp + ARP_THA, GAX_PKT_ETH_ALEN);
	p->arp_sip = load_be32(arp + ARP_SPA);
	p->arp_tip = load_be32(arp + ARP_TPA);
	return GAX_DROP_NONE;
}

/* The L4 header at @p l4, of which the IP total length leaves @p l4_len bytes. */
static int
parse_l4(const uint8_t *l4, uint32_t l4_len, struct gax_pkt *p)
{
	uint32_t hlen;

	switch (p->proto) {
	case GAX_PKT_PROTO_TCP:
		if (l4_len < TCP_HLEN)
			return GAX_DROP_TRUNCATED_TCP;
		hlen = (uint32_t)(l4[TCP_DOFF] >> 4) * 4;
		if (hlen < TCP_HLEN || hlen > l4_len)
			return GAX_DROP_BAD_TCP_DOFF;
		p->sport = load_be16(l4 + L4_SPORT);
		p->dport = load_be16(l4 + L4_DPORT);
		p->tcp_flags = l4[TCP_FLAGS];
		p->l4_len = (uint16_t)l4_len;
		p->payload_len = (uint16_t)(l4_len - hlen);
		return GAX_DROP_NONE;
	case GAX_PKT_PROTO_UDP:
		if (l4_len < UDP_HLEN)
			return GAX_DROP_TRUNCATED_UDP;
		hlen = load_be16(l4 + UDP_LEN);
		if (hlen < UDP_HLEN || hlen > l4_len)
			return GAX_DROP_BAD_UDP_LENGTH;
		p->sport = load_be16(l4 + L4_SPORT);
		p->dport = load_be16(l4 + L4_DPORT);
		p->l4_len = (uint16_t)hlen;
		p->payload_len = (uint16_t)(hlen - UDP_HLEN);
		return GAX_DROP_NONE;
	case GAX_PKT_PROTO_ICMP:
		if (l4_len < ICMP_HLEN)
			return GAX_DROP_TRUNCATED_ICMP;
		p->icmp_type = l4[ICMP_TYPE];
		p->icmp_code = l4[ICMP_CODE];
		if (icmp_is_echo(p->icmp_type)) {
			p->sport = load_be16(l4 + ICMP_ID);
			p->dport = p->sport;
		}
		p->l4_len = (uint16_t)l4_len;
		p->payload_len = (uint16_t)(l4_len - ICMP_HLEN);
		return GAX_DROP_NONE;
	default:
		return GAX_DROP_UNSUPPORTED_PROTO;
	}
}

/*
 * The IPv4 header checksum of a 20-byte header is right: five 32-bit words
 * summed at once (the one's complement sum does not care about byte order
 * until the fold, RFC 1071), the field included, folds to 0xffff.
 */
static inline bool
ip_header_csum_ok(const uint8_t *ip)
{
	uint32_t w[5];
	uint64_t s;

	memcpy(w, ip, sizeof(w));
	s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	return fold64to16(s) == 0xffff;
}

static int
parse_ipv4(const uint8_t *ip, uint32_t avail, struct gax_pkt *p)
{
	uint32_t ihl, tot;

	if (avail < GAX_PKT_IPV4_HLEN)
		return GAX_DROP_TRUNCATED_IPV4;
	if (ip[IP_VIHL] != 0x45) { /* not version 4 with a 20-byte header: why not */
		if ((ip[IP_VIHL] >> 4) != 4)
			return GAX_DROP_BAD_IP_VERSION;
		return (ip[IP_VIHL] & 0xf) < 5 ? GAX_DROP_BAD_IHL : GAX_DROP_IP_OPTIONS;
	}
	ihl = GAX_PKT_IPV4_HLEN;
	/* Before any other field is believed: a corrupted header is a bad checksum. */
	if (!ip_header_csum_ok(ip))
		return GAX_DROP_BAD_IP_CSUM;
	tot = load_be16(ip + IP_TOTLEN);
	if (tot < ihl || tot > avail)
		return GAX_DROP_BAD_TOTAL_LENGTH;
	if ((load_be16(ip + IP_FRAG) & (IP_MF | IP_OFFMASK)) != 0)
		return GAX_DROP_FRAGMENT;
	p->ip_len = (uint16_t)tot;
	p->ttl = ip[IP_TTL];
	p->proto = ip[IP_PROTO];
	p->saddr = load_be32(ip + IP_SADDR);
	p->daddr = load_be32(ip + IP_DADDR);
	if (is_martian_source(p->saddr))
		return GAX_DROP_MARTIAN_SOURCE;
	p->l4_off = (uint16_t)(p->l3_off + ihl);
	return parse_l4(ip + ihl, tot - ihl, p);
}

int
gax_pkt_parse(const uint8_t *frame, uint32_t len, struct gax_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (len < GAX_PKT_ETH_HLEN)
		return GAX_DROP_TRUNCATED_ETHERNET;
	p->ethertype = load_be16(frame + ETH_TYPE);
	p->l3_off = GAX_PKT_ETH_HLEN;
	switch (p->ethertype) {
	case GAX_PKT_ETHERTYPE_IPV4:
		return parse_ipv4(frame + GAX_PKT_ETH_HLEN, len - GAX_PKT_ETH_HLEN, p);
	case GAX_PKT_ETHERTYPE_ARP:
		return parse_arp(frame + GAX_PKT_ETH_HLEN, len - GAX_PKT_ETH_HLEN, p);
	default:
		return GAX_DROP_UNSUPPORTED_ETHERTYPE;
	}
}

int
gax_pkt_parse_icmp_error(const uint8_t *frame, const struct gax_pkt *p,
		struct gax_pkt_inner *inner)
{
	const uint8_t *ip, *l4;
	uint32_t avail, ihl, tot;

	memset(inner, 0, sizeof(*inner));
	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4 || p->proto != GAX_PKT_PROTO_ICMP)
		return GAX_DROP_UNSUPPORTED_ICMP;
	if (p->icmp_type != GAX_PKT_ICMP_DEST_UNREACH && p->icmp_type != GAX_PKT_ICMP_TIME_EXCEEDED)
		return GAX_DROP_UNSUPPORTED_ICMP;
	inner->type = p->icmp_type;
	inner->code = p->icmp_code;
	if (p->icmp_type == GAX_PKT_ICMP_DEST_UNREACH && p->icmp_code == GAX_PKT_ICMP_FRAG_NEEDED)
		inner->mtu = load_be16(frame + p->l4_off + ICMP_MTU);

	/* The embedded packet: what the ICMP message holds after its 8-byte header. */
	ip = frame + p->l4_off + ICMP_HLEN;
	avail = (uint32_t)p->l4_len - ICMP_HLEN;
	if (avail < GAX_PKT_IPV4_HLEN || (ip[IP_VIHL] >> 4) != 4)
		return GAX_DROP_BAD_ICMP_ERROR;
	ihl = (uint32_t)(ip[IP_VIHL] & 0xf) * 4;
	if (ihl < GAX_PKT_IPV4_HLEN || ihl + 8 > avail)
		return GAX_DROP_BAD_ICMP_ERROR;
	tot = load_be16(ip + IP_TOTLEN);
	if (tot < ihl + 8 || (load_be16(ip + IP_FRAG) & IP_OFFMASK) != 0)
		return GAX_DROP_BAD_ICMP_ERROR;
	l4 = ip + ihl;
	inner->proto = ip[IP_PROTO];
	inner->saddr = load_be32(ip + IP_SADDR);
	inner->daddr = load_be32(ip + IP_DADDR);
	switch (inner->proto) {
	case GAX_PKT_PROTO_TCP:
	case GAX_PKT_PROTO_UDP:
		inner->sport = load_be16(l4 + L4_SPORT);
		inner->dport = load_be16(l4 + L4_DPORT);
		break;
	case GAX_PKT_PROTO_ICMP:
		/* No error is sent about an error (RFC 1122 3.2.2): only echoes. */
		if (!icmp_is_echo(l4[ICMP_TYPE]))
			return GAX_DROP_UNSUPPORTED_ICMP;
		inner->sport = load_be16(l4 + ICMP_ID);
		inner->dport = inner->sport;
		break;
	default:
		return GAX_DROP_UNSUPPORTED_ICMP;
	}
	inner->l3_off = (uint16_t)(p->l4_off + ICMP_HLEN);
	inner->l4_off = (uint16_t)(inner->l3_off + ihl);
	inner->l4_avail = (uint16_t)(avail - ihl);
	return GAX_DROP_NONE;
}
