/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxgen: gax's scenario-driven DPDK traffic generator (docs/gaxgen.md).
 *
 *   gaxgen [EAL options] -- --scenario FILE [--tx-port N] [--rx-port N]
 *          [--reply-port N] [--duration S] [--count N] [--rate PPS] [--json FILE]
 *   gaxgen --scenario FILE --write-pcap OUT.pcap [--count N]   (no EAL)
 *   gaxgen --scenario FILE --check                             (no EAL)
 *
 * This file reads the options, loads the scenario and decides whether EAL
 * is needed at all: checking a scenario and writing it as a pcap run as any
 * user, without hugepages. Exit status: 0 done, 1 invalid scenario or a
 * failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "gaxgen.h"

volatile bool gen_stop;

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: gaxgen [EAL options] -- --scenario FILE [options]\n"
		"       gaxgen --scenario FILE --write-pcap OUT.pcap [--count N]\n"
		"       gaxgen --scenario FILE --check\n"
		"       gaxgen [EAL options] -- --list-ports\n"
		"options:\n"
		"  --scenario FILE    the scenario (JSON, docs/gaxgen.md)\n"
		"  --check            validate the scenario and exit (0 valid, 1 not)\n"
		"  --write-pcap OUT   write the scenario's frames to a pcap file, no EAL\n"
		"  --tx-port N        port to send on (default 0)\n"
		"  --rx-port N        port to count stamped frames on (default: the tx port)\n"
		"  --reply-port N     answer stamped frames on this port as the endpoints\n"
		"  --duration S       seconds of sending (overrides duration_s)\n"
		"  --count N          packets to send (overrides count; pcap: frames)\n"
		"  --rate PPS         packets per second, 0 as fast as possible (overrides rate_pps)\n"
		"  --drain S          keep receiving S seconds after the last send (default 0.2)\n"
		"  --linger S         after the run, keep the ports open S seconds without polling\n"
		"                     them before closing (default 0): a memif peer leaves first\n"
		"  --link-timeout S   wait up to S seconds for links up and ARP (default 10)\n"
		"  --json FILE        write the report as JSON too\n"
		"  --rx-only          send nothing: receive (and answer) for the duration, to pair\n"
		"                     with a sender in another process or namespace\n"
		"  --list-ports       list the ports EAL gave and exit\n");
}

/*
 * Keep the ports open, unpolled, for @p s seconds (SIGINT ends it). DPDK
 * 22.11's memif unmaps a port's rings on its control thread when the peer
 * disconnects, while the datapath may be inside rte_eth_rx_burst() on them:
 * a process still polling when its peer leaves crashes now and then. With
 * --linger the peer can leave while this process no longer polls.
 */
static void
linger(double s)
{
	double t;

	for (t = 0; t < s && !gen_stop; t += 0.01)
		usleep(10000);
}

static bool
is_app_option(const char *s)
{
	static const char *const opts[] = { "--scenario", "--check", "--write-pcap", "--help",
		"-h", "--tx-port", "--rx-port", "--reply-port", "--duration", "--count",
		"--rate", "--json", "--list-ports", "--drain", "--link-timeout", "--rx-only",
		"--linger", NULL };
	const char *const *o;

	for (o = opts; *o != NULL; o++) {
		size_t n = strlen(*o);

		if (strncmp(s, *o, n) == 0 && (s[n] == '\0' || s[n] == '='))
			return true;
	}
	return false;
}

static int
parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "gaxgen: %s: '%s' is not a whole number from 0 to %llu\n", opt, s,
			(unsigned long long)max);
	return -1;
}

static int
parse_secs(const char *opt, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > GAX_GEN_DURATION_MAX) {
		fprintf(stderr, "gaxgen: %s: '%s' is not a number of seconds above 0 and at "
				"most %.0f\n", opt, s, GAX_GEN_DURATION_MAX);
		return -1;
	}
	*out = v;
	return 0;
}

/* @return 0, 1 to exit 0 (--help), -1 usage error */
static int
parse_args(int argc, char **argv, struct gen_opts *o)
{
	enum { O_TX = 256, O_RX, O_REPLY, O_DUR, O_COUNT, O_RATE, O_JSON, O_PCAP, O_CHECK,
		O_LIST, O_DRAIN, O_LINK, O_RXONLY, O_LINGER };
	static const struct option lo[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "tx-port", required_argument, NULL, O_TX },
		{ "rx-port", required_argument, NULL, O_RX },
		{ "reply-port", required_argument, NULL, O_REPLY },
		{ "duration", required_argument, NULL, O_DUR },
		{ "count", required_argument, NULL, O_COUNT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "json", required_argument, NULL, O_JSON },
		{ "write-pcap", required_argument, NULL, O_PCAP },
		{ "check", no_argument, NULL, O_CHECK },
		{ "list-ports", no_argument, NULL, O_LIST },
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "linger", required_argument, NULL, O_LINGER },
		{ "link-timeout", required_argument, NULL, O_LINK },
		{ "rx-only", no_argument, NULL, O_RXONLY },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->scenario = optarg;
			break;
		case 'h':
			return 1;
		case O_TX:
		case O_RX:
		case O_REPLY:
			if (parse_u64(c == O_TX ? "--tx-port" : c == O_RX ? "--rx-port" :
					"--reply-port", optarg, RTE_MAX_ETHPORTS - 1, &v) != 0)
				return -1;
			if (c == O_TX)
				o->tx_port = (uint16_t)v;
			else if (c == O_RX)
				o->rx_port = (uint16_t)v, o->rx_port_set = true;
			else
				o->reply_port = (uint16_t)v;
			break;
		case O_DUR:
			if (parse_secs("--duration", optarg, &o->duration_s) != 0)
				return -1;
			break;
		case O_COUNT:
			if (parse_u64("--count", optarg, INT64_MAX, &o->count) != 0)
				return -1;
			if (o->count == 0) {
				fprintf(stderr, "gaxgen: --count: must be at least 1\n");
				return -1;
			}
			break;
		case O_RATE:
			if (parse_u64("--rate", optarg, GAX_GEN_RATE_MAX, &v) != 0)
				return -1;
			o->rate_pps = (int64_t)v;
			break;
		case O_JSON:
			o->json = optarg;
			break;
		case O_PCAP:
			o->write_pcap = optarg;
			break;
		case O_CHECK:
			o->check = true;
			break;
		case O_LIST:
			o->list_ports = true;
			break;
		case O_RXONLY:
			o->rx_only = true;
			break;
		case O_DRAIN:
			if (parse_secs("--drain", optarg, &o->drain_s) != 0)
				return -1;
			break;
		case O_LINGER:
			if (parse_secs("--linger", optarg, &o->linger_s) != 0)
				return -1;
			break;
		case O_LINK:
			if (parse_secs("--link-timeout", optarg, &o->link_timeout_s) != 0)
				return -1;
			break;
		case ':':
			fprintf(stderr, "gaxgen: %s needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "gaxgen: unknown option '%s'\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gaxgen: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->scenario == NULL && !o->list_ports) {
		fprintf(stderr, "gaxgen: --scenario FILE is required\n");
		return -1;
	}
	if (o->check + (o->write_pcap != NULL) + o->list_ports > 1) {
		fprintf(stderr, "gaxgen: --check, --write-pcap and --list-ports exclude each other\n");
		return -1;
	}
	if (o->reply_port != GEN_NO_PORT &&
			(o->reply_port == o->tx_port || (o->rx_port_set && o->reply_port == o->rx_port))) {
		fprintf(stderr, "gaxgen: --reply-port must differ from the tx and rx ports\n");
		return -1;
	}
	if (o->rx_only && o->count != 0) {
		fprintf(stderr, "gaxgen: --rx-only receives for a duration: --count does not apply\n");
		return -1;
	}
	if (!o->rx_port_set)
		o->rx_port = o->tx_port;
	return 0;
}

static void
on_signal(int sig)
{
	(void)sig;
	gen_stop = true;
}

static int
list_ports(void)
{
	uint16_t port;

	printf("gaxgen %s: %u port(s)\n", GAX_VERSION, rte_eth_dev_count_avail());
	RTE_ETH_FOREACH_DEV(port) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (rte_eth_dev_get_name_by_port(port, name) == 0)
			printf("  port %u: %s\n", port, name);
	}
	return 0;
}

static int
run_eal(struct gen_ctx *c, int eal_argc, char **eal_argv)
{
	const struct gen_opts *o = c->o;
	unsigned int worker;
	int rc;

	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		fprintf(stderr, "gaxgen: cannot start EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (o->list_ports) {
		list_ports();
		rte_eal_cleanup();
		return 0;
	}
	if (!rte_eth_dev_is_valid_port(o->tx_port) || !rte_eth_dev_is_valid_port(o->rx_port) ||
			(o->reply_port != GEN_NO_PORT &&
			!rte_eth_dev_is_valid_port(o->reply_port))) {
		fprintf(stderr, "gaxgen: --tx-port %u, --rx-port %u%s: EAL has %u port(s) "
				"(give devices with --vdev or -a)\n", o->tx_port, o->rx_port,
				o->reply_port != GEN_NO_PORT ? " or --reply-port" : "",
				rte_eth_dev_count_avail());
		rte_eal_cleanup();
		return 2;
	}
	rc = gen_ports_start(c);
	if (rc == 0 && !c->sc->has_dst_mac && !o->rx_only)
		rc = gen_resolve_dst_mac(c);
	if (rc == 0 && !gen_stop) {
		worker = rte_get_next_lcore(-1, 1, 0);
		if (worker < RTE_MAX_LCORE) {
			rte_eal_remote_launch(gen_loop, c, worker);
			/*
			 * Sleep rather than spin (rte_eal_wait_lcore() does): the main and
			 * worker lcores may share one CPU (--lcores='(0,1)@1').
			 */
			while (rte_eal_get_lcore_state(worker) == RUNNING)
				usleep(1000);
			rte_eal_wait_lcore(worker);
		} else {
			gen_loop(c);
		}
		rc = gen_report(c);
		linger(o->linger_s);
	} else if (rc == 0) {
		fprintf(stderr, "gaxgen: interrupted before sending\n");
		rc = 1;
	} else {
		rc = 1;
	}
	gen_ports_stop(c);
	gax_gen_rx_fini(&c->rx);
	rte_eal_cleanup();
	return rc;
}

int
main(int argc, char **argv)
{
	struct gen_opts o = {
		.tx_port = 0, .reply_port = GEN_NO_PORT, .rate_pps = -1,
		.drain_s = 0.2, .link_timeout_s = 10,
	};
	struct gen_ctx c = { .o = &o };
	struct gax_diags d;
	char **app_argv;
	int i, sep = -1, app_argc, eal_argc, rc;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep >= 0) {
		eal_argc = sep;
		app_argc = argc - sep;
		app_argv = argv + sep;		/* app_argv[0] is "--", skipped by getopt */
	} else if (argc > 1 && is_app_option(argv[1])) {
		eal_argc = 1;
		app_argc = argc;
		app_argv = argv;
	} else {
		eal_argc = argc;
		app_argc = 1;
		app_argv = argv;
	}
	rc = parse_args(app_argc, app_argv, &o);
	if (rc > 0) {
		usage(stdout);
		return 0;
	}
	if (rc < 0) {
		usage(stderr);
		return 2;
	}
	if (o.scenario != NULL) {
		gax_diags_init(&d);
		c.sc = gax_gen_scenario_load_file(o.scenario, &d);
		if (c.sc == NULL) {
			if (d.n == 0)
				fprintf(stderr, "%s: %s\n", o.scenario, strerror(errno));
			gax_diags_print(stderr, o.scenario, &d);
			fprintf(stderr, "gaxgen: %s: invalid scenario (%u error(s))\n", o.scenario,
					d.n_errors);
			gax_diags_fini(&d);
			return 1;
		}
		gax_diags_fini(&d);
	}
	if (o.check) {
		printf("%s: valid: scenario %s, %llu flows over %llu client address x port pairs, "
				"%u destination port(s)\n", o.scenario, c.sc->name,
				(unsigned long long)c.sc->flows,
				(unsigned long long)c.sc->tuple_space, c.sc->n_dst_ports);
		gax_gen_scenario_free(c.sc);
		return 0;
	}
	if (o.write_pcap != NULL) {
		uint64_t n = o.count ? o.count : c.sc->count ? c.sc->count : c.sc->flows;

		if (!c.sc->has_dst_mac) {
			fprintf(stderr, "%s: mac.destination: required to write a pcap (there is no "
					"port to resolve it on)\n", o.scenario);
			gax_gen_scenario_free(c.sc);
			return 1;
		}
		rc = gax_gen_write_pcap(c.sc, o.write_pcap, n);
		if (rc != 0)
			fprintf(stderr, "gaxgen: cannot write %s: %s\n", o.write_pcap, strerror(-rc));
		else
			printf("gaxgen: wrote %llu frames of scenario %s to %s\n",
					(unsigned long long)n, c.sc->name, o.write_pcap);
		gax_gen_scenario_free(c.sc);
		return rc != 0 ? 1 : 0;
	}
	if (c.sc != NULL) {
		c.count = o.count ? o.count : c.sc->count ? c.sc->count : UINT64_MAX;
		c.duration_s = o.duration_s > 0 ? o.duration_s :
			(o.count != 0 && c.sc->count == 0) ? 0 : c.sc->duration_s;
		c.rate_pps = o.rate_pps >= 0 ? (uint64_t)o.rate_pps : c.sc->rate_pps;
		if (o.reply_port != GEN_NO_PORT && !c.sc->reply) {
			fprintf(stderr, "%s: reply.enabled: must be true to answer on --reply-port "
					"(the stamp needs room for the endpoint)\n", o.scenario);
			gax_gen_scenario_free(c.sc);
			return 1;
		}
		if (gax_gen_rx_init(&c.rx, c.sc) != 0) {
			fprintf(stderr, "gaxgen: out of memory\n");
			gax_gen_scenario_free(c.sc);
			return 1;
		}
	}
	rc = run_eal(&c, eal_argc, argv);
	gax_gen_scenario_free(c.sc);
	return rc;
}
