/* SPDX-License-Identifier: Apache-2.0 */
/* Linux security modules: the AppArmor profile and SELinux label of the process to exec. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

bool plx_apparmor_enabled(void);
bool plx_selinux_enabled(void);

/*
 * Have the next execve switch to profile (process.apparmorProfile).  A
 * profile while AppArmor is not enabled is an error, as in runc.
 */
int plx_apparmor_exec_profile(const char *profile, struct plx_err *err);

/* A label while SELinux is off: the error runc's validator gives. */
int plx_selinux_check(const char *label, struct plx_err *err);

/* Label the next execve (process.selinuxLabel); an error when SELinux is off, as in runc. */
int plx_selinux_exec_label(const char *label, struct plx_err *err);
