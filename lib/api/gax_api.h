/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Global Accelerator API verbs (listener.create, endpoint.set-weight...)
 * as edits of the configuration document. gaxd's control socket takes the
 * running document, makes one edit with gax_api_edit(), and then does
 * exactly what `apply` does with the result: validate every rule, review,
 * compile, publish, persist. This module only finds the objects a request
 * names and edits the JSON tree; it checks nothing the config loader checks.
 * Plain C over jansson, no EAL.
 *
 * The requests (docs/control.md), every field required unless marked:
 *
 *   listener.create        accelerator, listener (object, with "name")
 *   listener.update        accelerator, name, listener (fields to replace)
 *   listener.delete        accelerator, name
 *   endpoint-group.create  accelerator, listener, group (object, with "name")
 *   endpoint-group.update  accelerator, listener, name, group (fields to replace)
 *   endpoint-group.delete  accelerator, listener, name
 *   endpoint.create        accelerator, listener, group, endpoint (object, with "address")
 *   endpoint.update        accelerator, listener, group, address, endpoint (fields)
 *   endpoint.delete        accelerator, listener, group, address
 *   endpoint.set-weight    accelerator, listener, group, address, weight (integer)
 *
 * plus "cmd" and, optionally, "dry_run" (the caller's business). Listeners
 * and endpoint groups are named by "name"; endpoints by "address", compared
 * case-insensitively as the config loader compares them.
 */
#ifndef GAX_API_H
#define GAX_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Whether @p cmd is one of the API verbs above (NULL: false).
 * Thread safety: reads constant data only; any thread.
 */
bool gax_api_is_edit(const char *cmd);

/**
 * Apply one API request to a configuration document in place.
 *
 * - create appends the request's object (a copy) after the last one of its
 *   kind, creating the array when the document has none;
 * - update replaces or inserts each top-level field of the request's object;
 *   a field set to null is removed, so its default applies; "name" (or, for
 *   an endpoint, "address") may change when no sibling has the new one;
 * - delete removes the object; set-weight sets the endpoint's "weight".
 *
 * On error @p doc is unchanged. The result is not validated: the caller
 * loads it with gax_config_load_json() (or dumps it and uses
 * gax_config_load_buffer()), which applies every rule of docs/config.md.
 *
 * @param doc     the configuration document (an object); the caller passes
 *                a deep copy of the running one
 * @param req     the request object ("cmd" and the verb's fields); only read,
 *                and @p doc never shares a reference with it
 * @param err     receives a one-sentence message on error (no trailing period)
 * @param errlen  size of @p err (may be 0)
 * @return 0;
 *   -EINVAL  the request is not an object, "cmd" is missing or not an API
 *            verb, a field is missing, of the wrong type or unknown (the
 *            message names the field), or the document is not shaped as a
 *            configuration where the request points;
 *   -ENOENT  the named accelerator, listener, endpoint group or endpoint
 *            does not exist (the message says which, e.g.
 *            `accelerator "web" has no listener "tcp-81"`);
 *   -EEXIST  create (or a rename by update) of a name or address that
 *            already exists among its siblings;
 *   -ENOMEM.
 * Thread safety: no shared state; the caller serialises access to @p doc.
 */
int gax_api_edit(json_t *doc, const json_t *req, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* GAX_API_H */
