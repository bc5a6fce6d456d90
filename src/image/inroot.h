/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path resolution confined to a root directory (an image's rootfs).
 *
 * Everything that writes into or reads from an unpacked image goes through
 * here: names are resolved by the kernel with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) relative to an O_PATH descriptor of the root, so
 * ".." and absolute symlinks inside the tree stop at the root, exactly as
 * they would after a chroot.  No path string is ever handed to a syscall
 * that resolves it against "/", and the process never chdirs.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

/* Open root as the anchor of every other call: O_PATH | O_DIRECTORY. */
int plx_inroot_open_root(const char *path, struct plx_err *err);

/*
 * openat2(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
 * Returns the fd or -errno (no message: callers know what they opened).
 */
int plx_inroot_openat(int rootfd, const char *path, int flags, mode_t mode);

/*
 * A tar member name made canonical: "./a//b/" -> "a/b", "." or "./" -> ""
 * (the root itself).  Refuses absolute names and any ".." component
 * (-EINVAL) rather than cleaning them, because a layer that carries such a
 * name was made to attack the unpacker.  *out is heap-allocated.
 */
int plx_inroot_clean_name(const char *name, char **out);

/*
 * The directory that will hold clean name (as from plx_inroot_clean_name(),
 * not ""), opened O_PATH inside the root, and the last component in *base
 * (points into name).  With create, missing directories on the way are
 * made (mode 0755, as docker and umoci do for implied parents) and
 * reported to on_mkdir (may be NULL) with their clean names.  Returns the
 * fd or -errno.
 */
int plx_inroot_open_parent(int rootfd, const char *name, bool create, const char **base,
			   int (*on_mkdir)(void *data, const char *dir), void *data);
