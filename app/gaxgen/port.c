/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxgen's ports: one RX and one TX queue on each port it uses, started in
 * promiscuous mode, waited for until their links are up (a memif peer may
 * connect a moment later); the ARP answers gaxgen gives for the addresses it
 * plays (the clients on the tx port, every address on the endpoint side);
 * and the resolution of the destination's MAC address by ARP when the
 * scenario does not give it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "gax_packet.h"
#include "gaxgen.h"

#define NB_DESC		1024
#define POOL_MBUFS	16383
#define POOL_CACHE	256

static bool
port_used(const struct gen_ctx *c, uint16_t p)
{
	return p == c->o->tx_port || p == c->o->rx_port || p == c->o->reply_port;
}

static int
port_start(struct gen_ctx *c, uint16_t port)
{
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, NB_DESC, rte_eth_dev_socket_id(port), NULL,
				c->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, NB_DESC, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0) {
		fprintf(stderr, "gaxgen: port %u: cannot start: %s\n", port, rte_strerror(-rc));
		return -1;
	}
	rte_eth_promiscuous_enable(port); /* not every PMD has it: not an error */
	if (rte_eth_macaddr_get(port, &mac) == 0)
		memcpy(c->port_mac[port], mac.addr_bytes, 6);
	return 0;
}

int
gen_ports_start(struct gen_ctx *c)
{
	uint64_t deadline;
	uint16_t p;
	bool all_up;

	c->pool = rte_pktmbuf_pool_create("gaxgen_pool", POOL_MBUFS, POOL_CACHE, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (c->pool == NULL) {
		fprintf(stderr, "gaxgen: cannot create the mbuf pool: %s (give EAL more memory "
				"with -m)\n", rte_strerror(rte_errno));
		return -1;
	}
	RTE_ETH_FOREACH_DEV(p) {
		if (port_used(c, p) && port_start(c, p) != 0)
			return -1;
	}
	memcpy(c->src_mac, c->sc->has_src_mac ? c->sc->src_mac : c->port_mac[c->o->tx_port], 6);
	if (c->sc->has_dst_mac)
		memcpy(c->dst_mac, c->sc->dst_mac, 6);

	deadline = rte_get_timer_cycles() + (uint64_t)(c->o->link_timeout_s *
			(double)rte_get_timer_hz());
	do {
		all_up = true;
		RTE_ETH_FOREACH_DEV(p) {
			struct rte_eth_link link;

			if (!port_used(c, p))
				continue;
			if (rte_eth_link_get_nowait(p, &link) != 0 || link.link_status == 0)
				all_up = false;
		}
		if (all_up || gen_stop)
			break;
		rte_delay_ms(10);
	} while (rte_get_timer_cycles() < deadline);
	if (!all_up && !gen_stop) {
		fprintf(stderr, "gaxgen: the links did not come up within %.1f s (is the peer "
				"running?)\n", c->o->link_timeout_s);
		return -1;
	}
	return 0;
}

void
gen_ports_stop(struct gen_ctx *c)
{
	uint16_t p;

	if (c->pool == NULL)
		return;
	RTE_ETH_FOREACH_DEV(p) {
		if (port_used(c, p)) {
			rte_eth_dev_stop(p);
			rte_eth_dev_close(p);
		}
	}
}

/*
 * Answer an ARP request on @p port if it is for an address gaxgen plays:
 * a client address or source.gateway on the tx port, any address but the
 * destination elsewhere (the endpoint side). The mbuf is turned into the reply and sent, or freed.
 * @return true if @p m was an ARP frame (consumed either way).
 */
bool
gen_arp_answer(struct gen_ctx *c, struct rte_mbuf *m, uint16_t port)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct gax_pkt p;
	bool ours;

	if (m->data_len < GAX_PKT_ETH_HLEN || f[12] != 0x08 || f[13] != 0x06)
		return false;
	if (gax_pkt_parse(f, m->data_len, &p) != GAX_DROP_NONE ||
			p.arp_op != GAX_PKT_ARP_REQUEST || p.arp_sip == p.arp_tip) {
		rte_pktmbuf_free(m);
		return true;
	}
	if (port == c->o->tx_port)
		ours = gax_gen_client_index(c->sc, p.arp_tip) >= 0 ||
			(c->sc->src_gateway != 0 && p.arp_tip == c->sc->src_gateway);
	else
		ours = p.arp_tip != c->sc->dst_addr;
	if (!ours || gax_pkt_arp_reply(f, m->data_len, &p, c->port_mac[port]) != 0) {
		rte_pktmbuf_free(m);
		return true;
	}
	if (rte_eth_tx_burst(port, 0, &m, 1) == 1)
		c->tx.arp_replies++;
	else
		rte_pktmbuf_free(m);
	return true;
}

int
gen_resolve_dst_mac(struct gen_ctx *c)
{
	uint16_t port = c->o->tx_port;
	uint32_t my_ip = gax_gen_client_addr(c->sc, 0);
	uint64_t hz = rte_get_timer_hz();
	uint64_t deadline = rte_get_timer_cycles() + (uint64_t)(c->o->link_timeout_s * (double)hz);
	uint64_t next_ask = 0;
	char a[16];

	while (!gen_stop && rte_get_timer_cycles() < deadline) {
		struct rte_mbuf *pkts[GEN_BURST];
		uint16_t n, i;

		if (rte_get_timer_cycles() >= next_ask) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(c->pool);

			if (m != NULL) {
				int len = gax_pkt_arp_request(rte_pktmbuf_mtod(m, uint8_t *),
						rte_pktmbuf_tailroom(m), c->port_mac[port], my_ip,
						c->sc->dst_addr);

				m->data_len = m->pkt_len = (uint32_t)len;
				if (rte_eth_tx_burst(port, 0, &m, 1) != 1)
					rte_pktmbuf_free(m);
			}
			next_ask = rte_get_timer_cycles() + hz / 5;
		}
		n = rte_eth_rx_burst(port, 0, pkts, GEN_BURST);
		for (i = 0; i < n; i++) {
			uint8_t *f = rte_pktmbuf_mtod(pkts[i], uint8_t *);
			struct gax_pkt p;

			if (gax_pkt_parse(f, pkts[i]->data_len, &p) == GAX_DROP_NONE &&
					p.ethertype == GAX_PKT_ETHERTYPE_ARP &&
					p.arp_op == GAX_PKT_ARP_REPLY && p.arp_sip == c->sc->dst_addr) {
				memcpy(c->dst_mac, p.arp_sha, 6);
				for (; i < n; i++)
					rte_pktmbuf_free(pkts[i]);
				printf("gaxgen: %s is at %02x:%02x:%02x:%02x:%02x:%02x\n",
						gax_ip_format(c->sc->dst_addr, a), c->dst_mac[0],
						c->dst_mac[1], c->dst_mac[2], c->dst_mac[3],
						c->dst_mac[4], c->dst_mac[5]);
				return 0;
			}
			if (!gen_arp_answer(c, pkts[i], port))
				rte_pktmbuf_free(pkts[i]);
		}
		rte_delay_us(100);
	}
	if (!gen_stop)
		fprintf(stderr, "gaxgen: no ARP answer for %s on port %u within %.1f s (give "
				"mac.destination in the scenario, or check the peer)\n",
				gax_ip_format(c->sc->dst_addr, a), port, c->o->link_timeout_s);
	return -1;
}
