/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the XDP steering program (gax_xdp.bpf.c) and its loader (xdp.c) both
 * need to agree on: the maps' key and value layouts, their default sizes,
 * the address kinds and the per-verdict counters. Included by the BPF side
 * (clang -target bpf) and by the user side, so it uses only <linux/types.h>.
 *
 * Byte order: addresses and ports in map keys are in network order, as they
 * sit in the frame, so the program compares them without swapping. The NAT
 * port range in gax_xdp_config is in host order (the program swaps once).
 */
#ifndef GAX_XDP_MAPS_H
#define GAX_XDP_MAPS_H

#include <linux/types.h>

/* Default map sizes; gax_xdp_opts can change them before the program loads. */
#define GAX_XDP_MAX_QUEUES	64	/**< xsks_map slots: RX queue indexes 0..63. */
#define GAX_XDP_MAX_ADDRESSES	4096	/**< gax_addrs entries. */
#define GAX_XDP_MAX_LISTENERS	65536	/**< gax_listeners entries ({address, proto, port}). */
#define GAX_XDP_MAX_ENDPOINTS	65536	/**< gax_endpoints entries ({address, proto, port}). */

/* The full-NAT source ports gax hands out (GAX_FLOW_SNAT_PORT_MIN/MAX of lib/flow). */
#define GAX_XDP_NAT_PORT_MIN	1024
#define GAX_XDP_NAT_PORT_MAX	65535

/* gax_addrs value: what an IPv4 address is to gax (values of enum gax_snap_addr_kind). */
enum gax_xdp_addr_kind {
	GAX_XDP_ADDR_ACCELERATOR = 1,	/**< An accelerated address: listeners decide. */
	GAX_XDP_ADDR_INTERFACE = 2,	/**< An interface address: the NAT port range decides. */
};

/*
 * gax_listeners key: one listener port of one accelerated address. Value: 1.
 * Also gax_endpoints' key: the address and service port of an endpoint of a
 * reserve-client-IP group, matched against a frame's source.
 */
struct gax_xdp_listener_key {
	__be32 addr;	/**< Accelerated address, network order. */
	__u8 proto;	/**< IPPROTO_TCP or IPPROTO_UDP. */
	__u8 pad;	/**< Always 0. */
	__be16 port;	/**< Listener port, network order. */
};

/* gax_config: an array of one. */
struct gax_xdp_config {
	__u16 nat_port_lo;	/**< First full-NAT source port, host order. */
	__u16 nat_port_hi;	/**< Last one; lo > hi or lo == 0: no reply is steered. */
	__u32 pad;
};

/* gax_stats (per-CPU array): frames counted by the program, one slot per reason. */
enum gax_xdp_stat {
	GAX_XDP_STAT_REDIRECT_LISTENER,	/**< TCP/UDP to an accelerated address on a listener port. */
	GAX_XDP_STAT_REDIRECT_NAT_REPLY, /**< TCP/UDP to an interface address, NAT port range. */
	GAX_XDP_STAT_REDIRECT_ENDPOINT_REPLY, /**< TCP/UDP from a reserve-client-IP endpoint's port. */
	GAX_XDP_STAT_REDIRECT_ICMP,	/**< ICMP to an address gax owns. */
	GAX_XDP_STAT_REDIRECT_ARP,	/**< ARP whose target is an address gax owns. */
	GAX_XDP_STAT_NO_SOCKET,		/**< One of the above, but no AF_XDP socket on the queue: passed. */
	GAX_XDP_STAT_PASS_NOT_IPV4,	/**< Neither IPv4 nor ARP (IPv6, VLAN tags, ...). */
	GAX_XDP_STAT_PASS_TRUNCATED,	/**< A header does not fit in the frame. */
	GAX_XDP_STAT_PASS_MALFORMED,	/**< Bad IP version, IHL or total length; not Ethernet/IPv4 ARP. */
	GAX_XDP_STAT_PASS_FRAGMENT,	/**< An IP fragment to an address gax owns. */
	GAX_XDP_STAT_PASS_NOT_OURS,	/**< To (ARP: for) an address gax does not own, not from
					     a reserve-client-IP endpoint's port. */
	GAX_XDP_STAT_PASS_NO_LISTENER,	/**< Accelerated address, no listener on that proto and port. */
	GAX_XDP_STAT_PASS_NOT_NAT_PORT,	/**< Interface address, port outside the NAT range (SSH, BGP). */
	GAX_XDP_STAT_PASS_OTHER_PROTO,	/**< Neither TCP, UDP nor ICMP, to an address gax owns. */
	GAX_XDP_STAT_MAX
};

#endif /* GAX_XDP_MAPS_H */
