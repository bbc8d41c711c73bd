/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration module: invalid input first (syntax, hostile bytes,
 * types, unknown fields, files that cannot be read), then every rule of
 * docs/config.md both ways at its boundary, every problem reported in one
 * run, the defaults, the certificates, the helpers, and the example files
 * of tests/configs (each bad one with the messages its .expect file lists).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gax_config.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* Two interfaces: wan 10.0.0.1/24 with the gateway, lan 10.1.0.1/24. */
#define IFACES \
	"\"interfaces\": [" \
	"{\"name\": \"wan\", \"device\": \"net0\", \"addresses\": [\"10.0.0.1/24\"]," \
	" \"gateway\": \"10.0.0.254\"}," \
	"{\"name\": \"lan\", \"device\": \"net1\", \"addresses\": [\"10.1.0.1/24\"]}]"

/* The same without a gateway: only 10.0.0.0/24 and 10.1.0.0/24 are reachable. */
#define IFACES_NO_GW \
	"\"interfaces\": [" \
	"{\"name\": \"wan\", \"device\": \"net0\", \"addresses\": [\"10.0.0.1/24\"]}," \
	"{\"name\": \"lan\", \"device\": \"net1\", \"addresses\": [\"10.1.0.1/24\"]}]"

/* A group that serves: one endpoint in lan. */
#define GROUP "{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\"}]}"

static struct gax_diags d;
static struct gax_config *cfg;
static int load_errno;

static void
setup(void)
{
	gax_diags_init(&d);
	cfg = NULL;
	load_errno = 0;
}

static void
teardown(void)
{
	gax_config_free(cfg);
	cfg = NULL;
	gax_diags_fini(&d);
}

TestSuite(config, .init = setup, .fini = teardown);

/* ---- Helpers -------------------------------------------------------------- */

static struct gax_config *
load_len(const char *text, size_t len, const char *base_dir)
{
	gax_config_free(cfg);
	gax_diags_fini(&d);
	gax_diags_init(&d);
	errno = 0;
	cfg = gax_config_load_buffer(text, len, base_dir, &d);
	load_errno = errno;
	return cfg;
}

/* Load a document written with printf formatting. */
static struct gax_config * __attribute__((format(printf, 1, 2)))
loadf(const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	load_len(text, (size_t)n, NULL);
	free(text);
	return cfg;
}

/* The standard interfaces and one accelerator "web" with @p listeners. */
static struct gax_config *
load_listeners(const char *listeners)
{
	return loadf("{" IFACES ", \"accelerators\": [{\"name\": \"web\", \"addresses\": "
			"[\"10.0.0.100\"], \"listeners\": [%s]}]}", listeners);
}

/* One listener with a serving group; @p extra is inserted as more members ("" for none). */
static struct gax_config *
load_listener(const char *proto, const char *ports, const char *extra)
{
	char *l;

	cr_assert(asprintf(&l, "{\"name\": \"l1\", \"protocol\": \"%s\", \"port_ranges\": %s%s%s,"
			" \"endpoint_groups\": "
			"[" GROUP "]}", proto, ports, extra[0] != '\0' ? ", " : "",
			extra) > 0);
	load_listeners(l);
	free(l);
	return cfg;
}

/* One tcp listener on port 80 whose only group is @p group. */
static struct gax_config *
load_group(const char *group)
{
	char *l;

	cr_assert(asprintf(&l, "{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [%s]}", group) > 0);
	load_listeners(l);
	free(l);
	return cfg;
}

/* Whether a diagnostic of severity @p sev at @p path holds @p text. */
static bool
has_sev(enum gax_diag_severity sev, const char *path, const char *text)
{
	unsigned int i;

	for (i = 0; i < d.n; i++)
		if (d.v[i].severity == sev && strcmp(d.v[i].path, path) == 0 &&
				strstr(d.v[i].message, text) != NULL)
			return true;
	return false;
}

static void
dump(void)
{
	gax_diags_print(stderr, "test", &d);
}

/* The document is refused with an error at @p path holding @p text. */
static void
refused_with(const char *path, const char *text)
{
	if (cfg != NULL || !has_sev(GAX_DIAG_ERROR, path, text))
		dump();
	cr_assert_null(cfg, "should be refused (%s: %s)", path, text);
	cr_assert_eq(load_errno, EINVAL);
	cr_assert_gt(d.n_errors, 0);
	cr_assert(has_sev(GAX_DIAG_ERROR, path, text), "wanted error %s: %s", path, text);
}

static void
accepted(void)
{
	if (cfg == NULL)
		dump();
	cr_assert_not_null(cfg, "should be valid");
	cr_assert_eq(d.n_errors, 0);
}

static bool
has_warning(const char *path, const char *text)
{
	return has_sev(GAX_DIAG_WARNING, path, text);
}

/* A name of @p len characters: "a" then "b"s. */
static char *
name_of_len(size_t len)
{
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	memset(s, 'b', len);
	s[0] = 'a';
	s[len] = '\0';
	return s;
}

#define L1 "accelerators[0].listeners[0]"
#define G1 L1 ".endpoint_groups[0]"

/* ---- Syntax and hostile input ----------------------------------------------- */

static void
syntax_error(int line, int column, const char *text)
{
	cr_assert_null(cfg);
	cr_assert_eq(load_errno, EINVAL);
	cr_assert_eq(d.n, 1, "one diagnostic for a syntax error, got %u", d.n);
	cr_assert_eq(d.v[0].severity, GAX_DIAG_ERROR);
	cr_assert_str_eq(d.v[0].path, "");
	/* 0: any line or column, but there is one */
	cr_assert_gt(d.v[0].line, 0);
	cr_assert_gt(d.v[0].column, 0);
	if (line > 0)
		cr_assert_eq(d.v[0].line, line, "line %d, wanted %d", d.v[0].line, line);
	if (column > 0)
		cr_assert_eq(d.v[0].column, column, "column %d, wanted %d", d.v[0].column, column);
	cr_assert(strncmp(d.v[0].message, "JSON syntax error: ", 19) == 0, "%s", d.v[0].message);
	cr_assert_not_null(strstr(d.v[0].message, text), "%s", d.v[0].message);
}

Test(config, empty_document)
{
	load_len("", 0, NULL);
	syntax_error(1, 1, "empty");
	load_len(" \n\t\r\n", 5, NULL);
	syntax_error(1, 1, "empty");
	load_len(NULL, 0, NULL);
	syntax_error(1, 1, "empty");
}

Test(config, syntax_error_line_and_column)
{
	loadf("{\n  \"interfaces\": [\n    { \"name\": \"wan\", }\n  ]\n}\n");
	syntax_error(3, 22, "JSON syntax error");
}

Test(config, trailing_comma)
{
	loadf("{\"interfaces\": [],}");
	syntax_error(1, 19, "expected");
	loadf("{\"interfaces\": [1,]}");
	syntax_error(1, 0, "unexpected token");
}

Test(config, duplicate_key)
{
	loadf("{\"interfaces\": [],\n \"interfaces\": []}");
	syntax_error(2, 13, "duplicate object key");
	load_listener("tcp", "\"80\"", "\"name\": \"again\"");
	syntax_error(0, 0, "duplicate object key");
}

Test(config, top_level_not_an_object)
{
	static const char *const docs[] = { "[1, 2]", "\"text\"", "42", "null", "true", "1.5" };
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		load_len(docs[i], strlen(docs[i]), NULL);
		cr_assert_null(cfg, "%s", docs[i]);
		cr_assert_eq(load_errno, EINVAL);
		cr_assert_eq(d.n, 1);
		cr_assert_str_eq(d.v[0].path, "");
		cr_assert_not_null(strstr(d.v[0].message, "must be a JSON object"), "%s",
				d.v[0].message);
	}
}

Test(config, deep_nesting)
{
	size_t n = 100000, i;
	char *s = malloc(6 * n + 16);

	cr_assert_not_null(s);
	memset(s, '[', n);
	load_len(s, n, NULL);
	syntax_error(0, 0, "maximum parsing depth");
	/* Objects inside objects, closed properly. */
	for (i = 0; i < n; i++)
		memcpy(s + 5 * i, "{\"a\":", 5);
	s[5 * n] = '1';
	memset(s + 5 * n + 1, '}', n);
	load_len(s, 6 * n + 1, NULL);
	syntax_error(0, 0, "maximum parsing depth");
	free(s);
}

Test(config, huge_numbers)
{
	loadf("{\"interfaces\": 99999999999999999999}");
	syntax_error(0, 0, "too big integer");
	loadf("{\"interfaces\": 1e400}");
	syntax_error(0, 0, "overflow");
	/* Fits json_int_t but not a port: checked before narrowing. */
	load_listener("tcp", "[{\"from_port\": 9223372036854775807, \"to_port\": 80}]", "");
	refused_with(L1 ".port_ranges[0].from_port", "port 9223372036854775807 is outside 1-65499");
	load_listener("tcp", "[{\"from_port\": -4294967216, \"to_port\": 80}]", "");
	refused_with(L1 ".port_ranges[0].from_port", "outside 1-65499");
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\","
			" \"weight\": 4294967424}]}");
	refused_with(G1 ".endpoints[0].weight", "weight 4294967424 is outside 0-255");
}

Test(config, non_utf8)
{
	static const char doc[] = "{\"interfaces\": [], \"x\xff\xfe\": 1}";

	load_len(doc, sizeof(doc) - 1, NULL);
	syntax_error(0, 0, "unable to decode byte 0xff");
	for (const char *p = d.v[0].message; *p != '\0'; p++)
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
				"messages are printable ASCII");
}

Test(config, nul_bytes)
{
	static const char raw[] = "{\"interfaces\":\n [\"a\0b\"]}";
	static const char esc[] = "{\"interfaces\": [\"a\\u0000b\"]}";

	load_len(raw, sizeof(raw) - 1, NULL);
	syntax_error(2, 5, "NUL byte");
	load_len(esc, sizeof(esc) - 1, NULL);
	syntax_error(0, 0, "\\u0000");
}

Test(config, buffer_need_not_be_terminated)
{
	char *copy = malloc(200);
	size_t n;

	cr_assert_not_null(copy);
	n = (size_t)snprintf(copy, 200, "{" IFACES "}");
	copy[n] = '}'; /* junk right after the given length */
	load_len(copy, n, NULL);
	accepted();
	free(copy);
}

Test(config, byte_order_mark)
{
	static const char doc[] = "\xef\xbb\xbf{" IFACES "}";

	load_len(doc, sizeof(doc) - 1, NULL);
	accepted();
}

Test(config, long_strings)
{
	size_t n = 4 << 20;
	char *big = malloc(n + 1);

	cr_assert_not_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"%s\", \"addresses\": "
			"[\"10.0.0.100\"]}]}",
			big);
	refused_with("accelerators[0].name", "must be 2-128 characters, got 4194304");
	cr_assert_lt(strlen(d.v[0].message), 200, "the value is cut short in the message");
	/* A long unknown key: the path is cut short too. */
	loadf("{" IFACES ", \"%s\": 1}", big);
	cr_assert_null(cfg);
	cr_assert_eq(d.n, 1);
	cr_assert_lt(strlen(d.v[0].path), 100);
	cr_assert_not_null(strstr(d.v[0].message, "unknown field"));
	free(big);
}

Test(config, control_characters_never_reach_messages)
{
	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"a\\nb\\u001b[31m\", \"addresses\": "
			"[\"10.0.0.100\"]}], \"bad\\nkey\": 1}");
	cr_assert_null(cfg);
	for (unsigned int i = 0; i < d.n; i++) {
		for (const char *p = d.v[i].message; *p != '\0'; p++)
			cr_assert((unsigned char)*p >= 0x20 && *p != 0x7f, "%s", d.v[i].message);
		for (const char *p = d.v[i].path; *p != '\0'; p++)
			cr_assert((unsigned char)*p > 0x20 && *p != 0x7f, "%s", d.v[i].path);
	}
}

/* ---- Files ---------------------------------------------------------------- */

Test(config, file_missing)
{
	cfg = gax_config_load_file("/nonexistent/gax.json", &d);
	cr_assert_null(cfg);
	cr_assert_eq(errno, ENOENT);
	cr_assert_gt(d.n_errors, 0);
	cr_assert_not_null(strstr(d.v[0].message, "No such file"));
}

Test(config, file_is_a_folder)
{
	cfg = gax_config_load_file(GAX_TEST_DATA, &d);
	cr_assert_null(cfg);
	cr_assert_eq(errno, EISDIR);
	cr_assert_not_null(strstr(d.v[0].message, "folder"));
}

Test(config, file_too_big)
{
	char path[] = "/tmp/gax-test-big-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (64 << 20) + 1), 0); /* sparse: costs no disk */
	close(fd);
	cfg = gax_config_load_file(path, &d);
	unlink(path);
	cr_assert_null(cfg);
	cr_assert_eq(errno, EFBIG);
	cr_assert_not_null(strstr(d.v[0].message, "64 MiB"));
}

Test(config, file_loads)
{
	char path[] = "/tmp/gax-test-cfg-XXXXXX";
	static const char doc[] = "{" IFACES "}";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, doc, sizeof(doc) - 1), (ssize_t)sizeof(doc) - 1);
	close(fd);
	cfg = gax_config_load_file(path, &d);
	unlink(path);
	accepted();
	cr_assert_eq(cfg->n_interfaces, 2);
}

/* ---- Types and fields ------------------------------------------------------- */

Test(config, wrong_types)
{
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": "
			"\"10\"}, {\"address\": \"10.1.0.12\", \"weight\": 10.5},"
			" {\"address\": \"10.1.0.13\", \"weight\": true},"
			" {\"address\": \"10.1.0.14\", \"weight\": null}]}");
	refused_with(G1 ".endpoints[0].weight", "expected an integer, got a string");
	refused_with(G1 ".endpoints[1].weight", "expected an integer, got a number");
	refused_with(G1 ".endpoints[2].weight", "expected an integer, got a boolean");
	refused_with(G1 ".endpoints[3].weight", "expected an integer, got null");
	cr_assert_eq(d.n_errors, 4);
}

Test(config, wrong_types_elsewhere)
{
	loadf("{\"interfaces\": {}, \"accelerators\": \"web\", \"limits\": []}");
	refused_with("interfaces", "expected an array, got an object");
	refused_with("accelerators", "expected an array, got a string");
	refused_with("limits", "expected an object, got an array");
	load_listeners("{\"name\": 5, \"protocol\": [\"tcp\"], \"port_ranges\": 80,"
			" \"endpoint_groups\": {}}");
	refused_with(L1 ".name", "expected a string, got an integer");
	refused_with(L1 ".protocol", "expected a string, got an array");
	refused_with(L1 ".port_ranges", "expected a string (\"80,8080~8085\") or an array");
	refused_with(L1 ".endpoint_groups", "expected an array, got an object");
	load_listeners("42");
	refused_with(L1, "expected an object, got an integer");
	load_group("{\"name\": \"eg\", \"reserve_client_ip\": \"yes\", \"health_check\": true}");
	refused_with(G1 ".reserve_client_ip", "expected a boolean");
	refused_with(G1 ".health_check", "expected an object, got a boolean");
}

Test(config, unknown_fields_at_every_level)
{
	loadf("{" IFACES ", \"acelerators\": []}");
	refused_with("acelerators", "unknown field; expected one of interfaces, accelerators, "
			"limits");
	cr_assert(has_sev(GAX_DIAG_ERROR, "acelerators", "did you mean accelerators?"));

	load_listener("tcp", "\"80\"", "\"client_afinity\": \"source_ip\"");
	refused_with(L1 ".client_afinity", "unknown field; expected one of name, protocol, "
			"port_ranges, client_affinity, idle_timeout, request_timeout, "
			"certificates, endpoint_groups");

	loadf("{\"interfaces\": [{\"name\": \"wan\", \"device\": \"net0\", \"addresses\": "
			"[\"10.0.0.1/24\"], \"gw\": \"10.0.0.254\", \"neighbors\": [{\"address\": "
			"\"10.0.0.2\", \"mac\": \"02:00:00:00:00:01\", \"vlan\": 1}]}],"
			" \"limits\": {\"ports\": 3}}");
	refused_with("interfaces[0].gw", "unknown field");
	refused_with("interfaces[0].neighbors[0].vlan", "unknown field");
	refused_with("limits.ports", "unknown field");

	load_listener("tcp", "[{\"from_port\": 80, \"to_port\": 80, \"step\": 1}]", "");
	refused_with(L1 ".port_ranges[0].step", "unknown field; expected one of from_port, "
			"to_port");

	load_group("{\"name\": \"eg\", \"weight\": 5, \"port_overrides\": [{\"listener_port\": 80,"
			" \"endpoint_port\": 81, \"protocol\": \"tcp\"}], \"health_check\": "
			"{\"intervall\": 3}, \"endpoints\": [{\"address\": \"10.1.0.11\", "
			"\"wieght\": 1}]}");
	refused_with(G1 ".weight", "unknown field");
	refused_with(G1 ".port_overrides[0].protocol", "unknown field");
	refused_with(G1 ".health_check.intervall", "did you mean interval?");
	refused_with(G1 ".endpoints[0].wieght", "did you mean weight?");

	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"web\", \"addresses\": [\"10.0.0.100\"],"
			" \"region\": \"x\"}]}");
	refused_with("accelerators[0].region", "unknown field; expected one of name, addresses, "
			"listeners");
}

Test(config, unknown_field_in_certificate)
{
	load_listener("https", "\"443\"", "\"certificates\": [{\"cert\": \"a.pem\", \"key\": "
			"\"a.key\", \"chain\": \"c.pem\"}]");
	refused_with(L1 ".certificates[0].chain", "unknown field; expected one of cert, key");
}

Test(config, required_fields)
{
	loadf("{}");
	refused_with("interfaces", "required field is missing");
	loadf("{\"interfaces\": [{}], \"accelerators\": [{\"listeners\": [{\"endpoint_groups\": "
			"[{\"endpoints\": [{}], \"port_overrides\": [{}]}]}]}]}");
	refused_with("interfaces[0].name", "required field is missing");
	refused_with("interfaces[0].device", "required field is missing");
	refused_with("interfaces[0].addresses", "required field is missing");
	refused_with("accelerators[0].name", "required field is missing");
	refused_with("accelerators[0].addresses", "required field is missing");
	refused_with(L1 ".name", "required field is missing");
	refused_with(L1 ".protocol", "required field is missing");
	refused_with(L1 ".port_ranges", "required field is missing");
	refused_with(G1 ".name", "required field is missing");
	refused_with(G1 ".endpoints[0].address", "required field is missing");
	refused_with(G1 ".port_overrides[0].listener_port", "required field is missing");
	refused_with(G1 ".port_overrides[0].endpoint_port", "required field is missing");
}

Test(config, every_problem_in_one_run)
{
	/* Three independent mistakes in three different objects. */
	load_listeners("{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"65500\","
			" \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"l2\", \"protocol\": \"udp\", \"port_ranges\": \"53\","
			" \"client_afinity\": \"none\", \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"l3\", \"protocol\": \"tcp\", \"port_ranges\": \"443\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\", \"weight\": 300}]}]}");
	cr_assert_null(cfg);
	cr_assert_eq(d.n_errors, 3, "got %u errors", d.n_errors);
	refused_with("accelerators[0].listeners[0].port_ranges", "port 65500 is outside 1-65499");
	refused_with("accelerators[0].listeners[1].client_afinity", "unknown field");
	refused_with("accelerators[0].listeners[2].endpoint_groups[0].endpoints[0].weight",
			"weight 300 is outside 0-255");
}

Test(config, keeps_going_after_a_broken_object)
{
	/* The first listener is not even an object; the rest is still checked. */
	load_listeners("[], {\"name\": \"x\", \"protocol\": \"tcp\", \"port_ranges\": \"80\"}");
	refused_with(L1, "expected an object, got an array");
	refused_with("accelerators[0].listeners[1].name", "must be 2-128 characters, got 1");
}

/* ---- Limits --------------------------------------------------------------- */

Test(config, limits_defaults)
{
	loadf("{" IFACES "}");
	accepted();
	cr_assert_eq(cfg->limits.ports_per_listener, 30);
	cr_assert_eq(cfg->limits.endpoints_per_group, 4);
	cr_assert_eq(cfg->limits.maglev_table_size, 65537);
	cr_assert_eq(cfg->n_accelerators, 0);
}

Test(config, limits_ranges)
{
	loadf("{" IFACES ", \"limits\": {\"ports_per_listener\": 65499, \"endpoints_per_group\": "
			"256, \"maglev_table_size\": 251}}");
	accepted();
	cr_assert_eq(cfg->limits.ports_per_listener, 65499);
	cr_assert_eq(cfg->limits.endpoints_per_group, 256);
	cr_assert_eq(cfg->limits.maglev_table_size, 251);
	loadf("{" IFACES ", \"limits\": {\"ports_per_listener\": 1, \"endpoints_per_group\": 1,"
			" \"maglev_table_size\": 16777213}}");
	accepted();
	loadf("{" IFACES ", \"limits\": {\"ports_per_listener\": 0, \"endpoints_per_group\": 257,"
			" \"maglev_table_size\": 65536}}");
	refused_with("limits.ports_per_listener", "ports_per_listener 0 is outside 1-65499");
	refused_with("limits.endpoints_per_group", "endpoints_per_group 257 is outside 1-256");
	refused_with("limits.maglev_table_size", "maglev_table_size 65536 is not a prime");
	loadf("{" IFACES ", \"limits\": {\"ports_per_listener\": 65500, \"endpoints_per_group\": 0,"
			" \"maglev_table_size\": 16777259}}");
	refused_with("limits.ports_per_listener", "outside 1-65499");
	refused_with("limits.endpoints_per_group", "outside 1-256");
	refused_with("limits.maglev_table_size", "outside 251-16777213");
	loadf("{" IFACES ", \"limits\": {\"maglev_table_size\": 241}}");
	refused_with("limits.maglev_table_size", "outside 251-16777213");
}

Test(config, invalid_limit_falls_back_to_default)
{
	char *l;

	/* ports_per_listener is invalid: the default 30 applies, so 31 ports are refused too. */
	cr_assert(asprintf(&l, "{" IFACES ", \"limits\": {\"ports_per_listener\": \"many\"},"
			" \"accelerators\": [{\"name\": \"web\", \"addresses\": [\"10.0.0.100\"],"
			" \"listeners\": [{\"name\": \"l1\", \"protocol\": \"tcp\", "
			"\"port_ranges\": \"1~31\", \"endpoint_groups\": [" GROUP "]}]}]}") > 0);
	load_len(l, strlen(l), NULL);
	free(l);
	refused_with("limits.ports_per_listener", "expected an integer");
	refused_with(L1 ".port_ranges", "31 ports, at most 30");
}

/* ---- Listener ports ------------------------------------------------------- */

Test(config, port_boundaries)
{
	load_listener("tcp", "\"65499\"", "");
	accepted();
	load_listener("tcp", "\"1\"", "");
	accepted();
	load_listener("tcp", "\"65500\"", "");
	refused_with(L1 ".port_ranges", "port 65500 is outside 1-65499");
	load_listener("tcp", "\"0\"", "");
	refused_with(L1 ".port_ranges", "port 0 is outside 1-65499");
	load_listener("tcp", "[{\"from_port\": 65499, \"to_port\": 65500}]", "");
	refused_with(L1 ".port_ranges[0].to_port", "port 65500 is outside 1-65499");
	load_listener("tcp", "[{\"from_port\": 0, \"to_port\": 1}]", "");
	refused_with(L1 ".port_ranges[0].from_port", "port 0 is outside 1-65499");
}

Test(config, ports_per_listener)
{
	load_listener("tcp", "\"1~30\"", "");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].n_ports, 30);
	load_listener("udp", "\"1~10,20~39\"", "");
	accepted();
	load_listener("tcp", "\"1~31\"", "");
	refused_with(L1 ".port_ranges", "31 ports, at most 30 per tcp listener "
			"(limits.ports_per_listener)");
	load_listener("udp", "\"1~10,20~40\"", "");
	refused_with(L1 ".port_ranges", "31 ports, at most 30 per udp listener");
}

Test(config, raised_limit_allows_more_ports)
{
	loadf("{" IFACES ", \"limits\": {\"ports_per_listener\": 31}, \"accelerators\": [{\"name\":"
			" \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": [{\"name\": "
			"\"l1\","
			" \"protocol\": \"tcp\", \"port_ranges\": \"1~31\", \"endpoint_groups\": "
			"[" GROUP
			"]}]}]}");
	accepted();
	cr_assert_eq(cfg->limits.ports_per_listener, 31);
	loadf("{" IFACES ", \"limits\": {\"ports_per_listener\": 31}, \"accelerators\": [{\"name\":"
			" \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": [{\"name\": "
			"\"l1\","
			" \"protocol\": \"tcp\", \"port_ranges\": \"1~32\", \"endpoint_groups\": "
			"[" GROUP
			"]}]}]}");
	refused_with(L1 ".port_ranges", "32 ports, at most 31");
}

Test(config, http_and_https_take_one_port)
{
	load_listener("http", "\"8000\"", "");
	accepted();
	load_listener("http", "\"80,81\"", "");
	refused_with(L1 ".port_ranges", "http listeners take exactly one port, got 2");
	load_listener("http", "\"80~81\"", "");
	refused_with(L1 ".port_ranges", "exactly one port, got 2");
	load_listener("https", "\"443,444\"", "\"certificates\": [{\"cert\": \"/nonexistent.pem\","
			" \"key\": \"/nonexistent.key\"}]");
	refused_with(L1 ".port_ranges", "https listeners take exactly one port, got 2");
}

Test(config, port_range_forms)
{
	load_listener("tcp", "\"8085~8090, 80, 8080~8084\"", "");
	accepted();
	const struct gax_listener *l = &cfg->accelerators[0].listeners[0];

	cr_assert_eq(l->n_port_ranges, 2, "sorted and merged");
	cr_assert_eq(l->port_ranges[0].from, 80);
	cr_assert_eq(l->port_ranges[0].to, 80);
	cr_assert_eq(l->port_ranges[1].from, 8080);
	cr_assert_eq(l->port_ranges[1].to, 8090);
	cr_assert_eq(l->n_ports, 12);

	load_listener("tcp", "[{\"from_port\": 8086, \"to_port\": 8090}, {\"from_port\": 80,"
			" \"to_port\": 80}, {\"from_port\": 8080, \"to_port\": 8085}]", "");
	accepted();
	l = &cfg->accelerators[0].listeners[0];
	cr_assert_eq(l->n_port_ranges, 2);
	cr_assert_eq(l->port_ranges[1].from, 8080);
	cr_assert_eq(l->port_ranges[1].to, 8090);
	cr_assert_eq(l->n_ports, 12);
}

Test(config, port_range_mistakes)
{
	load_listener("tcp", "\"90~80\"", "");
	refused_with(L1 ".port_ranges", "range 90~80 is reversed");
	load_listener("tcp", "\"80,\"", "");
	refused_with(L1 ".port_ranges", "empty item");
	load_listener("tcp", "\"\"", "");
	refused_with(L1 ".port_ranges", "no ports given");
	load_listener("tcp", "\"80,80\"", "");
	refused_with(L1 ".port_ranges", "port 80 is listed twice");
	load_listener("tcp", "[]", "");
	refused_with(L1 ".port_ranges", "at least one port");
	load_listener("tcp", "[{\"from_port\": 90, \"to_port\": 80}]", "");
	refused_with(L1 ".port_ranges[0]", "from_port 90 is above to_port 80");
	load_listener("tcp", "[{\"from_port\": 80, \"to_port\": 90}, {\"from_port\": 85,"
			" \"to_port\": 85}]", "");
	refused_with(L1 ".port_ranges", "80~90 and 85 overlap");
	load_listener("tcp", "[{\"from_port\": \"80\", \"to_port\": 80}, 7]", "");
	refused_with(L1 ".port_ranges[0].from_port", "expected an integer, got a string");
	refused_with(L1 ".port_ranges[1]", "expected an object, got an integer");
}

/* ---- Port sharing ----------------------------------------------------------- */

static struct gax_config *
two_listeners(const char *p1, const char *ports1, const char *p2, const char *ports2)
{
	char *l;
	const char *c1 = strcmp(p1, "https") == 0 ?
		", \"certificates\": [{\"cert\": \"" GAX_SOURCE_ROOT "/config/certs/demo.pem\","
		" \"key\": \"" GAX_SOURCE_ROOT "/config/certs/demo.key\"}]" : "";
	const char *c2 = strcmp(p2, "https") == 0 ? c1[0] != '\0' ? c1 :
		", \"certificates\": [{\"cert\": \"" GAX_SOURCE_ROOT "/config/certs/demo.pem\","
		" \"key\": \"" GAX_SOURCE_ROOT "/config/certs/demo.key\"}]" : "";

	cr_assert(asprintf(&l, "{\"name\": \"%s-a\", \"protocol\": \"%s\", \"port_ranges\": "
			"\"%s\"%s, \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"%s-b\", \"protocol\": \"%s\", \"port_ranges\": \"%s\"%s,"
			" \"endpoint_groups\": [" GROUP "]}",
			p1, p1, ports1, c1, p2, p2, ports2, c2) > 0);
	load_listeners(l);
	free(l);
	return cfg;
}

Test(config, port_sharing_same_protocol)
{
	two_listeners("tcp", "80", "tcp", "80");
	refused_with("accelerators[0].listeners[1].port_ranges",
			"port 80 is already used by tcp listener \"tcp-a\" "
			"(accelerators[0].listeners[0])");
	two_listeners("udp", "53,60~70", "udp", "65~75");
	refused_with("accelerators[0].listeners[1].port_ranges",
			"port 65 is already used by udp listener \"udp-a\"");
	two_listeners("http", "8000", "http", "8000");
	refused_with("accelerators[0].listeners[1].port_ranges", "port 8000 is already used");
}

Test(config, port_sharing_over_tcp)
{
	two_listeners("tcp", "443", "https", "443");
	refused_with("accelerators[0].listeners[1].port_ranges",
			"port 443 is already used by tcp listener \"tcp-a\"");
	two_listeners("http", "80", "tcp", "70~90");
	refused_with("accelerators[0].listeners[1].port_ranges",
			"port 80 is already used by http listener \"http-a\"");
	two_listeners("http", "80", "https", "80");
	refused_with("accelerators[0].listeners[1].port_ranges", "already used by http listener");
}

Test(config, port_sharing_allowed)
{
	two_listeners("tcp", "53", "udp", "53");
	accepted();
	two_listeners("https", "443", "udp", "443");
	accepted();
	two_listeners("tcp", "80~89", "tcp", "90~99");
	accepted();
}

Test(config, port_sharing_reported_once_per_pair)
{
	/* The later listener is blamed, whatever the order of the ranges. */
	two_listeners("tcp", "85", "tcp", "80~90,100,200");
	refused_with("accelerators[0].listeners[1].port_ranges",
			"port 85 is already used by tcp listener \"tcp-a\"");
	cr_assert_eq(d.n_errors, 1);
	two_listeners("tcp", "80~90,100~110", "tcp", "85,105");
	cr_assert_eq(d.n_errors, 1, "one error per pair of listeners, got %u", d.n_errors);
}

Test(config, port_sharing_across_accelerators_allowed)
{
	loadf("{" IFACES ", \"accelerators\": ["
			"{\"name\": \"a1\", \"addresses\": [\"10.0.0.100\"], \"listeners\": "
			"[{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\", "
			"\"endpoint_groups\": ["
			GROUP "]}]},"
			"{\"name\": \"a2\", \"addresses\": [\"10.0.0.101\"], \"listeners\": "
			"[{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\", "
			"\"endpoint_groups\": ["
			GROUP "]}]}]}");
	accepted();
}

/* ---- Names ---------------------------------------------------------------- */

Test(config, name_lengths)
{
	char *n2 = name_of_len(2), *n128 = name_of_len(128), *n1 = name_of_len(1);
	char *n129 = name_of_len(129);
	char *l;

	cr_assert(asprintf(&l, "{\"name\": \"%s\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [{\"name\": \"%s\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]}]}", n2, n128) > 0);
	load_listeners(l);
	free(l);
	accepted();
	cr_assert_str_eq(cfg->accelerators[0].listeners[0].name, n2);
	cr_assert_str_eq(cfg->accelerators[0].listeners[0].groups[0].name, n128);

	cr_assert(asprintf(&l, "{\"name\": \"%s\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [{\"name\": \"%s\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]}]}", n1, n129) > 0);
	load_listeners(l);
	free(l);
	refused_with(L1 ".name", "name \"a\" is not valid: must be 2-128 characters, got 1");
	refused_with(G1 ".name", "must be 2-128 characters, got 129");
	free(n1);
	free(n2);
	free(n128);
	free(n129);
}

Test(config, name_characters)
{
	load_listeners("{\"name\": \"1tcp\", \"protocol\": \"tcp\", \"port_ranges\": \"80\"},"
			"{\"name\": \"-tcp\", \"protocol\": \"tcp\", \"port_ranges\": \"81\"},"
			"{\"name\": \"tcp 80\", \"protocol\": \"tcp\", \"port_ranges\": \"82\"},"
			"{\"name\": \"tcp.80\", \"protocol\": \"tcp\", \"port_ranges\": \"83\"},"
			"{\"name\": \"t\\u00e9st\", \"protocol\": \"tcp\", \"port_ranges\": "
			"\"84\"},{\"name\": \"Tcp_80-x9\", \"protocol\": \"tcp\", \"port_ranges\": "
			"\"85\"}");
	refused_with(L1 ".name", "must start with a letter");
	refused_with("accelerators[0].listeners[1].name", "must start with a letter");
	refused_with("accelerators[0].listeners[2].name", "a space is not allowed");
	refused_with("accelerators[0].listeners[3].name", "'.' is not allowed");
	refused_with("accelerators[0].listeners[4].name", "byte 0xc3 is not allowed");
	cr_assert_eq(d.n_errors, 5, "Tcp_80-x9 is a good name");
}

Test(config, duplicate_names)
{
	load_listeners("{\"name\": \"tcp-80\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [" GROUP ", " GROUP "]},"
			"{\"name\": \"tcp-81\", \"protocol\": \"tcp\", \"port_ranges\": \"81\","
			" \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"tcp-80\", \"protocol\": \"tcp\", \"port_ranges\": \"82\","
			" \"endpoint_groups\": [" GROUP "]}");
	refused_with("accelerators[0].listeners[2].name",
			"name \"tcp-80\" is already used by accelerators[0].listeners[0]");
	refused_with(L1 ".endpoint_groups[1].name", "name \"eg\" is already used by "
			"endpoint_groups[0]");
	cr_assert_eq(d.n_errors, 2);
}

Test(config, duplicate_accelerator_and_interface_names)
{
	loadf("{\"interfaces\": [{\"name\": \"wan\", \"device\": \"net0\", \"addresses\": "
			"[\"10.0.0.1/24\"], \"gateway\": \"10.0.0.254\"}, {\"name\": \"wan\", "
			"\"device\":"
			" \"net0\", \"addresses\": [\"10.1.0.1/24\"]}], \"accelerators\": ["
			"{\"name\": \"web\", \"addresses\": [\"10.0.0.100\"]},"
			"{\"name\": \"web\", \"addresses\": [\"10.0.0.101\"]}]}");
	refused_with("interfaces[1].name", "name \"wan\" is already used by interfaces[0]");
	refused_with("interfaces[1].device", "device \"net0\" is already used by interfaces[0]");
	refused_with("accelerators[1].name", "name \"web\" is already used by accelerators[0]");
}

Test(config, duplicate_group_names_and_regions)
{
	load_listeners("{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": ["
			"{\"name\": \"eg\", \"region\": \"east\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]},"
			"{\"name\": \"eg\", \"region\": \"west\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]},"
			"{\"name\": \"eg3\", \"region\": \"east\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]},"
			"{\"name\": \"eg4\", \"endpoints\": [{\"address\": \"10.1.0.11\"}]},"
			"{\"name\": \"eg5\", \"endpoints\": [{\"address\": \"10.1.0.11\"}]}]}");
	refused_with(L1 ".endpoint_groups[1].name", "name \"eg\" is already used by "
			"endpoint_groups[0]");
	refused_with(L1 ".endpoint_groups[2].region", "region \"east\" already has an endpoint "
			"group");
	cr_assert_eq(d.n_errors, 2, "groups without a region do not clash");
}

Test(config, region_rule)
{
	char *r64 = name_of_len(64), *r65 = name_of_len(65);
	char *g;

	cr_assert(asprintf(&g, "{\"name\": \"eg\", \"region\": \"%s\", \"endpoints\": "
			"[{\"address\": \"10.1.0.11\"}]}", r64) > 0);
	load_group(g);
	free(g);
	accepted();
	load_group("{\"name\": \"eg\", \"region\": \"9-us_east\", \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]}");
	accepted();
	cr_assert(asprintf(&g, "{\"name\": \"eg\", \"region\": \"%s\"}", r65) > 0);
	load_group(g);
	free(g);
	refused_with(G1 ".region", "must be 1-64 characters, got 65");
	load_group("{\"name\": \"eg\", \"region\": \"\"}");
	refused_with(G1 ".region", "must be 1-64 characters, got 0");
	load_group("{\"name\": \"eg\", \"region\": \"us east\"}");
	refused_with(G1 ".region", "letters, digits");
	free(r64);
	free(r65);
}

/* ---- Listener settings ------------------------------------------------------ */

Test(config, protocol_and_affinity)
{
	load_listener("TCP", "\"80\"", "");
	refused_with(L1 ".protocol", "\"TCP\" is not a valid protocol; expected tcp, udp, http or "
			"https");
	load_listener("tcp", "\"80\"", "\"client_affinity\": \"source\"");
	refused_with(L1 ".client_affinity", "expected none or source_ip");
	load_listener("tcp", "\"80\"", "\"client_affinity\": \"source_ip\"");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].client_affinity, GAX_AFFINITY_SOURCE_IP);
}

Test(config, idle_timeout_per_protocol)
{
	load_listener("tcp", "\"80\"", "\"idle_timeout\": 10");
	accepted();
	load_listener("tcp", "\"80\"", "\"idle_timeout\": 900");
	accepted();
	load_listener("tcp", "\"80\"", "\"idle_timeout\": 9");
	refused_with(L1 ".idle_timeout", "idle_timeout 9 is outside 10-900 for tcp listeners");
	load_listener("tcp", "\"80\"", "\"idle_timeout\": 901");
	refused_with(L1 ".idle_timeout", "outside 10-900");
	load_listener("udp", "\"53\"", "\"idle_timeout\": 20");
	accepted();
	load_listener("udp", "\"53\"", "\"idle_timeout\": 21");
	refused_with(L1 ".idle_timeout", "idle_timeout 21 is outside 10-20 for udp listeners");
	load_listener("udp", "\"53\"", "\"idle_timeout\": 9");
	refused_with(L1 ".idle_timeout", "outside 10-20");
	load_listener("http", "\"80\"", "\"idle_timeout\": 1");
	accepted();
	load_listener("http", "\"80\"", "\"idle_timeout\": 60");
	accepted();
	load_listener("http", "\"80\"", "\"idle_timeout\": 61");
	refused_with(L1 ".idle_timeout", "idle_timeout 61 is outside 1-60 for http listeners");
	load_listener("http", "\"80\"", "\"idle_timeout\": 0");
	refused_with(L1 ".idle_timeout", "outside 1-60");
}

Test(config, request_timeout)
{
	load_listener("http", "\"80\"", "\"request_timeout\": 180");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].request_timeout, 180);
	load_listener("http", "\"80\"", "\"request_timeout\": 1");
	accepted();
	load_listener("http", "\"80\"", "\"request_timeout\": 181");
	refused_with(L1 ".request_timeout", "request_timeout 181 is outside 1-180");
	load_listener("http", "\"80\"", "\"request_timeout\": 0");
	refused_with(L1 ".request_timeout", "outside 1-180");
	load_listener("tcp", "\"80\"", "\"request_timeout\": 60");
	refused_with(L1 ".request_timeout", "request_timeout is only allowed on http and https "
			"listeners, not tcp");
	load_listener("udp", "\"53\"", "\"request_timeout\": 60");
	refused_with(L1 ".request_timeout", "not udp");
}

Test(config, certificates_only_on_https)
{
	load_listener("https", "\"443\"", "");
	refused_with(L1 ".certificates", "https listeners need at least one certificate");
	load_listener("https", "\"443\"", "\"certificates\": []");
	refused_with(L1 ".certificates", "at least one certificate");
	load_listener("tcp", "\"443\"", "\"certificates\": [{\"cert\": \"a\", \"key\": \"b\"}]");
	refused_with(L1 ".certificates", "certificates are only allowed on https listeners, not "
			"tcp");
	load_listener("http", "\"80\"", "\"certificates\": []");
	refused_with(L1 ".certificates", "not http");
}

Test(config, listener_defaults)
{
	load_listeners("{\"name\": \"t\\u0031\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"u1\", \"protocol\": \"udp\", \"port_ranges\": \"53\","
			" \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"h1\", \"protocol\": \"http\", \"port_ranges\": \"8000\","
			" \"endpoint_groups\": [" GROUP "]}");
	accepted();
	const struct gax_listener *l = cfg->accelerators[0].listeners;

	cr_assert_str_eq(l[0].name, "t1");
	cr_assert_eq(l[0].protocol, GAX_PROTO_TCP);
	cr_assert_eq(l[0].client_affinity, GAX_AFFINITY_NONE);
	cr_assert_eq(l[0].idle_timeout, 900);
	cr_assert_eq(l[0].request_timeout, 0);
	cr_assert_eq(l[0].n_certificates, 0);
	cr_assert_eq(l[1].protocol, GAX_PROTO_UDP);
	cr_assert_eq(l[1].idle_timeout, 20);
	cr_assert_eq(l[1].request_timeout, 0);
	cr_assert_eq(l[2].protocol, GAX_PROTO_HTTP);
	cr_assert_eq(l[2].idle_timeout, 15);
	cr_assert_eq(l[2].request_timeout, 60);
}

/* ---- Endpoint groups -------------------------------------------------------- */

Test(config, group_defaults)
{
	load_listeners("{\"name\": \"t1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"u1\", \"protocol\": \"udp\", \"port_ranges\": \"53\","
			" \"endpoint_groups\": [" GROUP "]},"
			"{\"name\": \"h1\", \"protocol\": \"http\", \"port_ranges\": \"8000\","
			" \"endpoint_groups\": [" GROUP "]}");
	accepted();
	const struct gax_listener *l = cfg->accelerators[0].listeners;
	const struct gax_endpoint_group *g = &l[0].groups[0];

	cr_assert_str_eq(g->name, "eg");
	cr_assert_null(g->region);
	cr_assert_eq(g->traffic_percentage, 100);
	cr_assert_eq(g->reserve_client_ip, false);
	cr_assert_eq(g->request_protocol, GAX_PROTO_TCP, "tcp/udp: the listener's protocol");
	cr_assert_eq(g->n_port_overrides, 0);
	cr_assert_null(g->port_overrides);
	cr_assert_eq(g->has_health_check, false);
	cr_assert_eq(g->n_endpoints, 1);
	cr_assert_eq(g->endpoints[0].type, GAX_ENDPOINT_IP);
	cr_assert_str_eq(g->endpoints[0].address, "10.1.0.11");
	cr_assert_eq(g->endpoints[0].ip, IP(10, 1, 0, 11));
	cr_assert_eq(g->endpoints[0].weight, 128);
	cr_assert_eq(l[1].groups[0].request_protocol, GAX_PROTO_UDP);
	cr_assert_eq(l[2].groups[0].request_protocol, GAX_PROTO_HTTP);
}

Test(config, traffic_percentage)
{
	load_group("{\"name\": \"eg\", \"traffic_percentage\": 1, \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]}");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].groups[0].traffic_percentage, 1);
	load_group("{\"name\": \"eg\", \"traffic_percentage\": 100, \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]}");
	accepted();
	load_group("{\"name\": \"eg\", \"traffic_percentage\": 0}");
	refused_with(G1 ".traffic_percentage", "traffic_percentage 0 is outside 1-100");
	load_group("{\"name\": \"eg\", \"traffic_percentage\": 101}");
	refused_with(G1 ".traffic_percentage", "traffic_percentage 101 is outside 1-100");
}

Test(config, endpoint_request_protocol)
{
	load_listeners("{\"name\": \"h1\", \"protocol\": \"http\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"endpoint_request_protocol\": "
			"\"https\", \"endpoints\": [{\"address\": \"10.1.0.11\"}]}]}");
	refused_with(G1 ".endpoint_request_protocol", "\"https\" is not a valid "
			"endpoint_request_protocol; expected http");

	load_listeners("{\"name\": \"h1\", \"protocol\": \"http\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"endpoint_request_protocol\": "
			"\"http\", \"endpoints\": [{\"address\": \"10.1.0.11\"}]}]}");
	accepted();

	load_listeners("{\"name\": \"s1\", \"protocol\": \"https\", \"port_ranges\": \"443\","
			" \"certificates\": [{\"cert\": "
			"\"" GAX_SOURCE_ROOT "/config/certs/demo.pem\","
			" \"key\": \"" GAX_SOURCE_ROOT "/config/certs/demo.key\"}],"
			" \"endpoint_groups\": [{\"name\": \"eg\", \"endpoint_request_protocol\": "
			"\"https\","
			" \"endpoints\": [{\"address\": \"10.1.0.11\"}]}, {\"name\": \"eg2\","
			" \"endpoints\": [{\"address\": \"10.1.0.12\"}]}]}");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].groups[0].request_protocol, GAX_PROTO_HTTPS);
	cr_assert_eq(cfg->accelerators[0].listeners[0].groups[1].request_protocol, GAX_PROTO_HTTP,
			"default http");

	load_listeners("{\"name\": \"s1\", \"protocol\": \"https\", \"port_ranges\": \"443\","
			" \"certificates\": [{\"cert\": "
			"\"" GAX_SOURCE_ROOT "/config/certs/demo.pem\","
			" \"key\": \"" GAX_SOURCE_ROOT "/config/certs/demo.key\"}],"
			" \"endpoint_groups\": [{\"name\": \"eg\", \"endpoint_request_protocol\": "
			"\"tcp\"}]}");
	refused_with(G1 ".endpoint_request_protocol", "expected http or https");

	load_group("{\"name\": \"eg\", \"endpoint_request_protocol\": \"http\"}");
	refused_with(G1 ".endpoint_request_protocol", "endpoint_request_protocol is only allowed "
			"on http and https listeners, not tcp");
}

Test(config, port_overrides)
{
	load_listeners("{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": "
			"\"80,8080~8085\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"port_overrides\": ["
			"{\"listener_port\": 8085, \"endpoint_port\": 65535},"
			"{\"listener_port\": 80, \"endpoint_port\": 1}],"
			" \"endpoints\": [{\"address\": \"10.1.0.11\"}]}]}");
	accepted();
	const struct gax_endpoint_group *g = &cfg->accelerators[0].listeners[0].groups[0];

	cr_assert_eq(g->n_port_overrides, 2);
	cr_assert_eq(g->port_overrides[0].listener_port, 80, "sorted by listener port");
	cr_assert_eq(g->port_overrides[0].endpoint_port, 1);
	cr_assert_eq(g->port_overrides[1].listener_port, 8085);
	cr_assert_eq(g->port_overrides[1].endpoint_port, 65535);

	load_listeners("{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": "
			"\"80,8080~8085\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"port_overrides\": ["
			"{\"listener_port\": 81, \"endpoint_port\": 8080},"
			"{\"listener_port\": 80, \"endpoint_port\": 0},"
			"{\"listener_port\": 8080, \"endpoint_port\": 65536},"
			"{\"listener_port\": 8081, \"endpoint_port\": 1},"
			"{\"listener_port\": 8081, \"endpoint_port\": 2}]}]}");
	refused_with(G1 ".port_overrides[0].listener_port", "port 81 is not one of the listener's "
			"ports (80,8080~8085)");
	refused_with(G1 ".port_overrides[1].endpoint_port", "port 0 is outside 1-65535");
	refused_with(G1 ".port_overrides[2].endpoint_port", "port 65536 is outside 1-65535");
	refused_with(G1 ".port_overrides[4].listener_port", "port 8081 already has an override "
			"(port_overrides[3])");
	cr_assert_eq(d.n_errors, 4);
}

Test(config, health_check_defaults)
{
	load_listeners("{\"name\": \"t1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"health_check\": {},"
			" \"endpoints\": [{\"address\": \"10.1.0.11\"}]}]},"
			"{\"name\": \"h1\", \"protocol\": \"http\", \"port_ranges\": \"8000\","
			" \"endpoint_groups\": [{\"name\": \"eg\", \"health_check\": {},"
			" \"endpoints\": [{\"address\": \"10.1.0.11\"}]}]}");
	accepted();
	const struct gax_endpoint_group *g = &cfg->accelerators[0].listeners[0].groups[0];

	cr_assert(g->has_health_check);
	cr_assert(g->health_check.enabled);
	cr_assert_eq(g->health_check.protocol, GAX_PROTO_TCP);
	cr_assert_eq(g->health_check.port, 0);
	cr_assert_null(g->health_check.path);
	cr_assert_eq(g->health_check.interval, 2);
	cr_assert_eq(g->health_check.timeout, 2);
	cr_assert_eq(g->health_check.threshold, 3);
	g = &cfg->accelerators[0].listeners[1].groups[0];
	cr_assert_eq(g->health_check.protocol, GAX_PROTO_HTTP);
	cr_assert_str_eq(g->health_check.path, "/");
}

Test(config, health_check_rules)
{
	load_group("{\"name\": \"eg\", \"health_check\": {\"enabled\": false, \"protocol\": "
			"\"https\","
			" \"port\": 65535, \"path\": \"/healthz?full=1\", \"interval\": 50, "
			"\"timeout\": 50,"
			" \"threshold\": 10}, \"endpoints\": [{\"address\": \"10.1.0.11\"}]}");
	accepted();
	const struct gax_health_check *hc =
		&cfg->accelerators[0].listeners[0].groups[0].health_check;

	cr_assert_not(hc->enabled);
	cr_assert_eq(hc->protocol, GAX_PROTO_HTTPS);
	cr_assert_eq(hc->port, 65535);
	cr_assert_str_eq(hc->path, "/healthz?full=1");
	cr_assert_eq(hc->interval, 50);
	cr_assert_eq(hc->threshold, 10);

	load_group("{\"name\": \"eg\", \"health_check\": {\"protocol\": \"udp\", \"port\": 0,"
			" \"interval\": 51, \"threshold\": 1}}");
	refused_with(G1 ".health_check.protocol", "expected tcp, http or https");
	refused_with(G1 ".health_check.port", "port 0 is outside 1-65535");
	refused_with(G1 ".health_check.interval", "interval 51 is outside 1-50");
	refused_with(G1 ".health_check.threshold", "threshold 1 is outside 2-10");

	load_group("{\"name\": \"eg\", \"health_check\": {\"interval\": 2, \"timeout\": 3,"
			" \"threshold\": 11}}");
	refused_with(G1 ".health_check.timeout", "timeout 3 is above interval 2");
	refused_with(G1 ".health_check.threshold", "outside 2-10");
	load_group("{\"name\": \"eg\", \"health_check\": {\"timeout\": 5}}");
	refused_with(G1 ".health_check.timeout", "timeout 5 is above interval 2");

	load_group("{\"name\": \"eg\", \"health_check\": {\"path\": \"/x\"}}");
	refused_with(G1 ".health_check.path", "path is only allowed for http and https checks");
	load_group("{\"name\": \"eg\", \"health_check\": {\"protocol\": \"http\", \"path\": "
			"\"x\"}}");
	refused_with(G1 ".health_check.path", "must start with /");
	load_group("{\"name\": \"eg\", \"health_check\": {\"protocol\": \"http\", \"path\": \"/a "
			"b\"}}");
	refused_with(G1 ".health_check.path", "printable characters without spaces");
	load_group("{\"name\": \"eg\", \"health_check\": {\"protocol\": \"http\", \"path\": "
			"\"\"}}");
	refused_with(G1 ".health_check.path", "must be 1-80 characters");
}

Test(config, health_check_path_length)
{
	char path[82];
	char *g;

	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[80] = '\0';
	cr_assert(asprintf(&g, "{\"name\": \"eg\", \"health_check\": {\"protocol\": \"http\","
			" \"path\": \"%s\"}, \"endpoints\": [{\"address\": "
			"\"10.1.0.11\"}]}", path) > 0);
	load_group(g);
	free(g);
	accepted();
	path[80] = 'p';
	path[81] = '\0';
	cr_assert(asprintf(&g, "{\"name\": \"eg\", \"health_check\": {\"protocol\": \"http\","
			" \"path\": \"%s\"}}", path) > 0);
	load_group(g);
	free(g);
	refused_with(G1 ".health_check.path", "must be 1-80 characters, got 81");
}

/* ---- Endpoints ------------------------------------------------------------ */

Test(config, endpoints_per_group)
{
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\"}, {\"address\":"
			" \"10.1.0.12\"}, {\"address\": \"10.1.0.13\"}, {\"address\": "
			"\"10.1.0.14\"}]}");
	accepted();
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\"}, {\"address\":"
			" \"10.1.0.12\"}, {\"address\": \"10.1.0.13\"}, {\"address\": "
			"\"10.1.0.14\"}, {\"address\": \"10.1.0.15\"}]}");
	refused_with(G1 ".endpoints", "5 endpoints, at most 4 per group "
			"(limits.endpoints_per_group)");
	loadf("{" IFACES ", \"limits\": {\"endpoints_per_group\": 5}, \"accelerators\": [{\"name\":"
			" \"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": [{\"name\": "
			"\"l1\","
			" \"protocol\": \"tcp\", \"port_ranges\": \"80\", \"endpoint_groups\": "
			"[{\"name\":"
			" \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\"}, {\"address\": "
			"\"10.1.0.12\"},"
			" {\"address\": \"10.1.0.13\"}, {\"address\": \"10.1.0.14\"}, {\"address\":"
			" \"10.1.0.15\"}]}]}]}]}");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].groups[0].n_endpoints, 5);
}

Test(config, weight)
{
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": "
			"255}, {\"address\": \"10.1.0.12\", \"weight\": 0}]}");
	accepted();
	cr_assert_eq(cfg->accelerators[0].listeners[0].groups[0].endpoints[0].weight, 255);
	cr_assert_eq(cfg->accelerators[0].listeners[0].groups[0].endpoints[1].weight, 0);
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\", \"weight\": "
			"256}, {\"address\": \"10.1.0.12\", \"weight\": -1}]}");
	refused_with(G1 ".endpoints[0].weight", "weight 256 is outside 0-255");
	refused_with(G1 ".endpoints[1].weight", "weight -1 is outside 0-255");
}

Test(config, endpoint_address_types)
{
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"App.Example.INTERNAL\"},"
			" {\"type\": \"domain\", \"address\": \"db-1.example\"},"
			" {\"type\": \"ip\", \"address\": \"10.1.0.12\"}, {\"address\": "
			"\"localhost\"}]}");
	accepted();
	const struct gax_endpoint *ep = cfg->accelerators[0].listeners[0].groups[0].endpoints;

	cr_assert_eq(ep[0].type, GAX_ENDPOINT_DOMAIN);
	cr_assert_str_eq(ep[0].address, "app.example.internal", "domains are lower-cased");
	cr_assert_eq(ep[1].type, GAX_ENDPOINT_DOMAIN);
	cr_assert_eq(ep[2].type, GAX_ENDPOINT_IP);
	cr_assert_eq(ep[2].ip, IP(10, 1, 0, 12));
	cr_assert_eq(ep[3].type, GAX_ENDPOINT_DOMAIN);
}

Test(config, endpoint_address_mistakes)
{
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"fe80::1\"},"
			" {\"type\": \"ip\", \"address\": \"app.example\"},"
			" {\"type\": \"domain\", \"address\": \"10.1.0.11\"},"
			" {\"address\": \"10.1.0.256\"}]}");
	refused_with(G1 ".endpoints[0].address", "IPv6 is not supported yet");
	refused_with(G1 ".endpoints[1].address", "is a domain name but type is ip");
	refused_with(G1 ".endpoints[2].address", "is an IPv4 address but type is domain");
	refused_with(G1 ".endpoints[3].address", "\"10.1.0.256\" is not an IPv4 address");
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"127.0.0.1\"},"
			" {\"address\": \"224.0.0.1\"}, {\"address\": \"0.0.0.0\"},"
			" {\"address\": \"010.1.0.1\"}]}");
	refused_with(G1 ".endpoints[0].address", "127.0.0.1 is not a unicast address");
	refused_with(G1 ".endpoints[1].address", "224.0.0.1 is not a unicast address");
	refused_with(G1 ".endpoints[2].address", "not a unicast address");
	refused_with(G1 ".endpoints[3].address", "not an IPv4 address");
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"-app.example\"},"
			" {\"address\": \"app..example\"}, {\"address\": \"app_1.example\"},"
			" {\"address\": \"\"}]}");
	refused_with(G1 ".endpoints[0].address", "not a valid domain name: has a label that starts "
			"or ends with '-'");
	refused_with(G1 ".endpoints[1].address", "has an empty label");
	refused_with(G1 ".endpoints[2].address", "'_' is not allowed");
	refused_with(G1 ".endpoints[3].address", "must be 1-253 characters");
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"type\": \"host\", \"address\": "
			"\"10.1.0.11\"}]}");
	refused_with(G1 ".endpoints[0].type", "expected ip or domain");
}

Test(config, endpoint_duplicates)
{
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"10.1.0.11\"},"
			" {\"address\": \"App.Example\"}, {\"address\": \"10.1.0.11\"},"
			" {\"address\": \"app.EXAMPLE\"}]}");
	refused_with(G1 ".endpoints[2].address", "address 10.1.0.11 is listed twice in the group "
			"(endpoints[0])");
	refused_with(G1 ".endpoints[3].address", "address app.example is listed twice");
	cr_assert_eq(d.n_errors, 2);
}

Test(config, endpoint_reachability)
{
	loadf("{" IFACES_NO_GW ", \"accelerators\": [{\"name\": \"web\", \"addresses\": "
			"[\"10.0.0.100\"], \"listeners\": [{\"name\": \"l1\", \"protocol\": "
			"\"tcp\","
			" \"port_ranges\": \"80\", \"endpoint_groups\": [{\"name\": \"eg\", "
			"\"endpoints\": ["
			"{\"address\": \"10.1.0.11\"}, {\"address\": \"192.168.1.1\"},"
			" {\"address\": \"far.example\"}]}]}]}]}");
	refused_with(G1 ".endpoints[1].address", "endpoint 192.168.1.1 is not reachable");
	cr_assert_eq(d.n_errors, 1, "in-subnet and domain endpoints are fine");
	/* With a gateway, everything is reachable. */
	load_group("{\"name\": \"eg\", \"endpoints\": [{\"address\": \"192.168.1.1\"}]}");
	accepted();
}

/* ---- Interfaces ----------------------------------------------------------- */

static struct gax_config *
load_ifaces(const char *ifaces)
{
	return loadf("{\"interfaces\": [%s]}", ifaces);
}

Test(config, interface_fields)
{
	load_ifaces("{\"name\": \"a\", \"device\": \"0000:3b:00.0\", \"addresses\": "
			"[\"10.0.0.1/32\"]}");
	accepted();
	cr_assert_str_eq(cfg->interfaces[0].name, "a", "interface names may be 1 character");
	cr_assert_str_eq(cfg->interfaces[0].device, "0000:3b:00.0");
	cr_assert_eq(cfg->interfaces[0].n_addresses, 1);
	cr_assert_eq(cfg->interfaces[0].addresses[0].addr, IP(10, 0, 0, 1));
	cr_assert_eq(cfg->interfaces[0].addresses[0].len, 32);
	cr_assert_not(cfg->interfaces[0].has_gateway);
	cr_assert_eq(cfg->interfaces[0].n_neighbors, 0);

	load_ifaces("{\"name\": \"abcdefghijklmnopqrstuvwxyz012345\", \"device\": "
			"\"net_af_packet0,iface=veth0\", \"addresses\": [\"10.0.0.1/24\"]}");
	accepted();
	load_ifaces("{\"name\": \"abcdefghijklmnopqrstuvwxyz0123456\", \"device\": \"net 0\","
			" \"addresses\": []}");
	refused_with("interfaces[0].name", "must be 1-32 characters, got 33");
	refused_with("interfaces[0].device", "printable characters without spaces");
	refused_with("interfaces[0].addresses", "at least one address");
	load_ifaces("{\"name\": \"\", \"device\": \"\", \"addresses\": [\"10.0.0.1/24\"]}");
	refused_with("interfaces[0].name", "must be 1-32 characters, got 0");
	refused_with("interfaces[0].device", "must be 1-63 characters, got 0");
	loadf("{\"interfaces\": []}");
	refused_with("interfaces", "at least one interface is required");
}

Test(config, interface_addresses)
{
	load_ifaces("{\"name\": \"a\", \"device\": \"d\", \"addresses\": [\"10.0.0.1\", "
			"\"10.0.0.1/0\","
			" \"10.0.0.1/33\", \"10.0.0.0/24\", \"10.0.0.255/24\", \"fe80::1/64\","
			" \"10.0.0.1/024\", \"x\"]}");
	refused_with("interfaces[0].addresses[0]", "has no prefix length");
	refused_with("interfaces[0].addresses[1]", "prefix length 0 is outside 1-32");
	refused_with("interfaces[0].addresses[2]", "prefix length 33 is outside 1-32");
	refused_with("interfaces[0].addresses[3]", "10.0.0.0/24 is the network address");
	refused_with("interfaces[0].addresses[4]", "10.0.0.255/24 is the broadcast address");
	refused_with("interfaces[0].addresses[5]", "IPv6 is not supported yet");
	refused_with("interfaces[0].addresses[6]", "not an IPv4 address with a prefix length");
	refused_with("interfaces[0].addresses[7]", "not an IPv4 address with a prefix length");
	/* /31 and /32 have no network or broadcast address. */
	load_ifaces("{\"name\": \"a\", \"device\": \"d\", \"addresses\": [\"10.0.0.0/31\","
			" \"10.0.0.3/31\", \"10.9.0.0/32\", \"10.8.0.1/1\"]}");
	cr_assert_eq(d.n_errors, 0);
}

Test(config, interface_address_uniqueness_and_overlap)
{
	/* Two addresses of one interface may share a subnet. */
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\","
			" \"10.0.0.2/24\"]}");
	accepted();
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\","
			" \"10.0.0.1/25\"]},"
			"{\"name\": \"b\", \"device\": \"d1\", \"addresses\": [\"10.0.0.9/16\"]},"
			"{\"name\": \"c\", \"device\": \"d2\", \"addresses\": [\"10.2.0.1/24\"]}");
	refused_with("interfaces[0].addresses[1]", "address 10.0.0.1 is already used by "
			"interfaces[0].addresses[0]");
	refused_with("interfaces[1].addresses[0]", "subnet 10.0.0.0/16 overlaps subnet");
	refused_with("interfaces[1].addresses[0]", "of interface \"a\"");
	cr_assert_not(has_sev(GAX_DIAG_ERROR, "interfaces[2].addresses[0]", ""),
			"10.2.0.0/24 overlaps nothing");
}

Test(config, gateway_rules)
{
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"],"
			" \"gateway\": \"10.0.1.1\"}");
	refused_with("interfaces[0].gateway", "gateway 10.0.1.1 is outside the interface's "
			"subnets");
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"],"
			" \"gateway\": \"10.0.0.1\"}");
	refused_with("interfaces[0].gateway", "is the interface's own address");
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"],"
			" \"gateway\": \"10.0.0.254\"},"
			"{\"name\": \"b\", \"device\": \"d1\", \"addresses\": [\"10.1.0.1/24\"],"
			" \"gateway\": \"10.1.0.254\"}");
	refused_with("interfaces[1].gateway", "only one interface may have a gateway; "
			"interfaces[0] (\"a\") has one already");
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"],"
			" \"gateway\": \"10.0.0.0/24\"}");
	refused_with("interfaces[0].gateway", "must be a host address without a prefix length");
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\","
			" \"192.168.0.2/24\"], \"gateway\": \"192.168.0.1\"}");
	accepted();
	cr_assert(cfg->interfaces[0].has_gateway);
	cr_assert_eq(cfg->interfaces[0].gateway, IP(192, 168, 0, 1));
}

Test(config, neighbors)
{
	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"],"
			" \"neighbors\": [{\"address\": \"10.0.0.11\", \"mac\": "
			"\"02:00:00:00:01:0B\"}]}");
	accepted();
	const struct gax_neighbor *nb = &cfg->interfaces[0].neighbors[0];

	cr_assert_eq(cfg->interfaces[0].n_neighbors, 1);
	cr_assert_eq(nb->addr, IP(10, 0, 0, 11));
	cr_assert_eq(nb->mac[0], 0x02);
	cr_assert_eq(nb->mac[5], 0x0b);

	load_ifaces("{\"name\": \"a\", \"device\": \"d0\", \"addresses\": [\"10.0.0.1/24\"],"
			" \"neighbors\": ["
			"{\"address\": \"10.0.0.11\", \"mac\": \"02:00:00:00:01\"},"
			"{\"address\": \"10.0.0.12\", \"mac\": \"01:00:5e:00:00:01\"},"
			"{\"address\": \"10.0.0.13\", \"mac\": \"ff:ff:ff:ff:ff:ff\"},"
			"{\"address\": \"10.0.0.14\", \"mac\": \"00:00:00:00:00:00\"},"
			"{\"address\": \"10.0.0.15\", \"mac\": \"02-00-00-00-00-01\"},"
			"{\"address\": \"10.9.0.16\", \"mac\": \"02:00:00:00:00:02\"},"
			"{\"address\": \"10.0.0.17\", \"mac\": \"02:00:00:00:00:03\"},"
			"{\"address\": \"10.0.0.17\", \"mac\": \"02:00:00:00:00:04\"}]}");
	refused_with("interfaces[0].neighbors[0].mac", "is not a MAC address");
	refused_with("interfaces[0].neighbors[1].mac", "is a multicast address");
	refused_with("interfaces[0].neighbors[2].mac", "is the broadcast address");
	refused_with("interfaces[0].neighbors[3].mac", "is all zero");
	refused_with("interfaces[0].neighbors[4].mac", "is not a MAC address");
	refused_with("interfaces[0].neighbors[5].address", "neighbor 10.9.0.16 is outside the "
			"interface's subnets");
	refused_with("interfaces[0].neighbors[7].address", "neighbor 10.0.0.17 is listed twice "
			"(neighbors[6])");
	cr_assert_eq(d.n_errors, 7);
}

/* ---- Accelerators --------------------------------------------------------- */

Test(config, accelerator_addresses)
{
	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"web\", \"addresses\": ["
			"\"10.0.0.100\", \"10.0.0.101\", \"10.0.0.102\", \"10.0.0.103\", "
			"\"10.0.0.104\","
			" \"10.0.0.105\", \"10.0.0.106\", \"10.0.0.107\", \"10.0.0.108\", "
			"\"10.0.0.109\","
			" \"10.0.0.110\", \"10.0.0.111\", \"10.0.0.112\", \"10.0.0.113\", "
			"\"10.0.0.114\", \"198.51.100.1\"]}]}");
	accepted();
	cr_assert_eq(cfg->accelerators[0].n_addresses, 16);
	cr_assert_eq(cfg->accelerators[0].addresses[15], IP(198, 51, 100, 1));
	cr_assert_eq(cfg->accelerators[0].n_listeners, 0);

	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"web\", \"addresses\": ["
			"\"10.0.0.100\", \"10.0.0.101\", \"10.0.0.102\", \"10.0.0.103\", "
			"\"10.0.0.104\","
			" \"10.0.0.105\", \"10.0.0.106\", \"10.0.0.107\", \"10.0.0.108\", "
			"\"10.0.0.109\","
			" \"10.0.0.110\", \"10.0.0.111\", \"10.0.0.112\", \"10.0.0.113\", "
			"\"10.0.0.114\", \"10.0.0.115\", \"10.0.0.116\"]}]}");
	refused_with("accelerators[0].addresses", "17 addresses, at most 16");
	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"web\", \"addresses\": []}]}");
	refused_with("accelerators[0].addresses", "at least one address is required");
}

Test(config, accelerator_address_rules)
{
	loadf("{" IFACES ", \"accelerators\": [{\"name\": \"a1\", \"addresses\": [\"10.0.0.1\","
			" \"127.0.0.1\", \"224.0.0.5\", \"240.0.0.1\", \"255.255.255.255\", "
			"\"0.0.0.0\", \"10.0.0.100/32\", \"10.0.0.100\", \"10.0.0.100\"]},"
			"{\"name\": \"a2\", \"addresses\": [\"10.0.0.100\"]}]}");
	refused_with("accelerators[0].addresses[0]", "address 10.0.0.1 is an interface address "
			"(interfaces[0].addresses[0])");
	refused_with("accelerators[0].addresses[1]", "not a unicast address");
	refused_with("accelerators[0].addresses[2]", "not a unicast address");
	refused_with("accelerators[0].addresses[3]", "not a unicast address");
	refused_with("accelerators[0].addresses[4]", "not a unicast address");
	refused_with("accelerators[0].addresses[5]", "not a unicast address");
	refused_with("accelerators[0].addresses[6]", "without a prefix length");
	refused_with("accelerators[0].addresses[8]", "address 10.0.0.100 is already used by "
			"accelerators[0].addresses[7]");
	refused_with("accelerators[1].addresses[0]", "already used by "
			"accelerators[0].addresses[7]");
	cr_assert_eq(d.n_errors, 9);
}

/* ---- Warnings ------------------------------------------------------------- */

Test(config, warnings_do_not_refuse)
{
	load_listeners("{\"name\": \"l1\", \"protocol\": \"tcp\", \"port_ranges\": \"80\"},"
			"{\"name\": \"l2\", \"protocol\": \"tcp\", \"port_ranges\": \"81\","
			" \"endpoint_groups\": [{\"name\": \"eg0\"}, {\"name\": \"eg2\", "
			"\"endpoints\": ["
			"{\"address\": \"10.1.0.11\", \"weight\": 0}]}, " GROUP "]}");
	accepted();
	cr_assert(has_warning(L1, "listener has no endpoint groups and serves nothing"));
	cr_assert(has_warning("accelerators[0].listeners[1].endpoint_groups[0]",
			"no endpoint takes traffic: the group has no endpoints"));
	cr_assert(has_warning("accelerators[0].listeners[1].endpoint_groups[1]",
			"no endpoint takes traffic: every weight is 0"));
	cr_assert_eq(d.n, 3);
}

/* ---- Certificates --------------------------------------------------------- */

static char certdir[64];

static char *
cpath(const char *name)
{
	static char buf[4][160];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", certdir, name);
	return buf[k];
}

static void
write_key(const char *name, EVP_PKEY *key, bool encrypted)
{
	FILE *f = fopen(cpath(name), "w");

	cr_assert_not_null(f);
	if (encrypted)
		cr_assert_eq(PEM_write_PrivateKey(f, key, EVP_aes_128_cbc(),
				(unsigned char *)"secret", 6, NULL, NULL), 1);
	else
		cr_assert_eq(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* A self-signed certificate valid from now + @p from to now + @p to seconds. */
static void
write_cert(const char *name, EVP_PKEY *key, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *f;

	cr_assert_not_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"gax-test", -1, -1,
			0);
	X509_set_issuer_name(x, n);
	cr_assert_gt(X509_sign(x, key, EVP_sha256()), 0);
	f = fopen(cpath(name), "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
}

static void
certs_setup(void)
{
	EVP_PKEY *k1, *k2;
	FILE *f;

	setup();
	snprintf(certdir, sizeof(certdir), "/tmp/gax-test-certs-XXXXXX");
	cr_assert_not_null(mkdtemp(certdir));
	k1 = EVP_EC_gen("P-256");
	k2 = EVP_EC_gen("P-256");
	cr_assert_not_null(k1);
	cr_assert_not_null(k2);
	write_key("site.key", k1, false);
	write_key("other.key", k2, false);
	write_key("locked.key", k1, true);
	write_cert("site.pem", k1, -3600, 86400 * 365);
	write_cert("expired.pem", k1, -86400 * 10, -86400);
	write_cert("future.pem", k1, 86400 * 10, 86400 * 20);
	f = fopen(cpath("garbage.pem"), "w");
	cr_assert_not_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	cr_assert_eq(mkdir(cpath("folder.pem"), 0700), 0);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

static void
certs_teardown(void)
{
	static const char *const files[] = {
		"site.key", "other.key", "locked.key", "site.pem", "expired.pem", "future.pem",
		"garbage.pem", "cfg.json",
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(cpath(files[i]));
	rmdir(cpath("folder.pem"));
	rmdir(certdir);
	teardown();
}

/* An https listener with one certificate; paths relative to certdir. */
static struct gax_config *
load_https(const char *cert, const char *key)
{
	char *text;

	cr_assert(asprintf(&text, "{" IFACES ", \"accelerators\": [{\"name\": \"web\", "
			"\"addresses\": "
			"[\"10.0.0.100\"], \"listeners\": [{\"name\": \"s1\", \"protocol\": "
			"\"https\","
			" \"port_ranges\": \"443\", \"certificates\": [{\"cert\": \"%s\", \"key\": "
			"\"%s\"}], \"endpoint_groups\": [" GROUP "]}]}]}", cert, key) > 0);
	load_len(text, strlen(text), certdir);
	free(text);
	return cfg;
}

#define C1 L1 ".certificates[0]"

Test(config, cert_good_pair, .init = certs_setup, .fini = certs_teardown)
{
	load_https("site.pem", "site.key");
	accepted();
	cr_assert_eq(d.n, 0, "no warning for a valid certificate");
	const struct gax_certificate *c = &cfg->accelerators[0].listeners[0].certificates[0];

	cr_assert_eq(cfg->accelerators[0].listeners[0].n_certificates, 1);
	cr_assert_str_eq(c->cert, "site.pem", "as written");
	cr_assert_str_eq(c->key, "site.key");
	cr_assert_str_eq(c->cert_path, cpath("site.pem"), "resolved against base_dir");
	cr_assert_str_eq(c->key_path, cpath("site.key"));
	/* Absolute paths are kept. */
	load_https(cpath("site.pem"), cpath("site.key"));
	accepted();
}

Test(config, cert_mismatch, .init = certs_setup, .fini = certs_teardown)
{
	load_https("site.pem", "other.key");
	refused_with(C1 ".key", "does not match certificate");
	cr_assert_eq(d.n_errors, 1);
}

Test(config, cert_missing_files, .init = certs_setup, .fini = certs_teardown)
{
	load_https("missing.pem", "missing.key");
	refused_with(C1 ".cert", "cannot open certificate");
	refused_with(C1 ".cert", "No such file or directory");
	refused_with(C1 ".key", "cannot open private key");
	load_https("folder.pem", "site.key");
	refused_with(C1 ".cert", "it is a folder");
}

Test(config, cert_garbage, .init = certs_setup, .fini = certs_teardown)
{
	load_https("garbage.pem", "site.key");
	refused_with(C1 ".cert", "holds no PEM certificate");
	load_https("site.key", "site.key");
	refused_with(C1 ".cert", "holds no PEM certificate");
	load_https("site.pem", "site.pem");
	refused_with(C1 ".key", "holds no PEM private key");
	load_https("site.pem", "locked.key");
	refused_with(C1 ".key", "is encrypted");
	load_https("", "");
	refused_with(C1 ".cert", "got \"\"");
	refused_with(C1 ".key", "got \"\"");
}

Test(config, cert_validity_warnings, .init = certs_setup, .fini = certs_teardown)
{
	load_https("expired.pem", "site.key");
	accepted();
	cr_assert(has_warning(C1 ".cert", "expired on"));
	load_https("future.pem", "site.key");
	accepted();
	cr_assert(has_warning(C1 ".cert", "is not valid before"));
}

Test(config, cert_shared_by_many_listeners, .init = certs_setup, .fini = certs_teardown)
{
	char *text, *p;
	size_t cap = 1 << 20, o = 0;
	int i;

	text = malloc(cap);
	cr_assert_not_null(text);
	o += (size_t)snprintf(text + o, cap - o, "{" IFACES ", \"accelerators\": [{\"name\": "
			"\"web\", \"addresses\": [\"10.0.0.100\"], \"listeners\": [");
	for (i = 0; i < 200; i++)
		o += (size_t)snprintf(text + o, cap - o, "%s{\"name\": \"s%d\", \"protocol\": "
				"\"https\", \"port_ranges\": \"%d\", \"certificates\": [{\"cert\": "
				"\"expired.pem\","
				" \"key\": \"site.key\"}], \"endpoint_groups\": [" GROUP "]}",
				i > 0 ? "," : "", i, 1000 + i);
	snprintf(text + o, cap - o, "]}]}");
	load_len(text, strlen(text), certdir);
	accepted();
	cr_assert_eq(d.n, 200, "each listener gets its own warning");
	p = strstr(d.v[199].path, "listeners[199]");
	cr_assert_not_null(p);
	free(text);
}

Test(config, cert_paths_relative_to_the_file, .init = certs_setup, .fini = certs_teardown)
{
	FILE *f = fopen(cpath("cfg.json"), "w");

	cr_assert_not_null(f);
	fprintf(f, "{" IFACES ", \"accelerators\": [{\"name\": \"web\", \"addresses\": "
			"[\"10.0.0.100\"], \"listeners\": [{\"name\": \"s1\", \"protocol\": "
			"\"https\","
			" \"port_ranges\": \"443\", \"certificates\": [{\"cert\": \"site.pem\", "
			"\"key\": \"site.key\"}], \"endpoint_groups\": [" GROUP "]}]}]}");
	fclose(f);
	cfg = gax_config_load_file(cpath("cfg.json"), &d);
	accepted();
	cr_assert_str_eq(cfg->accelerators[0].listeners[0].certificates[0].cert_path,
			cpath("site.pem"));
}

/* ---- Diagnostics ---------------------------------------------------------- */

Test(config, diags_print)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	gax_diags_add(&d, GAX_DIAG_ERROR, "accelerators[0].name", "name %s is bad", "\"x\"");
	gax_diags_add(&d, GAX_DIAG_WARNING, "accelerators[0].listeners[0]", "serves nothing");
	gax_diags_add(&d, GAX_DIAG_ERROR, "", "cannot open the file");
	gax_diags_add(&d, GAX_DIAG_ERROR, NULL, "no path");
	d.v[3].line = 12;
	d.v[3].column = 5;
	gax_diags_print(f, "web.json", &d);
	gax_diags_print(f, NULL, &d);
	fclose(f);
	cr_assert_str_eq(out,
			"web.json: accelerators[0].name: name \"x\" is bad\n"
			"web.json: warning: accelerators[0].listeners[0]: serves nothing\n"
			"web.json: cannot open the file\nweb.json:12:5: no path\n"
			"accelerators[0].name: name \"x\" is bad\n"
			"warning: accelerators[0].listeners[0]: serves nothing\n"
			"cannot open the file\n12:5: no path\n");
	cr_assert_eq(d.n, 4);
	cr_assert_eq(d.n_errors, 3);
	free(out);
}

Test(config, diags_grow_and_reuse)
{
	unsigned int i;

	for (i = 0; i < 10000; i++)
		cr_assert_eq(gax_diags_add(&d, i % 2 ? GAX_DIAG_WARNING : GAX_DIAG_ERROR, "p",
				"message %u", i), 0);
	cr_assert_eq(d.n, 10000);
	cr_assert_eq(d.n_errors, 5000);
	cr_assert_str_eq(d.v[9999].message, "message 9999");
	gax_diags_fini(&d);
	cr_assert_eq(d.n, 0);
	gax_diags_init(&d);
	gax_diags_add(&d, GAX_DIAG_ERROR, "x", "line\nbreak");
	cr_assert_str_eq(d.v[0].message, "line?break", "one line per diagnostic");
}

Test(config, errors_accumulate_over_loads)
{
	static const char good[] = "{" IFACES "}";

	/* A caller that keeps one list over several loads: each load is judged on its own. */
	load_listener("tcp", "\"65500\"", "");
	cr_assert_null(cfg);
	cr_assert_eq(d.n_errors, 1);
	cfg = gax_config_load_buffer(good, sizeof(good) - 1, NULL, &d);
	cr_assert_not_null(cfg, "earlier errors in the list do not refuse a good config");
	cr_assert_eq(d.n_errors, 1);
}

/* ---- Helpers -------------------------------------------------------------- */

Test(config, names_of_enums)
{
	cr_assert_str_eq(gax_protocol_name(GAX_PROTO_TCP), "tcp");
	cr_assert_str_eq(gax_protocol_name(GAX_PROTO_UDP), "udp");
	cr_assert_str_eq(gax_protocol_name(GAX_PROTO_HTTP), "http");
	cr_assert_str_eq(gax_protocol_name(GAX_PROTO_HTTPS), "https");
	cr_assert_str_eq(gax_affinity_name(GAX_AFFINITY_NONE), "none");
	cr_assert_str_eq(gax_affinity_name(GAX_AFFINITY_SOURCE_IP), "source_ip");
}

Test(config, name_rule)
{
	cr_assert(gax_name_valid("ab"));
	cr_assert(gax_name_valid("A1_-z"));
	cr_assert_not(gax_name_valid(NULL));
	cr_assert_not(gax_name_valid(""));
	cr_assert_not(gax_name_valid("a"));
	cr_assert_not(gax_name_valid("1a"));
	cr_assert_not(gax_name_valid("_a"));
	cr_assert_not(gax_name_valid("a.b"));
	cr_assert_not(gax_name_valid("a b"));
	char *n = name_of_len(128);

	cr_assert(gax_name_valid(n));
	free(n);
	n = name_of_len(129);
	cr_assert_not(gax_name_valid(n));
	free(n);
}

Test(config, domain_rule)
{
	char label[70], name[300];

	cr_assert(gax_domain_valid("localhost"));
	cr_assert(gax_domain_valid("app.example.internal"));
	cr_assert(gax_domain_valid("a-b.c0"));
	cr_assert(gax_domain_valid("1.example"));
	cr_assert_not(gax_domain_valid(NULL));
	cr_assert_not(gax_domain_valid(""));
	cr_assert_not(gax_domain_valid("10.1.0.1"));
	cr_assert_not(gax_domain_valid("123"));
	cr_assert_not(gax_domain_valid("example.123"));
	cr_assert_not(gax_domain_valid("example."));
	cr_assert_not(gax_domain_valid(".example"));
	cr_assert_not(gax_domain_valid("a..b"));
	cr_assert_not(gax_domain_valid("-a.b"));
	cr_assert_not(gax_domain_valid("a-.b"));
	cr_assert_not(gax_domain_valid("a_b.c"));
	memset(label, 'a', 63);
	label[63] = '\0';
	cr_assert(gax_domain_valid(label));
	label[63] = 'a';
	label[64] = '\0';
	cr_assert_not(gax_domain_valid(label), "64-character label");
	/* 253 characters at most: three labels of 63 and one of 61, dot-separated. */
	snprintf(name, sizeof(name), "%.63s.%.63s.%.63s.%.61s", label, label, label, label);
	cr_assert_eq(strlen(name), 253);
	cr_assert(gax_domain_valid(name));
	snprintf(name, sizeof(name), "%.63s.%.63s.%.63s.%.62s", label, label, label, label);
	cr_assert_not(gax_domain_valid(name), "254 characters");
}

Test(config, ip_parse_and_format)
{
	uint32_t a = 0;
	char buf[16];

	cr_assert_eq(gax_ip_parse("10.1.0.11", &a), 0);
	cr_assert_eq(a, IP(10, 1, 0, 11));
	cr_assert_eq(gax_ip_parse("0.0.0.0", &a), 0);
	cr_assert_eq(a, 0);
	cr_assert_eq(gax_ip_parse("255.255.255.255", &a), 0);
	cr_assert_eq(a, UINT32_MAX);
	cr_assert_str_eq(gax_ip_format(IP(192, 168, 0, 1), buf), "192.168.0.1");
	cr_assert_str_eq(gax_ip_format(UINT32_MAX, buf), "255.255.255.255");

	static const char *const bad[] = {
		NULL, "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04", "01.2.3.4", "1..2.3",
		"1.2.3.", ".1.2.3", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/32", "a.b.c.d", "1.2.3.-4",
		"0x1.2.3.4", "1.2.3.1000", "::1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gax_ip_parse(bad[i], &a), -EINVAL, "%s",
				bad[i] != NULL ? bad[i] : "NULL");
}

/* ---- Scale ---------------------------------------------------------------- */

Test(config, thousands_of_listeners)
{
	size_t cap = 8 << 20, o = 0;
	char *text = malloc(cap);
	int i;

	cr_assert_not_null(text);
	o += (size_t)snprintf(text + o, cap - o, "{" IFACES ", \"accelerators\": [{\"name\": "
			"\"big\", \"addresses\": [\"10.0.0.100\"], \"listeners\": [");
	for (i = 0; i < 5000; i++)
		o += (size_t)snprintf(text + o, cap - o, "%s{\"name\": \"l-%d\", \"protocol\": "
				"\"%s\","
				" \"port_ranges\": \"%d\", \"endpoint_groups\": [{\"name\": \"eg\","
				" \"endpoints\": [{\"address\": \"10.1.0.11\"}, {\"address\": "
				"\"10.1.0.12\"},"
				" {\"address\": \"app.example\"}, {\"address\": \"10.1.0.13\"}]}]}",
				i > 0 ? "," : "", i, i % 2 ? "udp" : "tcp", 1 + i / 2);
	/* The last listener clashes with the first on port 1, and with its name. */
	o += (size_t)snprintf(text + o, cap - o, ",{\"name\": \"l-0\", \"protocol\": \"https\","
			" \"port_ranges\": \"1\"}]}]}");
	load_len(text, o, NULL);
	refused_with("accelerators[0].listeners[5000].port_ranges",
			"port 1 is already used by tcp listener \"l-0\" "
			"(accelerators[0].listeners[0])");
	refused_with("accelerators[0].listeners[5000].name",
			"name \"l-0\" is already used by accelerators[0].listeners[0]");
	refused_with("accelerators[0].listeners[5000].certificates", "need at least one");
	cr_assert_eq(d.n_errors, 3);
	/* Without the last listener, the file is valid. */
	o = (size_t)(strstr(text, ",{\"name\": \"l-0\", \"protocol\": \"https\"") - text);
	o += (size_t)snprintf(text + o, cap - o, "]}]}");
	load_len(text, o, NULL);
	accepted();
	cr_assert_eq(cfg->accelerators[0].n_listeners, 5000);
	free(text);
}

/* ---- The example files ---------------------------------------------------- */

static void
for_each_json(const char *dir, void (*fn)(const char *path))
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int count = 0;

	cr_assert_not_null(dp, "%s", dir);
	while ((e = readdir(dp)) != NULL) {
		size_t n = strlen(e->d_name);
		char path[512];

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path);
		count++;
	}
	closedir(dp);
	cr_assert_gt(count, 0, "no .json file in %s", dir);
}

static void
check_good(const char *path)
{
	struct gax_diags dd;
	struct gax_config *c;

	gax_diags_init(&dd);
	c = gax_config_load_file(path, &dd);
	if (c == NULL)
		gax_diags_print(stderr, path, &dd);
	cr_assert_not_null(c, "%s should be valid", path);
	gax_config_free(c);
	gax_diags_fini(&dd);
}

static void
check_bad(const char *path)
{
	struct gax_diags dd;
	struct gax_config *c;
	char exp[512], line[512];
	char *out = NULL;
	size_t len = 0;
	FILE *f, *m;

	gax_diags_init(&dd);
	c = gax_config_load_file(path, &dd);
	cr_assert_null(c, "%s should be refused", path);
	cr_assert_gt(dd.n_errors, 0, "%s", path);
	m = open_memstream(&out, &len);
	cr_assert_not_null(m);
	gax_diags_print(m, path, &dd);
	fclose(m);
	snprintf(exp, sizeof(exp), "%.*s.expect", (int)(strlen(path) - 5), path);
	f = fopen(exp, "r");
	cr_assert_not_null(f, "%s has no .expect file", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		cr_assert_not_null(strstr(out, line), "%s: missing \"%s\" "
				"in:\n%s", path, line, out);
	}
	fclose(f);
	free(out);
	gax_config_free(c);
	gax_diags_fini(&dd);
}

Test(config, good_examples)
{
	for_each_json(GAX_TEST_DATA "/configs/good", check_good);
}

Test(config, shipped_examples)
{
	DIR *dp = opendir(GAX_SOURCE_ROOT "/config");
	struct dirent *e;

	/* config/ may hold no .json yet: check the ones there are. */
	cr_assert_not_null(dp);
	while ((e = readdir(dp)) != NULL) {
		size_t n = strlen(e->d_name);
		char path[512];

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", GAX_SOURCE_ROOT "/config", e->d_name);
		check_good(path);
	}
	closedir(dp);
}

Test(config, bad_examples)
{
	for_each_json(GAX_TEST_DATA "/configs/bad", check_bad);
}
