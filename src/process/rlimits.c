/* SPDX-License-Identifier: Apache-2.0 */
#include "rlimits.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>

#include "oci/spec_names.h"
#include "util/cleanup.h"

/* the names are the runtime spec's: one table, in oci/spec_names.c */
int plx_rlimit_from_name(const char *name)
{
	return oci_rlimit_resource(name);
}

const char *plx_rlimit_name(int resource)
{
	return oci_rlimit_name(resource);
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
