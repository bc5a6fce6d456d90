/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process settings applied right before execve, shared by the init
 * (start) and by a process joining a running container (exec).
 */
#pragma once

#include "oci/spec.h"
#include "util/error.h"

struct plx_finalize_opts {
	int pty_slave;			   /* the terminal's slave; -1 without process.terminal */
	unsigned int preserve_fds;	   /* fds 3 .. 3+preserve_fds-1 survive execve */
	const char *session_keyring;	   /* join a new session keyring of this name; NULL: keep */
	const struct oci_seccomp *seccomp; /* linux.seccomp; NULL: no filter */
	int seccomp_listener;		   /* socket connected to seccomp->listener_path, or -1 */
	const char *state_json;		   /* the OCI state, for the seccomp agent */
};

/*
 * In runc's order: a new session (the pty as stdio and controlling
 * terminal when there is one), rlimits, oomScoreAdj, scheduler, ioPriority, session keyring,
 * AppArmor profile, SELinux label, bounding set, groups/gid/uid,
 * capabilities (effective, permitted, inheritable, ambient; untouched when
 * process.capabilities is absent), umask (default 0022), chdir(cwd),
 * no_new_privs, default signal mask and dispositions, close-on-exec on
 * every fd >= 3+preserve_fds, and seccomp last.  Without noNewPrivileges
 * the filter is loaded before the user switch, while CAP_SYS_ADMIN is
 * still held, as runc does.  The caller then execs.
 */
int plx_process_finalize(const struct oci_process *p, const struct plx_finalize_opts *o, struct plx_err *err);
