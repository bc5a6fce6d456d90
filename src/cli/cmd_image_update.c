/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri image update [--restart] <container-id>: move a container made from an image onto its newer version. */
#include <stdio.h>

#include "cli/cli.h"
#include "core/image_update.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "restart", NULL, PLX_FLAG_BOOL,
	  "stop a running container (its StopSignal), update it and run it again detached", NULL },
	{ "stop-timeout", NULL, PLX_FLAG_UINT, "seconds to wait after the StopSignal before SIGKILL", "10" },
};

static int image_update(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	struct plx_image_update_result res __attribute__((cleanup(plx_image_update_result_clear))) = { 0 };
	struct plx_image_update_opts o = { .id = a->pos[0], .restart = plx_args_bool(a, "restart"),
					   .stop_timeout_s = plx_args_uint(a, "stop-timeout") };
	int ret = plx_image_update(rt, &o, &res, err);

	if (ret < 0)
		return ret;
	if (!res.updated)
		printf("%s: %s is up to date (%s)\n", o.id, res.name, res.new_digest);
	else
		printf("%s: %s updated: %s -> %s%s\n", o.id, res.name, res.old_digest, res.new_digest,
		       res.restarted ? " (restarted)" : "");
	return 0;
}

const struct plx_cli_cmd plx_image_cmd_update = {
	.name = "update",
	.usage = "pull a container's image again and move the container onto the new version",
	.args_usage = "<container-id>\n\n"
		      "The container (made by create/run --image) keeps its id, its anonymous volumes and\n"
		      "the --env/--user/--workdir/arguments it was made with; its rootfs becomes the new\n"
		      "image's. It must be stopped, or --restart stops it and runs it again detached.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.run = image_update,
};
