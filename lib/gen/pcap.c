/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap files (the classic libpcap format, microsecond timestamps, link type
 * Ethernet) written with stdio, and a scenario written out as one: the
 * frames gaxgen would send, for replay by net_pcap, tcpreplay or a NIC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gax_gen.h"
#include "gen_priv.h"

struct gax_gen_pcap {
	FILE *f;
	int err;
};

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

struct gax_gen_pcap *
gax_gen_pcap_open(const char *path)
{
	struct gax_gen_pcap *pc = calloc(1, sizeof(*pc));
	uint8_t h[24];
	int e;

	if (pc == NULL)
		return NULL;
	pc->f = fopen(path, "wb");
	if (pc->f == NULL) {
		e = errno;
		free(pc);
		errno = e;
		return NULL;
	}
	setvbuf(pc->f, NULL, _IOFBF, 1 << 20);
	put_le32(h, 0xa1b2c3d4);
	h[4] = 2;			/* version 2.4 */
	h[5] = 0;
	h[6] = 4;
	h[7] = 0;
	put_le32(h + 8, 0);		/* thiszone */
	put_le32(h + 12, 0);		/* sigfigs */
	put_le32(h + 16, 65535);	/* snaplen */
	put_le32(h + 20, 1);		/* LINKTYPE_ETHERNET */
	if (fwrite(h, sizeof(h), 1, pc->f) != 1)
		pc->err = errno != 0 ? errno : EIO;
	return pc;
}

int
gax_gen_pcap_write(struct gax_gen_pcap *pc, const uint8_t *frame, uint32_t len, uint64_t ts_ns)
{
	uint8_t h[16];

	if (pc->err != 0)
		return -pc->err;
	put_le32(h, (uint32_t)(ts_ns / 1000000000u));
	put_le32(h + 4, (uint32_t)(ts_ns % 1000000000u / 1000u));
	put_le32(h + 8, len);
	put_le32(h + 12, len);
	if (fwrite(h, sizeof(h), 1, pc->f) != 1 || fwrite(frame, len, 1, pc->f) != 1) {
		pc->err = errno != 0 ? errno : EIO;
		return -pc->err;
	}
	return 0;
}

int
gax_gen_pcap_close(struct gax_gen_pcap *pc)
{
	int err;

	if (pc == NULL)
		return 0;
	err = pc->err;
	if (fclose(pc->f) != 0 && err == 0)
		err = errno != 0 ? errno : EIO;
	free(pc);
	return -err;
}

int
gax_gen_write_pcap(const struct gax_gen_scenario *sc, const char *path, uint64_t count)
{
	static const uint8_t default_src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct gax_gen_flows *flows;
	struct gax_gen_pcap *pc;
	uint8_t buf[GAX_GEN_FRAME_MAX];
	uint64_t k;
	int rc = 0, rc2;

	if (!sc->has_dst_mac || count == 0)
		return -EINVAL;
	flows = gax_gen_flows_create(sc);
	if (flows == NULL)
		return -ENOMEM;
	pc = gax_gen_pcap_open(path);
	if (pc == NULL) {
		rc = -errno;
		gax_gen_flows_free(flows);
		return rc;
	}
	for (k = 0; k < count && rc == 0; k++) {
		uint64_t ts = sc->rate_pps != 0 ?
			(uint64_t)((double)k * 1e9 / (double)sc->rate_pps) : 0;
		struct gax_gen_tuple t;
		bool first = gax_gen_flows_next(flows, k, ts, &t);
		uint16_t size = sc->frame_sizes[k % sc->n_frame_sizes];
		int n = gax_gen_build(sc, buf, sizeof(buf), size, &t, first, (uint32_t)k,
				(uint32_t)ts, sc->has_src_mac ? sc->src_mac : default_src,
				sc->dst_mac);

		if (n < 0)
			rc = n;
		else
			rc = gax_gen_pcap_write(pc, buf, (uint32_t)n, ts);
	}
	gax_gen_flows_free(flows);
	rc2 = gax_gen_pcap_close(pc);
	return rc != 0 ? rc : rc2;
}
