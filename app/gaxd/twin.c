/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel twins: the exception path to the host's own network stack.
 *
 * An interface with `kernel_twin` gets a net_tap port whose kernel side
 * bears that name, the interface's MAC and its addresses, so the host's own
 * sockets (health checks, DNS for domain endpoints, SSH to the host, later a
 * BGP speaker) reach the wire through gax's port, and what arrives for the
 * interface's addresses that gax does not serve reaches them (lib/fwd says
 * GAX_FWD_KERNEL; see gax_fwd_set_kernel()).
 *
 *   worker --GAX_FWD_KERNEL--> twin's ring (MP/SC) --twin thread--> tap TX
 *   tap RX --twin thread--> from_kernel ring (SP/SC) --worker 0--> port TX
 *
 * The tap is written and read by a control thread of its own (net_tap makes
 * a syscall per frame): the workers only enqueue and dequeue, no syscall, no
 * lock. Worker 0 transmits what the kernel sends, on its own TX queue, so no
 * queue is added to the ports. The tap closes with the process: a crash
 * leaves no interface behind (the kernel removes a non-persistent tap when
 * its last descriptor closes).
 *
 * On a net_af_packet port the kernel sees every frame too: once the twin
 * gives it the interface's addresses, it would answer ARP on the port's own
 * kernel interface and send resets for gax's flows (weak host model). gaxd
 * stops that with an nftables netdev ingress chain that drops everything on
 * those kernel interfaces after AF_PACKET has had its copy (table netdev
 * "gaxd", removed at exit, replaced at the next start after a crash).
 *
 * The kernel picks ephemeral source ports for its connections from the
 * interface addresses that full NAT also uses, so gax's NAT ports must stay
 * out of the kernel's range (net.ipv4.ip_local_port_range): gaxd_twin_nat_range()
 * gives gax the larger side of the ports the kernel leaves.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "gaxd.h"

#define TWIN_IDLE_US	100	/* the twin thread's sleep when nothing moved */
#define PORT_RANGE_FILE	"/proc/sys/net/ipv4/ip_local_port_range"

bool
gaxd_twin_any(const struct gax_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->n_interfaces; i++)
		if (cfg->interfaces[i].kernel_twin != NULL)
			return true;
	return false;
}

int
gaxd_twin_nat_range(const struct gaxd *d, uint16_t *lo, uint16_t *hi)
{
	unsigned int klo, khi;
	uint32_t below, above;
	FILE *f;

	*lo = GAX_FLOW_SNAT_PORT_MIN;
	*hi = GAX_FLOW_SNAT_PORT_MAX;
	if (!gaxd_twin_any(d->cfg))
		return 0;
	f = fopen(PORT_RANGE_FILE, "r");
	if (f == NULL || fscanf(f, "%u %u", &klo, &khi) != 2 || klo > khi || khi > 65535) {
		GAXD_LOG(ERR, "kernel twins: cannot read the kernel's ephemeral ports from %s",
				PORT_RANGE_FILE);
		if (f != NULL)
			fclose(f);
		return -EINVAL;
	}
	fclose(f);
	below = klo > GAX_FLOW_SNAT_PORT_MIN ? klo - GAX_FLOW_SNAT_PORT_MIN : 0;
	above = khi < GAX_FLOW_SNAT_PORT_MAX ? GAX_FLOW_SNAT_PORT_MAX - khi : 0;
	if (below >= above) {
		*hi = (uint16_t)(klo - 1);
	} else {
		*lo = (uint16_t)(khi + 1);
	}
	if (below < d->n_workers && above < d->n_workers) {
		GAXD_LOG(ERR, "kernel twins: the kernel's ephemeral ports %u-%u leave gax no "
				"full-NAT source ports in %u-%u; narrow net.ipv4.ip_local_port_range",
				klo, khi, GAX_FLOW_SNAT_PORT_MIN, GAX_FLOW_SNAT_PORT_MAX);
		return -ERANGE;
	}
	GAXD_LOG(NOTICE, "kernel twins: full-NAT source ports %u-%u, outside the kernel's "
			"ephemeral ports %u-%u (net.ipv4.ip_local_port_range)", *lo, *hi, klo, khi);
	return 0;
}

/* ---- the kernel side: addresses by rtnetlink ------------------------------------ */

struct nl_req {
	struct nlmsghdr nh;
	struct ifaddrmsg ifa;
	char attrs[64];
};

static void
nl_attr(struct nl_req *r, unsigned short type, const void *data, unsigned short len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/*
 * Give kernel interface @p ifindex the address @p addr/@p len (host order),
 * or take it away (@p add false); 0 or -errno.
 */
static int
nl_addr(int ifindex, uint32_t addr, uint8_t len, bool add)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nl_req r;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	uint32_t be = htonl(addr);
	ssize_t n;
	int fd, rc;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
		(add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	r.nh.nlmsg_seq = 1;
	r.ifa.ifa_family = AF_INET;
	r.ifa.ifa_prefixlen = len;
	r.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r.ifa.ifa_index = (unsigned int)ifindex;
	nl_attr(&r, IFA_LOCAL, &be, sizeof(be));
	nl_attr(&r, IFA_ADDRESS, &be, sizeof(be));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &r, r.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	n = recv(fd, &ack, sizeof(ack), 0);
	rc = n < 0 ? -errno : n < (ssize_t)sizeof(ack) || ack.nh.nlmsg_type != NLMSG_ERROR ?
		-EPROTO : ack.err.error;
	close(fd);
	return rc;
}

/* IPv6 on a twin would send router and neighbour solicitations out of gax's port. */
static void
disable_ipv6(const char *name)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	f = fopen(path, "w");
	if (f == NULL)
		return; /* no IPv6 in this kernel: nothing to turn off */
	fputs("1\n", f);
	fclose(f);
}

static bool
has_prefix(const struct gax_prefix *set, unsigned int n, const struct gax_prefix *p)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (set[i].addr == p->addr && set[i].len == p->len)
			return true;
	return false;
}

/*
 * Make twin @p iface's kernel addresses those of interface @p ifc: add the
 * new ones first, then remove the ones it no longer has.
 */
static int
twin_addresses(struct gaxd_twin *t, const struct gax_interface *ifc)
{
	struct gax_prefix *now;
	unsigned int i;
	char ip[16];
	int rc;

	now = malloc(sizeof(*now) * ifc->n_addresses);
	if (now == NULL)
		return -ENOMEM;
	memcpy(now, ifc->addresses, sizeof(*now) * ifc->n_addresses);
	for (i = 0; i < ifc->n_addresses; i++) {
		if (has_prefix(t->addrs, t->n_addrs, &now[i]))
			continue;
		rc = nl_addr(t->ifindex, now[i].addr, now[i].len, true);
		if (rc != 0) {
			GAXD_LOG(ERR, "interface %s: cannot give %s/%u to its kernel twin %s: %s",
					t->iface, gax_ip_format(now[i].addr, ip), now[i].len,
					t->name, strerror(-rc));
			free(now);
			return rc;
		}
	}
	for (i = 0; i < t->n_addrs; i++) {
		if (has_prefix(now, ifc->n_addresses, &t->addrs[i]))
			continue;
		rc = nl_addr(t->ifindex, t->addrs[i].addr, t->addrs[i].len, false);
		if (rc != 0 && rc != -EADDRNOTAVAIL)
			GAXD_LOG(WARNING, "interface %s: cannot take %s/%u from its kernel twin "
					"%s: %s", t->iface, gax_ip_format(t->addrs[i].addr, ip),
					t->addrs[i].len, t->name, strerror(-rc));
	}
	free(t->addrs);
	t->addrs = now;
	t->n_addrs = ifc->n_addresses;
	return 0;
}

void
gaxd_twins_sync(struct gaxd *d)
{
	uint32_t i;

	for (i = 0; i < d->n_ifaces; i++)
		if (d->twins[i].on)
			twin_addresses(&d->twins[i], &d->cfg->interfaces[i]);
}

/* ---- net_af_packet ports: the kernel must ignore their own kernel interfaces ------ */

#define NFT_TABLE "gaxd"

/* Run nft with @p script on its standard input; 0 or -1 (nft's message went to stderr). */
static int
nft_run(const char *script)
{
	FILE *p = popen("nft -f - 2>&1", "w");

	if (p == NULL)
		return -1;
	fputs(script, p);
	return pclose(p) == 0 ? 0 : -1;
}

/*
 * For every net_af_packet port with a twin, one ingress chain that drops
 * what arrives on its kernel interface (AF_PACKET got it before the hook).
 */
static int
guard_af_packet(struct gaxd *d)
{
	char script[4096], dev[IF_NAMESIZE];
	struct rte_eth_dev_info info;
	size_t len;
	unsigned int n = 0;
	uint32_t i;

	len = (size_t)snprintf(script, sizeof(script), "table netdev %s\ndelete table netdev %s\n"
			"table netdev %s {\n", NFT_TABLE, NFT_TABLE, NFT_TABLE);
	for (i = 0; i < d->n_ifaces; i++) {
		if (d->cfg->interfaces[i].kernel_twin == NULL ||
				rte_eth_dev_info_get(d->port_of_iface[i], &info) != 0 ||
				strcmp(info.driver_name, "net_af_packet") != 0 || info.if_index == 0 ||
				if_indextoname(info.if_index, dev) == NULL)
			continue;
		len += (size_t)snprintf(script + len, sizeof(script) - len,
				"\tchain in%u {\n\t\ttype filter hook ingress device \"%s\" priority "
				"-500; policy drop;\n\t\tcounter drop\n\t}\n", i, dev);
		if (len >= sizeof(script))
			return -E2BIG;
		GAXD_LOG(INFO, "interface %s: the kernel ignores %s (net_af_packet) now that %s "
				"has its addresses (nftables table netdev %s)",
				d->cfg->interfaces[i].name, dev, d->cfg->interfaces[i].kernel_twin,
				NFT_TABLE);
		n++;
	}
	if (n == 0)
		return 0;
	len += (size_t)snprintf(script + len, sizeof(script) - len, "}\n");
	if (len >= sizeof(script))
		return -E2BIG;
	if (nft_run(script) != 0) {
		GAXD_LOG(ERR, "kernel twins on net_af_packet ports need the kernel to ignore those "
				"ports' own kernel interfaces, else it answers for gax's addresses and "
				"resets its flows; `nft` (package nftables) could not add table netdev "
				"%s (see its message above)", NFT_TABLE);
		return -EPERM;
	}
	d->nft_guard = true;
	return 0;
}

static void
unguard_af_packet(struct gaxd *d)
{
	char script[64];

	if (!d->nft_guard)
		return;
	snprintf(script, sizeof(script), "delete table netdev %s\n", NFT_TABLE);
	if (nft_run(script) != 0)
		GAXD_LOG(WARNING, "could not remove nftables table netdev %s", NFT_TABLE);
	d->nft_guard = false;
}

/* ---- opening and closing ---------------------------------------------------------- */

static int
twin_open(struct gaxd *d, uint16_t iface)
{
	const struct gax_interface *ifc = &d->cfg->interfaces[iface];
	struct gaxd_twin *t = &d->twins[iface];
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	struct rte_eth_conf conf;
	uint16_t nb_rxd = GAXD_TWIN_DESC, nb_txd = GAXD_TWIN_DESC;
	char args[96], ring[RTE_RING_NAMESIZE];
	int rc;

	if (rte_eth_dev_info_get(d->port_of_iface[iface], &info) == 0 &&
			strcmp(info.driver_name, "net_af_xdp") == 0) {
		GAXD_LOG(ERR, "interface %s: no kernel_twin on a net_af_xdp port: the kernel keeps "
				"its own interface there and gax's XDP program passes it what gax does "
				"not serve (docs/xdp.md); remove kernel_twin", ifc->name);
		return -EINVAL;
	}
	if (if_nametoindex(ifc->kernel_twin) != 0) {
		GAXD_LOG(ERR, "interface %s: a kernel interface named %s exists already; choose "
				"another kernel_twin name", ifc->name, ifc->kernel_twin);
		return -EEXIST;
	}
	rc = rte_eth_macaddr_get(d->port_of_iface[iface], &mac);
	if (rc != 0)
		return rc;
	snprintf(t->vdev, sizeof(t->vdev), "net_tap_gax%u", iface);
	snprintf(args, sizeof(args), "iface=%s,mac=" RTE_ETHER_ADDR_PRT_FMT, ifc->kernel_twin,
			RTE_ETHER_ADDR_BYTES(&mac));
	rc = rte_vdev_init(t->vdev, args);
	if (rc != 0) {
		GAXD_LOG(ERR, "interface %s: cannot create its kernel twin %s (net_tap, needs "
				"/dev/net/tun and CAP_NET_ADMIN): %s", ifc->name, ifc->kernel_twin,
				rte_strerror(-rc));
		t->vdev[0] = '\0';
		return rc;
	}
	rc = rte_eth_dev_get_port_by_name(t->vdev, &t->port);
	if (rc != 0)
		return rc;
	disable_ipv6(ifc->kernel_twin);
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(t->port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(t->port, &nb_rxd, &nb_txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(t->port, 0, nb_rxd, rte_eth_dev_socket_id(t->port),
				NULL, d->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(t->port, 0, nb_txd, rte_eth_dev_socket_id(t->port),
				NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(t->port);
	if (rc == 0)
		rc = rte_eth_dev_set_link_up(t->port);
	if (rc != 0) {
		GAXD_LOG(ERR, "interface %s: cannot start its kernel twin %s: %s", ifc->name,
				ifc->kernel_twin, rte_strerror(-rc));
		return rc;
	}
	t->ifindex = (int)if_nametoindex(ifc->kernel_twin);
	snprintf(t->name, sizeof(t->name), "%s", ifc->kernel_twin);
	snprintf(t->iface, sizeof(t->iface), "%s", ifc->name);
	rc = twin_addresses(t, ifc);
	if (rc != 0)
		return rc;
	snprintf(ring, sizeof(ring), "gax_to_kernel_%u", iface);
	t->to_kernel = rte_ring_create(ring, GAXD_TWIN_RING, rte_socket_id(), RING_F_SC_DEQ);
	if (t->to_kernel == NULL)
		return -rte_errno;
	t->on = true;
	GAXD_LOG(INFO, "interface %s: kernel twin %s (ifindex %d, port %u) with its %u "
			"address(es)", ifc->name, ifc->kernel_twin, t->ifindex, t->port,
			ifc->n_addresses);
	return 0;
}

int
gaxd_twins_open(struct gaxd *d)
{
	uint32_t i, w;
	int rc;

	if (!gaxd_twin_any(d->cfg))
		return 0;
	d->from_kernel = rte_ring_create("gax_from_kernel", GAXD_TWIN_RING, rte_socket_id(),
			RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (d->from_kernel == NULL)
		return -rte_errno;
	for (i = 0; i < d->n_ifaces; i++) {
		if (d->cfg->interfaces[i].kernel_twin == NULL)
			continue;
		rc = twin_open(d, (uint16_t)i);
		if (rc != 0)
			return rc;
		for (w = 0; w < d->n_workers; w++)
			gax_fwd_set_kernel(d->workers[w].fwd, (uint16_t)i, true);
	}
	return guard_af_packet(d);
}

static void
ring_drain(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (r != NULL && rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

void
gaxd_twins_close(struct gaxd *d)
{
	uint32_t i;

	for (i = 0; i < GAX_FWD_MAX_IFACES; i++) {
		struct gaxd_twin *t = &d->twins[i];

		if (t->vdev[0] != '\0') {
			rte_eth_dev_stop(t->port);
			rte_eth_dev_close(t->port);
			rte_vdev_uninit(t->vdev);
			t->vdev[0] = '\0';
		}
		ring_drain(t->to_kernel);
		rte_ring_free(t->to_kernel);
		t->to_kernel = NULL;
		free(t->addrs);
		t->addrs = NULL;
		t->n_addrs = 0;
		t->on = false;
	}
	ring_drain(d->from_kernel);
	rte_ring_free(d->from_kernel);
	d->from_kernel = NULL;
	unguard_af_packet(d);
}

/* ---- the twin thread ------------------------------------------------------------ */

/* One pass over twin @p iface both ways; returns the frames moved. */
static unsigned int
twin_pass(struct gaxd *d, uint16_t iface)
{
	struct gaxd_twin *t = &d->twins[iface];
	struct rte_mbuf *m[GAX_FWD_BURST];
	unsigned int n, sent, i;

	/* gax -> kernel */
	n = rte_ring_sc_dequeue_burst(t->to_kernel, (void **)m, GAX_FWD_BURST, NULL);
	sent = n > 0 ? rte_eth_tx_burst(t->port, 0, m, (uint16_t)n) : 0;
	for (i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
	__atomic_fetch_add(&t->ctr.to_kernel, sent, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->ctr.to_kernel_failed, n - sent, __ATOMIC_RELAXED);
	/* kernel -> wire, by worker 0 */
	n = rte_eth_rx_burst(t->port, 0, m, GAX_FWD_BURST);
	if (n == 0)
		return sent;
	for (i = 0; i < n; i++)
		m[i]->port = d->port_of_iface[iface];
	sent = rte_ring_sp_enqueue_burst(d->from_kernel, (void **)m, n, NULL);
	for (i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
	__atomic_fetch_add(&t->ctr.from_kernel, sent, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->ctr.from_kernel_dropped, n - sent, __ATOMIC_RELAXED);
	return n + sent;
}

static void *
twin_thread(void *arg)
{
	struct gaxd *d = arg;
	unsigned int moved;
	uint32_t i;

	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		moved = 0;
		for (i = 0; i < d->n_ifaces; i++)
			if (d->twins[i].on)
				moved += twin_pass(d, (uint16_t)i);
		if (moved == 0)
			rte_delay_us_sleep(TWIN_IDLE_US);
	}
	return NULL;
}

int
gaxd_twins_start(struct gaxd *d)
{
	int rc;

	if (d->from_kernel == NULL)
		return 0;
	rc = rte_ctrl_thread_create(&d->twin_thread, "gax-twins", NULL, twin_thread, d);
	if (rc != 0) {
		GAXD_LOG(ERR, "cannot start the kernel twins' thread: %s", strerror(rc));
		return -rc;
	}
	d->twin_running = true;
	return 0;
}

void
gaxd_twins_stop(struct gaxd *d)
{
	if (!d->twin_running)
		return;
	pthread_join(d->twin_thread, NULL);
	d->twin_running = false;
}

/* ---- worker side ---------------------------------------------------------------- */

unsigned int
gaxd_twin_from_kernel(struct gaxd *d, struct rte_mbuf **m, unsigned int max)
{
	return rte_ring_sc_dequeue_burst(d->from_kernel, (void **)m, max, NULL);
}

/* ---- counters ------------------------------------------------------------------- */

json_t *
gaxd_twin_stats_json(const struct gaxd *d)
{
	json_t *arr;
	uint32_t i;

	if (d->from_kernel == NULL)
		return NULL;
	arr = json_array();
	for (i = 0; i < d->n_ifaces; i++) {
		const struct gaxd_twin *t = &d->twins[i];

		if (!t->on)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I}",
				"interface", t->iface, "name", t->name, "ifindex", t->ifindex,
				"to_kernel", (json_int_t)__atomic_load_n(&t->ctr.to_kernel,
					__ATOMIC_RELAXED),
				"to_kernel_failed", (json_int_t)__atomic_load_n(
					&t->ctr.to_kernel_failed, __ATOMIC_RELAXED),
				"from_kernel", (json_int_t)__atomic_load_n(&t->ctr.from_kernel,
					__ATOMIC_RELAXED),
				"from_kernel_dropped", (json_int_t)__atomic_load_n(
					&t->ctr.from_kernel_dropped, __ATOMIC_RELAXED)));
	}
	return arr;
}

void
gaxd_twin_stats_print(const struct gaxd *d, FILE *out)
{
	uint32_t i;

	if (d->from_kernel == NULL)
		return;
	fprintf(out, "  kernel twins:\n");
	for (i = 0; i < d->n_ifaces; i++) {
		const struct gaxd_twin *t = &d->twins[i];

		if (!t->on)
			continue;
		fprintf(out, "    %-6s %-15s to kernel %" PRIu64 " (failed %" PRIu64 ")   from "
				"kernel %" PRIu64 " (dropped %" PRIu64 ")\n",
				t->iface, t->name, t->ctr.to_kernel, t->ctr.to_kernel_failed, t->ctr.from_kernel,
				t->ctr.from_kernel_dropped);
	}
}
