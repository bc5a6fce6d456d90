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

#include "image/inroot.h"
#include "image/unpack.h"
#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

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
	static const char *const made[] = { "rootfs", "volumes", "config.json" };
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

static int make_bundle(const struct plx_store *s, const char *ref, const char *dir,
		       const struct plx_bundle_opts *o, struct plx_bundle_stats *st, struct plx_err *err)
{
	__do_image_free struct plx_image *img = NULL;
	__do_exec_config_free struct plx_exec_config *ec = NULL;
	__do_free char *rootfs = plx_path_join(dir, "rootfs");
	__do_free char *volumes = plx_path_join(dir, "volumes");
	__do_free char *what = NULL;
	__do_close int rootfd = -1;
	json_auto_t *spec = NULL;
	int ret;

	if (!rootfs || !volumes)
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

	if (mkdir(rootfs, 0755) < 0)
		return plx_err_sys(err, errno, "mkdir %s", rootfs);
	rootfd = plx_inroot_open_root(rootfs, err);
	if (rootfd < 0)
		return rootfd;
	ret = unpack_layers(s, img, rootfd, st, err);
	if (ret < 0)
		return ret;

	spec = oci_spec_template(false, 0, 0);
	if (!spec || json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", "rootfs", "readonly", 0)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_exec_config_apply(spec, ec, &o->run, rootfd, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", img->name);
	ret = plx_exec_config_volumes(spec, ec, volumes, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", img->name);
	for (size_t i = 0; ec->volumes && ec->volumes[i]; i++) {
		ret = make_volume(rootfd, volumes, ec->volumes[i], err);
		if (ret < 0)
			return plx_err_prefix(err, "image %s", img->name);
	}
	if (set_annotation(spec, PLX_IMAGE_NAME_ANNOTATION, img->name, err) < 0 ||
	    set_annotation(spec, PLX_IMAGE_DIGEST_ANNOTATION, img->manifest_digest, err) < 0 ||
	    (o->managed && set_annotation(spec, PLX_IMAGE_MANAGED_ANNOTATION, "true", err) < 0))
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
		unclaim_dir(abs, created);
		return ret;
	}
	if (stats)
		*stats = st;
	return 0;
}
