/* SPDX-License-Identifier: Apache-2.0 */
/* The state store's directories: IDs, the root, per-container dirs and their locks. */
#include "core/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

const char *plx_status_name(enum plx_status s)
{
	switch (s) {
	case PLX_STATUS_CREATING:
		return "creating";
	case PLX_STATUS_CREATED:
		return "created";
	case PLX_STATUS_RUNNING:
		return "running";
	case PLX_STATUS_PAUSED:
		return "paused";
	case PLX_STATUS_STOPPED:
		return "stopped";
	}
	return "unknown";
}

void plx_state_free(struct plx_state *st)
{
	if (!st)
		return;
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->config_path);
	free(st->created);
	free(st->owner);
	free(st->cgroup_path);
	json_decref(st->annotations);
	json_decref(st->engine);
	json_decref(st->storage);
	json_decref(st->pve);
	free(st);
}

static bool id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '+' || c == '-' || c == '.';
}

int plx_id_validate(const char *id, struct plx_err *err)
{
	size_t len;

	if (!id || !*id)
		return plx_err_set(err, EINVAL, "container id cannot be empty");
	len = strnlen(id, PLX_ID_MAX + 1);
	if (len > PLX_ID_MAX)
		return plx_err_set(err, EINVAL,
				   "invalid container id format: %.32s... (longer than %d bytes)", id,
				   PLX_ID_MAX);
	for (size_t i = 0; i < len; i++)
		if (!id_char_ok((unsigned char)id[i]))
			return plx_err_set(err, EINVAL, "invalid container id format: %s", id);
	/* "." and ".." would name the root or its parent */
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return plx_err_set(err, EINVAL, "invalid container id format: %s", id);
	return 0;
}

int plx_root_open(const char *root, int *rootfd, struct plx_err *err)
{
	__do_close int fd = -1;
	int ret;

	ret = plx_mkdir_p(root, 0700, err);
	if (ret < 0)
		return plx_err_prefix(err, "state root %s", root);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return plx_err_sys(err, errno, "open state root %s", root);
	/* Fail here, naming the root, rather than later on some file inside it. */
	if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		return plx_err_sys(err, errno, "state root %s is not writable", root);
	*rootfd = steal_fd(fd);
	return 0;
}

static int flock_retry(int fd)
{
	int ret;

	do
		ret = flock(fd, LOCK_EX);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

/*
 * Lock the container directory opened as dirfd.  A delete that held the
 * lock before us may have removed the directory (and a create may have
 * made a new one with that name): only the directory still at <id> with
 * the inode we locked is the container.
 */
static int lock_dir(int rootfd, const char *id, int dirfd, int *lockfd, struct plx_err *err)
{
	__do_close int lfd = -1;
	struct stat locked, now;
	int ret;

	/* A separate open file description: closing lockfd releases the lock
	 * whatever happens to dirfd. */
	lfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return plx_err_sys(err, errno, "open container directory %s", id);
	ret = flock_retry(lfd);
	if (ret < 0)
		return plx_err_sys(err, -ret, "lock container %s", id);
	if (fstat(lfd, &locked) < 0)
		return plx_err_sys(err, errno, "stat container directory %s", id);
	if (fstatat(rootfd, id, &now, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return plx_err_set(err, ENOENT, "container does not exist: %s", id);
		return plx_err_sys(err, errno, "stat container directory %s", id);
	}
	if (now.st_dev != locked.st_dev || now.st_ino != locked.st_ino || locked.st_nlink == 0)
		return plx_err_set(err, ENOENT, "container does not exist: %s", id);
	*lockfd = steal_fd(lfd);
	return 0;
}

int plx_state_dir_create(int rootfd, const char *id, int *dirfd, int *lockfd, struct plx_err *err)
{
	__do_close int fd = -1;
	int ret;

	ret = plx_id_validate(id, err);
	if (ret < 0)
		return ret;
	if (mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return plx_err_set(err, EEXIST, "container with id exists: %s", id);
		return plx_err_sys(err, errno, "create container directory %s", id);
	}
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return plx_err_sys(err, errno, "open container directory %s", id);
	ret = lock_dir(rootfd, id, fd, lockfd, err);
	if (ret < 0)
		return ret;
	*dirfd = steal_fd(fd);
	return 0;
}

int plx_state_dir_open(int rootfd, const char *id, int *dirfd, int *lockfd, struct plx_err *err)
{
	__do_close int fd = -1;
	int ret;

	ret = plx_id_validate(id, err);
	if (ret < 0)
		return ret;
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* a file or symlink at <id> is not one of our containers */
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return plx_err_set(err, ENOENT, "container does not exist: %s", id);
		return plx_err_sys(err, errno, "open container directory %s", id);
	}
	ret = lock_dir(rootfd, id, fd, lockfd, err);
	if (ret < 0)
		return ret;
	*dirfd = steal_fd(fd);
	return 0;
}

int plx_state_dir_remove(int rootfd, const char *id, struct plx_err *err)
{
	int ret;

	ret = plx_id_validate(id, err);
	if (ret < 0)
		return ret;
	ret = plx_rm_rf_at(rootfd, id, err);
	if (ret < 0)
		return plx_err_prefix(err, "delete container %s", id);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int plx_state_list_ids(int rootfd, char ***ids, struct plx_err *err)
{
	__do_closedir DIR *dir = NULL;
	__do_strv_free char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd;

	fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return plx_err_sys(err, errno, "open state root");
	dir = fdopendir(fd);
	if (!dir) {
		int e = errno;
		close(fd);
		return plx_err_sys(err, e, "open state root");
	}

	for (;;) {
		struct stat st;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				return plx_err_sys(err, errno, "read state root");
			break;
		}
		if (plx_id_validate(de->d_name, NULL) < 0)
			continue;
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_UNKNOWN)
				continue;
			if (fstatat(rootfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
				continue;
		}
		if (n + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));

			if (!nv)
				return plx_err_set(err, ENOMEM, "list containers: out of memory");
			v = nv;
			cap = ncap;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			return plx_err_set(err, ENOMEM, "list containers: out of memory");
		v[++n] = NULL;
	}
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return plx_err_set(err, ENOMEM, "list containers: out of memory");
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*ids = steal_ptr(v);
	return 0;
}
