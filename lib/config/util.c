/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small parsers and predicates of the configuration module: protocol and
 * affinity names, the name and domain rules, IPv4 addresses, prefixes and
 * MAC addresses, the JSON path builder, and the quoting of user strings in
 * messages. Everything here is pure: no allocation except gax_path_resolve().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

const char *
gax_protocol_name(enum gax_protocol p)
{
	switch (p) {
	case GAX_PROTO_TCP:
		return "tcp";
	case GAX_PROTO_UDP:
		return "udp";
	case GAX_PROTO_HTTP:
		return "http";
	case GAX_PROTO_HTTPS:
		return "https";
	}
	return "unknown";
}

const char *
gax_affinity_name(enum gax_affinity a)
{
	switch (a) {
	case GAX_AFFINITY_NONE:
		return "none";
	case GAX_AFFINITY_SOURCE_IP:
		return "source_ip";
	}
	return "unknown";
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned int
hex_val(char c)
{
	if (is_digit(c))
		return (unsigned int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned int)(c - 'a' + 10);
	return (unsigned int)(c - 'A' + 10);
}

/* Describe character @p c for a message: 'x' when printable, else its code. */
static void
describe_char(unsigned char c, char *buf, size_t len)
{
	if (c == ' ')
		snprintf(buf, len, "a space");
	else if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", c);
}

int
gax_name_check(const char *s, size_t min, size_t max, char *err, size_t errlen)
{
	size_t n = strlen(s);
	char what[16];
	size_t i;

	if (n < min || n > max) {
		snprintf(err, errlen, "must be %zu-%zu characters, got %zu", min, max, n);
		return -EINVAL;
	}
	if (!is_alpha(s[0])) {
		snprintf(err, errlen, "must start with a letter");
		return -EINVAL;
	}
	for (i = 1; i < n; i++) {
		if (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-')
			continue;
		describe_char((unsigned char)s[i], what, sizeof(what));
		snprintf(err, errlen, "%s is not allowed; use letters, digits, _ and -", what);
		return -EINVAL;
	}
	return 0;
}

bool
gax_name_valid(const char *s)
{
	char err[96];

	return s != NULL && gax_name_check(s, GAX_NAME_MIN_LEN, GAX_NAME_MAX_LEN, err,
			sizeof(err)) == 0;
}

int
gax_domain_check(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);
	size_t i, start = 0;
	bool numeric = true; /* the current label has digits only */
	char what[16];

	if (n < 1 || n > 253) {
		snprintf(err, errlen, "must be 1-253 characters, got %zu", n);
		return -EINVAL;
	}
	for (i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			size_t ll = i - start;

			if (ll == 0) {
				snprintf(err, errlen, "has an empty label");
				return -EINVAL;
			}
			if (ll > 63) {
				snprintf(err, errlen, "has a label of %zu characters, at most 63",
						ll);
				return -EINVAL;
			}
			if (s[start] == '-' || s[i - 1] == '-') {
				snprintf(err, errlen, "has a label that starts or ends with '-'");
				return -EINVAL;
			}
			if (c == '\0' && numeric) {
				/* RFC 3696 2: a top-level label is never all-numeric */
				snprintf(err, errlen, "ends with an all-numeric label");
				return -EINVAL;
			}
			start = i + 1;
			numeric = true;
			continue;
		}
		if (is_alpha(c) || c == '-') {
			numeric = false;
			continue;
		}
		if (is_digit(c))
			continue;
		describe_char((unsigned char)c, what, sizeof(what));
		snprintf(err, errlen, "%s is not allowed; use letters, digits, - and .", what);
		return -EINVAL;
	}
	return 0;
}

bool
gax_domain_valid(const char *s)
{
	char err[96];

	return s != NULL && gax_domain_check(s, err, sizeof(err)) == 0;
}

char *
gax_ip_format(uint32_t addr, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
			addr & 0xff);
	return buf;
}

/* Parse a dotted quad at the start of @p s; *end receives the first byte after it. */
static int
ip_parse_prefix(const char *s, uint32_t *addr, const char **end)
{
	uint32_t a = 0;
	int part;

	for (part = 0; part < 4; part++) {
		unsigned int v = 0;
		int digits = 0;

		if (part > 0) {
			if (*s != '.')
				return -EINVAL;
			s++;
		}
		while (is_digit(*s)) {
			if (digits == 3)
				return -EINVAL;
			v = v * 10 + (unsigned int)(*s - '0');
			digits++;
			s++;
		}
		if (digits == 0 || v > 255)
			return -EINVAL;
		if (digits > 1 && s[-digits] == '0')
			return -EINVAL; /* leading zero: octal to inet_aton, refused here */
		a = (a << 8) | v;
	}
	*addr = a;
	*end = s;
	return 0;
}

int
gax_ip_parse(const char *s, uint32_t *addr)
{
	const char *end;
	uint32_t a;

	if (s == NULL || ip_parse_prefix(s, &a, &end) != 0 || *end != '\0')
		return -EINVAL;
	*addr = a;
	return 0;
}

bool
gax_ip_unicast(uint32_t a)
{
	if (a == 0 || a == UINT32_MAX)
		return false;
	if ((a >> 24) == 127)
		return false;
	if ((a >> 28) >= 0xe) /* 224/4 multicast, 240/4 reserved */
		return false;
	return true;
}

int
gax_cidr_parse(const char *s, struct gax_prefix *p, char *err, size_t errlen)
{
	char q[GAX_QUOTE_BUF];
	const char *end;
	uint32_t a;
	unsigned int len = 0;
	int digits = 0;

	if (strchr(s, ':') != NULL) {
		snprintf(err, errlen, "%s is an IPv6 address; IPv6 is not supported yet",
				gax_quote(s, q));
		return -EINVAL;
	}
	if (ip_parse_prefix(s, &a, &end) != 0 || (*end != '/' && *end != '\0')) {
		snprintf(err, errlen, "%s is not an IPv4 address with a prefix length "
				"(a.b.c.d/len)",
				gax_quote(s, q));
		return -EINVAL;
	}
	if (*end == '\0') {
		snprintf(err, errlen, "%s has no prefix length; expected a.b.c.d/len",
				gax_quote(s, q));
		return -EINVAL;
	}
	for (end++; is_digit(*end) && digits < 3; end++, digits++)
		len = len * 10 + (unsigned int)(*end - '0');
	if (digits == 0 || *end != '\0' || (digits > 1 && end[-digits] == '0')) {
		snprintf(err, errlen, "%s is not an IPv4 address with a prefix length "
				"(a.b.c.d/len)",
				gax_quote(s, q));
		return -EINVAL;
	}
	if (len < 1 || len > 32) {
		snprintf(err, errlen, "prefix length %u is outside 1-32", len);
		return -EINVAL;
	}
	p->addr = a;
	p->len = (uint8_t)len;
	return 0;
}

int
gax_mac_parse(const char *s, uint8_t mac[6])
{
	int i;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		const char *h = s + i * 3;

		if (!is_hex(h[0]) || !is_hex(h[1]) || (i < 5 && h[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hex_val(h[0]) << 4 | hex_val(h[1]));
	}
	return 0;
}

bool
gax_is_prime(uint32_t n)
{
	uint32_t i;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (i = 3; i <= n / i; i += 2)
		if (n % i == 0)
			return false;
	return true;
}

void
gax_ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

char *
gax_path_resolve(struct gax_arena *a, const char *dir, const char *file)
{
	size_t dl, fl;
	char *p;

	if (dir == NULL || dir[0] == '\0' || file[0] == '/')
		return gax_arena_strdup(a, file);
	dl = strlen(dir);
	fl = strlen(file);
	p = gax_arena_alloc(a, dl + fl + 2);
	if (p == NULL)
		return NULL;
	memcpy(p, dir, dl);
	if (dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, file, fl + 1);
	return p;
}

/* ---- Arena ---- */

#define ARENA_FIRST_BLOCK (64u << 10)
#define ARENA_MAX_BLOCK (4u << 20)
#define ARENA_ALIGN 16u

struct gax_arena_block {
	struct gax_arena_block *next;
	size_t used;
	size_t cap;
	/* data follows, ARENA_ALIGN aligned */
};

#define ARENA_HDR ((sizeof(struct gax_arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

void *
gax_arena_alloc(struct gax_arena *a, size_t size)
{
	struct gax_arena_block *b = a->head;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	char *p;

	if (need < size)
		return NULL;
	if (b == NULL || b->cap - b->used < need) {
		size_t cap = a->next_size != 0 ? a->next_size : ARENA_FIRST_BLOCK;

		if (cap < ARENA_MAX_BLOCK)
			a->next_size = cap * 2;
		if (need > cap / 2) {
			/* A large object gets a block of its own, behind the current one. */
			cap = need;
		}
		if (cap > SIZE_MAX - ARENA_HDR)
			return NULL;
		b = malloc(ARENA_HDR + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		if (a->head != NULL && cap == need) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b + ARENA_HDR + b->used;
	b->used += need;
	memset(p, 0, need);
	return p;
}

void *
gax_arena_calloc(struct gax_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return gax_arena_alloc(a, n * size);
}

char *
gax_arena_strdup(struct gax_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = gax_arena_alloc(a, n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
gax_arena_free(struct gax_arena *a)
{
	struct gax_arena_block *b = a->head;

	while (b != NULL) {
		struct gax_arena_block *next = b->next;

		free(b);
		b = next;
	}
	a->head = NULL;
	a->next_size = 0;
}

/* Quote @p s into @p buf, cutting it with "..." after @p max characters. */
static const char *
quote_n(const char *s, char *buf, size_t max)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == max) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *
gax_quote(const char *s, char *buf)
{
	return quote_n(s, buf, GAX_QUOTE_CHARS);
}

const char *
gax_quote_path(const char *s, char *buf)
{
	return quote_n(s, buf, GAX_QUOTE_PATH_CHARS);
}

void
gax_jpath_init(struct gax_jpath *p)
{
	p->len = 0;
	p->s[0] = '\0';
}

/* Append @p n bytes of @p s, cutting the path with "..." when it is full. */
static void
jpath_append(struct gax_jpath *p, const char *s, size_t n)
{
	if (p->len + n >= GAX_JPATH_MAX - 4) {
		if (p->len + 3 < GAX_JPATH_MAX) {
			memcpy(p->s + p->len, "...", 3);
			p->len += 3;
			p->s[p->len] = '\0';
		}
		return;
	}
	memcpy(p->s + p->len, s, n);
	p->len += n;
	p->s[p->len] = '\0';
}

size_t
gax_jpath_key(struct gax_jpath *p, const char *key)
{
	size_t old = p->len;
	char safe[GAX_QUOTE_BUF];
	size_t i, o = 0;

	/* Keys come from the user for unknown fields: keep them printable and short. */
	for (i = 0; key[i] != '\0'; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i == GAX_QUOTE_CHARS) {
			memcpy(safe + o, "...", 3);
			o += 3;
			break;
		}
		if (c <= 0x20 || c >= 0x7f)
			o += (size_t)snprintf(safe + o, 5, "\\x%02x", c);
		else
			safe[o++] = (char)c;
	}
	if (p->len > 0)
		jpath_append(p, ".", 1);
	jpath_append(p, safe, o);
	return old;
}

size_t
gax_jpath_index(struct gax_jpath *p, size_t i)
{
	size_t old = p->len;
	char b[32];
	size_t o = sizeof(b);

	/* Written backwards: this runs for every array element of the file. */
	b[--o] = ']';
	do {
		b[--o] = (char)('0' + i % 10);
		i /= 10;
	} while (i != 0);
	b[--o] = '[';
	jpath_append(p, b + o, sizeof(b) - o);
	return old;
}
