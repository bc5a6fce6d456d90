/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri pause|resume <container-id> */
#include "cli/cli.h"
#include "util/cleanup.h"

static int cmd_pause(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	int r = plx_container_pause(rt, a->pos[0], err);
	return r < 0 ? r : 0;
}

static int cmd_resume(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	int r = plx_container_resume(rt, a->pos[0], err);
	return r < 0 ? r : 0;
}

const struct plx_cli_cmd plx_cmd_pause = {
	.name = "pause",
	.usage = "pause suspends all processes inside the container",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container to be\n"
		      "paused. ",
	.description = "The pause command suspends all processes in the instance of the container.\n"
		       "\n"
		       "Use " PLX_PROGRAM " list to identify instances of containers and their current status.",
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_pause,
};

const struct plx_cli_cmd plx_cmd_resume = {
	.name = "resume",
	.usage = "resumes all processes that have been previously paused",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container to be\n"
		      "resumed.",
	.description = "The resume command resumes all processes in the instance of the container.\n"
		       "\n"
		       "Use " PLX_PROGRAM " list to identify instances of containers and their current status.",
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_resume,
};
