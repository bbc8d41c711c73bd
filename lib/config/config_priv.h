/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the configuration module, shared by its files and by nothing
 * else: the JSON path builder, diagnostics with a line and column, the
 * address and name parsers behind the public helpers, the cross-object
 * validation pass and the certificate checks.
 */
#ifndef GAX_CONFIG_PRIV_H
#define GAX_CONFIG_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gax_config.h"

/* A JSON path longer than this is cut short (with "..."); real ones are far shorter. */
#define GAX_JPATH_MAX 512

/* Characters of a user string echoed in a message before it is cut with "...". */
#define GAX_QUOTE_CHARS 48
/* Room for a quoted string: quotes, escapes (4 bytes per character), "..." and NUL. */
#define GAX_QUOTE_BUF (GAX_QUOTE_CHARS * 4 + 8)
/*
 * File paths are echoed whole up to this length: a path cut short cannot be
 * looked for, and where the config lives decides how long it is.
 */
#define GAX_QUOTE_PATH_CHARS 1024
#define GAX_QUOTE_PATH_BUF (GAX_QUOTE_PATH_CHARS * 4 + 8)

/* Largest config file read (a sanity bound: real files are a few MiB at most). */
#define GAX_CONFIG_MAX_BYTES (64u << 20)

/* The path of the value being looked at, as "accelerators[0].listeners[1].name". */
struct gax_jpath {
	char s[GAX_JPATH_MAX];
	size_t len;
};

void gax_jpath_init(struct gax_jpath *p);

/** Append ".key" (or "key" at the root); returns the length to restore with gax_jpath_pop(). */
size_t gax_jpath_key(struct gax_jpath *p, const char *key);

/** Append "[i]"; returns the length to restore with gax_jpath_pop(). */
size_t gax_jpath_index(struct gax_jpath *p, size_t i);

static inline void
gax_jpath_pop(struct gax_jpath *p, size_t len)
{
	p->len = len;
	p->s[len] = '\0';
}

/* ---- diag.c ---- */

/** gax_diags_add() with a line and column (syntax errors) and a va_list. */
int gax_diags_vadd(struct gax_diags *d, enum gax_diag_severity sev, const char *path, int line,
		int column, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/** Add a syntax error at @p line and @p column. */
int gax_diags_add_syntax(struct gax_diags *d, int line, int column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- util.c ---- */

/*
 * A loaded configuration lives in one arena: a few large blocks instead of
 * tens of thousands of small allocations, which would interleave with
 * jansson's and make freeing the JSON tree several times slower.
 */
struct gax_arena_block;

struct gax_arena {
	struct gax_arena_block *head;
	size_t next_size; /* size of the next block */
};

/** Zeroed memory for @p size bytes, aligned for any object; NULL on ENOMEM. */
void *gax_arena_alloc(struct gax_arena *a, size_t size);

/** Zeroed array of @p n elements of @p size bytes; NULL on ENOMEM or overflow. */
void *gax_arena_calloc(struct gax_arena *a, size_t n, size_t size);

/** Copy of @p s in the arena; NULL on ENOMEM. */
char *gax_arena_strdup(struct gax_arena *a, const char *s);

/** Release every block; the arena is empty afterwards. */
void gax_arena_free(struct gax_arena *a);

/**
 * Write @p s into @p buf (GAX_QUOTE_BUF bytes) as a double-quoted string fit
 * for a message: quotes and backslashes escaped, bytes outside printable
 * ASCII as \xNN, cut after GAX_QUOTE_CHARS characters with "...". Returns buf.
 */
const char *gax_quote(const char *s, char *buf);
/* As gax_quote for a file path, into a GAX_QUOTE_PATH_BUF buffer. */
const char *gax_quote_path(const char *s, char *buf);

/** Whether @p a is a unicast host address: not 0.0.0.0, 127/8, 224/4, 240/4 or broadcast. */
bool gax_ip_unicast(uint32_t a);

/** The netmask of a prefix length 0-32, host order. */

/**
 * Parse "a.b.c.d/len" (len 1-32). The address keeps its host bits.
 * @return 0, or -EINVAL with a message in @p err
 */
int gax_cidr_parse(const char *s, struct gax_prefix *p, char *err, size_t errlen);

/** Parse "xx:xx:xx:xx:xx:xx" (hex, either case). @return 0 or -EINVAL */
int gax_mac_parse(const char *s, uint8_t mac[6]);

/**
 * Check a name: @p min to @p max characters, an ASCII letter first, then
 * letters, digits, '_' and '-'.
 * @return 0, or -EINVAL with the reason in @p err
 */
int gax_name_check(const char *s, size_t min, size_t max, char *err, size_t errlen);

/** gax_domain_valid() with the reason in @p err. @return 0 or -EINVAL */
int gax_domain_check(const char *s, char *err, size_t errlen);

/** Whether @p n is prime. */
bool gax_is_prime(uint32_t n);

/** Lower-case ASCII letters of @p s in place. */
void gax_ascii_lower(char *s);

/**
 * "@p dir/@p file" when @p file is relative and @p dir is given, else a copy
 * of @p file, allocated in @p a.
 */
char *gax_path_resolve(struct gax_arena *a, const char *dir, const char *file);

/* ---- ports.c ---- */

/**
 * Sort ranges, refuse overlaps (a port listed twice) and merge adjacent
 * ones; *n shrinks when ranges merge.
 * @return 0, or -EINVAL with a message in @p err
 */
int gax_port_ranges_normalize(struct gax_port_range *r, unsigned int *n, char *err,
		size_t errlen);

/** Number of ports over all ranges. */
unsigned int gax_port_ranges_count(const struct gax_port_range *r, unsigned int n);

/* ---- validate.c ---- */

/**
 * The rules that relate objects to each other: unique names, addresses and
 * devices, subnet overlap, gateway and neighbour placement, listener port
 * sharing, endpoint reachability, and the warnings. Parts that failed their
 * own checks are marked by parse.c (NULL name, zero address, prefix length
 * 0, no port ranges) and skipped here.
 * @return 0 or -ENOMEM
 */
int gax_config_validate(const struct gax_config *cfg, struct gax_diags *d);

/* ---- certs.c ---- */

struct gax_cert_cache;

/**
 * Check that @p cert_path holds a PEM certificate, @p key_path a PEM
 * private key, and that they match; warn when the certificate is expired or
 * not yet valid. Diagnostics go to @p jp_cert and @p jp_key. Pairs found good
 * are remembered in @p *cache (allocated on first use) and not read again.
 * @return 0 or -ENOMEM
 */
int gax_cert_check(struct gax_cert_cache **cache, const char *cert_path, const char *key_path,
		const char *jp_cert, const char *jp_key, struct gax_diags *d);

void gax_cert_cache_free(struct gax_cert_cache *cache);

#endif /* GAX_CONFIG_PRIV_H */
