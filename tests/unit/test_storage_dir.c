/* SPDX-License-Identifier: Apache-2.0 */
/* The dir driver end to end in a temporary directory (any filesystem, no privileges needed). */
#include <dirent.h>
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

#include "storage/storage.h"
#include "util/fs.h"

struct fixture {
	char base[64];
	struct plx_storage *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct plx_err err = PLX_ERR_INIT;

	strcpy(f->base, "/tmp/plx-storage-dir-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	assert_int_equal(plx_storage_open(&plx_storage_dir_ops, f->base, &f->s, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	plx_storage_free(f->s);
	plx_rm_rf_at(AT_FDCWD, f->base, &err);
	plx_err_clear(&err);
	free(f);
	return 0;
}

static void put(const char *dir, const char *name, const char *content)
{
	char *p = plx_path_join(dir, name);
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_write_file_at(AT_FDCWD, p, content, strlen(content), 0640, &err), 0);
	free(p);
}

static bool has(const char *dir, const char *name)
{
	char *p = plx_path_join(dir, name);
	bool ret = access(p, F_OK) == 0;

	free(p);
	return ret;
}

static int count_entries(const char *base, const char *sub)
{
	char *p = plx_path_join(base, sub);
	DIR *d = opendir(p);
	struct dirent *de;
	int n = 0;

	free(p);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage_snapshot *v;
	char *vol, *clone, *p, *q;
	struct stat a, b;
	size_t n;
	bool ex;

	assert_int_equal(plx_storage_create(f->s, "ct+1", 0, &err), 0);
	assert_int_equal(plx_storage_exists(f->s, "ct+1", &ex, &err), 0);
	assert_true(ex);
	assert_int_equal(plx_storage_path(f->s, "ct+1", &vol, &err), 0);
	put(vol, "before", "1");
	p = plx_path_join(vol, "before");
	q = plx_path_join(vol, "link");
	assert_int_equal(link(p, q), 0);
	free(p);
	free(q);

	assert_int_equal(plx_storage_snapshot(f->s, "ct+1", "s1", &err), 0);
	assert_int_equal(plx_storage_snapshot(f->s, "ct+1", "s1", &err), -EEXIST);
	plx_err_clear(&err);
	put(vol, "after", "2");

	assert_int_equal(plx_storage_list_snapshots(f->s, "ct+1", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "s1");
	assert_true(v[0].created > 1600000000);
	assert_true(v[0].size > 0);
	plx_storage_snapshots_free(v, n);

	assert_int_equal(plx_storage_rollback(f->s, "ct+1", "s1", &err), 0);
	assert_true(has(vol, "before"));
	assert_false(has(vol, "after"));
	/* hard links survive the copies */
	p = plx_path_join(vol, "before");
	q = plx_path_join(vol, "link");
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(stat(q, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_mode & 07777, 0640);
	free(p);
	free(q);

	/* clone: independent of the source */
	assert_int_equal(plx_storage_clone_from(f->s, "ct+1", "s1", "ct2", &err), 0);
	assert_int_equal(plx_storage_path(f->s, "ct2", &clone, &err), 0);
	assert_true(has(clone, "before"));
	put(clone, "only-in-clone", "3");
	assert_false(has(vol, "only-in-clone"));
	assert_int_equal(plx_storage_clone_from(f->s, "ct+1", "s1", "ct2", &err), -EEXIST);
	plx_err_clear(&err);

	/* rollback only to the latest snapshot */
	assert_int_equal(plx_storage_snapshot(f->s, "ct+1", "s2", &err), 0);
	assert_int_equal(plx_storage_rollback(f->s, "ct+1", "s1", &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not the most recent snapshot (newer: s2)"));
	plx_err_clear(&err);
	assert_int_equal(plx_storage_rollback(f->s, "ct+1", "nope", &err), -ENOENT);
	plx_err_clear(&err);
	assert_int_equal(plx_storage_destroy_snapshot(f->s, "ct+1", "s2", &err), 0);
	assert_int_equal(plx_storage_list_snapshots(f->s, "ct+1", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	plx_storage_snapshots_free(v, n);

	assert_int_equal(plx_storage_destroy(f->s, "ct+1", &err), 0);
	assert_int_equal(plx_storage_destroy(f->s, "ct2", &err), 0);
	assert_int_equal(plx_storage_exists(f->s, "ct+1", &ex, &err), 0);
	assert_false(ex);
	assert_int_equal(plx_storage_destroy(f->s, "ct+1", &err), -ENOENT);
	plx_err_clear(&err);
	assert_int_equal(count_entries(f->base, "volumes"), 0);
	assert_int_equal(count_entries(f->base, "snapshots"), 0);
	assert_int_equal(count_entries(f->base, "tmp"), 0);
	free(vol);
	free(clone);
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage *s;

	assert_int_equal(plx_storage_create(f->s, "ct", 1 << 20, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "dir cannot limit the size of ct"));
	plx_err_clear(&err);
	assert_false(has(f->base, "volumes/ct"));
	assert_int_equal(plx_storage_create(f->s, "../x", 0, &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_storage_snapshot(f->s, "missing", "s", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "volume does not exist"));
	plx_err_clear(&err);
	assert_int_equal(plx_storage_clone_from(f->s, "missing", "s", "new", &err), -ENOENT);
	plx_err_clear(&err);
	assert_int_equal(plx_storage_open(&plx_storage_dir_ops, "/nonexistent/plx", &s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "storage directory does not exist (/nonexistent/plx)"));
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
