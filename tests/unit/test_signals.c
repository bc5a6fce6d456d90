/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/signals.h"

static int parse(const char *s)
{
	struct plx_err err = PLX_ERR_INIT;
	int ret = plx_signal_parse(s, &err);

	if (ret < 0)
		assert_non_null(err.msg);
	plx_err_clear(&err);
	return ret;
}

static void test_names_numbers_and_prefix(void **state)
{
	assert_int_equal(parse("KILL"), SIGKILL);
	assert_int_equal(parse("SIGKILL"), SIGKILL);
	assert_int_equal(parse("9"), SIGKILL);
	assert_int_equal(parse("SIGTERM"), SIGTERM);
	assert_int_equal(parse("HUP"), SIGHUP);
	assert_int_equal(parse("SIGWINCH"), SIGWINCH);
	assert_int_equal(parse("STKFLT"), SIGSTKFLT);
	assert_int_equal(parse("PWR"), SIGPWR);
	assert_int_equal(parse("64"), 64);
	assert_int_equal(parse("1"), 1);
}

/* runc upper-cases what it is given */
static void test_case_insensitive(void **state)
{
	assert_int_equal(parse("kill"), SIGKILL);
	assert_int_equal(parse("sigusr1"), SIGUSR1);
	assert_int_equal(parse("SigInt"), SIGINT);
}

static void test_aliases(void **state)
{
	assert_int_equal(parse("SIGIOT"), SIGABRT);
	assert_int_equal(parse("POLL"), SIGIO);
	assert_int_equal(parse("CLD"), SIGCHLD);
	/* the primary name wins when printing */
	assert_string_equal(plx_signal_name(SIGABRT), "SIGABRT");
	assert_string_equal(plx_signal_name(SIGIO), "SIGIO");
	assert_string_equal(plx_signal_name(SIGCHLD), "SIGCHLD");
}

static void test_realtime(void **state)
{
	assert_int_equal(parse("SIGRTMIN"), SIGRTMIN);
	assert_int_equal(parse("RTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(parse("sigrtmin+15"), SIGRTMIN + 15);
	assert_int_equal(parse("SIGRTMAX"), SIGRTMAX);
	assert_int_equal(parse("RTMAX-2"), SIGRTMAX - 2);
	assert_string_equal(plx_signal_name(SIGRTMIN), "SIGRTMIN");
	assert_string_equal(plx_signal_name(SIGRTMIN + 1), "SIGRTMIN+1");
	assert_string_equal(plx_signal_name(SIGRTMAX), "SIGRTMAX");
	assert_string_equal(plx_signal_name(SIGRTMAX - 3), "SIGRTMAX-3");
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"0", "65", "1000", "99999999999999", "", "FOO", "SIG", "SIGKILLX", "9x", "-9", "+9", " 9",
		"RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "RTMIN+99", "RTMAX-99", "SIGRTMIN+1000",
	};
	struct plx_err err = PLX_ERR_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i]), -EINVAL);

	assert_int_equal(plx_signal_parse("FOO", &err), -EINVAL);
	assert_string_equal(err.msg, "unknown signal \"FOO\"");
	plx_err_clear(&err);
	assert_int_equal(plx_signal_parse("0", &err), -EINVAL);
	assert_string_equal(err.msg, "unknown signal \"0\"");
	plx_err_clear(&err);
}

/* Every signal the kernel can send has a name, and the name parses back. */
static void test_round_trip(void **state)
{
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		const char *name = plx_signal_name(sig);

		if (sig > SIGSYS && sig < SIGRTMIN) {
			/* 32, 33: reserved by the C library, no name */
			assert_null(name);
			continue;
		}
		assert_non_null(name);
		assert_int_equal(parse(name), sig);
		assert_int_equal(parse(name + 3), sig);
	}
	assert_null(plx_signal_name(0));
	assert_null(plx_signal_name(SIGRTMAX + 1));
	assert_null(plx_signal_name(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_numbers_and_prefix),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_realtime),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
