/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxctl: the operator's tool. This release works on files:
 *   validate  check a configuration, every problem named by its JSON path
 *   diff      the review of what would change between two configurations
 *   explain   what the forwarder will do with a configuration
 * Talking to a running gaxd (apply, show, stats) comes with the control socket.
 *
 * Exit status: 0 success, 1 a configuration is invalid or unreadable (or,
 * with diff --exit-code, the configurations differ), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <gax_config.h>
#include <gax_diff.h>
#include <gax_snapshot.h>

#define EXIT_INVALID 1
#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: gaxctl validate [--json] FILE\n"
	"       gaxctl diff [--json] [--exit-code] OLD NEW   (OLD may be - for an empty config)\n"
	"       gaxctl explain FILE\n"
	"       gaxctl --help | --version\n"
	"\n"
	"  validate  check FILE against every rule (docs/config.md); exit 0 valid, 1 not\n"
	"  diff      review what applying NEW over OLD would change; --exit-code exits 1\n"
	"            when they differ (as git diff does)\n"
	"  explain   print what the forwarder will do with FILE\n";

static int
usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "gaxctl: %s\n", msg);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static json_t *
diags_to_json(const struct gax_diags *d)
{
	json_t *arr = json_array();
	unsigned int i;

	for (i = 0; i < d->n && arr != NULL; i++) {
		const struct gax_diag *g = &d->v[i];
		json_t *o = json_pack("{s:s, s:s, s:s}",
				"severity", g->severity == GAX_DIAG_ERROR ? "error" : "warning",
				"path", g->path, "message", g->message);

		if (o != NULL && g->line > 0) {
			json_object_set_new(o, "line", json_integer(g->line));
			json_object_set_new(o, "column", json_integer(g->column));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Load a file, printing its diagnostics; NULL when it is not valid. */
static struct gax_config *
load(const char *path, bool quiet_warnings)
{
	struct gax_diags d;
	struct gax_config *cfg;

	gax_diags_init(&d);
	cfg = gax_config_load_file(path, &d);
	if (cfg == NULL || !quiet_warnings)
		gax_diags_print(stderr, path, &d);
	if (cfg == NULL && d.n == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	gax_diags_fini(&d);
	return cfg;
}

static int
cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gax_config *cfg;
	struct gax_diags d;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return usage(c == 'h' ? NULL : "validate: unknown option");
	}
	if (argc - optind != 1)
		return usage("validate takes exactly one FILE");

	gax_diags_init(&d);
	cfg = gax_config_load_file(argv[optind], &d);
	if (json) {
		json_t *o = json_pack("{s:s, s:b, s:o}", "file", argv[optind], "valid", cfg != NULL,
				"diagnostics", diags_to_json(&d));

		if (cfg == NULL && d.n == 0)
			json_object_set_new(o, "error", json_string(strerror(errno)));
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		gax_diags_print(stderr, argv[optind], &d);
		if (cfg == NULL && d.n == 0)
			fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
		if (cfg != NULL)
			printf("%s: valid\n", argv[optind]);
		else
			fprintf(stderr, "%s: invalid (%u error%s)\n", argv[optind], d.n_errors,
					d.n_errors == 1 ? "" : "s");
	}
	gax_diags_fini(&d);
	if (cfg == NULL)
		return EXIT_INVALID;
	gax_config_free(cfg);
	return 0;
}

static int
cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "exit-code", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gax_config *old_cfg = NULL, *new_cfg = NULL;
	struct gax_diff *diff = NULL;
	bool json = false, exit_code = false;
	int c, rc = EXIT_INVALID;

	while ((c = getopt_long(argc, argv, "+jeh", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'e')
			exit_code = true;
		else
			return usage(c == 'h' ? NULL : "diff: unknown option");
	}
	if (argc - optind != 2)
		return usage("diff takes OLD and NEW");

	if (strcmp(argv[optind], "-") != 0) {
		old_cfg = load(argv[optind], true);
		if (old_cfg == NULL)
			goto out;
	}
	new_cfg = load(argv[optind + 1], false);
	if (new_cfg == NULL)
		goto out;
	diff = gax_diff_compute(old_cfg, new_cfg);
	if (diff == NULL) {
		fprintf(stderr, "gaxctl: diff: %s\n", strerror(errno));
		goto out;
	}
	if (json) {
		json_t *o = gax_diff_to_json(diff);

		if (o == NULL) {
			fprintf(stderr, "gaxctl: diff: %s\n", strerror(ENOMEM));
			goto out;
		}
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		gax_diff_print(stdout, diff);
	}
	rc = (exit_code && diff->n_changes > 0) ? 1 : 0;
out:
	gax_diff_free(diff);
	gax_config_free(old_cfg);
	gax_config_free(new_cfg);
	return rc;
}

static int
cmd_explain(int argc, char **argv)
{
	struct gax_config *cfg;
	struct gax_snapshot *s;

	if (argc != 2 || argv[1][0] == '-')
		return usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? NULL :
				"explain takes exactly one FILE");
	cfg = load(argv[1], false);
	if (cfg == NULL)
		return EXIT_INVALID;
	s = gax_snapshot_compile(cfg, NULL);
	if (s == NULL) {
		fprintf(stderr, "gaxctl: explain: %s\n", strerror(errno));
		gax_config_free(cfg);
		return EXIT_INVALID;
	}
	gax_snapshot_explain(stdout, s);
	gax_snapshot_free(s);
	gax_config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return usage(NULL);
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("gaxctl %s\n", GAX_VERSION);
		return 0;
	}
	if (strcmp(cmd, "validate") == 0)
		return cmd_validate(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	fprintf(stderr, "gaxctl: unknown command '%s'\n", cmd);
	return usage(NULL);
}
