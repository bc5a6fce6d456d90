/* SPDX-License-Identifier: Apache-2.0 */
#include "finalize.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process/caps.h"
#include "process/identity.h"
#include "process/keyring.h"
#include "process/lsm.h"
#include "process/pty.h"
#include "process/rlimits.h"
#include "process/scheduling.h"
#include "process/seccomp_filter.h"
#include "util/cleanup.h"

static int set_oom_score_adj(int adj, struct plx_err *err)
{
	char buf[16];

	int n = snprintf(buf, sizeof(buf), "%d", adj);
	__do_close int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return plx_err_sys(err, errno, "process.oomScoreAdj: write %d to /proc/self/oom_score_adj",
				   adj);
	return 0;
}

static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* handlers reset on execve anyway; ignored signals would stay ignored */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* fails harmlessly for libc's reserved ones */
}

/* Mark fds >= from close-on-exec, the slow way for kernels without close_range() (< 5.11). */
static int cloexec_from_proc(int from, struct plx_err *err)
{
	__do_closedir DIR *d = opendir("/proc/self/fd");
	if (!d)
		return plx_err_sys(err, errno, "open /proc/self/fd");
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd < from || fd == self)
			continue;
		int flags = fcntl((int)fd, F_GETFD);
		if (flags >= 0 && fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) < 0)
			return plx_err_sys(err, errno, "set close-on-exec on fd %ld", fd);
	}
	return 0;
}

static int cloexec_fds(unsigned int preserve_fds, struct plx_err *err)
{
	unsigned int from = 3 + preserve_fds;

	if (close_range(from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return plx_err_sys(err, errno, "close_range(%u, CLOSE_RANGE_CLOEXEC)", from);
	return cloexec_from_proc((int)from, err);
}

/* chdir like runc: as root first, and again as the user when root may not enter */
static int change_dir(const char *cwd, bool *retry, struct plx_err *err)
{
	if (!cwd || !*cwd)
		return 0;
	if (chdir(cwd) == 0) {
		*retry = false;
		return 0;
	}
	if (!*retry && (errno == EACCES || errno == EPERM)) {
		*retry = true;
		return 0;
	}
	return plx_err_sys(err, errno, "chdir to cwd (\"%s\") set in config.json failed", cwd);
}

static int load_seccomp(const struct plx_finalize_opts *o, struct plx_err *err)
{
	if (!o->seccomp)
		return 0;
	return plx_seccomp_load(o->seccomp, o->seccomp_listener, o->state_json, err);
}

int plx_process_finalize(const struct oci_process *p, const struct plx_finalize_opts *o, struct plx_err *err)
{
	bool chdir_retry = false;
	int r;

	if (o->pty_slave >= 0) {
		if ((r = plx_pty_make_controlling(o->pty_slave, err)) < 0)
			return r;
	} else if (setsid() < 0 && errno != EPERM) {
		/* a session of its own, as runc gives it; EPERM: it leads one already */
		return plx_err_sys(err, errno, "setsid");
	}
	if ((r = plx_rlimits_apply(p->rlimits, p->n_rlimits, err)) < 0)
		return r;
	if (p->has_oom_score_adj && (r = set_oom_score_adj(p->oom_score_adj, err)) < 0)
		return r;
	/* while still root: a real-time policy or class needs CAP_SYS_NICE / CAP_SYS_ADMIN */
	if ((r = plx_sched_apply(p->scheduler, err)) < 0)
		return r;
	if ((r = plx_ioprio_apply(p->io_priority, err)) < 0)
		return r;
	if (o->session_keyring && (r = plx_keyring_join_session(o->session_keyring, err)) < 0)
		return r;
	if ((r = plx_apparmor_exec_profile(p->apparmor_profile, err)) < 0)
		return r;
	if ((r = plx_selinux_exec_label(p->selinux_label, err)) < 0)
		return r;

	/* without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we hold it */
	if (!p->no_new_privileges && (r = load_seccomp(o, err)) < 0)
		return r;

	if ((r = change_dir(p->cwd, &chdir_retry, err)) < 0)
		return r;
	if (p->capabilities && (r = plx_caps_drop_bounding(p->capabilities, err)) < 0)
		return r;
	if ((r = plx_identity_switch(&p->user, p->capabilities != NULL, err)) < 0)
		return r;
	if (p->capabilities && (r = plx_caps_apply(p->capabilities, err)) < 0)
		return r;
	umask(p->user.has_umask ? (mode_t)p->user.umask : 0022);
	if (chdir_retry && (r = change_dir(p->cwd, &chdir_retry, err)) < 0)
		return r;

	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return plx_err_sys(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	reset_signals();
	if ((r = cloexec_fds(o->preserve_fds, err)) < 0)
		return r;

	/* as close to execve as possible, so the profile needs few syscalls of ours */
	if (p->no_new_privileges && (r = load_seccomp(o, err)) < 0)
		return r;
	return 0;
}
