/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp through libseccomp, rule for rule as runc builds it:
 * unknown syscall names are skipped, rules whose action equals the default
 * are dropped, several conditions on the same argument become one rule
 * each, and the filter never sets no_new_privs by itself.
 */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "oci/spec.h"
#include "util/error.h"

/*
 * The libseccomp action for an OCI action name.  ERRNO and TRACE take
 * errno_ret when has_errno, else EPERM.  -EINVAL when unknown.
 */
int plx_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *out);

/* Does any rule use SCMP_ACT_NOTIFY? */
bool plx_seccomp_uses_notify(const struct oci_seccomp *s);

/* Build the filter without loading it; *out is released with seccomp_release(). */
int plx_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out, struct plx_err *err);

/*
 * Build and load the filter on the calling thread.  With SCMP_ACT_NOTIFY
 * rules, listener must be a socket connected to s->listener_path: the
 * notify fd goes over it with runc's ContainerProcessState JSON
 * ({"ociVersion","fds":["seccompFd"],"pid","metadata","state"}), state_json
 * being the container's OCI state.
 */
int plx_seccomp_load(const struct oci_seccomp *s, int listener, const char *state_json, struct plx_err *err);
