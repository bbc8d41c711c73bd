/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target over the configuration loader: any bytes must give either
 * a valid configuration or a refusal with at least one diagnostic, never a
 * crash, a leak or undefined behaviour. A valid result is also compiled into a
 * snapshot and explained, so the compiler meets every shape the loader lets
 * through.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <gax_config.h>
#include <gax_snapshot.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gax_diags d;
	struct gax_config *cfg;
	struct gax_snapshot *s;
	FILE *null_out;

	gax_diags_init(&d);
	cfg = gax_config_load_buffer((const char *)data, size, "/nonexistent", &d);
	if (cfg == NULL && d.n_errors == 0)
		abort(); /* a refusal must say why */
	if (cfg != NULL && d.n_errors != 0)
		abort(); /* an accepted config has no error */
	null_out = fopen("/dev/null", "w");
	if (null_out != NULL) {
		gax_diags_print(null_out, "fuzz", &d);
		if (cfg != NULL) {
			s = gax_snapshot_compile(cfg, NULL);
			if (s != NULL)
				gax_snapshot_explain(null_out, s);
			gax_snapshot_free(s);
		}
		fclose(null_out);
	}
	gax_diags_fini(&d);
	gax_config_free(cfg);
	return 0;
}
