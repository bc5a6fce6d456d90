/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "storage" section of the runtime config file:
 *   {"driver": "dir|btrfs|zfs", "zfs": {"parent": "POOL/DATASET"},
 *    "btrfs": {"path": DIR}, "dir": {"path": DIR}, "size": "8G"}
 * and the choice of a driver for one container: the annotation
 * org.proxmox-lxcri.storage, else the section's "driver", else none (the
 * bundle's rootfs is used as runc does).
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"

enum plx_storage_driver {
	PLX_STORAGE_NONE = 0,
	PLX_STORAGE_DIR,
	PLX_STORAGE_BTRFS,
	PLX_STORAGE_ZFS,
};

struct plx_storage_config {
	enum plx_storage_driver driver; /* the default; NONE when "driver" is absent */
	char *zfs_parent;               /* NULL when not configured */
	char *btrfs_path;
	char *dir_path;
	uint64_t size;                  /* "size": default size limit of a managed rootfs, 0 = none */
};

/*
 * Parse the section (NULL = no storage configured).  Unknown keys and wrong
 * types are errors naming the key, e.g. "storage.zfs.parent: expected string, got integer".
 */
int plx_storage_config_parse(const json_t *section, struct plx_storage_config *out, struct plx_err *err);
void plx_storage_config_clear(struct plx_storage_config *c);

/* "dir" -> PLX_STORAGE_DIR ...; -EINVAL for anything else. */
int plx_storage_driver_from_name(const char *name, enum plx_storage_driver *out);
const char *plx_storage_driver_name(enum plx_storage_driver d);

/*
 * The driver for a container whose OCI annotations object is annotations
 * (may be NULL).  An annotation naming a driver whose section is missing is
 * an error naming both.  *out is PLX_STORAGE_NONE when nothing is chosen.
 */
int plx_storage_pick(const struct plx_storage_config *c, const json_t *annotations,
		     enum plx_storage_driver *out, struct plx_err *err);

/*
 * A size: a positive integer of bytes with an optional binary unit K, M, G,
 * T (also KB/KiB...), e.g. "512M", "8G", "1073741824".  Errors name what.
 */
int plx_storage_parse_size(const char *s, const char *what, uint64_t *out, struct plx_err *err);

/* Open the driver d as configured (d must not be NONE). */
int plx_storage_open_configured(const struct plx_storage_config *c, enum plx_storage_driver d,
				struct plx_storage **out, struct plx_err *err);
