/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri state <container-id> */
#include <jansson.h>

#include "cli/cli.h"

static int cmd_state(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	json_auto_t *state = NULL;
	int ret;

	ret = plx_container_state(rt, a->pos[0], &state, err);
	if (ret < 0)
		return ret;
	/* runc: json.MarshalIndent(cs, "", "  "), written without a newline */
	return plx_cli_print_json(stdout, state, "  ", err);
}

const struct plx_cli_cmd plx_cmd_state = {
	.name = "state",
	.usage = "output the state of a container",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is your name for the instance of the container.",
	.description = "The state command outputs current state information for the\n"
		       "instance of a container.",
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_state,
};
