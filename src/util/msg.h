/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Framed JSON messages over a unix stream socket: a 4-byte little-endian
 * length, then that many bytes of JSON; at most one file descriptor per
 * message travels with its first byte (SCM_RIGHTS).
 */
#pragma once

#include <jansson.h>

#include "util/error.h"

#define PLX_MSG_MAX (16u * 1024 * 1024)

/* Send one message (and fd unless it is -1). */
int plx_msg_send(int sock, json_t *msg, int fd, struct plx_err *err);

/*
 * Receive one message; *fd gets an attached descriptor or -1 (fd may be
 * NULL: a received one is then closed).  EOF before the first byte returns
 * -EPIPE with "connection closed".
 */
int plx_msg_recv(int sock, json_t **msg, int *fd, struct plx_err *err);

/* Send/receive one fd with a one-byte payload (console sockets, as runc). */
int plx_send_fd(int sock, int fd, struct plx_err *err);
