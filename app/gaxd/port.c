/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: one per configured interface (its `device`), one RX and one TX
 * queue per worker, RSS across the workers' queues when there are several.
 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>

#include "gaxd.h"

static int
port_setup(struct gaxd *d, uint32_t iface, uint16_t port)
{
	const struct gax_snap_interface *in = &d->snap->interfaces[iface];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t nb_rxd = GAXD_RX_DESC, nb_txd = GAXD_TX_DESC;
	uint32_t q;
	int rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0) {
		GAXD_LOG(ERR, "interface %s: cannot read %s: %s", in->name, in->device,
				rte_strerror(-rc));
		return rc;
	}
	if (info.max_rx_queues < d->n_workers || info.max_tx_queues < d->n_workers) {
		GAXD_LOG(ERR, "interface %s: %s offers %u RX and %u TX queues, %u workers need "
				"%u of each (net_af_packet: add qpairs=%u to its --vdev)", in->name,
				in->device, info.max_rx_queues, info.max_tx_queues, d->n_workers,
				d->n_workers, d->n_workers);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (d->n_workers > 1) {
		uint64_t hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);

		if (hf != 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		} else {
			GAXD_LOG(NOTICE, "interface %s: %s has no RSS; its driver spreads flows "
					"over the queues", in->name, in->device);
		}
	}
	/*
	 * The NIC checks the IPv4 and L4 checksums where it can: the worker reads
	 * its verdict in each mbuf instead of summing every segment in software.
	 */
	conf.rxmode.offloads = info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
			RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	d->rx_csum[iface] = conf.rxmode.offloads != 0;
	rc = rte_eth_dev_configure(port, (uint16_t)d->n_workers, (uint16_t)d->n_workers, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	for (q = 0; rc == 0 && q < d->n_workers; q++) {
		rc = rte_eth_rx_queue_setup(port, (uint16_t)q, nb_rxd,
				rte_eth_dev_socket_id(port), NULL, d->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, (uint16_t)q, nb_txd,
					rte_eth_dev_socket_id(port), NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0) {
		GAXD_LOG(ERR, "interface %s: cannot start %s: %s", in->name, in->device,
				rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_macaddr_get(port, &mac);
	if (rc != 0) {
		GAXD_LOG(ERR, "interface %s: no MAC address on %s", in->name, in->device);
		return rc;
	}
	for (q = 0; q < d->n_workers; q++)
		gax_fwd_set_mac(d->workers[q].fwd, (uint16_t)iface, mac.addr_bytes);
	GAXD_LOG(INFO, "interface %s: %s is port %u, " RTE_ETHER_ADDR_PRT_FMT ", %u queue(s) "
			"of %u RX / %u TX descriptors, %s", in->name, in->device, port,
			RTE_ETHER_ADDR_BYTES(&mac), d->n_workers, nb_rxd, nb_txd,
			d->rx_csum[iface] ? "RX checksum offload on" : "no RX checksum offload");
	return 0;
}

int
gaxd_ports_open(struct gaxd *d)
{
	uint32_t i;
	int rc, missing = 0;

	/* d->iface_of_port[] starts all UINT16_MAX (main). */
	for (i = 0; i < d->n_ifaces; i++) {
		uint16_t port;

		if (rte_eth_dev_get_port_by_name(d->snap->interfaces[i].device, &port) != 0) {
			GAXD_LOG(ERR, "interface %s: no DPDK port named '%s' (give it to EAL "
					"with -a or --vdev)", d->snap->interfaces[i].name,
					d->snap->interfaces[i].device);
			missing++;
			continue;
		}
		if (d->iface_of_port[port] != UINT16_MAX) {
			GAXD_LOG(ERR, "interface %s: device '%s' is already interface %s",
					d->snap->interfaces[i].name, d->snap->interfaces[i].device,
					d->snap->interfaces[d->iface_of_port[port]].name);
			missing++;
			continue;
		}
		d->port_of_iface[i] = port;
		d->iface_of_port[port] = (uint16_t)i;
	}
	if (missing > 0)
		return -ENODEV;
	for (i = 0; i < d->n_ifaces; i++) {
		rc = port_setup(d, i, d->port_of_iface[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
gaxd_ports_close(struct gaxd *d)
{
	uint32_t i;

	for (i = 0; i < RTE_MAX_ETHPORTS; i++) {
		if (d->iface_of_port[i] == UINT16_MAX)
			continue;
		rte_eth_dev_stop((uint16_t)i);
		rte_eth_dev_close((uint16_t)i);
	}
}
