/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri checkpoints [--format table|json] <container-id> */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/checkpoint.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "format", "f", PLX_FLAG_STRING, "select one of: table or json", "table" },
};

static void rfc3339(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

static int print_json(const struct plx_storage_snapshot *v, size_t n, struct plx_err *err)
{
	json_auto_t *arr = json_array();
	char when[64];

	for (size_t i = 0; arr && i < n; i++) {
		rfc3339(v[i].created, when, sizeof(when));
		json_t *size = v[i].size >= 0 ? json_integer(v[i].size) : json_null();
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", v[i].name, "created", when,
							 "size", size)) < 0)
			return plx_err_set(err, ENOMEM, "json");
	}
	if (!arr)
		return plx_err_set(err, ENOMEM, "json");
	int r = plx_cli_print_json(stdout, arr, "  ", err);
	if (r == 0)
		putchar('\n');
	return r;
}

/* runc list's table: tabwriter columns, two spaces at least between them */
static void print_table(const struct plx_storage_snapshot *v, size_t n)
{
	size_t wn = strlen("NAME"), wc = strlen("CREATED");
	char when[64];

	for (size_t i = 0; i < n; i++) {
		rfc3339(v[i].created, when, sizeof(when));
		if (strlen(v[i].name) > wn)
			wn = strlen(v[i].name);
		if (strlen(when) > wc)
			wc = strlen(when);
	}
	printf("%-*s   %-*s   %s\n", (int)wn, "NAME", (int)wc, "CREATED", "SIZE");
	for (size_t i = 0; i < n; i++) {
		rfc3339(v[i].created, when, sizeof(when));
		if (v[i].size >= 0)
			printf("%-*s   %-*s   %" PRId64 "\n", (int)wn, v[i].name, (int)wc, when, v[i].size);
		else
			printf("%-*s   %-*s   -\n", (int)wn, v[i].name, (int)wc, when);
	}
}

static int cmd_checkpoints(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	const char *fmt = plx_args_str(a, "format");
	struct plx_storage_snapshot *v = NULL;
	size_t n = 0;

	if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0)
		return plx_err_set(err, EINVAL, "invalid format option: %s (table or json)", fmt);
	int r = plx_container_checkpoints(rt, a->pos[0], &v, &n, err);
	if (r < 0)
		return r;
	if (strcmp(fmt, "json") == 0)
		r = print_json(v, n, err);
	else
		print_table(v, n);
	plx_storage_snapshots_free(v, n);
	return r < 0 ? r : 0;
}

const struct plx_cli_cmd plx_cmd_checkpoints = {
	.name = "checkpoints",
	.usage = "list the filesystem checkpoints of a container",
	.args_usage = "<container-id>",
	.description = "The checkpoints command lists the filesystem checkpoints of a container with a\n"
		       "managed rootfs, oldest first: name, creation time (UTC) and size in bytes (the\n"
		       "space the checkpoint holds on its own; \"-\" when the storage cannot tell).",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_checkpoints,
};
