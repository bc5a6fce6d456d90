/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/strv.h"

static void test_append_and_len(void **state)
{
	char **v = NULL;

	assert_int_equal(plx_strv_len(v), 0);
	assert_int_equal(plx_strv_append(&v, "a"), 0);
	assert_int_equal(plx_strv_append(&v, "bc"), 0);
	assert_int_equal(plx_strv_len(v), 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "bc");
	assert_null(v[2]);
	plx_strv_free(v);
}

static void test_dup_is_deep(void **state)
{
	char *src[] = { "x", "y", NULL };
	char **copy = plx_strv_dup(src);

	assert_non_null(copy);
	assert_int_equal(plx_strv_len(copy), 2);
	assert_ptr_not_equal(copy[0], src[0]);
	assert_string_equal(copy[1], "y");
	assert_null(copy[2]);
	plx_strv_free(copy);

	/* NULL duplicates to an empty vector, not to NULL */
	copy = plx_strv_dup(NULL);
	assert_non_null(copy);
	assert_null(copy[0]);
	plx_strv_free(copy);
	plx_strv_free(NULL);
}

static void test_contains(void **state)
{
	char *v[] = { "pid", "network", NULL };

	assert_true(plx_strv_contains(v, "network"));
	assert_false(plx_strv_contains(v, "net"));
	assert_false(plx_strv_contains(NULL, "pid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_len),
		cmocka_unit_test(test_dup_is_deep),
		cmocka_unit_test(test_contains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
