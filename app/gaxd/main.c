/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxd: the forwarder.
 *   gaxd [EAL options] -- --config FILE [--stats-json FILE] [--flows N]
 *        [--duration SECONDS] [--check]
 *
 * The main lcore is the control thread: it loads and compiles the
 * configuration, opens one port per interface, starts one poll-mode worker
 * per worker lcore, then waits for SIGINT or SIGTERM (or --duration), stops
 * the workers and prints the final counters.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "gaxd.h"

RTE_LOG_REGISTER_DEFAULT(gaxd_logtype, INFO);

static volatile sig_atomic_t quit_signal;
static volatile sig_atomic_t reload_signal;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		quit_signal = sig;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- --config FILE [options]\n"
		"  --config FILE       the configuration (docs/config.md)\n"
		"  --stats-json FILE   write the final counters there as JSON at exit\n"
		"  --socket PATH       the control socket (default %s; docs/control.md)\n"
		"  --flows N           flow table capacity, all workers together (default %u)\n"
		"  --duration SECONDS  stop by itself after that long (default: at SIGINT/SIGTERM)\n"
		"  --resolve-interval S  re-resolve domain endpoints every S s when DNS gives no\n"
		"                      TTL (default %u)\n"
		"  --mbufs N           packet buffers in the pool (default: enough for every\n"
		"                      queue, hold queue and ring)\n"
		"  --check             load the config, open the ports, then exit\n"
		"  --trust-l4-checksums  forward TCP and UDP without checking their checksums\n"
		"                      in software where the NIC does not (the rewrite keeps a\n"
		"                      wrong one wrong: the endpoint drops it)\n"
		"SIGHUP rereads the config file; SIGINT or SIGTERM stop gaxd.\n"
		"Workers run on the worker lcores (EAL -l/--lcores), the control thread on the\n"
		"main lcore; give at least two lcores, e.g. -l 0,1.\n",
		prog, GAXD_DEFAULT_SOCKET, GAX_FLOW_DEFAULT_CAPACITY,
		GAX_RESOLVE_DEFAULT_INTERVAL);
}

static int
parse_args(int argc, char **argv, struct gaxd_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stats-json", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "flows", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'k' },
		{ "resolve-interval", required_argument, NULL, 'r' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "trust-l4-checksums", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long long n;
	int c;

	o->flows = GAX_FLOW_DEFAULT_CAPACITY;
	o->socket_path = GAXD_DEFAULT_SOCKET;
	o->resolve_interval = GAX_RESOLVE_DEFAULT_INTERVAL;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 's':
			o->stats_json = optarg;
			break;
		case 'S':
			o->socket_path = optarg;
			break;
		case 'f':
			errno = 0;
			n = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n == 0 || n > GAX_FLOW_MAX_CAPACITY) {
				fprintf(stderr, "gaxd: --flows must be 1 to %u, got '%s'\n",
						GAX_FLOW_MAX_CAPACITY, optarg);
				return -1;
			}
			o->flows = (uint32_t)n;
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(o->duration > 0) ||
					o->duration > 31536000) {
				fprintf(stderr, "gaxd: --duration must be a number of seconds above "
						"0, got '%s'\n", optarg);
				return -1;
			}
			break;
		case 'k':
			o->check = true;
			break;
		case 't':
			o->trust_l4 = true;
			break;
		case 'm':
			errno = 0;
			n = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1024 || n > (1u << 26)) {
				fprintf(stderr, "gaxd: --mbufs must be 1024 to %u, got '%s'\n",
						1u << 26, optarg);
				return -1;
			}
			o->mbufs = (uint32_t)n;
			break;
		case 'r':
			errno = 0;
			n = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n == 0 || n > GAX_RESOLVE_MAX_SECONDS) {
				fprintf(stderr, "gaxd: --resolve-interval must be 1 to %u seconds, got "
						"'%s'\n", GAX_RESOLVE_MAX_SECONDS, optarg);
				return -1;
			}
			o->resolve_interval = (uint32_t)n;
			break;
		case 'h':
			usage(argv[0]);
			return 1;
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (o->config_path == NULL || optind != argc) {
		usage(argv[0]);
		return -1;
	}
	return 0;
}

static int
load_config(struct gaxd *d)
{
	struct gax_snapshot_opts so = { .generation = 1 };
	struct gax_diags diags;
	json_error_t err = { .text = "out of memory" };
	json_t *doc;

	gax_diags_init(&diags);
	d->cfg = gax_config_load_file(d->opts.config_path, &diags);
	gax_diags_print(stderr, d->opts.config_path, &diags);
	gax_diags_fini(&diags);
	if (d->cfg == NULL) {
		GAXD_LOG(ERR, "%s is not a valid configuration; not starting",
				d->opts.config_path);
		return -EINVAL;
	}
	gaxd_resolver_names(d, d->cfg, true);
	so.resolve = gax_resolver_snapshot_cb;
	so.resolve_ctx = d->res;
	gaxd_health_opts(d, &so); /* nothing is known yet (all unknown), but the same rule */
	d->snap = gax_snapshot_compile(d->cfg, &so);
	gax_resolver_changed(d->res); /* the first answers are in this snapshot already */
	if (d->snap == NULL) {
		GAXD_LOG(ERR, "cannot compile %s: %s", d->opts.config_path, strerror(errno));
		return -ENOMEM;
	}
	/* The document as read: what config.get shows and API edits start from. */
	doc = json_load_file(d->opts.config_path, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL || gaxd_gen_first(d, doc) != 0) {
		GAXD_LOG(ERR, "%s: cannot keep the document: %s", d->opts.config_path, err.text);
		json_decref(doc);
		return -ENOMEM;
	}
	if (d->snap->n_interfaces > GAX_FWD_MAX_IFACES) {
		GAXD_LOG(ERR, "%u interfaces; gaxd serves at most %u", d->snap->n_interfaces,
				GAX_FWD_MAX_IFACES);
		return -EINVAL;
	}
	d->n_ifaces = d->snap->n_interfaces;
	GAXD_LOG(INFO, "%s: %u accelerators, %u listeners, %u endpoint groups, %u endpoints",
			d->opts.config_path, d->snap->n_accelerators, d->snap->n_listeners,
			d->snap->n_groups, d->snap->n_endpoints);
	return 0;
}

/* Write one byte of every page of a chunk of the pool (see prefault_pool()). */
static void
prefault_chunk(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *memhdr,
		unsigned int mem_idx)
{
	volatile uint8_t *b = memhdr->addr;
	size_t *bytes = opaque;
	size_t off, page = (size_t)sysconf(_SC_PAGESIZE);

	(void)mp;
	(void)mem_idx;
	for (off = 0; off < memhdr->len; off += page)
		b[off] = b[off];
	*bytes += memhdr->len;
}

/*
 * Map every page of the pool before the first packet. Without hugepages
 * (--no-huge) EAL memory is mapped on first write, and the pool's spare
 * mbufs go round the per-lcore caches and the pool's ring, so their data
 * pages fault one by one on the packet path, the first minutes of traffic
 * (2-3% of the worker's samples while the first million flows opened, in
 * perf/bench_forward). With hugepages the pass finds every page mapped.
 */
static void
prefault_pool(struct gaxd *d)
{
	uint64_t t0 = rte_rdtsc();
	size_t bytes = 0;

	rte_mempool_mem_iter(d->pool, prefault_chunk, &bytes);
	GAXD_LOG(INFO, "mbuf pool: %u mbufs, %zu MB mapped in %.0f ms", d->pool->size,
			bytes >> 20, (double)(rte_rdtsc() - t0) * 1e3 / (double)rte_get_tsc_hz());
}

/* Enough mbufs for every RX and TX ring, the burst buffers, hold queues and rings. */
static int
create_pool(struct gaxd *d)
{
	struct gax_neigh_opts no;
	uint32_t n;

	gax_neigh_opts_init(&no);
	n = d->n_ifaces * d->n_workers * (GAXD_RX_DESC + GAXD_TX_DESC) +
		d->n_workers * (GAXD_RING_SIZE + no.queue_total +
		d->n_ifaces * 2 * GAX_FWD_BURST + 4 * GAX_FWD_BURST) + 1024;
	if (gaxd_twin_any(d->cfg)) /* each twin's tap queues and ring, and the ring back */
		n += d->n_ifaces * (2 * GAXD_TWIN_DESC + GAXD_TWIN_RING) + GAXD_TWIN_RING;
	if (d->opts.mbufs > n)
		n = d->opts.mbufs;
	d->pool = rte_pktmbuf_pool_create("gax_mbufs", n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
			(int)rte_socket_id());
	if (d->pool == NULL) {
		GAXD_LOG(ERR, "cannot create a pool of %u mbufs: %s (give EAL more memory, "
				"-m or hugepages)", n, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	prefault_pool(d);
	return 0;
}

/*
 * The control thread: serve the control socket and SIGHUP until a stop
 * signal or the end of --duration.
 */
static void
control_loop(struct gaxd *d)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t end = d->opts.duration > 0 ?
		d->started_tsc + (uint64_t)(d->opts.duration * (double)hz) : UINT64_MAX;
	json_t *r;

	while (quit_signal == 0 && rte_rdtsc() < end) {
		gaxd_control_poll(d, 50);
		if (reload_signal) {
			reload_signal = 0;
			GAXD_LOG(NOTICE, "SIGHUP: rereading %s", d->opts.config_path);
			r = gaxd_reload(d, false);
			if (!json_is_true(json_object_get(r, "ok")))
				GAXD_LOG(WARNING, "reload refused: %s",
						json_string_value(json_object_get(r, "error")));
			json_decref(r);
		}
	}
	if (quit_signal != 0)
		GAXD_LOG(NOTICE, "%s: stopping", strsignal(quit_signal));
	else
		GAXD_LOG(NOTICE, "ran for %.1f s: stopping", d->opts.duration);
}

int
main(int argc, char **argv)
{
	static struct gaxd d;
	struct sigaction sa;
	unsigned int lcore;
	uint32_t i;
	int ret, rc = EXIT_FAILURE;

	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		d.iface_of_port[i] = UINT16_MAX;
	pthread_mutex_init(&d.lock, NULL);
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "gaxd: cannot start EAL: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	argc -= ret;
	argv += ret;
	ret = parse_args(argc, argv, &d.opts);
	if (ret != 0) {
		rc = ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a control client that goes away is not fatal */

	if (gaxd_resolver_start(&d) != 0 || gaxd_health_start(&d) != 0 || load_config(&d) != 0)
		goto out;
	d.n_workers = rte_lcore_count() - 1;
	if (d.n_workers == 0) {
		GAXD_LOG(ERR, "no worker lcore: give EAL at least two lcores (e.g. -l 0,1); the "
				"main one is the control thread");
		goto out;
	}
	if (create_pool(&d) != 0 || gaxd_workers_create(&d) != 0)
		goto out;
	/* net_af_xdp loads the steering program at port start: its maps are filled before. */
	if (gaxd_xdp_open(&d) != 0 || gaxd_xdp_refill(&d) != 0)
		goto out;
	if (gaxd_ports_open(&d) != 0 || gaxd_xdp_check(&d) != 0 || gaxd_twins_open(&d) != 0)
		goto out;
	if (d.opts.check) {
		printf("gaxd: check passed: %u interface(s), %u worker(s), %u listener(s)\n",
				d.n_ifaces, d.n_workers, d.snap->n_listeners);
		rc = EXIT_SUCCESS;
		goto out;
	}

	gaxd_health_published(&d); /* the prober's first targets */
	if (gaxd_control_open(&d) != 0)
		goto out;
	gaxd_telemetry_register(&d);
	/* dpdk-dumpcap and dpdk-pdump attach as secondary processes (hugepages needed). */
	if (rte_pdump_init() != 0)
		GAXD_LOG(NOTICE, "packet capture unavailable: %s", rte_strerror(rte_errno));
	d.started_tsc = rte_rdtsc();
	RTE_LCORE_FOREACH_WORKER(lcore) {
		for (i = 0; i < d.n_workers; i++)
			if (d.workers[i].lcore == lcore)
				rte_eal_remote_launch(gaxd_worker_main, &d.workers[i], lcore);
	}
	printf("gaxd: ready: %u worker(s), %u port(s), %u listener(s), %u flows\n",
			d.n_workers, d.n_ifaces, d.snap->n_listeners, d.opts.flows);
	fflush(stdout);
	if (gaxd_twins_start(&d) != 0)
		quit_signal = SIGTERM; /* stop at once, cleanly */
	control_loop(&d);
	__atomic_store_n(&d.stop, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	gaxd_twins_stop(&d);

	gaxd_stats_print(&d, stdout);
	fflush(stdout);
	rc = EXIT_SUCCESS;
	if (d.opts.stats_json != NULL && gaxd_stats_write_json(&d, d.opts.stats_json) != 0)
		rc = EXIT_FAILURE;
out:
	gax_resolver_free(d.res);
	gaxd_health_stop(&d);
	gaxd_control_close(&d);
	gaxd_twins_close(&d);
	gaxd_ports_close(&d);
	gaxd_xdp_close(&d);
	gaxd_workers_free(&d);
	rte_mempool_free(d.pool);
	gaxd_gen_free_all(&d);
	rte_eal_cleanup();
	return rc;
}
