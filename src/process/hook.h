/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running OCI hooks: the hook's path is executed with its args and env (an
 * empty env when none is given, as runc), the container state JSON on
 * stdin, and killed when its timeout expires.  Hook stdout/stderr are
 * captured (as runc does; the init must not write to the container's
 * stdio): a failure message ends with ", output: <last 1 KiB>", and a
 * successful hook's output is logged at debug level.
 */
#pragma once

#include "oci/spec.h"
#include "util/error.h"

/* kind names the hook list in messages: "createRuntime", ... */
int plx_hook_run(const struct oci_hook *h, const char *kind, size_t index, const char *state_json,
		 struct plx_err *err);

/* Run every hook of a list in order; stops at the first failure. */
int plx_hooks_run(const struct oci_hook_list *l, const char *kind, const char *state_json,
		  struct plx_err *err);
