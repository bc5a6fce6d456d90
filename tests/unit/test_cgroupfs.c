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
#include <sys/vfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Build fake /sys/fs/cgroup layouts with real mounts, in a mount namespace of our own. */
static void test_layout_detection(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char dir[] = "/tmp/plx-test-cgroupfs-XXXXXX";
	__do_free char *legacy = NULL, *unified = NULL, *pure = NULL, *plain = NULL;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	legacy = plx_path_join(dir, "legacy");
	unified = plx_path_join(dir, "legacy/unified");
	pure = plx_path_join(dir, "pure");
	plain = plx_path_join(dir, "plain");
	assert_int_equal(mkdir(legacy, 0755), 0);
	assert_int_equal(mkdir(pure, 0755), 0);
	assert_int_equal(mkdir(plain, 0755), 0);

	/* a tmpfs holding v1 hierarchies only */
	assert_int_equal(mount("tmpfs", legacy, "tmpfs", 0, NULL), 0);
	assert_int_equal(plx_cgroup_layout_of(legacy), PLX_CGROUP_LEGACY);
	/* plus the v2 one at unified/ */
	assert_int_equal(mkdir(unified, 0755), 0);
	assert_int_equal(mount("cgroup2", unified, "cgroup2", 0, NULL), 0);
	assert_int_equal(plx_cgroup_layout_of(legacy), PLX_CGROUP_HYBRID);
	/* v2 at the top */
	assert_int_equal(mount("cgroup2", pure, "cgroup2", 0, NULL), 0);
	assert_int_equal(plx_cgroup_layout_of(pure), PLX_CGROUP_PURE_V2);
	/* neither: a plain directory on a tmpfs-less disk, or nothing at all */
	if (plx_cgroup_layout_of(plain) != PLX_CGROUP_LEGACY) /* /tmp itself may be a tmpfs */
		assert_int_equal(plx_cgroup_layout_of(plain), PLX_CGROUP_UNKNOWN);
	assert_int_equal(plx_cgroup_layout_of("/nonexistent-plx"), PLX_CGROUP_UNKNOWN);

	assert_int_equal(umount2(unified, MNT_DETACH), 0);
	assert_int_equal(umount2(legacy, MNT_DETACH), 0);
	assert_int_equal(umount2(pure, MNT_DETACH), 0);
	assert_int_equal(plx_rm_rf_at(AT_FDCWD, dir, &err), 0);
}

static void test_host_paths(void **state)
{
	__do_free char *v1 = plx_cgroup_v1_path("freezer", "/a/b");
	__do_free char *v1rel = plx_cgroup_v1_path("memory", "x");
	__do_free char *v1root = plx_cgroup_v1_path("pids", NULL);
	__do_free char *v2 = plx_cgroup_v2_path("/a/b");
	enum plx_cgroup_layout l = plx_cgroup_layout();

	assert_int_equal(l, plx_cgroup_layout_of(PLX_CGROUP_ROOT));
	assert_string_equal(v1, "/sys/fs/cgroup/freezer/a/b");
	assert_string_equal(v1rel, "/sys/fs/cgroup/memory/x");
	assert_string_equal(v1root, "/sys/fs/cgroup/pids");
	switch (l) {
	case PLX_CGROUP_PURE_V2:
		assert_string_equal(plx_cgroup_v2_mount(), "/sys/fs/cgroup");
		assert_string_equal(v2, "/sys/fs/cgroup/a/b");
		break;
	case PLX_CGROUP_HYBRID:
		assert_string_equal(plx_cgroup_v2_mount(), "/sys/fs/cgroup/unified");
		assert_string_equal(v2, "/sys/fs/cgroup/unified/a/b");
		break;
	default:
		assert_null(plx_cgroup_v2_mount());
		assert_null(v2);
		assert_int_equal(errno, ENOENT);
		break;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_paths),
		cmocka_unit_test(test_layout_detection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
