/* SPDX-License-Identifier: Apache-2.0 */
#include "container_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/nsjoin.h"
#include "process/hook.h"
#include "util/cleanup.h"

/* In a child: join pid's namespaces, then run the hooks (their paths were opened before). */
static __attribute__((noreturn)) void enter_and_run(pid_t pid, const struct oci_hook_list *l, const char *kind,
						    const char *state_json, int errfd)
{
	struct plx_err err = PLX_ERR_INIT;

	if (plx_join_namespaces(pid, &err) < 0) {
		dprintf(errfd, "%s hooks: %s", kind, plx_err_msg(&err));
		_exit(1);
	}
	/* the pid namespace applies to children: plx_hooks_run forks each hook */
	if (plx_hooks_run(l, kind, state_json, &err) < 0) {
		dprintf(errfd, "%s", plx_err_msg(&err));
		_exit(1);
	}
	_exit(0);
}

struct hook_fds {
	size_t n;
	int *fds;
	char **paths;
	struct oci_hook *v;
};

static void hook_fds_free(struct hook_fds *h)
{
	for (size_t i = 0; h->fds && i < h->n; i++)
		if (h->fds[i] >= 0)
			close(h->fds[i]);
	for (size_t i = 0; h->paths && i < h->n; i++)
		free(h->paths[i]);
	free(h->paths);
	free(h->fds);
	free(h->v);
}

int plx_hooks_run_in_container(pid_t pid, const struct oci_hook_list *l, const char *kind,
			       const char *state_json, struct plx_err *err)
{
	_cleanup_(hook_fds_free) struct hook_fds h = { .n = l->n };
	int pipefd[2];

	if (l->n == 0)
		return 0;
	/* resolve each path in our mount namespace; the hook runs from /proc/self/fd/N */
	h.v = calloc(l->n, sizeof(*h.v));
	h.fds = calloc(l->n, sizeof(*h.fds));
	h.paths = calloc(l->n, sizeof(*h.paths));
	if (!h.v || !h.fds || !h.paths)
		return plx_err_set(err, ENOMEM, "%s hooks", kind);
	for (size_t i = 0; i < l->n; i++)
		h.fds[i] = -1;
	for (size_t i = 0; i < l->n; i++) {
		h.fds[i] = open(l->v[i].path, O_RDONLY); /* inherited: the hook is executed through it */
		if (h.fds[i] < 0)
			return plx_err_sys(err, errno, "%s hook #%zu (%s)", kind, i, l->v[i].path);
		if (asprintf(&h.paths[i], "/proc/self/fd/%d", h.fds[i]) < 0)
			return plx_err_set(err, ENOMEM, "%s hooks", kind);
		h.v[i] = l->v[i];
		h.v[i].path = h.paths[i];
	}
	struct oci_hook_list moved = { .v = h.v, .n = h.n };

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return plx_err_sys(err, errno, "pipe");
	__do_close int rd = pipefd[0];
	__do_close int wr = pipefd[1];
	pid_t child = fork();
	if (child < 0)
		return plx_err_sys(err, errno, "fork for %s hooks", kind);
	if (child == 0)
		enter_and_run(pid, &moved, kind, state_json, wr);
	plx_closep(&wr);

	char msg[4096];
	ssize_t n, got = 0;
	while ((n = read(rd, msg + got, sizeof(msg) - 1 - (size_t)got)) > 0 || (n < 0 && errno == EINTR))
		got += n > 0 ? n : 0;
	msg[got] = '\0';
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (got > 0) {
		/* the hooks ran as /proc/self/fd/N: say the path the config names */
		__do_free char *named = strdup(msg);
		for (size_t i = 0; named && i < h.n; i++) {
			char *at = strstr(named, h.paths[i]);
			if (!at)
				continue;
			char *fixed = NULL;
			if (asprintf(&fixed, "%.*s%s%s", (int)(at - named), named, l->v[i].path,
				     at + strlen(h.paths[i])) >= 0) {
				free(named);
				named = fixed;
			}
		}
		return plx_err_set(err, EIO, "%s", named ? named : msg);
	}
	return plx_err_set(err, EIO, "%s hooks: helper in the container's namespaces died (status %d)", kind,
			   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
