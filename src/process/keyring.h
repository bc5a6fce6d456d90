/* SPDX-License-Identifier: Apache-2.0 */
/* The container's own session keyring, so it does not share the host's. */
#pragma once

#include "util/error.h"

/*
 * Join a fresh session keyring called name (runc: "_ses.<id>") and make it
 * searchable by its possessor's user, as runc does.  Kernels without keys,
 * and environments that refuse the call (EACCES/EPERM: e.g. nested
 * containers, seccomp), are tolerated with a debug log: the keyring only
 * adds marginal isolation.
 */
int plx_keyring_join_session(const char *name, struct plx_err *err);
