/* SPDX-License-Identifier: Apache-2.0 */
/* The "storage" config section and the per-container driver choice. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "storage/storage_config.h"

static json_t *parse_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	assert_non_null(j);
	return j;
}

/* Parse text; returns the code and leaves the message in *msg (caller frees). */
static int parse(const char *text, struct plx_storage_config *c, char **msg)
{
	struct plx_err err = PLX_ERR_INIT;
	json_t *j = parse_json(text);
	int ret = plx_storage_config_parse(j, c, &err);

	json_decref(j);
	*msg = err.msg;
	return ret;
}

static void test_full_section(void **state)
{
	struct plx_storage_config c;
	char *msg;

	assert_int_equal(parse("{\"driver\": \"zfs\", \"zfs\": {\"parent\": \"tank/ct\"},"
			       " \"btrfs\": {\"path\": \"/srv/b\"}, \"dir\": {\"path\": \"/srv/d\"}}",
			       &c, &msg),
			 0);
	assert_null(msg);
	assert_int_equal(c.driver, PLX_STORAGE_ZFS);
	assert_string_equal(c.zfs_parent, "tank/ct");
	assert_string_equal(c.btrfs_path, "/srv/b");
	assert_string_equal(c.dir_path, "/srv/d");
	plx_storage_config_clear(&c);
	assert_null(c.zfs_parent);
}

static void test_absent_section_is_none(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage_config c;

	assert_int_equal(plx_storage_config_parse(NULL, &c, &err), 0);
	assert_int_equal(c.driver, PLX_STORAGE_NONE);
	assert_null(c.dir_path);
}

static void expect_error(const char *text, int code, const char *needle)
{
	struct plx_storage_config c;
	char *msg = NULL;

	assert_int_equal(parse(text, &c, &msg), -code);
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" does not contain \"%s\"", msg, needle);
	free(msg);
	assert_null(c.zfs_parent);
}

static void test_errors_name_the_key(void **state)
{
	expect_error("[]", EINVAL, "storage: expected object, got array");
	expect_error("{\"driver\": 3}", EINVAL, "storage.driver: expected string, got integer");
	expect_error("{\"driver\": \"lvm\"}", EINVAL,
		     "storage.driver: expected one of dir, btrfs, zfs, got \"lvm\"");
	expect_error("{\"drvier\": \"zfs\"}", EINVAL, "storage.drvier: unknown key");
	expect_error("{\"zfs\": {\"parent\": 1}}", EINVAL, "storage.zfs.parent: expected string, got integer");
	expect_error("{\"zfs\": {\"pool\": \"tank\"}}", EINVAL, "storage.zfs.pool: unknown key");
	expect_error("{\"zfs\": {}}", EINVAL, "storage.zfs: missing key \"parent\"");
	expect_error("{\"zfs\": \"tank\"}", EINVAL, "storage.zfs: expected object, got string");
	expect_error("{\"zfs\": {\"parent\": \"tank/ct@snap\"}}", EINVAL,
		     "storage.zfs.parent: expected a dataset name");
	expect_error("{\"zfs\": {\"parent\": \"/tank\"}}", EINVAL, "storage.zfs.parent: expected a dataset name");
	expect_error("{\"btrfs\": {\"path\": \"rel/dir\"}}", EINVAL,
		     "storage.btrfs.path: expected an absolute path, got \"rel/dir\"");
	expect_error("{\"dir\": {\"path\": \"\"}}", EINVAL, "storage.dir.path: must not be empty");
	/* A default driver whose own section is missing. */
	expect_error("{\"driver\": \"btrfs\", \"zfs\": {\"parent\": \"tank\"}}", EINVAL,
		     "storage.driver is \"btrfs\" but storage.btrfs.path is not set");
}

static void test_pick(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage_config c;
	enum plx_storage_driver d;
	char *msg;
	json_t *a;

	assert_int_equal(parse("{\"driver\": \"dir\", \"dir\": {\"path\": \"/d\"}, \"zfs\": {\"parent\": \"t/c\"}}",
			       &c, &msg),
			 0);
	/* no annotations: the config's default */
	assert_int_equal(plx_storage_pick(&c, NULL, &d, &err), 0);
	assert_int_equal(d, PLX_STORAGE_DIR);
	/* the annotation wins */
	a = parse_json("{\"org.proxmox-lxcri.storage\": \"zfs\", \"other\": \"x\"}");
	assert_int_equal(plx_storage_pick(&c, a, &d, &err), 0);
	assert_int_equal(d, PLX_STORAGE_ZFS);
	json_decref(a);
	/* a driver the config does not set up */
	a = parse_json("{\"org.proxmox-lxcri.storage\": \"btrfs\"}");
	assert_int_equal(plx_storage_pick(&c, a, &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "org.proxmox-lxcri.storage=btrfs: the runtime config does not set "
					"storage.btrfs.path"));
	plx_err_clear(&err);
	json_decref(a);
	a = parse_json("{\"org.proxmox-lxcri.storage\": \"nfs\"}");
	assert_int_equal(plx_storage_pick(&c, a, &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expected one of dir, btrfs, zfs, got \"nfs\""));
	plx_err_clear(&err);
	json_decref(a);
	plx_storage_config_clear(&c);

	/* nothing configured, no annotation: none (the bundle's rootfs) */
	assert_int_equal(plx_storage_config_parse(NULL, &c, &err), 0);
	assert_int_equal(plx_storage_pick(&c, NULL, &d, &err), 0);
	assert_int_equal(d, PLX_STORAGE_NONE);
	assert_int_equal(plx_storage_open_configured(&c, PLX_STORAGE_ZFS, &(struct plx_storage *){ NULL }, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "storage.zfs.parent is not set"));
	plx_err_clear(&err);
}

static void test_driver_names(void **state)
{
	enum plx_storage_driver d;

	assert_int_equal(plx_storage_driver_from_name("btrfs", &d), 0);
	assert_int_equal(d, PLX_STORAGE_BTRFS);
	assert_string_equal(plx_storage_driver_name(PLX_STORAGE_ZFS), "zfs");
	assert_int_equal(plx_storage_driver_from_name("none", &d), -EINVAL);
	assert_int_equal(plx_storage_driver_from_name("ZFS", &d), -EINVAL);
}

static void test_size(void **state)
{
	struct plx_storage_config c;
	char *msg;

	assert_int_equal(parse("{\"dir\": {\"path\": \"/d\"}, \"size\": \"2G\"}", &c, &msg), 0);
	assert_true(c.size == 2ULL << 30);
	plx_storage_config_clear(&c);
	assert_true(c.size == 0);
	assert_int_equal(parse("{\"size\": 4096}", &c, &msg), 0);
	assert_true(c.size == 4096);
	plx_storage_config_clear(&c);
	assert_int_equal(parse("{\"size\": \"8X\"}", &c, &msg), -EINVAL);
	assert_non_null(strstr(msg, "storage.size"));
	free(msg);
	assert_int_equal(parse("{\"size\": 0}", &c, &msg), -EINVAL);
	assert_non_null(strstr(msg, "storage.size"));
	free(msg);
	assert_int_equal(parse("{\"size\": true}", &c, &msg), -EINVAL);
	assert_non_null(strstr(msg, "storage.size: expected string or integer, got"));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_section),
		cmocka_unit_test(test_absent_section_is_none),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_driver_names),
		cmocka_unit_test(test_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
