/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The few packets gax answers or originates itself: ARP replies for the
 * addresses it owns (VIPs, interface and SNAT addresses), ARP requests to
 * resolve its next hops (and gratuitous ARP to announce an address), and
 * ICMP echo replies. Replies are built in place in the received frame, so the
 * data plane sends them back on the same mbuf without copying.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "gax_packet.h"
#include "packet_priv.h"

int
gax_pkt_arp_reply(uint8_t *frame, uint32_t len, struct gax_pkt *p, const uint8_t *my_mac)
{
	uint8_t *arp = frame + GAX_PKT_ETH_HLEN;
	uint8_t requester[GAX_PKT_ETH_ALEN];
	uint32_t requester_ip = p->arp_sip, wanted_ip = p->arp_tip;

	if (p->ethertype != GAX_PKT_ETHERTYPE_ARP || p->arp_op != GAX_PKT_ARP_REQUEST ||
			len < GAX_PKT_ETH_HLEN + GAX_PKT_ARP_LEN)
		return -EINVAL;
	memcpy(requester, arp + ARP_SHA, GAX_PKT_ETH_ALEN);

	memcpy(frame + ETH_DST, requester, GAX_PKT_ETH_ALEN);
	memcpy(frame + ETH_SRC, my_mac, GAX_PKT_ETH_ALEN);
	store_be16(arp + ARP_OP, GAX_PKT_ARP_REPLY);
	memcpy(arp + ARP_SHA, my_mac, GAX_PKT_ETH_ALEN);
	store_be32(arp + ARP_SPA, wanted_ip);
	memcpy(arp + ARP_THA, requester, GAX_PKT_ETH_ALEN);
	store_be32(arp + ARP_TPA, requester_ip);

	p->arp_op = GAX_PKT_ARP_REPLY;
	memcpy(p->arp_sha, my_mac, GAX_PKT_ETH_ALEN);
	memcpy(p->arp_tha, requester, GAX_PKT_ETH_ALEN);
	p->arp_sip = wanted_ip;
	p->arp_tip = requester_ip;
	return 0;
}

int
gax_pkt_arp_request(uint8_t *buf, uint32_t buflen, const uint8_t *my_mac, uint32_t my_ip,
		uint32_t target_ip)
{
	uint8_t *arp = buf + GAX_PKT_ETH_HLEN;

	if (buflen < GAX_PKT_ETH_MIN_LEN)
		return -ENOSPC;
	memset(buf, 0, GAX_PKT_ETH_MIN_LEN);
	memset(buf + ETH_DST, 0xff, GAX_PKT_ETH_ALEN);
	memcpy(buf + ETH_SRC, my_mac, GAX_PKT_ETH_ALEN);
	store_be16(buf + ETH_TYPE, GAX_PKT_ETHERTYPE_ARP);
	store_be16(arp + ARP_HTYPE, 1);
	store_be16(arp + ARP_PTYPE, GAX_PKT_ETHERTYPE_IPV4);
	arp[ARP_HLEN] = GAX_PKT_ETH_ALEN;
	arp[ARP_PLEN] = 4;
	store_be16(arp + ARP_OP, GAX_PKT_ARP_REQUEST);
	memcpy(arp + ARP_SHA, my_mac, GAX_PKT_ETH_ALEN);
	store_be32(arp + ARP_SPA, my_ip);
	/* target hardware address: zero, unknown */
	store_be32(arp + ARP_TPA, target_ip);
	return GAX_PKT_ETH_MIN_LEN;
}

int
gax_pkt_icmp_echo_reply(uint8_t *frame, struct gax_pkt *p)
{
	uint8_t *ip = frame + p->l3_off;
	uint8_t *icmp = frame + p->l4_off;
	uint8_t mac[GAX_PKT_ETH_ALEN];
	uint16_t old, new_val;
	uint32_t a;

	if (p->ethertype != GAX_PKT_ETHERTYPE_IPV4 || p->proto != GAX_PKT_PROTO_ICMP ||
			p->icmp_type != GAX_PKT_ICMP_ECHO_REQUEST)
		return -EINVAL;

	memcpy(mac, frame + ETH_DST, GAX_PKT_ETH_ALEN);
	memcpy(frame + ETH_DST, frame + ETH_SRC, GAX_PKT_ETH_ALEN);
	memcpy(frame + ETH_SRC, mac, GAX_PKT_ETH_ALEN);

	/* Swapping the addresses leaves every sum unchanged. */
	a = load_be32(ip + IP_SADDR);
	memmove(ip + IP_SADDR, ip + IP_DADDR, 4);
	store_be32(ip + IP_DADDR, a);
	old = load_be16(ip + IP_TTL);
	ip[IP_TTL] = GAX_PKT_DEFAULT_TTL;
	csum_fix16(ip + IP_CSUM, old, load_be16(ip + IP_TTL));

	old = load_be16(icmp + ICMP_TYPE);
	icmp[ICMP_TYPE] = GAX_PKT_ICMP_ECHO_REPLY;
	icmp[ICMP_CODE] = 0;
	new_val = load_be16(icmp + ICMP_TYPE);
	gax_pkt_priv_icmp_csum_fix16(icmp, p->l4_len, old, new_val);

	a = p->saddr;
	p->saddr = p->daddr;
	p->daddr = a;
	p->ttl = GAX_PKT_DEFAULT_TTL;
	p->icmp_type = GAX_PKT_ICMP_ECHO_REPLY;
	p->icmp_code = 0;
	return 0;
}
