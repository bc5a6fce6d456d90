/* SPDX-License-Identifier: Apache-2.0 */
/* process.rlimits: the name table and setrlimit (in a forked child). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/rlimits.h"

static void test_name_table(void **state)
{
	static const struct {
		const char *name;
		int res;
	} all[] = {
		{ "RLIMIT_CPU", RLIMIT_CPU },		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
		{ "RLIMIT_DATA", RLIMIT_DATA },		{ "RLIMIT_STACK", RLIMIT_STACK },
		{ "RLIMIT_CORE", RLIMIT_CORE },		{ "RLIMIT_RSS", RLIMIT_RSS },
		{ "RLIMIT_NPROC", RLIMIT_NPROC },	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
		{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },	{ "RLIMIT_AS", RLIMIT_AS },
		{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
		{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
		{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(plx_rlimit_from_name(all[i].name), all[i].res);
		assert_string_equal(plx_rlimit_name(all[i].res), all[i].name);
	}
	assert_int_equal(plx_rlimit_from_name("RLIMIT_FOO"), -1);
	assert_int_equal(plx_rlimit_from_name("NOFILE"), -1);
	assert_int_equal(plx_rlimit_from_name("rlimit_nofile"), -1);
	assert_null(plx_rlimit_name(RLIM_NLIMITS));
}

static int child_apply(void)
{
	struct oci_rlimit v[] = {
		{ .type = "RLIMIT_NOFILE", .soft = 100, .hard = 200 },
		{ .type = "RLIMIT_CORE", .soft = 0, .hard = UINT64_MAX },
	};
	struct plx_err err = PLX_ERR_INIT;
	struct rlimit rl;

	if (plx_rlimits_apply(v, 2, &err) < 0)
		return 10;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 100 || rl.rlim_max != 200)
		return 11;
	if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_cur != 0 || rl.rlim_max != RLIM_INFINITY)
		return 12;
	return 0;
}

static void test_apply(void **state)
{
	int status;
	struct rlimit rl;

	/* raising the core hard limit to infinity needs it to be infinity already, or root */
	if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_apply());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_errors(void **state)
{
	struct oci_rlimit bad_order[] = { { .type = "RLIMIT_NOFILE", .soft = 300, .hard = 200 } };
	struct oci_rlimit unknown[] = { { .type = "RLIMIT_NOFILE", .soft = 1, .hard = 1 },
					{ .type = "RLIMIT_BOGUS", .soft = 1, .hard = 1 } };
	struct plx_err err = PLX_ERR_INIT;
	struct rlimit before, after;

	getrlimit(RLIMIT_NOFILE, &before);
	assert_int_equal(plx_rlimits_apply(bad_order, 1, &err), -EINVAL);
	assert_string_equal(err.msg, "setrlimit RLIMIT_NOFILE (soft 300, hard 200): Invalid argument");
	getrlimit(RLIMIT_NOFILE, &after);
	assert_int_equal(before.rlim_cur, after.rlim_cur);

	/* the entry before the unknown one is applied: only in a child */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r = plx_rlimits_apply(unknown, 2, &err);
		_exit(r == -EINVAL && strcmp(err.msg,
					     "process.rlimits[1]: unknown rlimit type \"RLIMIT_BOGUS\"") == 0
			      ? 0
			      : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_table),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
