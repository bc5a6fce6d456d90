/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which cgroup layout the host has, and where a cgroup's files live.
 * Detected from the file system type of /sys/fs/cgroup, as systemd and
 * LXC do: cgroup2 there is the unified layout; a tmpfs holds v1
 * hierarchies, plus a v2 one at /sys/fs/cgroup/unified in hybrid mode.
 */
#pragma once

#define PLX_CGROUP_ROOT "/sys/fs/cgroup"

enum plx_cgroup_layout {
	PLX_CGROUP_UNKNOWN = 0, /* /sys/fs/cgroup missing or of another type */
	PLX_CGROUP_LEGACY,      /* v1 only */
	PLX_CGROUP_HYBRID,      /* v1 controllers + v2 at <root>/unified */
	PLX_CGROUP_PURE_V2,     /* v2 at <root> */
};

/* The layout under PLX_CGROUP_ROOT. */
enum plx_cgroup_layout plx_cgroup_layout(void);

/* The layout under another mount point (tests, chroots). */
enum plx_cgroup_layout plx_cgroup_layout_of(const char *cgroup_root);

/* Where the v2 hierarchy is mounted, or NULL when there is none. */
const char *plx_cgroup_v2_mount(void);

/* "<v2 mount>/<cgroup_path>" (malloc'd); NULL with errno set (ENOENT: no v2). */
char *plx_cgroup_v2_path(const char *cgroup_path);

/* "/sys/fs/cgroup/<controller>/<cgroup_path>" (malloc'd); NULL on ENOMEM. */
char *plx_cgroup_v1_path(const char *controller, const char *cgroup_path);
