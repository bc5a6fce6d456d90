/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a PVE snapshot operation does to a CT config, as pure transformations
 * of the model (the storage side is somebody else's job).  Same rules as
 * PVE::AbstractConfig: a snapshot is a copy of the main section without
 * lock/snapstate/snaptime/vmstate/digest/description/unusedN; "parent"
 * links snapshots into a chain.
 */
#pragma once

#include <stdint.h>

#include "proxmox/ct_conf.h"

/* Create snapshot name (comment may be NULL) taken at snaptime; main's parent becomes name. */
int pve_snapshot_create(struct pve_conf *conf, const char *name, const char *comment, int64_t snaptime,
			struct plx_err *err);

/* Delete snapshot name; whoever had it as parent gets its parent instead. */
int pve_snapshot_delete(struct pve_conf *conf, const char *name, struct plx_err *err);

/* Make the main section the snapshot's config again (keeps main's description and unusedN). */
int pve_snapshot_rollback(struct pve_conf *conf, const char *name, struct plx_err *err);
