/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Health checks and drain in the daemon (docs/health.md): the prober of
 * lib/health probes every endpoint of a group whose health_check is enabled,
 * and the compile of lib/snapshot routes around what it finds. The prober's
 * thread only wakes the control thread (an eventfd); the control thread logs
 * the change and, when the published tables no longer match what the prober
 * knows, compiles the running document again against the current snapshot
 * (only the touched groups' tables are rebuilt) and publishes it through RCU.
 *
 * Drain is an operator's run-time state kept here by stable endpoint id, not
 * in the configuration file: a drained endpoint is compiled with weight 0
 * (no new flows, existing flows finish, never brought back by fail open).
 * It lasts while the endpoint exists in the running configuration and gaxd
 * runs; a restart forgets it.
 *
 * Everything here runs on the control thread, except the change callback
 * (prober thread: one write to the eventfd) and the readers of show and
 * telemetry, which take d->lock: the arrays read by id are replaced or
 * grown only under it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "gaxd.h"

/* What is probed for one endpoint id, for show endpoints. */
struct probe_of {
	uint32_t addr;		/* 0: no target for this id */
	uint16_t port;
	uint8_t protocol;	/* enum gax_health_proto */
};

struct gaxd_hstate {
	int efd;			/* written by the change callback; polled by control.c */
	uint8_t *drained;		/* [n_ids] by stable endpoint id */
	uint8_t *seen;			/* [n_ids] the state last logged (enum gax_health_state) */
	struct probe_of *probe;		/* [n_ids] */
	uint32_t n_ids;
	uint8_t *failed_open;		/* [n_lids] by stable listener id, as last published */
	uint32_t n_lids;
	uint32_t targets;		/* in the prober's set now */
	uint32_t unprobed;		/* checked groups' endpoints without an address */
	uint64_t fail_open_events;	/* listeners entering failed open */
	uint64_t republished;		/* compiles caused by health */
	uint64_t changes_seen;		/* state changes logged */
};

static void
health_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	/* The prober speaks syslog levels; EAL's are the same plus one. */
	rte_log((uint32_t)level + 1, gaxd_logtype, "gaxd: %s\n", msg);
}

/* The prober's thread: note the change and wake the control thread, nothing more. */
static void
health_change(void *ctx, uint32_t id, enum gax_health_state state, const char *reason)
{
	struct gaxd_hstate *hs = ctx;
	uint64_t one = 1;

	(void)id;
	(void)state;
	(void)reason;
	if (write(hs->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the wake-up is pending */
	}
}

static void
wake(struct gaxd_hstate *hs)
{
	health_change(hs, 0, GAX_HEALTH_UNKNOWN, NULL);
}

int
gaxd_health_start(struct gaxd *d)
{
	struct gax_health_opts o;
	struct gaxd_hstate *hs = calloc(1, sizeof(*hs));

	if (hs == NULL)
		return -ENOMEM;
	hs->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hs->efd < 0) {
		GAXD_LOG(ERR, "cannot start health checks: eventfd: %s", strerror(errno));
		free(hs);
		return -errno;
	}
	gax_health_opts_init(&o);
	o.on_change = health_change;
	o.change_ctx = hs;
	o.log = health_log;
	d->health = gax_health_create(&o);
	if (d->health == NULL) {
		int rc = -errno;

		GAXD_LOG(ERR, "cannot start the health prober: %s", strerror(errno));
		close(hs->efd);
		free(hs);
		return rc;
	}
	d->hstate = hs;
	return 0;
}

void
gaxd_health_stop(struct gaxd *d)
{
	struct gaxd_hstate *hs = d->hstate;

	gax_health_free(d->health); /* joins the thread: no callback after this */
	d->health = NULL;
	if (hs == NULL)
		return;
	close(hs->efd);
	free(hs->drained);
	free(hs->seen);
	free(hs->probe);
	free(hs->failed_open);
	free(hs);
	d->hstate = NULL;
}

int
gaxd_health_fd(const struct gaxd *d)
{
	return d->hstate != NULL ? d->hstate->efd : -1;
}

/* The compile's question: known unhealthy (unknown, unchecked and drained count as healthy). */
static bool
is_unhealthy(void *ctx, uint32_t id)
{
	struct gaxd *d = ctx;
	struct gax_health_status st;

	return d->health != NULL && gax_health_get(d->health, id, &st) == 0 &&
		st.state == GAX_HEALTH_UNHEALTHY;
}

static bool
is_drained(void *ctx, uint32_t id)
{
	const struct gaxd *d = ctx;

	return d->hstate != NULL && id < d->hstate->n_ids && d->hstate->drained[id] != 0;
}

void
gaxd_health_opts(struct gaxd *d, struct gax_snapshot_opts *so)
{
	so->unhealthy = is_unhealthy;
	so->health_ctx = d;
	so->drained = is_drained;
	so->drain_ctx = d;
}

/* Grow the arrays by endpoint id to @p n ids (zero-filled); under d->lock. */
static int
grow_ids(struct gaxd_hstate *hs, uint32_t n)
{
	uint8_t *dr, *seen;
	struct probe_of *pr;

	if (n <= hs->n_ids)
		return 0;
	dr = realloc(hs->drained, n);
	if (dr == NULL)
		return -ENOMEM;
	hs->drained = dr;
	seen = realloc(hs->seen, n);
	if (seen == NULL)
		return -ENOMEM;
	hs->seen = seen;
	pr = realloc(hs->probe, sizeof(*pr) * n);
	if (pr == NULL)
		return -ENOMEM;
	hs->probe = pr;
	memset(dr + hs->n_ids, 0, n - hs->n_ids);
	memset(seen + hs->n_ids, 0, n - hs->n_ids);
	memset(pr + hs->n_ids, 0, sizeof(*pr) * (n - hs->n_ids));
	hs->n_ids = n;
	return 0;
}

static int
grow_lids(struct gaxd_hstate *hs, uint32_t n)
{
	uint8_t *fo;

	if (n <= hs->n_lids)
		return 0;
	fo = realloc(hs->failed_open, n);
	if (fo == NULL)
		return -ENOMEM;
	memset(fo + hs->n_lids, 0, n - hs->n_lids);
	hs->failed_open = fo;
	hs->n_lids = n;
	return 0;
}

static enum gax_health_proto
probe_protocol(enum gax_protocol p)
{
	return p == GAX_PROTO_HTTPS ? GAX_HEALTH_HTTPS :
		p == GAX_PROTO_HTTP ? GAX_HEALTH_HTTP : GAX_HEALTH_TCP;
}

/*
 * The prober's targets from the running snapshot and configuration: one per
 * endpoint with an address in a group whose health_check is enabled, by the
 * endpoint's stable id. Weight 0 and drained endpoints are probed too, so
 * the operator sees whether one is fit to come back. The port is the check's
 * own, else the endpoint port of the listener's lowest port (its port
 * override, or that port itself). A domain endpoint is probed at the address
 * traffic goes to (the one the compile resolved it to), with its name as the
 * HTTP Host.
 */
static int
build_targets(struct gaxd *d, struct gax_health_target **out, unsigned int *n_out)
{
	const struct gax_snapshot *s = d->snap;
	const struct gax_config *cfg = d->cfg;
	struct gax_health_target *t;
	uint32_t ai, lj, k, e, gi = 0, n = 0;

	t = calloc(s->n_endpoints + 1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	d->hstate->unprobed = 0;
	for (ai = 0; ai < cfg->n_accelerators; ai++)
		for (lj = 0; lj < cfg->accelerators[ai].n_listeners; lj++) {
			const struct gax_listener *cl = &cfg->accelerators[ai].listeners[lj];

			for (k = 0; k < cl->n_groups; k++, gi++) {
				const struct gax_endpoint_group *cg = &cl->groups[k];
				const struct gax_health_check *hc = &cg->health_check;
				const struct gax_snap_group *g = &s->groups[gi];

				if (!cg->has_health_check || !hc->enabled)
					continue;
				for (e = 0; e < g->n_endpoints; e++) {
					const struct gax_snap_endpoint *ep =
						&s->endpoints[g->first_endpoint + e];
					struct gax_health_target *x = &t[n];

					if (ep->addr == 0) {
						d->hstate->unprobed++;
						continue;
					}
					x->id = ep->id;
					x->addr = ep->addr;
					x->port = hc->port != 0 ? hc->port : g->endpoint_port[0];
					x->protocol = probe_protocol(hc->protocol);
					x->path = hc->path;
					x->host = ep->type == GAX_ENDPOINT_DOMAIN ? ep->address : NULL;
					x->interval = hc->interval;
					x->timeout = hc->timeout;
					x->threshold = hc->threshold;
					n++;
				}
			}
		}
	*out = t;
	*n_out = n;
	return 0;
}

/* Whether the published tables disagree with what the prober knows now. */
static bool
stale(const struct gaxd *d)
{
	const struct gax_snapshot *s = d->snap;
	uint32_t ei;

	for (ei = 0; ei < s->n_endpoints; ei++)
		if (gax_snapshot_endpoint_unhealthy(s, ei) !=
				is_unhealthy((void *)d, s->endpoints[ei].id))
			return true;
	return false;
}

void
gaxd_health_published(struct gaxd *d)
{
	struct gaxd_hstate *hs = d->hstate;
	const struct gax_snapshot *s = d->snap;
	struct gax_health_target *t = NULL;
	unsigned int n = 0, i;
	char err[256];
	uint32_t li;
	int rc;

	if (hs == NULL || s == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	rc = grow_ids(hs, s->next_endpoint_id);
	if (rc == 0)
		rc = grow_lids(hs, s->next_listener_id);
	if (rc == 0)
		rc = build_targets(d, &t, &n);
	if (rc == 0) {
		/* An id gone from the configuration is gone for good: forget its drain. */
		for (i = 0; i < hs->n_ids; i++) {
			if (gax_snapshot_endpoint_of_id(s, i) == GAX_SNAP_NONE)
				hs->drained[i] = 0;
			memset(&hs->probe[i], 0, sizeof(hs->probe[i]));
		}
		for (i = 0; i < n; i++) {
			hs->probe[t[i].id].addr = t[i].addr;
			hs->probe[t[i].id].port = t[i].port;
			hs->probe[t[i].id].protocol = (uint8_t)t[i].protocol;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (rc != 0) {
		GAXD_LOG(ERR, "health checks not updated: %s", strerror(-rc));
		free(t);
		return;
	}
	rc = gax_health_set_targets(d->health, t, n, err, sizeof(err));
	free(t);
	if (rc != 0)
		GAXD_LOG(ERR, "health checks not updated: %s", err);
	else
		hs->targets = n;

	/* Fail open: log and count each listener entering or leaving it. */
	for (li = 0; li < s->n_listeners; li++) {
		const struct gax_snap_listener *l = &s->listeners[li];

		if (l->failed_open == (hs->failed_open[l->id] != 0))
			continue;
		hs->failed_open[l->id] = l->failed_open;
		if (l->failed_open) {
			hs->fail_open_events++;
			GAXD_LOG(WARNING, "listener %s FAILED OPEN: every endpoint that could serve "
					"is unhealthy, so new flows go to all of them as if healthy",
					l->key);
		} else {
			GAXD_LOG(NOTICE, "listener %s no longer fails open", l->key);
		}
	}
	/*
	 * A state that changed while this compile ran, or an unhealthy endpoint
	 * whose target was just removed or changed (now unknown, so healthy):
	 * compile again, through the same path as a change.
	 */
	if (stale(d))
		wake(hs);
}

/* Log each endpoint whose state changed since the last look, with its listener. */
static void
log_changes(struct gaxd *d)
{
	struct gaxd_hstate *hs = d->hstate;
	const struct gax_snapshot *s = d->snap;
	struct gax_health_status *st = NULL;
	unsigned int n = 0, i;

	if (gax_health_snapshot(d->health, &st, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		uint32_t ei = gax_snapshot_endpoint_of_id(s, st[i].id);
		const struct gax_snap_endpoint *e;

		if (st[i].id >= hs->n_ids || ei == GAX_SNAP_NONE ||
				hs->seen[st[i].id] == (uint8_t)st[i].state)
			continue;
		e = &s->endpoints[ei];
		rte_log(st[i].state == GAX_HEALTH_UNHEALTHY ? RTE_LOG_WARNING : RTE_LOG_NOTICE,
				gaxd_logtype, "gaxd: endpoint %s (listener %s) is %s (was %s): %s\n",
				e->key, s->listeners[s->groups[e->group].listener].key,
				gax_health_state_name(st[i].state),
				gax_health_state_name((enum gax_health_state)hs->seen[st[i].id]),
				st[i].change_reason[0] != '\0' ? st[i].change_reason : st[i].reason);
		hs->seen[st[i].id] = (uint8_t)st[i].state;
		hs->changes_seen++;
	}
	free(st);
}

/* Republish the running document, compiled with today's health and drain. */
static json_t *
republish(struct gaxd *d)
{
	return gaxd_apply(d, json_deep_copy(d->gen->doc), false, false);
}

void
gaxd_health_changed(struct gaxd *d)
{
	struct gaxd_hstate *hs = d->hstate;
	uint64_t v;
	json_t *r;

	if (hs == NULL || read(hs->efd, &v, sizeof(v)) != sizeof(v))
		return;
	log_changes(d);
	if (!stale(d))
		return; /* unknown -> healthy and the like: the tables are already right */
	hs->republished++;
	GAXD_LOG(NOTICE, "endpoint health changed: republishing");
	r = republish(d);
	if (!json_is_true(json_object_get(r, "ok")))
		GAXD_LOG(ERR, "republishing after a health change failed: %s",
				json_string_value(json_object_get(r, "error")));
	json_decref(r);
}

/* ---- drain ------------------------------------------------------------------------ */

static json_t *
fail(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/*
 * The endpoint a request names: "key" (accelerator/listener/group/address,
 * as show endpoints prints it), or "accelerator", "listener", "group" and
 * "address" as the endpoint verbs take them. Addresses compare as names do,
 * without case. Returns the index in d->snap, or GAX_SNAP_NONE with @p msg.
 */
static uint32_t
find_endpoint(const struct gaxd *d, const json_t *req, char *key, size_t keylen, char *msg,
		size_t msglen)
{
	const char *k = json_string_value(json_object_get(req, "key"));
	const char *a = json_string_value(json_object_get(req, "accelerator"));
	const char *l = json_string_value(json_object_get(req, "listener"));
	const char *g = json_string_value(json_object_get(req, "group"));
	const char *addr = json_string_value(json_object_get(req, "address"));
	uint32_t ei;

	if (k != NULL)
		snprintf(key, keylen, "%s", k);
	else if (a != NULL && l != NULL && g != NULL && addr != NULL)
		snprintf(key, keylen, "%s/%s/%s/%s", a, l, g, addr);
	else {
		snprintf(msg, msglen, "give the endpoint: \"key\" (accelerator/listener/group/"
				"address) or \"accelerator\", \"listener\", \"group\" and \"address\"");
		return GAX_SNAP_NONE;
	}
	for (ei = 0; ei < d->snap->n_endpoints; ei++)
		if (strcasecmp(d->snap->endpoints[ei].key, key) == 0)
			return ei;
	snprintf(msg, msglen, "no endpoint %.200s in the running configuration (gaxctl show "
			"endpoints lists them)", key);
	return GAX_SNAP_NONE;
}

json_t *
gaxd_health_drain(struct gaxd *d, const json_t *req, bool drain)
{
	struct gaxd_hstate *hs = d->hstate;
	const json_t *dry = json_object_get(req, "dry_run");
	char key[1024], msg[512];
	const char *ekey;
	uint32_t ei, id;
	json_t *r;
	bool was;

	if (hs == NULL)
		return fail("health checks and drain are not running");
	if (dry != NULL && !json_is_boolean(dry))
		return fail("\"dry_run\" must be true or false");
	ei = find_endpoint(d, req, key, sizeof(key), msg, sizeof(msg));
	if (ei == GAX_SNAP_NONE)
		return fail(msg);
	ekey = d->snap->endpoints[ei].key;
	id = d->snap->endpoints[ei].id;
	if (id >= hs->n_ids) /* not reached: published() sized them for this snapshot */
		return fail("out of memory");
	was = hs->drained[id] != 0;
	if (was == drain || json_is_true(dry))
		return json_pack("{s:b, s:s, s:b, s:b, s:b, s:I}", "ok", 1, "endpoint", ekey,
				"drained", json_is_true(dry) ? was : drain, "changed", 0,
				"dry_run", json_is_true(dry), "generation",
				(json_int_t)d->gen->generation);
	pthread_mutex_lock(&d->lock);
	hs->drained[id] = drain;
	pthread_mutex_unlock(&d->lock);
	snprintf(key, sizeof(key), "%s", ekey); /* d->snap is replaced by the publish */
	r = republish(d);
	if (!json_is_true(json_object_get(r, "ok"))) {
		pthread_mutex_lock(&d->lock);
		hs->drained[id] = was;
		pthread_mutex_unlock(&d->lock);
		return r;
	}
	json_decref(r);
	GAXD_LOG(NOTICE, "endpoint %s %s by the operator: %s", key,
			drain ? "drained" : "undrained",
			drain ? "no new flows, existing flows finish" : "takes new flows again");
	return json_pack("{s:b, s:s, s:b, s:b, s:b, s:I}", "ok", 1, "endpoint", key, "drained",
			drain, "changed", 1, "dry_run", 0, "generation",
			(json_int_t)d->gen->generation);
}

/* ---- show and stats --------------------------------------------------------------- */

static json_t *
time_json(time_t t)
{
	struct tm tm;
	char buf[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

void
gaxd_health_endpoint_json(const struct gaxd *d, uint32_t ei, json_t *ej)
{
	const struct gaxd_hstate *hs = d->hstate;
	const struct gax_snap_endpoint *e = &d->snap->endpoints[ei];
	struct gax_health_status st;
	const struct probe_of *p;
	char probe[64], a[16];
	bool checked;

	json_object_set_new(ej, "drained", json_boolean(gax_snapshot_endpoint_drained(d->snap,
			ei)));
	p = hs != NULL && e->id < hs->n_ids ? &hs->probe[e->id] : NULL;
	checked = p != NULL && p->addr != 0 && d->health != NULL &&
		gax_health_get(d->health, e->id, &st) == 0;
	if (!checked) {
		json_object_set_new(ej, "health", json_string("unchecked"));
		json_object_set_new(ej, "probe", json_null());
		json_object_set_new(ej, "last_result", json_null());
		json_object_set_new(ej, "reason", json_null());
		json_object_set_new(ej, "change_reason", json_null());
		json_object_set_new(ej, "last_change", json_null());
		json_object_set_new(ej, "since_change_s", json_null());
		return;
	}
	snprintf(probe, sizeof(probe), "%s %s:%u", gax_health_proto_name(p->protocol),
			gax_ip_format(p->addr, a), p->port);
	json_object_set_new(ej, "health", json_string(gax_health_state_name(st.state)));
	json_object_set_new(ej, "probe", json_string(probe));
	json_object_set_new(ej, "last_result", st.last_result == GAX_HEALTH_RESULT_NONE ?
			json_null() : json_string(st.last_result == GAX_HEALTH_RESULT_OK ? "ok" :
			"fail"));
	json_object_set_new(ej, "reason", st.reason[0] != '\0' ? json_string(st.reason) :
			json_null());
	json_object_set_new(ej, "change_reason", st.change_reason[0] != '\0' ?
			json_string(st.change_reason) : json_null());
	json_object_set_new(ej, "last_change", time_json(st.last_change));
	json_object_set_new(ej, "since_change_s", st.last_change != 0 ?
			json_integer((json_int_t)(time(NULL) - st.last_change)) : json_null());
	json_object_set_new(ej, "probes", json_integer((json_int_t)st.probes));
	json_object_set_new(ej, "failures", json_integer((json_int_t)st.failures));
}

json_t *
gaxd_health_stats_json(const struct gaxd *d)
{
	const struct gaxd_hstate *hs = d->hstate;
	struct gax_health_stats st;
	uint32_t i, drained = 0;

	gax_health_stats(d->health, &st);
	for (i = 0; hs != NULL && i < hs->n_ids; i++)
		drained += hs->drained[i] != 0;
	return json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
			"targets", hs != NULL ? (int)hs->targets : 0,
			"unhealthy", (int)d->snap->n_unhealthy,
			"drained", (int)drained,
			"listeners_failed_open", (int)d->snap->n_failed_open,
			"fail_open_events", (json_int_t)(hs != NULL ? hs->fail_open_events : 0),
			"state_changes", (json_int_t)st.changes,
			"republished", (json_int_t)(hs != NULL ? hs->republished : 0),
			"probes", (json_int_t)st.probes,
			"probe_failures", (json_int_t)st.failures,
			"probe_errors", (json_int_t)st.errors,
			"in_flight", (json_int_t)st.in_flight,
			"unprobed", hs != NULL ? (int)hs->unprobed : 0);
}
