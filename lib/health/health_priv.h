/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the prober shared by health.c (the target set, the schedule
 * and the thread) and probe.c (one probe: a non-blocking socket, TLS and
 * HTTP driven by epoll events).
 */
#ifndef GAX_HEALTH_PRIV_H
#define GAX_HEALTH_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "gax_health.h"

/** Where a probe is. */
enum probe_phase {
	PROBE_IDLE = 0,		/* no probe in flight */
	PROBE_CONNECT,		/* waiting for connect() to complete */
	PROBE_TLS,		/* TLS handshake */
	PROBE_SEND,		/* sending the request */
	PROBE_RECV,		/* reading the status line */
};

/** The outcome of a step. */
enum probe_rc {
	PROBE_PENDING = 0,	/* waiting for an event */
	PROBE_OK,		/* the target answered as a healthy one */
	PROBE_FAIL,		/* the target failed */
	PROBE_ERROR,		/* a local failure (no fd, no memory): counted apart */
};

/* Fits the longest request: path and Host at their limits. */
#define PROBE_BUF 768

/** What a probe needs to know of its target (immutable while it runs). */
struct probe_cfg {
	uint32_t addr;		/* host order */
	uint16_t port;
	enum gax_health_proto protocol;
	uint32_t source_addr;	/* host order; 0: any */
	const char *path;	/* http/https */
	const char *host;	/* Host header value */
};

/** One probe in flight; owned by the prober's thread. */
struct probe {
	enum probe_phase phase;
	int fd;			/* -1 when idle */
	SSL *ssl;
	uint32_t events;	/* registered with epoll; 0: not registered */
	uint64_t start_ns;
	uint64_t deadline_ns;
	size_t len;		/* bytes in buf */
	size_t off;		/* bytes of the request sent */
	char buf[PROBE_BUF];
};

/** Make @p p idle (fd -1). */
void probe_init(struct probe *p);

/**
 * Start a probe of @p cfg: a non-blocking socket registered with @p epfd
 * (events carry @p tag). @return PROBE_PENDING, or an outcome with its reason
 * in @p reason (the probe is closed then).
 */
enum probe_rc probe_start(struct probe *p, const struct probe_cfg *cfg, SSL_CTX *ctx, int epfd,
		void *tag, char *reason, size_t len);

/** Advance after epoll reported @p events. Same returns as probe_start(). */
enum probe_rc probe_event(struct probe *p, const struct probe_cfg *cfg, SSL_CTX *ctx, int epfd,
		void *tag, uint32_t events, char *reason, size_t len);

/** What the probe was doing, for a timeout's reason ("connect", "status line"...). */
const char *probe_phase_name(enum probe_phase phase);

/** Close the socket (a reset), free TLS, make @p p idle. Idle probes are left as they are. */
void probe_close(struct probe *p);

#endif /* GAX_HEALTH_PRIV_H */
