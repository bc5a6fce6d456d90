/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI offers: the global options and the command table. */
#include <string.h>

#include "cli/cli.h"
#include "core/state.h"
#include "util/cleanup.h"

const struct plx_flag plx_global_flags[] = {
	{ "debug", NULL, PLX_FLAG_BOOL, "enable debug logging", NULL },
	{ "log", NULL, PLX_FLAG_STRING,
	  "set the log file to write " PLX_PROGRAM " logs to (default is '/dev/stderr')", NULL },
	{ "log-format", NULL, PLX_FLAG_STRING, "set the log format ('text' (default), or 'json')", "text" },
	{ "root", NULL, PLX_FLAG_STRING,
	  "root directory for storage of container state (this should be located in tmpfs)",
	  PLX_DEFAULT_ROOT },
	{ "criu", NULL, PLX_FLAG_STRING, "path to the criu binary used for checkpoint and restore", "criu" },
	{ "systemd-cgroup", NULL, PLX_FLAG_BOOL,
	  "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. "
	  "\"system.slice:runc:434234\"",
	  NULL },
	{ "rootless", NULL, PLX_FLAG_STRING, "ignore cgroup permission errors ('true', 'false', or 'auto')",
	  "auto" },
	{ "help", "h", PLX_FLAG_BOOL, "show help", NULL },
	{ "version", "v", PLX_FLAG_BOOL, "print the version", NULL },
};
const size_t plx_n_global_flags = ARRAY_SIZE(plx_global_flags);

/* runc's order, less the commands this runtime does not have */
const struct plx_cli_cmd *const plx_cli_commands[] = {
	&plx_cmd_checkpoint, &plx_cmd_create, &plx_cmd_delete, &plx_cmd_events, &plx_cmd_exec, &plx_cmd_kill,     &plx_cmd_list, &plx_cmd_pause,
	&plx_cmd_ps, &plx_cmd_restore, &plx_cmd_resume, &plx_cmd_run,
	&plx_cmd_spec,	 &plx_cmd_start,  &plx_cmd_state,    &plx_cmd_update, &plx_cmd_features, &plx_cmd_checkpoints, &plx_cmd_pve, &plx_cmd_image, &plx_cmd_stop, &plx_cmd_status, &plx_cmd_snapshot, &plx_cmd_rollback, &plx_cmd_help,
};
const size_t plx_cli_n_commands = ARRAY_SIZE(plx_cli_commands);

const struct plx_cli_cmd *plx_cli_find(const char *name)
{
	for (size_t i = 0; i < plx_cli_n_commands; i++) {
		const struct plx_cli_cmd *c = plx_cli_commands[i];

		if (strcmp(c->name, name) == 0 || (c->alias && strcmp(c->alias, name) == 0))
			return c;
	}
	return NULL;
}
