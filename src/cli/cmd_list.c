/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri list [--format table|json] [--quiet] */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/state.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const struct plx_flag flags[] = {
	{ "format", "f", PLX_FLAG_STRING, "select one of: table or json", "table" },
	{ "quiet", "q", PLX_FLAG_BOOL, "display only container IDs", NULL },
};

enum { COL_ID, COL_PID, COL_STATUS, COL_BUNDLE, COL_CREATED, COL_OWNER, N_COLS };

static const char *const headers[N_COLS] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };

/*
 * runc's list shows the owner of the container's state directory by name
 * ("#<uid>" when unnamed), where state shows "".  Filled here unless the
 * core already did.
 */
static int set_owner(const char *root, json_t *item)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	const char *owner = json_string_value(json_object_get(item, "owner"));
	__do_free char *dir = NULL, *name = NULL;
	struct passwd pw, *found = NULL;
	char buf[4096];
	struct stat st;

	if (!id || (owner && *owner))
		return 0;
	dir = plx_path_join(root, id);
	if (!dir)
		return -ENOMEM;
	if (stat(dir, &st) < 0)
		return 0; /* deleted meanwhile: runc skips it too; the core's value stays */
	if (getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &found) == 0 && found)
		name = strdup(found->pw_name);
	else if (asprintf(&name, "#%u", (unsigned int)st.st_uid) < 0)
		name = NULL;
	if (!name)
		return -ENOMEM;
	return json_object_set_new(item, "owner", json_string(name)) < 0 ? -ENOMEM : 0;
}

/* Width in characters (UTF-8 aware), as Go's tabwriter measures cells. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* One row's cells; pid is formatted into pidbuf. */
static void row_cells(json_t *item, const char *cells[N_COLS], char *pidbuf, size_t pidlen)
{
	const char *s;

	snprintf(pidbuf, pidlen, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(item, "pid")));
	cells[COL_ID] = (s = json_string_value(json_object_get(item, "id"))) ? s : "";
	cells[COL_PID] = pidbuf;
	cells[COL_STATUS] = (s = json_string_value(json_object_get(item, "status"))) ? s : "";
	cells[COL_BUNDLE] = (s = json_string_value(json_object_get(item, "bundle"))) ? s : "";
	cells[COL_CREATED] = (s = json_string_value(json_object_get(item, "created"))) ? s : "";
	cells[COL_OWNER] = (s = json_string_value(json_object_get(item, "owner"))) ? s : "";
}

static void print_row(const char *cells[N_COLS], const size_t width[N_COLS])
{
	/* the last cell is not aligned, as with a tabwriter line that ends in text */
	for (int c = 0; c < COL_OWNER; c++)
		printf("%s%*s", cells[c], (int)(width[c] - text_width(cells[c])), "");
	printf("%s\n", cells[COL_OWNER]);
}

/* runc: tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0) */
static void print_table(json_t *list)
{
	size_t width[N_COLS], i;
	const char *cells[N_COLS];
	char pidbuf[32];
	json_t *item;

	for (int c = 0; c < N_COLS; c++)
		width[c] = text_width(headers[c]) + 3;
	json_array_foreach(list, i, item) {
		row_cells(item, cells, pidbuf, sizeof(pidbuf));
		for (int c = 0; c < N_COLS; c++)
			if (text_width(cells[c]) + 3 > width[c])
				width[c] = text_width(cells[c]) + 3;
	}
	for (int c = 0; c < N_COLS; c++)
		if (width[c] < 12)
			width[c] = 12;

	print_row((const char **)headers, width);
	json_array_foreach(list, i, item) {
		row_cells(item, cells, pidbuf, sizeof(pidbuf));
		print_row(cells, width);
	}
}

static int cmd_list(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	json_auto_t *list = NULL;
	const char *format = plx_args_str(a, "format");
	size_t i;
	json_t *item;
	int ret;

	ret = plx_container_list(rt, &list, err);
	if (ret < 0)
		return ret;
	json_array_foreach(list, i, item)
		if (set_owner(rt->root, item) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");

	if (plx_args_bool(a, "quiet")) {
		json_array_foreach(list, i, item)
			printf("%s\n", json_string_value(json_object_get(item, "id")));
	} else if (strcmp(format, "table") == 0) {
		print_table(list);
	} else if (strcmp(format, "json") == 0) {
		__do_free char *dump = NULL;

		/* runc encodes a nil slice: no containers print "null" */
		if (json_array_size(list) == 0)
			dump = strdup("null");
		else
			dump = json_dumps(list, JSON_COMPACT);
		if (!dump)
			return plx_err_set(err, ENOMEM, "out of memory");
		printf("%s\n", dump);
	} else {
		return plx_err_set(err, EINVAL, "invalid format option");
	}
	if (fflush(stdout) != 0)
		return plx_err_sys(err, errno, "write output");
	return 0;
}

const struct plx_cli_cmd plx_cmd_list = {
	.name = "list",
	.usage = "lists containers started by " PLX_PROGRAM " with the given root",
	.args_usage = "\n"
		      "\n"
		      "Where the given root is specified via the global option \"--root\"\n"
		      "(default: \"" PLX_DEFAULT_ROOT "\").\n"
		      "\n"
		      "EXAMPLE 1:\n"
		      "To list containers created via the default \"--root\":\n"
		      "       # " PLX_PROGRAM " list\n"
		      "\n"
		      "EXAMPLE 2:\n"
		      "To list containers created using a non-default value for \"--root\":\n"
		      "       # " PLX_PROGRAM " --root value list",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 0,
	.max_args = 0,
	.needs_runtime = true,
	.run = cmd_list,
};
