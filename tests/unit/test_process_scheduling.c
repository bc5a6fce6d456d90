/* SPDX-License-Identifier: Apache-2.0 */
/* process.scheduler and process.ioPriority: name tables, and applying them in a child. */
#include <errno.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/scheduling.h"

static void test_names(void **state)
{
	uint64_t flags = 0;
	size_t bad = 99;

	assert_int_equal(plx_sched_policy("SCHED_OTHER"), SCHED_OTHER);
	assert_int_equal(plx_sched_policy("SCHED_BATCH"), SCHED_BATCH);
	assert_int_equal(plx_sched_policy("SCHED_IDLE"), SCHED_IDLE);
	assert_int_equal(plx_sched_policy("SCHED_FIFO"), SCHED_FIFO);
	assert_int_equal(plx_sched_policy("SCHED_RR"), SCHED_RR);
	assert_int_equal(plx_sched_policy("SCHED_DEADLINE"), 6);
	assert_int_equal(plx_sched_policy("sched_other"), -1);
	assert_int_equal(plx_sched_policy(NULL), -1);

	char *names[] = { "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_KEEP_PARAMS", NULL };
	assert_int_equal(plx_sched_flags(names, &flags, &bad), 0);
	assert_int_equal(flags, 0x01 | 0x10);
	char *unknown[] = { "SCHED_FLAG_RECLAIM", "SCHED_FLAG_BOGUS", NULL };
	assert_int_equal(plx_sched_flags(unknown, &flags, &bad), -EINVAL);
	assert_int_equal(bad, 1);
	assert_int_equal(plx_sched_flags(NULL, &flags, &bad), 0);
	assert_int_equal(flags, 0);

	assert_int_equal(plx_ioprio_class("IOPRIO_CLASS_RT"), IOPRIO_CLASS_RT);
	assert_int_equal(plx_ioprio_class("IOPRIO_CLASS_BE"), IOPRIO_CLASS_BE);
	assert_int_equal(plx_ioprio_class("IOPRIO_CLASS_IDLE"), IOPRIO_CLASS_IDLE);
	assert_int_equal(plx_ioprio_class("IOPRIO_CLASS_NONE"), -1);
}

static void test_refused(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_scheduler iso = { .policy = "SCHED_ISO" };
	struct oci_io_priority prio = { .klass = "IOPRIO_CLASS_BE", .priority = 8 };

	assert_int_equal(plx_sched_apply(&iso, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "SCHED_ISO"));
	plx_err_clear(&err);
	assert_int_equal(plx_ioprio_apply(&prio, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "process.ioPriority.priority: 8"));
	plx_err_clear(&err);
	/* absent: nothing to do */
	assert_int_equal(plx_sched_apply(NULL, &err), 0);
	assert_int_equal(plx_ioprio_apply(NULL, &err), 0);
}

/* In a child: batch policy with nice 5, best-effort I/O priority 6; exit 0 when the kernel agrees. */
static int child_apply(void)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_scheduler s = { .policy = "SCHED_BATCH", .has_nice = true, .nice = 5 };
	struct oci_io_priority io = { .klass = "IOPRIO_CLASS_BE", .priority = 6 };

	if (plx_sched_apply(&s, &err) < 0 || plx_ioprio_apply(&io, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 10;
	}
	if (sched_getscheduler(0) != SCHED_BATCH)
		return 11;
	errno = 0;
	if (getpriority(PRIO_PROCESS, 0) != 5 || errno)
		return 12;
	long v = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	if (IOPRIO_PRIO_CLASS(v) != IOPRIO_CLASS_BE || IOPRIO_PRIO_DATA(v) != 6)
		return 13;
	return 0;
}

static void test_apply(void **state)
{
	int status;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_apply());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
