/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The health prober: refused options and targets first, then behaviour
 * against servers this file starts on loopback (an accepting TCP listener, a
 * closed port, a listener that never answers, HTTP servers answering 200, 302,
 * 404 and 503, a TLS server with a self-signed certificate made here), with a
 * time unit of 100 ms instead of a second so that interval 1, timeout 1 and
 * threshold 2 (the smallest allowed) run the suite in a few seconds.
 *
 * Checked: the state stays unknown until threshold equal results, then
 * healthy or unhealthy with the reason of the result; http judges the status
 * line (200-399 healthy) and sends path, Host and Connection: close; a
 * silent server times out with the phase named; a server that stops is
 * unhealthy within interval x threshold + one interval and healthy again when
 * it returns, with one callback per change; a hundred silent targets do not
 * delay a hundred fast ones; set_targets keeps unchanged targets' state,
 * drops removed ones and restarts changed ones; https with and without a CA;
 * the source address is bound; no file descriptor left is a failure with its
 * reason, not a crash; free() is prompt with probes in flight; callers on
 * several threads race with the prober safely.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <criterion/criterion.h>

#include <gax_health.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define LOOPBACK IP(127, 0, 0, 1)
#define UNIT_MS 100	/* one "second" of interval and timeout in these tests */

/* ---- loopback servers --------------------------------------------------- */

enum srv_kind {
	SRV_ACCEPT,	/* accept and close */
	SRV_HTTP,	/* read a request, answer with status */
	SRV_TLS,	/* the same over TLS */
	SRV_SILENT,	/* listen, never accept: the kernel completes connects */
};

struct srv {
	enum srv_kind kind;
	int status;
	int lfd;
	uint16_t port;
	SSL_CTX *tls;
	pthread_t th;
	bool running;
	pthread_mutex_t lock;
	bool stop;		/* under lock */
	unsigned int accepted;	/* under lock */
	uint32_t last_peer;	/* under lock, host order */
	char request[1024];	/* under lock: the last request read */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
srv_stopping(struct srv *s)
{
	bool stop;

	pthread_mutex_lock(&s->lock);
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/* Read a request up to its blank line into @p buf; the socket has a receive timeout. */
static void
read_request(int fd, SSL *ssl, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	while (n + 1 < len && strstr(buf, "\r\n\r\n") == NULL) {
		int r = ssl != NULL ? SSL_read(ssl, buf + n, (int)(len - 1 - n)) :
			(int)recv(fd, buf + n, len - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
}

static void
serve_one(struct srv *s, int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 500000 };
	char req[1024], resp[128];
	SSL *ssl = NULL;
	int n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (s->kind == SRV_ACCEPT)
		goto out;
	if (s->kind == SRV_TLS) {
		ssl = SSL_new(s->tls);
		if (ssl == NULL)
			goto out;
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto out;
	}
	read_request(fd, ssl, req, sizeof(req));
	pthread_mutex_lock(&s->lock);
	snprintf(s->request, sizeof(s->request), "%s", req);
	pthread_mutex_unlock(&s->lock);
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d Whatever\r\nContent-Length: 0\r\n"
			"Connection: close\r\n\r\n", s->status);
	if (ssl != NULL) {
		SSL_write(ssl, resp, n);
		SSL_shutdown(ssl);
	} else {
		(void)send(fd, resp, (size_t)n, MSG_NOSIGNAL);
	}
out:
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;

	while (!srv_stopping(s)) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		int fd;

		if (poll(&p, 1, 10) != 1)
			continue;
		fd = accept4(s->lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		s->accepted++;
		s->last_peer = ntohl(peer.sin_addr.s_addr);
		pthread_mutex_unlock(&s->lock);
		serve_one(s, fd);
	}
	return NULL;
}

/* Listen on 127.0.0.1:@p port (0: any) and serve in a thread (none for SRV_SILENT). */
static void
srv_start(struct srv *s, enum srv_kind kind, int status, uint16_t port, SSL_CTX *tls)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(LOOPBACK),
		.sin_port = htons(port) };
	socklen_t sl = sizeof(sa);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->kind = kind;
	s->status = status;
	s->tls = tls;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s->lfd, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s",
			strerror(errno));
	cr_assert_eq(listen(s->lfd, 1024), 0);
	cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	if (kind != SRV_SILENT) {
		cr_assert_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
		s->running = true;
	}
}

static void
srv_stop(struct srv *s)
{
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->th, NULL);
		s->running = false;
	}
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
}

static void
srv_request(struct srv *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(buf, len, "%s", s->request);
	pthread_mutex_unlock(&s->lock);
}

/*
 * A loopback port nothing listens on: connects to it are refused. The socket
 * stays bound (never listening, no SO_REUSEADDR) so that no other program
 * can take the port meanwhile; it goes with the test's process.
 */
static uint16_t
closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	return ntohs(sa.sin_port);
}

/* ---- TLS: a self-signed certificate made here --------------------------- */

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	cr_assert_not_null(k);
	return k;
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;

	cr_assert_not_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	cr_assert_gt(X509_sign(x, key, EVP_sha256()), 0);
	return x;
}

static SSL_CTX *
make_server_ctx(EVP_PKEY *key, X509 *cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	cr_assert_not_null(ctx);
	cr_assert_eq(SSL_CTX_use_certificate(ctx, cert), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
	return ctx;
}

/* Write @p cert as PEM to a new temporary file whose name goes to @p path. */
static void
write_pem(X509 *cert, char *path, size_t len)
{
	FILE *f;
	int fd;

	snprintf(path, len, "/tmp/gax-health-ca-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_X509(f, cert), 1);
	fclose(f);
}

/* ---- the prober --------------------------------------------------------- */

#define EVENTS_MAX 64

struct event {
	uint32_t id;
	enum gax_health_state state;
	enum gax_health_state seen;	/* what gax_health_get() said from the callback */
	char reason[GAX_HEALTH_REASON_MAX];
};

struct recorder {
	pthread_mutex_t lock;
	struct gax_health *h;
	struct event ev[EVENTS_MAX];
	unsigned int n;
	unsigned int n_log;
	char log[16][256];	/* the first lines logged */
};

static struct recorder rc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
on_change(void *ctx, uint32_t id, enum gax_health_state state, const char *reason)
{
	struct recorder *r = ctx;
	struct gax_health_status st;
	struct gax_health *h;

	pthread_mutex_lock(&r->lock);
	h = r->h;
	pthread_mutex_unlock(&r->lock);
	/* the state is stored before the callback, and the API may be called from it */
	memset(&st, 0, sizeof(st));
	st.state = GAX_HEALTH_UNKNOWN;
	if (h != NULL)
		(void)gax_health_get(h, id, &st);
	pthread_mutex_lock(&r->lock);
	if (r->n < EVENTS_MAX) {
		r->ev[r->n].id = id;
		r->ev[r->n].state = state;
		r->ev[r->n].seen = st.state;
		snprintf(r->ev[r->n].reason, sizeof(r->ev[0].reason), "%s", reason);
		r->n++;
	}
	pthread_mutex_unlock(&r->lock);
}

static void
on_log(void *ctx, int level, const char *msg)
{
	struct recorder *r = ctx;

	(void)level;
	pthread_mutex_lock(&r->lock);
	if (r->n_log < 16)
		snprintf(r->log[r->n_log], sizeof(r->log[0]), "%s", msg);
	r->n_log++;
	pthread_mutex_unlock(&r->lock);
}

/* Whether a line logged contains @p s. */
static bool
logged(const char *s)
{
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&rc.lock);
	for (i = 0; i < rc.n_log && i < 16; i++)
		found |= strstr(rc.log[i], s) != NULL;
	pthread_mutex_unlock(&rc.lock);
	return found;
}

/* The callbacks seen for @p id, copied into @p out (at most @p max). */
static unsigned int
events_of(uint32_t id, struct event *out, unsigned int max)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&rc.lock);
	for (i = 0; i < rc.n; i++)
		if (rc.ev[i].id == id && n < max)
			out[n++] = rc.ev[i];
	pthread_mutex_unlock(&rc.lock);
	return n;
}

/*
 * The callbacks seen for @p id once there are at least @p n (or @p ms passed):
 * the callback runs just after the state is stored, so a reader may see the
 * state first.
 */
static unsigned int
wait_events(uint32_t id, unsigned int n, struct event *out, unsigned int max, int ms)
{
	double end = now_s() + ms / 1000.0;
	unsigned int got;

	while ((got = events_of(id, out, max)) < n && now_s() < end)
		usleep(2000);
	return got;
}

static struct gax_health *
make(void)
{
	struct gax_health_opts o;
	struct gax_health *h;

	signal(SIGPIPE, SIG_IGN);
	gax_health_opts_init(&o);
	o.unit_ms = UNIT_MS;
	o.on_change = on_change;
	o.change_ctx = &rc;
	o.log = on_log;
	o.log_ctx = &rc;
	h = gax_health_create(&o);
	cr_assert_not_null(h, "create: %s", strerror(errno));
	pthread_mutex_lock(&rc.lock);
	rc.h = h;
	pthread_mutex_unlock(&rc.lock);
	return h;
}

static void
unmake(struct gax_health *h)
{
	pthread_mutex_lock(&rc.lock);
	rc.h = NULL;
	pthread_mutex_unlock(&rc.lock);
	gax_health_free(h);
}

static struct gax_health_target
target(uint32_t id, enum gax_health_proto proto, uint16_t port, const char *path)
{
	struct gax_health_target t = {
		.id = id, .addr = LOOPBACK, .port = port, .protocol = proto, .path = path,
		.interval = 1, .timeout = 1, .threshold = 2,
	};

	return t;
}

static void
set(struct gax_health *h, const struct gax_health_target *t, unsigned int n)
{
	char err[256] = "";

	cr_assert_eq(gax_health_set_targets(h, t, n, err, sizeof(err)), 0, "%s", err);
}

/* Wait up to @p ms for target @p id to reach @p state; its last copy in @p out. */
static bool
wait_state(struct gax_health *h, uint32_t id, enum gax_health_state state, int ms,
		struct gax_health_status *out)
{
	double end = now_s() + ms / 1000.0;

	do {
		if (gax_health_get(h, id, out) == 0 && out->state == state)
			return true;
		usleep(2000);
	} while (now_s() < end);
	return false;
}

/* Wait up to @p ms for target @p id to have ended @p probes probes. */
static bool
wait_probes(struct gax_health *h, uint32_t id, uint64_t probes, int ms,
		struct gax_health_status *out)
{
	double end = now_s() + ms / 1000.0;

	do {
		if (gax_health_get(h, id, out) == 0 && out->probes >= probes)
			return true;
		usleep(2000);
	} while (now_s() < end);
	return false;
}

/* ---- refused options and targets ---------------------------------------- */

Test(health, invalid_options)
{
	struct gax_health_opts o;

	gax_health_opts_init(&o);
	cr_assert_eq(o.unit_ms, 1000);
	cr_assert_null(o.tls_ca_file);
	cr_assert_null(o.on_change);
	cr_assert_null(o.log);

	o.unit_ms = 0;
	errno = 0;
	cr_assert_null(gax_health_create(&o));
	cr_assert_eq(errno, EINVAL);
	o.unit_ms = GAX_HEALTH_MAX_UNIT_MS + 1;
	errno = 0;
	cr_assert_null(gax_health_create(&o));
	cr_assert_eq(errno, EINVAL);
	gax_health_opts_init(&o);
	o.tls_ca_file = "/nonexistent/ca.pem";
	errno = 0;
	cr_assert_null(gax_health_create(&o));
	cr_assert_eq(errno, EINVAL);
	o.tls_ca_file = GAX_SOURCE_ROOT "/meson.build"; /* not PEM */
	errno = 0;
	cr_assert_null(gax_health_create(&o));
	cr_assert_eq(errno, EINVAL);

	gax_health_free(NULL);
}

/* @p t refused by set_targets with -EINVAL and a message containing @p what. */
static void
refused(struct gax_health *h, struct gax_health_target t, const char *what)
{
	char err[256] = "";

	cr_assert_eq(gax_health_set_targets(h, &t, 1, err, sizeof(err)), -EINVAL, "%s", what);
	cr_assert(strstr(err, what) != NULL, "'%s' lacks '%s'", err, what);
	cr_assert_eq(gax_health_target_check(&t, NULL, 0), -EINVAL);
}

Test(health, invalid_targets)
{
	struct gax_health *h = make();
	struct gax_health_target t = target(1, GAX_HEALTH_HTTP, 80, "/ok"), two[2], *many;
	struct gax_health_status st;
	struct gax_health_stats s;
	char longpath[GAX_HEALTH_PATH_MAX + 2], err[256];
	unsigned int i, n;
	struct gax_health_status *all;

	cr_assert_eq(gax_health_set_targets(NULL, &t, 1, NULL, 0), -EINVAL);
	cr_assert_eq(gax_health_set_targets(h, NULL, 1, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gax_health_target_check(NULL, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gax_health_target_check(&t, err, sizeof(err)), 0);

	t.addr = 0;
	refused(h, t, "addr");
	t = target(1, GAX_HEALTH_HTTP, 0, "/");
	refused(h, t, "port: 0");
	t = target(1, (enum gax_health_proto)7, 80, "/");
	refused(h, t, "protocol");
	refused(h, target(1, GAX_HEALTH_HTTP, 80, "no-slash"), "path");
	refused(h, target(1, GAX_HEALTH_HTTP, 80, ""), "path");
	refused(h, target(1, GAX_HEALTH_HTTP, 80, "/a b"), "path");
	refused(h, target(1, GAX_HEALTH_HTTPS, 80, "/a\r\nX: y"), "path");
	t = target(1, GAX_HEALTH_HTTP, 80, "/");
	t.host = "a b";
	refused(h, t, "host");
	t.host = "";
	refused(h, t, "host");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	refused(h, target(1, GAX_HEALTH_HTTP, 80, longpath), "path");
	longpath[GAX_HEALTH_PATH_MAX] = '\0';
	cr_assert_eq(gax_health_target_check(&(struct gax_health_target){ .id = 1,
			.addr = LOOPBACK, .port = 80, .protocol = GAX_HEALTH_HTTP,
			.path = longpath, .interval = 1, .timeout = 1, .threshold = 2 },
			NULL, 0), 0);
	/* a tcp check has no path to check */
	cr_assert_eq(gax_health_target_check(&(struct gax_health_target){ .id = 1,
			.addr = LOOPBACK, .port = 80, .protocol = GAX_HEALTH_TCP,
			.path = "junk", .interval = 1, .timeout = 1, .threshold = 2 },
			NULL, 0), 0);
	t = target(1, GAX_HEALTH_TCP, 80, NULL);
	t.interval = 0;
	refused(h, t, "interval: 0 is outside 1-50");
	t.interval = 51;
	refused(h, t, "interval: 51");
	t.interval = 2;
	t.timeout = 0;
	refused(h, t, "timeout: 0");
	t.timeout = 3;
	refused(h, t, "timeout: 3 is above the interval (2)");
	t.timeout = 2;
	t.threshold = 1;
	refused(h, t, "threshold: 1 is outside 2-10");
	t.threshold = 11;
	refused(h, t, "threshold: 11");

	/* the index of the culprit; ids unique */
	two[0] = target(5, GAX_HEALTH_TCP, 80, NULL);
	two[1] = target(6, GAX_HEALTH_TCP, 80, NULL);
	two[1].threshold = 0;
	cr_assert_eq(gax_health_set_targets(h, two, 2, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "targets[1] (id 6).threshold") != NULL, "%s", err);
	two[1] = target(5, GAX_HEALTH_HTTP, 81, NULL);
	cr_assert_eq(gax_health_set_targets(h, two, 2, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "id 5 is given twice") != NULL, "%s", err);

	many = calloc(GAX_HEALTH_MAX_TARGETS + 1, sizeof(many[0]));
	cr_assert_not_null(many);
	for (i = 0; i <= GAX_HEALTH_MAX_TARGETS; i++)
		many[i] = target(i, GAX_HEALTH_TCP, 80, NULL);
	cr_assert_eq(gax_health_set_targets(h, many, GAX_HEALTH_MAX_TARGETS + 1, err,
			sizeof(err)), -E2BIG);
	free(many);

	/* nothing of the refused sets was taken */
	gax_health_stats(h, &s);
	cr_assert_eq(s.targets, 0);
	cr_assert_eq(gax_health_get(h, 5, &st), -ENOENT);
	cr_assert_eq(gax_health_get(NULL, 5, &st), -EINVAL);
	cr_assert_eq(gax_health_get(h, 5, NULL), -EINVAL);
	cr_assert_eq(gax_health_snapshot(h, NULL, &n), -EINVAL);
	cr_assert_eq(gax_health_snapshot(h, &all, &n), 0);
	cr_assert_null(all);
	cr_assert_eq(n, 0);
	gax_health_stats(NULL, &s);
	cr_assert_eq(s.targets, 0);
	cr_assert_str_eq(gax_health_state_name(GAX_HEALTH_UNHEALTHY), "unhealthy");
	cr_assert_str_eq(gax_health_proto_name(GAX_HEALTH_HTTPS), "https");
	unmake(h);
}

/* ---- behaviour ---------------------------------------------------------- */

Test(health, tcp_healthy_after_threshold)
{
	struct gax_health *h = make();
	struct gax_health_target t;
	struct gax_health_status st;
	struct gax_health_stats s;
	struct event ev[4];
	struct srv srv;

	srv_start(&srv, SRV_ACCEPT, 0, 0, NULL);
	t = target(7, GAX_HEALTH_TCP, srv.port, NULL);
	set(h, &t, 1);
	cr_assert_eq(gax_health_get(h, 7, &st), 0);
	cr_assert_eq(st.state, GAX_HEALTH_UNKNOWN);
	cr_assert_eq(st.last_result, GAX_HEALTH_RESULT_NONE);
	cr_assert_str_empty(st.reason);

	/* one success is not enough (threshold 2) */
	cr_assert(wait_probes(h, 7, 1, 500, &st));
	if (st.probes == 1) {
		cr_assert_eq(st.state, GAX_HEALTH_UNKNOWN);
		cr_assert_eq(st.last_result, GAX_HEALTH_RESULT_OK);
		cr_assert_eq(st.consecutive, 1);
	}
	cr_assert(wait_state(h, 7, GAX_HEALTH_HEALTHY, 500, &st));
	cr_assert_geq(st.probes, 2);
	cr_assert_eq(st.successes, st.probes);
	cr_assert_eq(st.failures, 0);
	cr_assert_geq(st.consecutive, 2);
	cr_assert_str_eq(st.reason, "connected");
	cr_assert_str_eq(st.change_reason, "connected");
	cr_assert_gt(st.last_change, 0);
	cr_assert_geq(st.last_probe, st.last_change);
	cr_assert_lt(st.last_duration_us, UNIT_MS * 1000);

	cr_assert_eq(wait_events(7, 1, ev, 4, 500), 1);
	cr_assert_eq(ev[0].state, GAX_HEALTH_HEALTHY);
	cr_assert_eq(ev[0].seen, GAX_HEALTH_HEALTHY);
	cr_assert_str_eq(ev[0].reason, "connected");
	gax_health_stats(h, &s);
	cr_assert_eq(s.targets, 1);
	cr_assert_eq(s.changes, 1);
	cr_assert_geq(s.successes, 2);
	cr_assert_eq(s.failures, 0);
	cr_assert_eq(s.errors, 0);
	unmake(h);
	srv_stop(&srv);
}

Test(health, refused_is_unhealthy)
{
	struct gax_health *h = make();
	struct gax_health_target t = target(3, GAX_HEALTH_TCP, closed_port(), NULL);
	struct gax_health_status st;
	struct event ev[4];

	set(h, &t, 1);
	cr_assert(wait_state(h, 3, GAX_HEALTH_UNHEALTHY, 500, &st));
	cr_assert_eq(st.last_result, GAX_HEALTH_RESULT_FAIL);
	cr_assert_str_eq(st.reason, "connect refused");
	cr_assert_str_eq(st.change_reason, "connect refused");
	cr_assert_eq(st.successes, 0);
	cr_assert_geq(st.failures, 2);
	cr_assert_eq(wait_events(3, 1, ev, 4, 500), 1);
	cr_assert_eq(ev[0].state, GAX_HEALTH_UNHEALTHY);
	cr_assert_str_eq(ev[0].reason, "connect refused");
	unmake(h);
}

Test(health, http_status)
{
	struct gax_health *h = make();
	struct srv s200, s302, s404, s503;
	struct gax_health_target t[4];
	struct gax_health_status st;
	char req[1024], host[64];

	srv_start(&s200, SRV_HTTP, 200, 0, NULL);
	srv_start(&s302, SRV_HTTP, 302, 0, NULL);
	srv_start(&s404, SRV_HTTP, 404, 0, NULL);
	srv_start(&s503, SRV_HTTP, 503, 0, NULL);
	t[0] = target(1, GAX_HEALTH_HTTP, s200.port, "/healthz?full=1");
	t[1] = target(2, GAX_HEALTH_HTTP, s302.port, NULL);
	t[1].host = "app.example.internal";
	t[2] = target(3, GAX_HEALTH_HTTP, s404.port, "/");
	t[3] = target(4, GAX_HEALTH_HTTP, s503.port, "/");
	set(h, t, 4);
	cr_assert(wait_state(h, 1, GAX_HEALTH_HEALTHY, 600, &st), "%s", st.reason);
	cr_assert_str_eq(st.reason, "http status 200");
	cr_assert(wait_state(h, 2, GAX_HEALTH_HEALTHY, 600, &st), "%s", st.reason);
	cr_assert_str_eq(st.reason, "http status 302");
	cr_assert(wait_state(h, 3, GAX_HEALTH_UNHEALTHY, 600, &st), "%s", st.reason);
	cr_assert_str_eq(st.reason, "http status 404");
	cr_assert(wait_state(h, 4, GAX_HEALTH_UNHEALTHY, 600, &st), "%s", st.reason);
	cr_assert_str_eq(st.reason, "http status 503");

	srv_request(&s200, req, sizeof(req));
	cr_assert(strncmp(req, "GET /healthz?full=1 HTTP/1.1\r\n", 30) == 0, "%s", req);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", s200.port);
	cr_assert(strstr(req, host) != NULL, "%s", req);
	cr_assert(strstr(req, "\r\nConnection: close\r\n") != NULL, "%s", req);
	srv_request(&s302, req, sizeof(req));
	cr_assert(strncmp(req, "GET / HTTP/1.1\r\n", 16) == 0, "%s", req); /* default path */
	cr_assert(strstr(req, "\r\nHost: app.example.internal\r\n") != NULL, "%s", req);
	unmake(h);
	srv_stop(&s200);
	srv_stop(&s302);
	srv_stop(&s404);
	srv_stop(&s503);
}

Test(health, silent_server_times_out)
{
	struct gax_health *h = make();
	struct gax_health_target t[2];
	struct gax_health_status st;
	struct srv silent;

	srv_start(&silent, SRV_SILENT, 0, 0, NULL);
	t[0] = target(1, GAX_HEALTH_HTTP, silent.port, "/");
	t[1] = target(2, GAX_HEALTH_TCP, silent.port, NULL); /* the kernel accepts */
	set(h, t, 2);
	cr_assert(wait_state(h, 1, GAX_HEALTH_UNHEALTHY, 700, &st), "%s", st.reason);
	cr_assert_str_eq(st.reason, "timeout after 100 ms (status line)");
	cr_assert_geq(st.last_duration_us, UNIT_MS * 1000);
	cr_assert(wait_state(h, 2, GAX_HEALTH_HEALTHY, 500, &st), "%s", st.reason);
	unmake(h);
	srv_stop(&silent);
}

Test(health, server_stops_and_returns)
{
	struct gax_health *h = make();
	struct gax_health_target t;
	struct gax_health_status st;
	struct event ev[8];
	struct srv srv;
	uint16_t port;
	char line[128];
	double t0, bound = (1 * 2 + 1) * UNIT_MS / 1000.0; /* interval x threshold + interval */

	srv_start(&srv, SRV_HTTP, 200, 0, NULL);
	port = srv.port;
	t = target(9, GAX_HEALTH_HTTP, port, "/");
	set(h, &t, 1);
	cr_assert(wait_state(h, 9, GAX_HEALTH_HEALTHY, 600, &st), "%s", st.reason);

	srv_stop(&srv);
	t0 = now_s();
	cr_assert(wait_state(h, 9, GAX_HEALTH_UNHEALTHY, 1000, &st));
	cr_assert_lt(now_s() - t0, bound, "unhealthy after %.3f s", now_s() - t0);
	cr_assert_str_eq(st.change_reason, "connect refused");

	srv_start(&srv, SRV_HTTP, 200, port, NULL);
	t0 = now_s();
	cr_assert(wait_state(h, 9, GAX_HEALTH_HEALTHY, 1000, &st), "%s", st.reason);
	cr_assert_lt(now_s() - t0, bound, "healthy after %.3f s", now_s() - t0);

	/* one callback per change, in order, none for the results in between */
	cr_assert_eq(wait_events(9, 3, ev, 8, 500), 3);
	cr_assert_eq(ev[0].state, GAX_HEALTH_HEALTHY);
	cr_assert_eq(ev[1].state, GAX_HEALTH_UNHEALTHY);
	cr_assert_str_eq(ev[1].reason, "connect refused");
	cr_assert_eq(ev[2].state, GAX_HEALTH_HEALTHY);
	cr_assert_str_eq(ev[2].reason, "http status 200");
	cr_assert_eq(ev[1].seen, GAX_HEALTH_UNHEALTHY);
	snprintf(line, sizeof(line), "health: http 127.0.0.1:%u (id 9) is unhealthy: "
			"connect refused", port);
	cr_assert(logged(line), "no log line '%s'", line);
	unmake(h);
	srv_stop(&srv);
}

#define N_EACH 100

Test(health, slow_targets_do_not_delay_fast_ones)
{
	struct gax_health *h = make();
	struct gax_health_target *t = calloc(2 * N_EACH, sizeof(*t));
	struct gax_health_status st;
	struct gax_health_stats s;
	struct srv fast, silent;
	double t0;
	unsigned int i;

	cr_assert_not_null(t);
	srv_start(&fast, SRV_ACCEPT, 0, 0, NULL);
	srv_start(&silent, SRV_SILENT, 0, 0, NULL);
	for (i = 0; i < N_EACH; i++) {
		/* slow: TLS handshakes nobody answers, 5 s timeout */
		t[i] = target(1000 + i, GAX_HEALTH_HTTPS, silent.port, "/");
		t[i].interval = 50;
		t[i].timeout = 50;
		t[N_EACH + i] = target(i, GAX_HEALTH_TCP, fast.port, NULL);
	}
	t0 = now_s();
	set(h, t, 2 * N_EACH);
	cr_assert_lt(now_s() - t0, 0.1); /* the caller never waits for a probe */
	for (i = 0; i < N_EACH; i++)
		cr_assert(wait_state(h, i, GAX_HEALTH_HEALTHY, 600, &st), "target %u: %s", i,
				st.reason);
	cr_assert_lt(now_s() - t0, 0.6);
	/* every fast target keeps its interval while the slow probes hang */
	usleep(300 * 1000);
	for (i = 0; i < N_EACH; i++) {
		cr_assert_eq(gax_health_get(h, i, &st), 0);
		cr_assert_geq(st.probes, 4, "target %u: %llu probes", i,
				(unsigned long long)st.probes);
		cr_assert_eq(gax_health_get(h, 1000 + i, &st), 0);
		cr_assert_eq(st.probes, 0);
		cr_assert_eq(st.state, GAX_HEALTH_UNKNOWN);
	}
	gax_health_stats(h, &s);
	cr_assert_geq(s.in_flight, N_EACH);
	cr_assert_eq(s.targets, 2 * N_EACH);

	/* free() does not wait for probes in flight */
	t0 = now_s();
	unmake(h);
	cr_assert_lt(now_s() - t0, 0.1);
	srv_stop(&fast);
	srv_stop(&silent);
	free(t);
}

Test(health, set_targets_keeps_unchanged)
{
	struct gax_health *h = make();
	struct gax_health_target t[2];
	struct gax_health_status st, a_before, *all;
	struct gax_health_stats s;
	struct event ev[4];
	struct srv srv, web;
	unsigned int n;

	srv_start(&srv, SRV_ACCEPT, 0, 0, NULL);
	srv_start(&web, SRV_HTTP, 200, 0, NULL);
	t[0] = target(10, GAX_HEALTH_TCP, srv.port, NULL);
	t[1] = target(20, GAX_HEALTH_TCP, closed_port(), NULL);
	set(h, t, 2);
	cr_assert(wait_state(h, 10, GAX_HEALTH_HEALTHY, 600, &st));
	cr_assert(wait_state(h, 20, GAX_HEALTH_UNHEALTHY, 600, &st));

	/* keep 10 as it is, drop 20, add 30 */
	t[1] = target(30, GAX_HEALTH_HTTP, web.port, "/");
	cr_assert_eq(gax_health_get(h, 10, &a_before), 0);
	set(h, t, 2);
	cr_assert_eq(gax_health_get(h, 20, &st), -ENOENT);
	cr_assert_eq(gax_health_get(h, 30, &st), 0);
	/* its first probe is due within 25 ms and may already have run; one
	 * result is below the threshold, so the state is still unknown */
	cr_assert_eq(st.state, GAX_HEALTH_UNKNOWN);
	cr_assert_leq(st.probes, 1);
	cr_assert_eq(gax_health_get(h, 10, &st), 0);
	cr_assert_eq(st.state, GAX_HEALTH_HEALTHY);
	cr_assert_geq(st.probes, a_before.probes);
	cr_assert_eq(st.last_change, a_before.last_change);
	cr_assert(wait_state(h, 30, GAX_HEALTH_HEALTHY, 600, &st));

	cr_assert_eq(gax_health_snapshot(h, &all, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(all[0].id, 10);
	cr_assert_eq(all[1].id, 30);
	cr_assert_eq(all[1].state, GAX_HEALTH_HEALTHY);
	free(all);
	gax_health_stats(h, &s);
	cr_assert_eq(s.targets, 2);

	/* 10 with another threshold is a new target: unknown, counters from 0 */
	t[0].threshold = 3;
	set(h, t, 2);
	cr_assert_eq(gax_health_get(h, 10, &st), 0);
	cr_assert_eq(st.state, GAX_HEALTH_UNKNOWN);
	cr_assert_leq(st.probes, 1, "probes %lu: the count did not restart",
			(unsigned long)st.probes);
	cr_assert(wait_state(h, 10, GAX_HEALTH_HEALTHY, 800, &st));
	cr_assert_geq(st.probes, 3);
	cr_assert_eq(wait_events(10, 2, ev, 4, 500), 2);
	cr_assert_eq(wait_events(20, 1, ev, 4, 500), 1); /* none for the removal */

	/* an empty set */
	set(h, NULL, 0);
	gax_health_stats(h, &s);
	cr_assert_eq(s.targets, 0);
	cr_assert_eq(gax_health_get(h, 10, &st), -ENOENT);
	unmake(h);
	srv_stop(&srv);
	srv_stop(&web);
}

Test(health, https)
{
	EVP_PKEY *key = make_key(), *other_key = make_key();
	X509 *cert = make_cert(key, "endpoint"), *other = make_cert(other_key, "other");
	SSL_CTX *sctx = make_server_ctx(key, cert);
	struct gax_health_target t[3];
	struct gax_health_status st;
	struct gax_health_opts o;
	struct gax_health *h;
	struct srv tls, plain;
	char ca[64], wrong_ca[64], req[1024];

	srv_start(&tls, SRV_TLS, 200, 0, sctx);
	srv_start(&plain, SRV_ACCEPT, 0, 0, NULL);
	h = make();
	t[0] = target(1, GAX_HEALTH_HTTPS, tls.port, "/tls");
	t[1] = target(2, GAX_HEALTH_HTTPS, plain.port, "/");	/* closes at once */
	t[2] = target(3, GAX_HEALTH_HTTP, tls.port, "/");	/* http to a TLS port */
	set(h, t, 3);
	cr_assert(wait_state(h, 1, GAX_HEALTH_HEALTHY, 800, &st), "%s", st.reason);
	cr_assert_str_eq(st.reason, "http status 200");
	srv_request(&tls, req, sizeof(req));
	cr_assert(strncmp(req, "GET /tls HTTP/1.1\r\n", 19) == 0, "%s", req);
	cr_assert(wait_state(h, 2, GAX_HEALTH_UNHEALTHY, 800, &st), "%s", st.reason);
	cr_assert(strncmp(st.reason, "tls handshake failed", 20) == 0, "%s", st.reason);
	cr_assert(wait_state(h, 3, GAX_HEALTH_UNHEALTHY, 800, &st), "%s", st.reason);
	unmake(h);

	/* with a CA file: the right one passes, another fails verification */
	write_pem(cert, ca, sizeof(ca));
	write_pem(other, wrong_ca, sizeof(wrong_ca));
	gax_health_opts_init(&o);
	o.unit_ms = UNIT_MS;
	o.tls_ca_file = ca;
	h = gax_health_create(&o);
	cr_assert_not_null(h);
	set(h, t, 1);
	cr_assert(wait_state(h, 1, GAX_HEALTH_HEALTHY, 800, &st), "%s", st.reason);
	gax_health_free(h);
	o.tls_ca_file = wrong_ca;
	h = gax_health_create(&o);
	cr_assert_not_null(h);
	set(h, t, 1);
	cr_assert(wait_state(h, 1, GAX_HEALTH_UNHEALTHY, 800, &st), "%s", st.reason);
	cr_assert(strstr(st.reason, "certificate verify failed") != NULL, "%s", st.reason);
	gax_health_free(h);
	unlink(ca);
	unlink(wrong_ca);

	srv_stop(&tls);
	srv_stop(&plain);
	SSL_CTX_free(sctx);
	X509_free(cert);
	X509_free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
}

Test(health, source_address)
{
	struct gax_health *h = make();
	struct gax_health_target t[2];
	struct gax_health_status st;
	struct srv srv;

	srv_start(&srv, SRV_ACCEPT, 0, 0, NULL);
	t[0] = target(1, GAX_HEALTH_TCP, srv.port, NULL);
	t[0].source_addr = IP(127, 0, 0, 2);
	t[1] = target(2, GAX_HEALTH_TCP, srv.port, NULL);
	t[1].source_addr = IP(192, 0, 2, 1); /* not ours */
	set(h, t, 2);
	cr_assert(wait_state(h, 1, GAX_HEALTH_HEALTHY, 600, &st), "%s", st.reason);
	pthread_mutex_lock(&srv.lock);
	cr_assert_eq(srv.last_peer, IP(127, 0, 0, 2));
	pthread_mutex_unlock(&srv.lock);
	cr_assert(wait_state(h, 2, GAX_HEALTH_UNHEALTHY, 600, &st), "%s", st.reason);
	cr_assert(strncmp(st.reason, "bind 192.0.2.1: ", 16) == 0, "%s", st.reason);
	unmake(h);
	srv_stop(&srv);
}

Test(health, no_file_descriptor_left)
{
	struct gax_health *h = make();
	struct gax_health_target t = target(1, GAX_HEALTH_TCP, closed_port(), NULL);
	struct gax_health_status st;
	struct gax_health_stats s;
	struct rlimit old, low;
	bool reached;
	int fd;

	/* no descriptor above the ones open now */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = dup(0);
	cr_assert_geq(fd, 0);
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	set(h, &t, 1);
	reached = wait_state(h, 1, GAX_HEALTH_UNHEALTHY, 600, &st);
	setrlimit(RLIMIT_NOFILE, &old);
	cr_assert(reached, "%s", st.reason);
	cr_assert_str_eq(st.reason, "socket: Too many open files");
	gax_health_stats(h, &s);
	cr_assert_geq(s.errors, 2);
	cr_assert_eq(s.in_flight, 0);
	/* and it recovers once descriptors are back: refused, a real answer */
	cr_assert(wait_probes(h, 1, st.probes + 2, 600, &st));
	cr_assert_str_eq(st.reason, "connect refused");
	cr_assert(logged("cannot probe tcp 127.0.0.1:")); /* the shortage was logged */
	unmake(h);
}

/* Callers on several threads at once with the prober (for TSan and ASan). */
struct racer {
	struct gax_health *h;
	uint16_t port;
	unsigned int seed;
	unsigned int errors;	/* Criterion asserts belong to the test's thread */
};

static void *
race_main(void *arg)
{
	struct racer *x = arg;
	struct gax_health_target t[6];
	struct gax_health_status st, *all;
	struct gax_health_stats s;
	double end = now_s() + 0.4;
	unsigned int i, n;

	while (now_s() < end) {
		x->seed = x->seed * 1103515245u + 12345u;
		for (i = 0, n = 0; i < 6; i++)
			if ((x->seed >> (i + 8)) & 1)
				t[n++] = target(i, i % 2 ? GAX_HEALTH_HTTP : GAX_HEALTH_TCP,
						x->port, "/");
		if (gax_health_set_targets(x->h, t, n, NULL, 0) != 0)
			x->errors++;
		for (i = 0; i < 6; i++)
			if (gax_health_get(x->h, i, &st) == 0 && st.id != i)
				x->errors++;
		if (gax_health_snapshot(x->h, &all, &n) != 0)
			x->errors++;
		for (i = 1; i < n; i++)
			if (all[i - 1].id >= all[i].id)
				x->errors++;
		free(all);
		gax_health_stats(x->h, &s);
		usleep(1000);
	}
	return NULL;
}

Test(health, concurrent_callers)
{
	struct gax_health *h = make();
	struct racer x[3];
	pthread_t th[3];
	struct srv srv;
	unsigned int i;

	srv_start(&srv, SRV_HTTP, 200, 0, NULL);
	for (i = 0; i < 3; i++) {
		x[i].h = h;
		x[i].port = srv.port;
		x[i].seed = i + 1;
		x[i].errors = 0;
		cr_assert_eq(pthread_create(&th[i], NULL, race_main, &x[i]), 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(x[i].errors, 0);
	}
	unmake(h);
	srv_stop(&srv);
}
