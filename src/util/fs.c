/* SPDX-License-Identifier: Apache-2.0 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

/* How the path relative to dirfd is shown in messages. */
static const char *shown(const char *path)
{
	return path && *path ? path : ".";
}

int plx_read_file_at(int dirfd, const char *path, char **out, size_t *len, struct plx_err *err)
{
	__do_close int fd = -1;
	__do_free char *buf = NULL;
	size_t cap = 0, n = 0;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return plx_err_sys(err, errno, "open %s", shown(path));

	/* Files in /proc report size 0: read until EOF rather than trusting st_size. */
	for (;;) {
		if (cap - n < 4096 + 1) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nbuf = realloc(buf, ncap);

			if (!nbuf)
				return plx_err_set(err, ENOMEM, "read %s: out of memory", shown(path));
			buf = nbuf;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return plx_err_sys(err, errno, "read %s", shown(path));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = steal_ptr(buf);
	if (len)
		*len = n;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int plx_write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
		      struct plx_err *err)
{
	int fd, ret;

	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return plx_err_sys(err, errno, "open %s", shown(path));
	ret = write_all(fd, buf, len);
	if (ret < 0) {
		close(fd);
		return plx_err_sys(err, -ret, "write %s", shown(path));
	}
	/* close() reports deferred write errors (NFS, quota): don't lose them */
	if (close(fd) < 0)
		return plx_err_sys(err, errno, "close %s", shown(path));
	return 0;
}

/* Open the directory that contains dirfd/path, for fsync after a rename. */
static int open_parent_dir(int dirfd, const char *path)
{
	const char *slash = strrchr(path, '/');
	__do_free char *dir = NULL;

	if (!slash)
		return openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (slash == path)
		return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = strndup(path, (size_t)(slash - path));
	if (!dir) {
		errno = ENOMEM;
		return -1;
	}
	return openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Create tmp (never through a planted symlink), write buf, fsync, close. */
static int write_tmp_file(int dirfd, const char *tmp, const void *buf, size_t len, mode_t mode,
			  struct plx_err *err)
{
	__do_close int fd = -1;
	int ret;

	/* A stale tmp file is left by a writer that died; O_EXCL after the
	 * unlink guarantees the file we write is the one we created. */
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
		return plx_err_sys(err, errno, "remove stale %s", tmp);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, mode);
	if (fd < 0)
		return plx_err_sys(err, errno, "create %s", tmp);
	ret = write_all(fd, buf, len);
	if (ret < 0)
		return plx_err_sys(err, -ret, "write %s", tmp);
	if (fsync(fd) < 0)
		return plx_err_sys(err, errno, "fsync %s", tmp);
	if (close(steal_fd(fd)) < 0)
		return plx_err_sys(err, errno, "close %s", tmp);
	return 0;
}

int plx_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     struct plx_err *err)
{
	__do_free char *tmp = NULL;
	__do_close int pfd = -1;
	int ret;

	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		return plx_err_set(err, ENOMEM, "write %s: out of memory", path);
	}
	ret = write_tmp_file(dirfd, tmp, buf, len, mode, err);
	if (ret == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		ret = plx_err_sys(err, errno, "rename %s to %s", tmp, path);
	if (ret < 0) {
		unlinkat(dirfd, tmp, 0);
		return ret;
	}

	/* Make the rename itself durable. */
	pfd = open_parent_dir(dirfd, path);
	if (pfd < 0)
		return plx_err_sys(err, errno, "open directory of %s", path);
	if (fsync(pfd) < 0 && errno != EINVAL)
		return plx_err_sys(err, errno, "fsync directory of %s", path);
	return 0;
}

int plx_mkdir_p(const char *path, mode_t mode, struct plx_err *err)
{
	__do_free char *copy = NULL;
	char *p;

	if (!path || !*path)
		return plx_err_set(err, EINVAL, "mkdir: empty path");
	copy = strdup(path);
	if (!copy)
		return plx_err_set(err, ENOMEM, "mkdir %s: out of memory", path);

	p = copy;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		while (*p && *p != '/')
			p++;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) < 0) {
			struct stat st;
			int e = errno;

			/* EEXIST may also be a file; other errors (EACCES on an
			 * existing ancestor, EROFS) are fine if it is a directory. */
			if (stat(copy, &st) < 0)
				return plx_err_sys(err, e, "mkdir %s", copy);
			if (!S_ISDIR(st.st_mode))
				return plx_err_sys(err, ENOTDIR, "mkdir %s", copy);
		}
		*p = saved;
	}
	return 0;
}

/*
 * True when child (a directory inside parent) is the root of another
 * mount.  st_dev catches other file systems; the mount id and the
 * MOUNT_ROOT attribute also catch bind mounts of the same file system.
 */
static bool crosses_mount(const struct statx *parent, const struct statx *child)
{
	if (parent->stx_dev_major != child->stx_dev_major || parent->stx_dev_minor != child->stx_dev_minor)
		return true;
	if ((parent->stx_mask & STATX_MNT_ID) && (child->stx_mask & STATX_MNT_ID) &&
	    parent->stx_mnt_id != child->stx_mnt_id)
		return true;
	if ((child->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (child->stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return true;
	return false;
}

static int statx_nofollow(int dirfd, const char *name, struct statx *stx)
{
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (*name ? 0 : AT_EMPTY_PATH);

	return statx(dirfd, name, flags, STATX_TYPE | STATX_INO | STATX_MNT_ID, stx);
}

/* Remove everything inside the open directory fd; shown is its name for messages. */
static int rm_contents(int fd, const struct statx *self, const char *shown_path, struct plx_err *err)
{
	__do_closedir DIR *dir = NULL;
	int dfd;
	struct dirent *de;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return plx_err_sys(err, errno, "open %s", shown_path);
	dir = fdopendir(dfd);
	if (!dir) {
		int e = errno;
		close(dfd);
		return plx_err_sys(err, e, "open %s", shown_path);
	}

	for (;;) {
		__do_free char *child_path = NULL;
		__do_close int cfd = -1;
		struct statx cst;
		int ret;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				return plx_err_sys(err, errno, "read directory %s", shown_path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&child_path, "%s/%s", shown_path, de->d_name) < 0) {
			child_path = NULL;
			return plx_err_set(err, ENOMEM, "remove %s: out of memory", shown_path);
		}
		if (statx_nofollow(fd, de->d_name, &cst) < 0) {
			if (errno == ENOENT)
				continue;
			return plx_err_sys(err, errno, "stat %s", child_path);
		}
		if (!S_ISDIR(cst.stx_mode)) {
			if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT)
				return plx_err_sys(err, errno, "remove %s", child_path);
			continue;
		}
		if (crosses_mount(self, &cst))
			return plx_err_set(err, EBUSY,
					   "refusing to remove %s: a file system is mounted there",
					   child_path);
		/* O_NOFOLLOW: a directory swapped for a symlink since the statx is not followed. */
		cfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			if (errno == ENOENT)
				continue;
			return plx_err_sys(err, errno, "open %s", child_path);
		}
		ret = statx_nofollow(cfd, "", &cst);
		if (ret < 0)
			return plx_err_sys(err, errno, "stat %s", child_path);
		if (crosses_mount(self, &cst))
			return plx_err_set(err, EBUSY,
					   "refusing to remove %s: a file system is mounted there",
					   child_path);
		ret = rm_contents(cfd, &cst, child_path, err);
		if (ret < 0)
			return ret;
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return plx_err_sys(err, errno, "remove %s", child_path);
	}
	return 0;
}

int plx_rm_rf_at(int dirfd, const char *name, struct plx_err *err)
{
	__do_close int fd = -1;
	__do_close int pfd = -1;
	struct statx pst, st;
	int ret;

	if (!name || !*name)
		return plx_err_set(err, EINVAL, "remove: empty path");
	if (statx_nofollow(dirfd, name, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return plx_err_sys(err, errno, "stat %s", name);
	}
	if (!S_ISDIR(st.stx_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return plx_err_sys(err, errno, "remove %s", name);
		return 0;
	}

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return plx_err_sys(err, errno, "open %s", name);
	}
	if (statx_nofollow(fd, "", &st) < 0)
		return plx_err_sys(err, errno, "stat %s", name);
	/* The top directory itself must not be a mount point either. */
	pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return plx_err_sys(err, errno, "open parent of %s", name);
	if (statx_nofollow(pfd, "", &pst) < 0)
		return plx_err_sys(err, errno, "stat parent of %s", name);
	if (crosses_mount(&pst, &st))
		return plx_err_set(err, EBUSY, "refusing to remove %s: a file system is mounted there", name);

	ret = rm_contents(fd, &st, name, err);
	if (ret < 0)
		return ret;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return plx_err_sys(err, errno, "remove %s", name);
	return 0;
}

char *plx_path_abs(const char *path)
{
	__do_free char *cwd = NULL;
	__do_free char *src = NULL;
	char *out, *o, *p;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	if (path[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
		if (asprintf(&src, "%s/%s", cwd, path) < 0) {
			src = NULL;
			errno = ENOMEM;
			return NULL;
		}
	} else {
		src = strdup(path);
		if (!src)
			return NULL;
	}

	/* The result is never longer than src (+1 for a lone "/"). */
	out = malloc(strlen(src) + 2);
	if (!out)
		return NULL;
	o = out;
	p = src;
	while (*p) {
		char *seg;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			/* ".." of "/" is "/" */
			while (o > out && *--o != '/')
				;
			continue;
		}
		*o++ = '/';
		memcpy(o, seg, n);
		o += n;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

char *plx_path_join(const char *a, const char *b)
{
	char *out = NULL;
	size_t alen;

	if (!a || !*a)
		return strdup(b ? b : "");
	if (!b)
		b = "";
	alen = strlen(a);
	while (alen > 1 && a[alen - 1] == '/')
		alen--;
	while (*b == '/')
		b++;
	if (!*b)
		return strndup(a, alen);
	if (alen == 1 && a[0] == '/')
		alen = 0;
	if (asprintf(&out, "%.*s/%s", (int)alen, a, b) < 0)
		return NULL;
	return out;
}

int plx_write_pid_file(const char *path, pid_t pid, struct plx_err *err)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	/* runc creates the pid file 0666 & ~umask, and without a newline */
	return plx_write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0666, err);
}
