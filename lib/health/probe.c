/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One health probe as a small state machine over a non-blocking socket:
 * connect, then (https) a TLS handshake, then (http, https) send the request
 * and read the status line. Each step does what it can without blocking and
 * tells epoll what it waits for; the prober's loop calls probe_event() when
 * that comes and enforces the timeout. Nothing here sleeps or blocks, so a
 * silent endpoint costs one idle socket and nothing else.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "health_priv.h"

void
probe_init(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

const char *
probe_phase_name(enum probe_phase phase)
{
	switch (phase) {
	case PROBE_CONNECT:
		return "connect";
	case PROBE_TLS:
		return "tls handshake";
	case PROBE_SEND:
		return "sending request";
	case PROBE_RECV:
		return "status line";
	case PROBE_IDLE:
		break;
	}
	return "idle";
}

void
probe_close(struct probe *p)
{
	if (p->ssl != NULL) {
		SSL_free(p->ssl);
		p->ssl = NULL;
	}
	if (p->fd >= 0)
		close(p->fd); /* also leaves the epoll set */
	p->fd = -1;
	p->events = 0;
	p->phase = PROBE_IDLE;
	p->len = 0;
	p->off = 0;
}

/* Close and return @p rc with a reason. */
static enum probe_rc
end(struct probe *p, enum probe_rc rc, char *reason, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum probe_rc
end(struct probe *p, enum probe_rc rc, char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
	probe_close(p);
	return rc;
}

/* A local failure, as opposed to one of the target's. */
static bool
local_errno(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS;
}

/* Wait for @p ev on the probe's socket. */
static enum probe_rc
want(struct probe *p, int epfd, void *tag, uint32_t ev, char *reason, size_t len)
{
	struct epoll_event e = { .events = ev, .data.ptr = tag };
	int e0;

	if (p->events == ev)
		return PROBE_PENDING;
	if (epoll_ctl(epfd, p->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, p->fd, &e) != 0) {
		e0 = errno;
		return end(p, PROBE_ERROR, reason, len, "epoll: %s", strerror(e0));
	}
	p->events = ev;
	return PROBE_PENDING;
}

static enum probe_rc
connect_failed(struct probe *p, int e, char *reason, size_t len)
{
	switch (e) {
	case ECONNREFUSED:
		return end(p, PROBE_FAIL, reason, len, "connect refused");
	case ETIMEDOUT:
		return end(p, PROBE_FAIL, reason, len, "connect timed out");
	default:
		return end(p, local_errno(e) ? PROBE_ERROR : PROBE_FAIL, reason, len,
				"connect: %s", strerror(e));
	}
}

static void
build_request(struct probe *p, const struct probe_cfg *cfg)
{
	int w = snprintf(p->buf, sizeof(p->buf),
			"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gax-health-check\r\n"
			"Accept: */*\r\nConnection: close\r\n\r\n", cfg->path, cfg->host);

	/* path <= GAX_HEALTH_PATH_MAX, host <= GAX_HEALTH_HOST_MAX: it always fits */
	p->len = w > 0 && (size_t)w < sizeof(p->buf) ? (size_t)w : 0;
	p->off = 0;
}

/* Describe the last TLS failure of @p ssl whose call returned @p rc. */
static void
tls_reason(SSL *ssl, int rc, const char *what, char *reason, size_t len)
{
	int err = SSL_get_error(ssl, rc);
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(reason, len, "%s: %s", what, buf);
	} else if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) {
		snprintf(reason, len, "%s: connection closed", what);
	} else if (err == SSL_ERROR_SYSCALL) {
		snprintf(reason, len, "%s: %s", what, strerror(errno));
	} else {
		snprintf(reason, len, "%s: error %d", what, err);
	}
	ERR_clear_error();
}

/*
 * A TLS call on @p p returned @p rc (not a success): wait for what OpenSSL
 * wants, or end the probe as failed with @p what and OpenSSL's reason.
 */
static enum probe_rc
tls_stalled(struct probe *p, int epfd, void *tag, int rc, const char *what, char *reason,
		size_t len)
{
	switch (SSL_get_error(p->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return want(p, epfd, tag, EPOLLIN, reason, len);
	case SSL_ERROR_WANT_WRITE:
		return want(p, epfd, tag, EPOLLOUT, reason, len);
	default:
		tls_reason(p->ssl, rc, what, reason, len);
		probe_close(p);
		return PROBE_FAIL;
	}
}

/*
 * Parse what was read so far: PROBE_PENDING while the status line is
 * incomplete, else the verdict. @p eof: nothing more will come.
 */
static enum probe_rc
parse_status(struct probe *p, bool eof, char *reason, size_t len)
{
	const char *b = p->buf;
	unsigned int status;

	/* "HTTP/1.1 200" is all that is needed */
	if (p->len < 12 && !eof && memchr(b, '\n', p->len) == NULL)
		return PROBE_PENDING;
	if (p->len == 0)
		return end(p, PROBE_FAIL, reason, len, "connection closed before status line");
	if (p->len < 12 || memcmp(b, "HTTP/", 5) != 0 || b[5] < '0' || b[5] > '9' ||
			b[6] != '.' || b[7] < '0' || b[7] > '9' || b[8] != ' ' ||
			b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' ||
			b[11] < '0' || b[11] > '9' || (p->len > 12 && b[12] != ' ' &&
			b[12] != '\r' && b[12] != '\n'))
		return end(p, PROBE_FAIL, reason, len, "bad http status line");
	status = (unsigned int)(b[9] - '0') * 100 + (unsigned int)(b[10] - '0') * 10 +
		(unsigned int)(b[11] - '0');
	return end(p, status >= 200 && status < 400 ? PROBE_OK : PROBE_FAIL, reason, len,
			"http status %u", status);
}

/*
 * Send what is left of the request. @return PROBE_OK when all is sent,
 * PROBE_PENDING when the socket is full, else the failure.
 */
static enum probe_rc
send_request(struct probe *p, int epfd, void *tag, char *reason, size_t len)
{
	while (p->off < p->len) {
		ssize_t w;
		int rc, e;

		if (p->ssl == NULL) {
			w = send(p->fd, p->buf + p->off, p->len - p->off, MSG_NOSIGNAL);
			if (w >= 0) {
				p->off += (size_t)w;
				continue;
			}
			e = errno;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return want(p, epfd, tag, EPOLLOUT, reason, len);
			if (e == EINTR)
				continue;
			return end(p, local_errno(e) ? PROBE_ERROR : PROBE_FAIL, reason, len,
					"send: %s", strerror(e));
		}
		ERR_clear_error();
		errno = 0;
		rc = SSL_write(p->ssl, p->buf + p->off, (int)(p->len - p->off));
		if (rc > 0) {
			p->off += (size_t)rc;
			continue;
		}
		return tls_stalled(p, epfd, tag, rc, "tls write", reason, len);
	}
	return PROBE_OK;
}

/*
 * Read once into the buffer: bytes read (0 at the end of the stream), or
 * -1 with *rc set (PROBE_PENDING: wait for the socket; else the failure).
 */
static ssize_t
read_some(struct probe *p, int epfd, void *tag, char *reason, size_t len, enum probe_rc *rc)
{
	size_t room = sizeof(p->buf) - 1 - p->len;
	ssize_t r;
	int n, e;

	if (p->ssl == NULL) {
		do {
			r = recv(p->fd, p->buf + p->len, room, 0);
		} while (r < 0 && errno == EINTR);
		if (r >= 0)
			return r;
		e = errno;
		if (e == EAGAIN || e == EWOULDBLOCK) {
			*rc = want(p, epfd, tag, EPOLLIN, reason, len);
			return -1;
		}
		if (p->len > 0)
			return 0; /* a reset after some bytes: judge what came */
		*rc = end(p, PROBE_FAIL, reason, len, "recv: %s", strerror(e));
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	n = SSL_read(p->ssl, p->buf + p->len, (int)room);
	if (n > 0)
		return n;
	switch (SSL_get_error(p->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		*rc = want(p, epfd, tag, EPOLLIN, reason, len);
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*rc = want(p, epfd, tag, EPOLLOUT, reason, len);
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		if (p->len == 0 && ERR_peek_last_error() != 0) {
			tls_reason(p->ssl, n, "tls read", reason, len);
			probe_close(p);
			*rc = PROBE_FAIL;
			return -1;
		}
		ERR_clear_error();
		return 0; /* an unclean end: judge what came */
	}
}

/* Read until the status line is judged or the socket has nothing more now. */
static enum probe_rc
read_status(struct probe *p, int epfd, void *tag, char *reason, size_t len)
{
	for (;;) {
		enum probe_rc rc = PROBE_PENDING;
		ssize_t r = read_some(p, epfd, tag, reason, len, &rc);

		if (r < 0)
			return rc;
		p->len += (size_t)r;
		rc = parse_status(p, r == 0 || p->len == sizeof(p->buf) - 1, reason, len);
		if (rc != PROBE_PENDING)
			return rc;
	}
}

/* Run the state machine as far as it goes without blocking. */
static enum probe_rc
advance(struct probe *p, const struct probe_cfg *cfg, SSL_CTX *ctx, int epfd, void *tag,
		char *reason, size_t len)
{
	for (;;) {
		switch (p->phase) {
		case PROBE_IDLE:
			return end(p, PROBE_ERROR, reason, len, "probe not started");
		case PROBE_CONNECT: {
			int err = 0;
			socklen_t sl = sizeof(err);

			if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
				err = errno;
			if (err == EINPROGRESS || err == EALREADY)
				return want(p, epfd, tag, EPOLLOUT, reason, len);
			if (err != 0)
				return connect_failed(p, err, reason, len);
			if (cfg->protocol == GAX_HEALTH_TCP)
				return end(p, PROBE_OK, reason, len, "connected");
			if (cfg->protocol == GAX_HEALTH_HTTPS) {
				ERR_clear_error();
				p->ssl = SSL_new(ctx);
				if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1) {
					ERR_clear_error();
					return end(p, PROBE_ERROR, reason, len,
							"tls: out of memory");
				}
				SSL_set_connect_state(p->ssl);
				p->phase = PROBE_TLS;
			} else {
				build_request(p, cfg);
				p->phase = PROBE_SEND;
			}
			break;
		}
		case PROBE_TLS: {
			int rc;

			ERR_clear_error();
			errno = 0;
			rc = SSL_do_handshake(p->ssl);
			if (rc == 1) {
				build_request(p, cfg);
				p->phase = PROBE_SEND;
				break;
			}
			return tls_stalled(p, epfd, tag, rc, "tls handshake failed", reason, len);
		}
		case PROBE_SEND: {
			enum probe_rc rc = send_request(p, epfd, tag, reason, len);

			if (rc != PROBE_OK)
				return rc;
			p->len = 0;
			p->phase = PROBE_RECV;
			break;
		}
		case PROBE_RECV:
			return read_status(p, epfd, tag, reason, len);
		}
	}
}

enum probe_rc
probe_start(struct probe *p, const struct probe_cfg *cfg, SSL_CTX *ctx, int epfd, void *tag,
		char *reason, size_t len)
{
	static const int one = 1;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int e;

	probe_init(p);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		e = errno;
		return end(p, PROBE_ERROR, reason, len, "socket: %s", strerror(e));
	}
	/* A reset at close: no TIME_WAIT per probe. Best effort, as is NODELAY. */
	(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void)setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cfg->source_addr != 0) {
		char ip[INET_ADDRSTRLEN];

		sa.sin_addr.s_addr = htonl(cfg->source_addr);
		if (bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			e = errno;
			inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
			return end(p, local_errno(e) ? PROBE_ERROR : PROBE_FAIL, reason, len,
					"bind %s: %s", ip, strerror(e));
		}
	}
	sa.sin_addr.s_addr = htonl(cfg->addr);
	sa.sin_port = htons(cfg->port);
	p->phase = PROBE_CONNECT;
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		e = errno;
		if (e != EINPROGRESS && e != EINTR)
			return connect_failed(p, e, reason, len);
		return want(p, epfd, tag, EPOLLOUT, reason, len);
	}
	return advance(p, cfg, ctx, epfd, tag, reason, len);
}

enum probe_rc
probe_event(struct probe *p, const struct probe_cfg *cfg, SSL_CTX *ctx, int epfd, void *tag,
		uint32_t events, char *reason, size_t len)
{
	(void)events; /* each phase asks the socket itself (SO_ERROR, read, write) */
	if (p->phase == PROBE_IDLE)
		return PROBE_PENDING; /* a stale event: nothing in flight */
	return advance(p, cfg, ctx, epfd, tag, reason, len);
}
