/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The btrfs driver, through ioctls: volumes are subvolumes, snapshots are
 * read-only snapshots, clones and rollbacks writable snapshots, all O(1).
 * A size limit is a qgroup limit on the volume's own qgroup (quotas must
 * be enabled: `btrfs quota enable PATH`).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "storage/storage.h"
#include "storage/storage_layout.h"
#include "util/cleanup.h"
#include "util/log.h"

#define BTRFS_SUBVOL_INO 256 /* the root inode of every subvolume */

static int open_dir(const char *path, struct plx_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return plx_err_sys(err, errno, "cannot open %s", path);
	return fd;
}

static bool is_subvolume(const char *path)
{
	struct statfs sfs;
	struct stat st;

	return statfs(path, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC && lstat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode) && st.st_ino == BTRFS_SUBVOL_INO;
}

static int btrfs_check_base(const char *base, struct plx_err *err)
{
	struct statfs sfs;
	int ret = plx_layout_need_dir(base, "btrfs storage directory", err);

	if (ret < 0)
		return ret;
	if (statfs(base, &sfs) < 0)
		return plx_err_sys(err, errno, "cannot statfs %s", base);
	if (sfs.f_type != BTRFS_SUPER_MAGIC)
		return plx_err_set(err, EINVAL, "%s is not on a btrfs filesystem", base);
	return 0;
}

/* Split path into its parent directory (opened) and last component. */
static int open_parent(const char *path, char **name, struct plx_err *err)
{
	__do_free char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;

	if (!slash)
		return plx_err_set(err, ENOMEM, "out of memory");
	*slash = '\0';
	*name = slash + 1;
	*name = strdup(*name);
	if (!*name)
		return plx_err_set(err, ENOMEM, "out of memory");
	return open_dir(dir[0] ? dir : "/", err);
}

static int subvol_create(const char *path, struct plx_err *err)
{
	struct btrfs_ioctl_vol_args args = { 0 };
	__do_free char *name = NULL;
	__do_close int dfd = open_parent(path, &name, err);

	if (dfd < 0)
		return dfd;
	strncpy(args.name, name, BTRFS_PATH_NAME_MAX);
	if (ioctl(dfd, BTRFS_IOC_SUBVOL_CREATE, &args) < 0)
		return plx_err_sys(err, errno, "cannot create btrfs subvolume %s", path);
	return 0;
}

/* A snapshot of the subvolume src at the new path dst. */
static int subvol_snapshot(const char *src, const char *dst, bool readonly, struct plx_err *err)
{
	struct btrfs_ioctl_vol_args_v2 args = { 0 };
	__do_free char *name = NULL;
	__do_close int sfd = open_dir(src, err);
	__do_close int dfd = -1;

	if (sfd < 0)
		return sfd;
	dfd = open_parent(dst, &name, err);
	if (dfd < 0)
		return dfd;
	args.fd = sfd;
	args.flags = readonly ? BTRFS_SUBVOL_RDONLY : 0;
	strncpy(args.name, name, BTRFS_SUBVOL_NAME_MAX);
	if (ioctl(dfd, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0)
		return plx_err_sys(err, errno, "cannot snapshot btrfs subvolume %s to %s", src, dst);
	return 0;
}

static int subvol_delete(const char *path, struct plx_err *err)
{
	struct btrfs_ioctl_vol_args args = { 0 };
	__do_free char *name = NULL;
	__do_close int dfd = open_parent(path, &name, err);

	if (dfd < 0)
		return dfd;
	strncpy(args.name, name, BTRFS_PATH_NAME_MAX);
	if (ioctl(dfd, BTRFS_IOC_SNAP_DESTROY, &args) < 0) {
		if (errno == ENOTEMPTY)
			return plx_err_set(err, ENOTEMPTY,
					   "cannot delete btrfs subvolume %s: it holds other subvolumes", path);
		return plx_err_sys(err, errno, "cannot delete btrfs subvolume %s", path);
	}
	return 0;
}

static void drop_subvol(const char *path)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;

	if (subvol_delete(path, &e) < 0)
		log_warn("btrfs: cannot remove the half-made %s: %s", path, plx_err_msg(&e));
}

static int set_limit(const char *path, uint64_t limit, struct plx_err *err)
{
	struct btrfs_ioctl_qgroup_limit_args args = { 0 };
	__do_close int fd = open_dir(path, err);

	if (fd < 0)
		return fd;
	args.qgroupid = 0; /* 0: the subvolume fd is in */
	args.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
	args.lim.max_rfer = limit;
	if (ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args) < 0)
		return plx_err_sys(err, errno,
				   "cannot set a size limit (qgroup limit) on %s; are quotas enabled "
				   "(btrfs quota enable)?",
				   path);
	return 0;
}

/* Made with no size limit when size_limit is 0; a failed limit leaves nothing at path. */
static int make_volume(const char *path, uint64_t size_limit, struct plx_err *err)
{
	int ret = subvol_create(path, err);

	if (ret < 0 || !size_limit)
		return ret;
	ret = set_limit(path, size_limit, err);
	if (ret < 0)
		drop_subvol(path);
	return ret;
}

/* Copies are atomic and never staged, so the only leftover is the old volume after a rollback. */
static void drop_rolled_back(const char *path)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;

	if (subvol_delete(path, &e) < 0)
		log_warn("btrfs: cannot delete %s after rollback: %s", path, plx_err_msg(&e));
}

static int created_ns(const char *path, int64_t *out, struct plx_err *err)
{
	struct btrfs_ioctl_get_subvol_info_args info = { 0 };
	__do_close int fd = open_dir(path, err);

	if (fd < 0)
		return fd;
	if (ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, &info) < 0)
		return plx_err_sys(err, errno, "cannot read btrfs subvolume info of %s", path);
	*out = (int64_t)info.otime.sec * 1000000000 + info.otime.nsec;
	return 0;
}

/* Exclusive sizes need qgroup accounting; the list reports them as unknown. */
static int64_t unknown_size(const char *path)
{
	return -1;
}

static const struct plx_layout_snap_ops btrfs_snap_ops = { .created_ns = created_ns, .size = unknown_size };

static const struct plx_layout_acts btrfs_acts = {
	.snap = &btrfs_snap_ops,
	.copy = subvol_snapshot, /* atomic: it exists afterwards, or nothing was made */
	.atomic = true,
	.drop = drop_rolled_back,
	.make = make_volume,
	.unmake = drop_subvol,
};

static int btrfs_create(struct plx_storage *s, const char *id, uint64_t size_limit, struct plx_err *err)
{
	return plx_layout_create(s->base, id, size_limit, &btrfs_acts, err);
}

static int btrfs_clone_from(struct plx_storage *s, const char *src, const char *snap, const char *id,
			    struct plx_err *err)
{
	return plx_layout_clone_from(s->base, src, snap, id, &btrfs_acts, err);
}

static int btrfs_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	return plx_layout_snapshot_take(s->base, id, snap, &btrfs_acts, err);
}

static int btrfs_list_snapshots(struct plx_storage *s, const char *id, struct plx_storage_snapshot **out,
				size_t *n, struct plx_err *err)
{
	return plx_layout_list(s->base, id, &btrfs_snap_ops, out, n, err);
}

static int btrfs_rollback(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	return plx_layout_rollback(s->base, id, snap, &btrfs_acts, err);
}

static int btrfs_destroy_snapshot(struct plx_storage *s, const char *id, const char *snap,
				  struct plx_err *err)
{
	__do_free char *p = plx_layout_snapshot(s->base, id, snap);

	if (!p)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!is_subvolume(p))
		return plx_err_set(err, ENOENT, "snapshot %s of %s does not exist (%s)", snap, id, p);
	return subvol_delete(p, err);
}

static int btrfs_destroy(struct plx_storage *s, const char *id, struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(s->base, id);
	__do_free char *dir = plx_layout_snapdir(s->base, id);
	struct plx_storage_snapshot *v = NULL;
	size_t n = 0;
	int ret;

	if (!vol || !dir)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!is_subvolume(vol))
		return plx_err_set(err, ENOENT, "volume %s does not exist (%s)", id, vol);
	ret = plx_layout_list(s->base, id, &btrfs_snap_ops, &v, &n, err);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = btrfs_destroy_snapshot(s, id, v[i].name, err);
	plx_storage_snapshots_free(v, n);
	if (ret < 0)
		return ret;
	if (rmdir(dir) < 0 && errno != ENOENT)
		return plx_err_sys(err, errno, "cannot remove %s", dir);
	return subvol_delete(vol, err);
}

static int btrfs_exists(struct plx_storage *s, const char *id, bool *out, struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(s->base, id);

	if (!vol)
		return plx_err_set(err, ENOMEM, "out of memory");
	*out = is_subvolume(vol);
	return 0;
}

const struct plx_storage_ops plx_storage_btrfs_ops = {
	.name = "btrfs",
	.check_base = btrfs_check_base,
	.create = btrfs_create,
	.clone_from = btrfs_clone_from,
	.snapshot = btrfs_snapshot,
	.list_snapshots = btrfs_list_snapshots,
	.rollback = btrfs_rollback,
	.destroy_snapshot = btrfs_destroy_snapshot,
	.destroy = btrfs_destroy,
	.path = plx_layout_path,
	.exists = btrfs_exists,
};
