/* SPDX-License-Identifier: Apache-2.0 */
#include "cgroupfs.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "cleanup.h"
#include "fs.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static bool fs_type_is(const char *path, long magic)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (long)sfs.f_type == magic;
}

enum plx_cgroup_layout plx_cgroup_layout_of(const char *cgroup_root)
{
	__do_free char *unified = NULL;

	if (fs_type_is(cgroup_root, CGROUP2_SUPER_MAGIC))
		return PLX_CGROUP_PURE_V2;
	if (!fs_type_is(cgroup_root, TMPFS_MAGIC))
		return PLX_CGROUP_UNKNOWN;
	unified = plx_path_join(cgroup_root, "unified");
	if (unified && fs_type_is(unified, CGROUP2_SUPER_MAGIC))
		return PLX_CGROUP_HYBRID;
	return PLX_CGROUP_LEGACY;
}

enum plx_cgroup_layout plx_cgroup_layout(void)
{
	return plx_cgroup_layout_of(PLX_CGROUP_ROOT);
}

const char *plx_cgroup_v2_mount(void)
{
	switch (plx_cgroup_layout()) {
	case PLX_CGROUP_PURE_V2:
		return PLX_CGROUP_ROOT;
	case PLX_CGROUP_HYBRID:
		return PLX_CGROUP_ROOT "/unified";
	default:
		return NULL;
	}
}

char *plx_cgroup_v2_path(const char *cgroup_path)
{
	const char *mnt = plx_cgroup_v2_mount();

	if (!mnt) {
		errno = ENOENT;
		return NULL;
	}
	return plx_path_join(mnt, cgroup_path ? cgroup_path : "");
}

char *plx_cgroup_v1_path(const char *controller, const char *cgroup_path)
{
	__do_free char *hier = plx_path_join(PLX_CGROUP_ROOT, controller);

	if (!hier)
		return NULL;
	return plx_path_join(hier, cgroup_path ? cgroup_path : "");
}
