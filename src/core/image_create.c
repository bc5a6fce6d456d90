/* SPDX-License-Identifier: Apache-2.0 */
#include "core/image_create.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/state.h"
#include "image/anon_volumes.h"
#include "image/bundle.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(store_closep, struct plx_store, plx_store_close)

int plx_image_bundle_path(struct plx_runtime *rt, const char *id, char **out, struct plx_err *err)
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

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The user's flags, for image update (the caller's env for "--env KEY" is resolved already). */
static int run_save(const char *bundle, const struct plx_image_run_opts *o, struct plx_err *err)
{
	json_auto_t *j = json_pack("{s:o, s:o, s:o, s:o, s:b}", "args", o->args ? strv_json(o->args) : json_null(),
				   "env", strv_json(o->env), "user", o->user ? json_string(o->user) : json_null(),
				   "workdir", o->workdir ? json_string(o->workdir) : json_null(), "tty", o->tty);
	__do_free char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	__do_free char *path = plx_path_join(bundle, PLX_IMAGE_RUN_FILE);

	if (!text || !path)
		return plx_err_set(err, ENOMEM, "out of memory");
	return plx_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
}

static int strv_from_json(const json_t *a, const char *path, const char *key, char ***out, struct plx_err *err)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return plx_err_set(err, EINVAL, "%s: %s[%zu]: expected string", path, key, i);
		if (plx_strv_append(out, json_string_value(v)) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int plx_image_run_load(const char *bundle, struct plx_image_run_saved *out, struct plx_err *err)
{
	__do_free char *path = plx_path_join(bundle, PLX_IMAGE_RUN_FILE);
	json_auto_t *j = NULL;
	json_error_t je;
	json_t *args;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (access(path, F_OK) < 0)
		return plx_err_sys(err, errno, "%s (the container was made before image update kept its flags)",
				   path);
	j = json_load_file(path, 0, &je);
	if (!j)
		return plx_err_set(err, EINVAL, "%s: %s", path, je.text);
	args = json_object_get(j, "args");
	/* "args": [] means "no Cmd", which differs from null, "the image's Cmd" */
	if (json_is_array(args) && !(out->args = calloc(1, sizeof(char *))))
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = strv_from_json(args, path, "args", &out->args, err);
	if (ret == 0)
		ret = strv_from_json(json_object_get(j, "env"), path, "env", &out->env, err);
	if (ret < 0) {
		plx_image_run_saved_clear(out);
		return ret;
	}
	if (json_is_string(json_object_get(j, "user")))
		out->user = strdup(json_string_value(json_object_get(j, "user")));
	if (json_is_string(json_object_get(j, "workdir")))
		out->workdir = strdup(json_string_value(json_object_get(j, "workdir")));
	out->run = (struct plx_image_run_opts){ .args = out->args, .env = out->env, .user = out->user,
						.workdir = out->workdir,
						.tty = json_is_true(json_object_get(j, "tty")) };
	return 0;
}

void plx_image_run_saved_clear(struct plx_image_run_saved *s)
{
	plx_strv_free(s->args);
	plx_strv_free(s->env);
	free(s->user);
	free(s->workdir);
	memset(s, 0, sizeof(*s));
}

/* rm -rf of a bundle, its storage volumes first (their record is inside it). */
static int remove_bundle(const char *path, struct plx_err *err)
{
	int ret = plx_anon_volumes_release(path, NULL, err);

	if (ret < 0)
		return ret;
	return plx_rm_rf_at(AT_FDCWD, path, err);
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
	struct plx_bundle_opts bo = { .run = *o, .managed = true, .id = id, .cfg = rt->config };
	struct plx_bundle_stats st;
	int ret;

	ret = plx_image_bundle_path(rt, id, &path, err);
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
		ret = remove_bundle(path, err);
		if (ret < 0)
			return ret;
		if (mkdir(path, 0755) < 0)
			return plx_err_sys(err, errno, "mkdir %s", path);
	}
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret == 0)
		ret = plx_image_bundle(s, ref, path, &bo, &st, err);
	if (ret == 0) {
		ret = run_save(path, o, err);
		if (ret < 0) {
			struct plx_err e = PLX_ERR_INIT;

			if (remove_bundle(path, &e) < 0)
				log_warn("container %s: %s", id, plx_err_msg(&e));
			plx_err_clear(&e);
		}
	}
	if (ret < 0) {
		rmdir(path);
		return ret;
	}
	log_debug("container %s: bundle %s from %s: %zu layers (%s, %zu unpacked), %llu entries, %llu bytes", id,
		  path, ref, st.layers, st.layered ? "layer store" : "in the bundle",
		  st.layered ? st.layers_unpacked : st.layers, (unsigned long long)st.entries,
		  (unsigned long long)st.tar_bytes);
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
	if (plx_image_bundle_path(rt, id, &path, &ignore) < 0 || strcmp(path, bundle) != 0) {
		log_warn("container %s: bundle %s says it was made from an image, but is not %s; kept", id, bundle,
			 path ? path : "in the image store");
		plx_err_clear(&ignore);
		return 0;
	}
	return remove_bundle(path, err);
}

void plx_image_abandon_bundle(struct plx_runtime *rt, const char *id, const char *bundle)
{
	struct plx_err e = PLX_ERR_INIT;

	if (!bundle || container_exists(rt, id))
		return;
	if (remove_bundle(bundle, &e) < 0)
		log_warn("container %s: %s", id, plx_err_msg(&e));
	plx_err_clear(&e);
}
