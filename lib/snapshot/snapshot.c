/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compiles a validated configuration into the snapshot the workers read.
 *
 * Everything a snapshot points to is owned by it: strings and small arrays
 * live in an arena of a few large blocks, the big arrays are single
 * allocations, and Maglev tables are shared. A table is identified by its
 * signature (table size, then each backend's key and effective weight in
 * group order); groups with the same signature share one table, and a table
 * of the previous snapshot is reused when its signature is unchanged, so an
 * apply that touches one group of 10,000 builds one table. Tables carry a
 * reference count touched only by the control thread.
 *
 * Compilation runs in two passes: the first lays out listeners, groups and
 * endpoints; then ids are assigned (health is reported by stable endpoint
 * id); the second asks each endpoint's health and builds, per listener, the
 * groups' tables and the traffic split. Health only changes the effective
 * weights the tables are built from (an unhealthy endpoint counts as weight
 * 0), so it needs no mechanism of its own: a group with no effective weight
 * gets no table and no share, exactly like a drained group, and table
 * sharing and reuse follow the effective weights through the signature.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gax_snapshot.h"
#include "snapshot_priv.h"

#define ARENA_BLOCK (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t size;
	char data[];
};

struct shared_table {
	unsigned int refs;
	uint64_t sig_hash;
	char *sig;
	struct gax_maglev_table *table;
};

/* An open-addressing index of shared tables by signature hash. */
struct table_index {
	struct shared_table **slots;
	uint32_t mask;
};

struct snapshot_priv {
	struct arena_block *arena;
	struct shared_table **tables; /* each referenced once by this snapshot */
	uint32_t n_tables;
	uint32_t cap_tables;
	struct table_index index;
};

static void *
arena_alloc(struct snapshot_priv *p, size_t len)
{
	struct arena_block *b = p->arena;
	size_t need = (len + 15) & ~(size_t)15;
	void *ret;

	if (b == NULL || b->size - b->used < need) {
		size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = p->arena;
		p->arena = b;
	}
	ret = b->data + b->used;
	b->used += need;
	return ret;
}

static char *
arena_strdup(struct snapshot_priv *p, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d = arena_alloc(p, len);

	if (d != NULL)
		memcpy(d, s, len);
	return d;
}

/* "a/b/c/d" from up to four parts (b, c, d may be NULL), in the arena. */
static char *
arena_join(struct snapshot_priv *p, const char *a, const char *b, const char *c, const char *d)
{
	const char *parts[4] = { a, b, c, d };
	size_t lens[4] = { 0 }, total = 0;
	unsigned int i, n = 0;
	char *s, *w;

	for (i = 0; i < 4 && parts[i] != NULL; i++, n++)
		total += (lens[i] = strlen(parts[i])) + 1;
	s = arena_alloc(p, total);
	if (s == NULL)
		return NULL;
	for (i = 0, w = s; i < n; i++) {
		if (i > 0)
			*w++ = '/';
		memcpy(w, parts[i], lens[i]);
		w += lens[i];
	}
	*w = '\0';
	return s;
}

static uint32_t
pow2_at_least(uint64_t n)
{
	uint32_t v = 16;

	while (v < n)
		v <<= 1;
	return v;
}

/* ---- Shared Maglev tables --------------------------------------------------- */

static void
shared_table_put(struct shared_table *t)
{
	if (t == NULL || --t->refs > 0)
		return;
	gax_maglev_free(t->table);
	free(t->sig);
	free(t);
}

static int
table_index_init(struct table_index *ix, uint32_t n)
{
	uint32_t size = pow2_at_least((uint64_t)n * 2);

	ix->slots = calloc(size, sizeof(*ix->slots));
	if (ix->slots == NULL)
		return -ENOMEM;
	ix->mask = size - 1;
	return 0;
}

static struct shared_table *
table_index_find(const struct table_index *ix, uint64_t h, const char *sig)
{
	uint32_t i;

	if (ix->slots == NULL)
		return NULL;
	for (i = (uint32_t)h & ix->mask; ix->slots[i] != NULL; i = (i + 1) & ix->mask)
		if (ix->slots[i]->sig_hash == h && strcmp(ix->slots[i]->sig, sig) == 0)
			return ix->slots[i];
	return NULL;
}

static void
table_index_add(struct table_index *ix, struct shared_table *t)
{
	uint32_t i;

	for (i = (uint32_t)t->sig_hash & ix->mask; ix->slots[i] != NULL; i = (i + 1) & ix->mask)
		;
	ix->slots[i] = t;
}

static char *
append_u32(char *w, uint32_t v)
{
	char tmp[10];
	unsigned int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*w++ = tmp[--n];
	return w;
}

/* The signature of a group's table: size, then "|key=weight" per backend in order. */
static char *
table_signature(uint32_t size, const struct gax_maglev_backend *b, unsigned int n)
{
	size_t len = 12;
	unsigned int i;
	char *sig, *w;

	for (i = 0; i < n; i++)
		len += strlen(b[i].key) + 12;
	sig = malloc(len);
	if (sig == NULL)
		return NULL;
	w = append_u32(sig, size);
	for (i = 0; i < n; i++) {
		size_t k = strlen(b[i].key);

		*w++ = '|';
		memcpy(w, b[i].key, k);
		w += k;
		*w++ = '=';
		w = append_u32(w, b[i].weight);
	}
	*w = '\0';
	return sig;
}

static const struct gax_maglev_table *
group_table(struct gax_snapshot *s, const struct gax_snapshot *prev,
		const struct gax_maglev_backend *b, unsigned int n)
{
	struct snapshot_priv *p = s->priv;
	struct shared_table *t;
	unsigned int i, serving = 0;
	uint64_t h;
	char *sig;

	for (i = 0; i < n; i++)
		if (b[i].weight > 0)
			serving++;
	if (serving == 0)
		return NULL;

	sig = table_signature(s->maglev_table_size, b, n);
	if (sig == NULL)
		goto nomem;
	h = gax_hash_bytes(sig, strlen(sig), 0);

	t = table_index_find(&p->index, h, sig);
	if (t != NULL) {
		free(sig);
		s->n_tables_reused++;
		return t->table;
	}
	t = prev != NULL ? table_index_find(&((struct snapshot_priv *)prev->priv)->index, h, sig)
			 : NULL;
	if (t != NULL) {
		free(sig);
		t->refs++;
		s->n_tables_reused++;
	} else {
		t = calloc(1, sizeof(*t));
		if (t == NULL) {
			free(sig);
			goto nomem;
		}
		t->refs = 1;
		t->sig = sig;
		t->sig_hash = h;
		t->table = gax_maglev_build(b, n, s->maglev_table_size);
		if (t->table == NULL) {
			free(t->sig);
			free(t);
			return NULL;
		}
		s->n_tables_built++;
	}
	p->tables[p->n_tables++] = t;
	table_index_add(&p->index, t);
	return t->table;

nomem:
	errno = ENOMEM;
	return NULL;
}

/* ---- Lookup tables ---------------------------------------------------------- */

static void
port_slot_add(struct gax_snapshot *s, uint64_t key, uint32_t listener, uint16_t port_index)
{
	uint32_t i = gax_snapshot_slot_hash(key) & s->port_mask;

	while (s->port_slots[i].key != 0 && s->port_slots[i].key != key)
		i = (i + 1) & s->port_mask;
	s->port_slots[i].key = key;
	s->port_slots[i].listener = listener;
	s->port_slots[i].port_index = port_index;
}

static void
addr_slot_add(struct gax_snapshot *s, uint32_t addr, enum gax_snap_addr_kind kind, uint32_t owner)
{
	uint32_t i = gax_snapshot_slot_hash(addr) & s->addr_mask;

	while (s->addr_slots[i].addr != 0 && s->addr_slots[i].addr != addr)
		i = (i + 1) & s->addr_mask;
	s->addr_slots[i].addr = addr;
	s->addr_slots[i].kind = kind;
	s->addr_slots[i].owner = owner;
}

/* Egress interface, next hop and full-NAT source for an endpoint address. */
static void
endpoint_route(const struct gax_snapshot *s, struct gax_snap_endpoint *e)
{
	uint16_t iface;
	uint32_t next_hop;

	e->iface = GAX_SNAP_NO_IFACE;
	e->next_hop = 0;
	e->snat_addr = 0;
	if (e->addr == 0 || !gax_snapshot_route(s, e->addr, &iface, &next_hop))
		return;
	e->iface = iface;
	e->next_hop = next_hop;
	e->snat_addr = s->interfaces[iface].addresses[0].addr;
}

/* ---- Compilation ------------------------------------------------------------ */

static int
compile_interfaces(struct gax_snapshot *s, const struct gax_config *cfg)
{
	struct snapshot_priv *p = s->priv;
	uint32_t i;

	for (i = 0; i < cfg->n_interfaces; i++) {
		const struct gax_interface *in = &cfg->interfaces[i];
		struct gax_snap_interface *out = &s->interfaces[i];
		struct gax_prefix *addrs;
		struct gax_neighbor *nbrs = NULL;

		out->name = arena_strdup(p, in->name);
		out->device = arena_strdup(p, in->device);
		addrs = arena_alloc(p, sizeof(*addrs) * in->n_addresses);
		if (in->n_neighbors > 0)
			nbrs = arena_alloc(p, sizeof(*nbrs) * in->n_neighbors);
		if (out->name == NULL || out->device == NULL || addrs == NULL ||
				(in->n_neighbors > 0 && nbrs == NULL))
			return -ENOMEM;
		memcpy(addrs, in->addresses, sizeof(*addrs) * in->n_addresses);
		if (nbrs != NULL)
			memcpy(nbrs, in->neighbors, sizeof(*nbrs) * in->n_neighbors);
		out->addresses = addrs;
		out->n_addresses = in->n_addresses;
		out->neighbors = nbrs;
		out->n_neighbors = in->n_neighbors;
		out->gateway = in->has_gateway ? in->gateway : 0;
	}
	return 0;
}

/* Destination port per listener port index for one group. */
static const uint16_t *
group_ports(struct gax_snapshot *s, const struct gax_snap_listener *l,
		const struct gax_endpoint_group *g)
{
	uint16_t *map;
	unsigned int i, o = 0;

	if (g->n_port_overrides == 0)
		return l->ports;
	map = arena_alloc(s->priv, sizeof(*map) * l->n_ports);
	if (map == NULL)
		return NULL;
	/* Both lists are ascending: one merge pass. */
	for (i = 0; i < l->n_ports; i++) {
		while (o < g->n_port_overrides && g->port_overrides[o].listener_port < l->ports[i])
			o++;
		if (o < g->n_port_overrides && g->port_overrides[o].listener_port == l->ports[i])
			map[i] = g->port_overrides[o].endpoint_port;
		else
			map[i] = l->ports[i];
	}
	return map;
}

/* Lay out one group and its endpoints; its table is built by route_listener(). */
static int
compile_group(struct gax_snapshot *s, const struct gax_snapshot_opts *opts,
		const struct gax_accelerator *a, const struct gax_listener *cl,
		const struct gax_endpoint_group *cg, uint32_t li, uint32_t gi, uint32_t *ei)
{
	struct snapshot_priv *p = s->priv;
	const struct gax_snap_listener *l = &s->listeners[li];
	struct gax_snap_group *g = &s->groups[gi];
	unsigned int k;

	g->name = arena_strdup(p, cg->name);
	g->key = arena_join(p, a->name, cl->name, cg->name, NULL);
	g->listener = li;
	g->first_endpoint = *ei;
	g->n_endpoints = cg->n_endpoints;
	g->reserve_client_ip = cg->reserve_client_ip;
	g->request_protocol = (uint8_t)cg->request_protocol;
	g->traffic_percentage = (uint8_t)cg->traffic_percentage;
	g->endpoint_port = group_ports(s, l, cg);
	if (g->name == NULL || g->key == NULL || g->endpoint_port == NULL)
		return -ENOMEM;

	for (k = 0; k < cg->n_endpoints && k < GAX_MAX_ENDPOINTS_PER_GROUP; k++) {
		const struct gax_endpoint *ce = &cg->endpoints[k];
		struct gax_snap_endpoint *e = &s->endpoints[*ei + k];

		e->address = arena_strdup(p, ce->address);
		e->key = arena_join(p, a->name, cl->name, cg->name, ce->address);
		if (e->address == NULL || e->key == NULL)
			return -ENOMEM;
		e->group = gi;
		e->weight = ce->weight;
		e->type = (uint8_t)ce->type;
		e->addr = 0;
		if (ce->type == GAX_ENDPOINT_IP)
			e->addr = ce->ip;
		else if (opts->resolve != NULL && opts->resolve(opts->resolve_ctx, ce->address,
				&e->addr) < 0)
			e->addr = 0;
		endpoint_route(s, e);
	}
	*ei += cg->n_endpoints;
	return 0;
}

/*
 * Whether endpoint @p ei could take new flows, health aside: weight > 0, not
 * drained, resolved, routable. A drained endpoint is out for the operator's
 * reason, not its health, so it never makes its listener fail open.
 */
static bool
endpoint_can_serve(const struct gax_snapshot *s, uint32_t ei)
{
	const struct gax_snap_endpoint *e = &s->endpoints[ei];

	return e->weight > 0 && !s->endpoint_drained[ei] && e->addr != 0 &&
		e->iface != GAX_SNAP_NO_IFACE;
}

/*
 * Second pass, after ids: ask the health of the listener's endpoints, decide
 * whether it fails open, build its groups' tables from the effective weights
 * and split its new flows over the groups that got a table.
 */
static int
route_listener(struct gax_snapshot *s, const struct gax_snapshot_opts *opts, uint32_t li)
{
	struct gax_snap_listener *l = &s->listeners[li];
	struct gax_maglev_backend backends[GAX_MAX_ENDPOINTS_PER_GROUP];
	uint32_t gi, ei, cum = 0;
	bool could_serve = false, healthy_serves = false;
	unsigned int k;

	for (gi = l->first_group; gi < l->first_group + l->n_groups; gi++) {
		const struct gax_snap_group *g = &s->groups[gi];

		for (ei = g->first_endpoint; ei < g->first_endpoint + g->n_endpoints; ei++) {
			const struct gax_snap_endpoint *e = &s->endpoints[ei];
			bool down = opts->unhealthy != NULL &&
					opts->unhealthy(opts->health_ctx, e->id);
			bool drained = opts->drained != NULL &&
					opts->drained(opts->drain_ctx, e->id);

			s->endpoint_unhealthy[ei] = down;
			if (down)
				s->n_unhealthy++;
			s->endpoint_drained[ei] = drained;
			if (drained)
				s->n_drained++;
			if (endpoint_can_serve(s, ei)) {
				could_serve = true;
				if (!down)
					healthy_serves = true;
			}
		}
	}
	l->failed_open = could_serve && !healthy_serves;
	if (l->failed_open)
		s->n_failed_open++;

	for (gi = l->first_group; gi < l->first_group + l->n_groups; gi++) {
		struct gax_snap_group *g = &s->groups[gi];

		for (k = 0; k < g->n_endpoints && k < GAX_MAX_ENDPOINTS_PER_GROUP; k++) {
			ei = g->first_endpoint + k;
			backends[k].key = s->endpoints[ei].address;
			backends[k].weight = endpoint_can_serve(s, ei) &&
					(!s->endpoint_unhealthy[ei] || l->failed_open) ?
					s->endpoints[ei].weight : 0;
		}
		errno = 0;
		g->table = group_table(s, opts->prev, backends, k);
		if (g->table == NULL && errno != 0)
			return -errno;
		g->split_lo = cum;
		if (g->table != NULL)
			cum += g->traffic_percentage;
		g->split_hi = cum;
	}
	l->split_total = cum;
	return 0;
}

static int
compile_listener(struct gax_snapshot *s, const struct gax_snapshot_opts *opts, uint32_t ai,
		const struct gax_accelerator *a, const struct gax_listener *cl, uint32_t li,
		uint32_t *gi, uint32_t *ei)
{
	struct snapshot_priv *p = s->priv;
	struct gax_snap_listener *l = &s->listeners[li];
	uint16_t *ports;
	unsigned int r, n = 0, v, k;
	int rc;

	l->name = arena_strdup(p, cl->name);
	l->key = arena_join(p, a->name, cl->name, NULL, NULL);
	ports = arena_alloc(p, sizeof(*ports) * (cl->n_ports > 0 ? cl->n_ports : 1));
	if (l->name == NULL || l->key == NULL || ports == NULL)
		return -ENOMEM;
	l->accelerator = ai;
	l->protocol = (uint8_t)cl->protocol;
	l->ipproto = cl->protocol == GAX_PROTO_UDP ? GAX_IPPROTO_UDP : GAX_IPPROTO_TCP;
	l->affinity = (uint8_t)cl->client_affinity;
	l->idle_timeout = cl->idle_timeout;
	l->request_timeout = cl->request_timeout;
	for (r = 0; r < cl->n_port_ranges; r++) {
		uint32_t port;

		for (port = cl->port_ranges[r].from; port <= cl->port_ranges[r].to; port++)
			ports[n++] = (uint16_t)port;
	}
	l->ports = ports;
	l->n_ports = (uint16_t)n;
	for (v = 0; v < a->n_addresses; v++)
		for (k = 0; k < n; k++)
			port_slot_add(s, gax_snapshot_port_key(a->addresses[v], l->ipproto, ports[k]),
					li, (uint16_t)k);

	l->first_group = *gi;
	l->n_groups = cl->n_groups;
	for (k = 0; k < cl->n_groups; k++) {
		rc = compile_group(s, opts, a, cl, &cl->groups[k], li, *gi + k, ei);
		if (rc < 0)
			return rc;
	}
	*gi += cl->n_groups;
	return 0;
}

struct gax_snapshot *
gax_snapshot_compile(const struct gax_config *cfg, const struct gax_snapshot_opts *opts)
{
	static const struct gax_snapshot_opts no_opts;
	struct gax_snapshot *s;
	struct snapshot_priv *p;
	uint64_t n_port_keys = 0, n_addrs = 0;
	uint32_t n_listeners = 0, n_groups = 0, n_endpoints = 0;
	uint32_t i, j, k, li = 0, gi = 0, ei = 0;
	int rc = -ENOMEM;

	if (cfg == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (opts == NULL)
		opts = &no_opts;

	for (i = 0; i < cfg->n_interfaces; i++)
		n_addrs += cfg->interfaces[i].n_addresses;
	for (i = 0; i < cfg->n_accelerators; i++) {
		const struct gax_accelerator *a = &cfg->accelerators[i];

		n_addrs += a->n_addresses;
		n_listeners += a->n_listeners;
		for (j = 0; j < a->n_listeners; j++) {
			const struct gax_listener *l = &a->listeners[j];

			n_port_keys += (uint64_t)l->n_ports * a->n_addresses;
			n_groups += l->n_groups;
			for (k = 0; k < l->n_groups; k++)
				n_endpoints += l->groups[k].n_endpoints;
		}
	}

	s = calloc(1, sizeof(*s));
	p = calloc(1, sizeof(*p));
	if (s == NULL || p == NULL) {
		free(s);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	s->priv = p;
	s->generation = opts->generation;
	s->maglev_table_size = cfg->limits.maglev_table_size;
	s->port_mask = pow2_at_least(n_port_keys * 2) - 1;
	s->addr_mask = pow2_at_least(n_addrs * 2) - 1;
	s->port_slots = calloc((size_t)s->port_mask + 1, sizeof(*s->port_slots));
	s->addr_slots = calloc((size_t)s->addr_mask + 1, sizeof(*s->addr_slots));
	s->interfaces = calloc(cfg->n_interfaces + 1, sizeof(*s->interfaces));
	s->accelerators = calloc(cfg->n_accelerators + 1, sizeof(*s->accelerators));
	s->listeners = calloc(n_listeners + 1, sizeof(*s->listeners));
	s->groups = calloc(n_groups + 1, sizeof(*s->groups));
	s->endpoints = calloc(n_endpoints + 1, sizeof(*s->endpoints));
	s->endpoint_unhealthy = calloc(n_endpoints + 1, sizeof(*s->endpoint_unhealthy));
	s->endpoint_drained = calloc(n_endpoints + 1, sizeof(*s->endpoint_drained));
	p->tables = calloc(n_groups + 1, sizeof(*p->tables));
	if (s->port_slots == NULL || s->addr_slots == NULL || s->interfaces == NULL ||
			s->accelerators == NULL ||
			s->listeners == NULL || s->groups == NULL || s->endpoints == NULL ||
			s->endpoint_unhealthy == NULL || s->endpoint_drained == NULL ||
			p->tables == NULL || table_index_init(&p->index, n_groups + 1) < 0)
		goto fail;
	s->n_interfaces = cfg->n_interfaces;
	s->n_accelerators = cfg->n_accelerators;
	s->n_listeners = n_listeners;
	s->n_groups = n_groups;
	s->n_endpoints = n_endpoints;

	rc = compile_interfaces(s, cfg);
	if (rc < 0)
		goto fail;
	for (i = 0; i < cfg->n_interfaces; i++)
		for (j = 0; j < cfg->interfaces[i].n_addresses; j++)
			addr_slot_add(s, cfg->interfaces[i].addresses[j].addr, GAX_ADDR_INTERFACE, i);

	for (i = 0; i < cfg->n_accelerators; i++) {
		const struct gax_accelerator *a = &cfg->accelerators[i];
		struct gax_snap_accelerator *sa = &s->accelerators[i];
		uint32_t *addrs = arena_alloc(p, sizeof(*addrs) * (a->n_addresses + 1));

		sa->name = arena_strdup(p, a->name);
		if (addrs == NULL || sa->name == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(addrs, a->addresses, sizeof(*addrs) * a->n_addresses);
		sa->addresses = addrs;
		sa->n_addresses = a->n_addresses;
		sa->first_listener = li;
		sa->n_listeners = a->n_listeners;
		for (j = 0; j < a->n_addresses; j++)
			addr_slot_add(s, a->addresses[j], GAX_ADDR_ACCELERATOR, i);
		for (j = 0; j < a->n_listeners; j++) {
			rc = compile_listener(s, opts, i, a, &a->listeners[j], li++, &gi, &ei);
			if (rc < 0)
				goto fail;
		}
	}
	rc = gax_snapshot_assign_ids(s, opts->prev);
	if (rc < 0)
		goto fail;
	for (li = 0; li < s->n_listeners; li++) {
		rc = route_listener(s, opts, li);
		if (rc < 0)
			goto fail;
	}
	return s;

fail:
	gax_snapshot_free(s);
	errno = -rc;
	return NULL;
}

void
gax_snapshot_free(struct gax_snapshot *s)
{
	struct snapshot_priv *p;
	uint32_t i;

	if (s == NULL)
		return;
	p = s->priv;
	if (p != NULL) {
		for (i = 0; i < p->n_tables; i++)
			shared_table_put(p->tables[i]);
		while (p->arena != NULL) {
			struct arena_block *next = p->arena->next;

			free(p->arena);
			p->arena = next;
		}
		free(p->tables);
		free(p->index.slots);
		free(p);
	}
	free(s->port_slots);
	free(s->addr_slots);
	free(s->interfaces);
	free(s->accelerators);
	free(s->listeners);
	free(s->groups);
	free(s->endpoints);
	free(s->endpoint_unhealthy);
	free(s->endpoint_drained);
	free(s->listener_by_id);
	free(s->endpoint_by_id);
	free(s);
}
