/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The resolver: refused options and arguments first, then behaviour with an
 * injected lookup and real time (TTLs of one second): a first resolution
 * makes the eventfd readable and sorts the addresses, TTLs are clamped to
 * [min_ttl_s, max_ttl_s] and the interval stands in when there is none, a
 * failure keeps the last known addresses and is counted and logged, a name
 * that never resolves says so and serves nothing, a change of the address
 * set signals once and an unchanged one (even reordered) never, removed
 * names are forgotten (even mid-query), a slow name does not hold up
 * another, free() returns promptly when idle and within the query's time
 * when blocked, concurrent callers race with the pool safely, and the real
 * lookup finds "localhost" in /etc/hosts.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gax_resolve.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define FAKE_MAX 8

/* ---- a fake DNS --------------------------------------------------------- */

struct fake_name {
	char name[64];
	uint32_t addrs[GAX_RESOLVE_LOOKUP_MAX];
	unsigned int n;
	uint32_t ttl;		/* GAX_RESOLVE_TTL_UNKNOWN: none */
	int rc;
	unsigned int delay_ms;
	unsigned int calls;
};

struct fake {
	pthread_mutex_t lock;
	struct fake_name e[FAKE_MAX];
	unsigned int n;
	/* what the log callback saw */
	char log[16][512];
	int log_level[16];
	unsigned int n_log;
};

static struct fake fk = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
fake_set(const char *name, int rc, uint32_t ttl, unsigned int delay_ms, unsigned int n, ...)
{
	struct fake_name *e = NULL;
	unsigned int i;
	va_list ap;

	pthread_mutex_lock(&fk.lock);
	for (i = 0; i < fk.n; i++)
		if (strcmp(fk.e[i].name, name) == 0)
			e = &fk.e[i];
	if (e == NULL) {
		cr_assert_lt(fk.n, FAKE_MAX);
		e = &fk.e[fk.n++];
		snprintf(e->name, sizeof(e->name), "%s", name);
	}
	e->rc = rc;
	e->ttl = ttl;
	e->delay_ms = delay_ms;
	e->n = n;
	va_start(ap, n);
	for (i = 0; i < n; i++)
		e->addrs[i] = va_arg(ap, uint32_t);
	va_end(ap);
	pthread_mutex_unlock(&fk.lock);
}

static unsigned int
fake_calls(const char *name)
{
	unsigned int i, c = 0;

	pthread_mutex_lock(&fk.lock);
	for (i = 0; i < fk.n; i++)
		if (strcmp(fk.e[i].name, name) == 0)
			c = fk.e[i].calls;
	pthread_mutex_unlock(&fk.lock);
	return c;
}

static int
fake_lookup(void *ctx, const char *name, uint32_t *addrs, unsigned int max, unsigned int *n,
		uint32_t *ttl_s)
{
	struct fake *f = ctx;
	struct fake_name e;
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->e[i].name, name) == 0) {
			f->e[i].calls++;
			e = f->e[i];
			found = true;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (!found)
		return -ENOENT;
	if (e.delay_ms > 0)
		usleep(e.delay_ms * 1000);
	if (e.rc != 0)
		return e.rc;
	for (i = 0; i < e.n && i < max; i++)
		addrs[i] = e.addrs[i];
	*n = i;
	if (e.ttl != GAX_RESOLVE_TTL_UNKNOWN)
		*ttl_s = e.ttl;
	return 0;
}

static void
fake_log(void *ctx, int level, const char *msg)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	if (f->n_log < 16) {
		snprintf(f->log[f->n_log], sizeof(f->log[0]), "%s", msg);
		f->log_level[f->n_log++] = level;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Whether a log line at @p level contains @p s. */
static bool
logged(int level, const char *s)
{
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&fk.lock);
	for (i = 0; i < fk.n_log; i++)
		if (fk.log_level[i] == level && strstr(fk.log[i], s) != NULL)
			found = true;
	pthread_mutex_unlock(&fk.lock);
	return found;
}

/* ---- helpers ------------------------------------------------------------ */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct gax_resolver *
make(uint32_t min_ttl, uint32_t max_ttl, uint32_t interval)
{
	struct gax_resolver_opts o;
	struct gax_resolver *r;

	gax_resolver_opts_init(&o);
	o.min_ttl_s = min_ttl;
	o.max_ttl_s = max_ttl;
	o.interval_s = interval;
	o.timeout_ms = 1500;
	o.lookup = fake_lookup;
	o.lookup_ctx = &fk;
	o.log = fake_log;
	o.log_ctx = &fk;
	r = gax_resolver_create(&o);
	cr_assert_not_null(r, "create: %s", strerror(errno));
	return r;
}

static int
set1(struct gax_resolver *r, const char *name)
{
	const char *names[1] = { name };

	return gax_resolver_set_names(r, names, 1);
}

/* Whether the eventfd becomes readable within @p ms. */
static bool
fd_readable(struct gax_resolver *r, int ms)
{
	struct pollfd p = { .fd = gax_resolver_fd(r), .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN) != 0;
}

/* Wait up to @p ms for @p name to reach @p state; its last copy in @p out. */
static bool
wait_state(struct gax_resolver *r, const char *name, enum gax_resolve_state state, int ms,
		struct gax_resolved *out)
{
	double end = now_s() + ms / 1000.0;

	do {
		if (gax_resolver_get(r, name, out) == 0 && out->state == state)
			return true;
		usleep(5000);
	} while (now_s() < end);
	return false;
}

/* Wait up to @p ms for @p name to be looked up @p calls times. */
static bool
wait_calls(const char *name, unsigned int calls, int ms)
{
	double end = now_s() + ms / 1000.0;

	do {
		if (fake_calls(name) >= calls)
			return true;
		usleep(5000);
	} while (now_s() < end);
	return false;
}

/* ---- refused options and arguments -------------------------------------- */

Test(resolve, invalid_options)
{
	struct gax_resolver_opts o;

	gax_resolver_opts_init(&o);
	cr_assert_eq(o.interval_s, 30);
	cr_assert_eq(o.min_ttl_s, 5);
	cr_assert_eq(o.max_ttl_s, 3600);
	cr_assert_eq(o.timeout_ms, 2000);
	cr_assert_eq(o.n_threads, GAX_RESOLVE_DEFAULT_THREADS);
	cr_assert_null(o.lookup);

	o.interval_s = 0;
	errno = 0;
	cr_assert_null(gax_resolver_create(&o));
	cr_assert_eq(errno, EINVAL);
	gax_resolver_opts_init(&o);
	o.min_ttl_s = 0;
	cr_assert_null(gax_resolver_create(&o));
	gax_resolver_opts_init(&o);
	o.min_ttl_s = 10;
	o.max_ttl_s = 9;
	cr_assert_null(gax_resolver_create(&o));
	gax_resolver_opts_init(&o);
	o.max_ttl_s = GAX_RESOLVE_MAX_SECONDS + 1;
	cr_assert_null(gax_resolver_create(&o));
	gax_resolver_opts_init(&o);
	o.timeout_ms = 0;
	cr_assert_null(gax_resolver_create(&o));
	gax_resolver_opts_init(&o);
	o.n_threads = 0;
	cr_assert_null(gax_resolver_create(&o));
	o.n_threads = GAX_RESOLVE_MAX_THREADS + 1;
	errno = 0;
	cr_assert_null(gax_resolver_create(&o));
	cr_assert_eq(errno, EINVAL);

	gax_resolver_free(NULL);
}

Test(resolve, invalid_arguments)
{
	struct gax_resolver *r = make(1, 10, 10);
	struct gax_resolved st;
	struct gax_resolver_stats s;
	char longname[GAX_RESOLVE_NAME_MAX + 2];
	const char *bad[2] = { "ok.example", NULL };
	const char **many;
	char (*buf)[16];
	uint32_t addr;
	unsigned int i;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(gax_resolver_set_names(NULL, NULL, 0), -EINVAL);
	cr_assert_eq(gax_resolver_set_names(r, NULL, 1), -EINVAL);
	cr_assert_eq(gax_resolver_set_names(r, bad, 2), -EINVAL);
	cr_assert_eq(set1(r, ""), -EINVAL);
	cr_assert_eq(set1(r, longname), -EINVAL);
	longname[GAX_RESOLVE_NAME_MAX] = '\0';
	cr_assert_eq(set1(r, longname), 0);

	many = calloc(GAX_RESOLVE_MAX_NAMES + 1, sizeof(many[0]));
	buf = calloc(GAX_RESOLVE_MAX_NAMES + 1, sizeof(buf[0]));
	cr_assert(many != NULL && buf != NULL);
	for (i = 0; i <= GAX_RESOLVE_MAX_NAMES; i++) {
		snprintf(buf[i], sizeof(buf[i]), "n%u.example", i);
		many[i] = buf[i];
	}
	cr_assert_eq(gax_resolver_set_names(r, many, GAX_RESOLVE_MAX_NAMES + 1), -E2BIG);
	/* the set is unchanged by a refused call */
	gax_resolver_stats(r, &s);
	cr_assert_eq(s.names, 1);
	cr_assert_eq(gax_resolver_get(r, longname, &st), 0);
	free(many);
	free(buf);

	cr_assert_eq(gax_resolver_get(NULL, "x", &st), -EINVAL);
	cr_assert_eq(gax_resolver_get(r, NULL, &st), -EINVAL);
	cr_assert_eq(gax_resolver_get(r, "x", NULL), -EINVAL);
	cr_assert_eq(gax_resolver_get(r, "not.in.set", &st), -ENOENT);
	cr_assert_eq(gax_resolver_snapshot_cb(r, "not.in.set", &addr), -ENOENT);
	cr_assert_eq(gax_resolver_snapshot_cb(NULL, "x", &addr), -EINVAL);
	cr_assert_eq(gax_resolver_fd(NULL), -EINVAL);
	cr_assert_not(gax_resolver_changed(NULL));
	cr_assert_str_eq(gax_resolve_state_name(GAX_RES_FAILED_KEEPING), "failed-keeping");
	gax_resolver_free(r);
}

/* ---- behaviour ---------------------------------------------------------- */

Test(resolve, first_resolution_signals)
{
	struct gax_resolver *r;
	struct gax_resolved st;
	struct gax_resolver_stats s;
	const char *names[3] = { "A.Example", "a.example", "b.example" };
	uint32_t addr;

	fake_set("A.Example", 0, 60, 0, 3, IP(10, 0, 0, 2), IP(10, 0, 0, 1), IP(10, 0, 0, 2));
	fake_set("b.example", 0, 60, 100, 1, IP(10, 0, 1, 1));
	r = make(1, 3600, 30);
	cr_assert_geq(gax_resolver_fd(r), 0);
	cr_assert_not(gax_resolver_changed(r));
	cr_assert_eq(gax_resolver_set_names(r, names, 3), 0);
	/* b.example's lookup takes 100 ms: pending until then */
	cr_assert_eq(gax_resolver_get(r, "b.example", &st), 0);
	cr_assert_eq(st.state, GAX_RES_PENDING);
	cr_assert_eq(st.n_addrs, 0);
	cr_assert_eq(gax_resolver_snapshot_cb(r, "b.example", &addr), -EAGAIN);

	cr_assert(fd_readable(r, 1000));
	cr_assert(wait_state(r, "a.example", GAX_RES_OK, 1000, &st));
	cr_assert_eq(st.n_addrs, 2);
	cr_assert_eq(st.addrs[0], IP(10, 0, 0, 1));
	cr_assert_eq(st.addrs[1], IP(10, 0, 0, 2));
	cr_assert_eq(st.ttl_s, 60);
	cr_assert_eq(st.failures, 0);
	cr_assert_gt(st.last_ok, 0);
	cr_assert_eq(st.last_ok, st.last_attempt);
	cr_assert_str_empty(st.last_error);
	cr_assert_eq(gax_resolver_snapshot_cb(r, "A.EXAMPLE", &addr), 0);
	cr_assert_eq(addr, IP(10, 0, 0, 1));
	cr_assert(wait_state(r, "b.example", GAX_RES_OK, 1000, &st));

	cr_assert(gax_resolver_changed(r));
	cr_assert_not(gax_resolver_changed(r));
	cr_assert_not(fd_readable(r, 0));
	gax_resolver_stats(r, &s);
	cr_assert_eq(s.names, 2); /* the duplicate counts once */
	cr_assert_eq(s.queries, 2);
	cr_assert_eq(s.changes, 2);
	cr_assert_eq(s.failures, 0);
	cr_assert_eq(s.threads, GAX_RESOLVE_DEFAULT_THREADS);
	cr_assert(logged(GAX_RESOLVE_LOG_INFO, "10.0.0.1, 10.0.0.2"));
	gax_resolver_free(r);
}

Test(resolve, ttl_clamped)
{
	struct gax_resolver *r = make(1, 30, 9);
	struct gax_resolved st;
	const char *names[3] = { "short", "long", "nottl" };

	fake_set("short", 0, 0, 0, 1, IP(1, 1, 1, 1));
	fake_set("long", 0, 86400, 0, 1, IP(2, 2, 2, 2));
	fake_set("nottl", 0, GAX_RESOLVE_TTL_UNKNOWN, 0, 1, IP(3, 3, 3, 3));
	cr_assert_eq(gax_resolver_set_names(r, names, 3), 0);
	cr_assert(wait_state(r, "short", GAX_RES_OK, 1000, &st));
	cr_assert_eq(st.ttl_s, 1);
	cr_assert(wait_state(r, "long", GAX_RES_OK, 1000, &st));
	cr_assert_eq(st.ttl_s, 30);
	cr_assert(wait_state(r, "nottl", GAX_RES_OK, 1000, &st));
	cr_assert_eq(st.ttl_s, 9);
	/* the clamped TTL of one second is honoured; the others are not due */
	cr_assert(wait_calls("short", 2, 1500));
	cr_assert_eq(fake_calls("long"), 1);
	cr_assert_eq(fake_calls("nottl"), 1);
	gax_resolver_free(r);
}

Test(resolve, failure_keeps_last_addresses)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct gax_resolved st;
	struct gax_resolver_stats s;
	uint32_t addr;

	fake_set("keep.example", 0, 0, 0, 2, IP(10, 9, 9, 9), IP(10, 1, 1, 1));
	cr_assert_eq(set1(r, "keep.example"), 0);
	cr_assert(wait_state(r, "keep.example", GAX_RES_OK, 1000, &st));
	cr_assert(gax_resolver_changed(r));
	fake_set("keep.example", -ETIMEDOUT, 0, 0, 0);
	cr_assert(wait_state(r, "keep.example", GAX_RES_FAILED_KEEPING, 1500, &st));
	cr_assert_eq(st.n_addrs, 2);
	cr_assert_eq(st.addrs[0], IP(10, 1, 1, 1));
	cr_assert_eq(st.addrs[1], IP(10, 9, 9, 9));
	cr_assert_eq(st.failures, 1);
	cr_assert_eq(st.ttl_s, 1); /* retried after min_ttl_s */
	cr_assert_gt(st.last_ok, 0);
	cr_assert_geq(st.last_attempt, st.last_ok);
	cr_assert(strstr(st.last_error, strerror(ETIMEDOUT)) != NULL, "%s", st.last_error);
	cr_assert_eq(gax_resolver_snapshot_cb(r, "keep.example", &addr), 0);
	cr_assert_eq(addr, IP(10, 1, 1, 1));
	gax_resolver_stats(r, &s);
	cr_assert_eq(s.failures, 1);
	cr_assert_eq(s.changes, 1);
	cr_assert_not(fd_readable(r, 0)); /* nothing to publish */
	cr_assert(logged(GAX_RESOLVE_LOG_WARNING, "keeping 10.1.1.1, 10.9.9.9"));
	gax_resolver_free(r);
}

Test(resolve, never_resolved)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct gax_resolved st;
	struct gax_resolver_stats s;
	uint32_t addr = 7;

	fake_set("gone.example", -ENOENT, 0, 0, 0);
	fake_set("zero.example", 0, 10, 0, 1, 0u); /* 0.0.0.0 only: no address */
	cr_assert_eq(set1(r, "gone.example"), 0);
	cr_assert(wait_state(r, "gone.example", GAX_RES_NEVER_RESOLVED, 1000, &st));
	cr_assert_eq(st.n_addrs, 0);
	cr_assert_eq(st.failures, 1);
	cr_assert_eq(st.last_ok, 0);
	cr_assert_gt(st.last_attempt, 0);
	cr_assert_str_not_empty(st.last_error);
	cr_assert_eq(gax_resolver_snapshot_cb(r, "gone.example", &addr), -EHOSTUNREACH);
	cr_assert_eq(addr, 7);
	cr_assert(logged(GAX_RESOLVE_LOG_ERR, "gone.example has never resolved"));
	cr_assert_not(fd_readable(r, 0));

	cr_assert_eq(set1(r, "zero.example"), 0);
	cr_assert(wait_state(r, "zero.example", GAX_RES_NEVER_RESOLVED, 1000, &st));
	cr_assert_str_eq(st.last_error, "no IPv4 address");
	gax_resolver_stats(r, &s);
	cr_assert_eq(s.failures, 2);
	cr_assert_eq(s.changes, 0);
	cr_assert_not(gax_resolver_changed(r));
	gax_resolver_free(r);
}

Test(resolve, change_signals_once)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct gax_resolved st;
	struct gax_resolver_stats s;

	fake_set("move.example", 0, 1, 0, 1, IP(10, 0, 0, 1));
	cr_assert_eq(set1(r, "move.example"), 0);
	cr_assert(fd_readable(r, 1000));
	cr_assert(gax_resolver_changed(r));
	fake_set("move.example", 0, 1, 0, 2, IP(10, 0, 0, 3), IP(10, 0, 0, 1));
	cr_assert(fd_readable(r, 1500));
	cr_assert(gax_resolver_get(r, "move.example", &st) == 0);
	cr_assert_eq(st.n_addrs, 2);
	cr_assert_eq(st.addrs[1], IP(10, 0, 0, 3));
	cr_assert(gax_resolver_changed(r));
	cr_assert_not(gax_resolver_changed(r));
	cr_assert_not(fd_readable(r, 100));
	gax_resolver_stats(r, &s);
	cr_assert_eq(s.changes, 2);
	cr_assert(logged(GAX_RESOLVE_LOG_NOTICE, "changed from 10.0.0.1 to 10.0.0.1, 10.0.0.3"));
	gax_resolver_free(r);
}

Test(resolve, no_change_no_signal)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct gax_resolver_stats s;

	fake_set("same.example", 0, 1, 0, 2, IP(10, 0, 0, 1), IP(10, 0, 0, 2));
	cr_assert_eq(set1(r, "same.example"), 0);
	cr_assert(fd_readable(r, 1000));
	cr_assert(gax_resolver_changed(r));
	/* the same set, reordered and with a duplicate */
	fake_set("same.example", 0, 1, 0, 3, IP(10, 0, 0, 2), IP(10, 0, 0, 1), IP(10, 0, 0, 2));
	cr_assert(wait_calls("same.example", 2, 1500));
	cr_assert_not(fd_readable(r, 50));
	cr_assert_not(gax_resolver_changed(r));
	gax_resolver_stats(r, &s);
	cr_assert_geq(s.queries, 2);
	cr_assert_eq(s.changes, 1);
	gax_resolver_free(r);
}

Test(resolve, remove_names)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct gax_resolved st;
	struct gax_resolver_stats s;
	const char *both[2] = { "a.example", "b.example" };
	const char *b_only[1] = { "b.example" };

	fake_set("a.example", 0, 30, 0, 1, IP(10, 0, 0, 1));
	fake_set("b.example", 0, 30, 0, 1, IP(10, 0, 0, 2));
	fake_set("slow.example", 0, 30, 300, 1, IP(10, 0, 0, 3));
	cr_assert_eq(gax_resolver_set_names(r, both, 2), 0);
	cr_assert(wait_state(r, "a.example", GAX_RES_OK, 1000, &st));
	cr_assert(wait_state(r, "b.example", GAX_RES_OK, 1000, &st));
	cr_assert_eq(gax_resolver_set_names(r, b_only, 1), 0);
	cr_assert_eq(gax_resolver_get(r, "a.example", &st), -ENOENT);
	cr_assert_eq(gax_resolver_get(r, "b.example", &st), 0);
	cr_assert_eq(st.state, GAX_RES_OK); /* kept its state */
	cr_assert_eq(st.addrs[0], IP(10, 0, 0, 2));
	cr_assert_eq(fake_calls("b.example"), 1); /* and its schedule */

	/* removed mid-query: the answer is dropped, the record freed */
	cr_assert_eq(set1(r, "slow.example"), 0);
	cr_assert(wait_calls("slow.example", 1, 500));
	cr_assert_eq(gax_resolver_set_names(r, NULL, 0), 0);
	cr_assert_eq(gax_resolver_get(r, "slow.example", &st), -ENOENT);
	usleep(400 * 1000);
	gax_resolver_stats(r, &s);
	cr_assert_eq(s.names, 0);
	cr_assert_eq(s.queries, 2); /* the slow answer was not counted */
	/* added again: a new record, queried anew */
	cr_assert_eq(set1(r, "slow.example"), 0);
	cr_assert_eq(gax_resolver_get(r, "slow.example", &st), 0);
	cr_assert_eq(st.state, GAX_RES_PENDING);
	cr_assert(wait_state(r, "slow.example", GAX_RES_OK, 1000, &st));
	gax_resolver_free(r);
}

Test(resolve, slow_name_does_not_delay_others)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct gax_resolved st;
	const char *names[2] = { "a-slow.example", "b-fast.example" };
	double t0;

	fake_set("a-slow.example", 0, 30, 1000, 1, IP(10, 0, 0, 1));
	fake_set("b-fast.example", 0, 30, 0, 1, IP(10, 0, 0, 2));
	t0 = now_s();
	cr_assert_eq(gax_resolver_set_names(r, names, 2), 0);
	cr_assert_lt(now_s() - t0, 0.1); /* the caller never waits for a query */
	cr_assert(wait_state(r, "b-fast.example", GAX_RES_OK, 300, &st));
	cr_assert_lt(now_s() - t0, 0.5);
	cr_assert_eq(gax_resolver_get(r, "a-slow.example", &st), 0);
	cr_assert_eq(st.state, GAX_RES_PENDING);
	cr_assert(wait_state(r, "a-slow.example", GAX_RES_OK, 1500, &st));
	gax_resolver_free(r);
}

Test(resolve, free_is_prompt)
{
	struct gax_resolver *r = make(1, 3600, 3600);
	struct gax_resolved st;
	double t0;

	/* idle: no waiting for the interval */
	fake_set("idle.example", 0, 3600, 0, 1, IP(10, 0, 0, 1));
	cr_assert_eq(set1(r, "idle.example"), 0);
	cr_assert(wait_state(r, "idle.example", GAX_RES_OK, 1000, &st));
	t0 = now_s();
	gax_resolver_free(r);
	cr_assert_lt(now_s() - t0, 0.1);

	/* blocked in a lookup of 1 s (timeout_ms is 1500): waits for it, no more */
	r = make(1, 3600, 3600);
	fake_set("blocked.example", 0, 3600, 1000, 1, IP(10, 0, 0, 2));
	cr_assert_eq(set1(r, "blocked.example"), 0);
	cr_assert(wait_calls("blocked.example", 1, 500));
	t0 = now_s();
	gax_resolver_free(r);
	cr_assert_lt(now_s() - t0, 1.5);
}

/* Callers on several threads at once with the pool (for TSan and ASan). */
struct racer {
	struct gax_resolver *r;
	unsigned int seed;
	unsigned int errors;	/* Criterion asserts belong to the test's thread */
};

static void *
race_main(void *arg)
{
	struct racer *x = arg;
	static const char *const all[6] = {
		"r0.example", "r1.example", "r2.example", "r3.example", "r4.example", "r5.example",
	};
	struct gax_resolved st;
	struct gax_resolver_stats s;
	const char *names[6];
	double end = now_s() + 0.4;
	unsigned int i, n;
	uint32_t addr;

	while (now_s() < end) {
		x->seed = x->seed * 1103515245u + 12345u;
		for (i = 0, n = 0; i < 6; i++)
			if ((x->seed >> (i + 8)) & 1)
				names[n++] = all[i];
		if (gax_resolver_set_names(x->r, names, n) != 0)
			x->errors++;
		for (i = 0; i < 6; i++) {
			if (gax_resolver_get(x->r, all[i], &st) == 0 &&
					st.n_addrs > GAX_RESOLVE_MAX_ADDRS)
				x->errors++;
			(void)gax_resolver_snapshot_cb(x->r, all[i], &addr);
		}
		(void)gax_resolver_changed(x->r);
		gax_resolver_stats(x->r, &s);
		usleep(1000);
	}
	return NULL;
}

Test(resolve, concurrent_callers)
{
	struct gax_resolver *r = make(1, 30, 30);
	struct racer x[3];
	pthread_t t[3];
	unsigned int i;

	for (i = 0; i < 6; i++) {
		char name[32];

		snprintf(name, sizeof(name), "r%u.example", i);
		fake_set(name, i == 5 ? -EIO : 0, 1, i, 2, IP(10, 0, 0, i + 1), IP(10, 0, 1, i));
	}
	for (i = 0; i < 3; i++) {
		x[i].r = r;
		x[i].seed = i + 1;
		x[i].errors = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, race_main, &x[i]), 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(x[i].errors, 0);
	}
	gax_resolver_free(r);
}

/* The real lookup: DNS has nothing here, getaddrinfo finds /etc/hosts. */
Test(resolve, real_lookup_localhost)
{
	struct gax_resolver_opts o;
	struct gax_resolver *r;
	struct gax_resolved st;
	unsigned int i;
	bool loopback = false;

	gax_resolver_opts_init(&o);
	o.timeout_ms = 1000;
	r = gax_resolver_create(&o);
	cr_assert_not_null(r);
	cr_assert_eq(set1(r, "localhost"), 0);
	cr_assert(wait_state(r, "localhost", GAX_RES_OK, 1900, &st), "state %s: %s",
			gax_resolve_state_name(st.state), st.last_error);
	for (i = 0; i < st.n_addrs; i++)
		loopback |= st.addrs[i] == IP(127, 0, 0, 1);
	cr_assert(loopback);
	cr_assert(gax_resolver_changed(r));
	gax_resolver_free(r);
}
