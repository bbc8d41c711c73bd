/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for a worker's forwarding decision (lib/fwd, with
 * lib/flow, lib/neigh, lib/packet and a compiled snapshot under it). Build
 * and run it with tests/fuzz/run_fuzz.sh 60 fwd.
 *
 * A fixed configuration is compiled once. Each input creates one worker with
 * tiny flow and neighbour tables (so they fill, expire and give up), feeds it
 * bursts of frames with the clock advancing, runs its timers, and frees it.
 *
 * Input: one setup byte (bit 0: two workers, bit 1: be worker 1 of them,
 * bit 2: no software L4 checksum check), then records of a 5-byte header
 * [ctl][dt][aux][len:16 big-endian] and len bytes (cut at the end of input):
 *   ctl bit 0     received on lan (else wan)
 *       bit 1     handed over by another worker (`redirected`)
 *       bits 2-3  what the NIC says of the checksums (enum gax_fwd_csum; 3: unknown)
 *       bit 4     set the Ethernet destination to the interface's MAC
 *       bit 5     fix the IPv4, L4 and embedded checksums
 *       bit 6     end the burst after this frame
 *       bit 7     run the timers with a large budget after the burst
 *   dt            the clock advances dt * 50 ms before the burst
 *   aux bits 0-1  0: the frame is the record's bytes; 1: the reply of the
 *                 last frame sent (addresses and ports swapped, to the
 *                 interface it left by); 2: an ICMP error about the last
 *                 frame sent; 3: the ARP reply to the last ARP request
 *       bits 2-4  literal IPv4 frames: 1-7 set the destination address (and
 *                 TCP/UDP port) to one of the listeners or owned addresses
 *       bits 5-7  generated frames: TCP flags (6: TTL 1), ICMP type, source and
 *                 quote length (7: TTL 1), or ARP variant
 * Bursts end at bit 6, at 32 frames, and around every generated frame.
 *
 * Every frame is an exact-size heap copy (so AddressSanitizer sees any
 * overread) that lives until the worker is freed, so that the neighbour table
 * may hold it. Beyond memory safety it checks the contract of gax_fwd.h:
 * verdicts in range; a transmitted frame parses, comes from the interface's
 * MAC and keeps right checksums it had; a handed-over frame is unchanged and
 * goes to the other worker, never twice; only ARP is consumed; every held
 * frame comes back exactly once (sent with a MAC, or dropped); ARP requests
 * come from the interface's address; drop and receive counters match the
 * verdicts.
 *
 * With GAX_FUZZ_SEEDS=<dir> in the environment, the target first writes its
 * seed inputs (TCP, UDP, reserved client addresses, ARP, ICMP, two workers)
 * into <dir>, and with GAX_FUZZ_FRAMES=<dir2> also one input per frame file
 * of <dir2> (the packet target's seeds), aimed at a listener.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gax_config.h"
#include "gax_fwd.h"

#include "fuzz_frames.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define ETH GAX_PKT_ETH_HLEN
#define MAX_FRAMES 64
#define MS 1000000ull

static const char config_json[] =
	"{\"interfaces\": ["
	" {\"name\": \"wan\", \"device\": \"net_null0\", \"addresses\": [\"10.0.0.1/24\"],"
	"  \"gateway\": \"10.0.0.254\","
	"  \"neighbors\": [{\"address\": \"10.0.0.254\", \"mac\": \"02:aa:0a:00:00:fe\"}]},"
	" {\"name\": \"lan\", \"device\": \"net_null1\", \"addresses\": [\"10.1.0.1/24\"],"
	"  \"neighbors\": [{\"address\": \"10.1.0.11\", \"mac\": \"02:aa:0a:01:00:0b\"},"
	"                 {\"address\": \"10.1.0.21\", \"mac\": \"02:aa:0a:01:00:15\"}]}],"
	" \"accelerators\": ["
	"  {\"name\": \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
	"   {\"name\": \"tcp-80\", \"protocol\": \"tcp\", \"port_ranges\": \"80,8080~8085\","
	"    \"client_affinity\": \"source_ip\", \"endpoint_groups\": ["
	"     {\"name\": \"eg-local\","
	"      \"port_overrides\": [{\"listener_port\": 80, \"endpoint_port\": 8080}],"
	"      \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": 100},"
	"                     {\"address\": \"10.1.0.12\", \"weight\": 50},"
	"                     {\"address\": \"10.1.0.13\", \"weight\": 0}]}]},"
	"   {\"name\": \"udp-53\", \"protocol\": \"udp\", \"port_ranges\": \"53\", \"idle_timeout\": 10,"
	"    \"endpoint_groups\": [{\"name\": \"eg-dns\","
	"      \"endpoints\": [{\"address\": \"10.1.0.21\"}, {\"address\": \"10.1.0.22\"}]}]},"
	"   {\"name\": \"tcp-9000\", \"protocol\": \"tcp\", \"port_ranges\": \"9000\","
	"    \"idle_timeout\": 10, \"endpoint_groups\": [{\"name\": \"eg-remote\","
	"      \"endpoints\": [{\"address\": \"192.0.2.50\"}]}]}]},"
	"  {\"name\": \"keep\", \"addresses\": [\"10.0.0.101\"], \"listeners\": ["
	"   {\"name\": \"tcp-443\", \"protocol\": \"tcp\", \"port_ranges\": \"443\","
	"    \"endpoint_groups\": [{\"name\": \"eg-keep\", \"reserve_client_ip\": true,"
	"      \"endpoints\": [{\"address\": \"10.1.0.31\"}]}]},"
	"   {\"name\": \"udp-443\", \"protocol\": \"udp\", \"port_ranges\": \"443\","
	"    \"idle_timeout\": 10, \"endpoint_groups\": [{\"name\": \"eg-keep-udp\","
	"      \"reserve_client_ip\": true, \"endpoints\": [{\"address\": \"10.1.0.41\"}]}]}]}]}";

static const uint8_t if_mac[2][6] = {
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 },
};
static const uint32_t if_addr[2] = { IP(10, 0, 0, 1), IP(10, 1, 0, 1) };

/* Where a literal frame may be aimed (aux bits 2-4, 1-7). */
static const struct { uint32_t addr; uint16_t port; } targets[8] = {
	{ 0, 0 },
	{ IP(10, 0, 0, 100), 80 },
	{ IP(10, 0, 0, 100), 8081 },
	{ IP(10, 0, 0, 100), 53 },
	{ IP(10, 0, 0, 101), 443 },
	{ IP(10, 0, 0, 100), 9000 },
	{ IP(10, 0, 0, 1), 1024 },
	{ IP(10, 1, 0, 1), 1025 },
};

static struct gax_snapshot *snap;

/* ---- the frames of one input -------------------------------------------------- */

struct slot {
	uint8_t *f;		/* exact-size heap copy, given to the worker */
	uint8_t *orig;		/* the same bytes, kept to compare */
	uint16_t len;
	bool pending;		/* in the burst being decided */
	bool held;		/* the verdict was GAX_FWD_HELD */
	bool parsed;		/* the input frame parsed */
	bool l4_ok;		/* ...with right checksums */
	unsigned int released;	/* handed back by the neighbour table */
};

static struct run {
	struct gax_fwd_worker *w;
	struct slot s[MAX_FRAMES];
	unsigned int n;
	uint64_t drop_verdicts, drop_callbacks, frames_fed, kernel_verdicts;
	/* the last frame sent, to answer */
	uint8_t last_tx[2048];
	uint16_t last_tx_len;
	uint16_t last_tx_iface;
	/* the last ARP request asked for */
	bool have_arp;
	uint16_t arp_iface;
	uint32_t arp_sip, arp_tip;
} R;

static struct slot *
find_slot(void *pkt)
{
	unsigned int i;

	for (i = 0; i < R.n; i++)
		if (R.s[i].f == pkt)
			return &R.s[i];
	return NULL;
}

/* What a frame the worker sends must be: well formed, from our MAC, checksums kept right. */
static void
check_sent(const struct slot *sl, uint16_t iface)
{
	struct gax_pkt p;

	CHECK(iface < 2);
	CHECK(sl->len >= ETH);
	CHECK(memcmp(sl->f + 6, if_mac[iface], 6) == 0);
	CHECK(gax_pkt_parse(sl->f, sl->len, &p) == GAX_DROP_NONE);
	if (sl->l4_ok)
		CHECK(gax_pkt_l4_csum_ok(sl->f, &p));
	if (p.ethertype == GAX_PKT_ETHERTYPE_IPV4 && sl->len <= sizeof(R.last_tx)) {
		memcpy(R.last_tx, sl->f, sl->len);
		R.last_tx_len = sl->len;
		R.last_tx_iface = iface;
	}
}

static void
cb_arp(void *ctx, uint16_t iface, uint32_t sip, uint32_t tip)
{
	CHECK(ctx == &R);
	CHECK(iface < 2);
	CHECK(sip == if_addr[iface]);
	CHECK(gax_neigh_addr_ok(tip));
	R.have_arp = true;
	R.arp_iface = iface;
	R.arp_sip = sip;
	R.arp_tip = tip;
}

static struct slot *
released(void *pkt)
{
	struct slot *sl = find_slot(pkt);

	CHECK(sl != NULL);
	CHECK(sl->pending || sl->held);	/* only a frame the table holds comes back */
	CHECK(sl->released == 0);	/* ...once */
	sl->released++;
	return sl;
}

static void
cb_tx(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct slot *sl = released(pkt);

	CHECK(ctx == &R);
	CHECK(mac != NULL && gax_neigh_mac_ok(mac));
	CHECK(gax_neigh_addr_ok(addr));
	gax_pkt_set_macs(sl->f, R.w->mac[iface], mac); /* as gaxd does */
	check_sent(sl, iface);
}

static void
cb_drop(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	CHECK(ctx == &R);
	CHECK(mac == NULL);
	CHECK(iface < 2);
	(void)addr;
	released(pkt);
	R.drop_callbacks++;
}

static struct slot *
add_frame(const uint8_t *data, size_t len)
{
	struct slot *sl;

	if (R.n == MAX_FRAMES || len > 0xffff)
		return NULL;
	sl = &R.s[R.n++];
	memset(sl, 0, sizeof(*sl));
	sl->len = (uint16_t)len;
	sl->f = malloc(len ? len : 1);
	sl->orig = malloc(len ? len : 1);
	CHECK(sl->f != NULL && sl->orig != NULL);
	memcpy(sl->f, data, len);
	return sl;
}

/* Once the frame's bytes are final: remember them and what they were. */
static void
seal(struct slot *sl)
{
	struct gax_pkt p;

	memcpy(sl->orig, sl->f, sl->len);
	sl->parsed = gax_pkt_parse(sl->f, sl->len, &p) == GAX_DROP_NONE;
	sl->l4_ok = sl->parsed && gax_pkt_l4_csum_ok(sl->f, &p);
}

/* ---- generated frames --------------------------------------------------------- */

/* Aim a literal IPv4 frame at target @p t (address, and port for TCP/UDP). */
static void
retarget(uint8_t *f, size_t len, unsigned int t)
{
	if (t == 0 || len < ETH + 24 || rd16(f + 12) != GAX_PKT_ETHERTYPE_IPV4 ||
			(f[ETH] & 0xf) != 5)
		return;
	wr32(f + ETH + 16, targets[t].addr);
	if (f[ETH + 9] == GAX_PKT_PROTO_TCP || f[ETH + 9] == GAX_PKT_PROTO_UDP)
		wr16(f + ETH + 22, targets[t].port);
}

/* The answer to the last frame sent: addresses and ports swapped, to the interface it left by. */
static struct slot *
gen_reply(unsigned int variant, uint16_t *iface)
{
	static const uint8_t flags[8] = {
		GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK, GAX_PKT_TCP_ACK, GAX_PKT_TCP_ACK | GAX_PKT_TCP_PSH,
		GAX_PKT_TCP_FIN | GAX_PKT_TCP_ACK, GAX_PKT_TCP_RST, GAX_PKT_TCP_SYN,
		GAX_PKT_TCP_ACK, GAX_PKT_TCP_RST | GAX_PKT_TCP_ACK,
	};
	uint8_t f[2048];
	uint16_t len = R.last_tx_len, port;
	uint32_t a;
	struct slot *sl;

	if (len < ETH + 28)
		return NULL;
	memcpy(f, R.last_tx, len);
	memcpy(f + 6, R.last_tx, 6);
	memcpy(f, if_mac[R.last_tx_iface], 6);
	a = rd32(f + ETH + 12);
	memcpy(f + ETH + 12, f + ETH + 16, 4);
	wr32(f + ETH + 16, a);
	f[ETH + 8] = variant == 6 ? 1 : 64;
	if (f[ETH + 9] == GAX_PKT_PROTO_TCP || f[ETH + 9] == GAX_PKT_PROTO_UDP) {
		port = rd16(f + ETH + 20);
		memcpy(f + ETH + 20, f + ETH + 22, 2);
		wr16(f + ETH + 22, port);
	}
	if (f[ETH + 9] == GAX_PKT_PROTO_TCP && len >= ETH + 40)
		f[ETH + 33] = flags[variant];
	fix_checksums(f, len);
	sl = add_frame(f, len);
	*iface = R.last_tx_iface;
	return sl;
}

/* An ICMP error about the last frame sent, from its destination (or a router on the way). */
static struct slot *
gen_error(unsigned int variant, uint16_t *iface)
{
	static const uint8_t type[4][2] = { { 3, 4 }, { 11, 0 }, { 3, 3 }, { 3, 1 } };
	uint8_t f[ETH + 20 + 8 + 20 + 40];
	uint16_t quote = R.last_tx_len - ETH;
	struct slot *sl;
	uint32_t src;

	if (R.last_tx_len < ETH + 28)
		return NULL;
	if (quote > ((variant & 4) ? 20 + 40 : 20 + 8))
		quote = (variant & 4) ? 20 + 40 : 20 + 8;
	memset(f, 0, sizeof(f));
	memcpy(f, if_mac[R.last_tx_iface], 6);
	memcpy(f + 6, R.last_tx, 6);
	wr16(f + 12, GAX_PKT_ETHERTYPE_IPV4);
	f[ETH] = 0x45;
	wr16(f + ETH + 2, (uint16_t)(20 + 8 + quote));
	f[ETH + 8] = variant == 7 ? 1 : 64;
	f[ETH + 9] = GAX_PKT_PROTO_ICMP;
	src = rd32(R.last_tx + ETH + 16);
	if (variant & 4)
		src = R.last_tx_iface == 0 ? IP(10, 0, 0, 254) : IP(10, 1, 0, 254);
	wr32(f + ETH + 12, src);
	memcpy(f + ETH + 16, R.last_tx + ETH + 12, 4);
	f[ETH + 20] = type[variant & 3][0];
	f[ETH + 21] = type[variant & 3][1];
	wr16(f + ETH + 26, 1280);
	memcpy(f + ETH + 28, R.last_tx + ETH, quote);
	fix_checksums(f, (size_t)ETH + 28 + quote);
	sl = add_frame(f, (size_t)ETH + 28 + quote);
	*iface = R.last_tx_iface;
	return sl;
}

/* The answer to the last ARP request: unicast (or broadcast) reply, or a request back. */
static struct slot *
gen_arp(unsigned int variant, uint16_t *iface)
{
	uint8_t f[60], mac[6] = { 0x02, 0xaa };
	uint8_t *a = f + ETH;

	if (!R.have_arp)
		return NULL;
	wr32(mac + 2, R.arp_tip);
	memset(f, 0, sizeof(f));
	if (variant & 1)
		memset(f, 0xff, 6);
	else
		memcpy(f, if_mac[R.arp_iface], 6);
	memcpy(f + 6, mac, 6);
	wr16(f + 12, GAX_PKT_ETHERTYPE_ARP);
	wr16(a, 1);
	wr16(a + 2, GAX_PKT_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, variant & 2 ? GAX_PKT_ARP_REQUEST : GAX_PKT_ARP_REPLY);
	memcpy(a + 8, mac, 6);
	wr32(a + 14, R.arp_tip);
	memcpy(a + 18, if_mac[R.arp_iface], 6);
	wr32(a + 24, R.arp_sip);
	*iface = variant & 4 ? (uint16_t)(R.arp_iface ^ 1) : R.arp_iface;
	return add_frame(f, sizeof(f));
}

/* ---- bursts ------------------------------------------------------------------- */

static void
check_counters(void)
{
	const struct gax_fwd_counters *c = &R.w->ctr;
	uint64_t drops = 0;
	int i;

	for (i = 0; i < GAX_DROP_REASON_MAX; i++)
		drops += c->drops[i];
	CHECK(c->drops[GAX_DROP_NONE] == 0);
	CHECK(drops == R.drop_verdicts + R.drop_callbacks);
	CHECK(c->iface[0].rx_packets + c->iface[1].rx_packets == R.frames_fed);
	CHECK(c->iface[0].to_kernel == 0 && c->iface[1].to_kernel == R.kernel_verdicts);
}

static void
burst(struct slot **b, const uint8_t *csum, unsigned int n, uint16_t iface, bool redirected,
		uint64_t now)
{
	uint8_t *frames[GAX_FWD_BURST];
	uint16_t lens[GAX_FWD_BURST];
	void *pkts[GAX_FWD_BURST];
	struct gax_fwd_verdict v[GAX_FWD_BURST];
	unsigned int i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		seal(b[i]);
		b[i]->pending = true;
		frames[i] = b[i]->f;
		lens[i] = b[i]->len;
		pkts[i] = b[i]->f;
	}
	gax_fwd_burst(R.w, frames, lens, pkts, csum, n, iface, redirected, now, v);
	if (!redirected) /* a frame handed over was counted where it arrived */
		R.frames_fed += n;
	for (i = 0; i < n; i++) {
		struct slot *sl = b[i];

		sl->pending = false;
		CHECK(v[i].action <= GAX_FWD_KERNEL);
		if (v[i].action != GAX_FWD_HELD)
			CHECK(sl->released == 0);
		switch (v[i].action) {
		case GAX_FWD_DROP:
			CHECK(v[i].reason > GAX_DROP_NONE && v[i].reason < GAX_DROP_REASON_MAX);
			R.drop_verdicts++;
			break;
		case GAX_FWD_TX:
			CHECK(v[i].iface < 2);
			check_sent(sl, v[i].iface);
			break;
		case GAX_FWD_HELD:
			CHECK(sl->parsed);
			sl->held = true;
			break;
		case GAX_FWD_REDIRECT:
			CHECK(!redirected);
			CHECK(R.w->n_workers == 2 && v[i].worker == 1 - R.w->worker_id);
			CHECK(memcmp(sl->f, sl->orig, sl->len) == 0);
			break;
		case GAX_FWD_CONSUMED:
			CHECK(sl->parsed);
			CHECK(rd16(sl->f + 12) == GAX_PKT_ETHERTYPE_ARP);
			break;
		case GAX_FWD_KERNEL:
			/* Only the twin's interface, and as it arrived. */
			CHECK(iface == 1 && v[i].iface == 1);
			CHECK(memcmp(sl->f, sl->orig, sl->len) == 0);
			R.kernel_verdicts++;
			break;
		}
	}
	check_counters();
}

static void
compile_once(void)
{
	struct gax_diags d;
	struct gax_config *cfg;

	if (snap != NULL)
		return;
	gax_diags_init(&d);
	cfg = gax_config_load_buffer(config_json, strlen(config_json), NULL, &d);
	if (cfg == NULL)
		gax_diags_print(stderr, "fuzz_fwd", &d);
	gax_diags_fini(&d);
	CHECK(cfg != NULL);
	snap = gax_snapshot_compile(cfg, NULL);
	CHECK(snap != NULL);
	gax_config_free(cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gax_fwd_opts o;
	struct slot *b[GAX_FWD_BURST];
	uint8_t csum[GAX_FWD_BURST];
	uint64_t now = 1000000 * MS;
	size_t pos = 1;
	unsigned int n = 0, i;
	uint16_t b_iface = 0;
	bool b_redirected = false, big_tick = false;

	if (size < 1)
		return 0;
	compile_once();
	memset(&R, 0, sizeof(R));
	gax_fwd_opts_init(&o);
	if (data[0] & 1) {
		o.n_workers = 2;
		o.worker_id = (data[0] >> 1) & 1;
	}
	o.verify_l4_csum = (data[0] & 4) == 0;
	o.flow_capacity = 8;
	o.tcp_closing_timeout_s = 2;
	o.neigh.capacity = 8;
	o.neigh.queue_per_entry = 2;
	o.neigh.queue_total = 5;
	o.neigh.reachable_ms = 1500;
	o.neigh.retry_ms = 200;
	o.neigh.max_retries = 2;
	R.w = gax_fwd_create(snap, &o);
	CHECK(R.w != NULL);
	gax_fwd_set_mac(R.w, 0, if_mac[0]);
	gax_fwd_set_mac(R.w, 1, if_mac[1]);
	gax_fwd_set_io(R.w, cb_arp, cb_tx, cb_drop, &R);
	gax_fwd_set_kernel(R.w, 1, true); /* the lan interface has a kernel twin */

	while (pos + 5 <= size) {
		uint8_t ctl = data[pos], dt = data[pos + 1], aux = data[pos + 2];
		size_t len = rd16(data + pos + 3);
		unsigned int kind = aux & 3, variant = aux >> 5;
		uint16_t iface = ctl & 1;
		struct slot *sl;

		pos += 5;
		if (len > size - pos)
			len = size - pos;
		now += dt * 50 * MS;
		if (kind == 0) {
			sl = add_frame(data + pos, len);
			if (sl != NULL) {
				retarget(sl->f, sl->len, (aux >> 2) & 7);
				if ((ctl & 0x10) && sl->len >= 6)
					memcpy(sl->f, if_mac[n > 0 ? b_iface : iface], 6);
				if (ctl & 0x20)
					fix_checksums(sl->f, sl->len);
			}
		} else {
			/* a generated frame goes alone, after what came before */
			burst(b, csum, n, b_iface, b_redirected, now);
			n = 0;
			sl = kind == 1 ? gen_reply(variant, &iface) :
				kind == 2 ? gen_error(variant, &iface) : gen_arp(variant, &iface);
		}
		pos += len;
		if (sl == NULL)
			continue;
		if (n == 0) {
			b_iface = iface;
			b_redirected = (ctl & 2) != 0;
		}
		csum[n] = ((ctl >> 2) & 3) == 3 ? GAX_FWD_CSUM_UNKNOWN : (ctl >> 2) & 3;
		b[n++] = sl;
		big_tick |= (ctl & 0x80) != 0;
		if (n == GAX_FWD_BURST || (ctl & 0x40) || kind != 0) {
			burst(b, csum, n, b_iface, b_redirected, now);
			n = 0;
			gax_fwd_tick(R.w, now, big_tick ? 64 : 2, big_tick ? 64 : 2);
			big_tick = false;
		}
	}
	burst(b, csum, n, b_iface, b_redirected, now);
	gax_fwd_tick(R.w, now + 3600000 * MS, 64, 64);
	check_counters();

	/* every frame the table held comes back exactly once, at the latest now */
	gax_fwd_free(R.w);
	for (i = 0; i < R.n; i++) {
		CHECK(R.s[i].released == (R.s[i].held ? 1u : 0u));
		free(R.s[i].f);
		free(R.s[i].orig);
	}
	R.w = NULL;
	return 0;
}

/* ---- seeds -------------------------------------------------------------------- */

struct seed {
	uint8_t b[4096];
	size_t n;
};

static void
seed_rec(struct seed *s, uint8_t ctl, uint8_t dt, uint8_t aux, const uint8_t *f, uint16_t len)
{
	s->b[s->n++] = ctl;
	s->b[s->n++] = dt;
	s->b[s->n++] = aux;
	wr16(s->b + s->n, len);
	s->n += 2;
	if (len > 0)
		memcpy(s->b + s->n, f, len);
	s->n += len;
}

/* A literal frame from @p src: the harness sets our MAC and the checksums (ctl 0x30). */
static uint16_t
seed_l4(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
		uint8_t flags, uint16_t paylen)
{
	uint16_t l4 = proto == GAX_PKT_PROTO_TCP ? 20 : 8;
	uint16_t len = (uint16_t)(ETH + 20 + l4 + paylen);

	memset(f, 0, len);
	memcpy(f + 6, "\x02\xaa\x0a\x00\x00\x07", 6);
	wr16(f + 12, GAX_PKT_ETHERTYPE_IPV4);
	f[ETH] = 0x45;
	wr16(f + ETH + 2, (uint16_t)(20 + l4 + paylen));
	wr16(f + ETH + 6, 0x4000);
	f[ETH + 8] = 64;
	f[ETH + 9] = proto;
	wr32(f + ETH + 12, src);
	wr32(f + ETH + 16, dst);
	wr16(f + ETH + 20, sp);
	wr16(f + ETH + 22, dp);
	if (proto == GAX_PKT_PROTO_TCP) {
		f[ETH + 32] = 5 << 4;
		f[ETH + 33] = flags;
		wr16(f + ETH + 34, 65535);
	} else if (proto == GAX_PKT_PROTO_UDP) {
		wr16(f + ETH + 24, (uint16_t)(8 + paylen));
	} else {
		f[ETH + 20] = GAX_PKT_ICMP_ECHO_REQUEST;
	}
	memset(f + ETH + 20 + l4, 'x', paylen);
	return len;
}

/* Each frame of @p frames_dir aimed at a listener, answered, and an error about it. */
static void
write_frame_seeds(const char *dir, const char *frames_dir)
{
	static struct seed s;
	struct dirent *e;
	uint8_t f[2048];
	unsigned int t = 0;
	DIR *d = opendir(frames_dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		FILE *in;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", frames_dir, e->d_name);
		in = fopen(path, "rb");
		if (in == NULL)
			continue;
		len = fread(f, 1, sizeof(f), in);
		fclose(in);
		s.n = 0;
		s.b[s.n++] = 0;
		seed_rec(&s, 0x70, 0, (uint8_t)((1 + t++ % 7) << 2), f, (uint16_t)len);
		seed_rec(&s, 0x00, 1, 1, NULL, 0);
		seed_rec(&s, 0x00, 1, 2, NULL, 0);
		snprintf(path, sizeof(path), "%s/seed-frame-%s", dir, e->d_name);
		in = fopen(path, "wb");
		CHECK(in != NULL);
		CHECK(fwrite(s.b, 1, s.n, in) == s.n);
		fclose(in);
	}
	closedir(d);
}

static void
write_seeds(const char *dir)
{
	static struct seed s[8];
	uint8_t f[256];
	uint32_t c = IP(10, 0, 0, 7), far = IP(198, 51, 100, 9);
	unsigned int i, k = 0;
	uint16_t len;

	/* TCP to VIP:80, both ways, an error, FIN both ways, time passing */
	s[k].b[s[k].n++] = 0;
	len = seed_l4(f, GAX_PKT_PROTO_TCP, c, IP(10, 0, 0, 100), 40000, 80, GAX_PKT_TCP_SYN, 0);
	seed_rec(&s[k], 0x70, 0, 0, f, len);
	seed_rec(&s[k], 0x00, 1, 1 | 0 << 5, NULL, 0);
	len = seed_l4(f, GAX_PKT_PROTO_TCP, c, IP(10, 0, 0, 100), 40000, 80, GAX_PKT_TCP_ACK, 100);
	seed_rec(&s[k], 0x70, 1, 0, f, len);
	seed_rec(&s[k], 0x00, 1, 2, NULL, 0);
	seed_rec(&s[k], 0x00, 1, 1 | 3 << 5, NULL, 0);
	len = seed_l4(f, GAX_PKT_PROTO_TCP, c, IP(10, 0, 0, 100), 40000, 80,
			GAX_PKT_TCP_FIN | GAX_PKT_TCP_ACK, 0);
	seed_rec(&s[k], 0xf0, 60, 0, f, len);
	k++;

	/* UDP full NAT and reserved, answers, expiry */
	s[k].b[s[k].n++] = 0;
	len = seed_l4(f, GAX_PKT_PROTO_UDP, far, IP(10, 0, 0, 100), 5353, 53, 0, 20);
	seed_rec(&s[k], 0x70, 0, 0, f, len);
	seed_rec(&s[k], 0x00, 1, 1, NULL, 0);
	len = seed_l4(f, GAX_PKT_PROTO_UDP, far, IP(10, 0, 0, 101), 6000, 443, 0, 20);
	seed_rec(&s[k], 0x70, 0, 0, f, len);
	seed_rec(&s[k], 0x00, 1, 3, NULL, 0);
	seed_rec(&s[k], 0x00, 1, 1, NULL, 0);
	seed_rec(&s[k], 0x80, 250, 2, NULL, 0);
	k++;

	/* ARP: a flow waits for an endpoint's MAC, the answer, requests for our addresses */
	s[k].b[s[k].n++] = 0;
	for (i = 0; i < 4; i++) {
		len = seed_l4(f, GAX_PKT_PROTO_TCP, IP(10, 0, 0, 20 + i), IP(10, 0, 0, 100),
				(uint16_t)(41000 + i), 8082, GAX_PKT_TCP_SYN, 0);
		seed_rec(&s[k], 0x30, 0, 0, f, len);
	}
	seed_rec(&s[k], 0x00, 1, 3, NULL, 0);
	seed_rec(&s[k], 0x00, 1, 1, NULL, 0);
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\xaa\x0a\x00\x00\x07", 6);
	wr16(f + 12, GAX_PKT_ETHERTYPE_ARP);
	memcpy(f + ETH, "\x00\x01\x08\x00\x06\x04\x00\x01\x02\xaa\x0a\x00\x00\x07\x0a\x00\x00\x07"
			"\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x64", 28);
	seed_rec(&s[k], 0x40, 0, 0, f, 60);
	seed_rec(&s[k], 0x80, 30, 3 | 2 << 5, NULL, 0);
	k++;

	/* ICMP echo, an off-link endpoint and its errors */
	s[k].b[s[k].n++] = 0;
	len = seed_l4(f, GAX_PKT_PROTO_ICMP, far, IP(10, 0, 0, 100), 0x1234, 1, 0, 32);
	seed_rec(&s[k], 0x70, 0, 0, f, len);
	len = seed_l4(f, GAX_PKT_PROTO_TCP, far, IP(10, 0, 0, 100), 42000, 9000, GAX_PKT_TCP_SYN,
			0);
	seed_rec(&s[k], 0x70, 0, 0, f, len);
	seed_rec(&s[k], 0x00, 1, 1, NULL, 0);
	seed_rec(&s[k], 0x00, 1, 2 | 2 << 5, NULL, 0);
	seed_rec(&s[k], 0x00, 1, 2 | 1 << 5, NULL, 0);
	k++;

	/* two workers: reserved client, handed over and not */
	for (i = 0; i < 2; i++) {
		s[k].b[s[k].n++] = (uint8_t)(1 | i << 1);
		len = seed_l4(f, GAX_PKT_PROTO_TCP, c, IP(10, 0, 0, 101), 40001, 443,
				GAX_PKT_TCP_SYN, 0);
		seed_rec(&s[k], 0x70, 0, 0, f, len);
		seed_rec(&s[k], 0x72, 0, 0, f, len);
		seed_rec(&s[k], 0x00, 1, 1, NULL, 0);
		len = seed_l4(f, GAX_PKT_PROTO_TCP, c, IP(10, 0, 0, 101), 40001, 443,
				GAX_PKT_TCP_ACK, 10);
		seed_rec(&s[k], 0x70, 0, 0, f, len);
		len = seed_l4(f, GAX_PKT_PROTO_TCP, far, IP(10, 0, 0, 100), 42000, 80,
				GAX_PKT_TCP_SYN, 0);
		seed_rec(&s[k], 0x70, 0, 0, f, len);
		seed_rec(&s[k], 0x00, 1, 1, NULL, 0);
		seed_rec(&s[k], 0x02, 1, 1, NULL, 0);
		k++;
	}

	for (i = 0; i < k; i++) {
		char path[4096];
		FILE *out;

		snprintf(path, sizeof(path), "%s/seed-fwd-%u", dir, i);
		out = fopen(path, "wb");
		CHECK(out != NULL);
		CHECK(fwrite(s[i].b, 1, s[i].n, out) == s[i].n);
		fclose(out);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("GAX_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	compile_once();
	if (dir != NULL && *dir != '\0') {
		write_seeds(dir);
		if (getenv("GAX_FUZZ_FRAMES") != NULL)
			write_frame_seeds(dir, getenv("GAX_FUZZ_FRAMES"));
	}
	return 0;
}
