/* SPDX-License-Identifier: Apache-2.0 */
/* Signal names as runc accepts them: "KILL", "SIGKILL", "9", "SIGRTMIN+3". */
#pragma once

#include "util/error.h"

/* Returns the signal number (> 0) or a negative code with err set. */
int plx_signal_parse(const char *s, struct plx_err *err);
/* "SIGKILL" for 9, NULL when unknown. */
const char *plx_signal_name(int sig);
