/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The resolver: a set of names, each with its state and the time its next
 * query is due, kept resolved by a small pool of threads.
 *
 * The set is an array of pointers to records sorted by name (binary search
 * for readers, a linear merge for gax_resolver_set_names()). Each pool
 * thread loops: under the lock, take the record due soonest that no other
 * thread is querying, mark it busy, unlock, query, lock, store the result
 * and the next due time, wake the others (the soonest due time may have
 * changed), unlock, then log and signal the eventfd. A record removed from
 * the set while busy is only marked removed: its thread frees it after the
 * query. So the lock is never held across a query, a log callback, or any
 * allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "gax_resolve.h"
#include "resolve_priv.h"

#define NS_PER_S 1000000000ull
#define LOG_MSG_MAX 768

struct name_rec {
	char *name;		/* immutable while the record lives */
	struct gax_resolved st;
	uint64_t due_ns;	/* CLOCK_MONOTONIC; 0: at once */
	bool busy;		/* a thread is querying it */
	bool removed;		/* no longer in the set: its thread frees it */
};

struct gax_resolver {
	struct gax_resolver_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* on CLOCK_MONOTONIC */
	struct name_rec **recs;	/* sorted by name, case-insensitively */
	uint32_t n_recs;
	bool stop;
	int efd;
	uint64_t queries;
	uint64_t failures;
	uint64_t changes;
	uint32_t n_threads;	/* started */
	pthread_t threads[GAX_RESOLVE_MAX_THREADS];
};

/* The outcome of one query, prepared without the lock. */
struct outcome {
	int rc;
	unsigned int n;
	uint32_t addrs[GAX_RESOLVE_LOOKUP_MAX];
	uint32_t ttl_s;
	char err[GAX_RESOLVE_ERROR_MAX];
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

const char *
gax_resolve_state_name(enum gax_resolve_state s)
{
	switch (s) {
	case GAX_RES_PENDING:
		return "pending";
	case GAX_RES_OK:
		return "ok";
	case GAX_RES_FAILED_KEEPING:
		return "failed-keeping";
	case GAX_RES_NEVER_RESOLVED:
		return "never-resolved";
	}
	return "unknown";
}

void
gax_resolver_opts_init(struct gax_resolver_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_s = GAX_RESOLVE_DEFAULT_INTERVAL;
	o->min_ttl_s = GAX_RESOLVE_DEFAULT_MIN_TTL;
	o->max_ttl_s = GAX_RESOLVE_DEFAULT_MAX_TTL;
	o->timeout_ms = GAX_RESOLVE_DEFAULT_TIMEOUT_MS;
	o->n_threads = GAX_RESOLVE_DEFAULT_THREADS;
}

static bool
opts_valid(const struct gax_resolver_opts *o)
{
	return o->interval_s >= 1 && o->interval_s <= GAX_RESOLVE_MAX_SECONDS &&
		o->min_ttl_s >= 1 && o->min_ttl_s <= o->max_ttl_s &&
		o->max_ttl_s <= GAX_RESOLVE_MAX_SECONDS &&
		o->timeout_ms >= 1 && o->timeout_ms <= GAX_RESOLVE_MAX_SECONDS * 1000u &&
		o->n_threads >= 1 && o->n_threads <= GAX_RESOLVE_MAX_THREADS;
}

/* ---- records ------------------------------------------------------------ */

static void
rec_free(struct name_rec *rec)
{
	if (rec == NULL)
		return;
	free(rec->name);
	free(rec);
}

static struct name_rec *
rec_new(const char *name)
{
	struct name_rec *rec = calloc(1, sizeof(*rec));

	if (rec == NULL)
		return NULL;
	rec->name = strdup(name);
	if (rec->name == NULL) {
		free(rec);
		return NULL;
	}
	rec->st.state = GAX_RES_PENDING;
	return rec;
}

static int
cmp_name_ptr(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_key_rec(const void *key, const void *elem)
{
	return strcasecmp(key, (*(struct name_rec *const *)elem)->name);
}

/* The record of @p name, or NULL. Lock held. */
static struct name_rec *
find_locked(struct gax_resolver *r, const char *name)
{
	struct name_rec **p;

	if (r->n_recs == 0)
		return NULL;
	p = bsearch(name, r->recs, r->n_recs, sizeof(r->recs[0]), cmp_key_rec);
	return p != NULL ? *p : NULL;
}

/* The record due soonest that no thread is querying, or NULL. Lock held. */
static struct name_rec *
soonest_locked(struct gax_resolver *r)
{
	struct name_rec *best = NULL;
	uint32_t i;

	for (i = 0; i < r->n_recs; i++) {
		struct name_rec *rec = r->recs[i];

		if (!rec->busy && (best == NULL || rec->due_ns < best->due_ns))
			best = rec;
	}
	return best;
}

/* ---- queries ------------------------------------------------------------ */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort, drop duplicates and 0.0.0.0, keep the lowest GAX_RESOLVE_MAX_ADDRS. */
static unsigned int
normalize(uint32_t *addrs, unsigned int n)
{
	unsigned int i, m = 0;

	qsort(addrs, n, sizeof(addrs[0]), cmp_u32);
	for (i = 0; i < n && m < GAX_RESOLVE_MAX_ADDRS; i++) {
		if (addrs[i] == 0 || (m > 0 && addrs[m - 1] == addrs[i]))
			continue;
		addrs[m++] = addrs[i];
	}
	return m;
}

/* Query @p name, no lock held. */
static void
query(struct gax_resolver *r, const char *name, struct outcome *out)
{
	out->n = 0;
	out->ttl_s = GAX_RESOLVE_TTL_UNKNOWN;
	out->err[0] = '\0';
	if (r->o.lookup == NULL) {
		out->rc = gax_resolve_default_lookup(name, r->o.timeout_ms, out->addrs,
				GAX_RESOLVE_LOOKUP_MAX, &out->n, &out->ttl_s, out->err,
				sizeof(out->err));
	} else {
		out->rc = r->o.lookup(r->o.lookup_ctx, name, out->addrs, GAX_RESOLVE_LOOKUP_MAX,
				&out->n, &out->ttl_s);
		if (out->rc > 0)
			out->rc = -EIO;
		if (out->rc < 0)
			snprintf(out->err, sizeof(out->err), "lookup: %s", strerror(-out->rc));
	}
	if (out->n > GAX_RESOLVE_LOOKUP_MAX)
		out->n = GAX_RESOLVE_LOOKUP_MAX;
	if (out->rc < 0) {
		out->n = 0;
		return;
	}
	out->n = normalize(out->addrs, out->n);
	if (out->n == 0) {
		out->rc = -ENODATA;
		snprintf(out->err, sizeof(out->err), "no IPv4 address");
	}
}

static void
format_addrs(char *buf, size_t len, const uint32_t *addrs, unsigned int n)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%u.%u.%u.%u", i > 0 ? ", " : "",
				addrs[i] >> 24, (addrs[i] >> 16) & 0xff, (addrs[i] >> 8) & 0xff,
				addrs[i] & 0xff);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static bool
power_of_two(uint32_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/*
 * Store the outcome of a query of @p rec. Lock held.
 * @return true when the address set changed; *level >= 0 with msg when to log.
 */
static bool
apply_locked(struct gax_resolver *r, struct name_rec *rec, const struct outcome *out,
		int *level, char *msg, size_t msglen)
{
	struct gax_resolved *st = &rec->st;
	char before[GAX_RESOLVE_MAX_ADDRS * 17], after[GAX_RESOLVE_MAX_ADDRS * 17];
	uint64_t now = mono_ns();
	bool changed = false;
	uint32_t ttl;

	*level = -1;
	r->queries++;
	st->last_attempt = time(NULL);
	if (out->rc == 0) {
		changed = st->n_addrs != out->n ||
			memcmp(st->addrs, out->addrs, out->n * sizeof(out->addrs[0])) != 0;
		ttl = out->ttl_s == GAX_RESOLVE_TTL_UNKNOWN ? r->o.interval_s :
			out->ttl_s < r->o.min_ttl_s ? r->o.min_ttl_s :
			out->ttl_s > r->o.max_ttl_s ? r->o.max_ttl_s : out->ttl_s;
		format_addrs(after, sizeof(after), out->addrs, out->n);
		if (changed && st->n_addrs == 0) {
			*level = GAX_RESOLVE_LOG_INFO;
			snprintf(msg, msglen, "resolve: %s is %s%s (next in %u s)", rec->name,
					after, st->failures > 0 ? " at last" : "", ttl);
		} else if (changed) {
			format_addrs(before, sizeof(before), st->addrs, st->n_addrs);
			*level = GAX_RESOLVE_LOG_NOTICE;
			snprintf(msg, msglen, "resolve: %s changed from %s to %s", rec->name,
					before, after);
		} else if (st->failures > 0) {
			*level = GAX_RESOLVE_LOG_NOTICE;
			snprintf(msg, msglen, "resolve: %s resolves again after %u failures: %s",
					rec->name, st->failures, after);
		}
		if (changed)
			r->changes++;
		memset(st->addrs, 0, sizeof(st->addrs));
		memcpy(st->addrs, out->addrs, out->n * sizeof(out->addrs[0]));
		st->n_addrs = out->n;
		st->state = GAX_RES_OK;
		st->failures = 0;
		st->last_ok = st->last_attempt;
		st->last_error[0] = '\0';
	} else {
		r->failures++;
		st->failures++;
		ttl = r->o.min_ttl_s;
		snprintf(st->last_error, sizeof(st->last_error), "%s", out->err);
		st->state = st->n_addrs > 0 ? GAX_RES_FAILED_KEEPING : GAX_RES_NEVER_RESOLVED;
		/* Log the 1st, 2nd, 4th, 8th... failure in a row: a dead name does not flood. */
		if (power_of_two(st->failures) && st->n_addrs > 0) {
			format_addrs(before, sizeof(before), st->addrs, st->n_addrs);
			*level = GAX_RESOLVE_LOG_WARNING;
			snprintf(msg, msglen, "resolve: %s failed (%u in a row): %s; keeping %s",
					rec->name, st->failures, out->err, before);
		} else if (power_of_two(st->failures)) {
			*level = GAX_RESOLVE_LOG_ERR;
			snprintf(msg, msglen, "resolve: %s has never resolved (%u tries): %s; "
					"its endpoints serve nothing", rec->name, st->failures,
					out->err);
		}
	}
	st->ttl_s = ttl;
	rec->due_ns = now + (uint64_t)ttl * NS_PER_S;
	return changed;
}

static void *
worker_main(void *arg)
{
	struct gax_resolver *r = arg;
	struct outcome *out;
	char *msg;
	int level;

	out = malloc(sizeof(*out));
	msg = malloc(LOG_MSG_MAX);
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct name_rec *rec = soonest_locked(r);
		struct timespec until;
		bool changed;

		if (rec == NULL) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		if (rec->due_ns > mono_ns()) {
			until.tv_sec = (time_t)(rec->due_ns / NS_PER_S);
			until.tv_nsec = (long)(rec->due_ns % NS_PER_S);
			pthread_cond_timedwait(&r->cond, &r->lock, &until);
			continue;
		}
		if (out == NULL || msg == NULL) {
			/* Cannot query without memory: try again later, like a failure. */
			rec->due_ns = mono_ns() + (uint64_t)r->o.min_ttl_s * NS_PER_S;
			continue;
		}
		rec->busy = true;
		pthread_mutex_unlock(&r->lock);

		query(r, rec->name, out);

		pthread_mutex_lock(&r->lock);
		rec->busy = false;
		if (rec->removed) {
			pthread_mutex_unlock(&r->lock);
			rec_free(rec);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		changed = apply_locked(r, rec, out, &level, msg, LOG_MSG_MAX);
		pthread_cond_broadcast(&r->cond);
		if (!changed && (level < 0 || r->o.log == NULL))
			continue;
		pthread_mutex_unlock(&r->lock);
		if (changed) {
			uint64_t one = 1;

			/* Fails only when the counter would overflow: it is readable then. */
			if (write(r->efd, &one, sizeof(one)) < 0) {
				/* nothing to do */
			}
		}
		if (level >= 0 && r->o.log != NULL)
			r->o.log(r->o.log_ctx, level, msg);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	free(msg);
	free(out);
	return NULL;
}

/* ---- the resolver ------------------------------------------------------- */

static void
stop_threads(struct gax_resolver *r)
{
	uint32_t i;

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < r->n_threads; i++)
		pthread_join(r->threads[i], NULL);
	r->n_threads = 0;
}

struct gax_resolver *
gax_resolver_create(const struct gax_resolver_opts *o)
{
	struct gax_resolver *r;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (o != NULL)
		r->o = *o;
	else
		gax_resolver_opts_init(&r->o);
	if (!opts_valid(&r->o)) {
		rc = EINVAL;
		goto fail_free;
	}
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		rc = errno;
		goto fail_free;
	}
	rc = pthread_mutex_init(&r->lock, NULL);
	if (rc != 0)
		goto fail_efd;
	rc = pthread_condattr_init(&ca);
	if (rc != 0)
		goto fail_mutex;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		goto fail_mutex;

	/* The pool takes no signal: they stay with the caller's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; r->n_threads < r->o.n_threads; r->n_threads++) {
		rc = pthread_create(&r->threads[r->n_threads], NULL, worker_main, r);
		if (rc != 0)
			break;
		pthread_setname_np(r->threads[r->n_threads], "gax-resolve");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail_threads;
	return r;

fail_threads:
	stop_threads(r);
	pthread_cond_destroy(&r->cond);
fail_mutex:
	pthread_mutex_destroy(&r->lock);
fail_efd:
	close(r->efd);
fail_free:
	free(r);
	errno = rc;
	return NULL;
}

void
gax_resolver_free(struct gax_resolver *r)
{
	uint32_t i;

	if (r == NULL)
		return;
	stop_threads(r);
	for (i = 0; i < r->n_recs; i++)
		rec_free(r->recs[i]);
	free(r->recs);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	close(r->efd);
	free(r);
}

int
gax_resolver_set_names(struct gax_resolver *r, const char *const *names, unsigned int n)
{
	const char **sorted = NULL;
	struct name_rec **fresh = NULL, **next = NULL, **old;
	uint32_t i, j, m = 0, n_old;
	bool added = false;
	int rc = -ENOMEM;

	if (r == NULL || (names == NULL && n > 0))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		size_t len;

		if (names[i] == NULL)
			return -EINVAL;
		len = strnlen(names[i], GAX_RESOLVE_NAME_MAX + 1);
		if (len == 0 || len > GAX_RESOLVE_NAME_MAX)
			return -EINVAL;
	}

	/* Everything the new set needs is allocated before taking the lock. */
	if (n > 0) {
		sorted = malloc(n * sizeof(sorted[0]));
		if (sorted == NULL)
			return -ENOMEM;
		memcpy(sorted, names, n * sizeof(sorted[0]));
		qsort(sorted, n, sizeof(sorted[0]), cmp_name_ptr);
		for (i = 0; i < n; i++)
			if (m == 0 || strcasecmp(sorted[m - 1], sorted[i]) != 0)
				sorted[m++] = sorted[i];
	}
	if (m > GAX_RESOLVE_MAX_NAMES) {
		rc = -E2BIG;
		goto out;
	}
	if (m > 0) {
		fresh = calloc(m, sizeof(fresh[0]));
		next = malloc(m * sizeof(next[0]));
		if (fresh == NULL || next == NULL)
			goto out;
	}
	for (j = 0; j < m; j++) {
		fresh[j] = rec_new(sorted[j]);
		if (fresh[j] == NULL)
			goto out;
	}

	/*
	 * Merge two sorted lists. Afterwards, fresh[] keeps the records not
	 * used and old[] those to free: both are freed after unlocking.
	 */
	pthread_mutex_lock(&r->lock);
	old = r->recs;
	n_old = r->n_recs;
	for (i = 0, j = 0; i < n_old || j < m;) {
		int c = i == n_old ? 1 : j == m ? -1 : strcasecmp(old[i]->name, fresh[j]->name);

		if (c == 0) {
			next[j++] = old[i];
			old[i++] = NULL;
		} else if (c < 0) {
			if (old[i]->busy) {
				old[i]->removed = true; /* its thread frees it */
				old[i] = NULL;
			}
			i++;
		} else {
			next[j] = fresh[j];
			fresh[j++] = NULL;
			added = true;
		}
	}
	r->recs = next;
	r->n_recs = m;
	next = NULL;
	if (added)
		pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);

	for (i = 0; i < n_old; i++)
		rec_free(old[i]);
	free(old);
	rc = 0;
out:
	if (fresh != NULL)
		for (j = 0; j < m; j++)
			rec_free(fresh[j]);
	free(fresh);
	free(next);
	free(sorted);
	return rc;
}

int
gax_resolver_get(struct gax_resolver *r, const char *name, struct gax_resolved *out)
{
	struct name_rec *rec;
	int rc = -ENOENT;

	if (r == NULL || name == NULL || out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	rec = find_locked(r, name);
	if (rec != NULL) {
		*out = rec->st;
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
gax_resolver_snapshot_cb(void *ctx, const char *name, uint32_t *addr)
{
	struct gax_resolver *r = ctx;
	struct name_rec *rec;
	int rc;

	if (r == NULL || name == NULL || addr == NULL)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	rec = find_locked(r, name);
	if (rec == NULL) {
		rc = -ENOENT;
	} else if (rec->st.n_addrs > 0) {
		*addr = rec->st.addrs[0];
		rc = 0;
	} else {
		rc = rec->st.state == GAX_RES_PENDING ? -EAGAIN : -EHOSTUNREACH;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
gax_resolver_fd(struct gax_resolver *r)
{
	return r != NULL ? r->efd : -EINVAL;
}

bool
gax_resolver_changed(struct gax_resolver *r)
{
	uint64_t v = 0;

	if (r == NULL)
		return false;
	return read(r->efd, &v, sizeof(v)) == (ssize_t)sizeof(v) && v > 0;
}

void
gax_resolver_stats(struct gax_resolver *r, struct gax_resolver_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	st->queries = r->queries;
	st->failures = r->failures;
	st->changes = r->changes;
	st->names = r->n_recs;
	st->threads = r->n_threads;
	pthread_mutex_unlock(&r->lock);
}
