/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading a configuration: read the file, parse it with jansson, and walk
 * the JSON once, building the struct gax_config tree while checking every
 * rule that concerns one object on its own (types, unknown fields, ranges,
 * names, addresses, the rules that depend on the listener's protocol) and
 * filling in every default of docs/config.md. The rules that relate objects
 * to each other run afterwards in validate.c, over the finished tree.
 *
 * The walk never stops at the first problem. Every array element gets its
 * slot in the tree, so that validate.c can name elements by their index in
 * the file; a value that failed its checks is left marked as absent (NULL
 * string, zero address, prefix length 0, no port ranges) so that no rule
 * reports a consequence of an error already reported.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config_priv.h"

enum kind {
	K_OBJECT,
	K_ARRAY,
	K_STRING,
	K_INT,
	K_BOOL,
};

struct pctx {
	struct gax_diags *d;
	struct gax_jpath path;   /* of the value being looked at */
	struct gax_limits limits;
	struct gax_arena *arena; /* where the tree is allocated */
	const char *base_dir;    /* certificate paths are relative to it */
	struct gax_cert_cache *certs;
	bool nomem;
};

/* What the children of a listener need to know about it. */
struct lctx {
	struct gax_listener *l;
	bool proto_ok; /* l->protocol was given and valid */
	bool ports_ok; /* l->port_ranges parsed */
};

static const char *const proto_names[] = { "tcp", "udp", "http", "https" };
static const char *const affinity_names[] = { "none", "source_ip" };
static const char *const endpoint_type_names[] = { "ip", "domain" };

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Reporting ------------------------------------------------------------ */

static void
vreport(struct pctx *c, enum gax_diag_severity sev, const char *key, const char *fmt,
		va_list ap)
{
	size_t old = c->path.len;

	if (key != NULL)
		gax_jpath_key(&c->path, key);
	if (gax_diags_vadd(c->d, sev, c->path.s, 0, 0, fmt, ap) != 0)
		c->nomem = true;
	gax_jpath_pop(&c->path, old);
}

/* An error about the value at the current path. */
static void __attribute__((format(printf, 2, 3)))
perr(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, GAX_DIAG_ERROR, NULL, fmt, ap);
	va_end(ap);
}

/* An error about member @p key of the object at the current path. */
static void __attribute__((format(printf, 3, 4)))
ferr(struct pctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, GAX_DIAG_ERROR, key, fmt, ap);
	va_end(ap);
}

static char *
pstrdup(struct pctx *c, const char *s)
{
	char *p = gax_arena_strdup(c->arena, s);

	if (p == NULL)
		c->nomem = true;
	return p;
}

/* ---- JSON types ----------------------------------------------------------- */

const char *
gax_json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

static const char *
kind_name(enum kind k)
{
	switch (k) {
	case K_OBJECT:
		return "an object";
	case K_ARRAY:
		return "an array";
	case K_STRING:
		return "a string";
	case K_INT:
		return "an integer";
	case K_BOOL:
		return "a boolean (true or false)";
	}
	return "?";
}

static bool
is_kind(const json_t *v, enum kind k)
{
	switch (k) {
	case K_OBJECT:
		return json_is_object(v);
	case K_ARRAY:
		return json_is_array(v);
	case K_STRING:
		return json_is_string(v);
	case K_INT:
		return json_is_integer(v);
	case K_BOOL:
		return json_is_boolean(v);
	}
	return false;
}

/* Whether the value at the current path has kind @p k; reports it when not. */
static bool
want(struct pctx *c, const json_t *v, enum kind k)
{
	if (is_kind(v, k))
		return true;
	perr(c, "expected %s, got %s", kind_name(k), gax_json_kind(v));
	return false;
}

/* The most members an object of the schema has. */
#define MAX_FIELDS 8

/* The members of one JSON object, in the order of its list of allowed names. */
struct obj {
	const char *const *names;
	size_t n;
	json_t *v[MAX_FIELDS];
};

/* Member @p key (one of o->names), or NULL when absent. */
static json_t *
oget(const struct obj *o, const char *key)
{
	size_t i;

	/* The names are the same literals: comparing pointers usually suffices. */
	for (i = 0; i < o->n; i++)
		if (o->names[i] == key)
			return o->v[i];
	for (i = 0; i < o->n; i++)
		if (strcmp(o->names[i], key) == 0)
			return o->v[i];
	return NULL;
}

/* Member @p key of @p o, or NULL; a missing required member is reported. */
static json_t *
member(struct pctx *c, const struct obj *o, const char *key, bool required)
{
	json_t *v = oget(o, key);

	if (v == NULL && required)
		ferr(c, key, "required field is missing");
	return v;
}

/* Member @p key of kind @p k, or NULL (absent, or reported as the wrong kind). */
static json_t *
member_of(struct pctx *c, const struct obj *o, const char *key, enum kind k, bool required)
{
	json_t *v = member(c, o, key, required);

	if (v == NULL)
		return NULL;
	if (!is_kind(v, k)) {
		ferr(c, key, "expected %s, got %s", kind_name(k), gax_json_kind(v));
		return NULL;
	}
	return v;
}

/* Levenshtein distance of two short strings, for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];
	size_t i, j;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * Sort the members of @p json into @p o by name, and refuse, by name, every
 * member not listed in @p allowed: each object is read once.
 */
static void
take_fields(struct pctx *c, json_t *json, const char *const *allowed, size_t n, struct obj *o)
{
	const char *key;
	json_t *v;

	assert(n <= MAX_FIELDS);
	o->names = allowed;
	o->n = n;
	memset(o->v, 0, sizeof(o->v));
	json_object_foreach(json, key, v) {
		char list[512], hint[96];
		size_t i, off = 0, best = SIZE_MAX, best_i = 0;

		for (i = 0; i < n; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (i < n) {
			o->v[i] = v;
			continue;
		}
		list[0] = '\0';
		for (i = 0; i < n; i++) {
			size_t dist = edit_distance(key, allowed[i]);

			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i > 0 ? ", " : "", allowed[i]);
			if (off >= sizeof(list))
				off = sizeof(list) - 1;
			if (dist < best) {
				best = dist;
				best_i = i;
			}
		}
		hint[0] = '\0';
		if (best <= 2 || (best <= 3 && strlen(allowed[best_i]) >= 12))
			snprintf(hint, sizeof(hint), "; did you mean %s?", allowed[best_i]);
		ferr(c, key, "unknown field; expected one of %s%s", list, hint);
	}
}

/* ---- Typed members -------------------------------------------------------- */

/*
 * Integer member @p key in [@p min, @p max]; *out is written only when the
 * value is good. Messages read "LABEL 300 is outside 0-255SUFFIX".
 * @return whether *out was written
 */
static bool
get_uint(struct pctx *c, const struct obj *o, const char *key, bool required, long long min,
		long long max, const char *label, const char *suffix, unsigned int *out)
{
	json_t *v = member_of(c, o, key, K_INT, required);
	json_int_t x;

	if (v == NULL)
		return false;
	x = json_integer_value(v);
	if (x < min || x > max) {
		ferr(c, key, "%s %lld is outside %lld-%lld%s", label != NULL ? label : key,
				(long long)x, min, max, suffix != NULL ? suffix : "");
		return false;
	}
	*out = (unsigned int)x;
	return true;
}

static bool
get_bool(struct pctx *c, const struct obj *o, const char *key, bool *out)
{
	json_t *v = member_of(c, o, key, K_BOOL, false);

	if (v == NULL)
		return false;
	*out = json_is_true(v);
	return true;
}

/* Join names as "a, b or c". */
static void
join_or(const char *const *names, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
}

/*
 * String member that must be one of @p names; *out receives its index.
 * @return whether *out was written
 */
static bool
get_enum(struct pctx *c, const struct obj *o, const char *key, bool required,
		const char *const *names, size_t n, int *out)
{
	json_t *v = member_of(c, o, key, K_STRING, required);
	char q[GAX_QUOTE_BUF], list[128];
	const char *s;
	size_t i;

	if (v == NULL)
		return false;
	s = json_string_value(v);
	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return true;
		}
	}
	join_or(names, n, list, sizeof(list));
	ferr(c, key, "%s is not a valid %s; expected %s", gax_quote(s, q), key, list);
	return false;
}

/* A name member (the name rule with lengths @p min-@p max); NULL when absent or bad. */
static char *
get_name(struct pctx *c, const struct obj *o, const char *key, size_t min, size_t max)
{
	json_t *v = member_of(c, o, key, K_STRING, true);
	char q[GAX_QUOTE_BUF], why[128];
	const char *s;

	if (v == NULL)
		return NULL;
	s = json_string_value(v);
	if (gax_name_check(s, min, max, why, sizeof(why)) != 0) {
		ferr(c, key, "%s %s is not valid: %s", key, gax_quote(s, q), why);
		return NULL;
	}
	return pstrdup(c, s);
}

/*
 * Check that the string @p s at the current path is a unicast IPv4 host
 * address (no prefix). @p what names it in messages ("address", "gateway").
 * @return 0 when invalid (reported), else the address
 */
static uint32_t
check_host_ip(struct pctx *c, const char *s, const char *what)
{
	char q[GAX_QUOTE_BUF], b[16];
	uint32_t a;

	if (strchr(s, ':') != NULL) {
		perr(c, "%s %s is an IPv6 address; IPv6 is not supported yet", what,
				gax_quote(s, q));
		return 0;
	}
	if (strchr(s, '/') != NULL) {
		struct gax_prefix p;
		char err[GAX_QUOTE_BUF + 96];

		if (gax_cidr_parse(s, &p, err, sizeof(err)) == 0) {
			perr(c, "%s %s must be a host address without a prefix length", what,
					gax_quote(s, q));
			return 0;
		}
	}
	if (gax_ip_parse(s, &a) != 0) {
		perr(c, "%s %s is not an IPv4 address (a.b.c.d, no leading zeros)", what,
				gax_quote(s, q));
		return 0;
	}
	if (!gax_ip_unicast(a)) {
		perr(c, "%s %s is not a unicast address (0.0.0.0, 127/8, 224/4, 240/4 and "
				"255.255.255.255 are refused)", what, gax_ip_format(a, b));
		return 0;
	}
	return a;
}

/*
 * Allocate *@p out for the array @p arr (member @p key) and run @p fn on each
 * element with the path pointing at it. @return the number of elements
 */
static unsigned int
walk_array(struct pctx *c, json_t *arr, const char *key, size_t elem_size, void **out,
		void (*fn)(struct pctx *, json_t *, void *, void *), void *arg)
{
	size_t n = json_array_size(arr);
	size_t old, i;
	char *v;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX / 2) {
		c->nomem = true;
		return 0;
	}
	v = gax_arena_calloc(c->arena, n, elem_size);
	if (v == NULL) {
		c->nomem = true;
		return 0;
	}
	*out = v;
	old = gax_jpath_key(&c->path, key);
	for (i = 0; i < n && !c->nomem; i++) {
		size_t o = gax_jpath_index(&c->path, i);

		fn(c, json_array_get(arr, i), v + i * elem_size, arg);
		gax_jpath_pop(&c->path, o);
	}
	gax_jpath_pop(&c->path, old);
	return (unsigned int)n;
}

/* ---- limits --------------------------------------------------------------- */

static void
parse_limits(struct pctx *c, const struct obj *root)
{
	static const char *const fields[] = {
		"ports_per_listener", "endpoints_per_group", "maglev_table_size",
	};
	struct obj o;
	json_t *v = member_of(c, root, "limits", K_OBJECT, false);
	unsigned int x;
	size_t old;

	c->limits.ports_per_listener = GAX_DEFAULT_PORTS_PER_LISTENER;
	c->limits.endpoints_per_group = GAX_DEFAULT_ENDPOINTS_PER_GROUP;
	c->limits.maglev_table_size = GAX_DEFAULT_MAGLEV_TABLE_SIZE;
	if (v == NULL)
		return;
	old = gax_jpath_key(&c->path, "limits");
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	/* An invalid limit keeps its default for the rest of the checks. */
	get_uint(c, &o, "ports_per_listener", false, 1, GAX_LISTENER_PORT_MAX, NULL, NULL,
			&c->limits.ports_per_listener);
	get_uint(c, &o, "endpoints_per_group", false, 1, GAX_MAX_ENDPOINTS_PER_GROUP, NULL, NULL,
			&c->limits.endpoints_per_group);
	if (get_uint(c, &o, "maglev_table_size", false, GAX_MAGLEV_TABLE_SIZE_MIN,
			GAX_MAGLEV_TABLE_SIZE_MAX, NULL, NULL, &x)) {
		if (gax_is_prime(x))
			c->limits.maglev_table_size = x;
		else
			ferr(c, "maglev_table_size", "maglev_table_size %u is not a prime", x);
	}
	gax_jpath_pop(&c->path, old);
}

/* ---- interfaces ----------------------------------------------------------- */

static void
parse_if_address(struct pctx *c, json_t *v, void *elem, void *arg)
{
	struct gax_prefix *p = elem;
	char err[256], b[16];
	uint32_t host;

	(void)arg;
	if (!want(c, v, K_STRING))
		return;
	if (gax_cidr_parse(json_string_value(v), p, err, sizeof(err)) != 0) {
		perr(c, "%s", err);
		p->len = 0;
		return;
	}
	if (p->len <= 30) {
		host = p->addr & ~gax_prefix_mask(p->len);
		if (host == 0) {
			perr(c, "%s/%u is the network address of its subnet; use a host address",
					gax_ip_format(p->addr, b), p->len);
			p->len = 0;
		} else if (host == ~gax_prefix_mask(p->len)) {
			perr(c, "%s/%u is the broadcast address of its subnet; use a host address",
					gax_ip_format(p->addr, b), p->len);
			p->len = 0;
		}
	}
}

static void
parse_neighbor(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = { "address", "mac" };
	struct obj o;
	struct gax_neighbor *nb = elem;
	char q[GAX_QUOTE_BUF];
	json_t *m;
	size_t old;

	(void)arg;
	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	m = member_of(c, &o, "address", K_STRING, true);
	if (m != NULL) {
		old = gax_jpath_key(&c->path, "address");
		nb->addr = check_host_ip(c, json_string_value(m), "address");
		gax_jpath_pop(&c->path, old);
	}
	m = member_of(c, &o, "mac", K_STRING, true);
	if (m != NULL) {
		const char *s = json_string_value(m);
		static const uint8_t zero[6];

		if (gax_mac_parse(s, nb->mac) != 0)
			ferr(c, "mac", "%s is not a MAC address (xx:xx:xx:xx:xx:xx, hex)",
					gax_quote(s, q));
		else if (memcmp(nb->mac, zero, sizeof(zero)) == 0)
			ferr(c, "mac", "MAC address %s is all zero; a unicast address is "
					"needed", s);
		else if (nb->mac[0] == 0xff && nb->mac[1] == 0xff && nb->mac[2] == 0xff &&
				nb->mac[3] == 0xff && nb->mac[4] == 0xff && nb->mac[5] == 0xff)
			ferr(c, "mac", "MAC address %s is the broadcast address; a unicast "
					"address is needed", s);
		else if ((nb->mac[0] & 1) != 0)
			ferr(c, "mac", "MAC address %s is a multicast address; a unicast address "
					"is needed", s);
	}
}

static void
parse_interface(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = {
		"name", "device", "addresses", "gateway", "neighbors", "kernel_twin",
	};
	struct obj o;
	struct gax_interface *ifc = elem;
	char q[GAX_QUOTE_BUF];
	json_t *m;
	size_t old;

	(void)arg;
	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	ifc->name = get_name(c, &o, "name", 1, 32);

	m = member_of(c, &o, "device", K_STRING, true);
	if (m != NULL) {
		const char *s = json_string_value(m);
		size_t n = strlen(s), i;

		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
				break;
		if (n < 1 || n > 63)
			ferr(c, "device", "device %s must be 1-63 characters, got %zu",
					gax_quote(s, q), n);
		else if (i < n)
			ferr(c, "device", "device %s must be printable characters without spaces",
					gax_quote(s, q));
		else
			ifc->device = pstrdup(c, s);
	}

	m = member_of(c, &o, "addresses", K_ARRAY, true);
	if (m != NULL) {
		if (json_array_size(m) == 0)
			ferr(c, "addresses", "at least one address (a.b.c.d/len) is required");
		ifc->n_addresses = walk_array(c, m, "addresses", sizeof(*ifc->addresses),
				(void **)&ifc->addresses, parse_if_address, NULL);
	}

	m = member_of(c, &o, "gateway", K_STRING, false);
	if (m != NULL) {
		/* Given but invalid: has_gateway with address 0, so no endpoint is
		 * reported unreachable because of an error already reported. */
		ifc->has_gateway = true;
		old = gax_jpath_key(&c->path, "gateway");
		ifc->gateway = check_host_ip(c, json_string_value(m), "gateway");
		gax_jpath_pop(&c->path, old);
	}

	m = member_of(c, &o, "neighbors", K_ARRAY, false);
	if (m != NULL)
		ifc->n_neighbors = walk_array(c, m, "neighbors", sizeof(*ifc->neighbors),
				(void **)&ifc->neighbors, parse_neighbor, NULL);

	m = member_of(c, &o, "kernel_twin", K_STRING, false);
	if (m != NULL) {
		const char *s = json_string_value(m);
		size_t n = strlen(s), i;

		/* What the kernel takes as an interface name (dev_valid_name()). */
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
					s[i] == '/' || s[i] == ':')
				break;
		if (n < 1 || n > GAX_KERNEL_TWIN_NAME_MAX)
			ferr(c, "kernel_twin", "kernel interface name %s must be 1-%u characters, "
					"got %zu", gax_quote(s, q), GAX_KERNEL_TWIN_NAME_MAX, n);
		else if (i < n || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
			ferr(c, "kernel_twin", "kernel interface name %s must be printable "
					"characters without spaces, '/' or ':', and not . or ..",
					gax_quote(s, q));
		else
			ifc->kernel_twin = pstrdup(c, s);
	}
}

/* ---- endpoints ------------------------------------------------------------ */

/* Whether @p s has digits and dots only: meant as an IPv4 address. */
static bool
looks_numeric(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return false;
	return true;
}

static void
parse_endpoint(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = { "type", "address", "weight" };
	struct obj o;
	struct gax_endpoint *ep = elem;
	char q[GAX_QUOTE_BUF], why[128];
	bool type_given;
	int type = GAX_ENDPOINT_IP;
	json_t *m;
	unsigned int w = GAX_DEFAULT_WEIGHT;

	(void)arg;
	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	type_given = member(c, &o, "type", false) != NULL;
	if (type_given && !get_enum(c, &o, "type", false, endpoint_type_names,
			N_ELEMS(endpoint_type_names), &type))
		type_given = false; /* reported; infer from the address */

	m = member_of(c, &o, "address", K_STRING, true);
	if (m != NULL) {
		const char *s = json_string_value(m);
		bool numeric = s[0] != '\0' && looks_numeric(s);
		size_t old = gax_jpath_key(&c->path, "address");
		uint32_t a;

		if (strchr(s, ':') != NULL) {
			perr(c, "address %s is an IPv6 address; IPv6 is not supported yet",
					gax_quote(s, q));
		} else if (type_given && type == GAX_ENDPOINT_DOMAIN && numeric &&
				gax_ip_parse(s, &a) == 0) {
			perr(c, "address %s is an IPv4 address but type is domain", s);
		} else if (numeric || (type_given && type == GAX_ENDPOINT_IP)) {
			if (!numeric || gax_ip_parse(s, &a) != 0) {
				if (!numeric && gax_domain_valid(s))
					perr(c, "address %s is a domain name but type is ip",
							gax_quote(s, q));
				else
					perr(c, "address %s is not an IPv4 address (a.b.c.d, no "
							"leading zeros)", gax_quote(s, q));
			} else if ((ep->ip = check_host_ip(c, s, "address")) != 0) {
				ep->type = GAX_ENDPOINT_IP;
				ep->address = pstrdup(c, s);
			}
		} else if (gax_domain_check(s, why, sizeof(why)) != 0) {
			perr(c, "address %s is not a valid domain name: %s", gax_quote(s, q), why);
		} else {
			ep->type = GAX_ENDPOINT_DOMAIN;
			ep->address = pstrdup(c, s);
			if (ep->address != NULL)
				gax_ascii_lower(ep->address);
		}
		gax_jpath_pop(&c->path, old);
	}
	get_uint(c, &o, "weight", false, 0, 255, NULL, NULL, &w);
	ep->weight = (uint8_t)w;
}

/* ---- endpoint groups ------------------------------------------------------ */

/* Port override under construction: the element's index keeps the order of the file. */
struct override_slot {
	struct gax_port_override o;
	unsigned int idx;
	bool ok;
};

static void
parse_override(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = { "listener_port", "endpoint_port" };
	struct obj o;
	struct override_slot *s = elem;
	struct lctx *lc = arg;
	unsigned int lp, epp;
	bool ok;

	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	ok = get_uint(c, &o, "listener_port", true, GAX_LISTENER_PORT_MIN, GAX_LISTENER_PORT_MAX,
			"port", NULL, &lp);
	if (ok && lc->ports_ok &&
			!gax_port_ranges_contain(lc->l->port_ranges, lc->l->n_port_ranges,
				(uint16_t)lp)) {
		char ports[96];
		int n = gax_port_ranges_format(lc->l->port_ranges, lc->l->n_port_ranges, ports,
				sizeof(ports));

		ferr(c, "listener_port", "port %u is not one of the listener's ports (%s%s)", lp,
				ports, (size_t)n >= sizeof(ports) ? "..." : "");
		ok = false;
	}
	if (!get_uint(c, &o, "endpoint_port", true, 1, 65535, "port", NULL, &epp))
		ok = false;
	if (ok) {
		s->o.listener_port = (uint16_t)lp;
		s->o.endpoint_port = (uint16_t)epp;
		s->ok = true;
	}
}

static int
override_cmp(const void *a, const void *b)
{
	const struct override_slot *x = a, *y = b;

	if (x->o.listener_port != y->o.listener_port)
		return x->o.listener_port < y->o.listener_port ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void
parse_overrides(struct pctx *c, json_t *arr, struct gax_endpoint_group *g, struct lctx *lc)
{
	struct override_slot *s;
	unsigned int n, i, o, first = 0;

	n = walk_array(c, arr, "port_overrides", sizeof(*s), (void **)&s, parse_override, lc);
	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		s[i].idx = i;
	qsort(s, n, sizeof(*s), override_cmp);
	g->port_overrides = gax_arena_calloc(c->arena, n, sizeof(*g->port_overrides));
	if (g->port_overrides == NULL) {
		c->nomem = true;
		return;
	}
	for (i = 0, o = 0; i < n; i++) {
		if (!s[i].ok)
			continue;
		if (o > 0 && g->port_overrides[o - 1].listener_port == s[i].o.listener_port) {
			size_t old = gax_jpath_key(&c->path, "port_overrides");
			size_t old2 = gax_jpath_index(&c->path, s[i].idx);

			ferr(c, "listener_port", "port %u already has an override "
					"(port_overrides[%u])", s[i].o.listener_port, first);
			gax_jpath_pop(&c->path, old2);
			gax_jpath_pop(&c->path, old);
			continue;
		}
		first = s[i].idx;
		g->port_overrides[o++] = s[i].o;
	}
	g->n_port_overrides = o;
}

static void
parse_health_check(struct pctx *c, json_t *v, struct gax_health_check *hc, struct lctx *lc)
{
	static const char *const fields[] = {
		"enabled", "protocol", "port", "path", "interval", "timeout", "threshold",
	};
	struct obj o;
	static const char *const hc_protos[] = { "tcp", "http", "https" };
	static const enum gax_protocol hc_values[] = {
		GAX_PROTO_TCP, GAX_PROTO_HTTP, GAX_PROTO_HTTPS,
	};
	char q[GAX_QUOTE_BUF];
	bool proto_ok = true;
	bool iv_ok, to_ok;
	unsigned int port = 0;
	json_t *m;
	int p;

	hc->enabled = true;
	hc->protocol = GAX_PROTO_TCP;
	if (lc->proto_ok && (lc->l->protocol == GAX_PROTO_HTTP ||
			lc->l->protocol == GAX_PROTO_HTTPS))
		hc->protocol = lc->l->protocol;
	hc->interval = 2;
	hc->timeout = 2;
	hc->threshold = 3;

	take_fields(c, v, fields, N_ELEMS(fields), &o);
	get_bool(c, &o, "enabled", &hc->enabled);
	if (member(c, &o, "protocol", false) != NULL) {
		proto_ok = get_enum(c, &o, "protocol", false, hc_protos, N_ELEMS(hc_protos), &p);
		if (proto_ok)
			hc->protocol = hc_values[p];
	}
	if (get_uint(c, &o, "port", false, 1, 65535, NULL, NULL, &port))
		hc->port = (uint16_t)port;

	m = member_of(c, &o, "path", K_STRING, false);
	if (m != NULL && proto_ok) {
		const char *s = json_string_value(m);
		size_t n = strlen(s), i;

		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
				break;
		if (hc->protocol == GAX_PROTO_TCP)
			ferr(c, "path", "path is only allowed for http and https checks, not tcp");
		else if (n < 1 || n > 80)
			ferr(c, "path", "path %s must be 1-80 characters, got %zu", gax_quote(s, q),
					n);
		else if (s[0] != '/')
			ferr(c, "path", "path %s must start with /", gax_quote(s, q));
		else if (i < n)
			ferr(c, "path", "path %s must be printable characters without spaces",
					gax_quote(s, q));
		else
			hc->path = pstrdup(c, s);
	}
	if (hc->path == NULL && hc->protocol != GAX_PROTO_TCP)
		hc->path = pstrdup(c, "/");

	iv_ok = get_uint(c, &o, "interval", false, 1, 50, NULL, NULL, &hc->interval) ||
		member(c, &o, "interval", false) == NULL;
	to_ok = get_uint(c, &o, "timeout", false, 1, 50, NULL, NULL, &hc->timeout) ||
		member(c, &o, "timeout", false) == NULL;
	if (iv_ok && to_ok && hc->timeout > hc->interval)
		ferr(c, "timeout", "timeout %u is above interval %u", hc->timeout, hc->interval);
	get_uint(c, &o, "threshold", false, 2, 10, NULL, NULL, &hc->threshold);
}

static void
parse_group(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = {
		"name", "region", "traffic_percentage", "reserve_client_ip",
		"endpoint_request_protocol", "port_overrides", "health_check", "endpoints",
	};
	struct obj o;
	struct gax_endpoint_group *g = elem;
	struct lctx *lc = arg;
	char q[GAX_QUOTE_BUF];
	unsigned int tp = GAX_DEFAULT_TRAFFIC_PERCENTAGE;
	json_t *m;

	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	g->name = get_name(c, &o, "name", GAX_NAME_MIN_LEN, GAX_NAME_MAX_LEN);

	m = member_of(c, &o, "region", K_STRING, false);
	if (m != NULL) {
		const char *s = json_string_value(m);
		size_t n = strlen(s), i;

		for (i = 0; i < n; i++) {
			char ch = s[i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					(ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
				break;
		}
		if (n < 1 || n > 64)
			ferr(c, "region", "region %s must be 1-64 characters, got %zu",
					gax_quote(s, q), n);
		else if (i < n)
			ferr(c, "region", "region %s is not valid: use letters, digits, - and _",
					gax_quote(s, q));
		else
			g->region = pstrdup(c, s);
	}

	get_uint(c, &o, "traffic_percentage", false, 1, 100, NULL, NULL, &tp);
	g->traffic_percentage = (uint8_t)tp;
	get_bool(c, &o, "reserve_client_ip", &g->reserve_client_ip);

	/* endpoint_request_protocol: http/https listeners only */
	g->request_protocol = GAX_PROTO_HTTP;
	if (lc->proto_ok && (lc->l->protocol == GAX_PROTO_TCP || lc->l->protocol == GAX_PROTO_UDP))
		g->request_protocol = lc->l->protocol;
	m = member(c, &o, "endpoint_request_protocol", false);
	if (m != NULL && lc->proto_ok) {
		static const char *const rp_names[] = { "http", "https" };
		int p;

		switch (lc->l->protocol) {
		case GAX_PROTO_TCP:
		case GAX_PROTO_UDP:
			ferr(c, "endpoint_request_protocol", "endpoint_request_protocol is only "
					"allowed on http and https listeners, not %s",
					gax_protocol_name(lc->l->protocol));
			break;
		case GAX_PROTO_HTTP:
			if (get_enum(c, &o, "endpoint_request_protocol", false, rp_names, 1, &p))
				g->request_protocol = GAX_PROTO_HTTP;
			break;
		case GAX_PROTO_HTTPS:
			if (get_enum(c, &o, "endpoint_request_protocol", false, rp_names, 2, &p))
				g->request_protocol = p == 0 ? GAX_PROTO_HTTP : GAX_PROTO_HTTPS;
			break;
		}
	}

	m = member_of(c, &o, "port_overrides", K_ARRAY, false);
	if (m != NULL)
		parse_overrides(c, m, g, lc);

	m = member_of(c, &o, "health_check", K_OBJECT, false);
	if (m != NULL) {
		size_t old = gax_jpath_key(&c->path, "health_check");

		g->has_health_check = true;
		parse_health_check(c, m, &g->health_check, lc);
		gax_jpath_pop(&c->path, old);
	}

	m = member_of(c, &o, "endpoints", K_ARRAY, false);
	if (m != NULL) {
		size_t n = json_array_size(m);

		if (n > c->limits.endpoints_per_group)
			ferr(c, "endpoints", "%zu endpoints, at most %u per group "
					"(limits.endpoints_per_group)", n,
					c->limits.endpoints_per_group);
		g->n_endpoints = walk_array(c, m, "endpoints", sizeof(*g->endpoints),
				(void **)&g->endpoints, parse_endpoint, NULL);
	}
}

/* ---- listeners ------------------------------------------------------------ */

static void
parse_port_range_elem(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = { "from_port", "to_port" };
	struct obj o;
	struct gax_port_range *r = elem;
	bool *bad = arg;
	unsigned int from, to;
	bool ok;

	if (!want(c, v, K_OBJECT)) {
		*bad = true;
		return;
	}
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	ok = get_uint(c, &o, "from_port", true, GAX_LISTENER_PORT_MIN, GAX_LISTENER_PORT_MAX,
			"port", NULL, &from);
	ok = get_uint(c, &o, "to_port", true, GAX_LISTENER_PORT_MIN, GAX_LISTENER_PORT_MAX,
			"port", NULL, &to) && ok;
	if (ok && from > to) {
		perr(c, "from_port %u is above to_port %u", from, to);
		ok = false;
	}
	if (!ok) {
		*bad = true;
		return;
	}
	r->from = (uint16_t)from;
	r->to = (uint16_t)to;
}

/* @return whether l->port_ranges holds the listener's ports */
static bool
parse_port_ranges(struct pctx *c, const struct obj *o, struct gax_listener *l)
{
	json_t *v = member(c, o, "port_ranges", true);
	char err[256];
	bool ok = false;
	size_t old;
	int ret;

	if (v == NULL)
		return false;
	old = gax_jpath_key(&c->path, "port_ranges");
	if (json_is_string(v)) {
		struct gax_port_range *r;
		unsigned int n;

		ret = gax_port_ranges_parse(json_string_value(v), &r, &n, err, sizeof(err));
		if (ret == -ENOMEM) {
			c->nomem = true;
		} else if (ret != 0) {
			perr(c, "%s", err);
		} else {
			l->port_ranges = gax_arena_calloc(c->arena, n, sizeof(*r));
			if (l->port_ranges == NULL) {
				c->nomem = true;
			} else {
				memcpy(l->port_ranges, r, n * sizeof(*r));
				l->n_port_ranges = n;
				ok = true;
			}
			free(r);
		}
	} else if (json_is_array(v)) {
		bool bad = false;

		gax_jpath_pop(&c->path, old);
		l->n_port_ranges = walk_array(c, v, "port_ranges", sizeof(*l->port_ranges),
				(void **)&l->port_ranges, parse_port_range_elem, &bad);
		old = gax_jpath_key(&c->path, "port_ranges");
		if (json_array_size(v) == 0) {
			perr(c, "at least one port is required");
		} else if (!bad && !c->nomem) {
			if (gax_port_ranges_normalize(l->port_ranges, &l->n_port_ranges, err,
					sizeof(err)) != 0)
				perr(c, "%s", err);
			else
				ok = true;
		}
	} else {
		perr(c, "expected a string (\"80,8080~8085\") or an array of {from_port, to_port}, "
				"got %s", gax_json_kind(v));
	}
	if (ok) {
		l->n_ports = gax_port_ranges_count(l->port_ranges, l->n_port_ranges);
	} else {
		l->port_ranges = NULL;
		l->n_port_ranges = 0;
	}
	gax_jpath_pop(&c->path, old);
	return ok;
}

/* One path field of a certificate: as written, and resolved against the config's folder. */
static void
parse_pem_path(struct pctx *c, struct obj *o, const char *field, const char *what,
		char **written, char **resolved)
{
	json_t *m = member_of(c, o, field, K_STRING, true);

	if (m == NULL)
		return;
	if (json_string_value(m)[0] == '\0') {
		ferr(c, field, "%s must be the path of %s, got \"\"", field, what);
		return;
	}
	*written = pstrdup(c, json_string_value(m));
	*resolved = gax_path_resolve(c->arena, c->base_dir, json_string_value(m));
	if (*resolved == NULL)
		c->nomem = true;
}

static void
parse_certificate(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = { "cert", "key" };
	struct obj o;
	struct gax_certificate *ct = elem;
	char jp_cert[GAX_JPATH_MAX], jp_key[GAX_JPATH_MAX];
	size_t old;

	(void)arg;
	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	parse_pem_path(c, &o, "cert", "a PEM certificate", &ct->cert, &ct->cert_path);
	parse_pem_path(c, &o, "key", "a PEM private key", &ct->key, &ct->key_path);
	if (ct->cert_path == NULL || ct->key_path == NULL || c->nomem)
		return;
	old = gax_jpath_key(&c->path, "cert");
	snprintf(jp_cert, sizeof(jp_cert), "%s", c->path.s);
	gax_jpath_pop(&c->path, old);
	old = gax_jpath_key(&c->path, "key");
	snprintf(jp_key, sizeof(jp_key), "%s", c->path.s);
	gax_jpath_pop(&c->path, old);
	if (gax_cert_check(&c->certs, ct->cert_path, ct->key_path, jp_cert, jp_key, c->d) != 0)
		c->nomem = true;
}

static void
parse_listener(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = {
		"name", "protocol", "port_ranges", "client_affinity", "idle_timeout",
		"request_timeout", "certificates", "endpoint_groups",
	};
	struct obj o;
	static const unsigned int idle_min[] = { 10, 10, 1, 1 };
	static const unsigned int idle_max[] = { 900, 20, 60, 60 };
	static const unsigned int idle_def[] = { 900, 20, 15, 15 };
	struct gax_listener *l = elem;
	struct lctx lc = { .l = l };
	char suffix[48];
	json_t *m;
	int p;

	(void)arg;
	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	l->name = get_name(c, &o, "name", GAX_NAME_MIN_LEN, GAX_NAME_MAX_LEN);
	lc.proto_ok = get_enum(c, &o, "protocol", true, proto_names, N_ELEMS(proto_names), &p);
	if (lc.proto_ok)
		l->protocol = (enum gax_protocol)p;
	lc.ports_ok = parse_port_ranges(c, &o, l);

	if (lc.proto_ok && lc.ports_ok) {
		bool l4 = l->protocol == GAX_PROTO_TCP || l->protocol == GAX_PROTO_UDP;

		if (l4 && l->n_ports > c->limits.ports_per_listener)
			ferr(c, "port_ranges", "%u ports, at most %u per %s listener "
					"(limits.ports_per_listener)", l->n_ports,
					c->limits.ports_per_listener,
					gax_protocol_name(l->protocol));
		else if (!l4 && l->n_ports != 1)
			ferr(c, "port_ranges", "%s listeners take exactly one port, got %u",
					gax_protocol_name(l->protocol), l->n_ports);
	}

	if (get_enum(c, &o, "client_affinity", false, affinity_names, N_ELEMS(affinity_names), &p))
		l->client_affinity = (enum gax_affinity)p;

	if (lc.proto_ok) {
		snprintf(suffix, sizeof(suffix), " for %s listeners",
				gax_protocol_name(l->protocol));
		l->idle_timeout = idle_def[l->protocol];
		get_uint(c, &o, "idle_timeout", false, idle_min[l->protocol], idle_max[l->protocol],
				NULL, suffix, &l->idle_timeout);
	} else {
		(void)member_of(c, &o, "idle_timeout", K_INT, false);
	}

	m = member(c, &o, "request_timeout", false);
	if (lc.proto_ok && (l->protocol == GAX_PROTO_HTTP || l->protocol == GAX_PROTO_HTTPS)) {
		l->request_timeout = 60;
		get_uint(c, &o, "request_timeout", false, 1, 180, NULL, NULL, &l->request_timeout);
	} else if (lc.proto_ok && m != NULL) {
		ferr(c, "request_timeout", "request_timeout is only allowed on http and https "
				"listeners, not %s", gax_protocol_name(l->protocol));
	}

	m = member(c, &o, "certificates", false);
	if (lc.proto_ok && l->protocol == GAX_PROTO_HTTPS) {
		if (m == NULL)
			ferr(c, "certificates", "https listeners need at least one certificate "
					"({\"cert\": ..., \"key\": ...})");
		else if (!json_is_array(m))
			ferr(c, "certificates", "expected an array, got %s", gax_json_kind(m));
		else if (json_array_size(m) == 0)
			ferr(c, "certificates", "https listeners need at least one certificate");
		else
			l->n_certificates = walk_array(c, m, "certificates",
					sizeof(*l->certificates), (void **)&l->certificates,
					parse_certificate, NULL);
	} else if (lc.proto_ok && m != NULL) {
		ferr(c, "certificates", "certificates are only allowed on https listeners, not %s",
				gax_protocol_name(l->protocol));
	}

	m = member_of(c, &o, "endpoint_groups", K_ARRAY, false);
	if (m != NULL)
		l->n_groups = walk_array(c, m, "endpoint_groups", sizeof(*l->groups),
				(void **)&l->groups, parse_group, &lc);

	if (!lc.proto_ok) {
		/* No protocol, no port sharing rule to apply: keep validate.c out of it. */
		l->port_ranges = NULL;
		l->n_port_ranges = 0;
		l->n_ports = 0;
	}
}

/* ---- accelerators --------------------------------------------------------- */

static void
parse_acc_address(struct pctx *c, json_t *v, void *elem, void *arg)
{
	uint32_t *a = elem;

	(void)arg;
	if (want(c, v, K_STRING))
		*a = check_host_ip(c, json_string_value(v), "address");
}

static void
parse_accelerator(struct pctx *c, json_t *v, void *elem, void *arg)
{
	static const char *const fields[] = { "name", "addresses", "listeners" };
	struct obj o;
	struct gax_accelerator *acc = elem;
	json_t *m;

	(void)arg;
	if (!want(c, v, K_OBJECT))
		return;
	take_fields(c, v, fields, N_ELEMS(fields), &o);
	acc->name = get_name(c, &o, "name", GAX_NAME_MIN_LEN, GAX_NAME_MAX_LEN);

	m = member_of(c, &o, "addresses", K_ARRAY, true);
	if (m != NULL) {
		size_t n = json_array_size(m);

		if (n == 0)
			ferr(c, "addresses", "at least one address is required");
		else if (n > GAX_MAX_ACCELERATOR_ADDRESSES)
			ferr(c, "addresses", "%zu addresses, at most %u", n,
					GAX_MAX_ACCELERATOR_ADDRESSES);
		acc->n_addresses = walk_array(c, m, "addresses", sizeof(*acc->addresses),
				(void **)&acc->addresses, parse_acc_address, NULL);
	}

	m = member_of(c, &o, "listeners", K_ARRAY, false);
	if (m != NULL)
		acc->n_listeners = walk_array(c, m, "listeners", sizeof(*acc->listeners),
				(void **)&acc->listeners, parse_listener, NULL);
}

/* ---- the document --------------------------------------------------------- */

/*
 * A loaded configuration and the arena that holds everything it points to;
 * callers only see the first member.
 */
struct config_box {
	struct gax_config cfg;
	struct gax_arena arena;
};

static void
box_free(struct config_box *box)
{
	gax_arena_free(&box->arena);
	free(box);
}

static void
parse_root(struct pctx *c, json_t *root, struct gax_config *cfg)
{
	static const char *const fields[] = { "interfaces", "accelerators", "limits" };
	struct obj ro;
	json_t *m;

	cfg->limits = c->limits;
	if (!json_is_object(root)) {
		perr(c, "the document must be a JSON object ({\"interfaces\": ...}), got %s",
				gax_json_kind(root));
		return;
	}
	take_fields(c, root, fields, N_ELEMS(fields), &ro);
	/* First: other rules read the limits. */
	parse_limits(c, &ro);
	cfg->limits = c->limits;

	m = member_of(c, &ro, "interfaces", K_ARRAY, true);
	if (m != NULL) {
		if (json_array_size(m) == 0)
			ferr(c, "interfaces", "at least one interface is required");
		cfg->n_interfaces = walk_array(c, m, "interfaces", sizeof(*cfg->interfaces),
				(void **)&cfg->interfaces, parse_interface, NULL);
	}
	m = member_of(c, &ro, "accelerators", K_ARRAY, false);
	if (m != NULL)
		cfg->n_accelerators = walk_array(c, m, "accelerators", sizeof(*cfg->accelerators),
				(void **)&cfg->accelerators, parse_accelerator, NULL);
}

static bool
all_space(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
			return false;
	return true;
}

struct gax_config *
gax_config_load_buffer(const char *buf, size_t len, const char *base_dir,
		struct gax_diags *diags)
{
	struct gax_config *cfg;
	const char *nul;
	json_error_t jerr;
	json_t *root;

	/* A UTF-8 byte order mark, as some editors write, is not an error. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if (all_space(buf, len)) {
		gax_diags_add_syntax(diags, 1, 1, "JSON syntax error: the document is empty; "
				"expected an object");
		errno = EINVAL;
		return NULL;
	}
	nul = memchr(buf, '\0', len);
	if (nul != NULL) {
		/* jansson would say "invalid token near end of file": name the byte. */
		const char *p;
		int line = 1, col = 1;

		for (p = buf; p < nul; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		gax_diags_add_syntax(diags, line, col, "JSON syntax error: NUL byte in the file "
				"(a JSON text never holds one)");
		errno = EINVAL;
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		char *t;

		if (json_error_code(&jerr) == json_error_out_of_memory) {
			errno = ENOMEM;
			return NULL;
		}
		/* jansson quotes the input near the error: keep it printable ASCII. */
		for (t = jerr.text; *t != '\0'; t++)
			if ((unsigned char)*t < 0x20 || (unsigned char)*t >= 0x7f)
				*t = '?';
		gax_diags_add_syntax(diags, jerr.line, jerr.column, "JSON syntax error: %s",
				jerr.text);
		errno = EINVAL;
		return NULL;
	}

	cfg = gax_config_load_json(root, base_dir, diags);
	/* Last: the allocations of validation would otherwise pay for glibc's
	 * merging of the hundreds of thousands of chunks this frees. */
	json_decref(root);
	return cfg;
}

struct gax_config *
gax_config_load_json(const json_t *root, const char *base_dir, struct gax_diags *diags)
{
	unsigned int errors_before = diags->n_errors;
	struct config_box *box;
	struct gax_config *cfg;
	struct pctx c;

	box = calloc(1, sizeof(*box));
	if (box == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.d = diags;
	c.arena = &box->arena;
	c.base_dir = base_dir;
	gax_jpath_init(&c.path);
	c.limits.ports_per_listener = GAX_DEFAULT_PORTS_PER_LISTENER;
	c.limits.endpoints_per_group = GAX_DEFAULT_ENDPOINTS_PER_GROUP;
	c.limits.maglev_table_size = GAX_DEFAULT_MAGLEV_TABLE_SIZE;

	cfg = &box->cfg;
	parse_root(&c, (json_t *)root, cfg);
	gax_cert_cache_free(c.certs);
	if (!c.nomem && gax_config_validate(cfg, diags) != 0)
		c.nomem = true;
	if (c.nomem) {
		box_free(box);
		errno = ENOMEM;
		return NULL;
	}
	if (diags->n_errors > errors_before) {
		box_free(box);
		errno = EINVAL;
		return NULL;
	}
	return cfg;
}

/* Read a whole file of at most GAX_CONFIG_MAX_BYTES; diagnostics name the problem. */
static char *
read_file(const char *path, size_t *len, struct gax_diags *diags)
{
	size_t n = 0, cap;
	struct stat st;
	char *buf = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		gax_diags_add(diags, GAX_DIAG_ERROR, "", "cannot open the file: %s", strerror(err));
		errno = err;
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		err = errno;
		gax_diags_add(diags, GAX_DIAG_ERROR, "", "cannot read the file: %s", strerror(err));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		err = EISDIR;
		gax_diags_add(diags, GAX_DIAG_ERROR, "", "is a folder, not a configuration file");
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)GAX_CONFIG_MAX_BYTES) {
		err = EFBIG;
		gax_diags_add(diags, GAX_DIAG_ERROR, "", "the file is %lld bytes, over the limit "
				"of 64 MiB", (long long)st.st_size);
		goto fail;
	}
	/* Pipes and devices have no size: read until the end, up to the limit. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap);
	if (buf == NULL) {
		err = ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			size_t ncap = cap * 2;
			char *nb;

			if (ncap > (size_t)GAX_CONFIG_MAX_BYTES + 1)
				ncap = (size_t)GAX_CONFIG_MAX_BYTES + 1;
			if (ncap <= cap) {
				err = EFBIG;
				gax_diags_add(diags, GAX_DIAG_ERROR, "", "the file is over the "
						"limit of 64 MiB");
				goto fail;
			}
			nb = realloc(buf, ncap);
			if (nb == NULL) {
				err = ENOMEM;
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			gax_diags_add(diags, GAX_DIAG_ERROR, "", "cannot read the file: %s",
					strerror(err));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > GAX_CONFIG_MAX_BYTES) {
		err = EFBIG;
		gax_diags_add(diags, GAX_DIAG_ERROR, "", "the file is over the limit of 64 MiB");
		goto fail;
	}
	close(fd);
	*len = n;
	return buf;

fail:
	free(buf);
	close(fd);
	errno = err;
	return NULL;
}

struct gax_config *
gax_config_load_file(const char *path, struct gax_diags *diags)
{
	struct gax_config *cfg;
	const char *slash;
	char *dir = NULL;
	size_t len = 0;
	char *buf;
	int err;

	buf = read_file(path, &len, diags);
	if (buf == NULL)
		return NULL;
	slash = strrchr(path, '/');
	if (slash != NULL) {
		size_t dl = slash == path ? 1 : (size_t)(slash - path);

		dir = strndup(path, dl);
		if (dir == NULL) {
			free(buf);
			errno = ENOMEM;
			return NULL;
		}
	}
	cfg = gax_config_load_buffer(buf, len, dir, diags);
	err = errno;
	free(dir);
	free(buf);
	errno = err;
	return cfg;
}

/* ---- freeing ----------------------------------------------------------- */

void
gax_config_free(struct gax_config *cfg)
{
	struct config_box *box;

	if (cfg == NULL)
		return;
	box = (struct config_box *)cfg; /* cfg is the box's first member */
	box_free(box);
}
