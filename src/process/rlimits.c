/* SPDX-License-Identifier: Apache-2.0 */
#include "rlimits.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>

#include "util/cleanup.h"

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },		{ "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },		{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int plx_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

const char *plx_rlimit_name(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return NULL;
}

int plx_rlimits_apply(const struct oci_rlimit *v, size_t n, struct plx_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int res = plx_rlimit_from_name(v[i].type);
		if (res < 0)
			return plx_err_set(err, EINVAL, "process.rlimits[%zu]: unknown rlimit type \"%s\"", i,
					   v[i].type);
		/* OCI's uint64 maps 1:1 onto rlim_t; UINT64_MAX is RLIM_INFINITY */
		struct rlimit rl = { .rlim_cur = (rlim_t)v[i].soft, .rlim_max = (rlim_t)v[i].hard };
		if (setrlimit((__rlimit_resource_t)res, &rl) < 0)
			return plx_err_sys(err, errno, "setrlimit %s (soft %" PRIu64 ", hard %" PRIu64 ")",
					   v[i].type, v[i].soft, v[i].hard);
	}
	return 0;
}
