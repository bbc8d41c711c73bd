/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket (docs/control.md): a Unix stream socket, owner-only,
 * served by the control thread with poll(). One JSON request per line, one
 * reply line each. Every client is non-blocking and bounded: a line longer
 * than GAXD_CTL_MAX_LINE, a client idle or stalled for GAXD_CTL_IDLE_S, or
 * one client too many is answered with an error (where it can be) and
 * closed. The workers never wait for any of this.
 */
#define _GNU_SOURCE /* accept4() */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "gaxd.h"

#define GAXD_CTL_MAX_CLIENTS	32
#define GAXD_CTL_MAX_LINE	(64u << 20)
#define GAXD_CTL_IDLE_S		10
#define GAXD_CTL_READ_CHUNK	65536
#define GAXD_CTL_MAX_OUT	(64u << 20)	/* replies waiting for a client that does not read */

struct client {
	int fd;
	char *in;		/* bytes received, not yet a whole line */
	size_t in_len, in_cap;
	char *out;		/* reply bytes not yet sent */
	size_t out_len, out_off;
	time_t last;		/* last progress either way */
	bool closing;		/* close once out is sent */
};

struct gaxd_ctl {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client clients[GAXD_CTL_MAX_CLIENTS];
	uint64_t requests, errors, refused_clients;
};

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Create the socket's folder (0700) when it is missing. */
static int
make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
gaxd_control_open(struct gaxd *d)
{
	struct sockaddr_un sa;
	struct gaxd_ctl *c;
	mode_t old_mask;
	int fd, rc, i;

	if (strlen(d->opts.socket_path) >= sizeof(sa.sun_path)) {
		GAXD_LOG(ERR, "control socket path %s is longer than %zu bytes",
				d->opts.socket_path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	for (i = 0; i < GAXD_CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", d->opts.socket_path);
	rc = make_dir(c->path);
	if (rc != 0) {
		GAXD_LOG(ERR, "cannot create the folder of %s: %s", c->path, strerror(-rc));
		free(c);
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(c);
		return -errno;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path));
	/* A socket file left by a gaxd that died: connect() tells whether it lives. */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			GAXD_LOG(ERR, "another gaxd serves %s; give this one --socket", c->path);
			free(c);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(c->path);
	}
	old_mask = umask(0077); /* the socket is created 0600: owner only */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc != 0 || listen(fd, 64) != 0) {
		rc = -errno;
		GAXD_LOG(ERR, "cannot listen on %s: %s", c->path, strerror(-rc));
		close(fd);
		free(c);
		return rc;
	}
	chmod(c->path, 0600);
	c->fd = fd;
	d->ctl = c;
	GAXD_LOG(INFO, "control socket %s", c->path);
	return 0;
}

static void
client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl->in);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

/* Queue a reply line; false when out of memory (the client is then closed). */
static bool
client_reply(struct client *cl, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	size_t len;
	char *out;

	json_decref(reply);
	if (text == NULL)
		return false;
	len = strlen(text);
	out = realloc(cl->out, cl->out_len + len + 1);
	if (out == NULL) {
		free(text);
		return false;
	}
	memcpy(out + cl->out_len, text, len);
	out[cl->out_len + len] = '\n';
	cl->out = out;
	cl->out_len += len + 1;
	free(text);
	return true;
}

static json_t *
error_json(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* One request line: parse, dispatch, queue the reply. */
static void
client_request(struct gaxd *d, struct client *cl, const char *line, size_t len)
{
	json_error_t err;
	json_t *req, *reply, *timing;
	char msg[256];
	double parse_ms;
	uint64_t t0;

	d->ctl->requests++;
	t0 = rte_rdtsc();
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	parse_ms = 1e3 * (double)(rte_rdtsc() - t0) / (double)rte_get_tsc_hz();
	if (req == NULL || !json_is_object(req)) {
		if (req == NULL)
			snprintf(msg, sizeof(msg), "not JSON: column %d: %s", err.column, err.text);
		else
			snprintf(msg, sizeof(msg), "a request is a JSON object with \"cmd\"");
		json_decref(req);
		d->ctl->errors++;
		reply = error_json(msg);
	} else {
		reply = gaxd_handle(d, req);
		json_decref(req);
		/* A change reports its steps' times: the request's parse is the first. */
		timing = json_object_get(reply, "timing_ms");
		if (timing != NULL)
			json_object_set_new(timing, "parse", json_real(parse_ms));
		if (!json_is_true(json_object_get(reply, "ok")))
			d->ctl->errors++;
	}
	if (!client_reply(cl, reply))
		cl->closing = true;
	/* A client that sends and never reads its replies is not waited for forever. */
	if (cl->out_len - cl->out_off > GAXD_CTL_MAX_OUT) {
		cl->closing = true;
		cl->out_off = cl->out_len;
		d->ctl->errors++;
	}
}

/* Read what the client sent; serve every whole line. */
static void
client_read(struct gaxd *d, struct client *cl)
{
	char *nl, *start;
	ssize_t n;

	for (;;) {
		if (cl->in_cap - cl->in_len < GAXD_CTL_READ_CHUNK) {
			size_t cap = cl->in_cap == 0 ? GAXD_CTL_READ_CHUNK * 2 : cl->in_cap * 2;
			char *in;

			if (cap > GAXD_CTL_MAX_LINE + GAXD_CTL_READ_CHUNK * 2)
				cap = GAXD_CTL_MAX_LINE + GAXD_CTL_READ_CHUNK * 2;
			in = realloc(cl->in, cap);
			if (in == NULL) {
				client_reply(cl, error_json("out of memory"));
				cl->closing = true;
				return;
			}
			cl->in = in;
			cl->in_cap = cap;
		}
		n = read(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len);
		if (n == 0) { /* the client is done sending: answer what came, then close */
			cl->closing = true;
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->closing = true;
			break;
		}
		cl->in_len += (size_t)n;
		cl->last = now_s();
		/* Serve the whole lines received so far. */
		start = cl->in;
		while (!cl->closing &&
				(nl = memchr(start, '\n', cl->in_len - (size_t)(start - cl->in))) != NULL) {
			if (nl > start)
				client_request(d, cl, start, (size_t)(nl - start));
			start = nl + 1;
		}
		if (cl->closing && cl->out_off == cl->out_len && cl->out_len > 0)
			return; /* dropped for not reading its replies */
		cl->in_len -= (size_t)(start - cl->in);
		memmove(cl->in, start, cl->in_len);
		if (cl->in_len > GAXD_CTL_MAX_LINE) {
			char msg[128];

			snprintf(msg, sizeof(msg), "request longer than %u bytes: closing",
					GAXD_CTL_MAX_LINE);
			client_reply(cl, error_json(msg));
			d->ctl->errors++;
			cl->closing = true;
			cl->in_len = 0;
			return;
		}
	}
}

static void
client_write(struct client *cl)
{
	ssize_t n;

	while (cl->out_off < cl->out_len) {
		n = write(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				cl->closing = true;
				cl->out_off = cl->out_len; /* nothing more can be sent */
			}
			return;
		}
		cl->out_off += (size_t)n;
		cl->last = now_s();
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = 0;
	cl->out_off = 0;
}

static void
accept_clients(struct gaxd_ctl *c)
{
	int fd, i;

	while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < GAXD_CTL_MAX_CLIENTS && c->clients[i].fd >= 0; i++)
			;
		if (i == GAXD_CTL_MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many control "
				"clients; try again\"}\n";

			c->refused_clients++;
			if (write(fd, busy, sizeof(busy) - 1) < 0) {
				/* nothing to do: the client is refused either way */
			}
			close(fd);
			continue;
		}
		c->clients[i].fd = fd;
		c->clients[i].last = now_s();
	}
}

void
gaxd_control_poll(struct gaxd *d, int timeout_ms)
{
	struct gaxd_ctl *c = d->ctl;
	struct pollfd pfd[GAXD_CTL_MAX_CLIENTS + 3];
	int map[GAXD_CTL_MAX_CLIENTS + 3];
	int n = 0, i, k;
	time_t now;

	if (c == NULL) {
		usleep((useconds_t)timeout_ms * 1000);
		return;
	}
	pfd[n].fd = c->fd;
	pfd[n].events = POLLIN;
	map[n++] = -1;
	if (d->res != NULL) {
		pfd[n].fd = gax_resolver_fd(d->res);
		pfd[n].events = POLLIN;
		map[n++] = -2;
	}
	if (gaxd_health_fd(d) >= 0) {
		pfd[n].fd = gaxd_health_fd(d);
		pfd[n].events = POLLIN;
		map[n++] = -3;
	}
	for (i = 0; i < GAXD_CTL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];

		if (cl->fd < 0)
			continue;
		pfd[n].fd = cl->fd;
		pfd[n].events = (short)((cl->closing ? 0 : POLLIN) | (cl->out_len > 0 ? POLLOUT : 0));
		map[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) < 0)
		return;
	for (k = 0; k < n; k++) {
		struct client *cl;

		if (pfd[k].revents == 0)
			continue;
		if (map[k] == -1) {
			accept_clients(c);
			continue;
		}
		if (map[k] == -2) {
			gaxd_resolver_changed(d);
			continue;
		}
		if (map[k] == -3) {
			gaxd_health_changed(d);
			continue;
		}
		cl = &c->clients[map[k]];
		if (pfd[k].revents & POLLIN && !cl->closing)
			client_read(d, cl);
		else if (pfd[k].revents & (POLLERR | POLLHUP | POLLNVAL))
			cl->closing = true;
		if (cl->out_len > 0)
			client_write(cl);
	}
	/* Close who is done, and who stalls. */
	now = now_s();
	for (i = 0; i < GAXD_CTL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];

		if (cl->fd < 0)
			continue;
		if ((cl->closing && cl->out_len == 0) || now - cl->last > GAXD_CTL_IDLE_S)
			client_close(cl);
	}
}

void
gaxd_control_close(struct gaxd *d)
{
	struct gaxd_ctl *c = d->ctl;
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < GAXD_CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			client_close(&c->clients[i]);
	close(c->fd);
	unlink(c->path);
	free(c);
	d->ctl = NULL;
}
