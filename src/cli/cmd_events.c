/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri events [--stats] [--interval 5s] <container-id> */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "interval", NULL, PLX_FLAG_STRING, "set the stats collection interval", "5s" },
	{ "stats", NULL, PLX_FLAG_BOOL, "display the container's stats then exit", NULL },
};

/* A Go duration as runc takes it ("5s", "500ms", "1m", "1m30s") in milliseconds. */
static int parse_duration_ms(const char *s, unsigned int *out)
{
	double total = 0;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return -EINVAL;
		double unit;
		if (strncmp(end, "ms", 2) == 0)
			unit = 1, end += 2;
		else if (strncmp(end, "us", 2) == 0)
			unit = 0.001, end += 2;
		else if (strncmp(end, "ns", 2) == 0)
			unit = 0.000001, end += 2;
		else if (*end == 's')
			unit = 1000, end++;
		else if (*end == 'm')
			unit = 60000, end++;
		else if (*end == 'h')
			unit = 3600000, end++;
		else
			return -EINVAL;
		total += v * unit;
		p = end;
	}
	if (total < 1 || total > 86400000.0)
		return -EINVAL;
	*out = (unsigned int)total;
	return 0;
}

static int print_event(json_t *ev, void *ctx)
{
	/* runc: json.NewEncoder(os.Stdout).Encode(event): compact, one per line */
	if (json_dumpf(ev, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		return -EIO;
	return 0;
}

static int cmd_events(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	unsigned int interval = 0;

	if (parse_duration_ms(plx_args_str(a, "interval"), &interval) < 0)
		return plx_err_set(err, EINVAL, "duration must be greater than 0");
	if (plx_args_bool(a, "stats")) {
		json_t *data = NULL;
		int r = plx_container_stats(rt, a->pos[0], &data, err);
		if (r < 0)
			return r;
		json_auto_t *ev = json_pack("{s:s, s:s, s:o}", "type", "stats", "id", a->pos[0], "data", data);
		return ev && print_event(ev, NULL) == 0 ? 0 : plx_err_set(err, EIO, "write event");
	}
	int r = plx_container_events(rt, a->pos[0], interval, print_event, NULL, err);
	return r < 0 ? r : 0;
}

const struct plx_cli_cmd plx_cmd_events = {
	.name = "events",
	.usage = "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
	.args_usage = "<container-id>\n"
		      "\n"
		      "Where \"<container-id>\" is the name for the instance of the container.",
	.description = "The events command displays information about the container. By default the\n"
		       "information is displayed once every 5 seconds.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_events,
};
