/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri kill [--all] <container-id> [signal] */
#include "cli/cli.h"
#include "image/image_config.h"
#include "util/cleanup.h"
#include "util/signals.h"

static const struct plx_flag flags[] = {
	{ "all", "a", PLX_FLAG_BOOL, "send the specified signal to all processes inside the container",
	  NULL },
};

/* Without a signal: the image's StopSignal when the container was made from one, else SIGTERM. */
static const char *default_signal(struct plx_runtime *rt, const char *id, json_t **state)
{
	struct plx_err ignore = PLX_ERR_INIT;
	const char *s = NULL;

	if (plx_container_state(rt, id, state, &ignore) == 0)
		s = json_string_value(json_object_get(json_object_get(*state, "annotations"),
						      PLX_IMAGE_STOP_SIGNAL_ANNOTATION));
	plx_err_clear(&ignore);
	return s ? s : "SIGTERM";
}

static int cmd_kill(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	json_auto_t *state = NULL;
	int sig = plx_signal_parse(a->n_pos > 1 ? a->pos[1] : default_signal(rt, a->pos[0], &state), err);
	int ret;

	if (sig < 0)
		return sig;
	ret = plx_container_kill(rt, a->pos[0], sig, plx_args_bool(a, "all"), err);
	return ret < 0 ? ret : 0;
}

const struct plx_cli_cmd plx_cmd_kill = {
	.name = "kill",
	.usage = "kill sends the specified signal (default: SIGTERM) to the container's init process",
	.args_usage = "<container-id> [signal]\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container and\n"
		      "\"[signal]\" is the signal to be sent to the init process.\n"
		      "\n"
		      "EXAMPLE:\n"
		      "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
		      "signal to the init process of the \"ubuntu01\" container:\n"
		      "\n"
		      "       # " PLX_PROGRAM " kill ubuntu01 KILL",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 2,
	.needs_runtime = true,
	.run = cmd_kill,
};
