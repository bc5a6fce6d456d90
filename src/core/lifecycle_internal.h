/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of the lifecycle shared between its files (create/start/... and run). */
#pragma once

#include "core/lifecycle.h"
#include "core/state.h"

#include <stdbool.h>
#include <termios.h>

/*
 * create, with console_fd a socket of run's own that receives the pty when
 * the config asks for a terminal (-1: none); *used_console says whether it did.
 */
int plx_container_create_fd(struct plx_runtime *rt, const struct plx_create_opts *o, int console_fd,
			    struct plx_state **created, bool *used_console, struct plx_err *err);

/* Open, lock and read a container's state. */
int plx_container_open(struct plx_runtime *rt, const char *id, int *rootfd, int *dirfd, int *lockfd,
		       struct plx_state **st, struct plx_err *err);

/* Wait until pid (the container process) is gone, at most timeout_ms. */
int plx_wait_pid_gone(pid_t pid, int timeout_ms);

/* Receive a pty master sent the runc way (name + SCM_RIGHTS) on sock. */
int plx_recv_pty_master(int sock, struct plx_err *err);

/*
 * Wait for pid, our child (we are its subreaper), forwarding signals to it
 * and, with master >= 0, copying between our stdio and the pty.
 * *exit_status: the exit code, or 128+N when killed by signal N.
 */
int plx_wait_process(pid_t pid, int master, int *exit_status, struct plx_err *err);

/* Raw mode on our terminal while a pty is proxied; restored by plx_tty_restore. */
struct plx_tty_saved {
	bool saved;
	struct termios tio;
};
void plx_tty_raw(struct plx_tty_saved *t);
void plx_tty_restore(struct plx_tty_saved *t);
