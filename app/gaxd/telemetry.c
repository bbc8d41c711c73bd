/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gax's state and counters under /gax/... in DPDK telemetry, for
 * dpdk-telemetry.py and whatever else speaks its socket. The callbacks run
 * on EAL's telemetry thread: they build the same JSON the control socket
 * answers (under d->lock, which the control thread holds while it swaps and
 * frees generations) and convert it to rte_tel_data.
 */
#include <ctype.h>
#include <string.h>

#include <rte_telemetry.h>

#include "gaxd.h"

static struct gaxd *tel_d;

/* Make @p name a valid telemetry name: letters, digits, '_' and '/'. */
static void
tel_name(char *name)
{
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && *name != '_' && *name != '/')
			*name = '_';
}

/* Add scalar @p v under @p name to dict @p t; a nested value is added as its JSON text. */
static void
dict_add(struct rte_tel_data *t, const char *name, json_t *v)
{
	char *text;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		if (json_integer_value(v) >= 0)
			rte_tel_data_add_dict_u64(t, name, (uint64_t)json_integer_value(v));
		else
			rte_tel_data_add_dict_int(t, name, (int)json_integer_value(v));
		break;
	case JSON_REAL: {
		char buf[32];

		snprintf(buf, sizeof(buf), "%.3f", json_real_value(v));
		rte_tel_data_add_dict_string(t, name, buf);
		break;
	}
	case JSON_STRING:
		rte_tel_data_add_dict_string(t, name, json_string_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		rte_tel_data_add_dict_string(t, name, json_is_true(v) ? "true" : "false");
		break;
	case JSON_NULL:
		rte_tel_data_add_dict_string(t, name, "null");
		break;
	default:
		text = json_dumps(v, JSON_COMPACT);
		if (text != NULL)
			rte_tel_data_add_dict_string(t, name, text);
		free(text);
		break;
	}
}

/* An object as a dict of scalars (one level: telemetry nests no deeper). */
static struct rte_tel_data *
object_to_dict(json_t *o)
{
	struct rte_tel_data *t = rte_tel_data_alloc();
	const char *k;
	json_t *v;

	if (t == NULL)
		return NULL;
	rte_tel_data_start_dict(t);
	json_object_foreach(o, k, v)
		dict_add(t, k, v);
	return t;
}

/*
 * Reply with object @p o. Telemetry nests one level only, so scalars stay
 * as they are, an object becomes a dict, and each entry of an array of
 * objects becomes a dict of its own named "<field>/<its key>" (say
 * "listeners/web/tcp_80": telemetry names allow letters, digits, _ and /
 * only, so other characters become _); deeper values are given as JSON text.
 */
static int
reply_object(json_t *o, struct rte_tel_data *t)
{
	const char *k;
	json_t *v, *e;
	size_t i;

	rte_tel_data_start_dict(t);
	json_object_foreach(o, k, v) {
		if (json_is_object(v)) {
			struct rte_tel_data *c = object_to_dict(v);

			if (c != NULL && rte_tel_data_add_dict_container(t, k, c, 0) != 0)
				rte_tel_data_free(c);
		} else if (json_is_array(v) && json_is_object(json_array_get(v, 0))) {
			json_array_foreach(v, i, e) {
				const char *key = json_string_value(json_object_get(e, "key"));
				struct rte_tel_data *c = object_to_dict(e);
				char name[RTE_TEL_MAX_STRING_LEN];

				if (key == NULL)
					key = json_string_value(json_object_get(e, "interface"));
				if (key != NULL)
					snprintf(name, sizeof(name), "%s/%s", k, key);
				else
					snprintf(name, sizeof(name), "%s/%zu", k, i);
				tel_name(name);
				if (c != NULL && rte_tel_data_add_dict_container(t, name, c, 0) != 0)
					rte_tel_data_free(c); /* beyond telemetry's dict size: gaxctl has all */
			}
		} else {
			dict_add(t, k, v);
		}
	}
	return 0;
}

/* Run control request @p req under the lock and reply with its answer. */
static int
answer(const char *req_text, struct rte_tel_data *t)
{
	json_t *req = json_loads(req_text, 0, NULL), *r;
	int rc;

	if (req == NULL || tel_d == NULL)
		return -1;
	pthread_mutex_lock(&tel_d->lock);
	r = gaxd_handle(tel_d, req);
	pthread_mutex_unlock(&tel_d->lock);
	json_decref(req);
	if (r == NULL)
		return -1;
	json_object_del(r, "ok");
	rc = reply_object(r, t);
	json_decref(r);
	return rc;
}

static int
tel_info(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	return answer("{\"cmd\": \"ping\"}", t);
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	return answer("{\"cmd\": \"stats\"}", t);
}

static int
tel_show(const char *cmd, const char *params, struct rte_tel_data *t)
{
	const char *what = strrchr(cmd, '/') + 1;
	char req[96];

	(void)params;
	snprintf(req, sizeof(req), "{\"cmd\": \"show\", \"what\": \"%s\"}",
			strcmp(what, "endpoint_groups") == 0 ? "endpoint-groups" : what);
	return answer(req, t);
}

void
gaxd_telemetry_register(struct gaxd *d)
{
	tel_d = d;
	rte_telemetry_register_cmd("/gax/info", tel_info,
			"gax: version, configuration generation, workers, uptime, changes applied "
			"and refused");
	rte_telemetry_register_cmd("/gax/stats", tel_stats,
			"gax: counters per port, listener and endpoint, drops by reason, flows");
	rte_telemetry_register_cmd("/gax/listeners", tel_show,
			"gax: listeners with ports, affinity, flows");
	rte_telemetry_register_cmd("/gax/endpoint_groups", tel_show,
			"gax: endpoint groups with traffic shares");
	rte_telemetry_register_cmd("/gax/endpoints", tel_show,
			"gax: endpoints with resolved address, weight, state, share, flows");
}
