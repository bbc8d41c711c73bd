/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The XDP steering program's loader and map updater (see gax_xdp.h). The
 * program comes from the bpftool skeleton gax_xdp.skel.h, generated at
 * build time with the object embedded. The maps are replaced as sets with
 * "add first, delete stale after", so the program, which reads them all
 * the time, never misses an entry that is in both the old and new sets.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gax_xdp.h"
#include "gax_xdp.skel.h"

struct gax_xdp_attachment {
	int ifindex;
	uint32_t flags;	/* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
};

struct gax_xdp {
	struct gax_xdp_bpf *skel;
	uint32_t max_addresses;
	uint32_t max_listeners;
	uint32_t max_endpoints;
	unsigned int n_attached;
	struct gax_xdp_attachment attached[GAX_XDP_MAX_ATTACH];
};

static const char *const stat_names[GAX_XDP_STAT_MAX] = {
	[GAX_XDP_STAT_REDIRECT_LISTENER] = "redirect_listener",
	[GAX_XDP_STAT_REDIRECT_NAT_REPLY] = "redirect_nat_reply",
	[GAX_XDP_STAT_REDIRECT_ENDPOINT_REPLY] = "redirect_endpoint_reply",
	[GAX_XDP_STAT_REDIRECT_ICMP] = "redirect_icmp",
	[GAX_XDP_STAT_REDIRECT_ARP] = "redirect_arp",
	[GAX_XDP_STAT_NO_SOCKET] = "no_socket",
	[GAX_XDP_STAT_PASS_NOT_IPV4] = "pass_not_ipv4",
	[GAX_XDP_STAT_PASS_TRUNCATED] = "pass_truncated",
	[GAX_XDP_STAT_PASS_MALFORMED] = "pass_malformed",
	[GAX_XDP_STAT_PASS_FRAGMENT] = "pass_fragment",
	[GAX_XDP_STAT_PASS_NOT_OURS] = "pass_not_ours",
	[GAX_XDP_STAT_PASS_NO_LISTENER] = "pass_no_listener",
	[GAX_XDP_STAT_PASS_NOT_NAT_PORT] = "pass_not_nat_port",
	[GAX_XDP_STAT_PASS_OTHER_PROTO] = "pass_other_proto",
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
gax_xdp_stat_name(unsigned int stat)
{
	return stat < GAX_XDP_STAT_MAX ? stat_names[stat] : NULL;
}

int
gax_xdp_prog_fd(const struct gax_xdp *x)
{
	return bpf_program__fd(x->skel->progs.gax_xdp_steer);
}

int
gax_xdp_map_fd(const struct gax_xdp *x, enum gax_xdp_map map)
{
	switch (map) {
	case GAX_XDP_MAP_XSKS:
		return bpf_map__fd(x->skel->maps.xsks_map);
	case GAX_XDP_MAP_ADDRS:
		return bpf_map__fd(x->skel->maps.gax_addrs);
	case GAX_XDP_MAP_LISTENERS:
		return bpf_map__fd(x->skel->maps.gax_listeners);
	case GAX_XDP_MAP_CONFIG:
		return bpf_map__fd(x->skel->maps.gax_config);
	case GAX_XDP_MAP_STATS:
		return bpf_map__fd(x->skel->maps.gax_stats);
	case GAX_XDP_MAP_ENDPOINTS:
		return bpf_map__fd(x->skel->maps.gax_endpoints);
	}
	return -EINVAL;
}

struct gax_xdp *
gax_xdp_open(const struct gax_xdp_opts *opts, char *err, size_t errlen)
{
	static const struct gax_xdp_opts defaults;
	struct bpf_map *pinnable[5];
	struct gax_xdp *x;
	unsigned int i;
	int ret;

	if (opts == NULL)
		opts = &defaults;
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		set_err(err, errlen, "xdp: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	x->max_addresses = opts->max_addresses != 0 ? opts->max_addresses : GAX_XDP_MAX_ADDRESSES;
	x->max_listeners = opts->max_listeners != 0 ? opts->max_listeners : GAX_XDP_MAX_LISTENERS;
	x->max_endpoints = opts->max_endpoints != 0 ? opts->max_endpoints : GAX_XDP_MAX_ENDPOINTS;

	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts->pin_root);
	x->skel = gax_xdp_bpf__open_opts(&oo);
	if (x->skel == NULL) {
		ret = -errno;
		set_err(err, errlen, "xdp: cannot open the program: %s", strerror(-ret));
		goto fail;
	}
	pinnable[0] = x->skel->maps.gax_addrs;
	pinnable[1] = x->skel->maps.gax_listeners;
	pinnable[2] = x->skel->maps.gax_config;
	pinnable[3] = x->skel->maps.gax_stats;
	pinnable[4] = x->skel->maps.gax_endpoints;
	if (opts->pin_root == NULL) {
		for (i = 0; i < 5; i++) {
			ret = bpf_map__set_pin_path(pinnable[i], NULL);
			if (ret < 0) {
				set_err(err, errlen, "xdp: cannot unpin %s: %s",
					bpf_map__name(pinnable[i]), strerror(-ret));
				goto fail;
			}
		}
	}
	if ((ret = bpf_map__set_max_entries(x->skel->maps.xsks_map,
			opts->max_queues != 0 ? opts->max_queues : GAX_XDP_MAX_QUEUES)) < 0 ||
			(ret = bpf_map__set_max_entries(x->skel->maps.gax_addrs,
				x->max_addresses)) < 0 ||
			(ret = bpf_map__set_max_entries(x->skel->maps.gax_listeners,
				x->max_listeners)) < 0 ||
			(ret = bpf_map__set_max_entries(x->skel->maps.gax_endpoints,
				x->max_endpoints)) < 0) {
		set_err(err, errlen, "xdp: cannot size the maps: %s", strerror(-ret));
		goto fail;
	}
	ret = gax_xdp_bpf__load(x->skel);
	if (ret < 0) {
		set_err(err, errlen, "xdp: the kernel refused the program or its maps%s%s: %s",
			opts->pin_root != NULL ? " (or pinning them under " : "",
			opts->pin_root != NULL ? opts->pin_root : "", strerror(-ret));
		goto fail;
	}
	ret = gax_xdp_set_nat_ports(x, GAX_XDP_NAT_PORT_MIN, GAX_XDP_NAT_PORT_MAX, err, errlen);
	if (ret < 0)
		goto fail;
	return x;
fail:
	gax_xdp_bpf__destroy(x->skel);
	free(x);
	errno = -ret;
	return NULL;
}

void
gax_xdp_close(struct gax_xdp *x)
{
	if (x == NULL)
		return;
	/* Best effort: what cannot be detached (gone, replaced) is left as it is. */
	while (x->n_attached > 0) {
		unsigned int last = x->n_attached - 1;

		(void)gax_xdp_detach(x, x->attached[last].ifindex, NULL, 0);
		x->n_attached = last;
	}
	gax_xdp_bpf__destroy(x->skel);
	free(x);
}

static int
cmp_key4(const void *a, const void *b)
{
	return memcmp(a, b, 4);
}

static int
cmp_key8(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

/*
 * Sort the @p *n entries @p ent (a key of @p ksz bytes, then a value, @p esz
 * bytes in all) by key and drop duplicates. -EINVAL if one key comes with
 * two values.
 */
static int
sort_unique(unsigned char *ent, size_t *n, size_t ksz, size_t esz,
		int (*cmp)(const void *, const void *))
{
	size_t i, m = 0;

	qsort(ent, *n, esz, cmp);
	for (i = 0; i < *n; i++) {
		if (m > 0 && cmp(ent + (m - 1) * esz, ent + i * esz) == 0) {
			if (memcmp(ent + (m - 1) * esz + ksz, ent + i * esz + ksz, esz - ksz) != 0)
				return -EINVAL;
			continue;
		}
		if (m != i)
			memcpy(ent + m * esz, ent + i * esz, esz);
		m++;
	}
	*n = m;
	return 0;
}

/*
 * Replace the contents of hash map @p fd (capacity @p max) by the @p n
 * entries @p ent, sorted and distinct (see sort_unique()): write every new
 * entry, then delete every old key that is not among the new ones. The
 * program reads the map meanwhile: a key in both sets is never missing.
 */
static int
replace_set(int fd, uint32_t max, const unsigned char *ent, size_t n, size_t ksz, size_t esz,
		int (*cmp)(const void *, const void *), const char *what, char *err, size_t errlen)
{
	size_t n_old = 0, n_added = 0, i;
	unsigned char *old, *prev = NULL;
	int ret = 0;

	old = malloc(((size_t)max + 1) * ksz);
	if (old == NULL) {
		set_err(err, errlen, "xdp: out of memory");
		return -ENOMEM;
	}
	/* The old keys: only this thread writes the map, so the walk is stable. */
	while (n_old <= max && bpf_map_get_next_key(fd, prev, old + n_old * ksz) == 0) {
		prev = old + n_old * ksz;
		n_old++;
	}
	qsort(old, n_old, ksz, cmp);
	for (i = 0; i < n; i++)
		if (bsearch(ent + i * esz, old, n_old, ksz, cmp) == NULL)
			n_added++;
	if (n_old + n_added > max) {
		set_err(err, errlen, "xdp: %zu %s in the map and %zu to add do not fit its %u entries",
			n_old, what, n_added, max);
		ret = -ENOSPC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, ent + i * esz, ent + i * esz + ksz, BPF_ANY) != 0) {
			ret = -errno;
			set_err(err, errlen, "xdp: cannot write %s: %s (old ones kept)", what,
				strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < n_old; i++) {
		if (bsearch(old + i * ksz, ent, n, esz, cmp) != NULL)
			continue;
		if (bpf_map_delete_elem(fd, old + i * ksz) != 0 && errno != ENOENT) {
			ret = -errno;
			set_err(err, errlen, "xdp: cannot delete stale %s: %s", what,
				strerror(errno));
			goto out;
		}
	}
out:
	free(old);
	return ret;
}

struct addr_entry {
	__be32 addr;
	__u32 kind;
};

int
gax_xdp_set_addresses(struct gax_xdp *x, const struct gax_xdp_address *addrs, size_t n,
		char *err, size_t errlen)
{
	struct addr_entry *ent;
	size_t i;
	int ret;

	if (n > x->max_addresses) {
		set_err(err, errlen, "xdp: %zu addresses, the map holds %u", n, x->max_addresses);
		return -ENOSPC;
	}
	ent = calloc(n + 1, sizeof(*ent));
	if (ent == NULL) {
		set_err(err, errlen, "xdp: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (addrs[i].addr == 0 || (addrs[i].kind != GAX_XDP_ADDR_ACCELERATOR &&
				addrs[i].kind != GAX_XDP_ADDR_INTERFACE)) {
			set_err(err, errlen, "xdp: address %zu: %s", i, addrs[i].addr == 0 ?
				"0.0.0.0 is not an address" : "unknown kind");
			ret = -EINVAL;
			goto out;
		}
		ent[i].addr = htonl(addrs[i].addr);
		ent[i].kind = addrs[i].kind;
	}
	ret = sort_unique((unsigned char *)ent, &n, sizeof(ent->addr), sizeof(*ent), cmp_key4);
	if (ret < 0) {
		set_err(err, errlen, "xdp: an address is listed with two kinds");
		goto out;
	}
	ret = replace_set(bpf_map__fd(x->skel->maps.gax_addrs), x->max_addresses,
		(const unsigned char *)ent, n, sizeof(ent->addr), sizeof(*ent), cmp_key4,
		"addresses", err, errlen);
out:
	free(ent);
	return ret;
}

struct listener_entry {
	struct gax_xdp_listener_key key;
	__u32 one;
};

/* gax_xdp_set_listeners() and gax_xdp_set_endpoints(): {address, proto, port} sets. */
static int
set_ports(struct bpf_map *map, uint32_t max, const char *what,
		const struct gax_xdp_listener *l, size_t n, char *err, size_t errlen)
{
	struct listener_entry *ent;
	size_t i;
	int ret;

	if (n > max) {
		set_err(err, errlen, "xdp: %zu %s, the map holds %u", n, what, max);
		return -ENOSPC;
	}
	ent = calloc(n + 1, sizeof(*ent));
	if (ent == NULL) {
		set_err(err, errlen, "xdp: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (l[i].addr == 0 || l[i].port == 0 ||
				(l[i].ipproto != IPPROTO_TCP && l[i].ipproto != IPPROTO_UDP)) {
			set_err(err, errlen, "xdp: %s %zu: %s", what, i,
				l[i].addr == 0 ? "address 0.0.0.0" :
				l[i].port == 0 ? "port 0" : "protocol is neither TCP (6) nor UDP (17)");
			ret = -EINVAL;
			goto out;
		}
		ent[i].key.addr = htonl(l[i].addr);
		ent[i].key.proto = l[i].ipproto;
		ent[i].key.pad = 0;
		ent[i].key.port = htons(l[i].port);
		ent[i].one = 1;
	}
	_Static_assert(sizeof(struct gax_xdp_listener_key) == 8, "listener key is 8 bytes");
	(void)sort_unique((unsigned char *)ent, &n, sizeof(ent->key), sizeof(*ent), cmp_key8);
	ret = replace_set(bpf_map__fd(map), max, (const unsigned char *)ent, n, sizeof(ent->key),
		sizeof(*ent), cmp_key8, what, err, errlen);
out:
	free(ent);
	return ret;
}

int
gax_xdp_set_listeners(struct gax_xdp *x, const struct gax_xdp_listener *l, size_t n,
		char *err, size_t errlen)
{
	return set_ports(x->skel->maps.gax_listeners, x->max_listeners, "listener ports", l, n,
		err, errlen);
}

int
gax_xdp_set_endpoints(struct gax_xdp *x, const struct gax_xdp_listener *e, size_t n,
		char *err, size_t errlen)
{
	return set_ports(x->skel->maps.gax_endpoints, x->max_endpoints, "endpoint ports", e, n,
		err, errlen);
}

int
gax_xdp_set_nat_ports(struct gax_xdp *x, uint16_t lo, uint16_t hi, char *err, size_t errlen)
{
	struct gax_xdp_config cfg = { .nat_port_lo = lo, .nat_port_hi = hi };
	__u32 zero = 0;

	if (lo > hi) {
		set_err(err, errlen, "xdp: NAT port range %u-%u is empty", lo, hi);
		return -EINVAL;
	}
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.gax_config), &zero, &cfg, BPF_ANY) != 0) {
		set_err(err, errlen, "xdp: cannot set the NAT port range: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int
find_attached(const struct gax_xdp *x, int ifindex)
{
	unsigned int i;

	for (i = 0; i < x->n_attached; i++)
		if (x->attached[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

int
gax_xdp_attach(struct gax_xdp *x, int ifindex, enum gax_xdp_mode mode, char *err, size_t errlen)
{
	char name[IF_NAMESIZE] = "?";
	uint32_t flags;
	int ret;

	if (ifindex <= 0 || (mode != GAX_XDP_MODE_NATIVE && mode != GAX_XDP_MODE_GENERIC)) {
		set_err(err, errlen, "xdp: attach: bad %s", ifindex <= 0 ? "ifindex" : "mode");
		return -EINVAL;
	}
	(void)if_indextoname((unsigned int)ifindex, name);
	if (find_attached(x, ifindex) >= 0) {
		set_err(err, errlen, "xdp: already attached to %s", name);
		return -EALREADY;
	}
	if (x->n_attached == GAX_XDP_MAX_ATTACH) {
		set_err(err, errlen, "xdp: attached to %d interfaces already", GAX_XDP_MAX_ATTACH);
		return -ENOSPC;
	}
	flags = XDP_FLAGS_UPDATE_IF_NOEXIST |
		(mode == GAX_XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	ret = bpf_xdp_attach(ifindex, gax_xdp_prog_fd(x), flags, NULL);
	if (ret < 0) {
		set_err(err, errlen, "xdp: cannot attach to %s (ifindex %d) in %s mode: %s%s",
			name, ifindex, mode == GAX_XDP_MODE_NATIVE ? "native" : "generic",
			strerror(-ret), ret == -EBUSY ? " (another XDP program is attached; "
			"remove it with: ip link set dev IFACE xdp off)" : "");
		return ret;
	}
	x->attached[x->n_attached].ifindex = ifindex;
	x->attached[x->n_attached].flags = flags & ~(uint32_t)XDP_FLAGS_UPDATE_IF_NOEXIST;
	x->n_attached++;
	return 0;
}

int
gax_xdp_detach(struct gax_xdp *x, int ifindex, char *err, size_t errlen)
{
	char name[IF_NAMESIZE] = "?";
	struct gax_xdp_attachment a;
	int i, ret;

	i = find_attached(x, ifindex);
	if (i < 0) {
		set_err(err, errlen, "xdp: not attached to ifindex %d", ifindex);
		return -ENOENT;
	}
	(void)if_indextoname((unsigned int)ifindex, name);
	a = x->attached[i];
	/* Only if ours is still the one there (XDP_FLAGS_REPLACE + old_prog_fd). */
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = gax_xdp_prog_fd(x));
	ret = bpf_xdp_detach(ifindex, a.flags | XDP_FLAGS_REPLACE, &o);
	if (ret < 0 && ret != -EEXIST && ret != -ENODEV && ret != -ENOENT) {
		set_err(err, errlen, "xdp: cannot detach from %s (ifindex %d): %s", name, ifindex,
			strerror(-ret));
		return ret;
	}
	x->attached[i] = x->attached[x->n_attached - 1];
	x->n_attached--;
	if (ret == -EEXIST) {
		set_err(err, errlen, "xdp: %s (ifindex %d) no longer runs this program: left alone",
			name, ifindex);
		return ret;
	}
	return 0;
}

int
gax_xdp_read_stats(const struct gax_xdp *x, uint64_t stats[GAX_XDP_STAT_MAX])
{
	int n_cpus = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(x->skel->maps.gax_stats);
	uint64_t *v;
	__u32 k;
	int c;

	if (n_cpus <= 0)
		return n_cpus < 0 ? n_cpus : -EINVAL;
	v = calloc((size_t)n_cpus, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (k = 0; k < GAX_XDP_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, v) != 0) {
			int ret = -errno;

			free(v);
			return ret;
		}
		stats[k] = 0;
		for (c = 0; c < n_cpus; c++)
			stats[k] += v[c];
	}
	free(v);
	return 0;
}
