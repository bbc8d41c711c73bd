/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The compiled snapshot: invalid input first, then classification, owned
 * addresses, port mapping, traffic split, endpoint choice, routing, table
 * sharing between groups and snapshots, and independence from the config;
 * then routing around failure: health by stable endpoint id, failover of a
 * group's share, fail open, and table reuse as health changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_config.h>
#include <gax_health.h>
#include <gax_snapshot.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const char base_ifaces[] =
	"\"interfaces\": ["
	"{\"name\": \"wan\", \"device\": \"net_null0\", \"addresses\": [\"10.0.0.1/24\"],"
	" \"gateway\": \"10.0.0.254\"},"
	"{\"name\": \"lan\", \"device\": \"net_null1\", \"addresses\": [\"10.1.0.1/24\", \"10.1.0.2/24\"]}]";

static struct gax_config *
load(const char *accelerators)
{
	struct gax_diags d;
	struct gax_config *cfg;
	char *text;

	cr_assert(asprintf(&text, "{%s, \"accelerators\": [%s]}", base_ifaces, accelerators) > 0);
	gax_diags_init(&d);
	cfg = gax_config_load_buffer(text, strlen(text), NULL, &d);
	if (cfg == NULL)
		gax_diags_print(stderr, "test", &d);
	gax_diags_fini(&d);
	free(text);
	cr_assert_not_null(cfg, "test config must be valid");
	return cfg;
}

static struct gax_snapshot *
compile(const char *accelerators)
{
	struct gax_config *cfg = load(accelerators);
	struct gax_snapshot *s = gax_snapshot_compile(cfg, NULL);

	cr_assert_not_null(s);
	gax_config_free(cfg); /* the snapshot must not point into the config */
	return s;
}

static const char web[] =
	"{\"name\": \"web\", \"addresses\": [\"10.0.0.100\", \"10.0.0.101\"], \"listeners\": ["
	" {\"name\": \"tcp-80\", \"protocol\": \"tcp\", \"port_ranges\": \"80,8080~8082\","
	"  \"client_affinity\": \"source_ip\", \"endpoint_groups\": ["
	"   {\"name\": \"eg\", \"port_overrides\": [{\"listener_port\": 80, \"endpoint_port\": 8000}],"
	"    \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": 100},"
	"                   {\"address\": \"10.1.0.12\", \"weight\": 50},"
	"                   {\"address\": \"10.1.0.13\", \"weight\": 0},"
	"                   {\"address\": \"192.0.2.7\", \"weight\": 50}]}]},"
	" {\"name\": \"udp-80\", \"protocol\": \"udp\", \"port_ranges\": \"80\","
	"  \"endpoint_groups\": [{\"name\": \"eg\", \"reserve_client_ip\": true,"
	"    \"endpoints\": [{\"address\": \"10.1.0.21\"}]}]},"
	" {\"name\": \"https\", \"protocol\": \"https\", \"port_ranges\": \"443\","
	"  \"certificates\": [{\"cert\": \"" GAX_SOURCE_ROOT "/config/certs/demo.pem\","
	"                    \"key\": \"" GAX_SOURCE_ROOT "/config/certs/demo.key\"}]}]}";

Test(snapshot, null_config_is_einval)
{
	errno = 0;
	cr_assert_null(gax_snapshot_compile(NULL, NULL));
	cr_assert_eq(errno, EINVAL);
	gax_snapshot_free(NULL);
}

Test(snapshot, unknown_port_protocol_or_address_finds_nothing)
{
	struct gax_snapshot *s = compile(web);
	uint16_t pi;

	cr_assert_eq(gax_snapshot_find_listener(s, IP(10, 0, 0, 100), GAX_IPPROTO_TCP, 81, &pi),
			GAX_SNAP_NONE);
	cr_assert_eq(gax_snapshot_find_listener(s, IP(10, 0, 0, 100), GAX_IPPROTO_UDP, 8080, &pi),
			GAX_SNAP_NONE);
	cr_assert_eq(gax_snapshot_find_listener(s, IP(10, 0, 0, 102), GAX_IPPROTO_TCP, 80, &pi),
			GAX_SNAP_NONE);
	cr_assert_eq(gax_snapshot_find_listener(s, IP(10, 0, 0, 100), 1 /* ICMP */, 80, &pi),
			GAX_SNAP_NONE);
	cr_assert_null(gax_snapshot_find_addr(s, 0));
	cr_assert_null(gax_snapshot_find_addr(s, IP(10, 0, 0, 2)));
	gax_snapshot_free(s);
}

Test(snapshot, classify_by_address_protocol_and_port)
{
	struct gax_snapshot *s = compile(web);
	uint16_t pi = 999;
	uint32_t l;

	cr_assert_eq(s->n_accelerators, 1);
	cr_assert_eq(s->n_listeners, 3);
	l = gax_snapshot_find_listener(s, IP(10, 0, 0, 100), GAX_IPPROTO_TCP, 80, &pi);
	cr_assert_eq(l, 0);
	cr_assert_eq(pi, 0);
	cr_assert_str_eq(s->listeners[l].key, "web/tcp-80");
	/* every port of the range, on both addresses, with its rank */
	cr_assert_eq(gax_snapshot_find_listener(s, IP(10, 0, 0, 101), GAX_IPPROTO_TCP, 8082, &pi), 0);
	cr_assert_eq(pi, 3);
	cr_assert_eq(s->listeners[0].n_ports, 4);
	cr_assert_eq(s->listeners[0].ports[pi], 8082);
	/* UDP shares port 80 with TCP: a different listener */
	l = gax_snapshot_find_listener(s, IP(10, 0, 0, 100), GAX_IPPROTO_UDP, 80, &pi);
	cr_assert_eq(l, 1);
	cr_assert_eq(s->listeners[l].ipproto, GAX_IPPROTO_UDP);
	/* HTTPS runs over TCP */
	l = gax_snapshot_find_listener(s, IP(10, 0, 0, 100), GAX_IPPROTO_TCP, 443, &pi);
	cr_assert_eq(l, 2);
	cr_assert_eq(s->listeners[l].protocol, GAX_PROTO_HTTPS);
	cr_assert_eq(s->listeners[l].idle_timeout, 15);
	cr_assert_eq(s->listeners[l].request_timeout, 60);
	cr_assert_eq(s->listeners[0].idle_timeout, 900);
	cr_assert_eq(s->listeners[1].idle_timeout, 20);
	gax_snapshot_free(s);
}

Test(snapshot, owned_addresses)
{
	struct gax_snapshot *s = compile(web);
	const struct gax_snap_addr_slot *a;

	a = gax_snapshot_find_addr(s, IP(10, 0, 0, 101));
	cr_assert_not_null(a);
	cr_assert_eq(a->kind, GAX_ADDR_ACCELERATOR);
	cr_assert_eq(a->owner, 0);
	a = gax_snapshot_find_addr(s, IP(10, 1, 0, 2));
	cr_assert_not_null(a);
	cr_assert_eq(a->kind, GAX_ADDR_INTERFACE);
	cr_assert_eq(a->owner, 1);
	gax_snapshot_free(s);
}

Test(snapshot, port_overrides_map_destination_ports)
{
	struct gax_snapshot *s = compile(web);
	const struct gax_snap_group *g = &s->groups[s->listeners[0].first_group];
	const struct gax_snap_group *u = &s->groups[s->listeners[1].first_group];

	cr_assert_eq(g->endpoint_port[0], 8000);
	cr_assert_eq(g->endpoint_port[1], 8080);
	cr_assert_eq(g->endpoint_port[3], 8082);
	cr_assert_eq(u->endpoint_port[0], 80);
	cr_assert(u->reserve_client_ip);
	cr_assert_not(g->reserve_client_ip);
	gax_snapshot_free(s);
}

Test(snapshot, endpoints_routed_on_link_or_through_the_gateway)
{
	struct gax_snapshot *s = compile(web);
	const struct gax_snap_endpoint *e = &s->endpoints[0];

	cr_assert_str_eq(e->key, "web/tcp-80/eg/10.1.0.11");
	cr_assert_eq(e->addr, IP(10, 1, 0, 11));
	cr_assert_eq(e->iface, 1);
	cr_assert_eq(e->next_hop, IP(10, 1, 0, 11));
	cr_assert_eq(e->snat_addr, IP(10, 1, 0, 1), "full NAT source is the first address");
	e = &s->endpoints[3];
	cr_assert_eq(e->addr, IP(192, 0, 2, 7));
	cr_assert_eq(e->iface, 0);
	cr_assert_eq(e->next_hop, IP(10, 0, 0, 254));
	cr_assert_eq(e->snat_addr, IP(10, 0, 0, 1));
	gax_snapshot_free(s);
}

Test(snapshot, endpoint_choice_follows_weights_and_skips_weight_zero)
{
	struct gax_snapshot *s = compile(web);
	unsigned int count[4] = { 0 }, i, n = 200000;

	for (i = 0; i < n; i++) {
		uint64_t h = gax_hash_u32(i, 42);
		uint32_t g = gax_snapshot_pick_group(s, 0, h);
		uint32_t e;

		cr_assert_eq(g, 0);
		e = gax_snapshot_pick_endpoint(s, g, h);
		cr_assert_lt(e, 4);
		count[e]++;
	}
	cr_assert_eq(count[2], 0, "weight 0 takes nothing");
	/* 100 : 50 : 50 -> 50% : 25% : 25%, within 1 point */
	cr_assert_lt(abs((int)count[0] - (int)(n / 2)), (int)(n / 100), "%u", count[0]);
	cr_assert_lt(abs((int)count[1] - (int)(n / 4)), (int)(n / 100), "%u", count[1]);
	cr_assert_lt(abs((int)count[3] - (int)(n / 4)), (int)(n / 100), "%u", count[3]);
	gax_snapshot_free(s);
}

Test(snapshot, source_ip_affinity_ignores_the_source_port)
{
	struct gax_snapshot *s = compile(web);
	const struct gax_snap_listener *l = &s->listeners[0];
	uint32_t client, first, e;
	uint16_t sport;

	for (client = 1; client < 500; client++) {
		uint32_t saddr = IP(100, 64, client >> 8, client & 0xff);

		first = gax_snapshot_pick_endpoint(s, 0,
				gax_snapshot_flow_hash(l, saddr, IP(10, 0, 0, 100), 1024, 80));
		for (sport = 1025; sport < 1045; sport++) {
			e = gax_snapshot_pick_endpoint(s, 0, gax_snapshot_flow_hash(l, saddr,
					IP(10, 0, 0, 100), sport, 80));
			cr_assert_eq(e, first);
		}
	}
	gax_snapshot_free(s);
}

Test(snapshot, no_affinity_spreads_one_client_over_endpoints)
{
	struct gax_snapshot *s = compile(
		"{\"name\": \"aa\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
		" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
		"  \"client_affinity\": \"none\", \"endpoint_groups\": [{\"name\": \"eg\","
		"  \"endpoints\": [{\"address\": \"10.1.0.11\"}, {\"address\": \"10.1.0.12\"}]}]}]}");
	const struct gax_snap_listener *l = &s->listeners[0];
	unsigned int seen[2] = { 0 };
	uint16_t sport;

	for (sport = 1024; sport < 1224; sport++)
		seen[gax_snapshot_pick_endpoint(s, 0, gax_snapshot_flow_hash(l, IP(100, 64, 0, 1),
				IP(10, 0, 0, 100), sport, 80))]++;
	cr_assert_gt(seen[0], 60);
	cr_assert_gt(seen[1], 60);
	gax_snapshot_free(s);
}

static const char split[] =
	"{\"name\": \"api\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
	" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"443\", \"endpoint_groups\": ["
	"  {\"name\": \"east\", \"region\": \"east\", \"traffic_percentage\": 70,"
	"   \"endpoints\": [{\"address\": \"10.1.0.31\"}]},"
	"  {\"name\": \"down\", \"region\": \"mid\", \"traffic_percentage\": 50,"
	"   \"endpoints\": [{\"address\": \"10.1.0.33\", \"weight\": 0}]},"
	"  {\"name\": \"west\", \"region\": \"west\", \"traffic_percentage\": 30,"
	"   \"endpoints\": [{\"address\": \"10.1.0.32\"}]}]},"
	" {\"name\": \"l2\", \"protocol\": \"tcp\", \"port_ranges\": \"444\", \"endpoint_groups\": ["
	"  {\"name\": \"drained\", \"endpoints\": [{\"address\": \"10.1.0.31\", \"weight\": 0}]}]},"
	" {\"name\": \"l3\", \"protocol\": \"tcp\", \"port_ranges\": \"445\"}]}";

Test(snapshot, traffic_split_follows_percentages_of_serving_groups)
{
	struct gax_snapshot *s = compile(split);
	const struct gax_snap_listener *l = &s->listeners[0];
	unsigned int count[3] = { 0 }, i, n = 100000;

	cr_assert_eq(l->split_total, 100, "a group that cannot serve takes no share");
	cr_assert_eq(s->groups[1].split_lo, s->groups[1].split_hi);
	for (i = 0; i < n; i++) {
		uint32_t g = gax_snapshot_pick_group(s, 0, gax_hash_u32(i, 7));

		cr_assert_lt(g - l->first_group, 3);
		count[g - l->first_group]++;
	}
	cr_assert_eq(count[1], 0);
	cr_assert_lt(abs((int)count[0] - 70000), 1000, "%u", count[0]);
	cr_assert_lt(abs((int)count[2] - 30000), 1000, "%u", count[2]);
	gax_snapshot_free(s);
}

Test(snapshot, listener_without_serving_endpoint_takes_no_new_flows)
{
	struct gax_snapshot *s = compile(split);

	cr_assert_eq(s->listeners[1].split_total, 0);
	cr_assert_eq(gax_snapshot_pick_group(s, 1, 12345), GAX_SNAP_NONE);
	cr_assert_null(s->groups[s->listeners[1].first_group].table);
	cr_assert_eq(gax_snapshot_pick_endpoint(s, s->listeners[1].first_group, 1), GAX_SNAP_NONE);
	cr_assert_eq(s->listeners[2].n_groups, 0);
	cr_assert_eq(gax_snapshot_pick_group(s, 2, 12345), GAX_SNAP_NONE);
	gax_snapshot_free(s);
}

static const char domains[] =
	"{\"name\": \"dd\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
	" {\"name\": \"l1\", \"protocol\": \"udp\", \"port_ranges\": \"53\", \"endpoint_groups\": ["
	"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"a.example.internal\"},"
	"   {\"address\": \"b.example.internal\"}]}]}]}";

static int
resolve_a_only(void *ctx, const char *name, uint32_t *addr)
{
	(*(int *)ctx)++;
	if (strcmp(name, "a.example.internal") == 0) {
		*addr = IP(10, 1, 0, 53);
		return 0;
	}
	return -ENOENT;
}

Test(snapshot, domain_endpoints_unresolved_take_nothing)
{
	struct gax_snapshot *s = compile(domains);

	cr_assert_eq(s->endpoints[0].addr, 0);
	cr_assert_eq(s->endpoints[0].iface, GAX_SNAP_NO_IFACE);
	cr_assert_null(s->groups[0].table);
	cr_assert_eq(gax_snapshot_pick_group(s, 0, 1), GAX_SNAP_NONE);
	gax_snapshot_free(s);
}

Test(snapshot, domain_endpoints_resolved_by_the_callback)
{
	struct gax_config *cfg = load(domains);
	int calls = 0;
	struct gax_snapshot_opts o = { .resolve = resolve_a_only, .resolve_ctx = &calls };
	struct gax_snapshot *s = gax_snapshot_compile(cfg, &o);
	uint32_t i;

	cr_assert_not_null(s);
	cr_assert_eq(calls, 2);
	cr_assert_eq(s->endpoints[0].addr, IP(10, 1, 0, 53));
	cr_assert_eq(s->endpoints[0].iface, 1);
	cr_assert_eq(s->endpoints[1].addr, 0);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(gax_snapshot_pick_endpoint(s, 0, gax_hash_u32(i, 1)), 0);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

static const char twins[] =
	"{\"name\": \"tt\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
	" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"1\", \"endpoint_groups\": ["
	"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": %d},"
	"   {\"address\": \"10.1.0.12\"}]}]},"
	" {\"name\": \"l2\", \"protocol\": \"tcp\", \"port_ranges\": \"2\", \"endpoint_groups\": ["
	"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\"},"
	"   {\"address\": \"10.1.0.12\"}]}]}]}";

static struct gax_config *
load_twins(int weight)
{
	char buf[sizeof(twins) + 16];

	snprintf(buf, sizeof(buf), twins, weight);
	return load(buf);
}

Test(snapshot, identical_groups_share_one_table)
{
	struct gax_config *cfg = load_twins(128);
	struct gax_snapshot *s = gax_snapshot_compile(cfg, NULL);

	cr_assert_not_null(s);
	cr_assert_eq(s->n_tables_built, 1);
	cr_assert_eq(s->n_tables_reused, 1);
	cr_assert_eq(s->groups[0].table, s->groups[1].table);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

Test(snapshot, next_snapshot_reuses_unchanged_tables_and_outlives_the_previous)
{
	struct gax_config *c1 = load_twins(128), *c2 = load_twins(7);
	struct gax_snapshot *s1 = gax_snapshot_compile(c1, NULL);
	struct gax_snapshot_opts o = { .prev = s1, .generation = 2 };
	struct gax_snapshot *s2 = gax_snapshot_compile(c2, &o);
	struct gax_snapshot *s3;
	uint32_t i;

	cr_assert_not_null(s2);
	cr_assert_eq(s2->generation, 2);
	cr_assert_eq(s2->n_tables_built, 1, "only the group whose weight changed is rebuilt");
	cr_assert_eq(s2->groups[1].table, s1->groups[1].table);
	cr_assert_neq(s2->groups[0].table, s1->groups[0].table);
	/* Free the old one first, as the control thread does after the grace period. */
	gax_snapshot_free(s1);
	for (i = 0; i < 1000; i++)
		cr_assert_lt(gax_snapshot_pick_endpoint(s2, 1, gax_hash_u32(i, 3)), 4);
	o.prev = s2;
	o.generation = 3;
	s3 = gax_snapshot_compile(c2, &o);
	cr_assert_eq(s3->n_tables_built, 0);
	gax_snapshot_free(s2);
	gax_snapshot_free(s3);
	gax_config_free(c1);
	gax_config_free(c2);
}

/* The index of the listener or endpoint whose key is @p key, or GAX_SNAP_NONE. */
static uint32_t
find_key(const struct gax_snapshot *s, const char *key, bool endpoint)
{
	uint32_t i;

	for (i = 0; i < (endpoint ? s->n_endpoints : s->n_listeners); i++)
		if (strcmp(endpoint ? s->endpoints[i].key : s->listeners[i].key, key) == 0)
			return i;
	return GAX_SNAP_NONE;
}

Test(snapshot, ids_are_stable_across_snapshots_and_never_reused)
{
	static const char a2[] =
		"{\"name\": \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
		" {\"name\": \"new-l\", \"protocol\": \"udp\", \"port_ranges\": \"99\","
		"  \"endpoint_groups\": [{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.31\"}]}]},"
		" {\"name\": \"new-m\", \"protocol\": \"udp\", \"port_ranges\": \"98\"},"
		" {\"name\": \"udp-80\", \"protocol\": \"udp\", \"port_ranges\": \"80\","
		"  \"endpoint_groups\": [{\"name\": \"eg\", \"reserve_client_ip\": true,"
		"    \"endpoints\": [{\"address\": \"10.1.0.22\"}, {\"address\": \"10.1.0.21\"}]}]}]}";
	struct gax_snapshot *s1 = compile(web), *s2, *s3;
	struct gax_config *c2 = load(a2);
	struct gax_snapshot_opts o = { .prev = NULL };
	uint32_t i, l1, l2, e1, e2;

	/* First snapshot: ids 0..n-1 in order, and the maps invert them. */
	cr_assert_eq(s1->next_listener_id, s1->n_listeners);
	cr_assert_eq(s1->next_endpoint_id, s1->n_endpoints);
	for (i = 0; i < s1->n_listeners; i++)
		cr_assert_eq(gax_snapshot_listener_of_id(s1, s1->listeners[i].id), i);
	for (i = 0; i < s1->n_endpoints; i++)
		cr_assert_eq(gax_snapshot_endpoint_of_id(s1, s1->endpoints[i].id), i);

	/* Second: udp-80 keeps its id though it moved; new objects get new ids. */
	o.prev = s1;
	s2 = gax_snapshot_compile(c2, &o);
	cr_assert_not_null(s2);
	l1 = find_key(s1, "web/udp-80", false);
	l2 = find_key(s2, "web/udp-80", false);
	cr_assert_neq(l1, l2, "the listener moved in the array");
	cr_assert_eq(s2->listeners[l2].id, s1->listeners[l1].id);
	e1 = find_key(s1, "web/udp-80/eg/10.1.0.21", true);
	e2 = find_key(s2, "web/udp-80/eg/10.1.0.21", true);
	cr_assert_eq(s2->endpoints[e2].id, s1->endpoints[e1].id);
	cr_assert_geq(s2->listeners[find_key(s2, "web/new-l", false)].id, s1->next_listener_id);
	cr_assert_geq(s2->endpoints[find_key(s2, "web/udp-80/eg/10.1.0.22", true)].id,
			s1->next_endpoint_id);
	/* Objects that left map to nothing. */
	cr_assert_eq(gax_snapshot_listener_of_id(s2,
			s1->listeners[find_key(s1, "web/tcp-80", false)].id), GAX_SNAP_NONE);
	cr_assert_eq(gax_snapshot_endpoint_of_id(s2,
			s1->endpoints[find_key(s1, "web/tcp-80/eg/10.1.0.11", true)].id),
			GAX_SNAP_NONE);
	cr_assert_eq(gax_snapshot_listener_of_id(s2, s2->next_listener_id), GAX_SNAP_NONE);

	/* Third, back to the first config: tcp-80 comes back with a new id, never an old one. */
	gax_snapshot_free(s1);
	o.prev = s2;
	{
		struct gax_config *c1 = load(web);

		s3 = gax_snapshot_compile(c1, &o);
		gax_config_free(c1);
	}
	cr_assert_not_null(s3);
	cr_assert_geq(s3->listeners[find_key(s3, "web/tcp-80", false)].id, s2->next_listener_id);
	cr_assert_eq(s3->listeners[find_key(s3, "web/udp-80", false)].id, s2->listeners[l2].id);
	gax_snapshot_free(s2);
	gax_snapshot_free(s3);
	gax_config_free(c2);
}

Test(snapshot, same_config_same_tables)
{
	struct gax_snapshot *a = compile(web), *b = compile(web);
	const struct gax_maglev_table *ta = a->groups[0].table, *tb = b->groups[0].table;

	cr_assert_neq(ta, tb);
	cr_assert_eq(ta->size, 65537);
	cr_assert_eq(memcmp(ta, tb, sizeof(*ta) + ta->size), 0);
	gax_snapshot_free(a);
	gax_snapshot_free(b);
}

Test(snapshot, configured_table_size_is_used)
{
	struct gax_diags d;
	const char *text =
		"{\"limits\": {\"maglev_table_size\": 251}, \"interfaces\": [{\"name\": \"lan\","
		" \"device\": \"x\", \"addresses\": [\"10.1.0.1/24\"]}], \"accelerators\": ["
		"{\"name\": \"a1\", \"addresses\": [\"10.0.0.100\"], \"listeners\": [{\"name\": \"l1\","
		" \"protocol\": \"udp\", \"port_ranges\": \"9\", \"endpoint_groups\": [{\"name\": \"eg\","
		" \"endpoints\": [{\"address\": \"10.1.0.9\"}]}]}]}]}";
	struct gax_config *cfg;
	struct gax_snapshot *s;

	gax_diags_init(&d);
	cfg = gax_config_load_buffer(text, strlen(text), NULL, &d);
	gax_diags_print(stderr, "test", &d);
	gax_diags_fini(&d);
	cr_assert_not_null(cfg);
	s = gax_snapshot_compile(cfg, NULL);
	cr_assert_eq(s->groups[0].table->size, 251);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

Test(snapshot, explain_prints_the_plan)
{
	struct gax_snapshot *s = compile(web);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	gax_snapshot_explain(f, s);
	fclose(f);
	cr_assert_not_null(strstr(buf, "listener tcp-80: tcp ports 80,8080~8082"), "%s", buf);
	cr_assert_not_null(strstr(buf, "80->8000, others unchanged"), "%s", buf);
	cr_assert_not_null(strstr(buf, "weight 0: takes no new flows"), "%s", buf);
	cr_assert_not_null(strstr(buf, "via wan next hop 10.0.0.254 from 10.0.0.1"), "%s", buf);
	cr_assert_not_null(strstr(buf, "client IP reserved"), "%s", buf);
	free(buf);
	gax_snapshot_free(s);
}

/* ---- Routing around failure ------------------------------------------------- */

/*
 * Health input for the tests: the state of each endpoint id, as gaxd keeps it
 * from the prober; only GAX_HEALTH_UNHEALTHY removes an endpoint. Ids at or
 * above n are unknown (a new endpoint the prober has not seen).
 */
struct health {
	enum gax_health_state state[64];
	uint32_t n;
	uint32_t calls;
	uint32_t asked[64]; /* ids in the order they were asked */
};

static bool
health_unhealthy(void *ctx, uint32_t id)
{
	struct health *h = ctx;

	if (h->calls < 64)
		h->asked[h->calls] = id;
	h->calls++;
	return id < h->n && h->state[id] == GAX_HEALTH_UNHEALTHY;
}

/* @p h with the ids in @p down (terminated by UINT32_MAX) unhealthy, the others healthy. */
static struct health *
health_down(struct health *h, const uint32_t *down)
{
	memset(h, 0, sizeof(*h));
	h->n = 64;
	for (; *down != UINT32_MAX; down++)
		h->state[*down] = GAX_HEALTH_UNHEALTHY;
	for (uint32_t i = 0; i < h->n; i++)
		if (h->state[i] != GAX_HEALTH_UNHEALTHY)
			h->state[i] = GAX_HEALTH_HEALTHY;
	return h;
}

static struct gax_snapshot *
compile_health(const struct gax_config *cfg, const struct gax_snapshot *prev, struct health *h)
{
	struct gax_snapshot_opts o = { .prev = prev, .unhealthy = h != NULL ? health_unhealthy : NULL,
		.health_ctx = h };
	struct gax_snapshot *s = gax_snapshot_compile(cfg, &o);

	cr_assert_not_null(s);
	return s;
}

static bool
same_table(const struct gax_maglev_table *a, const struct gax_maglev_table *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->size == b->size && a->n_backends == b->n_backends &&
		memcmp(a->slot, b->slot, a->size) == 0;
}

/* New flows of listener @p li per group (index within the listener), over @p n hashes. */
static void
count_groups(const struct gax_snapshot *s, uint32_t li, unsigned int n, unsigned int *count)
{
	const struct gax_snap_listener *l = &s->listeners[li];
	unsigned int i;

	memset(count, 0, sizeof(*count) * l->n_groups);
	for (i = 0; i < n; i++) {
		uint32_t g = gax_snapshot_pick_group(s, li, gax_hash_u32(i, 7));

		cr_assert_lt(g - l->first_group, l->n_groups, "hash %u: group %u", i, g);
		count[g - l->first_group]++;
	}
}

static const char four[] =
	"{\"name\": \"ff\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
	" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\", \"endpoint_groups\": ["
	"  {\"name\": \"eg\", \"health_check\": {\"protocol\": \"tcp\"},"
	"   \"endpoints\": [{\"address\": \"10.1.0.11\"}, {\"address\": \"10.1.0.12\"},"
	"   {\"address\": \"10.1.0.13\"}, {\"address\": \"10.1.0.14\"}]}]}]}";

Test(snapshot, unhealthy_endpoint_leaves_the_table_and_the_others_keep_theirs)
{
	struct gax_config *cfg = load(four);
	struct health h;
	struct gax_snapshot *s0 = compile_health(cfg, NULL, NULL);
	struct gax_snapshot *s1 = compile_health(cfg, s0, health_down(&h, (uint32_t[]){ 2,
			UINT32_MAX }));
	const struct gax_maglev_table *t0 = s0->groups[0].table, *t1 = s1->groups[0].table;
	uint32_t counts[4], i, moved = 0, others_moved = 0, keys_moved = 0, n = 200000;

	cr_assert_eq(s1->endpoints[2].id, 2);
	cr_assert(gax_snapshot_endpoint_unhealthy(s1, 2));
	cr_assert_not(gax_snapshot_endpoint_unhealthy(s1, 1));
	cr_assert_eq(s1->n_unhealthy, 1);
	cr_assert_eq(s1->n_failed_open, 0);
	cr_assert_not(s1->listeners[0].failed_open);
	cr_assert_eq(s1->n_tables_built, 1, "the group's membership changed: rebuilt");
	cr_assert_eq(s1->listeners[0].split_total, 100, "the group still serves");
	gax_maglev_slot_counts(t1, counts);
	cr_assert_eq(counts[2], 0, "the unhealthy endpoint owns no slot");
	for (i = 0; i < 4; i++)
		if (i != 2)
			cr_assert_gt(counts[i], t1->size / 3 - t1->size / 100, "%u: %u", i, counts[i]);
	for (i = 0; i < t0->size; i++) {
		if (t0->slot[i] == t1->slot[i])
			continue;
		moved++;
		if (t0->slot[i] != 2)
			others_moved++;
	}
	/* Only the slots it owned (1/4) change owner, and almost none of the others. */
	cr_assert_lt(moved, t0->size / 4 + t0->size / 50, "%u of %u", moved, t0->size);
	cr_assert_lt(others_moved, t0->size / 50, "%u of %u", others_moved, t0->size);
	for (i = 0; i < n; i++) {
		uint64_t k = gax_hash_u32(i, 11);
		uint32_t e0 = gax_snapshot_pick_endpoint(s0, 0, k), e1 = gax_snapshot_pick_endpoint(s1, 0, k);

		cr_assert_neq(e1, 2);
		if (e0 != e1)
			keys_moved++;
	}
	cr_assert_lt(abs((int)keys_moved - (int)(n / 4)), (int)(n / 50), "%u of %u keys moved",
			keys_moved, n);
	gax_snapshot_free(s0);
	gax_snapshot_free(s1);
	gax_config_free(cfg);
}

Test(snapshot, health_changes_rebuild_only_the_tables_they_touch)
{
	struct gax_config *cfg = load_twins(128);
	struct health h;
	struct gax_snapshot *s1, *s2, *s3, *s4;

	/* Endpoint ids: l1/eg/10.1.0.11 = 0, l1/eg/10.1.0.12 = 1, l2's = 2, 3. */
	s1 = compile_health(cfg, NULL, NULL);
	cr_assert_eq(s1->n_tables_built, 1);
	cr_assert_eq(s1->groups[0].table, s1->groups[1].table, "twins share");

	/* 0 goes down: l1's group is rebuilt, l2's keeps the previous table. */
	s2 = compile_health(cfg, s1, health_down(&h, (uint32_t[]){ 0, UINT32_MAX }));
	cr_assert_eq(s2->n_tables_built, 1);
	cr_assert_eq(s2->n_tables_reused, 1);
	cr_assert_neq(s2->groups[0].table, s1->groups[0].table);
	cr_assert_eq(s2->groups[1].table, s1->groups[1].table);
	for (uint32_t i = 0; i < 1000; i++)
		cr_assert_eq(gax_snapshot_pick_endpoint(s2, 0, gax_hash_u32(i, 5)), 1);
	gax_snapshot_free(s1);

	/* Same health again (another endpoint's state changed elsewhere): nothing built. */
	s3 = compile_health(cfg, s2, health_down(&h, (uint32_t[]){ 0, UINT32_MAX }));
	cr_assert_eq(s3->n_tables_built, 0);
	cr_assert_eq(s3->groups[0].table, s2->groups[0].table);
	cr_assert_eq(s3->groups[1].table, s2->groups[1].table);
	gax_snapshot_free(s2);

	/* 0 recovers: l1's group is the twin of l2's again and shares its table. */
	s4 = compile_health(cfg, s3, health_down(&h, (uint32_t[]){ UINT32_MAX }));
	cr_assert_eq(s4->n_tables_built, 0);
	cr_assert_eq(s4->groups[0].table, s4->groups[1].table);
	cr_assert_not(gax_snapshot_endpoint_unhealthy(s4, 0));
	gax_snapshot_free(s3);
	gax_snapshot_free(s4);
	gax_config_free(cfg);
}

Test(snapshot, an_unhealthy_endpoint_builds_the_table_of_a_drained_one)
{
	struct gax_config *c_drained = load_twins(0), *c = load_twins(128);
	struct health h;
	struct gax_snapshot *d = compile_health(c_drained, NULL, NULL);
	struct gax_snapshot *s = compile_health(c, d, health_down(&h, (uint32_t[]){ 0, UINT32_MAX }));

	/* One mechanism: an unhealthy endpoint counts as weight 0, whose table is reused. */
	cr_assert_eq(s->n_tables_built, 0);
	cr_assert_eq(s->groups[0].table, d->groups[0].table);
	gax_snapshot_free(d);
	gax_snapshot_free(s);
	gax_config_free(c_drained);
	gax_config_free(c);
}

Test(snapshot, a_group_with_every_endpoint_unhealthy_hands_its_share_to_the_others)
{
	static const char three[] =
		"{\"name\": \"api\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
		" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"443\", \"endpoint_groups\": ["
		"  {\"name\": \"aa\", \"region\": \"a\", \"traffic_percentage\": 20,"
		"   \"endpoints\": [{\"address\": \"10.1.0.41\"}, {\"address\": \"10.1.0.42\"}]},"
		"  {\"name\": \"bb\", \"region\": \"b\", \"traffic_percentage\": 50,"
		"   \"endpoints\": [{\"address\": \"10.1.0.43\"}]},"
		"  {\"name\": \"cc\", \"region\": \"c\", \"traffic_percentage\": 30,"
		"   \"endpoints\": [{\"address\": \"10.1.0.44\"}]}]}]}";
	struct gax_config *c_split = load(split), *c_three = load(three);
	struct health h;
	struct gax_snapshot *s, *s2;
	unsigned int count[3], n = 100000;

	/* split's l1: east 70 (endpoint id 0), down 50 (drained, id 1), west 30 (id 2). */
	s = compile_health(c_split, NULL, health_down(&h, (uint32_t[]){ 0, UINT32_MAX }));
	cr_assert_not(s->listeners[0].failed_open);
	cr_assert_eq(s->listeners[0].split_total, 30);
	cr_assert_null(s->groups[0].table);
	cr_assert_eq(s->groups[0].split_lo, s->groups[0].split_hi);
	count_groups(s, 0, n, count);
	cr_assert_eq(count[0], 0, "70/30 becomes 0/100");
	cr_assert_eq(count[1], 0);
	cr_assert_eq(count[2], n);
	gax_snapshot_free(s);

	/* three: 20/50/30; aa's two endpoints (ids 0, 1) down: 50/30 -> 62.5/37.5. */
	s = compile_health(c_three, NULL, health_down(&h, (uint32_t[]){ 0, 1, UINT32_MAX }));
	cr_assert_eq(s->listeners[0].split_total, 80);
	count_groups(s, 0, n, count);
	cr_assert_eq(count[0], 0);
	cr_assert_lt(abs((int)count[1] - 62500), 1000, "%u", count[1]);
	cr_assert_lt(abs((int)count[2] - 37500), 1000, "%u", count[2]);
	/* Deterministic: another compile (another host) puts every hash in the same group. */
	s2 = compile_health(c_three, NULL, health_down(&h, (uint32_t[]){ 0, 1, UINT32_MAX }));
	for (uint32_t i = 0; i < 10000; i++)
		cr_assert_eq(gax_snapshot_pick_group(s, 0, gax_hash_u32(i, 9)),
				gax_snapshot_pick_group(s2, 0, gax_hash_u32(i, 9)));
	cr_assert(same_table(s->groups[1].table, s2->groups[1].table));
	gax_snapshot_free(s2);
	gax_snapshot_free(s);

	/* One of aa's two down: aa keeps its whole 20%. */
	s = compile_health(c_three, NULL, health_down(&h, (uint32_t[]){ 1, UINT32_MAX }));
	cr_assert_eq(s->listeners[0].split_total, 100);
	count_groups(s, 0, n, count);
	cr_assert_lt(abs((int)count[0] - 20000), 1000, "%u", count[0]);
	for (uint32_t i = 0; i < 1000; i++)
		cr_assert_eq(gax_snapshot_pick_endpoint(s, 0, gax_hash_u32(i, 3)), 0);
	gax_snapshot_free(s);
	gax_config_free(c_split);
	gax_config_free(c_three);
}

Test(snapshot, every_group_unhealthy_fails_open_and_serves_as_if_healthy)
{
	struct gax_config *cfg = load(split);
	struct health h;
	struct gax_snapshot *s0 = compile_health(cfg, NULL, NULL);
	struct gax_snapshot *s;
	unsigned int c0[3], c1[3], g;

	/* Ids: l1 east 0, down 1 (weight 0), west 2; l2 drained 3 (weight 0). */
	s = compile_health(cfg, s0, health_down(&h, (uint32_t[]){ 0, 1, 2, 3, UINT32_MAX }));
	cr_assert(s->listeners[0].failed_open);
	cr_assert_eq(s->n_failed_open, 1, "l2 has no endpoint that could serve: nothing to open");
	cr_assert_not(s->listeners[1].failed_open);
	cr_assert_eq(s->listeners[1].split_total, 0);
	cr_assert_eq(s->n_unhealthy, 4);
	cr_assert(gax_snapshot_endpoint_unhealthy(s, 0), "the flag still tells the truth");
	/* Exactly the tables and split of the healthy snapshot: reused, not rebuilt. */
	cr_assert_eq(s->n_tables_built, 0);
	cr_assert_eq(s->listeners[0].split_total, s0->listeners[0].split_total);
	for (g = 0; g < s->n_groups; g++) {
		cr_assert_eq(s->groups[g].table, s0->groups[g].table, "group %u", g);
		cr_assert_eq(s->groups[g].split_lo, s0->groups[g].split_lo);
		cr_assert_eq(s->groups[g].split_hi, s0->groups[g].split_hi);
	}
	count_groups(s0, 0, 100000, c0);
	count_groups(s, 0, 100000, c1);
	cr_assert_eq(memcmp(c0, c1, sizeof(c0)), 0);
	cr_assert_gt(c1[0], 60000);
	gax_snapshot_free(s);

	/* One endpoint back up: the listener no longer fails open, it fails over. */
	s = compile_health(cfg, s0, health_down(&h, (uint32_t[]){ 0, 1, 3, UINT32_MAX }));
	cr_assert_not(s->listeners[0].failed_open);
	cr_assert_eq(s->n_failed_open, 0);
	cr_assert_eq(s->listeners[0].split_total, 30);
	gax_snapshot_free(s);
	gax_snapshot_free(s0);
	gax_config_free(cfg);
}

Test(snapshot, unknown_counts_as_healthy)
{
	struct gax_config *cfg = load(four);
	struct gax_snapshot *s0 = compile_health(cfg, NULL, NULL), *s;
	struct health h = { .n = 4, .state = { GAX_HEALTH_UNKNOWN, GAX_HEALTH_HEALTHY,
		GAX_HEALTH_UNKNOWN, GAX_HEALTH_UNKNOWN } };

	/* Never checked yet, or checked healthy: the same table as without health. */
	s = compile_health(cfg, s0, &h);
	cr_assert_eq(h.calls, 4);
	cr_assert_eq(s->n_unhealthy, 0);
	cr_assert_eq(s->n_tables_built, 0);
	cr_assert_eq(s->groups[0].table, s0->groups[0].table);
	gax_snapshot_free(s);

	/* Unknown beside unhealthy: only the unhealthy one leaves. */
	h.state[3] = GAX_HEALTH_UNHEALTHY;
	h.calls = 0;
	s = compile_health(cfg, s0, &h);
	{
		uint32_t counts[4];

		gax_maglev_slot_counts(s->groups[0].table, counts);
		cr_assert_eq(counts[3], 0);
		cr_assert_gt(counts[0], 0, "unknown serves");
		cr_assert_gt(counts[2], 0, "unknown serves");
	}
	/* Every endpoint unknown but one unhealthy: no fail open, the unknown serve. */
	cr_assert_not(s->listeners[0].failed_open);
	gax_snapshot_free(s);
	gax_snapshot_free(s0);
	gax_config_free(cfg);
}

Test(snapshot, weight_zero_and_unhealthy_combine)
{
	static const char mixed[] =
		"{\"name\": \"mm\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
		" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"1\", \"endpoint_groups\": ["
		"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": 100},"
		"   {\"address\": \"10.1.0.12\", \"weight\": 0}, {\"address\": \"10.1.0.13\", \"weight\": 50}]}]},"
		" {\"name\": \"l2\", \"protocol\": \"tcp\", \"port_ranges\": \"2\", \"endpoint_groups\": ["
		"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": 0},"
		"   {\"address\": \"10.1.0.12\", \"weight\": 100}]}]},"
		" {\"name\": \"l3\", \"protocol\": \"tcp\", \"port_ranges\": \"3\", \"endpoint_groups\": ["
		"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": 0}]}]}]}";
	struct gax_config *cfg = load(mixed);
	struct health h;
	struct gax_snapshot *s;
	uint32_t counts[3];

	/* Ids: l1 0 (100), 1 (0), 2 (50); l2 3 (0), 4 (100); l3 5 (0). */
	s = compile_health(cfg, NULL, health_down(&h, (uint32_t[]){ 0, 3, 4, 5, UINT32_MAX }));
	/* l1: 100 is down, 0 is drained though healthy: only the 50 serves. */
	gax_maglev_slot_counts(s->groups[0].table, counts);
	cr_assert_eq(counts[0], 0);
	cr_assert_eq(counts[1], 0);
	cr_assert_eq(counts[2], s->groups[0].table->size);
	cr_assert_not(s->listeners[0].failed_open);
	/* l2: everything that could serve is down: fail open, and the drained one stays drained. */
	cr_assert(s->listeners[1].failed_open);
	gax_maglev_slot_counts(s->groups[1].table, counts);
	cr_assert_eq(counts[0], 0);
	cr_assert_eq(counts[1], s->groups[1].table->size);
	/* l3: only a drained endpoint, unhealthy: nothing could serve, so nothing to open. */
	cr_assert_not(s->listeners[2].failed_open);
	cr_assert_null(s->groups[2].table);
	cr_assert_eq(gax_snapshot_pick_group(s, 2, 1), GAX_SNAP_NONE);
	cr_assert_eq(s->n_failed_open, 1);
	cr_assert_eq(s->n_unhealthy, 4);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

Test(snapshot, unresolved_endpoints_are_not_opened_by_fail_open)
{
	struct gax_config *cfg = load(domains);
	int calls = 0;
	struct health h;
	struct gax_snapshot_opts o = { .resolve = resolve_a_only, .resolve_ctx = &calls,
		.unhealthy = health_unhealthy, .health_ctx = health_down(&h, (uint32_t[]){ 0,
		UINT32_MAX }) };
	struct gax_snapshot *s = gax_snapshot_compile(cfg, &o);
	uint32_t i;

	/* a (id 0) resolved but down, b unresolved: fail open to a, never to b. */
	cr_assert_not_null(s);
	cr_assert(s->listeners[0].failed_open);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(gax_snapshot_pick_endpoint(s, 0, gax_hash_u32(i, 1)), 0);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

Test(snapshot, no_health_input_gives_todays_tables)
{
	struct gax_config *cfg = load(web);
	struct gax_snapshot *s0 = compile_health(cfg, NULL, NULL);
	struct health h = { .n = 0 }; /* every id unknown */
	struct gax_snapshot *s1 = compile_health(cfg, NULL, &h);
	struct gax_snapshot_opts o = { .health_ctx = &h }; /* a context alone changes nothing */
	struct gax_snapshot *s2 = gax_snapshot_compile(cfg, &o);
	uint32_t i;

	cr_assert_not_null(s2);
	cr_assert_eq(h.calls, s1->n_endpoints, "asked once per endpoint");
	for (i = 0; i < s1->n_endpoints; i++) {
		cr_assert_eq(h.asked[i], s1->endpoints[i].id, "asked by stable id");
		cr_assert_not(gax_snapshot_endpoint_unhealthy(s0, i));
		cr_assert_not(gax_snapshot_endpoint_unhealthy(s1, i));
	}
	for (i = 0; i < s0->n_groups; i++) {
		cr_assert(same_table(s0->groups[i].table, s1->groups[i].table), "group %u", i);
		cr_assert(same_table(s0->groups[i].table, s2->groups[i].table), "group %u", i);
		cr_assert_eq(s0->groups[i].split_lo, s1->groups[i].split_lo);
		cr_assert_eq(s0->groups[i].split_hi, s1->groups[i].split_hi);
	}
	for (i = 0; i < s0->n_listeners; i++) {
		cr_assert_not(s0->listeners[i].failed_open);
		cr_assert_eq(s0->listeners[i].split_total, s1->listeners[i].split_total);
	}
	cr_assert_eq(s0->n_unhealthy + s0->n_failed_open + s1->n_unhealthy + s1->n_failed_open, 0);
	gax_snapshot_free(s0);
	gax_snapshot_free(s1);
	gax_snapshot_free(s2);
	gax_config_free(cfg);
}

Test(snapshot, health_asks_by_the_ids_of_the_previous_snapshot)
{
	static const char moved[] =
		"{\"name\": \"ff\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
		" {\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\", \"endpoint_groups\": ["
		"  {\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.15\"},"
		"   {\"address\": \"10.1.0.14\"}, {\"address\": \"10.1.0.13\"}]}]}]}";
	struct gax_config *c1 = load(four), *c2 = load(moved);
	struct health h;
	struct gax_snapshot *s1 = compile_health(c1, NULL, NULL), *s2;
	uint32_t counts[3];

	/* 10.1.0.13 had id 2 and keeps it at index 2; 10.1.0.14 (id 3) moves to index 1. */
	s2 = compile_health(c2, s1, health_down(&h, (uint32_t[]){ 3, UINT32_MAX }));
	cr_assert_eq(s2->endpoints[1].id, 3);
	cr_assert(gax_snapshot_endpoint_unhealthy(s2, 1));
	cr_assert_geq(s2->endpoints[0].id, 4, "10.1.0.15 is new");
	cr_assert_not(gax_snapshot_endpoint_unhealthy(s2, 0));
	gax_maglev_slot_counts(s2->groups[0].table, counts);
	cr_assert_eq(counts[1], 0);
	cr_assert_gt(counts[0], 0);
	cr_assert_gt(counts[2], 0);
	gax_snapshot_free(s1);
	gax_snapshot_free(s2);
	gax_config_free(c1);
	gax_config_free(c2);
}

Test(snapshot, explain_shows_health)
{
	struct gax_config *cfg = load(split);
	struct health h;
	struct gax_snapshot *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	s = compile_health(cfg, NULL, health_down(&h, (uint32_t[]){ 0, UINT32_MAX }));
	f = open_memstream(&buf, &len);
	gax_snapshot_explain(f, s);
	fclose(f);
	cr_assert_not_null(strstr(buf, "Health: 1 endpoint unhealthy, 0 listeners failed open"),
			"%s", buf);
	cr_assert_not_null(strstr(buf, "unhealthy: excluded, takes no new flows"), "%s", buf);
	cr_assert_not_null(strstr(buf, "endpoint group east: takes no new flows (no healthy "
			"endpoint: its traffic_percentage 70 goes to the other groups)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "endpoint group west: 100.0% of new flows "
			"(traffic_percentage 30)"), "%s", buf);
	cr_assert_null(strstr(buf, "FAILED OPEN"), "%s", buf);
	free(buf);
	gax_snapshot_free(s);

	s = compile_health(cfg, NULL, health_down(&h, (uint32_t[]){ 0, 2, UINT32_MAX }));
	buf = NULL;
	f = open_memstream(&buf, &len);
	gax_snapshot_explain(f, s);
	fclose(f);
	cr_assert_not_null(strstr(buf, "FAILED OPEN"), "%s", buf);
	cr_assert_not_null(strstr(buf, "(unhealthy: serves, the listener failed open)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "endpoint group east: 70.0% of new flows"), "%s", buf);
	cr_assert_not_null(strstr(buf, "1 listener failed open"), "%s", buf);
	free(buf);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

/* ---- drain (gax_snapshot_opts.drained) ---------------------------------------------- */

struct drain {
	bool on[64];
	uint32_t calls;
};

static bool
drain_cb(void *ctx, uint32_t id)
{
	struct drain *d = ctx;

	d->calls++;
	return id < 64 && d->on[id];
}

/* @p d with the ids in @p ids (terminated by UINT32_MAX) drained. */
static struct drain *
drain_of(struct drain *d, const uint32_t *ids)
{
	memset(d, 0, sizeof(*d));
	for (; *ids != UINT32_MAX; ids++)
		d->on[*ids] = true;
	return d;
}

static struct gax_snapshot *
compile_drain(const struct gax_config *cfg, const struct gax_snapshot *prev, struct health *h,
		struct drain *d)
{
	struct gax_snapshot_opts o = { .prev = prev,
		.unhealthy = h != NULL ? health_unhealthy : NULL, .health_ctx = h,
		.drained = d != NULL ? drain_cb : NULL, .drain_ctx = d };
	struct gax_snapshot *s = gax_snapshot_compile(cfg, &o);

	cr_assert_not_null(s);
	return s;
}

Test(snapshot, a_drained_endpoint_leaves_the_table_like_weight_zero)
{
	struct gax_config *cfg = load(four);
	struct drain dr;
	struct health h;
	struct gax_snapshot *s0 = compile_drain(cfg, NULL, NULL, NULL);
	struct gax_snapshot *s1 = compile_drain(cfg, s0, NULL, drain_of(&dr, (uint32_t[]){ 2,
			UINT32_MAX }));
	struct gax_snapshot *s2 = compile_health(cfg, NULL, health_down(&h, (uint32_t[]){ 2,
			UINT32_MAX }));
	uint32_t counts[4], i;

	cr_assert_eq(dr.calls, 4, "asked once per endpoint");
	cr_assert(gax_snapshot_endpoint_drained(s1, 2));
	cr_assert_not(gax_snapshot_endpoint_drained(s1, 1));
	cr_assert_not(gax_snapshot_endpoint_drained(s0, 2));
	cr_assert_eq(s1->n_drained, 1);
	cr_assert_eq(s1->n_unhealthy, 0);
	cr_assert_eq(s1->endpoints[2].weight, 128, "the configured weight is kept for show");
	gax_maglev_slot_counts(s1->groups[0].table, counts);
	cr_assert_eq(counts[2], 0, "a drained endpoint owns no slot");
	for (i = 0; i < 4; i++)
		if (i != 2)
			cr_assert_gt(counts[i], 0);
	/* The same table as an endpoint out for any other reason. */
	cr_assert(same_table(s1->groups[0].table, s2->groups[0].table));
	for (i = 0; i < 10000; i++)
		cr_assert_neq(gax_snapshot_pick_endpoint(s1, 0, gax_hash_u32(i, 13)), 2);
	gax_snapshot_free(s2);

	/* Undrained: back to the table it had, reused from the snapshot before. */
	s2 = compile_drain(cfg, s0, NULL, drain_of(&dr, (uint32_t[]){ UINT32_MAX }));
	cr_assert_eq(s2->groups[0].table, s0->groups[0].table);
	cr_assert_eq(s2->n_drained, 0);
	gax_snapshot_free(s2);
	gax_snapshot_free(s1);
	gax_snapshot_free(s0);
	gax_config_free(cfg);
}

Test(snapshot, drained_endpoints_are_never_opened_by_fail_open)
{
	struct gax_config *cfg = load(four);
	struct drain dr;
	struct health h;
	struct gax_snapshot *s;
	uint32_t counts[4];

	/* 0, 1 drained, 2, 3 unhealthy: fail open brings back 2 and 3, never 0 and 1. */
	s = compile_drain(cfg, NULL, health_down(&h, (uint32_t[]){ 2, 3, UINT32_MAX }),
			drain_of(&dr, (uint32_t[]){ 0, 1, UINT32_MAX }));
	cr_assert(s->listeners[0].failed_open);
	gax_maglev_slot_counts(s->groups[0].table, counts);
	cr_assert_eq(counts[0] + counts[1], 0, "%u %u", counts[0], counts[1]);
	cr_assert_gt(counts[2], 0);
	cr_assert_gt(counts[3], 0);
	gax_snapshot_free(s);

	/* Every endpoint drained, whatever their health: nothing serves, nothing fails open. */
	s = compile_drain(cfg, NULL, health_down(&h, (uint32_t[]){ 0, 1, 2, 3, UINT32_MAX }),
			drain_of(&dr, (uint32_t[]){ 0, 1, 2, 3, UINT32_MAX }));
	cr_assert_not(s->listeners[0].failed_open);
	cr_assert_eq(s->n_failed_open, 0);
	cr_assert_eq(s->listeners[0].split_total, 0);
	cr_assert_null(s->groups[0].table);
	cr_assert_eq(gax_snapshot_pick_group(s, 0, 12345), GAX_SNAP_NONE);
	cr_assert_eq(s->n_drained, 4);
	gax_snapshot_free(s);

	/* Three drained, the fourth unhealthy: it fails open alone. */
	s = compile_drain(cfg, NULL, health_down(&h, (uint32_t[]){ 3, UINT32_MAX }),
			drain_of(&dr, (uint32_t[]){ 0, 1, 2, UINT32_MAX }));
	cr_assert(s->listeners[0].failed_open);
	for (uint32_t i = 0; i < 1000; i++)
		cr_assert_eq(gax_snapshot_pick_endpoint(s, 0, gax_hash_u32(i, 17)), 3);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}

Test(snapshot, a_drained_group_hands_its_share_to_the_others)
{
	struct gax_config *cfg = load(split);
	struct drain dr;
	struct gax_snapshot *s;
	unsigned int count[3];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* split's l1: east 70 (id 0), down 50 (weight 0, id 1), west 30 (id 2). */
	s = compile_drain(cfg, NULL, NULL, drain_of(&dr, (uint32_t[]){ 0, UINT32_MAX }));
	cr_assert_eq(s->listeners[0].split_total, 30);
	cr_assert_not(s->listeners[0].failed_open);
	count_groups(s, 0, 10000, count);
	cr_assert_eq(count[2], 10000);
	f = open_memstream(&buf, &len);
	gax_snapshot_explain(f, s);
	fclose(f);
	cr_assert_not_null(strstr(buf, "(drained: takes no new flows)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "1 drained"), "%s", buf);
	cr_assert_not_null(strstr(buf, "endpoint group east: takes no new flows (no endpoint can)"),
			"%s", buf);
	free(buf);
	gax_snapshot_free(s);
	gax_config_free(cfg);
}
