/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri checkpoint [options] <container-id>; checkpoint --delete NAME <container-id> */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/checkpoint.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "image-path", NULL, PLX_FLAG_STRING, "path for saving criu image files", NULL },
	{ "work-path", NULL, PLX_FLAG_STRING, "path for saving work files and logs", NULL },
	{ "parent-path", NULL, PLX_FLAG_STRING, "path for previous criu image files in pre-dump", NULL },
	{ "leave-running", NULL, PLX_FLAG_BOOL, "leave the process running after checkpointing", NULL },
	{ "tcp-established", NULL, PLX_FLAG_BOOL, "allow open tcp connections", NULL },
	{ "ext-unix-sk", NULL, PLX_FLAG_BOOL, "allow external unix sockets", NULL },
	{ "shell-job", NULL, PLX_FLAG_BOOL, "allow shell jobs", NULL },
	{ "lazy-pages", NULL, PLX_FLAG_BOOL, "use userfaultfd to lazily restore memory pages", NULL },
	{ "status-fd", NULL, PLX_FLAG_STRING, "criu writes \\0 to this FD once lazy-pages is ready", "-1" },
	{ "page-server", NULL, PLX_FLAG_STRING, "ADDRESS:PORT of the page server", NULL },
	{ "file-locks", NULL, PLX_FLAG_BOOL, "handle file locks, for safety", NULL },
	{ "pre-dump", NULL, PLX_FLAG_BOOL,
	  "dump container's memory information only, leave the container running after this", NULL },
	{ "manage-cgroups-mode", NULL, PLX_FLAG_STRING, "cgroups mode: 'soft' (default), 'full' and 'strict'",
	  NULL },
	{ "empty-ns", NULL, PLX_FLAG_STRINGS, "create a namespace, but don't restore its properties", NULL },
	{ "auto-dedup", NULL, PLX_FLAG_BOOL, "enable auto deduplication of memory images", NULL },
	{ "name", NULL, PLX_FLAG_STRING,
	  "name of the filesystem checkpoint (default: checkpoint-<unix-time>)", NULL },
	{ "keep", NULL, PLX_FLAG_UINT, "after the checkpoint, delete the oldest so that N remain (0: keep all)",
	  "0" },
	{ "delete", NULL, PLX_FLAG_STRING, "delete the checkpoint NAME instead of making one", NULL },
	{ "format", "f", PLX_FLAG_STRING, "output format: text or json", "text" },
};

/* runc's CRIU flags of checkpoint and restore: any of them asks for a process checkpoint */
static const char *const criu_flags[] = {
	"image-path", "work-path", "parent-path", "leave-running", "tcp-established", "ext-unix-sk",
	"shell-job", "lazy-pages", "status-fd", "page-server", "file-locks", "pre-dump",
	"manage-cgroups-mode", "empty-ns", "auto-dedup", "lsm-profile", "lsm-mount-context",
};

int plx_cli_criu_opts(const struct plx_args *a, struct plx_criu_opts *o, struct plx_err *err)
{
	const char *fd = plx_args_str(a, "status-fd");
	char *end = NULL;

	*o = (struct plx_criu_opts){
		.image_path = plx_args_str(a, "image-path"),
		.work_path = plx_args_str(a, "work-path"),
		.parent_path = plx_args_str(a, "parent-path"),
		.leave_running = plx_args_bool(a, "leave-running"),
		.tcp_established = plx_args_bool(a, "tcp-established"),
		.ext_unix_sk = plx_args_bool(a, "ext-unix-sk"),
		.shell_job = plx_args_bool(a, "shell-job"),
		.lazy_pages = plx_args_bool(a, "lazy-pages"),
		.status_fd = -1,
		.page_server = plx_args_str(a, "page-server"),
		.file_locks = plx_args_bool(a, "file-locks"),
		.pre_dump = plx_args_bool(a, "pre-dump"),
		.manage_cgroups_mode = plx_args_str(a, "manage-cgroups-mode"),
		.empty_ns = plx_args_strv(a, "empty-ns"),
		.auto_dedup = plx_args_bool(a, "auto-dedup"),
	};
	if (fd) {
		errno = 0;
		long v = strtol(fd, &end, 10);
		if (errno || end == fd || *end || v < -1 || v > 65535)
			return plx_err_set(err, EINVAL, "invalid value \"%s\" for flag -status-fd", fd);
		o->status_fd = (int)v;
	}
	for (size_t i = 0; i < ARRAY_SIZE(criu_flags); i++)
		if (plx_args_isset(a, criu_flags[i]))
			o->requested = true;
	return 0;
}

static int print_json(const char *id, const struct plx_checkpoint_result *res, struct plx_err *err)
{
	json_auto_t *del = json_array();
	for (char **d = res->deleted; del && d && *d; d++)
		json_array_append_new(del, json_string(*d));
	json_auto_t *j = json_pack("{s:s, s:s?, s:b, s:I, s:O}", "id", id, "name", res->name, "froze", res->froze,
				   "frozen_ns", (json_int_t)res->frozen_ns, "deleted", del);
	if (!j)
		return plx_err_set(err, ENOMEM, "json");
	int r = plx_cli_print_json(stdout, j, "  ", err);
	if (r == 0)
		putchar('\n');
	return r;
}

static int cmd_checkpoint(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	_cleanup_(plx_checkpoint_result_clear) struct plx_checkpoint_result res = { 0 };
	const char *id = a->pos[0];
	const char *fmt = plx_args_str(a, "format");
	struct plx_criu_opts criu;

	if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0)
		return plx_err_set(err, EINVAL, "invalid format option: %s (text or json)", fmt);
	int r = plx_cli_criu_opts(a, &criu, err);
	if (r < 0)
		return r;
	if (plx_args_isset(a, "delete")) {
		if (criu.requested || plx_args_isset(a, "name") || plx_args_isset(a, "keep"))
			return plx_err_set(err, EINVAL, "--delete takes no other checkpoint flags");
		r = plx_container_checkpoint_delete(rt, id, plx_args_str(a, "delete"), err);
		return r < 0 ? r : 0;
	}
	struct plx_checkpoint_opts o = {
		.id = id,
		.name = plx_args_str(a, "name"),
		.keep = plx_args_uint(a, "keep"),
		.criu = &criu,
	};
	r = plx_container_checkpoint(rt, &o, &res, err);
	if (r < 0)
		return r;
	if (strcmp(fmt, "json") == 0)
		return print_json(id, &res, err);
	if (!res.name)
		return 0; /* criu dump: silent, as runc */
	if (res.froze)
		printf("checkpoint %s of %s: frozen %.1f ms\n", res.name, id, res.frozen_ns / 1e6);
	else
		printf("checkpoint %s of %s: not frozen (it was paused or stopped)\n", res.name, id);
	for (char **d = res.deleted; d && *d; d++)
		printf("deleted checkpoint %s of %s (--keep %u)\n", *d, id, o.keep);
	return 0;
}

const struct plx_cli_cmd plx_cmd_checkpoint = {
	.name = "checkpoint",
	.usage = "checkpoint a running container",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container to be\n"
		      "checkpointed.",
	.description =
		"The checkpoint command saves the state of the container instance.\n"
		"\n"
		"Without CRIU flags it makes a filesystem checkpoint of a container with a managed\n"
		"rootfs (a storage driver): the container is frozen, its volume snapshotted and\n"
		"thawed, and the time it stayed frozen is printed.  --name names it, --keep N keeps\n"
		"only the N newest, --delete NAME removes one; \"" PLX_PROGRAM " checkpoints\" lists them.\n"
		"With --image-path or any other CRIU flag it is a process checkpoint by criu, as\n"
		"runc's, once \"criu check\" passes.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_checkpoint,
};
