/* SPDX-License-Identifier: Apache-2.0 */
#include "scheduling.h"

#include <errno.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

/* glibc 2.36 has neither sched_setattr() nor ioprio_set(): the raw system calls */

/* reserved by Linux (include/uapi/linux/sched.h), which has no such policy: refused */
#define SCHED_ISO_RESERVED 4

static const struct {
	const char *name;
	int policy;
} policies[] = {
	{ "SCHED_OTHER", SCHED_NORMAL },
	{ "SCHED_FIFO", SCHED_FIFO },
	{ "SCHED_RR", SCHED_RR },
	{ "SCHED_BATCH", SCHED_BATCH },
	{ "SCHED_IDLE", SCHED_IDLE },
	{ "SCHED_DEADLINE", SCHED_DEADLINE },
	{ "SCHED_ISO", SCHED_ISO_RESERVED },
};

static const struct {
	const char *name;
	uint64_t flag;
} sched_flag_names[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK },
	{ "SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM },
	{ "SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN },
	{ "SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY },
	{ "SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS },
	{ "SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX },
};

static const struct {
	const char *name;
	int klass;
} ioprio_classes[] = {
	{ "IOPRIO_CLASS_RT", IOPRIO_CLASS_RT },
	{ "IOPRIO_CLASS_BE", IOPRIO_CLASS_BE },
	{ "IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE },
};

int plx_sched_policy(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(policies); i++)
		if (strcmp(policies[i].name, name) == 0)
			return policies[i].policy;
	return -1;
}

int plx_sched_flags(char *const *names, uint64_t *out, size_t *bad)
{
	uint64_t flags = 0;

	for (size_t i = 0; names && names[i]; i++) {
		size_t j = 0;
		while (j < ARRAY_SIZE(sched_flag_names) && strcmp(sched_flag_names[j].name, names[i]) != 0)
			j++;
		if (j == ARRAY_SIZE(sched_flag_names)) {
			*bad = i;
			return -EINVAL;
		}
		flags |= sched_flag_names[j].flag;
	}
	*out = flags;
	return 0;
}

int plx_ioprio_class(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(ioprio_classes); i++)
		if (strcmp(ioprio_classes[i].name, name) == 0)
			return ioprio_classes[i].klass;
	return -1;
}

int plx_sched_apply(const struct oci_scheduler *s, struct plx_err *err)
{
	struct sched_attr attr = { .size = sizeof(attr) };
	uint64_t flags = 0;
	size_t bad = 0;

	if (!s)
		return 0;
	int policy = plx_sched_policy(s->policy);
	if (policy < 0)
		return plx_err_set(err, EINVAL, "process.scheduler.policy: unknown policy \"%s\"",
				   s->policy ? s->policy : "");
	if (policy == SCHED_ISO_RESERVED)
		return plx_err_set(err, EINVAL,
				   "process.scheduler.policy: SCHED_ISO is reserved by Linux but no kernel offers it");
	if (plx_sched_flags(s->flags, &flags, &bad) < 0)
		return plx_err_set(err, EINVAL, "process.scheduler.flags[%zu]: unknown flag \"%s\"", bad,
				   s->flags[bad]);
	attr.sched_policy = (uint32_t)policy;
	attr.sched_flags = flags;
	attr.sched_nice = s->has_nice ? s->nice : 0;
	attr.sched_priority = s->has_priority ? (uint32_t)s->priority : 0;
	attr.sched_runtime = s->has_runtime ? s->runtime : 0;
	attr.sched_deadline = s->has_deadline ? s->deadline : 0;
	attr.sched_period = s->has_period ? s->period : 0;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return plx_err_sys(err, errno,
				   "process.scheduler: sched_setattr(policy %s, nice %d, priority %d)", s->policy,
				   attr.sched_nice, (int)attr.sched_priority);
	return 0;
}

int plx_ioprio_apply(const struct oci_io_priority *io, struct plx_err *err)
{
	if (!io)
		return 0;
	int klass = plx_ioprio_class(io->klass);
	if (klass < 0)
		return plx_err_set(err, EINVAL, "process.ioPriority.class: unknown class \"%s\"",
				   io->klass ? io->klass : "");
	if (io->priority < 0 || io->priority > 7)
		return plx_err_set(err, EINVAL, "process.ioPriority.priority: %d is not in 0..7",
				   io->priority);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(klass, io->priority)) < 0)
		return plx_err_sys(err, errno, "process.ioPriority: ioprio_set(%s, %d)", io->klass,
				   io->priority);
	return 0;
}
