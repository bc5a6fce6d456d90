/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's terminal (process.terminal): a pty made inside the
 * container's devpts, its master handed to the caller's console socket as
 * runc does, its slave becoming the process's stdio and /dev/console.
 */
#pragma once

#include "util/error.h"

struct plx_pty {
	int master;	   /* -1 once sent/closed */
	int slave;	   /* -1 when closed */
	char *master_path; /* the ptmx opened: "/dev/pts/ptmx" or "/dev/ptmx" */
	char *slave_path;  /* "/dev/pts/N" */
};

#define PLX_PTY_INIT { .master = -1, .slave = -1 }

/* Open a pty through <root>/dev/pts/ptmx, falling back to <root>/dev/ptmx (root "/" in the container). */
int plx_pty_open(const char *root, struct plx_pty *pty, struct plx_err *err);

/* process.consoleSize. */
int plx_pty_set_size(const struct plx_pty *pty, unsigned int rows, unsigned int cols, struct plx_err *err);

/*
 * Send the master over a connected unix socket: one sendmsg whose data is
 * the master's path and whose SCM_RIGHTS carries the fd (runc's
 * utils.SendFd, what containerd's and runc's recvtty expect).
 */
int plx_pty_send_master(int sock, const struct plx_pty *pty, struct plx_err *err);

/* Bind-mount the slave on /dev/console, creating the mount point file if missing. */
int plx_pty_bind_console(const struct plx_pty *pty, struct plx_err *err);

/* Make the slave stdin/stdout/stderr and the controlling terminal of a new session. */
int plx_pty_make_controlling(int slave, struct plx_err *err);

void plx_pty_close(struct plx_pty *pty);
