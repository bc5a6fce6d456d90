/* SPDX-License-Identifier: Apache-2.0 */
/* Switching the calling process to process.user (groups, gid, uid). */
#pragma once

#include <stdbool.h>

#include "oci/spec.h"
#include "util/error.h"

/*
 * setgroups(additionalGids) (skipped when /proc/self/setgroups says
 * "deny", as in a user namespace without setgroups), then setresgid and
 * setresuid.  keep_caps keeps the permitted set across the uid change
 * (PR_SET_KEEPCAPS) so the caller can still set the requested capabilities.
 */
int plx_identity_switch(const struct oci_user *u, bool keep_caps, struct plx_err *err);
