/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding decision of a worker (lib/fwd), driven like gaxd drives it
 * but with plain buffers: a snapshot compiled from a JSON configuration, a
 * worker with MACs per interface and recording I/O callbacks, and frames
 * built here by hand fed through gax_fwd_burst().
 *
 * Invalid input first (every drop the path decides: not for us, no listener,
 * no flow, bad checksum, TTL, full table), then behaviour: ARP answered for
 * owned addresses on their interface, a TCP flow held for ARP then rewritten
 * and sent both ways, source-IP affinity and weights, reserved client
 * addresses, UDP, ICMP echo and ICMP errors translated, timers (flow expiry,
 * ARP retries, held packets given up), counters, and steering across two
 * workers.
 *
 * Every rewritten frame is compared byte for byte with the frame the same
 * builder makes from the expected addresses, ports and TTL, and its checksums
 * are checked against a reference computation that shares no code with
 * lib/packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_config.h>
#include <gax_fwd.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define ETH 14
#define IPH 20
#define FRAME_MAX 1600
#define SEC 1000000000ull	/* the worker's ticks are nanoseconds */
#define MS 1000000ull
#define T0 (1000 * SEC)

enum { WAN = 0, LAN = 1 };

#define WAN_IP	IP(10, 0, 0, 1)
#define LAN_IP	IP(10, 1, 0, 1)
#define GW	IP(10, 0, 0, 254)
#define VIP	IP(10, 0, 0, 100)	/* web: tcp 80 (-> 8080), 8080-8085, 9000; udp 53 */
#define VIP2	IP(10, 0, 0, 101)	/* keep: tcp 443, udp 443, client IP reserved */
#define CLIENT	IP(10, 0, 0, 7)		/* on-link on wan */
#define E11	IP(10, 1, 0, 11)
#define E12	IP(10, 1, 0, 12)
#define E13	IP(10, 1, 0, 13)	/* weight 0 */
#define E21	IP(10, 1, 0, 21)	/* udp 53 */
#define E31	IP(10, 1, 0, 31)	/* tcp 443, reserved */
#define E41	IP(10, 1, 0, 41)	/* udp 443, reserved */
#define REMOTE	IP(192, 0, 2, 50)	/* tcp 9000, through the gateway */

static const char config_json[] =
	"{\"interfaces\": ["
	" {\"name\": \"wan\", \"device\": \"net_null0\", \"addresses\": [\"10.0.0.1/24\"],"
	"  \"gateway\": \"10.0.0.254\"},"
	" {\"name\": \"lan\", \"device\": \"net_null1\", \"addresses\": [\"10.1.0.1/24\"],"
	"  \"neighbors\": [{\"address\": \"10.1.0.99\", \"mac\": \"02:00:00:00:01:63\"}]}],"
	" \"accelerators\": ["
	"  {\"name\": \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
	"   {\"name\": \"tcp-80\", \"protocol\": \"tcp\", \"port_ranges\": \"80,8080~8085\","
	"    \"client_affinity\": \"source_ip\", \"endpoint_groups\": ["
	"     {\"name\": \"eg-local\", \"region\": \"local\","
	"      \"port_overrides\": [{\"listener_port\": 80, \"endpoint_port\": 8080}],"
	"      \"endpoints\": [{\"type\": \"ip\", \"address\": \"10.1.0.11\", \"weight\": 100},"
	"                     {\"type\": \"ip\", \"address\": \"10.1.0.12\", \"weight\": 50},"
	"                     {\"type\": \"ip\", \"address\": \"10.1.0.13\", \"weight\": 0}]}]},"
	"   {\"name\": \"udp-53\", \"protocol\": \"udp\", \"port_ranges\": \"53\","
	"    \"client_affinity\": \"none\", \"idle_timeout\": 20,"
	"    \"endpoint_groups\": [{\"name\": \"eg-dns\","
	"      \"endpoints\": [{\"address\": \"10.1.0.21\", \"weight\": 1}]}]},"
	"   {\"name\": \"tcp-9000\", \"protocol\": \"tcp\", \"port_ranges\": \"9000\","
	"    \"endpoint_groups\": [{\"name\": \"eg-remote\","
	"      \"endpoints\": [{\"address\": \"192.0.2.50\"}]}]}]},"
	"  {\"name\": \"keep\", \"addresses\": [\"10.0.0.101\"], \"listeners\": ["
	"   {\"name\": \"tcp-443\", \"protocol\": \"tcp\", \"port_ranges\": \"443\","
	"    \"endpoint_groups\": [{\"name\": \"eg-keep\", \"reserve_client_ip\": true,"
	"      \"endpoints\": [{\"address\": \"10.1.0.31\"}]}]},"
	"   {\"name\": \"udp-443\", \"protocol\": \"udp\", \"port_ranges\": \"443\","
	"    \"endpoint_groups\": [{\"name\": \"eg-keep-udp\", \"reserve_client_ip\": true,"
	"      \"endpoints\": [{\"address\": \"10.1.0.41\"}]}]}]}]}";

static const uint8_t wan_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t lan_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x77 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6] = { 0 };

/* Every neighbour's MAC is derived from its address: 02:aa:a.b.c.d. */
static const uint8_t *
mac_of(uint32_t ip)
{
	static uint8_t ring[16][6];
	static unsigned int k;
	uint8_t *m = ring[k++ % 16];

	m[0] = 0x02;
	m[1] = 0xaa;
	m[2] = (uint8_t)(ip >> 24);
	m[3] = (uint8_t)(ip >> 16);
	m[4] = (uint8_t)(ip >> 8);
	m[5] = (uint8_t)ip;
	return m;
}

static const uint8_t *
our_mac(uint16_t iface)
{
	return iface == WAN ? wan_mac : lan_mac;
}

static uint32_t
our_ip(uint16_t iface)
{
	return iface == WAN ? WAN_IP : LAN_IP;
}

/* ---- bytes and a reference checksum (no code shared with lib/packet) ------------- */

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
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* One's complement sum of big-endian words, the obvious way, not folded/complemented. */
static uint32_t
ref_sum(const uint8_t *b, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t
ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The L4 checksum field a correct sender writes, with the field itself zeroed. */
static uint16_t
ref_l4_field(const uint8_t *ip)
{
	uint8_t copy[FRAME_MAX];
	uint32_t len = rd16(ip + 2) - IPH, off, sum = 0;
	uint16_t c;

	switch (ip[9]) {
	case 6:
		off = 16;
		break;
	case 17:
		off = 6;
		len = rd16(ip + IPH + 4);
		break;
	default:
		off = 2;
		break;
	}
	memcpy(copy, ip + IPH, len);
	copy[off] = copy[off + 1] = 0;
	if (ip[9] != 1)
		sum = rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18) + ip[9] + len;
	c = ref_fold(ref_sum(copy, len, sum));
	if (ip[9] == 17 && c == 0)
		c = 0xffff;
	return c;
}

static uint16_t
ref_ip_field(const uint8_t *ip)
{
	uint8_t h[IPH];

	memcpy(h, ip, IPH);
	h[10] = h[11] = 0;
	return ref_fold(ref_sum(h, IPH, 0));
}

static uint32_t
l4_csum_off(uint8_t proto)
{
	return proto == 6 ? 16 : proto == 17 ? 6 : 2;
}

/* Assert the IPv4 and L4 checksums of frame @p f are what a fresh computation gives. */
static void
assert_csums(const uint8_t *f, const char *what)
{
	const uint8_t *ip = f + ETH;
	uint16_t l4 = rd16(ip + IPH + l4_csum_off(ip[9]));

	cr_assert_eq(rd16(ip + 10), ref_ip_field(ip), "%s: IP checksum %04x, expected %04x", what,
			rd16(ip + 10), ref_ip_field(ip));
	if (ip[9] == 17 && l4 == 0)
		return;
	cr_assert_eq(l4, ref_l4_field(ip), "%s: L4 checksum %04x, expected %04x", what, l4,
			ref_l4_field(ip));
}

/* ---- frames --------------------------------------------------------------------- */

struct frm {
	uint8_t b[FRAME_MAX];
	uint16_t len;
};

static void
eth(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint16_t type)
{
	memcpy(f->b, dmac, 6);
	memcpy(f->b + 6, smac, 6);
	wr16(f->b + 12, type);
}

/* IPv4 header with the checksum computed by the gax_pkt_csum_*() helpers. */
static void
ipv4(struct frm *f, uint32_t sa, uint32_t da, uint8_t proto, uint8_t ttl, uint16_t l4_len)
{
	uint8_t *ip = f->b + ETH;

	ip[0] = 0x45;
	ip[1] = 0;
	wr16(ip + 2, (uint16_t)(IPH + l4_len));
	wr16(ip + 4, 0x4242);
	wr16(ip + 6, 0x4000); /* DF */
	ip[8] = ttl;
	ip[9] = proto;
	wr16(ip + 10, 0);
	wr32(ip + 12, sa);
	wr32(ip + 16, da);
	wr16(ip + 10, gax_pkt_csum_fold(gax_pkt_csum_partial(ip, IPH, 0)));
}

static void
fill_payload(uint8_t *p, uint16_t n, uint8_t seed)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void
pad(struct frm *f, uint16_t len)
{
	f->len = len;
	if (f->len < GAX_PKT_ETH_MIN_LEN) {
		memset(f->b + f->len, 0, GAX_PKT_ETH_MIN_LEN - f->len);
		f->len = GAX_PKT_ETH_MIN_LEN;
	}
}

static void
l4_csum(struct frm *f, bool udp_zero)
{
	uint8_t *ip = f->b + ETH, *l4 = ip + IPH;
	uint16_t len = (uint16_t)(rd16(ip + 2) - IPH);
	uint32_t off = l4_csum_off(ip[9]), sum = 0;
	uint16_t c;

	wr16(l4 + off, 0);
	if (udp_zero)
		return;
	if (ip[9] != GAX_PKT_PROTO_ICMP)
		sum = gax_pkt_csum_pseudo(rd32(ip + 12), rd32(ip + 16), ip[9], len);
	c = gax_pkt_csum_fold(gax_pkt_csum_partial(l4, len, sum));
	if (ip[9] == GAX_PKT_PROTO_UDP)
		c = gax_pkt_csum_udp_final(c);
	wr16(l4 + off, c);
}

static void
tcp(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sa, uint32_t da,
		uint16_t sp, uint16_t dp, uint8_t flags, uint8_t ttl, uint16_t paylen)
{
	uint8_t *l4 = f->b + ETH + IPH;

	memset(f->b, 0, sizeof(f->b));
	eth(f, dmac, smac, GAX_PKT_ETHERTYPE_IPV4);
	ipv4(f, sa, da, GAX_PKT_PROTO_TCP, ttl, (uint16_t)(20 + paylen));
	wr16(l4, sp);
	wr16(l4 + 2, dp);
	wr32(l4 + 4, 0x01020304);
	wr32(l4 + 8, (flags & GAX_PKT_TCP_ACK) ? 0xa0b0c0d0 : 0);
	l4[12] = 5 << 4;
	l4[13] = flags;
	wr16(l4 + 14, 65535);
	fill_payload(l4 + 20, paylen, (uint8_t)paylen);
	l4_csum(f, false);
	pad(f, (uint16_t)(ETH + IPH + 20 + paylen));
}

static void
udp_z(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sa, uint32_t da,
		uint16_t sp, uint16_t dp, uint8_t ttl, uint16_t paylen, bool zero_csum)
{
	uint8_t *l4 = f->b + ETH + IPH;

	memset(f->b, 0, sizeof(f->b));
	eth(f, dmac, smac, GAX_PKT_ETHERTYPE_IPV4);
	ipv4(f, sa, da, GAX_PKT_PROTO_UDP, ttl, (uint16_t)(8 + paylen));
	wr16(l4, sp);
	wr16(l4 + 2, dp);
	wr16(l4 + 4, (uint16_t)(8 + paylen));
	fill_payload(l4 + 8, paylen, 0x33);
	l4_csum(f, zero_csum);
	pad(f, (uint16_t)(ETH + IPH + 8 + paylen));
}

static void
udp(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sa, uint32_t da,
		uint16_t sp, uint16_t dp, uint8_t ttl, uint16_t paylen)
{
	udp_z(f, dmac, smac, sa, da, sp, dp, ttl, paylen, false);
}

static void
icmp_echo(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sa, uint32_t da,
		uint8_t type, uint8_t ttl, uint16_t id, uint16_t seq, uint16_t paylen)
{
	uint8_t *l4 = f->b + ETH + IPH;

	memset(f->b, 0, sizeof(f->b));
	eth(f, dmac, smac, GAX_PKT_ETHERTYPE_IPV4);
	ipv4(f, sa, da, GAX_PKT_PROTO_ICMP, ttl, (uint16_t)(8 + paylen));
	l4[0] = type;
	l4[1] = 0;
	wr16(l4 + 4, id);
	wr16(l4 + 6, seq);
	fill_payload(l4 + 8, paylen, 0x55);
	l4_csum(f, false);
	pad(f, (uint16_t)(ETH + IPH + 8 + paylen));
}

/* An ICMP error carrying @p inner_len bytes of @p inner (an IPv4 packet's start). */
static void
icmp_error(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sa, uint32_t da,
		uint8_t type, uint8_t code, uint16_t mtu, uint8_t ttl, const uint8_t *inner,
		uint16_t inner_len)
{
	uint8_t *l4 = f->b + ETH + IPH;

	memset(f->b, 0, sizeof(f->b));
	eth(f, dmac, smac, GAX_PKT_ETHERTYPE_IPV4);
	ipv4(f, sa, da, GAX_PKT_PROTO_ICMP, ttl, (uint16_t)(8 + inner_len));
	l4[0] = type;
	l4[1] = code;
	wr16(l4 + 6, mtu);
	memcpy(l4 + 8, inner, inner_len);
	l4_csum(f, false);
	pad(f, (uint16_t)(ETH + IPH + 8 + inner_len));
}

static void
arp(struct frm *f, const uint8_t *dmac, const uint8_t *smac, uint16_t op, const uint8_t *sha,
		uint32_t sip, const uint8_t *tha, uint32_t tip)
{
	uint8_t *a = f->b + ETH;

	memset(f->b, 0, sizeof(f->b));
	eth(f, dmac, smac, GAX_PKT_ETHERTYPE_ARP);
	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	wr32(a + 14, sip);
	memcpy(a + 18, tha, 6);
	wr32(a + 24, tip);
	f->len = GAX_PKT_ETH_MIN_LEN;
}

static uint32_t
f_saddr(const struct frm *f)
{
	return rd32(f->b + ETH + 12);
}

static uint32_t
f_daddr(const struct frm *f)
{
	return rd32(f->b + ETH + 16);
}

static uint16_t
f_sport(const struct frm *f)
{
	return rd16(f->b + ETH + IPH);
}

static uint16_t
f_dport(const struct frm *f)
{
	return rd16(f->b + ETH + IPH + 2);
}

static void
assert_frame_eq(const struct frm *got, const struct frm *exp, const char *what)
{
	uint16_t i;

	cr_assert_eq(got->len, exp->len, "%s: length %u, expected %u", what, got->len, exp->len);
	for (i = 0; i < exp->len; i++)
		cr_assert_eq(got->b[i], exp->b[i], "%s: byte %u is %02x, expected %02x", what, i,
				got->b[i], exp->b[i]);
}

/* ---- the worker and its recording callbacks --------------------------------------- */

struct arp_rec {
	uint16_t iface;
	uint32_t sip, tip;
};

struct pkt_rec {
	void *pkt;
	uint16_t iface;
	uint32_t addr;
	uint8_t mac[6];
	bool has_mac;
};

struct io {
	struct gax_fwd_worker *w;
	unsigned int n_arp, n_tx, n_drop;
	struct arp_rec arp[64];
	struct pkt_rec tx[64], drop[64];
};

static void
rec_arp(void *ctx, uint16_t iface, uint32_t sip, uint32_t tip)
{
	struct io *io = ctx;

	cr_assert_lt(io->n_arp, 64);
	io->arp[io->n_arp++] = (struct arp_rec){ iface, sip, tip };
}

static void
rec_pkt(struct pkt_rec *r, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	r->pkt = pkt;
	r->iface = iface;
	r->addr = addr;
	r->has_mac = mac != NULL;
	if (mac != NULL)
		memcpy(r->mac, mac, 6);
}

/* As gaxd does: set the MACs of the released frame (the pkt is the frame here). */
static void
rec_tx(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct io *io = ctx;

	cr_assert_lt(io->n_tx, 64);
	rec_pkt(&io->tx[io->n_tx++], pkt, iface, addr, mac);
	cr_assert_not_null(mac);
	gax_pkt_set_macs(pkt, io->w->mac[iface], mac);
}

static void
rec_drop(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct io *io = ctx;

	cr_assert_lt(io->n_drop, 64);
	rec_pkt(&io->drop[io->n_drop++], pkt, iface, addr, mac);
}

static struct gax_snapshot *snap;
static struct gax_fwd_worker *live[4];	/* freed by cleanup() if a test stops early */

static struct gax_snapshot *
compile_config(void)
{
	struct gax_diags d;
	struct gax_config *cfg;
	struct gax_snapshot *s;

	gax_diags_init(&d);
	cfg = gax_config_load_buffer(config_json, strlen(config_json), NULL, &d);
	if (cfg == NULL)
		gax_diags_print(stderr, "test", &d);
	gax_diags_fini(&d);
	cr_assert_not_null(cfg, "test config must be valid");
	s = gax_snapshot_compile(cfg, NULL);
	cr_assert_not_null(s);
	gax_config_free(cfg);
	return s;
}

static struct gax_fwd_worker *
make_worker_opts(struct io *io, const struct gax_fwd_opts *o)
{
	struct gax_fwd_worker *w;
	unsigned int i;

	if (snap == NULL)
		snap = compile_config();
	w = gax_fwd_create(snap, o);
	cr_assert_not_null(w, "gax_fwd_create: errno %d", errno);
	for (i = 0; i < 4 && live[i] != NULL; i++)
		;
	cr_assert_lt(i, 4);
	live[i] = w;
	cr_assert_eq(w->n_ifaces, 2);
	gax_fwd_set_mac(w, WAN, wan_mac);
	gax_fwd_set_mac(w, LAN, lan_mac);
	memset(io, 0, sizeof(*io));
	io->w = w;
	gax_fwd_set_io(w, rec_arp, rec_tx, rec_drop, io);
	return w;
}

static struct gax_fwd_worker *
make_worker(struct io *io, uint32_t id, uint32_t n_workers, uint32_t capacity)
{
	struct gax_fwd_opts o;

	gax_fwd_opts_init(&o);
	o.worker_id = id;
	o.n_workers = n_workers;
	o.flow_capacity = capacity;
	return make_worker_opts(io, &o);
}

static struct gax_fwd_worker *
worker(struct io *io)
{
	return make_worker(io, 0, 1, 4096);
}

/* Free a worker (its held frames go to its drop_held callback). */
static void
release(struct gax_fwd_worker *w)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (live[i] == w)
			live[i] = NULL;
	gax_fwd_free(w);
}

static void
done(struct gax_fwd_worker *w)
{
	release(w);
	gax_snapshot_free(snap);
	snap = NULL;
}

/* After each test, even a failed one: what it did not free (its callbacks' state is gone). */
static void
cleanup(void)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (live[i] != NULL) {
			gax_fwd_set_io(live[i], NULL, NULL, NULL, NULL);
			gax_fwd_free(live[i]);
			live[i] = NULL;
		}
	}
	gax_snapshot_free(snap);
	snap = NULL;
}

TestSuite(fwd, .fini = cleanup);

/* One frame through gax_fwd_burst(); the opaque packet is the frame itself. */
static struct gax_fwd_verdict
run_csum(struct gax_fwd_worker *w, struct frm *f, uint16_t iface, bool redirected,
		uint64_t now, uint8_t csum)
{
	uint8_t *frames[1] = { f->b };
	uint16_t lens[1] = { f->len };
	void *pkts[1] = { f->b };
	struct gax_fwd_verdict v;

	memset(&v, 0xee, sizeof(v));
	gax_fwd_burst(w, frames, lens, pkts, &csum, 1, iface, redirected, now, &v);
	return v;
}

static struct gax_fwd_verdict
run(struct gax_fwd_worker *w, struct frm *f, uint16_t iface, uint64_t now)
{
	return run_csum(w, f, iface, false, now, GAX_FWD_CSUM_UNKNOWN);
}

static const char *
action_name(uint8_t a)
{
	static const char *const n[] = { "DROP", "TX", "HELD", "REDIRECT", "CONSUMED", "KERNEL" };

	return a < 6 ? n[a] : "?";
}

#define assert_tx(v, ifc, what) do { \
	struct gax_fwd_verdict v_ = (v); \
	cr_assert_eq(v_.action, GAX_FWD_TX, "%s: action %s (reason %s), expected TX", (what), \
			action_name(v_.action), gax_drop_reason_name(v_.reason)); \
	cr_assert_eq(v_.iface, (ifc), "%s: TX on %u, expected %u", (what), v_.iface, (ifc)); \
} while (0)

#define assert_action(v, act, what) do { \
	struct gax_fwd_verdict v_ = (v); \
	cr_assert_eq(v_.action, (act), "%s: action %s (reason %s), expected %s", (what), \
			action_name(v_.action), gax_drop_reason_name(v_.reason), action_name(act)); \
} while (0)

#define assert_drop(v, r, what) do { \
	struct gax_fwd_verdict v_ = (v); \
	cr_assert_eq(v_.action, GAX_FWD_DROP, "%s: action %s, expected DROP %s", (what), \
			action_name(v_.action), gax_drop_reason_name(r)); \
	cr_assert_eq(v_.reason, (r), "%s: dropped %s, expected %s", (what), \
			gax_drop_reason_name(v_.reason), gax_drop_reason_name(r)); \
} while (0)

/* The neighbour @p ip answers our ARP request on @p iface (unicast reply to us). */
static void
learn(struct gax_fwd_worker *w, uint16_t iface, uint32_t ip, uint64_t now)
{
	struct frm f;

	arp(&f, our_mac(iface), mac_of(ip), GAX_PKT_ARP_REPLY, mac_of(ip), ip, our_mac(iface),
			our_ip(iface));
	assert_action(run(w, &f, iface, now), GAX_FWD_CONSUMED, "ARP reply learned");
}

static void
learn_all(struct gax_fwd_worker *w, uint64_t now)
{
	learn(w, LAN, E11, now);
	learn(w, LAN, E12, now);
	learn(w, LAN, E13, now);
	learn(w, LAN, E21, now);
	learn(w, LAN, E31, now);
	learn(w, LAN, E41, now);
	learn(w, WAN, CLIENT, now);
	learn(w, WAN, GW, now);
}

/* Counters are indexed by the stable ids of the snapshot's listeners and endpoints. */
static uint32_t
listener_of(uint32_t vip, uint8_t proto, uint16_t port)
{
	uint16_t pi;
	uint32_t l = gax_snapshot_find_listener(snap, vip, proto, port, &pi);

	cr_assert_neq(l, GAX_SNAP_NONE);
	return snap->listeners[l].id;
}

static uint32_t
endpoint_of(uint32_t addr)
{
	uint32_t i;

	for (i = 0; i < snap->n_endpoints; i++)
		if (snap->endpoints[i].addr == addr)
			return snap->endpoints[i].id;
	cr_assert_fail("no endpoint %08x", addr);
	return 0;
}

static uint64_t
ndrops(const struct gax_fwd_worker *w)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < GAX_DROP_REASON_MAX; i++)
		n += w->ctr.drops[i];
	return n;
}

/* A client port whose reserve-client-IP flows belong to worker @p owner of 2. */
static uint16_t
port_owned_by(uint32_t client, uint32_t owner, uint16_t from)
{
	uint16_t p;

	for (p = from; p < 65535; p++)
		if (gax_fwd_client_owner(client, p, 2) == owner)
			return p;
	cr_assert_fail("no port");
	return 0;
}

/* ---- invalid input and drops --------------------------------------------------- */

Test(fwd, create_refuses_bad_options)
{
	struct gax_fwd_opts o;

	snap = compile_config();
	gax_fwd_opts_init(&o);
	cr_assert_eq(o.n_workers, 1);
	cr_assert(o.verify_l4_csum);
	errno = 0;
	cr_assert_null(gax_fwd_create(NULL, &o));
	cr_assert_eq(errno, EINVAL);
	o.n_workers = 2;
	o.worker_id = 2;
	errno = 0;
	cr_assert_null(gax_fwd_create(snap, &o));
	cr_assert_eq(errno, EINVAL);
	o.worker_id = 0;
	o.n_workers = 0;
	errno = 0;
	cr_assert_null(gax_fwd_create(snap, &o));
	cr_assert_eq(errno, EINVAL);
	gax_fwd_opts_init(&o);
	o.flow_capacity = 0;
	errno = 0;
	cr_assert_null(gax_fwd_create(snap, &o));
	cr_assert_eq(errno, EINVAL);
	gax_fwd_free(NULL);
	gax_snapshot_free(snap);
	snap = NULL;
}

Test(fwd, frames_it_must_drop)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint64_t now = T0;
	struct frm f, copy;
	struct gax_fwd_verdict v;

	learn_all(w, now);

	/* a port with no listener, TCP and UDP */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 81, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NO_LISTENER, "SYN to port 81");
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, 64, 10);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NO_LISTENER, "UDP to port 80");
	/* a TCP segment other than a SYN opens nothing */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_ACK, 64, 10);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NO_FLOW, "ACK without flow");
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64, 0);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NO_FLOW, "SYN-ACK without flow");
	/* a reply of no flow */
	tcp(&f, lan_mac, mac_of(E11), E11, LAN_IP, 8080, 5000, GAX_PKT_TCP_ACK, 64, 0);
	assert_drop(run(w, &f, LAN, now), GAX_DROP_NO_FLOW, "reply without flow");
	udp(&f, lan_mac, mac_of(E21), E21, LAN_IP, 53, 5002, 64, 20);
	assert_drop(run(w, &f, LAN, now), GAX_DROP_NO_FLOW, "UDP reply without flow");
	/* bad L4 checksum: software check, and what the NIC says */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	f.b[ETH + IPH + 16] ^= 0x01;
	copy = f;
	assert_drop(run(w, &f, WAN, now), GAX_DROP_BAD_L4_CSUM, "bad TCP checksum");
	assert_frame_eq(&f, &copy, "dropped frame untouched");
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 20);
	f.b[ETH + IPH + 8] ^= 0x80; /* payload changed, checksum not */
	assert_drop(run(w, &f, WAN, now), GAX_DROP_BAD_L4_CSUM, "bad UDP checksum");
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run_csum(w, &f, WAN, false, now, GAX_FWD_CSUM_BAD), GAX_DROP_BAD_L4_CSUM,
			"NIC says bad");
	/* not to our MAC: another host's, or the other interface's */
	tcp(&f, other_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NOT_FOR_US, "other MAC");
	tcp(&f, lan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NOT_FOR_US, "lan MAC on wan");
	tcp(&f, bcast, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_NOT_FOR_US, "IPv4 to broadcast MAC");
	/* TTL 1 and 0: not forwarded */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_SYN, 1, 0);
	copy = f;
	assert_drop(run(w, &f, WAN, now), GAX_DROP_TTL_EXPIRED, "TTL 1");
	assert_frame_eq(&f, &copy, "TTL 1 frame untouched");
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40002, 80, GAX_PKT_TCP_SYN, 0, 0);
	assert_drop(run(w, &f, WAN, now), GAX_DROP_TTL_EXPIRED, "TTL 0");
	/* what the parser refuses is counted under its reason */
	f.len = 10;
	assert_drop(run(w, &f, WAN, now), GAX_DROP_TRUNCATED_ETHERNET, "10 bytes");
	/* an interface the worker does not have */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	v = run(w, &f, 2, now);
	assert_drop(v, GAX_DROP_NOT_FOR_US, "interface 2");

	cr_assert_eq(w->ctr.drops[GAX_DROP_NO_LISTENER], 2);
	cr_assert_eq(w->ctr.drops[GAX_DROP_NO_FLOW], 4);
	cr_assert_eq(w->ctr.drops[GAX_DROP_BAD_L4_CSUM], 3);
	cr_assert_eq(w->ctr.drops[GAX_DROP_NOT_FOR_US], 4);
	cr_assert_eq(w->ctr.drops[GAX_DROP_TTL_EXPIRED], 2);
	cr_assert_eq(w->ctr.drops[GAX_DROP_TRUNCATED_ETHERNET], 1);
	cr_assert_eq(ndrops(w), 16);
	cr_assert_eq(io.n_tx + io.n_drop + io.n_arp, 0, "no callback for dropped frames");
	done(w);
}

/* A SYN dropped for its TTL never reached an endpoint: it must leave no flow behind. */
Test(fwd, ttl_expired_syn_opens_no_flow)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_TCP, 80);
	struct frm f;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_SYN, 1, 0);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_TTL_EXPIRED, "TTL 1");
	cr_assert_eq(gax_flow_count(w->flows), 0, "a flow was opened for a dropped SYN");
	cr_assert_eq(w->ctr.listener[l].new_flows, 0);
	done(w);
}

/* ---- ARP ------------------------------------------------------------------------- */

static void
assert_arp_reply(const struct frm *f, const uint8_t *my_mac, uint32_t my_ip,
		const uint8_t *to_mac, uint32_t to_ip, const char *what)
{
	struct frm exp;

	arp(&exp, to_mac, my_mac, GAX_PKT_ARP_REPLY, my_mac, my_ip, to_mac, to_ip);
	assert_frame_eq(f, &exp, what);
}

Test(fwd, arp_answered_for_owned_addresses_on_their_interface)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	const uint8_t *cm = mac_of(CLIENT);
	struct frm f, copy;

	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, WAN_IP);
	assert_tx(run(w, &f, WAN, T0), WAN, "ARP for 10.0.0.1");
	assert_arp_reply(&f, wan_mac, WAN_IP, cm, CLIENT, "ARP reply for 10.0.0.1");

	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, VIP);
	assert_tx(run(w, &f, WAN, T0), WAN, "ARP for the VIP");
	assert_arp_reply(&f, wan_mac, VIP, cm, CLIENT, "ARP reply for the VIP");

	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, VIP2);
	assert_tx(run(w, &f, WAN, T0), WAN, "ARP for the second VIP");
	assert_arp_reply(&f, wan_mac, VIP2, cm, CLIENT, "ARP reply for the second VIP");

	/* an unicast request (a refresh) is answered too */
	arp(&f, wan_mac, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, wan_mac, WAN_IP);
	assert_tx(run(w, &f, WAN, T0), WAN, "unicast ARP for 10.0.0.1");
	assert_arp_reply(&f, wan_mac, WAN_IP, cm, CLIENT, "reply to the unicast request");

	/* the lan address is not claimed on wan */
	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, LAN_IP);
	copy = f;
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_NOT_FOR_US, "ARP for 10.1.0.1 on wan");
	assert_frame_eq(&f, &copy, "unanswered request untouched");
	/* ...but is on lan */
	arp(&f, bcast, mac_of(E11), GAX_PKT_ARP_REQUEST, mac_of(E11), E11, zero_mac, LAN_IP);
	assert_tx(run(w, &f, LAN, T0), LAN, "ARP for 10.1.0.1 on lan");
	assert_arp_reply(&f, lan_mac, LAN_IP, mac_of(E11), E11, "ARP reply on lan");
	/* an address nobody here owns */
	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, IP(10, 0, 0, 50));
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_NOT_FOR_US, "ARP for 10.0.0.50");
	/* an ARP frame to another host's MAC */
	arp(&f, other_mac, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, WAN_IP);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_NOT_FOR_US, "ARP to another MAC");
	/* a gratuitous ARP is only learned from */
	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, CLIENT);
	assert_action(run(w, &f, WAN, T0), GAX_FWD_CONSUMED, "gratuitous ARP");

	cr_assert_eq(w->ctr.iface[WAN].arp_replies, 4);
	cr_assert_eq(w->ctr.iface[LAN].arp_replies, 1);
	cr_assert_eq(w->ctr.drops[GAX_DROP_NOT_FOR_US], 3);
	cr_assert_eq(w->ctr.iface[WAN].rx_packets, 8);
	cr_assert_eq(w->ctr.iface[WAN].rx_bytes, 8 * 60);
	cr_assert_eq(w->ctr.iface[LAN].rx_packets, 1);
	cr_assert_eq(io.n_arp, 0);
	done(w);
}

/* The requester of an ARP for one of our addresses is learned: replies go out at once. */
Test(fwd, arp_request_from_client_is_learned)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	const uint8_t *cm = mac_of(CLIENT);
	struct gax_neigh_info info;
	struct frm f;

	arp(&f, bcast, cm, GAX_PKT_ARP_REQUEST, cm, CLIENT, zero_mac, VIP);
	assert_tx(run(w, &f, WAN, T0), WAN, "ARP for the VIP");
	cr_assert_eq(gax_neigh_lookup(w->neigh, WAN, CLIENT, T0, &info), 0);
	cr_assert_eq(memcmp(info.mac, cm, 6), 0);
	/* a request for somebody else's address creates nothing */
	arp(&f, bcast, mac_of(IP(10, 0, 0, 8)), GAX_PKT_ARP_REQUEST, mac_of(IP(10, 0, 0, 8)),
			IP(10, 0, 0, 8), zero_mac, IP(10, 0, 0, 9));
	run(w, &f, WAN, T0);
	cr_assert_eq(gax_neigh_lookup(w->neigh, WAN, IP(10, 0, 0, 8), T0, &info), -ENOENT);
	/* the static neighbour of the configuration is there */
	cr_assert_eq(gax_neigh_lookup(w->neigh, LAN, IP(10, 1, 0, 99), T0, &info), 0);
	cr_assert_eq(info.state, GAX_NEIGH_ST_STATIC);
	done(w);
}

/* ---- TCP, full NAT ---------------------------------------------------------------- */

Test(fwd, tcp_syn_held_for_arp_then_rewritten)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_TCP, 80), ep;
	struct frm syn, exp, f;
	uint16_t nat;

	tcp(&syn, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_action(run(w, &syn, WAN, T0), GAX_FWD_HELD, "SYN, endpoint MAC unknown");
	cr_assert_eq(io.n_arp, 1, "one ARP request, got %u", io.n_arp);
	cr_assert_eq(io.arp[0].iface, LAN);
	cr_assert_eq(io.arp[0].sip, LAN_IP);
	cr_assert(io.arp[0].tip == E11 || io.arp[0].tip == E12, "ARP for %08x", io.arp[0].tip);
	cr_assert_eq(w->ctr.iface[LAN].arp_requests, 1);
	cr_assert_eq(io.n_tx, 0);
	ep = io.arp[0].tip;

	/* another neighbour's answer releases nothing */
	learn(w, LAN, E13, T0);
	cr_assert_eq(io.n_tx, 0);

	/* the endpoint answers: the held frame is released, rewritten */
	learn(w, LAN, ep, T0 + 2 * MS);
	cr_assert_eq(io.n_tx, 1, "held frame released, got %u", io.n_tx);
	cr_assert_eq(io.tx[0].pkt, syn.b);
	cr_assert_eq(io.tx[0].iface, LAN);
	cr_assert_eq(io.tx[0].addr, ep);
	cr_assert_eq(memcmp(io.tx[0].mac, mac_of(ep), 6), 0);

	nat = f_sport(&syn);
	cr_assert_geq(nat, GAX_FLOW_SNAT_PORT_MIN);
	tcp(&exp, mac_of(ep), lan_mac, LAN_IP, ep, nat, 8080, GAX_PKT_TCP_SYN, 63, 0);
	assert_frame_eq(&syn, &exp, "SYN to the endpoint");
	assert_csums(syn.b, "SYN to the endpoint");

	/* the next segment of the flow goes straight out, same NAT port */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_ACK, 64, 100);
	assert_tx(run(w, &f, WAN, T0 + 3 * MS), LAN, "ACK");
	tcp(&exp, mac_of(ep), lan_mac, LAN_IP, ep, nat, 8080, GAX_PKT_TCP_ACK, 63, 100);
	assert_frame_eq(&f, &exp, "ACK to the endpoint");
	assert_csums(f.b, "ACK to the endpoint");
	cr_assert_eq(io.n_arp, 1);
	cr_assert_eq(w->ctr.listener[l].new_flows, 1);
	cr_assert_eq(w->ctr.listener[l].packets_in, 2);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(ep)].packets_to, 2);
	done(w);
}

/*
 * The worker keeps a next hop's MAC between packets (emit()'s hop cache): a
 * new MAC learned for it is used from the next packet on, and once the entry
 * goes stale a packet still leaves and asks for a refresh, as without cache.
 */
Test(fwd, hop_cache_follows_the_neighbour_table)
{
	static const uint8_t moved[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm f;
	uint32_t ep;
	uint64_t t = T0;
	unsigned int k;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, t), LAN, "SYN");
	ep = f_daddr(&f);
	for (k = 0; k < 3; k++) {
		tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_ACK, 64, 10);
		assert_tx(run(w, &f, WAN, t += MS), LAN, "ACK");
		cr_assert_eq(memcmp(f.b, mac_of(ep), 6), 0, "ACK %u to the learned MAC", k);
	}
	/* The endpoint moves to another MAC (a gratuitous ARP, say). */
	cr_assert_eq(gax_neigh_learn(w->neigh, LAN, ep, moved, t, false, NULL, NULL), 0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_ACK, 64, 10);
	assert_tx(run(w, &f, WAN, t += MS), LAN, "ACK after the move");
	cr_assert_eq(memcmp(f.b, moved, 6), 0, "the next packet goes to the new MAC");
	/* Past the reachable time: the entry is stale; the packet leaves and asks for a refresh. */
	k = io.n_arp;
	t += (GAX_NEIGH_DEFAULT_REACHABLE_MS + 1000) * MS;
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_ACK, 64, 10);
	assert_tx(run(w, &f, WAN, t), LAN, "ACK to a stale next hop");
	cr_assert_eq(memcmp(f.b, moved, 6), 0, "still to the last MAC known");
	cr_assert_eq(io.n_arp, k + 1, "a refresh request for the stale next hop, got %u", io.n_arp - k);
	cr_assert_eq(io.arp[io.n_arp - 1].tip, ep);
	done(w);
}

/* The endpoint's reply goes back from VIP:80, after an ARP for the on-link client. */
Test(fwd, tcp_reply_translated_back_to_client)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm syn, f, exp;
	uint32_t ep;
	uint16_t nat;

	learn(w, LAN, E11, T0);
	learn(w, LAN, E12, T0);
	tcp(&syn, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &syn, WAN, T0), LAN, "SYN");
	ep = f_daddr(&syn);
	nat = f_sport(&syn);
	cr_assert(ep == E11 || ep == E12);
	cr_assert_eq(f_dport(&syn), 8080);
	cr_assert_eq(f_saddr(&syn), LAN_IP);
	assert_csums(syn.b, "SYN");

	/* the client's MAC is unknown: held, ARP for it on wan from 10.0.0.1 */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64,
			0);
	assert_action(run(w, &f, LAN, T0 + MS), GAX_FWD_HELD, "SYN-ACK, client MAC unknown");
	cr_assert_eq(io.n_arp, 1);
	cr_assert_eq(io.arp[0].iface, WAN);
	cr_assert_eq(io.arp[0].sip, WAN_IP);
	cr_assert_eq(io.arp[0].tip, CLIENT);
	learn(w, WAN, CLIENT, T0 + 2 * MS);
	cr_assert_eq(io.n_tx, 1);
	cr_assert_eq(io.tx[0].pkt, f.b);
	cr_assert_eq(io.tx[0].iface, WAN);
	tcp(&exp, mac_of(CLIENT), wan_mac, VIP, CLIENT, 80, 40000,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 63, 0);
	assert_frame_eq(&f, &exp, "SYN-ACK to the client");
	assert_csums(f.b, "SYN-ACK to the client");

	/* now both ways directly */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_ACK, 64, 300);
	assert_tx(run(w, &f, LAN, T0 + 3 * MS), WAN, "data to the client");
	tcp(&exp, mac_of(CLIENT), wan_mac, VIP, CLIENT, 80, 40000, GAX_PKT_TCP_ACK, 63, 300);
	assert_frame_eq(&f, &exp, "data to the client");
	assert_csums(f.b, "data to the client");
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_ACK, 64, 0);
	assert_tx(run(w, &f, WAN, T0 + 4 * MS), LAN, "ACK to the endpoint");
	tcp(&exp, mac_of(ep), lan_mac, LAN_IP, ep, nat, 8080, GAX_PKT_TCP_ACK, 63, 0);
	assert_frame_eq(&f, &exp, "ACK to the endpoint");

	/* a reply from the right endpoint to the wrong NAT port, or from the wrong endpoint */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, (uint16_t)(nat + 1), GAX_PKT_TCP_ACK, 64,
			0);
	assert_drop(run(w, &f, LAN, T0 + 5 * MS), GAX_DROP_NO_FLOW, "wrong NAT port");
	tcp(&f, lan_mac, mac_of(E13), E13, LAN_IP, 8080, nat, GAX_PKT_TCP_ACK, 64, 0);
	assert_drop(run(w, &f, LAN, T0 + 5 * MS), GAX_DROP_NO_FLOW, "wrong endpoint");
	done(w);
}

/* Ports 8080-8085 have no override: the port is kept. The gateway leads off-link. */
Test(fwd, tcp_port_kept_and_remote_endpoint_through_gateway)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t client = IP(198, 51, 100, 9);
	struct frm f, exp;
	uint32_t ep;
	uint16_t nat;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(GW), client, VIP, 33000, 8083, GAX_PKT_TCP_SYN, 50, 5);
	assert_tx(run(w, &f, WAN, T0), LAN, "SYN to 8083");
	ep = f_daddr(&f);
	nat = f_sport(&f);
	tcp(&exp, mac_of(ep), lan_mac, LAN_IP, ep, nat, 8083, GAX_PKT_TCP_SYN, 49, 5);
	assert_frame_eq(&f, &exp, "SYN to 8083");
	/* the reply to an off-link client goes to the gateway */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8083, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64,
			0);
	assert_tx(run(w, &f, LAN, T0), WAN, "SYN-ACK off-link");
	tcp(&exp, mac_of(GW), wan_mac, VIP, client, 8083, 33000,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 63, 0);
	assert_frame_eq(&f, &exp, "SYN-ACK off-link");

	/* an endpoint off-link: out of wan to the gateway, NAT source 10.0.0.1 */
	tcp(&f, wan_mac, mac_of(GW), client, VIP, 33001, 9000, GAX_PKT_TCP_SYN, 50, 0);
	assert_tx(run(w, &f, WAN, T0), WAN, "SYN to the remote endpoint");
	nat = f_sport(&f);
	tcp(&exp, mac_of(GW), wan_mac, WAN_IP, REMOTE, nat, 9000, GAX_PKT_TCP_SYN, 49, 0);
	assert_frame_eq(&f, &exp, "SYN to the remote endpoint");
	tcp(&f, wan_mac, mac_of(GW), REMOTE, WAN_IP, 9000, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			60, 0);
	assert_tx(run(w, &f, WAN, T0), WAN, "SYN-ACK from the remote endpoint");
	tcp(&exp, mac_of(GW), wan_mac, VIP, client, 9000, 33001,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 59, 0);
	assert_frame_eq(&f, &exp, "SYN-ACK from the remote endpoint");
	done(w);
}

/* ---- endpoint choice ---------------------------------------------------------------- */

Test(fwd, source_ip_affinity_and_weights)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_TCP, 80);
	unsigned int count[3] = { 0 }, i;
	uint32_t first = 0;
	struct frm f;

	learn_all(w, T0);
	/* one client, many source ports: one endpoint */
	for (i = 0; i < 64; i++) {
		tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, (uint16_t)(20000 + i * 13), 80,
				GAX_PKT_TCP_SYN, 64, 0);
		assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
		if (i == 0)
			first = f_daddr(&f);
		cr_assert_eq(f_daddr(&f), first, "port %u went to %08x, not %08x", 20000 + i * 13,
				f_daddr(&f), first);
		assert_csums(f.b, "SYN");
	}
	cr_assert(first == E11 || first == E12);
	/* many clients: by weight 100:50, never the weight-0 endpoint */
	for (i = 0; i < 600; i++) {
		uint32_t c = IP(198, 18, i >> 8, i & 0xff);

		tcp(&f, wan_mac, mac_of(GW), c, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
		assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
		cr_assert(f_daddr(&f) >= E11 && f_daddr(&f) <= E13);
		count[f_daddr(&f) - E11]++;
		/* a second connection of the same client lands on the same endpoint */
		if (i % 50 == 0) {
			uint32_t ep = f_daddr(&f);

			tcp(&f, wan_mac, mac_of(GW), c, VIP, 40001, 80, GAX_PKT_TCP_SYN, 64, 0);
			assert_tx(run(w, &f, WAN, T0), LAN, "second SYN");
			cr_assert_eq(f_daddr(&f), ep);
			count[f_daddr(&f) - E11]++;
		}
	}
	cr_assert_eq(count[2], 0, "the weight-0 endpoint got %u flows", count[2]);
	cr_assert_gt(count[0], count[1], "weights 100:50 gave %u:%u", count[0], count[1]);
	cr_assert_gt(count[1], 100, "weights 100:50 gave %u:%u", count[0], count[1]);
	count[first - E11] += 64;
	cr_assert_eq(w->ctr.listener[l].new_flows, 64 + 612);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(E11)].new_flows, count[0]);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(E12)].new_flows, count[1]);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(E13)].new_flows, 0);
	cr_assert_eq(gax_flow_count(w->flows), 64 + 612);
	done(w);
}

/* ---- reserved client address --------------------------------------------------------- */

Test(fwd, reserve_client_ip_rewrites_destination_only)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP2, GAX_PKT_PROTO_TCP, 443);
	struct frm f, exp;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, 40001, 443, GAX_PKT_TCP_SYN, 64, 12);
	assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
	tcp(&exp, mac_of(E31), lan_mac, CLIENT, E31, 40001, 443, GAX_PKT_TCP_SYN, 63, 12);
	assert_frame_eq(&f, &exp, "SYN to the endpoint, client address kept");
	assert_csums(f.b, "SYN");

	/* the endpoint answers the client itself, through gax */
	tcp(&f, lan_mac, mac_of(E31), E31, CLIENT, 443, 40001, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			64, 0);
	assert_tx(run(w, &f, LAN, T0), WAN, "SYN-ACK");
	tcp(&exp, mac_of(CLIENT), wan_mac, VIP2, CLIENT, 443, 40001,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 63, 0);
	assert_frame_eq(&f, &exp, "SYN-ACK from the VIP");
	assert_csums(f.b, "SYN-ACK");

	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, 40001, 443, GAX_PKT_TCP_ACK, 64, 200);
	assert_tx(run(w, &f, WAN, T0), LAN, "ACK");
	tcp(&exp, mac_of(E31), lan_mac, CLIENT, E31, 40001, 443, GAX_PKT_TCP_ACK, 63, 200);
	assert_frame_eq(&f, &exp, "ACK");

	/* the same over UDP */
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, 6000, 443, 64, 40);
	assert_tx(run(w, &f, WAN, T0), LAN, "UDP");
	udp(&exp, mac_of(E41), lan_mac, CLIENT, E41, 6000, 443, 63, 40);
	assert_frame_eq(&f, &exp, "UDP to the endpoint");
	udp(&f, lan_mac, mac_of(E41), E41, CLIENT, 443, 6000, 64, 41);
	assert_tx(run(w, &f, LAN, T0), WAN, "UDP reply");
	udp(&exp, mac_of(CLIENT), wan_mac, VIP2, CLIENT, 443, 6000, 63, 41);
	assert_frame_eq(&f, &exp, "UDP reply from the VIP");

	/* from the endpoint to a client port of no flow: not ours to forward */
	tcp(&f, lan_mac, mac_of(E31), E31, CLIENT, 443, 40002, GAX_PKT_TCP_ACK, 64, 0);
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_NOT_FOR_US, "reply of no flow");

	cr_assert_eq(w->ctr.listener[l].new_flows, 1);
	cr_assert_eq(w->ctr.listener[l].packets_in, 2);
	cr_assert_eq(w->ctr.listener[l].packets_out, 1);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(E31)].packets_from, 1);
	done(w);
}

/*
 * A reply is taken only on the interface gax sends to its endpoint through:
 * the same tuple arriving from the client side is forged (full NAT and
 * client IP kept alike), dropped and counted, and nothing of the flow moves.
 */
Test(fwd, reply_on_another_interface_is_refused)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_TCP, 80);
	uint32_t l2 = listener_of(VIP2, GAX_PKT_PROTO_UDP, 443);
	struct frm syn, f;
	uint32_t ep;
	uint16_t nat;

	learn_all(w, T0);
	tcp(&syn, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &syn, WAN, T0), LAN, "SYN");
	ep = f_daddr(&syn);
	nat = f_sport(&syn);

	/* full NAT: the endpoint's SYN-ACK, forged on wan, then the real one on lan */
	tcp(&f, wan_mac, mac_of(CLIENT), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			64, 0);
	assert_drop(run(w, &f, WAN, T0 + MS), GAX_DROP_WRONG_INTERFACE, "full-NAT reply on wan");
	cr_assert_eq(w->ctr.listener[l].packets_out, 0);
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64,
			0);
	assert_tx(run(w, &f, LAN, T0 + 2 * MS), WAN, "full-NAT reply on lan");
	cr_assert_eq(w->ctr.listener[l].packets_out, 1);

	/* client IP kept: the endpoint answers the client's own address */
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, 6000, 443, 64, 40);
	assert_tx(run(w, &f, WAN, T0), LAN, "UDP to a reserved endpoint");
	udp(&f, wan_mac, mac_of(CLIENT), E41, CLIENT, 443, 6000, 64, 41);
	assert_drop(run(w, &f, WAN, T0 + MS), GAX_DROP_WRONG_INTERFACE, "reserved reply on wan");
	cr_assert_eq(w->ctr.listener[l2].packets_out, 0);
	udp(&f, lan_mac, mac_of(E41), E41, CLIENT, 443, 6000, 64, 41);
	assert_tx(run(w, &f, LAN, T0 + 2 * MS), WAN, "reserved reply on lan");
	cr_assert_eq(w->ctr.listener[l2].packets_out, 1);

	cr_assert_eq(w->ctr.drops[GAX_DROP_WRONG_INTERFACE], 2);
	cr_assert_str_eq(gax_drop_reason_name(GAX_DROP_WRONG_INTERFACE), "wrong_interface");
	done(w);
}

/* ---- UDP -------------------------------------------------------------------------- */

Test(fwd, udp_flow_both_ways)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_UDP, 53);
	struct frm f, exp;
	uint16_t nat;

	learn_all(w, T0);
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 29);
	assert_tx(run(w, &f, WAN, T0), LAN, "query");
	nat = f_sport(&f);
	cr_assert_geq(nat, GAX_FLOW_SNAT_PORT_MIN);
	udp(&exp, mac_of(E21), lan_mac, LAN_IP, E21, nat, 53, 63, 29);
	assert_frame_eq(&f, &exp, "query to the endpoint, port 53 kept");
	assert_csums(f.b, "query");

	udp(&f, lan_mac, mac_of(E21), E21, LAN_IP, 53, nat, 64, 100);
	assert_tx(run(w, &f, LAN, T0), WAN, "answer");
	udp(&exp, mac_of(CLIENT), wan_mac, VIP, CLIENT, 53, 5353, 63, 100);
	assert_frame_eq(&f, &exp, "answer to the client");
	assert_csums(f.b, "answer");

	/* the same client port again: the same flow, the same NAT port */
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 3);
	assert_tx(run(w, &f, WAN, T0), LAN, "second query");
	cr_assert_eq(f_sport(&f), nat);

	/* no checksum (0) stays no checksum */
	udp_z(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5354, 53, 64, 10, true);
	assert_tx(run(w, &f, WAN, T0), LAN, "query without checksum");
	udp_z(&exp, mac_of(E21), lan_mac, LAN_IP, E21, f_sport(&f), 53, 63, 10, true);
	assert_frame_eq(&f, &exp, "query without checksum");

	cr_assert_eq(w->ctr.listener[l].new_flows, 2);
	cr_assert_eq(w->ctr.listener[l].packets_in, 3);
	cr_assert_eq(w->ctr.listener[l].packets_out, 1);
	cr_assert_eq(gax_flow_count(w->flows), 2);
	done(w);
}

/* ---- ICMP ------------------------------------------------------------------------- */

Test(fwd, icmp_echo_answered_on_owned_addresses)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm f, exp;

	icmp_echo(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, GAX_PKT_ICMP_ECHO_REQUEST, 57, 0x1234,
			7, 56);
	assert_tx(run(w, &f, WAN, T0), WAN, "ping the VIP");
	icmp_echo(&exp, mac_of(CLIENT), wan_mac, VIP, CLIENT, GAX_PKT_ICMP_ECHO_REPLY, 64, 0x1234,
			7, 56);
	assert_frame_eq(&f, &exp, "echo reply from the VIP");
	assert_csums(f.b, "echo reply from the VIP");

	icmp_echo(&f, wan_mac, mac_of(GW), IP(203, 0, 113, 5), WAN_IP, GAX_PKT_ICMP_ECHO_REQUEST,
			30, 0x99, 1, 0);
	assert_tx(run(w, &f, WAN, T0), WAN, "ping 10.0.0.1");
	icmp_echo(&exp, mac_of(GW), wan_mac, WAN_IP, IP(203, 0, 113, 5), GAX_PKT_ICMP_ECHO_REPLY,
			64, 0x99, 1, 0);
	assert_frame_eq(&f, &exp, "echo reply from 10.0.0.1");
	assert_csums(f.b, "echo reply from 10.0.0.1");

	icmp_echo(&f, lan_mac, mac_of(E11), E11, LAN_IP, GAX_PKT_ICMP_ECHO_REQUEST, 64, 1, 1, 8);
	assert_tx(run(w, &f, LAN, T0), LAN, "ping 10.1.0.1 from lan");
	icmp_echo(&exp, mac_of(E11), lan_mac, LAN_IP, E11, GAX_PKT_ICMP_ECHO_REPLY, 64, 1, 1, 8);
	assert_frame_eq(&f, &exp, "echo reply on lan");

	icmp_echo(&f, wan_mac, mac_of(CLIENT), CLIENT, IP(10, 0, 0, 50),
			GAX_PKT_ICMP_ECHO_REQUEST, 64, 1, 1, 8);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_NOT_FOR_US, "ping 10.0.0.50");
	icmp_echo(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, GAX_PKT_ICMP_ECHO_REQUEST, 64, 1, 1,
			8);
	f.b[ETH + IPH + 9] ^= 1;
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_BAD_L4_CSUM, "ping with a bad checksum");
	icmp_echo(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 13 /* timestamp */, 64, 1, 1, 12);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_UNSUPPORTED_ICMP, "ICMP timestamp");

	cr_assert_eq(w->ctr.iface[WAN].icmp_echo_replies, 2);
	cr_assert_eq(w->ctr.iface[LAN].icmp_echo_replies, 1);
	cr_assert_eq(io.n_arp + io.n_tx, 0);
	done(w);
}

/* The endpoint says "fragmentation needed" about a forwarded segment: back to the client. */
Test(fwd, icmp_frag_needed_translated_to_client)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm orig, fwd, err, exp, inner;
	uint16_t client_csum, nat;
	uint32_t ep;

	learn_all(w, T0);
	tcp(&fwd, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &fwd, WAN, T0), LAN, "SYN");
	tcp(&orig, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_ACK, 64, 1400);
	client_csum = rd16(orig.b + ETH + IPH + 16);
	fwd = orig;
	assert_tx(run(w, &fwd, WAN, T0), LAN, "big segment");
	ep = f_daddr(&fwd);
	nat = f_sport(&fwd);

	/* the same error forged on the client side: not where the segment went */
	icmp_error(&err, wan_mac, mac_of(CLIENT), ep, LAN_IP, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1300, 64, fwd.b + ETH, IPH + 28);
	assert_drop(run(w, &err, WAN, T0 + MS), GAX_DROP_WRONG_INTERFACE, "frag needed on wan");
	cr_assert_eq(w->ctr.icmp_errors_translated, 0);

	/* the error quotes the IP header and 28 bytes of the segment as forwarded */
	icmp_error(&err, lan_mac, mac_of(ep), ep, LAN_IP, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1300, 64, fwd.b + ETH, IPH + 28);
	assert_tx(run(w, &err, LAN, T0 + MS), WAN, "frag needed");

	/* expected: the quote is the client's segment (client -> VIP:80, its own checksum) */
	inner = orig;
	inner.b[ETH + 8] = 63;
	wr16(inner.b + ETH + 10, 0);
	wr16(inner.b + ETH + 10, ref_ip_field(inner.b + ETH));
	cr_assert_eq(rd16(inner.b + ETH + IPH + 16), client_csum);
	icmp_error(&exp, mac_of(CLIENT), wan_mac, VIP, CLIENT, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1300, 63, inner.b + ETH, IPH + 28);
	assert_frame_eq(&err, &exp, "frag needed to the client");
	cr_assert_eq(w->ctr.icmp_errors_translated, 1);

	/* an error about a flow that does not exist */
	wr16(fwd.b + ETH + IPH, (uint16_t)(nat + 2));
	icmp_error(&err, lan_mac, mac_of(ep), ep, LAN_IP, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1300, 64, fwd.b + ETH, IPH + 28);
	assert_drop(run(w, &err, LAN, T0 + MS), GAX_DROP_NO_FLOW, "error about no flow");
	cr_assert_eq(w->ctr.icmp_errors_translated, 1);
	done(w);
}

#define assert_kernel(v, f, copy, ifc, what) do { \
	struct gax_fwd_verdict k_ = (v); \
	assert_action(k_, GAX_FWD_KERNEL, (what)); \
	cr_assert_eq(k_.iface, (ifc), "%s: twin of %u, expected %u", (what), k_.iface, (ifc)); \
	assert_frame_eq((f), (copy), (what)); \
} while (0)

/*
 * An interface with a kernel twin: what arrives for one of its addresses and
 * gax does not serve reaches the kernel unchanged; the rest is as without.
 */
Test(fwd, kernel_twin_gets_what_gax_does_not_serve)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm f, copy, inner;
	uint32_t ep;
	uint16_t nat;

	learn_all(w, T0);
	gax_fwd_set_kernel(w, LAN, true);

	/* TCP and UDP to the interface address, no flow: SSH, the host's own probes */
	tcp(&f, lan_mac, mac_of(E11), E11, LAN_IP, 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "SSH to 10.1.0.1");
	tcp(&f, lan_mac, mac_of(E11), E11, LAN_IP, 8080, 45000,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64, 0);
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "answer to the kernel's probe");
	udp(&f, lan_mac, mac_of(E21), E21, LAN_IP, 53, 45001, 64, 30);
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "DNS answer to the kernel");
	/* ICMP: echo requests gax answers itself; an echo reply is the kernel's */
	icmp_echo(&f, lan_mac, mac_of(E11), E11, LAN_IP, GAX_PKT_ICMP_ECHO_REQUEST, 64, 1, 1, 8);
	assert_tx(run(w, &f, LAN, T0), LAN, "ping 10.1.0.1 answered by gax");
	icmp_echo(&f, lan_mac, mac_of(E11), E11, LAN_IP, GAX_PKT_ICMP_ECHO_REPLY, 64, 7, 1, 8);
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "echo reply to the kernel's ping");
	/* an ICMP error about none of gax's flows: about the kernel's connection */
	tcp(&inner, mac_of(E11), lan_mac, LAN_IP, E11, 45000, 8080, GAX_PKT_TCP_SYN, 64, 0);
	icmp_error(&f, lan_mac, mac_of(E11), E11, LAN_IP, GAX_PKT_ICMP_DEST_UNREACH, 3, 0, 64,
			inner.b + ETH, IPH + 8);
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "port unreachable to the kernel");
	/* another IP protocol (GRE, 47) to the interface address */
	udp(&f, lan_mac, mac_of(E11), E11, LAN_IP, 1, 2, 64, 8);
	f.b[ETH + 9] = 47;
	wr16(f.b + ETH + 10, 0);
	wr16(f.b + ETH + 10, ref_ip_field(f.b + ETH));
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "GRE to 10.1.0.1");
	/* an ARP reply for the interface address: learned, and the kernel's too */
	arp(&f, lan_mac, mac_of(IP(10, 1, 0, 77)), GAX_PKT_ARP_REPLY, mac_of(IP(10, 1, 0, 77)),
			IP(10, 1, 0, 77), lan_mac, LAN_IP);
	copy = f;
	assert_kernel(run(w, &f, LAN, T0), &f, &copy, LAN, "ARP reply");
	cr_assert_eq(w->ctr.iface[LAN].to_kernel, 7);

	/* gax's own traffic is unchanged: a flow's reply goes to the client */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
	ep = f_daddr(&f);
	nat = f_sport(&f);
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64,
			0);
	assert_tx(run(w, &f, LAN, T0), WAN, "the flow's SYN-ACK");
	/* an ARP request for the address: gax answers, the kernel need not */
	arp(&f, bcast, mac_of(E12), GAX_PKT_ARP_REQUEST, mac_of(E12), E12, zero_mac, LAN_IP);
	assert_tx(run(w, &f, LAN, T0), LAN, "ARP request answered");
	/* never the kernel: accelerated addresses, others' addresses, bad checksums */
	tcp(&f, lan_mac, mac_of(E11), E11, VIP, 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_NO_LISTENER, "SSH to the VIP");
	tcp(&f, lan_mac, mac_of(E11), E11, IP(10, 1, 0, 50), 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_NOT_FOR_US, "to another host");
	tcp(&f, lan_mac, mac_of(E11), E11, LAN_IP, 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	f.b[ETH + IPH + 16] ^= 1;
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_BAD_L4_CSUM, "bad checksum to 10.1.0.1");
	tcp(&f, other_mac, mac_of(E11), E11, LAN_IP, 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_NOT_FOR_US, "another MAC");
	/* the interface without a twin drops as before */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, WAN_IP, 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_NO_FLOW, "SSH to 10.0.0.1, no twin");
	icmp_echo(&f, wan_mac, mac_of(CLIENT), CLIENT, WAN_IP, GAX_PKT_ICMP_ECHO_REPLY, 64, 7, 1,
			8);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_UNSUPPORTED_ICMP, "echo reply, no twin");
	arp(&f, wan_mac, mac_of(GW), GAX_PKT_ARP_REPLY, mac_of(GW), GW, wan_mac, WAN_IP);
	assert_action(run(w, &f, WAN, T0), GAX_FWD_CONSUMED, "ARP reply, no twin");
	cr_assert_eq(w->ctr.iface[LAN].to_kernel, 7);
	cr_assert_eq(w->ctr.iface[WAN].to_kernel, 0);
	/* and off again */
	gax_fwd_set_kernel(w, LAN, false);
	tcp(&f, lan_mac, mac_of(E11), E11, LAN_IP, 40000, 22, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_NO_FLOW, "SSH to 10.1.0.1, twin gone");
	done(w);
}

/* A router on the client's side says "TTL exceeded" about a reply: on to the endpoint. */
Test(fwd, icmp_error_about_reply_translated_to_endpoint)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t client = IP(198, 51, 100, 9), router = IP(203, 0, 113, 1);
	struct frm f, rep, err, exp, inner;
	uint32_t ep;
	uint16_t nat;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(GW), client, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
	ep = f_daddr(&f);
	nat = f_sport(&f);
	tcp(&rep, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			64, 0);
	inner = rep;
	assert_tx(run(w, &rep, LAN, T0), WAN, "SYN-ACK");
	/* the router quotes the reply as gax sent it (VIP:80 -> client) and answers the VIP */
	icmp_error(&err, wan_mac, mac_of(GW), router, VIP, GAX_PKT_ICMP_TIME_EXCEEDED, 0, 0, 60,
			rep.b + ETH, IPH + 20);
	assert_tx(run(w, &err, WAN, T0), LAN, "time exceeded");
	/* the quote becomes the endpoint's own segment: endpoint:8080 -> 10.1.0.1:nat */
	inner.b[ETH + 8] = 63;
	wr16(inner.b + ETH + 10, 0);
	wr16(inner.b + ETH + 10, ref_ip_field(inner.b + ETH));
	icmp_error(&exp, mac_of(ep), lan_mac, LAN_IP, ep, GAX_PKT_ICMP_TIME_EXCEEDED, 0, 0, 59,
			inner.b + ETH, IPH + 20);
	assert_frame_eq(&err, &exp, "time exceeded to the endpoint");
	cr_assert_eq(w->ctr.icmp_errors_translated, 1);
	done(w);
}

/* ---- a full table ------------------------------------------------------------------- */

Test(fwd, flow_table_full_refuses_new_flows_only)
{
	struct io io;
	struct gax_fwd_worker *w = make_worker(&io, 0, 1, 2);
	uint32_t c1 = IP(198, 51, 100, 1), c2 = IP(198, 51, 100, 2), c3 = IP(198, 51, 100, 3);
	struct gax_flow_stats st;
	struct frm f, exp;
	uint64_t ports;
	uint32_t ep2;
	uint16_t nat2;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(GW), c1, VIP, 1111, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, T0), LAN, "flow 1");
	udp(&f, wan_mac, mac_of(GW), c2, VIP, 2222, 53, 64, 8);
	assert_tx(run(w, &f, WAN, T0), LAN, "flow 2");
	ep2 = f_daddr(&f);
	nat2 = f_sport(&f);
	gax_flow_stats_get(w->flows, &st);
	ports = st.snat_ports;
	tcp(&f, wan_mac, mac_of(GW), c3, VIP, 3333, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_FLOW_TABLE_FULL, "flow 3, TCP");
	udp(&f, wan_mac, mac_of(GW), c3, VIP, 3333, 53, 64, 8);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_FLOW_TABLE_FULL, "flow 3, UDP");
	tcp(&f, wan_mac, mac_of(GW), c3, VIP2, 3333, 443, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_FLOW_TABLE_FULL, "flow 3, reserved");
	/* the existing flows go on, both ways */
	tcp(&f, wan_mac, mac_of(GW), c1, VIP, 1111, 80, GAX_PKT_TCP_ACK, 64, 10);
	assert_tx(run(w, &f, WAN, T0), LAN, "flow 1 ACK");
	udp(&f, lan_mac, mac_of(ep2), ep2, LAN_IP, 53, nat2, 64, 8);
	assert_tx(run(w, &f, LAN, T0), WAN, "flow 2 reply");
	udp(&exp, mac_of(GW), wan_mac, VIP, c2, 53, 2222, 63, 8);
	assert_frame_eq(&f, &exp, "flow 2 reply");
	cr_assert_eq(w->ctr.drops[GAX_DROP_FLOW_TABLE_FULL], 3);
	cr_assert_eq(gax_flow_count(w->flows), 2);
	gax_flow_stats_get(w->flows, &st);
	cr_assert_eq(st.snat_ports, ports, "a refused flow takes no NAT port");
	cr_assert_eq(st.insert_full, 3);
	cr_assert_eq(w->ctr.listener[listener_of(VIP, GAX_PKT_PROTO_TCP, 80)].new_flows, 1);
	done(w);
}

/* ---- timers ------------------------------------------------------------------------ */

Test(fwd, tick_expires_idle_udp_flow)
{
	struct io io;
	struct gax_fwd_worker *w = make_worker(&io, 0, 1, 256);
	uint32_t lu = listener_of(VIP, GAX_PKT_PROTO_UDP, 53), lt;
	struct frm f, tcpf;
	uint16_t nat;

	lt = listener_of(VIP, GAX_PKT_PROTO_TCP, 80);
	learn_all(w, T0);
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 8);
	assert_tx(run(w, &f, WAN, T0), LAN, "query");
	nat = f_sport(&f);
	tcp(&tcpf, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &tcpf, WAN, T0), LAN, "SYN");
	cr_assert_eq(gax_flow_count(w->flows), 2);

	/* idle_timeout 20 s: alive at 19 s */
	gax_fwd_tick(w, T0 + 19 * SEC, 256, 64);
	cr_assert_eq(gax_flow_count(w->flows), 2);
	cr_assert_eq(w->ctr.listener[lu].ended_flows, 0);
	/* gone past 20 s, counted; the TCP flow (900 s) stays */
	gax_fwd_tick(w, T0 + 21 * SEC, 256, 64);
	cr_assert_eq(gax_flow_count(w->flows), 1);
	cr_assert_eq(w->ctr.listener[lu].ended_flows, 1);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(E21)].ended_flows, 1);
	cr_assert_eq(w->ctr.listener[lt].ended_flows, 0);
	udp(&f, lan_mac, mac_of(E21), E21, LAN_IP, 53, nat, 64, 8);
	assert_drop(run(w, &f, LAN, T0 + 21 * SEC), GAX_DROP_NO_FLOW, "late answer");

	/* traffic keeps a flow alive */
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 8);
	assert_tx(run(w, &f, WAN, T0 + 30 * SEC), LAN, "new query");
	nat = f_sport(&f);
	udp(&f, lan_mac, mac_of(E21), E21, LAN_IP, 53, nat, 64, 8);
	assert_tx(run(w, &f, LAN, T0 + 45 * SEC), WAN, "answer at 45 s");
	gax_fwd_tick(w, T0 + 60 * SEC, 256, 64);
	cr_assert_eq(w->ctr.listener[lu].ended_flows, 1, "expired although seen 15 s ago");
	gax_fwd_tick(w, T0 + 66 * SEC, 256, 64);
	cr_assert_eq(w->ctr.listener[lu].ended_flows, 2);
	cr_assert_eq(w->ctr.listener[lu].new_flows, 2);
	done(w);
}

Test(fwd, arp_retries_then_held_frame_dropped)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm syn;
	unsigned int i;
	uint32_t ep;

	tcp(&syn, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_action(run(w, &syn, WAN, T0), GAX_FWD_HELD, "SYN");
	cr_assert_eq(io.n_arp, 1);
	ep = io.arp[0].tip;
	gax_fwd_tick(w, T0 + 500 * MS, 16, 4096);
	cr_assert_eq(io.n_arp, 1, "no retry before retry_ms");
	gax_fwd_tick(w, T0 + 1000 * MS, 16, 4096);
	cr_assert_eq(io.n_arp, 2, "first retry");
	gax_fwd_tick(w, T0 + 2000 * MS, 16, 4096);
	cr_assert_eq(io.n_arp, 3, "second retry");
	for (i = 0; i < io.n_arp; i++) {
		cr_assert_eq(io.arp[i].iface, LAN);
		cr_assert_eq(io.arp[i].sip, LAN_IP);
		cr_assert_eq(io.arp[i].tip, ep);
	}
	cr_assert_eq(io.n_drop, 0);
	gax_fwd_tick(w, T0 + 3000 * MS, 16, 4096);
	cr_assert_eq(io.n_arp, 3, "max_retries requests in all");
	cr_assert_eq(io.n_drop, 1, "held frame given up");
	cr_assert_eq(io.drop[0].pkt, syn.b);
	cr_assert_eq(io.drop[0].iface, LAN);
	cr_assert_eq(io.drop[0].addr, ep);
	cr_assert_not(io.drop[0].has_mac);
	cr_assert_eq(w->ctr.drops[GAX_DROP_ARP_UNRESOLVED], 1);
	cr_assert_eq(w->ctr.iface[LAN].arp_requests, 3);
	cr_assert_eq(io.n_tx, 0);
	/* a late answer releases nothing */
	learn(w, LAN, ep, T0 + 3100 * MS);
	cr_assert_eq(io.n_tx, 0);
	done(w);
}

/* Freeing a worker hands its held frames back to drop_held. */
Test(fwd, free_drops_held_frames)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm a, b;

	tcp(&a, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_action(run(w, &a, WAN, T0), GAX_FWD_HELD, "SYN");
	udp(&b, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 8);
	assert_action(run(w, &b, WAN, T0), GAX_FWD_HELD, "query");
	cr_assert_eq(io.n_arp, 2);
	release(w);
	cr_assert_eq(io.n_drop, 2);
	cr_assert(io.drop[0].pkt == a.b || io.drop[1].pkt == a.b);
	cr_assert(io.drop[0].pkt == b.b || io.drop[1].pkt == b.b);
	gax_snapshot_free(snap);
	snap = NULL;
}

/* FIN both ways: the flow closes after the short timeout; a new SYN reopens a closing flow. */
Test(fwd, tcp_closing_flow_expires_early_and_reopens)
{
	struct io io;
	struct gax_fwd_worker *w = make_worker(&io, 0, 1, 256);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_TCP, 80);
	struct frm f;
	uint32_t ep;
	uint16_t nat;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
	ep = f_daddr(&f);
	nat = f_sport(&f);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80,
			GAX_PKT_TCP_FIN | GAX_PKT_TCP_ACK, 64, 0);
	assert_tx(run(w, &f, WAN, T0 + SEC), LAN, "client FIN");
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat, GAX_PKT_TCP_FIN | GAX_PKT_TCP_ACK, 64,
			0);
	assert_tx(run(w, &f, LAN, T0 + SEC), WAN, "endpoint FIN");
	/* closing: a new SYN of the same 5-tuple reuses it, with its endpoint and NAT port */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, T0 + 2 * SEC), LAN, "SYN on a closing flow");
	cr_assert_eq(f_sport(&f), nat);
	cr_assert_eq(f_daddr(&f), ep);
	cr_assert_eq(w->ctr.tcp_reopened, 1);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_RST, 64, 0);
	assert_tx(run(w, &f, WAN, T0 + 3 * SEC), LAN, "RST");
	/* closing timeout 10 s, not the listener's 900 s */
	gax_fwd_tick(w, T0 + 12 * SEC, 256, 0);
	cr_assert_eq(gax_flow_count(w->flows), 1);
	gax_fwd_tick(w, T0 + 14 * SEC, 256, 0);
	cr_assert_eq(gax_flow_count(w->flows), 0);
	cr_assert_eq(w->ctr.listener[l].ended_flows, 1);
	cr_assert_eq(w->ctr.endpoint[endpoint_of(ep)].ended_flows, 1);
	done(w);
}

/* A next hop's hold queue is bounded: beyond it, frames are dropped, not held. */
Test(fwd, arp_hold_queue_full)
{
	struct io io;
	struct gax_fwd_opts o;
	struct gax_fwd_worker *w;
	static struct frm f[3];
	unsigned int i;

	gax_fwd_opts_init(&o);
	o.flow_capacity = 64;
	o.neigh.queue_per_entry = 2;
	w = make_worker_opts(&io, &o);
	for (i = 0; i < 3; i++) {
		tcp(&f[i], wan_mac, mac_of(CLIENT), CLIENT, VIP, (uint16_t)(40000 + i), 80,
				GAX_PKT_TCP_SYN, 64, 0);
		if (i < 2)
			assert_action(run(w, &f[i], WAN, T0), GAX_FWD_HELD, "SYN held");
		else
			assert_drop(run(w, &f[i], WAN, T0), GAX_DROP_ARP_QUEUE_FULL, "third SYN");
	}
	cr_assert_eq(io.n_arp, 1);
	cr_assert_eq(w->ctr.drops[GAX_DROP_ARP_QUEUE_FULL], 1);
	learn(w, LAN, io.arp[0].tip, T0 + MS);
	cr_assert_eq(io.n_tx, 2);
	cr_assert_eq(io.tx[0].pkt, f[0].b, "released in arrival order");
	cr_assert_eq(io.tx[1].pkt, f[1].b, "released in arrival order");
	assert_csums(f[0].b, "first released");
	assert_csums(f[1].b, "second released");
	done(w);
}

/* What the NIC verified is not checked again; without its word, software checks. */
Test(fwd, nic_checksum_state_and_software_check)
{
	struct io io;
	struct gax_fwd_opts o;
	struct gax_fwd_worker *w = worker(&io);
	struct frm f;

	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	f.b[ETH + IPH + 16] ^= 0x01;
	assert_tx(run_csum(w, &f, WAN, false, T0, GAX_FWD_CSUM_GOOD), LAN, "NIC says good");
	release(w);

	gax_fwd_opts_init(&o);
	o.flow_capacity = 64;
	o.verify_l4_csum = false;
	w = make_worker_opts(&io, &o);
	learn_all(w, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	f.b[ETH + IPH + 16] ^= 0x01;
	assert_tx(run(w, &f, WAN, T0), LAN, "no software check");
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_drop(run_csum(w, &f, WAN, false, T0, GAX_FWD_CSUM_BAD), GAX_DROP_BAD_L4_CSUM,
			"NIC says bad");
	/* the IP header checksum is always checked (by the parser) */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40002, 80, GAX_PKT_TCP_SYN, 64, 0);
	f.b[ETH + 10] ^= 0x01;
	assert_drop(run(w, &f, WAN, T0), GAX_DROP_BAD_IP_CSUM, "bad IP checksum");
	done(w);
}

/* TTL 1 on the way back is not forwarded either. */
Test(fwd, reply_with_ttl_1_expires)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm f;

	learn_all(w, T0);
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 8);
	assert_tx(run(w, &f, WAN, T0), LAN, "query");
	udp(&f, lan_mac, mac_of(E21), E21, LAN_IP, 53, f_sport(&f), 1, 8);
	assert_drop(run(w, &f, LAN, T0), GAX_DROP_TTL_EXPIRED, "answer with TTL 1");
	cr_assert_eq(w->ctr.drops[GAX_DROP_TTL_EXPIRED], 1);
	done(w);
}

/* An endpoint's error about a reserve-client-IP flow goes to the client from the VIP. */
Test(fwd, icmp_error_of_reserved_flow_translated_to_client)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	struct frm orig, fwd, err, exp, inner;

	learn_all(w, T0);
	tcp(&orig, wan_mac, mac_of(CLIENT), CLIENT, VIP2, 40001, 443, GAX_PKT_TCP_SYN, 64, 0);
	fwd = orig;
	assert_tx(run(w, &fwd, WAN, T0), LAN, "SYN");
	icmp_error(&err, lan_mac, mac_of(E31), E31, CLIENT, GAX_PKT_ICMP_DEST_UNREACH, 3, 0, 64,
			fwd.b + ETH, IPH + 20);
	assert_tx(run(w, &err, LAN, T0), WAN, "port unreachable");
	inner = orig;
	inner.b[ETH + 8] = 63;
	wr16(inner.b + ETH + 10, 0);
	wr16(inner.b + ETH + 10, ref_ip_field(inner.b + ETH));
	icmp_error(&exp, mac_of(CLIENT), wan_mac, VIP2, CLIENT, GAX_PKT_ICMP_DEST_UNREACH, 3, 0, 63,
			inner.b + ETH, IPH + 20);
	assert_frame_eq(&err, &exp, "port unreachable to the client");
	cr_assert_eq(w->ctr.icmp_errors_translated, 1);
	done(w);
}

/* A router on the client's side about a reply of a reserve-client-IP flow: to the endpoint. */
Test(fwd, icmp_error_about_reserved_reply_translated_to_endpoint)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t router = IP(10, 0, 0, 200);
	struct frm f, rep, err, exp, inner;

	learn_all(w, T0);
	learn(w, WAN, router, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, 40001, 443, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w, &f, WAN, T0), LAN, "SYN");
	tcp(&rep, lan_mac, mac_of(E31), E31, CLIENT, 443, 40001, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			64, 0);
	inner = rep;
	assert_tx(run(w, &rep, LAN, T0), WAN, "SYN-ACK");
	icmp_error(&err, wan_mac, mac_of(router), router, VIP2, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1280, 64, rep.b + ETH, IPH + 20);
	assert_tx(run(w, &err, WAN, T0), LAN, "frag needed about the reply");
	/* the quote becomes what the endpoint sent: E31:443 -> client; the router stays the source */
	inner.b[ETH + 8] = 63;
	wr16(inner.b + ETH + 10, 0);
	wr16(inner.b + ETH + 10, ref_ip_field(inner.b + ETH));
	icmp_error(&exp, mac_of(E31), lan_mac, router, E31, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1280, 63, inner.b + ETH, IPH + 20);
	assert_frame_eq(&err, &exp, "frag needed to the endpoint");
	cr_assert_eq(w->ctr.icmp_errors_translated, 1);
	done(w);
}

/* ---- counters and bursts ------------------------------------------------------------ */

Test(fwd, counters_match_traffic)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	uint32_t l = listener_of(VIP, GAX_PKT_PROTO_TCP, 80), e, ep;
	static const uint16_t up[] = { 0, 10, 200, 1000 }, down[] = { 0, 1200, 1200 };
	uint64_t bin = 0, bout = 0, wan_bytes = 0, lan_bytes = 0;
	struct frm f;
	uint16_t nat = 0;
	unsigned int i;

	learn_all(w, T0);
	cr_assert_eq(w->ctr.iface[LAN].rx_packets, 6);
	cr_assert_eq(w->ctr.iface[WAN].rx_packets, 2);
	for (i = 0; i < 4; i++) {
		tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80,
				i == 0 ? GAX_PKT_TCP_SYN : GAX_PKT_TCP_ACK, 64, up[i]);
		wan_bytes += f.len;
		bin += IPH + 20 + up[i];
		assert_tx(run(w, &f, WAN, T0), LAN, "client segment");
		nat = f_sport(&f);
	}
	ep = f_daddr(&f);
	for (i = 0; i < 3; i++) {
		tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat,
				i == 0 ? GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK : GAX_PKT_TCP_ACK, 64, down[i]);
		lan_bytes += f.len;
		bout += IPH + 20 + down[i];
		assert_tx(run(w, &f, LAN, T0), WAN, "endpoint segment");
	}
	/* a dropped frame counts as received, not as forwarded */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 81, GAX_PKT_TCP_SYN, 64, 0);
	wan_bytes += f.len;
	run(w, &f, WAN, T0);

	cr_assert_eq(w->ctr.iface[WAN].rx_packets, 2 + 5);
	cr_assert_eq(w->ctr.iface[WAN].rx_bytes, 2 * 60 + wan_bytes);
	cr_assert_eq(w->ctr.iface[LAN].rx_packets, 6 + 3);
	cr_assert_eq(w->ctr.iface[LAN].rx_bytes, 6 * 60 + lan_bytes);
	cr_assert_eq(w->ctr.listener[l].packets_in, 4);
	cr_assert_eq(w->ctr.listener[l].bytes_in, bin);
	cr_assert_eq(w->ctr.listener[l].packets_out, 3);
	cr_assert_eq(w->ctr.listener[l].bytes_out, bout);
	cr_assert_eq(w->ctr.listener[l].new_flows, 1);
	e = endpoint_of(ep);
	cr_assert_eq(w->ctr.endpoint[e].packets_to, 4);
	cr_assert_eq(w->ctr.endpoint[e].bytes_to, bin);
	cr_assert_eq(w->ctr.endpoint[e].packets_from, 3);
	cr_assert_eq(w->ctr.endpoint[e].bytes_from, bout);
	cr_assert_eq(w->ctr.endpoint[e].new_flows, 1);
	cr_assert_eq(w->ctr.n_endpoints, snap->n_endpoints);
	cr_assert_eq(w->ctr.n_listeners, snap->n_listeners);
	for (i = 0; i < w->ctr.n_endpoints; i++)
		if (i != e)
			cr_assert_eq(w->ctr.endpoint[i].packets_to + w->ctr.endpoint[i].new_flows, 0);
	for (i = 0; i < w->ctr.n_listeners; i++)
		if (i != l)
			cr_assert_eq(w->ctr.listener[i].packets_in + w->ctr.listener[i].new_flows, 0);
	cr_assert_eq(w->ctr.drops[GAX_DROP_NO_LISTENER], 1);
	cr_assert_eq(ndrops(w), 1);
	gax_fwd_count_tx(w, LAN, 100);
	cr_assert_eq(w->ctr.iface[LAN].tx_packets, 1);
	cr_assert_eq(w->ctr.iface[LAN].tx_bytes, 100);
	gax_fwd_count_drop(w, GAX_DROP_TX_FULL);
	cr_assert_eq(w->ctr.drops[GAX_DROP_TX_FULL], 1);
	done(w);
}

/* A burst mixing a flow's SYN and its next segments, ARP and drops: served in order. */
Test(fwd, burst_opens_a_flow_and_uses_it_at_once)
{
	struct io io;
	struct gax_fwd_worker *w = worker(&io);
	static struct frm f[6];
	uint8_t *frames[6];
	uint16_t lens[6];
	void *pkts[6];
	struct gax_fwd_verdict v[6];
	unsigned int i;

	learn_all(w, T0);
	tcp(&f[0], wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	tcp(&f[1], wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_ACK, 64, 5);
	tcp(&f[2], wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_ACK, 64, 5);
	arp(&f[3], bcast, mac_of(CLIENT), GAX_PKT_ARP_REQUEST, mac_of(CLIENT), CLIENT, zero_mac,
			VIP);
	udp(&f[4], wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 8);
	udp(&f[5], wan_mac, mac_of(CLIENT), CLIENT, VIP, 5353, 53, 64, 9);
	for (i = 0; i < 6; i++) {
		frames[i] = f[i].b;
		lens[i] = f[i].len;
		pkts[i] = f[i].b;
	}
	gax_fwd_burst(w, frames, lens, pkts, NULL, 6, WAN, false, T0, v);
	assert_tx(v[0], LAN, "SYN");
	assert_tx(v[1], LAN, "ACK of the flow the SYN opened");
	cr_assert_eq(f_sport(&f[1]), f_sport(&f[0]));
	cr_assert_eq(f_daddr(&f[1]), f_daddr(&f[0]));
	assert_drop(v[2], GAX_DROP_NO_FLOW, "ACK of no flow");
	assert_tx(v[3], WAN, "ARP");
	assert_tx(v[4], LAN, "first query");
	assert_tx(v[5], LAN, "second query of the same flow");
	cr_assert_eq(f_sport(&f[5]), f_sport(&f[4]));
	cr_assert_eq(gax_flow_count(w->flows), 2);
	cr_assert_eq(w->ctr.listener[listener_of(VIP, GAX_PKT_PROTO_UDP, 53)].new_flows, 1);
	done(w);
}

/* ---- two workers -------------------------------------------------------------------- */

Test(fwd, two_workers_full_nat_reply_goes_to_port_owner)
{
	struct io io0, io1;
	struct gax_fwd_worker *w0 = make_worker(&io0, 0, 2, 1024);
	struct gax_fwd_worker *w1 = make_worker(&io1, 1, 2, 1024);
	struct frm f, copy, exp;
	struct gax_fwd_verdict v;
	uint16_t nat0, nat1;
	uint32_t ep;

	learn_all(w0, T0);
	learn_all(w1, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40000, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w0, &f, WAN, T0), LAN, "SYN on worker 0");
	nat0 = f_sport(&f);
	cr_assert_eq(nat0 % 2, 0, "worker 0 gave port %u", nat0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w1, &f, WAN, T0), LAN, "SYN on worker 1");
	nat1 = f_sport(&f);
	ep = f_daddr(&f);
	cr_assert_eq(nat1 % 2, 1, "worker 1 gave port %u", nat1);

	/* worker 1's reply reaches worker 0: handed over unchanged */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, nat1, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 64,
			0);
	copy = f;
	v = run(w0, &f, LAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "reply on worker 0");
	cr_assert_eq(v.worker, 1);
	assert_frame_eq(&f, &copy, "handed over unchanged");
	cr_assert_eq(w0->ctr.redirected_out, 1);
	v = run_csum(w1, &f, LAN, true, T0, GAX_FWD_CSUM_UNKNOWN);
	assert_tx(v, WAN, "reply handed to worker 1");
	tcp(&exp, mac_of(CLIENT), wan_mac, VIP, CLIENT, 80, 40001,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 63, 0);
	assert_frame_eq(&f, &exp, "reply from worker 1");
	cr_assert_eq(w1->ctr.redirected_in, 1);
	cr_assert_eq(w1->ctr.redirected_out, 0);

	/* a reply to an even port of no flow stays with worker 0: dropped there */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, (uint16_t)(nat0 + 2), GAX_PKT_TCP_ACK, 64,
			0);
	assert_drop(run(w0, &f, LAN, T0), GAX_DROP_NO_FLOW, "even port, no flow");
	/* a handed-over frame is never handed over again */
	tcp(&f, lan_mac, mac_of(ep), ep, LAN_IP, 8080, (uint16_t)(nat0 + 2), GAX_PKT_TCP_ACK, 64,
			0);
	assert_drop(run_csum(w1, &f, LAN, true, T0, GAX_FWD_CSUM_UNKNOWN), GAX_DROP_NO_FLOW,
			"redirected to the wrong worker");

	/* an ICMP error about worker 1's flow reaching worker 0 */
	tcp(&copy, lan_mac, lan_mac, LAN_IP, ep, nat1, 8080, GAX_PKT_TCP_ACK, 63, 20);
	icmp_error(&f, lan_mac, mac_of(ep), ep, LAN_IP, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1300, 64, copy.b + ETH, IPH + 28);
	v = run(w0, &f, LAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "ICMP error on worker 0");
	cr_assert_eq(v.worker, 1);
	assert_tx(run_csum(w1, &f, LAN, true, T0, GAX_FWD_CSUM_UNKNOWN), WAN,
			"ICMP error on worker 1");
	cr_assert_eq(w1->ctr.icmp_errors_translated, 1);
	release(w1);
	done(w0);
}

Test(fwd, two_workers_reserved_client_goes_to_its_owner)
{
	struct io io0, io1;
	struct gax_fwd_worker *w0 = make_worker(&io0, 0, 2, 1024);
	struct gax_fwd_worker *w1 = make_worker(&io1, 1, 2, 1024);
	uint16_t cport = port_owned_by(CLIENT, 1, 40000);
	uint16_t cport0 = port_owned_by(CLIENT, 0, 40000);
	uint16_t cport2 = port_owned_by(CLIENT, 1, (uint16_t)(cport + 1));
	struct frm f, copy, exp;
	struct gax_fwd_verdict v;

	learn_all(w0, T0);
	learn_all(w1, T0);
	/* the SYN reaches worker 0 (RSS): handed to the owner unchanged */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443, GAX_PKT_TCP_SYN, 64, 0);
	copy = f;
	v = run(w0, &f, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "SYN on worker 0");
	cr_assert_eq(v.worker, 1);
	assert_frame_eq(&f, &copy, "handed over unchanged");
	cr_assert_eq(gax_flow_count(w0->flows), 0);
	cr_assert_eq(w0->ctr.redirected_out, 1);
	/* the owner serves it, handed over: not handed back */
	v = run_csum(w1, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN);
	assert_tx(v, LAN, "SYN on worker 1");
	tcp(&exp, mac_of(E31), lan_mac, CLIENT, E31, cport, 443, GAX_PKT_TCP_SYN, 63, 0);
	assert_frame_eq(&f, &exp, "SYN to the endpoint");
	cr_assert_eq(gax_flow_count(w1->flows), 1);
	cr_assert_eq(w1->ctr.redirected_in, 1);
	cr_assert_eq(w1->ctr.redirected_out, 0);

	/* the endpoint's reply reaches worker 0: to the owner */
	tcp(&f, lan_mac, mac_of(E31), E31, CLIENT, 443, cport, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			64, 0);
	v = run(w0, &f, LAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "reply on worker 0");
	cr_assert_eq(v.worker, 1);
	assert_tx(run_csum(w1, &f, LAN, true, T0, GAX_FWD_CSUM_UNKNOWN), WAN, "reply on worker 1");
	tcp(&exp, mac_of(CLIENT), wan_mac, VIP2, CLIENT, 443, cport,
			GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, 63, 0);
	assert_frame_eq(&f, &exp, "reply from the VIP");

	/* a client worker 0 owns is served there */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport0, 443, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run(w0, &f, WAN, T0), LAN, "SYN of worker 0's client");
	/* a frame handed over is served where it lands, never handed over again */
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport2, 443, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run_csum(w0, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN,
			"handed-over SYN on worker 0");
	cr_assert_eq(w0->ctr.redirected_out, 2);

	/* UDP: every datagram of worker 1's client reaching worker 0 goes to worker 1 */
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443, 64, 8);
	v = run(w0, &f, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "first datagram");
	cr_assert_eq(v.worker, 1);
	assert_tx(run_csum(w1, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN, "first datagram");
	udp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443, 64, 9);
	v = run(w0, &f, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "second datagram");
	cr_assert_eq(v.worker, 1);
	assert_tx(run_csum(w1, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN, "second datagram");
	cr_assert_eq(gax_flow_count(w1->flows), 2);
	release(w1);
	done(w0);
}

/*
 * RSS sends all of a client's segments to one worker. When that worker does
 * not own the client's reserve-client-IP flow, it handed the SYN over; the
 * segments after it must follow the same way, not be dropped for lack of a
 * flow on the worker that never had it.
 */
Test(fwd, two_workers_reserved_client_tcp_segments_follow_the_syn)
{
	struct io io0, io1;
	struct gax_fwd_worker *w0 = make_worker(&io0, 0, 2, 1024);
	struct gax_fwd_worker *w1 = make_worker(&io1, 1, 2, 1024);
	uint16_t cport = port_owned_by(CLIENT, 1, 40000);
	struct frm f;
	struct gax_fwd_verdict v;

	learn_all(w0, T0);
	learn_all(w1, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443, GAX_PKT_TCP_SYN, 64, 0);
	v = run(w0, &f, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "SYN on worker 0");
	assert_tx(run_csum(w1, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN, "SYN on worker 1");

	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443, GAX_PKT_TCP_ACK, 64, 100);
	v = run(w0, &f, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "ACK of worker 1's flow on worker 0");
	cr_assert_eq(v.worker, 1);
	assert_tx(run_csum(w1, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN, "ACK on worker 1");
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443,
			GAX_PKT_TCP_FIN | GAX_PKT_TCP_ACK, 64, 0);
	v = run(w0, &f, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "FIN of worker 1's flow on worker 0");
	release(w1);
	done(w0);
}

/* ARP frames: the receiving worker answers; copies to the others only teach them. */
Test(fwd, two_workers_arp_copies_teach_without_answering)
{
	struct io io0, io1;
	struct gax_fwd_worker *w0 = make_worker(&io0, 0, 2, 1024);
	struct gax_fwd_worker *w1 = make_worker(&io1, 1, 2, 1024);
	struct frm syn, rep, copy, exp, req;
	uint32_t ep;

	tcp(&syn, wan_mac, mac_of(CLIENT), CLIENT, VIP, 40001, 80, GAX_PKT_TCP_SYN, 64, 0);
	assert_action(run(w1, &syn, WAN, T0), GAX_FWD_HELD, "SYN held on worker 1");
	cr_assert_eq(io1.n_arp, 1);
	ep = io1.arp[0].tip;
	/* the answer reaches worker 0, which learns from it and has nothing held */
	arp(&rep, lan_mac, mac_of(ep), GAX_PKT_ARP_REPLY, mac_of(ep), ep, lan_mac, LAN_IP);
	copy = rep;
	assert_action(run(w0, &rep, LAN, T0 + MS), GAX_FWD_CONSUMED, "reply on worker 0");
	cr_assert_eq(io0.n_tx, 0);
	/* worker 1 gets a copy: its held SYN goes out */
	assert_action(run_csum(w1, &copy, LAN, true, T0 + MS, GAX_FWD_CSUM_UNKNOWN),
			GAX_FWD_CONSUMED, "copy on worker 1");
	cr_assert_eq(io1.n_tx, 1);
	cr_assert_eq(io1.tx[0].pkt, syn.b);
	tcp(&exp, mac_of(ep), lan_mac, LAN_IP, ep, f_sport(&syn), 8080, GAX_PKT_TCP_SYN, 63, 0);
	assert_frame_eq(&syn, &exp, "released SYN");
	cr_assert_eq(f_sport(&syn) % 2, 1);
	/* a request's copy is not answered */
	arp(&req, bcast, mac_of(CLIENT), GAX_PKT_ARP_REQUEST, mac_of(CLIENT), CLIENT, zero_mac,
			VIP);
	copy = req;
	assert_action(run_csum(w1, &req, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), GAX_FWD_CONSUMED,
			"request copy");
	assert_frame_eq(&req, &copy, "request copy untouched");
	cr_assert_eq(w1->ctr.iface[WAN].arp_replies, 0);
	release(w1);
	done(w0);
}

/*
 * The reply of worker 1's reserve-client-IP flow met a router that answers
 * with an ICMP error to the VIP. The error may reach either worker; its quote
 * (VIP:443 -> client:port) names the owner as the reply itself did
 * (gax_fwd_client_owner(client, port)), so worker 0 must hand it over.
 */
Test(fwd, two_workers_icmp_error_about_reserved_reply_goes_to_owner)
{
	struct io io0, io1;
	struct gax_fwd_worker *w0 = make_worker(&io0, 0, 2, 1024);
	struct gax_fwd_worker *w1 = make_worker(&io1, 1, 2, 1024);
	uint16_t cport = port_owned_by(CLIENT, 1, 40000);
	uint32_t router = IP(10, 0, 0, 200);
	struct frm f, rep, err;
	struct gax_fwd_verdict v;

	learn_all(w0, T0);
	learn_all(w1, T0);
	learn(w1, WAN, router, T0);
	tcp(&f, wan_mac, mac_of(CLIENT), CLIENT, VIP2, cport, 443, GAX_PKT_TCP_SYN, 64, 0);
	assert_tx(run_csum(w1, &f, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN, "SYN on worker 1");
	tcp(&rep, lan_mac, mac_of(E31), E31, CLIENT, 443, cport, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK,
			64, 0);
	assert_tx(run(w1, &rep, LAN, T0), WAN, "SYN-ACK on worker 1");
	icmp_error(&err, wan_mac, mac_of(router), router, VIP2, GAX_PKT_ICMP_DEST_UNREACH,
			GAX_PKT_ICMP_FRAG_NEEDED, 1280, 64, rep.b + ETH, IPH + 20);
	v = run(w0, &err, WAN, T0);
	assert_action(v, GAX_FWD_REDIRECT, "error about worker 1's reply on worker 0");
	cr_assert_eq(v.worker, 1);
	assert_tx(run_csum(w1, &err, WAN, true, T0, GAX_FWD_CSUM_UNKNOWN), LAN,
			"error on worker 1");
	release(w1);
	done(w0);
}
