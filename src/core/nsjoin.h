/* SPDX-License-Identifier: Apache-2.0 */
/* Joining a container's namespaces from the host (createContainer hooks, exec). */
#pragma once

#include <sys/types.h>

#include "util/error.h"

/*
 * setns() into every namespace of target that differs from ours: the user
 * namespace first (the others belong to it), the mount namespace last.
 * Joining a user namespace also makes us its root: our host uid is not
 * mapped there, and execve would otherwise drop every capability.  The pid
 * (and time) namespace applies to children only: fork after this.
 */
int plx_join_namespaces(pid_t target, struct plx_err *err);
