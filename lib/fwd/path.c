/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-burst path: parse and sort every frame, look the flows of the
 * whole burst up at once (lib/flow hides the cache misses), then serve each
 * frame in order. See gax_fwd.h for the steering rules.
 */
#include <errno.h>
#include <string.h>

#include "fwd_priv.h"

/* What a frame is, once parsed. */
enum kind {
	K_DONE = 0,	/* verdict already set */
	K_ARP,
	K_ICMP,
	K_CLIENT,	/* TCP/UDP to an accelerated address */
	K_NAT_REPLY,	/* TCP/UDP to an interface address: a full-NAT reply */
	K_RESERVE_REPLY,/* TCP/UDP to another address: a reserve-client-IP reply */
};

struct frame {
	struct gax_pkt p;
	const struct gax_flow_key *key;	/* in the burst's lookup array (TCP/UDP) */
	uint8_t kind;
	int8_t lookup;	/* index in the burst's lookup arrays, or -1 */
	int8_t snat;	/* index of its full-NAT port hint (prepare_new_flows()), or -1 */
	bool chosen;	/* choose() filled what follows */
	uint16_t port_index;	/* of the destination port in the listener's */
	uint32_t li, gi, ei;	/* listener, group, endpoint a new flow picks (or GAX_SNAP_NONE) */
};

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Whether the 6 bytes at @p a are the MAC @p b (two loads each, no call). */
static inline bool
mac_is(const uint8_t *a, const uint8_t *b)
{
	uint32_t a4, b4;
	uint16_t a2, b2;

	memcpy(&a4, a, 4);
	memcpy(&b4, b, 4);
	memcpy(&a2, a + 4, 2);
	memcpy(&b2, b + 4, 2);
	return ((a4 ^ b4) | (uint32_t)(a2 ^ b2)) == 0;
}

static inline void
drop(struct gax_fwd_worker *w, struct gax_fwd_verdict *v, enum gax_drop_reason r)
{
	w->ctr.drops[r]++;
	v->action = GAX_FWD_DROP;
	v->reason = (uint8_t)r;
}

/* Hand the frame to the kernel twin of @p iface, unchanged. */
static inline void
to_kernel(struct gax_fwd_worker *w, struct gax_fwd_verdict *v, uint16_t iface)
{
	w->ctr.iface[iface].to_kernel++;
	v->action = GAX_FWD_KERNEL;
	v->iface = iface;
}

/* Whether a frame for @p daddr that gax does not serve goes to @p iface's kernel twin. */
static bool
kernel_takes(const struct gax_fwd_worker *w, uint16_t iface, uint32_t daddr)
{
	const struct gax_snap_addr_slot *a;

	if (!w->kernel[iface])
		return false;
	a = gax_snapshot_find_addr(w->snap, daddr);
	return a != NULL && a->kind == GAX_ADDR_INTERFACE;
}

/* The address of @p iface to speak from towards @p peer (on its subnet if one is). */
static uint32_t
iface_source(const struct gax_snapshot *s, uint16_t iface, uint32_t peer)
{
	const struct gax_snap_interface *in = &s->interfaces[iface];
	uint32_t j;

	for (j = 0; j < in->n_addresses; j++)
		if (gax_prefix_contains(&in->addresses[j], peer))
			return in->addresses[j].addr;
	return in->n_addresses > 0 ? in->addresses[0].addr : 0;
}

void
gax_fwd_send_arp(struct gax_fwd_worker *w, uint16_t iface, uint32_t tip)
{
	if (w->send_arp == NULL || iface >= w->n_ifaces)
		return;
	w->ctr.iface[iface].arp_requests++;
	w->send_arp(w->io_ctx, iface, iface_source(w->snap, iface, tip), tip);
}

/* A held packet's next hop answered: hand it to the caller to transmit. */
static void
held_resolved(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct gax_fwd_worker *w = ctx;

	if (w->tx_held != NULL)
		w->tx_held(w->io_ctx, pkt, iface, addr, mac);
}

static inline struct gax_fwd_hop *
hop_slot(struct gax_fwd_worker *w, uint16_t iface, uint32_t next_hop)
{
	return &w->hops[((next_hop * 0x9e3779b1u) >> 26 ^ iface) & (GAX_FWD_HOP_SLOTS - 1)];
}

/* emit() when the hop cache misses: the neighbour table, whose hits refill slot @p h. */
static void
emit_resolve(struct gax_fwd_worker *w, uint8_t *frame, void *pkt, uint16_t iface,
		uint32_t next_hop, uint64_t now, struct gax_fwd_hop *h, struct gax_fwd_verdict *v)
{
	uint8_t mac[6];
	bool ask = false;

	switch (gax_neigh_resolve(w->neigh, iface, next_hop, now, pkt, mac, &ask)) {
	case GAX_NEIGH_HIT:
		gax_pkt_set_macs(frame, w->mac[iface], mac);
		v->action = GAX_FWD_TX;
		v->iface = iface;
		if (!ask) {
			h->addr = next_hop;
			h->iface = iface;
			memcpy(h->mac, mac, sizeof(h->mac));
			h->version = gax_neigh_version(w->neigh);
			h->until = gax_neigh_hit_until(w->neigh, iface, next_hop);
		}
		break;
	case GAX_NEIGH_HELD:
		v->action = GAX_FWD_HELD;
		break;
	default:
		drop(w, v, GAX_DROP_ARP_QUEUE_FULL);
		break;
	}
	if (ask)
		gax_fwd_send_arp(w, iface, next_hop);
}

/*
 * Send a rewritten frame towards @p next_hop on @p iface: MACs from the
 * worker's hop cache (inlined: every forwarded packet), else from the
 * neighbour table (which may hold the frame and ask), whose hits refill the
 * cache.
 */
static inline __attribute__((always_inline)) void
emit(struct gax_fwd_worker *w, uint8_t *frame, void *pkt, uint16_t iface, uint32_t next_hop,
		uint64_t now, struct gax_fwd_verdict *v)
{
	struct gax_fwd_hop *h = hop_slot(w, iface, next_hop);

	if (h->addr == next_hop && h->iface == iface && now < h->until &&
			h->version == *w->neigh_version) {
		gax_pkt_set_macs(frame, w->mac[iface], h->mac);
		v->action = GAX_FWD_TX;
		v->iface = iface;
		return;
	}
	emit_resolve(w, frame, pkt, iface, next_hop, now, h, v);
}

/* Whether address slot @p a may be claimed on @p iface (VIPs on any interface). */
static inline bool
owned_on(const struct gax_snap_addr_slot *a, uint16_t iface)
{
	return a != NULL && (a->kind == GAX_ADDR_ACCELERATOR || a->owner == iface);
}

/* ---- ARP ---------------------------------------------------------------------- */

/*
 * ARP. With several workers, the frame may reach any of them while another
 * is waiting for the answer: gaxd gives every other worker a copy
 * (`redirected`), which only learns from it.
 */
static void
serve_arp(struct gax_fwd_worker *w, uint8_t *frame, uint16_t len, struct gax_pkt *p,
		uint16_t in_iface, bool redirected, uint64_t now, struct gax_fwd_verdict *v)
{
	const struct gax_snap_addr_slot *a = gax_snapshot_find_addr(w->snap, p->arp_tip);
	bool for_us = owned_on(a, in_iface);

	/* RFC 826: update a known sender; create it only when the request is for us. */
	if (p->arp_sip != 0 && p->arp_sip != p->arp_tip)
		gax_neigh_learn(w->neigh, in_iface, p->arp_sip, p->arp_sha, now, for_us,
				held_resolved, w);
	if (redirected) {
		v->action = GAX_FWD_CONSUMED;
		return;
	}
	if (p->arp_op == GAX_PKT_ARP_REQUEST && for_us && p->arp_sip != p->arp_tip) {
		if (gax_pkt_arp_reply(frame, len, p, w->mac[in_iface]) != 0) {
			drop(w, v, GAX_DROP_MALFORMED_ARP);
			return;
		}
		w->ctr.iface[in_iface].arp_replies++;
		v->action = GAX_FWD_TX;
		v->iface = in_iface;
		return;
	}
	if (p->arp_op == GAX_PKT_ARP_REQUEST && !for_us && p->arp_sip != p->arp_tip) {
		drop(w, v, GAX_DROP_NOT_FOR_US);
		return;
	}
	/* The answer to the kernel twin's own request: it learns too. */
	if (p->arp_op == GAX_PKT_ARP_REPLY && for_us && w->kernel[in_iface] &&
			a->kind == GAX_ADDR_INTERFACE) {
		to_kernel(w, v, in_iface);
		return;
	}
	v->action = GAX_FWD_CONSUMED; /* a reply or a gratuitous ARP: learned above */
}

/* ---- ICMP --------------------------------------------------------------------- */

/*
 * The interface and next hop towards flow @p f's endpoint: its endpoint's,
 * when the endpoint still has the flow's address (the config may have moved
 * it), else by route. False when no interface reaches it.
 */
static inline bool
endpoint_hop(const struct gax_snapshot *s, const struct gax_flow *f, uint16_t *iface,
		uint32_t *next_hop)
{
	uint32_t ep_addr = gax_flow_endpoint_addr(f);
	uint32_t ei = gax_snapshot_endpoint_of_id(s, f->endpoint);

	if (ei != GAX_SNAP_NONE && s->endpoints[ei].addr == ep_addr &&
			s->endpoints[ei].iface != GAX_SNAP_NO_IFACE) {
		*iface = s->endpoints[ei].iface;
		*next_hop = s->endpoints[ei].next_hop;
		return true;
	}
	return gax_snapshot_route(s, ep_addr, iface, next_hop);
}

/*
 * An ICMP error about a tracked flow: about what gax sent to an endpoint
 * (translated back to the client) or to a client (translated to the endpoint).
 */
static void
serve_icmp_error(struct gax_fwd_worker *w, uint8_t *frame, void *pkt, struct gax_pkt *p,
		uint16_t in_iface, bool redirected, uint64_t now, struct gax_fwd_verdict *v)
{
	const struct gax_snapshot *s = w->snap;
	struct gax_pkt_inner in;
	struct gax_pkt_icmp_nat nat;
	struct gax_flow_key k;
	struct gax_flow *f;
	uint32_t owner, next_hop;
	uint16_t iface, from;
	bool about_endpoint;
	int r;

	r = gax_pkt_parse_icmp_error(frame, p, &in);
	if (r != GAX_DROP_NONE) {
		drop(w, v, (enum gax_drop_reason)r);
		return;
	}
	if (in.proto == GAX_PKT_PROTO_ICMP) {
		drop(w, v, GAX_DROP_UNSUPPORTED_ICMP); /* gax forwards no echo */
		return;
	}
	/*
	 * The embedded packet is one gax sent: nat -> endpoint (a key of the
	 * endpoint side, reversed) or vip -> client (the client side, reversed).
	 */
	gax_flow_key_init(&k, in.daddr, in.saddr, in.dport, in.sport, in.proto);
	f = gax_flow_lookup(w->flows, &k);
	if (f == NULL) {
		if (w->n_workers > 1 && !redirected) {
			const struct gax_snap_addr_slot *a = gax_snapshot_find_addr(s, in.saddr);

			/*
			 * nat -> endpoint: the NAT port names the owner; client ->
			 * endpoint (client IP kept) or vip -> client: the client's owner
			 * if it is a reserve-client-IP flow (a full-NAT one lives where
			 * RSS put its client, which no one can tell from here).
			 */
			if (a == NULL)
				owner = gax_fwd_client_owner(in.saddr, in.sport, w->n_workers);
			else if (a->kind == GAX_ADDR_INTERFACE)
				owner = gax_flow_owner_of_port(in.sport, w->n_workers);
			else
				owner = gax_fwd_client_owner(in.daddr, in.dport, w->n_workers);
			if (owner != w->worker_id) {
				v->action = GAX_FWD_REDIRECT;
				v->worker = (uint16_t)owner;
				w->ctr.redirected_out++;
				return;
			}
		}
		if (kernel_takes(w, in_iface, p->daddr)) /* about the kernel's own traffic */
			to_kernel(w, v, in_iface);
		else
			drop(w, v, GAX_DROP_NO_FLOW);
		return;
	}
	/*
	 * The error comes from the side gax sent the packet to: the endpoint's
	 * interface, or the one that reaches the client (as a reply, above).
	 */
	about_endpoint = gax_flow_key_dir(f, &k) == GAX_FLOW_DIR_ENDPOINT;
	if (!(about_endpoint ? endpoint_hop(s, f, &from, &next_hop) :
			gax_snapshot_route(s, gax_flow_client_addr(f), &from, &next_hop)) ||
			from != in_iface) {
		drop(w, v, GAX_DROP_WRONG_INTERFACE);
		return;
	}
	if (about_endpoint) {
		/* Back to the client, as if the accelerated address had sent it. */
		nat.outer_saddr = gax_flow_vip_addr(f);
		nat.outer_daddr = gax_flow_client_addr(f);
		nat.inner_saddr = gax_flow_client_addr(f);
		nat.inner_sport = gax_flow_client_port(f);
		nat.inner_daddr = gax_flow_vip_addr(f);
		nat.inner_dport = gax_flow_vip_port(f);
	} else {
		/* On to the endpoint, from the NAT source (or as is when the client IP is kept). */
		nat.outer_saddr = gax_flow_nat_addr(f) != gax_flow_client_addr(f) ?
			gax_flow_nat_addr(f) : p->saddr;
		nat.outer_daddr = gax_flow_endpoint_addr(f);
		nat.inner_saddr = gax_flow_endpoint_addr(f);
		nat.inner_sport = gax_flow_endpoint_port(f);
		nat.inner_daddr = gax_flow_nat_addr(f);
		nat.inner_dport = gax_flow_nat_port(f);
	}
	if (!gax_snapshot_route(s, nat.outer_daddr, &iface, &next_hop)) {
		drop(w, v, GAX_DROP_NO_ROUTE);
		return;
	}
	r = gax_pkt_ttl_dec(frame, p);
	if (r != 0) {
		drop(w, v, GAX_DROP_TTL_EXPIRED);
		return;
	}
	gax_pkt_icmp_error_rewrite(frame, p, &in, &nat);
	w->ctr.icmp_errors_translated++;
	emit(w, frame, pkt, iface, next_hop, now, v);
}

static void
serve_icmp(struct gax_fwd_worker *w, uint8_t *frame, void *pkt, struct gax_pkt *p,
		uint16_t in_iface, bool redirected, uint64_t now, struct gax_fwd_verdict *v)
{
	const struct gax_snap_addr_slot *a;

	switch (p->icmp_type) {
	case GAX_PKT_ICMP_ECHO_REQUEST:
		a = gax_snapshot_find_addr(w->snap, p->daddr);
		if (a == NULL) {
			drop(w, v, GAX_DROP_NOT_FOR_US);
			return;
		}
		gax_pkt_icmp_echo_reply(frame, p);
		w->ctr.iface[in_iface].icmp_echo_replies++;
		v->action = GAX_FWD_TX;
		v->iface = in_iface;
		return;
	case GAX_PKT_ICMP_DEST_UNREACH:
	case GAX_PKT_ICMP_TIME_EXCEEDED:
		serve_icmp_error(w, frame, pkt, p, in_iface, redirected, now, v);
		return;
	default:
		if (kernel_takes(w, in_iface, p->daddr)) /* the kernel's echo replies, say */
			to_kernel(w, v, in_iface);
		else
			drop(w, v, GAX_DROP_UNSUPPORTED_ICMP);
		return;
	}
}

/* ---- TCP and UDP ---------------------------------------------------------------- */

/*
 * Note a packet of flow @p f, whose listener is at index @p li of the
 * snapshot (flows record their listener's id, which survives configuration
 * changes; the caller looked it up): its idle timeout restarts.
 */
static inline void
track(struct gax_fwd_worker *w, struct gax_flow *f, uint32_t li, enum gax_flow_dir dir,
		const struct gax_pkt *p, uint64_t now)
{
	uint32_t timeout = w->snap->listeners[li].idle_timeout;

	if (p->proto == GAX_PKT_PROTO_TCP) {
		if (gax_flow_tcp_track(w->flows, f, dir, p->tcp_flags, now, timeout))
			w->ctr.tcp_reopened++;
	} else {
		gax_flow_touch(w->flows, f, now, timeout);
	}
}

/* The listener of the last (address, protocol, port) choose() looked up in this burst. */
struct listener_memo {
	uint64_t key;	/* gax_snapshot_port_key(); 0: none yet */
	uint32_t li;
	uint16_t port_index;
};

/*
 * The listener of a client frame and, for a new flow, the group and the
 * endpoint it picks (traffic dials, then Maglev on the listener's hash).
 * Most new flows of a burst go to one listener: @p memo keeps its lookup.
 */
static void
choose(const struct gax_snapshot *s, struct frame *fr, struct listener_memo *memo)
{
	const struct gax_pkt *p = &fr->p;
	uint64_t key = gax_snapshot_port_key(p->daddr, p->proto, p->dport);
	uint64_t h;

	fr->chosen = true;
	fr->gi = GAX_SNAP_NONE;
	fr->ei = GAX_SNAP_NONE;
	if (key != memo->key) {
		memo->key = key;
		memo->li = gax_snapshot_find_listener(s, p->daddr, p->proto, p->dport,
				&memo->port_index);
	}
	fr->li = memo->li;
	fr->port_index = memo->port_index;
	if (fr->li == GAX_SNAP_NONE)
		return;
	h = gax_snapshot_flow_hash(&s->listeners[fr->li], p->saddr, p->daddr, p->sport, p->dport);
	fr->gi = gax_snapshot_pick_group(s, fr->li, h);
	if (fr->gi != GAX_SNAP_NONE)
		fr->ei = gax_snapshot_pick_endpoint(s, fr->gi, h);
}

/*
 * Before serving a burst: the frames whose flow is missing choose their
 * endpoint now, and the index line where their full-NAT port will be checked
 * is fetched, so that miss is paid during the frames before.
 */
static void
prepare_new_flows(struct gax_fwd_worker *w, struct frame *fr, struct gax_flow *const *flows,
		unsigned int n, struct gax_flow_snat_hint *hint)
{
	const struct gax_snapshot *s = w->snap;
	struct listener_memo memo = { 0, GAX_SNAP_NONE, 0 };
	unsigned int i, k = 0;

	for (i = 0; i < n; i++) {
		const struct gax_snap_group *g;
		const struct gax_snap_endpoint *e;

		if (fr[i].kind != K_CLIENT || flows[fr[i].lookup] != NULL)
			continue;
		choose(s, &fr[i], &memo);
		if (fr[i].ei == GAX_SNAP_NONE)
			continue;
		g = &s->groups[fr[i].gi];
		e = &s->endpoints[fr[i].ei];
		if (g->reserve_client_ip)
			continue;
		hint[k].nat_addr = e->snat_addr;
		hint[k].endpoint_addr = e->addr;
		hint[k].endpoint_port = g->endpoint_port[fr[i].port_index];
		hint[k].proto = fr[i].p.proto;
		fr[i].snat = (int8_t)k++;
	}
	gax_flow_snat_prefetch(w->flows, hint, k);
}

/*
 * A first packet to a listener: pick the group and the endpoint, the NAT
 * source, and insert the flow. Sets *fp, or a verdict (drop or redirect).
 */
static void
new_flow(struct gax_fwd_worker *w, struct frame *fr, uint64_t hash,
		const struct gax_flow_snat_hint *hint, bool redirected, uint64_t now,
		struct gax_flow **fp, struct gax_fwd_verdict *v)
{
	const struct gax_snapshot *s = w->snap;
	const struct gax_pkt *p = &fr->p;
	const struct gax_snap_listener *l;
	const struct gax_snap_group *g;
	const struct gax_snap_endpoint *e;
	struct gax_flow_nat nat;
	uint32_t li, gi, ei, owner;
	int rc;

	if (!fr->chosen) {
		struct listener_memo memo = { 0, GAX_SNAP_NONE, 0 };

		choose(s, fr, &memo);
	}
	li = fr->li;
	gi = fr->gi;
	ei = fr->ei;
	if (li == GAX_SNAP_NONE) {
		drop(w, v, GAX_DROP_NO_LISTENER);
		return;
	}
	l = &s->listeners[li];
	/*
	 * A reserve-client-IP flow lives on its client's owner: every packet of
	 * it that reaches another worker is handed over before anything else
	 * (the SYN as the later segments, which find no flow here).
	 */
	if (gi != GAX_SNAP_NONE && s->groups[gi].reserve_client_ip && !redirected) {
		owner = gax_fwd_client_owner(p->saddr, p->sport, w->n_workers);
		if (owner != w->worker_id) {
			v->action = GAX_FWD_REDIRECT;
			v->worker = (uint16_t)owner;
			w->ctr.redirected_out++;
			return;
		}
	}
	if (p->proto == GAX_PKT_PROTO_TCP &&
			(p->tcp_flags & (GAX_PKT_TCP_SYN | GAX_PKT_TCP_ACK | GAX_PKT_TCP_RST)) !=
			GAX_PKT_TCP_SYN) {
		drop(w, v, GAX_DROP_NO_FLOW); /* only a SYN opens a TCP flow */
		return;
	}
	if (ei == GAX_SNAP_NONE) {
		drop(w, v, GAX_DROP_NO_ENDPOINT);
		return;
	}
	g = &s->groups[gi];
	e = &s->endpoints[ei];
	if (e->iface == GAX_SNAP_NO_IFACE || e->addr == 0) {
		drop(w, v, GAX_DROP_NO_ROUTE);
		return;
	}
	nat.endpoint_addr = e->addr;
	nat.endpoint_port = g->endpoint_port[fr->port_index];
	nat.nat_addr = g->reserve_client_ip ? 0 : e->snat_addr;
	rc = gax_flow_open_hinted(w->flows, fr->key, hash, &nat, fr->snat >= 0 ? &hint[fr->snat] :
			NULL, l->id, e->id, now, l->idle_timeout, fp);
	if (rc == -ENOSPC) {
		drop(w, v, GAX_DROP_FLOW_TABLE_FULL);
		return;
	}
	if (rc != 0) {
		/* No free port; or, the client kept, the endpoint-side tuple is taken
		 * (a reserved client reaching one endpoint port through two
		 * listeners): it cannot be told apart. */
		drop(w, v, GAX_DROP_NAT_PORTS_EXHAUSTED);
		return;
	}
	w->ctr.listener[l->id].new_flows++;
	w->ctr.endpoint[e->id].new_flows++;
}

/*
 * One of 64 bits for a client key: a frame whose flow was missing from the
 * burst's lookup looks again only when a flow opened earlier in the burst
 * has its bit (two frames of one new flow in one burst).
 */
static inline uint64_t
key_bit(const struct gax_flow_key *k)
{
	return 1ull << ((k->saddr ^ k->sport ^ ((uint32_t)k->dport << 3)) & 63);
}

/* Client -> accelerated address: to the flow's endpoint. */
static void
serve_client(struct gax_fwd_worker *w, uint8_t *frame, void *pkt, struct frame *fr,
		struct gax_flow *f, uint64_t hash, const struct gax_flow_snat_hint *hint,
		bool redirected, bool recheck, uint64_t now, struct gax_fwd_verdict *v)
{
	const struct gax_snapshot *s = w->snap;
	struct gax_pkt *p = &fr->p;
	uint32_t next_hop, li = GAX_SNAP_NONE;
	uint16_t iface;

	if (f == NULL && recheck) /* an earlier frame of this burst may have opened it */
		f = gax_flow_lookup(w->flows, fr->key);
	if (f != NULL && (li = gax_snapshot_listener_of_id(s, f->listener)) == GAX_SNAP_NONE) {
		/* Its listener was deleted: the flow ends; the packet is a new one. */
		gax_fwd_end_flow(w, f);
		f = NULL;
	}
	if (f == NULL) {
		if (p->ttl <= 1) { /* checked first: a packet not forwarded opens no flow */
			drop(w, v, GAX_DROP_TTL_EXPIRED);
			return;
		}
		new_flow(w, fr, hash, hint, redirected, now, &f, v);
		if (f == NULL)
			return;
	} else if (gax_flow_key_dir(f, fr->key) != GAX_FLOW_DIR_CLIENT) {
		drop(w, v, GAX_DROP_NO_FLOW);
		return;
	} else {
		track(w, f, li, GAX_FLOW_DIR_CLIENT, p, now);
	}
	if (!endpoint_hop(s, f, &iface, &next_hop)) {
		drop(w, v, GAX_DROP_NO_ROUTE);
		return;
	}
	/* DNAT, SNAT (the client's own address and port when it is kept) and TTL at once. */
	if (gax_pkt_nat_forward(frame, p, gax_flow_nat_addr(f), gax_flow_nat_port(f),
			gax_flow_endpoint_addr(f), gax_flow_endpoint_port(f)) != 0) {
		drop(w, v, GAX_DROP_TTL_EXPIRED);
		return;
	}
	gax_flow_account(f, GAX_FLOW_DIR_CLIENT, p->ip_len);
	if (f->listener < w->ctr.n_listeners) {
		w->ctr.listener[f->listener].packets_in++;
		w->ctr.listener[f->listener].bytes_in += p->ip_len;
	}
	if (f->endpoint < w->ctr.n_endpoints) {
		w->ctr.endpoint[f->endpoint].packets_to++;
		w->ctr.endpoint[f->endpoint].bytes_to += p->ip_len;
	}
	emit(w, frame, pkt, iface, next_hop, now, v);
}

/* Endpoint -> NAT source (or the reserved client): back to the client. */
static void
serve_reply(struct gax_fwd_worker *w, uint8_t *frame, void *pkt, struct frame *fr,
		struct gax_flow *f, uint16_t in_iface, uint64_t now, struct gax_fwd_verdict *v)
{
	struct gax_pkt *p = &fr->p;
	uint32_t next_hop, client, li;
	uint16_t iface, ep_iface;

	if (f == NULL || gax_flow_key_dir(f, fr->key) != GAX_FLOW_DIR_ENDPOINT) {
		/* To an interface address and no flow's: the host's own (SSH, its probes). */
		if (fr->kind == K_NAT_REPLY && w->kernel[in_iface])
			to_kernel(w, v, in_iface);
		else
			drop(w, v, fr->kind == K_NAT_REPLY ? GAX_DROP_NO_FLOW :
					GAX_DROP_NOT_FOR_US);
		return;
	}
	li = gax_snapshot_listener_of_id(w->snap, f->listener);
	if (li == GAX_SNAP_NONE) {
		gax_fwd_end_flow(w, f); /* its listener was deleted */
		drop(w, v, GAX_DROP_NO_FLOW);
		return;
	}
	/*
	 * A reply comes in where gax sends to its endpoint (the reverse path
	 * check of a router): one with the flow's tuple arriving elsewhere (from
	 * the client side, say) is forged, and it neither reaches the client
	 * nor keeps the flow alive. ICMP errors are held to the same rule.
	 */
	if (!endpoint_hop(w->snap, f, &ep_iface, &next_hop) || ep_iface != in_iface) {
		drop(w, v, GAX_DROP_WRONG_INTERFACE);
		return;
	}
	track(w, f, li, GAX_FLOW_DIR_ENDPOINT, p, now);
	client = gax_flow_client_addr(f);
	if (!gax_snapshot_route(w->snap, client, &iface, &next_hop)) {
		drop(w, v, GAX_DROP_NO_ROUTE);
		return;
	}
	/* From the accelerated address and listener port, to the client. */
	if (gax_pkt_nat_forward(frame, p, gax_flow_vip_addr(f), gax_flow_vip_port(f), client,
			gax_flow_client_port(f)) != 0) {
		drop(w, v, GAX_DROP_TTL_EXPIRED);
		return;
	}
	gax_flow_account(f, GAX_FLOW_DIR_ENDPOINT, p->ip_len);
	if (f->listener < w->ctr.n_listeners) {
		w->ctr.listener[f->listener].packets_out++;
		w->ctr.listener[f->listener].bytes_out += p->ip_len;
	}
	if (f->endpoint < w->ctr.n_endpoints) {
		w->ctr.endpoint[f->endpoint].packets_from++;
		w->ctr.endpoint[f->endpoint].bytes_from += p->ip_len;
	}
	emit(w, frame, pkt, iface, next_hop, now, v);
}

/* ---- the burst ------------------------------------------------------------------ */

/*
 * Parse and sort one frame; for TCP/UDP, build its lookup key, or decide to
 * hand it to its owner. Returns the kind (K_DONE when the verdict is set).
 */
/* The owned-address entry of the last destination classified in this burst. */
struct addr_memo {
	uint32_t addr;	/* 0: none yet (0.0.0.0 is never a destination served) */
	const struct gax_snap_addr_slot *slot;
};

static enum kind
classify(struct gax_fwd_worker *w, const uint8_t *frame, uint16_t len, uint8_t csum,
		uint16_t in_iface, bool redirected, struct addr_memo *memo, struct frame *fr,
		struct gax_fwd_verdict *v)
{
	const struct gax_snap_addr_slot *a;
	uint32_t owner;
	int r;

	r = gax_pkt_parse(frame, len, &fr->p);
	if (r != GAX_DROP_NONE) {
		/* Another IP protocol to the host (OSPF, GRE...): its kernel may serve it. */
		if (r == GAX_DROP_UNSUPPORTED_PROTO && mac_is(frame, w->mac[in_iface]) &&
				kernel_takes(w, in_iface, fr->p.daddr))
			to_kernel(w, v, in_iface);
		else
			drop(w, v, (enum gax_drop_reason)r);
		return K_DONE;
	}
	/* Only frames to this interface (or broadcast ARP) are ours. */
	if (!mac_is(frame, w->mac[in_iface]) &&
			!(fr->p.ethertype == GAX_PKT_ETHERTYPE_ARP &&
			mac_is(frame, bcast_mac))) {
		drop(w, v, GAX_DROP_NOT_FOR_US);
		return K_DONE;
	}
	if (fr->p.ethertype == GAX_PKT_ETHERTYPE_ARP)
		return K_ARP;
	if (csum == GAX_FWD_CSUM_BAD ||
			(csum == GAX_FWD_CSUM_UNKNOWN && w->verify_l4_csum &&
			!gax_pkt_l4_csum_ok(frame, &fr->p))) {
		drop(w, v, GAX_DROP_BAD_L4_CSUM);
		return K_DONE;
	}
	if (fr->p.proto == GAX_PKT_PROTO_ICMP)
		return K_ICMP;
	/* Most frames of a burst go to one address: look it up once. */
	if (fr->p.daddr != memo->addr) {
		memo->addr = fr->p.daddr;
		memo->slot = gax_snapshot_find_addr(w->snap, fr->p.daddr);
	}
	a = memo->slot;
	if (a != NULL && a->kind == GAX_ADDR_ACCELERATOR)
		return K_CLIENT;
	if (a != NULL) {
		owner = gax_flow_owner_of_port(fr->p.dport, w->n_workers);
		fr->kind = K_NAT_REPLY;
	} else {
		owner = gax_fwd_client_owner(fr->p.daddr, fr->p.dport, w->n_workers);
		fr->kind = K_RESERVE_REPLY;
	}
	if (owner != w->worker_id && !redirected) {
		v->action = GAX_FWD_REDIRECT;
		v->worker = (uint16_t)owner;
		w->ctr.redirected_out++;
		return K_DONE;
	}
	return (enum kind)fr->kind;
}

void
gax_fwd_burst(struct gax_fwd_worker *w, uint8_t *const *frames, const uint16_t *lens,
		void *const *pkts, const uint8_t *csum, unsigned int n, uint16_t in_iface,
		bool redirected, uint64_t now, struct gax_fwd_verdict *v)
{
	struct frame fr[GAX_FWD_BURST];
	struct gax_flow_key keys[GAX_FWD_BURST];
	struct gax_flow *flows[GAX_FWD_BURST];
	uint64_t hashes[GAX_FWD_BURST];
	struct gax_flow_snat_hint hint[GAX_FWD_BURST];
	struct gax_fwd_iface_ctr *ic;
	struct addr_memo memo = { 0, NULL };
	unsigned int i, m = 0;
	uint64_t rx_bytes = 0;
	uint64_t opened = 0;	/* a bit per client key hash of the flows this burst opened */

	if (n > GAX_FWD_BURST)
		n = GAX_FWD_BURST;
	if (in_iface >= w->n_ifaces) {
		for (i = 0; i < n; i++)
			drop(w, &v[i], GAX_DROP_NOT_FOR_US);
		return;
	}
	ic = &w->ctr.iface[in_iface];
	if (redirected)
		w->ctr.redirected_in += n;

	/* 1: parse, sort, collect the keys to look up. */
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			__builtin_prefetch(frames[i + 1]);
		memset(&v[i], 0, sizeof(v[i]));
		rx_bytes += lens[i];
		fr[i].lookup = -1;
		fr[i].snat = -1;
		fr[i].chosen = false;
		fr[i].kind = (uint8_t)classify(w, frames[i], lens[i],
				csum != NULL ? csum[i] : GAX_FWD_CSUM_UNKNOWN, in_iface, redirected,
				&memo, &fr[i], &v[i]);
		if (fr[i].kind >= K_CLIENT) {
			/* Built in place: a copy would read it back before the stores land. */
			gax_flow_key_init(&keys[m], fr[i].p.saddr, fr[i].p.daddr, fr[i].p.sport,
					fr[i].p.dport, fr[i].p.proto);
			fr[i].key = &keys[m];
			fr[i].lookup = (int8_t)m++;
		}
	}

	if (!redirected) { /* a frame handed over was counted where it arrived */
		ic->rx_packets += n;
		ic->rx_bytes += rx_bytes;
	}

	/* 2: every flow of the burst at once. */
	if (m > 0 && gax_flow_lookup_bulk_hashed(w->flows, keys, m, flows, hashes) < (int)m)
		prepare_new_flows(w, fr, flows, n, hint); /* some frames open a flow */

	/* 3: serve each frame in order. */
	for (i = 0; i < n; i++) {
		struct gax_flow *f = fr[i].lookup >= 0 ? flows[fr[i].lookup] : NULL;

		switch (fr[i].kind) {
		case K_ARP:
			serve_arp(w, frames[i], lens[i], &fr[i].p, in_iface, redirected, now,
					&v[i]);
			break;
		case K_ICMP:
			serve_icmp(w, frames[i], pkts[i], &fr[i].p, in_iface, redirected, now,
					&v[i]);
			break;
		case K_CLIENT:
			serve_client(w, frames[i], pkts[i], &fr[i], f, hashes[fr[i].lookup], hint,
					redirected, f == NULL && (opened & key_bit(fr[i].key)) != 0,
					now, &v[i]);
			if (f == NULL)
				opened |= key_bit(fr[i].key);
			break;
		case K_NAT_REPLY:
		case K_RESERVE_REPLY:
			serve_reply(w, frames[i], pkts[i], &fr[i], f, in_iface, now, &v[i]);
			break;
		default:
			break;
		}
	}
}
