/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames: build a stamped Ethernet/IPv4/UDP or TCP frame for a flow, read
 * the stamp back from a received frame, and turn a frame that reached an
 * endpoint into that endpoint's reply. Checksums are computed whole with
 * lib/packet's helpers (a generator builds each frame once).
 */
#include <errno.h>
#include <string.h>

#include "gax_gen.h"
#include "gax_packet.h"
#include "gen_priv.h"

#define IP_OFF	14
#define L4_OFF	34

static void
ip_csum(uint8_t *frame)
{
	uint8_t *ip = frame + IP_OFF;

	gen_put16(ip + 10, 0);
	gen_put16(ip + 10, gax_pkt_csum_fold(gax_pkt_csum_partial(ip, 20, 0)));
}

/* The L4 checksum of a TCP or UDP packet of @p l4_len bytes at L4_OFF. */
static void
l4_csum(uint8_t *frame, uint8_t proto, uint16_t l4_len)
{
	uint8_t *ip = frame + IP_OFF, *l4 = frame + L4_OFF;
	uint8_t *field = l4 + (proto == GAX_PKT_PROTO_TCP ? 16 : 6);
	uint32_t sum = gax_pkt_csum_pseudo(gen_get32(ip + 12), gen_get32(ip + 16), proto, l4_len);
	uint16_t c;

	gen_put16(field, 0);
	c = gax_pkt_csum_fold(gax_pkt_csum_partial(l4, l4_len, sum));
	gen_put16(field, proto == GAX_PKT_PROTO_UDP ? gax_pkt_csum_udp_final(c) : c);
}

int
gax_gen_build(const struct gax_gen_scenario *sc, uint8_t *buf, uint32_t buflen, uint16_t size,
		const struct gax_gen_tuple *t, bool first, uint32_t seq, uint32_t ts,
		const uint8_t *src_mac, const uint8_t *dst_mac)
{
	unsigned int hlen = gax_gen_header_len(sc);
	uint16_t l4_len = (uint16_t)(size - L4_OFF);
	uint8_t *ip = buf + IP_OFF, *l4 = buf + L4_OFF, *pl;
	unsigned int i;

	if (size < gax_gen_min_frame(sc) || size > GAX_GEN_FRAME_MAX)
		return -EINVAL;
	if (buflen < size)
		return -ENOSPC;
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	gen_put16(buf + 12, GAX_PKT_ETHERTYPE_IPV4);

	ip[0] = 0x45;
	ip[1] = 0;
	gen_put16(ip + 2, (uint16_t)(size - IP_OFF));
	gen_put16(ip + 4, 0);		/* ID: DF is set, nothing to reassemble */
	gen_put16(ip + 6, 0x4000);	/* DF */
	ip[8] = sc->ttl;
	ip[9] = sc->proto;
	gen_put32(ip + 12, t->saddr);
	gen_put32(ip + 16, t->daddr);

	gen_put16(l4, t->sport);
	gen_put16(l4 + 2, t->dport);
	if (sc->proto == GAX_PKT_PROTO_UDP) {
		gen_put16(l4 + 4, l4_len);
	} else {
		gen_put32(l4 + 4, seq);
		gen_put32(l4 + 8, first ? 0 : 1);
		l4[12] = 5 << 4;
		l4[13] = first ? GAX_PKT_TCP_SYN : GAX_PKT_TCP_ACK;
		gen_put16(l4 + 14, 65535);
		gen_put16(l4 + 18, 0);
	}
	pl = buf + hlen;
	gen_put16(pl, GAX_GEN_STAMP_MAGIC);
	gen_put32(pl + 2, t->index);
	gen_put32(pl + 6, seq);
	gen_put32(pl + 10, ts);
	/* the endpoint part, where there is room, is zero: no reply side filled it in */
	for (i = GAX_GEN_STAMP_BASE; i < size - hlen && i < GAX_GEN_STAMP_FULL; i++)
		pl[i] = 0;
	for (; i < size - hlen; i++)
		pl[i] = (uint8_t)(i - GAX_GEN_STAMP_FULL);
	ip_csum(buf);
	l4_csum(buf, sc->proto, l4_len);
	return size;
}

/* Offset of the payload of a parsed TCP/UDP frame. */
static uint32_t
payload_off(const struct gax_pkt *p)
{
	return (uint32_t)p->l3_off + p->ip_len - p->payload_len;
}

int
gax_gen_stamp_read(const uint8_t *frame, uint32_t len, struct gax_gen_stamp *st,
		struct gax_pkt *p)
{
	struct gax_pkt local;
	const uint8_t *pl;

	if (p == NULL)
		p = &local;
	if (gax_pkt_parse(frame, len, p) != GAX_DROP_NONE ||
			p->ethertype != GAX_PKT_ETHERTYPE_IPV4 ||
			(p->proto != GAX_PKT_PROTO_UDP && p->proto != GAX_PKT_PROTO_TCP))
		return -EINVAL;
	if (p->payload_len < GAX_GEN_STAMP_BASE)
		return -ENOENT;
	pl = frame + payload_off(p);
	if (gen_get16(pl) != GAX_GEN_STAMP_MAGIC)
		return -ENOENT;
	st->tuple = gen_get32(pl + 2);
	st->seq = gen_get32(pl + 6);
	st->ts = gen_get32(pl + 10);
	st->ep_addr = 0;
	st->ep_port = 0;
	if (p->payload_len >= GAX_GEN_STAMP_FULL) {
		st->ep_addr = gen_get32(pl + 14);
		st->ep_port = gen_get16(pl + 18);
	}
	return 0;
}

int
gax_gen_reply(uint8_t *frame, uint32_t len)
{
	struct gax_gen_stamp st;
	struct gax_pkt p;
	uint8_t mac[6];
	uint8_t *ip, *l4, *pl;
	int rc;

	rc = gax_gen_stamp_read(frame, len, &st, &p);
	if (rc != 0)
		return -EINVAL;
	if (p.payload_len < GAX_GEN_STAMP_FULL)
		return -ENOSPC;
	if (p.l3_off != IP_OFF || p.l4_off != L4_OFF)
		return -EINVAL;
	ip = frame + IP_OFF;
	l4 = frame + L4_OFF;
	pl = frame + payload_off(&p);

	memcpy(mac, frame, 6);
	memmove(frame, frame + 6, 6);
	memcpy(frame + 6, mac, 6);
	gen_put32(ip + 12, p.daddr);
	gen_put32(ip + 16, p.saddr);
	ip[8] = GAX_PKT_DEFAULT_TTL;
	gen_put16(l4, p.dport);
	gen_put16(l4 + 2, p.sport);
	gen_put32(pl + 14, p.daddr);
	gen_put16(pl + 18, p.dport);
	if (p.proto == GAX_PKT_PROTO_TCP) {
		uint32_t seq = gen_get32(l4 + 4);

		gen_put32(l4 + 8, seq + 1);
		gen_put32(l4 + 4, st.seq);
		l4[13] = (p.tcp_flags & GAX_PKT_TCP_SYN) ? (GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK) :
			GAX_PKT_TCP_ACK;
	}
	ip_csum(frame);
	l4_csum(frame, p.proto, p.l4_len);
	return 0;
}
