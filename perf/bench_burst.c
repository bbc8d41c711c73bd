/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's burst path without a NIC: lib/fwd's gax_fwd_burst() over
 * bursts of 32 64-byte UDP frames of N established flows (client to
 * accelerated address, full NAT to 32 endpoints with static neighbours),
 * every frame copied into its buffer first as a NIC would have written it.
 * Beside it, in the same run, the reference: the same copies and a MAC swap
 * per frame (the work of testpmd's macswap mode), the least any forwarder
 * touching its frames pays.
 *
 * Prints ns and Mpps per packet for both. Run under callgrind it counts
 * instructions per packet, the same whatever the machine's load:
 *
 *   valgrind --tool=callgrind --toggle-collect=run_established ... bench_burst --rounds 2
 *   (run_gax for every pass including the new flows, run_reference for the
 *   reference; perf/bench_ipp.sh does it and divides by the packets)
 *
 * Usage: bench_burst [--flows N] [--rounds R] [--smoke]
 */
#define _GNU_SOURCE /* asprintf() */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gax_config.h>
#include <gax_fwd.h>
#include <gax_packet.h>
#include <gax_snapshot.h>

#define BURST		GAX_FWD_BURST
#define FRAME_LEN	60	/* 64 bytes on the wire with the FCS */
#define N_ENDPOINTS	32	/* 32 x 64512 full-NAT ports: room for 1M flows */
#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const uint8_t wan_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t lan_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

/* A 60-byte UDP frame from client @p i of the flow set to 10.0.0.100:53. */
static void
build_frame(uint8_t *f, uint32_t i)
{
	uint32_t saddr = IP(10, 0, 0, 0) | (2 + (i >> 14) % 250), daddr = IP(10, 0, 0, 100);
	uint16_t sport = (uint16_t)(1024 + (i & 0x3fff) * 3 + (i >> 22)), ulen = 8 + 18;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t sum;

	memset(f, 0, FRAME_LEN);
	memcpy(f, wan_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x99", 6);
	put16(f + 12, GAX_PKT_ETHERTYPE_IPV4);
	ip[0] = 0x45;
	put16(ip + 2, 20 + ulen);
	ip[8] = 64;
	ip[9] = GAX_PKT_PROTO_UDP;
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	put16(ip + 10, gax_pkt_csum_fold(gax_pkt_csum_partial(ip, 20, 0)));
	put16(udp, sport);
	put16(udp + 2, 53);
	put16(udp + 4, ulen);
	sum = gax_pkt_csum_pseudo(saddr, daddr, GAX_PKT_PROTO_UDP, ulen);
	put16(udp + 6, gax_pkt_csum_udp_final(gax_pkt_csum_fold(gax_pkt_csum_partial(udp, ulen,
			sum))));
}

static struct gax_snapshot *
make_snapshot(void)
{
	char *text = NULL, eps[4096] = "", nbs[4096] = "";
	size_t o = 0, q = 0;
	struct gax_diags d;
	struct gax_config *cfg;
	struct gax_snapshot *s;
	int i;

	for (i = 0; i < N_ENDPOINTS; i++) {
		o += (size_t)snprintf(eps + o, sizeof(eps) - o, "%s{\"address\": \"10.1.0.%d\"}",
				i ? ", " : "", 11 + i);
		q += (size_t)snprintf(nbs + q, sizeof(nbs) - q,
				"%s{\"address\": \"10.1.0.%d\", \"mac\": \"02:00:00:00:01:%02x\"}",
				i ? ", " : "", 11 + i, 11 + i);
	}
	if (asprintf(&text, "{\"limits\": {\"endpoints_per_group\": %d}, \"interfaces\": ["
			"{\"name\": \"wan\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"]},"
			"{\"name\": \"lan\", \"device\": \"d1\", \"addresses\": [\"10.1.0.1/16\"],"
			" \"neighbors\": [%s]}],"
			"\"accelerators\": [{\"name\": \"bench\", \"addresses\": [\"10.0.0.100\"],"
			" \"listeners\": [{\"name\": \"udp-53\", \"protocol\": \"udp\", \"port_ranges\": \"53\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"endpoints\": [%s]}]}]}]}",
			N_ENDPOINTS, nbs, eps) < 0)
		return NULL;
	gax_diags_init(&d);
	cfg = gax_config_load_buffer(text, strlen(text), NULL, &d);
	if (cfg == NULL)
		gax_diags_print(stderr, "bench config", &d);
	gax_diags_fini(&d);
	free(text);
	if (cfg == NULL)
		return NULL;
	s = gax_snapshot_compile(cfg, NULL);
	gax_config_free(cfg);
	return s;
}

/* The frames of a burst, in buffers the "NIC" writes. */
struct rx {
	uint8_t buf[BURST][128];
	uint8_t *frames[BURST];
	uint16_t lens[BURST];
	void *pkts[BURST];
};

/* gax's path: copy the burst in, decide, count what goes out. */
uint64_t run_gax(struct gax_fwd_worker *w, struct rx *rx, const uint8_t *tmpl, uint32_t n_flows,
		uint64_t bursts, uint64_t now);
__attribute__((noinline)) uint64_t
run_gax(struct gax_fwd_worker *w, struct rx *rx, const uint8_t *tmpl, uint32_t n_flows,
		uint64_t bursts, uint64_t now)
{
	struct gax_fwd_verdict v[BURST];
	uint64_t b, tx = 0;
	uint32_t next = 0, k;

	for (b = 0; b < bursts; b++) {
		for (k = 0; k < BURST; k++) {
			memcpy(rx->buf[k], tmpl + (size_t)next * FRAME_LEN, FRAME_LEN);
			if (++next == n_flows)
				next = 0;
		}
		gax_fwd_burst(w, rx->frames, rx->lens, rx->pkts, NULL, BURST, 0, false, now, v);
		for (k = 0; k < BURST; k++)
			tx += v[k].action == GAX_FWD_TX;
		now += 1000;
		gax_fwd_housekeep(w, now);
	}
	return tx;
}

/* The established-flow measurement, apart so callgrind can count it alone. */
uint64_t run_established(struct gax_fwd_worker *w, struct rx *rx, const uint8_t *tmpl,
		uint32_t n_flows, uint64_t bursts, uint64_t now);
__attribute__((noinline)) uint64_t
run_established(struct gax_fwd_worker *w, struct rx *rx, const uint8_t *tmpl, uint32_t n_flows,
		uint64_t bursts, uint64_t now)
{
	return run_gax(w, rx, tmpl, n_flows, bursts, now);
}

/* The reference: the same copies and a MAC swap per frame. */
uint64_t run_reference(struct rx *rx, const uint8_t *tmpl, uint32_t n_flows, uint64_t bursts);
__attribute__((noinline)) uint64_t
run_reference(struct rx *rx, const uint8_t *tmpl, uint32_t n_flows, uint64_t bursts)
{
	uint64_t b, sum = 0;
	uint32_t next = 0, k;
	uint8_t t[6];

	for (b = 0; b < bursts; b++) {
		for (k = 0; k < BURST; k++) {
			memcpy(rx->buf[k], tmpl + (size_t)next * FRAME_LEN, FRAME_LEN);
			if (++next == n_flows)
				next = 0;
		}
		for (k = 0; k < BURST; k++) {
			memcpy(t, rx->frames[k], 6);
			memcpy(rx->frames[k], rx->frames[k] + 6, 6);
			memcpy(rx->frames[k] + 6, t, 6);
			sum += rx->frames[k][0];
		}
	}
	return sum;
}

int
main(int argc, char **argv)
{
	uint32_t n_flows = 65536, rounds = 20, i, k;
	struct gax_fwd_opts o;
	struct gax_fwd_worker *w;
	struct gax_snapshot *s;
	struct rx *rx;
	uint8_t *tmpl;
	uint64_t bursts, tx, sink;
	double t0, t_gax, t_ref;
	bool smoke = false;

	for (i = 1; i < (uint32_t)argc; i++) {
		if (strcmp(argv[i], "--flows") == 0 && i + 1 < (uint32_t)argc)
			n_flows = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < (uint32_t)argc)
			rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--smoke") == 0)
			smoke = true;
		else {
			fprintf(stderr, "usage: %s [--flows N] [--rounds R] [--smoke]\n", argv[0]);
			return 2;
		}
	}
	if (smoke) {
		n_flows = 1024;
		rounds = 2;
	}
	if (n_flows < BURST || n_flows > (1u << 22) || rounds == 0) {
		fprintf(stderr, "bench_burst: --flows must be %d to %u and --rounds above 0\n", BURST,
				1u << 22);
		return 2;
	}
	s = make_snapshot();
	tmpl = malloc((size_t)n_flows * FRAME_LEN);
	rx = calloc(1, sizeof(*rx));
	if (s == NULL || tmpl == NULL || rx == NULL) {
		fprintf(stderr, "bench_burst: setup failed\n");
		return 1;
	}
	for (i = 0; i < n_flows; i++)
		build_frame(tmpl + (size_t)i * FRAME_LEN, i);
	for (k = 0; k < BURST; k++) {
		rx->frames[k] = rx->buf[k];
		rx->lens[k] = FRAME_LEN;
		rx->pkts[k] = rx->buf[k];
	}
	gax_fwd_opts_init(&o);
	o.flow_capacity = n_flows * 2;
	o.ticks_per_second = 1000000000ull;
	w = gax_fwd_create(s, &o);
	if (w == NULL) {
		fprintf(stderr, "bench_burst: cannot create the worker: %s\n", strerror(errno));
		return 1;
	}
	gax_fwd_set_mac(w, 0, wan_mac);
	gax_fwd_set_mac(w, 1, lan_mac);

	/* The first pass opens every flow (and is the new-flow rate). */
	bursts = n_flows / BURST;
	t0 = now_s();
	tx = run_gax(w, rx, tmpl, n_flows, bursts, 1000000000ull);
	t_gax = now_s() - t0;
	printf("bench_burst: %u flows, 64-byte UDP, bursts of %d, one thread\n", n_flows, BURST);
	printf("  new flows:          %8.1f ns/packet  %6.2f Mpps  (%" PRIu64 " of %" PRIu64
			" forwarded)\n", t_gax * 1e9 / (double)(bursts * BURST),
			(double)(bursts * BURST) / t_gax / 1e6, tx, bursts * BURST);
	if (tx != bursts * BURST) {
		fprintf(stderr, "bench_burst: the first pass did not forward every frame\n");
		return 1;
	}

	bursts = (uint64_t)n_flows / BURST * rounds;
	t0 = now_s();
	tx = run_established(w, rx, tmpl, n_flows, bursts, 2000000000ull);
	t_gax = now_s() - t0;
	t0 = now_s();
	sink = run_reference(rx, tmpl, n_flows, bursts);
	t_ref = now_s() - t0;
	printf("  established flows:  %8.1f ns/packet  %6.2f Mpps  (%" PRIu64 " forwarded)\n",
			t_gax * 1e9 / (double)(bursts * BURST), (double)(bursts * BURST) / t_gax / 1e6,
			tx);
	printf("  reference (copy + MAC swap, same run): %8.1f ns/packet  %6.2f Mpps  [%" PRIu64
			"]\n", t_ref * 1e9 / (double)(bursts * BURST),
			(double)(bursts * BURST) / t_ref / 1e6, sink & 1);
	if (tx != bursts * BURST) {
		fprintf(stderr, "bench_burst: established flows were not all forwarded\n");
		return 1;
	}
	gax_fwd_free(w);
	gax_snapshot_free(s);
	free(tmpl);
	free(rx);
	return 0;
}
