/* SPDX-License-Identifier: Apache-2.0 */
/* File-system helpers; all report failures through struct plx_err naming the path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Read a whole file (dirfd may be AT_FDCWD); *out is NUL-terminated. */
int plx_read_file_at(int dirfd, const char *path, char **out, size_t *len, struct plx_err *err);

/* Write a whole file atomically: <path>.tmp, fsync, rename, fsync(dir). */
int plx_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     struct plx_err *err);

/* Write a whole file (O_CREAT|O_TRUNC, no rename). */
int plx_write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
		      struct plx_err *err);

/* mkdir -p with mode for created components; existing dirs are fine. */
int plx_mkdir_p(const char *path, mode_t mode, struct plx_err *err);

/* rm -rf of dirfd/name without following symlinks; ENOENT is success. */
int plx_rm_rf_at(int dirfd, const char *name, struct plx_err *err);

/* Absolute, normalized form of path (relative to cwd); no symlink resolution. */
char *plx_path_abs(const char *path);

/* Join a and b with one '/'. */
char *plx_path_join(const char *a, const char *b);

/* Write "<pid>" to a pid file atomically as runc does. */
int plx_write_pid_file(const char *path, pid_t pid, struct plx_err *err);
