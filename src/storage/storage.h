/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage drivers for managed container root filesystems: one volume per
 * container (a zfs dataset, a btrfs subvolume or a plain directory), named
 * after the container ID, with snapshots, rollback and clones.
 *
 * Layout:
 *   zfs    PARENT/<id>            snapshots PARENT/<id>@<snap>
 *   btrfs  PATH/volumes/<id>      snapshots PATH/snapshots/<id>/<snap> (read-only subvolumes)
 *   dir    PATH/volumes/<id>      snapshots PATH/snapshots/<id>/<snap> (copies)
 * btrfs and dir stage work in PATH/tmp/ and rename it into place, so a
 * failure never leaves a half-made volume or snapshot under its real name.
 *
 * Every operation checks its names first (plx_storage_check_id(),
 * plx_storage_check_snapshot_name()).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "util/error.h"

/* The per-container annotation naming the driver. */
#define PLX_STORAGE_ANNOTATION "org.proxmox-lxcri.storage"

struct plx_storage_snapshot {
	char *name;      /* without the volume part */
	int64_t created; /* unix seconds */
	int64_t size;    /* bytes the snapshot holds on its own; -1 when the driver cannot tell */
};

struct plx_storage;

struct plx_storage_ops {
	const char *name; /* "zfs", "btrfs", "dir" */
	/* Is base usable: the dataset or directory exists and is of the right kind. */
	int (*check_base)(const char *base, struct plx_err *err);
	/* An empty volume; size_limit 0 = none. */
	int (*create)(struct plx_storage *s, const char *id, uint64_t size_limit, struct plx_err *err);
	/* A new volume id from src's snapshot snap (O(1) on zfs and btrfs). */
	int (*clone_from)(struct plx_storage *s, const char *src, const char *snap, const char *id,
			  struct plx_err *err);
	int (*snapshot)(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err);
	/* Oldest first; *out is freed with plx_storage_snapshots_free(). */
	int (*list_snapshots)(struct plx_storage *s, const char *id, struct plx_storage_snapshot **out,
			      size_t *n, struct plx_err *err);
	/* Only to the most recent snapshot: newer ones are named in the error, never destroyed. */
	int (*rollback)(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err);
	int (*destroy_snapshot)(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err);
	/* The volume and its snapshots; refused while another volume is a clone of one of them. */
	int (*destroy)(struct plx_storage *s, const char *id, struct plx_err *err);
	/* Where the volume is mounted (a directory). */
	int (*path)(struct plx_storage *s, const char *id, char **out, struct plx_err *err);
	int (*exists)(struct plx_storage *s, const char *id, bool *out, struct plx_err *err);
};

struct plx_storage {
	const struct plx_storage_ops *ops;
	char *base; /* zfs: the parent dataset; btrfs/dir: the directory */
};

extern const struct plx_storage_ops plx_storage_zfs_ops;
extern const struct plx_storage_ops plx_storage_btrfs_ops;
extern const struct plx_storage_ops plx_storage_dir_ops;

/* A driver on base (checked: the dataset or directory must exist and be of the right kind). */
int plx_storage_open(const struct plx_storage_ops *ops, const char *base, struct plx_storage **out,
		     struct plx_err *err);
void plx_storage_free(struct plx_storage *s);

/* The operations, with names checked. */
int plx_storage_create(struct plx_storage *s, const char *id, uint64_t size_limit, struct plx_err *err);
int plx_storage_clone_from(struct plx_storage *s, const char *src, const char *snap, const char *id,
			   struct plx_err *err);
int plx_storage_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err);
int plx_storage_list_snapshots(struct plx_storage *s, const char *id, struct plx_storage_snapshot **out,
			       size_t *n, struct plx_err *err);
int plx_storage_rollback(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err);
int plx_storage_destroy_snapshot(struct plx_storage *s, const char *id, const char *snap,
				 struct plx_err *err);
int plx_storage_destroy(struct plx_storage *s, const char *id, struct plx_err *err);
int plx_storage_path(struct plx_storage *s, const char *id, char **out, struct plx_err *err);
int plx_storage_exists(struct plx_storage *s, const char *id, bool *out, struct plx_err *err);

void plx_storage_snapshots_free(struct plx_storage_snapshot *v, size_t n);

/* runc's ID charset [A-Za-z0-9_+.-]+, not "." or "..", at most 200 bytes. */
int plx_storage_check_id(const char *id, struct plx_err *err);
/* [A-Za-z0-9_.-]+, not starting with '.', at most 200 bytes. */
int plx_storage_check_snapshot_name(const char *snap, struct plx_err *err);
