/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Domain-name endpoints, resolved and re-resolved off the packet path and
 * off the control loop.
 *
 * A resolver keeps a set of names resolved (gax_resolver_set_names()) with a
 * small pool of threads of its own (GAX_RESOLVE_DEFAULT_THREADS by default):
 * each thread takes the name due soonest, queries it without holding any
 * lock, and stores the result, so a slow name holds up one thread, never the
 * others nor the caller. A name is re-resolved when its TTL runs out (DNS
 * TTL clamped to [min_ttl_s, max_ttl_s]), after interval_s when the answer
 * carries no TTL (/etc/hosts), and after min_ttl_s when a query failed.
 *
 * A failed query keeps the last known addresses (GAX_RES_FAILED_KEEPING),
 * is counted and logged; a name that has never resolved serves nothing
 * (GAX_RES_NEVER_RESOLVED) and is logged as such. When the address set of a
 * name changes (including its first resolution) the resolver makes its
 * eventfd (gax_resolver_fd()) readable: the control loop polls it, calls
 * gax_resolver_changed() and compiles a new snapshot, whose resolve
 * callback can be gax_resolver_snapshot_cb().
 *
 * The default lookup asks DNS for A records with res_nquery() (to learn the
 * TTL) and, when that fails, getaddrinfo(AF_INET) (names of /etc/hosts and
 * other NSS sources, with interval_s as TTL). Both are bounded by timeout_ms,
 * rounded up to whole seconds (the resolver's unit). Tests inject a lookup of
 * their own.
 *
 * Thread safety: every function may be called from any thread, concurrently,
 * except gax_resolver_free(). A mutex guards the name set and is held only to
 * copy or swap records, never across a query, a log callback or an
 * allocation of the caller's set: the caller never waits for DNS.
 */
#ifndef GAX_RESOLVE_H
#define GAX_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAX_RESOLVE_MAX_ADDRS		8	/**< Addresses kept per name (the lowest). */
#define GAX_RESOLVE_LOOKUP_MAX		32	/**< Addresses a lookup may give. */
#define GAX_RESOLVE_NAME_MAX		253	/**< Longest name accepted (RFC 1035). */
#define GAX_RESOLVE_MAX_NAMES		4096	/**< Largest name set accepted. */
#define GAX_RESOLVE_ERROR_MAX		128	/**< Size of gax_resolved.last_error. */
#define GAX_RESOLVE_DEFAULT_INTERVAL	30	/**< Seconds, period without TTL. */
#define GAX_RESOLVE_DEFAULT_MIN_TTL	5	/**< Seconds, shortest TTL; retry delay. */
#define GAX_RESOLVE_DEFAULT_MAX_TTL	3600	/**< Seconds, longest TTL. */
#define GAX_RESOLVE_DEFAULT_TIMEOUT_MS	2000	/**< Per query. */
#define GAX_RESOLVE_DEFAULT_THREADS	4	/**< Names queried in parallel. */
#define GAX_RESOLVE_MAX_THREADS		64	/**< Largest pool accepted. */
#define GAX_RESOLVE_MAX_SECONDS		86400	/**< Largest interval or TTL bound. */
#define GAX_RESOLVE_TTL_UNKNOWN		UINT32_MAX /**< *ttl_s left as is: no TTL. */

/* Levels given to the log callback: syslog's (LOG_ERR..LOG_INFO); RTE_LOG_* is one more. */
#define GAX_RESOLVE_LOG_ERR		3
#define GAX_RESOLVE_LOG_WARNING		4
#define GAX_RESOLVE_LOG_NOTICE		5
#define GAX_RESOLVE_LOG_INFO		6

/** What is known of a name. */
enum gax_resolve_state {
	GAX_RES_PENDING = 0,		/**< Not queried yet (or its first query is running). */
	GAX_RES_OK = 1,			/**< The last query answered: addrs are current. */
	GAX_RES_FAILED_KEEPING = 2,	/**< The last query failed: addrs are the last known. */
	GAX_RES_NEVER_RESOLVED = 3,	/**< Every query failed so far: serves nothing. */
};

/** The state of one name (a copy: the resolver goes on meanwhile). */
struct gax_resolved {
	enum gax_resolve_state state;
	uint32_t n_addrs;		/**< 0 when PENDING or NEVER_RESOLVED. */
	/** Host byte order, ascending, distinct, never 0. */
	uint32_t addrs[GAX_RESOLVE_MAX_ADDRS];
	uint32_t ttl_s;			/**< Delay in force before the next query (s). */
	uint32_t failures;		/**< Consecutive failed queries (0 after a success). */
	time_t last_ok;			/**< time() of the last success; 0: never. */
	time_t last_attempt;		/**< time() at the end of the last query; 0: never. */
	/** Why the last query failed; "" after a success. */
	char last_error[GAX_RESOLVE_ERROR_MAX];
};

/** Counters since creation. */
struct gax_resolver_stats {
	uint64_t queries;	/**< Lookups made (successful or not). */
	uint64_t failures;	/**< Lookups that failed. */
	uint64_t changes;	/**< Address sets that changed, first resolutions included. */
	uint32_t names;		/**< Names in the set now. */
	uint32_t threads;	/**< Threads of the pool. */
};

/**
 * A lookup: put up to @p max addresses of @p name (host order, any order,
 * duplicates allowed) in @p addrs and their number in @p n, and the TTL in
 * seconds in @p ttl_s, or leave it at GAX_RESOLVE_TTL_UNKNOWN. Return 0, or a
 * negative errno when the name has no address (0 addresses count as failure,
 * -ENODATA). Called from the resolver's threads, several at once (for
 * different names); it should give up after the resolver's timeout_ms.
 */
typedef int (*gax_resolve_lookup_fn)(void *ctx, const char *name, uint32_t *addrs,
		unsigned int max, unsigned int *n, uint32_t *ttl_s);

/** Log callback, called from the resolver's threads with no lock held. */
typedef void (*gax_resolve_log_fn)(void *ctx, int level, const char *msg);

/** Creation options; start from gax_resolver_opts_init(). */
struct gax_resolver_opts {
	uint32_t interval_s;	/**< Period without TTL, 1 to GAX_RESOLVE_MAX_SECONDS. */
	uint32_t min_ttl_s;	/**< Shortest TTL honoured and delay after a failure, >= 1. */
	uint32_t max_ttl_s;	/**< Longest TTL, min_ttl_s to GAX_RESOLVE_MAX_SECONDS. */
	uint32_t timeout_ms;	/**< Per query, 1 to GAX_RESOLVE_MAX_SECONDS * 1000. */
	uint32_t n_threads;	/**< Pool size, 1 to GAX_RESOLVE_MAX_THREADS. */
	gax_resolve_lookup_fn lookup;	/**< NULL: DNS then getaddrinfo (see the top). */
	void *lookup_ctx;
	gax_resolve_log_fn log;		/**< NULL: no logging. */
	void *log_ctx;
};

/** A resolver (opaque). */
struct gax_resolver;

/**
 * Fill @p o with the defaults: GAX_RESOLVE_DEFAULT_* values, the default
 * lookup, no log. Thread safety: any thread.
 */
void gax_resolver_opts_init(struct gax_resolver_opts *o);

/**
 * Create a resolver with an empty name set and start its threads.
 *
 * @param o  options; NULL for the defaults of gax_resolver_opts_init()
 * @return the resolver, or NULL with errno:
 *   EINVAL  an option out of its range (see struct gax_resolver_opts);
 *   ENOMEM  out of memory;
 *   other   from eventfd() or pthread_create() (EMFILE, EAGAIN...).
 * Thread safety: any thread.
 */
struct gax_resolver *gax_resolver_create(const struct gax_resolver_opts *o);

/**
 * Stop the threads and release everything. Waits for queries in flight to
 * end (at most timeout_ms with the default lookup); threads that are idle
 * stop at once. Closes the eventfd. NULL is allowed.
 * Thread safety: once no other thread uses @p r.
 */
void gax_resolver_free(struct gax_resolver *r);

/**
 * Make @p names the set of names kept resolved: names new to the set are
 * queried at once (state PENDING until then), names no longer in it are
 * forgotten (a query of theirs in flight is discarded), the others keep
 * their state and schedule. Names compare case-insensitively; duplicates
 * count once. Does not signal the eventfd.
 *
 * @param names  @p n names, each 1 to GAX_RESOLVE_NAME_MAX characters
 *               (copied; NULL only when @p n is 0)
 * @return 0, or -EINVAL (@p r NULL, a name NULL, empty or too long),
 *   -E2BIG (more than GAX_RESOLVE_MAX_NAMES distinct names), -ENOMEM; the
 *   set is unchanged on error.
 * Thread safety: any thread; never waits for a query.
 */
int gax_resolver_set_names(struct gax_resolver *r, const char *const *names, unsigned int n);

/**
 * Copy the state of @p name into @p out.
 * @return 0, or -EINVAL (an argument NULL), -ENOENT (@p name not in the set).
 * Thread safety: any thread; never waits for a query.
 */
int gax_resolver_get(struct gax_resolver *r, const char *name, struct gax_resolved *out);

/**
 * A gax_snapshot_resolve_fn with the resolver as @p ctx: the lowest address
 * of @p name, last known ones included.
 * @return 0, or -ENOENT (not in the set), -EAGAIN (PENDING), -EHOSTUNREACH
 *   (NEVER_RESOLVED), -EINVAL (an argument NULL).
 * Thread safety: any thread; never waits for a query.
 */
int gax_resolver_snapshot_cb(void *ctx, const char *name, uint32_t *addr);

/**
 * The resolver's eventfd, non-blocking: readable when the address set of a
 * name changed (first resolutions included) since the last
 * gax_resolver_changed(). Poll it for POLLIN; do not read or close it.
 * @return the descriptor, or -EINVAL when @p r is NULL.
 * Thread safety: any thread.
 */
int gax_resolver_fd(struct gax_resolver *r);

/**
 * Drain the eventfd.
 * @return true when some address set changed since the last call (compile
 *   a new snapshot), else false.
 * Thread safety: any thread, but meant for one consumer (the control loop).
 */
bool gax_resolver_changed(struct gax_resolver *r);

/** Copy the counters into @p st. Thread safety: any thread. */
void gax_resolver_stats(struct gax_resolver *r, struct gax_resolver_stats *st);

/** The name of @p s ("pending", "ok", "failed-keeping", "never-resolved"). */
const char *gax_resolve_state_name(enum gax_resolve_state s);

#ifdef __cplusplus
}
#endif

#endif /* GAX_RESOLVE_H */
