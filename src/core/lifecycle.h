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
};

struct plx_create_opts {
	const char *id;
	const char *bundle;          /* NULL = cwd */
	const char *pid_file;        /* NULL = none */
	const char *console_socket;  /* NULL = none */
	bool no_pivot;
	bool no_new_keyring;
	unsigned int preserve_fds;
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

/* The OCI state JSON (see plx_state_to_json). */
int plx_container_state(struct plx_runtime *rt, const char *id, json_t **out, struct plx_err *err);

/* An array of state objects for every container under root (runc list). */
int plx_container_list(struct plx_runtime *rt, json_t **out, struct plx_err *err);
