/* SPDX-License-Identifier: Apache-2.0 */
#include "image/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

/* openat2 reports EAGAIN when a rename raced the lookup; a few retries suffice. */
#define INROOT_RETRIES 16

int plx_inroot_open_root(const char *path, struct plx_err *err)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return plx_err_sys(err, errno, "open root %s", path);
	return fd;
}

int plx_inroot_openat(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	for (int i = 0; i < INROOT_RETRIES; i++) {
		int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));

		if (fd >= 0)
			return fd;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

int plx_inroot_clean_name(const char *name, char **out)
{
	__do_free char *clean = NULL;
	const char *p = name;
	size_t n = 0;

	if (!name || name[0] == '/')
		return -EINVAL;
	clean = malloc(strlen(name) + 1);
	if (!clean)
		return -ENOMEM;
	while (*p) {
		const char *seg;
		size_t len;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return -EINVAL;
		if (n)
			clean[n++] = '/';
		memcpy(clean + n, seg, len);
		n += len;
	}
	clean[n] = '\0';
	*out = steal_ptr(clean);
	return 0;
}

static int open_dir(int rootfd, const char *dir, bool create, int (*on_mkdir)(void *, const char *),
		    void *data)
{
	__do_free char *parent = NULL;
	__do_close int pfd = -1;
	const char *slash, *base;
	int fd, ret;

	fd = plx_inroot_openat(rootfd, dir, O_PATH | O_DIRECTORY, 0);
	if (fd != -ENOENT || !create || !*dir)
		return fd;

	slash = strrchr(dir, '/');
	parent = slash ? strndup(dir, (size_t)(slash - dir)) : strdup("");
	if (!parent)
		return -ENOMEM;
	base = slash ? slash + 1 : dir;
	pfd = open_dir(rootfd, parent, create, on_mkdir, data);
	if (pfd < 0)
		return pfd;
	/* mkdirat never follows a symlink in its last component. */
	if (mkdirat(pfd, base, 0755) == 0) {
		if (on_mkdir) {
			ret = on_mkdir(data, dir);
			if (ret < 0)
				return ret;
		}
	} else if (errno != EEXIST) {
		return -errno;
	}
	/* Resolve the whole name again inside the root: base may be a symlink. */
	return plx_inroot_openat(rootfd, dir, O_PATH | O_DIRECTORY, 0);
}

int plx_inroot_open_parent(int rootfd, const char *name, bool create, const char **base,
			   int (*on_mkdir)(void *data, const char *dir), void *data)
{
	__do_free char *dir = NULL;
	const char *slash = strrchr(name, '/');

	if (!*name)
		return -EINVAL;
	if (!slash) {
		*base = name;
		return plx_inroot_openat(rootfd, "", O_PATH | O_DIRECTORY, 0);
	}
	dir = strndup(name, (size_t)(slash - name));
	if (!dir)
		return -ENOMEM;
	*base = slash + 1;
	return open_dir(rootfd, dir, create, on_mkdir, data);
}
