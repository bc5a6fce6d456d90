/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The directory layout the btrfs and dir drivers share:
 *   BASE/volumes/<id>  BASE/snapshots/<id>/<snap>  BASE/tmp/<scratch>
 * New things are made in tmp/ and renamed into place; things to delete are
 * renamed into tmp/ first, so no half-made or half-deleted entry ever
 * carries a real name.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"

/* mkdir BASE/volumes, BASE/snapshots, BASE/tmp (existing is fine). */
int plx_layout_init(const char *base, struct plx_err *err);

char *plx_layout_volume(const char *base, const char *id);
/* The path op of the drivers that use this layout (btrfs, dir). */
int plx_layout_path(struct plx_storage *s, const char *id, char **out, struct plx_err *err);
char *plx_layout_snapdir(const char *base, const char *id);
char *plx_layout_snapshot(const char *base, const char *id, const char *snap);
/* A fresh, unused scratch path in BASE/tmp. */
char *plx_layout_scratch(const char *base);

/* rename(2) that refuses to replace: EEXIST names dst. */
int plx_layout_rename_new(const char *src, const char *dst, struct plx_err *err);
/* Swap two paths atomically (renameat2 RENAME_EXCHANGE). */
int plx_layout_exchange(const char *a, const char *b, struct plx_err *err);

/* 0 when path is a directory, -ENOENT (with err naming what) when missing. */
int plx_layout_need_dir(const char *path, const char *what, struct plx_err *err);
bool plx_layout_is_dir(const char *path);

/*
 * The snapshot names in BASE/snapshots/<id>, oldest first.  created_ns
 * reads one snapshot's creation time in nanoseconds; size its size (-1 if
 * unknown).
 */
struct plx_layout_snap_ops {
	int (*created_ns)(const char *path, int64_t *out, struct plx_err *err);
	int64_t (*size)(const char *path);
};
int plx_layout_list(const char *base, const char *id, const struct plx_layout_snap_ops *ops,
		    struct plx_storage_snapshot **out, size_t *n, struct plx_err *err);

/* Rollback is only to the latest snapshot (as Proxmox VE does); err names the newer ones. */
int plx_layout_check_latest(const struct plx_storage_snapshot *v, size_t n, const char *what,
			    const char *snap, struct plx_err *err);

/*
 * The final acts of a driver on this layout; the shared steps (paths, the
 * checks, staging in tmp/ and renaming into place) are the plx_layout_*
 * operations below.
 */
struct plx_layout_acts {
	const struct plx_layout_snap_ops *snap;
	/* Make the new path dst a copy of the tree src (read-only if asked); on failure nothing is at dst. */
	int (*copy)(const char *src, const char *dst, bool readonly, struct plx_err *err);
	/* copy makes dst in one step, so it needs no staging in tmp/. */
	bool atomic;
	/* Remove a leftover copy in tmp/, logging (not returning) a failure. */
	void (*drop)(const char *path);
	/* Make the new, empty volume path (with the size limit, 0: none); on failure nothing is at path. */
	int (*make)(const char *path, uint64_t size_limit, struct plx_err *err);
	/* Remove what make made, after a failed rename. */
	void (*unmake)(const char *path);
};

int plx_layout_create(const char *base, const char *id, uint64_t size_limit, const struct plx_layout_acts *a,
		      struct plx_err *err);
int plx_layout_clone_from(const char *base, const char *src, const char *snap, const char *id,
			  const struct plx_layout_acts *a, struct plx_err *err);
int plx_layout_snapshot_take(const char *base, const char *id, const char *snap, const struct plx_layout_acts *a,
			     struct plx_err *err);
int plx_layout_rollback(const char *base, const char *id, const char *snap, const struct plx_layout_acts *a,
			struct plx_err *err);
