/* SPDX-License-Identifier: Apache-2.0 */
/* linux.devices and the /dev symlinks, made under a temporary root (mknod needs root). */
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
#include <unistd.h>
#include <cmocka.h>

#include "process/devices.h"

static char root[64];

static int setup(void **state)
{
	char dev[128];

	strcpy(root, "/tmp/plx-dev-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(dev, sizeof(dev), "%s/dev", root);
	return mkdir(dev, 0755);
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void lstat_in_root(const char *rel, struct stat *st)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_int_equal(lstat(path, st), 0);
}

static void test_create_devices(void **state)
{
	struct oci_device v[] = {
		{ .path = "/dev/mynull",
		  .type = 'c',
		  .major = 1,
		  .minor = 3,
		  .has_file_mode = true,
		  .file_mode = 0640,
		  .has_uid = true,
		  .uid = 1000,
		  .has_gid = true,
		  .gid = 1001 },
		{ .path = "/dev/deep/er/loop9", .type = 'b', .major = 7, .minor = 9 },
		{ .path = "/dev/fifo", .type = 'p', .has_file_mode = true, .file_mode = 0600 },
		{ .path = "/dev/unbuf", .type = 'u', .major = 1, .minor = 5 },
	};
	struct plx_err err = PLX_ERR_INIT;
	struct stat st;
	char path[256];

	if (geteuid() != 0)
		skip();
	/* an existing node is replaced */
	snprintf(path, sizeof(path), "%s/dev/mynull", root);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);

	mode_t old = umask(077);
	int r = plx_devices_create(root, v, 4, &err);
	umask(old);
	if (r < 0)
		fail_msg("%s", err.msg);

	lstat_in_root("/dev/mynull", &st);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);

	lstat_in_root("/dev/deep/er/loop9", &st);
	assert_true(S_ISBLK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666); /* the default, umask ignored */
	assert_int_equal(st.st_rdev, makedev(7, 9));
	assert_int_equal(st.st_uid, 0);
	lstat_in_root("/dev/deep/er", &st);
	assert_int_equal(st.st_mode & 07777, 0755 & ~077); /* parents follow the umask */

	lstat_in_root("/dev/fifo", &st);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	lstat_in_root("/dev/unbuf", &st);
	assert_true(S_ISCHR(st.st_mode));
}

static void test_device_errors(void **state)
{
	struct oci_device dir = { .path = "/dev", .type = 'c', .major = 1, .minor = 3 };
	struct oci_device bad = { .path = "/dev/x", .type = 'z' };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_devices_create(root, &bad, 1, &err), -EINVAL);
	assert_string_equal(err.msg, "linux.devices[0] /dev/x: unknown type 'z'");
	/* a directory is never replaced */
	assert_int_equal(plx_devices_create(root, &dir, 1, &err), -EISDIR);
	assert_string_equal(err.msg, "linux.devices[0] /dev: remove the existing node: Is a directory");
	plx_err_clear(&err);
}

static void test_symlinks(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char path[256], target[256];

	/* an existing entry is left alone */
	snprintf(path, sizeof(path), "%s/dev/ptmx", root);
	assert_int_equal(symlink("/somewhere/else", path), 0);
	assert_int_equal(plx_dev_symlinks(root, &err), 0);

	static const char *const want[][2] = {
		{ "/dev/fd", "/proc/self/fd" },	      { "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
		{ "/dev/ptmx", "/somewhere/else" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, want[i][0]);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, want[i][1]);
	}
	/* no /proc/kcore under this root: no /dev/core */
	snprintf(path, sizeof(path), "%s/dev/core", root);
	assert_int_equal(access(path, F_OK), -1);
	/* idempotent */
	assert_int_equal(plx_dev_symlinks(root, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_devices),
		cmocka_unit_test(test_device_errors),
		cmocka_unit_test(test_symlinks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
