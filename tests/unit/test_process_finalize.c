/* SPDX-License-Identifier: Apache-2.0 */
/* plx_process_finalize() end to end, in forked children (the settings are irreversible). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/finalize.h"

static int child_all_settings(void)
{
	char *mkdir_names[] = { "mkdir", "mkdirat", NULL };
	struct oci_syscall sc = {
		.names = mkdir_names, .action = "SCMP_ACT_ERRNO", .has_errno_ret = true, .errno_ret = EPERM
	};
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	struct oci_rlimit rl = { .type = "RLIMIT_NOFILE", .soft = 64, .hard = 128 };
	struct oci_process p = {
		.cwd = "/tmp",
		.user = { .uid = geteuid(), .gid = getegid(), .has_umask = true, .umask = 027 },
		.rlimits = &rl,
		.n_rlimits = 1,
		.no_new_privileges = true,
		.has_oom_score_adj = true,
		.oom_score_adj = 500,
	};
	struct plx_finalize_opts o = {
		.pty_slave = -1, .preserve_fds = 1, .seccomp = &s, .seccomp_listener = -1
	};
	struct plx_err err = PLX_ERR_INIT;
	sigset_t blocked, now;
	char cwd[PATH_MAX], buf[16] = { 0 };
	struct rlimit r;

	/* state the finalize must undo */
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR2);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	/* at 20, so that the dup2 below really makes a new fd 3 */
	int null = fcntl(open("/dev/null", O_RDONLY | O_CLOEXEC), F_DUPFD_CLOEXEC, 20);
	int preserved = dup2(null, 3);	      /* fd 3: preserved */
	int extra = fcntl(null, F_DUPFD, 10); /* beyond: close-on-exec */
	if (null < 0 || preserved != 3 || extra < 10)
		return 2;

	if (plx_process_finalize(&p, &o, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 3;
	}
	if (umask(0) != 027)
		return 4;
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/tmp") != 0)
		return 5;
	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur != 64 || r.rlim_max != 128)
		return 6;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 7;
	if (fcntl(preserved, F_GETFD) & FD_CLOEXEC)
		return 8;
	if (!(fcntl(extra, F_GETFD) & FD_CLOEXEC))
		return 9;
	struct sigaction sa;
	if (sigaction(SIGUSR1, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL)
		return 10;
	if (sigprocmask(SIG_BLOCK, NULL, &now) < 0 || sigismember(&now, SIGUSR2))
		return 11;
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 || atoi(buf) != 500)
		return 12;
	/* seccomp came last */
	if (mkdir("/tmp/plx-finalize-never", 0755) == 0 || errno != EPERM)
		return 13;
	return 0;
}

static int run_child(int (*fn)(void))
{
	int status;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_all_settings(void **state)
{
	if (geteuid() != 0)
		skip(); /* setgroups */
	assert_int_equal(run_child(child_all_settings), 0);
}

static int child_bad_cwd(void)
{
	struct oci_process p = { .cwd = "/nonexistent/dir", .user = { .uid = geteuid(), .gid = getegid() } };
	struct plx_finalize_opts o = { .pty_slave = -1, .seccomp_listener = -1 };
	struct plx_err err = PLX_ERR_INIT;

	if (plx_process_finalize(&p, &o, &err) != -ENOENT)
		return 1;
	return strcmp(err.msg, "chdir to cwd (\"/nonexistent/dir\") set in config.json failed: "
			       "No such file or directory") == 0
		       ? 0
		       : 2;
}

static void test_bad_cwd(void **state)
{
	assert_int_equal(run_child(child_bad_cwd), 0);
}

static int child_bad_rlimit(void)
{
	struct oci_rlimit rl = { .type = "RLIMIT_NOFILE", .soft = 10, .hard = 5 };
	struct oci_process p = { .cwd = "/", .rlimits = &rl, .n_rlimits = 1 };
	struct plx_finalize_opts o = { .pty_slave = -1, .seccomp_listener = -1 };
	struct plx_err err = PLX_ERR_INIT;

	if (plx_process_finalize(&p, &o, &err) != -EINVAL)
		return 1;
	return strcmp(err.msg, "setrlimit RLIMIT_NOFILE (soft 10, hard 5): Invalid argument") == 0 ? 0 : 2;
}

static void test_bad_rlimit(void **state)
{
	assert_int_equal(run_child(child_bad_rlimit), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_settings),
		cmocka_unit_test(test_bad_cwd),
		cmocka_unit_test(test_bad_rlimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
