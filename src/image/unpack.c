/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer unpacking.  Why this is safe against a hostile layer (the reasoning
 * bubblewrap-style, so that a reviewer can check each step):
 *
 *  1. Names.  Every member name is made canonical and refused when it is
 *     absolute or has a ".." component (plx_inroot_clean_name()), so the
 *     name alone can never point outside the root.  The same holds for
 *     hardlink targets and for the NAME of a ".wh.NAME" whiteout.
 *
 *  2. Symlinks already in the tree.  Earlier members or layers may have
 *     planted symlinks ("etc -> /etc", "x -> ../../.."), so the directory
 *     that holds a member is opened with openat2(RESOLVE_IN_ROOT |
 *     RESOLVE_NO_MAGICLINKS) from an O_PATH descriptor of the root: the
 *     kernel resolves ".." and absolute symlinks as if the root were "/"
 *     (and refuses /proc magic links), so the descriptor we get is always
 *     a directory inside the root.  No path string is ever resolved from
 *     "/" or the working directory, and we never chdir (which is why
 *     archive_write_disk, which does both, is not used).
 *
 *  3. The last component.  It is only ever created or changed through
 *     calls that do not follow a symlink there: mkdirat, symlinkat,
 *     mknodat, linkat without AT_SYMLINK_FOLLOW, openat with O_CREAT |
 *     O_EXCL | O_NOFOLLOW, and the AT_SYMLINK_NOFOLLOW forms of fchownat,
 *     fchmodat and utimensat.  What was there before is removed first
 *     (unlinkat / plx_rm_rf_at, which never follows symlinks either).
 *     Metadata of files and directories is set through the descriptor we
 *     created, not by name.
 *
 *  4. Hardlinks.  The target is resolved like any member (1, 2) and its
 *     last component is not followed (linkat flags 0), so a link can only
 *     ever share an inode that is already inside the root.
 *
 *  5. Directory modes and times are set after the whole layer (a later
 *     member would change the time; a read-only mode would not stop root
 *     but would stop a future rootless unpack).  They are applied by name
 *     again, resolved as in 2 with O_NOFOLLOW, so a directory that a later
 *     member replaced with a symlink is skipped, not followed.  A lower
 *     layer's directory that this layer only adds to or whites out in keeps
 *     its times, as umoci keeps them (the layer did not describe it).
 *
 *  6. xattrs named trusted.overlay.* / user.overlay.* are dropped: they
 *     change what overlayfs shows when the tree is a lower layer.
 */
#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/inroot.h"
#include "image/whiteout.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define UNPACK_BUF_SIZE (256 * 1024)

/* A directory whose mode and times are set once the layer is done. */
struct dir_meta {
	char *name;
	bool keep_mode; /* a lower layer's directory: only its old times are put back */
	mode_t mode;
	struct timespec times[2];
};

struct unpack {
	int rootfd;
	const char *layer;
	struct archive *outer; /* decompresses: filters + the raw format */
	struct archive *tar;   /* reads the tar from what outer yields */
	struct plx_sha256 sha;
	uint64_t tar_bytes;
	uint64_t entries;
	unsigned char *buf;
	struct plx_name_set made;
	struct plx_name_set kept; /* directories of lower layers whose times are recorded */
	struct dir_meta *dirs;
	size_t n_dirs, cap_dirs;
	char *member; /* the current member's name as the layer wrote it */
};

static void unpack_release(struct unpack *u)
{
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].name);
	free(u->dirs);
	free(u->member);
	plx_name_set_clear(&u->made);
	plx_name_set_clear(&u->kept);
	free(u->buf);
	if (u->sha.ctx)
		plx_sha256_free(&u->sha);
	if (u->tar)
		archive_read_free(u->tar);
	if (u->outer)
		archive_read_free(u->outer);
}

static const char *compression_name(int filter)
{
	switch (filter) {
	case ARCHIVE_FILTER_NONE:
		return "uncompressed";
	case ARCHIVE_FILTER_GZIP:
		return "gzip";
	case ARCHIVE_FILTER_ZSTD:
		return "zstd";
	default:
		return "an unsupported compression";
	}
}

/* The tar reader's input: the decompressed stream, hashed on the way for the diff_id. */
static la_ssize_t read_decompressed(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;
	la_ssize_t n = archive_read_data(u->outer, u->buf, UNPACK_BUF_SIZE);

	if (n < 0) {
		archive_set_error(a, archive_errno(u->outer) ? archive_errno(u->outer) : EIO, "%s",
				  archive_error_string(u->outer) ?: "decompression failed");
		return -1;
	}
	plx_sha256_update(&u->sha, u->buf, (size_t)n);
	u->tar_bytes += (uint64_t)n;
	*buf = u->buf;
	return n;
}

/* "layer L: member M: " before a message made below. */
static int member_err(struct unpack *u, struct plx_err *err)
{
	return plx_err_prefix(err, "layer %s: member %s", u->layer, u->member);
}

static int member_sys(struct unpack *u, struct plx_err *err, int code, const char *what)
{
	return plx_err_sys(err, code, "layer %s: member %s: %s", u->layer, u->member, what);
}

static int record_made(void *data, const char *name)
{
	struct unpack *u = data;

	return plx_name_set_add(&u->made, name);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	if (archive_entry_mtime_is_set(e)) {
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	} else {
		ts[1].tv_sec = 0;
		ts[1].tv_nsec = UTIME_OMIT;
	}
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static int entry_owner(struct unpack *u, struct archive_entry *e, uid_t *uid, gid_t *gid, struct plx_err *err)
{
	la_int64_t i = archive_entry_uid(e), g = archive_entry_gid(e);

	if (i < 0 || i >= (la_int64_t)UINT32_MAX || g < 0 || g >= (la_int64_t)UINT32_MAX)
		return member_sys(u, err, ERANGE, "owner out of range");
	*uid = (uid_t)i;
	*gid = (gid_t)g;
	return 0;
}

static bool xattr_dropped(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

/*
 * Set the member's xattrs on fd, or (fd < 0) on pfd/base without following
 * a symlink there: "/proc/self/fd/<pfd>/<base>" names exactly the entry in
 * the directory we resolved (the magic link is only the prefix, and
 * lsetxattr does not follow the last component).
 */
static int apply_xattrs(struct unpack *u, struct archive_entry *e, int fd, int pfd, const char *base,
			struct plx_err *err)
{
	__do_free char *path = NULL;
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	if (fd < 0 && asprintf(&path, "/proc/self/fd/%d/%s", pfd, base) < 0) {
		path = NULL;
		return member_sys(u, err, ENOMEM, "xattrs");
	}
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		int r;

		if (xattr_dropped(name)) {
			log_debug("layer %s: member %s: dropping xattr %s", u->layer, u->member, name);
			continue;
		}
		r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(path, name, value, size, 0);
		if (r == 0)
			continue;
		if (errno == ENOTSUP) {
			log_warn("layer %s: member %s: xattr %s not supported here, skipped", u->layer,
				 u->member, name);
			continue;
		}
		return plx_err_sys(err, errno, "layer %s: member %s: set xattr %s", u->layer, u->member, name);
	}
	return 0;
}

/*
 * Make room for the member at pfd/base: what is there goes, except a
 * directory that a directory member is about to update.  Returns 1 when
 * that directory is kept, 0 when the name is free.
 */
static int clear_slot(struct unpack *u, int pfd, const char *base, bool for_dir, struct plx_err *err)
{
	struct stat st;
	int ret;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return member_sys(u, err, errno, "stat");
	}
	if (for_dir && S_ISDIR(st.st_mode))
		return 1;
	if (S_ISDIR(st.st_mode)) {
		ret = plx_rm_rf_at(pfd, base, err);
		if (ret < 0)
			return member_err(u, err);
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
		return member_sys(u, err, errno, "remove the old entry");
	return 0;
}

/* Copy the member's data into fd; pwrite at the reported offsets keeps sparse files sparse. */
static int write_data(struct unpack *u, struct archive_entry *e, int fd, struct plx_err *err)
{
	la_int64_t size = archive_entry_size(e), end = 0;

	for (;;) {
		const void *block;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(u->tar, &block, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return plx_err_set(err, EIO, "layer %s: member %s: read: %s", u->layer, u->member,
					   archive_error_string(u->tar));
		for (size_t done = 0; done < len;) {
			ssize_t w = pwrite(fd, (const char *)block + done, len - done, off + (off_t)done);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return member_sys(u, err, errno, "write");
			}
			done += (size_t)w;
		}
		if (off + (la_int64_t)len > end)
			end = off + (la_int64_t)len;
	}
	if (size > end && ftruncate(fd, size) < 0)
		return member_sys(u, err, errno, "truncate");
	return 0;
}

static int unpack_file(struct unpack *u, struct archive_entry *e, int pfd, const char *base, struct plx_err *err)
{
	__do_close int fd = -1;
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;
	int ret;

	ret = entry_owner(u, e, &uid, &gid, err);
	if (ret < 0)
		return ret;
	ret = clear_slot(u, pfd, base, false, err);
	if (ret < 0)
		return ret;
	/* O_EXCL: the name was just cleared, so this is a new inode we own, never a symlink's target. */
	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return member_sys(u, err, errno, "create");
	ret = write_data(u, e, fd, err);
	if (ret < 0)
		return ret;
	/* chown clears setuid bits and security.capability: owner first, then mode, then xattrs. */
	if (fchown(fd, uid, gid) < 0)
		return member_sys(u, err, errno, "chown");
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return member_sys(u, err, errno, "chmod");
	ret = apply_xattrs(u, e, fd, -1, NULL, err);
	if (ret < 0)
		return ret;
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return member_sys(u, err, errno, "set times");
	return 0;
}

static struct dir_meta *new_dir_meta(struct unpack *u, const char *name, struct plx_err *err)
{
	struct dir_meta *d;

	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
		struct dir_meta *nd = realloc(u->dirs, cap * sizeof(*nd));

		if (!nd) {
			member_sys(u, err, ENOMEM, "out of memory");
			return NULL;
		}
		u->dirs = nd;
		u->cap_dirs = cap;
	}
	d = &u->dirs[u->n_dirs];
	*d = (struct dir_meta){ .name = strdup(name) };
	if (!d->name) {
		member_sys(u, err, ENOMEM, "out of memory");
		return NULL;
	}
	u->n_dirs++;
	return d;
}

static int defer_dir(struct unpack *u, const char *name, struct archive_entry *e, struct plx_err *err)
{
	struct dir_meta *d = new_dir_meta(u, name, err);

	if (!d)
		return -err->code;
	d->mode = archive_entry_perm(e) & 07777;
	entry_times(e, d->times);
	return 0;
}

/* Before name's directory changes: record its times when a lower layer made it (see 5). */
static int keep_parent_times(struct unpack *u, const char *name, struct plx_err *err)
{
	__do_free char *parent = NULL;
	__do_close int fd = -1;
	const char *slash = strrchr(name, '/');
	struct dir_meta *d;
	struct stat st;

	parent = slash ? strndup(name, (size_t)(slash - name)) : strdup("");
	if (!parent)
		return member_sys(u, err, ENOMEM, "out of memory");
	if (plx_name_set_has(&u->made, parent) || plx_name_set_has(&u->kept, parent))
		return 0;
	fd = plx_inroot_openat(u->rootfd, parent, O_PATH | O_DIRECTORY, 0);
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0; /* not there yet: it will be made by this layer */
	if (plx_name_set_add(&u->kept, parent) < 0)
		return member_sys(u, err, ENOMEM, "out of memory");
	d = new_dir_meta(u, parent, err);
	if (!d)
		return -err->code;
	d->keep_mode = true;
	d->times[0] = st.st_atim;
	d->times[1] = st.st_mtim;
	return 0;
}

static int unpack_dir(struct unpack *u, struct archive_entry *e, const char *name, int pfd, const char *base,
		      struct plx_err *err)
{
	__do_close int fd = -1;
	uid_t uid;
	gid_t gid;
	int ret;

	ret = entry_owner(u, e, &uid, &gid, err);
	if (ret < 0)
		return ret;
	if (pfd < 0) {
		/* the root itself ("./") */
		fd = plx_inroot_openat(u->rootfd, "", O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return member_sys(u, err, -fd, "open");
	} else {
		ret = clear_slot(u, pfd, base, true, err);
		if (ret < 0)
			return ret;
		if (ret == 0 && mkdirat(pfd, base, 0700) < 0)
			return member_sys(u, err, errno, "mkdir");
		fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return member_sys(u, err, errno, "open");
	}
	if (fchown(fd, uid, gid) < 0)
		return member_sys(u, err, errno, "chown");
	ret = apply_xattrs(u, e, fd, -1, NULL, err);
	if (ret < 0)
		return ret;
	return defer_dir(u, name, e, err);
}

/* Owner, mode, xattrs and times of a symlink or node, by name, never following a symlink there. */
static int finish_by_name(struct unpack *u, struct archive_entry *e, int pfd, const char *base, bool chmod,
			  struct plx_err *err)
{
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;
	int ret;

	ret = entry_owner(u, e, &uid, &gid, err);
	if (ret < 0)
		return ret;
	if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return member_sys(u, err, errno, "chown");
	if (chmod && fchmodat(pfd, base, archive_entry_perm(e) & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return member_sys(u, err, errno, "chmod");
	ret = apply_xattrs(u, e, -1, pfd, base, err);
	if (ret < 0)
		return ret;
	entry_times(e, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return member_sys(u, err, errno, "set times");
	return 0;
}

static int unpack_symlink(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
			  struct plx_err *err)
{
	const char *target = archive_entry_symlink(e);
	int ret;

	/* The target is data: it is only ever resolved inside the root (see 2). */
	if (!target || !*target)
		return member_sys(u, err, EINVAL, "symlink without a target");
	ret = clear_slot(u, pfd, base, false, err);
	if (ret < 0)
		return ret;
	if (symlinkat(target, pfd, base) < 0)
		return member_sys(u, err, errno, "symlink");
	return finish_by_name(u, e, pfd, base, false, err);
}

static int unpack_node(struct unpack *u, struct archive_entry *e, int pfd, const char *base, struct plx_err *err)
{
	mode_t type = archive_entry_filetype(e);
	dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
	int ret;

	ret = clear_slot(u, pfd, base, false, err);
	if (ret < 0)
		return ret;
	if (mknodat(pfd, base, type | 0600, dev) < 0)
		return member_sys(u, err, errno, "mknod");
	return finish_by_name(u, e, pfd, base, true, err);
}

static int unpack_hardlink(struct unpack *u, const char *name, const char *link, int pfd, const char *base,
			   struct plx_err *err)
{
	__do_free char *target = NULL;
	__do_close int tpfd = -1;
	const char *tbase;
	struct stat st;
	int ret;

	ret = plx_inroot_clean_name(link, &target);
	if (ret == -EINVAL || (ret == 0 && !*target))
		return plx_err_set(err, EINVAL,
				   "layer %s: member %s: refusing hardlink target %s: absolute, \"..\" or the root",
				   u->layer, u->member, link);
	if (ret < 0)
		return member_sys(u, err, -ret, "hardlink");
	if (strcmp(target, name) == 0)
		return 0;
	tpfd = plx_inroot_open_parent(u->rootfd, target, false, &tbase, NULL, NULL);
	if (tpfd < 0)
		return plx_err_sys(err, -tpfd, "layer %s: member %s: hardlink target %s", u->layer, u->member,
				   link);
	if (fstatat(tpfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return plx_err_sys(err, errno, "layer %s: member %s: hardlink target %s", u->layer, u->member,
				   link);
	if (S_ISDIR(st.st_mode))
		return plx_err_set(err, EPERM, "layer %s: member %s: hardlink target %s is a directory",
				   u->layer, u->member, link);
	ret = clear_slot(u, pfd, base, false, err);
	if (ret < 0)
		return ret;
	/* flags 0: a symlink target is linked itself, not followed (see 4). */
	if (linkat(tpfd, tbase, pfd, base, 0) < 0)
		return plx_err_sys(err, errno, "layer %s: member %s: link to %s", u->layer, u->member, link);
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive_entry *e, struct plx_err *err)
{
	__do_free char *name = NULL;
	__do_close int pfd = -1;
	const char *raw = archive_entry_pathname(e), *link, *base;
	mode_t type;
	int ret;

	free(u->member);
	u->member = strdup(raw ? raw : "(unnamed)");
	if (!u->member)
		return plx_err_set(err, ENOMEM, "layer %s: out of memory", u->layer);
	if (!raw)
		return plx_err_set(err, EINVAL, "layer %s: a member has no name", u->layer);
	ret = plx_inroot_clean_name(raw, &name);
	if (ret == -EINVAL)
		return plx_err_set(err, EINVAL,
				   "layer %s: member %s: refusing an absolute name or a \"..\" component",
				   u->layer, raw);
	if (ret < 0)
		return member_sys(u, err, -ret, "name");

	type = archive_entry_filetype(e);
	link = archive_entry_hardlink(e);
	if (!*name) {
		if (link || type != AE_IFDIR)
			return member_sys(u, err, EINVAL, "the root must be a directory");
		ret = plx_name_set_add(&u->made, "");
		if (ret < 0)
			return member_sys(u, err, -ret, "out of memory");
		return unpack_dir(u, e, name, -1, NULL, err);
	}

	ret = keep_parent_times(u, name, err);
	if (ret < 0)
		return ret;
	/* A whiteout creates nothing, not even its directory. */
	base = strrchr(name, '/');
	if (plx_whiteout_is(base ? base + 1 : name)) {
		ret = plx_whiteout_apply(u->rootfd, name, &u->made, err);
		return ret < 0 ? member_err(u, err) : 0;
	}

	pfd = plx_inroot_open_parent(u->rootfd, name, true, &base, record_made, u);
	if (pfd < 0)
		return member_sys(u, err, -pfd, "open its directory");

	if (link) {
		ret = unpack_hardlink(u, name, link, pfd, base, err);
	} else {
		switch (type) {
		case AE_IFREG:
			ret = unpack_file(u, e, pfd, base, err);
			break;
		case AE_IFDIR:
			ret = unpack_dir(u, e, name, pfd, base, err);
			break;
		case AE_IFLNK:
			ret = unpack_symlink(u, e, pfd, base, err);
			break;
		case AE_IFCHR:
		case AE_IFBLK:
		case AE_IFIFO:
			ret = unpack_node(u, e, pfd, base, err);
			break;
		case AE_IFSOCK:
			/* tar cannot restore a socket; GNU tar skips them too */
			log_debug("layer %s: member %s: skipping a socket", u->layer, raw);
			return 0;
		default:
			return member_sys(u, err, EINVAL, "unknown file type");
		}
	}
	if (ret < 0)
		return ret;
	ret = plx_name_set_add(&u->made, name);
	if (ret < 0)
		return member_sys(u, err, -ret, "out of memory");
	return 0;
}

/* Directory modes and times, in member order: a later member for the same directory wins. */
static int finish_dirs(struct unpack *u, struct plx_err *err)
{
	for (size_t i = 0; i < u->n_dirs; i++) {
		struct dir_meta *d = &u->dirs[i];
		__do_close int fd = plx_inroot_openat(u->rootfd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);

		if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
			continue;
		if (fd < 0)
			return plx_err_sys(err, -fd, "layer %s: directory %s: open", u->layer,
					   *d->name ? d->name : "/");
		if (!d->keep_mode && fchmod(fd, d->mode) < 0)
			return plx_err_sys(err, errno, "layer %s: directory %s: chmod", u->layer,
					   *d->name ? d->name : "/");
		if (futimens(fd, d->times) < 0)
			return plx_err_sys(err, errno, "layer %s: directory %s: set times", u->layer,
					   *d->name ? d->name : "/");
	}
	return 0;
}

static int check_compression(struct unpack *u, const struct plx_unpack_opts *opts, struct plx_err *err)
{
	static const int filter_of[] = {
		[PLX_LAYER_TAR] = ARCHIVE_FILTER_NONE,
		[PLX_LAYER_GZIP] = ARCHIVE_FILTER_GZIP,
		[PLX_LAYER_ZSTD] = ARCHIVE_FILTER_ZSTD,
	};
	enum plx_layer_compression want;
	int got = archive_filter_code(u->outer, 0);
	int ret;

	if (got != ARCHIVE_FILTER_NONE && got != ARCHIVE_FILTER_GZIP && got != ARCHIVE_FILTER_ZSTD)
		return plx_err_set(err, ENOTSUP, "layer %s: %s is not a layer compression", u->layer,
				   archive_filter_name(u->outer, 0));
	if (!opts->media_type)
		return 0;
	ret = plx_layer_compression(opts->media_type, &want, err);
	if (ret < 0)
		return plx_err_prefix(err, "layer %s", u->layer);
	if (filter_of[want] != got)
		return plx_err_set(err, EINVAL, "layer %s: media type %s but the content is %s", u->layer,
				   opts->media_type, compression_name(got));
	return 0;
}

static int finish_digest(struct unpack *u, const struct plx_unpack_opts *opts, struct plx_unpack_result *res,
			 struct plx_err *err)
{
	char diff_id[PLX_DIGEST_LEN];

	plx_sha256_final(&u->sha, diff_id);
	if (opts->diff_id && strcmp(opts->diff_id, diff_id) != 0)
		return plx_err_set(err, EILSEQ, "layer %s: content digest %s does not match diff_id %s",
				   u->layer, diff_id, opts->diff_id);
	if (res) {
		memcpy(res->diff_id, diff_id, sizeof(diff_id));
		res->entries = u->entries;
		res->tar_bytes = u->tar_bytes;
	}
	return 0;
}

typedef int (*open_fn)(struct archive *a, const void *src, size_t len);

static int open_fd(struct archive *a, const void *src, size_t len)
{
	return archive_read_open_fd(a, *(const int *)src, UNPACK_BUF_SIZE);
}

static int open_mem(struct archive *a, const void *src, size_t len)
{
	return archive_read_open_memory(a, src, len);
}

static int unpack_stream(int rootfd, open_fn open_src, const void *src, size_t len,
			 const struct plx_unpack_opts *opts, struct plx_unpack_result *res, struct plx_err *err)
{
	__attribute__((cleanup(unpack_release))) struct unpack u = {
		.rootfd = rootfd,
		.layer = opts->name ? opts->name : "(unnamed)",
	};
	struct archive_entry *e;
	int r, ret;

	u.outer = archive_read_new();
	u.tar = archive_read_new();
	u.buf = malloc(UNPACK_BUF_SIZE);
	if (!u.outer || !u.tar || !u.buf)
		return plx_err_set(err, ENOMEM, "layer %s: out of memory", u.layer);
	ret = plx_sha256_init(&u.sha, err);
	if (ret < 0)
		return plx_err_prefix(err, "layer %s", u.layer);
	/* ARCHIVE_WARN means an external program would be used; we accept only built-in filters below. */
	if (archive_read_support_filter_gzip(u.outer) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(u.outer) < ARCHIVE_WARN ||
	    archive_read_support_format_raw(u.outer) != ARCHIVE_OK ||
	    archive_read_support_format_tar(u.tar) != ARCHIVE_OK)
		return plx_err_set(err, ENOTSUP, "layer %s: libarchive lacks gzip, zstd or tar support", u.layer);

	if (open_src(u.outer, src, len) != ARCHIVE_OK)
		return plx_err_set(err, EIO, "layer %s: %s", u.layer, archive_error_string(u.outer));
	r = archive_read_next_header(u.outer, &e);
	if (r == ARCHIVE_EOF)
		return plx_err_set(err, EINVAL, "layer %s: empty blob, not a tar", u.layer);
	if (r < ARCHIVE_WARN)
		return plx_err_set(err, EIO, "layer %s: %s", u.layer, archive_error_string(u.outer));
	ret = check_compression(&u, opts, err);
	if (ret < 0)
		return ret;

	if (archive_read_open(u.tar, &u, NULL, read_decompressed, NULL) != ARCHIVE_OK)
		return plx_err_set(err, EIO, "layer %s: reading tar: %s", u.layer, archive_error_string(u.tar));
	for (;;) {
		r = archive_read_next_header(u.tar, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			log_debug("layer %s: %s", u.layer, archive_error_string(u.tar));
		else if (r != ARCHIVE_OK)
			return plx_err_set(err, EIO, "layer %s: reading tar%s%s: %s", u.layer,
					   u.member ? " after member " : "", u.member ? u.member : "",
					   archive_error_string(u.tar));
		ret = unpack_entry(&u, e, err);
		if (ret < 0)
			return ret;
		u.entries++;
	}
	/* The tar's end may leave padding unread; the diff_id covers all of it. */
	for (;;) {
		const void *buf;
		la_ssize_t n = read_decompressed(u.tar, &u, &buf);

		if (n < 0)
			return plx_err_set(err, EIO, "layer %s: %s", u.layer, archive_error_string(u.tar));
		if (n == 0)
			break;
	}
	ret = finish_dirs(&u, err);
	if (ret < 0)
		return ret;
	return finish_digest(&u, opts, res, err);
}

int plx_layer_unpack_fd(int rootfd, int fd, const struct plx_unpack_opts *opts, struct plx_unpack_result *res,
			struct plx_err *err)
{
	return unpack_stream(rootfd, open_fd, &fd, 0, opts, res, err);
}

int plx_layer_unpack_mem(int rootfd, const void *buf, size_t len, const struct plx_unpack_opts *opts,
			 struct plx_unpack_result *res, struct plx_err *err)
{
	return unpack_stream(rootfd, open_mem, buf, len, opts, res, err);
}

int plx_layer_unpack_path(int rootfd, const char *path, const struct plx_unpack_opts *opts,
			  struct plx_unpack_result *res, struct plx_err *err)
{
	__do_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return plx_err_sys(err, errno, "layer %s: open %s", opts->name ? opts->name : path, path);
	return unpack_stream(rootfd, open_fd, &fd, 0, opts, res, err);
}
