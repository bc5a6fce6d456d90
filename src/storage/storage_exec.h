/* SPDX-License-Identifier: Apache-2.0 */
/* Running the zfs, btrfs and cp commands: fork/exec, never a shell; output captured. */
#pragma once

#include "util/error.h"

/*
 * Run argv (argv[0] looked up in $PATH) with stdin on /dev/null.  Returns 0
 * when it exited 0; *out (may be NULL) gets its stdout.  Otherwise fills err
 * with "ARGV...: <its stderr>" and returns a code read from the message
 * (ENOENT "does not exist", EEXIST, ENOSPC, EROFS, EBUSY) or EIO; ENOPKG when
 * the command is not installed.
 */
int plx_storage_run(char *const argv[], char **out, struct plx_err *err);

/* The errno a command's error message stands for (EIO when unknown). */
int plx_storage_errno_from_message(const char *msg);
