/* SPDX-License-Identifier: Apache-2.0 */
#include "mounts_finish.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* The flags of the mount at path that a read-only remount must repeat. */
static int kept_mount_flags(const char *path, unsigned long *out)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },	      { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return -errno;
	*out = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (sv.f_flag & map[i].st)
			*out |= map[i].ms;
	/* an atime flag in a remount resets the others to relatime unless strictatime is named */
	if ((*out & MS_NODIRATIME) && !(*out & (MS_NOATIME | MS_RELATIME)))
		*out |= MS_STRICTATIME;
	return 0;
}

static int remount_ro(const char *path)
{
	unsigned long flags = 0;

	int r = kept_mount_flags(path, &flags);
	if (r < 0)
		return r;
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL) < 0)
		return -errno;
	return 0;
}

int plx_mask_paths(char *const *paths, struct plx_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		const char *p = paths[i];
		struct stat st;

		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return plx_err_sys(err, errno, "linux.maskedPaths[%zu] %s: stat", i, p);
		}
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
					    : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0)
			return plx_err_sys(err, errno, "linux.maskedPaths[%zu] %s: mask with %s", i, p,
					   S_ISDIR(st.st_mode) ? "a read-only tmpfs" : "/dev/null");
	}
	return 0;
}

int plx_readonly_paths(char *const *paths, struct plx_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		const char *p = paths[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return plx_err_sys(err, errno, "linux.readonlyPaths[%zu] %s: bind-mount", i, p);
		}
		int r = remount_ro(p);
		if (r < 0)
			return plx_err_sys(err, -r, "linux.readonlyPaths[%zu] %s: remount read-only", i, p);
	}
	return 0;
}

int plx_root_readonly(struct plx_err *err)
{
	int r = remount_ro("/");
	if (r < 0)
		return plx_err_sys(err, -r, "root.readonly: remount / read-only");
	return 0;
}
