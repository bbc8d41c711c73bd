/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Full-NAT source ports that tell which worker owns a flow.
 *
 * A worker only hands out ports p in [1024, 65535] with
 * p % n_workers == worker_id, so whichever queue RSS delivers an endpoint's
 * reply to, the worker that reads it computes the owner from the destination
 * port and hands the packet over. A port is free for a new flow when the
 * endpoint-side key it would create (endpoint addr:port -> NAT addr:port) is
 * in no flow of the table: the table itself is the allocator's only state,
 * beside a cursor that rotates through the candidates so a 5-tuple is reused
 * as late as possible (the endpoint may keep the old connection in TIME_WAIT
 * for a while). A port busy towards one endpoint is free towards every other.
 */
#include <errno.h>
#include <stdint.h>

#include <gax_hash.h>

#include "gax_flow.h"
#include "flow_priv.h"

void
flow_snat_init(struct gax_flow_table *t)
{
	uint32_t n = t->n_workers;
	uint32_t first = GAX_FLOW_SNAT_PORT_MIN +
		(t->worker_id + n - GAX_FLOW_SNAT_PORT_MIN % n) % n;

	t->snat_first = first;
	t->snat_count = (GAX_FLOW_SNAT_PORT_MAX - first) / n + 1;
	/* Start somewhere else after each restart, for the same TIME_WAIT reason. */
	t->snat_cursor = gax_hash_range(gax_hash_mix64(t->seed), t->snat_count);
}

int
gax_flow_snat_port(struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto, uint16_t *port)
{
	uint32_t probes = t->snat_count < GAX_FLOW_SNAT_PROBES ?
		t->snat_count : GAX_FLOW_SNAT_PROBES;
	uint32_t k = t->snat_cursor;
	struct gax_flow_key key;
	uint32_t i;

	gax_flow_key_init(&key, endpoint_addr, nat_addr, endpoint_port, 0, proto);
	for (i = 0; i < probes; i++) {
		key.dport = (uint16_t)(t->snat_first + k * t->n_workers);
		if (++k == t->snat_count)
			k = 0;
		if (flow_find(t, &key, flow_hash(t, &key), NULL) == NULL) {
			t->snat_cursor = k;
			t->stats.snat_ports++;
			*port = key.dport;
			return 0;
		}
	}
	t->snat_cursor = k;
	t->stats.snat_failures++;
	return -EADDRNOTAVAIL;
}

uint32_t
gax_flow_snat_port_count(const struct gax_flow_table *t)
{
	return t->snat_count;
}

void
gax_flow_snat_prefetch(const struct gax_flow_table *t, uint32_t nat_addr, uint32_t endpoint_addr,
		uint16_t endpoint_port, uint8_t proto, uint32_t ahead)
{
	uint32_t k = t->snat_cursor + ahead % t->snat_count;
	struct gax_flow_key key;

	if (k >= t->snat_count)
		k -= t->snat_count;
	gax_flow_key_init(&key, endpoint_addr, nat_addr, endpoint_port,
			(uint16_t)(t->snat_first + k * t->n_workers), proto);
	__builtin_prefetch(&t->slots[flow_sig(flow_hash(t, &key)) & t->slot_mask], 0, 3);
}
