/* SPDX-License-Identifier: Apache-2.0 */
#include "hook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

/* How much of a hook's output a failure message quotes (its end). */
#define HOOK_OUTPUT_TAIL 1024

struct hook_io {
	const char *state; /* still to write to the hook's stdin */
	size_t state_left;
	char tail[2 * HOOK_OUTPUT_TAIL];
	size_t tail_len;
};

/* N of "/proc/self/fd/N", else -1 */
static int fd_of_proc_path(const char *path)
{
	static const char prefix[] = "/proc/self/fd/";
	char *end;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	errno = 0;
	long n = strtol(path + sizeof(prefix) - 1, &end, 10);
	if (errno || *end || end == path + sizeof(prefix) - 1 || n < 0 || n > 1 << 20)
		return -1;
	return (int)n;
}

static void __attribute__((noreturn))
hook_child(const struct oci_hook *h, int in_fd, int out_fd, int err_pipe)
{
	static char *const empty_env[] = { NULL };
	char *default_argv[] = { h->path, NULL };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* the hook starts like a fresh process: no blocked or ignored signals of ours */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);

	/* get the pipes out of the way of 0..2 first: they might be 0..2 themselves */
	int in = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	int out = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	/* the container's preserved fds and ours are not the hook's business */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	/*
	 * ...except the hook itself when it is run through /proc/self/fd/N (a
	 * createContainer hook opened on the host): a script's interpreter
	 * reads it through that name after execve.
	 */
	int self_fd = fd_of_proc_path(h->path);
	if (self_fd >= 3)
		fcntl(self_fd, F_SETFD, 0);
	execve(h->path, h->args ? h->args : default_argv, h->env ? h->env : empty_env);
fail:;
	int e = errno;
	ssize_t n = write(err_pipe, &e, sizeof(e));
	(void)n;
	_exit(127);
}

static void keep_tail(struct hook_io *io, const char *buf, size_t n)
{
	if (n >= HOOK_OUTPUT_TAIL) {
		memcpy(io->tail, buf + n - HOOK_OUTPUT_TAIL, HOOK_OUTPUT_TAIL);
		io->tail_len = HOOK_OUTPUT_TAIL;
		return;
	}
	if (io->tail_len + n > sizeof(io->tail)) {
		size_t drop = io->tail_len - HOOK_OUTPUT_TAIL;
		memmove(io->tail, io->tail + drop, io->tail_len - drop);
		io->tail_len -= drop;
	}
	memcpy(io->tail + io->tail_len, buf, n);
	io->tail_len += n;
}

/* Read what is available; returns false at EOF or error. */
static bool drain_output(int fd, struct hook_io *io)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			keep_tail(io, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

/* Write some state; returns false when done or the hook stopped reading. */
static bool feed_state(int fd, struct hook_io *io)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0 };
	bool more = true;

	/* a hook that ignores stdin must not kill us with SIGPIPE: block it, eat it */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t n = write(fd, io->state, io->state_left);
	int e = errno;
	if (n >= 0) {
		io->state += n;
		io->state_left -= (size_t)n;
		more = io->state_left > 0;
	} else if (e != EINTR && e != EAGAIN) {
		more = false; /* EPIPE: the hook does not want it */
	}
	if (n < 0 && e == EPIPE && !sigismember(&old, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return more;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The hook's output for a message: its last line(s), trimmed. */
static void format_tail(struct hook_io *io, char *out, size_t len)
{
	size_t start = io->tail_len > HOOK_OUTPUT_TAIL ? io->tail_len - HOOK_OUTPUT_TAIL : 0;
	size_t end = io->tail_len;

	while (end > start && (io->tail[end - 1] == '\n' || io->tail[end - 1] == ' '))
		end--;
	if (end == start) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, ", output: %.*s", (int)(end - start), io->tail + start);
}

/*
 * Feed the state, collect output and wait for the hook, killing it at the
 * deadline.  Returns 0 with *status, or -ETIMEDOUT / -errno.
 */
static int supervise(pid_t pid, int in_w, int out_r, int timeout_s, struct hook_io *io, int *status)
{
	long long deadline = timeout_s > 0 ? now_ms() + (long long)timeout_s * 1000 : -1;
	__do_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool exited = false, reaped = false;

	while (!exited) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		int wait_ms = -1;

		if (pidfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		else
			wait_ms = 50; /* no pidfd (< 5.3): poll for the exit */
		if (out_r >= 0)
			pfd[n++] = (struct pollfd){ .fd = out_r, .events = POLLIN };
		if (in_w >= 0)
			pfd[n++] = (struct pollfd){ .fd = in_w, .events = POLLOUT };
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				kill(pid, SIGKILL);
				waitpid(pid, status, 0);
				return -ETIMEDOUT;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = (int)left;
		}
		int r = poll(pfd, n, wait_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		for (nfds_t i = 0; r > 0 && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == pidfd) {
				exited = true;
			} else if (pfd[i].fd == out_r) {
				if (!drain_output(out_r, io))
					plx_closep(&out_r);
			} else if (pfd[i].fd == in_w) {
				if (!(pfd[i].revents & POLLOUT) || !feed_state(in_w, io))
					plx_closep(&in_w);
			}
		}
		if (pidfd < 0 && waitpid(pid, status, WNOHANG) == pid)
			exited = reaped = true;
	}
	if (!reaped && waitpid(pid, status, 0) < 0)
		return -errno;
	/* what the hook wrote just before exiting (children keeping the pipe open are not waited for) */
	if (out_r >= 0)
		drain_output(out_r, io);
	plx_closep(&in_w);
	plx_closep(&out_r);
	return 0;
}

int plx_hook_run(const struct oci_hook *h, const char *kind, size_t index, const char *state_json,
		 struct plx_err *err)
{
	int in[2], out[2], ep[2];
	struct hook_io io = { .state = state_json ? state_json : "" };
	char tail[HOOK_OUTPUT_TAIL + 16];
	int status = 0, child_errno = 0;

	io.state_left = strlen(io.state);
	if (pipe2(in, O_CLOEXEC) < 0)
		return plx_err_sys(err, errno, "%s hook #%zu (%s): pipe", kind, index, h->path);
	__do_close int in_r = in[0], in_w = in[1];
	if (pipe2(out, O_CLOEXEC) < 0)
		return plx_err_sys(err, errno, "%s hook #%zu (%s): pipe", kind, index, h->path);
	__do_close int out_r = out[0], out_w = out[1];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return plx_err_sys(err, errno, "%s hook #%zu (%s): pipe", kind, index, h->path);
	__do_close int ep_r = ep[0], ep_w = ep[1];

	pid_t pid = fork();
	if (pid < 0)
		return plx_err_sys(err, errno, "%s hook #%zu (%s): fork", kind, index, h->path);
	if (pid == 0)
		hook_child(h, in_r, out_w, ep_w);

	plx_closep(&in_r);
	plx_closep(&out_w);
	plx_closep(&ep_w);
	/* EOF at once when execve succeeded (close-on-exec); the errno otherwise */
	ssize_t n;
	while ((n = read(ep_r, &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
		;
	if (n == sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		return plx_err_sys(err, child_errno, "%s hook #%zu (%s): exec", kind, index, h->path);
	}

	if (io.state_left == 0)
		plx_closep(&in_w); /* nothing to say: the hook reads EOF */
	else
		fcntl(in_w, F_SETFL, O_NONBLOCK);
	fcntl(out_r, F_SETFL, O_NONBLOCK);
	int r = supervise(pid, steal_fd(in_w), steal_fd(out_r), h->has_timeout ? h->timeout : 0, &io,
			  &status);
	format_tail(&io, tail, sizeof(tail));
	if (r == -ETIMEDOUT)
		return plx_err_set(err, ETIMEDOUT, "%s hook #%zu (%s): timed out after %ds%s", kind, index,
				   h->path, h->timeout, tail);
	if (r < 0)
		return plx_err_sys(err, -r, "%s hook #%zu (%s): wait", kind, index, h->path);
	if (WIFSIGNALED(status))
		return plx_err_set(err, ECHILD, "%s hook #%zu (%s): killed by signal %d%s", kind, index,
				   h->path, WTERMSIG(status), tail);
	if (WEXITSTATUS(status) != 0)
		return plx_err_set(err, ECHILD, "%s hook #%zu (%s): exit status %d%s", kind, index, h->path,
				   WEXITSTATUS(status), tail);
	if (*tail)
		log_debug("%s hook #%zu (%s) succeeded%s", kind, index, h->path, tail);
	return 0;
}

int plx_hooks_run(const struct oci_hook_list *l, const char *kind, const char *state_json,
		  struct plx_err *err)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = plx_hook_run(&l->v[i], kind, i, state_json, err);
		if (r < 0)
			return r;
	}
	return 0;
}
