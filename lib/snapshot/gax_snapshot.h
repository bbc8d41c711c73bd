/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The compiled snapshot: the immutable structure the workers read. The
 * control thread compiles a validated configuration into flat arrays and
 * open-addressing tables, with one Maglev table per endpoint group, so that
 * a worker classifies a packet and picks an endpoint with a handful of loads
 * and no allocation:
 *
 *   gax_snapshot_find_listener(s, vip, proto, dport)   -> listener, port index
 *   gax_snapshot_pick_group(s, listener, flow_hash)     -> endpoint group
 *   gax_snapshot_pick_endpoint(s, group, flow_hash)     -> endpoint
 *   group->endpoint_port[port_index]                    -> destination port
 *
 * Plain C, no EAL: the tests run it without hugepages. Like lib/fib keeps its
 * RIB apart from dir24_8, the user's model (lib/config) stays on the control
 * side and only this structure is shared with the packet path.
 *
 * Thread safety: gax_snapshot_compile() and gax_snapshot_free() run on the
 * control thread only (tables are shared between snapshots by a
 * non-atomic reference count). A published snapshot is never written again:
 * any number of workers may read it at once, lock-free, until the control
 * thread frees it after an RCU grace period.
 */
#ifndef GAX_SNAPSHOT_H
#define GAX_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <gax_config.h>
#include <gax_hash.h>
#include <gax_maglev.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_SNAP_NONE UINT32_MAX

/* IP protocol numbers, so this header needs no system networking header. */
#define GAX_IPPROTO_TCP 6
#define GAX_IPPROTO_UDP 17

/* Seeds of the flow hashes; fixed so every gax host computes the same values. */
#define GAX_SEED_GROUP 0x67617867726f7570ULL    /* traffic split */
#define GAX_SEED_ENDPOINT 0x676178656e647074ULL /* Maglev slot */

/* One slot of the listener lookup table: (vip, ipproto, port) -> listener. */
struct gax_snap_port_slot {
	uint64_t key;        /* gax_snapshot_port_key(); 0: empty */
	uint32_t listener;   /* index in listeners[] */
	uint16_t port_index; /* the port's rank among the listener's ports */
	uint16_t pad;
};

enum gax_snap_addr_kind {
	GAX_ADDR_ACCELERATOR = 1, /* an accelerated address (VIP) */
	GAX_ADDR_INTERFACE,       /* an address of one of gax's interfaces */
};

/* One slot of the owned-address table (ARP, ICMP echo, reply steering). */
struct gax_snap_addr_slot {
	uint32_t addr;  /* 0: empty */
	uint32_t kind;  /* enum gax_snap_addr_kind */
	uint32_t owner; /* accelerator index or interface index */
};

struct gax_snap_interface {
	const char *name;
	const char *device;
	const struct gax_prefix *addresses;
	uint32_t n_addresses;
	uint32_t gateway; /* 0: none */
	const struct gax_neighbor *neighbors;
	uint32_t n_neighbors;
};

struct gax_snap_accelerator {
	const char *name;
	const uint32_t *addresses;
	uint32_t n_addresses;
	uint32_t first_listener; /* listeners[first .. first + n_listeners) */
	uint32_t n_listeners;
};

struct gax_snap_listener {
	const char *name;
	const char *key;         /* stable identity "accelerator/listener" */
	uint32_t id;             /* stable across snapshots while the key lives (see below) */
	uint32_t accelerator;
	uint8_t protocol;        /* enum gax_protocol */
	uint8_t ipproto;         /* GAX_IPPROTO_TCP or _UDP */
	uint8_t affinity;        /* enum gax_affinity */
	/*
	 * Every endpoint that could serve (weight > 0, resolved, routable) is
	 * unhealthy, so the listener was compiled as if all were healthy
	 * (fail open, as AWS Global Accelerator does). See "Health" below.
	 */
	bool failed_open;
	uint32_t idle_timeout;   /* seconds */
	uint32_t request_timeout;
	uint16_t n_ports;
	uint16_t pad2;
	uint32_t first_group;    /* groups[first_group .. first_group + n_groups) */
	uint32_t n_groups;
	uint32_t split_total;    /* sum of the serving groups' traffic percentages; 0: none serves */
	const uint16_t *ports;   /* n_ports listener ports, ascending (port_index order) */
};

struct gax_snap_group {
	const char *name;
	const char *key;          /* stable identity "accelerator/listener/group" */
	uint32_t listener;
	uint32_t split_lo;        /* new flows with hash % split_total in [lo, hi) */
	uint32_t split_hi;        /* lo == hi: the group takes no new flows */
	uint32_t first_endpoint;  /* endpoints[first .. first + n_endpoints) */
	uint32_t n_endpoints;
	bool reserve_client_ip;
	uint8_t request_protocol; /* enum gax_protocol */
	uint8_t traffic_percentage; /* as configured, 1-100; the share is split_hi - split_lo */
	const uint16_t *endpoint_port; /* [listener n_ports]: destination port per port index */
	const struct gax_maglev_table *table; /* NULL: no endpoint takes new flows */
};

struct gax_snap_endpoint {
	const char *address;    /* as configured (IP or domain name) */
	const char *key;        /* stable identity "accelerator/listener/group/address" */
	uint32_t id;            /* stable across snapshots while the key lives */
	uint32_t group;
	uint32_t addr;          /* host order; 0: a domain that has not resolved */
	uint8_t weight;
	uint8_t type;           /* enum gax_endpoint_type */
	uint16_t iface;         /* egress interface index; GAX_SNAP_NO_IFACE: unreachable */
	uint32_t next_hop;      /* addr itself when on-link, else the gateway */
	uint32_t snat_addr;     /* full NAT source: the egress interface's first address */
};

#define GAX_SNAP_NO_IFACE UINT16_MAX

struct gax_snapshot {
	uint64_t generation;
	uint32_t maglev_table_size;

	struct gax_snap_port_slot *port_slots; /* power-of-two size, load <= 1/2 */
	uint32_t port_mask;
	struct gax_snap_addr_slot *addr_slots;
	uint32_t addr_mask;

	struct gax_snap_interface *interfaces;
	uint32_t n_interfaces;
	struct gax_snap_accelerator *accelerators;
	uint32_t n_accelerators;
	struct gax_snap_listener *listeners;
	uint32_t n_listeners;
	struct gax_snap_group *groups;
	uint32_t n_groups;
	struct gax_snap_endpoint *endpoints;
	uint32_t n_endpoints;

	/*
	 * Stable ids. A listener or endpoint keeps its id from one snapshot to
	 * the next (matched by key through opts.prev); a new one gets the next
	 * unused id; ids are never reused. Flows and counters are indexed by
	 * id, so they survive any change of the configuration.
	 */
	uint32_t next_listener_id;  /* ids are below this */
	uint32_t next_endpoint_id;
	uint32_t *listener_by_id;   /* [next_listener_id]: index, or GAX_SNAP_NONE if gone */
	uint32_t *endpoint_by_id;   /* [next_endpoint_id] */

	uint32_t n_tables_built;  /* Maglev tables built by this compile */
	uint32_t n_tables_reused; /* shared with the previous snapshot or a twin group */

	/*
	 * [n_endpoints]: 1 when the endpoint was reported unhealthy by
	 * gax_snapshot_opts.unhealthy (it then owns no slot of its group's
	 * table unless its listener failed open). Kept out of struct
	 * gax_snap_endpoint so the packet path's record stays 40 bytes; read
	 * it with gax_snapshot_endpoint_unhealthy().
	 */
	uint8_t *endpoint_unhealthy;
	uint32_t n_unhealthy;     /* endpoints reported unhealthy */
	uint32_t n_failed_open;   /* listeners with the failed_open flag */
	/*
	 * [n_endpoints]: 1 when the endpoint was reported drained by
	 * gax_snapshot_opts.drained (it then owns no slot, like weight 0, and
	 * never counts toward fail open). Read it with
	 * gax_snapshot_endpoint_drained().
	 */
	uint8_t *endpoint_drained;
	uint32_t n_drained;       /* endpoints reported drained */

	void *priv; /* owned memory; see snapshot.c */
};

/**
 * Resolver for domain endpoints, called on the control thread during
 * compilation. Fill @p addr (host order) and return 0, or return a negative
 * errno when the name has no address (the endpoint then takes no flows).
 */
typedef int (*gax_snapshot_resolve_fn)(void *ctx, const char *name, uint32_t *addr);

/**
 * Health of endpoints, asked on the control thread during compilation, once
 * per endpoint, after ids are assigned. @p endpoint_id is the endpoint's
 * stable id in the snapshot being compiled: the same as in opts.prev for an
 * endpoint that was there (so the ids given to the prober from the previous
 * snapshot are the ones asked about), a new id for a new endpoint (which the
 * prober does not know yet: unknown, so healthy).
 * Return true only when the endpoint is known to be unhealthy; an endpoint
 * never checked, still unknown, or in a group without health_check is
 * healthy and serves.
 */
typedef bool (*gax_snapshot_unhealthy_fn)(void *ctx, uint32_t endpoint_id);

/**
 * Drain of endpoints at run time (an operator's `gaxctl endpoint drain`),
 * asked like gax_snapshot_unhealthy_fn, by stable id. A drained endpoint
 * is compiled as if its weight were 0: it takes no new flows, existing ones
 * finish, and unlike an unhealthy one it is never brought back by fail open
 * (the operator asked for it to be out).
 */
typedef bool (*gax_snapshot_drained_fn)(void *ctx, uint32_t endpoint_id);

struct gax_snapshot_opts {
	uint64_t generation;
	/* reuse its Maglev tables where unchanged, and its ids; may be NULL */
	const struct gax_snapshot *prev;
	gax_snapshot_resolve_fn resolve; /* NULL: domain endpoints stay unresolved */
	void *resolve_ctx;
	gax_snapshot_unhealthy_fn unhealthy; /* NULL: every endpoint is healthy */
	void *health_ctx;
	gax_snapshot_drained_fn drained; /* NULL: no endpoint is drained */
	void *drain_ctx;
};

/*
 * Health. Routing around failure is decided here, at compile time, so the
 * packet path (pick_group, pick_endpoint) is the same with or without it:
 *  - an unhealthy endpoint enters its group's Maglev table with weight 0
 *    (owns no slot; the others keep theirs, so only its own flows' keys move);
 *  - a group left without a healthy endpoint of weight > 0 gets no table and
 *    no traffic share, like a group whose weights are all 0: the listener's
 *    new flows are split over its other groups by traffic_percentage;
 *  - when that leaves a listener with no serving group although some group
 *    has an endpoint that could serve but for its health, the listener is
 *    compiled as if every endpoint were healthy and failed_open is set.
 * The same configuration and the same health give the same tables and the
 * same split on every host. A table is reused (from opts.prev or a twin
 * group) when its endpoints and their effective weights are unchanged, so
 * a health change rebuilds only the tables of the groups it touches.
 */

/**
 * Compile a validated configuration.
 *
 * @param cfg   from gax_config_load_*() (must be valid)
 * @param opts  may be NULL
 * @return the snapshot, or NULL with errno: EINVAL (@p cfg is NULL), ENOMEM.
 *   The snapshot does not point into @p cfg: the config may be freed after.
 */
struct gax_snapshot *gax_snapshot_compile(const struct gax_config *cfg,
		const struct gax_snapshot_opts *opts);

/** The index of listener @p id in @p s, or GAX_SNAP_NONE when it is not there. */
static inline uint32_t
gax_snapshot_listener_of_id(const struct gax_snapshot *s, uint32_t id)
{
	return id < s->next_listener_id ? s->listener_by_id[id] : GAX_SNAP_NONE;
}

/** The index of endpoint @p id in @p s, or GAX_SNAP_NONE when it is not there. */
static inline uint32_t
gax_snapshot_endpoint_of_id(const struct gax_snapshot *s, uint32_t id)
{
	return id < s->next_endpoint_id ? s->endpoint_by_id[id] : GAX_SNAP_NONE;
}

/** Whether endpoint index @p e was reported unhealthy when @p s was compiled. */
static inline bool
gax_snapshot_endpoint_unhealthy(const struct gax_snapshot *s, uint32_t e)
{
	return s->endpoint_unhealthy[e] != 0;
}

/** Whether endpoint index @p e was reported drained when @p s was compiled. */
static inline bool
gax_snapshot_endpoint_drained(const struct gax_snapshot *s, uint32_t e)
{
	return s->endpoint_drained[e] != 0;
}

/** Release a snapshot; NULL is allowed. Control thread, after the grace period. */
void gax_snapshot_free(struct gax_snapshot *s);

/**
 * Print what the forwarder will do with this snapshot: each accelerated
 * address, protocol and port, the listener, its groups' traffic shares, the
 * endpoints with their share of the Maglev table, egress and NAT source.
 */
void gax_snapshot_explain(FILE *out, const struct gax_snapshot *s);

static inline uint64_t
gax_snapshot_port_key(uint32_t vip, uint8_t ipproto, uint16_t port)
{
	return ((uint64_t)vip << 32) | ((uint64_t)ipproto << 16) | port;
}

static inline uint32_t
gax_snapshot_slot_hash(uint64_t key)
{
	return (uint32_t)(gax_hash_mix64(key) >> 32);
}

/**
 * Classify: the listener that owns (@p vip, @p ipproto, @p port), in O(1).
 * @param port_index  receives the port's index for group->endpoint_port[]
 * @return the listener index, or GAX_SNAP_NONE when no listener owns it
 */
static inline uint32_t
gax_snapshot_find_listener(const struct gax_snapshot *s, uint32_t vip, uint8_t ipproto,
		uint16_t port, uint16_t *port_index)
{
	uint64_t key = gax_snapshot_port_key(vip, ipproto, port);
	uint32_t i = gax_snapshot_slot_hash(key) & s->port_mask;

	for (;;) {
		const struct gax_snap_port_slot *slot = &s->port_slots[i];

		if (slot->key == key) {
			*port_index = slot->port_index;
			return slot->listener;
		}
		if (slot->key == 0)
			return GAX_SNAP_NONE;
		i = (i + 1) & s->port_mask;
	}
}

/** The owned-address entry for @p addr, or NULL when gax does not own it. */
static inline const struct gax_snap_addr_slot *
gax_snapshot_find_addr(const struct gax_snapshot *s, uint32_t addr)
{
	uint32_t i = gax_snapshot_slot_hash(addr) & s->addr_mask;

	if (addr == 0)
		return NULL;
	for (;;) {
		const struct gax_snap_addr_slot *slot = &s->addr_slots[i];

		if (slot->addr == addr)
			return slot;
		if (slot->addr == 0)
			return NULL;
		i = (i + 1) & s->addr_mask;
	}
}

/**
 * Route @p addr: the interface whose subnet holds it (next hop: the address
 * itself), else the first interface with a gateway (next hop: the gateway).
 * Interfaces are few (a handful), so a scan is cheaper than any index.
 * @param iface     receives the interface index
 * @param next_hop  receives the next hop
 * @return true, or false when no interface reaches @p addr
 */
static inline bool
gax_snapshot_route(const struct gax_snapshot *s, uint32_t addr, uint16_t *iface,
		uint32_t *next_hop)
{
	uint32_t i, j, gw = GAX_SNAP_NONE;

	for (i = 0; i < s->n_interfaces; i++) {
		const struct gax_snap_interface *in = &s->interfaces[i];

		for (j = 0; j < in->n_addresses; j++) {
			if (gax_prefix_contains(&in->addresses[j], addr)) {
				*iface = (uint16_t)i;
				*next_hop = addr;
				return true;
			}
		}
		if (in->gateway != 0 && gw == GAX_SNAP_NONE)
			gw = i;
	}
	if (gw == GAX_SNAP_NONE)
		return false;
	*iface = (uint16_t)gw;
	*next_hop = s->interfaces[gw].gateway;
	return true;
}

/**
 * The flow hash for a new flow of @p l: the client address alone under
 * source_ip affinity, else the 5-tuple. Host byte order.
 */
static inline uint64_t
gax_snapshot_flow_hash(const struct gax_snap_listener *l, uint32_t saddr, uint32_t daddr,
		uint16_t sport, uint16_t dport)
{
	if (l->affinity == GAX_AFFINITY_SOURCE_IP)
		return gax_hash_u32(saddr, GAX_SEED_ENDPOINT);
	return gax_hash_5tuple(saddr, daddr, sport, dport, l->ipproto, GAX_SEED_ENDPOINT);
}

/**
 * Choose the endpoint group for a new flow (traffic split by percentage,
 * deterministic: the same hash lands in the same group on every host).
 * @return a group index, or GAX_SNAP_NONE when no group takes new flows
 */
static inline uint32_t
gax_snapshot_pick_group(const struct gax_snapshot *s, uint32_t listener, uint64_t flow_hash)
{
	const struct gax_snap_listener *l = &s->listeners[listener];
	uint32_t x, g;

	if (l->split_total == 0)
		return GAX_SNAP_NONE;
	if (l->n_groups == 1)
		return l->first_group;
	x = gax_hash_range(gax_hash_mix64(flow_hash ^ GAX_SEED_GROUP), l->split_total);
	for (g = l->first_group; g < l->first_group + l->n_groups; g++)
		if (x < s->groups[g].split_hi)
			return g;
	return GAX_SNAP_NONE; /* not reached: split_hi of the last serving group is split_total */
}

/**
 * Choose the endpoint of @p group for a new flow by its Maglev table.
 * @return an endpoint index, or GAX_SNAP_NONE when the group takes no new flows
 */
static inline uint32_t
gax_snapshot_pick_endpoint(const struct gax_snapshot *s, uint32_t group, uint64_t flow_hash)
{
	const struct gax_snap_group *g = &s->groups[group];

	if (g->table == NULL)
		return GAX_SNAP_NONE;
	return g->first_endpoint + gax_maglev_lookup(g->table, flow_hash);
}

#ifdef __cplusplus
}
#endif

#endif /* GAX_SNAPSHOT_H */
