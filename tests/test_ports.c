/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listener ports in their string form ("80,90,8080~8085"): invalid input
 * first (empty items, reversed and overlapping ranges, ports out of range,
 * garbage, very long input), then parsing, merging, formatting and the
 * membership test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gax_config.h>

static struct gax_port_range *r;
static unsigned int n;
static char err[256];

static void
setup(void)
{
	r = NULL;
	n = 0;
	err[0] = '\0';
}

static void
teardown(void)
{
	free(r);
	r = NULL;
}

TestSuite(ports, .init = setup, .fini = teardown);

/* Parse @p s, expecting a refusal whose message holds @p msg. */
static void
refused(const char *s, const char *msg)
{
	int ret = gax_port_ranges_parse(s, &r, &n, err, sizeof(err));

	cr_assert_eq(ret, -EINVAL, "\"%s\" should be refused, got %d", s != NULL ? s : "(null)",
			ret);
	cr_assert_null(r, "no ranges on error");
	cr_assert_eq(n, 0);
	cr_assert_not_null(strstr(err, msg), "\"%s\": message \"%s\" should hold \"%s\"",
			s != NULL ? s : "(null)", err, msg);
}

static void
accepted(const char *s)
{
	int ret = gax_port_ranges_parse(s, &r, &n, err, sizeof(err));

	cr_assert_eq(ret, 0, "\"%s\" should parse: %s", s, err);
	cr_assert_not_null(r);
}

/* ---- Refused -------------------------------------------------------------- */

Test(ports, null_and_empty)
{
	refused(NULL, "no ports");
	refused("", "no ports");
	refused("   ", "no ports");
}

Test(ports, empty_items)
{
	refused(",", "empty item");
	refused("80,", "trailing comma");
	refused(",80", "leading comma");
	refused("80,,90", "two commas");
	refused("80, ,90", "empty item");
}

Test(ports, half_ranges)
{
	refused("~80", "\"~80\" is not a port");
	refused("80~", "\"80~\" is not a port");
	refused("~", "is not a port");
	refused("80~90~100", "is not a port");
}

Test(ports, reversed_range)
{
	refused("90~80", "range 90~80 is reversed");
}

Test(ports, out_of_range)
{
	refused("0", "port 0 is outside 1-65499");
	refused("65500", "port 65500 is outside 1-65499");
	refused("65535", "outside 1-65499");
	refused("65536", "outside 1-65499");
	refused("80,0~10", "port 0 is outside");
	refused("65000~65500", "port 65500 is outside");
	refused("99999999999999999999", "outside 1-65499");
}

Test(ports, listed_twice)
{
	refused("80,80", "port 80 is listed twice");
	refused("80~90,85", "80~90 and 85 overlap");
	refused("80~90,90~95", "overlap");
	refused("1~65499,1", "overlap");
}

Test(ports, garbage)
{
	refused("abc", "\"abc\" is not a port");
	refused("-1", "is not a port");
	refused("+80", "is not a port");
	refused("80.5", "is not a port");
	refused("8 0", "is not a port");
	refused("80;90", "is not a port");
	refused("0x50", "is not a port");
	refused("80\n", "is not a port");
}

Test(ports, very_long_input)
{
	size_t len = 1 << 20;
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	/* One number a megabyte long. */
	memset(s, '9', len);
	s[len] = '\0';
	refused(s, "is outside 1-65499");
	/* A garbage token a megabyte long: the message stays short. */
	memset(s, 'x', len);
	refused(s, "is not a port");
	cr_assert_lt(strlen(err), 100);
	free(s);
}

/* ---- Accepted ------------------------------------------------------------- */

Test(ports, boundaries)
{
	accepted("1");
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].from, 1);
	cr_assert_eq(r[0].to, 1);
	free(r);
	accepted("65499");
	cr_assert_eq(r[0].from, 65499);
	free(r);
	accepted("1~65499");
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].from, 1);
	cr_assert_eq(r[0].to, 65499);
}

Test(ports, single_port_range)
{
	accepted("80~80");
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].from, 80);
	cr_assert_eq(r[0].to, 80);
}

Test(ports, spaces_around_items)
{
	accepted("  80 ,\t90 , 8080 ~ 8085  ");
	cr_assert_eq(n, 3);
	cr_assert_eq(r[0].from, 80);
	cr_assert_eq(r[1].from, 90);
	cr_assert_eq(r[2].from, 8080);
	cr_assert_eq(r[2].to, 8085);
}

Test(ports, sorted)
{
	accepted("8080~8085,90,80");
	cr_assert_eq(n, 3);
	cr_assert_eq(r[0].from, 80);
	cr_assert_eq(r[1].from, 90);
	cr_assert_eq(r[2].from, 8080);
}

Test(ports, adjacent_merged)
{
	accepted("80~85,86~90");
	cr_assert_eq(n, 1, "80~85,86~90 is one range");
	cr_assert_eq(r[0].from, 80);
	cr_assert_eq(r[0].to, 90);
	free(r);
	accepted("3,1,2,5");
	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].from, 1);
	cr_assert_eq(r[0].to, 3);
	cr_assert_eq(r[1].from, 5);
	cr_assert_eq(r[1].to, 5);
}

Test(ports, leading_zeros)
{
	accepted("080");
	cr_assert_eq(r[0].from, 80);
}

Test(ports, many_items)
{
	size_t cap = 65499 * 7, o = 0;
	char *s = malloc(cap);
	unsigned int p;

	cr_assert_not_null(s);
	/* Every port, listed one by one and backwards: one range. */
	for (p = 65499; p >= 1; p--)
		o += (size_t)snprintf(s + o, cap - o, "%s%u", o > 0 ? "," : "", p);
	accepted(s);
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].from, 1);
	cr_assert_eq(r[0].to, 65499);
	free(s);
}

/* ---- Format --------------------------------------------------------------- */

Test(ports, format)
{
	char buf[64];
	int len;

	accepted("8080~8085,80,90");
	len = gax_port_ranges_format(r, n, buf, sizeof(buf));
	cr_assert_str_eq(buf, "80,90,8080~8085");
	cr_assert_eq(len, (int)strlen("80,90,8080~8085"));
}

Test(ports, format_round_trip)
{
	struct gax_port_range *r2;
	unsigned int n2;
	char buf[256];

	accepted("1,3~5,100~200,65499");
	gax_port_ranges_format(r, n, buf, sizeof(buf));
	cr_assert_eq(gax_port_ranges_parse(buf, &r2, &n2, err, sizeof(err)), 0);
	cr_assert_eq(n2, n);
	cr_assert_arr_eq(r2, r, n * sizeof(*r));
	free(r2);
}

Test(ports, format_truncates_like_snprintf)
{
	char buf[8];
	int len;

	accepted("80,90,8080~8085");
	len = gax_port_ranges_format(r, n, buf, sizeof(buf));
	cr_assert_eq(len, 15, "the full length is returned");
	cr_assert_lt(strlen(buf), sizeof(buf), "always terminated");
	cr_assert_eq(gax_port_ranges_format(r, n, NULL, 0), 15);
	cr_assert_eq(gax_port_ranges_format(r, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
}

/* ---- Contain -------------------------------------------------------------- */

Test(ports, contain)
{
	accepted("80,90,8080~8085");
	cr_assert(gax_port_ranges_contain(r, n, 80));
	cr_assert(gax_port_ranges_contain(r, n, 90));
	cr_assert(gax_port_ranges_contain(r, n, 8080));
	cr_assert(gax_port_ranges_contain(r, n, 8083));
	cr_assert(gax_port_ranges_contain(r, n, 8085));
	cr_assert_not(gax_port_ranges_contain(r, n, 79));
	cr_assert_not(gax_port_ranges_contain(r, n, 81));
	cr_assert_not(gax_port_ranges_contain(r, n, 8079));
	cr_assert_not(gax_port_ranges_contain(r, n, 8086));
	cr_assert_not(gax_port_ranges_contain(r, n, 0));
	cr_assert_not(gax_port_ranges_contain(r, n, 65535));
	cr_assert_not(gax_port_ranges_contain(r, 0, 80), "no ranges, no ports");
}
