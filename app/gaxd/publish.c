/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration changes on the control thread: validate, review, compile
 * off the packet path, publish by one pointer store, wait for an RCU grace
 * period (each worker reports a quiescent state once per loop, after moving
 * to the newest generation), then free what the workers no longer see; and
 * write the applied document back to the config file (beside it, then
 * renamed) so a restart comes back to what was running.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include <gax_diff.h>

#include "gaxd.h"

static void
gen_free(struct gaxd_gen *g, uint32_t n_workers, bool arrays)
{
	uint32_t i;

	if (g == NULL)
		return;
	if (arrays && g->lctr != NULL)
		for (i = 0; i < n_workers; i++) {
			free(g->lctr[i]);
			free(g->ectr[i]);
		}
	free(g->lctr);
	free(g->ectr);
	gax_snapshot_free(g->snap);
	gax_config_free(g->cfg);
	json_decref(g->doc);
	free(g);
}

int
gaxd_gen_first(struct gaxd *d, json_t *doc)
{
	struct gaxd_gen *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -ENOMEM;
	g->generation = d->snap->generation;
	g->snap = d->snap;
	g->cfg = d->cfg;
	g->doc = doc;
	d->gen = g;
	return 0;
}

void
gaxd_gen_free_all(struct gaxd *d)
{
	if (d->gen == NULL) {
		gax_snapshot_free(d->snap);
		gax_config_free(d->cfg);
	} else {
		/*
		 * The workers are gone. The counter arrays of a published generation
		 * are freed with it; the first generation's belong to the workers.
		 */
		gen_free(d->gen, d->n_workers, true);
	}
	d->gen = NULL;
	d->snap = NULL;
	d->cfg = NULL;
}

/* Publish @p g to the workers and free the generation they leave. */
static int
publish(struct gaxd *d, struct gaxd_gen *g)
{
	struct gaxd_gen *old = d->gen;
	struct gax_fwd_listener_ctr **old_l;
	struct gax_fwd_endpoint_ctr **old_e;
	uint32_t i;

	old_l = calloc(d->n_workers, sizeof(*old_l));
	old_e = calloc(d->n_workers, sizeof(*old_e));
	g->lctr = calloc(d->n_workers, sizeof(*g->lctr));
	g->ectr = calloc(d->n_workers, sizeof(*g->ectr));
	if (old_l == NULL || old_e == NULL || g->lctr == NULL || g->ectr == NULL)
		goto nomem;
	for (i = 0; i < d->n_workers; i++) {
		g->lctr[i] = calloc(g->snap->next_listener_id + 1, sizeof(**g->lctr));
		g->ectr[i] = calloc(g->snap->next_endpoint_id + 1, sizeof(**g->ectr));
		if (g->lctr[i] == NULL || g->ectr[i] == NULL)
			goto nomem;
		/* What each worker counts into now; stable until it switches. */
		old_l[i] = d->workers[i].fwd->ctr.listener;
		old_e[i] = d->workers[i].fwd->ctr.endpoint;
	}

	pthread_mutex_lock(&d->lock);
	__atomic_store_n(&d->gen, g, __ATOMIC_RELEASE);
	/*
	 * Two grace periods. A worker reads d->gen, then reports its quiescent
	 * state (worker_sync()), and keeps its generation from one loop to the
	 * next: one that read the old pointer just before the store may report
	 * the first grace period while still on old. Having reported it, it
	 * sees g at its next read; the second grace period ends only after that
	 * read and the switch that follows it. Then nothing touches old.
	 */
	rte_rcu_qsbr_synchronize(d->rcu, RTE_QSBR_THRID_INVALID);
	rte_rcu_qsbr_synchronize(d->rcu, RTE_QSBR_THRID_INVALID);
	/* Every worker runs g now and no longer touches old. */
	d->snap = g->snap;
	d->cfg = g->cfg;
	for (i = 0; i < d->n_workers; i++) {
		free(old_l[i]);
		free(old_e[i]);
	}
	gen_free(old, d->n_workers, false);
	d->applied++;
	pthread_mutex_unlock(&d->lock);
	free(old_l);
	free(old_e);
	return 0;
nomem:
	for (i = 0; g->lctr != NULL && i < d->n_workers; i++) {
		free(g->lctr[i]);
		free(g->ectr[i]);
	}
	free(g->lctr);
	free(g->ectr);
	g->lctr = NULL;
	g->ectr = NULL;
	free(old_l);
	free(old_e);
	return -ENOMEM;
}

static double
ms(uint64_t cycles)
{
	return 1e3 * (double)cycles / (double)rte_get_tsc_hz();
}

static json_t *
error_reply(const char *msg, json_t *diagnostics)
{
	json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", msg);

	if (diagnostics != NULL)
		json_object_set_new(r, "diagnostics", diagnostics);
	return r;
}

/* Ports are opened at start: the interfaces (names, devices, order) cannot change. */
static json_t *
check_interfaces(const struct gax_config *run, const struct gax_config *cfg)
{
	char msg[256];
	unsigned int i;

	if (run->n_interfaces != cfg->n_interfaces) {
		snprintf(msg, sizeof(msg), "the configuration has %u interfaces and gaxd runs %u; "
				"interfaces cannot be added or removed while gaxd runs (restart it)",
				cfg->n_interfaces, run->n_interfaces);
		return error_reply(msg, json_pack("[{s:s, s:s, s:s}]", "severity", "error",
				"path", "interfaces", "message", msg));
	}
	for (i = 0; i < cfg->n_interfaces; i++) {
		bool same_name = strcmp(run->interfaces[i].name, cfg->interfaces[i].name) == 0;
		const char *rt = run->interfaces[i].kernel_twin, *nt = cfg->interfaces[i].kernel_twin;
		bool same_twin = rt == NULL ? nt == NULL : nt != NULL && strcmp(rt, nt) == 0;
		char path[48];

		if (same_name && !same_twin) {
			snprintf(msg, sizeof(msg), "interface %s has kernel twin %s in the running "
					"configuration; kernel twins are made at start and cannot change "
					"while gaxd runs (restart it)", run->interfaces[i].name,
					rt != NULL ? rt : "none");
			snprintf(path, sizeof(path), "interfaces[%u].kernel_twin", i);
			return error_reply(msg, json_pack("[{s:s, s:s, s:s}]", "severity", "error",
					"path", path, "message", msg));
		}
		if (same_name && strcmp(run->interfaces[i].device, cfg->interfaces[i].device) == 0)
			continue;
		snprintf(msg, sizeof(msg), "interface %u is %s on %s in the running configuration; "
				"its name and device cannot change while gaxd runs (restart it)", i,
				run->interfaces[i].name, run->interfaces[i].device);
		snprintf(path, sizeof(path), "interfaces[%u].%s", i, same_name ? "device" : "name");
		return error_reply(msg, json_pack("[{s:s, s:s, s:s}]", "severity", "error",
				"path", path, "message", msg));
	}
	return NULL;
}

/* The review of @p cfg against what runs: JSON and the printed tree. */
static void
review(const struct gaxd *d, const struct gax_config *cfg, json_t *reply)
{
	struct gax_diff *df = gax_diff_compute(d->cfg, cfg);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (df == NULL)
		return;
	json_object_set_new(reply, "review", gax_diff_to_json(df));
	f = open_memstream(&text, &len);
	if (f != NULL) {
		gax_diff_print(f, df);
		fclose(f);
		json_object_set_new(reply, "review_text", json_string(text != NULL ? text : ""));
		free(text);
	}
	gax_diff_free(df);
}

/* Write @p doc to the config file: beside it, synced, then renamed over it. */
static int
persist(const struct gaxd *d, const json_t *doc)
{
	char tmp[4096];
	int fd, rc = 0;
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text == NULL)
		return -ENOMEM;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.gaxd-tmp", d->opts.config_path) >= sizeof(tmp)) {
		free(text);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
	} else {
		size_t len = strlen(text), off = 0;

		while (off < len && rc == 0) {
			ssize_t w = write(fd, text + off, len - off);

			if (w < 0 && errno != EINTR)
				rc = -errno;
			else if (w > 0)
				off += (size_t)w;
		}
		if (rc == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
			rc = -EIO;
		close(fd);
		if (rc == 0 && rename(tmp, d->opts.config_path) != 0)
			rc = -errno;
		if (rc != 0)
			unlink(tmp);
	}
	free(text);
	return rc;
}

json_t *
gaxd_apply(struct gaxd *d, json_t *doc, bool dry_run, bool write_back)
{
	struct gax_snapshot_opts so;
	struct gax_diags diags;
	struct gax_config *cfg;
	struct gax_snapshot *snap;
	struct gaxd_gen *g;
	char *dir_buf, msg[160];
	uint64_t t0, t1, t2, t3, t4, t5;
	json_t *reply, *warnings;
	int rc;

	t0 = rte_rdtsc();
	dir_buf = strdup(d->opts.config_path);
	if (dir_buf == NULL) {
		json_decref(doc);
		return error_reply("out of memory", NULL);
	}
	gax_diags_init(&diags);
	cfg = gax_config_load_json(doc, dirname(dir_buf), &diags);
	free(dir_buf);
	t1 = rte_rdtsc();
	if (cfg == NULL) {
		snprintf(msg, sizeof(msg), "invalid configuration (%u error%s); the running one "
				"keeps serving", diags.n_errors, diags.n_errors == 1 ? "" : "s");
		reply = error_reply(msg, gax_diags_to_json(&diags));
		gax_diags_fini(&diags);
		json_decref(doc);
		d->refused++;
		GAXD_LOG(WARNING, "%s", msg);
		return reply;
	}
	warnings = diags.n > 0 ? gax_diags_to_json(&diags) : NULL; /* an expiring certificate */
	gax_diags_fini(&diags);
	reply = check_interfaces(d->cfg, cfg);
	if (reply != NULL) {
		gax_config_free(cfg);
		json_decref(doc);
		json_decref(warnings);
		d->refused++;
		return reply;
	}
	reply = json_pack("{s:b, s:b}", "ok", 1, "dry_run", dry_run);
	if (warnings != NULL)
		json_object_set_new(reply, "diagnostics", warnings);
	review(d, cfg, reply);
	t2 = rte_rdtsc();
	if (dry_run) {
		json_object_set_new(reply, "generation", json_integer((json_int_t)d->gen->generation));
		gax_config_free(cfg);
		json_decref(doc);
		return reply;
	}

	gaxd_resolver_names(d, cfg, false);
	memset(&so, 0, sizeof(so));
	so.generation = d->gen->generation + 1;
	so.prev = d->snap;
	so.resolve = gax_resolver_snapshot_cb;
	so.resolve_ctx = d->res;
	gaxd_health_opts(d, &so);
	snap = gax_snapshot_compile(cfg, &so);
	t3 = rte_rdtsc();
	g = snap != NULL ? calloc(1, sizeof(*g)) : NULL;
	if (g == NULL) {
		gax_snapshot_free(snap);
		gax_config_free(cfg);
		json_decref(doc);
		json_decref(reply);
		return error_reply("out of memory compiling the configuration", NULL);
	}
	g->generation = so.generation;
	g->snap = snap;
	g->cfg = cfg;
	g->doc = doc;
	if (publish(d, g) != 0) {
		gen_free(g, d->n_workers, false);
		json_decref(reply);
		return error_reply("out of memory publishing the configuration", NULL);
	}
	gaxd_xdp_refill(d); /* logs what it could not do; the old maps then stay */
	gaxd_health_published(d);
	gaxd_twins_sync(d);
	t4 = rte_rdtsc();
	json_object_set_new(reply, "generation", json_integer((json_int_t)g->generation));
	if (write_back) {
		rc = persist(d, doc);
		json_object_set_new(reply, "persisted", json_boolean(rc == 0));
		if (rc != 0) {
			snprintf(msg, sizeof(msg), "applied, but not written to %s: %s",
					d->opts.config_path, strerror(-rc));
			json_object_set_new(reply, "warning", json_string(msg));
			GAXD_LOG(ERR, "%s", msg);
		}
	}
	t5 = rte_rdtsc();
	json_object_set_new(reply, "timing_ms", json_pack("{s:f, s:f, s:f, s:f, s:f}",
			"validate", ms(t1 - t0), "review", ms(t2 - t1), "compile", ms(t3 - t2),
			"publish", ms(t4 - t3), "persist", ms(t5 - t4)));
	GAXD_LOG(NOTICE, "generation %" PRIu64 " published: %u listeners, %u endpoints, %u Maglev "
			"tables built, %u reused; validate %.1f ms, review %.1f ms, compile %.1f ms, "
			"publish %.1f ms, persist %.1f ms", g->generation, snap->n_listeners,
			snap->n_endpoints, snap->n_tables_built, snap->n_tables_reused, ms(t1 - t0),
			ms(t2 - t1), ms(t3 - t2), ms(t4 - t3), ms(t5 - t4));
	return reply;
}

json_t *
gaxd_reload(struct gaxd *d, bool dry_run)
{
	json_error_t err;
	json_t *doc = json_load_file(d->opts.config_path, JSON_REJECT_DUPLICATES, &err);
	char msg[512];

	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "%s: line %d, column %d: %s; the running configuration "
				"keeps serving", d->opts.config_path, err.line, err.column, err.text);
		d->refused++;
		GAXD_LOG(WARNING, "reload refused: %s", msg);
		return error_reply(msg, NULL);
	}
	/* The file is what runs after a reload: nothing to write back. */
	return gaxd_apply(d, doc, dry_run, false);
}

/* ---- domain endpoints ---------------------------------------------------------- */

static void
resolver_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	/* The resolver speaks syslog levels; EAL's are the same plus one. */
	rte_log((uint32_t)level + 1, gaxd_logtype, "gaxd: %s\n", msg);
}

int
gaxd_resolver_start(struct gaxd *d)
{
	struct gax_resolver_opts o;

	gax_resolver_opts_init(&o);
	o.interval_s = d->opts.resolve_interval;
	o.log = resolver_log;
	d->res = gax_resolver_create(&o);
	if (d->res == NULL) {
		GAXD_LOG(ERR, "cannot start the resolver: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Keep the domain endpoints of @p cfg resolved. With @p wait (at start),
 * give the first answers up to the resolver's timeout before compiling, so
 * gaxd does not start with endpoints it could have had.
 */
void
gaxd_resolver_names(struct gaxd *d, const struct gax_config *cfg, bool wait)
{
	const char **names = NULL;
	unsigned int n = 0, cap = 0, a, l, g, e, tries;
	struct gax_resolved st;
	bool pending;

	for (a = 0; a < cfg->n_accelerators; a++)
		for (l = 0; l < cfg->accelerators[a].n_listeners; l++) {
			const struct gax_listener *li = &cfg->accelerators[a].listeners[l];

			for (g = 0; g < li->n_groups; g++)
				for (e = 0; e < li->groups[g].n_endpoints; e++) {
					const struct gax_endpoint *ep = &li->groups[g].endpoints[e];

					if (ep->type != GAX_ENDPOINT_DOMAIN)
						continue;
					if (n == cap) {
						const char **v = realloc(names, sizeof(*v) *
								(cap = cap == 0 ? 16 : cap * 2));

						if (v == NULL) {
							free(names);
							return;
						}
						names = v;
					}
					names[n++] = ep->address;
				}
		}
	if (gax_resolver_set_names(d->res, names, n) != 0)
		GAXD_LOG(ERR, "cannot follow %u domain endpoint(s)", n);
	for (tries = 0; wait && n > 0 && tries < GAX_RESOLVE_DEFAULT_TIMEOUT_MS / 10; tries++) {
		for (e = 0, pending = false; e < n && !pending; e++)
			pending = gax_resolver_get(d->res, names[e], &st) == 0 &&
				st.state == GAX_RES_PENDING;
		if (!pending)
			break;
		usleep(10000);
	}
	free(names);
}

/* Some domain endpoint's addresses changed: the running document again, recompiled. */
void
gaxd_resolver_changed(struct gaxd *d)
{
	json_t *r;

	if (!gax_resolver_changed(d->res))
		return;
	GAXD_LOG(NOTICE, "domain endpoint addresses changed: republishing");
	r = gaxd_apply(d, json_deep_copy(d->gen->doc), false, false);
	if (!json_is_true(json_object_get(r, "ok")))
		GAXD_LOG(ERR, "republishing after a resolution failed: %s",
				json_string_value(json_object_get(r, "error")));
	json_decref(r);
}
