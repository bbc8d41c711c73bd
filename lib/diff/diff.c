/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The review before apply: what changes between the running configuration
 * and a proposed one. Each level of the tree (interfaces, accelerators,
 * listeners, endpoint groups, endpoints) is matched by identity through a
 * sorted index of the old objects, so a file of ten thousand listeners is
 * compared in O(n log n). Changes come out in the new file's order; a
 * removed object is listed where it stood in the old file, between the
 * objects that remain. Every field is compared through the same readable
 * string that is shown, so a change is reported exactly when its old and new
 * texts differ. gax_diff_print() renders the list as a tree, deriving each
 * parent line from the change list; gax_diff_to_json() gives it to scripts.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gax_config.h"
#include "gax_diff.h"

#define NO_MATCH UINT_MAX
#define LINEAR_MATCH_MAX 8 /* below this many old objects, match by scanning */
#define PRINT_DEPTH 4      /* accelerator, listener, endpoint group, endpoint */

/* ---- Growing string --------------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len;
	size_t cap;
	bool oom;
};

static bool
sb_grow(struct sbuf *b, size_t need)
{
	size_t cap;
	char *s;

	if (need <= b->cap)
		return true;
	cap = b->cap != 0 ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	s = realloc(b->s, cap);
	if (s == NULL) {
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

static void
sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (sb_grow(b, 1))
		b->s[0] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom || !sb_grow(b, b->len + 1))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!sb_grow(b, b->len + (size_t)n + 1))
			return;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* The text so far; "" after an allocation failure (which the caller checks). */
static const char *
sb_str(const struct sbuf *b)
{
	return b->s != NULL && !b->oom ? b->s : "";
}

static void
sb_fini(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* ---- Readable values ---------------------------------------------------------- */

static const char *
plural(unsigned int n)
{
	return n == 1 ? "" : "s";
}

static const char *
endpoint_type_name(enum gax_endpoint_type t)
{
	return t == GAX_ENDPOINT_DOMAIN ? "domain" : "ip";
}

static void
fmt_ip(struct sbuf *b, uint32_t addr)
{
	char buf[16];

	sb_printf(b, "%s", gax_ip_format(addr, buf));
}

/* "10.0.0.1/24, 10.0.0.2/24" or "none". */
static void
fmt_prefixes(struct sbuf *b, const struct gax_prefix *p, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		sb_printf(b, "none");
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_printf(b, ", ");
		fmt_ip(b, p[i].addr);
		sb_printf(b, "/%u", p[i].len);
	}
}

/* "10.0.0.100, 10.0.0.101" or "none". */
static void
fmt_ips(struct sbuf *b, const uint32_t *a, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		sb_printf(b, "none");
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_printf(b, ", ");
		fmt_ip(b, a[i]);
	}
}

/* "10.0.0.5 02:00:00:00:00:05, ..." or "none". */
static void
fmt_neighbors(struct sbuf *b, const struct gax_neighbor *nb, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		sb_printf(b, "none");
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_printf(b, ", ");
		fmt_ip(b, nb[i].addr);
		sb_printf(b, " %02x:%02x:%02x:%02x:%02x:%02x", nb[i].mac[0], nb[i].mac[1],
				nb[i].mac[2], nb[i].mac[3], nb[i].mac[4], nb[i].mac[5]);
	}
}

/* "80,8080~8085" or "none". */
static void
fmt_port_ranges(struct sbuf *b, const struct gax_port_range *r, unsigned int n)
{
	char small[128];
	char *big;
	int need;

	if (n == 0) {
		sb_printf(b, "none");
		return;
	}
	need = gax_port_ranges_format(r, n, small, sizeof(small));
	if (need < 0) {
		sb_printf(b, "?");
		return;
	}
	if ((size_t)need < sizeof(small)) {
		sb_printf(b, "%s", small);
		return;
	}
	big = malloc((size_t)need + 1);
	if (big == NULL) {
		b->oom = true;
		return;
	}
	gax_port_ranges_format(r, n, big, (size_t)need + 1);
	sb_printf(b, "%s", big);
	free(big);
}

/* "certs/a.pem (key certs/a.key), ..." or "none"; resolved paths when known. */
static void
fmt_certificates(struct sbuf *b, const struct gax_certificate *c, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		sb_printf(b, "none");
	for (i = 0; i < n; i++) {
		const char *cert = c[i].cert_path != NULL ? c[i].cert_path : c[i].cert;
		const char *key = c[i].key_path != NULL ? c[i].key_path : c[i].key;

		sb_printf(b, "%s%s (key %s)", i > 0 ? ", " : "", cert != NULL ? cert : "?",
				key != NULL ? key : "?");
	}
}

/* "80->8080, 443->8443" or "none". */
static void
fmt_port_overrides(struct sbuf *b, const struct gax_port_override *po, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		sb_printf(b, "none");
	for (i = 0; i < n; i++)
		sb_printf(b, "%s%u->%u", i > 0 ? ", " : "", po[i].listener_port,
				po[i].endpoint_port);
}

/* "tcp port 8080 every 2s timeout 2s threshold 3", "disabled" or "none". */
static void
fmt_health_check(struct sbuf *b, const struct gax_endpoint_group *g)
{
	const struct gax_health_check *hc = &g->health_check;

	if (!g->has_health_check) {
		sb_printf(b, "none");
		return;
	}
	if (!hc->enabled) {
		sb_printf(b, "disabled");
		return;
	}
	sb_printf(b, "%s", gax_protocol_name(hc->protocol));
	if (hc->port != 0)
		sb_printf(b, " port %u", hc->port);
	if (hc->path != NULL)
		sb_printf(b, " path %s", hc->path);
	sb_printf(b, " every %us timeout %us threshold %u", hc->interval, hc->timeout,
			hc->threshold);
}

static void
fmt_seconds(struct sbuf *b, unsigned int s)
{
	if (s == 0)
		sb_printf(b, "none");
	else
		sb_printf(b, "%us", s);
}

/* ---- Summaries of added and removed objects ---------------------------------- */

static void
sum_interface(struct sbuf *b, const void *item)
{
	const struct gax_interface *ifc = item;

	sb_printf(b, "%s, ", ifc->device != NULL ? ifc->device : "?");
	fmt_prefixes(b, ifc->addresses, ifc->n_addresses);
	if (ifc->has_gateway) {
		sb_printf(b, ", gateway ");
		fmt_ip(b, ifc->gateway);
	}
	if (ifc->kernel_twin != NULL)
		sb_printf(b, ", kernel twin %s", ifc->kernel_twin);
}

static void
sum_accelerator(struct sbuf *b, const void *item)
{
	const struct gax_accelerator *acc = item;

	fmt_ips(b, acc->addresses, acc->n_addresses);
	sb_printf(b, ", %u listener%s", acc->n_listeners, plural(acc->n_listeners));
}

static void
sum_listener(struct sbuf *b, const void *item)
{
	const struct gax_listener *l = item;

	sb_printf(b, "%s ", gax_protocol_name(l->protocol));
	fmt_port_ranges(b, l->port_ranges, l->n_port_ranges);
	sb_printf(b, " affinity %s, %u endpoint group%s", gax_affinity_name(l->client_affinity),
			l->n_groups, plural(l->n_groups));
}

static void
sum_group(struct sbuf *b, const void *item)
{
	const struct gax_endpoint_group *g = item;

	sb_printf(b, "region %s, %u%%, %u endpoint%s", g->region != NULL ? g->region : "none",
			g->traffic_percentage, g->n_endpoints, plural(g->n_endpoints));
}

static void
sum_endpoint(struct sbuf *b, const void *item)
{
	const struct gax_endpoint *ep = item;

	sb_printf(b, "weight %u", ep->weight);
}

/* ---- The change list ------------------------------------------------------------ */

struct diff_ctx {
	struct gax_diff *d;
	struct sbuf ov; /* old value of the field being compared */
	struct sbuf nv; /* new value */
	int err;        /* 0 or -ENOMEM, sticky */
};

static char *
dup_or_null(const char *s, int *err)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = strdup(s);
	if (r == NULL)
		*err = -ENOMEM;
	return r;
}

static int
add_change(struct diff_ctx *c, enum gax_change_op op, enum gax_change_kind kind,
		const char *object, const char *field, const char *old_value, const char *new_value)
{
	struct gax_diff *d = c->d;
	struct gax_change *ch;
	int err = 0;

	if (c->err != 0)
		return c->err;
	if (d->n_changes == d->cap) {
		unsigned int cap = d->cap != 0 ? d->cap * 2 : 16;
		struct gax_change *v = realloc(d->changes, cap * sizeof(*v));

		if (v == NULL)
			return c->err = -ENOMEM;
		d->changes = v;
		d->cap = cap;
	}
	ch = &d->changes[d->n_changes];
	ch->op = op;
	ch->kind = kind;
	ch->object = dup_or_null(object, &err);
	ch->field = dup_or_null(field, &err);
	ch->old_value = dup_or_null(old_value, &err);
	ch->new_value = dup_or_null(new_value, &err);
	if (err != 0) {
		free(ch->object);
		free(ch->field);
		free(ch->old_value);
		free(ch->new_value);
		return c->err = err;
	}
	d->n_changes++;
	return 0;
}

/*
 * Compare one field: the caller has formatted the old value into c->ov and
 * the new one into c->nv. A MODIFY is recorded when the texts differ.
 */
static int
field_done(struct diff_ctx *c, enum gax_change_kind kind, const char *object,
		const char *field)
{
	if (c->ov.oom || c->nv.oom)
		return c->err = -ENOMEM;
	if (strcmp(sb_str(&c->ov), sb_str(&c->nv)) == 0)
		return 0;
	return add_change(c, GAX_CHANGE_MODIFY, kind, object, field, sb_str(&c->ov),
			sb_str(&c->nv));
}

static void
field_begin(struct diff_ctx *c)
{
	sb_reset(&c->ov);
	sb_reset(&c->nv);
}

static int
field_uint(struct diff_ctx *c, enum gax_change_kind kind, const char *object,
		const char *field, unsigned int o, unsigned int n)
{
	if (o == n)
		return 0;
	field_begin(c);
	sb_printf(&c->ov, "%u", o);
	sb_printf(&c->nv, "%u", n);
	return field_done(c, kind, object, field);
}

static int
field_str(struct diff_ctx *c, enum gax_change_kind kind, const char *object,
		const char *field, const char *o, const char *n)
{
	if (o == NULL)
		o = "none";
	if (n == NULL)
		n = "none";
	if (strcmp(o, n) == 0)
		return 0;
	field_begin(c);
	sb_printf(&c->ov, "%s", o);
	sb_printf(&c->nv, "%s", n);
	return field_done(c, kind, object, field);
}

static char *
path_join(const char *parent, const char *prefix, const char *key)
{
	struct sbuf b = { 0 };

	if (parent != NULL)
		sb_printf(&b, "%s/", parent);
	sb_printf(&b, "%s%s", prefix != NULL ? prefix : "", key);
	if (b.oom) {
		sb_fini(&b);
		return NULL;
	}
	return b.s;
}

/* ---- Matching by identity -------------------------------------------------------- */

/*
 * One level of the tree: how to find an object's identity in its struct, how
 * to summarise it, and how to compare two objects of the same identity. The
 * parents are passed to compare() for fields whose meaning depends on them.
 */
struct level {
	enum gax_change_kind kind;
	size_t size;        /* sizeof the object's struct */
	size_t key_off;     /* offset of its `char *` identity (name or address) */
	const char *prefix; /* put before the identity in the path ("interface:") */
	void (*summary)(struct sbuf *b, const void *item);
	int (*compare)(struct diff_ctx *c, const char *path, const void *o, const void *n,
			const void *old_parent, const void *new_parent);
};

struct key_index {
	const char *key;
	unsigned int idx;
};

static const char *
item_key(const struct level *lv, const void *arr, unsigned int i)
{
	const char *s = *(char *const *)(const void *)((const char *)arr + (size_t)i * lv->size +
			lv->key_off);

	return s != NULL ? s : "";
}

static const void *
item_at(const struct level *lv, const void *arr, unsigned int i)
{
	return (const char *)arr + (size_t)i * lv->size;
}

static int
key_index_cmp(const void *a, const void *b)
{
	const struct key_index *x = a;
	const struct key_index *y = b;
	int r = strcmp(x->key, y->key);

	if (r != 0)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Fill old_of_new[i] with the old object of new object i's identity (or
 * NO_MATCH) and mark it used. Duplicate identities, which a validated
 * configuration never has, are paired in order.
 */
static int
match_items(const struct level *lv, const void *old_arr, unsigned int n_old,
		const void *new_arr, unsigned int n_new, unsigned int *old_of_new, bool *used)
{
	struct key_index *ix;
	unsigned int i, j;

	if (n_old <= LINEAR_MATCH_MAX) {
		for (i = 0; i < n_new; i++) {
			const char *k = item_key(lv, new_arr, i);

			old_of_new[i] = NO_MATCH;
			for (j = 0; j < n_old; j++) {
				if (!used[j] && strcmp(k, item_key(lv, old_arr, j)) == 0) {
					old_of_new[i] = j;
					used[j] = true;
					break;
				}
			}
		}
		return 0;
	}

	ix = malloc((size_t)n_old * sizeof(*ix));
	if (ix == NULL)
		return -ENOMEM;
	for (j = 0; j < n_old; j++) {
		ix[j].key = item_key(lv, old_arr, j);
		ix[j].idx = j;
	}
	qsort(ix, n_old, sizeof(*ix), key_index_cmp);
	for (i = 0; i < n_new; i++) {
		const char *k = item_key(lv, new_arr, i);
		unsigned int lo = 0, hi = n_old;

		while (lo < hi) { /* first entry whose key is >= k */
			unsigned int mid = lo + (hi - lo) / 2;

			if (strcmp(ix[mid].key, k) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		old_of_new[i] = NO_MATCH;
		for (; lo < n_old && strcmp(ix[lo].key, k) == 0; lo++) {
			if (!used[ix[lo].idx]) {
				old_of_new[i] = ix[lo].idx;
				used[ix[lo].idx] = true;
				break;
			}
		}
	}
	free(ix);
	return 0;
}

static int
emit_whole(struct diff_ctx *c, const struct level *lv, enum gax_change_op op,
		const char *parent, const void *item, const char *key)
{
	char *path = path_join(parent, lv->prefix, key);
	struct sbuf b = { 0 };
	int ret;

	if (path == NULL)
		return c->err = -ENOMEM;
	lv->summary(&b, item);
	if (b.oom)
		ret = c->err = -ENOMEM;
	else if (op == GAX_CHANGE_ADD)
		ret = add_change(c, op, lv->kind, path, NULL, NULL, sb_str(&b));
	else
		ret = add_change(c, op, lv->kind, path, NULL, sb_str(&b), NULL);
	sb_fini(&b);
	free(path);
	return ret;
}

/*
 * Diff two lists of children of one parent: additions and modifications in
 * the new order, each removal where it stood in the old list.
 */
static int
diff_list(struct diff_ctx *c, const struct level *lv, const char *parent,
		const void *old_arr, unsigned int n_old, const void *old_parent,
		const void *new_arr, unsigned int n_new, const void *new_parent)
{
	unsigned int *old_of_new = NULL;
	unsigned int i, next_old = 0;
	bool *used = NULL;
	int ret = -ENOMEM;

	if (n_new > 0 && (old_of_new = malloc((size_t)n_new * sizeof(*old_of_new))) == NULL)
		goto out;
	if (n_old > 0 && (used = calloc(n_old, sizeof(*used))) == NULL)
		goto out;
	ret = match_items(lv, old_arr, n_old, new_arr, n_new, old_of_new, used);
	if (ret != 0)
		goto out;

	for (i = 0; i < n_new && ret == 0; i++) {
		unsigned int j = old_of_new[i];
		const void *n = item_at(lv, new_arr, i);
		char *path;

		if (j == NO_MATCH) {
			ret = emit_whole(c, lv, GAX_CHANGE_ADD, parent, n,
					item_key(lv, new_arr, i));
			continue;
		}
		for (; next_old < j && ret == 0; next_old++) {
			if (!used[next_old])
				ret = emit_whole(c, lv, GAX_CHANGE_REMOVE, parent,
						item_at(lv, old_arr, next_old),
						item_key(lv, old_arr, next_old));
		}
		if (ret != 0)
			break;
		if (next_old == j)
			next_old++;
		path = path_join(parent, lv->prefix, item_key(lv, new_arr, i));
		if (path == NULL) {
			ret = -ENOMEM;
			break;
		}
		ret = lv->compare(c, path, item_at(lv, old_arr, j), n, old_parent, new_parent);
		free(path);
	}
	for (; next_old < n_old && ret == 0; next_old++) {
		if (!used[next_old])
			ret = emit_whole(c, lv, GAX_CHANGE_REMOVE, parent,
					item_at(lv, old_arr, next_old),
					item_key(lv, old_arr, next_old));
	}
out:
	free(old_of_new);
	free(used);
	if (ret != 0)
		c->err = ret;
	return ret;
}

/* ---- Comparing objects of the same identity -------------------------------------- */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a;
	uint32_t y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_neighbor(const void *a, const void *b)
{
	const struct gax_neighbor *x = a;
	const struct gax_neighbor *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return memcmp(x->mac, y->mac, sizeof(x->mac));
}

/*
 * Whether two arrays hold the same elements in any order (accelerator
 * addresses and static neighbors are sets: their order means nothing).
 * @return 1 when they do, 0 when not, -ENOMEM
 */
static int
same_set(const void *a, unsigned int na, const void *b, unsigned int nb, size_t size,
		int (*cmp)(const void *, const void *))
{
	char *sa, *sb;
	int r;

	if (na != nb)
		return 0;
	if (na == 0)
		return 1;
	sa = malloc((size_t)na * size);
	sb = malloc((size_t)nb * size);
	if (sa == NULL || sb == NULL) {
		free(sa);
		free(sb);
		return -ENOMEM;
	}
	memcpy(sa, a, (size_t)na * size);
	memcpy(sb, b, (size_t)nb * size);
	qsort(sa, na, size, cmp);
	qsort(sb, nb, size, cmp);
	r = memcmp(sa, sb, (size_t)na * size) == 0;
	free(sa);
	free(sb);
	return r;
}

static bool
is_http(enum gax_protocol p)
{
	return p == GAX_PROTO_HTTP || p == GAX_PROTO_HTTPS;
}

static int
cmp_endpoint(struct diff_ctx *c, const char *path, const void *old_item,
		const void *new_item, const void *old_parent, const void *new_parent)
{
	const struct gax_endpoint *o = old_item;
	const struct gax_endpoint *n = new_item;

	(void)old_parent;
	(void)new_parent;
	field_uint(c, GAX_KIND_ENDPOINT, path, "weight", o->weight, n->weight);
	field_str(c, GAX_KIND_ENDPOINT, path, "type", endpoint_type_name(o->type),
			endpoint_type_name(n->type));
	return c->err;
}

static const struct level endpoint_level = {
	.kind = GAX_KIND_ENDPOINT,
	.size = sizeof(struct gax_endpoint),
	.key_off = offsetof(struct gax_endpoint, address),
	.summary = sum_endpoint,
	.compare = cmp_endpoint,
};

static int
cmp_group(struct diff_ctx *c, const char *path, const void *old_item, const void *new_item,
		const void *old_parent, const void *new_parent)
{
	const struct gax_endpoint_group *o = old_item;
	const struct gax_endpoint_group *n = new_item;
	const struct gax_listener *ol = old_parent;
	const struct gax_listener *nl = new_parent;
	const enum gax_change_kind k = GAX_KIND_ENDPOINT_GROUP;

	field_str(c, k, path, "region", o->region, n->region);
	field_begin(c);
	sb_printf(&c->ov, "%u%%", o->traffic_percentage);
	sb_printf(&c->nv, "%u%%", n->traffic_percentage);
	field_done(c, k, path, "traffic_percentage");
	field_str(c, k, path, "reserve_client_ip", o->reserve_client_ip ? "true" : "false",
			n->reserve_client_ip ? "true" : "false");
	/* Meaningful on http/https listeners only; a protocol change shows on the listener. */
	if (is_http(ol->protocol) && is_http(nl->protocol))
		field_str(c, k, path, "endpoint_request_protocol",
				gax_protocol_name(o->request_protocol),
				gax_protocol_name(n->request_protocol));
	field_begin(c);
	fmt_port_overrides(&c->ov, o->port_overrides, o->n_port_overrides);
	fmt_port_overrides(&c->nv, n->port_overrides, n->n_port_overrides);
	field_done(c, k, path, "port_overrides");
	field_begin(c);
	fmt_health_check(&c->ov, o);
	fmt_health_check(&c->nv, n);
	field_done(c, k, path, "health_check");
	if (c->err != 0)
		return c->err;
	return diff_list(c, &endpoint_level, path, o->endpoints, o->n_endpoints, o,
			n->endpoints, n->n_endpoints, n);
}

static const struct level group_level = {
	.kind = GAX_KIND_ENDPOINT_GROUP,
	.size = sizeof(struct gax_endpoint_group),
	.key_off = offsetof(struct gax_endpoint_group, name),
	.summary = sum_group,
	.compare = cmp_group,
};

static int
cmp_listener(struct diff_ctx *c, const char *path, const void *old_item,
		const void *new_item, const void *old_parent, const void *new_parent)
{
	const struct gax_listener *o = old_item;
	const struct gax_listener *n = new_item;
	const enum gax_change_kind k = GAX_KIND_LISTENER;

	(void)old_parent;
	(void)new_parent;
	field_str(c, k, path, "protocol", gax_protocol_name(o->protocol),
			gax_protocol_name(n->protocol));
	field_begin(c);
	fmt_port_ranges(&c->ov, o->port_ranges, o->n_port_ranges);
	fmt_port_ranges(&c->nv, n->port_ranges, n->n_port_ranges);
	field_done(c, k, path, "port_ranges");
	field_str(c, k, path, "client_affinity", gax_affinity_name(o->client_affinity),
			gax_affinity_name(n->client_affinity));
	field_begin(c);
	fmt_seconds(&c->ov, o->idle_timeout);
	fmt_seconds(&c->nv, n->idle_timeout);
	field_done(c, k, path, "idle_timeout");
	field_begin(c);
	fmt_seconds(&c->ov, o->request_timeout);
	fmt_seconds(&c->nv, n->request_timeout);
	field_done(c, k, path, "request_timeout");
	field_begin(c);
	fmt_certificates(&c->ov, o->certificates, o->n_certificates);
	fmt_certificates(&c->nv, n->certificates, n->n_certificates);
	field_done(c, k, path, "certificates");
	if (c->err != 0)
		return c->err;
	return diff_list(c, &group_level, path, o->groups, o->n_groups, o, n->groups,
			n->n_groups, n);
}

static const struct level listener_level = {
	.kind = GAX_KIND_LISTENER,
	.size = sizeof(struct gax_listener),
	.key_off = offsetof(struct gax_listener, name),
	.summary = sum_listener,
	.compare = cmp_listener,
};

static int
cmp_accelerator(struct diff_ctx *c, const char *path, const void *old_item,
		const void *new_item, const void *old_parent, const void *new_parent)
{
	const struct gax_accelerator *o = old_item;
	const struct gax_accelerator *n = new_item;
	int same;

	(void)old_parent;
	(void)new_parent;
	same = same_set(o->addresses, o->n_addresses, n->addresses, n->n_addresses,
			sizeof(uint32_t), cmp_u32);
	if (same < 0)
		return c->err = same;
	if (!same) {
		field_begin(c);
		fmt_ips(&c->ov, o->addresses, o->n_addresses);
		fmt_ips(&c->nv, n->addresses, n->n_addresses);
		field_done(c, GAX_KIND_ACCELERATOR, path, "addresses");
	}
	if (c->err != 0)
		return c->err;
	return diff_list(c, &listener_level, path, o->listeners, o->n_listeners, o,
			n->listeners, n->n_listeners, n);
}

static const struct level accelerator_level = {
	.kind = GAX_KIND_ACCELERATOR,
	.size = sizeof(struct gax_accelerator),
	.key_off = offsetof(struct gax_accelerator, name),
	.summary = sum_accelerator,
	.compare = cmp_accelerator,
};

static int
cmp_interface(struct diff_ctx *c, const char *path, const void *old_item,
		const void *new_item, const void *old_parent, const void *new_parent)
{
	const struct gax_interface *o = old_item;
	const struct gax_interface *n = new_item;
	const enum gax_change_kind k = GAX_KIND_INTERFACE;
	int same;

	(void)old_parent;
	(void)new_parent;
	field_str(c, k, path, "device", o->device, n->device);
	/* Ordered: full NAT uses the first address as its source. */
	field_begin(c);
	fmt_prefixes(&c->ov, o->addresses, o->n_addresses);
	fmt_prefixes(&c->nv, n->addresses, n->n_addresses);
	field_done(c, k, path, "addresses");
	field_begin(c);
	if (o->has_gateway)
		fmt_ip(&c->ov, o->gateway);
	else
		sb_printf(&c->ov, "none");
	if (n->has_gateway)
		fmt_ip(&c->nv, n->gateway);
	else
		sb_printf(&c->nv, "none");
	field_done(c, k, path, "gateway");
	field_str(c, k, path, "kernel_twin", o->kernel_twin, n->kernel_twin);
	same = same_set(o->neighbors, o->n_neighbors, n->neighbors, n->n_neighbors,
			sizeof(struct gax_neighbor), cmp_neighbor);
	if (same < 0)
		return c->err = same;
	if (!same) {
		field_begin(c);
		fmt_neighbors(&c->ov, o->neighbors, o->n_neighbors);
		fmt_neighbors(&c->nv, n->neighbors, n->n_neighbors);
		field_done(c, k, path, "neighbors");
	}
	return c->err;
}

static const struct level interface_level = {
	.kind = GAX_KIND_INTERFACE,
	.size = sizeof(struct gax_interface),
	.key_off = offsetof(struct gax_interface, name),
	.prefix = "interface:",
	.summary = sum_interface,
	.compare = cmp_interface,
};

static int
cmp_limits(struct diff_ctx *c, const struct gax_limits *o, const struct gax_limits *n)
{
	const enum gax_change_kind k = GAX_KIND_LIMITS;

	field_uint(c, k, "limits", "ports_per_listener", o->ports_per_listener,
			n->ports_per_listener);
	field_uint(c, k, "limits", "endpoints_per_group", o->endpoints_per_group,
			n->endpoints_per_group);
	field_uint(c, k, "limits", "maglev_table_size", o->maglev_table_size,
			n->maglev_table_size);
	return c->err;
}

/* ---- Public API ------------------------------------------------------------------ */

void
gax_diff_free(struct gax_diff *d)
{
	unsigned int i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n_changes; i++) {
		free(d->changes[i].object);
		free(d->changes[i].field);
		free(d->changes[i].old_value);
		free(d->changes[i].new_value);
	}
	free(d->changes);
	free(d);
}

struct gax_diff *
gax_diff_compute(const struct gax_config *old_cfg, const struct gax_config *new_cfg)
{
	/* An empty configuration: no objects, the default limits. */
	static const struct gax_config empty = {
		.limits = {
			.ports_per_listener = GAX_DEFAULT_PORTS_PER_LISTENER,
			.endpoints_per_group = GAX_DEFAULT_ENDPOINTS_PER_GROUP,
			.maglev_table_size = GAX_DEFAULT_MAGLEV_TABLE_SIZE,
		},
	};
	struct diff_ctx c = { 0 };

	if (old_cfg == NULL)
		old_cfg = &empty;
	if (new_cfg == NULL)
		new_cfg = &empty;
	c.d = calloc(1, sizeof(*c.d));
	if (c.d == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (cmp_limits(&c, &old_cfg->limits, &new_cfg->limits) == 0 &&
			diff_list(&c, &interface_level, NULL, old_cfg->interfaces,
				old_cfg->n_interfaces, NULL, new_cfg->interfaces,
				new_cfg->n_interfaces, NULL) == 0)
		diff_list(&c, &accelerator_level, NULL, old_cfg->accelerators,
				old_cfg->n_accelerators, NULL, new_cfg->accelerators,
				new_cfg->n_accelerators, NULL);
	sb_fini(&c.ov);
	sb_fini(&c.nv);
	if (c.err != 0) {
		gax_diff_free(c.d);
		errno = ENOMEM;
		return NULL;
	}
	return c.d;
}

struct summary {
	unsigned int added;
	unsigned int removed;
	unsigned int changed; /* distinct objects with at least one MODIFY */
};

static int
change_identity_cmp(const void *a, const void *b)
{
	const struct gax_change *x = *(const struct gax_change *const *)a;
	const struct gax_change *y = *(const struct gax_change *const *)b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->object != NULL ? x->object : "", y->object != NULL ? y->object : "");
}

static int
count_summary(const struct gax_diff *d, struct summary *s)
{
	const struct gax_change **mods;
	unsigned int i, n = 0;

	memset(s, 0, sizeof(*s));
	if (d == NULL || d->n_changes == 0)
		return 0;
	mods = malloc((size_t)d->n_changes * sizeof(*mods));
	if (mods == NULL)
		return -ENOMEM;
	for (i = 0; i < d->n_changes; i++) {
		const struct gax_change *ch = &d->changes[i];

		if (ch->op == GAX_CHANGE_ADD)
			s->added++;
		else if (ch->op == GAX_CHANGE_REMOVE)
			s->removed++;
		else
			mods[n++] = ch;
	}
	qsort(mods, n, sizeof(*mods), change_identity_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || change_identity_cmp(&mods[i - 1], &mods[i]) != 0)
			s->changed++;
	free(mods);
	return 0;
}

static const char *
kind_label(enum gax_change_kind k)
{
	switch (k) {
	case GAX_KIND_LIMITS:
		return "limits";
	case GAX_KIND_INTERFACE:
		return "interface";
	case GAX_KIND_ACCELERATOR:
		return "accelerator";
	case GAX_KIND_LISTENER:
		return "listener";
	case GAX_KIND_ENDPOINT_GROUP:
		return "endpoint group";
	case GAX_KIND_ENDPOINT:
		return "endpoint";
	}
	return "object";
}

static const char *
kind_json(enum gax_change_kind k)
{
	return k == GAX_KIND_ENDPOINT_GROUP ? "endpoint_group" : kind_label(k);
}

static const char *
op_json(enum gax_change_op op)
{
	switch (op) {
	case GAX_CHANGE_ADD:
		return "add";
	case GAX_CHANGE_REMOVE:
		return "remove";
	case GAX_CHANGE_MODIFY:
		return "modify";
	}
	return "?";
}

/* Depth in the printed tree: accelerator 0, listener 1, endpoint group 2, endpoint 3. */
static unsigned int
kind_depth(enum gax_change_kind k)
{
	switch (k) {
	case GAX_KIND_LISTENER:
		return 1;
	case GAX_KIND_ENDPOINT_GROUP:
		return 2;
	case GAX_KIND_ENDPOINT:
		return 3;
	default:
		return 0;
	}
}

/* The kind of the ancestor at @p depth of an object of kind @p k. */
static enum gax_change_kind
kind_at_depth(enum gax_change_kind k, unsigned int depth)
{
	static const enum gax_change_kind tree[PRINT_DEPTH] = {
		GAX_KIND_ACCELERATOR, GAX_KIND_LISTENER, GAX_KIND_ENDPOINT_GROUP, GAX_KIND_ENDPOINT,
	};

	if (kind_depth(k) == 0)
		return k;
	return tree[depth];
}

/*
 * Component @p depth of a path "web/tcp-80/eg-local/10.1.0.11": its start in
 * *name and length in *name_len; returns the length of the path up to its end.
 * A path with fewer components gives its last one.
 */
static size_t
path_component(const char *path, unsigned int depth, const char **name, size_t *name_len)
{
	const char *start = path;
	const char *end;
	unsigned int i;

	for (i = 0;; i++) {
		end = strchr(start, '/');
		if (end == NULL)
			end = start + strlen(start);
		if (i == depth || *end == '\0')
			break;
		start = end + 1;
	}
	*name = start;
	*name_len = (size_t)(end - start);
	return (size_t)(end - path);
}

struct open_header {
	bool valid;
	enum gax_change_kind kind;
	const char *path;
	size_t len;
};

static void
print_object(FILE *out, unsigned int depth, char mark, const struct gax_change *ch,
		unsigned int name_depth)
{
	const char *object = ch->object != NULL ? ch->object : "";
	enum gax_change_kind kind = kind_at_depth(ch->kind, name_depth);
	const char *name;
	size_t len;

	path_component(object, name_depth, &name, &len);
	if (kind == GAX_KIND_INTERFACE && strncmp(name, "interface:", 10) == 0 && len >= 10) {
		name += 10;
		len -= 10;
	}
	fprintf(out, "%*s%c %s", (int)(2 * depth), "", mark, kind_label(kind));
	if (kind != GAX_KIND_LIMITS && len > 0)
		fprintf(out, " %.*s", (int)len, name);
}

void
gax_diff_print(FILE *out, const struct gax_diff *d)
{
	struct open_header open[PRINT_DEPTH];
	struct summary s;
	unsigned int i, lvl;

	if (d == NULL || d->n_changes == 0) {
		fputs("No changes.\n", out);
		return;
	}
	memset(open, 0, sizeof(open));
	for (i = 0; i < d->n_changes; i++) {
		const struct gax_change *ch = &d->changes[i];
		const char *object = ch->object != NULL ? ch->object : "";
		unsigned int depth = kind_depth(ch->kind);
		unsigned int last = ch->op == GAX_CHANGE_MODIFY ? depth + 1 : depth;

		/* The "~ parent" lines not printed yet, down to the object itself for a MODIFY. */
		for (lvl = 0; lvl < last; lvl++) {
			enum gax_change_kind k = kind_at_depth(ch->kind, lvl);
			const char *name;
			size_t name_len;
			size_t plen = path_component(object, lvl, &name, &name_len);
			unsigned int j;

			if (open[lvl].valid && open[lvl].kind == k && open[lvl].len == plen &&
					memcmp(open[lvl].path, object, plen) == 0)
				continue;
			print_object(out, lvl, '~', ch, lvl);
			fputc('\n', out);
			open[lvl] = (struct open_header){ true, k, object, plen };
			for (j = lvl + 1; j < PRINT_DEPTH; j++)
				open[j].valid = false;
		}
		if (ch->op == GAX_CHANGE_MODIFY) {
			const char *ov = ch->old_value != NULL ? ch->old_value : "none";
			const char *nv = ch->new_value != NULL ? ch->new_value : "none";

			fprintf(out, "%*s%s: %s -> %s", (int)(2 * depth + 4), "",
					ch->field != NULL ? ch->field : "?", ov, nv);
			if (ch->kind == GAX_KIND_ENDPOINT && ch->field != NULL &&
					strcmp(ch->field, "weight") == 0 && strcmp(nv, "0") == 0 &&
					strcmp(ov, "0") != 0)
				fputs(" (drain: no new flows)", out);
			fputc('\n', out);
			continue;
		}
		print_object(out, depth, ch->op == GAX_CHANGE_ADD ? '+' : '-', ch, depth);
		if (ch->op == GAX_CHANGE_ADD && ch->new_value != NULL)
			fprintf(out, ": %s", ch->new_value);
		else if (ch->op == GAX_CHANGE_REMOVE && ch->old_value != NULL)
			fprintf(out, ": %s", ch->old_value);
		fputc('\n', out);
		for (lvl = depth; lvl < PRINT_DEPTH; lvl++)
			open[lvl].valid = false;
	}
	if (count_summary(d, &s) != 0) {
		fputs("Summary: unavailable (out of memory)\n", out);
		return;
	}
	fprintf(out, "Summary: %u added, %u removed, %u changed\n", s.added, s.removed,
			s.changed);
}

json_t *
gax_diff_to_json(const struct gax_diff *d)
{
	struct summary s;
	json_t *root, *changes;
	unsigned int i;

	if (count_summary(d, &s) != 0)
		return NULL;
	changes = json_array();
	if (changes == NULL)
		return NULL;
	for (i = 0; d != NULL && i < d->n_changes; i++) {
		const struct gax_change *ch = &d->changes[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}",
				"op", op_json(ch->op),
				"kind", kind_json(ch->kind),
				"object", ch->object != NULL ? ch->object : "",
				"field", ch->field,
				"old", ch->old_value,
				"new", ch->new_value);

		if (o == NULL || json_array_append_new(changes, o) != 0) {
			json_decref(changes);
			return NULL;
		}
	}
	root = json_pack("{s:o, s:{s:I, s:I, s:I}}", "changes", changes, "summary",
			"added", (json_int_t)s.added, "removed", (json_int_t)s.removed,
			"changed", (json_int_t)s.changed);
	return root; /* "o" stole changes, even on failure */
}
