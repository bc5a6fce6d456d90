/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image update: pull, build the new bundle beside the old one
 * (<bundle>@update; '@' is no id character, so no other container's bundle
 * can have the name), stop, then switch: old bundle -> <bundle>@old, delete
 * the old container (its rootfs volume; the bundle path is empty now, so
 * its volumes stay), move the directory volumes over, new bundle ->
 * <bundle>, create (and start).  A failed create reverses the switch.
 */
#include "core/image_update.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/image_create.h"
#include "image/anon_volumes.h"
#include "image/bundle.h"
#include "image/image_config.h"
#include "image/pull.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/signals.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(update_store_closep, struct plx_store, plx_store_close)

void plx_image_update_result_clear(struct plx_image_update_result *r)
{
	free(r->name);
	free(r->old_digest);
	free(r->new_digest);
	*r = (struct plx_image_update_result){ 0 };
}

static const char *ann(const json_t *state, const char *key)
{
	return json_string_value(json_object_get(json_object_get(state, "annotations"), key));
}

static const char *status_of(struct plx_runtime *rt, const char *id)
{
	struct plx_err e = PLX_ERR_INIT;
	json_auto_t *st = NULL;
	static const char *const known[] = { "created", "running", "paused", "stopped" };
	const char *s;

	if (plx_container_state(rt, id, &st, &e) < 0) {
		plx_err_clear(&e);
		return "gone";
	}
	s = json_string_value(json_object_get(st, "status"));
	for (size_t i = 0; s && i < ARRAY_SIZE(known); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return "unknown";
}

static bool wait_stopped(struct plx_runtime *rt, const char *id, unsigned int seconds)
{
	struct timespec delay = { 0, 50 * 1000 * 1000 };

	for (unsigned int i = 0; i < seconds * 20; i++) {
		if (strcmp(status_of(rt, id), "stopped") == 0)
			return true;
		nanosleep(&delay, NULL);
	}
	return strcmp(status_of(rt, id), "stopped") == 0;
}

/* Its StopSignal (SIGTERM by default), then SIGKILL after timeout. */
static int stop_container(struct plx_runtime *rt, const char *id, const json_t *state, unsigned int timeout,
			  struct plx_err *err)
{
	const char *name = ann(state, PLX_IMAGE_STOP_SIGNAL_ANNOTATION);
	int sig = plx_signal_parse(name ? name : "SIGTERM", err);
	int ret;

	if (sig < 0)
		return plx_err_prefix(err, "container %s: annotation %s", id, PLX_IMAGE_STOP_SIGNAL_ANNOTATION);
	if (strcmp(status_of(rt, id), "paused") == 0 && (ret = plx_container_resume(rt, id, err)) < 0)
		return ret;
	ret = plx_container_kill(rt, id, sig, false, err);
	if (ret < 0)
		return ret;
	if (wait_stopped(rt, id, timeout))
		return 0;
	log_warn("container %s: still running %u s after %s: SIGKILL", id, timeout, plx_signal_name(sig));
	ret = plx_container_kill(rt, id, SIGKILL, true, err);
	if (ret < 0)
		return ret;
	if (!wait_stopped(rt, id, 10))
		return plx_err_set(err, ETIMEDOUT, "container %s did not stop", id);
	return 0;
}

/*
 * What the container has now and keeps: destination -> "" for a directory
 * under BUNDLE/volumes (from its config's bind mounts), or the storage
 * volume's name (from the bundle's record).
 */
static int kept_volumes(const char *bundle, json_t **out, struct plx_err *err)
{
	__do_free char *cfg_path = plx_path_join(bundle, "config.json");
	__do_free char *prefix = NULL;
	json_auto_t *cfg = NULL;
	json_auto_t *rec = NULL;
	json_auto_t *keep = json_object();
	json_error_t je;
	const char *dest;
	json_t *m, *v;
	size_t i;
	int ret;

	if (!cfg_path || !keep || asprintf(&prefix, "%s/volumes/", bundle) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	cfg = json_load_file(cfg_path, 0, &je);
	if (!cfg)
		return plx_err_set(err, EINVAL, "%s: %s", cfg_path, je.text);
	json_array_foreach(json_object_get(cfg, "mounts"), i, m) {
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *d = json_string_value(json_object_get(m, "destination"));

		if (src && d && strncmp(src, prefix, strlen(prefix)) == 0 &&
		    json_object_set_new(keep, d, json_string("")) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	ret = plx_anon_volumes_read(bundle, &rec, err);
	if (ret < 0)
		return ret;
	json_object_foreach(json_object_get(rec, "volumes"), dest, v)
		if (json_object_set(keep, dest, v) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	*out = steal_ptr(keep);
	return 0;
}

/* Move the directory volumes from bundle from/volumes to to/volumes (back, on rollback). */
static int move_dir_volumes(const json_t *keep, const char *from, const char *to, struct plx_err *err)
{
	const char *dest;
	json_t *v;

	json_object_foreach((json_t *)keep, dest, v) {
		__do_free char *fv = plx_path_join(from, "volumes");
		__do_free char *tv = plx_path_join(to, "volumes");
		__do_free char *src = NULL, *dst = NULL, *parent = NULL;
		int ret;

		if (!json_is_string(v) || *json_string_value(v))
			continue;
		if (!fv || !tv)
			return plx_err_set(err, ENOMEM, "out of memory");
		ret = plx_image_volume_source(fv, dest, &src, err);
		if (ret == 0)
			ret = plx_image_volume_source(tv, dest, &dst, err);
		if (ret < 0)
			return ret;
		/* a volume inside another one moved with it */
		if (access(src, F_OK) < 0)
			continue;
		parent = strdup(dst);
		if (!parent)
			return plx_err_set(err, ENOMEM, "out of memory");
		ret = plx_mkdir_p(dirname(parent), 0755, err);
		if (ret < 0)
			return ret;
		/* the new bundle's empty directory for it (there is one when the new image declares it too) */
		rmdir(dst);
		if (rename(src, dst) < 0)
			return plx_err_sys(err, errno, "volume %s: move %s to %s", dest, src, dst);
	}
	return 0;
}

static void drop_bundle(const char *dir, const json_t *keep)
{
	struct plx_err e = PLX_ERR_INIT;

	if (plx_anon_volumes_release(dir, keep, &e) < 0 || plx_rm_rf_at(AT_FDCWD, dir, &e) < 0)
		log_warn("removing %s: %s", dir, plx_err_msg(&e));
	plx_err_clear(&e);
}

static int recreate(struct plx_runtime *rt, const char *id, const char *bundle, bool start, struct plx_err *err)
{
	struct plx_create_opts co = { .id = id, .bundle = bundle };
	int ret = plx_container_create(rt, &co, err);

	if (ret == 0 && start)
		ret = plx_container_start(rt, id, err);
	return ret;
}

/* The switch: from here on the old container goes; a failure puts it back. */
static int switch_over(struct plx_runtime *rt, const char *id, const char *bundle, const char *next,
		       const json_t *keep, bool start, struct plx_err *err)
{
	__do_free char *old = NULL;
	struct plx_err e = PLX_ERR_INIT;
	int ret;

	if (asprintf(&old, "%s@old", bundle) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (rename(bundle, old) < 0)
		return plx_err_sys(err, errno, "move %s aside", bundle);
	ret = plx_container_delete(rt, id, false, err);
	if (ret < 0) {
		if (rename(old, bundle) < 0)
			log_error("container %s: cannot move %s back to %s: %m", id, old, bundle);
		return plx_err_prefix(err, "container %s: delete for the update", id);
	}
	ret = move_dir_volumes(keep, old, next, err);
	if (ret == 0 && rename(next, bundle) < 0)
		ret = plx_err_sys(err, errno, "move %s to %s", next, bundle);
	if (ret == 0)
		ret = recreate(rt, id, bundle, start, err);
	if (ret == 0) {
		/* its storage volumes belong to the new bundle now */
		if (plx_anon_volumes_forget(old, &e) < 0 || plx_rm_rf_at(AT_FDCWD, old, &e) < 0)
			log_warn("container %s: removing the old bundle: %s", id, plx_err_msg(&e));
		plx_err_clear(&e);
		return 0;
	}

	/* back onto the old bundle */
	plx_err_prefix(err, "container %s: the updated container failed", id);
	/* the new bundle out of the way first: deleting must not take the volumes it records with it */
	if (access(bundle, F_OK) == 0 && rename(bundle, next) < 0)
		log_error("container %s: cannot move %s back to %s: %m", id, bundle, next);
	if (plx_container_delete(rt, id, true, &e) < 0)
		log_warn("container %s: %s", id, plx_err_msg(&e));
	plx_err_clear(&e);
	if (move_dir_volumes(keep, next, old, &e) < 0 || rename(old, bundle) < 0 ||
	    recreate(rt, id, bundle, start, &e) < 0) {
		log_error("container %s: restoring it on its old image failed: %s", id, plx_err_msg(&e));
		plx_err_clear(&e);
		return -err->code;
	}
	drop_bundle(next, keep);
	return plx_err_prefix(err, "container %s is back on its old image", id);
}

int plx_image_update(struct plx_runtime *rt, const struct plx_image_update_opts *o,
		     struct plx_image_update_result *res, struct plx_err *err)
{
	__attribute__((cleanup(update_store_closep))) struct plx_store *s = NULL;
	struct plx_image_run_saved saved __attribute__((cleanup(plx_image_run_saved_clear))) = { 0 };
	struct plx_pull_result pr = { 0 };
	__do_free char *path = NULL, *next = NULL;
	json_auto_t *state = NULL;
	json_auto_t *keep = NULL;
	const char *bundle, *status, *name, *digest, *managed;
	bool running;
	int ret;

	*res = (struct plx_image_update_result){ 0 };
	ret = plx_container_state(rt, o->id, &state, err);
	if (ret < 0)
		return ret;
	bundle = json_string_value(json_object_get(state, "bundle"));
	status = json_string_value(json_object_get(state, "status"));
	name = ann(state, PLX_IMAGE_NAME_ANNOTATION);
	digest = ann(state, PLX_IMAGE_DIGEST_ANNOTATION);
	managed = ann(state, PLX_IMAGE_MANAGED_ANNOTATION);
	ret = plx_image_bundle_path(rt, o->id, &path, err);
	if (ret < 0)
		return ret;
	if (!bundle || !name || !digest || !managed || strcmp(managed, "true") != 0 || strcmp(bundle, path) != 0)
		return plx_err_set(err, EINVAL, "container %s was not made by create --image: nothing to update", o->id);
	running = status && strcmp(status, "stopped") != 0;
	if (running && !o->restart)
		return plx_err_set(err, EBUSY, "container %s is %s: stop it first, or use --restart", o->id, status);
	ret = plx_image_run_load(bundle, &saved, err);
	if (ret < 0)
		return plx_err_prefix(err, "container %s", o->id);
	if (saved.run.tty && running)
		return plx_err_set(err, EINVAL, "container %s has a terminal: it cannot be run again detached", o->id);
	res->name = strdup(name);
	res->old_digest = strdup(digest);
	if (!res->name || !res->old_digest)
		return plx_err_set(err, ENOMEM, "out of memory");

	/* 1. the image */
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret == 0)
		ret = plx_image_pull(rt->config, s, &(struct plx_pull_opts){ .ref = name }, &pr, err);
	if (ret < 0)
		return plx_err_prefix(err, "container %s: pull %s", o->id, name);
	res->new_digest = steal_ptr(pr.manifest_digest);
	plx_pull_result_free(&pr);
	if (strcmp(res->new_digest, digest) == 0)
		return 0;

	/* 2. its bundle, beside the old one, keeping the volumes */
	ret = kept_volumes(bundle, &keep, err);
	if (ret < 0)
		return plx_err_prefix(err, "container %s", o->id);
	if (asprintf(&next, "%s@update", bundle) < 0) {
		next = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	/* left by an update that was killed: what it made goes, the kept volumes stay */
	drop_bundle(next, keep);
	struct plx_bundle_opts bo = { .run = saved.run, .managed = true, .id = o->id, .cfg = rt->config,
				      .keep_volumes = keep, .final_dir = bundle };
	ret = plx_image_bundle(s, res->new_digest, next, &bo, NULL, err);
	if (ret < 0)
		return plx_err_prefix(err, "container %s", o->id);

	/* 3. stop, switch, start */
	if (running) {
		ret = stop_container(rt, o->id, state, o->stop_timeout_s ? o->stop_timeout_s : 10, err);
		if (ret < 0) {
			drop_bundle(next, keep);
			return ret;
		}
	}
	ret = switch_over(rt, o->id, bundle, next, keep, running, err);
	if (ret < 0)
		return ret;
	res->updated = true;
	res->restarted = running;
	return 0;
}
