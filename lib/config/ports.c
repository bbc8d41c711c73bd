/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listener ports: the string form "80,90,8080~8085" parsed into sorted,
 * disjoint, merged ranges, the same ranges written back as a string, and a
 * membership test. The array form of the JSON file goes through the same
 * normalisation so that both forms obey one set of rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

/* Digits read before a number counts as "far too large" (no overflow). */
#define PORT_MAX_DIGITS 9

static int
range_cmp(const void *a, const void *b)
{
	const struct gax_port_range *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return 0;
}

/* "80" or "80~90", for messages. */
static void
range_str(const struct gax_port_range *r, char *buf, size_t len)
{
	if (r->from == r->to)
		snprintf(buf, len, "%u", r->from);
	else
		snprintf(buf, len, "%u~%u", r->from, r->to);
}

int
gax_port_ranges_normalize(struct gax_port_range *r, unsigned int *n, char *err, size_t errlen)
{
	unsigned int i, o;

	if (*n == 0)
		return 0;
	qsort(r, *n, sizeof(*r), range_cmp);
	for (i = 1; i < *n; i++) {
		char a[16], b[16];

		if (r[i].from > r[i - 1].to)
			continue;
		if (r[i - 1].from == r[i - 1].to && r[i].from == r[i].to) {
			snprintf(err, errlen, "port %u is listed twice", r[i].from);
		} else {
			range_str(&r[i - 1], a, sizeof(a));
			range_str(&r[i], b, sizeof(b));
			snprintf(err, errlen, "%s and %s overlap (port %u is listed twice)", a, b,
					r[i].from);
		}
		return -EINVAL;
	}
	for (i = 1, o = 0; i < *n; i++) {
		if ((unsigned int)r[o].to + 1 == r[i].from)
			r[o].to = r[i].to;
		else
			r[++o] = r[i];
	}
	*n = o + 1;
	return 0;
}

unsigned int
gax_port_ranges_count(const struct gax_port_range *r, unsigned int n)
{
	unsigned int i, total = 0;

	for (i = 0; i < n; i++)
		total += (unsigned int)r[i].to - r[i].from + 1;
	return total;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse one port number spanning [s, e), spaces around it allowed.
 * @return 0, or -EINVAL with the message in err
 */
static int
parse_port(const char *s, const char *e, const char *item, size_t item_len, uint16_t *port,
		char *err, size_t errlen)
{
	unsigned long v = 0;
	int digits = 0;
	const char *p;

	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	if (s == e) {
		snprintf(err, errlen, "\"%.*s%s\" is not a port or a from~to range",
				(int)(item_len > 32 ? 32 : item_len), item,
				item_len > 32 ? "..." : "");
		return -EINVAL;
	}
	for (p = s; p < e; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "\"%.*s%s\" is not a port or a from~to range",
					(int)(item_len > 32 ? 32 : item_len), item,
					item_len > 32 ? "..." : "");
			return -EINVAL;
		}
		if (v == 0 && *p == '0' && p + 1 < e)
			continue; /* leading zero */
		if (++digits <= PORT_MAX_DIGITS)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (digits > PORT_MAX_DIGITS || v < GAX_LISTENER_PORT_MIN || v > GAX_LISTENER_PORT_MAX) {
		int shown = (int)(e - s > 20 ? 20 : e - s);

		snprintf(err, errlen, "port %.*s%s is outside %u-%u", shown, s,
				e - s > 20 ? "..." : "", GAX_LISTENER_PORT_MIN,
				GAX_LISTENER_PORT_MAX);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int
gax_port_ranges_parse(const char *s, struct gax_port_range **out, unsigned int *n_out,
		char *err, size_t errlen)
{
	struct gax_port_range *r = NULL;
	unsigned int n = 0, cap = 0;
	const char *p, *item;
	int ret;

	*out = NULL;
	*n_out = 0;
	if (s == NULL) {
		snprintf(err, errlen, "no ports given");
		return -EINVAL;
	}
	for (p = s; is_space(*p); p++)
		;
	if (*p == '\0') {
		snprintf(err, errlen, "no ports given");
		return -EINVAL;
	}

	for (item = s;; item = p + 1) {
		const char *tilde = NULL;
		const char *a, *b;

		for (p = item; *p != '\0' && *p != ','; p++)
			if (*p == '~' && tilde == NULL)
				tilde = p;
		for (a = item; a < p && is_space(*a); a++)
			;
		for (b = p; b > a && is_space(b[-1]); b--)
			;
		if (a == b) {
			snprintf(err, errlen, "empty item in the port list (%s)",
					*p == '\0' && item != s ? "trailing comma" :
					item == s ? "leading comma" : "two commas in a row");
			ret = -EINVAL;
			goto fail;
		}
		if (n == cap) {
			unsigned int ncap = cap == 0 ? 8 : cap * 2;
			struct gax_port_range *nr;

			if (ncap < cap) {
				ret = -ENOMEM;
				goto fail;
			}
			nr = realloc(r, (size_t)ncap * sizeof(*r));
			if (nr == NULL) {
				ret = -ENOMEM;
				goto fail;
			}
			r = nr;
			cap = ncap;
		}
		if (tilde == NULL) {
			ret = parse_port(a, b, a, (size_t)(b - a), &r[n].from, err, errlen);
			if (ret != 0)
				goto fail;
			r[n].to = r[n].from;
		} else {
			ret = parse_port(a, tilde, a, (size_t)(b - a), &r[n].from, err, errlen);
			if (ret == 0)
				ret = parse_port(tilde + 1, b, a, (size_t)(b - a), &r[n].to, err,
						errlen);
			if (ret != 0)
				goto fail;
			if (r[n].from > r[n].to) {
				snprintf(err, errlen, "range %u~%u is reversed; write %u~%u",
						r[n].from, r[n].to, r[n].to, r[n].from);
				ret = -EINVAL;
				goto fail;
			}
		}
		n++;
		if (*p == '\0')
			break;
	}
	ret = gax_port_ranges_normalize(r, &n, err, errlen);
	if (ret != 0)
		goto fail;
	*out = r;
	*n_out = n;
	return 0;

fail:
	free(r);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return ret;
}

int
gax_port_ranges_format(const struct gax_port_range *r, unsigned int n, char *buf, size_t len)
{
	size_t total = 0;
	unsigned int i;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < n; i++) {
		char one[16];
		int k;

		if (r[i].from == r[i].to)
			k = snprintf(one, sizeof(one), "%s%u", i > 0 ? "," : "", r[i].from);
		else
			k = snprintf(one, sizeof(one), "%s%u~%u", i > 0 ? "," : "", r[i].from,
					r[i].to);
		if (total + (size_t)k < len)
			memcpy(buf + total, one, (size_t)k + 1);
		else if (total < len)
			buf[total] = '\0';
		total += (size_t)k;
	}
	return (int)total;
}

bool
gax_port_ranges_contain(const struct gax_port_range *r, unsigned int n, uint16_t port)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (port < r[mid].from)
			hi = mid;
		else if (port > r[mid].to)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}
