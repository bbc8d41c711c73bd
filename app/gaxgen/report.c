/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The end of a run: the report on stdout (lib/gen's table) and, with
 * --json FILE, the same figures as JSON written atomically.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "gaxgen.h"

int
gen_report(struct gen_ctx *c)
{
	char tmp[4096];
	json_t *j;
	int rc = 0;

	gax_gen_rx_finish(&c->rx);
	gax_gen_report_print(stdout, c->sc, &c->tx, &c->rx);
	fflush(stdout);
	if (c->o->json == NULL)
		return 0;
	j = gax_gen_report_json(c->sc, &c->tx, &c->rx);
	if (j == NULL) {
		fprintf(stderr, "gaxgen: out of memory for the JSON report\n");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->o->json);
	if (json_dump_file(j, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) != 0 ||
			rename(tmp, c->o->json) != 0) {
		fprintf(stderr, "gaxgen: cannot write %s: %s\n", c->o->json, strerror(errno));
		remove(tmp);
		rc = 1;
	}
	json_decref(j);
	return rc;
}
