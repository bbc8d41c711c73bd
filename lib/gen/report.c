/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The final report of a run: a table for people on stdout and the same
 * figures as JSON for scripts (docs/gaxgen.md, "The report").
 */
#include <stdio.h>

#include <jansson.h>

#include "gax_gen.h"

static const double pcts[] = { 50, 90, 99, 99.9 };
static const char *const pct_names[] = { "p50", "p90", "p99", "p99_9" };

static uint64_t
loss(const struct gax_gen_tx_summary *tx, const struct gax_gen_rx *rx)
{
	return tx->packets > rx->packets ? tx->packets - rx->packets : 0;
}

static double
rate(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

void
gax_gen_report_print(FILE *out, const struct gax_gen_scenario *sc,
		const struct gax_gen_tx_summary *tx, const struct gax_gen_rx *rx)
{
	char a[16];
	unsigned int i;

	fprintf(out, "gaxgen: scenario %s: %s to %s, %llu flows, %.3f s\n", sc->name,
			sc->proto == 6 ? "tcp" : "udp", gax_ip_format(sc->dst_addr, a),
			(unsigned long long)sc->flows, tx->elapsed_s);
	fprintf(out, "  %-6s %14s %16s %12s %10s\n", "", "packets", "bytes", "Mpps", "Gbit/s");
	fprintf(out, "  %-6s %14llu %16llu %12.3f %10.3f\n", "tx",
			(unsigned long long)tx->packets, (unsigned long long)tx->bytes,
			rate(tx->packets, tx->elapsed_s) / 1e6,
			rate(tx->bytes, tx->elapsed_s) * 8 / 1e9);
	fprintf(out, "  %-6s %14llu %16llu %12.3f %10.3f\n", "rx",
			(unsigned long long)rx->packets, (unsigned long long)rx->bytes,
			rate(rx->packets, tx->elapsed_s) / 1e6,
			rate(rx->bytes, tx->elapsed_s) * 8 / 1e9);
	fprintf(out, "  loss %llu (%.3f %%); flows opened %llu; tx retries (port full) %llu; "
			"unstamped rx %llu; bad checksums %llu; replies sent %llu; ARP answered %llu\n",
			(unsigned long long)loss(tx, rx),
			tx->packets != 0 ? 100.0 * (double)loss(tx, rx) / (double)tx->packets : 0.0,
			(unsigned long long)tx->flows_opened, (unsigned long long)tx->tx_dropped,
			(unsigned long long)rx->unstamped, (unsigned long long)rx->bad_csum,
			(unsigned long long)tx->replies, (unsigned long long)tx->arp_replies);
	if (rx->lat.n != 0) {
		fprintf(out, "  latency us: min %.1f", (double)rx->lat.min_ns / 1e3);
		for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
			fprintf(out, " %s %.1f", pct_names[i],
					(double)gax_gen_hist_percentile(&rx->lat, pcts[i]) / 1e3);
		fprintf(out, " max %.1f (%llu samples)\n", (double)rx->lat.max_ns / 1e3,
				(unsigned long long)rx->lat.n);
	} else {
		fprintf(out, "  latency: no samples\n");
	}
	if (rx->n_endpoints != 0) {
		fprintf(out, "  %-22s %14s %8s %10s\n", "endpoint", "packets", "share", "clients");
		for (i = 0; i < rx->n_endpoints; i++) {
			char ep[32];

			snprintf(ep, sizeof(ep), "%s:%u", gax_ip_format(rx->ep[i].addr, a),
					rx->ep[i].port);
			fprintf(out, "  %-22s %14llu %7.2f%% %10llu\n", ep,
					(unsigned long long)rx->ep[i].packets,
					rx->packets ? 100.0 * (double)rx->ep[i].packets /
					(double)rx->packets : 0.0,
					(unsigned long long)rx->ep[i].clients);
		}
		if (rx->other_endpoint != 0)
			fprintf(out, "  (%llu packets from endpoints beyond the first %u)\n",
					(unsigned long long)rx->other_endpoint,
					GAX_GEN_ENDPOINTS_MAX);
		if (rx->n_addrs != rx->n_endpoints) {
			fprintf(out, "  %-22s %14s %8s %10s\n", "endpoint address", "packets", "share",
					"clients");
			for (i = 0; i < rx->n_addrs; i++)
				fprintf(out, "  %-22s %14llu %7.2f%% %10llu\n",
						gax_ip_format(rx->addr[i].addr, a),
						(unsigned long long)rx->addr[i].packets,
						rx->packets ? 100.0 * (double)rx->addr[i].packets /
						(double)rx->packets : 0.0,
						(unsigned long long)rx->addr[i].clients);
		}
		fprintf(out, "  affinity: %llu clients seen, %llu reached more than one endpoint\n",
				(unsigned long long)rx->clients_seen,
				(unsigned long long)rx->clients_multi);
	}
}

json_t *
gax_gen_report_json(const struct gax_gen_scenario *sc, const struct gax_gen_tx_summary *tx,
		const struct gax_gen_rx *rx)
{
	json_t *root, *lat, *eps, *addrs;
	unsigned int i;
	char a[16];

	lat = json_object();
	eps = json_array();
	addrs = json_array();
	root = json_pack("{s:s, s:s, s:s, s:I, s:f, s:{s:I, s:I, s:f, s:I, s:I}, "
			"s:{s:I, s:I, s:f, s:I, s:I}, s:{s:I, s:f}, s:I, s:I, s:o, s:o, s:o, s:I, "
			"s:{s:I, s:I}}",
			"scenario", sc->name, "protocol", sc->proto == 6 ? "tcp" : "udp",
			"destination", gax_ip_format(sc->dst_addr, a),
			"flows", (json_int_t)sc->flows, "elapsed_s", tx->elapsed_s,
			"tx", "packets", (json_int_t)tx->packets, "bytes", (json_int_t)tx->bytes,
			"pps", rate(tx->packets, tx->elapsed_s),
			"flows_opened", (json_int_t)tx->flows_opened,
			"retries", (json_int_t)tx->tx_dropped,
			"rx", "packets", (json_int_t)rx->packets, "bytes", (json_int_t)rx->bytes,
			"pps", rate(rx->packets, tx->elapsed_s),
			"unstamped", (json_int_t)rx->unstamped, "bad_csum", (json_int_t)rx->bad_csum,
			"loss", "packets", (json_int_t)loss(tx, rx),
			"ratio", tx->packets ? (double)loss(tx, rx) / (double)tx->packets : 0.0,
			"replies", (json_int_t)tx->replies, "arp_replies", (json_int_t)tx->arp_replies,
			"latency_us", lat, "endpoints", eps, "endpoint_addresses", addrs,
			"other_endpoints_packets", (json_int_t)rx->other_endpoint,
			"affinity", "clients", (json_int_t)rx->clients_seen,
			"clients_multiple_endpoints", (json_int_t)rx->clients_multi);
	if (root == NULL)
		return NULL;
	json_object_set_new(lat, "samples", json_integer((json_int_t)rx->lat.n));
	if (rx->lat.n != 0) {
		json_object_set_new(lat, "min", json_real((double)rx->lat.min_ns / 1e3));
		json_object_set_new(lat, "mean",
				json_real((double)rx->lat.sum_ns / (double)rx->lat.n / 1e3));
		for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
			json_object_set_new(lat, pct_names[i], json_real(
					(double)gax_gen_hist_percentile(&rx->lat, pcts[i]) / 1e3));
		json_object_set_new(lat, "max", json_real((double)rx->lat.max_ns / 1e3));
	}
	for (i = 0; i < rx->n_endpoints; i++)
		json_array_append_new(eps, json_pack("{s:s, s:i, s:I, s:f, s:I}",
				"address", gax_ip_format(rx->ep[i].addr, a), "port", rx->ep[i].port,
				"packets", (json_int_t)rx->ep[i].packets,
				"share", rx->packets ? (double)rx->ep[i].packets / (double)rx->packets : 0.0,
				"clients", (json_int_t)rx->ep[i].clients));
	for (i = 0; i < rx->n_addrs; i++)
		json_array_append_new(addrs, json_pack("{s:s, s:I, s:f, s:I}",
				"address", gax_ip_format(rx->addr[i].addr, a),
				"packets", (json_int_t)rx->addr[i].packets,
				"share", rx->packets ? (double)rx->addr[i].packets / (double)rx->packets : 0.0,
				"clients", (json_int_t)rx->addr[i].clients));
	return root;
}
