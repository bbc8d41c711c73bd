/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The API verbs of gax_api.h as edits of the configuration document. The
 * document is a tree of named arrays: accelerators[name] > listeners[name] >
 * endpoint_groups[name] > endpoints[address]. A verb names its object by the
 * names of its parents and its own. Every field of the request is checked
 * and every object found before anything changes; the change itself is one
 * step on the parent array (append, set or remove), an update being built on
 * a copy of the object first, so a failing request leaves the document as
 * it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gax_api.h"

#define QUOTE_CHARS 48                   /* as the config loader cuts quoted text */
#define QUOTE_BUF (QUOTE_CHARS * 4 + 8)

enum level {
	LVL_ACCELERATOR = 0,
	LVL_LISTENER,
	LVL_GROUP,
	LVL_ENDPOINT,
};

/* One level of the tree. */
struct level_desc {
	const char *array; /* the parent's array holding these objects */
	const char *id;    /* the field naming one */
	const char *what;  /* in messages */
	const char *parent_field; /* request field naming it as a parent of the object acted on */
	const char *body_field;   /* request field holding the object (create, update) */
};

static const struct level_desc levels[] = {
	[LVL_ACCELERATOR] = { "accelerators", "name", "accelerator", "accelerator", NULL },
	[LVL_LISTENER] = { "listeners", "name", "listener", "listener", "listener" },
	[LVL_GROUP] = { "endpoint_groups", "name", "endpoint group", "group", "group" },
	[LVL_ENDPOINT] = { "endpoints", "address", "endpoint", NULL, "endpoint" },
};

enum op {
	OP_CREATE = 0,
	OP_UPDATE,
	OP_DELETE,
	OP_WEIGHT,
};

struct verb {
	const char *cmd;
	enum level level; /* of the object acted on */
	enum op op;
};

static const struct verb verbs[] = {
	{ "listener.create", LVL_LISTENER, OP_CREATE },
	{ "listener.update", LVL_LISTENER, OP_UPDATE },
	{ "listener.delete", LVL_LISTENER, OP_DELETE },
	{ "endpoint-group.create", LVL_GROUP, OP_CREATE },
	{ "endpoint-group.update", LVL_GROUP, OP_UPDATE },
	{ "endpoint-group.delete", LVL_GROUP, OP_DELETE },
	{ "endpoint.create", LVL_ENDPOINT, OP_CREATE },
	{ "endpoint.update", LVL_ENDPOINT, OP_UPDATE },
	{ "endpoint.delete", LVL_ENDPOINT, OP_DELETE },
	{ "endpoint.set-weight", LVL_ENDPOINT, OP_WEIGHT },
};

static const struct verb *
find_verb(const char *cmd)
{
	size_t i;

	for (i = 0; cmd != NULL && i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].cmd, cmd) == 0)
			return &verbs[i];
	return NULL;
}

bool
gax_api_is_edit(const char *cmd)
{
	return find_verb(cmd) != NULL;
}

static int
fail(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/*
 * Text from the request in a message: non-printable bytes as \xNN, quotes
 * and backslashes escaped, cut after QUOTE_CHARS characters, so a message is
 * one printable line. Appends to @p buf (at least QUOTE_BUF bytes free).
 */
static void
escape_cat(const char *s, char *buf)
{
	size_t o = strlen(buf), i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == QUOTE_CHARS) {
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
	buf[o] = '\0';
}

/* @p s double-quoted and escaped into @p buf (QUOTE_BUF bytes); returns buf. */
static const char *
quote(const char *s, char *buf)
{
	buf[0] = '"';
	buf[1] = '\0';
	escape_cat(s, buf);
	strcat(buf, "\"");
	return buf;
}

/* Whether two identities are the same: names exactly, endpoint addresses in any case. */
static bool
same_id(enum level lvl, const char *a, const char *b)
{
	return lvl == LVL_ENDPOINT ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* The index in @p arr of the object of level @p lvl identified by @p id, or -1. */
static long
find_in(const json_t *arr, enum level lvl, const char *id, long skip)
{
	const json_t *o;
	size_t i;

	json_array_foreach(arr, i, o) {
		const char *s = json_string_value(json_object_get(o, levels[lvl].id));

		if ((long)i != skip && s != NULL && same_id(lvl, s, id))
			return (long)i;
	}
	return -1;
}

/* ---- The request ------------------------------------------------------------ */

/* What the request says, once checked. */
struct request {
	const struct verb *v;
	const char *parents[LVL_ENDPOINT]; /* names of the parents: accelerator, listener, group */
	const char *id;                    /* the object's name or address */
	const json_t *body;                /* create, update: the object or its fields */
	const json_t *weight;              /* set-weight */
};

/* The request fields a verb takes (besides "cmd" and "dry_run"), in the order they are checked. */
static unsigned int
verb_fields(const struct verb *v, const char *fields[6])
{
	unsigned int n = 0, l;

	for (l = LVL_ACCELERATOR; l < v->level; l++)
		fields[n++] = levels[l].parent_field;
	if (v->op != OP_CREATE)
		fields[n++] = levels[v->level].id;
	if (v->op == OP_CREATE || v->op == OP_UPDATE)
		fields[n++] = levels[v->level].body_field;
	if (v->op == OP_WEIGHT)
		fields[n++] = "weight";
	return n;
}

static int
parse_request(const json_t *req, struct request *r, char *err, size_t errlen)
{
	const char *fields[6], *key, *cmd;
	const json_t *val;
	char q[QUOTE_BUF];
	unsigned int n, i, l;
	const struct verb *v;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(req))
		return fail(-EINVAL, err, errlen, "a request is a JSON object");
	val = json_object_get(req, "cmd");
	if (val == NULL)
		return fail(-EINVAL, err, errlen, "request field \"cmd\" is missing");
	cmd = json_string_value(val);
	if (cmd == NULL)
		return fail(-EINVAL, err, errlen, "request field \"cmd\" must be a string");
	v = find_verb(cmd);
	if (v == NULL)
		return fail(-EINVAL, err, errlen, "unknown cmd %s", quote(cmd, q));
	r->v = v;

	/* A misspelt field is refused by name, never ignored (as in the config file). */
	n = verb_fields(v, fields);
	json_object_foreach((json_t *)req, key, val) {
		if (strcmp(key, "cmd") == 0 || strcmp(key, "dry_run") == 0)
			continue;
		for (i = 0; i < n && strcmp(key, fields[i]) != 0; i++)
			;
		if (i == n)
			return fail(-EINVAL, err, errlen, "%s: unknown request field %s", cmd,
					quote(key, q));
	}

	for (l = LVL_ACCELERATOR; l < v->level; l++) {
		val = json_object_get(req, levels[l].parent_field);
		if (val == NULL)
			return fail(-EINVAL, err, errlen, "%s: request field \"%s\" is missing "
					"(the %s's name)", cmd, levels[l].parent_field,
					levels[l].what);
		if (!json_is_string(val))
			return fail(-EINVAL, err, errlen, "%s: request field \"%s\" must be a "
					"string (the %s's name)", cmd, levels[l].parent_field,
					levels[l].what);
		r->parents[l] = json_string_value(val);
	}
	if (v->op == OP_CREATE) {
		const char *bf = levels[v->level].body_field, *idf = levels[v->level].id;

		r->body = json_object_get(req, bf);
		if (r->body == NULL)
			return fail(-EINVAL, err, errlen, "%s: request field \"%s\" is missing "
					"(the %s to add)", cmd, bf, levels[v->level].what);
		if (!json_is_object(r->body))
			return fail(-EINVAL, err, errlen, "%s: request field \"%s\" must be an "
					"object", cmd, bf);
		val = json_object_get(r->body, idf);
		if (val == NULL)
			return fail(-EINVAL, err, errlen, "%s: request field \"%s.%s\" is missing",
					cmd, bf, idf);
		if (!json_is_string(val))
			return fail(-EINVAL, err, errlen, "%s: request field \"%s.%s\" must be a "
					"string", cmd, bf, idf);
		r->id = json_string_value(val);
		return 0;
	}
	val = json_object_get(req, levels[v->level].id);
	if (val == NULL)
		return fail(-EINVAL, err, errlen, "%s: request field \"%s\" is missing "
				"(the %s's %s)", cmd, levels[v->level].id, levels[v->level].what,
				levels[v->level].id);
	if (!json_is_string(val))
		return fail(-EINVAL, err, errlen, "%s: request field \"%s\" must be a string", cmd,
				levels[v->level].id);
	r->id = json_string_value(val);
	if (v->op == OP_UPDATE) {
		const char *bf = levels[v->level].body_field, *idf = levels[v->level].id;

		r->body = json_object_get(req, bf);
		if (r->body == NULL)
			return fail(-EINVAL, err, errlen, "%s: request field \"%s\" is missing "
					"(the fields to replace)", cmd, bf);
		if (!json_is_object(r->body))
			return fail(-EINVAL, err, errlen, "%s: request field \"%s\" must be an "
					"object (the fields to replace)", cmd, bf);
		val = json_object_get(r->body, idf);
		if (val != NULL && !json_is_string(val) && !json_is_null(val))
			return fail(-EINVAL, err, errlen, "%s: request field \"%s.%s\" must be a "
					"string", cmd, bf, idf);
	}
	if (v->op == OP_WEIGHT) {
		r->weight = json_object_get(req, "weight");
		if (r->weight == NULL)
			return fail(-EINVAL, err, errlen, "%s: request field \"weight\" is missing",
					cmd);
		if (!json_is_integer(r->weight))
			return fail(-EINVAL, err, errlen, "%s: request field \"weight\" must be an "
					"integer", cmd);
	}
	return 0;
}

/* ---- The document ----------------------------------------------------------- */

/* Where an edit lands: the array of the object's level and its parent object. */
struct target {
	json_t *parent;      /* the object holding the array */
	json_t *arr;         /* NULL: the parent has no such array yet */
	long index;          /* the object in arr, or -1 */
	char where[3 * QUOTE_BUF];   /* the parent's key, quoted: "web/tcp-80" */
};

/* Walk down from the document to the parent of the request's object, then find it. */
static int
locate(json_t *doc, const struct request *r, struct target *t, char *err, size_t errlen)
{
	const struct verb *v = r->v;
	const struct level_desc *lv;
	json_t *node = doc, *arr;
	char q[QUOTE_BUF];
	unsigned int l;
	long k;

	if (!json_is_object(doc))
		return fail(-EINVAL, err, errlen, "the configuration document is not an object");
	t->where[0] = '\0';
	for (l = LVL_ACCELERATOR; l <= v->level; l++) {
		lv = &levels[l];
		arr = json_object_get(node, lv->array);
		if (arr != NULL && !json_is_array(arr) && !json_is_null(arr)) {
			if (l == LVL_ACCELERATOR)
				return fail(-EINVAL, err, errlen, "the configuration document's "
						"\"%s\" is not an array", lv->array);
			return fail(-EINVAL, err, errlen, "the \"%s\" of %s %s\" is not an array",
					lv->array, levels[l - 1].what, t->where);
		}
		if (!json_is_array(arr))
			arr = NULL;
		if (l == v->level)
			break;
		k = arr != NULL ? find_in(arr, (enum level)l, r->parents[l], -1) : -1;
		if (k < 0) {
			if (l == LVL_ACCELERATOR)
				return fail(-ENOENT, err, errlen, "no accelerator %s",
						quote(r->parents[l], q));
			return fail(-ENOENT, err, errlen, "%s %s\" has no %s %s",
					levels[l - 1].what, t->where, lv->what,
					quote(r->parents[l], q));
		}
		node = json_array_get(arr, (size_t)k);
		if (!json_is_object(node))
			return fail(-EINVAL, err, errlen, "the %s %s is not an object", lv->what,
					quote(r->parents[l], q));
		/* The parent by its key, as gaxd names objects: "web/tcp-80/eg-local". */
		strcat(t->where, l == LVL_ACCELERATOR ? "\"" : "/");
		escape_cat(r->parents[l], t->where);
	}
	strcat(t->where, "\"");
	t->parent = node;
	t->arr = arr;
	t->index = arr != NULL ? find_in(arr, v->level, r->id, -1) : -1;
	if (v->op == OP_CREATE && t->index >= 0)
		return fail(-EEXIST, err, errlen, "%s %s already has %s %s %s",
				levels[v->level - 1].what, t->where,
				v->level == LVL_LISTENER ? "a" : "an", lv->what, quote(r->id, q));
	if (v->op != OP_CREATE && t->index < 0)
		return fail(-ENOENT, err, errlen, "%s %s has no %s %s", levels[v->level - 1].what,
				t->where, lv->what, quote(r->id, q));
	return 0;
}

static int
do_create(const struct request *r, struct target *t, char *err, size_t errlen)
{
	json_t *obj = json_deep_copy(r->body), *arr;

	if (obj == NULL)
		return fail(-ENOMEM, err, errlen, "out of memory");
	if (t->arr != NULL) {
		if (json_array_append_new(t->arr, obj) != 0)
			return fail(-ENOMEM, err, errlen, "out of memory");
		return 0;
	}
	/* The parent has no array of this kind yet (or null): one with this object. */
	arr = json_array();
	if (arr == NULL || json_array_append_new(arr, obj) != 0 ||
			json_object_set_new(t->parent, levels[r->v->level].array, arr) != 0) {
		if (arr == NULL)
			json_decref(obj);
		return fail(-ENOMEM, err, errlen, "out of memory");
	}
	return 0;
}

/* Replace, insert or (null) remove each field, on a copy that then takes the object's place. */
static int
do_update(const struct request *r, struct target *t, char *err, size_t errlen)
{
	const char *idf = levels[r->v->level].id, *key, *rename;
	json_t *copy, *val;
	char q[QUOTE_BUF];

	rename = json_string_value(json_object_get(r->body, idf));
	if (rename != NULL && find_in(t->arr, r->v->level, rename, t->index) >= 0)
		return fail(-EEXIST, err, errlen, "%s %s already has %s %s %s",
				levels[r->v->level - 1].what, t->where,
				r->v->level == LVL_LISTENER ? "a" : "an", levels[r->v->level].what,
				quote(rename, q));
	copy = json_copy(json_array_get(t->arr, (size_t)t->index));
	if (copy == NULL)
		return fail(-ENOMEM, err, errlen, "out of memory");
	json_object_foreach((json_t *)r->body, key, val) {
		if (json_is_null(val)) {
			json_object_del(copy, key);
			continue;
		}
		if (json_object_set_new(copy, key, json_deep_copy(val)) != 0) {
			json_decref(copy);
			return fail(-ENOMEM, err, errlen, "out of memory");
		}
	}
	if (json_array_set_new(t->arr, (size_t)t->index, copy) != 0)
		return fail(-ENOMEM, err, errlen, "out of memory");
	return 0;
}

static int
do_weight(const struct request *r, struct target *t, char *err, size_t errlen)
{
	json_t *copy = json_copy(json_array_get(t->arr, (size_t)t->index));

	if (copy == NULL || json_object_set_new(copy, "weight",
			json_integer(json_integer_value(r->weight))) != 0 ||
			json_array_set_new(t->arr, (size_t)t->index, copy) != 0) {
		json_decref(copy);
		return fail(-ENOMEM, err, errlen, "out of memory");
	}
	return 0;
}

int
gax_api_edit(json_t *doc, const json_t *req, char *err, size_t errlen)
{
	struct request r;
	struct target t;
	int rc;

	rc = parse_request(req, &r, err, errlen);
	if (rc != 0)
		return rc;
	memset(&t, 0, sizeof(t));
	rc = locate(doc, &r, &t, err, errlen);
	if (rc != 0)
		return rc;
	switch (r.v->op) {
	case OP_CREATE:
		return do_create(&r, &t, err, errlen);
	case OP_UPDATE:
		return do_update(&r, &t, err, errlen);
	case OP_DELETE:
		if (json_array_remove(t.arr, (size_t)t.index) != 0)
			return fail(-ENOMEM, err, errlen, "out of memory");
		return 0;
	case OP_WEIGHT:
		return do_weight(&r, &t, err, errlen);
	}
	return fail(-EINVAL, err, errlen, "unknown cmd");
}
