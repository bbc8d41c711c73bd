/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rules that relate objects of a configuration to each other, checked
 * over the tree parse.c built: unique names, devices and addresses, subnets
 * that overlap between interfaces, where gateways and neighbours may be,
 * ports shared between the listeners of one accelerator, endpoints that no
 * interface reaches, and the warnings. Parts that failed their own checks
 * were marked by parse.c (NULL names, zero addresses, prefix length 0, no
 * port ranges) and are skipped, so no error is reported twice.
 *
 * Every check sorts or sweeps: a file of ten thousand listeners costs
 * milliseconds, never a comparison of every pair.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define NO_DUP UINT_MAX

struct vctx {
	const struct gax_config *cfg;
	struct gax_diags *d;
	bool nomem;
};

static void __attribute__((format(printf, 4, 5)))
report(struct vctx *v, enum gax_diag_severity sev, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (gax_diags_vadd(v->d, sev, path, 0, 0, fmt, ap) != 0)
		v->nomem = true;
	va_end(ap);
}

/* ---- Duplicate finders ---------------------------------------------------- */

struct str_ref {
	const char *s;
	unsigned int idx;
};

static int
str_ref_cmp(const void *a, const void *b)
{
	const struct str_ref *x = a, *y = b;
	int r = strcmp(x->s, y->s);

	if (r != 0)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sets this small are compared pair by pair, without allocating. */
#define SMALL_SET 16

/*
 * Duplicate keys in a list: the caller fills keys[0..n), dups_find() sets
 * first[i] to the index of the first earlier key equal to keys[i], or NO_DUP
 * (also for NULL keys, which are the values that failed their own checks).
 */
struct dups {
	const char **keys;
	unsigned int *first;
	unsigned int n;
	const char *kbuf[SMALL_SET];
	unsigned int fbuf[SMALL_SET];
};

static bool
dups_init(struct vctx *v, struct dups *d, unsigned int n)
{
	d->n = n;
	if (n <= SMALL_SET) {
		d->keys = d->kbuf;
		d->first = d->fbuf;
		return true;
	}
	d->keys = malloc((size_t)n * sizeof(*d->keys));
	d->first = malloc((size_t)n * sizeof(*d->first));
	if (d->keys == NULL || d->first == NULL) {
		free(d->keys);
		free(d->first);
		d->keys = d->kbuf;
		d->first = d->fbuf;
		d->n = 0;
		v->nomem = true;
		return false;
	}
	return true;
}

static void
dups_fini(struct dups *d)
{
	if (d->keys != d->kbuf) {
		free(d->keys);
		free(d->first);
	}
}

static void
dups_find(struct vctx *v, struct dups *d)
{
	struct str_ref *refs;
	unsigned int i, j, m = 0, run = 0;

	for (i = 0; i < d->n; i++)
		d->first[i] = NO_DUP;
	if (d->n <= SMALL_SET) {
		for (i = 1; i < d->n; i++) {
			if (d->keys[i] == NULL)
				continue;
			for (j = 0; j < i; j++) {
				if (d->keys[j] != NULL && strcmp(d->keys[i], d->keys[j]) == 0) {
					d->first[i] = j;
					break;
				}
			}
		}
		return;
	}
	refs = malloc((size_t)d->n * sizeof(*refs));
	if (refs == NULL) {
		v->nomem = true;
		return;
	}
	for (i = 0; i < d->n; i++) {
		if (d->keys[i] != NULL) {
			refs[m].s = d->keys[i];
			refs[m].idx = i;
			m++;
		}
	}
	qsort(refs, m, sizeof(*refs), str_ref_cmp);
	for (i = 0; i < m; i++) {
		if (i > 0 && strcmp(refs[i].s, refs[i - 1].s) == 0)
			d->first[refs[i].idx] = refs[run].idx;
		else
			run = i;
	}
	free(refs);
}

/* An address with the place it was written: element b of list a. */
struct addr_ref {
	uint32_t addr;
	unsigned int a;
	unsigned int b;
};

static int
addr_ref_cmp(const void *x, const void *y)
{
	const struct addr_ref *p = x, *q = y;

	if (p->addr != q->addr)
		return p->addr < q->addr ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

/* Find @p addr in sorted refs; NULL when absent. */
static const struct addr_ref *
addr_ref_find(const struct addr_ref *r, size_t n, uint32_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].addr == addr ? &r[lo] : NULL;
}

/* ---- Interfaces ----------------------------------------------------------- */

struct subnet_ref {
	uint32_t net;
	uint32_t last;
	uint8_t len;
	unsigned int ifc;
	unsigned int idx;
};

static int
subnet_ref_cmp(const void *x, const void *y)
{
	const struct subnet_ref *p = x, *q = y;

	if (p->net != q->net)
		return p->net < q->net ? -1 : 1;
	if (p->len != q->len)
		return p->len < q->len ? -1 : 1;
	if (p->ifc != q->ifc)
		return p->ifc < q->ifc ? -1 : 1;
	return p->idx < q->idx ? -1 : p->idx > q->idx;
}

static void
report_overlap(struct vctx *v, const struct subnet_ref *p, const struct subnet_ref *q)
{
	const struct gax_interface *ifs = v->cfg->interfaces;
	char path[64], a[16], b[16];

	/* Report on the later interface of the file, naming the earlier one. */
	if (p->ifc < q->ifc) {
		const struct subnet_ref *t = p;

		p = q;
		q = t;
	}
	snprintf(path, sizeof(path), "interfaces[%u].addresses[%u]", p->ifc, p->idx);
	report(v, GAX_DIAG_ERROR, path, "subnet %s/%u overlaps subnet %s/%u of interface %s%s%s "
			"(interfaces[%u].addresses[%u])", gax_ip_format(p->net, a), p->len,
			gax_ip_format(q->net, b), q->len, ifs[q->ifc].name != NULL ? "\"" : "",
			ifs[q->ifc].name != NULL ? ifs[q->ifc].name : "",
			ifs[q->ifc].name != NULL ? "\"" : "", q->ifc, q->idx);
}

/* Subnets of different interfaces must not overlap. Prefixes are nested or disjoint,
 * so one sweep with a stack of the prefixes that enclose the current one finds all. */
static void
check_subnet_overlap(struct vctx *v, size_t n_prefixes)
{
	const struct gax_config *cfg = v->cfg;
	struct subnet_ref *s, *stack;
	size_t n = 0, top = 0, i;
	unsigned int k, j;

	if (n_prefixes < 2)
		return;
	s = malloc(n_prefixes * sizeof(*s));
	stack = malloc(n_prefixes * sizeof(*stack));
	if (s == NULL || stack == NULL) {
		v->nomem = true;
		goto out;
	}
	for (k = 0; k < cfg->n_interfaces; k++) {
		for (j = 0; j < cfg->interfaces[k].n_addresses; j++) {
			const struct gax_prefix *p = &cfg->interfaces[k].addresses[j];
			uint32_t m = gax_prefix_mask(p->len);

			if (p->len == 0)
				continue;
			s[n].net = p->addr & m;
			s[n].last = (p->addr & m) | ~m;
			s[n].len = p->len;
			s[n].ifc = k;
			s[n].idx = j;
			n++;
		}
	}
	qsort(s, n, sizeof(*s), subnet_ref_cmp);
	for (i = 0; i < n; i++) {
		size_t t;

		while (top > 0 && stack[top - 1].last < s[i].net)
			top--;
		/* Every prefix left on the stack encloses s[i]. */
		for (t = top; t > 0; t--) {
			if (stack[t - 1].ifc != s[i].ifc) {
				report_overlap(v, &s[i], &stack[t - 1]);
				break;
			}
		}
		if (top > 0 && stack[top - 1].net == s[i].net && stack[top - 1].len == s[i].len &&
				stack[top - 1].ifc == s[i].ifc)
			continue; /* the same subnet again on the same interface */
		stack[top++] = s[i];
	}
out:
	free(s);
	free(stack);
}

static bool
in_own_subnet(const struct gax_interface *ifc, uint32_t a, bool *any_valid)
{
	unsigned int j;
	bool in = false;

	*any_valid = false;
	for (j = 0; j < ifc->n_addresses; j++) {
		if (ifc->addresses[j].len == 0)
			continue;
		*any_valid = true;
		if (gax_prefix_contains(&ifc->addresses[j], a))
			in = true;
	}
	return in;
}

/* A gateway lies in one of its interface's subnets and is not one of its addresses. */
static void
check_gateway(struct vctx *v, unsigned int k, unsigned int *first_gw)
{
	const struct gax_interface *ifc = &v->cfg->interfaces[k];
	char path[64], b[16];
	bool any_valid;
	unsigned int j;

	if (!ifc->has_gateway)
		return;
	snprintf(path, sizeof(path), "interfaces[%u].gateway", k);
	if (*first_gw != NO_DUP) {
		const char *fn = v->cfg->interfaces[*first_gw].name;

		report(v, GAX_DIAG_ERROR, path, "only one interface may have a gateway; "
				"interfaces[%u]%s%s%s has one already", *first_gw,
				fn != NULL ? " (\"" : "", fn != NULL ? fn : "",
				fn != NULL ? "\")" : "");
	} else {
		*first_gw = k;
	}
	if (ifc->gateway == 0)
		return; /* given, but invalid: reported */
	if (!in_own_subnet(ifc, ifc->gateway, &any_valid) && any_valid)
		report(v, GAX_DIAG_ERROR, path, "gateway %s is outside the interface's subnets",
				gax_ip_format(ifc->gateway, b));
	for (j = 0; j < ifc->n_addresses; j++)
		if (ifc->addresses[j].len != 0 && ifc->addresses[j].addr == ifc->gateway)
			report(v, GAX_DIAG_ERROR, path, "gateway %s is the interface's own "
					"address (addresses[%u])", gax_ip_format(ifc->gateway, b),
					j);
}

/* Neighbours lie in one of their interface's subnets, each address once. */
static void
check_neighbors(struct vctx *v, unsigned int k)
{
	const struct gax_interface *ifc = &v->cfg->interfaces[k];
	struct addr_ref *r;
	size_t n = 0, i;
	char path[80], b[16];
	bool any_valid;
	unsigned int j;

	if (ifc->n_neighbors == 0)
		return;
	r = malloc((size_t)ifc->n_neighbors * sizeof(*r));
	if (r == NULL) {
		v->nomem = true;
		return;
	}
	for (j = 0; j < ifc->n_neighbors; j++) {
		uint32_t a = ifc->neighbors[j].addr;

		if (a == 0)
			continue;
		if (!in_own_subnet(ifc, a, &any_valid) && any_valid) {
			snprintf(path, sizeof(path), "interfaces[%u].neighbors[%u].address", k, j);
			report(v, GAX_DIAG_ERROR, path, "neighbor %s is outside the interface's "
					"subnets", gax_ip_format(a, b));
		}
		r[n].addr = a;
		r[n].a = j;
		r[n].b = 0;
		n++;
	}
	qsort(r, n, sizeof(*r), addr_ref_cmp);
	for (i = 1; i < n; i++) {
		size_t f = i;

		while (f > 0 && r[f - 1].addr == r[i].addr)
			f--;
		if (f == i)
			continue;
		snprintf(path, sizeof(path), "interfaces[%u].neighbors[%u].address", k, r[i].a);
		report(v, GAX_DIAG_ERROR, path, "neighbor %s is listed twice (neighbors[%u])",
				gax_ip_format(r[i].addr, b), r[f].a);
	}
	free(r);
}

/*
 * Names, devices, addresses, subnets, gateways, neighbours. *@p addrs
 * receives every interface address, sorted, for the accelerator checks.
 */
static void
check_interfaces(struct vctx *v, struct addr_ref **addrs, size_t *n_addrs)
{
	const struct gax_config *cfg = v->cfg;
	unsigned int n = cfg->n_interfaces, k, j, first_gw = NO_DUP;
	struct addr_ref *r;
	struct dups dn;
	size_t total = 0, m = 0, i;
	char path[96], b[16];

	*addrs = NULL;
	*n_addrs = 0;
	if (n == 0 || !dups_init(v, &dn, n))
		return;
	for (k = 0; k < n; k++)
		dn.keys[k] = cfg->interfaces[k].name;
	dups_find(v, &dn);
	for (k = 0; k < n; k++) {
		if (dn.first[k] == NO_DUP)
			continue;
		snprintf(path, sizeof(path), "interfaces[%u].name", k);
		report(v, GAX_DIAG_ERROR, path, "name \"%s\" is already used by interfaces[%u]",
				dn.keys[k], dn.first[k]);
	}
	for (k = 0; k < n; k++)
		dn.keys[k] = cfg->interfaces[k].device;
	dups_find(v, &dn);
	for (k = 0; k < n; k++) {
		const char *fn;

		if (dn.first[k] == NO_DUP)
			continue;
		fn = cfg->interfaces[dn.first[k]].name;
		snprintf(path, sizeof(path), "interfaces[%u].device", k);
		report(v, GAX_DIAG_ERROR, path, "device \"%s\" is already used by "
				"interfaces[%u]%s%s%s", dn.keys[k], dn.first[k],
				fn != NULL ? " (\"" : "", fn != NULL ? fn : "",
				fn != NULL ? "\")" : "");
	}
	for (k = 0; k < n; k++)
		dn.keys[k] = cfg->interfaces[k].kernel_twin;
	dups_find(v, &dn);
	for (k = 0; k < n; k++) {
		if (dn.first[k] == NO_DUP)
			continue;
		snprintf(path, sizeof(path), "interfaces[%u].kernel_twin", k);
		report(v, GAX_DIAG_ERROR, path, "kernel interface \"%s\" is already the twin of "
				"interfaces[%u]", dn.keys[k], dn.first[k]);
	}
	dups_fini(&dn);

	for (k = 0; k < n; k++)
		total += cfg->interfaces[k].n_addresses;
	if (total > 0) {
		r = malloc(total * sizeof(*r));
		if (r == NULL) {
			v->nomem = true;
			return;
		}
		for (k = 0; k < n; k++) {
			for (j = 0; j < cfg->interfaces[k].n_addresses; j++) {
				if (cfg->interfaces[k].addresses[j].len == 0)
					continue;
				r[m].addr = cfg->interfaces[k].addresses[j].addr;
				r[m].a = k;
				r[m].b = j;
				m++;
			}
		}
		qsort(r, m, sizeof(*r), addr_ref_cmp);
		for (i = 1; i < m; i++) {
			size_t f = i;

			while (f > 0 && r[f - 1].addr == r[i].addr)
				f--;
			if (f == i)
				continue;
			snprintf(path, sizeof(path), "interfaces[%u].addresses[%u]", r[i].a,
					r[i].b);
			report(v, GAX_DIAG_ERROR, path, "address %s is already used by "
					"interfaces[%u].addresses[%u]", gax_ip_format(r[i].addr, b),
					r[f].a, r[f].b);
		}
		*addrs = r;
		*n_addrs = m;
		check_subnet_overlap(v, m);
	}
	for (k = 0; k < n && !v->nomem; k++) {
		check_gateway(v, k, &first_gw);
		check_neighbors(v, k);
	}
}

/* ---- Accelerators --------------------------------------------------------- */

static void
check_acc_addresses(struct vctx *v, const struct addr_ref *ifa, size_t n_ifa)
{
	const struct gax_config *cfg = v->cfg;
	struct addr_ref *r;
	size_t total = 0, m = 0, i;
	unsigned int k, j;
	char path[96], b[16];

	for (k = 0; k < cfg->n_accelerators; k++)
		total += cfg->accelerators[k].n_addresses;
	if (total == 0)
		return;
	r = malloc(total * sizeof(*r));
	if (r == NULL) {
		v->nomem = true;
		return;
	}
	for (k = 0; k < cfg->n_accelerators; k++) {
		for (j = 0; j < cfg->accelerators[k].n_addresses; j++) {
			uint32_t a = cfg->accelerators[k].addresses[j];
			const struct addr_ref *hit;

			if (a == 0)
				continue;
			hit = addr_ref_find(ifa, n_ifa, a);
			if (hit != NULL) {
				snprintf(path, sizeof(path), "accelerators[%u].addresses[%u]", k,
						j);
				report(v, GAX_DIAG_ERROR, path, "address %s is an interface "
						"address (interfaces[%u].addresses[%u])",
						gax_ip_format(a, b), hit->a, hit->b);
			}
			r[m].addr = a;
			r[m].a = k;
			r[m].b = j;
			m++;
		}
	}
	qsort(r, m, sizeof(*r), addr_ref_cmp);
	for (i = 1; i < m; i++) {
		size_t f = i;

		while (f > 0 && r[f - 1].addr == r[i].addr)
			f--;
		if (f == i)
			continue;
		snprintf(path, sizeof(path), "accelerators[%u].addresses[%u]", r[i].a, r[i].b);
		report(v, GAX_DIAG_ERROR, path, "address %s is already used by "
				"accelerators[%u].addresses[%u]", gax_ip_format(r[i].addr, b),
				r[f].a, r[f].b);
	}
	free(r);
}

/* One listener port range, for the port sharing sweep. */
struct port_ref {
	uint8_t family; /* 0: TCP (tcp, http, https), 1: UDP */
	uint16_t from;
	uint16_t to;
	unsigned int listener;
};

static int
port_ref_cmp(const void *x, const void *y)
{
	const struct port_ref *p = x, *q = y;

	if (p->family != q->family)
		return p->family < q->family ? -1 : 1;
	if (p->from != q->from)
		return p->from < q->from ? -1 : 1;
	return p->listener < q->listener ? -1 : p->listener > q->listener;
}

struct conflict {
	unsigned int later;
	unsigned int earlier;
	uint16_t port;
};

static int
conflict_cmp(const void *x, const void *y)
{
	const struct conflict *p = x, *q = y;

	if (p->later != q->later)
		return p->later < q->later ? -1 : 1;
	if (p->earlier != q->earlier)
		return p->earlier < q->earlier ? -1 : 1;
	return p->port < q->port ? -1 : p->port > q->port;
}

/*
 * Listeners of one accelerator must not share a port within a family. The
 * ranges of one listener are disjoint, so sorting all ranges by their start
 * and keeping the one that reaches furthest finds every range that overlaps
 * another listener's; each pair of listeners is reported once, on the later
 * one, with the first port found shared.
 */
static void
check_ports(struct vctx *v, unsigned int ai)
{
	const struct gax_accelerator *acc = &v->cfg->accelerators[ai];
	struct port_ref *r = NULL;
	struct conflict *cf = NULL;
	size_t total = 0, n = 0, nc = 0, i;
	unsigned int k, j;
	char path[96];

	for (k = 0; k < acc->n_listeners; k++)
		total += acc->listeners[k].n_port_ranges;
	if (total < 2)
		return;
	r = malloc(total * sizeof(*r));
	cf = malloc(total * sizeof(*cf));
	if (r == NULL || cf == NULL) {
		v->nomem = true;
		goto out;
	}
	for (k = 0; k < acc->n_listeners; k++) {
		const struct gax_listener *l = &acc->listeners[k];

		for (j = 0; j < l->n_port_ranges; j++) {
			r[n].family = l->protocol == GAX_PROTO_UDP;
			r[n].from = l->port_ranges[j].from;
			r[n].to = l->port_ranges[j].to;
			r[n].listener = k;
			n++;
		}
	}
	qsort(r, n, sizeof(*r), port_ref_cmp);
	/* One sweep per family. */
	for (i = 0; i < n;) {
		size_t start = i, reach = i;

		for (i = start + 1; i < n && r[i].family == r[start].family; i++) {
			if (r[i].from <= r[reach].to) {
				unsigned int a = r[i].listener, b = r[reach].listener;

				cf[nc].later = a > b ? a : b;
				cf[nc].earlier = a > b ? b : a;
				cf[nc].port = r[i].from;
				nc++;
			}
			if (r[i].to > r[reach].to)
				reach = i;
		}
	}
	qsort(cf, nc, sizeof(*cf), conflict_cmp);
	for (i = 0; i < nc; i++) {
		const struct gax_listener *l, *o;

		if (i > 0 && cf[i].later == cf[i - 1].later && cf[i].earlier == cf[i - 1].earlier)
			continue;
		l = &acc->listeners[cf[i].later];
		o = &acc->listeners[cf[i].earlier];
		snprintf(path, sizeof(path), "accelerators[%u].listeners[%u].port_ranges", ai,
				cf[i].later);
		report(v, GAX_DIAG_ERROR, path, "port %u is already used by %s listener %s%s%s"
				"%s(accelerators[%u].listeners[%u])%s", cf[i].port,
				gax_protocol_name(o->protocol), o->name != NULL ? "\"" : "",
				o->name != NULL ? o->name : "", o->name != NULL ? "\"" : "",
				o->name != NULL ? " " : "", ai, cf[i].earlier,
				l->protocol != o->protocol ?
				"; tcp, http and https all run over TCP and cannot share a "
				"port" : "");
	}
out:
	free(r);
	free(cf);
}

/* Whether some interface subnet holds @p a. */
static bool
reachable(const struct gax_config *cfg, uint32_t a)
{
	unsigned int k, j;

	for (k = 0; k < cfg->n_interfaces; k++)
		for (j = 0; j < cfg->interfaces[k].n_addresses; j++)
			if (gax_prefix_contains(&cfg->interfaces[k].addresses[j], a))
				return true;
	return false;
}

static void
check_group(struct vctx *v, unsigned int ai, unsigned int li, unsigned int gi,
		bool check_reach)
{
	static const char fmt[] = "accelerators[%u].listeners[%u].endpoint_groups[%u]";
	const struct gax_endpoint_group *g =
		&v->cfg->accelerators[ai].listeners[li].groups[gi];
	unsigned int k, taking = 0;
	char path[160], b[16];
	struct dups de;

	if (g->n_endpoints == 0) {
		snprintf(path, sizeof(path), fmt, ai, li, gi);
		report(v, GAX_DIAG_WARNING, path, "no endpoint takes traffic: the group has no "
				"endpoints");
		return;
	}
	if (!dups_init(v, &de, g->n_endpoints))
		return;
	for (k = 0; k < g->n_endpoints; k++) {
		de.keys[k] = g->endpoints[k].address;
		if (g->endpoints[k].weight > 0)
			taking++;
	}
	dups_find(v, &de);
	for (k = 0; k < g->n_endpoints; k++) {
		const struct gax_endpoint *ep = &g->endpoints[k];
		bool unreachable = check_reach && ep->address != NULL &&
			ep->type == GAX_ENDPOINT_IP && !reachable(v->cfg, ep->ip);
		int o;

		if (de.first[k] == NO_DUP && !unreachable)
			continue;
		o = snprintf(path, sizeof(path), fmt, ai, li, gi);
		snprintf(path + o, sizeof(path) - (size_t)o, ".endpoints[%u].address", k);
		if (de.first[k] != NO_DUP)
			report(v, GAX_DIAG_ERROR, path, "address %s is listed twice in the group "
					"(endpoints[%u])", ep->address, de.first[k]);
		if (unreachable)
			report(v, GAX_DIAG_ERROR, path, "endpoint %s is not reachable: no "
					"interface subnet holds it and no interface has a gateway",
					gax_ip_format(ep->ip, b));
	}
	dups_fini(&de);
	if (taking == 0) {
		snprintf(path, sizeof(path), fmt, ai, li, gi);
		report(v, GAX_DIAG_WARNING, path, "no endpoint takes traffic: every weight is 0");
	}
}

static void
check_listener(struct vctx *v, unsigned int ai, unsigned int li, bool check_reach)
{
	const struct gax_listener *l = &v->cfg->accelerators[ai].listeners[li];
	unsigned int k;
	char path[160];
	struct dups dg;

	if (l->n_groups == 0) {
		snprintf(path, sizeof(path), "accelerators[%u].listeners[%u]", ai, li);
		report(v, GAX_DIAG_WARNING, path, "listener has no endpoint groups and serves "
				"nothing");
		return;
	}
	if (!dups_init(v, &dg, l->n_groups))
		return;
	for (k = 0; k < l->n_groups; k++)
		dg.keys[k] = l->groups[k].name;
	dups_find(v, &dg);
	for (k = 0; k < l->n_groups; k++) {
		if (dg.first[k] == NO_DUP)
			continue;
		snprintf(path, sizeof(path),
				"accelerators[%u].listeners[%u].endpoint_groups[%u].name", ai, li,
				k);
		report(v, GAX_DIAG_ERROR, path, "name \"%s\" is already used by "
				"endpoint_groups[%u]",
				dg.keys[k], dg.first[k]);
	}
	for (k = 0; k < l->n_groups; k++)
		dg.keys[k] = l->groups[k].region;
	dups_find(v, &dg);
	for (k = 0; k < l->n_groups; k++) {
		if (dg.first[k] == NO_DUP)
			continue;
		snprintf(path, sizeof(path),
				"accelerators[%u].listeners[%u].endpoint_groups[%u].region", ai, li,
				k);
		report(v, GAX_DIAG_ERROR, path, "region \"%s\" already has an endpoint group in "
				"this listener (endpoint_groups[%u]); one group per region",
				dg.keys[k], dg.first[k]);
	}
	dups_fini(&dg);
	for (k = 0; k < l->n_groups && !v->nomem; k++)
		check_group(v, ai, li, k, check_reach);
}

static void
check_accelerators(struct vctx *v, const struct addr_ref *ifa, size_t n_ifa)
{
	const struct gax_config *cfg = v->cfg;
	unsigned int n = cfg->n_accelerators, k, j;
	bool check_reach = cfg->n_interfaces > 0;
	struct dups da;
	char path[96];

	/* Reachability is only meaningful when every interface address is known. */
	for (k = 0; k < cfg->n_interfaces; k++) {
		if (cfg->interfaces[k].has_gateway)
			check_reach = false;
		for (j = 0; j < cfg->interfaces[k].n_addresses; j++)
			if (cfg->interfaces[k].addresses[j].len == 0)
				check_reach = false;
	}
	if (n == 0 || !dups_init(v, &da, n))
		return;
	for (k = 0; k < n; k++)
		da.keys[k] = cfg->accelerators[k].name;
	dups_find(v, &da);
	for (k = 0; k < n; k++) {
		if (da.first[k] == NO_DUP)
			continue;
		snprintf(path, sizeof(path), "accelerators[%u].name", k);
		report(v, GAX_DIAG_ERROR, path, "name \"%s\" is already used by accelerators[%u]",
				da.keys[k], da.first[k]);
	}
	dups_fini(&da);
	check_acc_addresses(v, ifa, n_ifa);

	for (k = 0; k < n && !v->nomem; k++) {
		const struct gax_accelerator *acc = &cfg->accelerators[k];
		struct dups dl;

		if (acc->n_listeners > 0 && dups_init(v, &dl, acc->n_listeners)) {
			for (j = 0; j < acc->n_listeners; j++)
				dl.keys[j] = acc->listeners[j].name;
			dups_find(v, &dl);
			for (j = 0; j < acc->n_listeners; j++) {
				if (dl.first[j] == NO_DUP)
					continue;
				snprintf(path, sizeof(path), "accelerators[%u].listeners[%u].name",
						k, j);
				report(v, GAX_DIAG_ERROR, path, "name \"%s\" is already used by "
						"accelerators[%u].listeners[%u]", dl.keys[j], k,
						dl.first[j]);
			}
			dups_fini(&dl);
		}
		check_ports(v, k);
		for (j = 0; j < acc->n_listeners && !v->nomem; j++)
			check_listener(v, k, j, check_reach);
	}
}

int
gax_config_validate(const struct gax_config *cfg, struct gax_diags *d)
{
	struct vctx v = { .cfg = cfg, .d = d };
	struct addr_ref *ifa = NULL;
	size_t n_ifa = 0;

	check_interfaces(&v, &ifa, &n_ifa);
	if (!v.nomem)
		check_accelerators(&v, ifa, n_ifa);
	free(ifa);
	return v.nomem ? -ENOMEM : 0;
}
