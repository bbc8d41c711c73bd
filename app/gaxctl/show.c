/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxd's replies for people: aligned tables of listeners, endpoint groups,
 * endpoints and flows, the counters of stats (with rates per second when
 * watching), the status line of ping, and diagnostics in the form
 * `gaxctl validate` prints. Scripts use --json, which prints the reply as
 * gaxd sent it; nothing here is meant to be parsed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gaxctl.h"

/* ---- Tables ------------------------------------------------------------------ */

#define COLS_MAX 16
#define COL_GAP "  "

struct column {
	const char *head;
	bool right; /* numbers are right-aligned */
	bool rate;  /* a rate per second: shown only when there is an earlier sample */
};

struct table {
	const struct column *cols;
	unsigned int n_cols;
	char **cells; /* n_rows * n_cols, row-major */
	unsigned int n_rows;
	unsigned int cap;
	bool hide_rates;
};

static void
table_init(struct table *t, const struct column *cols, unsigned int n_cols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->n_cols = n_cols;
}

/* Append a row of n_cols strings (copied); a failed allocation drops the row. */
static void
table_row(struct table *t, char *const *cells)
{
	unsigned int i;

	if (t->n_rows == t->cap) {
		unsigned int cap = t->cap == 0 ? 16 : t->cap * 2;
		char **nc = realloc(t->cells, (size_t)cap * t->n_cols * sizeof(*nc));

		if (nc == NULL)
			return;
		t->cells = nc;
		t->cap = cap;
	}
	for (i = 0; i < t->n_cols; i++) {
		char *c = strdup(cells[i] != NULL ? cells[i] : "-");

		t->cells[(size_t)t->n_rows * t->n_cols + i] = c != NULL ? c : strdup("");
	}
	t->n_rows++;
}

static void
table_print(FILE *out, const struct table *t, const char *indent)
{
	size_t w[COLS_MAX] = { 0 }, len;
	unsigned int r, c;

	for (c = 0; c < t->n_cols; c++)
		w[c] = strlen(t->cols[c].head);
	for (r = 0; r < t->n_rows; r++)
		for (c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[(size_t)r * t->n_cols + c];

			len = s != NULL ? strlen(s) : 0;
			if (len > w[c])
				w[c] = len;
		}
	for (r = 0; r <= t->n_rows; r++) {
		fputs(indent, out);
		for (c = 0; c < t->n_cols; c++) {
			const char *s = r == 0 ? t->cols[c].head :
				t->cells[(size_t)(r - 1) * t->n_cols + c];
			bool last = c + 1 == t->n_cols;

			if (t->hide_rates && t->cols[c].rate)
				continue;
			if (s == NULL)
				s = "";
			if (t->cols[c].right)
				fprintf(out, "%*s", (int)w[c], s);
			else if (last)
				fputs(s, out);
			else
				fprintf(out, "%-*s", (int)w[c], s);
			if (!last)
				fputs(COL_GAP, out);
		}
		fputc('\n', out);
	}
}

static void
table_fini(struct table *t)
{
	size_t i;

	for (i = 0; i < (size_t)t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- Cells --------------------------------------------------------------------- */

/* Scratch strings for one row: each cell gets a slot. */
struct row {
	char buf[COLS_MAX][256];
	char *cells[COLS_MAX];
	unsigned int n;
};

static void
row_init(struct row *r)
{
	r->n = 0;
}

static void
row_add(struct row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
row_add(struct row *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n == COLS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(r->buf[r->n], sizeof(r->buf[r->n]), fmt, ap);
	va_end(ap);
	r->cells[r->n] = r->buf[r->n];
	r->n++;
}

/* A JSON value as a cell: strings as they are, numbers, yes/no, arrays joined by ",". */
static void
value_str(const json_t *v, char *buf, size_t len)
{
	size_t i, o = 0;
	const json_t *e;

	buf[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		snprintf(buf, len, "-");
	} else if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		snprintf(buf, len, "%.1f", json_real_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			snprintf(buf, len, "-");
		json_array_foreach(v, i, e) {
			char one[128];

			value_str(e, one, sizeof(one));
			if (o < len)
				o += (size_t)snprintf(buf + o, len - o, "%s%s", i > 0 ? "," : "",
						one);
		}
	} else {
		char *s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, len, "%s", s != NULL ? s : "?");
		free(s);
	}
}

static void
row_value(struct row *r, const json_t *o, const char *field)
{
	char buf[256];

	value_str(json_object_get(o, field), buf, sizeof(buf));
	row_add(r, "%s", buf);
}

static const char *
str_of(const json_t *o, const char *field)
{
	const char *s = json_string_value(json_object_get(o, field));

	return s != NULL ? s : "-";
}

static json_int_t
int_of(const json_t *o, const char *field)
{
	return json_integer_value(json_object_get(o, field));
}

static void
print_uptime(FILE *out, double s)
{
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t >= 86400)
		fprintf(out, "%lud %02luh %02lum", t / 86400, t / 3600 % 24, t / 60 % 60);
	else if (t >= 3600)
		fprintf(out, "%luh %02lum %02lus", t / 3600, t / 60 % 60, t % 60);
	else if (t >= 60)
		fprintf(out, "%lum %02lus", t / 60, t % 60);
	else
		fprintf(out, "%.1f s", s);
}

/* ---- ping ------------------------------------------------------------------------ */

void
gaxctl_print_ping(FILE *out, const char *path, const json_t *reply)
{
	json_int_t workers = int_of(reply, "workers");

	fprintf(out, "gaxd %s at %s: generation %" JSON_INTEGER_FORMAT ", up ",
			str_of(reply, "version"), path, int_of(reply, "generation"));
	print_uptime(out, json_number_value(json_object_get(reply, "uptime_s")));
	fprintf(out, ", %" JSON_INTEGER_FORMAT " worker%s, config %s", workers,
			workers == 1 ? "" : "s", str_of(reply, "config_path"));
	if (json_is_integer(json_object_get(reply, "applied")))
		fprintf(out, ", %" JSON_INTEGER_FORMAT " change%s applied, %" JSON_INTEGER_FORMAT
				" refused", int_of(reply, "applied"),
				int_of(reply, "applied") == 1 ? "" : "s", int_of(reply, "refused"));
	fputc('\n', out);
}

/* ---- show ------------------------------------------------------------------------ */

static void
show_listeners(FILE *out, const json_t *arr)
{
	static const struct column cols[] = {
		{ "ACCELERATOR", false }, { "LISTENER", false }, { "PROTOCOL", false },
		{ "PORTS", false }, { "AFFINITY", false }, { "IDLE", true },
		{ "ADDRESSES", false }, { "GROUPS", false }, { "NEW FLOWS", true },
		{ "ACTIVE", true },
	};
	struct table t;
	struct row r;
	const json_t *l;
	size_t i;

	table_init(&t, cols, sizeof(cols) / sizeof(cols[0]));
	json_array_foreach(arr, i, l) {
		row_init(&r);
		row_value(&r, l, "accelerator");
		row_value(&r, l, "name");
		row_value(&r, l, "protocol");
		row_value(&r, l, "ports");
		row_value(&r, l, "client_affinity");
		row_add(&r, "%" JSON_INTEGER_FORMAT " s", int_of(l, "idle_timeout"));
		row_value(&r, l, "addresses");
		row_value(&r, l, "groups");
		row_value(&r, l, "new_flows");
		row_value(&r, l, "active_flows");
		table_row(&t, r.cells);
	}
	table_print(out, &t, "");
	table_fini(&t);
}

static void
show_groups(FILE *out, const json_t *arr)
{
	static const struct column cols[] = {
		{ "LISTENER", false }, { "GROUP", false }, { "REGION", false },
		{ "TRAFFIC", true }, { "SHARE", true }, { "CLIENT IP", false },
		{ "PORT OVERRIDES", false }, { "ENDPOINTS", true }, { "ACTIVE", true },
	};
	struct table t;
	struct row r;
	const json_t *g, *po;
	size_t i, k;

	table_init(&t, cols, sizeof(cols) / sizeof(cols[0]));
	json_array_foreach(arr, i, g) {
		char ov[256] = "-";
		size_t o = 0;

		row_init(&r);
		row_value(&r, g, "listener");
		row_value(&r, g, "name");
		row_value(&r, g, "region");
		row_add(&r, "%" JSON_INTEGER_FORMAT "%%", int_of(g, "traffic_percentage"));
		row_add(&r, "%.1f%%", json_number_value(json_object_get(g, "share")));
		row_add(&r, "%s", json_is_true(json_object_get(g, "reserve_client_ip")) ?
				"reserved" : "nat");
		json_array_foreach(json_object_get(g, "port_overrides"), k, po)
			if (o < sizeof(ov))
				o += (size_t)snprintf(ov + o, sizeof(ov) - o,
						"%s%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT,
						k > 0 ? "," : "", int_of(po, "listener_port"),
						int_of(po, "endpoint_port"));
		row_add(&r, "%s", ov);
		row_add(&r, "%zu", json_array_size(json_object_get(g, "endpoints")));
		row_value(&r, g, "active_flows");
		table_row(&t, r.cells);
	}
	table_print(out, &t, "");
	table_fini(&t);
}

static void
show_endpoints(FILE *out, const json_t *arr)
{
	static const struct column cols[] = {
		{ "GROUP", false }, { "ADDRESS", false }, { "TYPE", false },
		{ "RESOLVED", false }, { "WEIGHT", true }, { "DRAINED", false },
		{ "STATE", false }, { "HEALTH", false }, { "LAST", false },
		{ "CHANGED", false }, { "SHARE", true }, { "NEW FLOWS", true },
		{ "ACTIVE", true }, { "REASON", false },
	};
	struct table t;
	struct row r;
	const json_t *e, *res;
	size_t i;

	table_init(&t, cols, sizeof(cols) / sizeof(cols[0]));
	json_array_foreach(arr, i, e) {
		row_init(&r);
		row_value(&r, e, "group");
		row_value(&r, e, "address");
		row_value(&r, e, "type");
		row_value(&r, e, "resolved");
		row_value(&r, e, "weight");
		row_value(&r, e, "drained");
		row_value(&r, e, "state");
		row_value(&r, e, "health");
		row_value(&r, e, "last_result");
		if (json_is_integer(json_object_get(e, "since_change_s"))) {
			/* The time of day (UTC) is enough beside the age; --json has the date. */
			const char *at = strchr(str_of(e, "last_change"), 'T');

			row_add(&r, "%s (%" JSON_INTEGER_FORMAT " s ago)",
					at != NULL ? at + 1 : str_of(e, "last_change"),
					int_of(e, "since_change_s"));
		}
		else
			row_add(&r, "-");
		row_add(&r, "%.1f%%", json_number_value(json_object_get(e, "share")));
		row_value(&r, e, "new_flows");
		row_value(&r, e, "active_flows");
		row_value(&r, e, "reason");
		table_row(&t, r.cells);
	}
	table_print(out, &t, "");
	table_fini(&t);
	/* Why a domain endpoint serves nothing: the resolver's word. */
	json_array_foreach(arr, i, e) {
		const char *err;

		res = json_object_get(e, "resolution");
		err = json_string_value(json_object_get(res, "last_error"));
		if (err != NULL && err[0] != '\0')
			fprintf(out, "%s: resolution %s, %" JSON_INTEGER_FORMAT " failure%s: %s\n",
					str_of(e, "key"), str_of(res, "state"),
					int_of(res, "failures"),
					int_of(res, "failures") == 1 ? "" : "s", err);
	}
}

void
gaxctl_print_show(FILE *out, const char *what, const json_t *reply)
{
	const json_t *arr;

	if (strcmp(what, "listeners") == 0)
		arr = json_object_get(reply, "listeners");
	else if (strcmp(what, "endpoint-groups") == 0)
		arr = json_object_get(reply, "endpoint_groups");
	else
		arr = json_object_get(reply, "endpoints");
	if (json_array_size(arr) == 0) {
		fprintf(out, "no %s\n", strcmp(what, "endpoint-groups") == 0 ? "endpoint groups" :
				what);
		return;
	}
	if (strcmp(what, "listeners") == 0)
		show_listeners(out, arr);
	else if (strcmp(what, "endpoint-groups") == 0)
		show_groups(out, arr);
	else
		show_endpoints(out, arr);
}

/* ---- stats ------------------------------------------------------------------------- */

/* The element of @p arr whose @p field equals that of @p o (stats entries by name or key). */
static const json_t *
match(const json_t *arr, const char *field, const json_t *o)
{
	const char *want = json_string_value(json_object_get(o, field));
	const json_t *e;
	size_t i;

	if (want == NULL)
		return NULL;
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(json_object_get(e, field));

		if (s != NULL && strcmp(s, want) == 0)
			return e;
	}
	return NULL;
}

/* Per second between two samples of a counter; "-" without an earlier sample. */
static void
row_rate(struct row *r, const json_t *now, const json_t *before, const char *field,
		double interval_s)
{
	json_int_t a, b;

	if (before == NULL || interval_s <= 0) {
		row_add(r, "-");
		return;
	}
	a = int_of(now, field);
	b = int_of(before, field);
	row_add(r, "%.0f", a >= b ? (double)(a - b) / interval_s : 0.0);
}

void
gaxctl_print_stats(FILE *out, const json_t *reply, const json_t *prev, double interval_s)
{
	static const struct column port_cols[] = {
		{ "INTERFACE", false }, { "DEVICE", false }, { "RX PACKETS", true },
		{ "RX BYTES", true }, { "TX PACKETS", true }, { "TX BYTES", true },
		{ "RX PPS", true, true }, { "TX PPS", true, true }, { "MISSED", true },
		{ "RX ERR", true }, { "TX ERR", true }, { "ARP REQ", true },
		{ "ARP REP", true }, { "ECHO", true },
	};
	static const struct column listener_cols[] = {
		{ "LISTENER", false }, { "PACKETS IN", true }, { "BYTES IN", true },
		{ "PACKETS OUT", true }, { "BYTES OUT", true }, { "IN PPS", true, true },
		{ "NEW FLOWS", true }, { "NEW/S", true, true }, { "ACTIVE", true },
	};
	static const struct column endpoint_cols[] = {
		{ "ENDPOINT", false }, { "ADDRESS", false }, { "WEIGHT", true },
		{ "PACKETS TO", true }, { "BYTES TO", true }, { "PACKETS FROM", true },
		{ "BYTES FROM", true }, { "TO PPS", true, true }, { "NEW FLOWS", true },
		{ "ACTIVE", true },
	};
	const json_t *arr, *e, *pe, *drops, *pdrops, *v;
	const char *key;
	bool any = false;
	struct table t;
	struct row r;
	size_t i;

	if (prev != NULL && interval_s <= 0)
		prev = NULL;
	fprintf(out, "generation %" JSON_INTEGER_FORMAT ", up ", int_of(reply, "generation"));
	print_uptime(out, json_number_value(json_object_get(reply, "uptime_s")));
	fputc('\n', out);

	fputs("ports\n", out);
	table_init(&t, port_cols, sizeof(port_cols) / sizeof(port_cols[0]));
	t.hide_rates = prev == NULL && interval_s <= 0;
	arr = json_object_get(reply, "ports");
	json_array_foreach(arr, i, e) {
		pe = prev != NULL ? match(json_object_get(prev, "ports"), "name", e) : NULL;
		row_init(&r);
		row_value(&r, e, "interface");
		row_value(&r, e, "name");
		row_value(&r, e, "rx_packets");
		row_value(&r, e, "rx_bytes");
		row_value(&r, e, "tx_packets");
		row_value(&r, e, "tx_bytes");
		row_rate(&r, e, pe, "rx_packets", interval_s);
		row_rate(&r, e, pe, "tx_packets", interval_s);
		row_value(&r, e, "rx_missed");
		row_value(&r, e, "rx_errors");
		row_value(&r, e, "tx_errors");
		row_value(&r, e, "arp_requests");
		row_value(&r, e, "arp_replies");
		row_value(&r, e, "icmp_echo_replies");
		table_row(&t, r.cells);
	}
	table_print(out, &t, "  ");
	table_fini(&t);

	arr = json_object_get(reply, "listeners");
	fputs("listeners\n", out);
	if (json_array_size(arr) == 0)
		fputs("  none\n", out);
	table_init(&t, listener_cols, sizeof(listener_cols) / sizeof(listener_cols[0]));
	t.hide_rates = prev == NULL && interval_s <= 0;
	json_array_foreach(arr, i, e) {
		pe = prev != NULL ? match(json_object_get(prev, "listeners"), "key", e) : NULL;
		row_init(&r);
		row_value(&r, e, "key");
		row_value(&r, e, "packets_in");
		row_value(&r, e, "bytes_in");
		row_value(&r, e, "packets_out");
		row_value(&r, e, "bytes_out");
		row_rate(&r, e, pe, "packets_in", interval_s);
		row_value(&r, e, "new_flows");
		row_rate(&r, e, pe, "new_flows", interval_s);
		row_value(&r, e, "active_flows");
		table_row(&t, r.cells);
	}
	if (t.n_rows > 0)
		table_print(out, &t, "  ");
	table_fini(&t);

	arr = json_object_get(reply, "endpoints");
	fputs("endpoints\n", out);
	if (json_array_size(arr) == 0)
		fputs("  none\n", out);
	table_init(&t, endpoint_cols, sizeof(endpoint_cols) / sizeof(endpoint_cols[0]));
	t.hide_rates = prev == NULL && interval_s <= 0;
	json_array_foreach(arr, i, e) {
		pe = prev != NULL ? match(json_object_get(prev, "endpoints"), "key", e) : NULL;
		row_init(&r);
		row_value(&r, e, "key");
		row_value(&r, e, "address");
		row_value(&r, e, "weight");
		row_value(&r, e, "packets_to");
		row_value(&r, e, "bytes_to");
		row_value(&r, e, "packets_from");
		row_value(&r, e, "bytes_from");
		row_rate(&r, e, pe, "packets_to", interval_s);
		row_value(&r, e, "new_flows");
		row_value(&r, e, "active_flows");
		table_row(&t, r.cells);
	}
	if (t.n_rows > 0)
		table_print(out, &t, "  ");
	table_fini(&t);

	fputs("flows:", out);
	i = 0;
	json_object_foreach((json_t *)json_object_get(reply, "flows"), key, v) {
		char buf[64];

		value_str(v, buf, sizeof(buf));
		fprintf(out, "%s %s %s", i++ > 0 ? "," : "", key, buf);
	}
	fputs(i == 0 ? " -\n" : "\n", out);

	fputs("drops:", out);
	drops = json_object_get(reply, "drops");
	pdrops = prev != NULL ? json_object_get(prev, "drops") : NULL;
	json_object_foreach((json_t *)drops, key, v) {
		json_int_t n = json_integer_value(v);

		if (n == 0)
			continue;
		fprintf(out, "%s %s %" JSON_INTEGER_FORMAT, any ? "," : "", key, n);
		if (pdrops != NULL) {
			json_int_t b = json_integer_value(json_object_get(pdrops, key));

			fprintf(out, " (%.0f/s)", n >= b ? (double)(n - b) / interval_s : 0.0);
		}
		any = true;
	}
	fputs(any ? "\n" : " none\n", out);

	v = json_object_get(reply, "health");
	if (json_is_object(v))
		fprintf(out, "health: %" JSON_INTEGER_FORMAT " endpoints checked, %"
				JSON_INTEGER_FORMAT " unhealthy, %" JSON_INTEGER_FORMAT " drained; %"
				JSON_INTEGER_FORMAT " listeners failed open now (%" JSON_INTEGER_FORMAT
				" fail-open events); %" JSON_INTEGER_FORMAT " state changes, %"
				JSON_INTEGER_FORMAT " republished; probes %" JSON_INTEGER_FORMAT
				", failed %" JSON_INTEGER_FORMAT ", errors %" JSON_INTEGER_FORMAT "\n",
				int_of(v, "targets"), int_of(v, "unhealthy"), int_of(v, "drained"),
				int_of(v, "listeners_failed_open"), int_of(v, "fail_open_events"),
				int_of(v, "state_changes"), int_of(v, "republished"),
				int_of(v, "probes"), int_of(v, "probe_failures"),
				int_of(v, "probe_errors"));
}

/* ---- flows ------------------------------------------------------------------------- */

void
gaxctl_print_flows(FILE *out, const json_t *reply)
{
	static const struct column cols[] = {
		{ "CLIENT", false }, { "VIP", false }, { "ENDPOINT", false }, { "NAT", false },
		{ "PROTO", false }, { "LISTENER", false }, { "STATE", false }, { "IDLE", true },
		{ "PKTS IN", true }, { "PKTS OUT", true }, { "BYTES IN", true },
		{ "BYTES OUT", true }, { "WORKER", true },
	};
	const json_t *arr = json_object_get(reply, "flows"), *f;
	json_int_t count = int_of(reply, "count"), matched = int_of(reply, "matched");
	struct table t;
	struct row r;
	size_t i;

	fprintf(out, "%" JSON_INTEGER_FORMAT " flow%s in all tables, %" JSON_INTEGER_FORMAT
			" matching, %zu shown\n", count, count == 1 ? "" : "s", matched,
			json_array_size(arr));
	if (json_array_size(arr) == 0)
		return;
	table_init(&t, cols, sizeof(cols) / sizeof(cols[0]));
	json_array_foreach(arr, i, f) {
		row_init(&r);
		row_value(&r, f, "client");
		row_value(&r, f, "vip");
		row_value(&r, f, "endpoint");
		row_value(&r, f, "nat");
		row_value(&r, f, "protocol");
		row_value(&r, f, "listener");
		row_value(&r, f, "state");
		row_add(&r, "%.1f s", json_number_value(json_object_get(f, "idle_s")));
		row_value(&r, f, "packets_in");
		row_value(&r, f, "packets_out");
		row_value(&r, f, "bytes_in");
		row_value(&r, f, "bytes_out");
		row_value(&r, f, "worker");
		table_row(&t, r.cells);
	}
	table_print(out, &t, "");
	table_fini(&t);
}

/* ---- diagnostics ------------------------------------------------------------------- */

void
gaxctl_print_diagnostics(FILE *out, const char *prefix, const json_t *diagnostics)
{
	const json_t *d;
	size_t i;

	json_array_foreach(diagnostics, i, d) {
		const char *path = json_string_value(json_object_get(d, "path"));
		const char *msg = json_string_value(json_object_get(d, "message"));
		json_int_t line = int_of(d, "line");
		bool warning = json_is_string(json_object_get(d, "severity")) &&
			strcmp(json_string_value(json_object_get(d, "severity")), "warning") == 0;

		if (line > 0) {
			if (prefix != NULL)
				fprintf(out, "%s:", prefix);
			fprintf(out, "%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT ": ", line,
					int_of(d, "column"));
		} else if (prefix != NULL) {
			fprintf(out, "%s: ", prefix);
		}
		if (warning)
			fputs("warning: ", out);
		if (path != NULL && path[0] != '\0' && line <= 0)
			fprintf(out, "%s: ", path);
		fprintf(out, "%s\n", msg != NULL ? msg : "?");
	}
}
