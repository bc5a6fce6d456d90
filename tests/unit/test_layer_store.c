/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer store's pure parts (chain ids, names) and anonymous volumes on
 * the dir driver in /tmp: made with the image's content (a symlink in the
 * image cannot point the copy at the host), recorded, kept or released;
 * layer directories for overlayfs on dir: the chain read from "lower"
 * (names checked, a missing layer named) and the image merged read-only
 * through a detached overlay (whiteouts hide, nothing writable).
 */
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

#include "image/anon_volumes.h"
#include "image/inroot.h"
#include "engine/lxc/overlay_mount.h"
#include "image/layer_store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
/* python: sha256(f"{A} {B}"), then sha256(f"{that} {C}") */
#define AB "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"
#define ABC "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588"

static void test_chain_ids(void **state)
{
	char *diff_ids[] = { A, B, C, NULL };
	char *bad[] = { A, "md5:00", NULL };
	struct plx_err err = PLX_ERR_INIT;
	char **chain = NULL;

	(void)state;
	assert_int_equal(plx_layer_chain_ids(diff_ids, 3, &chain, &err), 0);
	assert_string_equal(chain[0], A);
	assert_string_equal(chain[1], AB);
	assert_string_equal(chain[2], ABC);
	assert_null(chain[3]);
	plx_strv_freep(&chain);

	assert_int_equal(plx_layer_chain_ids(bad, 2, &chain, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "diff_id 1"));
	plx_err_clear(&err);
}

static void test_names(void **state)
{
	__do_free char *name = plx_layer_volume_name(ABC);
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *vol = NULL;
	char *big = malloc(300);

	(void)state;
	assert_string_equal(name, "layer-c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
	assert_true(plx_layer_volume_name_valid(name));
	assert_false(plx_layer_volume_name_valid("layer-c137"));
	assert_false(plx_layer_volume_name_valid("web"));
	assert_false(plx_layer_volume_name_valid(
		"layer-C1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588"));
	assert_null(plx_layer_volume_name("sha256:xyz"));

	assert_int_equal(plx_anon_volume_name("web", "/data", &vol, &err), 0);
	assert_string_equal(vol, "web-v-bd47413b5c03");
	free(steal_ptr(vol));
	/* an id that leaves no room for the suffix is refused, naming both */
	memset(big, 'x', 199);
	big[199] = '\0';
	assert_int_equal(plx_anon_volume_name(big, "/data", &vol, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "volume /data"));
	plx_err_clear(&err);
	free(big);
}

struct fixture {
	char dir[64];
	char base[96], bundle[96], image[96];
	struct plx_storage *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct plx_err err = PLX_ERR_INIT;

	strcpy(f->dir, "/tmp/plx-layer-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->base, sizeof(f->base), "%s/storage", f->dir);
	snprintf(f->bundle, sizeof(f->bundle), "%s/bundle", f->dir);
	snprintf(f->image, sizeof(f->image), "%s/image", f->dir);
	assert_int_equal(mkdir(f->base, 0755), 0);
	assert_int_equal(mkdir(f->bundle, 0755), 0);
	assert_int_equal(mkdir(f->image, 0755), 0);
	assert_int_equal(plx_storage_open(&plx_storage_dir_ops, f->base, &f->s, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	plx_storage_free(f->s);
	assert_int_equal(plx_rm_rf_at(AT_FDCWD, f->dir, &err), 0);
	free(f);
	return 0;
}

static void write_at(const char *dir, const char *name, const char *text)
{
	__do_free char *p = plx_path_join(dir, name);
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_write_file_at(AT_FDCWD, p, text, strlen(text), 0644, &err), 0);
}

static bool volume_exists(struct fixture *f, const char *name)
{
	struct plx_err err = PLX_ERR_INIT;
	bool e = false;

	assert_int_equal(plx_storage_exists(f->s, name, &e, &err), 0);
	return e;
}

static void test_anon_volumes(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *data = plx_path_join(f->image, "data");
	__do_close int rootfd = -1;
	char *dests[] = { "/data", "/empty", NULL };
	json_t *sources = NULL, *rec = NULL, *keep;
	char buf[64] = { 0 };
	const char *p;
	int fd;

	assert_int_equal(mkdir(data, 0750), 0);
	write_at(data, "seed", "from the image\n");
	rootfd = plx_inroot_open_root(f->image, &err);
	assert_true(rootfd >= 0);

	assert_int_equal(plx_anon_volumes_make(f->s, f->bundle, "web", rootfd, dests, NULL, &sources, &err), 0);
	p = json_string_value(json_object_get(sources, "/data"));
	assert_non_null(p);
	assert_true(volume_exists(f, "web-v-bd47413b5c03"));
	{
		__do_free char *seed = plx_path_join(p, "seed");
		struct stat st;

		fd = open(seed, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, buf, sizeof(buf) - 1), 15);
		close(fd);
		assert_string_equal(buf, "from the image\n");
		/* the volume's root takes the image directory's mode */
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0750);
	}
	assert_non_null(json_object_get(sources, "/empty"));
	assert_int_equal(plx_anon_volumes_read(f->bundle, &rec, &err), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "driver")), "dir");
	assert_int_equal(json_object_size(json_object_get(rec, "volumes")), 2);

	/* a second make for the same id refuses to adopt the volumes */
	json_t *again = NULL;
	assert_int_equal(plx_anon_volumes_make(f->s, f->dir, "web", rootfd, dests, NULL, &again, &err), -EEXIST);
	assert_non_null(strstr(plx_err_msg(&err), "already exists"));
	plx_err_clear(&err);

	/* release keeps what except names, destroys the rest and the record */
	keep = json_pack("{s:s}", "/data", "web-v-bd47413b5c03");
	assert_int_equal(plx_anon_volumes_release(f->bundle, keep, &err), 0);
	assert_true(volume_exists(f, "web-v-bd47413b5c03"));
	json_decref(rec);
	assert_int_equal(plx_anon_volumes_read(f->bundle, &rec, &err), 0);
	assert_null(rec);

	/* a kept volume is recorded and mounted, not made again */
	json_decref(sources);
	assert_int_equal(plx_anon_volumes_make(f->s, f->bundle, "web", rootfd, dests, keep, &sources, &err), 0);
	assert_int_equal(plx_anon_volumes_release(f->bundle, NULL, &err), 0);
	assert_false(volume_exists(f, "web-v-bd47413b5c03"));
	json_decref(keep);
	json_decref(sources);
}

static void test_anon_volume_symlink(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *link = plx_path_join(f->image, "data");
	__do_close int rootfd = -1;
	char *dests[] = { "/data", "/etc/x", NULL };
	json_t *sources = NULL;

	/* an image whose /data points at the host's /etc: never copied from there */
	assert_int_equal(symlink("/etc", link), 0);
	rootfd = plx_inroot_open_root(f->image, &err);
	assert_int_equal(plx_anon_volumes_make(f->s, f->bundle, "web", rootfd, dests, NULL, &sources, &err),
			 -ENOTDIR);
	assert_non_null(strstr(plx_err_msg(&err), "volume /data"));
	plx_err_clear(&err);
	/* nothing is left but the record, which release clears */
	assert_false(volume_exists(f, "web-v-bd47413b5c03"));
	assert_int_equal(plx_anon_volumes_release(f->bundle, NULL, &err), 0);
}

static void test_dir_keeps_no_layers(void **state)
{
	struct fixture *f = *state;

	/* no snapshot layers on dir: layer directories for overlayfs instead */
	assert_false(plx_layer_store_supported(f->s));
	assert_true(plx_layer_dirs_supported(f->s));
}

#define LA "layer-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LB "layer-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LC "layer-cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* <base>/layers/<name>/{diff/,lower}, as plx_layer_dirs_ensure() leaves a whole layer */
static char *make_layer_dir(struct fixture *f, const char *name, const char *lower)
{
	char dir[256], *diff = NULL;

	snprintf(dir, sizeof(dir), "%s/layers/%s", f->base, name);
	assert_int_equal(asprintf(&diff, "%s/diff", dir), (int)strlen(dir) + 5);
	assert_int_equal(plx_mkdir_p(diff, 0755, NULL), 0);
	write_at(dir, "lower", lower);
	return diff;
}

static void test_dir_layer_chain(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *da = make_layer_dir(f, LA, "");
	__do_free char *db = make_layer_dir(f, LB, LA "\n");
	char **dirs = NULL;

	/* top first, each layer's diff */
	assert_int_equal(plx_layer_dirs_chain(f->base, LB, &dirs, &err), 0);
	assert_int_equal(plx_strv_len(dirs), 2);
	assert_string_equal(dirs[0], db);
	assert_string_equal(dirs[1], da);
	plx_strv_free(dirs);
	assert_int_equal(plx_layer_dirs_chain(f->base, LA, &dirs, &err), 0);
	assert_int_equal(plx_strv_len(dirs), 1);
	plx_strv_free(steal_ptr(dirs));

	/* a layer below that is gone: named */
	free(make_layer_dir(f, LC,
			    LB "\n" "layer-dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n"));
	assert_int_equal(plx_layer_dirs_chain(f->base, LC, &dirs, &err), -ENOENT);
	assert_non_null(strstr(plx_err_msg(&err), "layer-dddd"));
	assert_null(dirs);
	plx_err_clear(&err);
	/* no path tricks through the names: neither the top nor a line of "lower" */
	assert_int_equal(plx_layer_dirs_chain(f->base, "../../etc", &dirs, &err), -EINVAL);
	plx_err_clear(&err);
	write_at(da, "../lower", "../../../etc\n");
	assert_int_equal(plx_layer_dirs_chain(f->base, LA, &dirs, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "no layer name"));
	plx_err_clear(&err);
}

static void test_dir_layers_merged(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *da = make_layer_dir(f, LA, "");
	__do_free char *db = make_layer_dir(f, LB, LA "\n");
	__do_close int one = -1, merged = -1, fd = -1;
	char *dirs[] = { db, da, NULL };
	char buf[16] = { 0 };

	write_at(da, "x", "from a");
	write_at(da, "gone", "whited out");
	write_at(db, "y", "from b");
	/* an overlay whiteout: a 0/0 character device */
	{
		__do_free char *wh = plx_path_join(db, "gone");
		assert_int_equal(mknod(wh, S_IFCHR, 0), 0);
	}
	/* one layer: the directory itself */
	one = plx_layer_dirs_open_merged(dirs + 1, &err);
	assert_true(one >= 0);
	fd = openat(one, "gone", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	plx_closep(&fd);
	/* two: the image as overlayfs shows it, mounted nowhere */
	merged = plx_layer_dirs_open_merged(dirs, &err);
	assert_true(merged >= 0);
	fd = openat(merged, "x", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	assert_string_equal(buf, "from a");
	plx_closep(&fd);
	assert_true(faccessat(merged, "y", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
	assert_true(faccessat(merged, "gone", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	/* read-only */
	assert_true(openat(merged, "new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == EROFS);
}

static void test_overlay_open_refuses(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char *one[] = { "/tmp", NULL };
	struct plx_overlay o = { .lowers = one };

	(void)state;
	/* overlayfs needs two lowers without an upper: said before the kernel says EINVAL */
	assert_int_equal(plx_overlay_open(&o, true, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "needs two"));
	plx_err_clear(&err);
	o.upper = "/tmp";
	assert_int_equal(plx_overlay_open(&o, false, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "upper and work"));
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_ids),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_anon_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anon_volume_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_keeps_no_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_layer_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_layers_merged, setup, teardown),
		cmocka_unit_test(test_overlay_open_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
