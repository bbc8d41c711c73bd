/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plain-C half of gaxgen, the scenario-driven traffic generator: the
 * scenario file (parsing and every validation rule, each problem reported
 * with its JSON path), the enumeration of flows (which client address and
 * port, which destination port, which packet opens a flow), the frames
 * themselves (Ethernet/IPv4/UDP or TCP with correct checksums and a payload
 * stamp), the reply an endpoint sends, pcap writing, and the receive-side
 * bookkeeping: a latency histogram with percentiles and the distribution of
 * what came back over endpoints, with the affinity check. app/gaxgen wraps
 * this in an EAL program; everything here runs without one.
 *
 * Thread safety: a scenario is immutable once loaded and may be read by any
 * thread. A struct gax_gen_flows, gax_gen_rx or gax_gen_pcap belongs to one
 * thread at a time. No function here takes a lock.
 */
#ifndef GAX_GEN_H
#define GAX_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "gax_config.h"
#include "gax_packet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits -------------------------------------------------------------- */

#define GAX_GEN_FRAME_MAX	1514		/**< Largest frame (no FCS, no jumbo). */
#define GAX_GEN_FRAME_SIZES_MAX	64		/**< Entries of a frame_size list. */
#define GAX_GEN_ADDRESSES_MAX	(1u << 20)	/**< Client addresses of a scenario. */
#define GAX_GEN_DST_PORTS_MAX	1024		/**< Destination ports of a scenario. */
#define GAX_GEN_FLOWS_MAX	(1u << 26)	/**< Concurrent flows (64 Mi). */
#define GAX_GEN_RATE_MAX	1000000000ull	/**< rate_pps upper bound. */
#define GAX_GEN_DURATION_MAX	86400.0		/**< duration_s upper bound (one day). */
#define GAX_GEN_ENDPOINTS_MAX	64		/**< Endpoints told apart by the receive side. */

/* ---- The payload stamp --------------------------------------------------- */

/*
 * Every frame's L4 payload starts with a stamp (network byte order):
 *
 *   0  magic     u16  GAX_GEN_STAMP_MAGIC
 *   2  tuple     u32  the flow's tuple index (gives the client address and port)
 *   6  seq       u32  packet sequence number (low 32 bits)
 *  10  ts        u32  transmit time, ns (low 32 bits; latencies up to 4.29 s)
 *  14  ep_addr   u32  the endpoint address a reply was sent from (0: none)
 *  18  ep_port   u16  the endpoint port a reply was sent from
 *
 * The first GAX_GEN_STAMP_BASE bytes are always present; the endpoint part
 * (up to GAX_GEN_STAMP_FULL) whenever the payload has room for it (a
 * scenario with replies enabled makes sure it has), zero when sent. The rest
 * of the payload is filled with the byte pattern 0x00, 0x01, ...
 */
#define GAX_GEN_STAMP_MAGIC	0x4758		/**< "GX" */
#define GAX_GEN_STAMP_BASE	14
#define GAX_GEN_STAMP_FULL	20

struct gax_gen_stamp {
	uint32_t tuple;
	uint32_t seq;
	uint32_t ts;
	uint32_t ep_addr;	/**< 0 when absent or not filled in */
	uint16_t ep_port;
};

/* ---- The scenario -------------------------------------------------------- */

enum gax_gen_order {
	GAX_GEN_ORDER_SEQUENTIAL = 0,
	GAX_GEN_ORDER_RANDOM,
};

/** A loaded scenario; read-only after gax_gen_scenario_load*(). Host byte order. */
struct gax_gen_scenario {
	char *name;
	uint8_t proto;			/**< GAX_PKT_PROTO_UDP or GAX_PKT_PROTO_TCP */
	uint32_t dst_addr;
	uint16_t *dst_ports;		/**< every destination port, ascending */
	unsigned int n_dst_ports;
	uint32_t src_first;		/**< first client address (as given) */
	uint32_t src_count;		/**< client addresses (.0 and .255 skipped) */
	uint16_t sport_from, sport_to;
	uint32_t src_gateway;		/**< source.gateway, 0: none */
	enum gax_gen_order order;
	uint64_t seed;
	uint64_t flows;			/**< concurrent flows */
	uint16_t frame_sizes[GAX_GEN_FRAME_SIZES_MAX];
	unsigned int n_frame_sizes;
	uint64_t rate_pps;		/**< 0: as fast as possible */
	double duration_s;		/**< 0: not given */
	uint64_t count;			/**< 0: not given */
	double new_flows_per_s;		/**< 0: not given */
	double new_flow_share;		/**< 0: not given */
	bool has_src_mac, has_dst_mac;
	uint8_t src_mac[6], dst_mac[6];
	uint8_t ttl;
	bool reply;			/**< reply.enabled */
	/* derived */
	uint64_t tuple_space;		/**< src_count * source ports */
	uint64_t perm_mul, perm_add;	/**< random order: tuple = (mul * i + add) % space */
};

/**
 * Load a scenario from a file. Every problem is added to @p diags with the
 * JSON path of the value at fault; unknown fields are refused by name.
 *
 * @return the scenario, or NULL (diags hold why; errno EINVAL, or ENOMEM,
 *   or the errno of reading the file).
 */
struct gax_gen_scenario *gax_gen_scenario_load_file(const char *path, struct gax_diags *diags);

/** As gax_gen_scenario_load_file() on a buffer of @p len bytes. */
struct gax_gen_scenario *gax_gen_scenario_load_buffer(const char *buf, size_t len,
		struct gax_diags *diags);

/**
 * Parse a MAC address "xx:xx:xx:xx:xx:xx" (hex digits in either case).
 * @return 0 or -EINVAL
 */
int gax_gen_mac_parse(const char *s, uint8_t mac[6]);

/** Free a scenario (NULL is fine). */
void gax_gen_scenario_free(struct gax_gen_scenario *sc);

/** Headers before the payload: 42 for UDP, 54 for TCP. */
unsigned int gax_gen_header_len(const struct gax_gen_scenario *sc);

/** Smallest frame_size the scenario accepts (headers + stamp, at least 60). */
unsigned int gax_gen_min_frame(const struct gax_gen_scenario *sc);

/** Client address number @p i (0-based) of the scenario, .0 and .255 skipped. */
uint32_t gax_gen_client_addr(const struct gax_gen_scenario *sc, uint32_t i);

/**
 * The inverse of gax_gen_client_addr(): the number of client address
 * @p addr, or -1 if it is not one of the scenario's clients.
 */
int64_t gax_gen_client_index(const struct gax_gen_scenario *sc, uint32_t addr);

/* ---- Flows --------------------------------------------------------------- */

/** A flow's addresses and ports (host order). */
struct gax_gen_tuple {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t index;		/**< tuple index, 0 .. tuple_space - 1 */
	uint32_t client;	/**< client address number, 0 .. src_count - 1 */
};

/** The tuple of tuple index @p t (below sc->tuple_space). */
void gax_gen_tuple_of(const struct gax_gen_scenario *sc, uint32_t t, struct gax_gen_tuple *out);

/**
 * Which flows the packets go to. The live flows are a window of sc->flows
 * consecutive flow numbers [base, base + flows); packet k goes to the one
 * congruent to k modulo flows, so they take turns. The base moves by one for
 * each new flow: new_flow_share × k, or new_flows_per_s × the time. Flow
 * number f uses tuple index perm(f mod tuple_space), where perm is the
 * identity (sequential order) or a seeded permutation (random order).
 */
struct gax_gen_flows;

/** @return a flow iterator, or NULL with errno ENOMEM. */
struct gax_gen_flows *gax_gen_flows_create(const struct gax_gen_scenario *sc);

void gax_gen_flows_free(struct gax_gen_flows *f);

/**
 * The flow of packet @p k sent at @p now_ns (since the start).
 *
 * @param f       iterator
 * @param k       packet number, from 0, increasing by one at each call
 * @param now_ns  time since the start (used by new_flows_per_s only)
 * @param out     the tuple
 * @return true if this packet is the first of its flow (a TCP SYN).
 */
bool gax_gen_flows_next(struct gax_gen_flows *f, uint64_t k, uint64_t now_ns,
		struct gax_gen_tuple *out);

/** Flows opened so far (the first packet of each counted). */
uint64_t gax_gen_flows_opened(const struct gax_gen_flows *f);

/* ---- Frames -------------------------------------------------------------- */

/**
 * Build one frame: Ethernet (@p src_mac → @p dst_mac), IPv4 (ID = seq low
 * 16 bits, DF, the scenario's TTL), UDP, or TCP (SYN when @p first, else ACK;
 * seq = @p seq, window 65535), the stamp (endpoint part zero) and the fill
 * pattern, with correct IPv4 and L4 checksums.
 *
 * @return the frame length @p size, or -EINVAL if @p size is below
 *   gax_gen_min_frame() or above GAX_GEN_FRAME_MAX, -ENOSPC if @p buflen
 *   is below @p size.
 */
int gax_gen_build(const struct gax_gen_scenario *sc, uint8_t *buf, uint32_t buflen,
		uint16_t size, const struct gax_gen_tuple *t, bool first, uint32_t seq,
		uint32_t ts, const uint8_t *src_mac, const uint8_t *dst_mac);

/**
 * Find the stamp of a frame: parsed IPv4 UDP or TCP with at least
 * GAX_GEN_STAMP_BASE payload bytes that start with the magic.
 *
 * @param frame  the frame
 * @param len    its length
 * @param st     result (ep_addr and ep_port are 0 when the frame has no room)
 * @param p      if not NULL, the parse result (struct gax_pkt from gax_packet.h)
 * @return 0, -EINVAL if the frame does not parse or is not TCP/UDP, -ENOENT
 *   if it has no stamp.
 */

int gax_gen_stamp_read(const uint8_t *frame, uint32_t len, struct gax_gen_stamp *st,
		struct gax_pkt *p);

/**
 * Turn a stamped frame that reached an endpoint into the endpoint's reply,
 * in place: swap MACs, addresses and ports, TTL 64, TCP flags SYN+ACK for a
 * SYN and ACK otherwise, write the address and port the frame was sent to as
 * the stamp's endpoint, and fix both checksums.
 *
 * @return 0, -EINVAL if the frame is not a stamped UDP/TCP frame, -ENOSPC if
 *   its payload has no room for the endpoint part of the stamp.
 */
int gax_gen_reply(uint8_t *frame, uint32_t len);

/* ---- pcap ---------------------------------------------------------------- */

struct gax_gen_pcap;

/** Create (truncate) a pcap file (microsecond timestamps, Ethernet). NULL + errno. */
struct gax_gen_pcap *gax_gen_pcap_open(const char *path);

/** Append a frame with timestamp @p ts_ns. @return 0 or -errno. */
int gax_gen_pcap_write(struct gax_gen_pcap *pc, const uint8_t *frame, uint32_t len,
		uint64_t ts_ns);

/** Flush and close. @return 0 or -errno (the file may be incomplete then). */
int gax_gen_pcap_close(struct gax_gen_pcap *pc);

/**
 * Write @p count frames of the scenario to a pcap (timestamps from
 * rate_pps, 0 when as fast as possible), source MAC from mac.source or
 * 02:00:00:00:00:01, destination MAC from mac.destination (required).
 *
 * @return 0, -EINVAL (no mac.destination, or count 0), or -errno of writing.
 */
int gax_gen_write_pcap(const struct gax_gen_scenario *sc, const char *path, uint64_t count);

/* ---- Latency histogram ---------------------------------------------------- */

/*
 * Log-linear buckets over nanoseconds: 16 sub-buckets per power of two, so a
 * percentile is within 1/16 (6.25 %) of the value; exact below 32 ns.
 */
#define GAX_GEN_HIST_SUB	16
#define GAX_GEN_HIST_BUCKETS	(64 * GAX_GEN_HIST_SUB)

struct gax_gen_hist {
	uint64_t n;
	uint64_t sum_ns;
	uint64_t min_ns, max_ns;
	uint64_t b[GAX_GEN_HIST_BUCKETS];
};

void gax_gen_hist_init(struct gax_gen_hist *h);
void gax_gen_hist_add(struct gax_gen_hist *h, uint64_t ns);

/**
 * The value at percentile @p pct (0 < pct <= 100): the upper bound of the
 * bucket holding it, at most the maximum seen. 0 when empty.
 */
uint64_t gax_gen_hist_percentile(const struct gax_gen_hist *h, double pct);

/* ---- Receive-side bookkeeping --------------------------------------------- */

struct gax_gen_endpoint_stats {
	uint32_t addr;
	uint16_t port;
	uint64_t packets;
	uint64_t clients;	/**< distinct client addresses (filled by gax_gen_rx_finish()) */
};

/** What the receive side saw. */
struct gax_gen_rx {
	const struct gax_gen_scenario *sc;
	uint64_t packets;		/**< stamped frames received */
	uint64_t bytes;
	uint64_t unstamped;		/**< frames without a (valid) stamp, ARP excluded */
	uint64_t bad_csum;		/**< stamped frames with a wrong checksum */
	uint64_t other_endpoint;	/**< packets from endpoints beyond GAX_GEN_ENDPOINTS_MAX */
	struct gax_gen_hist lat;
	unsigned int n_endpoints;
	struct gax_gen_endpoint_stats ep[GAX_GEN_ENDPOINTS_MAX];
	uint64_t *client_eps;		/**< per client address number: bit i = endpoint i seen */
	/* filled by gax_gen_rx_finish() */
	unsigned int n_addrs;
	struct gax_gen_endpoint_stats addr[GAX_GEN_ENDPOINTS_MAX]; /**< per endpoint address
								    *   (port 0), all its ports */
	uint64_t clients_seen;
	uint64_t clients_multi;		/**< clients that reached more than one endpoint address */
};

/** Prepare @p rx for @p sc. @return 0 or -ENOMEM. */
int gax_gen_rx_init(struct gax_gen_rx *rx, const struct gax_gen_scenario *sc);
void gax_gen_rx_fini(struct gax_gen_rx *rx);

/**
 * Account for a received frame at time @p now_ns (same clock and units as
 * the stamps' ts). The endpoint is the stamp's when a reply side filled it
 * in, else the frame's destination address and port.
 *
 * @return 0 if it was a stamped frame of the scenario, -ENOENT otherwise.
 */
int gax_gen_rx_frame(struct gax_gen_rx *rx, const uint8_t *frame, uint32_t len,
		uint32_t now_ns);

/**
 * Compute distinct clients per endpoint (address and port) and per endpoint
 * address, and the affinity figures: a client that reached one endpoint
 * address on several ports still counts as having reached one endpoint.
 */
void gax_gen_rx_finish(struct gax_gen_rx *rx);

/* ---- Report --------------------------------------------------------------- */

/** Transmit-side figures for the report. */
struct gax_gen_tx_summary {
	uint64_t packets, bytes, flows_opened;
	uint64_t tx_dropped;		/**< frames offered again because the port was full */
	uint64_t replies;		/**< frames answered as the endpoints */
	uint64_t arp_replies;
	double elapsed_s;
};

/** The human report (a table) on @p out. */
void gax_gen_report_print(FILE *out, const struct gax_gen_scenario *sc,
		const struct gax_gen_tx_summary *tx, const struct gax_gen_rx *rx);

/** The report as JSON (new reference), NULL on ENOMEM. */
json_t *gax_gen_report_json(const struct gax_gen_scenario *sc,
		const struct gax_gen_tx_summary *tx, const struct gax_gen_rx *rx);

#ifdef __cplusplus
}
#endif

#endif /* GAX_GEN_H */
