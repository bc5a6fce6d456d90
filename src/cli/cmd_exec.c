/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri exec [options] <container-id> <command> [command options] */
#include <stdlib.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const struct plx_flag flags[] = {
	PLX_FLAG_CONSOLE_SOCKET,
	{ "cwd", NULL, PLX_FLAG_STRING, "current working directory in the container", NULL },
	{ "env", "e", PLX_FLAG_STRINGS, "set environment variables", NULL },
	{ "tty", "t", PLX_FLAG_BOOL, "allocate a pseudo-TTY", NULL },
	{ "user", "u", PLX_FLAG_STRING, "UID (format: <uid>[:<gid>])", NULL },
	{ "additional-gids", "g", PLX_FLAG_STRINGS, "additional gids", NULL },
	{ "process", "p", PLX_FLAG_STRING, "path to the process.json", NULL },
	{ "detach", "d", PLX_FLAG_BOOL, "detach from the container's process", NULL },
	PLX_FLAG_PID_FILE,
	{ "process-label", NULL, PLX_FLAG_STRING, "set the asm process label for the process commonly used with selinux",
	  NULL },
	{ "apparmor", NULL, PLX_FLAG_STRING, "set the apparmor profile for the process", NULL },
	{ "no-new-privs", NULL, PLX_FLAG_BOOL, "set the no new privileges value for the process", NULL },
	{ "cap", "c", PLX_FLAG_STRINGS, "add a capability to the bounding set for the process", NULL },
	PLX_FLAG_PRESERVE_FDS,
	{ "cgroup", NULL, PLX_FLAG_STRINGS,
	  "run the process in an (existing) sub-cgroup(s); not offered: the process joins the container's cgroup",
	  NULL },
	{ "ignore-paused", NULL, PLX_FLAG_BOOL, "allow exec in a paused container", NULL },
};

static int cmd_exec(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_free char *pid_file = NULL, *process = NULL;
	int status = 0;

	if (plx_args_strv(a, "cgroup"))
		return plx_err_set(err, EINVAL,
				   "--cgroup: sub-cgroups are not offered by proxmox-lxcri; the process joins the "
				   "container's cgroup");
	if (!plx_args_str(a, "process") && a->n_pos < 2)
		return plx_err_set(err, EINVAL, "exec: a command to run is required (or --process)");
	/* paths are the caller's, relative to its working directory */
	if (plx_args_str(a, "pid-file") && !(pid_file = plx_path_abs(plx_args_str(a, "pid-file"))))
		return plx_err_set(err, ENOMEM, "out of memory");
	if (plx_args_str(a, "process") && !(process = plx_path_abs(plx_args_str(a, "process"))))
		return plx_err_set(err, ENOMEM, "out of memory");

	struct plx_exec_opts o = {
		.id = a->pos[0],
		.process_path = process,
		.args = a->n_pos > 1 ? &a->pos[1] : NULL,
		.tty = plx_args_bool(a, "tty"),
		.console_socket = plx_args_str(a, "console-socket"),
		.cwd = plx_args_str(a, "cwd"),
		.env = plx_args_strv(a, "env"),
		.user = plx_args_str(a, "user"),
		.additional_gids = plx_args_strv(a, "additional-gids"),
		.caps = plx_args_strv(a, "cap"),
		.no_new_privs = plx_args_bool(a, "no-new-privs"),
		.apparmor = plx_args_str(a, "apparmor"),
		.process_label = plx_args_str(a, "process-label"),
		.detach = plx_args_bool(a, "detach"),
		.pid_file = pid_file,
		.preserve_fds = plx_args_isset(a, "preserve-fds") ? plx_args_uint(a, "preserve-fds") : 0,
		.ignore_paused = plx_args_bool(a, "ignore-paused"),
	};
	int ret = plx_container_exec(rt, &o, &status, err);
	if (ret < 0)
		return ret;
	/* the process's status is ours, as with runc */
	return status & 0xff;
}

const struct plx_cli_cmd plx_cmd_exec = {
	.name = "exec",
	.usage = "execute new process inside the container",
	.args_usage = "<container-id> <command> [command options]  || -p process.json <container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container and\n"
		      "\"<command>\" is the command to be executed in the container.\n"
		      "\"<command>\" can't be empty unless a \"-p\" flag provided.\n"
		      "\n"
		      "EXAMPLE:\n"
		      "For example, if the container is configured to run the linux ps command the\n"
		      "following will output a list of processes running in the container:\n"
		      "\n"
		      "       # " PLX_PROGRAM " exec <container-id> ps",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = -1,
	.needs_runtime = true,
	.flags_first = true,
	.run = cmd_exec,
};
