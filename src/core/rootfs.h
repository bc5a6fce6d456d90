/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's managed root filesystem: a volume on a storage driver
 * (src/storage/), made by create when a driver is chosen (config
 * "storage.driver" or the annotation org.proxmox-lxcri.storage) and
 * destroyed by delete.  Without a driver the bundle's rootfs is used as
 * runc does and none of this applies.
 *
 * The volume is recorded in the container's state as a JSON object
 * (struct plx_state.storage, "storage" in state.json):
 *   {"driver": "zfs|btrfs|dir", "base": "<pool/dataset or dir>",
 *    "volume": "<volume name>", "path": "<where it is mounted>",
 *    "source": "<how it was made: clone of ... | copy of ...>"}
 * Every later command (checkpoint, restore, delete) opens the storage from
 * this record, never from the current config file, so a config change
 * cannot orphan a volume.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "core/config.h"
#include "engine/lxc/overlay_mount.h"
#include "storage/storage.h"
#include "storage/storage_config.h"
#include "util/error.h"

/* Size limit of the managed rootfs, e.g. "8G"; overrides config "storage.size". */
#define PLX_ROOTFS_SIZE_ANNOTATION "org.proxmox-lxcri.storage.size"

/*
 * For create: when the config and annotations choose a driver, make the
 * volume named id, filled from bundle_rootfs (an O(1) clone when
 * bundle_rootfs is itself a volume or snapshot on the same storage, else a
 * new volume with the size limit and a copy), and return where it is
 * mounted (*path) and its record (*record).  When no driver is chosen,
 * returns 0 with *record and *path NULL.  Nothing is left on failure.
 */
int plx_rootfs_prepare(const struct plx_config *cfg, const char *id, const json_t *annotations,
		       const char *bundle_rootfs, char **path, json_t **record, struct plx_err *err);

/*
 * prepare in two steps, so that create can record the volume in the
 * container's state before making it (a create killed while making it
 * leaves a record that delete --force releases).
 *
 * plan: choose the driver and size limit, check the storage and that no
 * volume id exists, and decide how to fill it (clone or copy); nothing is
 * made.  *record is NULL when no driver is chosen; otherwise it holds
 * driver, base, volume, source, "size" (bytes, when limited) and "origin"
 * ({"volume","snapshot"}: the zfs snapshot of the source a clone depends
 * on, made by make and destroyed by release), plus working keys for make.
 */
int plx_rootfs_plan(const struct plx_config *cfg, const char *id, const json_t *annotations,
		    const char *bundle_rootfs, json_t **record, struct plx_err *err);
/* An explicit volume (name and base chosen by the caller, e.g. PVE's subvol-<vmid>-disk-0 on a zfspool). */
struct plx_rootfs_target {
	enum plx_storage_driver driver;
	const char *base;   /* zfs: the parent dataset; btrfs/dir: the directory */
	const char *volume; /* the volume's name */
	uint64_t size;      /* bytes, 0 = no limit */
};
/* plan for a target instead of the configured driver and the container ID; same record. */
int plx_rootfs_plan_volume(const struct plx_rootfs_target *t, const char *bundle_rootfs, json_t **record,
			   struct plx_err *err);
/* The size limit create gives a volume: the annotation, else the config's storage.size, else 0. */
int plx_rootfs_size_limit(const struct plx_config *cfg, const json_t *annotations, uint64_t *out,
			  struct plx_err *err);
/* make: the volume a plan describes; adds "path" and drops the working keys.  Nothing is left on failure. */
int plx_rootfs_make(json_t *record, struct plx_err *err);

/*
 * For restore --as: a new volume new_id cloned from snapshot snap of the
 * volume in src_record (O(1) on zfs and btrfs); its record and path.
 */
int plx_rootfs_clone_snapshot(const json_t *src_record, const char *snap, const char *new_id, char **path,
			      json_t **record, struct plx_err *err);

/* Open the storage a record names; *volume points into record. */
int plx_rootfs_open(const json_t *record, struct plx_storage **s, const char **volume, struct plx_err *err);

/*
 * For delete (and create's rollback): destroy the volume and its snapshots.
 * A volume already gone is not an error (delete is idempotent).  On zfs a
 * snapshot that another container was cloned from is handed to that clone
 * (zfs promote) so the delete never fails because of a restore --as.
 */
int plx_rootfs_release(const json_t *record, struct plx_err *err);

/* "8G", "512M", "1073741824" -> bytes; errors name what. */
int plx_rootfs_parse_size(const char *s, const char *what, uint64_t *out, struct plx_err *err);

/*
 * overlay hook: image layers on the dir driver (image/layer_store.h).  A
 * bundle whose annotation PLX_ROOTFS_LAYER_ANNOTATION names its top layer
 * directory ("layer-<hex>") gets on the dir storage a volume holding only
 * upper/ and work/ (plus the file "layers": the layer names it uses, so
 * image collection keeps them), and its record adds
 *   "layers": ["<base>/layers/layer-<hex>/diff", ...]   (top first)
 * The liblxc monitor mounts the overlay in a mount namespace of its own
 * (engine/lxc/overlay_mount.h) at <state dir>/rootfs, the rootfs that
 * state.json shows: on the host that is an empty directory.  Checkpoints
 * snapshot the volume (upper/) and restore --as clones it, same layers.
 */
#define PLX_ROOTFS_LAYER_ANNOTATION "org.proxmox-lxcri.rootfs.layer"

struct plx_rootfs_overlay {
	char **lowers;
	char *upper;
	char *work;
	char *target;
	struct plx_overlay mount; /* the above, for plx_lxc_spawn */
};

/*
 * For create: when record is an overlay, fill o (target <statedir>/rootfs,
 * made here) and replace *rootfs with the target; otherwise o->lowers stays
 * NULL and *rootfs as it is.
 */
int plx_rootfs_overlay_get(const json_t *record, const char *statedir, struct plx_rootfs_overlay *o,
			   char **rootfs, struct plx_err *err);
void plx_rootfs_overlay_clear(struct plx_rootfs_overlay *o);
