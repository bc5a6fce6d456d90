/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle as the CLI sees it: one function per runc
 * command.  Each takes the per-invocation runtime context and fills err on
 * failure; none prints.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/config.h"
#include "util/error.h"

/* Per-invocation context, built by the CLI from global options. */
struct plx_runtime {
	const char *root;        /* --root */
	bool debug;              /* --debug */
	bool systemd_cgroup;     /* --systemd-cgroup */
	const char *log_path;    /* --log (NULL = stderr) */
	const char *log_format;  /* "text" | "json" */
	struct plx_config *config; /* runtime config file (never NULL: defaults) */
	const char *criu;        /* --criu (NULL = "criu" from PATH) */
};

struct plx_create_opts {
	const char *id;
	const char *bundle;          /* NULL = cwd */
	const char *pid_file;        /* NULL = none */
	const char *console_socket;  /* NULL = none */
	bool no_pivot;
	bool no_new_keyring;
	unsigned int preserve_fds;
	/*
	 * restore --as: a volume already made (plx_rootfs_clone_snapshot(),
	 * core/rootfs.h) that the new container takes over as its rootfs, and
	 * destroys if create fails.  NULL: prepare one from the bundle when a
	 * storage driver is chosen.
	 */
	json_t *rootfs_volume;
};

int plx_container_create(struct plx_runtime *rt, const struct plx_create_opts *o, struct plx_err *err);
int plx_container_start(struct plx_runtime *rt, const char *id, struct plx_err *err);

/*
 * create + start, then (unless detach) wait: *exit_status is the program's
 * status, 128+N when killed by signal N.  Unless keep, the container is
 * deleted after it exits.
 */
int plx_container_run(struct plx_runtime *rt, const struct plx_create_opts *o, bool detach, bool keep,
		      int *exit_status, struct plx_err *err);

/* sig: a signal number; all: every process in the container's cgroup. */
int plx_container_kill(struct plx_runtime *rt, const char *id, int sig, bool all, struct plx_err *err);

/* force: kill a running container first.  Deleting a missing container with
 * force is not an error (idempotent). */
int plx_container_delete(struct plx_runtime *rt, const char *id, bool force, struct plx_err *err);

/* runc exec's options. */
struct plx_exec_opts {
	const char *id;
	const char *process_path;     /* --process FILE: the whole process object (flags below ignored) */
	char *const *args;            /* the command, when no --process */
	bool tty;                     /* --tty */
	const char *console_socket;   /* --console-socket */
	const char *cwd;              /* --cwd */
	char *const *env;             /* --env, appended to the container's */
	const char *user;             /* --user uid[:gid] */
	char *const *additional_gids; /* --additional-gids */
	char *const *caps;            /* --cap, added */
	bool no_new_privs;            /* --no-new-privs */
	const char *apparmor;         /* --apparmor */
	const char *process_label;    /* --process-label */
	bool detach;                  /* --detach */
	const char *pid_file;         /* --pid-file */
	unsigned int preserve_fds;    /* --preserve-fds */
	bool ignore_paused;           /* --ignore-paused */
};

/*
 * A new process in the container: it joins the container's cgroups and
 * namespaces and goes through the same settings path as the container's
 * own process.  Unless detach, waits: *exit_status is the program's.
 */
int plx_container_exec(struct plx_runtime *rt, const struct plx_exec_opts *o, int *exit_status,
		       struct plx_err *err);

/* Freeze every process of the container (cgroup freezer, v1 or v2). */
int plx_container_pause(struct plx_runtime *rt, const char *id, struct plx_err *err);
int plx_container_resume(struct plx_runtime *rt, const char *id, struct plx_err *err);

/* The host pids of the container's processes (its cgroup), ascending. */
int plx_container_pids(struct plx_runtime *rt, const char *id, pid_t **pids, size_t *n, struct plx_err *err);

/*
 * runc update: apply resources (a linux.resources object; name is what
 * errors call its source) to the container's cgroup.
 */
int plx_container_update(struct plx_runtime *rt, const char *id, json_t *resources, const char *name,
			 struct plx_err *err);

/* The "data" of a runc "stats" event: cpu, memory, pids, blkio, hugetlb from the container's cgroup. */
int plx_container_stats(struct plx_runtime *rt, const char *id, json_t **data, struct plx_err *err);

/*
 * runc events without --stats: a "stats" event every interval_ms and an
 * "oom" event whenever the OOM killer acts in the container, each passed to
 * emit ({"type","id","data"?}); ends when the container is gone or stopped,
 * or when emit returns < 0.
 */
int plx_container_events(struct plx_runtime *rt, const char *id, unsigned int interval_ms,
			 int (*emit)(json_t *event, void *ctx), void *ctx, struct plx_err *err);

/* The OCI state JSON (see plx_state_to_json). */
int plx_container_state(struct plx_runtime *rt, const char *id, json_t **out, struct plx_err *err);

/* An array of state objects for every container under root (runc list). */
int plx_container_list(struct plx_runtime *rt, json_t **out, struct plx_err *err);
