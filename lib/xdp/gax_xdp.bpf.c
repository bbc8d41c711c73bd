/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gax's XDP steering program: on a NIC the host keeps (AF_XDP mode), frames
 * addressed to gax go to gax's AF_XDP socket on the frame's RX queue
 * (xsks_map, the map DPDK's net_af_xdp fills for a custom program) and
 * everything else goes on to the kernel (XDP_PASS), so SSH, BGP, DNS and
 * management traffic keep working. "Addressed to gax":
 *
 *   - TCP/UDP to an accelerated address on a listener port of that protocol;
 *   - TCP/UDP to an interface address on a port of the full-NAT range
 *     (replies from endpoints to gax's NAT source ports);
 *   - TCP/UDP from an endpoint of a reserve-client-IP group, from its
 *     service port (gax_endpoints), to an address gax does not own: the
 *     endpoint's replies to the client's own address, which gax translates;
 *   - ICMP to an address gax owns (echo, errors about tracked flows);
 *   - Ethernet/IPv4 ARP whose target is an address gax owns.
 *
 * Anything else, anything malformed or truncated, IPv6, VLAN-tagged frames
 * and IP fragments pass: the program never drops a frame. When no socket is
 * bound on the queue, bpf_redirect_map() falls back to XDP_PASS, so a gax
 * that died without detaching black-holes nothing.
 *
 * The maps are filled by lib/xdp/xdp.c; their layouts are in gax_xdp_maps.h.
 * gax_addrs, gax_listeners, gax_endpoints, gax_config and gax_stats are
 * pinned by name when the loader asks for it, so a second instance of this object (the one DPDK
 * loads from its xdp_prog= devarg) shares them.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "gax_xdp_maps.h"

/* Ethernet/IPv4 ARP (RFC 826), as it sits after the Ethernet header. */
struct gax_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

#define GAX_IP_MF_OFFSET 0x3fff	/* more-fragments flag and fragment offset */

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, GAX_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GAX_XDP_MAX_ADDRESSES);
	__type(key, __be32);
	__type(value, __u32);	/* enum gax_xdp_addr_kind */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gax_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GAX_XDP_MAX_LISTENERS);
	__type(key, struct gax_xdp_listener_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gax_listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gax_xdp_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gax_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GAX_XDP_MAX_ENDPOINTS);
	__type(key, struct gax_xdp_listener_key);	/* the endpoint's address, proto, port */
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gax_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GAX_XDP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gax_stats SEC(".maps");

static __always_inline void
count(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&gax_stats, &stat);

	if (c != NULL)
		*c += 1;	/* per-CPU slot: no atomic needed */
}

static __always_inline int
pass(__u32 stat)
{
	count(stat);
	return XDP_PASS;
}

/* To gax's socket on this RX queue; XDP_PASS when none is bound there. */
static __always_inline int
steer(struct xdp_md *ctx, __u32 stat)
{
	long ret;

	count(stat);
	ret = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	if (ret != XDP_REDIRECT)
		count(GAX_XDP_STAT_NO_SOCKET);
	return (int)ret;
}

static __always_inline int
steer_arp(struct xdp_md *ctx, void *l3, void *end)
{
	struct gax_arp *arp = l3;
	__be32 tpa;

	if ((void *)(arp + 1) > end)
		return pass(GAX_XDP_STAT_PASS_TRUNCATED);
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) ||
			arp->hlen != 6 || arp->plen != 4)
		return pass(GAX_XDP_STAT_PASS_MALFORMED);
	tpa = arp->tpa;
	if (bpf_map_lookup_elem(&gax_addrs, &tpa) == NULL)
		return pass(GAX_XDP_STAT_PASS_NOT_OURS);
	return steer(ctx, GAX_XDP_STAT_REDIRECT_ARP);
}

/*
 * IPv4 with header length @p hlen to an address gax does not own: a reply
 * of a reserve-client-IP endpoint (to the client's address) if its source
 * address, protocol and port are in gax_endpoints, else the host's.
 */
static __always_inline int
steer_endpoint_reply(struct xdp_md *ctx, struct iphdr *ip, __u32 hlen, void *end)
{
	struct gax_xdp_listener_key k;
	void *l4 = (void *)ip + (hlen & 0x3c);

	if ((ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
			(ip->frag_off & bpf_htons(GAX_IP_MF_OFFSET)) != 0 || l4 + 4 > end)
		return pass(GAX_XDP_STAT_PASS_NOT_OURS);
	k.addr = ip->saddr;
	k.proto = ip->protocol;
	k.pad = 0;
	k.port = *(__be16 *)l4;	/* the source port: first in TCP and UDP headers */
	if (bpf_map_lookup_elem(&gax_endpoints, &k) == NULL)
		return pass(GAX_XDP_STAT_PASS_NOT_OURS);
	return steer(ctx, GAX_XDP_STAT_REDIRECT_ENDPOINT_REPLY);
}

SEC("xdp")
int
gax_xdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct gax_xdp_listener_key lk;
	struct gax_xdp_config *cfg;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 *kind, zero = 0;
	__u32 hlen;
	__u16 port;
	__be16 dport;
	void *l4;

	if ((void *)(eth + 1) > end)
		return pass(GAX_XDP_STAT_PASS_TRUNCATED);
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return steer_arp(ctx, eth + 1, end);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return pass(GAX_XDP_STAT_PASS_NOT_IPV4);

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return pass(GAX_XDP_STAT_PASS_TRUNCATED);
	hlen = (__u32)ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip) || bpf_ntohs(ip->tot_len) < hlen)
		return pass(GAX_XDP_STAT_PASS_MALFORMED);
	kind = bpf_map_lookup_elem(&gax_addrs, &ip->daddr);
	if (kind == NULL)
		return steer_endpoint_reply(ctx, ip, hlen, end);
	if ((ip->frag_off & bpf_htons(GAX_IP_MF_OFFSET)) != 0)
		return pass(GAX_XDP_STAT_PASS_FRAGMENT);

	l4 = (void *)ip + (hlen & 0x3c);	/* 20..60: the mask shows the verifier the bound */
	switch (ip->protocol) {
	case IPPROTO_ICMP:
		if (l4 + 8 > end)
			return pass(GAX_XDP_STAT_PASS_TRUNCATED);
		return steer(ctx, GAX_XDP_STAT_REDIRECT_ICMP);
	case IPPROTO_TCP:
		if (l4 + sizeof(struct tcphdr) > end)
			return pass(GAX_XDP_STAT_PASS_TRUNCATED);
		dport = ((struct tcphdr *)l4)->dest;
		break;
	case IPPROTO_UDP:
		if (l4 + sizeof(struct udphdr) > end)
			return pass(GAX_XDP_STAT_PASS_TRUNCATED);
		dport = ((struct udphdr *)l4)->dest;
		break;
	default:
		return pass(GAX_XDP_STAT_PASS_OTHER_PROTO);
	}

	if (*kind == GAX_XDP_ADDR_ACCELERATOR) {
		lk.addr = ip->daddr;
		lk.proto = ip->protocol;
		lk.pad = 0;
		lk.port = dport;
		if (bpf_map_lookup_elem(&gax_listeners, &lk) == NULL)
			return pass(GAX_XDP_STAT_PASS_NO_LISTENER);
		return steer(ctx, GAX_XDP_STAT_REDIRECT_LISTENER);
	}
	cfg = bpf_map_lookup_elem(&gax_config, &zero);
	port = bpf_ntohs(dport);
	if (cfg == NULL || cfg->nat_port_lo == 0 || port < cfg->nat_port_lo ||
			port > cfg->nat_port_hi)
		return pass(GAX_XDP_STAT_PASS_NOT_NAT_PORT);
	return steer(ctx, GAX_XDP_STAT_REDIRECT_NAT_REPLY);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
