/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Active health checks of endpoints, off the packet path.
 *
 * A prober keeps a set of targets (gax_health_set_targets()), one per
 * endpoint, each with its own address, port, protocol, interval, timeout and
 * threshold, and probes them all from one thread of its own. Every probe is a
 * non-blocking socket driven by one epoll loop, so hundreds of probes are in
 * flight at once and a slow or silent endpoint delays nobody else's schedule.
 *
 * Probes:
 *   tcp    a connect() that completes within the timeout;
 *   http   connect, send "GET <path> HTTP/1.1" with Host (the address unless
 *          given), User-Agent and
 *          "Connection: close", read the status line within the timeout:
 *          healthy on 200-399, unhealthy on any other status;
 *   https  the same over TLS (OpenSSL). Endpoints are addressed by IP, so no
 *          SNI is sent and the certificate is not verified unless
 *          gax_health_opts.tls_ca_file is set (then the chain is verified
 *          against it, the name is not).
 * Sockets are closed with SO_LINGER 0 (a reset, as HAProxy's checks do) so
 * that thousands of probes a minute leave no TIME_WAIT behind.
 *
 * Each target starts GAX_HEALTH_UNKNOWN and stays so until it has `threshold`
 * consecutive equal results: `threshold` successes in a row make it healthy,
 * `threshold` failures in a row unhealthy (in either direction afterwards).
 * Each result carries a reason ("connect refused", "timeout after 2 s",
 * "http status 503", "tls handshake failed: ..."). A probe that cannot even
 * start (no file descriptor left, no memory) is a failure with that reason,
 * counted in gax_health_stats.errors. A new target is first probed after a
 * random delay of up to a quarter of its interval (at most one time unit),
 * then every interval, jittered by up to 5 %, so targets added together do
 * not fire together. Time is CLOCK_MONOTONIC.
 *
 * When a target changes state, the change callback runs on the prober's
 * thread with no lock held (keep it short: it delays the next probes), so
 * the daemon can compile and publish a new snapshot.
 *
 * Thread safety: every function may be called from any thread, concurrently,
 * except gax_health_free(). A mutex guards the target set and the states; the
 * prober thread holds it only to copy or store a record, never across a
 * socket call or a callback: callers never wait for a probe.
 */
#ifndef GAX_HEALTH_H
#define GAX_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_HEALTH_MAX_TARGETS		4096	/**< Largest target set accepted. */
#define GAX_HEALTH_PATH_MAX		255	/**< Longest http/https path. */
#define GAX_HEALTH_HOST_MAX		253	/**< Longest Host header value. */
#define GAX_HEALTH_REASON_MAX		128	/**< Size of the reason strings. */
#define GAX_HEALTH_INTERVAL_MIN		1	/**< Time units (seconds by default). */
#define GAX_HEALTH_INTERVAL_MAX		50
#define GAX_HEALTH_TIMEOUT_MIN		1
#define GAX_HEALTH_TIMEOUT_MAX		50
#define GAX_HEALTH_THRESHOLD_MIN	2
#define GAX_HEALTH_THRESHOLD_MAX	10
#define GAX_HEALTH_DEFAULT_UNIT_MS	1000	/**< One time unit: a second. */
#define GAX_HEALTH_MAX_UNIT_MS		1000

/* Levels given to the log callback: syslog's, as lib/resolve. */
#define GAX_HEALTH_LOG_ERR		3
#define GAX_HEALTH_LOG_WARNING		4
#define GAX_HEALTH_LOG_NOTICE		5
#define GAX_HEALTH_LOG_INFO		6

/** How a target is probed. */
enum gax_health_proto {
	GAX_HEALTH_TCP = 0,
	GAX_HEALTH_HTTP = 1,
	GAX_HEALTH_HTTPS = 2,
};

/** What is known of a target. */
enum gax_health_state {
	GAX_HEALTH_UNKNOWN = 0,		/**< Fewer than threshold equal results so far. */
	GAX_HEALTH_HEALTHY = 1,		/**< threshold successes in a row. */
	GAX_HEALTH_UNHEALTHY = 2,	/**< threshold failures in a row. */
};

/** The outcome of the last probe. */
enum gax_health_result {
	GAX_HEALTH_RESULT_NONE = 0,	/**< No probe has ended yet. */
	GAX_HEALTH_RESULT_OK = 1,
	GAX_HEALTH_RESULT_FAIL = 2,
};

/**
 * One endpoint to probe. A target given again with the same id and the same
 * fields keeps its state, counters and schedule; the same id with any field
 * changed starts anew (GAX_HEALTH_UNKNOWN).
 */
struct gax_health_target {
	uint32_t id;			/**< The endpoint's stable id; unique in a set. */
	uint32_t addr;			/**< IPv4, host byte order, not 0. */
	uint16_t port;			/**< 1-65535. */
	enum gax_health_proto protocol;
	const char *path;		/**< http/https: starts with '/', printable, no
					 * space, at most GAX_HEALTH_PATH_MAX; NULL: "/".
					 * Ignored for tcp. Copied. */
	const char *host;		/**< http/https Host header, 1-GAX_HEALTH_HOST_MAX
					 * printable characters, no space; NULL: the
					 * address, with ":port" unless 80 (http) or 443
					 * (https). Ignored for tcp. Copied. */
	uint32_t interval;		/**< Time units between probes, 1-50. */
	uint32_t timeout;		/**< Time units a probe may take, 1-50, <= interval. */
	uint32_t threshold;		/**< Equal results in a row to change state, 2-10. */
	uint32_t source_addr;		/**< Bind to this IPv4 (host order); 0: any. */
};

/** The state of one target (a copy: the prober goes on meanwhile). */
struct gax_health_status {
	uint32_t id;
	enum gax_health_state state;
	enum gax_health_result last_result;
	uint32_t consecutive;		/**< Results in a row equal to last_result. */
	uint64_t probes;		/**< Probes ended (successes + failures). */
	uint64_t successes;
	uint64_t failures;
	uint32_t last_duration_us;	/**< How long the last probe took. */
	time_t last_probe;		/**< time() when the last probe ended; 0: never. */
	time_t last_change;		/**< time() of the last state change; 0: never. */
	/** Why the last probe succeeded or failed; "" before the first. */
	char reason[GAX_HEALTH_REASON_MAX];
	/** The reason of the result that made the last state change; "" before. */
	char change_reason[GAX_HEALTH_REASON_MAX];
};

/** Counters since creation. */
struct gax_health_stats {
	uint64_t probes;	/**< Probes ended. */
	uint64_t successes;
	uint64_t failures;
	uint64_t changes;	/**< State changes (callbacks made). */
	uint64_t errors;	/**< Probes that could not start or run (EMFILE, ENOMEM...). */
	uint32_t targets;	/**< Targets in the set now. */
	uint32_t in_flight;	/**< Probes running now. */
};

/**
 * Change callback: target @p id became @p state because of the result whose
 * reason is @p reason. Called from the prober's thread, with no lock held,
 * once per change; not for a target already removed when the result came. It
 * may call any gax_health_* function except gax_health_free().
 */
typedef void (*gax_health_change_fn)(void *ctx, uint32_t id, enum gax_health_state state,
		const char *reason);

/** Log callback, called from the prober's thread with no lock held. */
typedef void (*gax_health_log_fn)(void *ctx, int level, const char *msg);

/** Creation options; start from gax_health_opts_init(). */
struct gax_health_opts {
	/**
	 * Length of one time unit of interval and timeout, in milliseconds,
	 * 1 to GAX_HEALTH_MAX_UNIT_MS. 1000 (seconds, as in the config) except
	 * in tests, which shrink it to run in a fraction of the time.
	 */
	uint32_t unit_ms;
	/** PEM file of CAs that https probes verify the chain against; NULL: none. */
	const char *tls_ca_file;
	gax_health_change_fn on_change;	/**< NULL: none. */
	void *change_ctx;
	gax_health_log_fn log;		/**< NULL: no logging. */
	void *log_ctx;
};

/** A prober (opaque). */
struct gax_health;

/** Fill @p o with the defaults: unit 1 s, no CA, no callbacks. Thread safety: any. */
void gax_health_opts_init(struct gax_health_opts *o);

/**
 * Create a prober with an empty target set and start its thread.
 *
 * @param o  options; NULL for the defaults of gax_health_opts_init()
 * @return the prober, or NULL with errno:
 *   EINVAL  unit_ms out of range, or tls_ca_file unreadable or not PEM;
 *   ENOMEM  out of memory (an OpenSSL context included);
 *   other   from epoll_create1(), eventfd() or pthread_create().
 * Thread safety: any thread.
 */
struct gax_health *gax_health_create(const struct gax_health_opts *o);

/**
 * Stop the thread (at once: probes in flight are abandoned, their sockets
 * closed) and release everything. NULL is allowed.
 * Thread safety: once no other thread uses @p h; not from the change callback.
 */
void gax_health_free(struct gax_health *h);

/**
 * Check one target against the rules of struct gax_health_target.
 * @param err  where to write why it is refused (naming the field), or NULL
 * @return 0, or -EINVAL.
 * Thread safety: any thread.
 */
int gax_health_target_check(const struct gax_health_target *t, char *err, size_t errlen);

/**
 * Make @p targets the set probed, atomically: new ids (or ids whose fields
 * changed) start GAX_HEALTH_UNKNOWN and are first probed within a quarter of
 * their interval (at most one time unit), removed ones are forgotten (a
 * probe of theirs in flight is abandoned, no callback), unchanged ones keep
 * their state and schedule.
 *
 * @param targets  @p n targets (copied; NULL only when @p n is 0)
 * @param err      where to write why the set is refused (the index and the
 *                 field), or NULL
 * @return 0, or -EINVAL (@p h NULL, a target refused by
 *   gax_health_target_check(), an id given twice), -E2BIG (more than
 *   GAX_HEALTH_MAX_TARGETS), -ENOMEM; the set is unchanged on error.
 * Thread safety: any thread; never waits for a probe.
 */
int gax_health_set_targets(struct gax_health *h, const struct gax_health_target *targets,
		unsigned int n, char *err, size_t errlen);

/**
 * Copy the state of target @p id into @p out.
 * @return 0, or -EINVAL (an argument NULL), -ENOENT (@p id not in the set).
 * Thread safety: any thread; never waits for a probe.
 */
int gax_health_get(struct gax_health *h, uint32_t id, struct gax_health_status *out);

/**
 * Copy the states of every target, ascending by id, into a new array
 * (release it with free()), for `show endpoints` and telemetry.
 * @param out  set to the array (NULL when the set is empty)
 * @param n    set to its length
 * @return 0, or -EINVAL (an argument NULL), -ENOMEM.
 * Thread safety: any thread; never waits for a probe.
 */
int gax_health_snapshot(struct gax_health *h, struct gax_health_status **out, unsigned int *n);

/** Copy the counters into @p st (zeroes when @p h is NULL). Thread safety: any thread. */
void gax_health_stats(struct gax_health *h, struct gax_health_stats *st);

/** "unknown", "healthy" or "unhealthy". */
const char *gax_health_state_name(enum gax_health_state s);

/** "tcp", "http" or "https". */
const char *gax_health_proto_name(enum gax_health_proto p);

#ifdef __cplusplus
}
#endif

#endif /* GAX_HEALTH_H */
