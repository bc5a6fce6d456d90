/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkpoint / checkpoint --delete / checkpoints, and the recovery of a
 * container a killed checkpoint left frozen.
 *
 * A filesystem checkpoint: marker (we are about to freeze it) -> freeze ->
 * snapshot -> thaw -> marker removed.  The freeze makes the snapshot one
 * instant of every process's writes: what a process wrote before another
 * one is never missing from the snapshot while the later write is there.
 */
#include "core/checkpoint.h"
#include "core/pve_registration.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/lifecycle_internal.h"
#include "core/rootfs.h"
#include "engine/lxc/cgroup.h"
#include "oci/spec.h"
#include "storage/storage_exec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(storage_freep, struct plx_storage, plx_storage_free)

void plx_checkpoint_result_clear(struct plx_checkpoint_result *r)
{
	free(r->name);
	plx_strv_free(r->deleted);
	*r = (struct plx_checkpoint_result){ 0 };
}

/* ---- pure parts ---- */

char *plx_checkpoint_marker_format(pid_t pid, uint64_t pid_start, bool was_paused, const char *snapshot)
{
	json_auto_t *j = json_pack("{s:i, s:I, s:b, s:s?}", "pid", (int)pid, "pid_start", (json_int_t)pid_start,
				   "was_paused", was_paused, "snapshot", snapshot);
	return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

int plx_checkpoint_marker_parse(const char *buf, pid_t *pid, uint64_t *pid_start, bool *was_paused,
				struct plx_err *err)
{
	json_error_t je;
	json_auto_t *j = json_loads(buf, 0, &je);
	json_int_t p = 0, s = 0;
	int paused = 0;

	if (!j)
		return plx_err_set(err, EINVAL, "%s: %s", PLX_CHECKPOINT_MARKER, je.text);
	if (json_unpack_ex(j, &je, 0, "{s:I, s:I, s:b}", "pid", &p, "pid_start", &s, "was_paused", &paused) < 0)
		return plx_err_set(err, EINVAL, "%s: %s", PLX_CHECKPOINT_MARKER, je.text);
	if (p <= 0 || p > INT32_MAX || s < 0)
		return plx_err_set(err, EINVAL, "%s: invalid pid %lld", PLX_CHECKPOINT_MARKER, (long long)p);
	*pid = (pid_t)p;
	*pid_start = (uint64_t)s;
	*was_paused = paused;
	return 0;
}

static bool snap_exists(const struct plx_storage_snapshot *snaps, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(snaps[i].name, name) == 0)
			return true;
	return false;
}

char *plx_checkpoint_default_name(int64_t ts, const struct plx_storage_snapshot *snaps, size_t n)
{
	char *name = NULL;

	if (asprintf(&name, PLX_CHECKPOINT_PREFIX "%lld", (long long)ts) < 0)
		return NULL;
	/* two checkpoints in one second: the first free suffix */
	for (unsigned int i = 2; snap_exists(snaps, n, name); i++) {
		free(name);
		if (asprintf(&name, PLX_CHECKPOINT_PREFIX "%lld-%u", (long long)ts, i) < 0)
			return NULL;
	}
	return name;
}

int plx_checkpoint_expired(const struct plx_storage_snapshot *snaps, size_t n, unsigned int keep, char ***out)
{
	__do_strv_free char **v = NULL;

	*out = NULL;
	if (keep == 0 || n <= keep)
		return 0;
	for (size_t i = 0; i < n - keep; i++)
		if (plx_strv_append(&v, snaps[i].name) < 0)
			return -ENOMEM;
	*out = steal_ptr(v);
	return 0;
}

int plx_checkpoint_pick(const char *id, const struct plx_storage_snapshot *snaps, size_t n, const char *name,
			size_t *index, char ***newer, struct plx_err *err)
{
	__do_strv_free char **v = NULL;
	size_t i;

	*newer = NULL;
	if (n == 0)
		return plx_err_set(err, ENOENT, "container %s has no checkpoints", id);
	if (!name) {
		i = n - 1;
	} else {
		for (i = 0; i < n && strcmp(snaps[i].name, name) != 0; i++)
			;
		if (i == n) {
			__do_free char *have = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&have, &len);
			if (!f)
				return plx_err_set(err, ENOMEM, "checkpoint names");
			for (size_t k = 0; k < n; k++)
				fprintf(f, "%s%s", k ? ", " : "", snaps[k].name);
			fclose(f);
			return plx_err_set(err, ENOENT, "container %s has no checkpoint %s (it has: %s)", id, name,
					   have ? have : "");
		}
	}
	for (size_t k = i + 1; k < n; k++)
		if (plx_strv_append(&v, snaps[k].name) < 0)
			return plx_err_set(err, ENOMEM, "checkpoint names");
	*index = i;
	*newer = steal_ptr(v);
	return 0;
}

/* ---- recovery ---- */

static void remove_marker(int dirfd)
{
	if (unlinkat(dirfd, PLX_CHECKPOINT_MARKER, 0) < 0 && errno != ENOENT)
		log_warn("remove %s: %m", PLX_CHECKPOINT_MARKER);
}

void plx_checkpoint_recover(int dirfd, const struct plx_state *st)
{
	__do_free char *buf = NULL;
	struct plx_err e = PLX_ERR_INIT;
	struct plx_state writer = { 0 };
	bool was_paused = false;

	if (plx_read_file_at(dirfd, PLX_CHECKPOINT_MARKER, &buf, NULL, NULL) < 0)
		return; /* none: the common case */
	if (plx_checkpoint_marker_parse(buf, &writer.pid, &writer.pid_start, &was_paused, &e) < 0) {
		/* unreadable: we cannot know it was paused; a thaw is the safe side of "never left frozen" */
		log_warn("container %s: %s; thawing it", st->id, plx_err_msg(&e));
		plx_err_clear(&e);
		was_paused = false;
	} else if (plx_state_pid_alive(&writer)) {
		return; /* a checkpoint is running (only a lock-free reader sees this) */
	}
	if (!was_paused && st->cgroup_path && plx_cgroup_is_frozen(st->cgroup_path)) {
		log_warn("container %s: a checkpoint (pid %d) died while it was frozen; thawing it", st->id,
			 (int)writer.pid);
		if (plx_cgroup_freeze(st->cgroup_path, false, &e) < 0) {
			log_warn("container %s: %s", st->id, plx_err_msg(&e));
			plx_err_clear(&e);
			return; /* keep the marker: the next command tries again */
		}
	}
	remove_marker(dirfd);
}

void plx_checkpoint_recover_unlocked(int dirfd, const struct plx_state *st)
{
	if (faccessat(dirfd, PLX_CHECKPOINT_MARKER, F_OK, 0) < 0)
		return;
	/* the lock is an flock on the directory: a holder is a live command that recovers itself */
	__do_close int lfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
		return;
	plx_checkpoint_recover(dirfd, st);
}

/* ---- checkpoint ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_delay(void)
{
	const char *v = getenv(PLX_CHECKPOINT_DELAY_ENV);
	long ms = v ? strtol(v, NULL, 10) : 0;

	if (ms > 0) {
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

static int need_managed_rootfs(const struct plx_state *st, const char *what, struct plx_err *err)
{
	if (st->storage)
		return 0;
	return plx_err_set(err, EOPNOTSUPP,
			   "container %s has no managed rootfs: %s needs a storage driver chosen at create "
			   "(runtime config \"storage.driver\" or the annotation %s)",
			   st->id, what, PLX_STORAGE_ANNOTATION);
}

static int open_volume(const struct plx_state *st, struct plx_storage **s, const char **volume,
		       struct plx_err *err)
{
	int r = plx_rootfs_open(st->storage, s, volume, err);
	return r < 0 ? plx_err_prefix(err, "container %s", st->id) : 0;
}

/* A container opened and locked, and the volume of its managed rootfs. */
struct managed {
	int rootfd, dirfd, lockfd;
	struct plx_state *st;
	struct plx_storage *s;
	const char *volume;
};
#define MANAGED_INIT { .rootfd = -1, .dirfd = -1, .lockfd = -1 }

/* In the order the separate cleanups ran: storage, state, then the fds (the lock last). */
static void managed_clear(struct managed *m)
{
	plx_storage_free(m->s);
	plx_state_free(m->st);
	plx_closep(&m->lockfd);
	plx_closep(&m->dirfd);
	plx_closep(&m->rootfd);
}

/* what: the operation that needs the managed rootfs, for the error. */
static int open_managed(struct plx_runtime *rt, const char *id, const char *what, struct managed *m,
			struct plx_err *err)
{
	int r = plx_container_open(rt, id, &m->rootfd, &m->dirfd, &m->lockfd, &m->st, err);
	if (r == 0)
		r = need_managed_rootfs(m->st, what, err);
	if (r == 0)
		r = open_volume(m->st, &m->s, &m->volume, err);
	return r;
}

/* The bind mounts' destinations, which criu must treat as external (as runc). */
static int bind_mounts(int dirfd, char ***out, struct plx_err *err)
{
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_free char *buf = NULL;
	__do_strv_free char **v = NULL;
	size_t len = 0;

	int r = plx_read_file_at(dirfd, "oci-config.json", &buf, &len, err);
	if (r == 0)
		r = oci_spec_parse(buf, len, "oci-config.json", &spec, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		bool bind = m->type && strcmp(m->type, "bind") == 0;
		for (char **o = m->options; !bind && o && *o; o++)
			bind = strcmp(*o, "bind") == 0 || strcmp(*o, "rbind") == 0;
		if (bind && plx_strv_append(&v, m->destination) < 0)
			return plx_err_set(err, ENOMEM, "mounts");
	}
	*out = steal_ptr(v);
	return 0;
}

static int process_checkpoint(struct plx_runtime *rt, const struct plx_criu_opts *c, int dirfd,
			      const struct plx_state *st, enum plx_status s, struct plx_err *err)
{
	__do_strv_free char **mounts = NULL, **argv = NULL;

	if (s != PLX_STATUS_RUNNING && s != PLX_STATUS_PAUSED)
		return plx_err_set(err, EINVAL, "container %s is %s: a process checkpoint needs it running", st->id,
				   plx_status_name(s));
	int r = plx_criu_check(rt->criu, "checkpoint", err);
	if (r < 0)
		return r;
	r = bind_mounts(dirfd, &mounts, err);
	if (r == 0)
		r = plx_criu_dump_argv(rt->criu, c, st->pid, st->rootfs, mounts, &argv, err);
	if (r == 0)
		r = plx_mkdir_p(c->image_path, 0700, err);
	if (r == 0)
		r = plx_storage_run(argv, NULL, err);
	return r < 0 ? plx_err_prefix(err, "container %s: criu", st->id) : 0;
}

static int write_marker(int dirfd, bool was_paused, const char *snap, struct plx_err *err)
{
	pid_t self = getpid();
	__do_free char *m = plx_checkpoint_marker_format(self, plx_proc_starttime(self), was_paused, snap);

	if (!m)
		return plx_err_set(err, ENOMEM, "checkpoint marker");
	return plx_write_file_atomic_at(dirfd, PLX_CHECKPOINT_MARKER, m, strlen(m), 0600, err);
}

/* freeze -> snapshot -> thaw, the marker around the frozen part. */
static int frozen_snapshot(int dirfd, const struct plx_state *st, struct plx_storage *s, const char *volume,
			   const char *name, bool freeze, struct plx_checkpoint_result *res, struct plx_err *err)
{
	uint64_t t0 = 0;
	int r;

	if (freeze) {
		r = write_marker(dirfd, false, name, err);
		if (r < 0)
			return plx_err_prefix(err, "container %s", st->id);
		t0 = now_ns();
		r = plx_cgroup_freeze(st->cgroup_path, true, err);
		if (r < 0) {
			plx_cgroup_freeze(st->cgroup_path, false, NULL);
			remove_marker(dirfd);
			return plx_err_prefix(err, "container %s: freeze", st->id);
		}
		res->froze = true;
		test_delay();
	}
	r = plx_storage_snapshot(s, volume, name, err);
	if (freeze) {
		struct plx_err terr = PLX_ERR_INIT;
		if (plx_cgroup_freeze(st->cgroup_path, false, &terr) < 0) {
			/* the marker stays: the next command on the container thaws it */
			if (r == 0)
				plx_err_move(err, &terr);
			plx_err_clear(&terr);
			return plx_err_prefix(err, "container %s: thaw", st->id);
		}
		res->frozen_ns = now_ns() - t0;
		remove_marker(dirfd);
	}
	return r < 0 ? plx_err_prefix(err, "container %s: checkpoint %s", st->id, name) : 0;
}

int plx_container_checkpoint(struct plx_runtime *rt, const struct plx_checkpoint_opts *o,
			     struct plx_checkpoint_result *res, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	_cleanup_(storage_freep) struct plx_storage *s = NULL;
	struct plx_storage_snapshot *snaps = NULL;
	size_t n = 0;
	const char *volume = NULL;

	*res = (struct plx_checkpoint_result){ 0 };
	int r = plx_container_open(rt, o->id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	enum plx_status status = plx_state_status(dirfd, st);
	if (o->criu && o->criu->requested)
		return process_checkpoint(rt, o->criu, dirfd, st, status, err);
	r = need_managed_rootfs(st, "a filesystem checkpoint", err);
	if (r < 0)
		return r;
	if (o->name) {
		r = plx_storage_check_snapshot_name(o->name, err);
		if (r < 0)
			return plx_err_prefix(err, "--name");
	}
	r = open_volume(st, &s, &volume, err);
	if (r < 0)
		return r;
	r = plx_storage_list_snapshots(s, volume, &snaps, &n, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", o->id);
	if (o->name && snap_exists(snaps, n, o->name)) {
		plx_storage_snapshots_free(snaps, n);
		return plx_err_set(err, EEXIST, "container %s already has a checkpoint %s", o->id, o->name);
	}
	res->name = o->name ? strdup(o->name) : plx_checkpoint_default_name((int64_t)time(NULL), snaps, n);
	plx_storage_snapshots_free(snaps, n);
	if (!res->name)
		return plx_err_set(err, ENOMEM, "checkpoint name");

	/* a paused container is already one instant; a stopped one has nothing running */
	bool freeze = status == PLX_STATUS_RUNNING || status == PLX_STATUS_CREATED;
	r = frozen_snapshot(dirfd, st, s, volume, res->name, freeze, res, err);
	if (r < 0)
		return r;
	log_debug("container %s: checkpoint %s, frozen %.3f ms", o->id, res->name, res->frozen_ns / 1e6);
	r = plx_pve_sync_snapshots(st, NULL, err); /* a registered PVE CT lists it (core/pve_registration.h) */
	if (r < 0)
		return r;

	if (o->keep == 0)
		return 0;
	/* retention after success only: a failed checkpoint never costs an old one */
	__do_strv_free char **expired = NULL;
	r = plx_storage_list_snapshots(s, volume, &snaps, &n, err);
	if (r == 0) {
		r = plx_checkpoint_expired(snaps, n, o->keep, &expired);
		plx_storage_snapshots_free(snaps, n);
		if (r < 0)
			return plx_err_set(err, ENOMEM, "checkpoint names");
	}
	for (char **e = expired; r == 0 && e && *e; e++) {
		r = plx_storage_destroy_snapshot(s, volume, *e, err);
		if (r == 0 && plx_strv_append(&res->deleted, *e) < 0)
			r = plx_err_set(err, ENOMEM, "checkpoint names");
	}
	if (r == 0 && res->deleted)
		r = plx_pve_sync_snapshots(st, NULL, err); /* registered PVE CT */
	return r < 0 ? plx_err_prefix(err, "container %s: checkpoint %s made, --keep %u", o->id, res->name,
				      o->keep)
		     : 0;
}

int plx_container_checkpoint_delete(struct plx_runtime *rt, const char *id, const char *name,
				    struct plx_err *err)
{
	_cleanup_(managed_clear) struct managed m = MANAGED_INIT;
	struct plx_storage_snapshot *snaps = NULL;
	size_t n = 0;

	int r = open_managed(rt, id, "a checkpoint", &m, err);
	if (r < 0)
		return r;
	r = plx_storage_list_snapshots(m.s, m.volume, &snaps, &n, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", id);
	bool found = snap_exists(snaps, n, name);
	plx_storage_snapshots_free(snaps, n);
	if (!found)
		return plx_err_set(err, ENOENT, "container %s has no checkpoint %s", id, name);
	r = plx_storage_destroy_snapshot(m.s, m.volume, name, err);
	if (r == 0)
		r = plx_pve_sync_snapshots(m.st, NULL, err); /* registered PVE CT */
	return r < 0 ? plx_err_prefix(err, "container %s: delete checkpoint %s", id, name) : 0;
}

int plx_container_checkpoints(struct plx_runtime *rt, const char *id, struct plx_storage_snapshot **out,
			      size_t *n, struct plx_err *err)
{
	_cleanup_(managed_clear) struct managed m = MANAGED_INIT;

	int r = open_managed(rt, id, "listing checkpoints", &m, err);
	if (r < 0)
		return r;
	r = plx_storage_list_snapshots(m.s, m.volume, out, n, err);
	return r < 0 ? plx_err_prefix(err, "container %s", id) : 0;
}
