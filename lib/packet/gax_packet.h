/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet logic of the data path in plain C: parse an Ethernet II frame
 * carrying IPv4 (TCP, UDP, ICMP) or ARP, verify its checksums, rewrite its
 * addresses and ports for full NAT with incremental checksum updates, build
 * the replies gax sends itself (ARP, ICMP echo) and translate the ICMP errors
 * that concern a NATed flow.
 *
 * No DPDK header is included: unit tests and the fuzzer run this code without
 * an EAL, and gaxd calls it on the data of a single-segment mbuf. Every
 * function works on a contiguous frame that starts at the Ethernet header;
 * multi-byte fields are read and written byte by byte in network order, so
 * the frame needs no particular alignment. Addresses and ports are passed and
 * returned in host byte order. VLAN tags and IPv4 options are not supported:
 * such frames are dropped with a reason.
 *
 * Checksum values handled by the gax_pkt_csum_*() helpers are host-order
 * 16-bit numbers (the field as read in network order).
 *
 * Thread safety: every function is pure or touches only the buffers and
 * structures it is given; callable from any thread, lock-free, no syscall and
 * no allocation.
 */
#ifndef GAX_PACKET_H
#define GAX_PACKET_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_PKT_ETH_ALEN	6	/**< Bytes of an Ethernet address. */
#define GAX_PKT_ETH_HLEN	14	/**< Bytes of an untagged Ethernet header. */
#define GAX_PKT_ETH_MIN_LEN	60	/**< Minimum Ethernet frame without FCS. */
#define GAX_PKT_IPV4_HLEN	20	/**< The only IPv4 header length gax accepts. */
#define GAX_PKT_ARP_LEN		28	/**< Bytes of an Ethernet/IPv4 ARP message. */
#define GAX_PKT_DEFAULT_TTL	64	/**< TTL of the packets gax originates. */

#define GAX_PKT_ETHERTYPE_IPV4	0x0800
#define GAX_PKT_ETHERTYPE_ARP	0x0806

#define GAX_PKT_PROTO_ICMP	1
#define GAX_PKT_PROTO_TCP	6
#define GAX_PKT_PROTO_UDP	17

#define GAX_PKT_TCP_FIN		0x01
#define GAX_PKT_TCP_SYN		0x02
#define GAX_PKT_TCP_RST		0x04
#define GAX_PKT_TCP_PSH		0x08
#define GAX_PKT_TCP_ACK		0x10
#define GAX_PKT_TCP_URG		0x20
#define GAX_PKT_TCP_ECE		0x40
#define GAX_PKT_TCP_CWR		0x80

#define GAX_PKT_ICMP_ECHO_REPLY		0
#define GAX_PKT_ICMP_DEST_UNREACH	3
#define GAX_PKT_ICMP_ECHO_REQUEST	8
#define GAX_PKT_ICMP_TIME_EXCEEDED	11
#define GAX_PKT_ICMP_FRAG_NEEDED	4	/**< Code of GAX_PKT_ICMP_DEST_UNREACH. */

#define GAX_PKT_ARP_REQUEST	1
#define GAX_PKT_ARP_REPLY	2

/**
 * Why a frame is dropped. The order is stable (counters are indexed by it);
 * new reasons go just before GAX_DROP_REASON_MAX. gax_pkt_parse() returns
 * those from GAX_DROP_TRUNCATED_ETHERNET to GAX_DROP_MALFORMED_ARP but
 * GAX_DROP_TTL_EXPIRED, which gax_pkt_ttl_dec() returns; the caller counts
 * GAX_DROP_BAD_L4_CSUM when gax_pkt_l4_csum_ok() is false;
 * gax_pkt_parse_icmp_error() returns the two ICMP reasons; the data plane
 * uses the rest.
 */
enum gax_drop_reason {
	GAX_DROP_NONE = 0,		/**< Not dropped. */
	GAX_DROP_TRUNCATED_ETHERNET,	/**< Shorter than an Ethernet header. */
	GAX_DROP_UNSUPPORTED_ETHERTYPE,	/**< Neither IPv4 nor ARP (VLAN tags included). */
	GAX_DROP_TRUNCATED_IPV4,	/**< Shorter than an IPv4 header. */
	GAX_DROP_BAD_IP_VERSION,	/**< IP version is not 4. */
	GAX_DROP_BAD_IHL,		/**< IHL below 5. */
	GAX_DROP_IP_OPTIONS,		/**< IHL above 5: gax refuses IP options. */
	GAX_DROP_BAD_TOTAL_LENGTH,	/**< Total length below IHL*4 or beyond the frame. */
	GAX_DROP_FRAGMENT,		/**< MF set or fragment offset not 0. */
	GAX_DROP_BAD_IP_CSUM,		/**< IPv4 header checksum wrong. */
	GAX_DROP_MARTIAN_SOURCE,	/**< Source in 0/8, 127/8, 224/4 or broadcast. */
	GAX_DROP_TTL_EXPIRED,		/**< TTL 0 or 1 on a packet gax would forward. */
	GAX_DROP_TRUNCATED_TCP,		/**< IP payload shorter than a TCP header. */
	GAX_DROP_TRUNCATED_UDP,		/**< IP payload shorter than a UDP header. */
	GAX_DROP_TRUNCATED_ICMP,	/**< IP payload shorter than an ICMP header. */
	GAX_DROP_BAD_TCP_DOFF,		/**< TCP data offset below 5 or beyond the segment. */
	GAX_DROP_BAD_UDP_LENGTH,	/**< UDP length below 8 or beyond the IP payload. */
	GAX_DROP_UNSUPPORTED_PROTO,	/**< IP protocol not TCP, UDP or ICMP. */
	GAX_DROP_MALFORMED_ARP,		/**< Truncated ARP, not Ethernet/IPv4, bad opcode. */
	GAX_DROP_BAD_L4_CSUM,		/**< TCP, UDP or ICMP checksum wrong. */
	GAX_DROP_UNSUPPORTED_ICMP,	/**< ICMP type (or embedded protocol) gax does not serve. */
	GAX_DROP_BAD_ICMP_ERROR,	/**< ICMP error whose embedded packet is malformed. */
	GAX_DROP_NO_LISTENER,		/**< No listener on the address, protocol and port. */
	GAX_DROP_NO_ENDPOINT,		/**< The listener has no endpoint taking traffic. */
	GAX_DROP_FLOW_TABLE_FULL,	/**< New flow, and the flow table is full. */
	GAX_DROP_ARP_QUEUE_FULL,	/**< Next hop unresolved and its hold queue full. */
	GAX_DROP_NOT_FOR_US,		/**< Destination is none of gax's addresses. */
	GAX_DROP_TX_FULL,		/**< Transmit queue full. */
	GAX_DROP_NO_FLOW,		/**< TCP segment other than a SYN, or a reply, of no tracked flow. */
	GAX_DROP_NAT_PORTS_EXHAUSTED,	/**< No full-NAT source port free towards the endpoint. */
	GAX_DROP_ARP_UNRESOLVED,	/**< Held for a next hop that never answered ARP. */
	GAX_DROP_REDIRECT_FULL,		/**< The owning worker's hand-over ring is full. */
	GAX_DROP_NO_ROUTE,		/**< No interface reaches the destination. */
	GAX_DROP_KERNEL_QUEUE_FULL,	/**< For the kernel twin, whose queue is full. */
	GAX_DROP_WRONG_INTERFACE,	/**< A flow's reply on another interface than its endpoint's. */
	GAX_DROP_REASON_MAX		/**< Number of reasons, GAX_DROP_NONE included. */
};

/**
 * The snake_case name of a drop reason, for counters and telemetry
 * ("truncated_ethernet", ...; "none" for GAX_DROP_NONE).
 *
 * @param r  a reason
 * @return a static string; "unknown" for a value out of range.
 */
const char *gax_drop_reason_name(enum gax_drop_reason r);

/**
 * What gax_pkt_parse() found. Offsets are from the start of the frame;
 * addresses and ports are in host byte order. Fields that do not apply to
 * the frame's protocol are 0.
 */
struct gax_pkt {
	uint16_t ethertype;	/**< GAX_PKT_ETHERTYPE_IPV4 or GAX_PKT_ETHERTYPE_ARP. */
	uint16_t l3_off;	/**< Offset of the IPv4 header or ARP message. */
	uint16_t l4_off;	/**< Offset of the TCP, UDP or ICMP header (0 for ARP). */
	uint16_t ip_len;	/**< IPv4 total length (Ethernet padding excluded). */
	uint16_t l4_len;	/**< Bytes the L4 checksum covers: the IP payload for TCP
				 *   and ICMP, the UDP length field for UDP. */
	uint16_t payload_len;	/**< L4 payload after the TCP header with its options,
				 *   the UDP header or the 8-byte ICMP header. */
	uint32_t saddr;		/**< IPv4 source. */
	uint32_t daddr;		/**< IPv4 destination. */
	uint16_t sport;		/**< TCP/UDP source port; ICMP echo: the identifier. */
	uint16_t dport;		/**< TCP/UDP destination port; ICMP echo: the identifier. */
	uint8_t proto;		/**< IP protocol. */
	uint8_t ttl;		/**< IP time to live. */
	uint8_t tcp_flags;	/**< TCP flags byte (GAX_PKT_TCP_*). */
	uint8_t icmp_type;	/**< ICMP type. */
	uint8_t icmp_code;	/**< ICMP code. */
	uint16_t arp_op;	/**< ARP opcode (GAX_PKT_ARP_REQUEST or _REPLY). */
	uint8_t arp_sha[GAX_PKT_ETH_ALEN];	/**< ARP sender hardware address. */
	uint8_t arp_tha[GAX_PKT_ETH_ALEN];	/**< ARP target hardware address. */
	uint32_t arp_sip;	/**< ARP sender IPv4 address. */
	uint32_t arp_tip;	/**< ARP target IPv4 address. */
};

/**
 * The packet embedded in an ICMP destination-unreachable or time-exceeded
 * error, as found by gax_pkt_parse_icmp_error(). Offsets are from the start
 * of the frame.
 */
struct gax_pkt_inner {
	uint16_t l3_off;	/**< Offset of the embedded IPv4 header. */
	uint16_t l4_off;	/**< Offset of the embedded L4 header. */
	uint16_t l4_avail;	/**< Embedded L4 bytes present in the frame (>= 8). */
	uint16_t mtu;		/**< Next-hop MTU of a fragmentation-needed error, else 0. */
	uint8_t type;		/**< Outer ICMP type. */
	uint8_t code;		/**< Outer ICMP code. */
	uint8_t proto;		/**< Embedded IP protocol: TCP, UDP or ICMP (echo). */
	uint32_t saddr;		/**< Embedded source address. */
	uint32_t daddr;		/**< Embedded destination address. */
	uint16_t sport;		/**< Embedded source port; ICMP echo: the identifier. */
	uint16_t dport;		/**< Embedded destination port; ICMP echo: the identifier. */
};

/**
 * The translation gax_pkt_icmp_error_rewrite() applies (host byte order).
 * For full NAT of an error about a forwarded packet, the embedded tuple
 * becomes the client's original one (client -> VIP) and the error is sent
 * from the VIP to the client.
 */
struct gax_pkt_icmp_nat {
	uint32_t outer_saddr;	/**< New source of the error. */
	uint32_t outer_daddr;	/**< New destination of the error. */
	uint32_t inner_saddr;	/**< New source of the embedded packet. */
	uint32_t inner_daddr;	/**< New destination of the embedded packet. */
	uint16_t inner_sport;	/**< New embedded source port (ICMP echo: identifier). */
	uint16_t inner_dport;	/**< New embedded destination port (ignored for ICMP echo). */
};

/* ---- Parsing and verification ------------------------------------------ */

/**
 * Parse a frame. Checks, in order: Ethernet header present; ethertype IPv4
 * or ARP. ARP: a complete Ethernet/IPv4 message with opcode request or reply.
 * IPv4: 20 header bytes present, version 4, IHL 5 (below: bad IHL, above:
 * options), header checksum, total length within [20, bytes present],
 * not a fragment, no martian source; then a complete TCP (and a sane data
 * offset), UDP (and a sane length) or ICMP header within the total length.
 * Ethernet padding after the IP total length is allowed and ignored. The TTL
 * is recorded, not checked (see gax_pkt_ttl_dec()). L4 checksums are not
 * verified (see gax_pkt_l4_csum_ok()). Never reads beyond @p len bytes.
 *
 * @param frame  the frame, from the Ethernet header; not NULL when len > 0
 * @param len    bytes of @p frame that may be read
 * @param p      result (not NULL); zeroed first, filled as far as parsed
 * @return GAX_DROP_NONE (0), or the drop reason (GAX_DROP_TRUNCATED_ETHERNET
 *   to GAX_DROP_MALFORMED_ARP, never GAX_DROP_TTL_EXPIRED).
 */
int gax_pkt_parse(const uint8_t *frame, uint32_t len, struct gax_pkt *p);

/**
 * Verify the L4 checksum of a parsed frame: TCP and UDP over the pseudo
 * header and l4_len bytes (a UDP checksum of 0 means none and is accepted),
 * ICMP over the whole ICMP message.
 *
 * @param frame  the frame @p p was parsed from (gax_pkt_parse() returned 0)
 * @param p      its parse result
 * @return true if the checksum is right or absent, or the frame is ARP.
 */
bool gax_pkt_l4_csum_ok(const uint8_t *frame, const struct gax_pkt *p);

/**
 * Parse the packet embedded in an ICMP error: destination unreachable (any
 * code; code 4, fragmentation needed, also gives the next-hop MTU) or time
 * exceeded. The embedded IPv4 header must be complete (20 bytes or its IHL,
 * version 4, not a non-first fragment) and followed by at least 8 L4 bytes
 * (the ports, or the ICMP echo identifier), all within the outer IP total
 * length; it may be truncated after them, as routers do.
 *
 * @param frame  the frame @p p was parsed from (gax_pkt_parse() returned 0)
 * @param p      its parse result
 * @param inner  result (not NULL); zeroed first
 * @return GAX_DROP_NONE (0); GAX_DROP_UNSUPPORTED_ICMP if the frame is not an
 *   ICMP error of those types, or the embedded packet is not TCP, UDP or an
 *   ICMP echo; GAX_DROP_BAD_ICMP_ERROR if the embedded packet is truncated
 *   or malformed.
 */
int gax_pkt_parse_icmp_error(const uint8_t *frame, const struct gax_pkt *p,
		struct gax_pkt_inner *inner);

/* ---- Checksums -------------------------------------------------------- */

/**
 * One's complement sum of @p len bytes as big-endian 16-bit words (an odd
 * last byte is padded with a zero), added to @p sum.
 *
 * @param data  bytes (any alignment)
 * @param len   number of bytes
 * @param sum   a previous result or any 32-bit partial sum (0 to start)
 * @return the sum folded to 16 bits (0 to 0xffff), to chain or to pass to
 *   gax_pkt_csum_fold().
 */
uint32_t gax_pkt_csum_partial(const void *data, uint32_t len, uint32_t sum);

/**
 * The TCP/UDP pseudo-header sum (unfolded, below 2^19), to pass as @p sum of
 * gax_pkt_csum_partial().
 *
 * @param saddr  source address
 * @param daddr  destination address
 * @param proto  IP protocol
 * @param l4_len TCP segment or UDP datagram length
 */
static inline uint32_t
gax_pkt_csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t l4_len)
{
	return (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) +
		proto + l4_len;
}

/**
 * Fold a sum to 16 bits and complement it: the checksum to store, or 0 when
 * the data summed includes a correct checksum field.
 *
 * @param sum  any 32-bit partial sum
 */
static inline uint16_t
gax_pkt_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/**
 * Incremental update of a checksum after a 16-bit word of the data changed
 * from @p old_val to @p new_val (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
 * Exact, including the 0x0000/0xffff cases, whenever the data other than
 * the checksum field is not all zero (always true of IPv4 headers and of
 * TCP/UDP with their pseudo header). The word must sit at an even offset of
 * the checksummed data.
 *
 * @param csum     the checksum field before the change
 * @param old_val  the word before
 * @param new_val  the word after
 * @return the new checksum field.
 */
static inline uint16_t
gax_pkt_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_val + new_val;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/**
 * As gax_pkt_csum_update16() for a 32-bit field (an IPv4 address) at an
 * even offset.
 */
static inline uint16_t
gax_pkt_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~(old_val >> 16) +
		(uint16_t)~(old_val & 0xffff) + (new_val >> 16) + (new_val & 0xffff);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/**
 * The UDP checksum field for a freshly computed checksum: a computed 0 is
 * sent as 0xffff, since 0 means "no checksum" (RFC 768).
 */
static inline uint16_t
gax_pkt_csum_udp_final(uint16_t computed)
{
	return computed == 0 ? 0xffff : computed;
}

/**
 * gax_pkt_csum_update16() under the UDP rules: a checksum of 0 (absent)
 * stays 0, and a result of 0 is sent as 0xffff.
 */
static inline uint16_t
gax_pkt_csum_udp_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
	if (csum == 0)
		return 0;
	return gax_pkt_csum_udp_final(gax_pkt_csum_update16(csum, old_val, new_val));
}

/** gax_pkt_csum_update32() under the UDP rules (see gax_pkt_csum_udp_update16()). */
static inline uint16_t
gax_pkt_csum_udp_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
	if (csum == 0)
		return 0;
	return gax_pkt_csum_udp_final(gax_pkt_csum_update32(csum, old_val, new_val));
}

/* ---- In-place rewrites ------------------------------------------------ */

/*
 * The rewrites below change the frame in place, keep the IPv4 header
 * checksum and the L4 checksum (pseudo header included) right by incremental
 * updates, and update @p p to match. They take a frame and the result of a
 * successful gax_pkt_parse() of it; for ICMP, ports mean the echo identifier
 * (request or reply) and are ignored for other ICMP types. A UDP checksum of
 * 0 stays 0.
 */

/**
 * Rewrite the destination address and port (DNAT).
 *
 * @param frame  the frame @p p was parsed from
 * @param p      its parse result; updated
 * @param daddr  new destination address
 * @param dport  new destination port (ICMP echo: new identifier)
 * @return 0, or -EINVAL if @p p is not IPv4.
 */
int gax_pkt_set_dst(uint8_t *frame, struct gax_pkt *p, uint32_t daddr, uint16_t dport);

/**
 * Rewrite the source address and port (SNAT).
 *
 * @param frame  the frame @p p was parsed from
 * @param p      its parse result; updated
 * @param saddr  new source address
 * @param sport  new source port (ICMP echo: new identifier)
 * @return 0, or -EINVAL if @p p is not IPv4.
 */
int gax_pkt_set_src(uint8_t *frame, struct gax_pkt *p, uint32_t saddr, uint16_t sport);

/**
 * Set the Ethernet source and destination addresses (no checksum involved).
 *
 * @param frame    a frame of at least GAX_PKT_ETH_HLEN bytes
 * @param src_mac  6 bytes
 * @param dst_mac  6 bytes
 */
static inline void
gax_pkt_set_macs(uint8_t *frame, const uint8_t *src_mac, const uint8_t *dst_mac)
{
	memcpy(frame, dst_mac, GAX_PKT_ETH_ALEN);
	memcpy(frame + GAX_PKT_ETH_ALEN, src_mac, GAX_PKT_ETH_ALEN);
}

/**
 * Decrement the TTL of a packet being forwarded, fixing the header checksum.
 *
 * @param frame  the frame @p p was parsed from
 * @param p      its parse result; p->ttl updated
 * @return 0; GAX_DROP_TTL_EXPIRED if the TTL is 0 or 1 (frame unchanged; the
 *   packet must not be forwarded); -EINVAL if @p p is not IPv4.
 */
int gax_pkt_ttl_dec(uint8_t *frame, struct gax_pkt *p);

/**
 * Forward a TCP or UDP packet through NAT in one pass: decrement the TTL and
 * set both addresses and both ports, with one incremental update of the
 * IPv4 header checksum and one of the L4 checksum (the same result as
 * gax_pkt_ttl_dec(), gax_pkt_set_dst() and gax_pkt_set_src() in turn, at
 * about a third of the work). Fields given unchanged stay as they are.
 * @param frame  the frame @p p was parsed from
 * @param p      its parse result; updated
 * @return 0; GAX_DROP_TTL_EXPIRED if the TTL is 0 or 1 (frame unchanged);
 *   -EINVAL if @p p is not TCP or UDP over IPv4.
 */
int gax_pkt_nat_forward(uint8_t *frame, struct gax_pkt *p, uint32_t saddr, uint16_t sport,
		uint32_t daddr, uint16_t dport);

/**
 * Translate an ICMP error about a NATed flow: set the outer source and
 * destination, and the embedded packet's addresses and ports, keeping the
 * outer IPv4 header checksum, the ICMP checksum, the embedded IPv4 header
 * checksum and the embedded L4 checksum right (the last when it is present
 * in the frame: always for UDP unless 0, for TCP when 18 embedded L4 bytes
 * are there, always for ICMP echo).
 *
 * @param frame  the frame @p p was parsed from
 * @param p      its parse result; saddr and daddr updated
 * @param inner  the result of gax_pkt_parse_icmp_error() on it; updated
 * @param nat    the new addresses and ports
 * @return 0, or -EINVAL if @p p is not an ICMP IPv4 packet.
 */
int gax_pkt_icmp_error_rewrite(uint8_t *frame, struct gax_pkt *p, struct gax_pkt_inner *inner,
		const struct gax_pkt_icmp_nat *nat);

/* ---- Replies built in place ------------------------------------------- */

/**
 * Turn an ARP request into the reply that @p my_mac owns the requested
 * address (the caller checks p->arp_tip is one of its addresses). The frame
 * keeps its length; it goes to the requester's hardware address.
 *
 * @param frame   the frame @p p was parsed from
 * @param len     its length
 * @param p       its parse result; updated to describe the reply
 * @param my_mac  6 bytes
 * @return 0, or -EINVAL if @p p is not an ARP request or @p len is short.
 */
int gax_pkt_arp_reply(uint8_t *frame, uint32_t len, struct gax_pkt *p, const uint8_t *my_mac);

/**
 * Build a broadcast ARP request for @p target_ip, padded with zeros to the
 * 60-byte Ethernet minimum. With target_ip == my_ip it is a gratuitous ARP.
 *
 * @param buf        output buffer
 * @param buflen     its size
 * @param my_mac     6 bytes
 * @param my_ip      sender address
 * @param target_ip  address to resolve
 * @return the frame length (GAX_PKT_ETH_MIN_LEN), or -ENOSPC if @p buflen
 *   is below it.
 */
int gax_pkt_arp_request(uint8_t *buf, uint32_t buflen, const uint8_t *my_mac, uint32_t my_ip,
		uint32_t target_ip);

/**
 * Turn an ICMP echo request into its reply: swap the Ethernet and IPv4
 * addresses, set the TTL to GAX_PKT_DEFAULT_TTL, type 0 and code 0, and fix
 * both checksums. The caller checks p->daddr is one of its own addresses.
 *
 * @param frame  the frame @p p was parsed from
 * @param p      its parse result; updated to describe the reply
 * @return 0, or -EINVAL if @p p is not an ICMP echo request.
 */
int gax_pkt_icmp_echo_reply(uint8_t *frame, struct gax_pkt *p);

#ifdef __cplusplus
}
#endif

#endif /* GAX_PACKET_H */
