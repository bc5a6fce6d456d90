/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's cgroup as the runtime manages it outside liblxc: its
 * path, its processes, freezing, killing, and removal on every hierarchy
 * (v1, v2 and hybrid).  liblxc creates the cgroup; our monitor does not
 * outlive create (see lxc_engine.c), so removal is ours.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

/*
 * OCI linux.cgroupsPath -> a normalized path like "/a/b".  Empty: the
 * default "/proxmox-lxcri/<id>".  Relative: taken from the root, like an
 * absolute one.  systemd form "slice:prefix:name" (with --systemd-cgroup):
 * "/<expanded slice>/<prefix>-<name>.scope".  ".." components are refused.
 */
int plx_cgroup_resolve_path(const char *cgroups_path, const char *id, bool systemd, char **out,
			    struct plx_err *err);

/* Where a controller lives: 1 (a v1 hierarchy), 2 (the v2 one), 0 (nowhere). */
int plx_cgroup_controller_version(const char *controller);

/*
 * Whether the cgroups of the hierarchy holding controller have file:
 * 1 yes, 0 no, -ENOENT when there is no cgroup to tell (many files exist
 * only below the root: the root is read first, then one child cgroup where
 * the controller is enabled).
 */
int plx_cgroup_probe_file(const char *controller, const char *file);

/*
 * Read an integer cgroup file of cgpath in the v1 hierarchy of controller
 * ("cpu", "/a", "cpu.rt_runtime_us").  -ENOENT when the cgroup or the file
 * does not exist.
 */
int plx_cgroup_v1_read_int(const char *controller, const char *cgpath, const char *file, long long *out);

/* Whether the cgroup is frozen (v1 freezer FROZEN/FREEZING, or v2 "frozen 1"). */
bool plx_cgroup_is_frozen(const char *cgpath);

/* The pids in the cgroup (cgroup.procs). */
int plx_cgroup_pids(const char *cgpath, pid_t **pids, size_t *n, struct plx_err *err);

/* Freeze or thaw, waiting until the state is reached. */
int plx_cgroup_freeze(const char *cgpath, bool freeze, struct plx_err *err);

/*
 * Send sig to every process of the cgroup, frozen meanwhile so none escapes
 * by forking.  A cgroup that was frozen (paused) before stays frozen, unless
 * sig is SIGKILL: frozen v1 tasks only die once thawed.
 */
int plx_cgroup_kill_all(const char *cgpath, int sig, struct plx_err *err);

/* rmdir the cgroup (and any child cgroups) in every hierarchy; missing is fine. */
int plx_cgroup_destroy(const char *cgpath, struct plx_err *err);

/* The cgroup path of pid, as /proc/<pid>/cgroup names it (v2 line, else freezer). */
int plx_cgroup_of_pid(pid_t pid, char **out, struct plx_err *err);
