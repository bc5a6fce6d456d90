/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of the lifecycle shared between its files (create/start/... and run). */
#pragma once

#include "core/lifecycle.h"
#include "core/state.h"

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
