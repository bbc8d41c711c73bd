/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet module: invalid input first (every drop reason from a crafted
 * frame, every truncation of valid frames, bad checksums, options,
 * fragments, malformed ICMP errors), then behaviour: parsed fields, the
 * checksum helpers against an independent reference, every rewrite checked
 * by recomputing its checksums from scratch over many random addresses and
 * ports (with the 0x0000/0xffff corner cases), the replies byte by byte, and
 * the translation of an ICMP fragmentation-needed error for a NATed flow.
 *
 * Frames are built here by hand; the reference checksum below shares no code
 * with the module.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_packet.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define ETH 14
#define IPH 20
#define FRAME_MAX 2048

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };

/* ---- independent helpers ------------------------------------------------ */

static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s * 0x9e3779b97f4a7c15ULL + 1;
}

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* A 16-bit value, often one of the corner values. */
static uint16_t
rnd16(void)
{
	static const uint16_t corner[] = { 0x0000, 0xffff, 0x0001, 0xfffe, 0x8000, 0x7fff };
	uint32_t r = rnd();

	if ((r & 3) == 0)
		return corner[(r >> 2) % 6];
	return (uint16_t)(r >> 8);
}

/* A source address that is not martian, with corner halves now and then. */
static uint32_t
rnd_src(void)
{
	uint32_t a = ((uint32_t)rnd16() << 16) | rnd16();
	uint32_t first = 1 + rnd() % 223;

	if (first == 127)
		first = 128;
	return (first << 24) | (a & 0x00ffffff);
}

static uint32_t
rnd_dst(void)
{
	return ((uint32_t)rnd16() << 16) | rnd16();
}

static uint16_t
rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t
rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void
wr16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static void
wr32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = (v >> 16) & 0xff;
	b[2] = (v >> 8) & 0xff;
	b[3] = v & 0xff;
}

/* Reference Internet checksum: word by word, the obvious way. */
static uint16_t
ref_csum(const uint8_t *b, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t
ref_pseudo(const uint8_t *ip, uint8_t proto, uint32_t l4len)
{
	return rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18) + proto + l4len;
}

/* Where the L4 checksum sits and what it covers, from the IP header. */
static void
ref_l4_span(const uint8_t *ip, uint32_t *len, uint32_t *csum_off)
{
	uint32_t ihl = (ip[0] & 0xf) * 4;

	*len = rd16(ip + 2) - ihl;
	switch (ip[9]) {
	case 6:
		*csum_off = 16;
		break;
	case 17:
		*csum_off = 6;
		*len = rd16(ip + ihl + 4);
		break;
	default:
		*csum_off = 2;
		break;
	}
}

/* The L4 checksum field a correct sender would write, computed from scratch. */
static uint16_t
ref_l4_expected(const uint8_t *ip)
{
	uint32_t ihl = (ip[0] & 0xf) * 4, len, off;
	uint8_t copy[FRAME_MAX];
	uint16_t c;

	ref_l4_span(ip, &len, &off);
	memcpy(copy, ip + ihl, len);
	copy[off] = copy[off + 1] = 0;
	if (ip[9] == 1)
		return ref_csum(copy, len, 0);
	c = ref_csum(copy, len, ref_pseudo(ip, ip[9], len));
	if (ip[9] == 17 && c == 0)
		c = 0xffff;
	return c;
}

static void
ref_fix_ip(uint8_t *ip)
{
	uint32_t ihl = (ip[0] & 0xf) * 4;

	wr16(ip + 10, 0);
	wr16(ip + 10, ref_csum(ip, ihl < 20 ? 20 : ihl, 0));
}

static void
ref_fix_l4(uint8_t *ip)
{
	uint32_t ihl = (ip[0] & 0xf) * 4, len, off;

	ref_l4_span(ip, &len, &off);
	wr16(ip + ihl + off, ref_l4_expected(ip));
}

/* Assert the IPv4 header and L4 checksums are exactly what a fresh computation gives. */
static void
assert_csums_exact(const uint8_t *f, const char *what)
{
	const uint8_t *ip = f + ETH;
	uint32_t len, off;
	uint8_t hdr[20];

	memcpy(hdr, ip, 20);
	hdr[10] = hdr[11] = 0;
	cr_assert_eq(rd16(ip + 10), ref_csum(hdr, 20, 0), "%s: IP checksum %04x, expected %04x",
			what, rd16(ip + 10), ref_csum(hdr, 20, 0));
	ref_l4_span(ip, &len, &off);
	if (ip[9] == 17 && rd16(ip + 20 + off) == 0)
		return;
	cr_assert_eq(rd16(ip + 20 + off), ref_l4_expected(ip),
			"%s: L4 checksum %04x, expected %04x", what, rd16(ip + 20 + off),
			ref_l4_expected(ip));
}

/* ---- frame builder ------------------------------------------------------ */

struct spec {
	uint8_t proto;
	uint32_t saddr, daddr;
	uint16_t sport, dport;	/* ICMP echo: identifier, sequence */
	uint8_t icmp_type;
	uint8_t ttl;
	uint8_t tcp_flags;
	uint16_t tcp_opt_len;	/* multiple of 4 */
	uint16_t payload_len;
	bool udp_no_csum;
	bool zero_payload;
};

static struct spec
tcp_spec(void)
{
	return (struct spec){ .proto = 6, .saddr = IP(198, 51, 100, 7), .daddr = IP(10, 0, 0, 100),
		.sport = 40000, .dport = 80, .ttl = 64, .tcp_flags = 0x18, .tcp_opt_len = 12,
		.payload_len = 37 };
}

static struct spec
udp_spec(void)
{
	return (struct spec){ .proto = 17, .saddr = IP(198, 51, 100, 7), .daddr = IP(10, 0, 0, 100),
		.sport = 5353, .dport = 53, .ttl = 64, .payload_len = 23 };
}

static struct spec
icmp_spec(void)
{
	return (struct spec){ .proto = 1, .saddr = IP(198, 51, 100, 7), .daddr = IP(10, 0, 0, 100),
		.sport = 0x1234, .dport = 7, .icmp_type = 8, .ttl = 64, .payload_len = 56 };
}

/* Build the frame; returns its length (no Ethernet padding). */
static uint32_t
build(uint8_t *f, const struct spec *s)
{
	uint8_t *ip = f + ETH, *l4 = ip + IPH;
	uint32_t hlen, i;

	memset(f, 0, ETH + IPH + 60 + s->payload_len);
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_b, 6);
	wr16(f + 12, 0x0800);
	switch (s->proto) {
	case 6:
		hlen = 20 + s->tcp_opt_len;
		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
		wr32(l4 + 4, 0x01020304);
		wr32(l4 + 8, 0xa0b0c0d0);
		l4[12] = (uint8_t)((hlen / 4) << 4);
		l4[13] = s->tcp_flags;
		wr16(l4 + 14, 65535);
		for (i = 20; i < hlen; i++)
			l4[i] = 1; /* NOPs */
		break;
	case 17:
		hlen = 8;
		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
		wr16(l4 + 4, (uint16_t)(8 + s->payload_len));
		break;
	default:
		hlen = 8;
		l4[0] = s->icmp_type;
		wr16(l4 + 4, s->sport);
		wr16(l4 + 6, s->dport);
		break;
	}
	for (i = 0; i < s->payload_len; i++)
		l4[hlen + i] = s->zero_payload ? 0 : (uint8_t)rnd();
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(IPH + hlen + s->payload_len));
	wr16(ip + 4, 0x4242);
	wr16(ip + 6, 0x4000); /* DF */
	ip[8] = s->ttl;
	ip[9] = s->proto;
	wr32(ip + 12, s->saddr);
	wr32(ip + 16, s->daddr);
	ref_fix_ip(ip);
	if (!(s->proto == 17 && s->udp_no_csum))
		ref_fix_l4(ip);
	return ETH + IPH + hlen + s->payload_len;
}

static uint32_t
build_arp(uint8_t *f, uint16_t op, const uint8_t *sha, uint32_t sip, const uint8_t *tha,
		uint32_t tip)
{
	uint8_t *a = f + ETH;

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, sha, 6);
	wr16(f + 12, 0x0806);
	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	wr32(a + 14, sip);
	memcpy(a + 18, tha, 6);
	wr32(a + 24, tip);
	return 60;
}

/* Parse a copy of exactly @p len bytes on the heap, so any overread is a fault under valgrind. */
static int
parse_exact(const uint8_t *f, uint32_t len, struct gax_pkt *p)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, f, len);
	rc = gax_pkt_parse(copy, len, p);
	free(copy);
	return rc;
}

static int
reason(const uint8_t *f, uint32_t len)
{
	struct gax_pkt p;

	return parse_exact(f, len, &p);
}

#define assert_reason(f, len, want) do { \
	int rc_ = reason((f), (len)); \
	cr_assert_eq(rc_, (want), "got %s, expected %s", gax_drop_reason_name(rc_), \
			gax_drop_reason_name(want)); \
} while (0)

/* ==== invalid input ====================================================== */

Test(drop_reason, names_are_stable_unique_snake_case)
{
	int r, q;

	cr_assert_eq(GAX_DROP_NONE, 0);
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_NONE), "none");
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_TRUNCATED_ETHERNET), "truncated_ethernet");
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_BAD_IP_CSUM), "bad_ip_checksum");
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_FLOW_TABLE_FULL), "flow_table_full");
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_TX_FULL), "tx_full");
	for (r = 0; r < GAX_DROP_REASON_MAX; r++) {
		const char *n = gax_drop_reason_name(r);

		cr_assert_not_null(n);
		cr_assert_str_neq(n, "unknown", "reason %d has no name", r);
		cr_assert(strlen(n) > 0 && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
				strlen(n), "%s is not snake_case", n);
		for (q = 0; q < r; q++)
			cr_assert_str_neq(n, gax_drop_reason_name(q), "%d and %d share a name", q,
					r);
	}
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_REASON_MAX), "unknown");
	cr_assert_str_eq(gax_drop_reason_name((enum gax_drop_reason)-1), "unknown");
}

Test(parse, truncated_ethernet)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len;

	build(f, &s);
	for (len = 0; len < ETH; len++)
		assert_reason(f, len, GAX_DROP_TRUNCATED_ETHERNET);
}

/* Every prefix of a valid frame: no overread, and the truncation named. */
static void
check_every_truncation(const uint8_t *f, uint32_t full, bool arp)
{
	uint32_t cut;

	for (cut = 0; cut < full; cut++) {
		int want;

		if (cut < ETH)
			want = GAX_DROP_TRUNCATED_ETHERNET;
		else if (arp)
			want = GAX_DROP_MALFORMED_ARP;
		else if (cut < ETH + IPH)
			want = GAX_DROP_TRUNCATED_IPV4;
		else
			want = GAX_DROP_BAD_TOTAL_LENGTH;
		assert_reason(f, cut, want);
	}
	assert_reason(f, full, GAX_DROP_NONE);
}

Test(parse, every_truncation_of_valid_frames)
{
	uint8_t f[FRAME_MAX];
	struct spec s;

	rng_seed(1);
	s = tcp_spec();
	check_every_truncation(f, build(f, &s), false);
	s = udp_spec();
	check_every_truncation(f, build(f, &s), false);
	s = icmp_spec();
	check_every_truncation(f, build(f, &s), false);
	build_arp(f, 1, mac_b, IP(10, 0, 0, 9), mac_a, IP(10, 0, 0, 1));
	check_every_truncation(f, ETH + 28, true);
}

Test(parse, unsupported_ethertypes_vlan_included)
{
	static const uint16_t types[] = { 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8847, 0x0040, 0x0000,
		0xffff, 0x0801, 0x0805 };
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len = build(f, &s);
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		wr16(f + 12, types[i]);
		assert_reason(f, len, GAX_DROP_UNSUPPORTED_ETHERTYPE);
	}
}

Test(parse, bad_ip_version)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len = build(f, &s);
	int v;

	for (v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		f[ETH] = (uint8_t)(v << 4 | 5);
		ref_fix_ip(f + ETH);
		assert_reason(f, len, GAX_DROP_BAD_IP_VERSION);
	}
}

Test(parse, bad_ihl_and_options)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len = build(f, &s);
	int ihl;

	for (ihl = 0; ihl < 16; ihl++) {
		f[ETH] = (uint8_t)(0x40 | ihl);
		ref_fix_ip(f + ETH);
		if (ihl < 5)
			assert_reason(f, len, GAX_DROP_BAD_IHL);
		else if (ihl > 5)
			assert_reason(f, len, GAX_DROP_IP_OPTIONS);
		else
			assert_reason(f, len, GAX_DROP_NONE);
	}
}

Test(parse, bad_total_length)
{
	static const uint16_t bad[] = { 0, 1, 19 };
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len = build(f, &s);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wr16(f + ETH + 2, bad[i]);
		ref_fix_ip(f + ETH);
		assert_reason(f, len, GAX_DROP_BAD_TOTAL_LENGTH);
	}
	/* one byte more than the frame holds, and the maximum */
	wr16(f + ETH + 2, (uint16_t)(len - ETH + 1));
	ref_fix_ip(f + ETH);
	assert_reason(f, len, GAX_DROP_BAD_TOTAL_LENGTH);
	wr16(f + ETH + 2, 0xffff);
	ref_fix_ip(f + ETH);
	assert_reason(f, len, GAX_DROP_BAD_TOTAL_LENGTH);
}

Test(parse, fragments_refused_df_accepted)
{
	static const uint16_t frag[] = { 0x2000, 0x0001, 0x1fff, 0x2001, 0x6000, 0x3fff, 0xffff };
	static const uint16_t whole[] = { 0x0000, 0x4000, 0x8000, 0xc000 };
	uint8_t f[FRAME_MAX];
	struct spec s = udp_spec();
	uint32_t len = build(f, &s);
	size_t i;

	for (i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
		wr16(f + ETH + 6, frag[i]);
		ref_fix_ip(f + ETH);
		assert_reason(f, len, GAX_DROP_FRAGMENT);
	}
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		wr16(f + ETH + 6, whole[i]);
		ref_fix_ip(f + ETH);
		assert_reason(f, len, GAX_DROP_NONE);
	}
}

Test(parse, any_bit_flip_in_ip_header_is_a_bad_checksum)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len = build(f, &s);
	int byte, bit;

	/* byte 0 (version, IHL) has reasons of its own, checked before the checksum */
	for (byte = 1; byte < IPH; byte++) {
		for (bit = 0; bit < 8; bit++) {
			f[ETH + byte] ^= (uint8_t)(1 << bit);
			assert_reason(f, len, GAX_DROP_BAD_IP_CSUM);
			f[ETH + byte] ^= (uint8_t)(1 << bit);
		}
	}
	assert_reason(f, len, GAX_DROP_NONE);
}

Test(parse, martian_sources)
{
	static const uint32_t martian[] = { IP(0, 0, 0, 0), IP(0, 1, 2, 3), IP(127, 0, 0, 1),
		IP(127, 255, 255, 255), IP(224, 0, 0, 1), IP(239, 255, 255, 250),
		IP(255, 255, 255, 255) };
	static const uint32_t fine[] = { IP(1, 0, 0, 0), IP(126, 255, 255, 255), IP(128, 0, 0, 0),
		IP(223, 255, 255, 255), IP(240, 0, 0, 1), IP(255, 255, 255, 254) };
	uint8_t f[FRAME_MAX];
	struct spec s = udp_spec();
	uint32_t len;
	size_t i;

	for (i = 0; i < sizeof(martian) / sizeof(martian[0]); i++) {
		s.saddr = martian[i];
		len = build(f, &s);
		assert_reason(f, len, GAX_DROP_MARTIAN_SOURCE);
	}
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		s.saddr = fine[i];
		len = build(f, &s);
		assert_reason(f, len, GAX_DROP_NONE);
	}
}

Test(parse, ttl_is_recorded_and_expires_on_forwarding)
{
	uint8_t f[FRAME_MAX], before[FRAME_MAX];
	struct spec s = tcp_spec();
	struct gax_pkt p;
	uint32_t len;
	int ttl;

	for (ttl = 0; ttl <= 1; ttl++) {
		s.ttl = (uint8_t)ttl;
		len = build(f, &s);
		cr_assert_eq(gax_pkt_parse(f, len, &p), 0, "parsing does not judge the TTL");
		cr_assert_eq(p.ttl, ttl);
		memcpy(before, f, len);
		cr_assert_eq(gax_pkt_ttl_dec(f, &p), GAX_DROP_TTL_EXPIRED);
		cr_assert_arr_eq(f, before, len, "an expired packet is left as it was");
		cr_assert_eq(p.ttl, ttl);
	}
}

/* Set the IP payload length to @p l4len (a valid header otherwise). */
static void
set_l4_len(uint8_t *f, uint32_t l4len)
{
	wr16(f + ETH + 2, (uint16_t)(IPH + l4len));
	ref_fix_ip(f + ETH);
}

Test(parse, truncated_l4_headers)
{
	uint8_t f[FRAME_MAX];
	struct spec s;
	uint32_t len, n;

	s = tcp_spec();
	len = build(f, &s);
	for (n = 0; n < 20; n++) {
		set_l4_len(f, n);
		assert_reason(f, len, GAX_DROP_TRUNCATED_TCP);
	}
	s = udp_spec();
	len = build(f, &s);
	for (n = 0; n < 8; n++) {
		set_l4_len(f, n);
		assert_reason(f, len, GAX_DROP_TRUNCATED_UDP);
	}
	s = icmp_spec();
	len = build(f, &s);
	for (n = 0; n < 8; n++) {
		set_l4_len(f, n);
		assert_reason(f, len, GAX_DROP_TRUNCATED_ICMP);
	}
	set_l4_len(f, 8);
	assert_reason(f, len, GAX_DROP_NONE);
}

Test(parse, bad_tcp_data_offset)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	uint32_t len;
	int doff;

	s.tcp_opt_len = 0;
	s.payload_len = 0;
	len = build(f, &s);
	for (doff = 0; doff < 16; doff++) {
		f[ETH + IPH + 12] = (uint8_t)(doff << 4);
		assert_reason(f, len, doff == 5 ? GAX_DROP_NONE : GAX_DROP_BAD_TCP_DOFF);
	}
	s.tcp_opt_len = 20;
	len = build(f, &s);
	f[ETH + IPH + 12] = 11 << 4; /* 44 bytes of header in a 40-byte segment */
	assert_reason(f, len, GAX_DROP_BAD_TCP_DOFF);
	f[ETH + IPH + 12] = 10 << 4;
	assert_reason(f, len, GAX_DROP_NONE);
}

Test(parse, bad_udp_length)
{
	uint8_t f[FRAME_MAX];
	struct spec s = udp_spec();
	uint32_t len = build(f, &s), n;

	for (n = 0; n < 8; n++) {
		wr16(f + ETH + IPH + 4, (uint16_t)n);
		assert_reason(f, len, GAX_DROP_BAD_UDP_LENGTH);
	}
	wr16(f + ETH + IPH + 4, (uint16_t)(len - ETH - IPH + 1));
	assert_reason(f, len, GAX_DROP_BAD_UDP_LENGTH);
	wr16(f + ETH + IPH + 4, 0xffff);
	assert_reason(f, len, GAX_DROP_BAD_UDP_LENGTH);
}

Test(parse, unsupported_ip_protocols)
{
	static const uint8_t protos[] = { 0, 2, 4, 41, 47, 50, 51, 58, 89, 132, 255 };
	uint8_t f[FRAME_MAX];
	struct spec s = udp_spec();
	uint32_t len = build(f, &s);
	size_t i;

	for (i = 0; i < sizeof(protos); i++) {
		f[ETH + 9] = protos[i];
		ref_fix_ip(f + ETH);
		assert_reason(f, len, GAX_DROP_UNSUPPORTED_PROTO);
	}
}

Test(parse, malformed_arp)
{
	uint8_t f[FRAME_MAX];
	uint32_t len = build_arp(f, 1, mac_b, IP(10, 0, 0, 9), mac_a, IP(10, 0, 0, 1));
	uint8_t *a = f + ETH;
	uint16_t op;

	wr16(a, 6);
	assert_reason(f, len, GAX_DROP_MALFORMED_ARP);
	wr16(a, 1);
	wr16(a + 2, 0x86dd);
	assert_reason(f, len, GAX_DROP_MALFORMED_ARP);
	wr16(a + 2, 0x0800);
	a[4] = 8;
	assert_reason(f, len, GAX_DROP_MALFORMED_ARP);
	a[4] = 6;
	a[5] = 16;
	assert_reason(f, len, GAX_DROP_MALFORMED_ARP);
	a[5] = 4;
	for (op = 0; op < 10; op++) {
		wr16(a + 6, op);
		assert_reason(f, len, op == 1 || op == 2 ? GAX_DROP_NONE : GAX_DROP_MALFORMED_ARP);
	}
	wr16(a + 6, 0x0100);
	assert_reason(f, len, GAX_DROP_MALFORMED_ARP);
}

/* Flipping any bit of the L4 message or of an address breaks its checksum. */
static void
check_l4_corruption(const struct spec *s0)
{
	uint8_t f[FRAME_MAX];
	struct spec s = *s0;
	struct gax_pkt p;
	uint32_t len = build(f, &s), i, csum_off = s.proto == 6 ? 16 : s.proto == 17 ? 6 : 2;
	int bit;

	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
	for (i = 0; i < p.l4_len; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct gax_pkt q;

			if (s.proto == 17 && (i == csum_off || i == csum_off + 1))
				continue; /* could make it 0: "no checksum" */
			if (s.proto == 17 && (i == 4 || i == 5))
				continue; /* UDP length: another reason */
			if (s.proto == 6 && i == 12)
				continue; /* data offset: another reason */
			f[p.l4_off + i] ^= (uint8_t)(1 << bit);
			cr_assert_eq(gax_pkt_parse(f, len, &q), 0);
			cr_assert_not(gax_pkt_l4_csum_ok(f, &q), "proto %d byte %u bit %d",
					s.proto, i, bit);
			f[p.l4_off + i] ^= (uint8_t)(1 << bit);
		}
	}
	if (s.proto != 1) {
		/* the pseudo header: another source address, IP checksum fixed */
		wr32(f + ETH + 12, s.saddr + 1);
		ref_fix_ip(f + ETH);
		cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
		cr_assert_not(gax_pkt_l4_csum_ok(f, &p));
	}
}

Test(checksum, bad_l4_checksums_detected)
{
	struct spec s;

	rng_seed(2);
	s = tcp_spec();
	check_l4_corruption(&s);
	s = udp_spec();
	check_l4_corruption(&s);
	s = icmp_spec();
	check_l4_corruption(&s);
	s = icmp_spec();
	s.payload_len = 7; /* odd length */
	check_l4_corruption(&s);
	s = udp_spec();
	s.payload_len = 13; /* odd length, with the pseudo header */
	check_l4_corruption(&s);
	s = tcp_spec();
	s.payload_len = 27;
	check_l4_corruption(&s);
}

Test(checksum, udp_checksum_zero_means_none)
{
	uint8_t f[FRAME_MAX];
	struct spec s = udp_spec();
	struct gax_pkt p;
	uint32_t len;

	s.udp_no_csum = true;
	len = build(f, &s);
	cr_assert_eq(rd16(f + ETH + IPH + 6), 0);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
	f[len - 1] ^= 0x55; /* unprotected: still fine */
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
}

/* An ICMP error from @p router to the source of the IP packet @p orig, embedding @p emb bytes. */
static uint32_t
build_icmp_error(uint8_t *f, uint8_t type, uint8_t code, uint16_t mtu, uint32_t router,
		const uint8_t *orig, uint32_t emb)
{
	uint8_t *ip = f + ETH, *icmp = ip + IPH;

	memset(f, 0, ETH + IPH + 8 + emb);
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_b, 6);
	wr16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0xc0;
	wr16(ip + 2, (uint16_t)(IPH + 8 + emb));
	ip[8] = 255;
	ip[9] = 1;
	wr32(ip + 12, router);
	memcpy(ip + 16, orig + 12, 4);
	ref_fix_ip(ip);
	icmp[0] = type;
	icmp[1] = code;
	wr16(icmp + 6, mtu);
	memcpy(icmp + 8, orig, emb);
	wr16(icmp + 2, ref_csum(icmp, 8 + emb, 0));
	return ETH + IPH + 8 + emb;
}

static int
icmp_error_reason(const uint8_t *f, uint32_t len)
{
	struct gax_pkt p;
	struct gax_pkt_inner in;
	uint8_t *copy = malloc(len);
	int rc;

	memcpy(copy, f, len);
	rc = gax_pkt_parse(copy, len, &p);
	cr_assert_eq(rc, 0, "outer frame must parse: %s", gax_drop_reason_name(rc));
	rc = gax_pkt_parse_icmp_error(copy, &p, &in);
	free(copy);
	return rc;
}

Test(icmp_error, invalid_errors_refused)
{
	uint8_t orig[FRAME_MAX], f[FRAME_MAX], o2[FRAME_MAX];
	struct spec s = tcp_spec();
	struct gax_pkt p;
	struct gax_pkt_inner in;
	uint32_t olen = build(orig, &s), len, n;
	uint8_t *o = orig + ETH;

	/* not an error at all */
	cr_assert_eq(gax_pkt_parse(orig, olen, &p), 0);
	cr_assert_eq(gax_pkt_parse_icmp_error(orig, &p, &in), GAX_DROP_UNSUPPORTED_ICMP);
	s = icmp_spec();
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(gax_pkt_parse_icmp_error(f, &p, &in), GAX_DROP_UNSUPPORTED_ICMP);
	build_arp(f, 1, mac_b, IP(10, 0, 0, 9), mac_a, IP(10, 0, 0, 1));
	cr_assert_eq(gax_pkt_parse(f, 60, &p), 0);
	cr_assert_eq(gax_pkt_parse_icmp_error(f, &p, &in), GAX_DROP_UNSUPPORTED_ICMP);
	/* other ICMP types: redirect, source quench, parameter problem */
	len = build_icmp_error(f, 5, 1, 0, IP(10, 1, 0, 254), o, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_UNSUPPORTED_ICMP);
	len = build_icmp_error(f, 12, 0, 0, IP(10, 1, 0, 254), o, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_UNSUPPORTED_ICMP);

	/* embedded packet truncated before its IP header and 8 L4 bytes */
	for (n = 0; n < 28; n++) {
		len = build_icmp_error(f, 3, 4, 1400, IP(10, 1, 0, 254), o, n);
		cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_BAD_ICMP_ERROR, "%u bytes", n);
	}
	len = build_icmp_error(f, 3, 4, 1400, IP(10, 1, 0, 254), o, 28);
	cr_assert_eq(icmp_error_reason(f, len), 0);

	/* bad embedded version, IHL, total length; a non-first fragment */
	memcpy(o2, o, 64);
	o2[0] = 0x65;
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_BAD_ICMP_ERROR);
	o2[0] = 0x44;
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_BAD_ICMP_ERROR);
	o2[0] = 0x46; /* options: 24 + 8 bytes needed, 28 given */
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_BAD_ICMP_ERROR);
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 32);
	cr_assert_eq(icmp_error_reason(f, len), 0, "options in the embedded header are fine");
	memcpy(o2, o, 64);
	wr16(o2 + 2, 27);
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_BAD_ICMP_ERROR);
	memcpy(o2, o, 64);
	wr16(o2 + 6, 0x0010);
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_BAD_ICMP_ERROR);
	wr16(o2 + 6, 0x2000); /* first fragment: has the ports */
	len = build_icmp_error(f, 3, 1, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), 0);

	/* embedded protocols gax does not translate, and errors about errors */
	memcpy(o2, o, 64);
	o2[9] = 47;
	len = build_icmp_error(f, 11, 0, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_UNSUPPORTED_ICMP);
	o2[9] = 1;
	o2[20] = 3;
	len = build_icmp_error(f, 11, 0, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), GAX_DROP_UNSUPPORTED_ICMP);
	o2[20] = 8;
	len = build_icmp_error(f, 11, 0, 0, IP(10, 1, 0, 254), o2, 28);
	cr_assert_eq(icmp_error_reason(f, len), 0);
}

Test(rewrite, wrong_packet_kinds_are_einval)
{
	uint8_t f[FRAME_MAX], before[FRAME_MAX];
	struct spec s = tcp_spec();
	struct gax_pkt p;
	struct gax_pkt_inner in;
	struct gax_pkt_icmp_nat nat = { 0 };
	uint32_t len = build_arp(f, 1, mac_b, IP(10, 0, 0, 9), mac_a, IP(10, 0, 0, 1));

	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	memcpy(before, f, len);
	cr_assert_eq(gax_pkt_set_dst(f, &p, 1, 1), -EINVAL);
	cr_assert_eq(gax_pkt_set_src(f, &p, 1, 1), -EINVAL);
	cr_assert_eq(gax_pkt_ttl_dec(f, &p), -EINVAL);
	cr_assert_eq(gax_pkt_icmp_echo_reply(f, &p), -EINVAL);
	cr_assert_arr_eq(f, before, len);
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	memcpy(before, f, len);
	cr_assert_eq(gax_pkt_arp_reply(f, len, &p, mac_a), -EINVAL);
	cr_assert_eq(gax_pkt_icmp_echo_reply(f, &p), -EINVAL);
	memset(&in, 0, sizeof(in));
	cr_assert_eq(gax_pkt_icmp_error_rewrite(f, &p, &in, &nat), -EINVAL);
	cr_assert_arr_eq(f, before, len);
}

/* ==== behaviour ========================================================== */

Test(parse, tcp_fields)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	struct gax_pkt p;
	uint32_t len;

	rng_seed(3);
	s.tcp_flags = GAX_PKT_TCP_SYN | GAX_PKT_TCP_ECE | GAX_PKT_TCP_CWR;
	s.ttl = 17;
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.ethertype, GAX_PKT_ETHERTYPE_IPV4);
	cr_assert_eq(p.l3_off, 14);
	cr_assert_eq(p.l4_off, 34);
	cr_assert_eq(p.proto, GAX_PKT_PROTO_TCP);
	cr_assert_eq(p.saddr, IP(198, 51, 100, 7));
	cr_assert_eq(p.daddr, IP(10, 0, 0, 100));
	cr_assert_eq(p.sport, 40000);
	cr_assert_eq(p.dport, 80);
	cr_assert_eq(p.tcp_flags, 0xc2);
	cr_assert_eq(p.ttl, 17);
	cr_assert_eq(p.ip_len, 20 + 32 + 37);
	cr_assert_eq(p.l4_len, 32 + 37);
	cr_assert_eq(p.payload_len, 37);
	cr_assert_eq(p.icmp_type, 0);
	cr_assert_eq(p.arp_op, 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
}

Test(parse, ethernet_padding_is_ignored)
{
	uint8_t f[FRAME_MAX];
	struct spec s = tcp_spec();
	struct gax_pkt p;
	uint32_t len;

	s.tcp_opt_len = 0;
	s.payload_len = 0;
	len = build(f, &s);
	cr_assert_eq(len, 54);
	memset(f + len, 0xee, 6); /* padding to 60 bytes, not zero */
	cr_assert_eq(parse_exact(f, 60, &p), 0);
	cr_assert_eq(p.ip_len, 40);
	cr_assert_eq(p.l4_len, 20);
	cr_assert_eq(p.payload_len, 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p), "the padding is not in the checksum");
}

Test(parse, udp_fields)
{
	uint8_t f[FRAME_MAX];
	struct spec s = udp_spec();
	struct gax_pkt p;
	uint32_t len;

	rng_seed(4);
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.proto, GAX_PKT_PROTO_UDP);
	cr_assert_eq(p.sport, 5353);
	cr_assert_eq(p.dport, 53);
	cr_assert_eq(p.ip_len, 20 + 8 + 23);
	cr_assert_eq(p.l4_len, 8 + 23);
	cr_assert_eq(p.payload_len, 23);
	cr_assert_eq(p.tcp_flags, 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));

	/* a UDP length shorter than the IP payload: the checksum covers the UDP length */
	wr16(f + ETH + IPH + 4, 8 + 10);
	ref_fix_l4(f + ETH);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.l4_len, 18);
	cr_assert_eq(p.payload_len, 10);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
}

Test(parse, icmp_fields)
{
	uint8_t f[FRAME_MAX];
	struct spec s = icmp_spec();
	struct gax_pkt p;
	uint32_t len;

	rng_seed(5);
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.proto, GAX_PKT_PROTO_ICMP);
	cr_assert_eq(p.icmp_type, 8);
	cr_assert_eq(p.icmp_code, 0);
	cr_assert_eq(p.sport, 0x1234, "the echo identifier is both ports");
	cr_assert_eq(p.dport, 0x1234);
	cr_assert_eq(p.l4_len, 64);
	cr_assert_eq(p.payload_len, 56);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));

	s.icmp_type = 13; /* timestamp: not an echo, no ports */
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.icmp_type, 13);
	cr_assert_eq(p.sport, 0);
	cr_assert_eq(p.dport, 0);
}

Test(parse, arp_fields)
{
	uint8_t f[FRAME_MAX];
	struct gax_pkt p;
	uint32_t len = build_arp(f, 2, mac_b, IP(10, 0, 0, 9), mac_a, IP(10, 0, 0, 1));

	cr_assert_eq(parse_exact(f, 42, &p), 0, "an unpadded ARP frame is fine");
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.ethertype, GAX_PKT_ETHERTYPE_ARP);
	cr_assert_eq(p.l3_off, 14);
	cr_assert_eq(p.l4_off, 0);
	cr_assert_eq(p.arp_op, GAX_PKT_ARP_REPLY);
	cr_assert_arr_eq(p.arp_sha, mac_b, 6);
	cr_assert_arr_eq(p.arp_tha, mac_a, 6);
	cr_assert_eq(p.arp_sip, IP(10, 0, 0, 9));
	cr_assert_eq(p.arp_tip, IP(10, 0, 0, 1));
	cr_assert_eq(p.saddr, 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
}

Test(checksum, partial_matches_reference_at_any_length_and_alignment)
{
	uint8_t buf[1600];
	int i;

	rng_seed(6);
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (i = 0; i < 3000; i++) {
		uint32_t off = rnd() % 8, len = rnd() % (sizeof(buf) - 8), cut, init;

		if (i < 64)
			len = (uint32_t)i;
		if (i % 7 == 0)
			memset(buf + off, 0xff, len); /* all ones: the carries */
		init = rnd() % 0x10000;
		cr_assert_eq(gax_pkt_csum_fold(gax_pkt_csum_partial(buf + off, len, init)),
				ref_csum(buf + off, len, init), "off %u len %u", off, len);
		/* chained at an even split */
		cut = (rnd() % (len + 1)) & ~1u;
		cr_assert_eq(gax_pkt_csum_fold(gax_pkt_csum_partial(buf + off + cut, len - cut,
				gax_pkt_csum_partial(buf + off, cut, init))),
				ref_csum(buf + off, len, init));
		if (i % 7 == 0)
			for (cut = 0; cut < len; cut++)
				buf[off + cut] = (uint8_t)rnd();
	}
	cr_assert_eq(gax_pkt_csum_fold(gax_pkt_csum_partial(buf, 0, 0)), 0xffff);
	cr_assert_eq(gax_pkt_csum_fold(0xffffffff), ref_csum(buf, 0, 0xffffffff));
}

/* The reference checksum of 12 words, word 0 being the checksum field (taken as 0). */
static uint16_t
ref_words(const uint16_t *w)
{
	uint8_t bytes[24];
	int k;

	for (k = 0; k < 12; k++)
		wr16(bytes + 2 * k, k == 0 ? 0 : w[k]);
	return ref_csum(bytes, sizeof(bytes), 0);
}

static bool
data_all_zero(const uint16_t *w)
{
	int k;

	for (k = 1; k < 12; k++)
		if (w[k] != 0)
			return false;
	return true;
}

/* The word that makes words 1-11 but @p j sum to 0xffff (checksum 0x0000). */
static uint16_t
word_for_zero_csum(const uint16_t *w, int j)
{
	uint32_t rest = 0;
	int k;

	for (k = 1; k < 12; k++)
		if (k != j)
			rest += w[k];
	while (rest >> 16)
		rest = (rest & 0xffff) + (rest >> 16);
	return (uint16_t)(0xffff - rest);
}

/*
 * RFC 1624 against recomputation: random words (corner values often), with
 * checksums forced to 0x0000 before or after the change. Exact equality, not
 * just equivalence: the update must not turn 0x0000 into 0xffff.
 */
Test(checksum, incremental_updates_match_recomputation)
{
	uint16_t w[12];
	int i, k, j;

	rng_seed(7);
	for (i = 0; i < 200000; i++) {
		uint16_t csum, old16, new16;
		uint32_t o32, n32;

		for (k = 1; k < 12; k++)
			w[k] = rnd16();
		if (i % 50 == 0)
			for (k = 1; k < 12; k++)
				w[k] = i % 100 == 0 ? 0xffff : 0;
		w[11] |= 1; /* never all zero, as real headers */
		if (i % 3 == 0) {
			w[10] = word_for_zero_csum(w, 10);
			cr_assert_eq(ref_words(w), 0);
		}
		csum = ref_words(w);

		/* one word changes, sometimes to the value that zeroes the checksum */
		j = 1 + (int)(rnd() % 11);
		old16 = w[j];
		new16 = i % 5 == 0 ? word_for_zero_csum(w, j) : rnd16();
		w[j] = new16;
		if (data_all_zero(w))
			continue; /* not a case real headers have */
		csum = (uint16_t)(w[0] = gax_pkt_csum_update16(csum, old16, new16));
		cr_assert_eq(csum, ref_words(w), "16-bit %04x -> %04x", old16, new16);

		/* then a 32-bit field, words 2 and 3 */
		o32 = (uint32_t)w[2] << 16 | w[3];
		n32 = (uint32_t)rnd16() << 16 | rnd16();
		if (i % 7 == 0)
			n32 = (uint32_t)w[2] << 16 | word_for_zero_csum(w, 3);
		w[2] = (uint16_t)(n32 >> 16);
		w[3] = (uint16_t)n32;
		if (data_all_zero(w))
			continue;
		csum = gax_pkt_csum_update32(csum, o32, n32);
		cr_assert_eq(csum, ref_words(w), "32-bit %08x -> %08x", o32, n32);
	}
}

Test(checksum, udp_rules)
{
	cr_assert_eq(gax_pkt_csum_udp_final(0), 0xffff);
	cr_assert_eq(gax_pkt_csum_udp_final(0x1234), 0x1234);
	cr_assert_eq(gax_pkt_csum_udp_final(0xffff), 0xffff);
	cr_assert_eq(gax_pkt_csum_udp_update16(0, 1, 2), 0, "absent stays absent");
	cr_assert_eq(gax_pkt_csum_udp_update32(0, 1, 0xffffffff), 0);
	/* csum 0x0001 with the word going up by one: the result is 0, sent as 0xffff */
	cr_assert_eq(gax_pkt_csum_update16(0x0001, 0x0000, 0x0001), 0x0000);
	cr_assert_eq(gax_pkt_csum_udp_update16(0x0001, 0x0000, 0x0001), 0xffff);
	cr_assert_eq(gax_pkt_csum_udp_update32(0x0001, 0x00000000, 0x00000001), 0xffff);
	/* from 0xffff (a computed 0) onwards */
	cr_assert_eq(gax_pkt_csum_udp_update16(0xffff, 0x0001, 0x0000), 0x0001);
}

/* Rewrite random tuples on @p s's frames and check every checksum from scratch. */
static void
check_random_rewrites(struct spec s, int rounds)
{
	uint8_t f[FRAME_MAX];
	struct gax_pkt p, q;
	uint32_t len;
	int i;

	for (i = 0; i < rounds; i++) {
		uint32_t da = rnd_dst(), sa = rnd_src();
		uint16_t dp = rnd16(), sp = rnd16();
		bool udp0;

		s.saddr = rnd_src();
		s.daddr = rnd_dst();
		s.sport = rnd16();
		s.dport = rnd16();
		s.payload_len = (uint16_t)(rnd() % 64);
		s.udp_no_csum = s.proto == 17 && rnd() % 8 == 0;
		len = build(f, &s);
		udp0 = s.udp_no_csum;
		cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
		cr_assert_eq(gax_pkt_set_dst(f, &p, da, dp), 0);
		assert_csums_exact(f, "set_dst");
		cr_assert_eq(gax_pkt_set_src(f, &p, sa, sp), 0);
		assert_csums_exact(f, "set_src");
		cr_assert_eq(gax_pkt_parse(f, len, &q), 0);
		cr_assert(gax_pkt_l4_csum_ok(f, &q));
		cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "p describes the rewritten frame");
		cr_assert_eq(q.saddr, sa);
		cr_assert_eq(q.daddr, da);
		if (s.proto == 1) {
			cr_assert_eq(q.sport, sp, "echo identifier set by the last rewrite");
			cr_assert_eq(q.dport, sp);
		} else {
			cr_assert_eq(q.sport, sp);
			cr_assert_eq(q.dport, dp);
		}
		if (udp0)
			cr_assert_eq(rd16(f + ETH + IPH + 6), 0, "UDP checksum 0 stays 0");
		if (s.ttl > 1) {
			cr_assert_eq(gax_pkt_ttl_dec(f, &p), 0);
			cr_assert_eq(p.ttl, s.ttl - 1);
			cr_assert_eq(f[ETH + 8], s.ttl - 1);
			assert_csums_exact(f, "ttl_dec");
		}
	}
}

Test(rewrite, random_tcp_udp_icmp_rewrites_keep_checksums_exact)
{
	struct spec s;

	rng_seed(8);
	s = tcp_spec();
	check_random_rewrites(s, 20000);
	s = udp_spec();
	check_random_rewrites(s, 20000);
	s = icmp_spec();
	check_random_rewrites(s, 20000);
	s = tcp_spec();
	s.ttl = 2;
	check_random_rewrites(s, 100);
	s.ttl = 255;
	check_random_rewrites(s, 100);
}

/*
 * gax_pkt_nat_forward() gives the very bytes of ttl_dec + set_dst + set_src,
 * and exact checksums, on random TCP and UDP frames (UDP without checksum too).
 */
static void
check_nat_forward(struct spec s, int rounds)
{
	uint8_t f[FRAME_MAX], g[FRAME_MAX];
	struct gax_pkt p, q;
	uint32_t len;
	int i;

	for (i = 0; i < rounds; i++) {
		uint32_t da = rnd() % 4 == 0 ? 0 : rnd_dst(), sa = rnd() % 4 == 0 ? 0 : rnd_src();
		uint16_t dp = rnd16(), sp = rnd16();

		s.saddr = rnd_src();
		s.daddr = rnd_dst();
		s.sport = rnd16();
		s.dport = rnd16();
		s.ttl = (uint8_t)(2 + rnd() % 254);
		s.payload_len = (uint16_t)(rnd() % 64);
		s.udp_no_csum = s.proto == 17 && rnd() % 8 == 0;
		len = build(f, &s);
		/* Now and then a field keeps its value (reserved client: no SNAT). */
		if (sa == 0) {
			sa = s.saddr;
			sp = s.sport;
		}
		if (da == 0)
			da = s.daddr;
		memcpy(g, f, len);
		cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
		cr_assert_eq(gax_pkt_parse(g, len, &q), 0);
		cr_assert_eq(gax_pkt_nat_forward(f, &p, sa, sp, da, dp), 0);
		cr_assert_eq(gax_pkt_ttl_dec(g, &q), 0);
		cr_assert_eq(gax_pkt_set_dst(g, &q, da, dp), 0);
		cr_assert_eq(gax_pkt_set_src(g, &q, sa, sp), 0);
		cr_assert_eq(memcmp(f, g, len), 0, "same bytes as the three rewrites in turn");
		cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "p describes the rewritten frame");
		assert_csums_exact(f, "nat_forward");
		if (s.udp_no_csum)
			cr_assert_eq(rd16(f + ETH + IPH + 6), 0, "UDP checksum 0 stays 0");
	}
}

Test(rewrite, nat_forward_equals_ttl_dst_src_in_turn)
{
	struct spec s;
	uint8_t f[FRAME_MAX];
	struct gax_pkt p;
	uint32_t len;

	rng_seed(9);
	check_nat_forward(tcp_spec(), 20000);
	check_nat_forward(udp_spec(), 20000);
	/* TTL 1: nothing changes; ICMP: not this function's */
	s = tcp_spec();
	s.ttl = 1;
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(gax_pkt_nat_forward(f, &p, 1, 2, 3, 4), GAX_DROP_TTL_EXPIRED);
	cr_assert_eq(rd32(f + ETH + 16), s.daddr, "frame unchanged");
	s = icmp_spec();
	len = build(f, &s);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(gax_pkt_nat_forward(f, &p, 1, 2, 3, 4), -EINVAL);
}

/* Find the destination port that makes the UDP checksum compute to 0, and rewrite to it. */
Test(rewrite, udp_result_zero_is_sent_as_ffff_tcp_keeps_zero)
{
	uint8_t f[FRAME_MAX], g[FRAME_MAX];
	struct spec s = udp_spec();
	struct gax_pkt p;
	uint32_t len, port;
	uint16_t zero_port = 0;
	bool found = false;

	rng_seed(9);
	len = build(f, &s);
	for (port = 0; port <= 0xffff && !found; port++) {
		wr16(f + ETH + IPH + 2, (uint16_t)port);
		if (ref_l4_expected(f + ETH) == 0xffff) {
			uint8_t copy[FRAME_MAX];

			/* computed 0 or 0xffff? recompute raw */
			memcpy(copy, f + ETH + IPH, len - ETH - IPH);
			copy[6] = copy[7] = 0;
			if (ref_csum(copy, len - ETH - IPH, ref_pseudo(f + ETH, 17,
					len - ETH - IPH)) == 0) {
				zero_port = (uint16_t)port;
				found = true;
			}
		}
	}
	cr_assert(found);
	wr16(f + ETH + IPH + 2, 53);
	ref_fix_l4(f + ETH);
	memcpy(g, f, len);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(gax_pkt_set_dst(f, &p, p.daddr, zero_port), 0);
	cr_assert_eq(rd16(f + ETH + IPH + 6), 0xffff, "computed 0 is sent as 0xffff");
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
	/* and back: from 0xffff to an ordinary value */
	cr_assert_eq(gax_pkt_set_dst(f, &p, p.daddr, 53), 0);
	cr_assert_arr_eq(f, g, len);

	/* the same bytes as TCP-checksummed data would keep 0x0000 */
	cr_assert_eq(gax_pkt_csum_update16(rd16(g + ETH + IPH + 6), 53, zero_port), 0x0000);
}

Test(rewrite, set_macs)
{
	uint8_t f[FRAME_MAX], before[FRAME_MAX];
	static const uint8_t src[6] = { 1, 2, 3, 4, 5, 6 };
	static const uint8_t dst[6] = { 0xa, 0xb, 0xc, 0xd, 0xe, 0xf };
	struct spec s = tcp_spec();
	uint32_t len = build(f, &s);

	memcpy(before, f, len);
	gax_pkt_set_macs(f, src, dst);
	cr_assert_arr_eq(f, dst, 6);
	cr_assert_arr_eq(f + 6, src, 6);
	cr_assert_arr_eq(f + 12, before + 12, len - 12);
}

Test(reply, arp_reply_bytes)
{
	static const uint8_t req_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t my_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	uint8_t f[FRAME_MAX], want[60];
	struct gax_pkt p, q;
	uint32_t len = build_arp(f, 1, req_mac, IP(10, 0, 0, 254), (const uint8_t[6]){ 0 },
			IP(10, 0, 0, 100));
	static const uint8_t expect[42] = {
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 0, 0, 100,
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 0, 254,
	};

	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(gax_pkt_arp_reply(f, 41, &p, my_mac), -EINVAL, "too short");
	cr_assert_eq(gax_pkt_arp_reply(f, len, &p, my_mac), 0);
	memset(want, 0, sizeof(want));
	memcpy(want, expect, sizeof(expect));
	cr_assert_arr_eq(f, want, 60);
	cr_assert_eq(gax_pkt_parse(f, len, &q), 0);
	cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "p describes the reply");
	cr_assert_eq(gax_pkt_arp_reply(f, len, &p, my_mac), -EINVAL, "a reply is not answered");
}

Test(reply, arp_request_bytes)
{
	static const uint8_t my_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t expect[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 1, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 1, 0, 11,
	};
	uint8_t buf[128], want[60];
	struct gax_pkt p;

	memset(buf, 0xaa, sizeof(buf));
	cr_assert_eq(gax_pkt_arp_request(buf, 59, my_mac, IP(10, 1, 0, 1), IP(10, 1, 0, 11)),
			-ENOSPC);
	cr_assert_eq(buf[0], 0xaa, "nothing written when it does not fit");
	cr_assert_eq(gax_pkt_arp_request(buf, 60, my_mac, IP(10, 1, 0, 1), IP(10, 1, 0, 11)), 60);
	memset(want, 0, sizeof(want));
	memcpy(want, expect, sizeof(expect));
	cr_assert_arr_eq(buf, want, 60);
	cr_assert_eq(buf[60], 0xaa);
	cr_assert_eq(gax_pkt_parse(buf, 60, &p), 0);
	cr_assert_eq(p.arp_op, GAX_PKT_ARP_REQUEST);
	cr_assert_eq(p.arp_sip, IP(10, 1, 0, 1));
	cr_assert_eq(p.arp_tip, IP(10, 1, 0, 11));
	/* gratuitous */
	cr_assert_eq(gax_pkt_arp_request(buf, sizeof(buf), my_mac, IP(10, 0, 0, 100),
			IP(10, 0, 0, 100)), 60);
	cr_assert_eq(gax_pkt_parse(buf, 60, &p), 0);
	cr_assert_eq(p.arp_sip, p.arp_tip);
}

static void
check_echo_reply(struct spec s)
{
	uint8_t f[FRAME_MAX], req[FRAME_MAX];
	struct gax_pkt p, q;
	uint32_t len = build(f, &s);

	memcpy(req, f, len);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(gax_pkt_icmp_echo_reply(f, &p), 0);
	cr_assert_arr_eq(f, req + 6, 6, "Ethernet addresses swapped");
	cr_assert_arr_eq(f + 6, req, 6);
	cr_assert_eq(rd32(f + ETH + 12), s.daddr);
	cr_assert_eq(rd32(f + ETH + 16), s.saddr);
	cr_assert_eq(f[ETH + 8], GAX_PKT_DEFAULT_TTL);
	cr_assert_eq(f[ETH + IPH], 0);
	cr_assert_eq(f[ETH + IPH + 1], 0);
	cr_assert_arr_eq(f + ETH + IPH + 4, req + ETH + IPH + 4, len - ETH - IPH - 4,
			"identifier, sequence and data echoed");
	assert_csums_exact(f, "echo reply");
	cr_assert_eq(gax_pkt_parse(f, len, &q), 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &q));
	cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "p describes the reply");
	cr_assert_eq(gax_pkt_icmp_echo_reply(f, &p), -EINVAL, "a reply is not answered");
}

Test(reply, icmp_echo_reply)
{
	struct spec s = icmp_spec();
	int i;

	rng_seed(10);
	check_echo_reply(s);
	s.ttl = 1; /* gax's own address: no forwarding, the TTL does not matter */
	check_echo_reply(s);
	/* all zero but the type: the reply's checksum must be 0xffff, not 0x0000 */
	s.sport = 0;
	s.dport = 0;
	s.payload_len = 0;
	s.zero_payload = true;
	check_echo_reply(s);
	s.payload_len = 33;
	check_echo_reply(s);
	s.zero_payload = false;
	for (i = 0; i < 2000; i++) {
		s.saddr = rnd_src();
		s.daddr = rnd_src();
		s.sport = rnd16();
		s.dport = rnd16();
		s.ttl = (uint8_t)rnd();
		s.payload_len = (uint16_t)(rnd() % 100);
		check_echo_reply(s);
	}
}

/* ==== ICMP errors for a NATed flow ======================================= */

struct nat_case {
	uint32_t client, vip, local, endpoint, router;
	uint16_t cport, vport, lport, eport;
};

/*
 * The full path: a client packet (client:cport -> vip:vport) is forwarded by
 * gax (DNAT to endpoint:eport, SNAT to local:lport, TTL - 1); a router on the
 * endpoint side sends an ICMP error about it, embedding @p emb bytes (0: the
 * whole packet); gax translates it back to the client. The embedded packet
 * must become the client's own, checksums included.
 */
static void
check_error_translation(struct spec s, const struct nat_case *c, uint8_t type, uint8_t code,
		uint32_t emb)
{
	uint8_t orig[FRAME_MAX], fwd[FRAME_MAX], f[FRAME_MAX], icmp_copy[FRAME_MAX];
	struct gax_pkt p, q;
	struct gax_pkt_inner in;
	struct gax_pkt_icmp_nat nat;
	uint32_t olen, len, ilen, k;
	uint8_t *e;

	s.saddr = c->client;
	s.daddr = c->vip;
	s.sport = c->cport;
	s.dport = c->vport;
	olen = build(orig, &s);
	memcpy(fwd, orig, olen);
	cr_assert_eq(gax_pkt_parse(fwd, olen, &p), 0);
	cr_assert_eq(gax_pkt_set_dst(fwd, &p, c->endpoint, c->eport), 0);
	cr_assert_eq(gax_pkt_set_src(fwd, &p, c->local, c->lport), 0);
	cr_assert_eq(gax_pkt_ttl_dec(fwd, &p), 0);
	assert_csums_exact(fwd, "forwarded");

	ilen = olen - ETH;
	if (emb == 0 || emb > ilen)
		emb = ilen;
	len = build_icmp_error(f, type, code, type == 3 && code == 4 ? 1400 : 0, c->router,
			fwd + ETH, emb);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert(gax_pkt_l4_csum_ok(f, &p));
	cr_assert_eq(p.daddr, c->local);
	cr_assert_eq(gax_pkt_parse_icmp_error(f, &p, &in), 0);
	cr_assert_eq(in.type, type);
	cr_assert_eq(in.code, code);
	cr_assert_eq(in.mtu, type == 3 && code == 4 ? 1400 : 0);
	cr_assert_eq(in.proto, s.proto);
	cr_assert_eq(in.saddr, c->local);
	cr_assert_eq(in.daddr, c->endpoint);
	if (s.proto == 1) {
		cr_assert_eq(in.sport, c->lport);
		cr_assert_eq(in.dport, c->lport);
	} else {
		cr_assert_eq(in.sport, c->lport);
		cr_assert_eq(in.dport, c->eport);
	}
	cr_assert_eq(in.l3_off, ETH + IPH + 8);
	cr_assert_eq(in.l4_off, ETH + IPH + 8 + IPH);
	cr_assert_eq(in.l4_avail, emb - IPH);

	nat = (struct gax_pkt_icmp_nat){ .outer_saddr = c->vip, .outer_daddr = c->client,
		.inner_saddr = c->client, .inner_daddr = c->vip,
		.inner_sport = c->cport, .inner_dport = c->vport };
	cr_assert_eq(gax_pkt_icmp_error_rewrite(f, &p, &in, &nat), 0);

	/* what the client gets */
	cr_assert_eq(gax_pkt_parse(f, len, &q), 0);
	cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "p describes the translated frame");
	cr_assert_eq(q.saddr, c->vip);
	cr_assert_eq(q.daddr, c->client);
	cr_assert_eq(q.icmp_type, type);
	cr_assert_eq(q.icmp_code, code);
	cr_assert_eq(rd16(f + ETH + IPH + 6), type == 3 && code == 4 ? 1400 : 0, "MTU kept");
	assert_csums_exact(f, "translated error (outer IP and ICMP)");
	cr_assert(gax_pkt_l4_csum_ok(f, &q));
	e = f + ETH + IPH + 8;
	memcpy(icmp_copy, e, IPH);
	icmp_copy[10] = icmp_copy[11] = 0;
	cr_assert_eq(rd16(e + 10), ref_csum(icmp_copy, IPH, 0), "embedded IP checksum exact");
	/* the embedded packet is the client's, but for the TTL gax decremented */
	for (k = 0; k < emb; k++) {
		if (k == 8 || k == 10 || k == 11)
			continue;
		if (s.proto == 6 && emb < IPH + 18 && k >= IPH + 16)
			continue; /* half a TCP checksum: cannot be updated */
		cr_assert_eq(e[k], orig[ETH + k], "embedded byte %u of %u: %02x, client sent %02x",
				k, emb, e[k], orig[ETH + k]);
	}
	cr_assert_eq(e[8], orig[ETH + 8] - 1);
	cr_assert_eq(in.saddr, c->client);
	cr_assert_eq(in.daddr, c->vip);
	cr_assert_eq(in.sport, c->cport);
	if (emb == ilen) {
		/* whole packet embedded: its L4 checksum verifies from scratch */
		assert_csums_exact(f + IPH + 8, "embedded packet");
	}
}

static const struct nat_case nat_base = {
	.client = IP(198, 51, 100, 7), .vip = IP(203, 0, 113, 10), .local = IP(10, 1, 0, 1),
	.endpoint = IP(10, 1, 0, 11), .router = IP(10, 1, 0, 254),
	.cport = 40000, .vport = 443, .lport = 61000, .eport = 8443,
};

Test(icmp_error, frag_needed_for_a_natted_tcp_flow)
{
	struct spec s = tcp_spec();

	rng_seed(11);
	s.tcp_opt_len = 0;
	s.payload_len = 1460;
	check_error_translation(s, &nat_base, 3, 4, 28);	/* IP header + 8 bytes */
	check_error_translation(s, &nat_base, 3, 4, 40);	/* TCP checksum included */
	check_error_translation(s, &nat_base, 3, 4, 548);	/* as much as fits in 576 */
	check_error_translation(s, &nat_base, 3, 4, 0);		/* the whole packet */
	check_error_translation(s, &nat_base, 11, 0, 28);	/* time exceeded */
	check_error_translation(s, &nat_base, 3, 1, 0);		/* host unreachable */
}

Test(icmp_error, udp_and_echo_flows)
{
	struct spec s;

	rng_seed(12);
	s = udp_spec();
	check_error_translation(s, &nat_base, 3, 4, 28);
	check_error_translation(s, &nat_base, 3, 3, 0);
	s.udp_no_csum = true;
	check_error_translation(s, &nat_base, 3, 4, 28);
	check_error_translation(s, &nat_base, 3, 4, 0);
	s = icmp_spec();
	check_error_translation(s, &nat_base, 11, 0, 28);
	check_error_translation(s, &nat_base, 3, 4, 0);
}

Test(icmp_error, random_translations_keep_every_checksum)
{
	struct spec s;
	struct nat_case c;
	int i;

	rng_seed(13);
	for (i = 0; i < 6000; i++) {
		switch (i % 3) {
		case 0:
			s = tcp_spec();
			s.tcp_opt_len = (uint16_t)(4 * (rnd() % 11));
			break;
		case 1:
			s = udp_spec();
			s.udp_no_csum = rnd() % 8 == 0;
			break;
		default:
			s = icmp_spec();
			break;
		}
		s.payload_len = (uint16_t)(rnd() % 200);
		s.ttl = (uint8_t)(2 + rnd() % 254);
		c.client = rnd_src();
		c.vip = rnd_src();
		c.local = rnd_src();
		c.endpoint = rnd_src();
		c.router = rnd_src();
		c.cport = rnd16();
		c.vport = rnd16();
		c.lport = rnd16();
		c.eport = rnd16();
		check_error_translation(s, &c, rnd() % 2 ? 3 : 11, (uint8_t)(rnd() % 16),
				28 + rnd() % 300);
	}
}

/* The reverse direction: an error about a reply gax sent to the client goes to the endpoint. */
Test(icmp_error, error_about_a_reply_goes_back_to_the_endpoint)
{
	uint8_t rep[FRAME_MAX], f[FRAME_MAX];
	struct spec s = udp_spec();
	struct gax_pkt p;
	struct gax_pkt_inner in;
	struct gax_pkt_icmp_nat nat;
	uint32_t len;

	rng_seed(14);
	/* the reply as gax sent it: vip:443 -> client:40000 */
	s.saddr = nat_base.vip;
	s.daddr = nat_base.client;
	s.sport = nat_base.vport;
	s.dport = nat_base.cport;
	len = build(rep, &s);
	len = build_icmp_error(f, 3, 3, 0, IP(198, 51, 100, 1), rep + ETH, len - ETH);
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.daddr, nat_base.vip);
	cr_assert_eq(gax_pkt_parse_icmp_error(f, &p, &in), 0);
	nat = (struct gax_pkt_icmp_nat){ .outer_saddr = nat_base.local,
		.outer_daddr = nat_base.endpoint,
		.inner_saddr = nat_base.endpoint, .inner_daddr = nat_base.local,
		.inner_sport = nat_base.eport, .inner_dport = nat_base.lport };
	cr_assert_eq(gax_pkt_icmp_error_rewrite(f, &p, &in, &nat), 0);
	assert_csums_exact(f, "outer");
	assert_csums_exact(f + IPH + 8, "embedded reply");
	cr_assert_eq(gax_pkt_parse(f, len, &p), 0);
	cr_assert_eq(p.daddr, nat_base.endpoint);
	cr_assert_eq(gax_pkt_parse_icmp_error(f, &p, &in), 0);
	cr_assert_eq(in.saddr, nat_base.endpoint);
	cr_assert_eq(in.sport, nat_base.eport);
	cr_assert_eq(in.daddr, nat_base.local);
	cr_assert_eq(in.dport, nat_base.lport);
}
