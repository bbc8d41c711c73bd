/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gaxctl's side of the control socket (docs/control.md): connect to gaxd's
 * Unix stream socket, send one request as one line of JSON, read one reply
 * line. The socket is non-blocking and every wait is a poll() against one
 * deadline, so gaxctl never hangs on a stalled or busy gaxd. When gaxd
 * answers before it has read the whole request (a line over its limit) and
 * closes, the reply is still read and shown.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gaxctl.h"

#define REPLY_MAX ((size_t)1 << 30) /* a reply line longer than this is refused */
#define CONNECT_RETRY_MS 10         /* the listen backlog is full: try again */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until @p deadline (0 when past). */
static int
left_ms(double deadline)
{
	double l = (deadline - now_s()) * 1e3;

	return l <= 0 ? 0 : l > 1e9 ? 1000000000 : (int)l + 1;
}

/* Wait for @p events on @p fd until the deadline: 0, or -ETIMEDOUT, or -errno. */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&p, 1, left_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int
connect_to(const char *path, double deadline, int *fdp)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(int);
	int fd, rc, soerr = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && left_ms(deadline) > 0) {
			/* gaxd's listen backlog is full (it is busy): try again shortly. */
			struct timespec ts = { 0, CONNECT_RETRY_MS * 1000000L };

			nanosleep(&ts, NULL);
			continue;
		}
		if (errno != EINPROGRESS) {
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			close(fd);
			return rc;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
			rc = -errno;
		if (rc == 0 && soerr != 0)
			rc = -soerr;
		if (rc != 0) {
			close(fd);
			return rc;
		}
		break;
	}
	*fdp = fd;
	return 0;
}

/*
 * Send the whole buffer; -EPIPE/-ECONNRESET when gaxd closed first (its
 * reply may still be waiting to be read).
 */
static int
send_all(int fd, const char *buf, size_t len, double deadline)
{
	size_t off = 0;
	ssize_t w;
	int rc;

	while (off < len) {
		w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Read up to the first newline into a malloc'ed, NUL-terminated line. */
static int
recv_line(int fd, double deadline, char **linep, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl;
	ssize_t r;
	int rc;

	for (;;) {
		if (cap - len < 65536) {
			char *nb;

			if (cap >= REPLY_MAX) {
				free(buf);
				return -EMSGSIZE;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r > 0) {
			nl = memchr(buf + len, '\n', (size_t)r);
			len += (size_t)r;
			if (nl != NULL) {
				*nl = '\0';
				*linep = buf;
				*lenp = (size_t)(nl - buf);
				return 0;
			}
			continue;
		}
		if (r == 0) {
			free(buf);
			return len == 0 ? -ENODATA : -EPROTO;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			rc = -errno;
			free(buf);
			return rc;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0) {
			free(buf);
			return rc;
		}
	}
}

int
gaxctl_call(const char *path, const json_t *req, double timeout_s, json_t **reply)
{
	double deadline = now_s() + timeout_s;
	char *text = NULL, *line = NULL;
	size_t len, line_len = 0;
	json_error_t je;
	int fd = -1, rc, send_rc;
	json_t *r;

	*reply = NULL;
	rc = connect_to(path, deadline, &fd);
	if (rc != 0) {
		fprintf(stderr, "gaxctl: cannot reach gaxd at %s: %s%s\n", path,
				rc == -ETIMEDOUT ? "it accepts no connection (timed out)" :
				strerror(-rc),
				rc == -ENOENT ? " (is gaxd running? --socket or GAX_SOCKET "
				"name another socket)" : "");
		return GAXCTL_EXIT_USAGE;
	}
	text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		fprintf(stderr, "gaxctl: %s\n", strerror(ENOMEM));
		close(fd);
		return GAXCTL_EXIT_USAGE;
	}
	len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves room for the NUL only: send it as the newline */
	send_rc = send_all(fd, text, len + 1, deadline);
	free(text);
	if (send_rc != 0 && send_rc != -EPIPE && send_rc != -ECONNRESET) {
		fprintf(stderr, "gaxctl: cannot send to gaxd at %s: %s\n", path,
				send_rc == -ETIMEDOUT ? "timed out" : strerror(-send_rc));
		close(fd);
		return GAXCTL_EXIT_USAGE;
	}
	/* Even when gaxd closed before reading all: it may have said why. */
	rc = recv_line(fd, deadline, &line, &line_len);
	close(fd);
	if (rc != 0) {
		if (rc == -ETIMEDOUT)
			fprintf(stderr, "gaxctl: no reply from gaxd at %s within %g s\n", path,
					timeout_s);
		else if (rc == -ENODATA || rc == -EPROTO || rc == -ECONNRESET)
			fprintf(stderr, "gaxctl: gaxd at %s closed the connection without a "
					"reply%s\n", path, send_rc != 0 ? " (before reading the "
					"whole request)" : "");
		else
			fprintf(stderr, "gaxctl: no reply from gaxd at %s: %s\n", path,
					strerror(-rc));
		return GAXCTL_EXIT_USAGE;
	}
	r = json_loadb(line, line_len, 0, &je);
	if (r == NULL || !json_is_object(r) || !json_is_boolean(json_object_get(r, "ok"))) {
		fprintf(stderr, "gaxctl: gaxd at %s sent a reply that is not a JSON object with "
				"\"ok\"%s%s\n", path, r == NULL ? ": " : "",
				r == NULL ? je.text : "");
		json_decref(r);
		free(line);
		return GAXCTL_EXIT_USAGE;
	}
	free(line);
	*reply = r;
	return 0;
}
