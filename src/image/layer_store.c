/* SPDX-License-Identifier: Apache-2.0 */
#include "image/layer_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/lxc/overlay_mount.h"
#include "image/digest.h"
#include "image/inroot.h"
#include "image/unpack.h"
#include "storage/storage_config.h"
#include "storage/storage_exec.h"
#include "storage/storage_layout.h"
#include "storage/storage_zfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

#define HEX_LEN 64

static inline void layer_storage_freep(struct plx_storage **p)
{
	plx_storage_free(*p);
	*p = NULL;
}
#define __do_storage_free __attribute__((cleanup(layer_storage_freep)))

int plx_layer_chain_ids(char *const *diff_ids, size_t n, char ***out, struct plx_err *err)
{
	__do_strv_free char **v = calloc(n + 1, sizeof(char *));

	if (!v)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char id[PLX_DIGEST_LEN];

		if (!diff_ids[i] || strncmp(diff_ids[i], PLX_DIGEST_PREFIX, strlen(PLX_DIGEST_PREFIX)) != 0)
			return plx_err_set(err, EINVAL, "diff_id %zu: expected a sha256 digest", i);
		if (i == 0) {
			snprintf(id, sizeof(id), "%s", diff_ids[0]);
		} else {
			__do_free char *text = NULL;
			int ret;

			if (asprintf(&text, "%s %s", v[i - 1], diff_ids[i]) < 0) {
				text = NULL;
				return plx_err_set(err, ENOMEM, "out of memory");
			}
			ret = plx_sha256_buf(text, strlen(text), id, err);
			if (ret < 0)
				return ret;
		}
		v[i] = strdup(id);
		if (!v[i])
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	*out = steal_ptr(v);
	return 0;
}

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[len] == '\0';
}

char *plx_layer_volume_name(const char *chain_id)
{
	char *name;

	if (!chain_id || strncmp(chain_id, PLX_DIGEST_PREFIX, strlen(PLX_DIGEST_PREFIX)) != 0 ||
	    !is_hex(plx_digest_hex(chain_id), HEX_LEN))
		return NULL;
	if (asprintf(&name, PLX_LAYER_VOLUME_PREFIX "%s", plx_digest_hex(chain_id)) < 0)
		return NULL;
	return name;
}

bool plx_layer_volume_name_valid(const char *name)
{
	size_t plen = strlen(PLX_LAYER_VOLUME_PREFIX);

	return strncmp(name, PLX_LAYER_VOLUME_PREFIX, plen) == 0 && strlen(name) == plen + HEX_LEN &&
	       is_hex(name + plen, HEX_LEN);
}

static bool is_zfs(const struct plx_storage *s)
{
	return strcmp(s->ops->name, "zfs") == 0;
}

bool plx_layer_store_supported(const struct plx_storage *s)
{
	return is_zfs(s) || strcmp(s->ops->name, "btrfs") == 0;
}

/*
 * flock <store>/layers/<driver>-<name>.lock; nonblock: -EBUSY when another
 * holds it.  Lock files are never unlinked: a waiter would hold a lock on a
 * file a newcomer no longer sees.
 */
static int lock_layer(const struct plx_store *st, const struct plx_storage *s, const char *name, bool nonblock,
		      struct plx_err *err)
{
	__do_free char *dir = plx_path_join(plx_store_root(st), "layers");
	__do_free char *path = NULL;
	__do_close int fd = -1;
	int ret;

	if (!dir || asprintf(&path, "%s/%s-%s.lock", dir, s->ops->name, name) < 0) {
		path = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	ret = plx_mkdir_p(dir, 0700, err);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return plx_err_sys(err, errno, "open %s", path);
	while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return plx_err_set(err, EBUSY, "layer %s is in use (%s is locked)", name, path);
		return plx_err_sys(err, errno, "flock %s", path);
	}
	return steal_fd(fd);
}

/* Has the layer its "done" snapshot (it is whole)?  *exists: the volume is there at all. */
static int layer_state(struct plx_storage *s, const char *name, bool *done, bool *exists, struct plx_err *err)
{
	int ret;

	*done = false;
	if (is_zfs(s)) {
		__do_free char *ds = plx_zfs_dataset(s->base, name);
		__do_free char *snap = NULL;
		struct plx_err e = PLX_ERR_INIT;

		if (!ds || asprintf(&snap, "%s@" PLX_LAYER_DONE_SNAPSHOT, ds) < 0) {
			snap = NULL;
			return plx_err_set(err, ENOMEM, "out of memory");
		}
		/* one command on the fast path: the snapshot exists, so does the dataset */
		char *argv[] = { "zfs", "list", "-H", "-o", "name", "-t", "snapshot", snap, NULL };
		ret = plx_storage_run(argv, NULL, &e);
		if (ret == 0) {
			*done = *exists = true;
			return 0;
		}
		if (e.code != ENOENT) {
			ret = plx_err_set(err, e.code, "%s", plx_err_msg(&e));
			plx_err_clear(&e);
			return ret;
		}
		plx_err_clear(&e);
		return plx_storage_exists(s, name, exists, err);
	}
	__do_free char *snap = plx_layout_snapshot(s->base, name, PLX_LAYER_DONE_SNAPSHOT);
	if (!snap)
		return plx_err_set(err, ENOMEM, "out of memory");
	*done = plx_layout_is_dir(snap);
	if (*done) {
		*exists = true;
		return 0;
	}
	return plx_storage_exists(s, name, exists, err);
}

/* The tree a finished layer hands out (read-only). */
static int layer_tree(struct plx_storage *s, const char *name, char **out, struct plx_err *err)
{
	if (is_zfs(s))
		return plx_storage_path(s, name, out, err);
	*out = plx_layout_snapshot(s->base, name, PLX_LAYER_DONE_SNAPSHOT);
	return *out ? 0 : plx_err_set(err, ENOMEM, "out of memory");
}

static int zfs_set(struct plx_storage *s, const char *name, const char *prop, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, name);
	char *argv[] = { "zfs", "set", (char *)prop, ds, NULL };

	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	return plx_storage_run(argv, NULL, err);
}

static int unpack_layer_at(int rootfd, const struct plx_store *st, const struct plx_image *img, size_t i,
			   struct plx_layer_stats *stats, struct plx_err *err);

/* Unpack layer i of img onto the volume name (already made: empty or the parent's clone). */
static int unpack_into(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img, size_t i,
		       const char *name, struct plx_layer_stats *stats, struct plx_err *err)
{
	__do_free char *path = NULL;
	__do_close int rootfd = -1;
	int ret;

	ret = plx_storage_path(s, name, &path, err);
	if (ret < 0)
		return ret;
	rootfd = plx_inroot_open_root(path, err);
	if (rootfd < 0)
		return rootfd;
	return unpack_layer_at(rootfd, st, img, i, stats, err);
}

/* Unpack layer i of img onto the tree rootfd (diff_id checked). */
static int unpack_layer_at(int rootfd, const struct plx_store *st, const struct plx_image *img, size_t i,
			   struct plx_layer_stats *stats, struct plx_err *err)
{
	const struct plx_descriptor *l = &img->manifest->layers[i];
	struct plx_unpack_opts uo = { .name = l->digest, .media_type = l->media_type,
				      .diff_id = img->config->diff_ids[i] };
	struct plx_unpack_result res;
	__do_close int fd = -1;
	int ret;

	ret = plx_store_open_blob(st, l->digest, &fd, NULL, err);
	if (ret < 0)
		return ret;
	ret = plx_layer_unpack_fd(rootfd, fd, &uo, &res, err);
	if (ret < 0)
		return ret;
	stats->unpacked++;
	stats->entries += res.entries;
	stats->tar_bytes += res.tar_bytes;
	return 0;
}

/* Make layer i (name) from its parent (NULL for the bottom layer); the caller holds its lock. */
static int make_layer(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img, size_t i,
		      const char *name, const char *parent, struct plx_layer_stats *stats, struct plx_err *err)
{
	int ret;

	if (parent)
		ret = plx_storage_clone_from(s, parent, PLX_LAYER_DONE_SNAPSHOT, name, err);
	else
		ret = plx_storage_create(s, name, 0, err);
	if (ret < 0)
		return ret;
	ret = unpack_into(s, st, img, i, name, stats, err);
	/* readonly before the snapshot: the snapshot is the promise that the tree is final */
	if (ret == 0 && is_zfs(s))
		ret = zfs_set(s, name, "readonly=on", err);
	if (ret == 0)
		ret = plx_storage_snapshot(s, name, PLX_LAYER_DONE_SNAPSHOT, err);
	if (ret < 0) {
		struct plx_err e = PLX_ERR_INIT;

		if (plx_storage_destroy(s, name, &e) < 0)
			log_warn("layer %s: cannot remove the half-made volume: %s", name, plx_err_msg(&e));
		plx_err_clear(&e);
	}
	return ret;
}

/* One diff_id a layer, and at least one layer. */
static int check_layers(const struct plx_image *img, struct plx_err *err)
{
	const struct plx_manifest *m = img->manifest;
	size_t n = m->n_layers;

	if (img->config->n_diff_ids != n)
		return plx_err_set(err, EINVAL, "image %s: config %s lists %zu diff_ids for %zu layers", img->name,
				   m->config.digest, img->config->n_diff_ids, n);
	if (n == 0)
		return plx_err_set(err, EINVAL, "image %s has no layers", img->name);
	return 0;
}

/* n lock fds, none taken yet (-1). */
static int *locks_new(size_t n)
{
	int *locks = malloc(n * sizeof(int));

	for (size_t i = 0; locks && i < n; i++)
		locks[i] = -1;
	return locks;
}

static void locks_close(int *locks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (locks[i] >= 0)
			close(locks[i]);
}

int plx_layer_store_ensure(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img,
			   char **rootfs, struct plx_layer_stats *stats, struct plx_err *err)
{
	const struct plx_manifest *m = img->manifest;
	const struct plx_image_config *c = img->config;
	struct plx_layer_stats sum = { 0 };
	__do_strv_free char **chain = NULL;
	__do_free int *locks = NULL;
	__do_free char *top = NULL;
	size_t n = m->n_layers;
	int ret = 0;

	*rootfs = NULL;
	if (!plx_layer_store_supported(s))
		return plx_err_set(err, EOPNOTSUPP, "storage %s keeps no image layers", s->ops->name);
	ret = check_layers(img, err);
	if (ret < 0)
		return ret;
	ret = plx_layer_chain_ids(c->diff_ids, n, &chain, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", img->name);
	locks = locks_new(n);
	if (!locks)
		return plx_err_set(err, ENOMEM, "out of memory");
	sum.layers = n;

	/* bottom up, each lock kept until the chain is whole: the parent cannot go while a child is cloned */
	for (size_t i = 0; i < n && ret == 0; i++) {
		__do_free char *name = plx_layer_volume_name(chain[i]);
		__do_free char *parent = i ? plx_layer_volume_name(chain[i - 1]) : NULL;
		bool done, exists;

		if (!name || (i && !parent)) {
			ret = plx_err_set(err, ENOMEM, "out of memory");
			break;
		}
		locks[i] = lock_layer(st, s, name, false, err);
		if (locks[i] < 0) {
			ret = locks[i];
			break;
		}
		ret = layer_state(s, name, &done, &exists, err);
		if (ret < 0 || done)
			continue;
		if (exists) {
			/* no "done": a make that was killed; never used, made again */
			log_info("layer %s on %s %s is incomplete: making it again", name, s->ops->name, s->base);
			ret = plx_storage_destroy(s, name, err);
			if (ret < 0)
				break;
		}
		log_debug("image %s: unpacking layer %zu (%s) into %s", img->name, i, m->layers[i].digest, name);
		ret = make_layer(s, st, img, i, name, parent, &sum, err);
	}
	if (ret == 0) {
		__do_free char *name = plx_layer_volume_name(chain[n - 1]);

		ret = name ? layer_tree(s, name, &top, err) : plx_err_set(err, ENOMEM, "out of memory");
	}
	locks_close(locks, n);
	if (ret < 0)
		return plx_err_prefix(err, "image %s: layers on %s %s", img->name, s->ops->name, s->base);
	if (stats)
		*stats = sum;
	*rootfs = steal_ptr(top);
	return 0;
}

/* ---- layer directories (dir driver, overlayfs) ---- */

static bool is_dir_driver(const struct plx_storage *s)
{
	return strcmp(s->ops->name, "dir") == 0;
}

bool plx_layer_dirs_supported(const struct plx_storage *s)
{
	return is_dir_driver(s);
}

/* <base>/layers/<name>[/<leaf>] */
static char *layer_dir_path(const char *base, const char *name, const char *leaf)
{
	char *p;

	if (asprintf(&p, "%s/" PLX_LAYER_DIRS "/%s%s%s", base, name, leaf ? "/" : "", leaf ? leaf : "") < 0)
		return NULL;
	return p;
}

/* Append <base>/layers/<name>/diff to *v; it must be there. */
static int append_diff(const char *base, const char *name, const char *from, char ***v, struct plx_err *err)
{
	__do_free char *diff = NULL;

	if (!plx_layer_volume_name_valid(name))
		return plx_err_set(err, EINVAL, "%s: \"%s\" is no layer name (layer-<64 hex>)", from, name);
	diff = layer_dir_path(base, name, "diff");
	if (!diff || plx_strv_append(v, diff) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return plx_layout_need_dir(diff, "layer directory", err);
}

int plx_layer_dirs_chain(const char *base, const char *top, char ***dirs, struct plx_err *err)
{
	__do_free char *lower_file = layer_dir_path(base, top, "lower");
	__do_free char *text = NULL;
	__do_strv_free char **v = NULL;
	char *save = NULL;
	int ret;

	*dirs = NULL;
	if (!lower_file)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = append_diff(base, top, "layer", &v, err);
	if (ret == 0)
		ret = plx_read_file_at(AT_FDCWD, lower_file, &text, NULL, err);
	for (char *name = ret == 0 ? strtok_r(text, "\n", &save) : NULL; name && ret == 0;
	     name = strtok_r(NULL, "\n", &save))
		ret = append_diff(base, name, lower_file, &v, err);
	if (ret < 0)
		return plx_err_prefix(err, "layer %s on dir %s", top, base);
	*dirs = steal_ptr(v);
	return 0;
}

int plx_layer_dirs_open_merged(char *const *dirs, struct plx_err *err)
{
	struct plx_overlay o = { .lowers = dirs };

	if (!dirs || !dirs[0])
		return plx_err_set(err, EINVAL, "no layer directories");
	if (!dirs[1])
		return plx_inroot_open_root(dirs[0], err);
	return plx_overlay_open(&o, true, err);
}

/*
 * Make layer i (name) in a scratch directory and rename it into place.
 * lower: the names below it, top first.  The caller holds its lock.
 */
static int make_layer_dir(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img, size_t i,
			  const char *name, char *const *lower, struct plx_layer_stats *stats, struct plx_err *err)
{
	__do_free char *scratch = plx_layout_scratch(s->base);
	__do_free char *diff = scratch ? plx_path_join(scratch, "diff") : NULL;
	__do_free char *work = scratch ? plx_path_join(scratch, "work") : NULL;
	__do_free char *final = layer_dir_path(s->base, name, NULL);
	__do_free char *text = NULL;
	size_t len = 0;
	__do_fclose FILE *f = open_memstream(&text, &len);
	__do_close int scratchfd = -1;
	int ret;

	if (!diff || !work || !final || !f)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t k = 0; lower && lower[k]; k++)
		fprintf(f, "%s\n", lower[k]);
	if (fclose(steal_ptr(f)) != 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (mkdir(scratch, 0700) < 0)
		return plx_err_sys(err, errno, "mkdir %s", scratch);
	scratchfd = open(scratch, O_DIRECTORY | O_CLOEXEC);
	if (scratchfd < 0)
		ret = plx_err_sys(err, errno, "open %s", scratch);
	else if (mkdir(diff, 0755) < 0)
		ret = plx_err_sys(err, errno, "mkdir %s", diff);
	else
		ret = plx_write_file_atomic_at(scratchfd, "lower", text, len, 0644, err);
	if (ret == 0) {
		__do_strv_free char **dirs = NULL;
		__do_close int rootfd = -1;

		if (lower && lower[0]) {
			/* through an overlay on the parents: deletions land in diff as whiteouts */
			ret = plx_layer_dirs_chain(s->base, lower[0], &dirs, err);
			if (ret == 0 && mkdir(work, 0700) < 0)
				ret = plx_err_sys(err, errno, "mkdir %s", work);
			if (ret == 0) {
				struct plx_overlay o = { .lowers = dirs, .upper = diff, .work = work };

				rootfd = plx_overlay_open(&o, false, err);
			}
		} else if (ret == 0) {
			rootfd = plx_inroot_open_root(diff, err);
		}
		if (ret == 0 && rootfd < 0)
			ret = rootfd;
		if (ret == 0)
			ret = unpack_layer_at(rootfd, st, img, i, stats, err);
	}
	/* the overlay is gone with rootfd (closed above); its work directory is not part of the layer */
	if (ret == 0 && lower && lower[0])
		ret = plx_rm_rf_at(scratchfd, "work", err);
	if (ret == 0)
		ret = plx_layout_rename_new(scratch, final, err);
	if (ret < 0) {
		__do_err_clear struct plx_err e = PLX_ERR_INIT;

		if (plx_rm_rf_at(AT_FDCWD, scratch, &e) < 0)
			log_warn("layer %s: cannot remove %s: %s", name, scratch, plx_err_msg(&e));
	}
	return ret;
}

int plx_layer_dirs_ensure(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img,
			  char **top, struct plx_layer_stats *stats, struct plx_err *err)
{
	const struct plx_manifest *m = img->manifest;
	const struct plx_image_config *c = img->config;
	struct plx_layer_stats sum = { 0 };
	__do_strv_free char **chain = NULL;
	__do_strv_free char **names = NULL;
	__do_free int *locks = NULL;
	__do_free char *layers = plx_path_join(s->base, PLX_LAYER_DIRS);
	size_t n = m->n_layers;
	int ret = 0;

	*top = NULL;
	if (!is_dir_driver(s))
		return plx_err_set(err, EOPNOTSUPP, "storage %s keeps no layer directories", s->ops->name);
	ret = check_layers(img, err);
	if (ret < 0)
		return ret;
	if (!layers)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layer_chain_ids(c->diff_ids, n, &chain, err);
	if (ret == 0)
		ret = plx_layout_init(s->base, err); /* tmp/, where layers are made */
	if (ret == 0)
		ret = plx_mkdir_p(layers, 0700, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", img->name);
	locks = locks_new(n);
	names = calloc(n + 1, sizeof(char *));
	if (!locks || !names)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		/* top first below each layer: names[i - 1], ..., names[0] is its lower file */
		names[i] = plx_layer_volume_name(chain[n - 1 - i]);
		if (!names[i])
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	sum.layers = n;

	/* bottom up, each lock kept until the chain is whole (as plx_layer_store_ensure) */
	for (size_t i = 0; i < n && ret == 0; i++) {
		const char *name = names[n - 1 - i];
		__do_free char *dir = layer_dir_path(s->base, name, NULL);

		if (!dir) {
			ret = plx_err_set(err, ENOMEM, "out of memory");
			break;
		}
		locks[i] = lock_layer(st, s, name, false, err);
		if (locks[i] < 0) {
			ret = locks[i];
			break;
		}
		if (plx_layout_is_dir(dir))
			continue;
		log_debug("image %s: unpacking layer %zu (%s) into %s", img->name, i, m->layers[i].digest, dir);
		ret = make_layer_dir(s, st, img, i, name, names + n - i, &sum, err);
	}
	locks_close(locks, n);
	if (ret < 0)
		return plx_err_prefix(err, "image %s: layers on dir %s", img->name, s->base);
	*top = strdup(names[0]);
	if (!*top)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (stats)
		*stats = sum;
	return 0;
}

/* ---- collection ---- */

/* The layer volumes on s. */
static int list_layers(struct plx_storage *s, char ***out, struct plx_err *err)
{
	__do_strv_free char **v = NULL;
	int ret;

	*out = NULL;
	if (is_zfs(s)) {
		__do_free char *text = NULL;
		__do_strv_free char **lines = NULL;
		size_t blen = strlen(s->base);
		char *argv[] = { "zfs", "list", "-H", "-o", "name", "-d", "1", "-t", "filesystem", s->base, NULL };

		ret = plx_storage_run(argv, &text, err);
		if (ret == 0)
			ret = plx_zfs_split_lines(text, &lines, err);
		if (ret < 0)
			return ret;
		for (char **l = lines; *l; l++)
			if (strncmp(*l, s->base, blen) == 0 && (*l)[blen] == '/' &&
			    plx_layer_volume_name_valid(*l + blen + 1) && plx_strv_append(&v, *l + blen + 1) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
	} else {
		__do_free char *dir = plx_path_join(s->base, is_dir_driver(s) ? PLX_LAYER_DIRS : "volumes");
		__do_closedir DIR *d = dir ? opendir(dir) : NULL;
		struct dirent *de;

		if (!dir)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (!d)
			return errno == ENOENT ? 0 : plx_err_sys(err, errno, "open %s", dir);
		while ((de = readdir(d)))
			if (plx_layer_volume_name_valid(de->d_name) && plx_strv_append(&v, de->d_name) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
	}
	*out = steal_ptr(v);
	return 0;
}

/* The layer volume names every image in the store needs. */
static int needed_layers(const struct plx_store *st, char ***out, struct plx_err *err)
{
	__do_index_free struct plx_index *idx = NULL;
	__do_strv_free char **v = NULL;
	int ret;

	*out = NULL;
	ret = plx_store_index_read(st, &idx, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		__do_image_free struct plx_image *img = NULL;
		__do_strv_free char **chain = NULL;
		struct plx_err e = PLX_ERR_INIT;

		/* an entry this host cannot open (another platform only) was never unpacked here */
		if (plx_store_image_open(st, idx->manifests[i].digest, &img, &e) < 0 ||
		    plx_layer_chain_ids(img->config->diff_ids, img->config->n_diff_ids, &chain, &e) < 0) {
			log_debug("layer collection: skipping %s: %s", idx->manifests[i].digest, plx_err_msg(&e));
			plx_err_clear(&e);
			continue;
		}
		for (char **c = chain; *c; c++) {
			__do_free char *name = plx_layer_volume_name(*c);

			if (!name || plx_strv_append(&v, name) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	*out = steal_ptr(v);
	return 0;
}

/* dir: the layers the volumes on s use (their PLX_LAYER_DIRS_USERS_FILE); a volume lives as long as its container. */
static int layer_dir_users(struct plx_storage *s, char ***out, struct plx_err *err)
{
	__do_free char *dir = plx_path_join(s->base, "volumes");
	__do_closedir DIR *d = dir ? opendir(dir) : NULL;
	__do_strv_free char **v = NULL;
	struct dirent *de;

	*out = NULL;
	if (!dir)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!d)
		return errno == ENOENT ? 0 : plx_err_sys(err, errno, "open %s", dir);
	while ((de = readdir(d))) {
		__do_free char *text = NULL;
		__do_close int vfd = -1;
		char *save = NULL;

		if (de->d_name[0] == '.')
			continue;
		vfd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (vfd < 0 || plx_read_file_at(vfd, PLX_LAYER_DIRS_USERS_FILE, &text, NULL, NULL) < 0)
			continue; /* no overlay volume */
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (plx_layer_volume_name_valid(l) && !plx_strv_contains(v, l) && plx_strv_append(&v, l) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
	}
	*out = steal_ptr(v);
	return 0;
}

/* dir: a layer directory goes into tmp/ first (renamed), so no half-deleted layer keeps its name. */
static int destroy_layer(struct plx_storage *s, const char *name, struct plx_err *err)
{
	__do_free char *dir = NULL, *scratch = NULL;
	int ret;

	if (!is_dir_driver(s))
		return plx_storage_destroy(s, name, err);
	dir = layer_dir_path(s->base, name, NULL);
	scratch = plx_layout_scratch(s->base);
	if (!dir || !scratch)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_init(s->base, err);
	if (ret == 0)
		ret = plx_layout_rename_new(dir, scratch, err);
	return ret < 0 ? ret : plx_rm_rf_at(AT_FDCWD, scratch, err);
}

int plx_layer_store_gc(struct plx_storage *s, const struct plx_store *st, struct plx_layer_gc_stats *stats,
		       struct plx_err *err)
{
	__do_strv_free char **have = NULL;
	__do_strv_free char **need = NULL;
	__do_strv_free char **left = NULL;
	bool progress = true;
	int ret;

	__do_strv_free char **used = NULL;

	ret = list_layers(s, &have, err);
	if (ret == 0)
		ret = needed_layers(st, &need, err);
	if (ret == 0 && is_dir_driver(s))
		ret = layer_dir_users(s, &used, err);
	if (ret < 0)
		return plx_err_prefix(err, "layers on %s %s", s->ops->name, s->base);
	for (char **h = have; h && *h; h++) {
		if (plx_strv_contains(need, *h))
			continue;
		if (plx_strv_contains(used, *h)) {
			log_debug("layer %s on %s %s kept: a container's overlay uses it", *h, s->ops->name, s->base);
			stats->kept++;
			continue;
		}
		if (plx_strv_append(&left, *h) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}

	/* zfs: a child layer is a clone of its parent's snapshot, so parents go in a later round */
	while (progress && left && *left) {
		__do_strv_free char **busy = NULL;

		progress = false;
		for (char **l = left; *l; l++) {
			struct plx_err e = PLX_ERR_INIT;
			__do_close int lock = lock_layer(st, s, *l, true, &e);

			if (lock >= 0) {
				/* the destroy retries briefly on zfs-fuse's "busy"; clones make it fail for good */
				if (destroy_layer(s, *l, &e) == 0) {
					stats->removed++;
					progress = true;
					continue;
				}
			}
			log_debug("layer %s on %s %s kept: %s", *l, s->ops->name, s->base, plx_err_msg(&e));
			plx_err_clear(&e);
			if (plx_strv_append(&busy, *l) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
		}
		plx_strv_free(left);
		left = steal_ptr(busy);
	}
	for (char **l = left; l && *l; l++)
		stats->kept++;
	return 0;
}

int plx_layer_store_gc_config(const struct plx_config *cfg, const struct plx_store *st,
			      struct plx_layer_gc_stats *stats, struct plx_err *err)
{
	struct plx_storage_config sc __attribute__((cleanup(plx_storage_config_clear))) = { 0 };
	static const enum plx_storage_driver drivers[] = { PLX_STORAGE_ZFS, PLX_STORAGE_BTRFS, PLX_STORAGE_DIR };
	int ret;

	ret = plx_storage_config_parse(cfg ? cfg->storage : NULL, &sc, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s", cfg && cfg->path ? cfg->path : "runtime config");
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
		__do_storage_free struct plx_storage *s = NULL;

		if ((drivers[i] == PLX_STORAGE_ZFS && !sc.zfs_parent) ||
		    (drivers[i] == PLX_STORAGE_BTRFS && !sc.btrfs_path) ||
		    (drivers[i] == PLX_STORAGE_DIR && !sc.dir_path))
			continue;
		ret = plx_storage_open_configured(&sc, drivers[i], &s, err);
		if (ret == 0)
			ret = plx_layer_store_gc(s, st, stats, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}
