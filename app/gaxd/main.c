/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxd: the forwarder. gaxd [EAL options] -- --config FILE
 *
 * This release starts EAL, loads and validates the configuration, compiles
 * the snapshot the workers will read, checks that every interface's device
 * exists, reports what it would serve and exits cleanly. The packet path
 * (workers, flow table, ARP, NAT) arrives with the data-plane issue.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <gax_config.h>
#include <gax_snapshot.h>

RTE_LOG_REGISTER_DEFAULT(gaxd_logtype, INFO);
#define GAXD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, gaxd_logtype, "gaxd: " fmt "\n", ##__VA_ARGS__)

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [EAL options] -- --config FILE\n"
			"  --config FILE  the configuration (docs/config.md)\n", prog);
}

/* Every interface's device must be a port EAL knows (a PCI address or a --vdev). */
static int
check_devices(const struct gax_snapshot *s)
{
	uint32_t i;
	int missing = 0;

	for (i = 0; i < s->n_interfaces; i++) {
		uint16_t port;

		if (rte_eth_dev_get_port_by_name(s->interfaces[i].device, &port) != 0) {
			GAXD_LOG(ERR, "interface %s: no DPDK port named '%s' (give it to EAL "
					"with -a or --vdev)", s->interfaces[i].name,
					s->interfaces[i].device);
			missing++;
			continue;
		}
		GAXD_LOG(INFO, "interface %s: %s is port %u", s->interfaces[i].name,
				s->interfaces[i].device, port);
	}
	return missing == 0 ? 0 : -ENODEV;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	struct gax_config *cfg = NULL;
	struct gax_snapshot *snap = NULL;
	struct gax_diags diags;
	int ret, c, rc = EXIT_FAILURE;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "gaxd: cannot start EAL: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	argc -= ret;
	argv += ret;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(argv[0]);
			rc = EXIT_SUCCESS;
			goto out;
		default:
			usage(argv[0]);
			goto out;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(argv[0]);
		goto out;
	}

	gax_diags_init(&diags);
	cfg = gax_config_load_file(config_path, &diags);
	gax_diags_print(stderr, config_path, &diags);
	gax_diags_fini(&diags);
	if (cfg == NULL) {
		GAXD_LOG(ERR, "%s is not a valid configuration; not starting", config_path);
		goto out;
	}
	snap = gax_snapshot_compile(cfg, NULL);
	if (snap == NULL) {
		GAXD_LOG(ERR, "cannot compile %s: %s", config_path, strerror(errno));
		goto out;
	}
	GAXD_LOG(INFO, "%s: %u accelerators, %u listeners, %u endpoint groups, %u endpoints; "
			"%u lcores", config_path, snap->n_accelerators, snap->n_listeners,
			snap->n_groups, snap->n_endpoints, rte_lcore_count());
	if (check_devices(snap) < 0)
		goto out;
	GAXD_LOG(NOTICE, "this release validates and compiles only; the packet path is not "
			"built yet, exiting");
	rc = EXIT_SUCCESS;
out:
	gax_snapshot_free(snap);
	gax_config_free(cfg);
	rte_eal_cleanup();
	return rc;
}
