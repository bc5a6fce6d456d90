/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri kill [--all] <container-id> [signal] */
#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/signals.h"

static const struct plx_flag flags[] = {
	{ "all", "a", PLX_FLAG_BOOL, "send the specified signal to all processes inside the container",
	  NULL },
};

static int cmd_kill(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	int sig = plx_signal_parse(a->n_pos > 1 ? a->pos[1] : "SIGTERM", err);
	int ret;

	if (sig < 0)
		return sig;
	ret = plx_container_kill(rt, a->pos[0], sig, plx_args_bool(a, "all"), err);
	return ret < 0 ? ret : 0;
}

const struct plx_cli_cmd plx_cmd_kill = {
	.name = "kill",
	.usage = "kill sends the specified signal (default: SIGTERM) to the container's init process",
	.args_usage = "<container-id> [signal]\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container and\n"
		      "\"[signal]\" is the signal to be sent to the init process.\n"
		      "\n"
		      "EXAMPLE:\n"
		      "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
		      "signal to the init process of the \"ubuntu01\" container:\n"
		      "\n"
		      "       # " PLX_PROGRAM " kill ubuntu01 KILL",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 2,
	.needs_runtime = true,
	.run = cmd_kill,
};
