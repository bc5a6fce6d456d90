/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overlayfs through the new mount API (fsopen/fsconfig/fsmount), for image
 * layers kept as directories on the dir storage driver (image/layer_store.h).
 *
 * Nothing here ever attaches a mount to the host's mount namespace:
 *  - plx_overlay_open() gives a detached mount (an fd): it is gone when the
 *    fd is closed, whatever kills the process;
 *  - plx_overlay_mount_private() runs in the liblxc monitor (forked by
 *    create, lxc_engine.c) right before liblxc's start: the monitor takes a
 *    mount namespace of its own (all mounts private) and mounts the overlay
 *    there.  The container's mount namespace is cloned from the monitor's,
 *    so the overlay exists in the container only and goes with it.  On the
 *    host the target stays an empty directory.
 *
 * Each lower directory is passed with its own "lowerdir+" (kernel >= 6.8),
 * so neither the page-size limit of the option string nor ':' or ',' in a
 * path matter.
 */
#pragma once

#include <stdbool.h>

#include "util/error.h"

struct plx_overlay {
	char *const *lowers; /* NULL-terminated, top first, absolute */
	const char *upper;   /* NULL: read-only (overlayfs then needs at least two lowers) */
	const char *work;    /* with upper: an empty directory on upper's file system */
	const char *target;  /* plx_overlay_mount_private(): the directory to mount on */
};

/* A detached overlay mount: an O_PATH-like fd of its root (openat(2) and RESOLVE_IN_ROOT work on it). */
int plx_overlay_open(const struct plx_overlay *o, bool readonly, struct plx_err *err);

/*
 * In the calling process only: unshare(CLONE_NEWNS), make every mount
 * private (MS_REC), and mount o at o->target.
 */
int plx_overlay_mount_private(const struct plx_overlay *o, struct plx_err *err);

/*
 * The monitor's call (it cannot print: its stderr is the container's):
 * plx_overlay_mount_private(), a failure appended to liblxc's log file as
 * an ERROR line, which create's error message then quotes.
 */
int plx_overlay_monitor_mount(const struct plx_overlay *o, const char *lxc_log);
