/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri restore [options] <container-id>: from a filesystem checkpoint, as runc's restore. */
#include <string.h>

#include "cli/cli.h"
#include "core/checkpoint.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	PLX_FLAG_CONSOLE_SOCKET,
	{ "image-path", NULL, PLX_FLAG_STRING, "path to criu image files for restoring", NULL },
	{ "work-path", NULL, PLX_FLAG_STRING, "path for saving work files and logs", NULL },
	{ "tcp-established", NULL, PLX_FLAG_BOOL, "allow open tcp connections", NULL },
	{ "ext-unix-sk", NULL, PLX_FLAG_BOOL, "allow external unix sockets", NULL },
	{ "shell-job", NULL, PLX_FLAG_BOOL, "allow shell jobs", NULL },
	{ "file-locks", NULL, PLX_FLAG_BOOL, "handle file locks, for safety", NULL },
	{ "manage-cgroups-mode", NULL, PLX_FLAG_STRING, "cgroups mode: 'soft' (default), 'full' and 'strict'",
	  NULL },
	PLX_FLAG_BUNDLE,
	{ "detach", "d", PLX_FLAG_BOOL, "detach from the container's process", NULL },
	PLX_FLAG_PID_FILE,
	/* accepted for runc compatibility: we always reap what the container leaves behind */
	{ "no-subreaper", NULL, PLX_FLAG_BOOL,
	  "disable the use of the subreaper used to reap reparented processes", NULL },
	PLX_FLAG_NO_PIVOT,
	{ "empty-ns", NULL, PLX_FLAG_STRINGS, "create a namespace, but don't restore its properties", NULL },
	{ "auto-dedup", NULL, PLX_FLAG_BOOL, "enable auto deduplication of memory images", NULL },
	{ "lazy-pages", NULL, PLX_FLAG_BOOL, "use userfaultfd to lazily restore memory pages", NULL },
	{ "lsm-profile", NULL, PLX_FLAG_STRING,
	  "Specify an LSM profile to be used during restore in the form of TYPE:NAME.", NULL },
	{ "lsm-mount-context", NULL, PLX_FLAG_STRING, "Specify an LSM mount context to be used during restore.",
	  NULL },
	{ "snapshot", NULL, PLX_FLAG_STRING, "the checkpoint to restore (default: the latest)", NULL },
	{ "as", NULL, PLX_FLAG_STRING,
	  "restore into a new container NEWID (a clone), leaving <container-id> as it is", NULL },
	{ "force", NULL, PLX_FLAG_BOOL,
	  "in place to an older checkpoint than the latest: destroy the newer checkpoints", NULL },
};

static int cmd_restore(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_free char *bundle = NULL, *pid_file = NULL;
	struct plx_create_opts co;
	struct plx_criu_opts criu;
	int status = 0;

	/* the create flags, resolved as create's are */
	int r = plx_cli_create_opts(a, &co, &bundle, &pid_file, err);
	if (r == 0)
		r = plx_cli_criu_opts(a, &criu, err);
	if (r < 0)
		return r;
	const char *as = plx_args_str(a, "as");
	const char *snap = plx_args_str(a, "snapshot");
	struct plx_restore_opts o = {
		.id = a->pos[0],
		.snapshot = snap && *snap ? snap : NULL,
		.as = as && *as ? as : NULL,
		.force = plx_args_bool(a, "force"),
		.bundle = co.bundle,
		.pid_file = co.pid_file,
		.console_socket = co.console_socket,
		.no_pivot = co.no_pivot,
		.detach = plx_args_bool(a, "detach"),
		.criu = &criu,
	};
	r = plx_container_restore(rt, &o, &status, err);
	if (r < 0)
		return r;
	/* the container program's status is ours, as with run */
	return status & 0xff;
}

const struct plx_cli_cmd plx_cmd_restore = {
	.name = "restore",
	.usage = "restore a container from a previous checkpoint",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container to be\n"
		      "restored.",
	.description =
		"Restores the saved state of the container instance that was previously saved\n"
		"using the " PLX_PROGRAM " checkpoint command.\n"
		"\n"
		"In place (the container must be stopped) its rootfs is rolled back to the\n"
		"checkpoint (--snapshot NAME, default the latest) and the container is created\n"
		"and started again from its bundle.  With --as NEWID the checkpoint is cloned into\n"
		"a new container NEWID, which is started; <container-id> is not touched.  Without\n"
		"--detach, waits for the container's process as run does.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_restore,
};
