/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime <-> proxmox-lxcri-init protocol.
 *
 * create binds <statedir>/init.sock and the init inherits the listening
 * socket (argv: "--listen-fd N").  Each command connects, sends one
 * message and reads replies.  A message is a 4-byte little-endian length
 * followed by that many bytes of JSON (an object with "type"); at most one
 * file descriptor rides along with a message (SCM_RIGHTS).
 *
 *  1. create -> init  {"type":"create", "id", "bundle", "config": {...the whole config.json...},
 *                       "preserve_fds": N, "console_socket": true|false, "no_new_keyring": bool}
 *                       [fd: connected console socket when "console_socket" is true]
 *     The init finishes what LXC cannot express (flags of bind mounts, devpts
 *     options, mount propagation, domainname, root.readonly, maskedPaths,
 *     readonlyPaths, OCI devices, /dev symlinks), resolves
 *     process.args[0] in the container, makes the pty and sends its master
 *     over the console socket when process.terminal, then answers
 *     init -> create  {"type":"ready"}  or  {"type":"error","message":"..."} (and exits).
 *
 *  2. start -> init   {"type":"start", "state": {...OCI state...}}
 *                      [fd: a socket connected to linux.seccomp.listenerPath when the config
 *                       has SCMP_ACT_NOTIFY rules: the init sends runc's ContainerProcessState
 *                       JSON with the seccomp notify fd over it, as runc does]
 *     The init runs the startContainer hooks, applies the process settings
 *     (rlimits, scheduler, I/O priority, user, umask, capabilities,
 *     no_new_privs, apparmor, seccomp last), closes every fd but stdio and preserved ones, answers
 *     init -> start   {"type":"exec"}  and execve()s.  The connection is
 *     close-on-exec, so start then reads EOF: success.  When execve (or
 *     anything before it) fails the init sends {"type":"error","message"}
 *     and exits 127 instead.
 *
 * Messages are bounded (PLX_INIT_MSG_MAX) so a confused peer cannot make
 * either side allocate without limit.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define PLX_INIT_MSG_MAX (16u * 1024 * 1024)
#define PLX_INIT_LISTEN_ARG "--listen-fd"
/* optional: an fd for JSON log lines (none: the init logs nothing), and debug level */
#define PLX_INIT_LOG_ARG "--log-fd"
#define PLX_INIT_DEBUG_ARG "--debug"

/* framing: see util/msg.h */
#include "util/msg.h"
