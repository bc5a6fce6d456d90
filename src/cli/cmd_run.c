/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri run [options] <container-id>: create, start and (unless detached) wait. */
#include "cli/cli.h"
#include "core/image_create.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	PLX_FLAG_BUNDLE,
	PLX_FLAG_CONSOLE_SOCKET,
	{ "detach", "d", PLX_FLAG_BOOL, "detach from the container's process", NULL },
	{ "keep", NULL, PLX_FLAG_BOOL, "do not delete the container after it exits", NULL },
	PLX_FLAG_PID_FILE,
	/* accepted for runc compatibility: we always reap what the container leaves behind */
	{ "no-subreaper", NULL, PLX_FLAG_BOOL,
	  "disable the use of the subreaper used to reap reparented processes", NULL },
	PLX_FLAG_NO_PIVOT,
	PLX_FLAG_NO_NEW_KEYRING,
	PLX_FLAG_PRESERVE_FDS,
	PLX_FLAG_IMAGE,
	PLX_FLAG_IMAGE_RUN,
};

static int cmd_run(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_free char *bundle = NULL, *pid_file = NULL;
	struct plx_create_opts o;
	bool image_bundle;
	int ret, status = 0;

	ret = plx_cli_create_opts(a, &o, &bundle, &pid_file, err);
	if (ret < 0)
		return ret;
	ret = plx_cli_create_image(rt, &plx_cmd_run, a, &o, &bundle, &image_bundle, err);
	if (ret < 0)
		return ret;
	ret = plx_container_run(rt, &o, plx_args_bool(a, "detach"), plx_args_bool(a, "keep"), &status, err);
	if (ret < 0) {
		if (image_bundle)
			plx_image_abandon_bundle(rt, o.id, bundle);
		return ret;
	}
	/* the container program's status is ours, as with runc */
	return status & 0xff;
}

const struct plx_cli_cmd plx_cmd_run = {
	.name = "run",
	.usage = "create and run a container",
	.args_usage = PLX_CLI_CREATE_ARGS_USAGE,
	.description = PLX_CLI_CREATE_DESCRIPTION("run"),
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	/* checked by plx_cli_create_image(): one id, or with --image the command after it too */
	.min_args = 0,
	.max_args = -1,
	.needs_runtime = true,
	.run = cmd_run,
};
