/* SPDX-License-Identifier: Apache-2.0 */
/* The environment a container process is started with. */
#pragma once

#include "oci/spec.h"
#include "util/error.h"

/* The PATH used when process.env has none (runc's default). */
#define PLX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Value of key in a "K=V" vector; the last entry wins, as with setenv. NULL when absent. */
const char *plx_env_get(char *const *env, const char *key);

/*
 * process.env plus HOME when it has none: the home of process.user.uid in
 * <root>/etc/passwd, else "/" (what runc does).  *out is a new vector.
 */
int plx_process_env(const struct oci_process *p, const char *root, char ***out, struct plx_err *err);
