/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stable ids of listeners and endpoints across snapshots: an object whose
 * key is in the previous snapshot keeps its id, a new one takes the next
 * unused id. Matching goes through a temporary index of the previous
 * snapshot's keys, so 10,000 listeners cost 10,000 hash lookups.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gax_snapshot.h"
#include "snapshot_priv.h"

#define KEY_SEED 0x6761786b65797321ULL

/* Open addressing over the indexes of the previous snapshot's objects. */
struct key_index {
	uint32_t *slots; /* index + 1; 0: empty */
	uint32_t mask;
};

static uint64_t
key_hash(const char *key)
{
	return gax_hash_bytes(key, strlen(key), KEY_SEED);
}

static int
key_index_build(struct key_index *ix, uint32_t n, const char *(*key_of)(const void *, uint32_t),
		const void *arr)
{
	uint32_t size = 4, i, j;

	while (size < 2 * (uint64_t)n)
		size <<= 1;
	ix->slots = calloc(size, sizeof(*ix->slots));
	if (ix->slots == NULL)
		return -ENOMEM;
	ix->mask = size - 1;
	for (i = 0; i < n; i++) {
		j = (uint32_t)key_hash(key_of(arr, i)) & ix->mask;
		while (ix->slots[j] != 0)
			j = (j + 1) & ix->mask;
		ix->slots[j] = i + 1;
	}
	return 0;
}

static uint32_t
key_index_find(const struct key_index *ix, const char *key,
		const char *(*key_of)(const void *, uint32_t), const void *arr)
{
	uint32_t j = (uint32_t)key_hash(key) & ix->mask;

	for (; ix->slots[j] != 0; j = (j + 1) & ix->mask)
		if (strcmp(key_of(arr, ix->slots[j] - 1), key) == 0)
			return ix->slots[j] - 1;
	return GAX_SNAP_NONE;
}

static const char *
listener_key(const void *arr, uint32_t i)
{
	return ((const struct gax_snap_listener *)arr)[i].key;
}

static const char *
endpoint_key(const void *arr, uint32_t i)
{
	return ((const struct gax_snap_endpoint *)arr)[i].key;
}

/*
 * Give each of @p n objects (ids at @p id, stride @p stride bytes) an id:
 * the previous one of the same key, or the next unused. Then fill @p by_id.
 */
static int
assign(uint32_t n, const void *arr, size_t stride, size_t id_off,
		const char *(*key_of)(const void *, uint32_t), uint32_t prev_n,
		const void *prev_arr, uint32_t prev_next, uint32_t *next, uint32_t **by_id)
{
	struct key_index ix = { NULL, 0 };
	uint32_t i, k, nid = prev_next;
	int rc;

	if (prev_arr != NULL) {
		rc = key_index_build(&ix, prev_n, key_of, prev_arr);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		uint32_t *id = (uint32_t *)((char *)arr + i * stride + id_off);

		k = prev_arr != NULL ? key_index_find(&ix, key_of(arr, i), key_of, prev_arr) :
			GAX_SNAP_NONE;
		if (k != GAX_SNAP_NONE)
			*id = *(const uint32_t *)((const char *)prev_arr + k * stride + id_off);
		else
			*id = nid++;
	}
	free(ix.slots);
	*next = nid;
	*by_id = malloc(sizeof(**by_id) * (nid > 0 ? nid : 1));
	if (*by_id == NULL)
		return -ENOMEM;
	memset(*by_id, 0xff, sizeof(**by_id) * (nid > 0 ? nid : 1));
	for (i = 0; i < n; i++)
		(*by_id)[*(const uint32_t *)((const char *)arr + i * stride + id_off)] = i;
	return 0;
}

int
gax_snapshot_assign_ids(struct gax_snapshot *s, const struct gax_snapshot *prev)
{
	int rc;

	rc = assign(s->n_listeners, s->listeners, sizeof(*s->listeners),
			offsetof(struct gax_snap_listener, id), listener_key,
			prev != NULL ? prev->n_listeners : 0, prev != NULL ? prev->listeners : NULL,
			prev != NULL ? prev->next_listener_id : 0, &s->next_listener_id,
			&s->listener_by_id);
	if (rc < 0)
		return rc;
	return assign(s->n_endpoints, s->endpoints, sizeof(*s->endpoints),
			offsetof(struct gax_snap_endpoint, id), endpoint_key,
			prev != NULL ? prev->n_endpoints : 0, prev != NULL ? prev->endpoints : NULL,
			prev != NULL ? prev->next_endpoint_id : 0, &s->next_endpoint_id,
			&s->endpoint_by_id);
}
