/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting a container with liblxc.
 *
 * create forks a monitor process that calls liblxc's start in the
 * foreground: liblxc makes the namespaces, cgroups, rootfs and mounts and
 * executes proxmox-lxcri-init as the container's PID 1.  Once the init
 * reports "ready", create SIGKILLs the monitor (lxc.monitor.signal.pdeath
 * is 0, so the container lives on).  That is what makes us a drop-in for
 * runc: the container process is then re-parented to the caller's
 * subreaper (containerd's shim, conmon, or our own `run`), which reaps it
 * and sees its exit status, exactly as with runc.  Everything the monitor
 * would have cleaned up (cgroups) is removed by delete.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "engine/lxc/overlay_mount.h"
#include "util/error.h"

struct plx_lxc_spawn {
	const char *lxc_log;      /* liblxc's log file: also takes what liblxc says before it reads its config */
	const char *id;           /* liblxc container name */
	const char *lxcpath;      /* the --root directory: <lxcpath>/<id>/config */
	const char *init_path;    /* proxmox-lxcri-init on the host */
	int listen_fd;            /* the init's listening socket */
	int init_log_fd;          /* the init's log, or -1 */
	unsigned int preserve_fds;
	bool debug;
	/*
	 * The monitor stays for the container's life (a registered PVE CT: it
	 * owns liblxc's command socket, which lxc-info/lxc-stop/pct reach) and
	 * ends as the container's init did: same exit code, or the same
	 * terminating signal re-raised, so whoever reaps the monitor sees the
	 * container's status.
	 */
	bool keep_monitor;
	/*
	 * overlay rootfs (dir layers, engine/lxc/overlay_mount.h): mounted by
	 * the monitor in a mount namespace of its own right before liblxc's
	 * start; NULL: none.
	 */
	const struct plx_overlay *overlay;
};

/*
 * Fork the monitor.  In the child: new session, our fds placed right above
 * the preserved ones, every other fd close-on-exec, the init binary copied
 * into a sealed memfd (so the container can never write to a host binary,
 * CVE-2019-5736), then liblxc's start.  Returns the monitor's pid.
 */
int plx_lxc_spawn(const struct plx_lxc_spawn *s, pid_t *monitor, int *go_fd, struct plx_err *err);

/*
 * The monitor waits on *go_fd before it calls liblxc, so that the caller can
 * record its pid first: a create killed at any point leaves either no
 * container or one whose processes are on record for delete --force.
 * Closing go_fd without releasing makes the monitor exit.
 */
int plx_lxc_monitor_release(int go_fd, struct plx_err *err);

/* The container init: the monitor's only child once the init is ready. */
int plx_lxc_init_pid(pid_t monitor, pid_t *init, struct plx_err *err);

/*
 * Why the monitor ended before the container got ready: its exit status
 * and the errors in liblxc's log, as an error.  Waits (bounded) for it.
 */
int plx_lxc_monitor_failure(pid_t monitor, const char *lxc_log, struct plx_err *err);

/* SIGKILL and reap the monitor (our child). */
void plx_lxc_monitor_kill(pid_t monitor);

/* The cgroup liblxc puts its monitor in, derived from the container's. */
char *plx_lxc_monitor_cgroup(const char *cgroup_path);

/* ERROR lines of liblxc's log, joined with "; " (for error messages); NULL if none. */
char *plx_lxc_log_errors(const char *log_file);

/*
 * A sealed, read-only, close-on-exec memfd copy of the init binary: what
 * runs in a container is never a host file it could write to.
 */
int plx_lxc_sealed_init(const char *path, struct plx_err *err);

/* Locate proxmox-lxcri-init: configured path, beside our binary, the build tree, libexecdir. */
int plx_lxc_find_init(const char *configured, char **out, struct plx_err *err);
