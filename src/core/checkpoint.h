/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checkpoints of a container with a managed rootfs (core/rootfs.h): a
 * filesystem checkpoint freezes the container's cgroup, snapshots its
 * volume and thaws it, so the snapshot is one consistent instant; restore
 * rolls the volume back (or clones a snapshot into a new container) and
 * starts the container from it, as runc's restore does.
 *
 * SIGKILL safety: while we hold a container frozen, its state directory
 * has PLX_CHECKPOINT_MARKER naming us (pid + start time) and whether it
 * was paused before.  Every command that opens the container calls
 * plx_checkpoint_recover(): a marker whose writer is dead means we froze
 * it and died, so the container is thawed (unless it was paused) and the
 * marker removed.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/criu.h"
#include "core/lifecycle.h"
#include "core/state.h"
#include "storage/storage.h"
#include "util/error.h"

#define PLX_CHECKPOINT_MARKER "checkpoint.inprogress"
/* Test only: sleep this many ms between freeze and snapshot (read only by checkpoint.c). */
#define PLX_CHECKPOINT_DELAY_ENV "PLX_TEST_CHECKPOINT_DELAY_MS"
#define PLX_CHECKPOINT_PREFIX "checkpoint-"

struct plx_checkpoint_opts {
	const char *id;
	const char *name;                 /* NULL: checkpoint-<unix-ts>, suffixed -2, -3... on collision */
	unsigned int keep;                /* 0: keep all; else delete the oldest beyond keep afterwards */
	const struct plx_criu_opts *criu; /* a process checkpoint when criu->requested */
};

struct plx_checkpoint_result {
	char *name;       /* the snapshot made (NULL for a process checkpoint) */
	bool froze;       /* we froze the container (it was running or created) */
	uint64_t frozen_ns; /* how long it stayed frozen because of us */
	char **deleted;   /* snapshots --keep removed, oldest first (NULL when none) */
};
void plx_checkpoint_result_clear(struct plx_checkpoint_result *r);

int plx_container_checkpoint(struct plx_runtime *rt, const struct plx_checkpoint_opts *o,
			     struct plx_checkpoint_result *res, struct plx_err *err);
int plx_container_checkpoint_delete(struct plx_runtime *rt, const char *id, const char *name,
				    struct plx_err *err);
/* The container's checkpoints, oldest first (plx_storage_snapshots_free()). */
int plx_container_checkpoints(struct plx_runtime *rt, const char *id, struct plx_storage_snapshot **out,
			      size_t *n, struct plx_err *err);

struct plx_restore_opts {
	const char *id;
	const char *snapshot;       /* NULL: the latest */
	const char *as;             /* NULL: in place (the container must be stopped) */
	bool force;                 /* in place to an older snapshot: destroy the newer ones */
	const char *bundle;         /* NULL: the container's own */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool detach;
	const struct plx_criu_opts *criu; /* --image-path and co.: a process restore */
};

/*
 * Roll back (or clone, with as) and create + start the container from the
 * snapshot; unless detach, wait like run: *exit_status is the program's.
 */
int plx_container_restore(struct plx_runtime *rt, const struct plx_restore_opts *o, int *exit_status,
			  struct plx_err *err);

/* With the container's lock held: thaw and clear what a killed checkpoint left (logs, never fails). */
void plx_checkpoint_recover(int dirfd, const struct plx_state *st);
/* The same for lock-free readers (state): acts only when the lock is free. */
void plx_checkpoint_recover_unlocked(int dirfd, const struct plx_state *st);

/* ---- pure parts (unit tested) ---- */

/* The marker's content and its parsing; *snapshot may be NULL. */
char *plx_checkpoint_marker_format(pid_t pid, uint64_t pid_start, bool was_paused, const char *snapshot);
int plx_checkpoint_marker_parse(const char *buf, pid_t *pid, uint64_t *pid_start, bool *was_paused,
				struct plx_err *err);

/* checkpoint-<ts>, or checkpoint-<ts>-N for the first N >= 2 not among snaps. */
char *plx_checkpoint_default_name(int64_t ts, const struct plx_storage_snapshot *snaps, size_t n);

/* The names to delete so that at most keep remain (the oldest; snaps oldest first); keep 0: none. */
int plx_checkpoint_expired(const struct plx_storage_snapshot *snaps, size_t n, unsigned int keep,
			   char ***out);

/*
 * Which snapshot restore uses: name, or the latest when NULL.  *index is
 * its position; *newer (NULL when none) the names after it.  Errors name
 * the container and what it has.
 */
int plx_checkpoint_pick(const char *id, const struct plx_storage_snapshot *snaps, size_t n, const char *name,
			size_t *index, char ***newer, struct plx_err *err);
