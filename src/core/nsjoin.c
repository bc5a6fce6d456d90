/* SPDX-License-Identifier: Apache-2.0 */
#include "nsjoin.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int flag;
} ns_order[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC },	  { "uts", CLONE_NEWUTS },   { "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID },   { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME }, { "mnt", CLONE_NEWNS },
};

static bool same_ns(pid_t pid, const char *name)
{
	char a[64], b[64];
	struct stat sa, sb;

	snprintf(a, sizeof(a), "/proc/%d/ns/%s", pid, name);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", name);
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return true; /* a namespace type this kernel lacks */
	return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int plx_join_namespaces(pid_t target, struct plx_err *err)
{
	int fds[ARRAY_SIZE(ns_order)];

	/* open all first: after joining the mount namespace /proc may be another procfs */
	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
		char p[64];
		fds[i] = -1;
		if (same_ns(target, ns_order[i].name))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", target, ns_order[i].name);
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int e = errno;
			close_all(fds, i);
			return plx_err_sys(err, e, "open %s", p);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
		if (fds[i] >= 0 && setns(fds[i], ns_order[i].flag) < 0) {
			int e = errno;
			close_all(fds, ARRAY_SIZE(ns_order));
			return plx_err_sys(err, e, "join the %s namespace of %d", ns_order[i].name, target);
		}
	}
	bool joined_user = fds[0] >= 0;
	close_all(fds, ARRAY_SIZE(ns_order));
	if (joined_user) {
		setgroups(0, NULL); /* refused where the namespace denies setgroups: harmless */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return plx_err_sys(err, errno, "become root of the user namespace of %d", target);
	}
	return 0;
}
