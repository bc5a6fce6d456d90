/* SPDX-License-Identifier: Apache-2.0 */
#include "exec_path.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process/env.h"
#include "util/cleanup.h"

const char *plx_go_strerror(int code, char *buf, unsigned long len)
{
	snprintf(buf, len, "%s", strerror(code));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* Open path (relative to cwd when not absolute) as if root were "/". */
static int open_in_root(int rootfd, const char *cwd, const char *path)
{
	__do_free char *full = NULL;
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT,
	};

	if (path[0] != '/') {
		if (asprintf(&full, "%s/%s", cwd && *cwd ? cwd : "/", path) < 0)
			return -ENOMEM;
		path = full;
	}
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return -errno;
	/* kernels before 5.6: fine for root "/", which is how the init calls us */
	while (*path == '/')
		path++;
	fd = openat(rootfd, *path ? path : ".", O_PATH | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/* Go's findExecutable: 0, or -errno with *stat_failed telling which step failed. */
static int find_executable(int rootfd, const char *cwd, const char *path, bool *stat_failed)
{
	struct stat st;

	*stat_failed = false;
	__do_close int fd = open_in_root(rootfd, cwd, path);
	if (fd < 0) {
		*stat_failed = true;
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		*stat_failed = true;
		return -errno;
	}
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) == 0)
		return 0;
	/* ENOSYS: no faccessat2; EPERM: a seccomp filter.  Go then checks the mode bits. */
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
	return (st.st_mode & 0111) ? 0 : -EACCES;
}

int plx_exec_path_resolve(const char *root, const char *cwd, const char *name, const char *path_env,
			  char **out, struct plx_err *err)
{
	char ebuf[128];
	bool stat_failed;

	__do_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return plx_err_sys(err, errno, "open root %s", root);

	if (strchr(name, '/')) {
		int r = find_executable(rootfd, cwd, name, &stat_failed);
		if (r == -ENOMEM)
			return plx_err_set(err, ENOMEM, "exec: \"%s\"", name);
		if (r < 0)
			return plx_err_set(err, -r, "exec: \"%s\": %s%s%s%s", name,
					   stat_failed ? "stat " : "", stat_failed ? name : "",
					   stat_failed ? ": " : "", plx_go_strerror(-r, ebuf, sizeof(ebuf)));
		*out = strdup(name);
		return *out ? 0 : plx_err_set(err, ENOMEM, "exec: \"%s\"", name);
	}

	if (!path_env)
		path_env = PLX_DEFAULT_PATH;
	for (const char *p = path_env;;) {
		size_t len = strcspn(p, ":");
		__do_free char *cand = NULL;
		int n;

		if (len == 0)
			n = asprintf(&cand, "%s", name);
		else if (p[len - 1] == '/')
			n = asprintf(&cand, "%.*s%s", (int)len, p, name);
		else
			n = asprintf(&cand, "%.*s/%s", (int)len, p, name);
		if (n < 0)
			return plx_err_set(err, ENOMEM, "exec: \"%s\"", name);
		if (*name && find_executable(rootfd, cwd, cand, &stat_failed) == 0) {
			*out = steal_ptr(cand);
			return 0;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	return plx_err_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}
