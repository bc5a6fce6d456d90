/* SPDX-License-Identifier: Apache-2.0 */
#include "cgroup_join.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The mount directory of a v1 hierarchy line's controller list ("cpu,cpuacct", "name=systemd"). */
static char *v1_mount_dir(const char *ctrls)
{
	char *dir = NULL;
	const char *name = strncmp(ctrls, "name=", 5) == 0 ? ctrls + 5 : ctrls;

	if (asprintf(&dir, PLX_CGROUP_ROOT "/%s", name) < 0)
		return NULL;
	if (access(dir, F_OK) == 0)
		return dir;
	/* "cpu,cpuacct" may be mounted at cpu (and the other name a symlink) */
	char *comma = strchr(dir + strlen(PLX_CGROUP_ROOT) + 1, ',');
	if (comma) {
		*comma = '\0';
		if (access(dir, F_OK) == 0)
			return dir;
	}
	free(dir);
	return NULL;
}

int plx_cgroup_join_like(pid_t target, struct plx_err *err)
{
	char path[64];
	__do_free char *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", target);
	int r = plx_read_file_at(AT_FDCWD, path, &buf, NULL, err);
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		__do_free char *mnt = NULL, *procs = NULL;
		if (strcmp(line, "0") == 0 && *ctrls == '\0') {
			const char *v2 = plx_cgroup_v2_mount();
			mnt = v2 ? strdup(v2) : NULL;
		} else {
			mnt = v1_mount_dir(ctrls);
		}
		if (!mnt)
			continue; /* a hierarchy not mounted here (e.g. net_cls): nothing to join */
		if (asprintf(&procs, "%s%s/cgroup.procs", mnt, strcmp(cg, "/") == 0 ? "" : cg) < 0)
			return plx_err_set(err, ENOMEM, "cgroup path");
		r = plx_write_file_at(AT_FDCWD, procs, "0", 1, 0644, err);
		if (r < 0)
			return plx_err_prefix(err, "join the container's cgroup");
	}
	return 0;
}
