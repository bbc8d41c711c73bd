/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding decision of one worker, in plain C: what to do with each
 * frame of a received burst, with the frame rewritten in place.
 *
 *   parse -> ARP: answer for owned addresses, learn neighbours
 *         -> ICMP: echo on owned addresses, errors about tracked flows
 *         -> to an accelerated address: flow lookup (bulk), else a new flow
 *            (listener, group by traffic split, endpoint by Maglev, full-NAT
 *            source port) -> DNAT (+ SNAT) -> next hop by ARP
 *         -> a reply from an endpoint: reverse lookup -> back to the client
 *            from the accelerated address and listener port
 *
 * gaxd calls gax_fwd_burst() on the data of the mbufs it received and acts
 * on each verdict (transmit on an interface, free, hand to another worker,
 * or nothing when the neighbour table now holds the packet). Nothing here
 * knows DPDK: packets are opaque pointers, interfaces are the snapshot's
 * interface indexes, time is the caller's monotonic ticks. The unit tests
 * and the fuzzer drive it with plain buffers.
 *
 * Steering across workers, without NIC flow-director rules:
 *  - a client's packets reach one worker (RSS hashes its 5-tuple); a full-NAT
 *    flow is created there with a source port p such that
 *    p % n_workers == worker_id (lib/flow), so the endpoint's replies name
 *    their owner by their destination port;
 *  - a reserve-client-IP flow's replies carry the client's address and port,
 *    so such flows live on the worker hash(client addr, port) % n_workers,
 *    which both directions can compute: the receiving worker hands the
 *    packet over when it is not the owner (GAX_FWD_REDIRECT).
 * A packet handed over is processed by its owner with `redirected` set and
 * is never handed over again. ARP frames are the exception: the answer to
 * one worker's request may reach another, so gaxd gives a copy of every ARP
 * frame to every other worker, with `redirected` set: they only learn from
 * it (GAX_FWD_CONSUMED), the receiving worker alone answers.
 *
 * Thread safety: a gax_fwd_worker belongs to one thread. No function here
 * locks, blocks, allocates or makes a syscall.
 */
#ifndef GAX_FWD_H
#define GAX_FWD_H

#include <stdbool.h>
#include <stdint.h>

#include <gax_flow.h>
#include <gax_neigh.h>
#include <gax_packet.h>
#include <gax_snapshot.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_FWD_BURST		32	/**< Frames per gax_fwd_burst(), at most. */
#define GAX_FWD_MAX_IFACES	GAX_NEIGH_MAX_IFACES	/**< Interfaces per worker. */
#define GAX_FWD_MAX_WORKERS	GAX_FLOW_MAX_WORKERS
#define GAX_FWD_SWEEP_MS	1000	/**< A full sweep of the flow table takes this long. */
#define GAX_FWD_HOUSEKEEP_US	50	/**< gax_fwd_housekeep() works at most this often. */
/* Seed of the owner hash of reserve-client-IP flows (fixed: both directions agree). */
#define GAX_FWD_SEED_OWNER	0x676178726f757465ULL

/** What the caller does with a frame after gax_fwd_burst(). */
enum gax_fwd_action {
	GAX_FWD_DROP = 0,	/**< Free it; counted under verdict.reason. */
	GAX_FWD_TX,		/**< Transmit on interface verdict.iface (rewritten, MACs set). */
	GAX_FWD_HELD,		/**< The neighbour table holds it: do not touch it. */
	GAX_FWD_REDIRECT,	/**< Hand it, unchanged, to worker verdict.worker. */
	GAX_FWD_CONSUMED,	/**< Served and done with (an ARP reply learned): free it. */
	GAX_FWD_KERNEL,		/**< Hand it, unchanged, to the kernel twin of verdict.iface. */
};

struct gax_fwd_verdict {
	uint8_t action;		/**< enum gax_fwd_action. */
	uint8_t reason;		/**< enum gax_drop_reason when action is GAX_FWD_DROP. */
	uint16_t iface;		/**< Egress interface (GAX_FWD_TX) or twin (GAX_FWD_KERNEL). */
	uint16_t worker;	/**< Owner when action is GAX_FWD_REDIRECT. */
};

/** Checksum state the NIC reported for a received frame. */
enum gax_fwd_csum {
	GAX_FWD_CSUM_UNKNOWN = 0,	/**< Verify in software. */
	GAX_FWD_CSUM_GOOD,		/**< The NIC verified IP and L4 checksums. */
	GAX_FWD_CSUM_BAD,		/**< The NIC found a bad checksum: drop. */
};

/* ---- counters (per worker; the control thread sums them) ------------------ */

struct gax_fwd_iface_ctr {
	uint64_t rx_packets, rx_bytes;	/**< Frames given to gax_fwd_burst(). */
	uint64_t tx_packets, tx_bytes;	/**< Frames the caller transmitted (gax_fwd_count_tx()). */
	uint64_t arp_requests;		/**< ARP requests sent (resolution). */
	uint64_t arp_replies;		/**< ARP replies sent (for owned addresses). */
	uint64_t icmp_echo_replies;	/**< ICMP echo replies sent. */
	uint64_t to_kernel;		/**< Frames given to the interface's kernel twin. */
};

struct gax_fwd_listener_ctr {
	uint64_t packets_in, bytes_in;		/**< Client -> endpoint, forwarded. */
	uint64_t packets_out, bytes_out;	/**< Endpoint -> client, forwarded. */
	uint64_t new_flows;
	uint64_t ended_flows;			/**< Expired (idle or closed). */
};

struct gax_fwd_endpoint_ctr {
	uint64_t packets_to, bytes_to;		/**< Forwarded to the endpoint. */
	uint64_t packets_from, bytes_from;	/**< Replies forwarded to clients. */
	uint64_t new_flows;
	uint64_t ended_flows;			/**< Expired (idle or closed). */
};

struct gax_fwd_counters {
	uint64_t drops[GAX_DROP_REASON_MAX];	/**< By enum gax_drop_reason. */
	uint64_t icmp_errors_translated;	/**< ICMP errors sent on about a flow. */
	uint64_t redirected_out;		/**< Frames handed to their owner. */
	uint64_t redirected_in;			/**< Frames received from another worker. */
	uint64_t tcp_reopened;			/**< Closing TCP flows reused by a new SYN. */
	struct gax_fwd_iface_ctr iface[GAX_FWD_MAX_IFACES];
	uint32_t n_listeners;			/**< Entries of listener[], indexed by listener id. */
	uint32_t n_endpoints;			/**< Entries of endpoint[], indexed by endpoint id. */
	struct gax_fwd_listener_ctr *listener;
	struct gax_fwd_endpoint_ctr *endpoint;
};

/* ---- the worker ------------------------------------------------------------ */

/** Called to broadcast an ARP request for @p tip from @p sip on @p iface. */
typedef void (*gax_fwd_arp_fn)(void *ctx, uint16_t iface, uint32_t sip, uint32_t tip);

/*
 * A next hop's MAC kept from a neighbour-table hit (a direct-mapped cache in
 * front of gax_neigh_resolve()): good while the table's version is the same
 * and before `until` (see gax_neigh_hit_until()).
 */
struct gax_fwd_hop {
	uint32_t addr;		/**< 0: empty (never a next hop). */
	uint16_t iface;
	uint8_t mac[6];
	uint64_t version;
	uint64_t until;
};

#define GAX_FWD_HOP_SLOTS 64	/**< Next hops a worker keeps (a power of two). */

struct gax_fwd_worker {
	const struct gax_snapshot *snap;	/**< Read each burst; not owned. */
	struct gax_flow_table *flows;		/**< Owned by this worker. */
	struct gax_neigh_table *neigh;		/**< Owned by this worker. */
	uint32_t worker_id;
	uint32_t n_workers;
	uint32_t n_ifaces;			/**< The snapshot's interfaces, each opened. */
	uint8_t mac[GAX_FWD_MAX_IFACES][6];	/**< Hardware address per interface. */
	bool verify_l4_csum;			/**< Software check when the NIC says nothing. */
	bool kernel[GAX_FWD_MAX_IFACES];	/**< The interface has a kernel twin. */
	struct gax_fwd_counters ctr;

	/* What the neighbour table calls back with (see gax_fwd_set_io()). */
	gax_fwd_arp_fn send_arp;
	gax_neigh_pkt_fn tx_held;	/**< A held packet resolved: set its MACs, transmit. */
	gax_neigh_pkt_fn drop_held;	/**< A held packet given up: free it. */
	void *io_ctx;
	uint64_t ticks_per_second;
	bool own_ctr;	/**< The counter arrays are the ones gax_fwd_create() made. */
	uint64_t last_housekeep;	/**< When gax_fwd_housekeep() last ran. */
	uint64_t housekeep_ticks;	/**< GAX_FWD_HOUSEKEEP_US in ticks. */
	uint64_t sweep_carry;		/**< Fraction of a record carried to the next one. */
	struct gax_fwd_hop hops[GAX_FWD_HOP_SLOTS];	/**< Next hops' MACs, see emit(). */
	const uint64_t *neigh_version;	/**< gax_neigh_version_ptr() of neigh. */
};

/** Worker options; start from gax_fwd_opts_init(). */
struct gax_fwd_opts {
	uint32_t worker_id;
	uint32_t n_workers;
	uint32_t flow_capacity;		/**< Flows of this worker's table. */
	uint32_t tcp_closing_timeout_s;	/**< Idle timeout once FIN both ways or RST. */
	uint64_t ticks_per_second;	/**< Unit of `now`. */
	bool verify_l4_csum;		/**< Default true. */
	/** Full-NAT source ports (see struct gax_flow_opts); default 1024-65535. */
	uint16_t snat_port_min;
	uint16_t snat_port_max;
	struct gax_neigh_opts neigh;	/**< ticks_per_second is set from the above. */
	/** Optional allocator for the flow table (see struct gax_flow_opts). */
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *p);
	void *alloc_ctx;
};

/**
 * Defaults: worker 0 of 1, GAX_FLOW_DEFAULT_CAPACITY flows, a 10 s closing
 * timeout, nanoseconds, software L4 checksum verification, the neighbour
 * table's defaults.
 */
void gax_fwd_opts_init(struct gax_fwd_opts *o);

/**
 * Create a worker for snapshot @p snap: its flow table, its neighbour table
 * (with the static neighbours of the snapshot's interfaces) and its counters.
 * Interface MACs are set afterwards (gax_fwd_set_mac()).
 * @return the worker, or NULL with errno (EINVAL: bad options or more than
 *   GAX_FWD_MAX_IFACES interfaces; ENOMEM).
 */
struct gax_fwd_worker *gax_fwd_create(const struct gax_snapshot *snap,
		const struct gax_fwd_opts *o);

/**
 * Move the worker to a newer snapshot of the same interfaces (called by the
 * worker itself, between bursts, when the control thread published one).
 * Flows are untouched: each keeps its endpoint. Counters are indexed by the
 * stable ids of gax_snapshot.h: the current ones are copied into the new
 * arrays (sized by the new snapshot's next ids, zeroed, from the caller),
 * which the worker uses from then on. The arrays it used before, and the
 * new ones later, remain the caller's to free (after a grace period: the
 * control thread may be reading them). Static neighbours follow the new
 * snapshot. No allocation, no syscall.
 */
void gax_fwd_switch(struct gax_fwd_worker *w, const struct gax_snapshot *snap,
		struct gax_fwd_listener_ctr *listener, uint32_t n_listeners,
		struct gax_fwd_endpoint_ctr *endpoint, uint32_t n_endpoints);

/** Set the hardware address of interface @p iface. */
void gax_fwd_set_mac(struct gax_fwd_worker *w, uint16_t iface, const uint8_t *mac);

/**
 * Give interface @p iface a kernel twin (or take it away): what arrives on
 * the interface for one of its addresses and gax does not serve then gets
 * GAX_FWD_KERNEL instead of being dropped:
 *  - TCP and UDP to an interface address that belong to no flow (SSH to the
 *    host, the answers to its own health checks and DNS queries);
 *  - ICMP to an interface address other than an echo request (gax answers
 *    those itself), errors about no flow included;
 *  - ARP replies for an interface address (the kernel's own resolutions;
 *    gax learns from them too);
 *  - other IP protocols to an interface address.
 * Nothing sent to an accelerated address goes to the kernel.
 */
void gax_fwd_set_kernel(struct gax_fwd_worker *w, uint16_t iface, bool on);

/** Set the callbacks the worker uses to send ARP requests and release held packets. */
void gax_fwd_set_io(struct gax_fwd_worker *w, gax_fwd_arp_fn send_arp, gax_neigh_pkt_fn tx_held,
		gax_neigh_pkt_fn drop_held, void *ctx);

/**
 * Release a worker; held packets go to drop_held. NULL is allowed. The
 * counter arrays are freed only if gax_fwd_switch() never replaced them.
 */
void gax_fwd_free(struct gax_fwd_worker *w);

/**
 * Decide the fate of @p n frames received on interface @p in_iface.
 *
 * @param w           the worker
 * @param frames      n frames, each starting at its Ethernet header; rewritten in place
 * @param lens        their lengths
 * @param pkts        n opaque packets (what the neighbour table holds and hands back)
 * @param csum        n checksum states reported by the NIC, or NULL (all unknown)
 * @param n           0 to GAX_FWD_BURST
 * @param in_iface    receiving interface (below w->n_ifaces)
 * @param redirected  the frames were handed over by another worker
 * @param now         current time in ticks
 * @param v           n verdicts (out)
 */
void gax_fwd_burst(struct gax_fwd_worker *w, uint8_t *const *frames, const uint16_t *lens,
		void *const *pkts, const uint8_t *csum, unsigned int n, uint16_t in_iface,
		bool redirected, uint64_t now, struct gax_fwd_verdict *v);

/**
 * Periodic work, once per loop with small budgets: expire idle flows
 * (counting them per listener and endpoint) and run the neighbour timers
 * (ARP retries, held packets given up).
 */
void gax_fwd_tick(struct gax_fwd_worker *w, uint64_t now, unsigned int flow_budget,
		unsigned int neigh_budget);

/**
 * gax_fwd_tick() with budgets that follow time instead of the loop rate:
 * the flow table is swept once every GAX_FWD_SWEEP_MS whatever the packet
 * rate (a fixed budget per loop would read the whole table many times a
 * second under load, for nothing), the neighbour table likewise. Call it
 * once per loop: it returns at once unless GAX_FWD_HOUSEKEEP_US have passed
 * (what it would do is carried to the next time).
 */
void gax_fwd_housekeep(struct gax_fwd_worker *w, uint64_t now);

/** Count a frame of @p len bytes the caller transmitted on @p iface. */
static inline void
gax_fwd_count_tx(struct gax_fwd_worker *w, uint16_t iface, uint32_t len)
{
	w->ctr.iface[iface].tx_packets++;
	w->ctr.iface[iface].tx_bytes += len;
}

/** Count a drop the caller made (a full TX queue, a full hand-over ring). */
static inline void
gax_fwd_count_drop(struct gax_fwd_worker *w, enum gax_drop_reason r)
{
	w->ctr.drops[r]++;
}

/**
 * The worker owning the flows of a reserve-client-IP client (@p addr,
 * @p port): both directions of such a flow compute it.
 */
static inline uint32_t
gax_fwd_client_owner(uint32_t addr, uint16_t port, uint32_t n_workers)
{
	if (n_workers <= 1)
		return 0;
	return gax_hash_range(gax_hash_5tuple(addr, 0, port, 0, 0, GAX_FWD_SEED_OWNER), n_workers);
}

#ifdef __cplusplus
}
#endif

#endif /* GAX_FWD_H */
