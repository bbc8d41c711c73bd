/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The XDP steering program's user side: load the program (a libbpf
 * skeleton, the object embedded), fill its maps from the configuration,
 * attach it to and detach it from interfaces, and hand its file descriptors
 * to whoever binds the AF_XDP sockets (DPDK's net_af_xdp). What the program
 * steers, and why, is in gax_xdp.bpf.c and docs/xdp.md.
 *
 *   x = gax_xdp_open(&opts, err, sizeof(err));      loaded, attached nowhere
 *   gax_xdp_set_addresses(x, addrs, n, ...);        accelerated + interface addresses
 *   gax_xdp_set_listeners(x, listeners, n, ...);    {address, proto, port}
 *   gax_xdp_attach(x, ifindex, GAX_XDP_MODE_NATIVE, ...);
 *   ...
 *   gax_xdp_close(x);                               detaches, frees
 *
 * Errors: functions return 0 or a negative errno and, when @p err is not
 * NULL, write a one-line message there (truncated to @p errlen); the
 * constructor returns NULL and sets errno.
 *
 * Thread safety: one thread (gax's control thread) owns a handle; no
 * function may run concurrently with another on the same handle. The
 * program reads the maps concurrently at all times: the set functions are
 * written so that it never sees a half-done change as a loss of what stays.
 */
#ifndef GAX_XDP_H
#define GAX_XDP_H

#include <stddef.h>
#include <stdint.h>

#include "gax_xdp_maps.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gax_xdp;

/* Options of gax_xdp_open(); zero (or a NULL opts) means the default. */
struct gax_xdp_opts {
	/*
	 * Folder of a mounted bpffs (e.g. "/sys/fs/bpf") where gax_addrs,
	 * gax_listeners, gax_endpoints, gax_config and gax_stats are pinned by
	 * name, or reused when already pinned there (another instance of the same object, such
	 * as the one DPDK loads from its xdp_prog= devarg, then shares them).
	 * NULL: nothing is pinned, the maps live as long as the handle.
	 */
	const char *pin_root;
	uint32_t max_queues;	/**< xsks_map slots; 0: GAX_XDP_MAX_QUEUES. */
	uint32_t max_addresses;	/**< gax_addrs capacity; 0: GAX_XDP_MAX_ADDRESSES. */
	uint32_t max_listeners;	/**< gax_listeners capacity; 0: GAX_XDP_MAX_LISTENERS. */
	uint32_t max_endpoints;	/**< gax_endpoints capacity; 0: GAX_XDP_MAX_ENDPOINTS. */
};

/* One address gax owns. */
struct gax_xdp_address {
	uint32_t addr;	/**< IPv4 address, host order, not 0. */
	uint32_t kind;	/**< enum gax_xdp_addr_kind. */
};

/* One listener port of one accelerated address. */
struct gax_xdp_listener {
	uint32_t addr;		/**< Accelerated address, host order, not 0. */
	uint16_t port;		/**< Listener port, 1-65535. */
	uint8_t ipproto;	/**< 6 (TCP) or 17 (UDP). */
	uint8_t pad;
};

enum gax_xdp_mode {
	GAX_XDP_MODE_NATIVE,	/**< In the driver (XDP_FLAGS_DRV_MODE): fast, needs driver support. */
	GAX_XDP_MODE_GENERIC,	/**< After the skb is built (XDP_FLAGS_SKB_MODE): any interface. */
};

enum gax_xdp_map {
	GAX_XDP_MAP_XSKS,	/**< xsks_map: RX queue index -> AF_XDP socket. */
	GAX_XDP_MAP_ADDRS,	/**< gax_addrs. */
	GAX_XDP_MAP_LISTENERS,	/**< gax_listeners. */
	GAX_XDP_MAP_CONFIG,	/**< gax_config. */
	GAX_XDP_MAP_STATS,	/**< gax_stats. */
	GAX_XDP_MAP_ENDPOINTS,	/**< gax_endpoints. */
};

/* Interfaces one handle can be attached to at once. */
#define GAX_XDP_MAX_ATTACH 16

/**
 * Open and load the program into the kernel, attached nowhere; the NAT
 * port range starts as [GAX_XDP_NAT_PORT_MIN, GAX_XDP_NAT_PORT_MAX], the
 * address and listener sets empty (or as pinned, with pin_root).
 *
 * @return the handle, or NULL with errno: EINVAL (bad option), ENOMEM,
 *   EPERM (no CAP_BPF / CAP_SYS_ADMIN), or what the kernel or libbpf
 *   reported when loading or pinning (the message says which step).
 */
struct gax_xdp *gax_xdp_open(const struct gax_xdp_opts *opts, char *err, size_t errlen);

/**
 * Detach from every interface this handle attached to, then unload (pinned
 * maps stay pinned). NULL is ignored.
 */
void gax_xdp_close(struct gax_xdp *x);

/**
 * Replace the set of addresses gax owns by @p addrs (duplicates allowed if
 * they agree). New and changed entries are written first, then stale ones
 * deleted, so an address in both sets is never missing from the map.
 *
 * @return 0; -EINVAL (address 0, unknown kind, one address with two kinds:
 *   the map is not touched); -ENOSPC (old and new sets together do not fit
 *   the map: not touched); another negative errno from the kernel (the map
 *   then holds the old set and part of the new one).
 */
int gax_xdp_set_addresses(struct gax_xdp *x, const struct gax_xdp_address *addrs, size_t n,
		char *err, size_t errlen);

/**
 * Replace the set of listener ports by @p l, the same way as
 * gax_xdp_set_addresses() (add first, then delete the stale ones).
 *
 * @return 0; -EINVAL (address 0, port 0, ipproto neither 6 nor 17: the map
 *   is not touched); -ENOSPC; another negative errno from the kernel.
 */
int gax_xdp_set_listeners(struct gax_xdp *x, const struct gax_xdp_listener *l, size_t n,
		char *err, size_t errlen);

/**
 * Replace the set of reserve-client-IP endpoint ports by @p e: {endpoint
 * address, protocol, endpoint port} of every endpoint in a group that keeps
 * the client's address. TCP/UDP from one of them to an address gax does not
 * own (the client's) is steered to gax: the endpoint's replies, which come
 * back to the client's own address. Same replacement and errors as
 * gax_xdp_set_listeners().
 */
int gax_xdp_set_endpoints(struct gax_xdp *x, const struct gax_xdp_listener *e, size_t n,
		char *err, size_t errlen);

/**
 * Steer TCP/UDP to an interface address when the destination port is in
 * [@p lo, @p hi] (the full-NAT source ports); lo == 0 steers none.
 *
 * @return 0; -EINVAL (lo > hi); a negative errno from the kernel.
 */
int gax_xdp_set_nat_ports(struct gax_xdp *x, uint16_t lo, uint16_t hi, char *err, size_t errlen);

/**
 * Attach the program to interface @p ifindex in @p mode. Refuses to
 * replace another program already there.
 *
 * @return 0; -EINVAL (bad ifindex or mode); -EALREADY (this handle is
 *   attached there already); -ENOSPC (GAX_XDP_MAX_ATTACH interfaces
 *   already); -EBUSY (a program is attached there already); -EOPNOTSUPP
 *   (native mode, driver without XDP); another negative errno from the kernel.
 */
int gax_xdp_attach(struct gax_xdp *x, int ifindex, enum gax_xdp_mode mode, char *err,
		size_t errlen);

/**
 * Detach the program from @p ifindex, only if it is still this handle's
 * program that is attached there.
 *
 * @return 0; -ENOENT (this handle did not attach there); -EEXIST (another
 *   program replaced it meanwhile: left alone, forgotten by the handle);
 *   another negative errno from the kernel.
 */
int gax_xdp_detach(struct gax_xdp *x, int ifindex, char *err, size_t errlen);

/** The program's file descriptor (owned by the handle). */
int gax_xdp_prog_fd(const struct gax_xdp *x);

/** A map's file descriptor (owned by the handle), or -EINVAL for an unknown map. */
int gax_xdp_map_fd(const struct gax_xdp *x, enum gax_xdp_map map);

/**
 * Sum the program's per-CPU counters into @p stats.
 *
 * @return 0, or a negative errno from the kernel (-ENOMEM).
 */
int gax_xdp_read_stats(const struct gax_xdp *x, uint64_t stats[GAX_XDP_STAT_MAX]);

/** The counter's name ("redirect_listener", ...), or NULL out of range. */
const char *gax_xdp_stat_name(unsigned int stat);

#ifdef __cplusplus
}
#endif

#endif /* GAX_XDP_H */
