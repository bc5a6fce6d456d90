/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri update [options] <container-id>: runc's resource flags, or -r FILE|- (linux.resources JSON). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static const struct plx_flag flags[] = {
	{ "resources", "r", PLX_FLAG_STRING,
	  "path to the file containing the resources to update or '-' to read from the standard input", NULL },
	{ "blkio-weight", NULL, PLX_FLAG_STRING, "Specifies per cgroup weight, range is from 10 to 1000", NULL },
	{ "cpu-period", NULL, PLX_FLAG_STRING, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default", NULL },
	{ "cpu-quota", NULL, PLX_FLAG_STRING, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period", NULL },
	{ "cpu-share", "cpu-shares", PLX_FLAG_STRING, "CPU shares (relative weight vs. other containers)", NULL },
	{ "cpu-rt-period", NULL, PLX_FLAG_STRING, "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default", NULL },
	{ "cpu-rt-runtime", NULL, PLX_FLAG_STRING, "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period", NULL },
	{ "cpuset-cpus", NULL, PLX_FLAG_STRING, "CPU(s) to use", NULL },
	{ "cpuset-mems", NULL, PLX_FLAG_STRING, "Memory node(s) to use", NULL },
	{ "kernel-memory", NULL, PLX_FLAG_STRING, "(obsoleted; do not use)", NULL },
	{ "kernel-memory-tcp", NULL, PLX_FLAG_STRING, "(obsoleted; do not use)", NULL },
	{ "memory", NULL, PLX_FLAG_STRING, "Memory limit (in bytes)", NULL },
	{ "memory-reservation", NULL, PLX_FLAG_STRING, "Memory reservation or soft_limit (in bytes)", NULL },
	{ "memory-swap", NULL, PLX_FLAG_STRING, "Total memory usage (memory + swap); set '-1' to enable unlimited swap", NULL },
	{ "pids-limit", NULL, PLX_FLAG_STRING, "Maximum number of pids allowed in the container", NULL },
	{ "l3-cache-schema", NULL, PLX_FLAG_STRING, "The string of Intel RDT/CAT L3 cache schema", NULL },
	{ "mem-bw-schema", NULL, PLX_FLAG_STRING, "The string of Intel RDT/MBA memory bandwidth schema", NULL },
};

/* A byte size as runc's units.RAMInBytes reads it: "512", "256k", "1.5g", "-1"; binary multiples. */
static int parse_bytes(const char *s, json_int_t *out)
{
	char *end;
	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -EINVAL;
	double mult = 1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'b': break;
	case 'k': mult = 1024.0; break;
	case 'm': mult = 1024.0 * 1024; break;
	case 'g': mult = 1024.0 * 1024 * 1024; break;
	case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
	case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
	default: return -EINVAL;
	}
	if (*end && *end != 'b' && *end != 'B') {
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	} else if (*end) {
		end++;
	}
	if (*end)
		return -EINVAL;
	*out = (json_int_t)(v * mult);
	return 0;
}

static int parse_int(const char *s, json_int_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* section.key = the flag's value, parsed as kind: 'b' bytes, 'i' integer, 's' string */
static int set_from_flag(const struct plx_args *a, json_t *res, const char *flag, const char *section,
			 const char *key, char kind, struct plx_err *err)
{
	const char *v = plx_args_str(a, flag);
	json_int_t n = 0;

	if (!plx_args_isset(a, flag))
		return 0;
	json_t *sec = json_object_get(res, section);
	if (!json_is_object(sec)) {
		sec = json_object();
		json_object_set_new(res, section, sec);
	}
	if (kind == 's')
		return json_object_set_new(sec, key, json_string(v)) < 0 ? plx_err_set(err, ENOMEM, "update") : 0;
	if ((kind == 'b' ? parse_bytes(v, &n) : parse_int(v, &n)) < 0)
		return plx_err_set(err, EINVAL, "invalid value for --%s: \"%s\"", flag, v);
	return json_object_set_new(sec, key, json_integer(n)) < 0 ? plx_err_set(err, ENOMEM, "update") : 0;
}

static int cmd_update(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	json_auto_t *res = NULL;
	const char *name = "update";
	json_error_t jerr;

	if (plx_args_isset(a, "l3-cache-schema") || plx_args_isset(a, "mem-bw-schema"))
		return plx_err_set(err, EINVAL, "Intel RDT is not offered by proxmox-lxcri (no resctrl on the liblxc engine)");
	const char *file = plx_args_str(a, "resources");
	if (file) {
		name = strcmp(file, "-") == 0 ? "<stdin>" : file;
		res = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &jerr) : json_load_file(file, 0, &jerr);
		if (!res)
			return plx_err_set(err, EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
		/* as runc: with a resources document every other option is ignored */
		int r = plx_container_update(rt, a->pos[0], res, name, err);
		return r < 0 ? r : 0;
	}
	res = json_object();
	if (!res)
		return plx_err_set(err, ENOMEM, "update");

	static const struct {
		const char *flag, *section, *key;
		char kind;
	} map[] = {
		{ "blkio-weight", "blockIO", "weight", 'i' },     { "cpu-period", "cpu", "period", 'i' },
		{ "cpu-quota", "cpu", "quota", 'i' },            { "cpu-share", "cpu", "shares", 'i' },
		{ "cpu-rt-period", "cpu", "realtimePeriod", 'i' }, { "cpu-rt-runtime", "cpu", "realtimeRuntime", 'i' },
		{ "cpuset-cpus", "cpu", "cpus", 's' },           { "cpuset-mems", "cpu", "mems", 's' },
		{ "kernel-memory", "memory", "kernel", 'b' },    { "kernel-memory-tcp", "memory", "kernelTCP", 'b' },
		{ "memory", "memory", "limit", 'b' },            { "memory-reservation", "memory", "reservation", 'b' },
		{ "memory-swap", "memory", "swap", 'b' },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		int r = set_from_flag(a, res, map[i].flag, map[i].section, map[i].key, map[i].kind, err);
		if (r < 0)
			return r;
	}
	if (plx_args_isset(a, "pids-limit")) {
		json_int_t n;
		if (parse_int(plx_args_str(a, "pids-limit"), &n) < 0)
			return plx_err_set(err, EINVAL, "invalid value for --pids-limit: \"%s\"", plx_args_str(a, "pids-limit"));
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", n));
	}
	int r = plx_container_update(rt, a->pos[0], res, name, err);
	return r < 0 ? r : 0;
}

const struct plx_cli_cmd plx_cmd_update = {
	.name = "update",
	.usage = "update container resource constraints",
	.args_usage = "[command options] <container-id>",
	.description = "The data can be read from a file or the standard input, the\n"
		       "accepted format is as follow (unchanged values can be omitted):\n"
		       "\n"
		       "{\n"
		       "  \"memory\": {\"limit\": 0, \"reservation\": 0, \"swap\": 0},\n"
		       "  \"cpu\": {\"shares\": 0, \"quota\": 0, \"period\": 0, \"realtimeRuntime\": 0,\n"
		       "          \"realtimePeriod\": 0, \"cpus\": \"\", \"mems\": \"\"},\n"
		       "  \"blockIO\": {\"weight\": 0},\n"
		       "  \"pids\": {\"limit\": 0}\n"
		       "}\n"
		       "\n"
		       "Note: if data is to be read from a file or the standard input, all\n"
		       "other options are ignored.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = cmd_update,
};
