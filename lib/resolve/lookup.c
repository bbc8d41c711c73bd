/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The default lookup of the resolver: ask DNS for the A records of a name
 * with res_nquery(), which gives their TTL; when that fails (no server, no
 * answer, or a name only /etc/hosts or another NSS source knows) ask
 * getaddrinfo(AF_INET), which gives no TTL.
 *
 * Both are bounded: the resolver state of the query, and the calling
 * thread's own _res that glibc's getaddrinfo() uses, are given one try per
 * name server with the timeout rounded up to whole seconds (glibc keeps
 * such changes to _res instead of reloading resolv.conf over them).
 * Runs on the resolver's threads, several at once: everything here is
 * per call or per thread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gax_resolve.h"
#include "resolve_priv.h"

#define ANSWER_MAX 65536	/* largest DNS message */

static int
timeout_seconds(uint32_t timeout_ms)
{
	return (int)((timeout_ms + 999) / 1000);
}

/* The A records of a DNS answer; TTL: the smallest of all answer records (CNAMEs too). */
static int
parse_answer(const unsigned char *ans, int len, uint32_t *addrs, unsigned int max,
		unsigned int *n, uint32_t *ttl_s)
{
	ns_msg msg;
	ns_rr rr;
	uint32_t ttl = GAX_RESOLVE_TTL_UNKNOWN;
	uint32_t a;
	int i, count;

	*n = 0;
	if (ns_initparse(ans, len, &msg) < 0)
		return -EIO;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return -EIO;
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_ttl(rr) < ttl)
			ttl = ns_rr_ttl(rr);
		if (ns_rr_type(rr) != ns_t_a || ns_rr_rdlen(rr) != 4 || *n >= max)
			continue;
		memcpy(&a, ns_rr_rdata(rr), 4);
		addrs[(*n)++] = ntohl(a);
	}
	if (*n == 0)
		return -ENOENT;
	*ttl_s = ttl;
	return 0;
}

static const char *
h_error_text(int h)
{
	switch (h) {
	case HOST_NOT_FOUND:
		return "no such name";
	case NO_DATA:
		return "no A record";
	case TRY_AGAIN:
		return "no answer (timeout or server failure)";
	case NO_RECOVERY:
		return "refused or malformed";
	default:
		return "no usable name server";
	}
}

/* DNS: 0, or a negative errno with the reason in err. */
static int
lookup_dns(const char *name, int secs, uint32_t *addrs, unsigned int max, unsigned int *n,
		uint32_t *ttl_s, char *err, size_t errlen)
{
	struct __res_state st;
	unsigned char *ans;
	int len, rc;

	ans = malloc(ANSWER_MAX);
	if (ans == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return -ENOMEM;
	}
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0) {
		snprintf(err, errlen, "dns: no resolver configuration");
		rc = -EIO;
		goto out_ans;
	}
	st.retrans = secs;
	st.retry = 1;
	len = res_nquery(&st, name, ns_c_in, ns_t_a, ans, ANSWER_MAX);
	if (len < 0) {
		snprintf(err, errlen, "dns: %s", h_error_text(st.res_h_errno));
		rc = st.res_h_errno == TRY_AGAIN ? -EAGAIN : -ENOENT;
		goto out_res;
	}
	rc = parse_answer(ans, len > ANSWER_MAX ? ANSWER_MAX : len, addrs, max, n, ttl_s);
	if (rc < 0)
		snprintf(err, errlen, "dns: %s",
				rc == -ENOENT ? "no A record" : "malformed answer");
out_res:
	res_nclose(&st);
out_ans:
	free(ans);
	return rc;
}

/* getaddrinfo(AF_INET): 0, or a negative errno with the reason appended to err. */
static int
lookup_gai(const char *name, int secs, uint32_t *addrs, unsigned int max, unsigned int *n,
		char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	size_t used = strlen(err);
	int rc;

	/* Bound the DNS part of getaddrinfo() as well: it uses this thread's _res. */
	if (res_init() == 0) {
		_res.retrans = secs;
		_res.retry = 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM; /* one entry per address */
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err + used, errlen - used, "%shosts: %s", used > 0 ? "; " : "",
				rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		switch (rc) {
		case EAI_AGAIN:
			return -EAGAIN;
		case EAI_MEMORY:
			return -ENOMEM;
		case EAI_NONAME:
		case EAI_NODATA:
		case EAI_ADDRFAMILY:
			return -ENOENT;
		default:
			return -EIO;
		}
	}
	*n = 0;
	for (ai = res; ai != NULL && *n < max; ai = ai->ai_next) {
		struct sockaddr_in sin;

		if (ai->ai_family != AF_INET || ai->ai_addrlen < sizeof(sin))
			continue;
		memcpy(&sin, ai->ai_addr, sizeof(sin));
		addrs[(*n)++] = ntohl(sin.sin_addr.s_addr);
	}
	freeaddrinfo(res);
	if (*n == 0) {
		snprintf(err + used, errlen - used, "%shosts: no IPv4 address",
				used > 0 ? "; " : "");
		return -ENOENT;
	}
	return 0;
}

int
gax_resolve_default_lookup(const char *name, uint32_t timeout_ms, uint32_t *addrs,
		unsigned int max, unsigned int *n, uint32_t *ttl_s, char *err, size_t errlen)
{
	int secs = timeout_seconds(timeout_ms);
	int rc;

	err[0] = '\0';
	*n = 0;
	rc = lookup_dns(name, secs, addrs, max, n, ttl_s, err, errlen);
	if (rc == 0 || rc == -ENOMEM)
		return rc;
	rc = lookup_gai(name, secs, addrs, max, n, err, errlen);
	if (rc == 0) {
		err[0] = '\0';
		*ttl_s = GAX_RESOLVE_TTL_UNKNOWN;
	}
	return rc;
}
