/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The XDP steering program and its loader. Refused arguments first (bad
 * addresses, kinds, protocols, ports, NAT ranges, full maps, unknown
 * interfaces), then the program run by the kernel on crafted frames
 * (bpf_prog_test_run_opts): what is addressed to gax is steered, everything
 * else passes, and with no AF_XDP socket bound (as here) a steered frame
 * passes too (the redirect's XDP_PASS fallback), which the per-verdict
 * counters tell apart. Then a listener change seen at once, a replacement
 * that never drops what stays while the program runs on another thread,
 * attach and detach on a veth pair in a network namespace of the test's own,
 * and a process that dies attached: its program stays, passes everything,
 * and `ip link set dev X xdp off` removes it.
 *
 * Needs root and a kernel that loads BPF: otherwise every test is skipped
 * with the kernel's reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include <gax_flow.h>
#include <gax_xdp.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

_Static_assert(GAX_XDP_NAT_PORT_MIN == GAX_FLOW_SNAT_PORT_MIN, "NAT range follows lib/flow");
_Static_assert(GAX_XDP_NAT_PORT_MAX == GAX_FLOW_SNAT_PORT_MAX, "NAT range follows lib/flow");

static const uint32_t VIP = IP(198, 51, 100, 10);	/* accelerated address */
static const uint32_t VIP2 = IP(198, 51, 100, 11);	/* accelerated address, UDP only */
static const uint32_t IFADDR = IP(10, 1, 0, 1);		/* gax's interface address */
static const uint32_t HOST = IP(10, 1, 0, 2);		/* the host's own address */
static const uint32_t CLIENT = IP(203, 0, 113, 7);

static struct gax_xdp *
open_or_skip(const struct gax_xdp_opts *opts)
{
	char err[256] = "";
	struct gax_xdp *x = gax_xdp_open(opts, err, sizeof(err));

	if (x == NULL && (errno == EPERM || errno == EACCES || errno == ENOSYS ||
			errno == EOPNOTSUPP))
		cr_skip_test("the kernel refuses BPF here (needs root): %s", err);
	cr_assert_not_null(x, "gax_xdp_open: %s", err);
	cr_assert_str_empty(err);
	return x;
}

static void
configure(struct gax_xdp *x)
{
	static const struct gax_xdp_address addrs[] = {
		{ VIP, GAX_XDP_ADDR_ACCELERATOR },
		{ VIP2, GAX_XDP_ADDR_ACCELERATOR },
		{ IFADDR, GAX_XDP_ADDR_INTERFACE },
	};
	static const struct gax_xdp_listener ls[] = {
		{ .addr = VIP, .port = 80, .ipproto = IPPROTO_TCP },
		{ .addr = VIP, .port = 443, .ipproto = IPPROTO_TCP },
		{ .addr = VIP, .port = 5000, .ipproto = IPPROTO_UDP },
		{ .addr = VIP2, .port = 80, .ipproto = IPPROTO_UDP },
	};
	char err[256];

	cr_assert_eq(gax_xdp_set_addresses(x, addrs, 3, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gax_xdp_set_listeners(x, ls, 4, err, sizeof(err)), 0, "%s", err);
}

/* Frames. */

struct frame {
	uint8_t b[256];
	uint32_t len;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t
eth(struct frame *f, uint16_t type)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	put16(f->b + 12, type);
	return 14;
}

/* IPv4 to @p dst: a TCP (20 bytes), UDP or ICMP (8) header and 16 bytes of payload. */
static void
ipv4(struct frame *f, uint8_t proto, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint32_t o = eth(f, 0x0800);
	uint32_t l4len = proto == IPPROTO_TCP ? 20 : 8;
	uint8_t *ip = f->b + o;

	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len + 16));
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, CLIENT);
	put32(ip + 16, dst);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		put16(ip + 20, sport);
		put16(ip + 22, dport);
	}
	if (proto == IPPROTO_TCP)
		ip[20 + 12] = 5 << 4;
	if (proto == IPPROTO_ICMP)
		ip[20] = 8;	/* echo request */
	f->len = o + 20 + l4len + 16;
}

static void
arp(struct frame *f, uint16_t op, uint32_t sender, uint32_t target)
{
	uint32_t o = eth(f, 0x0806);
	uint8_t *a = f->b + o;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, "\x02\x00\x00\x00\x00\x02", 6);
	put32(a + 14, sender);
	put32(a + 24, target);
	f->len = o + 28;
}

/* Run the program on @p f; return its verdict. */
static int
run_prog(int prog_fd, const struct frame *f)
{
	uint8_t out[512];
	int ret;

	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len,
		.data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	ret = bpf_prog_test_run_opts(prog_fd, &o);
	cr_assert_eq(ret, 0, "bpf_prog_test_run_opts: %s", strerror(-ret));
	return (int)o.retval;
}

/*
 * Run @p f and check the counters moved by exactly one, in slot @p stat
 * (and no_socket for a redirect, since no socket is bound), and that the
 * verdict is XDP_PASS either way: nothing is ever dropped.
 */
static void
expect(struct gax_xdp *x, const struct frame *f, enum gax_xdp_stat stat, const char *what)
{
	uint64_t before[GAX_XDP_STAT_MAX], after[GAX_XDP_STAT_MAX];
	bool redirect = stat <= GAX_XDP_STAT_REDIRECT_ARP;
	unsigned int i;

	cr_assert_eq(gax_xdp_read_stats(x, before), 0);
	cr_assert_eq(run_prog(gax_xdp_prog_fd(x), f), XDP_PASS, "%s: verdict", what);
	cr_assert_eq(gax_xdp_read_stats(x, after), 0);
	for (i = 0; i < GAX_XDP_STAT_MAX; i++) {
		uint64_t want = i == stat || (redirect && i == GAX_XDP_STAT_NO_SOCKET) ? 1 : 0;

		cr_assert_eq(after[i] - before[i], want, "%s: counter %s moved by %llu, not %llu",
			what, gax_xdp_stat_name(i), (unsigned long long)(after[i] - before[i]),
			(unsigned long long)want);
	}
}

/* Refusals. */

Test(xdp, refuses_bad_addresses_and_listeners)
{
	struct gax_xdp *x = open_or_skip(NULL);
	struct gax_xdp_address a[2] = { { VIP, GAX_XDP_ADDR_ACCELERATOR }, { 0, 0 } };
	struct gax_xdp_listener l[1] = { { .addr = VIP, .port = 80, .ipproto = IPPROTO_TCP } };
	struct frame f;
	char err[256];
	__u32 key;

	a[1] = (struct gax_xdp_address){ 0, GAX_XDP_ADDR_INTERFACE };
	cr_assert_eq(gax_xdp_set_addresses(x, a, 2, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "address 1") != NULL, "%s", err);
	a[1] = (struct gax_xdp_address){ IFADDR, 7 };
	cr_assert_eq(gax_xdp_set_addresses(x, a, 2, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "kind") != NULL, "%s", err);
	a[1] = (struct gax_xdp_address){ VIP, GAX_XDP_ADDR_INTERFACE };
	cr_assert_eq(gax_xdp_set_addresses(x, a, 2, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "two kinds") != NULL, "%s", err);
	/* Nothing was written: the map is empty, the VIP passes. */
	cr_assert_neq(bpf_map_get_next_key(gax_xdp_map_fd(x, GAX_XDP_MAP_ADDRS), NULL, &key), 0);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "before any address");

	l[0].ipproto = IPPROTO_ICMP;
	cr_assert_eq(gax_xdp_set_listeners(x, l, 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "protocol") != NULL, "%s", err);
	l[0] = (struct gax_xdp_listener){ .addr = VIP, .port = 0, .ipproto = IPPROTO_UDP };
	cr_assert_eq(gax_xdp_set_listeners(x, l, 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "port 0") != NULL, "%s", err);
	l[0] = (struct gax_xdp_listener){ .addr = 0, .port = 80, .ipproto = IPPROTO_UDP };
	cr_assert_eq(gax_xdp_set_listeners(x, l, 1, err, sizeof(err)), -EINVAL);

	cr_assert_eq(gax_xdp_set_nat_ports(x, 2000, 1999, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "2000-1999") != NULL, "%s", err);

	cr_assert_eq(gax_xdp_attach(x, 0, GAX_XDP_MODE_GENERIC, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gax_xdp_attach(x, 1, (enum gax_xdp_mode)9, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gax_xdp_detach(x, 1, err, sizeof(err)), -ENOENT);
	cr_assert_eq(gax_xdp_map_fd(x, (enum gax_xdp_map)99), -EINVAL);
	cr_assert_null(gax_xdp_stat_name(GAX_XDP_STAT_MAX));
	cr_assert_str_eq(gax_xdp_stat_name(GAX_XDP_STAT_NO_SOCKET), "no_socket");
	gax_xdp_close(x);
}

Test(xdp, full_maps_refuse_and_keep_the_old_set)
{
	struct gax_xdp_opts o = { .max_addresses = 4, .max_listeners = 4 };
	struct gax_xdp *x = open_or_skip(&o);
	struct gax_xdp_address a[5];
	struct gax_xdp_listener l[4];
	struct frame f;
	char err[256];
	unsigned int i;

	for (i = 0; i < 5; i++)
		a[i] = (struct gax_xdp_address){ VIP + i, GAX_XDP_ADDR_ACCELERATOR };
	cr_assert_eq(gax_xdp_set_addresses(x, a, 5, err, sizeof(err)), -ENOSPC);
	cr_assert_eq(gax_xdp_set_addresses(x, a, 4, err, sizeof(err)), 0, "%s", err);
	/* Duplicates that agree count once. */
	a[1] = a[0];
	cr_assert_eq(gax_xdp_set_addresses(x, a, 2, err, sizeof(err)), 0, "%s", err);
	/* {VIP} kept + 4 new: the union does not fit while both live, refused whole. */
	for (i = 0; i < 4; i++)
		a[i] = (struct gax_xdp_address){ VIP + 10 + i, GAX_XDP_ADDR_ACCELERATOR };
	cr_assert_eq(gax_xdp_set_addresses(x, a, 4, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "do not fit") != NULL, "%s", err);
	for (i = 0; i < 4; i++)
		l[i] = (struct gax_xdp_listener){ .addr = VIP, .port = (uint16_t)(80 + i),
			.ipproto = IPPROTO_TCP };
	cr_assert_eq(gax_xdp_set_listeners(x, l, 4, err, sizeof(err)), 0, "%s", err);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 83);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "VIP still there after the refusal");
	ipv4(&f, IPPROTO_TCP, VIP + 10, 40000, 83);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "refused address not added");
	gax_xdp_close(x);
}

/* Steering. */

Test(xdp, steers_what_is_addressed_to_gax)
{
	struct gax_xdp *x = open_or_skip(NULL);
	struct frame f;

	configure(x);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "TCP VIP:80");
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 443);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "TCP VIP:443");
	ipv4(&f, IPPROTO_UDP, VIP, 40000, 5000);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "UDP VIP:5000");
	ipv4(&f, IPPROTO_UDP, VIP2, 40000, 80);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "UDP VIP2:80");
	/* Replies from endpoints to the full-NAT source ports, both ends of the range. */
	ipv4(&f, IPPROTO_TCP, IFADDR, 8080, GAX_XDP_NAT_PORT_MIN);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_NAT_REPLY, "TCP reply to IFADDR:1024");
	ipv4(&f, IPPROTO_UDP, IFADDR, 53, GAX_XDP_NAT_PORT_MAX);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_NAT_REPLY, "UDP reply to IFADDR:65535");
	/* ICMP to any address gax owns. */
	ipv4(&f, IPPROTO_ICMP, VIP, 0, 0);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ICMP, "ICMP to VIP");
	ipv4(&f, IPPROTO_ICMP, IFADDR, 0, 0);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ICMP, "ICMP to IFADDR");
	/* ARP requests for, and replies to, gax's addresses. */
	arp(&f, 1, CLIENT, VIP);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ARP, "ARP who-has VIP");
	arp(&f, 2, HOST, IFADDR);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ARP, "ARP reply to IFADDR");
	gax_xdp_close(x);
}

Test(xdp, passes_the_hosts_traffic)
{
	struct gax_xdp *x = open_or_skip(NULL);
	struct frame f;

	configure(x);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 81);
	expect(x, &f, GAX_XDP_STAT_PASS_NO_LISTENER, "TCP VIP:81, no listener");
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 5000);
	expect(x, &f, GAX_XDP_STAT_PASS_NO_LISTENER, "TCP VIP:5000, a UDP listener's port");
	ipv4(&f, IPPROTO_TCP, VIP2, 40000, 80);
	expect(x, &f, GAX_XDP_STAT_PASS_NO_LISTENER, "TCP VIP2:80, a UDP listener's port");
	ipv4(&f, IPPROTO_TCP, IFADDR, 40000, 22);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_NAT_PORT, "SSH to IFADDR");
	ipv4(&f, IPPROTO_TCP, IFADDR, 40000, 179);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_NAT_PORT, "BGP to IFADDR");
	ipv4(&f, IPPROTO_UDP, IFADDR, 40000, GAX_XDP_NAT_PORT_MIN - 1);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_NAT_PORT, "UDP to IFADDR:1023");
	ipv4(&f, IPPROTO_TCP, HOST, 40000, 22);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "SSH to the host's address");
	ipv4(&f, IPPROTO_UDP, HOST, 40000, 5000);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "UDP to the host's address");
	ipv4(&f, IPPROTO_ICMP, HOST, 0, 0);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "ping to the host");
	ipv4(&f, 47 /* GRE */, VIP, 0, 0);
	expect(x, &f, GAX_XDP_STAT_PASS_OTHER_PROTO, "GRE to VIP");
	arp(&f, 1, CLIENT, HOST);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "ARP who-has the host");
	arp(&f, 1, VIP, VIP);
	f.b[14 + 24] = 10;	/* gratuitous ARP of another address: target 10.51.100.10 */
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "ARP for another address");

	/* The NAT range follows gax_xdp_set_nat_ports(); lo 0 steers no reply. */
	cr_assert_eq(gax_xdp_set_nat_ports(x, 20000, 29999, NULL, 0), 0);
	ipv4(&f, IPPROTO_TCP, IFADDR, 8080, 19999);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_NAT_PORT, "reply below the range");
	ipv4(&f, IPPROTO_TCP, IFADDR, 8080, 30000);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_NAT_PORT, "reply above the range");
	ipv4(&f, IPPROTO_TCP, IFADDR, 8080, 25000);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_NAT_REPLY, "reply in the range");
	cr_assert_eq(gax_xdp_set_nat_ports(x, 0, 0, NULL, 0), 0);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_NAT_PORT, "no NAT range");
	gax_xdp_close(x);
}

/* Replies of reserve-client-IP endpoints come to the client's address: steered by source. */
Test(xdp, steers_replies_of_reserve_client_ip_endpoints)
{
	static const struct gax_xdp_listener eps[] = {
		{ .addr = HOST + 10, .port = 8080, .ipproto = IPPROTO_TCP },
		{ .addr = HOST + 11, .port = 53, .ipproto = IPPROTO_UDP },
	};
	struct gax_xdp *x = open_or_skip(NULL);
	struct gax_xdp_listener bad = { .addr = HOST, .port = 0, .ipproto = IPPROTO_TCP };
	struct frame f;
	char err[256];

	configure(x);
	cr_assert_eq(gax_xdp_set_endpoints(x, &bad, 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "port 0") != NULL, "%s", err);
	cr_assert_eq(gax_xdp_set_endpoints(x, eps, 2, err, sizeof(err)), 0, "%s", err);
	/* ipv4() sends from CLIENT; these come from the endpoints, to the client. */
	ipv4(&f, IPPROTO_TCP, CLIENT, 8080, 40000);
	put32(f.b + 14 + 12, HOST + 10);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ENDPOINT_REPLY, "TCP from endpoint:8080 to the client");
	ipv4(&f, IPPROTO_UDP, CLIENT, 53, 40000);
	put32(f.b + 14 + 12, HOST + 11);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ENDPOINT_REPLY, "UDP from endpoint:53 to the client");
	/* Another port, protocol or address of the same hosts is theirs. */
	ipv4(&f, IPPROTO_TCP, CLIENT, 22, 40000);
	put32(f.b + 14 + 12, HOST + 10);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "TCP from endpoint:22");
	ipv4(&f, IPPROTO_UDP, CLIENT, 8080, 40000);
	put32(f.b + 14 + 12, HOST + 10);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "UDP from a TCP endpoint's port");
	ipv4(&f, IPPROTO_TCP, CLIENT, 8080, 40000);
	put32(f.b + 14 + 12, HOST + 12);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "TCP from another host's 8080");
	ipv4(&f, IPPROTO_ICMP, CLIENT, 0, 0);
	put32(f.b + 14 + 12, HOST + 10);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "ICMP from the endpoint");
	/* A fragment or a frame cut inside the ports is the host's too. */
	ipv4(&f, IPPROTO_TCP, CLIENT, 8080, 40000);
	put32(f.b + 14 + 12, HOST + 10);
	f.b[14 + 6] = 0x20;	/* more fragments */
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "fragment from endpoint:8080");
	ipv4(&f, IPPROTO_TCP, CLIENT, 8080, 40000);
	put32(f.b + 14 + 12, HOST + 10);
	f.len = 14 + 20 + 3;
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "cut inside the ports");
	/* Replaced like the other sets: the one that stays is still steered. */
	cr_assert_eq(gax_xdp_set_endpoints(x, eps + 1, 1, err, sizeof(err)), 0, "%s", err);
	ipv4(&f, IPPROTO_TCP, CLIENT, 8080, 40000);
	put32(f.b + 14 + 12, HOST + 10);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "TCP endpoint removed");
	ipv4(&f, IPPROTO_UDP, CLIENT, 53, 40000);
	put32(f.b + 14 + 12, HOST + 11);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_ENDPOINT_REPLY, "UDP endpoint kept");
	gax_xdp_close(x);
}

Test(xdp, passes_other_ethertypes_malformed_and_truncated)
{
	struct gax_xdp *x = open_or_skip(NULL);
	struct frame f;

	configure(x);
	/* IPv6 and an 802.1Q-tagged IPv4 frame to VIP:80. */
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	put16(f.b + 12, 0x86dd);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_IPV4, "IPv6");
	memmove(f.b + 18, f.b + 14, f.len - 14);
	put16(f.b + 12, 0x8100);
	put16(f.b + 14, 100);
	put16(f.b + 16, 0x0800);
	f.len += 4;
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_IPV4, "VLAN-tagged");

	/* Truncated: IPv4 header, TCP, UDP, ICMP headers, ARP. */
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	f.len = 14 + 19;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "IPv4 header cut");
	f.len = 14 + 20 + 19;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "TCP header cut");
	ipv4(&f, IPPROTO_UDP, VIP, 40000, 5000);
	f.len = 14 + 20 + 7;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "UDP header cut");
	ipv4(&f, IPPROTO_ICMP, VIP, 0, 0);
	f.len = 14 + 20 + 7;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "ICMP header cut");
	arp(&f, 1, CLIENT, VIP);
	f.len = 14 + 27;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "ARP cut");
	eth(&f, 0x0800);
	f.len = 14;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "Ethernet header alone");
	/* IP options push the TCP header past the end. */
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	f.b[14] = 0x4f;
	put16(f.b + 16, 60 + 20);
	f.len = 14 + 60 + 10;
	expect(x, &f, GAX_XDP_STAT_PASS_TRUNCATED, "TCP after 40 bytes of options, cut");
	/* Whole, with 4 bytes of options: the ports are found after them. */
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 81);
	memmove(f.b + 14 + 24, f.b + 14 + 20, f.len - 14 - 20);
	memset(f.b + 14 + 20, 1, 4);	/* NOPs; where the ports were: 0x0101 */
	f.b[14] = 0x46;
	put16(f.b + 16, (uint16_t)(f.len - 14 + 4));
	put16(f.b + 14 + 24 + 2, 80);
	f.len += 4;
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "TCP VIP:80 after IP options");

	/* Malformed: IP version, IHL, total length; ARP of another hardware type. */
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	f.b[14] = 0x65;
	expect(x, &f, GAX_XDP_STAT_PASS_MALFORMED, "IP version 6 in an IPv4 frame");
	f.b[14] = 0x44;
	expect(x, &f, GAX_XDP_STAT_PASS_MALFORMED, "IHL 4");
	f.b[14] = 0x45;
	put16(f.b + 16, 19);
	expect(x, &f, GAX_XDP_STAT_PASS_MALFORMED, "total length 19");
	arp(&f, 1, CLIENT, VIP);
	put16(f.b + 14, 6);	/* IEEE 802 */
	expect(x, &f, GAX_XDP_STAT_PASS_MALFORMED, "ARP htype 6");

	/* Fragments to gax's addresses: first (MF) and later (offset) ones. */
	ipv4(&f, IPPROTO_UDP, VIP, 40000, 5000);
	put16(f.b + 14 + 6, 0x2000);
	expect(x, &f, GAX_XDP_STAT_PASS_FRAGMENT, "first fragment");
	put16(f.b + 14 + 6, 0x0010);
	expect(x, &f, GAX_XDP_STAT_PASS_FRAGMENT, "later fragment");
	/* DF alone is not a fragment. */
	put16(f.b + 14 + 6, 0x4000);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "DF set");
	gax_xdp_close(x);
}

Test(xdp, listener_change_is_seen_at_once)
{
	struct gax_xdp *x = open_or_skip(NULL);
	struct gax_xdp_listener l = { .addr = VIP, .port = 8080, .ipproto = IPPROTO_TCP };
	struct gax_xdp_address a = { VIP2, GAX_XDP_ADDR_INTERFACE };
	struct frame f;
	char err[256];

	configure(x);
	cr_assert_eq(gax_xdp_set_listeners(x, &l, 1, err, sizeof(err)), 0, "%s", err);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	expect(x, &f, GAX_XDP_STAT_PASS_NO_LISTENER, "old port 80");
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 8080);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "new port 8080");
	ipv4(&f, IPPROTO_UDP, VIP2, 40000, 80);
	expect(x, &f, GAX_XDP_STAT_PASS_NO_LISTENER, "VIP2's listener removed");

	/* Addresses: VIP2 becomes an interface address, VIP and IFADDR go away. */
	cr_assert_eq(gax_xdp_set_addresses(x, &a, 1, err, sizeof(err)), 0, "%s", err);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 8080);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "VIP removed");
	ipv4(&f, IPPROTO_TCP, IFADDR, 80, 40000);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "IFADDR removed");
	ipv4(&f, IPPROTO_UDP, VIP2, 80, 40000);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_NAT_REPLY, "VIP2 now an interface address");
	/* Empty sets. */
	cr_assert_eq(gax_xdp_set_listeners(x, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gax_xdp_set_addresses(x, NULL, 0, err, sizeof(err)), 0, "%s", err);
	expect(x, &f, GAX_XDP_STAT_PASS_NOT_OURS, "no address left");
	gax_xdp_close(x);
}

/* While the sets flip between {443, 80} and {443, 8080}, 443 is never missing. */

struct runner {
	int prog_fd;
	volatile bool stop;
	unsigned long runs;
	int bad;
};

static void *
run_443(void *arg)
{
	struct runner *r = arg;
	struct frame f;

	ipv4(&f, IPPROTO_TCP, VIP, 40000, 443);
	while (!r->stop) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.b, .data_size_in = f.len,
			.repeat = 1);
		if (bpf_prog_test_run_opts(r->prog_fd, &o) != 0 || o.retval != XDP_PASS)
			r->bad++;
		r->runs += 1;
	}
	return NULL;
}

Test(xdp, replacement_never_drops_what_stays)
{
	struct gax_xdp *x = open_or_skip(NULL);
	struct gax_xdp_listener a[2] = {
		{ .addr = VIP, .port = 80, .ipproto = IPPROTO_TCP },
		{ .addr = VIP, .port = 443, .ipproto = IPPROTO_TCP },
	};
	struct gax_xdp_listener b[2] = {
		{ .addr = VIP, .port = 443, .ipproto = IPPROTO_TCP },
		{ .addr = VIP, .port = 8080, .ipproto = IPPROTO_TCP },
	};
	uint64_t s[GAX_XDP_STAT_MAX];
	struct runner r = { .prog_fd = gax_xdp_prog_fd(x) };
	pthread_t t;
	char err[256];
	int i;

	configure(x);
	cr_assert_eq(pthread_create(&t, NULL, run_443, &r), 0);
	for (i = 0; i < 2000; i++)
		cr_assert_eq(gax_xdp_set_listeners(x, i % 2 ? a : b, 2, err, sizeof(err)), 0,
			"%s", err);
	r.stop = true;
	pthread_join(t, NULL);
	cr_assert_eq(r.bad, 0);
	cr_assert_gt(r.runs, 0);
	cr_assert_eq(gax_xdp_read_stats(x, s), 0);
	cr_assert_eq(s[GAX_XDP_STAT_PASS_NO_LISTENER], 0, "443 missed %llu times in %lu runs",
		(unsigned long long)s[GAX_XDP_STAT_PASS_NO_LISTENER], r.runs);
	cr_assert_eq(s[GAX_XDP_STAT_REDIRECT_LISTENER], r.runs);
	gax_xdp_close(x);
}

static uint32_t
prog_id_of(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static uint32_t
attached_id(int ifindex, uint32_t mode_flag)
{
	uint32_t id = 0;

	cr_assert_eq(bpf_xdp_query_id(ifindex, (int)mode_flag, &id), 0);
	return id;
}

/*
 * Pinned maps are shared by a second instance of the object (as DPDK's own
 * copy, loaded from its xdp_prog= devarg, would share them): a bpffs of the
 * test's own, in a mount namespace of its own.
 */
Test(xdp, pinned_maps_are_shared)
{
	char dir[] = "/tmp/gax-xdp-pin.XXXXXX";
	struct gax_xdp_opts o = { .pin_root = dir };
	struct gax_xdp *x, *y;
	struct frame f;
	char err[256];

	gax_xdp_close(open_or_skip(NULL));	/* skip here if BPF is refused */
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		cr_skip_test("cannot make a mount namespace: %s", strerror(errno));
	cr_assert_not_null(mkdtemp(dir));
	if (mount("bpf", dir, "bpf", 0, NULL) != 0)
		cr_skip_test("cannot mount a bpffs: %s", strerror(errno));
	x = open_or_skip(&o);
	configure(x);
	y = open_or_skip(&o);
	cr_assert_neq(prog_id_of(gax_xdp_prog_fd(x)), prog_id_of(gax_xdp_prog_fd(y)));
	/* y's program sees x's sets and counts into the same counters. */
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 443);
	expect(x, &f, GAX_XDP_STAT_REDIRECT_LISTENER, "x's program");
	{
		uint64_t before[GAX_XDP_STAT_MAX], after[GAX_XDP_STAT_MAX];

		cr_assert_eq(gax_xdp_read_stats(x, before), 0);
		cr_assert_eq(run_prog(gax_xdp_prog_fd(y), &f), XDP_PASS);
		cr_assert_eq(gax_xdp_read_stats(x, after), 0);
		cr_assert_eq(after[GAX_XDP_STAT_REDIRECT_LISTENER] -
			before[GAX_XDP_STAT_REDIRECT_LISTENER], 1, "y's run counted in x's map");
	}
	/* A change made through y is seen by x's program. */
	cr_assert_eq(gax_xdp_set_listeners(y, NULL, 0, err, sizeof(err)), 0, "%s", err);
	expect(x, &f, GAX_XDP_STAT_PASS_NO_LISTENER, "listeners cleared through y");
	/* The maps outlive both handles while pinned, and must match in size. */
	gax_xdp_close(y);
	gax_xdp_close(x);
	{
		char path[128];
		struct gax_xdp_opts small = { .pin_root = dir, .max_addresses = 8 };

		snprintf(path, sizeof(path), "%s/gax_addrs", dir);
		cr_assert_eq(access(path, F_OK), 0, "%s pinned", path);
		cr_assert_null(gax_xdp_open(&small, err, sizeof(err)));
		cr_assert(strstr(err, dir) != NULL, "%s", err);
	}
	umount(dir);
	rmdir(dir);
}

/* Attach and detach, in a network namespace of this test's own. */

static int
veth_or_skip(void)
{
	int ifindex;

	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("cannot make a network namespace: %s", strerror(errno));
	if (system("ip link add gxa type veth peer name gxb && ip link set gxa up && "
			"ip link set gxb up") != 0)
		cr_skip_test("cannot make a veth pair (iproute2, veth module)");
	ifindex = (int)if_nametoindex("gxa");
	cr_assert_gt(ifindex, 0);
	return ifindex;
}

Test(xdp, attach_and_detach)
{
	struct gax_xdp *x = open_or_skip(NULL), *y;
	int gxa = veth_or_skip(), gxb = (int)if_nametoindex("gxb");
	char err[256];

	y = open_or_skip(NULL);
	cr_assert_eq(gax_xdp_attach(x, gxa, GAX_XDP_MODE_NATIVE, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(attached_id(gxa, XDP_FLAGS_DRV_MODE), prog_id_of(gax_xdp_prog_fd(x)));
	cr_assert_eq(gax_xdp_attach(x, gxa, GAX_XDP_MODE_NATIVE, err, sizeof(err)), -EALREADY);
	/* Another program is never replaced. */
	cr_assert_eq(gax_xdp_attach(y, gxa, GAX_XDP_MODE_NATIVE, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "xdp off") != NULL, "%s", err);
	cr_assert_eq(attached_id(gxa, XDP_FLAGS_DRV_MODE), prog_id_of(gax_xdp_prog_fd(x)));
	cr_assert_eq(gax_xdp_detach(x, gxa, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(attached_id(gxa, XDP_FLAGS_DRV_MODE), 0);
	cr_assert_eq(gax_xdp_detach(x, gxa, err, sizeof(err)), -ENOENT);

	/* Generic mode; a program removed by hand is left alone and forgotten. */
	cr_assert_eq(gax_xdp_attach(y, gxb, GAX_XDP_MODE_GENERIC, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(attached_id(gxb, XDP_FLAGS_SKB_MODE), prog_id_of(gax_xdp_prog_fd(y)));
	cr_assert_eq(system("ip link set dev gxb xdpgeneric off"), 0);
	cr_assert_eq(gax_xdp_detach(y, gxb, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "left alone") != NULL, "%s", err);
	cr_assert_eq(gax_xdp_detach(y, gxb, err, sizeof(err)), -ENOENT);

	/* Closing a handle detaches it everywhere. */
	cr_assert_eq(gax_xdp_attach(x, gxa, GAX_XDP_MODE_NATIVE, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gax_xdp_attach(x, gxb, GAX_XDP_MODE_GENERIC, err, sizeof(err)), 0, "%s", err);
	gax_xdp_close(x);
	cr_assert_eq(attached_id(gxa, XDP_FLAGS_DRV_MODE), 0);
	cr_assert_eq(attached_id(gxb, XDP_FLAGS_SKB_MODE), 0);
	gax_xdp_close(y);
}

/* The gax_stats map of a program known only by its descriptor. */
static int
orphan_stats_fd(int prog_fd)
{
	uint32_t ids[8], len, i;
	struct bpf_prog_info info;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 8;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(info);
	cr_assert_eq(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	for (i = 0; i < info.nr_map_ids && i < 8; i++) {
		struct bpf_map_info mi;
		uint32_t mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		cr_assert_geq(fd, 0);
		memset(&mi, 0, sizeof(mi));
		cr_assert_eq(bpf_obj_get_info_by_fd(fd, &mi, &mlen), 0);
		if (strcmp(mi.name, "gax_stats") == 0)
			return fd;
		close(fd);
	}
	cr_assert_fail("the program has no gax_stats map");
	return -1;
}

static uint64_t
no_socket(int stats_fd)
{
	int n_cpus = libbpf_num_possible_cpus(), c;
	uint32_t k = GAX_XDP_STAT_NO_SOCKET;
	uint64_t v[1024], sum = 0;

	cr_assert(n_cpus > 0 && n_cpus <= 1024);
	cr_assert_eq(bpf_map_lookup_elem(stats_fd, &k, v), 0);
	for (c = 0; c < n_cpus; c++)
		sum += v[c];
	return sum;
}

Test(xdp, a_process_that_dies_attached_leaves_a_program_that_passes)
{
	int gxa = veth_or_skip();
	uint32_t id;
	struct frame f;
	pid_t pid;
	int status, fd, stats_fd;
	uint64_t before;

	gax_xdp_close(open_or_skip(NULL));	/* skip here if BPF is refused */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct gax_xdp *x = gax_xdp_open(NULL, NULL, 0);

		if (x == NULL)
			_exit(2);
		configure(x);
		_exit(gax_xdp_attach(x, gxa, GAX_XDP_MODE_NATIVE, NULL, 0) == 0 ? 0 : 3);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	/* The program outlived its process, with its maps ... */
	id = attached_id(gxa, XDP_FLAGS_DRV_MODE);
	cr_assert_neq(id, 0);
	fd = bpf_prog_get_fd_by_id(id);
	cr_assert_geq(fd, 0);
	/* ... but with no socket bound, what it steers passes to the kernel. */
	stats_fd = orphan_stats_fd(fd);
	before = no_socket(stats_fd);
	ipv4(&f, IPPROTO_TCP, VIP, 40000, 80);
	cr_assert_eq(run_prog(fd, &f), XDP_PASS);
	arp(&f, 1, CLIENT, VIP);
	cr_assert_eq(run_prog(fd, &f), XDP_PASS);
	cr_assert_eq(no_socket(stats_fd) - before, 2, "both were steered, and fell back");
	close(stats_fd);
	close(fd);
	/* The documented way to remove it by hand. */
	cr_assert_eq(system("ip link set dev gxa xdp off"), 0);
	cr_assert_eq(attached_id(gxa, XDP_FLAGS_DRV_MODE), 0);
}
