/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri help [command] */
#include <errno.h>

#include "cli/cli.h"

static int cmd_help(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	const struct plx_cli_cmd *cmd;

	if (a->n_pos == 0) {
		plx_cli_print_app_help(stdout);
		return 0;
	}
	cmd = plx_cli_find(a->pos[0]);
	if (!cmd)
		return plx_err_set(err, EINVAL, "No help topic for '%s'", a->pos[0]);
	plx_cli_print_cmd_help(stdout, cmd);
	return 0;
}

const struct plx_cli_cmd plx_cmd_help = {
	.name = "help",
	.alias = "h",
	.usage = "Shows a list of commands or help for one command",
	.args_usage = "[command]",
	.min_args = 0,
	.max_args = -1,
	.run = cmd_help,
};
