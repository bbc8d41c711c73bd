/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the resolver shared by resolve.c (the name set and its
 * threads) and lookup.c (the default lookup: DNS, then getaddrinfo).
 */
#ifndef GAX_RESOLVE_PRIV_H
#define GAX_RESOLVE_PRIV_H

#include <stddef.h>
#include <stdint.h>

/**
 * The default lookup: A records by res_nquery() (TTL: the smallest of the
 * answer's records), else getaddrinfo(AF_INET) (TTL unknown). Each is given
 * @p timeout_ms rounded up to whole seconds, and one try per name server.
 * On failure, writes why into @p err (@p errlen bytes).
 * @return 0 with *n >= 1, or a negative errno (-ENOENT: no such name or no
 *   IPv4 address, -EAGAIN: no answer in time, -ENOMEM, -EIO: otherwise).
 */
int gax_resolve_default_lookup(const char *name, uint32_t timeout_ms, uint32_t *addrs,
		unsigned int max, unsigned int *n, uint32_t *ttl_s, char *err, size_t errlen);

#endif /* GAX_RESOLVE_PRIV_H */
