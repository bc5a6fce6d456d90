/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri create [options] <container-id> */
#include "cli/cli.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	PLX_FLAG_BUNDLE,   PLX_FLAG_CONSOLE_SOCKET,  PLX_FLAG_PID_FILE,
	PLX_FLAG_NO_PIVOT, PLX_FLAG_NO_NEW_KEYRING, PLX_FLAG_PRESERVE_FDS,
};

static int cmd_create(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_free char *bundle = NULL, *pid_file = NULL;
	struct plx_create_opts o;
	int ret;

	ret = plx_cli_create_opts(a, &o, &bundle, &pid_file, err);
	if (ret < 0)
		return ret;
	ret = plx_container_create(rt, &o, err);
	return ret < 0 ? ret : 0;
}

const struct plx_cli_cmd plx_cmd_create = {
	.name = "create",
	.usage = "create a container",
	.args_usage = PLX_CLI_CREATE_ARGS_USAGE,
	.description = PLX_CLI_CREATE_DESCRIPTION("create"),
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_create,
};
