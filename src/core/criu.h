/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process checkpoints with CRIU, driven through the criu command as runc's
 * flags ask.  Nothing runs criu dump before `criu check` has passed: on a
 * kernel criu cannot handle, the error says so (which criu, its version,
 * its own output) and points to the filesystem checkpoint.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

/* runc checkpoint's / restore's CRIU flags. */
struct plx_criu_opts {
	const char *image_path;          /* --image-path */
	const char *work_path;           /* --work-path (default: the image path) */
	const char *parent_path;         /* --parent-path */
	bool leave_running;              /* --leave-running */
	bool tcp_established;            /* --tcp-established */
	bool ext_unix_sk;                /* --ext-unix-sk */
	bool shell_job;                  /* --shell-job */
	bool lazy_pages;                 /* --lazy-pages */
	int status_fd;                   /* --status-fd (-1: none) */
	const char *page_server;         /* --page-server ADDRESS:PORT */
	bool file_locks;                 /* --file-locks */
	bool pre_dump;                   /* --pre-dump */
	const char *manage_cgroups_mode; /* --manage-cgroups-mode soft|full|strict */
	char *const *empty_ns;           /* --empty-ns (repeatable) */
	bool auto_dedup;                 /* --auto-dedup */
	bool requested;                  /* any of the above was given */
};

/*
 * The error for a failed `criu check` in cmd: names criu (path, version), quotes
 * the first lines of its output, says it fails on this kernel (release)
 * and that the filesystem checkpoint works.  Returns -EOPNOTSUPP.
 */
int plx_criu_check_failed(const char *cmd, const char *criu, const char *version, const char *output,
			  const char *kernel, struct plx_err *err);

/* Run `criu --version` and `criu check` for cmd ("checkpoint", "restore"); 0 when criu can work here. */
int plx_criu_check(const char *criu, const char *cmd, struct plx_err *err);

/*
 * The argv of `criu dump` (or `criu pre-dump`) for the container whose
 * init is pid, with rootfs its root and ext_mounts (NULL-terminated
 * destinations of its bind mounts) declared external as runc does.
 * Freed with plx_strv_free().  Invalid values give an error naming the flag.
 */
int plx_criu_dump_argv(const char *criu, const struct plx_criu_opts *o, pid_t pid, const char *rootfs,
		       char *const *ext_mounts, char ***argv, struct plx_err *err);
