/* SPDX-License-Identifier: Apache-2.0 */
/* Name checks, the ID to zfs dataset mapping and the parsing of `zfs get -H -p` output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/storage.h"
#include "storage/storage_exec.h"
#include "storage/storage_zfs.h"

static int check_id(const char *id)
{
	struct plx_err err = PLX_ERR_INIT;
	int ret = plx_storage_check_id(id, &err);

	if (ret < 0)
		assert_non_null(err.msg);
	plx_err_clear(&err);
	return ret;
}

static void test_ids(void **state)
{
	char long_id[300];

	/* runc's charset [\w+\-.] */
	assert_int_equal(check_id("abc-DEF_09.x+y"), 0);
	assert_int_equal(check_id(".hidden"), 0);
	assert_int_equal(check_id(""), -EINVAL);
	assert_int_equal(check_id("."), -EINVAL);
	assert_int_equal(check_id(".."), -EINVAL);
	assert_int_equal(check_id("a/b"), -EINVAL);
	assert_int_equal(check_id("a@b"), -EINVAL);
	assert_int_equal(check_id("a:b"), -EINVAL);
	assert_int_equal(check_id("a b"), -EINVAL);
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(check_id(long_id), -EINVAL);
	long_id[200] = '\0';
	assert_int_equal(check_id(long_id), 0);
}

static void test_snapshot_names(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_storage_check_snapshot_name("checkpoint-1700000000", &err), 0);
	assert_int_equal(plx_storage_check_snapshot_name("a.b_c-d", &err), 0);
	assert_int_equal(plx_storage_check_snapshot_name(".x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "must not start with '.'"));
	plx_err_clear(&err);
	assert_int_equal(plx_storage_check_snapshot_name("a+b", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid snapshot name \"a+b\""));
	plx_err_clear(&err);
	assert_int_equal(plx_storage_check_snapshot_name("a@b", &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_storage_check_snapshot_name("", &err), -EINVAL);
	plx_err_clear(&err);
}

static void test_zfs_dataset_maps_plus(void **state)
{
	char *ds = plx_zfs_dataset("tank/ct+x", "web+1.a");

	/* Only the ID part is mapped; '+' (refused by zfs) becomes ':' (never in a runc ID). */
	assert_string_equal(ds, "tank/ct+x/web:1.a");
	free(ds);
	ds = plx_zfs_dataset("tank", "plain");
	assert_string_equal(ds, "tank/plain");
	free(ds);
}

static void test_zfs_parse_props(void **state)
{
	/* Real `zfs get -H -p -o name,property,value creation,used A@s1 A@s2` output. */
	const char *text = "tank/ct/a@s1\tcreation\t1795448414\n"
			   "tank/ct/a@s1\tused\t0\n"
			   "tank/ct/a@s2\tcreation\t1795448420\n"
			   "tank/ct/a@s2\tused\t73728\n";
	char *names[] = { "tank/ct/a@s1", "tank/ct/a@s2", NULL };
	struct plx_storage_snapshot *v;
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_zfs_parse_snapshot_props(text, names, 2, &v, &err), 0);
	assert_string_equal(v[0].name, "s1");
	assert_int_equal(v[0].created, 1795448414);
	assert_int_equal(v[0].size, 0);
	assert_string_equal(v[1].name, "s2");
	assert_int_equal(v[1].created, 1795448420);
	assert_int_equal(v[1].size, 73728);
	plx_storage_snapshots_free(v, 2);

	/* a missing property */
	assert_int_equal(plx_zfs_parse_snapshot_props("tank/ct/a@s1\tcreation\t5\n", names, 1, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no used for tank/ct/a@s1"));
	plx_err_clear(&err);
	/* a non-parsable value (what `zfs get` without -p prints) */
	assert_int_equal(plx_zfs_parse_snapshot_props("tank/ct/a@s1\tcreation\tMon Nov 23 15:40 2026\n"
						      "tank/ct/a@s1\tused\t0\n",
						      names, 1, &v, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "tank/ct/a@s1 creation: expected an integer"));
	plx_err_clear(&err);
	/* a malformed line */
	assert_int_equal(plx_zfs_parse_snapshot_props("garbage\n", names, 1, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unexpected line \"garbage\""));
	plx_err_clear(&err);
}

static void test_split_lines(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char **v;

	assert_int_equal(plx_zfs_split_lines("a@1\nb@2\n\n", &v, &err), 0);
	assert_string_equal(v[0], "a@1");
	assert_string_equal(v[1], "b@2");
	assert_null(v[2]);
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
	assert_int_equal(plx_zfs_split_lines("", &v, &err), 0);
	assert_null(v[0]);
	free(v);
}

static void test_errno_from_message(void **state)
{
	assert_int_equal(plx_storage_errno_from_message("cannot open 'x/y': dataset does not exist"), ENOENT);
	assert_int_equal(plx_storage_errno_from_message("cannot create 'p/a': out of space"), ENOSPC);
	assert_int_equal(plx_storage_errno_from_message("cannot destroy 'p/a': dataset is busy"), EBUSY);
	assert_int_equal(plx_storage_errno_from_message("cannot create 'p/a': dataset already exists"), EEXIST);
	assert_int_equal(plx_storage_errno_from_message("something else"), EIO);
}

static void test_run(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char *argv_ok[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	char *argv_fail[] = { "sh", "-c", "echo 'cannot open: dataset does not exist' >&2; exit 1", NULL };
	char *argv_missing[] = { "plx-no-such-command", NULL };
	char *out;

	assert_int_equal(plx_storage_run(argv_ok, &out, &err), 0);
	assert_string_equal(out, "out\n");
	free(out);
	assert_int_equal(plx_storage_run(argv_fail, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot open: dataset does not exist (exit 1)"));
	plx_err_clear(&err);
	assert_int_equal(plx_storage_run(argv_missing, NULL, &err), -ENOPKG);
	assert_non_null(strstr(err.msg, "cannot run plx-no-such-command"));
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_snapshot_names),
		cmocka_unit_test(test_zfs_dataset_maps_plus),
		cmocka_unit_test(test_zfs_parse_props),
		cmocka_unit_test(test_split_lines),
		cmocka_unit_test(test_errno_from_message),
		cmocka_unit_test(test_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
