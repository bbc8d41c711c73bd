/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gen module (gaxgen's plain-C half): invalid scenarios first (syntax,
 * types, unknown fields by name, ranges, every cross rule, all problems in
 * one run with their JSON paths), then behaviour: client address
 * enumeration, flow order (sequential, a seeded permutation, new flows by
 * share and by rate, TCP SYN on the first packet), frames checked with
 * lib/packet and an independent checksum, the stamp, the endpoint's reply,
 * pcap files read back (and the bench_forward frames byte for byte), the
 * latency histogram and the receive-side distribution and affinity.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gax_gen.h>
#include <gax_packet.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

#define BASE_UDP "\"destination\": {\"address\": \"10.0.0.100\", \"ports\": \"53\"}, " \
	"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\", \"count\": 4}, " \
	"\"ports\": {\"from\": 1000, \"to\": 1099}}"

static struct gax_gen_scenario *
load(const char *json, struct gax_diags *d)
{
	gax_diags_init(d);
	return gax_gen_scenario_load_buffer(json, strlen(json), d);
}

static struct gax_gen_scenario *
load_ok(const char *json)
{
	struct gax_diags d;
	struct gax_gen_scenario *sc = load(json, &d);

	if (sc == NULL)
		gax_diags_print(stderr, "scenario", &d);
	cr_assert_not_null(sc, "a valid scenario was refused: %s", json);
	gax_diags_fini(&d);
	return sc;
}

/* The scenario is refused with an error at @p path whose message holds @p text. */
static void
refused(const char *json, const char *path, const char *text)
{
	struct gax_diags d;
	struct gax_gen_scenario *sc = load(json, &d);
	unsigned int i;
	bool found = false;

	cr_assert_null(sc, "accepted: %s", json);
	cr_assert_eq(errno, EINVAL);
	for (i = 0; i < d.n; i++)
		if (strcmp(d.v[i].path, path) == 0 && strstr(d.v[i].message, text) != NULL)
			found = true;
	if (!found)
		gax_diags_print(stderr, "scenario", &d);
	cr_assert(found, "no error at %s with \"%s\" for %s", path, text, json);
	gax_diags_fini(&d);
}

/* Independent reference: one's complement sum of big-endian words. */
static uint32_t
ref_sum(const uint8_t *b, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void
assert_checksums(const uint8_t *f, uint32_t len)
{
	uint8_t ph[12];
	uint32_t l4len = len - 34;

	cr_assert_eq(ref_sum(f + 14, 20, 0), 0xffff, "IPv4 header checksum");
	memcpy(ph, f + 26, 8);
	ph[8] = 0;
	ph[9] = f[23];
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	cr_assert_eq(ref_sum(f + 34, l4len, ref_sum(ph, 12, 0)), 0xffff, "L4 checksum");
}

/* ---- invalid scenarios ------------------------------------------------- */

Test(scenario, syntax_error_has_a_line)
{
	struct gax_diags d;

	cr_assert_null(load("{\"name\": \"x\",\n \"flows\": }", &d));
	cr_assert_eq(d.n_errors, 1);
	cr_assert(strstr(d.v[0].message, "line 2") != NULL, "%s", d.v[0].message);
	gax_diags_fini(&d);
}

Test(scenario, not_an_object)
{
	refused("[1, 2]", "", "a scenario is a JSON object, got an array");
}

Test(scenario, unknown_fields_are_refused_by_name)
{
	refused("{" BASE_UDP ", \"flow\": 3}", "flow", "unknown field; expected one of name, "
			"description, protocol, destination, source, flows,");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53, \"vip\": 1}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}",
			"destination.vip", "unknown field; expected one of address, ports");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\", \"last\": 3}}}",
			"source.addresses.last", "unknown field; expected one of first, count");
	refused("{" BASE_UDP ", \"reply\": {\"enable\": true}}", "reply.enable",
			"unknown field; expected one of enabled");
	refused("{" BASE_UDP ", \"mac\": {\"src\": \"02:00:00:00:00:01\"}}", "mac.src",
			"unknown field; expected one of source, destination");
}

Test(scenario, required_parts)
{
	refused("{}", "destination", "required: an object");
	refused("{}", "source", "required: an object");
	refused("{\"destination\": {\"ports\": 53}, \"source\": {\"addresses\": {}}}",
			"destination.address", "required: a string");
	refused("{\"destination\": {\"address\": \"10.0.0.100\"}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}",
			"destination.ports", "required");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {}}}", "source.addresses.first", "required");
}

Test(scenario, bad_values)
{
	refused("{" BASE_UDP ", \"protocol\": \"sctp\"}", "protocol", "neither \"udp\" nor \"tcp\"");
	refused("{" BASE_UDP ", \"protocol\": 6}", "protocol", "expected a string, got an integer");
	refused("{\"destination\": {\"address\": \"10.0.0\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}",
			"destination.address", "is not an IPv4 address");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": \"53,0\"}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}",
			"destination.ports", "0");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 70000}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}",
			"destination.ports", "70000 is outside 1 to 65535");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": true}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}",
			"destination.ports", "expected an integer or a string, got a boolean");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.0\"}}}",
			"source.addresses.first", "ends in .0 or .255");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"127.0.0.1\"}}}",
			"source.addresses.first", "a client cannot use this address");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\", \"count\": 0}}}",
			"source.addresses.count", "0 is outside 1 to 1048576");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"223.255.255.1\", \"count\": 300}}}",
			"source.addresses.count", "run past 223.255.255.254");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}, "
			"\"ports\": {\"from\": 2000, \"to\": 1000}}}",
			"source.ports.to", "1000 is below from (2000)");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\", \"count\": 2}, "
			"\"gateway\": \"10.0.1.2\"}}", "source.gateway", "is one of the client addresses");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}, \"gateway\": \"x\"}}",
			"source.gateway", "is not an IPv4 address");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}, \"order\": \"shuffle\"}}",
			"source.order", "neither \"sequential\" nor \"random\"");
	refused("{" BASE_UDP ", \"flows\": 0}", "flows", "0 is outside 1 to");
	refused("{" BASE_UDP ", \"flows\": 2.5}", "flows", "expected an integer");
	refused("{" BASE_UDP ", \"rate_pps\": -1}", "rate_pps", "outside 0 to");
	refused("{" BASE_UDP ", \"duration_s\": 0}", "duration_s", "outside above 0");
	refused("{" BASE_UDP ", \"new_flow_share\": 1.5}", "new_flow_share", "outside 0 to 1");
	refused("{" BASE_UDP ", \"ttl\": 1}", "ttl", "1 is outside 2 to 255");
	refused("{" BASE_UDP ", \"mac\": {\"destination\": \"02:00:00:00:00\"}}",
			"mac.destination", "is not a MAC address");
	refused("{" BASE_UDP ", \"mac\": {\"source\": \"ff:ff:ff:ff:ff:ff\"}}",
			"mac.source", "multicast or broadcast");
	refused("{" BASE_UDP ", \"reply\": {\"enabled\": 1}}", "reply.enabled",
			"expected a boolean");
	refused("{" BASE_UDP ", \"frame_size\": \"64\"}", "frame_size",
			"expected an integer or an array");
	refused("{" BASE_UDP ", \"frame_size\": []}", "frame_size", "a list of 1 to 64 sizes");
	refused("{" BASE_UDP ", \"frame_size\": 9000}", "frame_size", "9000 is outside 1 to 1514");
}

Test(scenario, cross_rules)
{
	/* 4 addresses x 100 ports = 400 tuples */
	refused("{" BASE_UDP ", \"flows\": 401}", "flows",
			"401 flows need more client address x port pairs than the 400 of source");
	refused("{" BASE_UDP ", \"frame_size\": 59}", "frame_size",
			"59 bytes cannot hold the Ethernet/IPv4/UDP headers (42 bytes) and the "
			"payload stamp (14 bytes): at least 60");
	refused("{" BASE_UDP ", \"frame_size\": 61, \"reply\": {\"enabled\": true}}", "frame_size",
			"at least 62");
	refused("{" BASE_UDP ", \"protocol\": \"tcp\", \"frame_size\": [68, 64]}", "frame_size[1]",
			"Ethernet/IPv4/TCP headers (54 bytes)");
	refused("{" BASE_UDP ", \"new_flow_share\": 0.1, \"new_flows_per_s\": 10}",
			"new_flow_share", "not both");
	refused("{\"destination\": {\"address\": \"10.0.0.100\", \"ports\": 53}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.1\", \"count\": 1048576}, "
			"\"ports\": {\"from\": 1, \"to\": 65535}}}", "source", "at most 4294967295");
}

Test(scenario, every_problem_in_one_run)
{
	struct gax_diags d;

	cr_assert_null(load("{\"protocol\": \"x\", \"bogus\": 1, \"flows\": -3, \"ttl\": 0, "
			"\"destination\": {\"address\": \"nope\", \"ports\": \"99999\"}, "
			"\"source\": {\"addresses\": {\"first\": \"10.0.1.255\"}}}", &d));
	cr_assert_geq(d.n_errors, 7, "%u errors", d.n_errors);
	gax_diags_fini(&d);
}

Test(scenario, missing_file)
{
	struct gax_diags d;

	gax_diags_init(&d);
	cr_assert_null(gax_gen_scenario_load_file("/nonexistent/gaxgen.json", &d));
	cr_assert_eq(errno, ENOENT);
	cr_assert(strstr(d.v[0].message, "cannot read") != NULL);
	gax_diags_fini(&d);
}

/* ---- behaviour ------------------------------------------------------------ */

Test(scenario, defaults)
{
	struct gax_gen_scenario *sc = load_ok("{\"destination\": {\"address\": \"10.0.0.100\", "
			"\"ports\": \"53,8080~8082\"}, \"source\": {\"addresses\": {\"first\": \"10.0.1.1\"}}}");

	cr_assert_str_eq(sc->name, "scenario");
	cr_assert_eq(sc->proto, GAX_PKT_PROTO_UDP);
	cr_assert_eq(sc->n_dst_ports, 4);
	cr_assert_eq(sc->dst_ports[0], 53);
	cr_assert_eq(sc->dst_ports[3], 8082);
	cr_assert_eq(sc->src_count, 1);
	cr_assert_eq(sc->sport_from, 1024);
	cr_assert_eq(sc->sport_to, 65535);
	cr_assert_eq(sc->tuple_space, 64512);
	cr_assert_eq(sc->flows, 1024);
	cr_assert_eq(sc->n_frame_sizes, 1);
	cr_assert_eq(sc->frame_sizes[0], 64);
	cr_assert_eq(sc->rate_pps, 0);
	cr_assert_float_eq(sc->duration_s, 10.0, 1e-9);
	cr_assert_eq(sc->ttl, 64);
	cr_assert_not(sc->reply);
	cr_assert_not(sc->has_dst_mac);
	gax_gen_scenario_free(sc);
}

Test(scenario, client_addresses_skip_0_and_255)
{
	struct gax_gen_scenario *sc = load_ok("{\"destination\": {\"address\": \"10.0.0.100\", "
			"\"ports\": 53}, \"source\": {\"addresses\": {\"first\": \"10.0.1.250\", "
			"\"count\": 600}, \"ports\": {\"from\": 5, \"to\": 5}}}");
	uint32_t i;

	cr_assert_eq(gax_gen_client_addr(sc, 0), IP(10, 0, 1, 250));
	cr_assert_eq(gax_gen_client_addr(sc, 4), IP(10, 0, 1, 254));
	cr_assert_eq(gax_gen_client_addr(sc, 5), IP(10, 0, 2, 1));
	cr_assert_eq(gax_gen_client_addr(sc, 5 + 254), IP(10, 0, 3, 1));
	for (i = 0; i < sc->src_count; i++) {
		uint32_t a = gax_gen_client_addr(sc, i);

		cr_assert_neq(a & 0xff, 0);
		cr_assert_neq(a & 0xff, 255);
		cr_assert_eq(gax_gen_client_index(sc, a), (int64_t)i);
	}
	cr_assert_eq(gax_gen_client_index(sc, IP(10, 0, 1, 249)), -1);
	cr_assert_eq(gax_gen_client_index(sc, IP(10, 0, 2, 0)), -1);
	cr_assert_eq(gax_gen_client_index(sc, gax_gen_client_addr(sc, 599) + 1), -1);
	cr_assert_eq(gax_gen_client_index(sc, IP(9, 0, 0, 1)), -1);
	gax_gen_scenario_free(sc);
}

Test(flows, sequential_round_robin_then_no_new_flows)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"flows\": 250, "
			"\"protocol\": \"tcp\", \"frame_size\": 68}");
	struct gax_gen_flows *f = gax_gen_flows_create(sc);
	struct gax_gen_tuple t;
	uint64_t k;

	cr_assert_not_null(f);
	for (k = 0; k < 1000; k++) {
		bool first = gax_gen_flows_next(f, k, 0, &t);

		cr_assert_eq(first, k < 250, "packet %llu", (unsigned long long)k);
		cr_assert_eq(t.index, k % 250);
		cr_assert_eq(t.saddr, gax_gen_client_addr(sc, (uint32_t)(k % 250) / 100));
		cr_assert_eq(t.sport, 1000 + (k % 250) % 100);
		cr_assert_eq(t.daddr, IP(10, 0, 0, 100));
		cr_assert_eq(t.dport, 53);
	}
	cr_assert_eq(gax_gen_flows_opened(f), 250);
	gax_gen_flows_free(f);
	gax_gen_scenario_free(sc);
}

Test(flows, random_order_is_a_seeded_permutation)
{
	uint32_t order[3][400];
	int s;

	for (s = 0; s < 3; s++) {
		char json[600];
		uint8_t seen[400] = { 0 };
		struct gax_gen_scenario *sc;
		struct gax_gen_flows *f;
		struct gax_gen_tuple t;
		uint64_t k;

		snprintf(json, sizeof(json), "{\"destination\": {\"address\": \"10.0.0.100\", "
				"\"ports\": 53}, \"flows\": 400, \"source\": {\"addresses\": "
				"{\"first\": \"10.0.1.1\", \"count\": 4}, \"ports\": {\"from\": 1000, "
				"\"to\": 1099}, \"order\": \"random\", \"seed\": %d}}", s == 2 ? 7 : 3);
		sc = load_ok(json);
		f = gax_gen_flows_create(sc);
		for (k = 0; k < 400; k++) {
			cr_assert(gax_gen_flows_next(f, k, 0, &t));
			cr_assert_lt(t.index, 400);
			cr_assert_eq(seen[t.index], 0, "tuple %u twice", t.index);
			seen[t.index] = 1;
			order[s][k] = t.index;
		}
		gax_gen_flows_free(f);
		gax_gen_scenario_free(sc);
	}
	cr_assert_arr_eq(order[0], order[1], sizeof(order[0]), "same seed, same order");
	cr_assert(memcmp(order[0], order[2], sizeof(order[0])) != 0, "another seed, another order");
	for (s = 0; s < 400 && order[0][s] == (uint32_t)s; s++)
		;
	cr_assert_lt(s, 400, "the random order is not the sequential one");
}

Test(flows, new_flow_share_opens_flows_and_tcp_syns)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"flows\": 100, "
			"\"new_flow_share\": 0.25}");
	struct gax_gen_flows *f = gax_gen_flows_create(sc);
	struct gax_gen_tuple t;
	uint64_t k, firsts = 0;

	for (k = 0; k < 10000; k++)
		firsts += gax_gen_flows_next(f, k, 0, &t);
	/* the first 100 packets open the window; each 4 packets after move it by one */
	cr_assert_eq(gax_gen_flows_opened(f), firsts);
	cr_assert_geq(firsts, 100 + 2450);
	cr_assert_leq(firsts, 100 + 2500);
	gax_gen_flows_free(f);
	gax_gen_scenario_free(sc);
}

Test(flows, new_flows_per_second_follow_the_clock)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"flows\": 50, "
			"\"new_flows_per_s\": 1000}");
	struct gax_gen_flows *f = gax_gen_flows_create(sc);
	struct gax_gen_tuple t;
	uint64_t k;

	/* 1 s of packets at 10 kpps: the window moves by 1000 flows */
	for (k = 0; k < 10000; k++)
		gax_gen_flows_next(f, k, k * 100000, &t);
	cr_assert_geq(gax_gen_flows_opened(f), 50 + 990);
	cr_assert_leq(gax_gen_flows_opened(f), 50 + 1000);
	/* still within the tuple space (400) after wrapping */
	cr_assert_lt(t.index, 400);
	gax_gen_flows_free(f);
	gax_gen_scenario_free(sc);
}

/* ---- frames ------------------------------------------------------------------ */

Test(frame, udp_frame_fields_checksums_and_stamp)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"frame_size\": [60, 128, 1514]}");
	uint8_t f[GAX_GEN_FRAME_MAX];
	struct gax_gen_tuple t;
	struct gax_gen_stamp st;
	struct gax_pkt p;
	unsigned int i;

	gax_gen_tuple_of(sc, 123, &t);
	for (i = 0; i < sc->n_frame_sizes; i++) {
		uint16_t size = sc->frame_sizes[i];

		cr_assert_eq(gax_gen_build(sc, f, sizeof(f), size, &t, true, 77 + i, 0xdeadbeef,
				mac_a, mac_b), size);
		cr_assert_arr_eq(f, mac_b, 6);
		cr_assert_arr_eq(f + 6, mac_a, 6);
		cr_assert_eq(gax_pkt_parse(f, size, &p), GAX_DROP_NONE);
		cr_assert(gax_pkt_l4_csum_ok(f, &p));
		assert_checksums(f, size);
		cr_assert_eq(p.proto, GAX_PKT_PROTO_UDP);
		cr_assert_eq(p.saddr, IP(10, 0, 1, 2));
		cr_assert_eq(p.sport, 1023);
		cr_assert_eq(p.daddr, IP(10, 0, 0, 100));
		cr_assert_eq(p.dport, 53);
		cr_assert_eq(p.ttl, 64);
		cr_assert_eq(p.ip_len, size - 14);
		cr_assert_eq(gax_gen_stamp_read(f, size, &st, NULL), 0);
		cr_assert_eq(st.tuple, 123);
		cr_assert_eq(st.seq, 77 + i);
		cr_assert_eq(st.ts, 0xdeadbeef);
		if (size >= 42 + GAX_GEN_STAMP_FULL) {
			/* the endpoint part is zero, then the fill pattern */
			for (unsigned int b = 14; b < 20; b++)
				cr_assert_eq(f[42 + b], 0);
			cr_assert_eq(st.ep_addr, 0);
			cr_assert_eq(st.ep_port, 0);
			if (size > 42 + 21) {
				cr_assert_eq(f[42 + 20], 0);
				cr_assert_eq(f[42 + 21], 1);
			}
			cr_assert_eq(f[size - 1], (uint8_t)(size - 42 - 20 - 1));
		}
	}
	gax_gen_scenario_free(sc);
}

Test(frame, tcp_syn_then_ack)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"protocol\": \"tcp\", "
			"\"frame_size\": 68}");
	uint8_t f[128];
	struct gax_gen_tuple t;
	struct gax_pkt p;

	gax_gen_tuple_of(sc, 5, &t);
	cr_assert_eq(gax_gen_build(sc, f, sizeof(f), 68, &t, true, 9, 1, mac_a, mac_b), 68);
	cr_assert_eq(gax_pkt_parse(f, 68, &p), GAX_DROP_NONE);
	cr_assert_eq(p.proto, GAX_PKT_PROTO_TCP);
	cr_assert_eq(p.tcp_flags, GAX_PKT_TCP_SYN);
	cr_assert_eq(p.payload_len, 14);
	assert_checksums(f, 68);
	cr_assert_eq(gax_gen_build(sc, f, sizeof(f), 68, &t, false, 10, 1, mac_a, mac_b), 68);
	cr_assert_eq(gax_pkt_parse(f, 68, &p), GAX_DROP_NONE);
	cr_assert_eq(p.tcp_flags, GAX_PKT_TCP_ACK);
	assert_checksums(f, 68);
	gax_gen_scenario_free(sc);
}

Test(frame, refuses_sizes_and_small_buffers)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP "}");
	uint8_t f[GAX_GEN_FRAME_MAX + 1];
	struct gax_gen_tuple t;

	gax_gen_tuple_of(sc, 0, &t);
	cr_assert_eq(gax_gen_build(sc, f, sizeof(f), 59, &t, true, 0, 0, mac_a, mac_b), -EINVAL);
	cr_assert_eq(gax_gen_build(sc, f, sizeof(f), GAX_GEN_FRAME_MAX + 1, &t, true, 0, 0,
			mac_a, mac_b), -EINVAL);
	cr_assert_eq(gax_gen_build(sc, f, 63, 64, &t, true, 0, 0, mac_a, mac_b), -ENOSPC);
	gax_gen_scenario_free(sc);
}

Test(frame, stamp_absent_or_not_tcp_udp)
{
	uint8_t f[64] = { 0 };
	struct gax_gen_stamp st;
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP "}");
	struct gax_gen_tuple t;

	cr_assert_eq(gax_gen_stamp_read(f, sizeof(f), &st, NULL), -EINVAL);
	cr_assert_eq(gax_gen_stamp_read(f, 5, &st, NULL), -EINVAL);
	gax_gen_tuple_of(sc, 0, &t);
	gax_gen_build(sc, f, sizeof(f), 64, &t, true, 0, 0, mac_a, mac_b);
	f[42] ^= 0xff; /* magic */
	cr_assert_eq(gax_gen_stamp_read(f, 64, &st, NULL), -ENOENT);
	cr_assert_eq(gax_gen_reply(f, 64), -EINVAL);
	gax_gen_scenario_free(sc);
}

Test(frame, reply_swaps_and_names_the_endpoint)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"protocol\": \"tcp\", "
			"\"frame_size\": 80, \"reply\": {\"enabled\": true}}");
	uint8_t f[128];
	struct gax_gen_tuple t;
	struct gax_gen_stamp st;
	struct gax_pkt p;

	gax_gen_tuple_of(sc, 42, &t);
	/* as gaxd would forward it: client's frame NATed towards an endpoint */
	t.saddr = IP(10, 1, 0, 1);
	t.sport = 40000;
	t.daddr = IP(10, 1, 0, 11);
	t.dport = 8053;
	cr_assert_eq(gax_gen_build(sc, f, sizeof(f), 80, &t, true, 1000, 5, mac_a, mac_b), 80);
	cr_assert_eq(gax_gen_stamp_read(f, 80, &st, NULL), 0);
	cr_assert_eq(st.ep_addr, 0, "the endpoint part starts empty");
	cr_assert_eq(gax_gen_reply(f, 80), 0);
	cr_assert_arr_eq(f, mac_a, 6);
	cr_assert_arr_eq(f + 6, mac_b, 6);
	cr_assert_eq(gax_pkt_parse(f, 80, &p), GAX_DROP_NONE);
	cr_assert_eq(p.saddr, IP(10, 1, 0, 11));
	cr_assert_eq(p.sport, 8053);
	cr_assert_eq(p.daddr, IP(10, 1, 0, 1));
	cr_assert_eq(p.dport, 40000);
	cr_assert_eq(p.tcp_flags, GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK);
	assert_checksums(f, 80);
	cr_assert_eq(gax_gen_stamp_read(f, 80, &st, NULL), 0);
	cr_assert_eq(st.tuple, 42);
	cr_assert_eq(st.seq, 1000);
	cr_assert_eq(st.ts, 5);
	cr_assert_eq(st.ep_addr, IP(10, 1, 0, 11));
	cr_assert_eq(st.ep_port, 8053);
	gax_gen_scenario_free(sc);

	/* no room for the endpoint part: a frame of a scenario without replies */
	sc = load_ok("{" BASE_UDP ", \"frame_size\": 60}");
	gax_gen_tuple_of(sc, 1, &t);
	gax_gen_build(sc, f, sizeof(f), 60, &t, true, 0, 0, mac_a, mac_b);
	cr_assert_eq(gax_gen_reply(f, 60), -ENOSPC);
	gax_gen_scenario_free(sc);
}

/* ---- pcap ---------------------------------------------------------------------- */

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(16 << 20);

	cr_assert_not_null(f);
	*len = fread(b, 1, 16 << 20, f);
	fclose(f);
	return b;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

Test(pcap, bench_forward_frames_byte_for_byte)
{
	/* the frames perf/bench_forward.sh replays (formerly perf/tools/mkpcap.py) */
	static const uint8_t first_hdr[40] = {
		0x02, 0x70, 0x63, 0x61, 0x70, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x25, 0x5b,
		0x0a, 0x00, 0x01, 0x01, 0x0a, 0x00, 0x00, 0x64,
		0x27, 0x10, 0x00, 0x35, 0x00, 0x1a };
	struct gax_gen_scenario *sc = load_ok("{\"destination\": {\"address\": \"10.0.0.100\", "
			"\"ports\": \"53\"}, \"source\": {\"addresses\": {\"first\": \"10.0.1.1\", "
			"\"count\": 256}, \"ports\": {\"from\": 10000, \"to\": 14095}}, "
			"\"flows\": 1048576, \"frame_size\": 60, \"mac\": {\"source\": "
			"\"02:00:00:00:00:fe\", \"destination\": \"02:70:63:61:70:00\"}}");
	char path[] = "/tmp/test_gen.XXXXXX";
	int fd = mkstemp(path);
	size_t len, off;
	uint8_t *b;
	uint64_t n = 0;

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(gax_gen_write_pcap(sc, path, 200000), 0);
	b = read_file(path, &len);
	unlink(path);
	cr_assert_eq(le32(b), 0xa1b2c3d4);
	cr_assert_eq(le32(b + 20), 1, "link type Ethernet");
	cr_assert_eq(len, 24 + 200000 * (16 + 60));
	cr_assert_arr_eq(b + 24 + 16, first_hdr, sizeof(first_hdr));
	for (off = 24; off < len; off += 16 + 60, n++) {
		const uint8_t *f = b + off + 16;
		uint32_t cl = (uint32_t)(n / 4096);

		cr_assert_eq(le32(b + off + 8), 60);
		cr_assert_eq(le32(b + off + 12), 60);
		/* client 10.0.1.1 upwards, .0 and .255 skipped, 4096 ports each from 10000 */
		cr_assert_eq(f[28], 1 + cl / 254);
		cr_assert_eq(f[29], 1 + cl % 254);
		cr_assert_eq((f[34] << 8 | f[35]), 10000 + n % 4096);
		assert_checksums(f, 60);
	}
	free(b);
	gax_gen_scenario_free(sc);
}

Test(pcap, frames_equal_the_builder_and_timestamps_follow_the_rate)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"flows\": 10, \"rate_pps\": 1000, "
			"\"frame_size\": [64, 100], \"mac\": {\"destination\": \"02:00:00:00:00:0b\"}}");
	char path[] = "/tmp/test_gen.XXXXXX";
	int fd = mkstemp(path);
	size_t len, off = 24;
	uint8_t *b, f[128];
	uint64_t k;

	close(fd);
	cr_assert_eq(gax_gen_write_pcap(sc, path, 25), 0);
	b = read_file(path, &len);
	unlink(path);
	for (k = 0; k < 25; k++) {
		struct gax_gen_tuple t;
		uint32_t size = k % 2 ? 100 : 64;
		static const uint8_t src[6] = { 2, 0, 0, 0, 0, 1 };

		gax_gen_tuple_of(sc, (uint32_t)(k % 10), &t);
		gax_gen_build(sc, f, sizeof(f), (uint16_t)size, &t, k < 10, (uint32_t)k,
				(uint32_t)(k * 1000000), src, mac_b);
		cr_assert_eq(le32(b + off), k / 1000);
		cr_assert_eq(le32(b + off + 4), k * 1000 % 1000000);
		cr_assert_eq(le32(b + off + 8), size);
		cr_assert_arr_eq(b + off + 16, f, size, "frame %llu", (unsigned long long)k);
		off += 16 + size;
	}
	cr_assert_eq(off, len);
	free(b);
	gax_gen_scenario_free(sc);
}

Test(pcap, refusals)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP "}");

	cr_assert_eq(gax_gen_write_pcap(sc, "/tmp/x.pcap", 10), -EINVAL, "no mac.destination");
	gax_gen_scenario_free(sc);
	sc = load_ok("{" BASE_UDP ", \"mac\": {\"destination\": \"02:00:00:00:00:0b\"}}");
	cr_assert_eq(gax_gen_write_pcap(sc, "/tmp/x.pcap", 0), -EINVAL, "count 0");
	cr_assert_eq(gax_gen_write_pcap(sc, "/nonexistent/dir/x.pcap", 10), -ENOENT);
	gax_gen_scenario_free(sc);
}

/* ---- latency histogram ----------------------------------------------------- */

Test(hist, empty_exact_and_percentiles)
{
	struct gax_gen_hist h;
	uint64_t v;

	gax_gen_hist_init(&h);
	cr_assert_eq(gax_gen_hist_percentile(&h, 50), 0);
	for (v = 1; v <= 10; v++)
		gax_gen_hist_add(&h, v);
	cr_assert_eq(gax_gen_hist_percentile(&h, 50), 5);
	cr_assert_eq(gax_gen_hist_percentile(&h, 90), 9);
	cr_assert_eq(gax_gen_hist_percentile(&h, 100), 10);
	cr_assert_eq(h.min_ns, 1);
	cr_assert_eq(h.max_ns, 10);

	gax_gen_hist_init(&h);
	for (v = 1; v <= 1000000; v++)
		gax_gen_hist_add(&h, v * 7);
	{
		static const double pct[] = { 50, 90, 99, 99.9 };
		unsigned int i;

		for (i = 0; i < 4; i++) {
			double want = pct[i] / 100 * 7e6;
			double got = (double)gax_gen_hist_percentile(&h, pct[i]);

			cr_assert_geq(got, want * 0.999, "p%g: %g for %g", pct[i], got, want);
			cr_assert_leq(got, want * 1.0625 + 1, "p%g: %g for %g", pct[i], got, want);
		}
	}
	cr_assert_eq(gax_gen_hist_percentile(&h, 100), 7000000);
	gax_gen_hist_add(&h, UINT64_MAX);
	cr_assert_eq(gax_gen_hist_percentile(&h, 100), UINT64_MAX);
}

/* ---- receive side ------------------------------------------------------------ */

Test(rx, counts_latency_endpoints_and_affinity)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"flows\": 400, \"frame_size\": 64, "
			"\"reply\": {\"enabled\": true}}");
	struct gax_gen_rx rx;
	struct gax_gen_tx_summary tx = { .packets = 1000, .elapsed_s = 1 };
	uint8_t f[128];
	uint32_t k;
	json_t *j;
	char *s;

	cr_assert_eq(gax_gen_rx_init(&rx, sc), 0);
	for (k = 0; k < 400; k++) {
		struct gax_gen_tuple t;

		gax_gen_tuple_of(sc, k, &t);
		/* endpoint side (full NAT): the endpoint is the destination; client 3 sees two */
		t.daddr = IP(10, 1, 0, 11 + (t.client == 3 ? k % 2 : t.client % 2));
		t.dport = 53;
		t.saddr = IP(10, 1, 0, 1);
		gax_gen_build(sc, f, sizeof(f), 64, &t, true, k, 1000, mac_a, mac_b);
		cr_assert_eq(gax_gen_rx_frame(&rx, f, 64, 1000 + 500 + k), 0);
	}
	/* an endpoint's reply that came back to the client side: the stamp names it */
	{
		struct gax_gen_tuple t;

		gax_gen_tuple_of(sc, 0, &t);
		gax_gen_build(sc, f, sizeof(f), 64, &t, true, 0, 0, mac_a, mac_b);
		cr_assert_eq(gax_gen_reply(f, 64), 0);
		cr_assert_eq(gax_gen_rx_frame(&rx, f, 64, 100), 0);
	}
	/* not counted: unstamped, a bad checksum, a tuple beyond the scenario */
	memset(f, 0, sizeof(f));
	cr_assert_eq(gax_gen_rx_frame(&rx, f, 64, 0), -ENOENT);
	{
		struct gax_gen_tuple t;

		gax_gen_tuple_of(sc, 1, &t);
		gax_gen_build(sc, f, sizeof(f), 64, &t, true, 0, 0, mac_a, mac_b);
		f[63] ^= 1;
		cr_assert_eq(gax_gen_rx_frame(&rx, f, 64, 0), -ENOENT);
	}
	gax_gen_rx_finish(&rx);
	cr_assert_eq(rx.packets, 401);
	cr_assert_eq(rx.unstamped, 1);
	cr_assert_eq(rx.bad_csum, 1);
	cr_assert_eq(rx.lat.n, 401);
	cr_assert_eq(rx.lat.min_ns, 100);
	cr_assert_eq(rx.lat.max_ns, 899);
	cr_assert_eq(rx.n_endpoints, 3, "10.1.0.11:53, 10.1.0.12:53 and the reply's 10.0.0.100:53");
	cr_assert_eq(rx.ep[0].addr, IP(10, 1, 0, 11));
	cr_assert_eq(rx.ep[0].packets, 100 + 50 + 100);	/* clients 0 and 2, half of 3 */
	cr_assert_eq(rx.ep[1].packets, 100 + 50);
	cr_assert_eq(rx.ep[2].addr, IP(10, 0, 0, 100));
	cr_assert_eq(rx.ep[2].packets, 1);
	cr_assert_eq(rx.clients_seen, 4);
	cr_assert_eq(rx.clients_multi, 2, "client 3 (two endpoints) and client 0 (reply)");
	cr_assert_eq(rx.ep[0].clients, 3);
	cr_assert_eq(rx.ep[1].clients, 2);

	j = gax_gen_report_json(sc, &tx, &rx);
	cr_assert_not_null(j);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "loss"), "packets")), 599);
	cr_assert_eq(json_array_size(json_object_get(j, "endpoints")), 3);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "affinity"),
			"clients_multiple_endpoints")), 2);
	cr_assert_not_null(json_object_get(json_object_get(j, "latency_us"), "p99_9"));
	json_decref(j);
	{
		size_t n;
		FILE *m = open_memstream(&s, &n);

		gax_gen_report_print(m, sc, &tx, &rx);
		fclose(m);
		cr_assert(strstr(s, "loss 599 (59.900 %)") != NULL, "%s", s);
		cr_assert(strstr(s, "10.1.0.11:53") != NULL, "%s", s);
		cr_assert(strstr(s, "affinity: 4 clients seen, 2 reached more than one endpoint") !=
				NULL, "%s", s);
		free(s);
	}
	gax_gen_rx_fini(&rx);
	gax_gen_scenario_free(sc);
}

Test(rx, one_address_on_several_ports_is_one_endpoint)
{
	struct gax_gen_scenario *sc = load_ok("{" BASE_UDP ", \"flows\": 400}");
	struct gax_gen_rx rx;
	uint8_t f[128];
	uint32_t k;

	cr_assert_eq(gax_gen_rx_init(&rx, sc), 0);
	for (k = 0; k < 400; k++) {
		struct gax_gen_tuple t;

		gax_gen_tuple_of(sc, k, &t);
		t.daddr = IP(10, 1, 0, 11 + t.client % 2);
		t.dport = (uint16_t)(80 + k % 3);	/* every client on three ports */
		gax_gen_build(sc, f, sizeof(f), 64, &t, true, k, 0, mac_a, mac_b);
		cr_assert_eq(gax_gen_rx_frame(&rx, f, 64, 0), 0);
	}
	gax_gen_rx_finish(&rx);
	cr_assert_eq(rx.n_endpoints, 6, "%u endpoints", rx.n_endpoints);
	cr_assert_eq(rx.n_addrs, 2);
	cr_assert_eq(rx.addr[0].packets + rx.addr[1].packets, 400);
	cr_assert_eq(rx.addr[0].clients, 2);
	cr_assert_eq(rx.addr[1].clients, 2);
	cr_assert_eq(rx.clients_seen, 4);
	cr_assert_eq(rx.clients_multi, 0);
	gax_gen_rx_fini(&rx);
	gax_gen_scenario_free(sc);
}
