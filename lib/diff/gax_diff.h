/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The review before apply (the guide's Confirm page): what would change
 * between two configurations. Interfaces, accelerators, listeners, endpoint
 * groups and endpoints are matched by identity (names; endpoints by address)
 * and every added, removed or changed object or field is listed in file
 * order, with its old and new values, for people (text) and scripts (JSON).
 *
 * Thread safety: no shared state; call from any one thread at a time per diff.
 */
#ifndef GAX_DIFF_H
#define GAX_DIFF_H

#include <stdio.h>

#include <jansson.h>

#include <gax_config.h>

#ifdef __cplusplus
extern "C" {
#endif

enum gax_change_op {
	GAX_CHANGE_ADD = 0,
	GAX_CHANGE_REMOVE,
	GAX_CHANGE_MODIFY,
};

enum gax_change_kind {
	GAX_KIND_LIMITS = 0,
	GAX_KIND_INTERFACE,
	GAX_KIND_ACCELERATOR,
	GAX_KIND_LISTENER,
	GAX_KIND_ENDPOINT_GROUP,
	GAX_KIND_ENDPOINT,
};

/*
 * One change. An added or removed object is one change (its fields are not
 * listed one by one); a modified object gives one change per changed field.
 */
struct gax_change {
	enum gax_change_op op;
	enum gax_change_kind kind;
	char *object;    /* identity path: "web/tcp-80/eg-local/10.1.0.11" */
	char *field;     /* MODIFY: the field ("weight", "port_ranges"); else NULL */
	char *old_value; /* MODIFY and REMOVE: a readable value or summary; else NULL */
	char *new_value; /* MODIFY and ADD: a readable value or summary; else NULL */
};

struct gax_diff {
	struct gax_change *changes;
	unsigned int n_changes;
	unsigned int cap;
};

/**
 * Compare two configurations.
 *
 * @param old_cfg  the running configuration; NULL stands for an empty one
 *                 (everything in @p new_cfg is then an addition)
 * @param new_cfg  the proposed configuration; NULL stands for an empty one
 * @return the diff (free with gax_diff_free()), or NULL with errno ENOMEM.
 */
struct gax_diff *gax_diff_compute(const struct gax_config *old_cfg,
		const struct gax_config *new_cfg);

/** Release a diff; NULL is allowed. */
void gax_diff_free(struct gax_diff *d);

/**
 * Print the review for people: a tree of +, - and ~ lines, then a one-line
 * summary ("Summary: 2 added, 1 removed, 3 changed"), or "No changes.".
 */
void gax_diff_print(FILE *out, const struct gax_diff *d);

/**
 * The review for scripts: {"changes": [{"op", "kind", "object", "field",
 * "old", "new"}...], "summary": {"added", "removed", "changed"}}.
 * @return a new reference, or NULL on ENOMEM.
 */
json_t *gax_diff_to_json(const struct gax_diff *d);

#ifdef __cplusplus
}
#endif

#endif /* GAX_DIFF_H */
