/* SPDX-License-Identifier: Apache-2.0 */
#include "lxc_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config-build.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* A sealed, read-only in-memory copy of the init: nothing can write to what the container runs. */
int plx_lxc_sealed_init(const char *path, struct plx_err *err)
{
	__do_close int src = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (src < 0)
		return plx_err_sys(err, errno, "open init %s", path);
	if (fstat(src, &st) < 0)
		return plx_err_sys(err, errno, "stat init %s", path);
	__do_close int mfd = memfd_create("proxmox-lxcri-init", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0)
		return plx_err_sys(err, errno, "memfd_create");
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return plx_err_sys(err, n < 0 ? errno : EIO, "copy init %s", path);
	}
	if (fchmod(mfd, 0555) < 0 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return plx_err_sys(err, errno, "seal init copy");
	return steal_fd(mfd);
}

/* Move fd to exactly target (not close-on-exec), even when target is taken by another of ours. */
static int place_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0) < 0 ? -errno : 0;
	return dup2(fd, target) < 0 ? -errno : 0;
}

/*
 * End as the container's init ended (status: what liblxc leaves in
 * error_num): the same exit code, or the same signal re-raised without a
 * core dump of ours.
 */
static __attribute__((noreturn)) void mirror_exit(int status)
{
	/* liblxc 5 reports an init killed by a signal as (sig << 8) | 0x7f; a wait status otherwise */
	int sig = (status & 0x7f) == 0x7f ? (status >> 8) & 0x7f : WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	if (sig > 0 && sig < NSIG) {
		struct rlimit none = { 0, 0 };
		sigset_t set;

		setrlimit(RLIMIT_CORE, &none);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		_exit(128 + sig); /* a signal that does not terminate */
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 255);
}

/* Runs in the monitor child; never returns. */
static __attribute__((noreturn)) void monitor_main(const struct plx_lxc_spawn *s, int init_fd, int go_rd)
{
	int base = 3 + (int)s->preserve_fds;
	char listen_arg[16], log_arg[16], exe[32];

	/* a session of its own, as runc's init: terminal signals of the caller don't reach it */
	setsid();

	/* wait until create has recorded us; EOF means it died first */
	char go = 0;
	ssize_t n;
	while ((n = read(go_rd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(124);
	close(go_rd);

	/* first lift our fds out of the way, then put them right above the preserved ones */
	int hi_listen = fcntl(s->listen_fd, F_DUPFD_CLOEXEC, 1024);
	int hi_init = fcntl(init_fd, F_DUPFD_CLOEXEC, 1024);
	int hi_log = s->init_log_fd >= 0 ? fcntl(s->init_log_fd, F_DUPFD_CLOEXEC, 1024) : -1;
	if (hi_listen < 0 || hi_init < 0 || (s->init_log_fd >= 0 && hi_log < 0))
		_exit(125);
	if (place_fd(hi_listen, base) < 0 || place_fd(hi_init, base + 1) < 0)
		_exit(125);
	if (hi_log >= 0 && place_fd(hi_log, base + 2) < 0)
		_exit(125);
	/* the preserved fds are inherited by the program, as with runc --preserve-fds */
	for (int fd = 3; fd < base; fd++)
		fcntl(fd, F_SETFD, 0);
	/* everything else stays out of the container */
	int first_other = base + (hi_log >= 0 ? 3 : 2);
	/*
	 * A kept monitor lives as long as the container: it must not hold what
	 * create had open (the container's lock would stay taken, sockets open).
	 */
	if (s->keep_monitor)
		syscall(SYS_close_range, (unsigned)first_other, ~0U, 0);
	if (syscall(SYS_close_range, (unsigned)first_other, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = first_other; fd < 65536; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	/*
	 * As root, runc writes a user namespace's id maps itself.  liblxc uses
	 * shadow's newuidmap whenever it finds one on PATH, and then insists
	 * that root own the ranges in /etc/subuid and /etc/subgid.  Keep it
	 * off PATH (liblxc execs nothing else here; the init is run by fd) so
	 * configs behave as under runc.
	 */
	if (geteuid() == 0)
		setenv("PATH", "/usr/sbin:/sbin", 1);

	/* liblxc reports config errors on stderr, which is the container's: send them to its log */
	int saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	int logfd = open(s->lxc_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (saved_err >= 0 && logfd >= 0)
		dup2(logfd, STDERR_FILENO);
	struct lxc_container *c = lxc_container_new(s->id, s->lxcpath);
	if (saved_err >= 0 && logfd >= 0)
		dup2(saved_err, STDERR_FILENO);
	if (!c || !c->is_defined(c))
		_exit(126);
	c->daemonize = false;
	c->want_close_all_fds(c, false);

	snprintf(exe, sizeof(exe), "/proc/self/fd/%d", base + 1);
	snprintf(listen_arg, sizeof(listen_arg), "%d", base);
	snprintf(log_arg, sizeof(log_arg), "%d", base + 2);
	char *argv[] = { exe, "--listen-fd", listen_arg, hi_log >= 0 ? "--log-fd" : NULL, log_arg,
			 s->debug ? "--debug" : NULL, NULL };
	/* overlay hook (engine/lxc/overlay_mount.h): the rootfs exists in our mount namespace only */
	if (s->overlay && plx_overlay_monitor_mount(s->overlay, s->lxc_log) < 0)
		_exit(1);
	bool ok = c->start(c, 0, argv);
	int status = c->error_num;
	lxc_container_put(c);
	if (!s->keep_monitor)
		_exit(ok ? 0 : 1);
	mirror_exit(status);
}

int plx_lxc_spawn(const struct plx_lxc_spawn *s, pid_t *monitor, int *go_fd, struct plx_err *err)
{
	int go[2];

	__do_close int init_fd = plx_lxc_sealed_init(s->init_path, err);
	if (init_fd < 0)
		return init_fd;

	/* our own stdio must be open, or the fds placed above could land on 0..2 */
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return plx_err_sys(err, errno, "open /dev/null");
	}

	if (pipe2(go, O_CLOEXEC) < 0)
		return plx_err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(go[0]);
		close(go[1]);
		return plx_err_sys(err, errno, "fork liblxc monitor");
	}
	if (pid == 0) {
		close(go[1]);
		monitor_main(s, init_fd, go[0]);
	}
	close(go[0]);
	*monitor = pid;
	*go_fd = go[1];
	return 0;
}

int plx_lxc_monitor_release(int go_fd, struct plx_err *err)
{
	char go = 1;
	if (write(go_fd, &go, 1) != 1)
		return plx_err_sys(err, errno, "release liblxc monitor");
	return 0;
}

int plx_lxc_init_pid(pid_t monitor, pid_t *init, struct plx_err *err)
{
	char path[64];
	__do_free char *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", monitor, monitor);
	int r = plx_read_file_at(AT_FDCWD, path, &buf, NULL, err);
	if (r < 0)
		return r;
	pid_t pid = (pid_t)strtol(buf, NULL, 10);
	if (pid <= 0)
		return plx_err_set(err, ESRCH, "liblxc monitor %d has no container process", monitor);
	*init = pid;
	return 0;
}

int plx_lxc_monitor_failure(pid_t monitor, const char *lxc_log, struct plx_err *err)
{
	int status = 0;
	pid_t w = 0;

	/* it has ended or is about to: the init it started is gone */
	for (int i = 0; i < 5000 && (w = waitpid(monitor, &status, WNOHANG)) == 0; i++)
		usleep(1000);
	if (w == 0) {
		plx_lxc_monitor_kill(monitor);
		status = 0;
	}
	__do_free char *why = plx_lxc_log_errors(lxc_log);
	if (w > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return plx_err_set(err, EINVAL, "liblxc could not load the container's configuration%s%s",
				   why ? ": " : "", why ? why : "");
	return plx_err_set(err, EIO, "liblxc failed to start the container%s%s", why ? ": " : "",
			   why ? why : " (see its log for details)");
}

void plx_lxc_monitor_kill(pid_t monitor)
{
	if (monitor <= 0)
		return;
	kill(monitor, SIGKILL);
	while (waitpid(monitor, NULL, 0) < 0 && errno == EINTR)
		;
}

char *plx_lxc_monitor_cgroup(const char *cgroup_path)
{
	char *out = NULL;
	if (asprintf(&out, "%s.lxc-monitor", cgroup_path) < 0)
		return NULL;
	return out;
}

char *plx_lxc_log_errors(const char *log_file)
{
	__do_free char *buf = NULL;
	char *out = NULL;
	size_t len = 0;

	if (plx_read_file_at(AT_FDCWD, log_file, &buf, NULL, NULL) < 0)
		return NULL;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	bool any = false;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* liblxc's log lines say " ERROR "; what it printed before reading its config says "ERROR" too */
		if (!strstr(line, "ERROR") && !strstr(line, "Failed to load config"))
			continue;
		/* "lxc NAME TIMESTAMP ERROR    file - src:func:line - message": keep the message */
		char *msg = strstr(line, " - ");
		msg = msg ? strstr(msg + 3, " - ") : NULL;
		fprintf(f, "%s%s", any ? "; " : "", msg ? msg + 3 : line);
		any = true;
	}
	fclose(f);
	if (!any) {
		free(out);
		return NULL;
	}
	return out;
}

int plx_lxc_find_init(const char *configured, char **out, struct plx_err *err)
{
	char self[PATH_MAX];
	ssize_t n;

	if (configured) {
		if (access(configured, X_OK) < 0)
			return plx_err_sys(err, errno, "init %s (from the runtime config)", configured);
		*out = strdup(configured);
		return *out ? 0 : plx_err_set(err, ENOMEM, "init path");
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		/* installed side by side, or our build tree (src/cli and src/init) */
		const char *rel[] = { "proxmox-lxcri-init", "../init/proxmox-lxcri-init",
				      "../libexec/proxmox-lxcri/proxmox-lxcri-init" };
		for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
			__do_free char *p = plx_path_join(self, rel[i]);
			if (p && access(p, X_OK) == 0) {
				*out = steal_ptr(p);
				return 0;
			}
		}
	}
	const char *libexec = PLX_LIBEXECDIR "/proxmox-lxcri-init";
	if (access(libexec, X_OK) == 0) {
		*out = strdup(libexec);
		return *out ? 0 : plx_err_set(err, ENOMEM, "init path");
	}
	return plx_err_set(err, ENOENT,
			   "proxmox-lxcri-init not found beside %s nor in %s (set \"init\" in the runtime config)",
			   self, PLX_LIBEXECDIR);
}
