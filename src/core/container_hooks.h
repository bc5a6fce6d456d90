/* SPDX-License-Identifier: Apache-2.0 */
/* Running OCI hooks at the points and in the namespaces the spec names. */
#pragma once

#include <sys/types.h>

#include "oci/spec.h"
#include "util/error.h"

/*
 * createContainer hooks: the path resolves in the runtime's mount namespace
 * (it is opened here), the hook runs in every namespace of the container
 * process pid.
 */
int plx_hooks_run_in_container(pid_t pid, const struct oci_hook_list *l, const char *kind,
			       const char *state_json, struct plx_err *err);
