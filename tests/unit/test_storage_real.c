/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The storage drivers on real filesystems.  Skipped unless the integration
 * tests (tests/integration/test_storage.py) run it with:
 *   PLX_STORAGE_DRIVER  zfs | btrfs | dir
 *   PLX_STORAGE_BASE    the zfs parent dataset or the directory
 *   PLX_STORAGE_FAULT   unset: the whole lifecycle, timed ("TIME op ms" lines);
 *                       missing | readonly | full: the base is in that state
 *   PLX_STORAGE_VOLUME  (faults) an existing volume to snapshot and clone
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "storage/storage.h"
#include "util/fs.h"

static const struct plx_storage_ops *driver(void)
{
	const char *d = getenv("PLX_STORAGE_DRIVER");

	if (!d || !getenv("PLX_STORAGE_BASE"))
		return NULL;
	if (strcmp(d, "zfs") == 0)
		return &plx_storage_zfs_ops;
	if (strcmp(d, "btrfs") == 0)
		return &plx_storage_btrfs_ops;
	if (strcmp(d, "dir") == 0)
		return &plx_storage_dir_ops;
	fail_msg("PLX_STORAGE_DRIVER=%s: expected zfs, btrfs or dir", d);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define TIMED(label, expr)                                                   \
	do {                                                                 \
		double t0_ = now_ms();                                       \
		int r_ = (expr);                                             \
		if (r_ < 0)                                                  \
			fail_msg("%s: %s", label, plx_err_msg(&err));        \
		printf("TIME %s %.2f\n", label, now_ms() - t0_);             \
		fflush(stdout);                                              \
	} while (0)

#define OK(expr)                                                             \
	do {                                                                 \
		if ((expr) < 0)                                              \
			fail_msg("%s: %s", #expr, plx_err_msg(&err));        \
	} while (0)

static void put(const char *dir, const char *name, size_t size)
{
	char *p = plx_path_join(dir, name);
	char *buf = malloc(size);
	struct plx_err err = PLX_ERR_INIT;

	memset(buf, 'x', size);
	if (plx_write_file_at(AT_FDCWD, p, buf, size, 0644, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	free(buf);
	free(p);
}

static bool has(const char *dir, const char *name)
{
	char *p = plx_path_join(dir, name);
	bool ret = access(p, F_OK) == 0;

	free(p);
	return ret;
}

static void test_lifecycle(void **state)
{
	const struct plx_storage_ops *ops = driver();
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage_snapshot *v;
	struct plx_storage *s;
	char *vol, *clone;
	size_t n;
	bool ex;

	if (!ops || getenv("PLX_STORAGE_FAULT"))
		skip();
	OK(plx_storage_open(ops, getenv("PLX_STORAGE_BASE"), &s, &err));
	TIMED("create", plx_storage_create(s, "web+1", 0, &err));
	OK(plx_storage_path(s, "web+1", &vol, &err));
	/* 8 MiB of data, so copies (dir) and O(1) snapshots (zfs, btrfs) differ visibly. */
	put(vol, "before", 8 << 20);
	TIMED("snapshot", plx_storage_snapshot(s, "web+1", "s1", &err));
	put(vol, "after", 4096);
	OK(plx_storage_list_snapshots(s, "web+1", &v, &n, &err));
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "s1");
	assert_true(v[0].created > time(NULL) - 600 && v[0].created <= time(NULL));
	printf("LIST %s %lld %lld\n", v[0].name, (long long)v[0].created, (long long)v[0].size);
	plx_storage_snapshots_free(v, n);

	TIMED("rollback", plx_storage_rollback(s, "web+1", "s1", &err));
	assert_true(has(vol, "before"));
	assert_false(has(vol, "after"));

	TIMED("clone", plx_storage_clone_from(s, "web+1", "s1", "web2", &err));
	OK(plx_storage_path(s, "web2", &clone, &err));
	assert_true(has(clone, "before"));
	put(clone, "clone-only", 100);
	put(vol, "source-only", 100);
	assert_false(has(vol, "clone-only"));
	assert_false(has(clone, "source-only"));

	TIMED("snapshot2", plx_storage_snapshot(s, "web+1", "s2", &err));
	assert_int_equal(plx_storage_rollback(s, "web+1", "s1", &err), -EEXIST);
	assert_non_null(strstr(err.msg, "newer: s2"));
	plx_err_clear(&err);
	OK(plx_storage_list_snapshots(s, "web+1", &v, &n, &err));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "s1");
	assert_string_equal(v[1].name, "s2");
	plx_storage_snapshots_free(v, n);
	TIMED("destroy_snapshot", plx_storage_destroy_snapshot(s, "web+1", "s2", &err));

	/* zfs: a clone depends on its origin snapshot; the source cannot go first. */
	if (ops == &plx_storage_zfs_ops) {
		assert_int_equal(plx_storage_destroy(s, "web+1", &err), -EBUSY);
		assert_non_null(strstr(err.msg, "dependent clones"));
		plx_err_clear(&err);
	}
	TIMED("destroy_clone", plx_storage_destroy(s, "web2", &err));
	TIMED("destroy", plx_storage_destroy(s, "web+1", &err));
	OK(plx_storage_exists(s, "web+1", &ex, &err));
	assert_false(ex);
	OK(plx_storage_exists(s, "web2", &ex, &err));
	assert_false(ex);
	free(vol);
	free(clone);
	plx_storage_free(s);
}

/* After a failed op: the error names base (or the volume under it), and nothing was made. */
static void expect_clean_failure(int ret, struct plx_err *err, const char *what, const char *base,
				 const char *fault)
{
	printf("FAULT %s %s -> %d %s\n", fault, what, ret, ret < 0 ? plx_err_msg(err) : "ok");
	fflush(stdout);
	assert_true(ret < 0);
	assert_non_null(err->msg);
	if (!strstr(err->msg, base))
		fail_msg("%s: the message \"%s\" does not name %s", what, err->msg, base);
	plx_err_clear(err);
}

static void test_fault(void **state)
{
	const struct plx_storage_ops *ops = driver();
	const char *fault = getenv("PLX_STORAGE_FAULT");
	const char *base = getenv("PLX_STORAGE_BASE");
	const char *volume = getenv("PLX_STORAGE_VOLUME");
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage_snapshot *v;
	struct plx_storage *s;
	bool ex, must_fail;
	size_t n;
	int ret;

	if (!ops || !fault)
		skip();
	ret = plx_storage_open(ops, base, &s, &err);
	if (strcmp(fault, "missing") == 0) {
		assert_int_equal(ret, -ENOENT);
		expect_clean_failure(ret, &err, "open", base, fault);
		return;
	}
	OK(ret);
	assert_non_null(volume);

	/* Read-only refuses everything that writes; on a full pool zfs and btrfs may still make O(1) things. */
	must_fail = strcmp(fault, "readonly") == 0;
	ret = plx_storage_create(s, "fault-new", 0, &err);
	if (ret == 0 && !must_fail) {
		printf("FAULT %s create -> 0 ok\n", fault);
		OK(plx_storage_destroy(s, "fault-new", &err));
	} else {
		expect_clean_failure(ret, &err, "create", base, fault);
	}
	OK(plx_storage_exists(s, "fault-new", &ex, &err));
	assert_false(ex);

	/* zfs snapshots need no space and may be taken of a read-only dataset. */
	ret = plx_storage_snapshot(s, volume, "fault-snap", &err);
	if (ret == 0 && (!must_fail || ops == &plx_storage_zfs_ops)) {
		printf("FAULT %s snapshot -> 0 ok\n", fault);
		OK(plx_storage_destroy_snapshot(s, volume, "fault-snap", &err));
	} else {
		expect_clean_failure(ret, &err, "snapshot", base, fault);
	}
	OK(plx_storage_list_snapshots(s, volume, &v, &n, &err));
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(v[i].name, "fault-snap");
	plx_storage_snapshots_free(v, n);

	ret = plx_storage_clone_from(s, volume, "base", "fault-clone", &err);
	if (ret == 0 && !must_fail) {
		printf("FAULT %s clone -> 0 ok\n", fault);
		OK(plx_storage_destroy(s, "fault-clone", &err));
	} else {
		expect_clean_failure(ret, &err, "clone", base, fault);
	}
	OK(plx_storage_exists(s, "fault-clone", &ex, &err));
	assert_false(ex);
	plx_storage_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_fault),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
