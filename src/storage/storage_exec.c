/* SPDX-License-Identifier: Apache-2.0 */
/* Running the storage commands with their output captured in memfds (no pipes to drain). */
#include "storage/storage_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"

static const struct {
	const char *text;
	int code;
} messages[] = {
	{ "does not exist", ENOENT },
	{ "No such file or directory", ENOENT },
	{ "no such pool", ENOENT },
	{ "already exists", EEXIST },
	{ "out of space", ENOSPC },
	{ "No space left", ENOSPC },
	{ "quota exceeded", EDQUOT },
	{ "read-only", EROFS },
	{ "Read-only", EROFS },
	{ "is busy", EBUSY },
	{ "dataset is busy", EBUSY },
	{ "has dependent clones", EBUSY },
};

int plx_storage_errno_from_message(const char *msg)
{
	for (size_t i = 0; i < ARRAY_SIZE(messages); i++)
		if (strstr(msg, messages[i].text))
			return messages[i].code;
	return EIO;
}

static char *read_all(int fd)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static char *join_argv(char *const argv[])
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	for (size_t i = 0; argv[i]; i++)
		p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
	*p = '\0';
	return s;
}

/*
 * The environment the storage tools run with: ours, with a PATH that
 * reaches the system tools.  Callers may give none (podman runs delete
 * with an empty environment) or a user's PATH without the sbin
 * directories where Debian puts zfs and btrfs.  Built before fork: the
 * child must not allocate.
 */
static char **tool_environ(void)
{
	static const char sbin[] = "/usr/local/sbin:/usr/sbin:/sbin";
	const char *path = getenv("PATH");
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PATH=", 5) != 0)
			env[k++] = environ[i];
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	if (asprintf(&env[k], "PATH=%s%s%s", path, strstr(path, "/sbin") ? "" : ":", strstr(path, "/sbin") ? "" : sbin) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static void tool_environ_free(char ***env)
{
	if (!*env)
		return;
	for (size_t i = 0; (*env)[i]; i++)
		if (strncmp((*env)[i], "PATH=", 5) == 0)
			free((*env)[i]);
	free(*env);
	*env = NULL;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int plx_storage_run(char *const argv[], char **out, struct plx_err *err)
{
	__do_close int ofd = memfd_create("plx-storage-out", MFD_CLOEXEC);
	__do_close int efd = memfd_create("plx-storage-err", MFD_CLOEXEC);
	__do_free char *cmd = join_argv(argv);
	__do_free char *errtext = NULL;
	__attribute__((cleanup(tool_environ_free))) char **env = tool_environ();
	int status;
	pid_t pid;

	if (out)
		*out = NULL;
	if (ofd < 0 || efd < 0 || !cmd || !env)
		return plx_err_sys(err, errno ? errno : ENOMEM, "%s: cannot capture output", argv[0]);
	pid = fork();
	if (pid < 0)
		return plx_err_sys(err, errno, "%s: fork", argv[0]);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
			_exit(126);
		execvpe(argv[0], argv, env);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return plx_err_sys(err, errno, "%s: waitpid", cmd);

	errtext = read_all(efd);
	if (errtext)
		trim(errtext);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out) {
			*out = read_all(ofd);
			if (!*out)
				return plx_err_set(err, ENOMEM, "%s: cannot read its output", cmd);
		}
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && errtext && strncmp(errtext, "cannot run", 10) == 0)
		return plx_err_set(err, ENOPKG, "%s (is it installed?)", errtext);
	if (!WIFEXITED(status))
		return plx_err_set(err, EIO, "%s: killed by signal %d", cmd, WTERMSIG(status));
	if (!errtext || !errtext[0]) {
		/* Some commands report on stdout only. */
		free(errtext);
		errtext = read_all(ofd);
		if (errtext)
			trim(errtext);
	}
	return plx_err_set(err, plx_storage_errno_from_message(errtext ? errtext : ""), "%s: %s (exit %d)", cmd,
			   errtext && errtext[0] ? errtext : "failed", WEXITSTATUS(status));
}
