/* SPDX-License-Identifier: Apache-2.0 */
#include "image/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rootfs.h"
#include "image/anon_volumes.h"
#include "image/inroot.h"
#include "image/layer_store.h"
#include "image/unpack.h"
#include "oci/spec.h"
#include "storage/storage_config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

/* Make dir (and its parents); an existing dir must be empty.  *created: we made dir itself. */
static int claim_dir(const char *dir, bool *created, struct plx_err *err)
{
	__do_free char *copy = strdup(dir);
	__do_closedir DIR *d = NULL;
	struct dirent *de;
	int ret;

	*created = false;
	if (!copy)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_mkdir_p(dirname(copy), 0755, err);
	if (ret < 0)
		return ret;
	if (mkdir(dir, 0755) == 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST)
		return plx_err_sys(err, errno, "mkdir %s", dir);
	d = opendir(dir);
	if (!d)
		return plx_err_sys(err, errno, "open bundle directory %s", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return plx_err_set(err, EEXIST, "bundle directory %s is not empty", dir);
	return 0;
}

/* What a failed attempt leaves goes; a directory the caller gave us stays (empty). */
static void unclaim_dir(const char *dir, bool created)
{
	static const char *const made[] = { "rootfs", "volumes", "config.json", PLX_ANON_VOLUMES_FILE };
	struct plx_err e = PLX_ERR_INIT;
	__do_close int dfd = -1;

	if (created) {
		if (plx_rm_rf_at(AT_FDCWD, dir, &e) < 0)
			log_warn("cleaning up: %s", plx_err_msg(&e));
		plx_err_clear(&e);
		return;
	}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; dfd >= 0 && i < ARRAY_SIZE(made); i++) {
		if (plx_rm_rf_at(dfd, made[i], &e) < 0)
			log_warn("cleaning up %s: %s", dir, plx_err_msg(&e));
		plx_err_clear(&e);
	}
}

static int unpack_layers(const struct plx_store *s, const struct plx_image *img, int rootfd,
			 struct plx_bundle_stats *st, struct plx_err *err)
{
	const struct plx_manifest *m = img->manifest;
	const struct plx_image_config *c = img->config;

	/* diff_ids tie the config to the layers: each uncompressed layer must hash to its own */
	if (c->n_diff_ids != m->n_layers)
		return plx_err_set(err, EINVAL, "image %s: config %s lists %zu diff_ids for %zu layers", img->name,
				   m->config.digest, c->n_diff_ids, m->n_layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct plx_descriptor *l = &m->layers[i];
		struct plx_unpack_opts uo = { .name = l->digest, .media_type = l->media_type,
					      .diff_id = c->diff_ids[i] };
		struct plx_unpack_result res;
		__do_close int fd = -1;
		int ret;

		ret = plx_store_open_blob(s, l->digest, &fd, NULL, err);
		if (ret < 0)
			return plx_err_prefix(err, "image %s", img->name);
		ret = plx_layer_unpack_fd(rootfd, fd, &uo, &res, err);
		if (ret < 0)
			return plx_err_prefix(err, "image %s", img->name);
		st->layers++;
		st->entries += res.entries;
		st->tar_bytes += res.tar_bytes;
	}
	return 0;
}

/*
 * The anonymous volume for dest starts with what the image has at dest:
 * that directory is moved (renamed: same file system, O(1)) into the
 * volume and an empty mount point with its owner and mode takes its place.
 * dest's parents are resolved inside the rootfs as the runtime will
 * resolve the mount destination.
 */
static int make_volume(int rootfd, const char *volumes_dir, const char *dest, struct plx_err *err)
{
	__do_free char *src = NULL;
	__do_free char *src_parent = NULL;
	__do_close int pfd = -1;
	const char *clean, *base;
	struct stat st;
	int ret;

	ret = plx_image_volume_source(volumes_dir, dest, &src, err);
	if (ret < 0)
		return ret;
	clean = src + strlen(volumes_dir) + 1;
	pfd = plx_inroot_open_parent(rootfd, clean, true, &base, NULL, NULL);
	if (pfd < 0)
		return plx_err_sys(err, -pfd, "volume %s: open its directory in the rootfs", dest);
	src_parent = strdup(src);
	if (!src_parent)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_mkdir_p(dirname(src_parent), 0755, err);
	if (ret < 0)
		return plx_err_prefix(err, "volume %s", dest);

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return plx_err_sys(err, errno, "volume %s: stat", dest);
		/* nothing in the image there (or it moved with an enclosing volume) */
		if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
			return plx_err_sys(err, errno, "volume %s: mkdir the mount point", dest);
		return plx_mkdir_p(src, 0755, err);
	}
	if (!S_ISDIR(st.st_mode))
		return plx_err_set(err, ENOTDIR, "volume %s: the image has a file or symlink there, not a directory",
				   dest);
	if (renameat(pfd, base, AT_FDCWD, src) < 0)
		return plx_err_sys(err, errno, "volume %s: move the image's content to %s", dest, src);
	if (mkdirat(pfd, base, 0700) < 0)
		return plx_err_sys(err, errno, "volume %s: mkdir the mount point", dest);
	if (fchownat(pfd, base, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(pfd, base, st.st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return plx_err_sys(err, errno, "volume %s: set the mount point's owner and mode", dest);
	return 0;
}

static int set_annotation(json_t *spec, const char *key, const char *value, struct plx_err *err)
{
	json_t *ann = json_object_get(spec, "annotations");

	if (!ann) {
		ann = json_object();
		if (!ann || json_object_set_new(spec, "annotations", ann) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	if (json_object_set_new(ann, key, json_string(value)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int write_config(const char *dir, json_t *spec, struct plx_err *err)
{
	__do_oci_spec_free struct oci_spec *parsed = NULL;
	__do_free char *text = NULL;
	__do_free char *path = plx_path_join(dir, "config.json");
	int ret;

	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	/* what we write must load as any bundle does */
	ret = oci_spec_from_json(spec, path, &parsed, err);
	if (ret == 0)
		ret = oci_spec_validate(parsed, err);
	if (ret < 0)
		return ret;
	text = json_dumps(spec, JSON_INDENT(2));
	if (!text)
		return plx_err_set(err, ENOMEM, "out of memory");
	return plx_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, err);
}

static inline void bundle_storage_freep(struct plx_storage **p)
{
	plx_storage_free(*p);
	*p = NULL;
}
#define __do_storage_free __attribute__((cleanup(bundle_storage_freep)))

static inline void bundle_json_decrefp(json_t **p)
{
	json_decref(*p);
	*p = NULL;
}
#define __do_json_decref __attribute__((cleanup(bundle_json_decrefp)))

/*
 * The storage chosen for container o->id, as create will choose it (the
 * config's driver, or the storage annotation, which only the image's labels
 * can set here); *s NULL when none is chosen or this is no container's bundle.
 */
static int pick_storage(const struct plx_bundle_opts *o, const struct plx_exec_config *ec, struct plx_storage **s,
			struct plx_err *err)
{
	struct plx_storage_config sc __attribute__((cleanup(plx_storage_config_clear))) = { 0 };
	enum plx_storage_driver d;
	int ret;

	*s = NULL;
	if (!o->id || !o->cfg)
		return 0;
	ret = plx_storage_config_parse(o->cfg->storage, &sc, err);
	if (ret == 0)
		ret = plx_storage_pick(&sc, ec->labels, &d, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s", o->cfg->path ? o->cfg->path : "runtime config");
	if (d == PLX_STORAGE_NONE)
		return 0;
	return plx_storage_open_configured(&sc, d, s, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ec->volumes gets the kept destinations too (a volume the new image dropped keeps its data mounted). */
static int merge_kept(struct plx_exec_config *ec, const json_t *keep, struct plx_err *err)
{
	const char *dest;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)keep, dest, v)
		if (!plx_strv_contains(ec->volumes, dest) && plx_strv_append(&ec->volumes, dest) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	while (ec->volumes && ec->volumes[n])
		n++;
	/* sorted: a volume's mount comes before the volumes inside it */
	if (n)
		qsort(ec->volumes, n, sizeof(char *), cmp_str);
	return 0;
}

static bool kept_as_dir(const json_t *keep, const char *dest)
{
	const char *v = json_string_value(json_object_get(keep, dest));

	return v && !*v;
}

/* The anonymous volumes and their mounts: on the storage s when one is chosen, else in volumes/. */
static int make_volumes(struct plx_storage *s, const char *dir, const struct plx_bundle_opts *o, int rootfd,
			json_t *spec, const struct plx_exec_config *ec, const char *volumes,
			const char *volumes_final, struct plx_err *err)
{
	__do_json_decref json_t *sources = NULL;
	__do_strv_free char **on_storage = NULL;
	int ret;

	for (size_t i = 0; ec->volumes && ec->volumes[i]; i++) {
		const char *dest = ec->volumes[i];
		const char *kept = json_string_value(json_object_get(o->keep_volumes, dest));

		if (kept_as_dir(o->keep_volumes, dest))
			continue;
		if (s) {
			if (plx_strv_append(&on_storage, dest) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
			continue;
		}
		if (kept)
			return plx_err_set(err, EINVAL, "volume %s is the storage volume %s, but no storage is configured",
					   dest, kept);
		ret = make_volume(rootfd, volumes, dest, err);
		if (ret < 0)
			return ret;
	}
	if (on_storage) {
		__do_json_decref json_t *keep = json_object();
		const char *dest;
		json_t *v;

		if (!keep)
			return plx_err_set(err, ENOMEM, "out of memory");
		json_object_foreach((json_t *)o->keep_volumes, dest, v)
			if (!kept_as_dir(o->keep_volumes, dest) && json_object_set(keep, dest, v) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
		ret = plx_anon_volumes_make(s, dir, o->id, rootfd, on_storage, keep, &sources, err);
		if (ret < 0)
			return ret;
	}
	return plx_exec_config_volumes_from(spec, ec, volumes_final, sources, err);
}

/* The bundle's rootfs is made of the layers ls speaks of. */
static void layered_stats(struct plx_bundle_stats *bs, const struct plx_layer_stats *ls)
{
	bs->layered = true;
	bs->layers = ls->layers;
	bs->layers_unpacked = ls->unpacked;
	bs->entries = ls->entries;
	bs->tar_bytes = ls->tar_bytes;
}

/*
 * dir: the layers as layer directories (image/layer_store.h).  root.path is
 * DIR/rootfs, left empty: *top names the top layer for the annotation that
 * makes create mount an overlay of the layers (core/rootfs.h).  *rootfd:
 * the image merged, read-only, mounted nowhere.
 */
static int make_rootfs_layer_dirs(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img,
				  const char *rootfs, char **top, int *rootfd, struct plx_bundle_stats *bs,
				  struct plx_err *err)
{
	__do_strv_free char **dirs = NULL;
	struct plx_layer_stats ls;
	int ret;

	ret = plx_layer_dirs_ensure(s, st, img, top, &ls, err);
	if (ret == 0)
		ret = plx_layer_dirs_chain(s->base, *top, &dirs, err);
	if (ret < 0)
		return ret;
	layered_stats(bs, &ls);
	if (mkdir(rootfs, 0755) < 0)
		return plx_err_sys(err, errno, "mkdir %s", rootfs);
	*rootfd = plx_layer_dirs_open_merged(dirs, err);
	return *rootfd < 0 ? *rootfd : 0;
}

/*
 * The rootfs: the top layer of the layer store when s keeps layers (root.path
 * is then that absolute path), layer directories on dir (*top set), else
 * DIR/rootfs unpacked.  *rootfd: the tree.
 */
static int make_rootfs(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img,
		       const char *rootfs, char **root_path, char **top, int *rootfd, struct plx_bundle_stats *bs,
		       struct plx_err *err)
{
	int ret;

	if (s && plx_layer_dirs_supported(s)) {
		*root_path = strdup("rootfs");
		if (!*root_path)
			return plx_err_set(err, ENOMEM, "out of memory");
		return make_rootfs_layer_dirs(s, st, img, rootfs, top, rootfd, bs, err);
	}

	if (s && plx_layer_store_supported(s)) {
		struct plx_layer_stats ls;

		ret = plx_layer_store_ensure(s, st, img, root_path, &ls, err);
		if (ret < 0)
			return ret;
		layered_stats(bs, &ls);
		*rootfd = plx_inroot_open_root(*root_path, err);
		return *rootfd < 0 ? *rootfd : 0;
	}
	*root_path = strdup("rootfs");
	if (!*root_path)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (mkdir(rootfs, 0755) < 0)
		return plx_err_sys(err, errno, "mkdir %s", rootfs);
	*rootfd = plx_inroot_open_root(rootfs, err);
	if (*rootfd < 0)
		return *rootfd;
	return unpack_layers(st, img, *rootfd, bs, err);
}

static int make_bundle(const struct plx_store *s, const char *ref, const char *dir,
		       const struct plx_bundle_opts *o, struct plx_bundle_stats *st, struct plx_err *err)
{
	__do_image_free struct plx_image *img = NULL;
	__do_exec_config_free struct plx_exec_config *ec = NULL;
	__do_storage_free struct plx_storage *storage = NULL;
	const char *final = o->final_dir ? o->final_dir : dir;
	__do_free char *rootfs = plx_path_join(dir, "rootfs");
	__do_free char *volumes = plx_path_join(dir, "volumes");
	__do_free char *volumes_final = plx_path_join(final, "volumes");
	__do_free char *root_path = NULL;
	__do_free char *layer_top = NULL;
	__do_free char *what = NULL;
	__do_close int rootfd = -1;
	json_auto_t *spec = NULL;
	int ret;

	if (!rootfs || !volumes || !volumes_final)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_store_image_open(s, ref, &img, err);
	if (ret < 0)
		return ret;
	if (img->config->os && strcmp(img->config->os, "linux") != 0)
		return plx_err_set(err, ENOEXEC, "image %s is for %s, not linux", img->name, img->config->os);
	if (asprintf(&what, "image %s: config %s", img->name, img->manifest->config.digest) < 0) {
		what = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	ret = plx_exec_config_from_json(img->config->doc, what, &ec, err);
	if (ret < 0)
		return ret;
	ret = pick_storage(o, ec, &storage, err);
	if (ret < 0)
		return plx_err_prefix(err, "container %s", o->id);

	ret = make_rootfs(storage, s, img, rootfs, &root_path, &layer_top, &rootfd, st, err);
	if (ret < 0)
		return ret;

	spec = oci_spec_template(false, 0, 0);
	if (!spec ||
	    json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", root_path, "readonly", 0)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_exec_config_apply(spec, ec, &o->run, rootfd, err);
	if (ret == 0)
		ret = merge_kept(ec, o->keep_volumes, err);
	if (ret == 0)
		ret = make_volumes(storage, dir, o, rootfd, spec, ec, volumes, volumes_final, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", img->name);
	if (set_annotation(spec, PLX_IMAGE_NAME_ANNOTATION, img->name, err) < 0 ||
	    set_annotation(spec, PLX_IMAGE_DIGEST_ANNOTATION, img->manifest_digest, err) < 0 ||
	    (o->managed && set_annotation(spec, PLX_IMAGE_MANAGED_ANNOTATION, "true", err) < 0) ||
	    (layer_top && set_annotation(spec, PLX_ROOTFS_LAYER_ANNOTATION, layer_top, err) < 0))
		return -err->code;
	return write_config(dir, spec, err);
}

int plx_image_bundle(const struct plx_store *s, const char *ref, const char *dir, const struct plx_bundle_opts *o,
		     struct plx_bundle_stats *stats, struct plx_err *err)
{
	__do_free char *abs = plx_path_abs(dir);
	struct plx_bundle_stats st = { 0 };
	bool created;
	int ret;

	if (!abs)
		return plx_err_sys(err, errno, "bundle directory %s", dir);
	ret = claim_dir(abs, &created, err);
	if (ret < 0)
		return ret;
	ret = make_bundle(s, ref, abs, o, &st, err);
	if (ret < 0) {
		struct plx_err e = PLX_ERR_INIT;

		/* storage volumes first: their record is in the directory (kept volumes stay) */
		if (plx_anon_volumes_release(abs, o->keep_volumes, &e) < 0)
			log_warn("cleaning up %s: %s", abs, plx_err_msg(&e));
		plx_err_clear(&e);
		unclaim_dir(abs, created);
		return ret;
	}
	if (stats)
		*stats = st;
	return 0;
}
