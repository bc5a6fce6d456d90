/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names the runtime spec defines for Linux (rlimits, namespaces,
 * capabilities, seccomp actions/operators/architectures/flags, mount
 * propagation, scheduler and I/O priority classes), as plain tables so the
 * parser, the validator and the static init agree without libcap or
 * libseccomp.
 */
#pragma once

#include <stdbool.h>

/* RLIMIT_* number of "RLIMIT_NOFILE" etc.; -1 when unknown. */
int oci_rlimit_resource(const char *name);
/* "RLIMIT_NOFILE" for RLIMIT_NOFILE; NULL when unknown. */
const char *oci_rlimit_name(int resource);

/* CLONE_NEW* flag of a namespace type ("pid", "network", ...); 0 when unknown. */
int oci_namespace_flag(const char *type);

/* Capability number of "CAP_CHOWN" .. "CAP_CHECKPOINT_RESTORE"; -1 when unknown. */
int oci_capability_number(const char *name);
/* Name of a capability number; NULL outside 0..OCI_CAP_LAST. */
const char *oci_capability_name(int number);
#define OCI_CAP_LAST 40

bool oci_seccomp_action_known(const char *name); /* SCMP_ACT_* */
bool oci_seccomp_op_known(const char *name); /* SCMP_CMP_* */
bool oci_seccomp_arch_known(const char *name); /* SCMP_ARCH_* */
bool oci_seccomp_flag_known(const char *name); /* SECCOMP_FILTER_FLAG_* */
bool oci_propagation_known(const char *name); /* shared, rslave, ... */
bool oci_sched_policy_known(const char *name); /* SCHED_* */
bool oci_sched_flag_known(const char *name); /* SCHED_FLAG_* */
bool oci_ioprio_class_known(const char *name); /* IOPRIO_CLASS_* */
