/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The prober: a set of targets, each with its state and schedule, probed
 * from one thread that runs an epoll loop.
 *
 * The set is an array of pointers to records sorted by id, guarded by a
 * mutex (binary search for readers, a merge for gax_health_set_targets()).
 * A record's configuration is immutable; its status is guarded by the mutex;
 * its schedule and probe in flight belong to the prober's thread alone.
 * set_targets() swaps the array and bumps a generation; records it drops are
 * marked removed and chained on a dead list. The thread, at the top of each
 * pass, takes a private copy of the array when the generation moved, and
 * frees the dead records (closing their sockets) itself: so a record is never
 * freed under a probe, and the lock is never held across a socket call.
 *
 * Each pass ends probes past their deadline, starts probes that are due,
 * then waits in epoll_wait() until the nearest due time or deadline, a
 * socket event, or the eventfd (new targets, stop).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gax_health.h"
#include "health_priv.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define LOG_MSG_MAX 512
#define MAX_EVENTS 64

struct target_rec {
	/* immutable while the record lives */
	struct gax_health_target t;	/* t.path points to path */
	char path[GAX_HEALTH_PATH_MAX + 1];
	char host[GAX_HEALTH_HOST_MAX + 1];	/* Host header; "" for tcp */
	char name[40];			/* "http 10.1.0.21:80", for the log */
	struct probe_cfg cfg;
	/* guarded by the lock */
	struct gax_health_status st;
	bool removed;
	struct target_rec *next_dead;
	/* the prober's thread only (or set before the record is published) */
	uint64_t due_ns;
	struct probe pr;
};

struct gax_health {
	struct gax_health_opts o;
	char *ca_file;
	SSL_CTX *ssl;
	int epfd;
	int efd;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;
	struct target_rec **recs;	/* sorted by id */
	uint32_t n_recs;
	struct target_rec *dead;	/* removed, to be freed by the thread */
	uint64_t gen;
	bool stop;
	uint64_t probes;
	uint64_t successes;
	uint64_t failures;
	uint64_t changes;
	uint64_t errors;
	uint32_t in_flight;

	/* the thread's own */
	struct target_rec **mine;
	uint32_t n_mine;
	uint32_t cap_mine;
	uint64_t mine_gen;
	uint64_t rng;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* splitmix64: a well-mixed 64-bit value from any seed. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

const char *
gax_health_state_name(enum gax_health_state s)
{
	switch (s) {
	case GAX_HEALTH_UNKNOWN:
		return "unknown";
	case GAX_HEALTH_HEALTHY:
		return "healthy";
	case GAX_HEALTH_UNHEALTHY:
		return "unhealthy";
	}
	return "invalid";
}

const char *
gax_health_proto_name(enum gax_health_proto p)
{
	switch (p) {
	case GAX_HEALTH_TCP:
		return "tcp";
	case GAX_HEALTH_HTTP:
		return "http";
	case GAX_HEALTH_HTTPS:
		return "https";
	}
	return "invalid";
}

void
gax_health_opts_init(struct gax_health_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->unit_ms = GAX_HEALTH_DEFAULT_UNIT_MS;
}

static void
say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
log_msg(struct gax_health *h, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
log_msg(struct gax_health *h, int level, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX];
	va_list ap;

	if (h->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->o.log(h->o.log_ctx, level, msg);
}

/* ---- targets ------------------------------------------------------------ */

/* 1 to @p max printable ASCII characters, no space (nothing that could split a header). */
static bool
token_ok(const char *s, size_t max)
{
	size_t i, n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

int
gax_health_target_check(const struct gax_health_target *t, char *err, size_t errlen)
{
	if (t == NULL) {
		say(err, errlen, "target: NULL");
		return -EINVAL;
	}
	if (t->addr == 0) {
		say(err, errlen, "addr: 0.0.0.0 is not an endpoint address");
		return -EINVAL;
	}
	if (t->port == 0) {
		say(err, errlen, "port: 0 is outside 1-65535");
		return -EINVAL;
	}
	if (t->protocol != GAX_HEALTH_TCP && t->protocol != GAX_HEALTH_HTTP &&
			t->protocol != GAX_HEALTH_HTTPS) {
		say(err, errlen, "protocol: %d is not tcp, http or https", (int)t->protocol);
		return -EINVAL;
	}
	if (t->protocol != GAX_HEALTH_TCP && t->path != NULL &&
			(t->path[0] != '/' || !token_ok(t->path, GAX_HEALTH_PATH_MAX))) {
		say(err, errlen, "path: must start with '/', have 1-%d printable characters "
				"and no space", GAX_HEALTH_PATH_MAX);
		return -EINVAL;
	}
	if (t->protocol != GAX_HEALTH_TCP && t->host != NULL &&
			!token_ok(t->host, GAX_HEALTH_HOST_MAX)) {
		say(err, errlen, "host: must have 1-%d printable characters and no space",
				GAX_HEALTH_HOST_MAX);
		return -EINVAL;
	}
	if (t->interval < GAX_HEALTH_INTERVAL_MIN || t->interval > GAX_HEALTH_INTERVAL_MAX) {
		say(err, errlen, "interval: %u is outside %d-%d", t->interval,
				GAX_HEALTH_INTERVAL_MIN, GAX_HEALTH_INTERVAL_MAX);
		return -EINVAL;
	}
	if (t->timeout < GAX_HEALTH_TIMEOUT_MIN || t->timeout > GAX_HEALTH_TIMEOUT_MAX) {
		say(err, errlen, "timeout: %u is outside %d-%d", t->timeout,
				GAX_HEALTH_TIMEOUT_MIN, GAX_HEALTH_TIMEOUT_MAX);
		return -EINVAL;
	}
	if (t->timeout > t->interval) {
		say(err, errlen, "timeout: %u is above the interval (%u)", t->timeout,
				t->interval);
		return -EINVAL;
	}
	if (t->threshold < GAX_HEALTH_THRESHOLD_MIN || t->threshold > GAX_HEALTH_THRESHOLD_MAX) {
		say(err, errlen, "threshold: %u is outside %d-%d", t->threshold,
				GAX_HEALTH_THRESHOLD_MIN, GAX_HEALTH_THRESHOLD_MAX);
		return -EINVAL;
	}
	return 0;
}

static struct target_rec *
rec_new(const struct gax_health_target *t, uint64_t now, uint64_t unit_ns)
{
	struct target_rec *rec = calloc(1, sizeof(*rec));
	struct in_addr a = { .s_addr = htonl(t->addr) };
	uint16_t dflt = t->protocol == GAX_HEALTH_HTTPS ? 443 : 80;
	uint64_t spread;
	char ip[INET_ADDRSTRLEN];

	if (rec == NULL)
		return NULL;
	rec->t = *t;
	if (t->protocol == GAX_HEALTH_TCP)
		rec->path[0] = '\0';
	else
		snprintf(rec->path, sizeof(rec->path), "%s", t->path != NULL ? t->path : "/");
	rec->t.path = rec->path;
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	if (t->protocol == GAX_HEALTH_TCP)
		rec->host[0] = '\0';
	else if (t->host != NULL)
		snprintf(rec->host, sizeof(rec->host), "%s", t->host);
	else if (t->port == dflt)
		snprintf(rec->host, sizeof(rec->host), "%s", ip);
	else
		snprintf(rec->host, sizeof(rec->host), "%s:%u", ip, t->port);
	rec->t.host = rec->host;
	snprintf(rec->name, sizeof(rec->name), "%s %s:%u", gax_health_proto_name(t->protocol), ip,
			t->port);
	rec->cfg.addr = t->addr;
	rec->cfg.port = t->port;
	rec->cfg.protocol = t->protocol;
	rec->cfg.source_addr = t->source_addr;
	rec->cfg.path = rec->path;
	rec->cfg.host = rec->host;
	rec->st.id = t->id;
	rec->st.state = GAX_HEALTH_UNKNOWN;
	/* the first probe within a quarter of the interval (at most a unit), spread by id */
	spread = (uint64_t)t->interval * unit_ns / 4;
	if (spread > unit_ns)
		spread = unit_ns;
	rec->due_ns = now + (spread > 0 ? mix64(now ^ ((uint64_t)t->id << 32)) % spread : 0);
	probe_init(&rec->pr);
	return rec;
}

static bool
same_target(const struct target_rec *a, const struct target_rec *b)
{
	return a->t.id == b->t.id && a->t.addr == b->t.addr && a->t.port == b->t.port &&
		a->t.protocol == b->t.protocol && a->t.interval == b->t.interval &&
		a->t.timeout == b->t.timeout && a->t.threshold == b->t.threshold &&
		a->t.source_addr == b->t.source_addr && strcmp(a->path, b->path) == 0 &&
		strcmp(a->host, b->host) == 0;
}

static int
cmp_rec_id(const void *a, const void *b)
{
	uint32_t x = (*(struct target_rec *const *)a)->t.id;
	uint32_t y = (*(struct target_rec *const *)b)->t.id;

	return x < y ? -1 : x > y;
}

static int
cmp_key_rec(const void *key, const void *elem)
{
	uint32_t x = *(const uint32_t *)key;
	uint32_t y = (*(struct target_rec *const *)elem)->t.id;

	return x < y ? -1 : x > y;
}

/* The record of @p id, or NULL. Lock held. */
static struct target_rec *
find_locked(struct gax_health *h, uint32_t id)
{
	struct target_rec **p;

	if (h->n_recs == 0)
		return NULL;
	p = bsearch(&id, h->recs, h->n_recs, sizeof(h->recs[0]), cmp_key_rec);
	return p != NULL ? *p : NULL;
}

static void
wake(struct gax_health *h)
{
	uint64_t one = 1;

	/* Fails only when the counter would overflow: it is readable then. */
	if (write(h->efd, &one, sizeof(one)) < 0) {
		/* nothing to do */
	}
}

int
gax_health_set_targets(struct gax_health *h, const struct gax_health_target *targets,
		unsigned int n, char *err, size_t errlen)
{
	struct target_rec **fresh = NULL, **next = NULL, **old;
	uint64_t now = mono_ns(), unit_ns;
	uint32_t i, j, n_old;
	int rc = -ENOMEM;
	char why[160];

	if (h == NULL || (targets == NULL && n > 0)) {
		say(err, errlen, h == NULL ? "prober: NULL" : "targets: NULL");
		return -EINVAL;
	}
	if (n > GAX_HEALTH_MAX_TARGETS) {
		say(err, errlen, "targets: %u is more than %d", n, GAX_HEALTH_MAX_TARGETS);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		if (gax_health_target_check(&targets[i], why, sizeof(why)) != 0) {
			say(err, errlen, "targets[%u] (id %u).%s", i, targets[i].id, why);
			return -EINVAL;
		}
	}

	/* Everything the new set needs is allocated before taking the lock. */
	unit_ns = (uint64_t)h->o.unit_ms * NS_PER_MS;
	if (n > 0) {
		fresh = calloc(n, sizeof(fresh[0]));
		next = malloc(n * sizeof(next[0]));
		if (fresh == NULL || next == NULL) {
			say(err, errlen, "targets: out of memory");
			goto out;
		}
	}
	for (j = 0; j < n; j++) {
		fresh[j] = rec_new(&targets[j], now, unit_ns);
		if (fresh[j] == NULL) {
			say(err, errlen, "targets: out of memory");
			goto out;
		}
	}
	if (n > 1)
		qsort(fresh, n, sizeof(fresh[0]), cmp_rec_id);
	for (j = 1; j < n; j++) {
		if (fresh[j]->t.id == fresh[j - 1]->t.id) {
			say(err, errlen, "targets: id %u is given twice", fresh[j]->t.id);
			rc = -EINVAL;
			goto out;
		}
	}

	/*
	 * Merge two lists sorted by id. A record kept moves from old[] to
	 * next[]; fresh[] keeps the records not used (freed below); the old
	 * ones not kept go to the dead list for the thread to free.
	 */
	pthread_mutex_lock(&h->lock);
	old = h->recs;
	n_old = h->n_recs;
	for (i = 0, j = 0; i < n_old || j < n;) {
		int c = i == n_old ? 1 : j == n ? -1 :
			old[i]->t.id < fresh[j]->t.id ? -1 : old[i]->t.id > fresh[j]->t.id;

		if (c == 0 && same_target(old[i], fresh[j])) {
			next[j++] = old[i++];
			continue;
		}
		if (c <= 0) {
			old[i]->removed = true;
			old[i]->next_dead = h->dead;
			h->dead = old[i++];
		}
		if (c >= 0) {
			next[j] = fresh[j];
			fresh[j++] = NULL;
		}
	}
	h->recs = next;
	h->n_recs = n;
	h->gen++;
	next = NULL;
	pthread_mutex_unlock(&h->lock);
	wake(h);
	free(old);
	rc = 0;
out:
	if (fresh != NULL)
		for (j = 0; j < n; j++)
			free(fresh[j]);
	free(fresh);
	free(next);
	return rc;
}

int
gax_health_get(struct gax_health *h, uint32_t id, struct gax_health_status *out)
{
	struct target_rec *rec;
	int rc = -ENOENT;

	if (h == NULL || out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	rec = find_locked(h, id);
	if (rec != NULL) {
		*out = rec->st;
		rc = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int
gax_health_snapshot(struct gax_health *h, struct gax_health_status **out, unsigned int *n)
{
	struct gax_health_status *a = NULL;
	uint32_t i, cap;

	if (h == NULL || out == NULL || n == NULL)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	/* allocate without the lock; retry if the set grew meanwhile */
	for (;;) {
		pthread_mutex_lock(&h->lock);
		cap = h->n_recs;
		pthread_mutex_unlock(&h->lock);
		free(a);
		a = cap > 0 ? malloc(cap * sizeof(a[0])) : NULL;
		if (cap > 0 && a == NULL)
			return -ENOMEM;
		pthread_mutex_lock(&h->lock);
		if (h->n_recs <= cap)
			break;
		pthread_mutex_unlock(&h->lock);
	}
	for (i = 0; i < h->n_recs; i++)
		a[i] = h->recs[i]->st;
	*n = h->n_recs;
	pthread_mutex_unlock(&h->lock);
	if (*n == 0) {
		free(a);
		a = NULL;
	}
	*out = a;
	return 0;
}

void
gax_health_stats(struct gax_health *h, struct gax_health_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	st->probes = h->probes;
	st->successes = h->successes;
	st->failures = h->failures;
	st->changes = h->changes;
	st->errors = h->errors;
	st->targets = h->n_recs;
	st->in_flight = h->in_flight;
	pthread_mutex_unlock(&h->lock);
}

/* ---- the prober's thread ------------------------------------------------ */

static void
format_time(char *buf, size_t len, uint32_t units, uint32_t unit_ms)
{
	if (unit_ms == 1000)
		snprintf(buf, len, "%u s", units);
	else
		snprintf(buf, len, "%u ms", units * unit_ms);
}

/* Store the result of @p rec's probe and schedule the next one. */
static void
finish(struct gax_health *h, struct target_rec *rec, enum probe_rc rc, const char *reason,
		uint64_t now)
{
	struct gax_health_status *st = &rec->st;
	enum gax_health_result res = rc == PROBE_OK ? GAX_HEALTH_RESULT_OK : GAX_HEALTH_RESULT_FAIL;
	enum gax_health_state to = rc == PROBE_OK ? GAX_HEALTH_HEALTHY : GAX_HEALTH_UNHEALTHY;
	uint64_t interval_ns = (uint64_t)rec->t.interval * h->o.unit_ms * NS_PER_MS;
	uint64_t span = interval_ns / 10, errors = 0;
	bool changed = false;
	char why[GAX_HEALTH_REASON_MAX];

	probe_close(&rec->pr);
	/* the next probe one interval after this one started, +-5 % */
	h->rng = mix64(h->rng);
	rec->due_ns = rec->pr.start_ns + interval_ns - interval_ns / 20 +
		(span > 0 ? h->rng % span : 0);
	snprintf(why, sizeof(why), "%s", reason);

	pthread_mutex_lock(&h->lock);
	h->in_flight--;
	if (rec->removed) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	h->probes++;
	st->probes++;
	if (rc == PROBE_OK) {
		h->successes++;
		st->successes++;
	} else {
		h->failures++;
		st->failures++;
	}
	if (rc == PROBE_ERROR)
		errors = ++h->errors;
	st->consecutive = st->last_result == res ? st->consecutive + 1 : 1;
	st->last_result = res;
	st->last_duration_us = (uint32_t)((now - rec->pr.start_ns) / 1000);
	st->last_probe = time(NULL);
	snprintf(st->reason, sizeof(st->reason), "%s", why);
	if (st->consecutive >= rec->t.threshold && st->state != to) {
		st->state = to;
		st->last_change = st->last_probe;
		snprintf(st->change_reason, sizeof(st->change_reason), "%s", why);
		h->changes++;
		changed = true;
	}
	pthread_mutex_unlock(&h->lock);

	/* log the 1st, 2nd, 4th, 8th... local error: a shortage does not flood */
	if (errors != 0 && (errors & (errors - 1)) == 0)
		log_msg(h, GAX_HEALTH_LOG_WARNING, "health: cannot probe %s (id %u): %s "
				"(%llu such errors)", rec->name, rec->t.id, why,
				(unsigned long long)errors);
	if (!changed)
		return;
	log_msg(h, to == GAX_HEALTH_HEALTHY ? GAX_HEALTH_LOG_INFO : GAX_HEALTH_LOG_NOTICE,
			"health: %s (id %u) is %s: %s", rec->name, rec->t.id,
			gax_health_state_name(to), why);
	if (h->o.on_change != NULL)
		h->o.on_change(h->o.change_ctx, rec->t.id, to, why);
}

static void
rec_free(struct target_rec *rec)
{
	probe_close(&rec->pr);
	free(rec);
}

/*
 * Take the current set when it changed and free the dead records.
 * @return false when the thread must stop.
 */
static bool
sync_set(struct gax_health *h)
{
	struct target_rec *dead = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->stop) {
		pthread_mutex_unlock(&h->lock);
		return false;
	}
	if (h->gen != h->mine_gen) {
		if (h->n_recs > h->cap_mine) {
			struct target_rec **m = realloc(h->mine, h->n_recs * sizeof(m[0]));

			if (m == NULL) {
				/* keep the old set (its dead are still in it); try again later */
				pthread_mutex_unlock(&h->lock);
				return true;
			}
			h->mine = m;
			h->cap_mine = h->n_recs;
		}
		if (h->n_recs > 0)
			memcpy(h->mine, h->recs, h->n_recs * sizeof(h->mine[0]));
		h->n_mine = h->n_recs;
		h->mine_gen = h->gen;
		dead = h->dead;
		h->dead = NULL;
		/* probes of dead records stop counting as in flight now */
		for (struct target_rec *d = dead; d != NULL; d = d->next_dead)
			if (d->pr.phase != PROBE_IDLE)
				h->in_flight--;
	}
	pthread_mutex_unlock(&h->lock);
	while (dead != NULL) {
		struct target_rec *d = dead;

		dead = d->next_dead;
		rec_free(d);
	}
	return true;
}

static void
timed_out(struct gax_health *h, struct target_rec *rec, uint64_t now)
{
	char reason[GAX_HEALTH_REASON_MAX], t[32];

	format_time(t, sizeof(t), rec->t.timeout, h->o.unit_ms);
	snprintf(reason, sizeof(reason), "timeout after %s (%s)", t,
			probe_phase_name(rec->pr.phase));
	finish(h, rec, PROBE_FAIL, reason, now);
}

static void
start(struct gax_health *h, struct target_rec *rec, uint64_t now)
{
	char reason[GAX_HEALTH_REASON_MAX];
	enum probe_rc rc;

	rc = probe_start(&rec->pr, &rec->cfg, h->ssl, h->epfd, rec, reason, sizeof(reason));
	rec->pr.start_ns = now;
	rec->pr.deadline_ns = now + (uint64_t)rec->t.timeout * h->o.unit_ms * NS_PER_MS;
	pthread_mutex_lock(&h->lock);
	h->in_flight++;
	pthread_mutex_unlock(&h->lock);
	if (rc != PROBE_PENDING)
		finish(h, rec, rc, reason, mono_ns());
}

static void *
prober_main(void *arg)
{
	struct gax_health *h = arg;
	struct epoll_event ev[MAX_EVENTS];
	char reason[GAX_HEALTH_REASON_MAX];

	while (sync_set(h)) {
		uint64_t now = mono_ns(), next = now + 3600 * NS_PER_S;
		uint32_t i;
		int n, k, wait_ms;

		for (i = 0; i < h->n_mine; i++) {
			struct target_rec *rec = h->mine[i];

			if (rec->pr.phase != PROBE_IDLE && now >= rec->pr.deadline_ns)
				timed_out(h, rec, now);
			if (rec->pr.phase == PROBE_IDLE && now >= rec->due_ns)
				start(h, rec, now);
			if (rec->pr.phase != PROBE_IDLE && rec->pr.deadline_ns < next)
				next = rec->pr.deadline_ns;
			if (rec->pr.phase == PROBE_IDLE && rec->due_ns < next)
				next = rec->due_ns;
		}
		now = mono_ns();
		wait_ms = next <= now ? 0 : (int)((next - now + NS_PER_MS - 1) / NS_PER_MS);
		n = epoll_wait(h->epfd, ev, MAX_EVENTS, wait_ms);
		for (k = 0; k < n; k++) {
			struct target_rec *rec = ev[k].data.ptr;
			enum probe_rc rc;

			if (rec == NULL) {
				uint64_t v;

				if (read(h->efd, &v, sizeof(v)) < 0) {
					/* already drained */
				}
				continue;
			}
			rc = probe_event(&rec->pr, &rec->cfg, h->ssl, h->epfd, rec, ev[k].events,
					reason, sizeof(reason));
			if (rc != PROBE_PENDING)
				finish(h, rec, rc, reason, mono_ns());
		}
	}
	return NULL;
}

/* ---- the prober --------------------------------------------------------- */

static SSL_CTX *
make_ssl_ctx(const char *ca_file, int *rc)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*rc = ENOMEM;
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			ERR_clear_error();
			SSL_CTX_free(ctx);
			*rc = EINVAL;
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

struct gax_health *
gax_health_create(const struct gax_health_opts *o)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	struct gax_health *h;
	sigset_t all, old;
	int rc;

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	h->epfd = -1;
	h->efd = -1;
	if (o != NULL)
		h->o = *o;
	else
		gax_health_opts_init(&h->o);
	if (h->o.unit_ms < 1 || h->o.unit_ms > GAX_HEALTH_MAX_UNIT_MS) {
		rc = EINVAL;
		goto fail_free;
	}
	if (h->o.tls_ca_file != NULL) {
		h->ca_file = strdup(h->o.tls_ca_file);
		if (h->ca_file == NULL) {
			rc = ENOMEM;
			goto fail_free;
		}
		h->o.tls_ca_file = h->ca_file;
	}
	h->ssl = make_ssl_ctx(h->ca_file, &rc);
	if (h->ssl == NULL)
		goto fail_free;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		rc = errno;
		goto fail_ssl;
	}
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		rc = errno;
		goto fail_epoll;
	}
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->efd, &e) != 0) {
		rc = errno;
		goto fail_efd;
	}
	rc = pthread_mutex_init(&h->lock, NULL);
	if (rc != 0)
		goto fail_efd;
	h->rng = mix64((uint64_t)(uintptr_t)h ^ mono_ns());

	/* The thread takes no signal (SIGPIPE from a TLS write included). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->thread, NULL, prober_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail_mutex;
	h->started = true;
	pthread_setname_np(h->thread, "gax-health");
	return h;

fail_mutex:
	pthread_mutex_destroy(&h->lock);
fail_efd:
	close(h->efd);
fail_epoll:
	close(h->epfd);
fail_ssl:
	SSL_CTX_free(h->ssl);
fail_free:
	free(h->ca_file);
	free(h);
	errno = rc;
	return NULL;
}

void
gax_health_free(struct gax_health *h)
{
	uint32_t i;

	if (h == NULL)
		return;
	if (h->started) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_mutex_unlock(&h->lock);
		wake(h);
		pthread_join(h->thread, NULL);
	}
	for (i = 0; i < h->n_recs; i++)
		rec_free(h->recs[i]);
	while (h->dead != NULL) {
		struct target_rec *d = h->dead;

		h->dead = d->next_dead;
		rec_free(d);
	}
	free(h->recs);
	free(h->mine);
	pthread_mutex_destroy(&h->lock);
	close(h->efd);
	close(h->epfd);
	SSL_CTX_free(h->ssl);
	free(h->ca_file);
	free(h);
}
