/* SPDX-License-Identifier: Apache-2.0 */
/* Layer unpack: every entry type, compressions, diff_id, whiteouts, and hostile layers. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/digest.h"
#include "image/inroot.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define LAYER_CAP (1 << 20)

struct fx {
	char dir[64];
	char root[80];
	char outside[80];
	int rootfd;
	unsigned char *buf;
	size_t len;
};

/* One tar member as the tests describe it; 0 fields mean the obvious default. */
struct ent {
	const char *name;
	mode_t type; /* AE_IFREG when 0 */
	mode_t perm; /* 0644 / 0755 when 0 */
	const char *data;
	const char *symlink;
	const char *hardlink;
	dev_t rdev;
	int uid, gid;
	time_t mtime;
	const char *xname, *xval;
	size_t xlen; /* strlen(xval) when 0 */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/plx-test-unpack-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->dir);
	if (mkdir(f->root, 0755) < 0 || mkdir(f->outside, 0755) < 0)
		return -1;
	f->rootfd = plx_inroot_open_root(f->root, NULL);
	f->buf = malloc(LAYER_CAP);
	*state = f;
	return f->rootfd < 0 || !f->buf ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	close(f->rootfd);
	plx_rm_rf_at(AT_FDCWD, f->dir, &err);
	plx_err_clear(&err);
	free(f->buf);
	free(f);
	return 0;
}

/* filter: ARCHIVE_FILTER_NONE, _GZIP or _ZSTD; the layer lands in f->buf/f->len. */
static void make_layer(struct fx *f, int filter, const struct ent *v, size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (filter == ARCHIVE_FILTER_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	else if (filter == ARCHIVE_FILTER_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, f->buf, LAYER_CAP, &f->len), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct ent *x = &v[i];
		mode_t type = x->type ? x->type : AE_IFREG;

		archive_entry_clear(e);
		archive_entry_set_pathname(e, x->name);
		archive_entry_set_filetype(e, type);
		archive_entry_set_perm(e, x->perm ? x->perm : (type == AE_IFDIR ? 0755 : 0644));
		archive_entry_set_uid(e, x->uid);
		archive_entry_set_gid(e, x->gid);
		archive_entry_set_mtime(e, x->mtime ? x->mtime : 1000000000, 0);
		if (x->symlink)
			archive_entry_set_symlink(e, x->symlink);
		if (x->hardlink)
			archive_entry_set_hardlink(e, x->hardlink);
		if (x->rdev)
			archive_entry_set_rdev(e, x->rdev);
		if (x->xname)
			archive_entry_xattr_add_entry(e, x->xname, x->xval, x->xlen ? x->xlen : strlen(x->xval));
		if (x->data)
			archive_entry_set_size(e, (la_int64_t)strlen(x->data));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (x->data)
			assert_int_equal(archive_write_data(a, x->data, strlen(x->data)),
					 (la_ssize_t)strlen(x->data));
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
}

static int unpack(struct fx *f, const char *media_type, struct plx_err *err)
{
	struct plx_unpack_opts o = { .name = "sha256:test", .media_type = media_type };

	return plx_layer_unpack_mem(f->rootfd, f->buf, f->len, &o, NULL, err);
}

#define UNPACK_OK(f)                                                       \
	do {                                                               \
		struct plx_err _e = PLX_ERR_INIT;                          \
		int _r = unpack(f, NULL, &_e);                             \
		if (_r < 0)                                                \
			fail_msg("unpack: %s", plx_err_msg(&_e));          \
		plx_err_clear(&_e);                                        \
	} while (0)

static bool exists_at(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static void lstat_in(struct fx *f, const char *name, struct stat *st)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", f->root, name);
	if (lstat(p, st) < 0)
		fail_msg("lstat %s: %m", p);
}

static char *read_in(struct fx *f, const char *name)
{
	struct plx_err err = PLX_ERR_INIT;
	char p[512], *out = NULL;

	snprintf(p, sizeof(p), "%s/%s", f->root, name);
	if (plx_read_file_at(AT_FDCWD, p, &out, NULL, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return out;
}

static void test_entry_types(void **state)
{
	struct fx *f = *state;
	const struct ent layer[] = {
		{ .name = "./", .type = AE_IFDIR, .perm = 0755 },
		{ .name = "etc/", .type = AE_IFDIR, .perm = 0750, .mtime = 1234567890, .uid = 7, .gid = 8 },
		{ .name = "etc/motd", .data = "hello\n", .perm = 0640, .uid = 1000, .gid = 1001,
		  .mtime = 1111111111 },
		{ .name = "bin/", .type = AE_IFDIR },
		{ .name = "bin/su", .data = "#!", .perm = 04755 },
		{ .name = "bin/ping", .data = "ping", .perm = 0755, .xname = "security.capability",
		  .xval = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		  .xlen = 20 },
		{ .name = "bin/x", .data = "x", .xname = "user.plx", .xval = "v1" },
		{ .name = "bin/sh", .type = AE_IFLNK, .symlink = "busybox", .uid = 5, .gid = 6 },
		{ .name = "etc/motd.link", .hardlink = "etc/motd" },
		{ .name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 3) },
		{ .name = "dev/loop9", .type = AE_IFBLK, .perm = 0660, .rdev = makedev(7, 9) },
		{ .name = "run/fifo", .type = AE_IFIFO, .perm = 0600 },
		{ .name = "deep/er/file", .data = "implied parents" },
	};
	struct stat st, st2;
	char buf[256];
	__do_free char *motd = NULL;

	make_layer(f, ARCHIVE_FILTER_NONE, layer, ARRAY_SIZE(layer));
	UNPACK_OK(f);

	lstat_in(f, "etc", &st);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_gid, 8);
	/* set after etc/motd was written into it */
	assert_int_equal(st.st_mtime, 1234567890);

	motd = read_in(f, "etc/motd");
	assert_string_equal(motd, "hello\n");
	lstat_in(f, "etc/motd", &st);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtime, 1111111111);
	assert_int_equal(st.st_nlink, 2);
	lstat_in(f, "etc/motd.link", &st2);
	assert_int_equal(st.st_ino, st2.st_ino);

	lstat_in(f, "bin/su", &st);
	assert_int_equal(st.st_mode & 07777, 04755);

	snprintf(buf, sizeof(buf), "%s/bin/x", f->root);
	assert_int_equal(lgetxattr(buf, "user.plx", buf + 40, 8), 2);
	assert_memory_equal(buf + 40, "v1", 2);
	snprintf(buf, sizeof(buf), "%s/bin/ping", f->root);
	assert_int_equal(lgetxattr(buf, "security.capability", NULL, 0), 20);

	lstat_in(f, "bin/sh", &st);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_gid, 6);
	assert_int_equal(st.st_mtime, 1000000000);
	assert_int_equal(readlinkat(f->rootfd, "bin/sh", buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "busybox", 7);

	lstat_in(f, "dev/null", &st);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	assert_int_equal(st.st_mode & 07777, 0666);
	lstat_in(f, "dev/loop9", &st);
	assert_true(S_ISBLK(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(7, 9));
	lstat_in(f, "run/fifo", &st);
	assert_true(S_ISFIFO(st.st_mode));

	/* implied parents are 0755 */
	lstat_in(f, "deep/er", &st);
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_compressions_and_diff_id(void **state)
{
	struct fx *f = *state;
	const struct ent layer[] = {
		{ .name = "a", .data = "same content" },
		{ .name = "d/", .type = AE_IFDIR },
	};
	struct plx_err err = PLX_ERR_INIT;
	char tar_digest[PLX_DIGEST_LEN];
	static const int filters[] = { ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD };
	static const char *const types[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
	};

	make_layer(f, ARCHIVE_FILTER_NONE, layer, ARRAY_SIZE(layer));
	assert_int_equal(plx_sha256_buf(f->buf, f->len, tar_digest, &err), 0);

	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		struct plx_unpack_result res;
		struct plx_unpack_opts o = { .name = "L", .media_type = types[i], .diff_id = tar_digest };
		__do_free char *a = NULL;

		make_layer(f, filters[i], layer, ARRAY_SIZE(layer));
		if (plx_layer_unpack_mem(f->rootfd, f->buf, f->len, &o, &res, &err) < 0)
			fail_msg("%s: %s", types[i], plx_err_msg(&err));
		assert_string_equal(res.diff_id, tar_digest);
		assert_int_equal(res.entries, 2);
		a = read_in(f, "a");
		assert_string_equal(a, "same content");

		/* by magic alone */
		o.media_type = NULL;
		assert_int_equal(plx_layer_unpack_mem(f->rootfd, f->buf, f->len, &o, &res, &err), 0);

		/* a media type that lies about the compression */
		o.media_type = types[(i + 1) % 3];
		assert_int_equal(plx_layer_unpack_mem(f->rootfd, f->buf, f->len, &o, &res, &err), -EINVAL);
		assert_non_null(strstr(plx_err_msg(&err), "media type"));

		/* a diff_id the content does not match */
		o.media_type = types[i];
		o.diff_id = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
		assert_int_equal(plx_layer_unpack_mem(f->rootfd, f->buf, f->len, &o, &res, &err), -EILSEQ);
		assert_non_null(strstr(plx_err_msg(&err), "diff_id"));
	}

	/* not a layer media type, and not a tar */
	{
		struct plx_unpack_opts o = { .name = "L", .media_type = "application/vnd.oci.image.layer.v1.tar+encrypted" };

		assert_int_equal(plx_layer_unpack_mem(f->rootfd, f->buf, f->len, &o, NULL, &err), -EINVAL);
		o.media_type = NULL;
		assert_true(plx_layer_unpack_mem(f->rootfd, "garbage, not a tar at all......", 31, &o, NULL, &err) < 0);
	}
	plx_err_clear(&err);
}

static void test_whiteouts(void **state)
{
	struct fx *f = *state;
	const struct ent lower[] = {
		{ .name = "a/x", .data = "x" },
		{ .name = "a/y", .data = "y" },
		{ .name = "b/z", .data = "z" },
		{ .name = "c/old", .data = "old" },
		{ .name = "c/sub/old2", .data = "old2" },
		{ .name = "e/keep", .data = "keep" },
	};
	const struct ent upper[] = {
		{ .name = "a/.wh.x" },
		{ .name = ".wh.b" },
		{ .name = "c/", .type = AE_IFDIR },
		/* made before the opaque marker: must survive it */
		{ .name = "c/new", .data = "new" },
		{ .name = "c/sub/", .type = AE_IFDIR },
		{ .name = "c/.wh..wh..opq" },
		{ .name = "e/.wh.missing" },
		{ .name = "nodir/.wh.x" },
	};

	make_layer(f, ARCHIVE_FILTER_GZIP, lower, ARRAY_SIZE(lower));
	UNPACK_OK(f);
	make_layer(f, ARCHIVE_FILTER_GZIP, upper, ARRAY_SIZE(upper));
	UNPACK_OK(f);

	assert_false(exists_at(f->root, "a/x"));
	assert_true(exists_at(f->root, "a/y"));
	assert_false(exists_at(f->root, "a/.wh.x"));
	assert_false(exists_at(f->root, "b"));
	assert_true(exists_at(f->root, "c/new"));
	assert_true(exists_at(f->root, "c/sub"));
	assert_false(exists_at(f->root, "c/old"));
	assert_false(exists_at(f->root, "c/sub/old2"));
	assert_false(exists_at(f->root, "c/.wh..wh..opq"));
	assert_true(exists_at(f->root, "e/keep"));
	assert_false(exists_at(f->root, "nodir"));
}

static void test_replace(void **state)
{
	struct fx *f = *state;
	const struct ent lower[] = {
		{ .name = "lib", .type = AE_IFLNK, .symlink = "usr/lib" },
		{ .name = "usr/lib/a", .data = "a" },
		{ .name = "f", .data = "file" },
		{ .name = "d/x", .data = "x" },
	};
	const struct ent upper[] = {
		/* a directory member over a symlink replaces the symlink */
		{ .name = "lib/", .type = AE_IFDIR },
		{ .name = "f/", .type = AE_IFDIR },
		{ .name = "d", .data = "now a file" },
	};
	struct stat st;
	__do_free char *d = NULL;

	make_layer(f, ARCHIVE_FILTER_NONE, lower, ARRAY_SIZE(lower));
	UNPACK_OK(f);
	make_layer(f, ARCHIVE_FILTER_NONE, upper, ARRAY_SIZE(upper));
	UNPACK_OK(f);
	lstat_in(f, "lib", &st);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(exists_at(f->root, "usr/lib/a"));
	lstat_in(f, "f", &st);
	assert_true(S_ISDIR(st.st_mode));
	d = read_in(f, "d");
	assert_string_equal(d, "now a file");
}

/* A hostile layer must fail naming member (or, with expect_ok, succeed) and leave outside/ empty. */
static void hostile(struct fx *f, const struct ent *v, size_t n, const char *member, bool expect_ok)
{
	struct plx_err err = PLX_ERR_INIT;
	__do_closedir DIR *d = NULL;
	struct dirent *de;
	int ret;

	make_layer(f, ARCHIVE_FILTER_NONE, v, n);
	ret = unpack(f, NULL, &err);
	if (expect_ok) {
		if (ret < 0)
			fail_msg("%s", plx_err_msg(&err));
	} else {
		assert_true(ret < 0);
		if (!strstr(plx_err_msg(&err), member) || !strstr(plx_err_msg(&err), "sha256:test"))
			fail_msg("error does not name the member %s and the layer: %s", member, plx_err_msg(&err));
	}
	plx_err_clear(&err);
	d = opendir(f->outside);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fail_msg("%s written outside the root", de->d_name);
	/* and nothing beside the root either */
	assert_false(exists_at(f->dir, "escape"));
}

static void test_dotdot(void **state)
{
	struct fx *f = *state;
	const struct ent l1[] = { { .name = "../escape", .data = "x" } };
	const struct ent l2[] = { { .name = "ok/../../escape", .data = "x" } };
	const struct ent l3[] = { { .name = "../.wh.outside" } };
	const struct ent l4[] = { { .name = "a/.wh...", .data = "" } };

	hostile(f, l1, 1, "../escape", false);
	hostile(f, l2, 1, "ok/../../escape", false);
	hostile(f, l3, 1, "../.wh.outside", false);
	hostile(f, l4, 1, "a/.wh...", false);
}

static void test_absolute(void **state)
{
	struct fx *f = *state;
	char name[160];
	struct ent l1[] = { { .name = name, .data = "x" } };

	snprintf(name, sizeof(name), "%s/file", f->outside);
	hostile(f, l1, 1, name, false);
}

static void test_symlink_out(void **state)
{
	struct fx *f = *state;
	char target[160];
	/* a symlink to the host's directory, then a file "under" it */
	const struct ent l1[] = {
		{ .name = "evil", .type = AE_IFLNK, .symlink = target },
		{ .name = "evil/file", .data = "pwned" },
	};
	/* a symlink to /, then a tree under it that mirrors the outside path */
	char deep[200];
	const struct ent l2[] = {
		{ .name = "slash", .type = AE_IFLNK, .symlink = "/" },
		{ .name = deep, .data = "pwned" },
	};
	/* a chain of relative symlinks climbing out */
	const struct ent l3[] = {
		{ .name = "l1", .type = AE_IFLNK, .symlink = "l2" },
		{ .name = "l2", .type = AE_IFLNK, .symlink = "../../../../../../../../tmp" },
		{ .name = "tmp/", .type = AE_IFDIR },
		{ .name = "l1/plx-unpack-chain", .data = "inside" },
	};
	__do_free char *in = NULL;

	snprintf(target, sizeof(target), "%s", f->outside);
	hostile(f, l1, ARRAY_SIZE(l1), "evil/file", false);

	snprintf(deep, sizeof(deep), "slash%s/file", f->outside);
	hostile(f, l2, ARRAY_SIZE(l2), deep, true);
	/* it landed inside, under the root's own copy of the path */
	assert_true(exists_at(f->root, deep + strlen("slash/")));

	hostile(f, l3, ARRAY_SIZE(l3), "", true);
	in = read_in(f, "tmp/plx-unpack-chain");
	assert_string_equal(in, "inside");
	assert_false(exists_at("/tmp", "plx-unpack-chain"));
}

static void test_hardlink_out(void **state)
{
	struct fx *f = *state;
	char victim[160];
	const struct ent l1[] = { { .name = "pw", .hardlink = "/etc/passwd" } };
	const struct ent l2[] = { { .name = "pw", .hardlink = "../../../../etc/passwd" } };
	/* through a symlink: resolved in the root, where there is no etc/passwd */
	const struct ent l3[] = {
		{ .name = "etcl", .type = AE_IFLNK, .symlink = "/etc" },
		{ .name = "pw", .hardlink = "etcl/passwd" },
	};
	/* to a symlink that points out: the symlink itself is linked, never its target */
	const struct ent l4[] = {
		{ .name = "sl", .type = AE_IFLNK, .symlink = victim },
		{ .name = "hl", .hardlink = "sl" },
	};
	/* whiteout through a symlink to the host must not delete there */
	const struct ent l5[] = {
		{ .name = "out", .type = AE_IFLNK, .symlink = f->outside },
		{ .name = "out/.wh.victim" },
	};
	struct stat st;
	int fd;

	hostile(f, l1, 1, "pw", false);
	hostile(f, l2, 1, "pw", false);
	hostile(f, l3, ARRAY_SIZE(l3), "pw", false);

	snprintf(victim, sizeof(victim), "%s/victim", f->outside);
	fd = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	make_layer(f, ARCHIVE_FILTER_NONE, l4, ARRAY_SIZE(l4));
	UNPACK_OK(f);
	lstat_in(f, "hl", &st);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(victim, &st), 0);
	assert_int_equal(st.st_nlink, 1);

	make_layer(f, ARCHIVE_FILTER_NONE, l5, ARRAY_SIZE(l5));
	UNPACK_OK(f);
	assert_int_equal(lstat(victim, &st), 0);
}

static void test_clean_name(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = { { "./a//b/", "a/b" }, { ".", "" }, { "./", "" }, { "a/./b", "a/b" }, { "..a/b..", "..a/b.." } };
	static const char *const bad[] = { "/a", "..", "a/..", "a/../b", "/", "./../a" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		__do_free char *out = NULL;

		assert_int_equal(plx_inroot_clean_name(ok[i].in, &out), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *out = NULL;

		assert_int_equal(plx_inroot_clean_name(bad[i], &out), -EINVAL);
		assert_null(out);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_name),
		T(test_entry_types),
		T(test_compressions_and_diff_id),
		T(test_whiteouts),
		T(test_replace),
		T(test_dotdot),
		T(test_absolute),
		T(test_symlink_out),
		T(test_hardlink_out),
	};

	if (geteuid() != 0) {
		/* ownership and device nodes need root */
		printf("test_image_unpack needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
