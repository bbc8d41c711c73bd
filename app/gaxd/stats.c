/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters: the workers' per-lcore counters summed (read without stopping
 * them: each is a 64-bit word one writer updates), plus what each port's
 * driver counts. Printed for people at exit, written as JSON for scripts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <gax_packet.h>

#include "gaxd.h"

struct totals {
	struct gax_fwd_counters c;	/* listener/endpoint arrays allocated */
	uint64_t flows_active, flows_inserts, flows_full, flows_expired, snat_failures;
};

static int
totals_get(const struct gaxd *d, struct totals *t)
{
	uint32_t wi, i, r;

	memset(t, 0, sizeof(*t));
	/* By id (see gax_snapshot.h), like the workers' counters. */
	t->c.n_listeners = d->snap->next_listener_id;
	t->c.n_endpoints = d->snap->next_endpoint_id;
	t->c.listener = calloc(t->c.n_listeners + 1, sizeof(*t->c.listener));
	t->c.endpoint = calloc(t->c.n_endpoints + 1, sizeof(*t->c.endpoint));
	if (t->c.listener == NULL || t->c.endpoint == NULL) {
		free(t->c.listener);
		free(t->c.endpoint);
		return -ENOMEM;
	}
	for (wi = 0; wi < d->n_workers; wi++) {
		const struct gax_fwd_worker *w = d->workers[wi].fwd;
		const struct gax_fwd_counters *c = &w->ctr;
		struct gax_flow_stats fs;

		for (r = 0; r < GAX_DROP_REASON_MAX; r++)
			t->c.drops[r] += c->drops[r];
		t->c.icmp_errors_translated += c->icmp_errors_translated;
		t->c.redirected_out += c->redirected_out;
		t->c.redirected_in += c->redirected_in;
		t->c.tcp_reopened += c->tcp_reopened;
		for (i = 0; i < d->n_ifaces; i++) {
			const struct gax_fwd_iface_ctr *a = &c->iface[i];
			struct gax_fwd_iface_ctr *b = &t->c.iface[i];

			b->rx_packets += a->rx_packets;
			b->rx_bytes += a->rx_bytes;
			b->tx_packets += a->tx_packets;
			b->tx_bytes += a->tx_bytes;
			b->arp_requests += a->arp_requests;
			b->arp_replies += a->arp_replies;
			b->icmp_echo_replies += a->icmp_echo_replies;
			b->to_kernel += a->to_kernel;
		}
		gax_flow_stats_get(w->flows, &fs);
		t->flows_active += fs.active;
		t->flows_inserts += fs.inserts;
		t->flows_full += fs.insert_full;
		t->flows_expired += fs.expired;
		t->snat_failures += fs.snat_failures;
	}
	for (i = 0; i < d->snap->n_listeners; i++)
		gaxd_listener_sum(d, d->snap->listeners[i].id,
				&t->c.listener[d->snap->listeners[i].id]);
	for (i = 0; i < d->snap->n_endpoints; i++)
		gaxd_endpoint_sum(d, d->snap->endpoints[i].id,
				&t->c.endpoint[d->snap->endpoints[i].id]);
	return 0;
}

static void
totals_free(struct totals *t)
{
	free(t->c.listener);
	free(t->c.endpoint);
}

static uint64_t
active(uint64_t opened, uint64_t ended)
{
	return opened > ended ? opened - ended : 0;
}

static void
ip_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

void
gaxd_stats_print(const struct gaxd *d, FILE *out)
{
	struct totals t;
	struct rte_eth_stats es;
	uint32_t i;
	uint64_t dropped = 0;

	if (d->workers == NULL || totals_get(d, &t) != 0)
		return;
	fprintf(out, "gaxd: counters\n  ports:\n");
	for (i = 0; i < d->n_ifaces; i++) {
		const struct gax_fwd_iface_ctr *c = &t.c.iface[i];

		if (rte_eth_stats_get(d->port_of_iface[i], &es) != 0)
			memset(&es, 0, sizeof(es));
		fprintf(out, "    %-6s %-18s rx %10" PRIu64 " pkts %12" PRIu64 " B   tx %10" PRIu64
				" pkts %12" PRIu64 " B   missed %" PRIu64 " errors %" PRIu64
				"   arp req %" PRIu64 " rep %" PRIu64 "   echo %" PRIu64 "\n",
				d->snap->interfaces[i].name, d->snap->interfaces[i].device,
				c->rx_packets, c->rx_bytes, c->tx_packets, c->tx_bytes, es.imissed,
				es.ierrors + es.oerrors, c->arp_requests, c->arp_replies,
				c->icmp_echo_replies);
	}
	fprintf(out, "  listeners:\n");
	for (i = 0; i < d->snap->n_listeners; i++) {
		const struct gax_fwd_listener_ctr *c = &t.c.listener[d->snap->listeners[i].id];

		fprintf(out, "    %-24s in %8" PRIu64 " pkts %10" PRIu64 " B   out %8" PRIu64
				" pkts %10" PRIu64 " B   flows new %" PRIu64 " active %" PRIu64 "\n",
				d->snap->listeners[i].key, c->packets_in, c->bytes_in, c->packets_out,
				c->bytes_out, c->new_flows, active(c->new_flows, c->ended_flows));
	}
	fprintf(out, "  endpoints:\n");
	for (i = 0; i < d->snap->n_endpoints; i++) {
		const struct gax_fwd_endpoint_ctr *c = &t.c.endpoint[d->snap->endpoints[i].id];

		fprintf(out, "    %-40s w%-3u to %8" PRIu64 " pkts   from %8" PRIu64
				" pkts   flows new %" PRIu64 " active %" PRIu64 "\n",
				d->snap->endpoints[i].key, d->snap->endpoints[i].weight, c->packets_to,
				c->packets_from, c->new_flows, active(c->new_flows, c->ended_flows));
	}
	fprintf(out, "  flows: active %" PRIu64 ", opened %" PRIu64 ", expired %" PRIu64
			", refused (table full) %" PRIu64 "; icmp errors translated %" PRIu64
			", handed over %" PRIu64 "\n", t.flows_active, t.flows_inserts,
			t.flows_expired, t.flows_full, t.c.icmp_errors_translated,
			t.c.redirected_out);
	fprintf(out, "  drops:");
	for (i = 1; i < GAX_DROP_REASON_MAX; i++) {
		if (t.c.drops[i] == 0)
			continue;
		fprintf(out, " %s %" PRIu64 ";", gax_drop_reason_name(i), t.c.drops[i]);
		dropped += t.c.drops[i];
	}
	fprintf(out, dropped == 0 ? " none\n" : "\n");
	gaxd_xdp_stats_print(d, out);
	gaxd_twin_stats_print(d, out);
	totals_free(&t);
}

/* json_object_set_new() of a counter. */
static void
jset(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

static json_t *
stats_json(const struct gaxd *d, const struct totals *t)
{
	json_t *root = json_object(), *ports = json_array(), *ls = json_array(),
		*eps = json_array(), *drops = json_object(), *flows = json_object(), *o;
	struct rte_eth_stats es;
	char buf[16];
	uint32_t i;

	for (i = 0; i < d->n_ifaces; i++) {
		const struct gax_fwd_iface_ctr *c = &t->c.iface[i];

		if (rte_eth_stats_get(d->port_of_iface[i], &es) != 0)
			memset(&es, 0, sizeof(es));
		o = json_object();
		json_object_set_new(o, "name", json_string(d->snap->interfaces[i].device));
		json_object_set_new(o, "interface", json_string(d->snap->interfaces[i].name));
		jset(o, "rx_packets", c->rx_packets);
		jset(o, "rx_bytes", c->rx_bytes);
		jset(o, "tx_packets", c->tx_packets);
		jset(o, "tx_bytes", c->tx_bytes);
		jset(o, "rx_missed", es.imissed);
		jset(o, "rx_errors", es.ierrors);
		jset(o, "tx_errors", es.oerrors);
		jset(o, "arp_requests", c->arp_requests);
		jset(o, "arp_replies", c->arp_replies);
		jset(o, "icmp_echo_replies", c->icmp_echo_replies);
		jset(o, "to_kernel", c->to_kernel);
		json_array_append_new(ports, o);
	}
	for (i = 0; i < d->snap->n_listeners; i++) {
		const struct gax_fwd_listener_ctr *c = &t->c.listener[d->snap->listeners[i].id];

		o = json_object();
		json_object_set_new(o, "key", json_string(d->snap->listeners[i].key));
		jset(o, "packets_in", c->packets_in);
		jset(o, "bytes_in", c->bytes_in);
		jset(o, "packets_out", c->packets_out);
		jset(o, "bytes_out", c->bytes_out);
		jset(o, "new_flows", c->new_flows);
		jset(o, "active_flows", active(c->new_flows, c->ended_flows));
		json_array_append_new(ls, o);
	}
	for (i = 0; i < d->snap->n_endpoints; i++) {
		const struct gax_snap_endpoint *e = &d->snap->endpoints[i];
		const struct gax_fwd_endpoint_ctr *c = &t->c.endpoint[e->id];

		o = json_object();
		json_object_set_new(o, "key", json_string(e->key));
		ip_str(e->addr, buf, sizeof(buf));
		json_object_set_new(o, "address", json_string(e->addr != 0 ? buf : e->address));
		jset(o, "weight", e->weight);
		jset(o, "packets_to", c->packets_to);
		jset(o, "bytes_to", c->bytes_to);
		jset(o, "packets_from", c->packets_from);
		jset(o, "bytes_from", c->bytes_from);
		jset(o, "new_flows", c->new_flows);
		jset(o, "active_flows", active(c->new_flows, c->ended_flows));
		json_array_append_new(eps, o);
	}
	for (i = 1; i < GAX_DROP_REASON_MAX; i++)
		jset(drops, gax_drop_reason_name(i), t->c.drops[i]);
	jset(flows, "active", t->flows_active);
	jset(flows, "inserts", t->flows_inserts);
	jset(flows, "insert_full", t->flows_full);
	jset(flows, "expired", t->flows_expired);
	jset(flows, "snat_failures", t->snat_failures);
	jset(flows, "tcp_reopened", t->c.tcp_reopened);
	jset(flows, "icmp_errors_translated", t->c.icmp_errors_translated);
	jset(flows, "redirected", t->c.redirected_out);
	json_object_set_new(root, "ports", ports);
	json_object_set_new(root, "listeners", ls);
	json_object_set_new(root, "endpoints", eps);
	json_object_set_new(root, "drops", drops);
	json_object_set_new(root, "flows", flows);
	if ((o = gaxd_xdp_stats_json(d)) != NULL)
		json_object_set_new(root, "xdp", o);
	if ((o = gaxd_twin_stats_json(d)) != NULL)
		json_object_set_new(root, "kernel_twins", o);
	return root;
}

json_t *
gaxd_stats_json(const struct gaxd *d)
{
	struct totals t;
	json_t *root;

	if (d->workers == NULL || totals_get(d, &t) != 0)
		return NULL;
	root = stats_json(d, &t);
	totals_free(&t);
	return root;
}

void
gaxd_listener_sum(const struct gaxd *d, uint32_t id, struct gax_fwd_listener_ctr *out)
{
	uint32_t w;

	memset(out, 0, sizeof(*out));
	for (w = 0; w < d->n_workers; w++) {
		const struct gax_fwd_counters *c = &d->workers[w].fwd->ctr;
		const struct gax_fwd_listener_ctr *a;

		if (id >= c->n_listeners)
			continue;
		a = &c->listener[id];
		out->packets_in += a->packets_in;
		out->bytes_in += a->bytes_in;
		out->packets_out += a->packets_out;
		out->bytes_out += a->bytes_out;
		out->new_flows += a->new_flows;
		out->ended_flows += a->ended_flows;
	}
}

void
gaxd_endpoint_sum(const struct gaxd *d, uint32_t id, struct gax_fwd_endpoint_ctr *out)
{
	uint32_t w;

	memset(out, 0, sizeof(*out));
	for (w = 0; w < d->n_workers; w++) {
		const struct gax_fwd_counters *c = &d->workers[w].fwd->ctr;
		const struct gax_fwd_endpoint_ctr *a;

		if (id >= c->n_endpoints)
			continue;
		a = &c->endpoint[id];
		out->packets_to += a->packets_to;
		out->bytes_to += a->bytes_to;
		out->packets_from += a->packets_from;
		out->bytes_from += a->bytes_from;
		out->new_flows += a->new_flows;
		out->ended_flows += a->ended_flows;
	}
}

int
gaxd_stats_write_json(const struct gaxd *d, const char *path)
{
	struct totals t;
	json_t *root;
	char tmp[4096];
	int rc;

	if (d->workers == NULL)
		return -EINVAL;
	rc = totals_get(d, &t);
	if (rc != 0)
		return rc;
	root = stats_json(d, &t);
	totals_free(&t);
	/* Written beside, then renamed: a reader never sees half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (rc != 0 || rename(tmp, path) != 0) {
		rc = errno != 0 ? -errno : -EIO;
		GAXD_LOG(ERR, "cannot write the counters to %s: %s", path, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	return 0;
}
