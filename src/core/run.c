/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run = create + start + wait, as runc's: we become a child subreaper so
 * the container process (handed over by create) is our child; we forward
 * signals to it, and with process.terminal and no --console-socket we make
 * the pty ours and copy between it and our own stdio.
 */
#include "core/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/lifecycle_internal.h"
#include "core/pve_registration.h"
#include "core/state.h"
#include "util/cleanup.h"
#include "util/log.h"

/* Receive the pty master the init sends (runc's console-socket message: name + SCM_RIGHTS). */
int plx_recv_pty_master(int sock, struct plx_err *err)
{
	char name[256];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };

	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return plx_err_sys(err, errno, "receive the container's pty");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return plx_err_set(err, EPROTO, "receive the container's pty: no descriptor");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

void plx_tty_restore(struct plx_tty_saved *t)
{
	if (t->saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->tio);
	t->saved = false;
}

void plx_tty_raw(struct plx_tty_saved *t)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->tio) < 0)
		return;
	struct termios raw = t->tio;
	cfmakeraw(&raw);
	t->saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* write all, giving up on a closed peer */
static void write_all(int fd, const char *buf, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= w;
	}
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Wait for pid (our child, as subreaper), forwarding signals and copying the pty. */
int plx_wait_process(pid_t pid, int master, int *exit_status, struct plx_err *err)
{
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigprocmask(SIG_BLOCK, &all, &old);
	__do_close int sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return plx_err_sys(err, errno, "signalfd");

	bool done = false, stdin_open = master >= 0, master_open = master >= 0;
	int status = 0;
	char buf[8192];

	if (master >= 0)
		copy_winsize(master);
	for (;;) {
		/* a child that exited before we listened is still a zombie: collect it */
		pid_t w;
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == pid)
				done = true;
		if (done && !master_open)
			break;

		struct pollfd p[3] = { { .fd = sfd, .events = POLLIN },
				       { .fd = master_open ? master : -1, .events = POLLIN },
				       { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN } };
		int r = poll(p, 3, done ? 100 : -1);
		if (r < 0 && errno != EINTR)
			break;
		if (done && r == 0)
			break; /* the pty has nothing more after the process is gone */
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (si.ssi_signo == SIGWINCH && master >= 0) {
					copy_winsize(master);
					continue;
				}
				if (!done)
					kill(pid, (int)si.ssi_signo);
			}
		}
		if (master_open && p[1].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0)
				write_all(STDOUT_FILENO, buf, n);
			else if (n == 0 || errno != EINTR)
				master_open = false; /* EIO: the last slave fd is closed */
		}
		if (stdin_open && p[2].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0)
				write_all(master, buf, n);
			else if (n == 0 || errno != EINTR)
				stdin_open = false;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!done) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	*exit_status = status_code(status);
	return 0;
}

int plx_container_run(struct plx_runtime *rt, const struct plx_create_opts *o, bool detach, bool keep,
		      int *exit_status, struct plx_err *err)
{
	__do_plx_state_free struct plx_state *st = NULL;
	__do_close int master = -1, ours = -1, theirs = -1;
	_cleanup_(plx_tty_restore) struct plx_tty_saved tty = { 0 };
	int r;

	*exit_status = 0;
	/* the container process is handed to the nearest subreaper when create's monitor goes */
	if (!detach && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return plx_err_sys(err, errno, "become child subreaper");

	/* our own pty receiver, used when the config asks for a terminal and no socket was given */
	if (!o->console_socket && !detach) {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			return plx_err_sys(err, errno, "socketpair");
		ours = sp[0];
		theirs = sp[1];
	}
	bool used_console = false;
	r = plx_container_create_fd(rt, o, theirs, &st, &used_console, err);
	if (r < 0)
		return r;
	if (used_console) {
		master = plx_recv_pty_master(ours, err);
		if (master < 0) {
			struct plx_err derr = PLX_ERR_INIT;
			plx_container_delete(rt, o->id, true, &derr);
			plx_err_clear(&derr);
			return master;
		}
	}
	plx_closep(&theirs);

	if (master >= 0)
		plx_tty_raw(&tty);

	r = plx_container_start(rt, o->id, err);
	if (r < 0) {
		struct plx_err derr = PLX_ERR_INIT;
		plx_container_delete(rt, o->id, true, &derr);
		plx_err_clear(&derr);
		return r;
	}
	if (detach)
		return 0;

	/* a registered PVE CT's init is its kept liblxc monitor's child: the monitor ends as it does */
	r = plx_wait_process(plx_pve_reaped_pid(st), master, exit_status, err);
	plx_tty_restore(&tty);
	if (r < 0)
		return r;
	if (!keep) {
		struct plx_err derr = PLX_ERR_INIT;
		if (plx_container_delete(rt, o->id, true, &derr) < 0)
			log_warn("delete %s after run: %s", o->id, plx_err_msg(&derr));
		plx_err_clear(&derr);
	}
	return 0;
}
