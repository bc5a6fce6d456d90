/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore: a container from one of its filesystem checkpoints, created and
 * started as runc's restore does (then waited for, like run, unless
 * detached).
 *
 *   in place   the container must be stopped: its volume is rolled back
 *              (to an older snapshot than the latest only with force, which
 *              destroys the newer ones), the stopped container is deleted
 *              while keeping the volume, and created again on that volume
 *              from the same bundle.
 *   as NEWID   the snapshot is cloned into a new volume (O(1) on zfs and
 *              btrfs) and NEWID is created on it; the source container is
 *              not touched and may keep running.
 */
#include "core/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lifecycle_internal.h"
#include "core/pve_registration.h"
#include "core/rootfs.h"
#include "image/bundle.h"
#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(restore_storage_freep, struct plx_storage, plx_storage_free)

/* A process restore needs criu to rebuild the processes; say what works instead. */
static int process_restore(struct plx_runtime *rt, struct plx_err *err)
{
	int r = plx_criu_check(rt->criu, "restore", err);
	if (r < 0)
		return r;
	return plx_err_set(err, EOPNOTSUPP,
			   "restore from CRIU images (--image-path) would need criu to rebuild the container's "
			   "processes, which this runtime does not do; restore a filesystem checkpoint instead "
			   "(restore without --image-path and the other CRIU flags)");
}

/* The bundle's config must load before the stopped container is given up. */
static int check_bundle(const char *bundle, struct plx_err *err)
{
	__do_free char *cfg = plx_path_join(bundle, "config.json");
	__do_oci_spec_free struct oci_spec *spec = NULL;

	if (!cfg)
		return plx_err_set(err, ENOMEM, "bundle path");
	int r = oci_spec_load(cfg, &spec, err);
	if (r == 0)
		r = oci_spec_validate(spec, err);
	return r;
}

struct picked {
	char *snap;
	char *bundle;
	json_t *record; /* the volume to create on (owned) */
};

static void picked_clear(struct picked *p)
{
	free(p->snap);
	free(p->bundle);
	json_decref(p->record);
}

static int need_managed_rootfs(const char *id, const struct plx_state *st, struct plx_err *err)
{
	if (st->storage)
		return 0;
	return plx_err_set(err, EOPNOTSUPP,
			   "container %s has no managed rootfs: restore needs a storage driver chosen at "
			   "create (runtime config \"storage.driver\" or the annotation %s)",
			   id, PLX_STORAGE_ANNOTATION);
}

/* p->bundle: the one given, else the container's; checked. */
static int take_bundle(const struct plx_restore_opts *o, const struct plx_state *st, struct picked *p,
		       struct plx_err *err)
{
	p->bundle = strdup(o->bundle ? o->bundle : st->bundle);
	if (!p->bundle)
		return plx_err_set(err, ENOMEM, "bundle");
	int r = check_bundle(p->bundle, err);
	if (r < 0 && o->as)
		return plx_err_prefix(err, "restore %s --as %s", o->id, o->as);
	return r < 0 ? plx_err_prefix(err, "restore %s", o->id) : 0;
}

/* p->snap: the checkpoint o->snapshot (NULL: the latest) on the container's volume, and the newer ones. */
static int pick_snapshot(const struct plx_restore_opts *o, const struct plx_state *st, struct plx_storage **s,
			 const char **volume, struct picked *p, char ***newer, struct plx_err *err)
{
	struct plx_storage_snapshot *snaps = NULL;
	size_t n = 0, idx = 0;

	int r = plx_rootfs_open(st->storage, s, volume, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", o->id);
	r = plx_storage_list_snapshots(*s, *volume, &snaps, &n, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", o->id);
	r = plx_checkpoint_pick(o->id, snaps, n, o->snapshot, &idx, newer, err);
	if (r == 0)
		p->snap = strdup(snaps[idx].name);
	plx_storage_snapshots_free(snaps, n);
	if (r < 0)
		return r;
	return p->snap ? 0 : plx_err_set(err, ENOMEM, "checkpoint name");
}

/* In place: checks, rollback, and the stopped container deleted with its volume kept. */
static int prepare_in_place(struct plx_runtime *rt, const struct plx_restore_opts *o, struct picked *p,
			    struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	_cleanup_(restore_storage_freep) struct plx_storage *s = NULL;
	__do_strv_free char **newer = NULL;
	const char *volume = NULL;

	int r = plx_container_open(rt, o->id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r == 0)
		r = need_managed_rootfs(o->id, st, err);
	if (r < 0)
		return r;
	enum plx_status s_now = plx_state_status(dirfd, st);
	if (s_now != PLX_STATUS_STOPPED)
		return plx_err_set(err, EBUSY, "container %s is %s; stop it or use --as NEWID", o->id,
				   s_now == PLX_STATUS_CREATED ? "created (not started)" : plx_status_name(s_now));
	r = take_bundle(o, st, p, err);
	if (r == 0)
		r = pick_snapshot(o, st, &s, &volume, p, &newer, err);
	if (r < 0)
		return r;
	if (newer && !o->force) {
		__do_free char *list = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);
		if (!f)
			return plx_err_set(err, ENOMEM, "checkpoint names");
		for (char **x = newer; *x; x++)
			fprintf(f, "%s%s", x == newer ? "" : ", ", *x);
		fclose(f);
		return plx_err_set(err, EEXIST,
				   "container %s: checkpoint %s is not the latest; restoring it destroys the newer "
				   "%s: pass --force to do so, or use --as NEWID to keep them",
				   o->id, p->snap, list ? list : "");
	}
	/* newest first, so every destroy is of the volume's latest snapshot */
	for (size_t k = plx_strv_len(newer); k > 0; k--) {
		r = plx_storage_destroy_snapshot(s, volume, newer[k - 1], err);
		if (r < 0)
			return plx_err_prefix(err, "container %s: restore --force", o->id);
		log_info("container %s: checkpoint %s destroyed (restore --force to %s)", o->id, newer[k - 1],
			 p->snap);
	}
	r = plx_storage_rollback(s, volume, p->snap, err);
	if (r == 0)
		r = plx_pve_sync_snapshots(st, p->snap, err); /* registered PVE CT: its config rolls back too */
	if (r < 0)
		return plx_err_prefix(err, "container %s: roll back to %s", o->id, p->snap);

	/* delete must keep the volume: it releases only what the state records */
	p->record = json_deep_copy(st->storage);
	if (!p->record)
		return plx_err_set(err, ENOMEM, "storage record");
	json_decref(st->storage);
	st->storage = NULL;
	/* image hook: nor the bundle create --image made (the container made again runs from it) */
	json_auto_t *managed = json_incref(json_object_get(st->annotations, PLX_IMAGE_MANAGED_ANNOTATION));
	if (managed)
		json_object_del(st->annotations, PLX_IMAGE_MANAGED_ANNOTATION);
	r = plx_state_write(dirfd, st, err);
	if (r < 0)
		return r;
	plx_closep(&lockfd);
	r = plx_container_delete(rt, o->id, true, err);
	if (r < 0) {
		/* the container stays: give it its volume back */
		struct plx_err e = PLX_ERR_INIT;
		st->storage = json_incref(p->record);
		if (managed)
			json_object_set(st->annotations, PLX_IMAGE_MANAGED_ANNOTATION, managed);
		if (plx_state_write(dirfd, st, &e) < 0)
			log_error("container %s: %s (its volume record is lost)", o->id, plx_err_msg(&e));
		plx_err_clear(&e);
		return plx_err_prefix(err, "restore %s", o->id);
	}
	return 0;
}

/* As NEWID: a clone of the snapshot; the source is left as it is. */
static int prepare_as(struct plx_runtime *rt, const struct plx_restore_opts *o, struct picked *p,
		      struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	_cleanup_(restore_storage_freep) struct plx_storage *s = NULL;
	__do_strv_free char **newer = NULL;
	__do_free char *path = NULL;
	const char *volume = NULL;

	int r = plx_id_validate(o->as, err);
	if (r < 0)
		return plx_err_prefix(err, "--as");
	r = plx_container_open(rt, o->id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r == 0)
		r = need_managed_rootfs(o->id, st, err);
	if (r < 0)
		return r;
	if (faccessat(rootfd, o->as, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return plx_err_set(err, EEXIST, "container with id exists: %s", o->as);
	r = take_bundle(o, st, p, err);
	if (r == 0)
		r = pick_snapshot(o, st, &s, &volume, p, &newer, err);
	if (r < 0)
		return r;
	r = plx_rootfs_clone_snapshot(st->storage, p->snap, o->as, &path, &p->record, err);
	return r < 0 ? plx_err_prefix(err, "restore %s --as %s", o->id, o->as) : 0;
}

/* Whether create made the container (it may have failed later, in start or the wait). */
static bool container_exists(struct plx_runtime *rt, const char *id)
{
	struct plx_err e = PLX_ERR_INIT;
	json_t *state = NULL;
	bool there = plx_container_state(rt, id, &state, &e) == 0;

	json_decref(state);
	plx_err_clear(&e);
	return there;
}

/*
 * create failed, and create never destroys a volume it was handed: a clone
 * made for --as is ours to destroy; the volume of an in-place restore holds
 * every checkpoint and is kept, its name logged so it can be recovered.
 */
static void volume_after_failed_create(const struct plx_restore_opts *o, struct picked *p)
{
	struct plx_err e = PLX_ERR_INIT;

	if (o->as) {
		if (plx_rootfs_release(p->record, &e) < 0)
			log_warn("restore %s --as %s: %s", o->id, o->as, plx_err_msg(&e));
	} else {
		log_error("restore %s: the container could not be created again; its volume %s (%s on %s) and "
			  "its checkpoints are kept",
			  o->id, json_string_value(json_object_get(p->record, "volume")),
			  json_string_value(json_object_get(p->record, "driver")),
			  json_string_value(json_object_get(p->record, "base")));
	}
	plx_err_clear(&e);
}

int plx_container_restore(struct plx_runtime *rt, const struct plx_restore_opts *o, int *exit_status,
			  struct plx_err *err)
{
	_cleanup_(picked_clear) struct picked p = { 0 };

	*exit_status = 0;
	if (o->criu && o->criu->requested)
		return process_restore(rt, err);
	int r = o->as ? prepare_as(rt, o, &p, err) : prepare_in_place(rt, o, &p, err);
	if (r < 0)
		return r;
	log_debug("restore %s from %s as %s", o->id, p.snap, o->as ? o->as : o->id);

	struct plx_create_opts co = {
		.id = o->as ? o->as : o->id,
		.bundle = p.bundle,
		.pid_file = o->pid_file,
		.console_socket = o->console_socket,
		.no_pivot = o->no_pivot,
		.rootfs_volume = p.record,
	};
	/* run's plumbing: create + start, then wait unless detached; the container goes when it exits */
	r = plx_container_run(rt, &co, o->detach, false, exit_status, err);
	if (r < 0 && !container_exists(rt, co.id))
		volume_after_failed_create(o, &p);
	return r < 0 ? plx_err_prefix(err, "restore %s from checkpoint %s", co.id, p.snap) : 0;
}
