/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dir driver: volumes are plain directories, snapshots and clones are
 * copies made with `cp -a --reflink=auto` (ownership, modes, timestamps,
 * xattrs, ACLs and hard links preserved; reflinks where the filesystem has
 * them).  It works everywhere but costs time and space in proportion to the
 * data, and cannot limit a volume's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"
#include "storage/storage_exec.h"
#include "storage/storage_layout.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static int dir_check_base(const char *base, struct plx_err *err)
{
	return plx_layout_need_dir(base, "storage directory", err);
}

/* Remove a scratch tree; a failure here is logged, the caller's error matters more. */
static void drop_scratch(const char *path)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;

	if (plx_rm_rf_at(AT_FDCWD, path, &e) < 0)
		log_warn("storage: cannot remove scratch %s: %s", path, plx_err_msg(&e));
}

/*
 * Copy the tree src to the new path dst (in tmp/); on failure nothing is left at dst.
 * A plain copy cannot be made read-only, so readonly is not honoured.
 */
static int copy_tree(const char *src, const char *dst, bool readonly, struct plx_err *err)
{
	char *argv[] = { "cp", "-a", "--reflink=auto", "--", (char *)src, (char *)dst, NULL };
	int ret = plx_storage_run(argv, NULL, err);

	if (ret < 0)
		drop_scratch(dst);
	return ret;
}

/* The dir driver has no size limit: dir_create refuses one before this. */
static int make_volume(const char *path, uint64_t size_limit, struct plx_err *err)
{
	if (mkdir(path, 0755) < 0)
		return plx_err_sys(err, errno, "cannot create %s", path);
	return 0;
}

static void unmake_volume(const char *path)
{
	rmdir(path);
}

static int created_ns(const char *path, int64_t *out, struct plx_err *err)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME | STATX_CTIME, &stx) < 0)
		return plx_err_sys(err, errno, "cannot stat %s", path);
	/* The snapshot directory was born when the snapshot was taken; ctime where there is no btime. */
	if (stx.stx_mask & STATX_BTIME)
		*out = (int64_t)stx.stx_btime.tv_sec * 1000000000 + stx.stx_btime.tv_nsec;
	else
		*out = (int64_t)stx.stx_ctime.tv_sec * 1000000000 + stx.stx_ctime.tv_nsec;
	return 0;
}

static int64_t tree_size_at(int dfd)
{
	__do_closedir DIR *d = fdopendir(dfd);
	struct dirent *de;
	int64_t sum = 0;

	if (!d) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		sum += (int64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int64_t sub = fd < 0 ? -1 : tree_size_at(fd);

			if (sub < 0)
				return -1;
			sum += sub;
		}
	}
	return sum;
}

/* Disk usage of a copy (hard links counted once per link: an upper bound). */
static int64_t tree_size(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -1 : tree_size_at(fd);
}

static const struct plx_layout_snap_ops dir_snap_ops = { .created_ns = created_ns, .size = tree_size };

static const struct plx_layout_acts dir_acts = {
	.snap = &dir_snap_ops,
	.copy = copy_tree,
	.atomic = false,
	.drop = drop_scratch,
	.make = make_volume,
	.unmake = unmake_volume,
};

static int dir_create(struct plx_storage *s, const char *id, uint64_t size_limit, struct plx_err *err)
{
	if (size_limit)
		return plx_err_set(err, EOPNOTSUPP,
				   "storage driver dir cannot limit the size of %s; use zfs or btrfs for a size limit",
				   id);
	return plx_layout_create(s->base, id, 0, &dir_acts, err);
}

static int dir_clone_from(struct plx_storage *s, const char *src, const char *snap, const char *id,
			  struct plx_err *err)
{
	return plx_layout_clone_from(s->base, src, snap, id, &dir_acts, err);
}

static int dir_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	return plx_layout_snapshot_take(s->base, id, snap, &dir_acts, err);
}

static int dir_list_snapshots(struct plx_storage *s, const char *id, struct plx_storage_snapshot **out,
			      size_t *n, struct plx_err *err)
{
	return plx_layout_list(s->base, id, &dir_snap_ops, out, n, err);
}

static int dir_rollback(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	return plx_layout_rollback(s->base, id, snap, &dir_acts, err);
}

/* Rename path away into tmp/ and remove it there. */
static int remove_tree(const char *base, const char *path, struct plx_err *err)
{
	__do_free char *tmp = plx_layout_scratch(base);

	if (!tmp)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (rename(path, tmp) < 0)
		return errno == ENOENT ? 0 : plx_err_sys(err, errno, "cannot remove %s", path);
	return plx_rm_rf_at(AT_FDCWD, tmp, err);
}

static int dir_destroy_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	__do_free char *p = plx_layout_snapshot(s->base, id, snap);
	int ret;

	if (!p)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_need_dir(p, "snapshot", err);
	return ret < 0 ? ret : remove_tree(s->base, p, err);
}

static int dir_destroy(struct plx_storage *s, const char *id, struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(s->base, id);
	__do_free char *dir = plx_layout_snapdir(s->base, id);
	int ret;

	if (!vol || !dir)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_need_dir(vol, "volume", err);
	if (ret == 0)
		ret = remove_tree(s->base, dir, err);
	return ret < 0 ? ret : remove_tree(s->base, vol, err);
}

static int dir_exists(struct plx_storage *s, const char *id, bool *out, struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(s->base, id);

	if (!vol)
		return plx_err_set(err, ENOMEM, "out of memory");
	*out = plx_layout_is_dir(vol);
	return 0;
}

const struct plx_storage_ops plx_storage_dir_ops = {
	.name = "dir",
	.check_base = dir_check_base,
	.create = dir_create,
	.clone_from = dir_clone_from,
	.snapshot = dir_snapshot,
	.list_snapshots = dir_list_snapshots,
	.rollback = dir_rollback,
	.destroy_snapshot = dir_destroy_snapshot,
	.destroy = dir_destroy,
	.path = plx_layout_path,
	.exists = dir_exists,
};
