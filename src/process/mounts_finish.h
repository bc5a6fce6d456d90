/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mount work LXC cannot express, done by the init inside the
 * container's mount namespace after pivot_root, as runc does it.
 */
#pragma once

#include <stddef.h>

#include "oci/spec.h"
#include "util/error.h"

/*
 * linux.maskedPaths: a directory gets a read-only tmpfs, anything else
 * /dev/null bind-mounted over it; missing paths are skipped.
 */
int plx_mask_paths(char *const *paths, struct plx_err *err);

/*
 * linux.readonlyPaths: bind each path onto itself and remount it
 * read-only, keeping its nosuid/nodev/noexec and atime flags (a user
 * namespace forbids dropping them); missing paths are skipped.
 */
int plx_readonly_paths(char *const *paths, struct plx_err *err);

/* root.readonly: remount "/" read-only keeping its other flags. */
int plx_root_readonly(struct plx_err *err);

/* MS_* flags of the flag options of a mount ("ro", "nosuid", ...); others are ignored. */
unsigned long plx_mount_flags(char *const *options);

/* MS_* propagation flags of the propagation options of a mount ("rslave", ...); 0 when none. */
unsigned long plx_mount_propagation(char *const *options);

/*
 * Bind mounts (type "bind" or option bind/rbind) with flag options get
 * them by a remount of the destination, as runc does: liblxc remounts a
 * bind mount only for "ro".  The flags a user namespace locks on the
 * source (nosuid, nodev, noexec, ro, atime) are kept when the kernel
 * insists (EPERM).
 */
int plx_bind_mount_flags(const struct oci_mount *v, size_t n, struct plx_err *err);

/*
 * linux.rootfsPropagation on "/" (rslave when absent, runc's default:
 * liblxc leaves the tree shared in a peer group of its own), then each
 * mount's own propagation option again, as runc sets it after the root's.
 */
int plx_mount_propagation_apply(const char *root_propagation, const struct oci_mount *v, size_t n,
				struct plx_err *err);

/*
 * The devpts mount at /dev/pts takes the config's options (mode, gid,
 * ptmxmode, flags) by a remount: liblxc mounts it itself with the OCI
 * defaults and ignores the entry.
 */
int plx_devpts_options(const struct oci_mount *v, size_t n, struct plx_err *err);
