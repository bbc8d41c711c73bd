/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `gaxctl explain`: prints, from a compiled snapshot, what the forwarder will
 * do with each accelerated address, protocol and port: which listener serves
 * it, how new flows are split over endpoint groups, each endpoint's actual
 * share of its group's Maglev table (what the weights become), the port a
 * packet is sent to, the egress interface, next hop and NAT source, and
 * what health changed: endpoints left out, groups whose share went to the
 * others, listeners that failed open.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gax_snapshot.h"

static void
print_ports(FILE *out, const uint16_t *ports, unsigned int n)
{
	unsigned int i = 0, j;

	while (i < n) {
		for (j = i; j + 1 < n && ports[j + 1] == ports[j] + 1; j++)
			;
		if (j == i)
			fprintf(out, "%s%u", i > 0 ? "," : "", ports[i]);
		else
			fprintf(out, "%s%u~%u", i > 0 ? "," : "", ports[i], ports[j]);
		i = j + 1;
	}
}

static void
print_port_mapping(FILE *out, const struct gax_snap_listener *l, const struct gax_snap_group *g)
{
	unsigned int i, n = 0;

	if (g->endpoint_port == l->ports) {
		fprintf(out, "same port as the listener");
		return;
	}
	for (i = 0; i < l->n_ports; i++) {
		if (g->endpoint_port[i] == l->ports[i])
			continue;
		fprintf(out, "%s%u->%u", n++ > 0 ? ", " : "", l->ports[i], g->endpoint_port[i]);
	}
	if (n < l->n_ports)
		fprintf(out, ", others unchanged");
}

/* Why @p e takes no new flows, or NULL when it takes its share. */
static const char *
endpoint_state(const struct gax_snapshot *s, const struct gax_snap_listener *l, uint32_t ei)
{
	const struct gax_snap_endpoint *e = &s->endpoints[ei];
	bool unhealthy = gax_snapshot_endpoint_unhealthy(s, ei);

	if (e->addr == 0)
		return "not resolved: takes no flows";
	if (e->iface == GAX_SNAP_NO_IFACE)
		return "unreachable: takes no flows";
	if (e->weight == 0)
		return unhealthy ? "weight 0: takes no new flows; unhealthy" :
			"weight 0: takes no new flows";
	if (gax_snapshot_endpoint_drained(s, ei))
		return unhealthy ? "drained: takes no new flows; unhealthy" :
			"drained: takes no new flows";
	if (unhealthy && !l->failed_open)
		return "unhealthy: excluded, takes no new flows";
	return NULL;
}

/* Whether @p g is out of the split because of health alone. */
static bool
group_out_for_health(const struct gax_snapshot *s, const struct gax_snap_group *g)
{
	uint32_t k;

	if (g->table != NULL)
		return false;
	for (k = 0; k < g->n_endpoints; k++) {
		const struct gax_snap_endpoint *e = &s->endpoints[g->first_endpoint + k];

		if (gax_snapshot_endpoint_unhealthy(s, g->first_endpoint + k) && e->weight > 0 &&
				!gax_snapshot_endpoint_drained(s, g->first_endpoint + k) &&
				e->addr != 0 && e->iface != GAX_SNAP_NO_IFACE)
			return true;
	}
	return false;
}

static void
explain_group(FILE *out, const struct gax_snapshot *s, const struct gax_snap_listener *l,
		const struct gax_snap_group *g)
{
	uint32_t counts[GAX_MAGLEV_MAX_BACKENDS];
	unsigned int k;
	char a[16], b[16], c[16];

	fprintf(out, "    endpoint group %s: ", g->name);
	if (group_out_for_health(s, g))
		fprintf(out, "takes no new flows (no healthy endpoint: its traffic_percentage %u "
				"goes to the other groups)", g->traffic_percentage);
	else if (l->split_total == 0 || g->split_hi == g->split_lo)
		fprintf(out, "takes no new flows (no endpoint can)");
	else
		fprintf(out, "%.1f%% of new flows (traffic_percentage %u)",
				100.0 * (g->split_hi - g->split_lo) / l->split_total,
				g->traffic_percentage);
	fprintf(out, ", %s", g->reserve_client_ip ? "client IP reserved (destination NAT only)" :
			"full NAT");
	if (l->protocol == GAX_PROTO_HTTP || l->protocol == GAX_PROTO_HTTPS)
		fprintf(out, ", to endpoints over %s", gax_protocol_name(g->request_protocol));
	fprintf(out, "\n      ports: ");
	print_port_mapping(out, l, g);
	fprintf(out, "\n");

	if (g->table != NULL)
		gax_maglev_slot_counts(g->table, counts);
	for (k = 0; k < g->n_endpoints; k++) {
		const struct gax_snap_endpoint *e = &s->endpoints[g->first_endpoint + k];
		const char *state = endpoint_state(s, l, g->first_endpoint + k);

		fprintf(out, "      %-24s weight %3u", e->address, e->weight);
		if (e->type == GAX_ENDPOINT_DOMAIN && e->addr != 0)
			fprintf(out, "  resolved %s", gax_ip_format(e->addr, a));
		if (g->table != NULL)
			fprintf(out, "  %5.1f%% of slots", 100.0 * counts[k] / g->table->size);
		if (state != NULL) {
			fprintf(out, "  (%s)\n", state);
			continue;
		}
		fprintf(out, "  via %s next hop %s", s->interfaces[e->iface].name,
				gax_ip_format(e->next_hop, b));
		if (!g->reserve_client_ip)
			fprintf(out, " from %s", gax_ip_format(e->snat_addr, c));
		if (gax_snapshot_endpoint_unhealthy(s, g->first_endpoint + k))
			fprintf(out, "  (unhealthy: serves, the listener failed open)");
		fprintf(out, "\n");
	}
	if (g->n_endpoints == 0)
		fprintf(out, "      (no endpoints)\n");
}

void
gax_snapshot_explain(FILE *out, const struct gax_snapshot *s)
{
	uint32_t i, j, li, gi;
	char a[16], b[16];

	fprintf(out, "%" PRIu32 " interface%s, %" PRIu32 " accelerator%s, %" PRIu32
			" listener%s, %" PRIu32 " endpoint group%s, %" PRIu32 " endpoint%s; "
			"Maglev tables of %" PRIu32 " slots (%" PRIu32 " built, %" PRIu32
			" shared)\n",
			s->n_interfaces, s->n_interfaces == 1 ? "" : "s",
			s->n_accelerators, s->n_accelerators == 1 ? "" : "s",
			s->n_listeners, s->n_listeners == 1 ? "" : "s",
			s->n_groups, s->n_groups == 1 ? "" : "s",
			s->n_endpoints, s->n_endpoints == 1 ? "" : "s",
			s->maglev_table_size, s->n_tables_built, s->n_tables_reused);
	if (s->n_unhealthy > 0 || s->n_failed_open > 0 || s->n_drained > 0)
	{
		fprintf(out, "Health: %" PRIu32 " endpoint%s unhealthy, %" PRIu32
				" listener%s failed open", s->n_unhealthy,
				s->n_unhealthy == 1 ? "" : "s", s->n_failed_open,
				s->n_failed_open == 1 ? "" : "s");
		if (s->n_drained > 0)
			fprintf(out, ", %" PRIu32 " drained", s->n_drained);
		fprintf(out, "\n");
	}

	fprintf(out, "\nInterfaces\n");
	for (i = 0; i < s->n_interfaces; i++) {
		const struct gax_snap_interface *in = &s->interfaces[i];

		fprintf(out, "  %-10s device %-20s", in->name, in->device);
		for (j = 0; j < in->n_addresses; j++)
			fprintf(out, " %s/%u", gax_ip_format(in->addresses[j].addr, a),
					in->addresses[j].len);
		if (in->gateway != 0)
			fprintf(out, "  gateway %s", gax_ip_format(in->gateway, b));
		if (in->n_neighbors > 0)
			fprintf(out, "  %" PRIu32 " static neighbor%s", in->n_neighbors,
					in->n_neighbors == 1 ? "" : "s");
		fprintf(out, "\n");
	}

	for (i = 0; i < s->n_accelerators; i++) {
		const struct gax_snap_accelerator *acc = &s->accelerators[i];

		fprintf(out, "\nAccelerator %s:", acc->name);
		for (j = 0; j < acc->n_addresses; j++)
			fprintf(out, " %s", gax_ip_format(acc->addresses[j], a));
		fprintf(out, "\n");
		if (acc->n_listeners == 0)
			fprintf(out, "  (no listeners: answers ARP and ping only)\n");
		for (li = acc->first_listener; li < acc->first_listener + acc->n_listeners; li++) {
			const struct gax_snap_listener *l = &s->listeners[li];

			fprintf(out, "  listener %s: %s ports ", l->name,
					gax_protocol_name(l->protocol));
			print_ports(out, l->ports, l->n_ports);
			fprintf(out, ", %s, idle timeout %" PRIu32 " s",
					l->affinity == GAX_AFFINITY_SOURCE_IP ?
					"a client address always reaches the same endpoint" :
					"new connections spread over endpoints",
					l->idle_timeout);
			if (l->request_timeout != 0)
				fprintf(out, ", request timeout %" PRIu32 " s", l->request_timeout);
			fprintf(out, "\n");
			if (l->protocol == GAX_PROTO_HTTP || l->protocol == GAX_PROTO_HTTPS)
				fprintf(out, "    (%s is forwarded by a later L7 stage; this release "
						"validates it only)\n", gax_protocol_name(l->protocol));
			if (l->failed_open)
				fprintf(out, "    (FAILED OPEN: every endpoint that could serve is "
						"unhealthy, so all of them serve as if healthy)\n");
			if (l->n_groups == 0)
				fprintf(out, "    (no endpoint groups: new connections are refused "
						"and counted)\n");
			else if (l->split_total == 0)
				fprintf(out, "    (no endpoint takes new flows: new connections are "
						"refused and counted)\n");
			for (gi = l->first_group; gi < l->first_group + l->n_groups; gi++)
				explain_group(out, s, l, &s->groups[gi]);
		}
	}
}
