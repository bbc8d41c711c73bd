/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The requests of the control socket (docs/control.md), on the control
 * thread: each takes the request object and returns the reply object.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>

#include <gax_api.h>

#include "gaxd.h"

#define FLOWS_DEFAULT_LIMIT	20
#define FLOWS_MAX_LIMIT		1000
#define FLOWS_WAIT_MS		5000

static json_t *
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static double
uptime_s(const struct gaxd *d)
{
	return (double)(rte_rdtsc() - d->started_tsc) / (double)rte_get_tsc_hz();
}

static json_t *
cmd_ping(struct gaxd *d)
{
	return json_pack("{s:b, s:s, s:I, s:f, s:i, s:s, s:I, s:I}", "ok", 1, "version",
			GAX_VERSION, "generation", (json_int_t)d->gen->generation, "uptime_s",
			uptime_s(d), "workers", (int)d->n_workers, "config_path",
			d->opts.config_path, "applied", (json_int_t)d->applied, "refused",
			(json_int_t)d->refused);
}

/* "dry_run": absent or a boolean. */
static int
dry_run_of(const json_t *req, bool *dry)
{
	const json_t *v = json_object_get(req, "dry_run");

	if (v != NULL && !json_is_boolean(v))
		return -EINVAL;
	*dry = json_is_true(v);
	return 0;
}

static json_t *
cmd_apply(struct gaxd *d, const json_t *req)
{
	json_t *cfg = json_object_get(req, "config");
	bool dry;

	if (dry_run_of(req, &dry) != 0)
		return fail("\"dry_run\" must be true or false");
	if (!json_is_object(cfg))
		return fail("apply needs \"config\": the whole configuration document");
	return gaxd_apply(d, json_deep_copy(cfg), dry, true);
}

/* An API verb: the running document with one edit, then as apply. */
static json_t *
cmd_edit(struct gaxd *d, const json_t *req)
{
	json_t *doc;
	char err[256];
	bool dry;
	int rc;

	if (dry_run_of(req, &dry) != 0)
		return fail("\"dry_run\" must be true or false");
	doc = json_deep_copy(d->gen->doc);
	if (doc == NULL)
		return fail("out of memory");
	rc = gax_api_edit(doc, req, err, sizeof(err));
	if (rc != 0) {
		json_decref(doc);
		d->refused++;
		return fail("%s", err);
	}
	return gaxd_apply(d, doc, dry, true);
}

static uint64_t
active(uint64_t opened, uint64_t ended)
{
	return opened > ended ? opened - ended : 0;
}

static json_t *
addresses_json(const uint32_t *a, unsigned int n)
{
	json_t *arr = json_array();
	char buf[16];
	unsigned int i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(gax_ip_format(a[i], buf)));
	return arr;
}

static json_t *
show_listeners(struct gaxd *d)
{
	const struct gax_snapshot *s = d->snap;
	const struct gax_config *cfg = d->cfg;
	json_t *arr = json_array();
	uint32_t li = 0, ai, lj, k;
	char ports[1024];

	for (ai = 0; ai < cfg->n_accelerators; ai++) {
		const struct gax_accelerator *a = &cfg->accelerators[ai];

		for (lj = 0; lj < a->n_listeners; lj++, li++) {
			const struct gax_listener *cl = &a->listeners[lj];
			const struct gax_snap_listener *l = &s->listeners[li];
			struct gax_fwd_listener_ctr c;
			json_t *groups = json_array();

			gaxd_listener_sum(d, l->id, &c);
			gax_port_ranges_format(cl->port_ranges, cl->n_port_ranges, ports,
					sizeof(ports));
			for (k = 0; k < cl->n_groups; k++)
				json_array_append_new(groups, json_string(cl->groups[k].name));
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i,"
					" s:o, s:o, s:I, s:I, s:I, s:I, s:b}",
					"key", l->key, "accelerator", a->name, "name", cl->name,
					"protocol", gax_protocol_name(cl->protocol), "ports", ports,
					"client_affinity", gax_affinity_name(cl->client_affinity),
					"idle_timeout", (int)cl->idle_timeout,
					"addresses", addresses_json(a->addresses, a->n_addresses),
					"groups", groups,
					"new_flows", (json_int_t)c.new_flows,
					"active_flows", (json_int_t)active(c.new_flows, c.ended_flows),
					"packets_in", (json_int_t)c.packets_in,
					"packets_out", (json_int_t)c.packets_out,
					"failed_open", l->failed_open));
		}
	}
	return json_pack("{s:b, s:o}", "ok", 1, "listeners", arr);
}

/* The listener/group objects of the config, in snapshot order. */
static const struct gax_endpoint_group *
config_group(const struct gax_config *cfg, uint32_t gi, const struct gax_listener **lp)
{
	uint32_t ai, lj, k, n = 0;

	for (ai = 0; ai < cfg->n_accelerators; ai++)
		for (lj = 0; lj < cfg->accelerators[ai].n_listeners; lj++) {
			const struct gax_listener *l = &cfg->accelerators[ai].listeners[lj];

			for (k = 0; k < l->n_groups; k++, n++)
				if (n == gi) {
					*lp = l;
					return &l->groups[k];
				}
		}
	return NULL;
}

static json_t *
show_groups(struct gaxd *d)
{
	const struct gax_snapshot *s = d->snap;
	json_t *arr = json_array();
	uint32_t gi, k;

	for (gi = 0; gi < s->n_groups; gi++) {
		const struct gax_snap_group *g = &s->groups[gi];
		const struct gax_snap_listener *l = &s->listeners[g->listener];
		const struct gax_listener *cl = NULL;
		const struct gax_endpoint_group *cg = config_group(d->cfg, gi, &cl);
		json_t *eps = json_array(), *po = json_array();
		uint64_t act = 0;

		for (k = 0; k < g->n_endpoints; k++) {
			const struct gax_snap_endpoint *e = &s->endpoints[g->first_endpoint + k];
			struct gax_fwd_endpoint_ctr c;

			gaxd_endpoint_sum(d, e->id, &c);
			act += active(c.new_flows, c.ended_flows);
			json_array_append_new(eps, json_string(e->address));
		}
		for (k = 0; cg != NULL && k < cg->n_port_overrides; k++)
			json_array_append_new(po, json_pack("{s:i, s:i}", "listener_port",
					cg->port_overrides[k].listener_port, "endpoint_port",
					cg->port_overrides[k].endpoint_port));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?, s:i, s:f, s:b, s:o,"
				" s:o, s:I}",
				"key", g->key, "listener", l->key, "name", g->name,
				"region", cg != NULL ? cg->region : NULL,
				"traffic_percentage", cg != NULL ? cg->traffic_percentage : 0,
				"share", l->split_total > 0 ?
				100.0 * (g->split_hi - g->split_lo) / l->split_total : 0.0,
				"reserve_client_ip", g->reserve_client_ip, "port_overrides", po,
				"endpoints", eps, "active_flows", (json_int_t)act));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "endpoint_groups", arr);
}

/* What the published tables do with endpoint @p ei. */
static const char *
endpoint_state(const struct gax_snapshot *s, uint32_t ei)
{
	const struct gax_snap_endpoint *e = &s->endpoints[ei];

	if (e->addr == 0)
		return "unresolved";
	if (e->iface == GAX_SNAP_NO_IFACE)
		return "unreachable";
	if (e->weight == 0)
		return "weight-0";
	if (gax_snapshot_endpoint_drained(s, ei))
		return "drained";
	if (gax_snapshot_endpoint_unhealthy(s, ei))
		return s->listeners[s->groups[e->group].listener].failed_open ? "failed-open" :
			"unhealthy";
	return "serving";
}

static json_t *
show_endpoints(struct gaxd *d)
{
	const struct gax_snapshot *s = d->snap;
	json_t *arr = json_array();
	uint32_t gi, k, counts[GAX_MAGLEV_MAX_BACKENDS];
	struct gax_resolved st;
	char buf[16];
	json_t *ej;

	for (gi = 0; gi < s->n_groups; gi++) {
		const struct gax_snap_group *g = &s->groups[gi];

		memset(counts, 0, sizeof(*counts) * GAX_MAGLEV_MAX_BACKENDS);
		if (g->table != NULL)
			gax_maglev_slot_counts(g->table, counts);
		for (k = 0; k < g->n_endpoints; k++) {
			const struct gax_snap_endpoint *e = &s->endpoints[g->first_endpoint + k];
			struct gax_fwd_endpoint_ctr c;

			gaxd_endpoint_sum(d, e->id, &c);
			ej = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:i, s:s,"
					" s:s, s:f, s:I, s:I, s:I, s:I}",
					"key", e->key, "group", g->key, "address", e->address,
					"type", e->type == GAX_ENDPOINT_DOMAIN ? "domain" : "ip",
					"resolved", e->addr != 0 ? gax_ip_format(e->addr, buf) : NULL,
					"weight", e->weight,
					"state", endpoint_state(s, g->first_endpoint + k),
					"health", "unchecked",
					"share", g->table != NULL ?
					100.0 * counts[k] / s->maglev_table_size : 0.0,
					"new_flows", (json_int_t)c.new_flows,
					"active_flows", (json_int_t)active(c.new_flows, c.ended_flows),
					"packets_to", (json_int_t)c.packets_to,
					"packets_from", (json_int_t)c.packets_from);
			gaxd_health_endpoint_json(d, g->first_endpoint + k, ej);
			if (e->type == GAX_ENDPOINT_DOMAIN && d->res != NULL &&
					gax_resolver_get(d->res, e->address, &st) == 0)
				json_object_set_new(ej, "resolution", json_pack("{s:s, s:i, s:s}",
						"state", gax_resolve_state_name(st.state),
						"failures", (int)st.failures,
						"last_error", st.last_error));
			json_array_append_new(arr, ej);
		}
	}
	return json_pack("{s:b, s:o}", "ok", 1, "endpoints", arr);
}

static json_t *
cmd_show(struct gaxd *d, const json_t *req)
{
	const char *what = json_string_value(json_object_get(req, "what"));

	if (what == NULL)
		return fail("show needs \"what\": listeners, endpoint-groups or endpoints");
	if (strcmp(what, "listeners") == 0)
		return show_listeners(d);
	if (strcmp(what, "endpoint-groups") == 0)
		return show_groups(d);
	if (strcmp(what, "endpoints") == 0)
		return show_endpoints(d);
	return fail("cannot show \"%s\": listeners, endpoint-groups or endpoints", what);
}

static json_t *
cmd_stats(struct gaxd *d)
{
	json_t *r = gaxd_stats_json(d);

	if (r == NULL)
		return fail("out of memory");
	json_object_set_new(r, "ok", json_true());
	json_object_set_new(r, "generation", json_integer((json_int_t)d->gen->generation));
	json_object_set_new(r, "uptime_s", json_real(uptime_s(d)));
	json_object_set_new(r, "health", gaxd_health_stats_json(d));
	return r;
}

/* An optional dotted address field: 0 when absent; -1 when malformed. */
static int
addr_field(const json_t *req, const char *name, uint32_t *addr)
{
	const json_t *v = json_object_get(req, name);
	struct in_addr in;

	*addr = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || inet_pton(AF_INET, json_string_value(v), &in) != 1)
		return -1;
	*addr = ntohl(in.s_addr);
	return 0;
}

static json_t *
flow_json(const struct gaxd *d, const struct gax_flow *f, uint32_t worker, uint64_t now)
{
	const struct gax_snapshot *s = d->snap;
	uint32_t li = gax_snapshot_listener_of_id(s, f->listener);
	uint32_t ei = gax_snapshot_endpoint_of_id(s, f->endpoint);
	char c[24], v[24], e[24], n[24], b[16];
	const char *state;

	snprintf(c, sizeof(c), "%s:%u", gax_ip_format(gax_flow_client_addr(f), b),
			gax_flow_client_port(f));
	snprintf(v, sizeof(v), "%s:%u", gax_ip_format(gax_flow_vip_addr(f), b),
			gax_flow_vip_port(f));
	snprintf(e, sizeof(e), "%s:%u", gax_ip_format(gax_flow_endpoint_addr(f), b),
			gax_flow_endpoint_port(f));
	snprintf(n, sizeof(n), "%s:%u", gax_ip_format(gax_flow_nat_addr(f), b),
			gax_flow_nat_port(f));
	if (f->proto != GAX_IPPROTO_TCP)
		state = "active";
	else if (gax_flow_closing(f))
		state = "closing";
	else if (f->state & (GAX_FLOW_ST_FIN_CLIENT | GAX_FLOW_ST_FIN_ENDPOINT))
		state = "half-closed";
	else
		state = "established";
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:f, s:I, s:I, s:I, s:I,"
			" s:i}",
			"client", c, "vip", v, "endpoint", e, "nat", n,
			"protocol", f->proto == GAX_IPPROTO_TCP ? "tcp" : "udp",
			"listener", li != GAX_SNAP_NONE ? s->listeners[li].key : NULL,
			"endpoint_key", ei != GAX_SNAP_NONE ? s->endpoints[ei].key : NULL,
			"state", state,
			"idle_s", (double)gax_flow_idle(d->workers[worker].fwd->flows, f, now) /
			(double)rte_get_tsc_hz(),
			"packets_in", (json_int_t)f->pkts[GAX_FLOW_DIR_CLIENT],
			"packets_out", (json_int_t)f->pkts[GAX_FLOW_DIR_ENDPOINT],
			"bytes_in", (json_int_t)f->bytes[GAX_FLOW_DIR_CLIENT],
			"bytes_out", (json_int_t)f->bytes[GAX_FLOW_DIR_ENDPOINT],
			"worker", (int)worker);
}

/*
 * A sample of the flows: each worker scans its own table a slice per loop
 * (see worker.c) while the control thread waits, bounded.
 */
static json_t *
cmd_flows(struct gaxd *d, const json_t *req)
{
	const json_t *lim = json_object_get(req, "limit");
	const char *lkey = json_string_value(json_object_get(req, "listener"));
	uint32_t listener_id = UINT32_MAX, ep = 0, client = 0, limit = FLOWS_DEFAULT_LIMIT;
	uint64_t total = 0, matched = 0;
	json_t *arr, *r;
	uint32_t i, k, waited;

	if (json_object_get(req, "listener") != NULL) {
		for (i = 0; lkey != NULL && i < d->snap->n_listeners; i++)
			if (strcmp(d->snap->listeners[i].key, lkey) == 0)
				listener_id = d->snap->listeners[i].id;
		if (listener_id == UINT32_MAX)
			return fail("no listener \"%s\" (give accelerator/listener)",
					lkey != NULL ? lkey : "?");
	}
	if (addr_field(req, "endpoint", &ep) != 0 || addr_field(req, "client", &client) != 0)
		return fail("\"endpoint\" and \"client\" are IPv4 addresses");
	if (lim != NULL) {
		if (!json_is_integer(lim) || json_integer_value(lim) < 0 ||
				json_integer_value(lim) > FLOWS_MAX_LIMIT)
			return fail("\"limit\" must be 0 to %d", FLOWS_MAX_LIMIT);
		limit = (uint32_t)json_integer_value(lim);
	}
	for (i = 0; i < d->n_workers; i++) {
		struct gaxd_flow_query *q = &d->workers[i].fq;

		memset(q, 0, sizeof(*q));
		q->listener_id = listener_id;
		q->endpoint_addr = ep;
		q->client_addr = client;
		q->limit = limit;
		q->out = calloc(limit + 1, sizeof(*q->out));
		if (q->out == NULL) {
			while (i-- > 0)
				free(d->workers[i].fq.out);
			return fail("out of memory");
		}
		__atomic_store_n(&q->state, GAXD_FQ_RUNNING, __ATOMIC_RELEASE);
	}
	for (waited = 0; waited < FLOWS_WAIT_MS; waited++) {
		for (i = 0; i < d->n_workers; i++)
			if (__atomic_load_n(&d->workers[i].fq.state, __ATOMIC_ACQUIRE) !=
					GAXD_FQ_DONE)
				break;
		if (i == d->n_workers)
			break;
		usleep(1000);
	}
	arr = json_array();
	for (i = 0; i < d->n_workers; i++) {
		struct gaxd_flow_query *q = &d->workers[i].fq;

		if (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) != GAXD_FQ_DONE) {
			/* Cannot happen while workers run; never free what one may write. */
			json_decref(arr);
			return fail("worker %u did not answer within %d ms", i, FLOWS_WAIT_MS);
		}
		total += q->total;
		matched += q->matched;
		for (k = 0; k < q->n_out && json_array_size(arr) < limit; k++)
			json_array_append_new(arr, flow_json(d, &q->out[k], i, q->now));
		free(q->out);
		q->out = NULL;
		__atomic_store_n(&q->state, GAXD_FQ_IDLE, __ATOMIC_RELEASE);
	}
	r = json_pack("{s:b, s:I, s:I, s:o}", "ok", 1, "count", (json_int_t)total, "matched",
			(json_int_t)matched, "flows", arr);
	return r;
}

json_t *
gaxd_handle(struct gaxd *d, const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	bool dry;

	if (cmd == NULL)
		return fail("a request needs \"cmd\" (a string)");
	if (strcmp(cmd, "ping") == 0)
		return cmd_ping(d);
	if (strcmp(cmd, "config.get") == 0)
		return json_pack("{s:b, s:O, s:I}", "ok", 1, "config", d->gen->doc, "generation",
				(json_int_t)d->gen->generation);
	if (strcmp(cmd, "apply") == 0)
		return cmd_apply(d, req);
	if (strcmp(cmd, "reload") == 0) {
		if (dry_run_of(req, &dry) != 0)
			return fail("\"dry_run\" must be true or false");
		return gaxd_reload(d, dry);
	}
	if (strcmp(cmd, "show") == 0)
		return cmd_show(d, req);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(d);
	if (strcmp(cmd, "flows") == 0)
		return cmd_flows(d, req);
	if (strcmp(cmd, "endpoint.drain") == 0 || strcmp(cmd, "endpoint.undrain") == 0)
		return gaxd_health_drain(d, req, strcmp(cmd, "endpoint.drain") == 0);
	if (gax_api_is_edit(cmd))
		return cmd_edit(d, req);
	return fail("unknown cmd \"%.64s\"", cmd);
}
