/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxmox-lxcri ps [--format table|json] <container-id> [ps options]
 * json: the pid list (what containerd parses); table: the host's ps(1)
 * output (default "-ef") limited to the container's processes, as runc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "format", "f", PLX_FLAG_STRING, "select one of: table or json", "table" },
};

static bool in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* Run ps with args and keep the header and the lines of our pids (the PID column, found from the header). */
static int ps_table(char *const *args, size_t nargs, const pid_t *pids, size_t n, struct plx_err *err)
{
	__do_free char **argv = calloc(nargs + 2, sizeof(*argv));
	int pfd[2];

	if (!argv)
		return plx_err_set(err, ENOMEM, "out of memory");
	argv[0] = "ps";
	if (nargs == 0)
		argv[1] = "-ef";
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	if (pipe(pfd) < 0)
		return plx_err_sys(err, errno, "pipe");
	pid_t child = fork();
	if (child < 0)
		return plx_err_sys(err, errno, "fork");
	if (child == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp("ps", argv);
		_exit(127);
	}
	close(pfd[1]);
	__do_fclose FILE *f = fdopen(pfd[0], "r");
	__do_free char *line = NULL;
	size_t cap = 0;
	int pid_col = -1;
	for (int lineno = 0; f && getline(&line, &cap, f) > 0; lineno++) {
		if (lineno == 0) {
			/* the column titled PID */
			__do_free char *hdr = strdup(line);
			char *save = NULL;
			int col = 0;
			for (char *t = hdr ? strtok_r(hdr, " \t\n", &save) : NULL; t; t = strtok_r(NULL, " \t\n", &save), col++)
				if (strcmp(t, "PID") == 0)
					pid_col = col;
			fputs(line, stdout);
			if (pid_col < 0) {
				int st;
				waitpid(child, &st, 0);
				return plx_err_set(err, EINVAL, "couldn't find PID field in ps output");
			}
			continue;
		}
		__do_free char *copy = strdup(line);
		char *save = NULL, *t = copy ? strtok_r(copy, " \t\n", &save) : NULL;
		for (int col = 0; t && col < pid_col; col++)
			t = strtok_r(NULL, " \t\n", &save);
		if (t && in(pids, n, (pid_t)strtol(t, NULL, 10)))
			fputs(line, stdout);
	}
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return plx_err_set(err, EIO, "ps exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static int cmd_ps(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_free pid_t *pids = NULL;
	size_t n = 0;
	const char *format = plx_args_str(a, "format");

	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return plx_err_set(err, EINVAL, "invalid format option");
	int r = plx_container_pids(rt, a->pos[0], &pids, &n, err);
	if (r < 0)
		return r;
	if (strcmp(format, "json") == 0) {
		if (a->n_pos > 1)
			return plx_err_set(err, EINVAL, "ps options are not allowed with --format json");
		/* runc: json.NewEncoder(os.Stdout).Encode(pids): compact, newline */
		fputs("[", stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		fputs("]\n", stdout);
		return 0;
	}
	r = ps_table(a->n_pos > 1 ? &a->pos[1] : NULL, a->n_pos - 1, pids, n, err);
	return r < 0 ? r : 0;
}

const struct plx_cli_cmd plx_cmd_ps = {
	.name = "ps",
	.usage = "ps displays the processes running inside a container",
	.args_usage = "<container-id> [ps options]",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = -1,
	.needs_runtime = true,
	.flags_first = true,
	.run = cmd_ps,
};
