/* SPDX-License-Identifier: Apache-2.0 */
/* A container's status, read from the system: its process and its cgroup. */
#include "core/state.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

/*
 * Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat.  comm (field
 * 2) is "(...)" and may itself hold spaces and ')', so counting starts
 * after the last ')'.
 */
static int parse_proc_stat(const char *buf, char *state, uint64_t *start)
{
	const char *p = strrchr(buf, ')');
	char *end;

	if (!p)
		return -EINVAL;
	p++;
	/* p is now at " S ppid ...": field 3 is the first token */
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 3)
			*state = *p;
		if (field == 22) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			*start = strtoull(p, &end, 10);
			if (errno || (*end && *end != ' ' && *end != '\n'))
				return -EINVAL;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EINVAL;
}

uint64_t plx_parse_proc_stat_starttime(const char *buf)
{
	uint64_t start = 0;
	char state;

	if (!buf || parse_proc_stat(buf, &state, &start) < 0)
		return 0;
	return start;
}

static int read_proc_stat(pid_t pid, char *state, uint64_t *start)
{
	__do_free char *buf = NULL;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ret = plx_read_file_at(AT_FDCWD, path, &buf, NULL, NULL);
	if (ret < 0)
		return ret;
	return parse_proc_stat(buf, state, start);
}

uint64_t plx_proc_starttime(pid_t pid)
{
	uint64_t start = 0;
	char state;

	if (pid <= 0 || read_proc_stat(pid, &state, &start) < 0)
		return 0;
	return start;
}

bool plx_state_pid_alive(const struct plx_state *st)
{
	uint64_t start = 0;
	char state = '?';

	if (st->pid <= 0)
		return false;
	/* EPERM: it exists but is not ours to signal (another user's). */
	if (kill(st->pid, 0) < 0 && errno != EPERM)
		return false;
	if (read_proc_stat(st->pid, &state, &start) < 0)
		return false;
	/* A zombie has exited: it only waits for its parent to reap it. */
	if (state == 'Z' || state == 'X' || state == 'x')
		return false;
	/* Another process that got the pid after ours exited. */
	if (st->pid_start && start != st->pid_start)
		return false;
	return true;
}

/* cgroup.events of a v2 cgroup has the line "frozen 1" when frozen. */
static bool v2_frozen(const char *cgroup_path)
{
	__do_free char *dir = plx_cgroup_v2_path(cgroup_path);
	__do_free char *events = NULL;
	__do_free char *buf = NULL;
	const char *line;

	if (!dir)
		return false;
	events = plx_path_join(dir, "cgroup.events");
	if (!events || plx_read_file_at(AT_FDCWD, events, &buf, NULL, NULL) < 0)
		return false;
	for (line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, "frozen 1", 8) == 0 && (line[8] == '\n' || line[8] == '\0'))
			return true;
	return false;
}

/* freezer.state of a v1 freezer cgroup; FREEZING counts: it is on its way. */
static bool v1_frozen(const char *cgroup_path)
{
	__do_free char *dir = plx_cgroup_v1_path("freezer", cgroup_path);
	__do_free char *file = NULL;
	__do_free char *buf = NULL;

	if (!dir)
		return false;
	file = plx_path_join(dir, "freezer.state");
	if (!file || plx_read_file_at(AT_FDCWD, file, &buf, NULL, NULL) < 0)
		return false;
	return strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "FREEZING", 8) == 0;
}

static bool cgroup_frozen(const char *cgroup_path)
{
	if (!cgroup_path || !*cgroup_path)
		return false;
	switch (plx_cgroup_layout()) {
	case PLX_CGROUP_PURE_V2:
		return v2_frozen(cgroup_path);
	case PLX_CGROUP_HYBRID:
		/* the v1 freezer or the v2 cgroup.freeze may have been used */
		return v1_frozen(cgroup_path) || v2_frozen(cgroup_path);
	case PLX_CGROUP_LEGACY:
		return v1_frozen(cgroup_path);
	case PLX_CGROUP_UNKNOWN:
		break;
	}
	return false;
}

static bool exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

enum plx_status plx_state_status(int dirfd, const struct plx_state *st)
{
	if (st->pid <= 0) {
		/* No pid yet: still being created, unless a state was recorded
		 * (then the container ran and is gone). */
		if (!exists_at(dirfd, PLX_STATE_FILE))
			return PLX_STATUS_CREATING;
		return PLX_STATUS_STOPPED;
	}
	if (!plx_state_pid_alive(st))
		return PLX_STATUS_STOPPED;
	if (exists_at(dirfd, PLX_INIT_SOCKET))
		return PLX_STATUS_CREATED;
	if (cgroup_frozen(st->cgroup_path))
		return PLX_STATUS_PAUSED;
	return PLX_STATUS_RUNNING;
}
