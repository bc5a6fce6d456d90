/* SPDX-License-Identifier: Apache-2.0 */
#include "core/image_create.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/state.h"
#include "image/bundle.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(store_closep, struct plx_store, plx_store_close)

/* <images store>/bundles/<id> */
static int bundle_path(struct plx_runtime *rt, const char *id, char **out, struct plx_err *err)
{
	__do_free char *root = NULL;
	int ret;

	ret = plx_id_validate(id, err);
	if (ret < 0)
		return ret;
	ret = plx_store_root_from_config(rt->config, &root, err);
	if (ret < 0)
		return ret;
	if (asprintf(out, "%s/bundles/%s", root, id) < 0) {
		*out = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static bool container_exists(struct plx_runtime *rt, const char *id)
{
	__do_free char *dir = plx_path_join(rt->root, id);
	struct stat st;

	/* when in doubt (ENOMEM), say it exists: the bundle is then kept, never lost */
	return !dir || stat(dir, &st) == 0;
}

int plx_image_create_bundle(struct plx_runtime *rt, const char *id, const char *ref,
			    const struct plx_image_run_opts *o, char **bundle, struct plx_err *err)
{
	__attribute__((cleanup(store_closep))) struct plx_store *s = NULL;
	__do_free char *path = NULL;
	__do_free char *parent = NULL;
	struct plx_bundle_opts bo = { .run = *o, .managed = true };
	struct plx_bundle_stats st;
	int ret;

	ret = bundle_path(rt, id, &path, err);
	if (ret < 0)
		return ret;
	parent = strndup(path, (size_t)(strrchr(path, '/') - path));
	if (!parent)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_mkdir_p(parent, 0700, err);
	if (ret < 0)
		return ret;
	/* mkdir is the claim: two creates of one id cannot both own the directory */
	if (mkdir(path, 0755) < 0) {
		if (errno != EEXIST)
			return plx_err_sys(err, errno, "mkdir %s", path);
		if (container_exists(rt, id))
			return plx_err_set(err, EEXIST, "container with id exists: %s", id);
		log_info("removing %s, left by a create of %s that did not finish", path, id);
		ret = plx_rm_rf_at(AT_FDCWD, path, err);
		if (ret < 0)
			return ret;
		if (mkdir(path, 0755) < 0)
			return plx_err_sys(err, errno, "mkdir %s", path);
	}
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret == 0)
		ret = plx_image_bundle(s, ref, path, &bo, &st, err);
	if (ret < 0) {
		rmdir(path);
		return ret;
	}
	log_debug("container %s: bundle %s from %s: %zu layers, %llu entries, %llu bytes", id, path, ref, st.layers,
		  (unsigned long long)st.entries, (unsigned long long)st.tar_bytes);
	*bundle = steal_ptr(path);
	return 0;
}

int plx_image_release_bundle(struct plx_runtime *rt, const char *id, const char *bundle,
			     const json_t *annotations, struct plx_err *err)
{
	__do_free char *path = NULL;
	const char *managed = json_string_value(json_object_get(annotations, PLX_IMAGE_MANAGED_ANNOTATION));
	struct plx_err ignore = PLX_ERR_INIT;

	if (!bundle || !managed || strcmp(managed, "true") != 0)
		return 0;
	/* the annotation alone is only a claim: the path must be ours too */
	if (bundle_path(rt, id, &path, &ignore) < 0 || strcmp(path, bundle) != 0) {
		log_warn("container %s: bundle %s says it was made from an image, but is not %s; kept", id, bundle,
			 path ? path : "in the image store");
		plx_err_clear(&ignore);
		return 0;
	}
	return plx_rm_rf_at(AT_FDCWD, path, err);
}

void plx_image_abandon_bundle(struct plx_runtime *rt, const char *id, const char *bundle)
{
	struct plx_err e = PLX_ERR_INIT;

	if (!bundle || container_exists(rt, id))
		return;
	if (plx_rm_rf_at(AT_FDCWD, bundle, &e) < 0)
		log_warn("container %s: %s", id, plx_err_msg(&e));
	plx_err_clear(&e);
}
