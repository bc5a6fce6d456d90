/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri features: what this runtime supports, as the runtime-spec features JSON. */
#include <errno.h>

#include "cli/cli.h"
#include "core/runtime_features.h"

static int cmd_features(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	json_auto_t *features = plx_features();
	int ret;

	if (!features)
		return plx_err_set(err, ENOMEM, "cannot build the features document");
	/* runc: json.Encoder with SetIndent("", "    "), which ends with a newline */
	ret = plx_cli_print_json(stdout, features, "    ", err);
	if (ret < 0)
		return ret;
	if (puts("") == EOF || fflush(stdout) != 0)
		return plx_err_sys(err, errno, "write output");
	return 0;
}

const struct plx_cli_cmd plx_cmd_features = {
	.name = "features",
	.usage = "show the enabled features",
	.description = "Show the enabled features.\n"
		       "   The result is parsable as a JSON.\n"
		       "   See https://pkg.go.dev/github.com/opencontainers/runtime-spec/specs-go/features"
		       " for the type definition.",
	.min_args = 0,
	.max_args = 0,
	.run = cmd_features,
};
