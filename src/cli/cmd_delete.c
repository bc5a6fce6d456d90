/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri delete [--force] <container-id> */
#include "cli/cli.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "force", "f", PLX_FLAG_BOOL, "Forcibly deletes the container if it is still running (uses SIGKILL)",
	  NULL },
};

static int cmd_delete(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	/* no local container of that ID: maybe a CT of ours on PVE (remote mode) */
	int ret = plx_cli_remote_dispatch(rt, "delete", a->pos[0], plx_args_bool(a, "force"), err);

	if (ret <= 0)
		return ret;
	ret = plx_container_delete(rt, a->pos[0], plx_args_bool(a, "force"), err);
	return ret < 0 ? ret : 0;
}

const struct plx_cli_cmd plx_cmd_delete = {
	.name = "delete",
	.usage = "delete any resources held by the container often used with detached container",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container.\n"
		      "\n"
		      "EXAMPLE:\n"
		      "For example, if the container id is \"ubuntu01\" and " PLX_PROGRAM " list currently\n"
		      "shows the status of \"ubuntu01\" as \"stopped\" the following will delete resources\n"
		      "held for \"ubuntu01\" removing \"ubuntu01\" from the " PLX_PROGRAM " list of\n"
		      "containers:\n"
		      "\n"
		      "       # " PLX_PROGRAM " delete ubuntu01",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_delete,
};
