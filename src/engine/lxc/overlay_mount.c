/* SPDX-License-Identifier: Apache-2.0 */
#include "engine/lxc/overlay_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "util/cleanup.h"

/* The kernel's own words for a refused option or create (read from the fs context fd), for the error. */
static int fs_error(int fs, int code, const char *what, struct plx_err *err)
{
	char msg[512];
	ssize_t n = read(fs, msg, sizeof(msg) - 1);

	if (n > 0) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		return plx_err_set(err, code, "overlay: %s: %s (%s)", what, strerror(code), msg);
	}
	return plx_err_sys(err, code, "overlay: %s", what);
}

static int set_string(int fs, const char *key, const char *value, struct plx_err *err)
{
	if (fsconfig(fs, FSCONFIG_SET_STRING, key, value, 0) < 0) {
		__do_free char *what = NULL;

		if (asprintf(&what, "%s=%s", key, value) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		return fs_error(fs, errno, what, err);
	}
	return 0;
}

int plx_overlay_open(const struct plx_overlay *o, bool readonly, struct plx_err *err)
{
	__do_close int fs = -1;
	size_t n = 0;
	int ret, mfd;

	while (o->lowers && o->lowers[n])
		n++;
	if (n == 0 || (!o->upper && n < 2))
		return plx_err_set(err, EINVAL,
				   "overlay: %zu lower directories and no upper: overlayfs needs two", n);
	if (!o->upper != !o->work)
		return plx_err_set(err, EINVAL, "overlay: upper and work go together");
	fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return plx_err_sys(err, errno, "overlay: fsopen (is overlayfs available?)");
	for (size_t i = 0; i < n; i++) {
		ret = set_string(fs, "lowerdir+", o->lowers[i], err);
		if (ret < 0)
			return ret;
	}
	if (o->upper) {
		ret = set_string(fs, "upperdir", o->upper, err);
		if (ret == 0)
			ret = set_string(fs, "workdir", o->work, err);
		if (ret < 0)
			return ret;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_error(fs, errno, "create", err);
	mfd = fsmount(fs, FSMOUNT_CLOEXEC, readonly ? MOUNT_ATTR_RDONLY : 0);
	if (mfd < 0)
		return plx_err_sys(err, errno, "overlay: fsmount");
	return mfd;
}

int plx_overlay_mount_private(const struct plx_overlay *o, struct plx_err *err)
{
	__do_close int mfd = -1;

	if (!o->target)
		return plx_err_set(err, EINVAL, "overlay: no target");
	if (unshare(CLONE_NEWNS) < 0)
		return plx_err_sys(err, errno, "overlay: unshare the mount namespace");
	/* nothing mounted from here on may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return plx_err_sys(err, errno, "overlay: make the mounts private");
	mfd = plx_overlay_open(o, false, err);
	if (mfd < 0)
		return mfd;
	if (move_mount(mfd, "", AT_FDCWD, o->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return plx_err_sys(err, errno, "overlay: mount on %s", o->target);
	return 0;
}

int plx_overlay_monitor_mount(const struct plx_overlay *o, const char *lxc_log)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	int ret = plx_overlay_mount_private(o, &e);
	FILE *f;

	if (ret == 0)
		return 0;
	/* the shape plx_lxc_log_errors() quotes: "... ERROR ... - where - message" */
	f = lxc_log ? fopen(lxc_log, "ae") : NULL;
	if (f) {
		fprintf(f, "proxmox-lxcri ERROR overlay - overlay_mount.c - rootfs %s: %s\n", o->target,
			plx_err_msg(&e));
		fclose(f);
	}
	return ret;
}
