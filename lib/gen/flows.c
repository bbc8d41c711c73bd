/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow enumeration: which client address and port, and which destination
 * port, each packet uses, and whether it opens its flow. The live flows are
 * a sliding window of flow numbers; one slot per live flow remembers which
 * flow number it last carried, so that the first packet of a flow (a TCP
 * SYN) is known without a search.
 */
#include <errno.h>
#include <stdlib.h>

#include "gax_gen.h"
#include "gen_priv.h"

struct gax_gen_flows {
	const struct gax_gen_scenario *sc;
	uint64_t opened;
	uint64_t *slot;		/* flow number + 1 last sent in each slot; 0: none yet */
};

void
gax_gen_tuple_of(const struct gax_gen_scenario *sc, uint32_t t, struct gax_gen_tuple *out)
{
	uint32_t nports = (uint32_t)sc->sport_to - sc->sport_from + 1;

	out->index = t;
	out->client = t / nports;
	out->saddr = gax_gen_client_addr(sc, out->client);
	out->sport = (uint16_t)(sc->sport_from + t % nports);
	out->daddr = sc->dst_addr;
	out->dport = sc->dst_ports[t % sc->n_dst_ports];
}

struct gax_gen_flows *
gax_gen_flows_create(const struct gax_gen_scenario *sc)
{
	struct gax_gen_flows *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->sc = sc;
	f->slot = calloc(sc->flows, sizeof(*f->slot));
	if (f->slot == NULL) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

void
gax_gen_flows_free(struct gax_gen_flows *f)
{
	if (f == NULL)
		return;
	free(f->slot);
	free(f);
}

bool
gax_gen_flows_next(struct gax_gen_flows *f, uint64_t k, uint64_t now_ns,
		struct gax_gen_tuple *out)
{
	const struct gax_gen_scenario *sc = f->sc;
	uint64_t n = sc->flows, base = 0, id, t;
	uint64_t slot = k % n;
	bool first;

	if (sc->new_flow_share > 0)
		base = (uint64_t)((double)k * sc->new_flow_share);
	else if (sc->new_flows_per_s > 0)
		base = (uint64_t)((double)now_ns * 1e-9 * sc->new_flows_per_s);
	/* the flow number of the window [base, base + n) congruent to k modulo n */
	id = base + (slot + n - base % n) % n;
	first = f->slot[slot] != id + 1;
	if (first) {
		f->slot[slot] = id + 1;
		f->opened++;
	}
	t = id % sc->tuple_space;
	if (sc->order == GAX_GEN_ORDER_RANDOM)
		t = (uint64_t)(((unsigned __int128)sc->perm_mul * t + sc->perm_add) %
				sc->tuple_space);
	gax_gen_tuple_of(sc, (uint32_t)t, out);
	return first;
}

uint64_t
gax_gen_flows_opened(const struct gax_gen_flows *f)
{
	return f->opened;
}
