/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the files of lib/fwd. */
#ifndef GAX_FWD_PRIV_H
#define GAX_FWD_PRIV_H

#include "gax_fwd.h"

/* gax_neigh_pkt_fn for held packets given up: counts, then calls drop_held. */
void gax_fwd_held_dropped(void *ctx, void *pkt, uint16_t iface, uint32_t addr,
		const uint8_t *mac);

/* Broadcast an ARP request for @p tip on @p iface (from its address on that subnet). */
void gax_fwd_send_arp(struct gax_fwd_worker *w, uint16_t iface, uint32_t tip);

/* Count a flow's end for its listener and endpoint (flow expiry calls it too). */
static inline void
gax_fwd_count_end(struct gax_fwd_worker *w, const struct gax_flow *f)
{
	if (f->listener < w->ctr.n_listeners)
		w->ctr.listener[f->listener].ended_flows++;
	if (f->endpoint < w->ctr.n_endpoints)
		w->ctr.endpoint[f->endpoint].ended_flows++;
}

/* End a flow now: counted, then deleted. */
static inline void
gax_fwd_end_flow(struct gax_fwd_worker *w, struct gax_flow *f)
{
	gax_fwd_count_end(w, f);
	gax_flow_delete(w->flows, f);
}

#endif /* GAX_FWD_PRIV_H */
