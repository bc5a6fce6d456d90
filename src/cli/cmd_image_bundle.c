/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri image bundle [options] <reference> <directory> [-- command...] */
#include "cli/cli.h"
#include "image/bundle.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(store_closep, struct plx_store, plx_store_close)

static const struct plx_flag flags[] = {
	PLX_FLAG_IMAGE_RUN,
};

static int image_bundle(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__attribute__((cleanup(store_closep))) struct plx_store *s = NULL;
	__do_strv_free char **env = NULL;
	__do_strv_free char **args = NULL;
	struct plx_bundle_opts o = { 0 };
	struct plx_bundle_stats st;
	int ret;

	ret = plx_cli_image_run_opts(a, 2, &o.run, &env, &args, err);
	if (ret < 0)
		return ret;
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret < 0)
		return ret;
	ret = plx_image_bundle(s, a->pos[0], a->pos[1], &o, &st, err);
	if (ret < 0)
		return ret;
	log_debug("bundle %s: %zu layers, %llu entries, %llu bytes unpacked", a->pos[1], st.layers,
		  (unsigned long long)st.entries, (unsigned long long)st.tar_bytes);
	return 0;
}

const struct plx_cli_cmd plx_image_cmd_bundle = {
	.name = "bundle",
	.usage = "make an OCI bundle (rootfs and config.json) of an image, for this runtime or runc",
	.args_usage = "<reference|digest> <directory> [-- command [args...]]\n\n"
		      "The layers are unpacked into <directory>/rootfs and the image config becomes\n"
		      "<directory>/config.json (entrypoint, command, environment, user, working\n"
		      "directory, volumes under <directory>/volumes). Arguments after \"--\" replace\n"
		      "the image's Cmd. <directory> must be empty or absent.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 2,
	.max_args = -1,
	.run = image_bundle,
};
