/* SPDX-License-Identifier: Apache-2.0 */
#include "lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/cleanup.h"

#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

bool plx_apparmor_enabled(void)
{
	char c = 0;

	/* what runc checks (apparmor.IsEnabled) */
	__do_close int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

bool plx_selinux_enabled(void)
{
	struct statfs sf;

	return statfs("/sys/fs/selinux", &sf) == 0 && (unsigned long)sf.f_type == SELINUX_MAGIC;
}

/* Write the whole of s to the first of paths that exists. */
static int write_attr(const char *const *paths, const char *s, const char *what, struct plx_err *err)
{
	size_t len = strlen(s);
	int e = ENOENT;

	for (; *paths; paths++) {
		__do_close int fd = open(*paths, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			if (e == ENOENT)
				continue;
			return plx_err_sys(err, e, "%s: open %s", what, *paths);
		}
		ssize_t n = write(fd, s, len);
		if (n < 0)
			return plx_err_sys(err, errno, "%s: write %s", what, *paths);
		if ((size_t)n != len)
			return plx_err_set(err, EIO, "%s: short write to %s", what, *paths);
		return 0;
	}
	return plx_err_sys(err, e, "%s", what);
}

int plx_apparmor_exec_profile(const char *profile, struct plx_err *err)
{
	static const char *const attrs[] = { "/proc/self/attr/apparmor/exec", "/proc/self/attr/exec", NULL };
	__do_free char *cmd = NULL;

	if (!profile || !*profile)
		return 0;
	if (!plx_apparmor_enabled())
		return plx_err_set(err, EOPNOTSUPP,
				   "process.apparmorProfile \"%s\": AppArmor is not enabled on this host",
				   profile);
	if (asprintf(&cmd, "exec %s", profile) < 0)
		return plx_err_set(err, ENOMEM, "process.apparmorProfile");
	int r = write_attr(attrs, cmd, "apparmor", err);
	return r < 0 ? plx_err_prefix(err, "process.apparmorProfile \"%s\"", profile) : 0;
}

int plx_selinux_check(const char *label, struct plx_err *err)
{
	if (label && *label && !plx_selinux_enabled())
		return plx_err_set(err, EOPNOTSUPP,
				   "selinux label is specified in config, but selinux is disabled or not supported "
				   "(process.selinuxLabel \"%s\")",
				   label);
	return 0;
}

int plx_selinux_exec_label(const char *label, struct plx_err *err)
{
	static const char *const attrs[] = { "/proc/thread-self/attr/exec", "/proc/self/attr/exec", NULL };

	if (!label || !*label)
		return 0;
	int r = plx_selinux_check(label, err);
	if (r < 0)
		return r;
	r = write_attr(attrs, label, "selinux", err);
	return r < 0 ? plx_err_prefix(err, "process.selinuxLabel \"%s\"", label) : 0;
}
