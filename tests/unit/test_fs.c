/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/cleanup.h"
#include "util/fs.h"

struct fx {
	char dir[64];
	int dfd;
	bool can_mount; /* we are in a private mount namespace of our own */
};

static bool g_can_mount;

static int group_setup(void **state)
{
	/* Mounts made by tests vanish with this process: no leftovers on the host. */
	g_can_mount = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/plx-test-fs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->can_mount = g_can_mount;
	*state = f;
	return f->dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	close(f->dfd);
	plx_rm_rf_at(AT_FDCWD, f->dir, &err);
	plx_err_clear(&err);
	free(f);
	return 0;
}

static void put(int dfd, const char *name, const char *text)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_write_file_at(dfd, name, text, strlen(text), 0644, &err), 0);
}

static bool exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_read_write_roundtrip(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *buf = NULL;
	size_t len = 0;

	put(f->dfd, "a", "hello\n");
	assert_int_equal(plx_read_file_at(f->dfd, "a", &buf, &len, &err), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	free(steal_ptr(buf));

	/* O_TRUNC: a shorter write replaces the whole content */
	put(f->dfd, "a", "x");
	assert_int_equal(plx_read_file_at(f->dfd, "a", &buf, &len, &err), 0);
	assert_string_equal(buf, "x");
	free(steal_ptr(buf));

	/* /proc files report size 0; the whole content is still read */
	assert_int_equal(plx_read_file_at(AT_FDCWD, "/proc/self/status", &buf, &len, &err), 0);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "Pid:"));
}

static void test_read_missing_names_path(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	char *buf = NULL;

	assert_int_equal(plx_read_file_at(f->dfd, "nope", &buf, NULL, &err), -ENOENT);
	assert_null(buf);
	assert_string_equal(err.msg, "open nope: No such file or directory");
	plx_err_clear(&err);
}

static void test_atomic_write_leaves_no_tmp(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *buf = NULL;
	struct stat st;

	assert_int_equal(plx_write_file_atomic_at(f->dfd, "s.json", "{}", 2, 0600, &err), 0);
	assert_false(exists_at(f->dfd, "s.json.tmp"));
	assert_int_equal(fstatat(f->dfd, "s.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(plx_read_file_at(f->dfd, "s.json", &buf, NULL, &err), 0);
	assert_string_equal(buf, "{}");
	free(steal_ptr(buf));

	/* replacing keeps the name and drops the tmp */
	assert_int_equal(plx_write_file_atomic_at(f->dfd, "s.json", "{\"a\":1}", 7, 0600, &err), 0);
	assert_false(exists_at(f->dfd, "s.json.tmp"));
	assert_int_equal(plx_read_file_at(f->dfd, "s.json", &buf, NULL, &err), 0);
	assert_string_equal(buf, "{\"a\":1}");
}

static void test_atomic_write_replaces_stale_tmp_symlink(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *buf = NULL;

	/* a stale tmp that is a symlink to a victim must not be written through */
	put(f->dfd, "victim", "keep");
	assert_int_equal(symlinkat("victim", f->dfd, "p.tmp"), 0);
	assert_int_equal(plx_write_file_atomic_at(f->dfd, "p", "new", 3, 0644, &err), 0);
	assert_int_equal(plx_read_file_at(f->dfd, "victim", &buf, NULL, &err), 0);
	assert_string_equal(buf, "keep");
	free(steal_ptr(buf));
	assert_int_equal(plx_read_file_at(f->dfd, "p", &buf, NULL, &err), 0);
	assert_string_equal(buf, "new");
	assert_false(exists_at(f->dfd, "p.tmp"));
}

static void test_atomic_write_in_subdir_and_failure(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *path = plx_path_join(f->dir, "sub/x");
	__do_free char *buf = NULL;

	assert_int_equal(mkdirat(f->dfd, "sub", 0755), 0);
	assert_int_equal(plx_write_file_atomic_at(AT_FDCWD, path, "1", 1, 0644, &err), 0);
	assert_int_equal(plx_read_file_at(f->dfd, "sub/x", &buf, NULL, &err), 0);
	assert_string_equal(buf, "1");

	/* the target is a directory: rename fails, the error names it, no tmp stays */
	assert_int_equal(mkdirat(f->dfd, "d", 0755), 0);
	assert_int_equal(mkdirat(f->dfd, "d/in", 0755), 0);
	assert_true(plx_write_file_atomic_at(f->dfd, "d", "1", 1, 0644, &err) < 0);
	assert_non_null(strstr(err.msg, "rename d.tmp to d"));
	assert_false(exists_at(f->dfd, "d.tmp"));
	plx_err_clear(&err);
}

static void test_pid_file(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *path = plx_path_join(f->dir, "pid");
	__do_free char *buf = NULL;

	assert_int_equal(plx_write_pid_file(path, 4242, &err), 0);
	assert_int_equal(plx_read_file_at(AT_FDCWD, path, &buf, NULL, &err), 0);
	/* as runc: no trailing newline */
	assert_string_equal(buf, "4242");
	free(steal_ptr(buf));
	assert_int_equal(plx_write_pid_file(path, 7, &err), 0);
	assert_int_equal(plx_read_file_at(AT_FDCWD, path, &buf, NULL, &err), 0);
	assert_string_equal(buf, "7");
	assert_false(exists_at(f->dfd, "pid.tmp"));
}

static void test_mkdir_p(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *deep = plx_path_join(f->dir, "a/b//c/");
	__do_free char *through_file = plx_path_join(f->dir, "file/x");
	struct stat st;

	assert_int_equal(plx_mkdir_p(deep, 0700, &err), 0);
	assert_int_equal(fstatat(f->dfd, "a/b/c", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* existing is fine */
	assert_int_equal(plx_mkdir_p(deep, 0700, &err), 0);

	put(f->dfd, "file", "");
	assert_int_equal(plx_mkdir_p(through_file, 0700, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "/file: Not a directory"));
	plx_err_clear(&err);
	assert_int_equal(plx_mkdir_p("", 0700, &err), -EINVAL);
	plx_err_clear(&err);
}

static void test_rm_rf_tree(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(mkdirat(f->dfd, "t", 0755), 0);
	assert_int_equal(mkdirat(f->dfd, "t/d1", 0755), 0);
	assert_int_equal(mkdirat(f->dfd, "t/d1/d2", 0), 0); /* mode 0 is no obstacle for root */
	put(f->dfd, "t/f", "x");
	put(f->dfd, "t/d1/d2/g", "y");
	assert_int_equal(mkfifoat(f->dfd, "t/d1/fifo", 0600), 0);
	assert_int_equal(plx_rm_rf_at(f->dfd, "t", &err), 0);
	assert_false(exists_at(f->dfd, "t"));
	/* a missing path is success */
	assert_int_equal(plx_rm_rf_at(f->dfd, "t", &err), 0);
	/* a plain file */
	put(f->dfd, "plain", "");
	assert_int_equal(plx_rm_rf_at(f->dfd, "plain", &err), 0);
	assert_false(exists_at(f->dfd, "plain"));
}

static void test_rm_rf_does_not_follow_symlinks(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *outside = plx_path_join(f->dir, "outside");

	assert_int_equal(mkdirat(f->dfd, "outside", 0755), 0);
	put(f->dfd, "outside/precious", "p");
	assert_int_equal(mkdirat(f->dfd, "t", 0755), 0);
	assert_int_equal(symlinkat(outside, f->dfd, "t/link"), 0);
	assert_int_equal(symlinkat("../outside", f->dfd, "t/rel"), 0);
	assert_int_equal(symlinkat(outside, f->dfd, "toplink"), 0);

	assert_int_equal(plx_rm_rf_at(f->dfd, "t", &err), 0);
	assert_false(exists_at(f->dfd, "t"));
	assert_true(exists_at(f->dfd, "outside/precious"));

	/* the symlink itself is removed, not what it points at */
	assert_int_equal(plx_rm_rf_at(f->dfd, "toplink", &err), 0);
	assert_false(exists_at(f->dfd, "toplink"));
	assert_true(exists_at(f->dfd, "outside/precious"));
}

static void test_rm_rf_refuses_mount_points(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *mnt = plx_path_join(f->dir, "t/m");
	__do_free char *bind_src = plx_path_join(f->dir, "src");
	__do_free char *bind_dst = plx_path_join(f->dir, "b/dst");

	if (!f->can_mount)
		skip();
	assert_int_equal(plx_mkdir_p(mnt, 0755, &err), 0);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, NULL), 0);
	put(f->dfd, "t/m/other-fs", "z");
	put(f->dfd, "t/mine", "z");

	assert_int_equal(plx_rm_rf_at(f->dfd, "t", &err), -EBUSY);
	assert_string_equal(err.msg, "refusing to remove t/m: a file system is mounted there");
	plx_err_clear(&err);
	assert_true(exists_at(f->dfd, "t/m/other-fs"));

	/* the top itself being a mount point is refused too */
	assert_int_equal(plx_rm_rf_at(f->dfd, "t/m", &err), -EBUSY);
	plx_err_clear(&err);
	assert_true(exists_at(f->dfd, "t/m/other-fs"));

	/* a bind mount of the same file system (same st_dev) is caught as well */
	assert_int_equal(plx_mkdir_p(bind_src, 0755, &err), 0);
	assert_int_equal(plx_mkdir_p(bind_dst, 0755, &err), 0);
	put(f->dfd, "src/kept", "k");
	assert_int_equal(mount(bind_src, bind_dst, NULL, MS_BIND, NULL), 0);
	assert_int_equal(plx_rm_rf_at(f->dfd, "b", &err), -EBUSY);
	assert_string_equal(err.msg, "refusing to remove b/dst: a file system is mounted there");
	plx_err_clear(&err);
	assert_true(exists_at(f->dfd, "src/kept"));

	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	assert_int_equal(umount2(bind_dst, MNT_DETACH), 0);
	assert_int_equal(plx_rm_rf_at(f->dfd, "t", &err), 0);
	assert_int_equal(plx_rm_rf_at(f->dfd, "b", &err), 0);
	assert_false(exists_at(f->dfd, "t"));
	assert_true(exists_at(f->dfd, "src/kept"));
}

static void test_path_abs_table(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *in, *out;
	} table[] = {
		{ "/", "/" },
		{ "//", "/" },
		{ "/a/b", "/a/b" },
		{ "/a//b/", "/a/b" },
		{ "/a/./b/.", "/a/b" },
		{ "/a/b/..", "/a" },
		{ "/a/b/../../..", "/" },
		{ "/..", "/" },
		{ "/../a", "/a" },
		{ "/a/../b/../c", "/c" },
		{ "/a/..b/.c", "/a/..b/.c" },
		{ "/a/b/...", "/a/b/..." },
	};
	__do_free char *saved = getcwd(NULL, 0);

	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		__do_free char *got = plx_path_abs(table[i].in);
		assert_non_null(got);
		assert_string_equal(got, table[i].out);
	}

	/* relative paths are taken from the cwd, lexically */
	assert_int_equal(chdir(f->dir), 0);
	{
		__do_free char *dot = plx_path_abs(".");
		__do_free char *rel = plx_path_abs("x/./y//z/..");
		__do_free char *want = plx_path_join(f->dir, "x/y");
		__do_free char *up = plx_path_abs("..");

		assert_string_equal(dot, f->dir);
		assert_string_equal(rel, want);
		assert_string_equal(up, "/tmp");
	}
	assert_int_equal(chdir(saved), 0);
}

static void test_path_join(void **state)
{
	static const struct {
		const char *a, *b, *out;
	} table[] = {
		{ "/a", "b", "/a/b" },     { "/a/", "b", "/a/b" },   { "/a", "/b", "/a/b" },
		{ "/a//", "//b/c", "/a/b/c" }, { "/", "b", "/b" },   { "/", "/b", "/b" },
		{ "a", "b", "a/b" },       { "", "b", "b" },         { "/a", "", "/a" },
		{ "/a/", "/", "/a" },      { "/", "", "/" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		__do_free char *got = plx_path_join(table[i].a, table[i].b);
		assert_non_null(got);
		assert_string_equal(got, table[i].out);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_read_write_roundtrip),
		T(test_read_missing_names_path),
		T(test_atomic_write_leaves_no_tmp),
		T(test_atomic_write_replaces_stale_tmp_symlink),
		T(test_atomic_write_in_subdir_and_failure),
		T(test_pid_file),
		T(test_mkdir_p),
		T(test_rm_rf_tree),
		T(test_rm_rf_does_not_follow_symlinks),
		T(test_rm_rf_refuses_mount_points),
		T(test_path_abs_table),
		T(test_path_join),
	};
	umask(022);
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
