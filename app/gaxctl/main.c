/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxctl: the operator's tool. On files:
 *   validate  check a configuration, every problem named by its JSON path
 *   diff      the review of what would change between two configurations
 *   explain   what the forwarder will do with a configuration
 * Against a running gaxd, through its control socket (docs/control.md):
 *   apply, reload, ping, show, stats, flows, and the Global Accelerator API
 *   verbs (listener, endpoint-group, endpoint create/update/delete,
 *   endpoint set-weight), endpoint drain/undrain, each a request built here
 *   and sent by client.c;
 *   show.c renders the replies.
 *
 * Exit status: 0 success, 1 a configuration is invalid or unreadable, gaxd
 * refused a request (or, with diff --exit-code, the configurations differ),
 * 2 usage error or gaxd cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <gax_config.h>
#include <gax_diff.h>
#include <gax_snapshot.h>

#include "gaxctl.h"

#define EXIT_INVALID GAXCTL_EXIT_REFUSED
#define EXIT_USAGE GAXCTL_EXIT_USAGE

static const char usage_text[] =
	"usage: gaxctl validate [--json] FILE\n"
	"       gaxctl diff [--json] [--exit-code] OLD NEW   (OLD may be - for an empty config)\n"
	"       gaxctl explain FILE\n"
	"       gaxctl [--socket PATH] [--timeout S] [--json] COMMAND ...   (talks to gaxd)\n"
	"       gaxctl --help | --version\n"
	"\n"
	"  validate  check FILE against every rule (docs/config.md); exit 0 valid, 1 not\n"
	"  diff      review what applying NEW over OLD would change; --exit-code exits 1\n"
	"            when they differ (as git diff does)\n"
	"  explain   print what the forwarder will do with FILE\n"
	"\n"
	"Commands for a running gaxd (docs/control.md). --socket PATH: its control socket\n"
	"(default $GAX_SOCKET, else " GAXCTL_DEFAULT_SOCKET "); --timeout S: seconds to wait\n"
	"for a reply (default 30); --json: print gaxd's reply as it is. Changes take\n"
	"--dry-run: reviewed against what runs, nothing applied.\n"
	"  apply [--dry-run] FILE      apply a whole configuration (FILE may be -)\n"
	"  reload [--dry-run]          reread gaxd's config file (as SIGHUP)\n"
	"  ping                        gaxd's version, generation, uptime\n"
	"  show listeners|endpoint-groups|endpoints\n"
	"  stats [--watch [S]] [--count N]\n"
	"                              counters; --watch prints them every S seconds (2)\n"
	"  flows [--listener ACCEL/LISTENER] [--endpoint ADDR] [--client ADDR] [--limit N]\n"
	"  listener create --accelerator A --name N --protocol tcp|udp|http|https\n"
	"                  --ports 80,90,8080~8085 [--affinity source-ip|none]\n"
	"                  [--idle-timeout S] [--request-timeout S]\n"
	"  listener update --accelerator A --name N [the options of create]\n"
	"  listener delete --accelerator A --name N\n"
	"  endpoint-group create|update|delete --accelerator A --listener L --name G\n"
	"                  [--region R] [--traffic-percentage P] [--reserve-client-ip true|false]\n"
	"                  [--port-override LPORT:EPORT ...] [--endpoint-protocol http|https]\n"
	"  endpoint create|update|delete --accelerator A --listener L --group G --address ADDR\n"
	"                  [--type ip|domain] [--weight W]\n"
	"  endpoint set-weight --accelerator A --listener L --group G --address ADDR --weight W\n"
	"  endpoint drain|undrain KEY | --accelerator A --listener L --group G --address ADDR\n"
	"                  no new flows to the endpoint (existing ones finish), or again; KEY\n"
	"                  is ACCEL/LISTENER/GROUP/ADDRESS as show endpoints prints it. A\n"
	"                  run-time state of gaxd, not written to the config file\n"
	"In update, an option given as \"default\" removes the field (its default applies);\n"
	"--port-override none removes every override.\n"
	"\n"
	"Exit status: 0 done, 1 invalid or refused, 2 usage error or gaxd unreachable.\n";

static int
usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "gaxctl: %s\n", msg);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
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
				"diagnostics", gax_diags_to_json(&d));

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

/* ---- Commands for a running gaxd ---------------------------------------------------- */

/* Every option of the commands below; each command accepts a subset. */
enum opt_id {
	O_JSON = 0,
	O_SOCKET,
	O_TIMEOUT,
	O_HELP,
	O_DRY_RUN,
	O_WATCH,
	O_COUNT,
	O_LISTENER,
	O_ENDPOINT,
	O_CLIENT,
	O_LIMIT,
	O_ACCELERATOR,
	O_NAME,
	O_PROTOCOL,
	O_PORTS,
	O_AFFINITY,
	O_IDLE_TIMEOUT,
	O_REQUEST_TIMEOUT,
	O_GROUP,
	O_REGION,
	O_TRAFFIC,
	O_RESERVE,
	O_PORT_OVERRIDE,
	O_ENDPOINT_PROTOCOL,
	O_ADDRESS,
	O_TYPE,
	O_WEIGHT,
	O_MAX,
};

#define OPT(id) (UINT64_C(1) << (id))
#define OPTS_COMMON (OPT(O_JSON) | OPT(O_SOCKET) | OPT(O_TIMEOUT) | OPT(O_HELP))
#define OPTS_CHANGE (OPTS_COMMON | OPT(O_DRY_RUN))

static const struct option all_opts[] = {
	{ "json", no_argument, NULL, O_JSON },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "help", no_argument, NULL, O_HELP },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "watch", optional_argument, NULL, O_WATCH },
	{ "count", required_argument, NULL, O_COUNT },
	{ "listener", required_argument, NULL, O_LISTENER },
	{ "endpoint", required_argument, NULL, O_ENDPOINT },
	{ "client", required_argument, NULL, O_CLIENT },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "accelerator", required_argument, NULL, O_ACCELERATOR },
	{ "name", required_argument, NULL, O_NAME },
	{ "protocol", required_argument, NULL, O_PROTOCOL },
	{ "ports", required_argument, NULL, O_PORTS },
	{ "affinity", required_argument, NULL, O_AFFINITY },
	{ "idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
	{ "request-timeout", required_argument, NULL, O_REQUEST_TIMEOUT },
	{ "group", required_argument, NULL, O_GROUP },
	{ "region", required_argument, NULL, O_REGION },
	{ "traffic-percentage", required_argument, NULL, O_TRAFFIC },
	{ "reserve-client-ip", required_argument, NULL, O_RESERVE },
	{ "port-override", required_argument, NULL, O_PORT_OVERRIDE },
	{ "endpoint-protocol", required_argument, NULL, O_ENDPOINT_PROTOCOL },
	{ "address", required_argument, NULL, O_ADDRESS },
	{ "type", required_argument, NULL, O_TYPE },
	{ "weight", required_argument, NULL, O_WEIGHT },
	{ NULL, 0, NULL, 0 },
};

/* Where gaxd is, and how to talk to it (global options, then the command's). */
struct ctx {
	const char *socket;
	double timeout_s;
	bool json;
	bool dry_run;
};

/* One command's parsed options. */
struct args {
	const char *cmd;           /* for messages: "listener create" */
	const char *val[O_MAX];    /* the last value given; "" for flags */
	json_t *port_overrides;    /* --port-override, accumulated; json_null() for "none" */
	char **pos;                /* what is left: positional arguments */
	int n_pos;
};

static int
usage_of(const struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
usage_of(const struct args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gaxctl: %s: ", a->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(gaxctl --help lists every command and option)\n");
	return EXIT_USAGE;
}

static const char *
opt_name(enum opt_id id)
{
	return all_opts[id].name;
}

static bool
parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return s[0] != '\0' && *end == '\0' && errno == 0 && *out == *out;
}

static bool
parse_long(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return s[0] != '\0' && *end == '\0' && errno == 0;
}

/* "LPORT:EPORT[,LPORT:EPORT...]" appended to a->port_overrides; "none" clears them. */
static int
add_port_overrides(struct args *a, const char *s)
{
	const char *p = s;

	if (strcmp(s, "none") == 0 || strcmp(s, "default") == 0) {
		json_decref(a->port_overrides);
		a->port_overrides = json_null();
		return 0;
	}
	if (!json_is_array(a->port_overrides)) {
		json_decref(a->port_overrides);
		a->port_overrides = json_array();
	}
	while (*p != '\0') {
		char *end;
		long lp, ep;

		errno = 0;
		lp = strtol(p, &end, 10);
		if (end == p || *end != ':' || errno != 0)
			goto bad;
		p = end + 1;
		ep = strtol(p, &end, 10);
		if (end == p || (*end != ',' && *end != '\0') || errno != 0)
			goto bad;
		json_array_append_new(a->port_overrides, json_pack("{s:I, s:I}", "listener_port",
				(json_int_t)lp, "endpoint_port", (json_int_t)ep));
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
bad:
	return usage_of(a, "--port-override takes LPORT:EPORT (such as 80:8080), or none; "
			"got '%s'", s);
}

/*
 * Parse a command's options: @p allowed is the set it takes, @p ctx picks up
 * the common ones. Returns 0, or EXIT_USAGE after saying why (0 with
 * *help set for --help).
 */
static int
parse_args(int argc, char **argv, uint64_t allowed, struct ctx *ctx, struct args *a, bool *help)
{
	int c;

	*help = false;
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", all_opts, NULL)) != -1) {
		const char *bad = argv[optind - 1];

		if (c == '?' || c == ':' || c < 0 || c >= O_MAX || (allowed & OPT(c)) == 0) {
			char name[64];
			size_t n = strcspn(bad, "=");

			snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), bad);
			if (c == ':')
				return usage_of(a, "option '%s' needs a value", name);
			if (c >= 0 && c < O_MAX && c != '?')
				return usage_of(a, "unknown option '--%s' (not an option of %s)",
						opt_name((enum opt_id)c), a->cmd);
			return usage_of(a, "unknown option '%s'", name);
		}
		switch (c) {
		case O_HELP:
			*help = true;
			break;
		case O_JSON:
			ctx->json = true;
			break;
		case O_DRY_RUN:
			ctx->dry_run = true;
			break;
		case O_SOCKET:
			ctx->socket = optarg;
			break;
		case O_TIMEOUT:
			if (!parse_double(optarg, &ctx->timeout_s) || ctx->timeout_s <= 0)
				return usage_of(a, "--timeout takes seconds (a positive number), "
						"got '%s'", optarg);
			break;
		case O_PORT_OVERRIDE:
			if (add_port_overrides(a, optarg) != 0)
				return EXIT_USAGE;
			break;
		default:
			break;
		}
		a->val[c] = optarg != NULL ? optarg : "";
	}
	a->pos = argv + optind;
	a->n_pos = argc - optind;
	return 0;
}

/* Each option of @p need (a list ending in O_MAX) must be given. */
static int
require(const struct args *a, const enum opt_id *need)
{
	for (; *need != O_MAX; need++)
		if (a->val[*need] == NULL)
			return usage_of(a, "missing --%s", opt_name(*need));
	return 0;
}

static int
no_positional(const struct args *a)
{
	if (a->n_pos > 0)
		return usage_of(a, "unexpected argument '%s'", a->pos[0]);
	return 0;
}

/* Send @p req (consumed) and receive the reply. */
static int
call(const struct ctx *ctx, json_t *req, json_t **reply)
{
	int rc = gaxctl_call(ctx->socket, req, ctx->timeout_s, reply);

	json_decref(req);
	return rc;
}

static void
print_json(const json_t *reply)
{
	json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A refusal of a request that changes nothing: "gaxctl: WHAT: error". */
static int
refused(const char *what, const json_t *reply)
{
	const char *err = json_string_value(json_object_get(reply, "error"));

	fprintf(stderr, "gaxctl: %s: %s\n", what, err != NULL ? err : "refused (no reason given)");
	return EXIT_INVALID;
}

/*
 * The reply of a change (apply, reload, an API verb): the review and the
 * generation, or the refusal with its diagnostics. @p prefix leads each
 * diagnostic line (the file, as `gaxctl validate` prints it).
 */
static int
change_result(const struct ctx *ctx, const char *what, const char *prefix, json_t *reply)
{
	const char *text = json_string_value(json_object_get(reply, "review_text"));
	const char *warn = json_string_value(json_object_get(reply, "warning"));
	json_int_t gen = json_integer_value(json_object_get(reply, "generation"));
	bool ok = json_is_true(json_object_get(reply, "ok"));
	int rc = ok ? 0 : EXIT_INVALID;

	if (ctx->json) {
		print_json(reply);
		json_decref(reply);
		return rc;
	}
	gaxctl_print_diagnostics(stderr, prefix, json_object_get(reply, "diagnostics"));
	if (!ok) {
		const char *err = json_string_value(json_object_get(reply, "error"));

		fprintf(stderr, "gaxctl: %s refused: %s\n", what,
				err != NULL ? err : "no reason given");
		json_decref(reply);
		return rc;
	}
	if (text != NULL)
		fputs(text, stdout);
	if (json_is_true(json_object_get(reply, "dry_run")))
		printf("dry run: nothing applied (gaxd runs generation %" JSON_INTEGER_FORMAT ")\n",
				gen);
	else
		printf("applied: generation %" JSON_INTEGER_FORMAT "\n", gen);
	if (warn != NULL)
		fprintf(stderr, "gaxctl: warning: %s\n", warn);
	json_decref(reply);
	return rc;
}

/* A request object {"cmd": CMD} with "dry_run": true when asked. */
static json_t *
request(const struct ctx *ctx, const char *cmd, bool change)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd);

	if (req != NULL && change && ctx->dry_run)
		json_object_set_new(req, "dry_run", json_true());
	return req;
}

/* Read a whole file (or stdin for "-") into a malloc'ed buffer. */
static char *
read_all(const char *path, size_t *lenp)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t len = 0, cap = 0, r;
	char *buf = NULL, *nb;
	int err = 0;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				err = ENOMEM;
				break;
			}
			buf = nb;
		}
		r = fread(buf + len, 1, cap - len, f);
		len += r;
	} while (r > 0);
	if (err == 0 && ferror(f))
		err = errno != 0 ? errno : EIO;
	if (f != stdin)
		fclose(f);
	if (err != 0) {
		free(buf);
		errno = err;
		return NULL;
	}
	*lenp = len;
	return buf;
}

static int
cmd_apply(struct ctx *ctx, int argc, char **argv)
{
	struct args a = { .cmd = "apply" };
	const char *file;
	json_error_t je;
	json_t *doc, *req, *reply;
	char *buf;
	size_t len = 0;
	bool help;
	int rc;

	rc = parse_args(argc, argv, OPTS_CHANGE, ctx, &a, &help);
	if (rc != 0 || help)
		return help ? usage(NULL) : rc;
	if (a.n_pos != 1)
		return usage_of(&a, "apply takes exactly one FILE (- for standard input)");
	file = a.pos[0];
	buf = read_all(file, &len);
	if (buf == NULL) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return EXIT_INVALID;
	}
	/* Syntax is checked here, with lines and columns; every other rule by gaxd. */
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL || !json_is_object(doc)) {
		struct gax_diags d;
		struct gax_config *cfg;

		gax_diags_init(&d);
		cfg = gax_config_load_buffer(buf, len, NULL, &d);
		gax_diags_print(stderr, file, &d);
		if (d.n_errors == 0)
			fprintf(stderr, "%s: %s\n", file, je.text);
		fprintf(stderr, "%s: invalid (%u error%s); nothing sent to gaxd\n", file,
				d.n_errors > 0 ? d.n_errors : 1, d.n_errors > 1 ? "s" : "");
		gax_config_free(cfg);
		gax_diags_fini(&d);
		json_decref(doc);
		free(buf);
		return EXIT_INVALID;
	}
	free(buf);
	req = request(ctx, "apply", true);
	json_object_set_new(req, "config", doc);
	rc = call(ctx, req, &reply);
	if (rc != 0)
		return rc;
	return change_result(ctx, "apply", file, reply);
}

static int
cmd_reload(struct ctx *ctx, int argc, char **argv)
{
	struct args a = { .cmd = "reload" };
	json_t *reply;
	bool help;
	int rc;

	rc = parse_args(argc, argv, OPTS_CHANGE, ctx, &a, &help);
	if (rc != 0 || help)
		return help ? usage(NULL) : rc;
	if ((rc = no_positional(&a)) != 0)
		return rc;
	rc = call(ctx, request(ctx, "reload", true), &reply);
	if (rc != 0)
		return rc;
	return change_result(ctx, "reload", "gaxd's config file", reply);
}

/* ping, show: one request, one rendering. */
static int
simple_result(const struct ctx *ctx, const char *what, json_t *reply,
		void (*print)(const struct ctx *, const char *, const json_t *), const char *arg)
{
	int rc = json_is_true(json_object_get(reply, "ok")) ? 0 : EXIT_INVALID;

	if (ctx->json)
		print_json(reply);
	else if (rc != 0)
		refused(what, reply);
	else
		print(ctx, arg, reply);
	json_decref(reply);
	return rc;
}

static void
print_ping(const struct ctx *ctx, const char *arg, const json_t *reply)
{
	(void)arg;
	gaxctl_print_ping(stdout, ctx->socket, reply);
}

static void
print_show(const struct ctx *ctx, const char *what, const json_t *reply)
{
	(void)ctx;
	gaxctl_print_show(stdout, what, reply);
}

static void
print_flows(const struct ctx *ctx, const char *arg, const json_t *reply)
{
	(void)ctx;
	(void)arg;
	gaxctl_print_flows(stdout, reply);
}

static int
cmd_ping(struct ctx *ctx, int argc, char **argv)
{
	struct args a = { .cmd = "ping" };
	json_t *reply;
	bool help;
	int rc;

	rc = parse_args(argc, argv, OPTS_COMMON, ctx, &a, &help);
	if (rc != 0 || help)
		return help ? usage(NULL) : rc;
	if ((rc = no_positional(&a)) != 0)
		return rc;
	rc = call(ctx, request(ctx, "ping", false), &reply);
	if (rc != 0)
		return rc;
	return simple_result(ctx, "ping", reply, print_ping, NULL);
}

static int
cmd_show(struct ctx *ctx, int argc, char **argv)
{
	struct args a = { .cmd = "show" };
	const char *what;
	json_t *req, *reply;
	bool help;
	int rc;

	rc = parse_args(argc, argv, OPTS_COMMON, ctx, &a, &help);
	if (rc != 0 || help)
		return help ? usage(NULL) : rc;
	if (a.n_pos != 1)
		return usage_of(&a, "show takes one of listeners, endpoint-groups, endpoints");
	what = a.pos[0];
	if (strcmp(what, "endpoint_groups") == 0 || strcmp(what, "groups") == 0)
		what = "endpoint-groups";
	if (strcmp(what, "listeners") != 0 && strcmp(what, "endpoint-groups") != 0 &&
			strcmp(what, "endpoints") != 0)
		return usage_of(&a, "cannot show '%s': listeners, endpoint-groups or endpoints",
				what);
	req = request(ctx, "show", false);
	json_object_set_new(req, "what", json_string(what));
	rc = call(ctx, req, &reply);
	if (rc != 0)
		return rc;
	return simple_result(ctx, "show", reply, print_show, what);
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
cmd_stats(struct ctx *ctx, int argc, char **argv)
{
	struct args a = { .cmd = "stats" };
	json_t *reply = NULL, *prev = NULL;
	double interval = 2.0, dt;
	long long count = 1, n;
	bool help, watch;
	int rc;

	rc = parse_args(argc, argv, OPTS_COMMON | OPT(O_WATCH) | OPT(O_COUNT), ctx, &a, &help);
	if (rc != 0 || help)
		return help ? usage(NULL) : rc;
	watch = a.val[O_WATCH] != NULL;
	if (watch && a.val[O_WATCH][0] == '\0' && a.n_pos == 1 &&
			parse_double(a.pos[0], &interval)) {
		/* "--watch 5": the optional value as a word of its own. */
		a.val[O_WATCH] = a.pos[0];
		a.n_pos = 0;
	}
	if ((rc = no_positional(&a)) != 0)
		return rc;
	if (watch && a.val[O_WATCH][0] != '\0' &&
			(!parse_double(a.val[O_WATCH], &interval) || interval < 0.1 ||
			interval > 86400))
		return usage_of(&a, "--watch takes seconds between 0.1 and 86400, got '%s'",
				a.val[O_WATCH]);
	if (a.val[O_COUNT] != NULL) {
		if (!parse_long(a.val[O_COUNT], &count) || count < 1)
			return usage_of(&a, "--count takes a number of times (1 or more), got '%s'",
					a.val[O_COUNT]);
		watch = true;
	} else if (watch) {
		count = LLONG_MAX;
	}
	for (n = 0; n < count; n++) {
		if (n > 0)
			sleep_s(interval);
		rc = call(ctx, request(ctx, "stats", false), &reply);
		if (rc != 0)
			break;
		if (!json_is_true(json_object_get(reply, "ok"))) {
			if (ctx->json)
				print_json(reply);
			rc = ctx->json ? EXIT_INVALID : refused("stats", reply);
			json_decref(reply);
			break;
		}
		if (ctx->json) {
			print_json(reply);
		} else {
			if (n > 0)
				fputc('\n', stdout);
			/* Watching: rate columns from the first sample, "-" until a second. */
			dt = prev == NULL ? (watch ? interval : 0) :
				json_number_value(json_object_get(reply, "uptime_s")) -
				json_number_value(json_object_get(prev, "uptime_s"));
			gaxctl_print_stats(stdout, reply, prev, dt);
			fflush(stdout);
		}
		json_decref(prev);
		prev = reply;
	}
	json_decref(prev);
	return rc;
}

static int
cmd_flows(struct ctx *ctx, int argc, char **argv)
{
	struct args a = { .cmd = "flows" };
	json_t *req, *reply;
	long long limit;
	bool help;
	int rc;

	rc = parse_args(argc, argv, OPTS_COMMON | OPT(O_LISTENER) | OPT(O_ENDPOINT) |
			OPT(O_CLIENT) | OPT(O_LIMIT), ctx, &a, &help);
	if (rc != 0 || help)
		return help ? usage(NULL) : rc;
	if ((rc = no_positional(&a)) != 0)
		return rc;
	req = request(ctx, "flows", false);
	if (a.val[O_LISTENER] != NULL)
		json_object_set_new(req, "listener", json_string(a.val[O_LISTENER]));
	if (a.val[O_ENDPOINT] != NULL)
		json_object_set_new(req, "endpoint", json_string(a.val[O_ENDPOINT]));
	if (a.val[O_CLIENT] != NULL)
		json_object_set_new(req, "client", json_string(a.val[O_CLIENT]));
	if (a.val[O_LIMIT] != NULL) {
		if (!parse_long(a.val[O_LIMIT], &limit) || limit < 0) {
			json_decref(req);
			return usage_of(&a, "--limit takes a number of flows, got '%s'",
					a.val[O_LIMIT]);
		}
		json_object_set_new(req, "limit", json_integer((json_int_t)limit));
	}
	rc = call(ctx, req, &reply);
	if (rc != 0)
		return rc;
	return simple_result(ctx, "flows", reply, print_flows, NULL);
}

/* ---- The API verbs ------------------------------------------------------------------- */

/* An enumerated option: its CLI spelling and the config's. */
struct choice {
	const char *cli;
	const char *config;
};

static const struct choice protocols[] = {
	{ "tcp", "tcp" }, { "udp", "udp" }, { "http", "http" }, { "https", "https" },
	{ NULL, NULL },
};
static const struct choice affinities[] = {
	{ "source-ip", "source_ip" }, { "none", "none" }, { NULL, NULL },
};
static const struct choice request_protocols[] = {
	{ "http", "http" }, { "https", "https" }, { NULL, NULL },
};
static const struct choice endpoint_types[] = {
	{ "ip", "ip" }, { "domain", "domain" }, { NULL, NULL },
};

/* An option that sets a field of the object a verb creates or updates. */
struct field_opt {
	enum opt_id id;
	const char *field;
	char kind; /* 's' string, 'd' string or "default", 'i' integer, 'b' boolean, 'c' choice */
	const struct choice *choices;
};

static const struct field_opt listener_fields[] = {
	{ O_PROTOCOL, "protocol", 'c', protocols },
	{ O_PORTS, "port_ranges", 's', NULL },
	{ O_AFFINITY, "client_affinity", 'c', affinities },
	{ O_IDLE_TIMEOUT, "idle_timeout", 'i', NULL },
	{ O_REQUEST_TIMEOUT, "request_timeout", 'i', NULL },
	{ O_MAX, NULL, 0, NULL },
};
static const struct field_opt group_fields[] = {
	{ O_REGION, "region", 'd', NULL },
	{ O_TRAFFIC, "traffic_percentage", 'i', NULL },
	{ O_RESERVE, "reserve_client_ip", 'b', NULL },
	{ O_ENDPOINT_PROTOCOL, "endpoint_request_protocol", 'c', request_protocols },
	{ O_MAX, NULL, 0, NULL },
};
static const struct field_opt endpoint_fields[] = {
	{ O_TYPE, "type", 'c', endpoint_types },
	{ O_WEIGHT, "weight", 'i', NULL },
	{ O_MAX, NULL, 0, NULL },
};

/* The spellings of a choice for a message: "tcp, udp, http or https". */
static void
choice_list(const struct choice *c, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; c->cli != NULL && o < len; c++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o == 0 ? "" :
				c[1].cli == NULL ? " or " : ", ", c->cli);
}

/*
 * Put the option of @p f, when given, into @p obj. "default" (except for
 * plain strings) stands for null: update removes the field, create leaves it
 * out. Returns 0, or EXIT_USAGE after saying why.
 */
static int
put_field(const struct args *a, json_t *obj, const struct field_opt *f, bool update)
{
	const char *s = a->val[f->id], *name = opt_name(f->id);
	const struct choice *c;
	char list[128];
	long long n;
	json_t *v;

	if (s == NULL)
		return 0;
	if (f->kind != 's' && strcmp(s, "default") == 0) {
		if (update)
			json_object_set_new(obj, f->field, json_null());
		return 0;
	}
	switch (f->kind) {
	case 'i':
		if (!parse_long(s, &n))
			return usage_of(a, "--%s takes a number, got '%s'", name, s);
		v = json_integer((json_int_t)n);
		break;
	case 'b':
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
			return usage_of(a, "--%s takes true or false, got '%s'", name, s);
		v = json_boolean(strcmp(s, "true") == 0);
		break;
	case 'c':
		/* The CLI spelling (source-ip), or the config's own (source_ip). */
		for (c = f->choices; c->cli != NULL; c++)
			if (strcmp(s, c->cli) == 0 || strcmp(s, c->config) == 0)
				break;
		if (c->cli == NULL) {
			choice_list(f->choices, list, sizeof(list));
			return usage_of(a, "--%s takes %s, got '%s'", name, list, s);
		}
		v = json_string(c->config);
		break;
	default:
		v = json_string(s);
		break;
	}
	json_object_set_new(obj, f->field, v);
	return 0;
}

/* The object's fields given as options; NULL after a usage error (*rc says). */
static json_t *
body_of(const struct args *a, const struct field_opt *fields, bool update, int *rc)
{
	json_t *o = json_object();

	*rc = 0;
	for (; fields->id != O_MAX && *rc == 0; fields++)
		*rc = put_field(a, o, fields, update);
	if (*rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One API verb: the options it takes and needs, and the request it makes. */
struct verb {
	const char *noun;     /* listener, endpoint-group, endpoint */
	const char *verb;     /* create, update, delete, set-weight */
	const char *cmd;      /* the request's cmd */
	const char *body;     /* the request field holding the object; NULL for delete */
	const struct field_opt *fields; /* its options; NULL for delete */
	enum opt_id need[6];  /* options that must be given, O_MAX-terminated */
};

#define NEED_L O_ACCELERATOR, O_NAME
#define NEED_G O_ACCELERATOR, O_LISTENER, O_NAME
#define NEED_E O_ACCELERATOR, O_LISTENER, O_GROUP, O_ADDRESS

static const struct verb api_verbs[] = {
	{ "listener", "create", "listener.create", "listener", listener_fields,
		{ NEED_L, O_PROTOCOL, O_PORTS, O_MAX } },
	{ "listener", "update", "listener.update", "listener", listener_fields, { NEED_L, O_MAX } },
	{ "listener", "delete", "listener.delete", NULL, NULL, { NEED_L, O_MAX } },
	{ "endpoint-group", "create", "endpoint-group.create", "group", group_fields,
		{ NEED_G, O_MAX } },
	{ "endpoint-group", "update", "endpoint-group.update", "group", group_fields,
		{ NEED_G, O_MAX } },
	{ "endpoint-group", "delete", "endpoint-group.delete", NULL, NULL, { NEED_G, O_MAX } },
	{ "endpoint", "create", "endpoint.create", "endpoint", endpoint_fields, { NEED_E, O_MAX } },
	{ "endpoint", "update", "endpoint.update", "endpoint", endpoint_fields, { NEED_E, O_MAX } },
	{ "endpoint", "delete", "endpoint.delete", NULL, NULL, { NEED_E, O_MAX } },
	{ "endpoint", "set-weight", "endpoint.set-weight", NULL, NULL,
		{ NEED_E, O_WEIGHT, O_MAX } },
	/* Not API edits: gaxd's run-time drain (docs/health.md); KEY or the four options. */
	{ "endpoint", "drain", "endpoint.drain", NULL, NULL, { NEED_E, O_MAX } },
	{ "endpoint", "undrain", "endpoint.undrain", NULL, NULL, { NEED_E, O_MAX } },
};

static bool
is_drain(const struct verb *v)
{
	return strcmp(v->verb, "drain") == 0 || strcmp(v->verb, "undrain") == 0;
}

/* The reply of drain/undrain: what became of the endpoint. */
static int
drain_result(const struct ctx *ctx, const char *what, json_t *reply)
{
	bool ok = json_is_true(json_object_get(reply, "ok"));
	bool drained = json_is_true(json_object_get(reply, "drained"));
	const char *key = json_string_value(json_object_get(reply, "endpoint"));
	int rc = ok ? 0 : EXIT_INVALID;

	if (ctx->json)
		print_json(reply);
	else if (!ok)
		fprintf(stderr, "gaxctl: %s refused: %s\n", what,
				json_string_value(json_object_get(reply, "error")) != NULL ?
				json_string_value(json_object_get(reply, "error")) : "no reason given");
	else if (json_is_true(json_object_get(reply, "dry_run")))
		printf("dry run: %s is %s; nothing changed\n", key,
				drained ? "drained" : "not drained");
	else
		printf("%s %s%s (generation %" JSON_INTEGER_FORMAT ")\n", key,
				drained ? "drained: takes no new flows, existing flows finish" :
				"undrained: takes new flows again",
				json_is_true(json_object_get(reply, "changed")) ? "" : " (already so)",
				json_integer_value(json_object_get(reply, "generation")));
	json_decref(reply);
	return rc;
}

static const char *
verbs_of(const char *noun)
{
	return strcmp(noun, "endpoint") == 0 ?
		"create, update, delete, set-weight, drain or undrain" :
		"create, update or delete";
}

/*
 * The request of an API verb: the names of the parents, the object's own
 * name (or address) beside the fields for update and delete, inside the
 * object for create (docs/control.md). NULL after a usage error.
 */
static json_t *
api_request(const struct ctx *ctx, const struct verb *v, const struct args *a, int *rc)
{
	bool endpoint = strcmp(v->noun, "endpoint") == 0;
	bool create = strcmp(v->verb, "create") == 0, update = strcmp(v->verb, "update") == 0;
	const char *id_field = endpoint ? "address" : "name";
	const char *id = a->val[endpoint ? O_ADDRESS : O_NAME];
	json_t *req = request(ctx, v->cmd, true), *body = NULL;

	*rc = 0;
	json_object_set_new(req, "accelerator", json_string(a->val[O_ACCELERATOR]));
	if (strcmp(v->noun, "listener") != 0)
		json_object_set_new(req, "listener", json_string(a->val[O_LISTENER]));
	if (endpoint)
		json_object_set_new(req, "group", json_string(a->val[O_GROUP]));
	if (!create)
		json_object_set_new(req, id_field, json_string(id));
	if (strcmp(v->verb, "set-weight") == 0) {
		static const struct field_opt weight = { O_WEIGHT, "weight", 'i', NULL };

		*rc = put_field(a, req, &weight, false);
		if (*rc == 0 && json_object_get(req, "weight") == NULL)
			*rc = usage_of(a, "--weight takes a number (0-255)");
	} else if (v->body != NULL) {
		body = body_of(a, v->fields, update, rc);
		if (body != NULL && json_is_array(a->port_overrides))
			json_object_set(body, "port_overrides", a->port_overrides);
		else if (body != NULL && json_is_null(a->port_overrides) && update)
			json_object_set_new(body, "port_overrides", json_null());
		if (body != NULL && update && json_object_size(body) == 0)
			*rc = usage_of(a, "nothing to change: give one of the options of %s create",
					v->noun);
		if (body != NULL && create)
			json_object_set_new(body, id_field, json_string(id));
		if (body != NULL)
			json_object_set_new(req, v->body, body);
	}
	if (*rc != 0) {
		json_decref(req);
		return NULL;
	}
	return req;
}

static int
cmd_api(struct ctx *ctx, int argc, char **argv)
{
	const struct verb *v = NULL;
	struct args a;
	char cmdname[64];
	uint64_t allowed;
	json_t *req, *reply;
	const struct field_opt *f;
	bool help;
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	a.cmd = argv[0];
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(NULL);
	if (argc < 2 || argv[1][0] == '-')
		return usage_of(&a, "give a verb: %s", verbs_of(argv[0]));
	for (i = 0; i < sizeof(api_verbs) / sizeof(api_verbs[0]); i++)
		if (strcmp(api_verbs[i].noun, argv[0]) == 0 &&
				strcmp(api_verbs[i].verb, argv[1]) == 0)
			v = &api_verbs[i];
	if (v == NULL)
		return usage_of(&a, "unknown verb '%s': %s", argv[1], verbs_of(argv[0]));
	snprintf(cmdname, sizeof(cmdname), "%s %s", v->noun, v->verb);
	a.cmd = cmdname;
	allowed = OPTS_CHANGE;
	for (i = 0; v->need[i] != O_MAX; i++)
		allowed |= OPT(v->need[i]);
	for (f = v->fields; f != NULL && f->id != O_MAX; f++)
		allowed |= OPT(f->id);
	if (v->fields == group_fields)
		allowed |= OPT(O_PORT_OVERRIDE);
	rc = parse_args(argc - 1, argv + 1, allowed, ctx, &a, &help);
	if (rc == 0 && !help && is_drain(v) && a.n_pos == 1 && a.val[O_ACCELERATOR] == NULL &&
			a.val[O_LISTENER] == NULL && a.val[O_GROUP] == NULL &&
			a.val[O_ADDRESS] == NULL) {
		/* drain KEY: the endpoint's key as show endpoints prints it */
		req = request(ctx, v->cmd, true);
		json_object_set_new(req, "key", json_string(a.pos[0]));
		rc = call(ctx, req, &reply);
		return rc != 0 ? rc : drain_result(ctx, cmdname, reply);
	}
	if (rc == 0 && !help && (rc = no_positional(&a)) == 0)
		rc = require(&a, v->need);
	req = rc == 0 && !help ? api_request(ctx, v, &a, &rc) : NULL;
	json_decref(a.port_overrides);
	if (help)
		return usage(NULL);
	if (req == NULL)
		return rc;
	rc = call(ctx, req, &reply);
	if (rc != 0)
		return rc;
	if (is_drain(v))
		return drain_result(ctx, cmdname, reply);
	return change_result(ctx, v->cmd, v->cmd, reply);
}

/* The global options before the command; returns the index of the command in argv. */
static int
global_options(int argc, char **argv, struct ctx *ctx, int *rc)
{
	int i = 1;

	*rc = -1;
	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		const char *arg = argv[i], *val = NULL;

		if (strcmp(arg, "--json") == 0) {
			ctx->json = true;
			i++;
			continue;
		}
		if (strcmp(arg, "--socket") == 0 || strcmp(arg, "--timeout") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "gaxctl: option '%s' needs a value\n", arg);
				*rc = EXIT_USAGE;
				return i;
			}
			val = argv[++i];
		} else if (strncmp(arg, "--socket=", 9) == 0 ||
				strncmp(arg, "--timeout=", 10) == 0) {
			val = strchr(arg, '=') + 1;
		} else {
			break;
		}
		if (arg[2] == 's') {
			ctx->socket = val;
		} else if (!parse_double(val, &ctx->timeout_s) || ctx->timeout_s <= 0) {
			fprintf(stderr, "gaxctl: --timeout takes seconds (a positive number), "
					"got '%s'\n", val);
			*rc = EXIT_USAGE;
			return i;
		}
		i++;
	}
	return i;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct ctx *ctx, int argc, char **argv);
	} remote[] = {
		{ "apply", cmd_apply }, { "reload", cmd_reload }, { "ping", cmd_ping },
		{ "show", cmd_show }, { "stats", cmd_stats }, { "flows", cmd_flows },
		{ "listener", cmd_api }, { "endpoint-group", cmd_api }, { "endpoint", cmd_api },
	};
	struct ctx ctx = { .timeout_s = GAXCTL_DEFAULT_TIMEOUT_S };
	const char *cmd, *env = getenv("GAX_SOCKET");
	size_t i;
	int at, rc;

	ctx.socket = env != NULL && env[0] != '\0' ? env : GAXCTL_DEFAULT_SOCKET;
	at = global_options(argc, argv, &ctx, &rc);
	if (rc >= 0)
		return rc;
	if (at >= argc)
		return usage(NULL);
	cmd = argv[at];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("gaxctl %s\n", GAX_VERSION);
		return 0;
	}
	if (strcmp(cmd, "validate") == 0)
		return cmd_validate(argc - at, argv + at);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - at, argv + at);
	if (strcmp(cmd, "explain") == 0)
		return cmd_explain(argc - at, argv + at);
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if (strcmp(cmd, remote[i].name) == 0)
			return remote[i].fn(&ctx, argc - at, argv + at);
	fprintf(stderr, "gaxctl: unknown command '%s'\n", cmd);
	return usage(NULL);
}
