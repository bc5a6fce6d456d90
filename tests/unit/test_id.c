/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/state.h"
#include "util/cleanup.h"

static void test_valid_ids(void **state)
{
	static const char *const ok[] = {
		"a", "abc", "ABC", "0", "a_b", "a+b", "a-b", "a.b", "...", ".a", "a.", "-", "+", "_",
		"0123456789abcdefABCDEF", "mycontainer-1.2_3+x",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(plx_id_validate(ok[i], &err), 0);
		assert_null(err.msg);
	}
}

static void test_invalid_ids(void **state)
{
	static const char *const bad[] = {
		".", "..", "/", "a/b", "../x", "a b", " a", "a\n",
		"a:b", "a@b", "a*", "é", "a\\b", "$x", "a~",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct plx_err err = PLX_ERR_INIT;
		__do_free char *want = NULL;

		assert_int_equal(plx_id_validate(bad[i], &err), -EINVAL);
		assert_int_equal(asprintf(&want, "invalid container id format: %s", bad[i]) > 0, 1);
		assert_string_equal(err.msg, want);
		plx_err_clear(&err);
	}
}

static void test_empty_id(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_id_validate("", &err), -EINVAL);
	assert_string_equal(err.msg, "container id cannot be empty");
	plx_err_clear(&err);
	assert_int_equal(plx_id_validate(NULL, &err), -EINVAL);
	assert_string_equal(err.msg, "container id cannot be empty");
	plx_err_clear(&err);
}

static void test_length_limit(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char id[PLX_ID_MAX + 2];

	memset(id, 'a', PLX_ID_MAX);
	id[PLX_ID_MAX] = '\0';
	assert_int_equal(plx_id_validate(id, &err), 0);

	id[PLX_ID_MAX] = 'a';
	id[PLX_ID_MAX + 1] = '\0';
	assert_int_equal(plx_id_validate(id, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid container id format: "));
	assert_non_null(strstr(err.msg, "longer than 1024 bytes"));
	/* the message does not carry the whole kilobyte */
	assert_true(strlen(err.msg) < 120);
	plx_err_clear(&err);
}

static void test_null_err_is_allowed(void **state)
{
	assert_int_equal(plx_id_validate("a/b", NULL), -EINVAL);
	assert_int_equal(plx_id_validate("ok", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_ids),
		cmocka_unit_test(test_invalid_ids),
		cmocka_unit_test(test_empty_id),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_null_err_is_allowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
