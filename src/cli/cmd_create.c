/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri create [options] <container-id> */
#include "cli/cli.h"
#include "core/image_create.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	PLX_FLAG_BUNDLE,   PLX_FLAG_CONSOLE_SOCKET,  PLX_FLAG_PID_FILE,
	PLX_FLAG_NO_PIVOT, PLX_FLAG_NO_NEW_KEYRING, PLX_FLAG_PRESERVE_FDS,
	PLX_FLAG_IMAGE,    PLX_FLAG_IMAGE_RUN,
	PLX_FLAG_REMOTE_CREATE,
};

static int cmd_create(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_free char *bundle = NULL, *pid_file = NULL;
	struct plx_create_opts o;
	bool image_bundle;
	int ret;

	if (plx_args_isset(a, "name")) /* remote mode: docs/proxmox.md */
		return plx_cli_remote_create(rt, a, err);
	ret = plx_cli_create_opts(a, &o, &bundle, &pid_file, err);
	if (ret < 0)
		return ret;
	ret = plx_cli_create_image(rt, &plx_cmd_create, a, &o, &bundle, &image_bundle, err);
	if (ret < 0)
		return ret;
	ret = plx_container_create(rt, &o, err);
	if (ret < 0 && image_bundle)
		plx_image_abandon_bundle(rt, o.id, bundle);
	return ret < 0 ? ret : 0;
}

const struct plx_cli_cmd plx_cmd_create = {
	.name = "create",
	.usage = "create a container",
	.args_usage = PLX_CLI_CREATE_ARGS_USAGE,
	.description = PLX_CLI_CREATE_DESCRIPTION("create"),
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	/* checked by plx_cli_create_image(): one id, or with --image the command after it too */
	.min_args = 0,
	.max_args = -1,
	.needs_runtime = true,
	.run = cmd_create,
};
