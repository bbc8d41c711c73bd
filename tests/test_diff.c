/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the review before apply (lib/diff). Configurations are loaded from
 * JSON text through gax_config_load_buffer(), as gaxctl does; each field test
 * edits one spot of a base document and expects exactly one change. Edge
 * cases come first (NULL configurations, identical files), then matching,
 * ordering, the text and JSON renderings, and a large file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>

#include <gax_config.h>
#include <gax_diff.h>

/* Relative certificate paths in the documents below are taken from here. */
#define CONFIG_DIR GAX_SOURCE_ROOT "/config"

/* ---- The base document, in pieces so tests can reorder them ---------------- */

#define LIMITS \
	"\"limits\": { \"ports_per_listener\": 30, \"endpoints_per_group\": 4," \
	" \"maglev_table_size\": 65537 }"

#define IF_WAN \
	"{ \"name\": \"wan\", \"device\": \"net_af_packet0\", \"addresses\": [\"10.0.0.1/24\"]," \
	" \"gateway\": \"10.0.0.254\"," \
	" \"neighbors\": [ { \"address\": \"10.0.0.253\", \"mac\": \"02:00:00:00:00:fd\" } ] }"

#define IF_LAN \
	"{ \"name\": \"lan\", \"device\": \"net_af_packet1\", \"addresses\": [\"10.1.0.1/24\"] }"

#define EP_11 "{ \"address\": \"10.1.0.11\", \"weight\": 100 }"
#define EP_12 "{ \"address\": \"10.1.0.12\", \"weight\": 50 }"

#define L_TCP80(EPS) \
	"{ \"name\": \"tcp-80\", \"protocol\": \"tcp\", \"port_ranges\": \"80,8080~8085\"," \
	" \"client_affinity\": \"source_ip\", \"idle_timeout\": 20," \
	" \"endpoint_groups\": [" \
	"  { \"name\": \"eg-local\", \"region\": \"local\"," \
	"    \"port_overrides\": [ { \"listener_port\": 80, \"endpoint_port\": 8080 } ]," \
	"    \"health_check\": { \"protocol\": \"tcp\", \"port\": 8080 }," \
	"    \"endpoints\": [ " EPS " ] } ] }"

#define L_HTTPS443 \
	"{ \"name\": \"https-443\", \"protocol\": \"https\", \"port_ranges\": \"443\"," \
	" \"request_timeout\": 60," \
	" \"certificates\": [ { \"cert\": \"certs/demo.pem\", \"key\": \"certs/demo.key\" } ]," \
	" \"endpoint_groups\": [" \
	"  { \"name\": \"eg-app\", \"endpoint_request_protocol\": \"http\"," \
	"    \"endpoints\": [ { \"address\": \"app.example.internal\", \"weight\": 10 } ] } ] }"

#define ACC_API "{ \"name\": \"api\", \"addresses\": [\"10.0.0.101\"] }"

#define DOC(LISTENERS) \
	"{ " LIMITS ", \"interfaces\": [ " IF_WAN ", " IF_LAN " ]," \
	" \"accelerators\": [" \
	"  { \"name\": \"web\", \"addresses\": [\"10.0.0.100\"]," \
	"    \"listeners\": [ " LISTENERS " ] }," \
	"  " ACC_API " ] }"

static const char BASE[] = DOC(L_TCP80(EP_11 ", " EP_12) ", " L_HTTPS443);

/* ---- Helpers -------------------------------------------------------------- */

static struct gax_config *
load_dir(const char *json, const char *base_dir)
{
	struct gax_diags diags;
	struct gax_config *cfg;

	gax_diags_init(&diags);
	cfg = gax_config_load_buffer(json, strlen(json), base_dir, &diags);
	if (cfg == NULL)
		gax_diags_print(stderr, "test", &diags);
	gax_diags_fini(&diags);
	cr_assert_not_null(cfg, "the test document does not load: %s", json);
	return cfg;
}

static struct gax_config *
load(const char *json)
{
	return load_dir(json, CONFIG_DIR);
}

/* @p s with the first occurrence of @p from replaced by @p to (malloc'ed). */
static char *
subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t head, len;
	char *r;

	cr_assert_not_null(at, "\"%s\" is not in the document", from);
	head = (size_t)(at - s);
	len = strlen(s) - strlen(from) + strlen(to);
	r = malloc(len + 1);
	cr_assert_not_null(r);
	memcpy(r, s, head);
	memcpy(r + head, to, strlen(to));
	strcpy(r + head + strlen(to), at + strlen(from));
	return r;
}

static struct gax_diff *
diff_texts(const char *old_json, const char *new_json)
{
	struct gax_config *o = load(old_json);
	struct gax_config *n = load(new_json);
	struct gax_diff *d = gax_diff_compute(o, n);

	cr_assert_not_null(d);
	gax_config_free(o);
	gax_config_free(n);
	return d;
}

/* BASE against BASE with one edit. */
static struct gax_diff *
diff_edit(const char *from, const char *to)
{
	char *edited = subst(BASE, from, to);
	struct gax_diff *d = diff_texts(BASE, edited);

	free(edited);
	return d;
}

static char *
print_to_string(const struct gax_diff *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	gax_diff_print(f, d);
	fclose(f);
	return buf;
}

static void
expect_change(const struct gax_change *ch, enum gax_change_op op, enum gax_change_kind kind,
		const char *object, const char *field, const char *old_value,
		const char *new_value)
{
	cr_expect_eq(ch->op, op, "%s: op %d, expected %d", object, ch->op, op);
	cr_expect_eq(ch->kind, kind, "%s: kind %d, expected %d", object, ch->kind, kind);
	cr_expect_str_eq(ch->object, object);
	if (field == NULL)
		cr_expect_null(ch->field, "%s: field %s, expected none", object, ch->field);
	else
		cr_expect(ch->field != NULL && strcmp(ch->field, field) == 0,
				"%s: field %s, expected %s", object, ch->field, field);
	if (old_value == NULL)
		cr_expect_null(ch->old_value, "%s: old %s, expected none", object, ch->old_value);
	else
		cr_expect(ch->old_value != NULL && strcmp(ch->old_value, old_value) == 0,
				"%s %s: old \"%s\", expected \"%s\"", object, field,
				ch->old_value, old_value);
	if (new_value == NULL)
		cr_expect_null(ch->new_value, "%s: new %s, expected none", object, ch->new_value);
	else
		cr_expect(ch->new_value != NULL && strcmp(ch->new_value, new_value) == 0,
				"%s %s: new \"%s\", expected \"%s\"", object, field,
				ch->new_value, new_value);
}

/* ---- Edge cases ------------------------------------------------------------- */

Test(diff_edge, free_null_is_allowed)
{
	gax_diff_free(NULL);
}

Test(diff_edge, null_against_null_is_empty)
{
	struct gax_diff *d = gax_diff_compute(NULL, NULL);
	char *text;

	cr_assert_not_null(d);
	cr_expect_eq(d->n_changes, 0);
	text = print_to_string(d);
	cr_expect_str_eq(text, "No changes.\n");
	free(text);
	gax_diff_free(d);
}

Test(diff_edge, print_null_diff_says_no_changes)
{
	char *text = print_to_string(NULL);

	cr_expect_str_eq(text, "No changes.\n");
	free(text);
}

Test(diff_edge, identical_configs_give_no_change)
{
	struct gax_diff *d = diff_texts(BASE, BASE);
	char *text;

	cr_expect_eq(d->n_changes, 0, "%u changes, first on %s", d->n_changes,
			d->n_changes > 0 ? d->changes[0].object : "");
	text = print_to_string(d);
	cr_expect_str_eq(text, "No changes.\n");
	free(text);
	gax_diff_free(d);
}

Test(diff_edge, same_config_object_gives_no_change)
{
	struct gax_config *c = load(BASE);
	struct gax_diff *d = gax_diff_compute(c, c);

	cr_assert_not_null(d);
	cr_expect_eq(d->n_changes, 0);
	gax_diff_free(d);
	gax_config_free(c);
}

Test(diff_edge, null_old_adds_every_top_level_object)
{
	struct gax_config *c = load(BASE);
	struct gax_diff *d = gax_diff_compute(NULL, c);

	cr_assert_not_null(d);
	/* Default limits match the empty configuration's: no limits change. */
	cr_assert_eq(d->n_changes, 4);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_INTERFACE, "interface:wan", NULL,
			NULL, "net_af_packet0, 10.0.0.1/24, gateway 10.0.0.254");
	expect_change(&d->changes[1], GAX_CHANGE_ADD, GAX_KIND_INTERFACE, "interface:lan", NULL,
			NULL, "net_af_packet1, 10.1.0.1/24");
	expect_change(&d->changes[2], GAX_CHANGE_ADD, GAX_KIND_ACCELERATOR, "web", NULL, NULL,
			"10.0.0.100, 2 listeners");
	expect_change(&d->changes[3], GAX_CHANGE_ADD, GAX_KIND_ACCELERATOR, "api", NULL, NULL,
			"10.0.0.101, 0 listeners");
	gax_diff_free(d);
	gax_config_free(c);
}

Test(diff_edge, null_new_removes_every_top_level_object)
{
	struct gax_config *c = load(BASE);
	struct gax_diff *d = gax_diff_compute(c, NULL);
	unsigned int i;

	cr_assert_not_null(d);
	cr_assert_eq(d->n_changes, 4);
	for (i = 0; i < d->n_changes; i++) {
		cr_expect_eq(d->changes[i].op, GAX_CHANGE_REMOVE);
		cr_expect_null(d->changes[i].new_value);
		cr_expect_not_null(d->changes[i].old_value);
	}
	expect_change(&d->changes[0], GAX_CHANGE_REMOVE, GAX_KIND_INTERFACE, "interface:wan",
			NULL, "net_af_packet0, 10.0.0.1/24, gateway 10.0.0.254", NULL);
	expect_change(&d->changes[2], GAX_CHANGE_REMOVE, GAX_KIND_ACCELERATOR, "web", NULL,
			"10.0.0.100, 2 listeners", NULL);
	gax_diff_free(d);
	gax_config_free(c);
}

Test(diff_edge, null_old_shows_raised_limits)
{
	char *doc = subst(BASE, "\"endpoints_per_group\": 4", "\"endpoints_per_group\": 8");
	struct gax_config *c = load(doc);
	struct gax_diff *d = gax_diff_compute(NULL, c);

	cr_assert_not_null(d);
	cr_assert_eq(d->n_changes, 5);
	expect_change(&d->changes[0], GAX_CHANGE_MODIFY, GAX_KIND_LIMITS, "limits",
			"endpoints_per_group", "4", "8");
	gax_diff_free(d);
	gax_config_free(c);
	free(doc);
}

/* ---- One field at a time ------------------------------------------------------ */

struct field_case {
	const char *from; /* text of BASE to replace */
	const char *to;
	enum gax_change_kind kind;
	const char *object;
	const char *field;
	const char *old_value;
	const char *new_value;
};

static const struct field_case field_cases[] = {
	{ "\"ports_per_listener\": 30", "\"ports_per_listener\": 40", GAX_KIND_LIMITS, "limits",
		"ports_per_listener", "30", "40" },
	{ "\"endpoints_per_group\": 4", "\"endpoints_per_group\": 8", GAX_KIND_LIMITS, "limits",
		"endpoints_per_group", "4", "8" },
	{ "\"maglev_table_size\": 65537", "\"maglev_table_size\": 251", GAX_KIND_LIMITS,
		"limits", "maglev_table_size", "65537", "251" },
	{ "net_af_packet1", "net_af_packet2", GAX_KIND_INTERFACE, "interface:lan", "device",
		"net_af_packet1", "net_af_packet2" },
	{ "\"10.1.0.1/24\"", "\"10.1.0.1/24\", \"10.1.0.2/24\"", GAX_KIND_INTERFACE,
		"interface:lan", "addresses", "10.1.0.1/24", "10.1.0.1/24, 10.1.0.2/24" },
	{ "\"gateway\": \"10.0.0.254\"", "\"gateway\": \"10.0.0.250\"", GAX_KIND_INTERFACE,
		"interface:wan", "gateway", "10.0.0.254", "10.0.0.250" },
	{ "\"gateway\": \"10.0.0.254\",", "", GAX_KIND_INTERFACE, "interface:wan", "gateway",
		"10.0.0.254", "none" },
	{ "\"gateway\": \"10.0.0.254\"", "\"gateway\": \"10.0.0.254\", \"kernel_twin\": \"gax-wan\"",
		GAX_KIND_INTERFACE, "interface:wan", "kernel_twin", "none", "gax-wan" },
	{ "02:00:00:00:00:fd", "02:00:00:00:00:fc", GAX_KIND_INTERFACE, "interface:wan",
		"neighbors", "10.0.0.253 02:00:00:00:00:fd", "10.0.0.253 02:00:00:00:00:fc" },
	{ "\"10.0.0.100\"", "\"10.0.0.100\", \"10.0.0.102\"", GAX_KIND_ACCELERATOR, "web",
		"addresses", "10.0.0.100", "10.0.0.100, 10.0.0.102" },
	{ "\"protocol\": \"tcp\", \"port_ranges\"", "\"protocol\": \"udp\", \"port_ranges\"",
		GAX_KIND_LISTENER, "web/tcp-80", "protocol", "tcp", "udp" },
	{ "80,8080~8085", "80,8080~8086", GAX_KIND_LISTENER, "web/tcp-80", "port_ranges",
		"80,8080~8085", "80,8080~8086" },
	{ "\"source_ip\"", "\"none\"", GAX_KIND_LISTENER, "web/tcp-80", "client_affinity",
		"source_ip", "none" },
	{ "\"idle_timeout\": 20", "\"idle_timeout\": 15", GAX_KIND_LISTENER, "web/tcp-80",
		"idle_timeout", "20s", "15s" },
	{ "\"request_timeout\": 60", "\"request_timeout\": 30", GAX_KIND_LISTENER,
		"web/https-443", "request_timeout", "60s", "30s" },
	{ "\"region\": \"local\"", "\"region\": \"eu\"", GAX_KIND_ENDPOINT_GROUP,
		"web/tcp-80/eg-local", "region", "local", "eu" },
	{ "\"region\": \"local\",", "", GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-local", "region",
		"local", "none" },
	{ "\"region\": \"local\"", "\"region\": \"local\", \"traffic_percentage\": 50",
		GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-local", "traffic_percentage", "100%",
		"50%" },
	{ "\"region\": \"local\"", "\"region\": \"local\", \"reserve_client_ip\": true",
		GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-local", "reserve_client_ip", "false",
		"true" },
	{ "\"endpoint_request_protocol\": \"http\"", "\"endpoint_request_protocol\": \"https\"",
		GAX_KIND_ENDPOINT_GROUP, "web/https-443/eg-app", "endpoint_request_protocol",
		"http", "https" },
	{ "\"endpoint_port\": 8080", "\"endpoint_port\": 8081", GAX_KIND_ENDPOINT_GROUP,
		"web/tcp-80/eg-local", "port_overrides", "80->8080", "80->8081" },
	{ "\"port_overrides\": [ { \"listener_port\": 80, \"endpoint_port\": 8080 } ],",
		"\"port_overrides\": [ { \"listener_port\": 80, \"endpoint_port\": 8080 },"
		" { \"listener_port\": 8081, \"endpoint_port\": 9081 } ],",
		GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-local", "port_overrides", "80->8080",
		"80->8080, 8081->9081" },
	{ "\"port\": 8080", "\"port\": 8081", GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-local",
		"health_check", "tcp port 8080 every 2s timeout 2s threshold 3",
		"tcp port 8081 every 2s timeout 2s threshold 3" },
	{ "\"port\": 8080", "\"port\": 8080, \"enabled\": false", GAX_KIND_ENDPOINT_GROUP,
		"web/tcp-80/eg-local", "health_check",
		"tcp port 8080 every 2s timeout 2s threshold 3", "disabled" },
	{ "\"health_check\": { \"protocol\": \"tcp\", \"port\": 8080 },", "",
		GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-local", "health_check",
		"tcp port 8080 every 2s timeout 2s threshold 3", "none" },
	{ "\"endpoint_request_protocol\": \"http\",",
		"\"endpoint_request_protocol\": \"http\", \"health_check\": { \"path\": \"/hz\","
		" \"interval\": 5, \"threshold\": 2 },",
		GAX_KIND_ENDPOINT_GROUP, "web/https-443/eg-app", "health_check", "none",
		"https path /hz every 5s timeout 2s threshold 2" },
	{ "\"weight\": 100", "\"weight\": 70", GAX_KIND_ENDPOINT,
		"web/tcp-80/eg-local/10.1.0.11", "weight", "100", "70" },
	{ "\"weight\": 10 }", "\"weight\": 0 }", GAX_KIND_ENDPOINT,
		"web/https-443/eg-app/app.example.internal", "weight", "10", "0" },
};

#define N_FIELD_CASES (sizeof(field_cases) / sizeof(field_cases[0]))

/*
 * Criterion may run each test in a fresh process of this program, where
 * pointers differ: the parameter is an index into field_cases, not a pointer.
 */
ParameterizedTestParameters(diff_field, one_field_one_change)
{
	static unsigned int idx[N_FIELD_CASES];
	unsigned int i;

	for (i = 0; i < N_FIELD_CASES; i++)
		idx[i] = i;
	return cr_make_param_array(unsigned int, idx, N_FIELD_CASES);
}

ParameterizedTest(unsigned int *i, diff_field, one_field_one_change)
{
	const struct field_case *fc = &field_cases[*i];
	struct gax_diff *d = diff_edit(fc->from, fc->to);

	cr_assert_eq(d->n_changes, 1, "%s %s: %u changes (first %s %s)", fc->object, fc->field,
			d->n_changes, d->n_changes > 0 ? d->changes[0].object : "",
			d->n_changes > 0 && d->changes[0].field != NULL ? d->changes[0].field : "");
	expect_change(&d->changes[0], GAX_CHANGE_MODIFY, fc->kind, fc->object, fc->field,
			fc->old_value, fc->new_value);
	gax_diff_free(d);
}

static void
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	FILE *out = fopen(to, "wb");
	char buf[4096];
	size_t n;

	cr_assert_not_null(in, "%s: %s", from, strerror(errno));
	cr_assert_not_null(out, "%s: %s", to, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
}

/* Certificates are compared by the files they name: the same document read from another folder. */
Test(diff_field, certificates_compare_resolved_paths)
{
	static const char *const files[] = { "demo.pem", "demo.key" };
	char dir[] = "/tmp/gax-test-diff-XXXXXX";
	char certs[64], from[512], to[128];
	struct gax_config *o, *n;
	struct gax_diff *d;
	unsigned int i;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(certs, sizeof(certs), "%s/certs", dir);
	cr_assert_eq(mkdir(certs, 0700), 0);
	for (i = 0; i < 2; i++) {
		snprintf(from, sizeof(from), "%s/certs/%s", CONFIG_DIR, files[i]);
		snprintf(to, sizeof(to), "%s/%s", certs, files[i]);
		copy_file(from, to);
	}

	o = load(BASE);
	n = load_dir(BASE, dir);
	d = gax_diff_compute(o, n);
	cr_assert_not_null(d);
	cr_assert_eq(d->n_changes, 1);
	cr_expect_eq(d->changes[0].op, GAX_CHANGE_MODIFY);
	cr_expect_eq(d->changes[0].kind, GAX_KIND_LISTENER);
	cr_expect_str_eq(d->changes[0].object, "web/https-443");
	cr_expect_str_eq(d->changes[0].field, "certificates");
	cr_expect_not_null(strstr(d->changes[0].old_value, "certs/demo.pem (key "));
	cr_expect_not_null(strstr(d->changes[0].new_value, dir), "%s", d->changes[0].new_value);
	gax_diff_free(d);
	gax_config_free(o);
	gax_config_free(n);

	for (i = 0; i < 2; i++) {
		snprintf(to, sizeof(to), "%s/%s", certs, files[i]);
		cr_expect_eq(unlink(to), 0);
	}
	cr_expect_eq(rmdir(certs), 0);
	cr_expect_eq(rmdir(dir), 0);
}

/* An endpoint's type follows from its address, so no file can change it alone: edit the tree. */
Test(diff_field, endpoint_type)
{
	struct gax_config *o = load(BASE);
	struct gax_config *n = load(BASE);
	struct gax_endpoint *ep = &n->accelerators[0].listeners[0].groups[0].endpoints[1];
	struct gax_diff *d;

	ep->type = GAX_ENDPOINT_DOMAIN;
	d = gax_diff_compute(o, n);
	cr_assert_not_null(d);
	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_MODIFY, GAX_KIND_ENDPOINT,
			"web/tcp-80/eg-local/10.1.0.12", "type", "ip", "domain");
	gax_diff_free(d);
	gax_config_free(o);
	gax_config_free(n);
}

/* ---- Objects added, removed, renamed, reordered ---------------------------------- */

Test(diff_objects, endpoint_added)
{
	struct gax_diff *d = diff_edit(EP_12,
			EP_12 ", { \"address\": \"10.1.0.13\", \"weight\": 5 }");

	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_ENDPOINT,
			"web/tcp-80/eg-local/10.1.0.13", NULL, NULL, "weight 5");
	gax_diff_free(d);
}

Test(diff_objects, endpoint_removed)
{
	struct gax_diff *d = diff_edit(EP_11 ", ", "");

	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_REMOVE, GAX_KIND_ENDPOINT,
			"web/tcp-80/eg-local/10.1.0.11", NULL, "weight 100", NULL);
	gax_diff_free(d);
}

Test(diff_objects, added_objects_hide_their_children)
{
	char *doc = subst(BASE, ACC_API, ACC_API ", { \"name\": \"new\", \"addresses\":"
			" [\"10.0.0.102\"], \"listeners\": [ " L_TCP80(EP_11) " ] }");
	struct gax_diff *d = diff_texts(BASE, doc);

	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_ACCELERATOR, "new", NULL, NULL,
			"10.0.0.102, 1 listener");
	gax_diff_free(d);
	free(doc);
}

Test(diff_objects, listener_and_group_summaries)
{
	struct gax_diff *d = diff_texts(DOC(L_HTTPS443), BASE);

	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_LISTENER, "web/tcp-80", NULL,
			NULL, "tcp 80,8080~8085 affinity source_ip, 1 endpoint group");
	gax_diff_free(d);

	d = diff_edit("{ \"name\": \"eg-local\", \"region\": \"local\",",
			"{ \"name\": \"eg-2\", \"region\": \"eu\", \"traffic_percentage\": 50,"
			" \"endpoints\": [ { \"address\": \"10.1.0.40\", \"weight\": 1 } ] },"
			" { \"name\": \"eg-local\", \"region\": \"local\",");
	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_ENDPOINT_GROUP, "web/tcp-80/eg-2",
			NULL, NULL, "region eu, 50%, 1 endpoint");
	gax_diff_free(d);

	d = diff_edit("\"name\": \"eg-local\"", "\"name\": \"eg-other\"");
	cr_assert_eq(d->n_changes, 2);
	expect_change(&d->changes[1], GAX_CHANGE_REMOVE, GAX_KIND_ENDPOINT_GROUP,
			"web/tcp-80/eg-local", NULL, "region local, 100%, 2 endpoints", NULL);
	gax_diff_free(d);
}

Test(diff_objects, listener_renamed_is_one_remove_and_one_add)
{
	struct gax_diff *d = diff_edit("\"name\": \"tcp-80\"", "\"name\": \"tcp-81\"");
	unsigned int i, adds = 0, removes = 0;

	cr_assert_eq(d->n_changes, 2);
	for (i = 0; i < d->n_changes; i++) {
		const struct gax_change *ch = &d->changes[i];

		cr_expect_eq(ch->kind, GAX_KIND_LISTENER);
		if (ch->op == GAX_CHANGE_ADD) {
			adds++;
			cr_expect_str_eq(ch->object, "web/tcp-81");
		} else if (ch->op == GAX_CHANGE_REMOVE) {
			removes++;
			cr_expect_str_eq(ch->object, "web/tcp-80");
		}
	}
	cr_expect_eq(adds, 1);
	cr_expect_eq(removes, 1);
	gax_diff_free(d);
}

Test(diff_objects, interface_renamed_is_one_remove_and_one_add)
{
	struct gax_diff *d = diff_edit("\"name\": \"lan\"", "\"name\": \"inside\"");

	cr_assert_eq(d->n_changes, 2);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_INTERFACE, "interface:inside",
			NULL, NULL, "net_af_packet1, 10.1.0.1/24");
	expect_change(&d->changes[1], GAX_CHANGE_REMOVE, GAX_KIND_INTERFACE, "interface:lan",
			NULL, "net_af_packet1, 10.1.0.1/24", NULL);
	gax_diff_free(d);
}

Test(diff_objects, reordered_listeners_give_no_change)
{
	struct gax_diff *d = diff_texts(BASE, DOC(L_HTTPS443 ", " L_TCP80(EP_11 ", " EP_12)));

	cr_expect_eq(d->n_changes, 0);
	gax_diff_free(d);
}

Test(diff_objects, reordered_endpoints_give_no_change)
{
	struct gax_diff *d = diff_texts(BASE, DOC(L_TCP80(EP_12 ", " EP_11) ", " L_HTTPS443));

	cr_expect_eq(d->n_changes, 0);
	gax_diff_free(d);
}

Test(diff_objects, reordered_sets_give_no_change)
{
	char *a = subst(BASE, "\"10.0.0.100\"", "\"10.0.0.100\", \"10.0.0.102\"");
	char *b = subst(BASE, "\"10.0.0.100\"", "\"10.0.0.102\", \"10.0.0.100\"");
	struct gax_diff *d = diff_texts(a, b);

	cr_expect_eq(d->n_changes, 0, "accelerator addresses are a set");
	gax_diff_free(d);
	free(a);
	free(b);
}

Test(diff_objects, interface_address_order_matters)
{
	char *a = subst(BASE, "\"10.1.0.1/24\"", "\"10.1.0.1/24\", \"10.1.0.2/24\"");
	char *b = subst(BASE, "\"10.1.0.1/24\"", "\"10.1.0.2/24\", \"10.1.0.1/24\"");
	struct gax_diff *d = diff_texts(a, b);

	/* The first address is the full-NAT source. */
	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_MODIFY, GAX_KIND_INTERFACE, "interface:lan",
			"addresses", "10.1.0.1/24, 10.1.0.2/24", "10.1.0.2/24, 10.1.0.1/24");
	gax_diff_free(d);
	free(a);
	free(b);
}

Test(diff_objects, changes_follow_file_order)
{
	/* Old: 11, 12; new: 13 (added), 12 (changed). 11 is listed where it stood. */
	struct gax_diff *d = diff_texts(BASE, DOC(L_TCP80(
			"{ \"address\": \"10.1.0.13\", \"weight\": 1 },"
			" { \"address\": \"10.1.0.12\", \"weight\": 0 }") ", " L_HTTPS443));

	cr_assert_eq(d->n_changes, 3);
	expect_change(&d->changes[0], GAX_CHANGE_ADD, GAX_KIND_ENDPOINT,
			"web/tcp-80/eg-local/10.1.0.13", NULL, NULL, "weight 1");
	expect_change(&d->changes[1], GAX_CHANGE_REMOVE, GAX_KIND_ENDPOINT,
			"web/tcp-80/eg-local/10.1.0.11", NULL, "weight 100", NULL);
	expect_change(&d->changes[2], GAX_CHANGE_MODIFY, GAX_KIND_ENDPOINT,
			"web/tcp-80/eg-local/10.1.0.12", "weight", "50", "0");
	gax_diff_free(d);
}

Test(diff_objects, fields_come_before_children)
{
	char *doc = subst(BASE, "80,8080~8085", "80,8080~8086");
	char *doc2 = subst(doc, "\"weight\": 100", "\"weight\": 99");
	struct gax_diff *d = diff_texts(BASE, doc2);

	cr_assert_eq(d->n_changes, 2);
	cr_expect_str_eq(d->changes[0].object, "web/tcp-80");
	cr_expect_str_eq(d->changes[1].object, "web/tcp-80/eg-local/10.1.0.11");
	gax_diff_free(d);
	free(doc);
	free(doc2);
}

/* ---- Text output --------------------------------------------------------------- */

Test(diff_print, drain_is_marked)
{
	struct gax_diff *d = diff_edit("\"weight\": 100", "\"weight\": 0");
	char *text = print_to_string(d);

	cr_expect_str_eq(text,
			"~ accelerator web\n"
			"  ~ listener tcp-80\n"
			"    ~ endpoint group eg-local\n"
			"      ~ endpoint 10.1.0.11\n"
			"          weight: 100 -> 0 (drain: no new flows)\n"
			"Summary: 0 added, 0 removed, 1 changed\n");
	free(text);
	gax_diff_free(d);
}

Test(diff_print, weight_from_zero_is_not_a_drain)
{
	char *drained = subst(BASE, "\"weight\": 100", "\"weight\": 0");
	struct gax_diff *d = diff_texts(drained, BASE);
	char *text = print_to_string(d);

	cr_expect_null(strstr(text, "drain"), "%s", text);
	cr_expect_not_null(strstr(text, "weight: 0 -> 100\n"), "%s", text);
	free(text);
	gax_diff_free(d);
	free(drained);
}

Test(diff_print, tree)
{
	static const char new_doc[] =
		"{ " LIMITS ", \"interfaces\": [ " IF_WAN ", " IF_LAN " ],"
		" \"accelerators\": ["
		"  { \"name\": \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": ["
		"   { \"name\": \"tcp-80\", \"protocol\": \"tcp\","
		"     \"port_ranges\": \"80,8080~8086\","
		"     \"client_affinity\": \"source_ip\", \"idle_timeout\": 20,"
		"     \"endpoint_groups\": ["
		"      { \"name\": \"eg-2\", \"region\": \"eu\", \"traffic_percentage\": 50,"
		"        \"endpoints\": [ { \"address\": \"10.1.0.40\", \"weight\": 1 } ] },"
		"      { \"name\": \"eg-local\", \"region\": \"local\","
		"        \"port_overrides\": ["
		"          { \"listener_port\": 80, \"endpoint_port\": 8080 } ],"
		"        \"health_check\": { \"protocol\": \"tcp\", \"port\": 8080 },"
		"        \"endpoints\": [ { \"address\": \"10.1.0.13\", \"weight\": 10 },"
		"                         { \"address\": \"10.1.0.12\", \"weight\": 0 } ] } ] },"
		"   " L_HTTPS443 " ] },"
		"  { \"name\": \"api\", \"addresses\": [\"10.0.0.101\"] },"
		"  { \"name\": \"dns\", \"addresses\": [\"10.0.0.102\"], \"listeners\": ["
		"   { \"name\": \"udp-53\", \"protocol\": \"udp\", \"port_ranges\": \"53\" },"
		"   { \"name\": \"tcp-53\", \"protocol\": \"tcp\","
		"     \"port_ranges\": \"53\" } ] } ] }";
	char *limits = subst(BASE, "\"maglev_table_size\": 65537", "\"maglev_table_size\": 251");
	struct gax_diff *d = diff_texts(limits, new_doc);
	char *text = print_to_string(d);

	cr_expect_str_eq(text,
			"~ limits\n"
			"    maglev_table_size: 251 -> 65537\n"
			"~ accelerator web\n"
			"  ~ listener tcp-80\n"
			"      port_ranges: 80,8080~8085 -> 80,8080~8086\n"
			"    + endpoint group eg-2: region eu, 50%, 1 endpoint\n"
			"    ~ endpoint group eg-local\n"
			"      + endpoint 10.1.0.13: weight 10\n"
			"      - endpoint 10.1.0.11: weight 100\n"
			"      ~ endpoint 10.1.0.12\n"
			"          weight: 50 -> 0 (drain: no new flows)\n"
			"+ accelerator dns: 10.0.0.102, 2 listeners\n"
			"Summary: 3 added, 1 removed, 3 changed\n");
	free(text);
	gax_diff_free(d);
	free(limits);
}

Test(diff_print, interfaces_and_removed_parents)
{
	char *doc = subst(BASE, "net_af_packet1", "net_af_packet9");
	char *doc2 = subst(doc, ", " L_HTTPS443, "");
	struct gax_diff *d = diff_texts(BASE, doc2);
	char *text = print_to_string(d);

	cr_expect_str_eq(text,
			"~ interface lan\n"
			"    device: net_af_packet1 -> net_af_packet9\n"
			"~ accelerator web\n"
			"  - listener https-443: https 443 affinity none, 1 endpoint group\n"
			"Summary: 0 added, 1 removed, 1 changed\n");
	free(text);
	gax_diff_free(d);
	free(doc);
	free(doc2);
}

/* ---- JSON output ------------------------------------------------------------------ */

Test(diff_json, empty)
{
	struct gax_diff *d = gax_diff_compute(NULL, NULL);
	json_t *j = gax_diff_to_json(d);
	char *s;

	cr_assert_not_null(j);
	s = json_dumps(j, JSON_COMPACT);
	cr_expect_str_eq(s, "{\"changes\":[],"
			"\"summary\":{\"added\":0,\"removed\":0,\"changed\":0}}");
	free(s);
	json_decref(j);
	gax_diff_free(d);
}

Test(diff_json, structure_and_summary)
{
	char *a = subst(BASE, "80,8080~8085", "80,8080~8086");
	char *b = subst(a, "\"source_ip\"", "\"none\"");
	char *c = subst(b, EP_11 ", ", "");
	char *e = subst(c, EP_12, EP_12 ", { \"address\": \"10.1.0.13\" }");
	struct gax_diff *d = diff_texts(BASE, e);
	json_t *j = gax_diff_to_json(d);
	json_t *changes, *ch, *sum;

	cr_assert_not_null(j);
	changes = json_object_get(j, "changes");
	cr_assert(json_is_array(changes));
	cr_assert_eq(json_array_size(changes), 4);

	ch = json_array_get(changes, 0);
	cr_expect_str_eq(json_string_value(json_object_get(ch, "op")), "modify");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "kind")), "listener");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "object")), "web/tcp-80");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "field")), "port_ranges");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "old")), "80,8080~8085");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "new")), "80,8080~8086");
	cr_expect_eq(json_object_size(ch), 6);

	ch = json_array_get(changes, 2);
	cr_expect_str_eq(json_string_value(json_object_get(ch, "op")), "remove");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "kind")), "endpoint");
	cr_expect_str_eq(json_string_value(json_object_get(ch, "object")),
			"web/tcp-80/eg-local/10.1.0.11");
	cr_expect(json_is_null(json_object_get(ch, "field")));
	cr_expect_str_eq(json_string_value(json_object_get(ch, "old")), "weight 100");
	cr_expect(json_is_null(json_object_get(ch, "new")));

	ch = json_array_get(changes, 3);
	cr_expect_str_eq(json_string_value(json_object_get(ch, "op")), "add");
	cr_expect(json_is_null(json_object_get(ch, "field")));
	cr_expect(json_is_null(json_object_get(ch, "old")));
	cr_expect_str_eq(json_string_value(json_object_get(ch, "new")), "weight 128");

	/* Two fields of one listener count as one changed object. */
	sum = json_object_get(j, "summary");
	cr_expect_eq(json_integer_value(json_object_get(sum, "added")), 1);
	cr_expect_eq(json_integer_value(json_object_get(sum, "removed")), 1);
	cr_expect_eq(json_integer_value(json_object_get(sum, "changed")), 1);

	json_decref(j);
	gax_diff_free(d);
	free(a);
	free(b);
	free(c);
	free(e);
}

Test(diff_json, kind_names)
{
	char *a = subst(BASE, "\"maglev_table_size\": 65537", "\"maglev_table_size\": 251");
	char *b = subst(a, "\"region\": \"local\"", "\"region\": \"eu\"");
	struct gax_diff *d = diff_texts(BASE, b);
	json_t *j = gax_diff_to_json(d);
	json_t *changes = json_object_get(j, "changes");

	cr_assert_eq(json_array_size(changes), 2);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "kind")),
			"limits");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(changes, 1), "kind")),
			"endpoint_group");
	json_decref(j);
	gax_diff_free(d);
	free(a);
	free(b);
}

/* ---- A large file --------------------------------------------------------------------- */

/* One accelerator of @p n tcp listeners, one port each, two endpoints each. */
static char *
big_doc(unsigned int n, unsigned int changed_listener)
{
	size_t cap = 512 + (size_t)n * 400;
	char *s = malloc(cap);
	size_t len;
	unsigned int i;

	cr_assert_not_null(s);
	len = (size_t)snprintf(s, cap,
			"{ \"limits\": { \"endpoints_per_group\": 4 },"
			" \"interfaces\": [ " IF_WAN ", " IF_LAN " ],"
			" \"accelerators\": [ { \"name\": \"big\", \"addresses\": [\"10.0.0.100\"],"
			" \"listeners\": [");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
				"%s{ \"name\": \"l-%u\", \"protocol\": \"tcp\","
				" \"port_ranges\": \"%u\","
				" \"endpoint_groups\": [ { \"name\": \"eg\", \"endpoints\": ["
				" { \"address\": \"10.1.0.11\", \"weight\": %u },"
				" { \"address\": \"10.1.0.12\", \"weight\": 1 } ] } ] }",
				i > 0 ? ", " : "", i, 1000 + i, i == changed_listener ? 7 : 1);
	snprintf(s + len, cap - len, " ] } ] }");
	return s;
}

Test(diff_large, thousand_listeners_one_weight_changed)
{
	char *a = big_doc(1000, 1000);
	char *b = big_doc(1000, 617);
	struct gax_diff *d = diff_texts(a, b);

	cr_assert_eq(d->n_changes, 1);
	expect_change(&d->changes[0], GAX_CHANGE_MODIFY, GAX_KIND_ENDPOINT,
			"big/l-617/eg/10.1.0.11", "weight", "1", "7");
	gax_diff_free(d);
	free(a);
	free(b);
}
