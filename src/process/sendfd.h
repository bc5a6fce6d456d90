/* SPDX-License-Identifier: Apache-2.0 */
/* One sendmsg carrying data and one fd, the shape runc's utils.SendFds uses. */
#pragma once

#include <stddef.h>

#include "util/error.h"

/* Returns 0, or -errno with err naming what (e.g. "console socket"). */
int plx_sendmsg_fd(int sock, const void *data, size_t len, int fd, const char *what, struct plx_err *err);
