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

#endif /* GAX_FWD_PRIV_H */
