/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed model of an OCI runtime-spec (v1.0 - v1.2) config.json.
 *
 * Conventions:
 *  - strings are heap-owned, NULL when absent;
 *  - string vectors (char **) are NULL-terminated, NULL when absent;
 *  - arrays of structs are (pointer, count) pairs;
 *  - optional scalars carry a has_<name> flag;
 *  - the parsed JSON document is kept in spec->doc (jansson) so callers can
 *    hand sub-objects (annotations, process) on unchanged.
 *
 * Parsing untrusted input: oci_spec_parse() never aborts; every type error
 * names the file and the JSON path, e.g.
 *   "config.json: linux.resources.memory.limit: expected integer, got string".
 * Unknown properties are ignored, as the spec requires.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* GNU C predefines "linux" as 1; the spec calls its Linux section that. */
#undef linux

#define OCI_RUNTIME_SPEC_VERSION "1.2.0"

struct oci_hook {
	char *path;
	char **args;
	char **env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

struct oci_hook_list {
	struct oci_hook *v;
	size_t n;
};

struct oci_hooks {
	struct oci_hook_list prestart; /* deprecated, still run (before createRuntime) */
	struct oci_hook_list create_runtime;
	struct oci_hook_list create_container;
	struct oci_hook_list start_container;
	struct oci_hook_list poststart;
	struct oci_hook_list poststop;
};

struct oci_rlimit {
	char *type;   /* "RLIMIT_NOFILE" */
	int resource; /* RLIMIT_NOFILE; validated */
	uint64_t soft;
	uint64_t hard;
};

struct oci_user {
	uint32_t uid;
	uint32_t gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* windows only; kept for completeness */
};

struct oci_capabilities {
	char **bounding;
	char **effective;
	char **inheritable;
	char **permitted;
	char **ambient;
};

struct oci_io_priority {
	char *klass; /* IOPRIO_CLASS_RT|BE|IDLE */
	int priority;
};

struct oci_scheduler {
	char *policy; /* SCHED_OTHER, ... */
	bool has_nice;
	int32_t nice;
	bool has_priority;
	int32_t priority;
	char **flags;
	bool has_runtime;
	uint64_t runtime;
	bool has_deadline;
	uint64_t deadline;
	bool has_period;
	uint64_t period;
};

struct oci_process {
	bool terminal;
	bool has_console_size;
	uint32_t console_height;
	uint32_t console_width;
	char *cwd;
	char **args;
	char *command_line; /* windows only */
	char **env;
	struct oci_user user;
	struct oci_capabilities *capabilities; /* NULL when absent */
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	struct oci_io_priority *io_priority; /* NULL when absent */
	struct oci_scheduler *scheduler;     /* NULL when absent */
};

struct oci_root {
	char *path; /* as written; relative to the bundle or absolute */
	bool readonly;
};

struct oci_id_mapping {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct oci_mount {
	char *destination;
	char *type;    /* may be NULL (bind mounts) */
	char *source;  /* may be NULL */
	char **options;
	struct oci_id_mapping *uid_mappings; /* idmapped mounts (1.2) */
	size_t n_uid_mappings;
	struct oci_id_mapping *gid_mappings;
	size_t n_gid_mappings;
};

struct oci_namespace {
	char *type; /* "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" */
	int flag;   /* CLONE_NEWPID, ... */
	char *path; /* join an existing namespace; NULL = new */
};

struct oci_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major;
	int64_t minor;
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid;
	uint32_t uid;
	bool has_gid;
	uint32_t gid;
};

/* linux.resources.devices[]: the device cgroup rules */
struct oci_device_rule {
	bool allow;
	char type; /* 'a', 'c', 'b'; 'a' when absent */
	int64_t major; /* -1 = wildcard */
	int64_t minor; /* -1 = wildcard */
	char *access;  /* "rwm" subset; NULL = "rwm" */
};

struct oci_memory {
	bool has_limit;
	int64_t limit;
	bool has_reservation;
	int64_t reservation;
	bool has_swap;
	int64_t swap;
	bool has_kernel;
	int64_t kernel;
	bool has_kernel_tcp;
	int64_t kernel_tcp;
	bool has_swappiness;
	uint64_t swappiness;
	bool has_disable_oom_killer;
	bool disable_oom_killer;
	bool has_use_hierarchy;
	bool use_hierarchy;
	bool has_check_before_update;
	bool check_before_update;
};

struct oci_cpu {
	bool has_shares;
	uint64_t shares;
	bool has_quota;
	int64_t quota;
	bool has_burst;
	uint64_t burst;
	bool has_period;
	uint64_t period;
	bool has_realtime_runtime;
	int64_t realtime_runtime;
	bool has_realtime_period;
	uint64_t realtime_period;
	char *cpus;
	char *mems;
	bool has_idle;
	int64_t idle;
};

struct oci_weight_device {
	int64_t major;
	int64_t minor;
	bool has_weight;
	uint16_t weight;
	bool has_leaf_weight;
	uint16_t leaf_weight;
};

struct oci_throttle_device {
	int64_t major;
	int64_t minor;
	uint64_t rate;
};

struct oci_block_io {
	bool has_weight;
	uint16_t weight;
	bool has_leaf_weight;
	uint16_t leaf_weight;
	struct oci_weight_device *weight_device;
	size_t n_weight_device;
	struct oci_throttle_device *throttle_read_bps;
	size_t n_throttle_read_bps;
	struct oci_throttle_device *throttle_write_bps;
	size_t n_throttle_write_bps;
	struct oci_throttle_device *throttle_read_iops;
	size_t n_throttle_read_iops;
	struct oci_throttle_device *throttle_write_iops;
	size_t n_throttle_write_iops;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

struct oci_key_value {
	char *key;
	char *value;
};

struct oci_resources {
	struct oci_device_rule *devices;
	size_t n_devices;
	struct oci_memory *memory;   /* NULL when absent */
	struct oci_cpu *cpu;         /* NULL when absent */
	bool has_pids_limit;
	int64_t pids_limit;
	struct oci_block_io *block_io; /* NULL when absent */
	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	bool has_net_class_id;
	uint32_t net_class_id;
	struct oci_net_priority *net_priorities;
	size_t n_net_priorities;
	struct oci_key_value *unified; /* cgroup v2 file -> value */
	size_t n_unified;
};

struct oci_seccomp_arg {
	uint32_t index;
	uint64_t value;
	bool has_value_two;
	uint64_t value_two;
	char *op; /* SCMP_CMP_* */
};

struct oci_syscall {
	char **names;
	char *action; /* SCMP_ACT_* */
	bool has_errno_ret;
	uint32_t errno_ret;
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures; /* SCMP_ARCH_* */
	char **flags;         /* SECCOMP_FILTER_FLAG_* */
	char *listener_path;
	char *listener_metadata;
	struct oci_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_personality {
	char *domain; /* LINUX, LINUX32 */
	char **flags;
};

struct oci_intel_rdt {
	char *clos_id;
	char *l3_cache_schema;
	char *mem_bw_schema;
	bool enable_cmt;
	bool enable_mbm;
};

struct oci_time_offset {
	char *clock; /* "monotonic", "boottime" */
	int64_t secs;
	uint32_t nanosecs;
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct oci_id_mapping *gid_mappings;
	size_t n_gid_mappings;
	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	struct oci_resources *resources; /* NULL when absent */
	struct oci_key_value *sysctl;
	size_t n_sysctl;
	struct oci_seccomp *seccomp; /* NULL when absent */
	char *rootfs_propagation; /* shared, slave, private, unbindable, rshared, ... */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	struct oci_personality *personality; /* NULL when absent */
	struct oci_intel_rdt *intel_rdt;     /* NULL when absent */
	struct oci_time_offset *time_offsets;
	size_t n_time_offsets;
};

struct oci_spec {
	char *oci_version;
	struct oci_process *process; /* NULL when absent */
	struct oci_root *root;       /* NULL when absent */
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hooks hooks;
	json_t *annotations; /* borrowed from doc; object or NULL */
	struct oci_linux *linux; /* NULL when absent */

	char *source; /* name used in error messages, e.g. "/bundle/config.json" */
	json_t *doc;  /* the whole parsed document (owned) */
};

/*
 * Parse a config document.  name is what errors call the file.  Performs
 * type checking only; see oci_spec_validate() for semantic rules.
 */
int oci_spec_parse(const char *buf, size_t len, const char *name, struct oci_spec **out,
		   struct plx_err *err);

/* Parse from an already decoded JSON object (takes a reference). */
int oci_spec_from_json(json_t *doc, const char *name, struct oci_spec **out, struct plx_err *err);

/*
 * Semantic validation (the rules of the runtime spec for Linux):
 * ociVersion 1.x, root.path required, process.args non-empty when process
 * is present and cwd absolute, mount destinations absolute, namespace types
 * known and not duplicated, rlimit types known with soft <= hard, device
 * types, seccomp actions/ops/arches known, hook paths absolute, ...
 */
int oci_spec_validate(const struct oci_spec *spec, struct plx_err *err);

/* Read, parse and validate a file (errors are prefixed with path). */
int oci_spec_load(const char *path, struct oci_spec **out, struct plx_err *err);

void oci_spec_free(struct oci_spec *spec);
#define __do_oci_spec_free __attribute__((cleanup(oci_spec_freep)))
static inline void oci_spec_freep(struct oci_spec **p)
{
	if (*p)
		oci_spec_free(*p);
	*p = NULL;
}

/*
 * Parse/validate a standalone process object (exec --process FILE).
 * jpath is the JSON path prefix used in messages ("" for a file that is
 * a process object itself).
 */
int oci_process_from_json(json_t *obj, const char *name, const char *jpath, struct oci_process **out,
			  struct plx_err *err);
int oci_process_validate(const struct oci_process *p, const char *name, const char *jpath,
			 struct plx_err *err);
void oci_process_free(struct oci_process *p);

/* Look up a namespace by type name ("pid", ...); NULL when absent. */
const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, const char *type);

/*
 * The template "runc spec" writes: a runnable config for rootfs "rootfs"
 * running "sh" with a terminal.  rootless: the "runc spec --rootless"
 * variant (user namespace mapping the caller's uid/gid, no cgroup limits).
 */
json_t *oci_spec_template(bool rootless, uid_t uid, gid_t gid);
