/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the API verbs as edits of the configuration document (lib/api).
 * Every test starts from config/demo.json. Requests that must fail come
 * first: each checks the error code, the words of the message, and that the
 * document is exactly as it was. Then each verb's effect on the tree, and
 * that the edited document, dumped and loaded with gax_config_load_buffer()
 * as gaxd loads it, is valid (or, for an edit the loader must refuse, that
 * the refusal names the field).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include <gax_api.h>
#include <gax_config.h>

#define CONFIG_DIR GAX_SOURCE_ROOT "/config"
#define DEMO CONFIG_DIR "/demo.json"

/* ---- Helpers -------------------------------------------------------------- */

static json_t *
demo(void)
{
	json_error_t e;
	json_t *doc = json_load_file(DEMO, 0, &e);

	cr_assert_not_null(doc, "%s:%d: %s", DEMO, e.line, e.text);
	return doc;
}

/* Requests and expected words are written with ' for " (none of them holds a '). */
static char *
dq(const char *text)
{
	char *s = strdup(text), *p;

	cr_assert_not_null(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static json_t *
req_of(const char *text)
{
	char *t = dq(text);
	json_error_t e;
	json_t *r = json_loads(t, 0, &e);

	cr_assert_not_null(r, "bad test request: %s: %s", t, e.text);
	free(t);
	return r;
}

/* Dump @p doc and load it as gaxd would; the config (NULL when refused), diagnostics in @p d. */
static struct gax_config *
reload(const json_t *doc, struct gax_diags *d)
{
	char *text = json_dumps(doc, JSON_INDENT(2));
	struct gax_config *cfg;

	cr_assert_not_null(text);
	gax_diags_init(d);
	cfg = gax_config_load_buffer(text, strlen(text), CONFIG_DIR, d);
	free(text);
	return cfg;
}

static void
expect_valid(const json_t *doc)
{
	struct gax_diags d;
	struct gax_config *cfg = reload(doc, &d);

	if (cfg == NULL)
		gax_diags_print(stderr, "edited", &d);
	cr_expect_not_null(cfg, "the edited document does not load");
	gax_config_free(cfg);
	gax_diags_fini(&d);
}

/* The loader refuses @p doc with an error at @p path. */
static void
expect_refused_at(const json_t *doc, const char *path)
{
	struct gax_diags d;
	struct gax_config *cfg = reload(doc, &d);
	unsigned int i;
	bool found = false;

	cr_expect_null(cfg, "the edited document loads, expected a refusal at %s", path);
	for (i = 0; i < d.n; i++)
		if (d.v[i].severity == GAX_DIAG_ERROR && strcmp(d.v[i].path, path) == 0)
			found = true;
	if (!found)
		gax_diags_print(stderr, "edited", &d);
	cr_expect(found, "no error at %s", path);
	gax_config_free(cfg);
	gax_diags_fini(&d);
}

/* Apply @p req_text to the demo document; expect success; returns the document. */
static json_t *
edit_ok_on(json_t *doc, const char *req_text)
{
	json_t *req = req_of(req_text);
	char err[256] = "";
	int rc = gax_api_edit(doc, req, err, sizeof(err));

	cr_assert_eq(rc, 0, "%s: rc %d (%s)", req_text, rc, err);
	json_decref(req);
	return doc;
}

static json_t *
edit_ok(const char *req_text)
{
	return edit_ok_on(demo(), req_text);
}

/* @p req_text on @p doc fails with @p want_rc, err holds @p words, doc is unchanged. */
static void
expect_fail_on(json_t *doc, const char *req_text, int want_rc, const char *words)
{
	json_t *before = json_deep_copy(doc), *req = req_of(req_text);
	char err[256] = "", *want = dq(words);
	int rc = gax_api_edit(doc, req, err, sizeof(err));

	cr_expect_eq(rc, want_rc, "%s: rc %d, expected %d (%s)", req_text, rc, want_rc, err);
	cr_expect(strstr(err, want) != NULL, "%s: message <%s> lacks <%s>", req_text, err, want);
	cr_expect(strchr(err, '\n') == NULL && err[0] != '\0' && err[strlen(err) - 1] != '.',
			"message <%s> is not one sentence without a period", err);
	cr_expect(json_equal(doc, before), "%s: the document changed on error", req_text);
	free(want);
	json_decref(before);
	json_decref(req);
}

static void
expect_fail(const char *req_text, int want_rc, const char *words)
{
	json_t *doc = demo();

	expect_fail_on(doc, req_text, want_rc, words);
	json_decref(doc);
}

/* doc.accelerators[a].listeners[l] (... .endpoint_groups[g] (... .endpoints[e])). */
static json_t *
at(json_t *doc, int a, int l, int g, int e)
{
	json_t *o = json_array_get(json_object_get(doc, "accelerators"), (size_t)a);

	if (l >= 0)
		o = json_array_get(json_object_get(o, "listeners"), (size_t)l);
	if (g >= 0)
		o = json_array_get(json_object_get(o, "endpoint_groups"), (size_t)g);
	if (e >= 0)
		o = json_array_get(json_object_get(o, "endpoints"), (size_t)e);
	cr_assert_not_null(o, "no object at %d/%d/%d/%d", a, l, g, e);
	return o;
}

static const char *
str_at(json_t *o, const char *field)
{
	return json_string_value(json_object_get(o, field));
}

static size_t
count(json_t *o, const char *array)
{
	return json_array_size(json_object_get(o, array));
}

/* The first endpoint of the first group of web/tcp-80, as the loader names it. */
#define EP0 "accelerators[0].listeners[0].endpoint_groups[0].endpoints[0]"

#define NEW_LISTENER \
	"{'name': 'tcp-9000', 'protocol': 'tcp', 'port_ranges': '9000,9100~9105'," \
	" 'endpoint_groups': [ { 'name': 'eg', 'endpoints': [ {'address': '10.1.0.51'} ] } ] }"

/* ---- gax_api_is_edit ------------------------------------------------------- */

Test(api_is_edit, every_verb_and_nothing_else)
{
	static const char *const yes[] = {
		"listener.create", "listener.update", "listener.delete",
		"endpoint-group.create", "endpoint-group.update", "endpoint-group.delete",
		"endpoint.create", "endpoint.update", "endpoint.delete", "endpoint.set-weight",
	};
	static const char *const no[] = {
		"", "ping", "apply", "reload", "show", "stats", "flows", "config.get",
		"listener", "listener.create ", "Listener.create", "endpoint.set_weight",
		"endpoint_group.create", "listener.createx",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect(gax_api_is_edit(yes[i]), "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect(!gax_api_is_edit(no[i]), "'%s'", no[i]);
	cr_expect(!gax_api_is_edit(NULL));
}

/* ---- Malformed requests: -EINVAL naming the field ------------------------- */

Test(api_invalid, request_not_an_object)
{
	json_t *doc = demo(), *before = json_deep_copy(doc), *req = json_array();
	char err[256] = "";

	cr_expect_eq(gax_api_edit(doc, req, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "object") != NULL, "%s", err);
	cr_expect_eq(gax_api_edit(doc, NULL, err, sizeof(err)), -EINVAL);
	cr_expect(json_equal(doc, before));
	json_decref(req);
	json_decref(before);
	json_decref(doc);
}

Test(api_invalid, document_not_an_object)
{
	json_t *doc = json_array();
	json_t *req = req_of("{'cmd': 'listener.delete', 'accelerator': 'web',"
			" 'name': 'tcp-80'}");
	char err[256] = "";

	cr_expect_eq(gax_api_edit(doc, req, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not an object") != NULL, "%s", err);
	cr_expect_eq(gax_api_edit(NULL, req, err, sizeof(err)), -EINVAL);
	cr_expect_eq(json_array_size(doc), 0);
	json_decref(req);
	json_decref(doc);
}

Test(api_invalid, cmd_missing_ill_typed_or_unknown)
{
	expect_fail("{}", -EINVAL, "'cmd' is missing");
	expect_fail("{'accelerator': 'web'}", -EINVAL, "'cmd' is missing");
	expect_fail("{'cmd': 5}", -EINVAL, "'cmd' must be a string");
	expect_fail("{'cmd': null}", -EINVAL, "'cmd' must be a string");
	expect_fail("{'cmd': 'listener.frobnicate'}", -EINVAL,
			"unknown cmd 'listener.frobnicate'");
	expect_fail("{'cmd': 'ping'}", -EINVAL, "unknown cmd 'ping'");
}

Test(api_invalid, unknown_cmd_is_quoted_printable_and_cut)
{
	json_t *doc = demo(), *req = json_pack("{s:s}", "cmd",
			"bad\x01\"cmd-012345678901234567890123456789012345678901234567890123456");
	char err[256] = "";

	cr_expect_eq(gax_api_edit(doc, req, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "bad\\x01\\\"cmd-") != NULL, "%s", err);
	cr_expect(strstr(err, "...\"") != NULL, "%s", err);
	json_decref(req);
	json_decref(doc);
}

Test(api_invalid, unknown_request_field_is_named)
{
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'nmae': 'x'}", -EINVAL, "unknown request field 'nmae'");
	/* "listener" names the parent in group verbs, the object in listener ones. */
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'listener': {}}", -EINVAL, "unknown request field 'listener'");
	expect_fail("{'cmd': 'endpoint.set-weight', 'accelerator': 'web',"
			" 'listener': 'tcp-80', 'group': 'eg-local', 'address': '10.1.0.11',"
			" 'weight': 1, 'endpoint': {}}", -EINVAL,
			"unknown request field 'endpoint'");
}

Test(api_invalid, dry_run_is_accepted_and_ignored)
{
	json_t *doc = edit_ok("{'cmd': 'listener.delete', 'accelerator': 'web',"
			" 'name': 'tcp-80', 'dry_run': true}");

	cr_expect_eq(count(at(doc, 0, -1, -1, -1), "listeners"), 1);
	json_decref(doc);
}

Test(api_invalid, parent_names_missing_or_ill_typed)
{
	expect_fail("{'cmd': 'listener.delete', 'name': 'tcp-80'}", -EINVAL,
			"'accelerator' is missing");
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 1, 'name': 'tcp-80'}",
			-EINVAL, "'accelerator' must be a string");
	expect_fail("{'cmd': 'endpoint-group.delete', 'accelerator': 'web', 'name': 'eg-local'}",
			-EINVAL, "'listener' is missing");
	expect_fail("{'cmd': 'endpoint-group.delete', 'accelerator': 'web',"
			" 'listener': {'name': 'tcp-80'}, 'name': 'eg-local'}",
			-EINVAL, "'listener' must be a string");
	expect_fail("{'cmd': 'endpoint.delete', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'address': '10.1.0.11'}", -EINVAL, "'group' is missing");
	expect_fail("{'cmd': 'endpoint.delete', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': ['eg-local'], 'address': '10.1.0.11'}", -EINVAL,
			"'group' must be a string");
}

Test(api_invalid, identity_missing_or_ill_typed)
{
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 'web'}", -EINVAL,
			"'name' is missing");
	expect_fail("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 80,"
			" 'listener': {}}", -EINVAL, "'name' must be a string");
	expect_fail("{'cmd': 'endpoint-group.update', 'accelerator': 'web',"
			" 'listener': 'tcp-80', 'group': {}}", -EINVAL, "'name' is missing");
	expect_fail("{'cmd': 'endpoint.delete', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local'}", -EINVAL, "'address' is missing");
	expect_fail("{'cmd': 'endpoint.set-weight', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': null, 'weight': 1}", -EINVAL,
			"'address' must be a string");
}

Test(api_invalid, create_body_missing_ill_typed_or_unnamed)
{
	expect_fail("{'cmd': 'listener.create', 'accelerator': 'web'}", -EINVAL,
			"'listener' is missing");
	expect_fail("{'cmd': 'listener.create', 'accelerator': 'web', 'listener': 'tcp-81'}",
			-EINVAL, "'listener' must be an object");
	expect_fail("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': {'protocol': 'tcp', 'port_ranges': '81'}}", -EINVAL,
			"'listener.name' is missing");
	expect_fail("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': {'name': 81}}", -EINVAL, "'listener.name' must be a string");
	expect_fail("{'cmd': 'endpoint-group.create', 'accelerator': 'web',"
			" 'listener': 'tcp-80'}", -EINVAL, "'group' is missing");
	expect_fail("{'cmd': 'endpoint-group.create', 'accelerator': 'web',"
			" 'listener': 'tcp-80', 'group': 'eg-2'}", -EINVAL,
			"'group' must be an object");
	expect_fail("{'cmd': 'endpoint-group.create', 'accelerator': 'web',"
			" 'listener': 'tcp-80', 'group': {'region': 'x'}}", -EINVAL,
			"'group.name' is missing");
	expect_fail("{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local'}", -EINVAL, "'endpoint' is missing");
	expect_fail("{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'endpoint': {'weight': 5}}", -EINVAL,
			"'endpoint.address' is missing");
	expect_fail("{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'endpoint': {'address': 167837707}}", -EINVAL,
			"'endpoint.address' must be a string");
}

Test(api_invalid, update_body_missing_or_ill_typed)
{
	expect_fail("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-80'}",
			-EINVAL, "'listener' is missing");
	expect_fail("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'listener': null}", -EINVAL, "'listener' must be an object");
	expect_fail("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'listener': {'name': 7}}", -EINVAL, "'listener.name' must be a string");
	expect_fail("{'cmd': 'endpoint-group.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'name': 'eg-local', 'group': []}", -EINVAL, "'group' must be an object");
	expect_fail("{'cmd': 'endpoint.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11'}", -EINVAL,
			"'endpoint' is missing");
	expect_fail("{'cmd': 'endpoint.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11',"
			" 'endpoint': {'address': true}}",
			-EINVAL, "'endpoint.address' must be a string");
}

Test(api_invalid, weight_missing_or_not_an_integer)
{
#define SW "{'cmd': 'endpoint.set-weight', 'accelerator': 'web', 'listener': 'tcp-80'," \
	" 'group': 'eg-local', 'address': '10.1.0.11'"
	expect_fail(SW "}", -EINVAL, "'weight' is missing");
	expect_fail(SW ", 'weight': '10'}", -EINVAL, "'weight' must be an integer");
	expect_fail(SW ", 'weight': 10.5}", -EINVAL, "'weight' must be an integer");
	expect_fail(SW ", 'weight': true}", -EINVAL, "'weight' must be an integer");
	expect_fail(SW ", 'weight': null}", -EINVAL, "'weight' must be an integer");
#undef SW
}

Test(api_invalid, request_checked_before_the_document)
{
	/* A malformed request is -EINVAL even when what it names does not exist. */
	expect_fail("{'cmd': 'endpoint.set-weight', 'accelerator': 'nope', 'listener': 'x',"
			" 'group': 'y', 'address': '10.9.9.9', 'weight': '1'}", -EINVAL,
			"'weight'");
}

Test(api_invalid, document_not_shaped_as_a_config)
{
	json_t *doc = demo();

	json_object_set_new(at(doc, 0, -1, -1, -1), "listeners", json_string("oops"));
	expect_fail_on(doc, "{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': " NEW_LISTENER "}", -EINVAL,
			"'listeners' of accelerator 'web' is not an array");
	json_object_set_new(doc, "accelerators", json_object());
	expect_fail_on(doc, "{'cmd': 'listener.delete', 'accelerator': 'web',"
			" 'name': 'tcp-80'}", -EINVAL, "'accelerators' is not an array");
	json_decref(doc);
}

Test(api_invalid, null_or_short_err_buffer)
{
	json_t *doc = demo(), *req = req_of("{'cmd': 'listener.delete', 'accelerator': 'web',"
			" 'name': 'nope'}");
	char err[8];

	cr_expect_eq(gax_api_edit(doc, req, NULL, 0), -ENOENT);
	memset(err, 'x', sizeof(err));
	cr_expect_eq(gax_api_edit(doc, req, err, sizeof(err)), -ENOENT);
	cr_expect_eq(err[7], '\0');
	cr_expect_eq(strlen(err), 7);
	json_decref(req);
	json_decref(doc);
}

/* ---- Names that do not exist: -ENOENT, saying which ------------------------ */

Test(api_enoent, accelerator)
{
	expect_fail("{'cmd': 'listener.create', 'accelerator': 'www', 'listener': "
			NEW_LISTENER "}", -ENOENT, "no accelerator 'www'");
	expect_fail("{'cmd': 'endpoint.set-weight', 'accelerator': 'www', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11', 'weight': 1}", -ENOENT,
			"no accelerator 'www'");
}

Test(api_enoent, listener)
{
	expect_fail("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-81',"
			" 'listener': {}}", -ENOENT, "accelerator 'web' has no listener 'tcp-81'");
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'tcp-81'}",
			-ENOENT, "accelerator 'web' has no listener 'tcp-81'");
	/* tcp-443 belongs to the other accelerator. */
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'tcp-443'}",
			-ENOENT, "accelerator 'web' has no listener 'tcp-443'");
	expect_fail("{'cmd': 'endpoint-group.create', 'accelerator': 'web', 'listener': 'tcp-81',"
			" 'group': {'name': 'eg'}}", -ENOENT,
			"accelerator 'web' has no listener 'tcp-81'");
	expect_fail("{'cmd': 'endpoint.create', 'accelerator': 'api', 'listener': 'tcp-80',"
			" 'group': 'eg-east', 'endpoint': {'address': '10.1.0.33'}}", -ENOENT,
			"accelerator 'api' has no listener 'tcp-80'");
}

Test(api_enoent, listener_names_are_case_sensitive)
{
	expect_fail("{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'TCP-80'}",
			-ENOENT, "has no listener 'TCP-80'");
}

Test(api_enoent, endpoint_group)
{
	expect_fail("{'cmd': 'endpoint-group.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'name': 'eg-remote', 'group': {}}", -ENOENT,
			"listener 'web/tcp-80' has no endpoint group 'eg-remote'");
	expect_fail("{'cmd': 'endpoint-group.delete', 'accelerator': 'api', 'listener': 'tcp-443',"
			" 'name': 'eg-north'}", -ENOENT,
			"listener 'api/tcp-443' has no endpoint group 'eg-north'");
	expect_fail("{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'udp-53',"
			" 'group': 'eg-local', 'endpoint': {'address': '10.1.0.23'}}", -ENOENT,
			"listener 'web/udp-53' has no endpoint group 'eg-local'");
}

Test(api_enoent, endpoint)
{
	expect_fail("{'cmd': 'endpoint.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.99', 'endpoint': {'weight': 1}}",
			-ENOENT,
			"endpoint group 'web/tcp-80/eg-local' has no endpoint '10.1.0.99'");
	expect_fail("{'cmd': 'endpoint.delete', 'accelerator': 'web', 'listener': 'udp-53',"
			" 'group': 'eg-dns', 'address': '10.1.0.11'}", -ENOENT,
			"endpoint group 'web/udp-53/eg-dns' has no endpoint '10.1.0.11'");
	expect_fail("{'cmd': 'endpoint.set-weight', 'accelerator': 'api', 'listener': 'tcp-443',"
			" 'group': 'eg-west', 'address': '10.1.0.31', 'weight': 3}", -ENOENT,
			"endpoint group 'api/tcp-443/eg-west' has no endpoint '10.1.0.31'");
}

Test(api_enoent, parent_without_the_array)
{
	json_t *doc = demo();

	json_object_del(at(doc, 1, 0, 1, -1), "endpoints");
	expect_fail_on(doc, "{'cmd': 'endpoint.delete', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'group': 'eg-west', 'address': '10.1.0.41'}",
			-ENOENT, "has no endpoint '10.1.0.41'");
	json_object_del(doc, "accelerators");
	expect_fail_on(doc, "{'cmd': 'listener.delete', 'accelerator': 'web',"
			" 'name': 'tcp-80'}", -ENOENT, "no accelerator 'web'");
	json_decref(doc);
}

Test(api_enoent, names_in_messages_are_escaped_and_cut)
{
	json_t *doc = demo();
	json_t *req = json_pack("{s:s, s:s, s:s}", "cmd", "listener.delete", "accelerator", "web",
			"name", "tcp\n\"80\"-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	char err[256];

	cr_expect_eq(gax_api_edit(doc, req, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "\"tcp\\x0a\\\"80\\\"-aaaa") != NULL, "%s", err);
	cr_expect(strstr(err, "...\"") != NULL, "%s", err);
	cr_expect(strchr(err, '\n') == NULL);
	json_decref(req);
	json_decref(doc);
}

/* ---- Names that exist already: -EEXIST ------------------------------------- */

Test(api_eexist, create_listener)
{
	expect_fail("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': {'name': 'udp-53', 'protocol': 'udp', 'port_ranges': '54'}}",
			-EEXIST, "accelerator 'web' already has a listener 'udp-53'");
}

Test(api_eexist, create_group)
{
	expect_fail("{'cmd': 'endpoint-group.create', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'group': {'name': 'eg-west'}}", -EEXIST,
			"listener 'api/tcp-443' already has an endpoint group 'eg-west'");
}

Test(api_eexist, create_endpoint)
{
	expect_fail("{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'endpoint': {'address': '10.1.0.13', 'weight': 9}}",
			-EEXIST,
			"endpoint group 'web/tcp-80/eg-local' already has an endpoint '10.1.0.13'");
}

Test(api_eexist, domain_endpoints_compare_without_case)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.create', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'group': 'eg-west',"
			" 'endpoint': {'address': 'App.Example.Internal'}}");

	expect_fail_on(doc, "{'cmd': 'endpoint.create', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'group': 'eg-west',"
			" 'endpoint': {'address': 'app.example.INTERNAL'}}", -EEXIST,
			"already has an endpoint 'app.example.INTERNAL'");
	/* ...and are found without case. */
	edit_ok_on(doc, "{'cmd': 'endpoint.set-weight', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'group': 'eg-west',"
			" 'address': 'APP.example.internal', 'weight': 7}");
	cr_expect_eq(json_integer_value(json_object_get(at(doc, 1, 0, 1, 1), "weight")), 7);
	json_decref(doc);
}

Test(api_eexist, rename_onto_a_sibling)
{
	expect_fail("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'listener': {'name': 'udp-53', 'idle_timeout': 60}}", -EEXIST,
			"accelerator 'web' already has a listener 'udp-53'");
	expect_fail("{'cmd': 'endpoint-group.update', 'accelerator': 'api', 'listener': 'tcp-443',"
			" 'name': 'eg-east', 'group': {'name': 'eg-west'}}", -EEXIST,
			"already has an endpoint group 'eg-west'");
	expect_fail("{'cmd': 'endpoint.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11',"
			" 'endpoint': {'address': '10.1.0.12'}}", -EEXIST,
			"already has an endpoint '10.1.0.12'");
}

/* ---- listener.* ------------------------------------------------------------- */

Test(api_listener, create_appends_in_order)
{
	json_t *doc = edit_ok("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': " NEW_LISTENER "}");
	json_t *web = at(doc, 0, -1, -1, -1);

	cr_assert_eq(count(web, "listeners"), 3);
	cr_expect_str_eq(str_at(at(doc, 0, 0, -1, -1), "name"), "tcp-80");
	cr_expect_str_eq(str_at(at(doc, 0, 1, -1, -1), "name"), "udp-53");
	cr_expect_str_eq(str_at(at(doc, 0, 2, -1, -1), "name"), "tcp-9000");
	cr_expect_str_eq(str_at(at(doc, 0, 2, -1, -1), "port_ranges"), "9000,9100~9105");
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': {'name': 'udp-5000', 'protocol': 'udp',"
			" 'port_ranges': [{'from_port': 5000, 'to_port': 5001}]}}");
	cr_assert_eq(count(web, "listeners"), 4);
	cr_expect_str_eq(str_at(at(doc, 0, 2, -1, -1), "name"), "tcp-9000");
	cr_expect_str_eq(str_at(at(doc, 0, 3, -1, -1), "name"), "udp-5000");
	expect_valid(doc);
	/* The other accelerator is untouched. */
	cr_expect_eq(count(at(doc, 1, -1, -1, -1), "listeners"), 1);
	json_decref(doc);
}

Test(api_listener, create_where_there_is_no_listener_array)
{
	json_t *doc = demo();

	json_object_del(at(doc, 1, -1, -1, -1), "listeners");
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'listener.create', 'accelerator': 'api',"
			" 'listener': " NEW_LISTENER "}");
	cr_expect_eq(count(at(doc, 1, -1, -1, -1), "listeners"), 1);
	cr_expect_str_eq(str_at(at(doc, 1, 0, -1, -1), "name"), "tcp-9000");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_listener, create_does_not_share_the_request)
{
	json_t *doc = demo(), *req = req_of("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': " NEW_LISTENER "}");
	char err[256];

	cr_assert_eq(gax_api_edit(doc, req, err, sizeof(err)), 0, "%s", err);
	json_object_set_new(json_object_get(req, "listener"), "protocol", json_string("udp"));
	json_decref(req);
	cr_expect_str_eq(str_at(at(doc, 0, 2, -1, -1), "protocol"), "tcp");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_listener, create_is_not_validated_here)
{
	/* The port clash with tcp-80 is the loader's to find, and it names the field. */
	json_t *doc = edit_ok("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': {'name': 'tcp-8080', 'protocol': 'tcp',"
			" 'port_ranges': '8080'}}");

	expect_refused_at(doc, "accelerators[0].listeners[2].port_ranges");
	json_decref(doc);
}

Test(api_listener, update_replaces_inserts_and_keeps_order)
{
	json_t *doc = edit_ok("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'listener': {'port_ranges': '80,81,8080~8085', 'idle_timeout': 120}}");
	json_t *l = at(doc, 0, 0, -1, -1);
	const char *key;
	json_t *v;
	int i = 0;

	cr_expect_str_eq(str_at(l, "port_ranges"), "80,81,8080~8085");
	cr_expect_eq(json_integer_value(json_object_get(l, "idle_timeout")), 120);
	cr_expect_str_eq(str_at(l, "client_affinity"), "source_ip");
	cr_expect_eq(count(l, "endpoint_groups"), 1);
	/* Replaced fields keep their place, new ones come last. */
	json_object_foreach(l, key, v) {
		static const char *const order[] = { "name", "protocol", "port_ranges",
			"client_affinity", "endpoint_groups", "idle_timeout" };

		cr_expect_str_eq(key, order[i]);
		i++;
	}
	cr_expect_eq(i, 6);
	expect_valid(doc);
	json_decref(doc);
}

Test(api_listener, update_null_removes_so_the_default_applies)
{
	json_t *doc = edit_ok("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'udp-53',"
			" 'listener': {'idle_timeout': null, 'client_affinity': null}}");
	json_t *l = at(doc, 0, 1, -1, -1);
	struct gax_diags d;
	struct gax_config *cfg;

	cr_expect_null(json_object_get(l, "idle_timeout"));
	cr_expect_null(json_object_get(l, "client_affinity"));
	cfg = reload(doc, &d);
	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->accelerators[0].listeners[1].idle_timeout, 20);
	cr_expect_eq(cfg->accelerators[0].listeners[1].client_affinity, GAX_AFFINITY_NONE);
	gax_config_free(cfg);
	gax_diags_fini(&d);
	/* Removing a field that is not there is no error. */
	edit_ok_on(doc, "{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'udp-53',"
			" 'listener': {'request_timeout': null}}");
	json_decref(doc);
}

Test(api_listener, update_rename)
{
	json_t *doc = edit_ok("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-80',"
			" 'listener': {'name': 'tcp-web'}}");

	cr_expect_str_eq(str_at(at(doc, 0, 0, -1, -1), "name"), "tcp-web");
	expect_valid(doc);
	/* The old name is gone; the same name again is no clash. */
	expect_fail_on(doc, "{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'tcp-80'}",
			-ENOENT, "has no listener 'tcp-80'");
	edit_ok_on(doc, "{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'tcp-web',"
			" 'listener': {'name': 'tcp-web'}}");
	cr_expect_str_eq(str_at(at(doc, 0, 0, -1, -1), "name"), "tcp-web");
	json_decref(doc);
}

Test(api_listener, update_result_checked_by_the_loader)
{
	json_t *doc = edit_ok("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'udp-53',"
			" 'listener': {'idle_timeout': 900}}");

	expect_refused_at(doc, "accelerators[0].listeners[1].idle_timeout");
	json_decref(doc);
	doc = edit_ok("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'udp-53',"
			" 'listener': {'name': null}}");
	expect_refused_at(doc, "accelerators[0].listeners[1].name");
	json_decref(doc);
	doc = edit_ok("{'cmd': 'listener.update', 'accelerator': 'web', 'name': 'udp-53',"
			" 'listener': {'client_afinity': 'none'}}");
	expect_refused_at(doc, "accelerators[0].listeners[1].client_afinity");
	json_decref(doc);
}

Test(api_listener, delete)
{
	json_t *doc = edit_ok("{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'tcp-80'}");

	cr_assert_eq(count(at(doc, 0, -1, -1, -1), "listeners"), 1);
	cr_expect_str_eq(str_at(at(doc, 0, 0, -1, -1), "name"), "udp-53");
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'listener.delete', 'accelerator': 'web', 'name': 'udp-53'}");
	cr_expect_eq(count(at(doc, 0, -1, -1, -1), "listeners"), 0);
	cr_expect(json_is_array(json_object_get(at(doc, 0, -1, -1, -1), "listeners")));
	expect_valid(doc);
	json_decref(doc);
}

/* ---- endpoint-group.* --------------------------------------------------------- */

Test(api_group, create_appends_in_order)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint-group.create', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'group': {'name': 'eg-north', 'region': 'north',"
			" 'traffic_percentage': 10, 'endpoints': [{'address': '10.1.0.51'}]}}");
	json_t *l = at(doc, 1, 0, -1, -1);

	cr_assert_eq(count(l, "endpoint_groups"), 3);
	cr_expect_str_eq(str_at(at(doc, 1, 0, 0, -1), "name"), "eg-east");
	cr_expect_str_eq(str_at(at(doc, 1, 0, 1, -1), "name"), "eg-west");
	cr_expect_str_eq(str_at(at(doc, 1, 0, 2, -1), "name"), "eg-north");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_group, create_where_there_is_no_group_array)
{
	json_t *doc = edit_ok("{'cmd': 'listener.create', 'accelerator': 'web',"
			" 'listener': {'name': 'tcp-81', 'protocol': 'tcp', 'port_ranges': '81'}}");

	edit_ok_on(doc, "{'cmd': 'endpoint-group.create', 'accelerator': 'web',"
			" 'listener': 'tcp-81', 'group': {'name': 'eg'}}");
	cr_expect_eq(count(at(doc, 0, 2, -1, -1), "endpoint_groups"), 1);
	cr_expect_str_eq(str_at(at(doc, 0, 2, 0, -1), "name"), "eg");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_group, create_result_checked_by_the_loader)
{
	/* A second group in region "local" is the loader's to refuse. */
	json_t *doc = edit_ok("{'cmd': 'endpoint-group.create', 'accelerator': 'web',"
			" 'listener': 'tcp-80', 'group': {'name': 'eg-2', 'region': 'local'}}");

	expect_refused_at(doc, "accelerators[0].listeners[0].endpoint_groups[1].region");
	json_decref(doc);
}

Test(api_group, update)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint-group.update', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'name': 'eg-east',"
			" 'group': {'traffic_percentage': 50,"
			" 'reserve_client_ip': true, 'port_overrides': [{'listener_port': 443,"
			" 'endpoint_port': 8443}], 'region': null}}");
	json_t *g = at(doc, 1, 0, 0, -1);

	cr_expect_eq(json_integer_value(json_object_get(g, "traffic_percentage")), 50);
	cr_expect(json_is_true(json_object_get(g, "reserve_client_ip")));
	cr_expect_eq(json_array_size(json_object_get(g, "port_overrides")), 1);
	cr_expect_null(json_object_get(g, "region"));
	cr_expect_eq(count(g, "endpoints"), 2);
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'endpoint-group.update', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'name': 'eg-east', 'group': {'name': 'eg-main'}}");
	cr_expect_str_eq(str_at(at(doc, 1, 0, 0, -1), "name"), "eg-main");
	cr_expect_str_eq(str_at(at(doc, 1, 0, 1, -1), "name"), "eg-west");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_group, delete)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint-group.delete', 'accelerator': 'api',"
			" 'listener': 'tcp-443', 'name': 'eg-east'}");

	cr_assert_eq(count(at(doc, 1, 0, -1, -1), "endpoint_groups"), 1);
	cr_expect_str_eq(str_at(at(doc, 1, 0, 0, -1), "name"), "eg-west");
	expect_valid(doc);
	json_decref(doc);
}

/* ---- endpoint.* ---------------------------------------------------------------- */

Test(api_endpoint, create_appends_in_order)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.create', 'accelerator': 'web',"
			" 'listener': 'udp-53', 'group': 'eg-dns',"
			" 'endpoint': {'type': 'ip', 'address': '10.1.0.23', 'weight': 5}}");
	json_t *g = at(doc, 0, 1, 0, -1);

	cr_assert_eq(count(g, "endpoints"), 3);
	cr_expect_str_eq(str_at(at(doc, 0, 1, 0, 0), "address"), "10.1.0.21");
	cr_expect_str_eq(str_at(at(doc, 0, 1, 0, 1), "address"), "10.1.0.22");
	cr_expect_str_eq(str_at(at(doc, 0, 1, 0, 2), "address"), "10.1.0.23");
	cr_expect_eq(json_integer_value(json_object_get(at(doc, 0, 1, 0, 2), "weight")), 5);
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'endpoint.create', 'accelerator': 'web',"
			" 'listener': 'udp-53', 'group': 'eg-dns',"
			" 'endpoint': {'address': 'dns.example.internal'}}");
	cr_expect_str_eq(str_at(at(doc, 0, 1, 0, 3), "address"), "dns.example.internal");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_endpoint, create_past_the_limit_is_the_loaders_to_refuse)
{
	json_t *doc = demo();

	edit_ok_on(doc, "{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'endpoint': {'address': '10.1.0.14'}}");
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'endpoint': {'address': '10.1.0.15'}}");
	expect_refused_at(doc, "accelerators[0].listeners[0].endpoint_groups[0].endpoints");
	json_decref(doc);
}

Test(api_endpoint, create_where_there_is_no_endpoint_array)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint-group.create', 'accelerator': 'web',"
			" 'listener': 'udp-53', 'group': {'name': 'eg-2', 'region': 'two'}}");

	edit_ok_on(doc, "{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'udp-53',"
			" 'group': 'eg-2', 'endpoint': {'address': '10.1.0.61'}}");
	cr_expect_str_eq(str_at(at(doc, 0, 1, 1, 0), "address"), "10.1.0.61");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_endpoint, update)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.update', 'accelerator': 'web',"
			" 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.12', 'endpoint': {'weight': 200,"
			" 'type': null}}");
	json_t *e = at(doc, 0, 0, 0, 1);

	cr_expect_eq(json_integer_value(json_object_get(e, "weight")), 200);
	cr_expect_null(json_object_get(e, "type"));
	cr_expect_str_eq(str_at(e, "address"), "10.1.0.12");
	expect_valid(doc);
	/* A new address; the same address in another case is no clash with itself. */
	edit_ok_on(doc, "{'cmd': 'endpoint.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.12',"
			" 'endpoint': {'address': '10.1.0.42'}}");
	cr_expect_str_eq(str_at(at(doc, 0, 0, 0, 1), "address"), "10.1.0.42");
	cr_expect_str_eq(str_at(at(doc, 0, 0, 0, 2), "address"), "10.1.0.13");
	expect_valid(doc);
	edit_ok_on(doc, "{'cmd': 'endpoint.create', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'endpoint': {'address': 'app.example.internal'}}");
	edit_ok_on(doc, "{'cmd': 'endpoint.update', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': 'app.example.internal',"
			" 'endpoint': {'address': 'APP.example.internal'}}");
	cr_expect_str_eq(str_at(at(doc, 0, 0, 0, 3), "address"), "APP.example.internal");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_endpoint, update_type_that_disagrees_is_the_loaders_to_refuse)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.update', 'accelerator': 'web',"
			" 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11',"
			" 'endpoint': {'type': 'domain'}}");

	expect_refused_at(doc, EP0 ".address");
	json_decref(doc);
}

Test(api_endpoint, delete)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.delete', 'accelerator': 'web',"
			" 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11'}");

	cr_assert_eq(count(at(doc, 0, 0, 0, -1), "endpoints"), 2);
	cr_expect_str_eq(str_at(at(doc, 0, 0, 0, 0), "address"), "10.1.0.12");
	cr_expect_str_eq(str_at(at(doc, 0, 0, 0, 1), "address"), "10.1.0.13");
	expect_valid(doc);
	json_decref(doc);
}

Test(api_endpoint, set_weight)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.set-weight', 'accelerator': 'web',"
			" 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.13', 'weight': 25}");
	struct gax_diags d;
	struct gax_config *cfg;

	cr_expect_eq(json_integer_value(json_object_get(at(doc, 0, 0, 0, 2), "weight")), 25);
	cfg = reload(doc, &d);
	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->accelerators[0].listeners[0].groups[0].endpoints[2].weight, 25);
	gax_config_free(cfg);
	gax_diags_fini(&d);
	/* An endpoint without a weight gets one. */
	edit_ok_on(doc, "{'cmd': 'endpoint.set-weight', 'accelerator': 'api',"
			" 'listener': 'tcp-443',"
			" 'group': 'eg-west', 'address': '10.1.0.41', 'weight': 0}");
	cr_expect_eq(json_integer_value(json_object_get(at(doc, 1, 0, 1, 0), "weight")), 0);
	expect_valid(doc);
	json_decref(doc);
}

Test(api_endpoint, set_weight_out_of_range_is_the_loaders_to_refuse)
{
	json_t *doc = edit_ok("{'cmd': 'endpoint.set-weight', 'accelerator': 'web',"
			" 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11', 'weight': 256}");

	expect_refused_at(doc, EP0 ".weight");
	json_decref(doc);
	doc = edit_ok("{'cmd': 'endpoint.set-weight', 'accelerator': 'web', 'listener': 'tcp-80',"
			" 'group': 'eg-local', 'address': '10.1.0.11', 'weight': -1}");
	expect_refused_at(doc, EP0 ".weight");
	json_decref(doc);
}

/* ---- A sequence, as gaxd runs them: every step loads ------------------------- */

Test(api_sequence, every_verb_in_turn_stays_valid)
{
	static const char *const steps[] = {
		"{'cmd': 'listener.create', 'accelerator': 'api', 'listener': {'name': 'udp-500',"
		" 'protocol': 'udp', 'port_ranges': '500,4500', 'client_affinity': 'source_ip'}}",
		"{'cmd': 'endpoint-group.create', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'group': {'name': 'eg-vpn', 'reserve_client_ip': true}}",
		"{'cmd': 'endpoint.create', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'group': 'eg-vpn', 'endpoint': {'address': '10.1.0.71', 'weight': 10}}",
		"{'cmd': 'endpoint.create', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'group': 'eg-vpn', 'endpoint': {'address': '10.1.0.72'}}",
		"{'cmd': 'endpoint.set-weight', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'group': 'eg-vpn', 'address': '10.1.0.72', 'weight': 0, 'dry_run': false}",
		"{'cmd': 'endpoint.update', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'group': 'eg-vpn', 'address': '10.1.0.71', 'endpoint': {'weight': 20}}",
		"{'cmd': 'endpoint-group.update', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'name': 'eg-vpn', 'group': {'traffic_percentage': 80}}",
		"{'cmd': 'listener.update', 'accelerator': 'api', 'name': 'udp-500',"
		" 'listener': {'idle_timeout': 15}}",
		"{'cmd': 'endpoint.delete', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'group': 'eg-vpn', 'address': '10.1.0.72'}",
		"{'cmd': 'endpoint-group.delete', 'accelerator': 'api', 'listener': 'udp-500',"
		" 'name': 'eg-vpn'}",
		"{'cmd': 'listener.delete', 'accelerator': 'api', 'name': 'udp-500'}",
	};
	json_t *doc = demo(), *orig = demo();
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		edit_ok_on(doc, steps[i]);
		expect_valid(doc);
	}
	/* Created, changed, then deleted: back where it started. */
	cr_expect(json_equal(doc, orig));
	json_decref(orig);
	json_decref(doc);
}
