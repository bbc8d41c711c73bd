/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the files of lib/snapshot. */
#ifndef GAX_SNAPSHOT_PRIV_H
#define GAX_SNAPSHOT_PRIV_H

#include "gax_snapshot.h"

/* Give listeners and endpoints their stable ids (see struct gax_snapshot); 0 or -ENOMEM. */
int gax_snapshot_assign_ids(struct gax_snapshot *s, const struct gax_snapshot *prev);

#endif /* GAX_SNAPSHOT_PRIV_H */
