/* SPDX-License-Identifier: Apache-2.0 */
#include "devices.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* root + path, without doubling the '/' of root "/" */
static char *under_root(const char *root, const char *path)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s", strcmp(root, "/") == 0 ? "" : root, path) < 0)
		return NULL;
	return s;
}

/* Make room for the node: remove whatever non-directory is at path. */
static int remove_existing(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (unlink(path) == 0)
		return 0;
	if (errno != EBUSY)
		return -errno;
	/* something (LXC's default devices) is bind-mounted there */
	if (umount2(path, MNT_DETACH) < 0 || unlink(path) < 0)
		return -errno;
	return 0;
}

static int create_device(const char *root, const struct oci_device *d, size_t i, struct plx_err *err)
{
	mode_t type;

	switch (d->type) {
	case 'c':
	case 'u':
		type = S_IFCHR;
		break;
	case 'b':
		type = S_IFBLK;
		break;
	case 'p':
		type = S_IFIFO;
		break;
	default:
		return plx_err_set(err, EINVAL, "linux.devices[%zu] %s: unknown type '%c'", i, d->path,
				   d->type);
	}
	mode_t perm = (d->has_file_mode ? d->file_mode : 0666) & 07777;

	__do_free char *path = under_root(root, d->path);
	__do_free char *dir = path ? strdup(path) : NULL;
	if (!dir)
		return plx_err_set(err, ENOMEM, "linux.devices[%zu] %s", i, d->path);
	int r = plx_mkdir_p(dirname(dir), 0755, err);
	if (r < 0)
		return plx_err_prefix(err, "linux.devices[%zu] %s", i, d->path);
	r = remove_existing(path);
	if (r < 0)
		return plx_err_sys(err, -r, "linux.devices[%zu] %s: remove the existing node", i, d->path);
	dev_t dev = type == S_IFIFO ? 0 : makedev((unsigned int)d->major, (unsigned int)d->minor);
	if (mknod(path, type | perm, dev) < 0)
		return plx_err_sys(err, errno, "linux.devices[%zu] %s: mknod", i, d->path);
	/* mknod honours the umask; the spec's fileMode is exact */
	if (chmod(path, perm) < 0)
		return plx_err_sys(err, errno, "linux.devices[%zu] %s: chmod", i, d->path);
	if (chown(path, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0) < 0)
		return plx_err_sys(err, errno, "linux.devices[%zu] %s: chown", i, d->path);
	return 0;
}

int plx_devices_create(const char *root, const struct oci_device *v, size_t n, struct plx_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = create_device(root, &v[i], i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int plx_dev_symlinks(const char *root, struct plx_err *err)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },	      { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },	      { "/proc/kcore", "/dev/core" },
	};
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		const char *target = links[i][0], *name = links[i][1];

		if (strcmp(name, "/dev/core") == 0) {
			/* kcore depends on CONFIG_PROC_KCORE */
			__do_free char *kcore = under_root(root, target);
			if (!kcore)
				return plx_err_set(err, ENOMEM, "%s", name);
			if (stat(kcore, &st) < 0)
				continue;
		}
		__do_free char *path = under_root(root, name);
		if (!path)
			return plx_err_set(err, ENOMEM, "%s", name);
		if (symlink(target, path) < 0 && errno != EEXIST)
			return plx_err_sys(err, errno, "symlink %s -> %s", name, target);
	}
	return 0;
}
