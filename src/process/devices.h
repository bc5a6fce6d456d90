/* SPDX-License-Identifier: Apache-2.0 */
/* linux.devices and the /dev symlinks runc makes, inside the container's root. */
#pragma once

#include <stddef.h>

#include "oci/spec.h"
#include "util/error.h"

/*
 * mknod each device under root ("/" inside the container) with its type,
 * major/minor, fileMode (default 0666, umask ignored) and uid/gid (default
 * 0); parent directories are created 0755 and an existing node at the path
 * is replaced.  Errors name "linux.devices[i] <path>".
 */
int plx_devices_create(const char *root, const struct oci_device *v, size_t n, struct plx_err *err);

/*
 * /dev/fd -> /proc/self/fd, /dev/stdin|stdout|stderr -> /proc/self/fd/0|1|2,
 * /dev/ptmx -> pts/ptmx and /dev/core -> /proc/kcore (when /proc/kcore
 * exists); each only when the name is free.
 */
int plx_dev_symlinks(const char *root, struct plx_err *err);
