/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Diagnostics: the growable list of errors and warnings that loading a
 * configuration fills in, and its printing in the "FILE: PATH: MESSAGE" form
 * that editors and scripts understand. Messages are kept to one line of
 * printable text whatever the input held.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

void
gax_diags_init(struct gax_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
gax_diags_fini(struct gax_diags *d)
{
	unsigned int i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

int
gax_diags_vadd(struct gax_diags *d, enum gax_diag_severity sev, const char *path, int line,
		int column, const char *fmt, va_list ap)
{
	struct gax_diag *g;
	va_list aq;
	char *msg = NULL;
	char *p = NULL;
	char *c;
	int n;

	/* Count first: losing the text to ENOMEM must never make a file valid. */
	if (sev == GAX_DIAG_ERROR)
		d->n_errors++;

	if (d->n == d->cap) {
		unsigned int cap = d->cap == 0 ? 16 : d->cap * 2;
		struct gax_diag *v;

		if (cap < d->cap)
			goto nomem;
		v = realloc(d->v, (size_t)cap * sizeof(*v));
		if (v == NULL)
			goto nomem;
		d->v = v;
		d->cap = cap;
	}
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		goto nomem;
	msg = malloc((size_t)n + 1);
	if (msg == NULL)
		goto nomem;
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	p = strdup(path != NULL ? path : "");
	if (p == NULL)
		goto nomem;
	/* One line of text, whatever the formatted values held. */
	for (c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';

	g = &d->v[d->n++];
	g->severity = sev;
	g->path = p;
	g->message = msg;
	g->line = line;
	g->column = column;
	return 0;

nomem:
	free(msg);
	free(p);
	if (sev != GAX_DIAG_ERROR)
		d->n_errors++;
	return -ENOMEM;
}

int
gax_diags_add(struct gax_diags *d, enum gax_diag_severity sev, const char *path,
		const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = gax_diags_vadd(d, sev, path, 0, 0, fmt, ap);
	va_end(ap);
	return ret;
}

int
gax_diags_add_syntax(struct gax_diags *d, int line, int column, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = gax_diags_vadd(d, GAX_DIAG_ERROR, "", line > 0 ? line : 1,
			column > 0 ? column : 1, fmt, ap);
	va_end(ap);
	return ret;
}

void
gax_diags_print(FILE *out, const char *file, const struct gax_diags *d)
{
	unsigned int i;

	for (i = 0; i < d->n; i++) {
		const struct gax_diag *g = &d->v[i];
		bool has_path = g->path != NULL && g->path[0] != '\0';

		if (g->line > 0) {
			if (file != NULL)
				fprintf(out, "%s:", file);
			fprintf(out, "%d:%d: ", g->line, g->column);
		} else if (file != NULL) {
			fprintf(out, "%s: ", file);
		}
		if (g->severity == GAX_DIAG_WARNING)
			fputs("warning: ", out);
		if (has_path && g->line <= 0)
			fprintf(out, "%s: ", g->path);
		fprintf(out, "%s\n", g->message);
	}
}

json_t *
gax_diags_to_json(const struct gax_diags *d)
{
	json_t *arr = json_array();
	unsigned int i;

	for (i = 0; i < d->n && arr != NULL; i++) {
		const struct gax_diag *g = &d->v[i];
		json_t *o = json_pack("{s:s, s:s, s:s}",
				"severity", g->severity == GAX_DIAG_ERROR ? "error" : "warning",
				"path", g->path, "message", g->message);

		if (o == NULL) {
			json_decref(arr);
			return NULL;
		}
		if (g->line > 0) {
			json_object_set_new(o, "line", json_integer(g->line));
			json_object_set_new(o, "column", json_integer(g->column));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}
