/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scenario files: the JSON that tells gaxgen what to send (docs/gaxgen.md).
 * One walk over the document checks every value on its own (type, range,
 * unknown fields refused by name), then the rules between values run over
 * what parsed (flows within the client address × port space, frame sizes
 * large enough for the headers and the stamp, one way of opening new
 * flows). Every problem is reported, each with its JSON path, in the
 * gax_diags list that `gaxctl validate` also uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gax_gen.h"
#include "gen_priv.h"

#define PATH_MAX_LEN 128

struct sctx {
	struct gax_diags *d;
	char path[PATH_MAX_LEN];
	bool nomem;
};

static void __attribute__((format(printf, 3, 4)))
err_at(struct sctx *c, const char *key, const char *fmt, ...)
{
	char path[PATH_MAX_LEN + 64];
	va_list ap;
	char msg[512];

	if (key == NULL)
		snprintf(path, sizeof(path), "%s", c->path);
	else if (c->path[0] == '\0')
		snprintf(path, sizeof(path), "%s", key);
	else
		snprintf(path, sizeof(path), "%s.%s", c->path, key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (gax_diags_add(c->d, GAX_DIAG_ERROR, path, "%s", msg) != 0)
		c->nomem = true;
}

/* Enter member @p key; returns the old path length to restore with leave(). */
static size_t
enter(struct sctx *c, const char *key)
{
	size_t old = strlen(c->path);

	if (old == 0)
		snprintf(c->path, sizeof(c->path), "%s", key);
	else
		snprintf(c->path + old, sizeof(c->path) - old, ".%s", key);
	return old;
}

static void
leave(struct sctx *c, size_t old)
{
	c->path[old] = '\0';
}


/* Refuse members of @p o not in @p names (NULL-terminated), each at its own path. */
static void
check_fields(struct sctx *c, const json_t *o, const char *const *names)
{
	char expected[256];
	size_t len = 0;
	const char *const *n;
	const char *key;
	json_t *v;

	expected[0] = '\0';
	for (n = names; *n != NULL && len < sizeof(expected); n++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s",
				n == names ? "" : ", ", *n);
	json_object_foreach((json_t *)o, key, v) {
		char shown[40];

		for (n = names; *n != NULL; n++)
			if (strcmp(*n, key) == 0)
				break;
		if (*n != NULL)
			continue;
		snprintf(shown, sizeof(shown), "%.32s%s", key, strlen(key) > 32 ? "..." : "");
		for (char *s = shown; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				*s = '?';
		err_at(c, shown, "unknown field; expected one of %s", expected);
	}
}

/* An object member that must be an object (or absent). */
static const json_t *
get_obj(struct sctx *c, const json_t *o, const char *key, bool required)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL) {
		if (required)
			err_at(c, key, "required: an object");
		return NULL;
	}
	if (!json_is_object(v)) {
		err_at(c, key, "expected an object, got %s", gax_json_kind(v));
		return NULL;
	}
	return v;
}

/* An integer member within [min, max]; *out untouched when absent. 1 if set, 0 absent, -1 bad. */
static int
get_int(struct sctx *c, const json_t *o, const char *key, long long min, long long max,
		bool required, long long *out)
{
	const json_t *v = json_object_get(o, key);
	long long x;

	if (v == NULL) {
		if (required)
			err_at(c, key, "required: an integer from %lld to %lld", min, max);
		return 0;
	}
	if (!json_is_integer(v)) {
		err_at(c, key, "expected an integer, got %s", gax_json_kind(v));
		return -1;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		err_at(c, key, "%lld is outside %lld to %lld", x, min, max);
		return -1;
	}
	*out = x;
	return 1;
}

/* A number member within [min, max] (min excluded when @p open_min). */
static int
get_num(struct sctx *c, const json_t *o, const char *key, double min, bool open_min, double max,
		double *out)
{
	const json_t *v = json_object_get(o, key);
	double x;

	if (v == NULL)
		return 0;
	if (!json_is_number(v)) {
		err_at(c, key, "expected a number, got %s", gax_json_kind(v));
		return -1;
	}
	x = json_number_value(v);
	if (x != x || (open_min ? x <= min : x < min) || x > max) {
		err_at(c, key, "%g is outside %s%g to %g", x, open_min ? "above " : "", min, max);
		return -1;
	}
	*out = x;
	return 1;
}

static const char *
get_str(struct sctx *c, const json_t *o, const char *key, bool required)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL) {
		if (required)
			err_at(c, key, "required: a string");
		return NULL;
	}
	if (!json_is_string(v)) {
		err_at(c, key, "expected a string, got %s", gax_json_kind(v));
		return NULL;
	}
	return json_string_value(v);
}

static int
get_addr(struct sctx *c, const json_t *o, const char *key, bool required, uint32_t *out)
{
	const char *s = get_str(c, o, key, required);

	if (s == NULL)
		return json_object_get(o, key) == NULL ? 0 : -1;
	if (gax_ip_parse(s, out) != 0) {
		err_at(c, key, "\"%.40s\" is not an IPv4 address (a.b.c.d)", s);
		return -1;
	}
	return 1;
}

int
gax_gen_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int i;

	for (i = 0; i < 6; i++) {
		int hi, lo;

		hi = gax_gen_hexval(s[0]);
		lo = hi < 0 ? -1 : gax_gen_hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5) {
			if (*s != ':')
				return -EINVAL;
			s++;
		}
	}
	return *s == '\0' ? 0 : -EINVAL;
}

static bool
get_mac(struct sctx *c, const json_t *o, const char *key, uint8_t mac[6])
{
	const char *s = get_str(c, o, key, false);

	if (s == NULL)
		return false;
	if (gax_gen_mac_parse(s, mac) != 0) {
		err_at(c, key, "\"%.40s\" is not a MAC address (xx:xx:xx:xx:xx:xx)", s);
		return false;
	}
	if (mac[0] & 1) {
		err_at(c, key, "%s is a multicast or broadcast address", s);
		return false;
	}
	return true;
}

static bool
martian(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 127 || a >= 0xe0000000u;
}

static unsigned int
ranges_count(const struct gax_port_range *r, unsigned int n)
{
	unsigned int i, total = 0;

	for (i = 0; i < n; i++)
		total += (unsigned int)r[i].to - r[i].from + 1;
	return total;
}

static void
parse_destination(struct sctx *c, const json_t *root, struct gax_gen_scenario *sc, bool *ok)
{
	static const char *const names[] = { "address", "ports", NULL };
	const json_t *o = get_obj(c, root, "destination", true);
	const json_t *pv;
	size_t old;

	if (o == NULL) {
		*ok = false;
		return;
	}
	old = enter(c, "destination");
	check_fields(c, o, names);
	if (get_addr(c, o, "address", true, &sc->dst_addr) <= 0) {
		*ok = false;
	} else if (martian(sc->dst_addr) || (sc->dst_addr & 0xff) == 255) {
		err_at(c, "address", "not a unicast address a forwarder would accept");
		*ok = false;
	}
	pv = json_object_get(o, "ports");
	if (pv == NULL) {
		err_at(c, "ports", "required: a port (53) or a string of ports (\"53,8080~8085\")");
		*ok = false;
	} else if (json_is_integer(pv)) {
		long long p = json_integer_value(pv);

		if (p < 1 || p > 65535) {
			err_at(c, "ports", "%lld is outside 1 to 65535", p);
			*ok = false;
		} else {
			sc->dst_ports = malloc(sizeof(*sc->dst_ports));
			if (sc->dst_ports == NULL) {
				c->nomem = true;
			} else {
				sc->dst_ports[0] = (uint16_t)p;
				sc->n_dst_ports = 1;
			}
		}
	} else if (json_is_string(pv)) {
		struct gax_port_range *r = NULL;
		unsigned int n = 0, i, total;
		char msg[160];
		int rc = gax_port_ranges_parse(json_string_value(pv), &r, &n, msg, sizeof(msg));

		if (rc == -ENOMEM) {
			c->nomem = true;
		} else if (rc != 0) {
			err_at(c, "ports", "%s", msg);
			*ok = false;
		} else if ((total = ranges_count(r, n)) > GAX_GEN_DST_PORTS_MAX) {
			err_at(c, "ports", "%u ports: at most %u", total, GAX_GEN_DST_PORTS_MAX);
			*ok = false;
		} else {
			sc->dst_ports = malloc(total * sizeof(*sc->dst_ports));
			if (sc->dst_ports == NULL)
				c->nomem = true;
			for (i = 0; sc->dst_ports != NULL && i < n; i++)
				for (unsigned int p = r[i].from; p <= r[i].to; p++)
					sc->dst_ports[sc->n_dst_ports++] = (uint16_t)p;
		}
		free(r);
	} else {
		err_at(c, "ports", "expected an integer or a string, got %s", gax_json_kind(pv));
		*ok = false;
	}
	leave(c, old);
}

static void
parse_source(struct sctx *c, const json_t *root, struct gax_gen_scenario *sc, bool *ok)
{
	static const char *const names[] = { "addresses", "ports", "order", "seed", "gateway",
		NULL };
	static const char *const anames[] = { "first", "count", NULL };
	static const char *const pnames[] = { "from", "to", NULL };
	const json_t *o = get_obj(c, root, "source", true);
	const json_t *a, *p;
	const char *order;
	long long v;
	size_t old, old2;

	if (o == NULL) {
		*ok = false;
		return;
	}
	old = enter(c, "source");
	check_fields(c, o, names);

	a = get_obj(c, o, "addresses", true);
	if (a == NULL) {
		*ok = false;
	} else {
		old2 = enter(c, "addresses");
		check_fields(c, a, anames);
		sc->src_count = 1;
		if (get_int(c, a, "count", 1, GAX_GEN_ADDRESSES_MAX, false, &v) < 0)
			*ok = false;
		else if (json_object_get(a, "count") != NULL)
			sc->src_count = (uint32_t)v;
		if (get_addr(c, a, "first", true, &sc->src_first) <= 0) {
			*ok = false;
		} else if (martian(sc->src_first)) {
			err_at(c, "first", "a client cannot use this address (0/8, 127/8, 224/4 "
					"and above are dropped by forwarders)");
			*ok = false;
		} else if ((sc->src_first & 0xff) == 0 || (sc->src_first & 0xff) == 255) {
			err_at(c, "first", "ends in .0 or .255, which clients skip: start at .1");
			*ok = false;
		} else if (*ok && martian(gax_gen_client_addr(sc, sc->src_count - 1))) {
			char buf[16];

			err_at(c, "count", "%u addresses from %s run past 223.255.255.254",
					sc->src_count, gax_ip_format(sc->src_first, buf));
			*ok = false;
		}
		leave(c, old2);
	}

	sc->sport_from = 1024;
	sc->sport_to = 65535;
	p = get_obj(c, o, "ports", false);
	if (p != NULL) {
		int r1, r2;
		long long from = 1024, to = 65535;

		old2 = enter(c, "ports");
		check_fields(c, p, pnames);
		r1 = get_int(c, p, "from", 1, 65535, false, &from);
		r2 = get_int(c, p, "to", 1, 65535, false, &to);
		if (r1 < 0 || r2 < 0) {
			*ok = false;
		} else if (from > to) {
			err_at(c, "to", "%lld is below from (%lld)", to, from);
			*ok = false;
		} else {
			sc->sport_from = (uint16_t)from;
			sc->sport_to = (uint16_t)to;
		}
		leave(c, old2);
	} else if (json_object_get(o, "ports") != NULL) {
		*ok = false;
	}

	order = get_str(c, o, "order", false);
	if (order != NULL) {
		if (strcmp(order, "sequential") == 0) {
			sc->order = GAX_GEN_ORDER_SEQUENTIAL;
		} else if (strcmp(order, "random") == 0) {
			sc->order = GAX_GEN_ORDER_RANDOM;
		} else {
			err_at(c, "order", "\"%.40s\" is neither \"sequential\" nor \"random\"", order);
			*ok = false;
		}
	} else if (json_object_get(o, "order") != NULL) {
		*ok = false;
	}
	if (get_addr(c, o, "gateway", false, &sc->src_gateway) < 0) {
		*ok = false;
	} else if (sc->src_gateway != 0 && *ok &&
			gax_gen_client_index(sc, sc->src_gateway) >= 0) {
		err_at(c, "gateway", "is one of the client addresses");
		*ok = false;
	} else if (sc->src_gateway != 0 && martian(sc->src_gateway)) {
		err_at(c, "gateway", "not a unicast host address");
		*ok = false;
	}
	sc->seed = 1;
	if (get_int(c, o, "seed", 0, INT64_MAX, false, &v) < 0)
		*ok = false;
	else if (json_object_get(o, "seed") != NULL)
		sc->seed = (uint64_t)v;
	leave(c, old);
}

static void
parse_frame_sizes(struct sctx *c, const json_t *root, struct gax_gen_scenario *sc, bool *ok)
{
	const json_t *v = json_object_get(root, "frame_size");
	size_t i;

	if (v == NULL) {
		sc->frame_sizes[0] = 64;
		sc->n_frame_sizes = 1;
		return;
	}
	if (json_is_integer(v)) {
		long long x = json_integer_value(v);

		if (x < 1 || x > GAX_GEN_FRAME_MAX) {
			err_at(c, "frame_size", "%lld is outside 1 to %u", x, GAX_GEN_FRAME_MAX);
			*ok = false;
			return;
		}
		sc->frame_sizes[0] = (uint16_t)x;
		sc->n_frame_sizes = 1;
		return;
	}
	if (!json_is_array(v)) {
		err_at(c, "frame_size", "expected an integer or an array of integers, got %s",
				gax_json_kind(v));
		*ok = false;
		return;
	}
	if (json_array_size(v) == 0 || json_array_size(v) > GAX_GEN_FRAME_SIZES_MAX) {
		err_at(c, "frame_size", "a list of 1 to %u sizes, got %zu", GAX_GEN_FRAME_SIZES_MAX,
				json_array_size(v));
		*ok = false;
		return;
	}
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);
		char key[48];

		snprintf(key, sizeof(key), "frame_size[%zu]", i);
		if (!json_is_integer(e)) {
			err_at(c, key, "expected an integer, got %s", gax_json_kind(e));
			*ok = false;
		} else if (json_integer_value(e) < 1 || json_integer_value(e) > GAX_GEN_FRAME_MAX) {
			err_at(c, key, "%lld is outside 1 to %u", (long long)json_integer_value(e),
					GAX_GEN_FRAME_MAX);
			*ok = false;
		} else {
			sc->frame_sizes[sc->n_frame_sizes++] = (uint16_t)json_integer_value(e);
		}
	}
}

static void
parse_mac(struct sctx *c, const json_t *root, struct gax_gen_scenario *sc, bool *ok)
{
	static const char *const names[] = { "source", "destination", NULL };
	const json_t *o = get_obj(c, root, "mac", false);
	size_t old;
	unsigned int before = c->d->n_errors;

	if (o == NULL) {
		if (json_object_get(root, "mac") != NULL)
			*ok = false;
		return;
	}
	old = enter(c, "mac");
	check_fields(c, o, names);
	sc->has_src_mac = get_mac(c, o, "source", sc->src_mac);
	sc->has_dst_mac = get_mac(c, o, "destination", sc->dst_mac);
	if (c->d->n_errors != before)
		*ok = false;
	leave(c, old);
}

static void
parse_reply(struct sctx *c, const json_t *root, struct gax_gen_scenario *sc, bool *ok)
{
	static const char *const names[] = { "enabled", NULL };
	const json_t *o = get_obj(c, root, "reply", false);
	const json_t *e;
	size_t old;

	if (o == NULL) {
		if (json_object_get(root, "reply") != NULL)
			*ok = false;
		return;
	}
	old = enter(c, "reply");
	check_fields(c, o, names);
	e = json_object_get(o, "enabled");
	if (e == NULL) {
		sc->reply = true;
	} else if (!json_is_boolean(e)) {
		err_at(c, "enabled", "expected a boolean (true or false), got %s", gax_json_kind(e));
		*ok = false;
	} else {
		sc->reply = json_is_true(e);
	}
	leave(c, old);
}

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	while (b != 0) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* The random order's permutation: an affine map modulo the tuple space. */
static void
derive_permutation(struct gax_gen_scenario *sc)
{
	uint64_t s = sc->seed;
	uint64_t space = sc->tuple_space;

	sc->perm_mul = 1;
	sc->perm_add = 0;
	if (sc->order != GAX_GEN_ORDER_RANDOM || space < 2)
		return;
	sc->perm_mul = gax_gen_splitmix64(&s) % space;
	if (sc->perm_mul == 0)
		sc->perm_mul = 1;
	while (gcd64(sc->perm_mul, space) != 1)
		sc->perm_mul = sc->perm_mul + 1 < space ? sc->perm_mul + 1 : 1;
	sc->perm_add = gax_gen_splitmix64(&s) % space;
}

static void
cross_checks(struct sctx *c, const json_t *root, struct gax_gen_scenario *sc, bool src_ok)
{
	unsigned int min = gax_gen_min_frame(sc);
	unsigned int i;

	if (src_ok) {
		sc->tuple_space = (uint64_t)sc->src_count * ((uint64_t)sc->sport_to - sc->sport_from + 1);
		if (sc->tuple_space > UINT32_MAX) {
			err_at(c, "source", "%llu client address x port pairs: at most %u",
					(unsigned long long)sc->tuple_space, UINT32_MAX);
			sc->tuple_space = 0;
		}
	}
	if (json_object_get(root, "flows") == NULL && sc->tuple_space != 0)
		sc->flows = sc->tuple_space < 1024 ? sc->tuple_space : 1024;
	if (sc->flows != 0 && sc->tuple_space != 0 && sc->flows > sc->tuple_space)
		err_at(c, "flows", "%llu flows need more client address x port pairs than the "
				"%llu of source (%u addresses x %u ports)",
				(unsigned long long)sc->flows, (unsigned long long)sc->tuple_space,
				sc->src_count, (unsigned int)(sc->sport_to - sc->sport_from + 1));
	for (i = 0; i < sc->n_frame_sizes; i++) {
		char key[32];

		if (sc->frame_sizes[i] >= min)
			continue;
		if (json_is_array(json_object_get(root, "frame_size")))
			snprintf(key, sizeof(key), "frame_size[%u]", i);
		else
			snprintf(key, sizeof(key), "frame_size");
		err_at(c, key, "%u bytes cannot hold the %s headers (%u bytes) and the payload "
				"stamp (%u bytes%s): at least %u", sc->frame_sizes[i],
				sc->proto == GAX_PKT_PROTO_TCP ? "Ethernet/IPv4/TCP" : "Ethernet/IPv4/UDP",
				gax_gen_header_len(sc),
				sc->reply ? GAX_GEN_STAMP_FULL : GAX_GEN_STAMP_BASE,
				sc->reply ? " with replies" : "", min);
	}
	if (json_object_get(root, "new_flows_per_s") != NULL &&
			json_object_get(root, "new_flow_share") != NULL)
		err_at(c, "new_flow_share", "give new_flows_per_s or new_flow_share, not both");
	if (sc->duration_s == 0 && sc->count == 0)
		sc->duration_s = 10;
}

static struct gax_gen_scenario *
load_json(const json_t *root, struct gax_diags *d)
{
	static const char *const names[] = { "name", "description", "protocol", "destination",
		"source", "flows", "frame_size", "rate_pps", "duration_s", "count",
		"new_flows_per_s", "new_flow_share", "mac", "ttl", "reply", NULL };
	struct sctx c = { .d = d };
	struct gax_gen_scenario *sc;
	unsigned int errors_before = d->n_errors;
	const char *s;
	long long v;
	bool ok = true, src_ok = true;

	if (!json_is_object(root)) {
		gax_diags_add(d, GAX_DIAG_ERROR, "", "a scenario is a JSON object, got %s",
				gax_json_kind(root));
		errno = EINVAL;
		return NULL;
	}
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	check_fields(&c, root, names);
	s = get_str(&c, root, "name", false);
	sc->name = strdup(s != NULL ? s : "scenario");
	if (sc->name == NULL)
		c.nomem = true;
	(void)get_str(&c, root, "description", false);
	sc->proto = GAX_PKT_PROTO_UDP;
	s = get_str(&c, root, "protocol", false);
	if (s != NULL) {
		if (strcmp(s, "udp") == 0)
			sc->proto = GAX_PKT_PROTO_UDP;
		else if (strcmp(s, "tcp") == 0)
			sc->proto = GAX_PKT_PROTO_TCP;
		else
			err_at(&c, "protocol", "\"%.40s\" is neither \"udp\" nor \"tcp\"", s);
	}
	parse_destination(&c, root, sc, &ok);
	parse_source(&c, root, sc, &src_ok);
	if (get_int(&c, root, "flows", 1, GAX_GEN_FLOWS_MAX, false, &v) > 0)
		sc->flows = (uint64_t)v;
	parse_frame_sizes(&c, root, sc, &ok);
	if (get_int(&c, root, "rate_pps", 0, (long long)GAX_GEN_RATE_MAX, false, &v) > 0)
		sc->rate_pps = (uint64_t)v;
	(void)get_num(&c, root, "duration_s", 0, true, GAX_GEN_DURATION_MAX, &sc->duration_s);
	if (get_int(&c, root, "count", 1, INT64_MAX, false, &v) > 0)
		sc->count = (uint64_t)v;
	(void)get_num(&c, root, "new_flows_per_s", 0, false, 1e9, &sc->new_flows_per_s);
	(void)get_num(&c, root, "new_flow_share", 0, false, 1, &sc->new_flow_share);
	sc->ttl = 64;
	if (get_int(&c, root, "ttl", 2, 255, false, &v) > 0)
		sc->ttl = (uint8_t)v;
	parse_mac(&c, root, sc, &ok);
	parse_reply(&c, root, sc, &ok);
	cross_checks(&c, root, sc, src_ok);
	derive_permutation(sc);

	if (c.nomem) {
		gax_gen_scenario_free(sc);
		errno = ENOMEM;
		return NULL;
	}
	if (d->n_errors != errors_before) {
		gax_gen_scenario_free(sc);
		errno = EINVAL;
		return NULL;
	}
	return sc;
}

struct gax_gen_scenario *
gax_gen_scenario_load_buffer(const char *buf, size_t len, struct gax_diags *d)
{
	struct gax_gen_scenario *sc;
	json_error_t e;
	json_t *root;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL) {
		char msg[sizeof(e.text)];

		snprintf(msg, sizeof(msg), "%s", e.text);
		gax_diags_add(d, GAX_DIAG_ERROR, "", "line %d, column %d: %s", e.line, e.column,
				msg);
		errno = EINVAL;
		return NULL;
	}
	sc = load_json(root, d);
	json_decref(root);
	return sc;
}

#define SCENARIO_MAX_BYTES (16u << 20)

struct gax_gen_scenario *
gax_gen_scenario_load_file(const char *path, struct gax_diags *d)
{
	struct gax_gen_scenario *sc;
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int e;

	if (f == NULL) {
		e = errno;
		gax_diags_add(d, GAX_DIAG_ERROR, "", "cannot read: %s", strerror(e));
		errno = e;
		return NULL;
	}
	buf = malloc(SCENARIO_MAX_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, SCENARIO_MAX_BYTES + 1, f);
	e = ferror(f) ? errno : 0;
	fclose(f);
	if (e != 0 || n > SCENARIO_MAX_BYTES) {
		if (e != 0)
			gax_diags_add(d, GAX_DIAG_ERROR, "", "cannot read: %s", strerror(e));
		else
			gax_diags_add(d, GAX_DIAG_ERROR, "", "larger than 16 MiB: not a scenario");
		free(buf);
		errno = e != 0 ? e : EFBIG;
		return NULL;
	}
	sc = gax_gen_scenario_load_buffer(buf, n, d);
	e = errno;
	free(buf);
	errno = e;
	return sc;
}

void
gax_gen_scenario_free(struct gax_gen_scenario *sc)
{
	if (sc == NULL)
		return;
	free(sc->name);
	free(sc->dst_ports);
	free(sc);
}

unsigned int
gax_gen_header_len(const struct gax_gen_scenario *sc)
{
	return 14 + 20 + (sc->proto == GAX_PKT_PROTO_TCP ? 20 : 8);
}

unsigned int
gax_gen_min_frame(const struct gax_gen_scenario *sc)
{
	unsigned int n = gax_gen_header_len(sc) +
		(sc->reply ? GAX_GEN_STAMP_FULL : GAX_GEN_STAMP_BASE);

	return n < 60 ? 60 : n;
}

uint32_t
gax_gen_client_addr(const struct gax_gen_scenario *sc, uint32_t i)
{
	uint64_t off = (uint64_t)(sc->src_first & 0xff) - 1 + i;
	uint64_t block = (uint64_t)(sc->src_first >> 8) + off / 254;

	if (block > 0xffffff)
		return 0xffffffffu; /* past the end: martian, refused by the loader */
	return (uint32_t)(block << 8 | (1 + off % 254));
}

int64_t
gax_gen_client_index(const struct gax_gen_scenario *sc, uint32_t addr)
{
	uint32_t host = addr & 0xff;
	int64_t off;

	if (host == 0 || host == 255 || (addr >> 8) < (sc->src_first >> 8))
		return -1;
	off = ((int64_t)(addr >> 8) - (sc->src_first >> 8)) * 254 + (int64_t)host -
		(int64_t)(sc->src_first & 0xff);
	return off >= 0 && off < (int64_t)sc->src_count ? off : -1;
}
