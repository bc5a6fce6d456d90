/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state store under --root: one directory per container,
 *
 *   <root>/<id>/state.json   our record (written atomically: tmp, fsync, rename)
 *   <root>/<id>/init.sock    present while the container is "created" (start removes it)
 *   <root>/<id>/...          engine files (LXC config, logs)
 *
 * Commands on one container serialize on an flock of its directory; commands
 * on different containers never contend.  IDs are checked like runc's
 * (^[\w+\-.]+$, not "." or "..", at most 1024 bytes) before they are used as a
 * path component, so no ID can name anything outside the root.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define PLX_DEFAULT_ROOT "/run/proxmox-lxcri"
#define PLX_ID_MAX 1024
#define PLX_STATE_FILE "state.json"
#define PLX_INIT_SOCKET "init.sock"

enum plx_status {
	PLX_STATUS_CREATING = 0,
	PLX_STATUS_CREATED,
	PLX_STATUS_RUNNING,
	PLX_STATUS_PAUSED,
	PLX_STATUS_STOPPED,
};

const char *plx_status_name(enum plx_status s);

struct plx_state {
	char *id;
	char *bundle;          /* absolute */
	char *rootfs;          /* absolute */
	char *config_path;     /* absolute path of the config.json used */
	pid_t pid;             /* host pid of the container process (0 before created) */
	uint64_t pid_start;    /* /proc/<pid>/stat starttime, guards against pid reuse */
	char *created;         /* RFC 3339 UTC with nanoseconds, as runc */
	char *owner;           /* "" as runc (reserved) */
	json_t *annotations;   /* object or NULL (owned reference) */
	char *cgroup_path;     /* the container's cgroup path, relative to each hierarchy root */
	bool use_systemd_cgroup;
	json_t *engine;        /* engine-private data (owned reference), or NULL */
	json_t *storage;       /* the managed rootfs record (core/rootfs.h), or NULL (owned reference) */
	json_t *pve;           /* PVE CT registration (proxmox/pve_register.h), or NULL (owned reference) */
};

void plx_state_free(struct plx_state *st);
static inline void plx_state_freep(struct plx_state **p)
{
	if (*p)
		plx_state_free(*p);
	*p = NULL;
}
#define __do_plx_state_free __attribute__((cleanup(plx_state_freep)))

/* ^[\w+\-.]+$, not "." or "..", 1..PLX_ID_MAX bytes. */
int plx_id_validate(const char *id, struct plx_err *err);

/* mkdir -p the root (0700) and open it O_DIRECTORY. */
int plx_root_open(const char *root, int *rootfd, struct plx_err *err);

/*
 * Create <root>/<id> (0700) and take its lock.  EEXIST ->
 * "container with id exists: <id>".  *dirfd and *lockfd are returned.
 */
int plx_state_dir_create(int rootfd, const char *id, int *dirfd, int *lockfd, struct plx_err *err);

/*
 * Open <root>/<id> and take its lock (blocking).  ENOENT ->
 * "container does not exist: <id>".  Handles the race with a concurrent
 * delete (lock taken on a directory that was removed meanwhile: ENOENT).
 */
int plx_state_dir_open(int rootfd, const char *id, int *dirfd, int *lockfd, struct plx_err *err);

/* Atomically (re)write state.json in dirfd. */
int plx_state_write(int dirfd, const struct plx_state *st, struct plx_err *err);
int plx_state_read(int dirfd, const char *id, struct plx_state **out, struct plx_err *err);

/* Remove <root>/<id> recursively (caller holds the lock). */
int plx_state_dir_remove(int rootfd, const char *id, struct plx_err *err);

/* The IDs of all containers under root, sorted. */
int plx_state_list_ids(int rootfd, char ***ids, struct plx_err *err);

/* /proc/<pid>/stat field 22; 0 on failure (process gone). */
uint64_t plx_proc_starttime(pid_t pid);

/*
 * Field 22 (starttime) of the text of a /proc/<pid>/stat file; 0 when
 * malformed.  comm (field 2) may hold spaces and ')', so fields are
 * counted from the last ')'.
 */
uint64_t plx_parse_proc_stat_starttime(const char *buf);

/* True when st->pid is alive and is still the same process. */
bool plx_state_pid_alive(const struct plx_state *st);

/*
 * The status of a container, read from the system: stopped when the
 * process is gone, created while init.sock exists, paused when its cgroup
 * is frozen, running otherwise.
 */
enum plx_status plx_state_status(int dirfd, const struct plx_state *st);

/*
 * The state JSON as runc prints it for `state` (and hooks get on stdin):
 * {"ociVersion","id","pid","status","bundle","rootfs","created","owner"[,"annotations"]}
 * pid is 0 when stopped.
 */
json_t *plx_state_to_json(const struct plx_state *st, enum plx_status status);

/* Current time as RFC 3339 with nanoseconds (UTC). */
char *plx_now_rfc3339(void);
