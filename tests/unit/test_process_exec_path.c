/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving process.args[0] inside a temporary root, with runc's (Go's) error texts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/exec_path.h"
#include "util/cleanup.h"

static char root[64];

static void make_file(const char *rel, mode_t mode)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	char path[256];

	strcpy(root, "/tmp/plx-exec-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	for (const char *const *d = (const char *const[]){ "bin", "usr", "usr/bin", "bin/dir", "work", NULL };
	     *d; d++) {
		snprintf(path, sizeof(path), "%s/%s", root, *d);
		if (mkdir(path, 0755) < 0)
			return -1;
	}
	make_file("bin/prog", 0755);
	make_file("usr/bin/other", 0755);
	make_file("usr/bin/prog", 0755);
	make_file("bin/noexec", 0644);
	make_file("usr/bin/noexec", 0644);
	make_file("work/local", 0700);
	/* absolute symlinks must resolve inside root, not on the host */
	snprintf(path, sizeof(path), "%s/bin/link", root);
	if (symlink("/bin/prog", path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/bin/escape", root);
	if (symlink("../../../../../../bin/prog", path) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_ok(const char *cwd, const char *name, const char *path_env, const char *want)
{
	struct plx_err err = PLX_ERR_INIT;
	char *out = NULL;

	int r = plx_exec_path_resolve(root, cwd, name, path_env, &out, &err);
	if (r < 0)
		fail_msg("%s: %s", name, err.msg);
	assert_string_equal(out, want);
	free(out);
}

static void expect_err(const char *cwd, const char *name, const char *path_env, int code, const char *msg)
{
	struct plx_err err = PLX_ERR_INIT;
	char *out = NULL;

	assert_int_equal(plx_exec_path_resolve(root, cwd, name, path_env, &out, &err), -code);
	assert_null(out);
	assert_string_equal(err.msg, msg);
	plx_err_clear(&err);
}

static void test_absolute(void **state)
{
	expect_ok("/", "/bin/prog", NULL, "/bin/prog");
	expect_ok("/", "/bin/link", NULL, "/bin/link");
	/* ".." at the top stays in root, as after pivot_root */
	expect_ok("/", "/bin/escape", NULL, "/bin/escape");
	expect_err("/", "/nonexistent", NULL, ENOENT,
		   "exec: \"/nonexistent\": stat /nonexistent: no such file or directory");
	expect_err("/", "/bin/noexec", NULL, EACCES, "exec: \"/bin/noexec\": permission denied");
	expect_err("/", "/bin/dir", NULL, EISDIR, "exec: \"/bin/dir\": is a directory");
	expect_err("/", "/bin/prog/x", NULL, ENOTDIR,
		   "exec: \"/bin/prog/x\": stat /bin/prog/x: not a directory");
}

static void test_relative_with_slash_uses_cwd(void **state)
{
	expect_ok("/work", "./local", NULL, "./local");
	expect_ok("/bin", "../usr/bin/other", NULL, "../usr/bin/other");
	expect_err("/", "./local", NULL, ENOENT,
		   "exec: \"./local\": stat ./local: no such file or directory");
}

static void test_path_search(void **state)
{
	expect_ok("/", "prog", "/usr/bin:/bin", "/usr/bin/prog");
	expect_ok("/", "prog", "/nowhere:/bin/", "/bin/prog");
	expect_ok("/", "other", "/bin:/usr/bin", "/usr/bin/other");
	/* no PATH in process.env: the default one */
	expect_ok("/", "other", NULL, "/usr/bin/other");
	/* an empty entry is the cwd */
	expect_ok("/work", "local", "/bin::/usr/bin", "local");
	/* not executable anywhere: not found, as Go says */
	expect_err("/", "noexec", "/bin:/usr/bin", ENOENT,
		   "exec: \"noexec\": executable file not found in $PATH");
	expect_err("/", "nope", NULL, ENOENT, "exec: \"nope\": executable file not found in $PATH");
	expect_err("/", "dir", "/bin", ENOENT, "exec: \"dir\": executable file not found in $PATH");
	expect_err("/", "", NULL, ENOENT, "exec: \"\": executable file not found in $PATH");
}

static void test_bad_root(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char *out = NULL;

	assert_int_equal(plx_exec_path_resolve("/nonexistent-root", "/", "sh", NULL, &out, &err), -ENOENT);
	assert_string_equal(err.msg, "open root /nonexistent-root: No such file or directory");
	plx_err_clear(&err);
}

static void test_go_strerror(void **state)
{
	char buf[64];

	assert_string_equal(plx_go_strerror(ENOENT, buf, sizeof(buf)), "no such file or directory");
	assert_string_equal(plx_go_strerror(EACCES, buf, sizeof(buf)), "permission denied");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute),    cmocka_unit_test(test_relative_with_slash_uses_cwd),
		cmocka_unit_test(test_path_search), cmocka_unit_test(test_bad_root),
		cmocka_unit_test(test_go_strerror),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
