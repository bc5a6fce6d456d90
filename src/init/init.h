/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri-init: what it keeps between the create and start messages. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "oci/spec.h"
#include "process/pty.h"
#include "util/error.h"

struct plx_init {
	struct oci_spec *spec;	   /* the config from "create" */
	char *id;		   /* container id, names the session keyring */
	char *exec_path;	   /* process.args[0] resolved in the container */
	unsigned int preserve_fds; /* fds 3.. kept for the process */
	bool no_new_keyring;
	struct plx_pty pty;	   /* process.terminal: the slave waits here for start */
	bool created;
};

/*
 * "create": finish the container (bind mount flags, devpts options, mount
 * propagation, domainname, devices, /dev symlinks, cwd, terminal, read-only
 * root and paths, masked paths) and resolve the program.
 * fd is the console socket sent along, or -1; it is consumed.
 */
int plx_init_create(struct plx_init *ini, json_t *msg, int fd, struct plx_err *err);

/*
 * "start": run the startContainer hooks, apply the process settings, tell
 * conn {"type":"exec"} and execve.  Returns only on failure.  fd is a
 * socket connected to linux.seccomp.listenerPath, or -1; it is consumed.
 */
int plx_init_start(struct plx_init *ini, json_t *msg, int fd, int conn, struct plx_err *err);

/* exec mode (argv --exec-fd N): a process joining the running container; returns only on failure. */
int plx_init_exec_main(int conn);
