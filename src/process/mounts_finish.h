/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mount work LXC cannot express, done by the init inside the
 * container's mount namespace after pivot_root, as runc does it.
 */
#pragma once

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
