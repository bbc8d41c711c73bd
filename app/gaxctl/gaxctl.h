/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What gaxctl's files share: the control socket client (client.c) and the
 * renderings of gaxd's replies for people (show.c). main.c parses the
 * command line and builds the requests of docs/control.md.
 */
#ifndef GAXCTL_H
#define GAXCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#define GAXCTL_EXIT_REFUSED 1 /* gaxd answered "ok": false, or a file is invalid */
#define GAXCTL_EXIT_USAGE 2   /* usage error, or gaxd cannot be reached */

#define GAXCTL_DEFAULT_SOCKET "/run/gax/gaxd.sock"
#define GAXCTL_DEFAULT_TIMEOUT_S 30

/* ---- client.c --------------------------------------------------------------- */

/*
 * Send one request and wait for its reply line, on a connection of its own.
 * Every step (connect, send, receive) is bounded by @p timeout_s in all.
 *
 * @param path       the control socket
 * @param req        the request object (one line of compact JSON is sent)
 * @param timeout_s  seconds for the whole exchange
 * @param reply      receives the reply object (a new reference)
 * @return 0; on failure a message is printed on stderr ("cannot reach gaxd at
 *   PATH: ..." when it cannot connect) and GAXCTL_EXIT_USAGE is returned.
 */
int gaxctl_call(const char *path, const json_t *req, double timeout_s, json_t **reply);

/* ---- show.c ----------------------------------------------------------------- */

/* The reply of ping as one status line. */
void gaxctl_print_ping(FILE *out, const char *path, const json_t *reply);

/* The reply of show: an aligned table of @p what (listeners, endpoint-groups, endpoints). */
void gaxctl_print_show(FILE *out, const char *what, const json_t *reply);

/*
 * The reply of stats: ports, listeners, endpoints, flows, and the drops that
 * are not zero. With @p interval_s > 0 (watching) rate columns are shown:
 * per second since @p prev (an earlier reply), "-" while @p prev is NULL.
 */
void gaxctl_print_stats(FILE *out, const json_t *reply, const json_t *prev, double interval_s);

/* The reply of flows: a table of the sample and how many flows there are. */
void gaxctl_print_flows(FILE *out, const json_t *reply);

/*
 * The diagnostics array of a reply, as `gaxctl validate` prints them:
 * "PREFIX: path: message" (warnings "PREFIX: warning: path: message"), or
 * without "PREFIX: " when @p prefix is NULL.
 */
void gaxctl_print_diagnostics(FILE *out, const char *prefix, const json_t *diagnostics);

#endif /* GAXCTL_H */
