/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxgen: gax's scriptable DPDK traffic generator. This release starts EAL,
 * lists the ports it was given and exits cleanly; scenarios, rates and the
 * receive side arrive with the benchmark issue.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

int
main(int argc, char **argv)
{
	uint16_t port;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "gaxgen: cannot start EAL: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	printf("gaxgen %s: %u port(s)\n", GAX_VERSION, rte_eth_dev_count_avail());
	RTE_ETH_FOREACH_DEV(port) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (rte_eth_dev_get_name_by_port(port, name) == 0)
			printf("  port %u: %s\n", port, name);
	}
	printf("gaxgen: scenarios are not implemented in this release; exiting\n");
	rte_eal_cleanup();
	return EXIT_SUCCESS;
}
