/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker's life: creation with its flow and neighbour tables, the periodic
 * work (flow expiry, ARP timers) and release.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd_priv.h"

void
gax_fwd_opts_init(struct gax_fwd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->worker_id = 0;
	o->n_workers = 1;
	o->flow_capacity = GAX_FLOW_DEFAULT_CAPACITY;
	o->tcp_closing_timeout_s = GAX_FLOW_DEFAULT_SHORT_TIMEOUT;
	o->ticks_per_second = 1000000000ull;
	o->verify_l4_csum = true;
	o->snat_port_min = GAX_FLOW_SNAT_PORT_MIN;
	o->snat_port_max = GAX_FLOW_SNAT_PORT_MAX;
	gax_neigh_opts_init(&o->neigh);
}

void
gax_fwd_set_kernel(struct gax_fwd_worker *w, uint16_t iface, bool on)
{
	if (iface < GAX_FWD_MAX_IFACES)
		w->kernel[iface] = on;
}

/* A flow expired: it ends for its listener and endpoint. */
static void
flow_expired(void *ctx, const struct gax_flow *f)
{
	gax_fwd_count_end(ctx, f);
}

static int
load_static_neighbors(struct gax_fwd_worker *w)
{
	const struct gax_snapshot *s = w->snap;
	uint32_t i, j;
	int rc;

	for (i = 0; i < s->n_interfaces; i++) {
		for (j = 0; j < s->interfaces[i].n_neighbors; j++) {
			const struct gax_neighbor *nb = &s->interfaces[i].neighbors[j];

			rc = gax_neigh_add_static(w->neigh, (uint16_t)i, nb->addr, nb->mac);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* Whether interface @p i of @p s has static neighbour @p addr. */
static bool
has_static(const struct gax_snapshot *s, uint32_t i, uint32_t addr)
{
	uint32_t j;

	if (i >= s->n_interfaces)
		return false;
	for (j = 0; j < s->interfaces[i].n_neighbors; j++)
		if (s->interfaces[i].neighbors[j].addr == addr)
			return true;
	return false;
}

void
gax_fwd_switch(struct gax_fwd_worker *w, const struct gax_snapshot *snap,
		struct gax_fwd_listener_ctr *listener, uint32_t n_listeners,
		struct gax_fwd_endpoint_ctr *endpoint, uint32_t n_endpoints)
{
	const struct gax_snapshot *old = w->snap;
	uint32_t i, j;

	/* Counters: what was counted under each id carries over. */
	memcpy(listener, w->ctr.listener, sizeof(*listener) *
			(w->ctr.n_listeners < n_listeners ? w->ctr.n_listeners : n_listeners));
	memcpy(endpoint, w->ctr.endpoint, sizeof(*endpoint) *
			(w->ctr.n_endpoints < n_endpoints ? w->ctr.n_endpoints : n_endpoints));
	w->ctr.listener = listener;
	w->ctr.n_listeners = n_listeners;
	w->ctr.endpoint = endpoint;
	w->ctr.n_endpoints = n_endpoints;
	w->own_ctr = false; /* the previous arrays are the caller's to free now */

	/* Static neighbours: drop those that left the config, (re)add the rest. */
	for (i = 0; i < old->n_interfaces; i++)
		for (j = 0; j < old->interfaces[i].n_neighbors; j++)
			if (!has_static(snap, i, old->interfaces[i].neighbors[j].addr))
				gax_neigh_delete(w->neigh, (uint16_t)i,
						old->interfaces[i].neighbors[j].addr,
						gax_fwd_held_dropped, w);
	w->snap = snap;
	load_static_neighbors(w);
}

struct gax_fwd_worker *
gax_fwd_create(const struct gax_snapshot *snap, const struct gax_fwd_opts *o)
{
	struct gax_fwd_opts def;
	struct gax_flow_opts fo;
	struct gax_neigh_opts no;
	struct gax_fwd_worker *w;
	int rc;

	if (o == NULL) {
		gax_fwd_opts_init(&def);
		o = &def;
	}
	if (snap == NULL || snap->n_interfaces > GAX_FWD_MAX_IFACES || o->n_workers == 0 ||
			o->n_workers > GAX_FWD_MAX_WORKERS || o->worker_id >= o->n_workers) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->snap = snap;
	w->worker_id = o->worker_id;
	w->n_workers = o->n_workers;
	w->n_ifaces = snap->n_interfaces;
	w->verify_l4_csum = o->verify_l4_csum;
	w->ticks_per_second = o->ticks_per_second;
	w->housekeep_ticks = o->ticks_per_second / (1000000 / GAX_FWD_HOUSEKEEP_US);
	/* Counters by id; later snapshots bring their own arrays (gax_fwd_switch()). */
	w->ctr.n_listeners = snap->next_listener_id;
	w->ctr.n_endpoints = snap->next_endpoint_id;
	w->ctr.listener = calloc(snap->next_listener_id + 1, sizeof(*w->ctr.listener));
	w->ctr.endpoint = calloc(snap->next_endpoint_id + 1, sizeof(*w->ctr.endpoint));
	w->own_ctr = true;
	if (w->ctr.listener == NULL || w->ctr.endpoint == NULL)
		goto fail;

	gax_flow_opts_init(&fo);
	fo.capacity = o->flow_capacity;
	fo.short_timeout_s = o->tcp_closing_timeout_s;
	fo.ticks_per_second = o->ticks_per_second;
	fo.n_workers = o->n_workers;
	fo.worker_id = o->worker_id;
	fo.snat_port_min = o->snat_port_min;
	fo.snat_port_max = o->snat_port_max;
	fo.expire_cb = flow_expired;
	fo.expire_ctx = w;
	fo.alloc = o->alloc;
	fo.free = o->free;
	fo.alloc_ctx = o->alloc_ctx;
	w->flows = gax_flow_create(&fo);
	if (w->flows == NULL)
		goto fail;

	no = o->neigh;
	no.ticks_per_second = o->ticks_per_second;
	w->neigh = gax_neigh_create(&no);
	if (w->neigh == NULL)
		goto fail;
	w->neigh_version = gax_neigh_version_ptr(w->neigh);
	rc = load_static_neighbors(w);
	if (rc != 0) {
		gax_fwd_free(w);
		errno = -rc;
		return NULL;
	}
	return w;
fail:
	rc = errno;
	gax_fwd_free(w);
	errno = rc;
	return NULL;
}

void
gax_fwd_set_mac(struct gax_fwd_worker *w, uint16_t iface, const uint8_t *mac)
{
	if (iface < GAX_FWD_MAX_IFACES)
		memcpy(w->mac[iface], mac, 6);
}

void
gax_fwd_set_io(struct gax_fwd_worker *w, gax_fwd_arp_fn send_arp, gax_neigh_pkt_fn tx_held,
		gax_neigh_pkt_fn drop_held, void *ctx)
{
	w->send_arp = send_arp;
	w->tx_held = tx_held;
	w->drop_held = drop_held;
	w->io_ctx = ctx;
}

/* A held packet was given up (ARP never answered, or the worker stops). */
void
gax_fwd_held_dropped(void *ctx, void *pkt, uint16_t iface, uint32_t addr, const uint8_t *mac)
{
	struct gax_fwd_worker *w = ctx;

	w->ctr.drops[GAX_DROP_ARP_UNRESOLVED]++;
	if (w->drop_held != NULL)
		w->drop_held(w->io_ctx, pkt, iface, addr, mac);
}

void
gax_fwd_free(struct gax_fwd_worker *w)
{
	if (w == NULL)
		return;
	if (w->neigh != NULL)
		gax_neigh_free(w->neigh, gax_fwd_held_dropped, w);
	gax_flow_free(w->flows);
	if (w->own_ctr) {
		free(w->ctr.listener);
		free(w->ctr.endpoint);
	}
	free(w);
}

/* The neighbour table asks for a retry or a refresh of @p addr. */
static void
neigh_request(void *ctx, uint16_t iface, uint32_t addr)
{
	gax_fwd_send_arp(ctx, iface, addr);
}

void
gax_fwd_tick(struct gax_fwd_worker *w, uint64_t now, unsigned int flow_budget,
		unsigned int neigh_budget)
{
	if (flow_budget > 0)
		gax_flow_expire(w->flows, now, flow_budget);
	if (neigh_budget > 0)
		gax_neigh_tick(w->neigh, now, neigh_budget, neigh_request, gax_fwd_held_dropped, w);
}

void
gax_fwd_housekeep(struct gax_fwd_worker *w, uint64_t now)
{
	uint64_t sweep = w->ticks_per_second * GAX_FWD_SWEEP_MS / 1000;
	uint64_t cap = gax_flow_span(w->flows), elapsed, work, flows, neigh;

	if (w->last_housekeep == 0 || now < w->last_housekeep) {
		w->last_housekeep = now;
		return;
	}
	elapsed = now - w->last_housekeep;
	if (elapsed < w->housekeep_ticks)
		return; /* a few records at a time cost more than they do */
	if (elapsed > sweep)
		elapsed = sweep; /* a long pause: one whole sweep is enough */
	/* Records to look at: span * elapsed / sweep, remainder carried. */
	work = elapsed * cap + w->sweep_carry;
	flows = work / (sweep > 0 ? sweep : 1);
	w->sweep_carry = work - flows * (sweep > 0 ? sweep : 1);
	neigh = flows / 64 + 1; /* the neighbour table is far smaller */
	w->last_housekeep = now;
	gax_fwd_tick(w, now, (unsigned int)flows, (unsigned int)neigh);
}
