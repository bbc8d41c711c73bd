/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AF_XDP mode: on an interface whose device is a net_af_xdp port, the XDP
 * program in front of gaxd's AF_XDP sockets is gax's steering program
 * (lib/xdp), and its maps follow the running configuration: gax's
 * addresses, its listener ports, the service ports of its reserve-client-IP
 * endpoints (their replies come back to the client's address, not to one of
 * gax's) and the full-NAT port range, refilled after
 * every publication (add first, delete after: nothing present in both the
 * old and the new set is ever missing).
 *
 * Who loads what. DPDK 22.11's net_af_xdp has no devarg to take a program
 * someone else attached (it loads its own: the libxdp default program, or
 * the object file given with xdp_prog=, and puts its sockets in that
 * instance's xsks_map). So the PMD loads gax_xdp.bpf.o from xdp_prog=, and
 * the two sides meet through pinned maps: before the ports start, gaxd
 * loads its own instance of the object with pin_root /sys/fs/bpf, which
 * creates and pins gax_addrs, gax_listeners, gax_endpoints, gax_config and
 * gax_stats, and fills them; the PMD's libbpf then finds them pinned and reuses them.
 * Once the ports run, gaxd checks that the program on each interface is
 * gax_xdp_steer using its maps (by map id), and removes the pins: both
 * sides hold the maps by descriptor from then on, so a second gaxd in the
 * same mount namespace, or a crash, leaves nothing pinned behind. The
 * libxdp dispatcher is not involved (it fails with EPERM on our machines;
 * the PMD then attaches the single program itself).
 *
 * Exit: the PMD detaches its program when the port closes; gaxd checks and
 * detaches it itself if the PMD did not. A crash leaves the program
 * attached, but a dead process's AF_XDP sockets leave xsks_map, and the
 * program's redirect falls back to XDP_PASS: everything reaches the kernel
 * (docs/xdp.md, tests/e2e/test_xdp.sh).
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <sys/vfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <gax_xdp.h>

#include "gaxd.h"

#define GAXD_XDP_PIN_ROOT	"/sys/fs/bpf"
#define GAXD_BPF_FS_MAGIC	0xcafe4a11	/* BPF_FS_MAGIC of <linux/magic.h> */

/* The maps gax_xdp.bpf.c declares LIBBPF_PIN_BY_NAME. */
static const char *const pinned_maps[] = { "gax_addrs", "gax_listeners", "gax_endpoints",
	"gax_config", "gax_stats" };

struct gaxd_xdp {
	struct gax_xdp *x;
	uint32_t addrs_map_id;			/* gax_addrs, to recognise our program */
	uint32_t n;				/* net_af_xdp interfaces */
	uint32_t iface[GAX_FWD_MAX_IFACES];	/* their interface indexes in the config */
	int ifindex[GAX_FWD_MAX_IFACES];	/* and the kernel's */
	uint32_t prog_id[GAX_FWD_MAX_IFACES];	/* the program checked there; 0: not yet */
	uint64_t updates;			/* map refills done */
	uint64_t update_errors;			/* refills that failed */
	uint32_t n_addresses;			/* in the maps now */
	uint32_t n_listener_ports;
	uint32_t n_endpoint_ports;
};

static void
unpin(bool verbose)
{
	char path[64];
	unsigned int i;

	for (i = 0; i < RTE_DIM(pinned_maps); i++) {
		snprintf(path, sizeof(path), GAXD_XDP_PIN_ROOT "/%s", pinned_maps[i]);
		if (unlink(path) == 0 && verbose)
			GAXD_LOG(NOTICE, "xdp: removed %s, pinned by an earlier run", path);
	}
}

/* The id of the BPF object behind @p fd (a program or a map), or 0. */
static uint32_t
obj_id(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	/* Program and map infos both start with type and id. */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return 0;
	return info.id;
}

int
gaxd_xdp_open(struct gaxd *d)
{
	struct gax_xdp_opts o = { .pin_root = GAXD_XDP_PIN_ROOT };
	struct rte_eth_dev_info info;
	struct gaxd_xdp *xd;
	struct statfs fs;
	char err[256];
	uint32_t i;
	uint16_t port;

	xd = calloc(1, sizeof(*xd));
	if (xd == NULL)
		return -ENOMEM;
	for (i = 0; i < d->n_ifaces; i++) {
		const struct gax_snap_interface *in = &d->snap->interfaces[i];

		/* A device that is not there is gaxd_ports_open()'s to report. */
		if (rte_eth_dev_get_port_by_name(in->device, &port) != 0 ||
				rte_eth_dev_info_get(port, &info) != 0 ||
				strcmp(info.driver_name, "net_af_xdp") != 0)
			continue;
		if (info.if_index == 0) {
			GAXD_LOG(ERR, "interface %s: %s names no kernel interface", in->name,
					in->device);
			free(xd);
			return -ENODEV;
		}
		xd->iface[xd->n] = i;
		xd->ifindex[xd->n] = (int)info.if_index;
		xd->n++;
	}
	if (xd->n == 0) {
		free(xd);
		return 0;
	}
	if (statfs(GAXD_XDP_PIN_ROOT, &fs) != 0 || fs.f_type != GAXD_BPF_FS_MAGIC) {
		GAXD_LOG(ERR, "xdp: no bpffs on " GAXD_XDP_PIN_ROOT ": net_af_xdp and gaxd share "
				"the steering program's maps there (mount -t bpf bpf " GAXD_XDP_PIN_ROOT
				")");
		free(xd);
		return -ENOENT;
	}
	unpin(true);
	xd->x = gax_xdp_open(&o, err, sizeof(err));
	if (xd->x == NULL) {
		int rc = -errno;

		GAXD_LOG(ERR, "%s", err);
		free(xd);
		return rc;
	}
	xd->addrs_map_id = obj_id(gax_xdp_map_fd(xd->x, GAX_XDP_MAP_ADDRS));
	d->xdp = xd;
	return 0;
}

/* Add @p a to the growing array @p *v of @p *n (capacity @p *cap) entries of @p sz bytes. */
static int
push(void **v, size_t *n, size_t *cap, const void *a, size_t sz)
{
	if (*n == *cap) {
		size_t c = *cap == 0 ? 64 : *cap * 2;
		void *p = realloc(*v, c * sz);

		if (p == NULL)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	memcpy((char *)*v + *n * sz, a, sz);
	(*n)++;
	return 0;
}

int
gaxd_xdp_refill(struct gaxd *d)
{
	struct gaxd_xdp *xd = d->xdp;
	const struct gax_snapshot *s = d->snap;
	struct gax_xdp_address *addrs = NULL;
	struct gax_xdp_listener *lis = NULL, *eps = NULL;
	size_t n_a = 0, cap_a = 0, n_l = 0, cap_l = 0, n_e = 0, cap_e = 0;
	char err[256] = "out of memory";
	uint32_t i, a, p, k;
	int rc = 0;

	if (xd == NULL)
		return 0;
	for (i = 0; rc == 0 && i <= s->addr_mask; i++) {
		const struct gax_snap_addr_slot *slot = &s->addr_slots[i];
		struct gax_xdp_address e = { .addr = slot->addr, .kind = slot->kind };

		if (slot->addr != 0)
			rc = push((void **)&addrs, &n_a, &cap_a, &e, sizeof(e));
	}
	for (i = 0; rc == 0 && i < s->n_listeners; i++) {
		const struct gax_snap_listener *l = &s->listeners[i];
		const struct gax_snap_accelerator *acc = &s->accelerators[l->accelerator];

		for (a = 0; rc == 0 && a < acc->n_addresses; a++)
			for (p = 0; rc == 0 && p < l->n_ports; p++) {
				struct gax_xdp_listener e = { .addr = acc->addresses[a],
					.port = l->ports[p], .ipproto = l->ipproto };

				rc = push((void **)&lis, &n_l, &cap_l, &e, sizeof(e));
			}
	}
	/* Endpoints that see the client's address answer it, not gax: steered by source. */
	for (i = 0; rc == 0 && i < s->n_groups; i++) {
		const struct gax_snap_group *g = &s->groups[i];
		const struct gax_snap_listener *l = &s->listeners[g->listener];

		if (!g->reserve_client_ip)
			continue;
		for (k = g->first_endpoint; rc == 0 && k < g->first_endpoint + g->n_endpoints; k++)
			for (p = 0; rc == 0 && s->endpoints[k].addr != 0 && p < l->n_ports; p++) {
				struct gax_xdp_listener ep = { .addr = s->endpoints[k].addr,
					.port = g->endpoint_port[p], .ipproto = l->ipproto };

				rc = push((void **)&eps, &n_e, &cap_e, &ep, sizeof(ep));
			}
	}
	/* Addresses first: a listener port is only looked at for an accelerated address. */
	if (rc == 0)
		rc = gax_xdp_set_addresses(xd->x, addrs, n_a, err, sizeof(err));
	if (rc == 0)
		rc = gax_xdp_set_listeners(xd->x, lis, n_l, err, sizeof(err));
	if (rc == 0)
		rc = gax_xdp_set_endpoints(xd->x, eps, n_e, err, sizeof(err));
	if (rc == 0)
		rc = gax_xdp_set_nat_ports(xd->x, d->snat_port_min, d->snat_port_max,
				err, sizeof(err));
	free(addrs);
	free(lis);
	free(eps);
	if (rc != 0) {
		xd->update_errors++;
		GAXD_LOG(ERR, "generation %" PRIu64 ": the XDP steering maps were not updated: %s",
				s->generation, err);
		return rc;
	}
	xd->updates++;
	xd->n_addresses = (uint32_t)n_a;
	xd->n_listener_ports = (uint32_t)n_l;
	xd->n_endpoint_ports = (uint32_t)n_e;
	GAXD_LOG(DEBUG, "generation %" PRIu64 ": XDP steering %zu addresses, %zu listener ports, "
			"%zu reserve-client-IP endpoint ports", s->generation, n_a, n_l, n_e);
	return 0;
}

/*
 * The program attached to @p ifindex: its id and whether it reads the map
 * whose id is @p map_id. Returns 0 (id 0: none attached) or a negative errno.
 */
static int
attached_prog(int ifindex, uint32_t map_id, uint32_t *prog_id, char *name, size_t len,
		bool *ours, uint32_t *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info;
	uint32_t ids[16], ilen = sizeof(info), i;
	int fd, rc;

	*ours = false;
	*prog_id = 0;
	rc = bpf_xdp_query(ifindex, 0, &q);
	if (rc < 0)
		return rc;
	*prog_id = q.prog_id;
	*mode = q.attach_mode;
	if (q.prog_id == 0)
		return 0;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = RTE_DIM(ids);
	info.map_ids = (uint64_t)(uintptr_t)ids;
	rc = bpf_obj_get_info_by_fd(fd, &info, &ilen);
	close(fd);
	if (rc != 0)
		return -errno;
	snprintf(name, len, "%s", info.name);
	for (i = 0; i < info.nr_map_ids && i < RTE_DIM(ids); i++)
		if (ids[i] == map_id)
			*ours = true;
	return 0;
}

int
gaxd_xdp_check(struct gaxd *d)
{
	struct gaxd_xdp *xd = d->xdp;
	char name[BPF_OBJ_NAME_LEN] = "", kname[IF_NAMESIZE] = "?";
	uint32_t i, id, mode;
	bool ours;
	int rc = 0, r;

	if (xd == NULL)
		return 0;
	for (i = 0; i < xd->n; i++) {
		const struct gax_snap_interface *in = &d->snap->interfaces[xd->iface[i]];

		if_indextoname((unsigned int)xd->ifindex[i], kname);
		r = attached_prog(xd->ifindex[i], xd->addrs_map_id, &id, name, sizeof(name),
				&ours, &mode);
		if (r != 0 || !ours) {
			GAXD_LOG(ERR, "interface %s: %s on %s %s%s%s; gaxd needs its steering "
					"program there, or %s: give its --vdev xdp_prog=<gax_xdp.bpf.o> "
					"(docs/xdp.md)", in->name, in->device, kname,
					r != 0 ? "cannot be queried: " : id == 0 ? "runs no XDP program" :
					"runs XDP program ", r != 0 ? strerror(-r) : id == 0 ? "" : name,
					r == 0 && id != 0 ? " (not gax's with gaxd's maps)" : "",
					r == 0 && id != 0 ? "the host's traffic goes to gax too" :
					"gax gets nothing");
			rc = -EPROTO;
			continue;
		}
		xd->prog_id[i] = id;
		GAXD_LOG(INFO, "interface %s: %s steered by XDP program %u (%s, %s mode): %u "
				"addresses, %u listener ports, %u endpoint ports, NAT ports %u-%u",
				in->name, kname, id, name, mode == XDP_ATTACHED_DRV ? "native" :
				mode == XDP_ATTACHED_SKB ? "generic" : "other", xd->n_addresses,
				xd->n_listener_ports, xd->n_endpoint_ports, d->snat_port_min,
				d->snat_port_max);
	}
	/* Both sides hold the maps now: the names are no longer needed. */
	unpin(false);
	return rc;
}

void
gaxd_xdp_close(struct gaxd *d)
{
	struct gaxd_xdp *xd;
	char name[BPF_OBJ_NAME_LEN], kname[IF_NAMESIZE] = "?";
	uint32_t i, id, mode;
	bool ours;

	pthread_mutex_lock(&d->lock); /* the telemetry thread reads the counters under it */
	xd = d->xdp;
	d->xdp = NULL;
	pthread_mutex_unlock(&d->lock);
	if (xd == NULL)
		return;
	/*
	 * The ports are closed: net_af_xdp detached its program. Should it not
	 * have, detach it here, only if it is still the one gaxd checked.
	 */
	for (i = 0; i < xd->n; i++) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
		int fd;

		if (xd->prog_id[i] == 0 || attached_prog(xd->ifindex[i], xd->addrs_map_id, &id,
				name, sizeof(name), &ours, &mode) != 0 || id != xd->prog_id[i])
			continue;
		if_indextoname((unsigned int)xd->ifindex[i], kname);
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		ao.old_prog_fd = fd;
		if (bpf_xdp_detach(xd->ifindex[i], XDP_FLAGS_REPLACE | (mode == XDP_ATTACHED_SKB ?
				XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE), &ao) == 0)
			GAXD_LOG(NOTICE, "xdp: %s still ran the steering program after its port "
					"closed: detached", kname);
		else
			GAXD_LOG(WARNING, "xdp: cannot detach the steering program from %s: %s "
					"(ip link set dev %s xdp off)", kname, strerror(errno), kname);
		close(fd);
	}
	unpin(false);
	gax_xdp_close(xd->x);
	free(xd);
}

json_t *
gaxd_xdp_stats_json(const struct gaxd *d)
{
	const struct gaxd_xdp *xd = d->xdp;
	uint64_t st[GAX_XDP_STAT_MAX];
	json_t *o, *ifs;
	unsigned int i;
	char kname[IF_NAMESIZE];

	if (xd == NULL || gax_xdp_read_stats(xd->x, st) != 0)
		return NULL;
	o = json_object();
	ifs = json_array();
	for (i = 0; i < xd->n; i++)
		json_array_append_new(ifs, json_string(if_indextoname((unsigned int)xd->ifindex[i],
				kname) != NULL ? kname : "?"));
	json_object_set_new(o, "interfaces", ifs);
	json_object_set_new(o, "addresses", json_integer(xd->n_addresses));
	json_object_set_new(o, "listener_ports", json_integer(xd->n_listener_ports));
	json_object_set_new(o, "endpoint_ports", json_integer(xd->n_endpoint_ports));
	json_object_set_new(o, "map_updates", json_integer((json_int_t)xd->updates));
	json_object_set_new(o, "map_update_errors", json_integer((json_int_t)xd->update_errors));
	for (i = 0; i < GAX_XDP_STAT_MAX; i++)
		json_object_set_new(o, gax_xdp_stat_name(i), json_integer((json_int_t)st[i]));
	return o;
}

void
gaxd_xdp_stats_print(const struct gaxd *d, FILE *out)
{
	const struct gaxd_xdp *xd = d->xdp;
	uint64_t st[GAX_XDP_STAT_MAX];
	unsigned int i;

	if (xd == NULL || gax_xdp_read_stats(xd->x, st) != 0)
		return;
	fprintf(out, "  xdp steering (%u interface%s):", xd->n, xd->n == 1 ? "" : "s");
	for (i = 0; i < GAX_XDP_STAT_MAX; i++)
		if (st[i] != 0)
			fprintf(out, " %s %" PRIu64 ";", gax_xdp_stat_name(i), st[i]);
	fprintf(out, " map updates %" PRIu64 ", failed %" PRIu64 "\n", xd->updates,
			xd->update_errors);
}
