/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The user's model: interfaces, accelerators, listeners, endpoint groups and
 * endpoints, as the Global Accelerator guide defines them. This module reads
 * the JSON configuration (docs/config.md is the schema), checks every rule,
 * fills in every default, and hands back a plain C tree that the rest of gax
 * reads: the snapshot compiler, the diff, gaxctl. It needs no EAL.
 *
 * Every problem found is reported in one run, each naming its field by JSON
 * path ("accelerators[0].listeners[1].port_ranges: port 65500 is outside
 * 1-65499"); JSON syntax errors carry a line and a column.
 *
 * Thread safety: none of these functions share state; a loaded config is
 * immutable and may be read from any thread.
 */
#ifndef GAX_CONFIG_H
#define GAX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits and defaults of the guide (docs/config.md lists them all). */
#define GAX_NAME_MIN_LEN 2
#define GAX_NAME_MAX_LEN 128
#define GAX_LISTENER_PORT_MIN 1
#define GAX_LISTENER_PORT_MAX 65499
#define GAX_DEFAULT_PORTS_PER_LISTENER 30
#define GAX_DEFAULT_ENDPOINTS_PER_GROUP 4
#define GAX_MAX_ENDPOINTS_PER_GROUP 256 /* Maglev tables hold 8-bit indexes */
#define GAX_DEFAULT_MAGLEV_TABLE_SIZE 65537
#define GAX_MAGLEV_TABLE_SIZE_MIN 251
#define GAX_MAGLEV_TABLE_SIZE_MAX 16777213
#define GAX_DEFAULT_WEIGHT 128
#define GAX_DEFAULT_TRAFFIC_PERCENTAGE 100
#define GAX_MAX_ACCELERATOR_ADDRESSES 16

enum gax_protocol {
	GAX_PROTO_TCP = 0,
	GAX_PROTO_UDP,
	GAX_PROTO_HTTP,
	GAX_PROTO_HTTPS,
};

enum gax_affinity {
	GAX_AFFINITY_NONE = 0,  /* spread per connection (5-tuple hash) */
	GAX_AFFINITY_SOURCE_IP, /* one client address, one endpoint */
};

enum gax_endpoint_type {
	GAX_ENDPOINT_IP = 0,
	GAX_ENDPOINT_DOMAIN,
};

/* An IPv4 address with prefix length; addresses are in host byte order. */
struct gax_prefix {
	uint32_t addr;
	uint8_t len;
};

/** The netmask of a prefix length (0 to 32), host byte order. */
static inline uint32_t
gax_prefix_mask(unsigned int len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

/** Whether @p a is inside @p p (a /0 prefix holds nothing: interfaces have real subnets). */
static inline bool
gax_prefix_contains(const struct gax_prefix *p, uint32_t a)
{
	uint32_t m = gax_prefix_mask(p->len);

	return p->len != 0 && (p->addr & m) == (a & m);
}

struct gax_neighbor {
	uint32_t addr;
	uint8_t mac[6];
};

#define GAX_KERNEL_TWIN_NAME_MAX 15 /* IFNAMSIZ - 1 */

struct gax_interface {
	char *name;
	char *device;              /* DPDK device name as given to EAL */
	struct gax_prefix *addresses;
	unsigned int n_addresses;  /* >= 1 */
	bool has_gateway;
	uint32_t gateway;
	struct gax_neighbor *neighbors;
	unsigned int n_neighbors;
	char *kernel_twin;         /* kernel interface created for the exception path; NULL: none */
};

/* Inclusive range of listener ports; a listener's ranges are sorted and disjoint. */
struct gax_port_range {
	uint16_t from;
	uint16_t to;
};

struct gax_port_override {
	uint16_t listener_port;
	uint16_t endpoint_port;
};

struct gax_health_check {
	bool enabled;
	enum gax_protocol protocol; /* GAX_PROTO_TCP, _HTTP or _HTTPS */
	uint16_t port;              /* 0: the endpoint port traffic goes to */
	char *path;                 /* http/https checks; NULL for tcp */
	unsigned int interval;      /* seconds */
	unsigned int timeout;       /* seconds, <= interval */
	unsigned int threshold;     /* consecutive results that change the state */
};

struct gax_endpoint {
	enum gax_endpoint_type type;
	char *address;  /* as written: dotted quad or domain name (lower-cased) */
	uint32_t ip;    /* type GAX_ENDPOINT_IP only */
	uint8_t weight; /* 0: takes no new flows */
};

struct gax_endpoint_group {
	char *name;
	char *region;               /* NULL when not given */
	uint8_t traffic_percentage; /* 1-100 */
	bool reserve_client_ip;
	enum gax_protocol request_protocol; /* http/https listeners; else the listener's */
	struct gax_port_override *port_overrides; /* sorted by listener_port */
	unsigned int n_port_overrides;
	bool has_health_check;
	struct gax_health_check health_check;
	struct gax_endpoint *endpoints;
	unsigned int n_endpoints;
};

struct gax_certificate {
	char *cert; /* as written */
	char *key;  /* as written */
	char *cert_path; /* resolved against the config file's folder */
	char *key_path;
};

struct gax_listener {
	char *name;
	enum gax_protocol protocol;
	struct gax_port_range *port_ranges; /* sorted, disjoint, adjacent merged */
	unsigned int n_port_ranges;
	unsigned int n_ports;               /* total ports over all ranges */
	enum gax_affinity client_affinity;
	unsigned int idle_timeout;          /* seconds */
	unsigned int request_timeout;       /* seconds; 0 for tcp/udp */
	struct gax_certificate *certificates;
	unsigned int n_certificates;
	struct gax_endpoint_group *groups;
	unsigned int n_groups;
};

struct gax_accelerator {
	char *name;
	uint32_t *addresses;
	unsigned int n_addresses;
	struct gax_listener *listeners;
	unsigned int n_listeners;
};

struct gax_limits {
	unsigned int ports_per_listener;  /* TCP/UDP listeners */
	unsigned int endpoints_per_group;
	uint32_t maglev_table_size;       /* prime */
};

struct gax_config {
	struct gax_limits limits;
	struct gax_interface *interfaces;
	unsigned int n_interfaces;
	struct gax_accelerator *accelerators;
	unsigned int n_accelerators;
};

/* ---- Diagnostics ---------------------------------------------------------- */

enum gax_diag_severity {
	GAX_DIAG_ERROR = 0,
	GAX_DIAG_WARNING, /* valid, but probably not what was meant */
};

struct gax_diag {
	enum gax_diag_severity severity;
	char *path;    /* JSON path ("accelerators[0].name"); "" for the whole document */
	char *message; /* one sentence, no trailing period, no newline */
	int line;      /* JSON syntax errors only; else 0 */
	int column;
};

struct gax_diags {
	struct gax_diag *v;
	unsigned int n;
	unsigned int cap;
	unsigned int n_errors;
};

/** Initialise an empty list. */
void gax_diags_init(struct gax_diags *d);

/** Release every entry; the list may be reused after gax_diags_init(). */
void gax_diags_fini(struct gax_diags *d);

/**
 * Append one diagnostic; the path and message are copied.
 * @return 0, or -ENOMEM (the diagnostic is then lost, but n_errors still
 *   counts an error so a config is never accepted by mistake).
 */
int gax_diags_add(struct gax_diags *d, enum gax_diag_severity sev, const char *path,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * Print each diagnostic as "FILE: PATH: MESSAGE" (or "FILE:LINE:COL: MESSAGE"
 * for syntax errors), warnings prefixed "warning: ". @p file may be NULL.
 */
void gax_diags_print(FILE *out, const char *file, const struct gax_diags *d);

/**
 * The diagnostics as a JSON array of {"severity", "path", "message"} (plus
 * "line" and "column" for syntax errors): what `gaxctl validate --json` and
 * gaxd's control socket report.
 * @return a new reference, or NULL on ENOMEM.
 */
json_t *gax_diags_to_json(const struct gax_diags *d);

/* ---- Loading -------------------------------------------------------------- */

/**
 * Read, parse and validate a configuration file. Relative certificate paths
 * are resolved against the file's folder.
 *
 * @param path   file to read
 * @param diags  receives every error and warning found (must be initialised)
 * @return the configuration, or NULL with errno set: ENOENT/EACCES/EISDIR...
 *   when the file cannot be read, EINVAL when it is not valid (diags holds at
 *   least one error), ENOMEM.
 */
struct gax_config *gax_config_load_file(const char *path, struct gax_diags *diags);

/**
 * As gax_config_load_file(), from a buffer of @p len bytes (need not be NUL
 * terminated). @p base_dir resolves relative certificate paths (NULL: the
 * current folder).
 */
struct gax_config *gax_config_load_buffer(const char *buf, size_t len, const char *base_dir,
		struct gax_diags *diags);

/**
 * As gax_config_load_buffer(), from a document already parsed (gaxd's
 * control socket receives one): no syntax to check, so no line numbers.
 * @p root stays the caller's; the config does not point into it.
 */
struct gax_config *gax_config_load_json(const json_t *root, const char *base_dir,
		struct gax_diags *diags);

/**
 * Release a configuration; NULL is allowed. Only for configurations returned
 * by gax_config_load_*(): the tree lives in one arena owned by the config.
 */
void gax_config_free(struct gax_config *cfg);

/* ---- Helpers shared with gaxctl, the snapshot and the tests ---------------- */

/**
 * Parse the string form of listener ports, "80,90,8080~8085" (spaces around
 * tokens allowed). Ranges come back sorted, disjoint and merged.
 *
 * @param s       the string
 * @param out     receives a malloc'ed array (NULL when an error is returned)
 * @param n_out   number of ranges
 * @param err     on error, a message ("port 65500 is outside 1-65499")
 * @param errlen  size of @p err
 * @return 0, -EINVAL (message in err), -ENOMEM
 */
int gax_port_ranges_parse(const char *s, struct gax_port_range **out, unsigned int *n_out,
		char *err, size_t errlen);

/**
 * Write ranges in the string form ("80,8080~8085") into @p buf.
 * @return the length the full string needs (as snprintf).
 */
int gax_port_ranges_format(const struct gax_port_range *r, unsigned int n, char *buf,
		size_t len);

/** Whether @p port lies in one of the ranges. */
bool gax_port_ranges_contain(const struct gax_port_range *r, unsigned int n, uint16_t port);

/** "tcp", "udp", "http", "https". */
const char *gax_protocol_name(enum gax_protocol p);

/** "source_ip" or "none". */
const char *gax_affinity_name(enum gax_affinity a);

/** What a JSON value is, for messages: "an object", "a string", "null", ... */
const char *gax_json_kind(const json_t *j);

/** Whether @p s follows the name rule (2-128, a letter first, then letters, digits, _ and -). */
bool gax_name_valid(const char *s);

/** Whether @p s is a syntactically valid domain name (RFC 1123, not an IPv4 literal). */
bool gax_domain_valid(const char *s);

/** Format a host-order IPv4 address into @p buf (at least 16 bytes); returns buf. */
char *gax_ip_format(uint32_t addr, char *buf);

/**
 * Parse a dotted-quad IPv4 address (exactly four decimal parts, no leading
 * zeros beyond "0") into host order.
 * @return 0 or -EINVAL
 */
int gax_ip_parse(const char *s, uint32_t *addr);

#ifdef __cplusplus
}
#endif

#endif /* GAX_CONFIG_H */
