/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The managed rootfs (core/rootfs.h) on the dir driver in a temporary
 * directory: driver and size choice, plan/make/release, clones of
 * snapshots, nothing left on failure.  zfs and btrfs run in
 * tests/integration/test_managed_rootfs.py.
 */
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

#include "core/rootfs.h"
#include "core/state.h"
#include "storage/storage_config.h"
#include "util/fs.h"

struct fixture {
	char top[64];
	char *store;  /* the dir driver's base */
	char *bundle; /* a bundle rootfs with one file */
	struct plx_config cfg;
};

static void put(const char *dir, const char *name, const char *content)
{
	char *p = plx_path_join(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	free(p);
}

static char *slurp(const char *dir, const char *name)
{
	char *p = plx_path_join(dir, name), *buf = NULL;
	struct plx_err err = PLX_ERR_INIT;

	if (plx_read_file_at(AT_FDCWD, p, &buf, NULL, &err) < 0)
		buf = NULL;
	plx_err_clear(&err);
	free(p);
	return buf;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->top, "/tmp/plx-rootfs-XXXXXX");
	assert_non_null(mkdtemp(f->top));
	f->store = plx_path_join(f->top, "store");
	f->bundle = plx_path_join(f->top, "rootfs");
	assert_int_equal(mkdir(f->store, 0700), 0);
	assert_int_equal(mkdir(f->bundle, 0755), 0);
	put(f->bundle, "hello", "world\n");
	f->cfg.storage = json_pack("{s:{s:s}}", "dir", "path", f->store);
	assert_non_null(f->cfg.storage);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	plx_rm_rf_at(AT_FDCWD, f->top, &err);
	plx_err_clear(&err);
	json_decref(f->cfg.storage);
	free(f->store);
	free(f->bundle);
	free(f);
	return 0;
}

/* Entries in store/volumes + store/tmp: what a failure must not leave. */
static int leftovers(const struct fixture *f)
{
	int n = 0;

	for (const char *sub = "volumes"; sub; sub = strcmp(sub, "volumes") == 0 ? "tmp" : NULL) {
		char *p = plx_path_join(f->store, sub);
		DIR *d = opendir(p);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				n++;
		if (d)
			closedir(d);
		free(p);
	}
	return n;
}

static void test_parse_size(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	uint64_t v = 0;

	assert_int_equal(plx_rootfs_parse_size("8G", "x", &v, &err), 0);
	assert_true(v == 8ULL << 30);
	assert_int_equal(plx_rootfs_parse_size("512m", "x", &v, &err), 0);
	assert_true(v == 512ULL << 20);
	assert_int_equal(plx_rootfs_parse_size("1KiB", "x", &v, &err), 0);
	assert_true(v == 1024);
	assert_int_equal(plx_rootfs_parse_size("1073741824", "x", &v, &err), 0);
	assert_true(v == 1073741824ULL);
	assert_int_equal(plx_rootfs_parse_size("0", "annotation a", &v, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "annotation a"));
	plx_err_clear(&err);
	assert_int_equal(plx_rootfs_parse_size("8Q", "x", &v, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "unknown unit"));
	plx_err_clear(&err);
	assert_int_equal(plx_rootfs_parse_size("-1", "x", &v, &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_rootfs_parse_size("99999999999T", "x", &v, &err), -ERANGE);
	plx_err_clear(&err);
	assert_int_equal(plx_rootfs_parse_size("", "x", &v, &err), -EINVAL);
	plx_err_clear(&err);
}

static void test_no_driver_no_record(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	json_t *rec = (json_t *)1;
	char *path = (char *)1;

	/* dir is configured but not chosen: the bundle's rootfs is used as runc does */
	assert_int_equal(plx_rootfs_prepare(&f->cfg, "c1", NULL, f->bundle, &path, &rec, &err), 0);
	assert_null(rec);
	assert_null(path);
	assert_int_equal(leftovers(f), 0);
}

static void test_prepare_copy_and_release(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	json_t *ann = json_pack("{s:s}", PLX_STORAGE_ANNOTATION, "dir");
	json_t *rec = NULL;
	char *path = NULL, *s;

	assert_int_equal(plx_rootfs_prepare(&f->cfg, "web+1", ann, f->bundle, &path, &rec, &err), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "driver")), "dir");
	assert_string_equal(json_string_value(json_object_get(rec, "base")), f->store);
	assert_string_equal(json_string_value(json_object_get(rec, "volume")), "web+1");
	assert_string_equal(json_string_value(json_object_get(rec, "path")), path);
	assert_non_null(strstr(json_string_value(json_object_get(rec, "source")), "copy of "));
	/* the plan's working keys are gone */
	assert_null(json_object_get(rec, "copy_from"));
	assert_null(json_object_get(rec, "clone_volume"));
	assert_non_null(strstr(path, "/volumes/web+1"));
	s = slurp(path, "hello");
	assert_string_equal(s, "world\n");
	free(s);
	/* writes land in the volume, not the bundle */
	put(path, "new", "x");
	s = slurp(f->bundle, "new");
	assert_null(s);

	/* a second create of the same ID must not adopt the volume */
	json_t *rec2 = NULL;
	char *path2 = NULL;
	assert_int_equal(plx_rootfs_prepare(&f->cfg, "web+1", ann, f->bundle, &path2, &rec2, &err), -EEXIST);
	assert_non_null(strstr(plx_err_msg(&err), "already exists"));
	plx_err_clear(&err);

	assert_int_equal(plx_rootfs_release(rec, &err), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* idempotent */
	assert_int_equal(plx_rootfs_release(rec, &err), 0);
	assert_int_equal(leftovers(f), 0);
	json_decref(rec);
	json_decref(ann);
	free(path);
}

static void test_plan_then_make_record(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	json_t *rec = NULL;

	json_object_set_new(f->cfg.storage, "driver", json_string("dir"));
	assert_int_equal(plx_rootfs_plan(&f->cfg, "c2", NULL, f->bundle, &rec, &err), 0);
	/* planned: recorded, nothing made yet */
	assert_non_null(rec);
	assert_null(json_object_get(rec, "path"));
	assert_int_equal(leftovers(f), 0);
	/* release of a planned, never made volume is fine (delete --force after a killed create) */
	assert_int_equal(plx_rootfs_release(rec, &err), 0);
	assert_int_equal(plx_rootfs_make(rec, &err), 0);
	assert_non_null(json_object_get(rec, "path"));
	assert_int_equal(leftovers(f), 1);
	assert_int_equal(plx_rootfs_release(rec, &err), 0);
	assert_int_equal(leftovers(f), 0);
	json_decref(rec);
}

static void test_size_limit_on_dir_fails_leaving_nothing(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	json_t *ann = json_pack("{s:s, s:s}", PLX_STORAGE_ANNOTATION, "dir", PLX_ROOTFS_SIZE_ANNOTATION, "64M");
	json_t *rec = NULL;
	char *path = NULL;

	assert_int_equal(plx_rootfs_prepare(&f->cfg, "c3", ann, f->bundle, &path, &rec, &err), -EOPNOTSUPP);
	assert_non_null(strstr(plx_err_msg(&err), "cannot limit the size"));
	assert_non_null(strstr(plx_err_msg(&err), f->store));
	plx_err_clear(&err);
	assert_null(rec);
	assert_int_equal(leftovers(f), 0);

	/* a bad size is an error naming the annotation, before anything is made */
	json_object_set_new(ann, PLX_ROOTFS_SIZE_ANNOTATION, json_string("lots"));
	assert_int_equal(plx_rootfs_prepare(&f->cfg, "c3", ann, f->bundle, &path, &rec, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), PLX_ROOTFS_SIZE_ANNOTATION));
	plx_err_clear(&err);

	/* config storage.size is the default limit */
	json_object_del(ann, PLX_ROOTFS_SIZE_ANNOTATION);
	json_object_set_new(f->cfg.storage, "size", json_string("1G"));
	assert_int_equal(plx_rootfs_prepare(&f->cfg, "c3", ann, f->bundle, &path, &rec, &err), -EOPNOTSUPP);
	plx_err_clear(&err);
	assert_int_equal(leftovers(f), 0);
	json_decref(ann);
}

static void test_missing_base_and_bad_annotation(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	json_t *ann = json_pack("{s:s}", PLX_STORAGE_ANNOTATION, "zfs");
	json_t *rec = NULL;
	char *path = NULL;

	/* zfs chosen but not configured: the error names both */
	assert_int_equal(plx_rootfs_prepare(&f->cfg, "c4", ann, f->bundle, &path, &rec, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "storage.zfs.parent"));
	plx_err_clear(&err);

	json_object_set_new(ann, PLX_STORAGE_ANNOTATION, json_string("dir"));
	json_object_set_new(json_object_get(f->cfg.storage, "dir"), "path", json_string("/nonexistent/plx"));
	assert_int_equal(plx_rootfs_prepare(&f->cfg, "c4", ann, f->bundle, &path, &rec, &err), -ENOENT);
	assert_non_null(strstr(plx_err_msg(&err), "/nonexistent/plx"));
	plx_err_clear(&err);
	json_decref(ann);
}

static void test_clone_snapshot(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	json_t *ann = json_pack("{s:s}", PLX_STORAGE_ANNOTATION, "dir");
	struct plx_storage *s = NULL;
	json_t *rec = NULL, *clone = NULL;
	char *path = NULL, *cpath = NULL, *v;
	const char *vol;

	assert_int_equal(plx_rootfs_prepare(&f->cfg, "orig", ann, f->bundle, &path, &rec, &err), 0);
	assert_int_equal(plx_rootfs_open(rec, &s, &vol, &err), 0);
	assert_string_equal(vol, "orig");
	put(path, "data", "before");
	assert_int_equal(plx_storage_snapshot(s, vol, "cp1", &err), 0);
	put(path, "data", "after");

	assert_int_equal(plx_rootfs_clone_snapshot(rec, "cp1", "fork", &cpath, &clone, &err), 0);
	assert_string_equal(json_string_value(json_object_get(clone, "volume")), "fork");
	assert_string_equal(json_string_value(json_object_get(clone, "source")), "clone of orig@cp1");
	v = slurp(cpath, "data");
	assert_string_equal(v, "before");
	free(v);

	/* the origin goes first: the clone is independent on dir */
	assert_int_equal(plx_rootfs_release(rec, &err), 0);
	v = slurp(cpath, "data");
	assert_string_equal(v, "before");
	free(v);
	assert_int_equal(plx_rootfs_release(clone, &err), 0);
	assert_int_equal(leftovers(f), 0);

	json_decref(clone);
	free(cpath);
	/* a missing snapshot is an error naming it, and nothing is made */
	assert_true(plx_rootfs_clone_snapshot(rec, "nope", "fork2", &cpath, &clone, &err) < 0);
	assert_non_null(strstr(plx_err_msg(&err), "nope"));
	plx_err_clear(&err);
	assert_int_equal(leftovers(f), 0);

	plx_storage_free(s);
	json_decref(rec);
	json_decref(clone);
	json_decref(ann);
	free(path);
	free(cpath);
}

static void test_open_bad_record(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_storage *s = NULL;
	json_t *rec = json_pack("{s:s, s:s, s:s}", "driver", "nfs", "base", "/x", "volume", "v");

	assert_int_equal(plx_rootfs_open(rec, &s, NULL, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "nfs"));
	plx_err_clear(&err);
	json_object_del(rec, "base");
	assert_int_equal(plx_rootfs_release(rec, &err), -EINVAL);
	plx_err_clear(&err);
	json_decref(rec);
}

/* state.json keeps the record ("storage"), and has no such key without one. */
static void test_state_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_state st = { .id = "c5", .bundle = "/b", .rootfs = "/v" };
	struct plx_state *back = NULL;
	int dirfd = open(f->top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text;

	assert_true(dirfd >= 0);
	assert_int_equal(plx_state_write(dirfd, &st, &err), 0);
	text = slurp(f->top, PLX_STATE_FILE);
	assert_null(strstr(text, "storage"));
	free(text);
	st.storage = json_pack("{s:s, s:s, s:s, s:s}", "driver", "zfs", "base", "tank/ct", "volume", "c5", "path",
			       "/tank/ct/c5");
	assert_int_equal(plx_state_write(dirfd, &st, &err), 0);
	assert_int_equal(plx_state_read(dirfd, "c5", &back, &err), 0);
	assert_true(json_equal(back->storage, st.storage));
	plx_state_free(back);
	json_decref(st.storage);
	close(dirfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test_setup_teardown(test_no_driver_no_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_copy_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_then_make_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit_on_dir_fails_leaving_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_base_and_bad_annotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_snapshot, setup, teardown),
		cmocka_unit_test(test_open_bad_record),
		cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
