/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri start <container-id> */
#include "cli/cli.h"

static int cmd_start(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	/* no local container of that ID: maybe a CT of ours on PVE (remote mode) */
	int ret = plx_cli_remote_dispatch(rt, "start", a->pos[0], false, err);

	if (ret <= 0)
		return ret;
	ret = plx_container_start(rt, a->pos[0], err);
	return ret < 0 ? ret : 0;
}

const struct plx_cli_cmd plx_cmd_start = {
	.name = "start",
	.usage = "executes the user defined process in a created container",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is your name for the instance of the container that you\n"
		      "are starting. The name you provide for the container instance must be unique on\n"
		      "your host.",
	.description = "The start command executes the user defined process in a created container.",
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_start,
};
