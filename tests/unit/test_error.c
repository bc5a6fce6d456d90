/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/error.h"

static void test_set_returns_negative_code(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_err_set(&err, ENOENT, "bundle %s", "/x"), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg, "bundle /x");
	plx_err_clear(&err);
	assert_null(err.msg);
}

static void test_sys_appends_strerror(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	plx_err_sys(&err, EACCES, "open %s", "/root/x");
	assert_string_equal(err.msg, "open /root/x: Permission denied");
	plx_err_clear(&err);
}

static void test_prefix_adds_context(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	plx_err_set(&err, EINVAL, "expected integer");
	assert_int_equal(plx_err_prefix(&err, "config.json: %s", "linux.resources"), -EINVAL);
	assert_string_equal(err.msg, "config.json: linux.resources: expected integer");
	plx_err_clear(&err);
}

static void test_zero_code_becomes_einval(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_err_set(&err, 0, "x"), -EINVAL);
	plx_err_clear(&err);
	/* a NULL error is allowed: the code still comes back */
	assert_int_equal(plx_err_set(NULL, EPERM, "y"), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_negative_code),
		cmocka_unit_test(test_sys_appends_strerror),
		cmocka_unit_test(test_prefix_adds_context),
		cmocka_unit_test(test_zero_code_becomes_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
