/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: docker's normalization and the distribution grammar. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image/reference.h"

static void expect_norm(const char *in, const char *want)
{
	struct plx_err err = PLX_ERR_INIT;
	char *out = NULL;

	if (plx_image_ref_normalize(in, &out, &err) < 0)
		fail_msg("%s: %s", in, plx_err_msg(&err));
	assert_string_equal(out, want);
	free(out);
}

static void expect_bad(const char *in, const char *needle)
{
	struct plx_err err = PLX_ERR_INIT;
	char *out = NULL;

	assert_int_equal(plx_image_ref_normalize(in, &out, &err), -EINVAL);
	assert_null(out);
	if (!strstr(plx_err_msg(&err), needle))
		fail_msg("%s: message \"%s\" lacks \"%s\"", in, plx_err_msg(&err), needle);
	plx_err_clear(&err);
}

static void test_docker_hub_short_names(void **state)
{
	expect_norm("alpine", "docker.io/library/alpine:latest");
	expect_norm("alpine:3.19", "docker.io/library/alpine:3.19");
	expect_norm("user/app", "docker.io/user/app:latest");
	expect_norm("index.docker.io/library/busybox:1", "docker.io/library/busybox:1");
	expect_norm("docker.io/library/alpine", "docker.io/library/alpine:latest");
}

static void test_registries_ports_digests(void **state)
{
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct plx_err err = PLX_ERR_INIT;
	struct plx_image_ref r = {};
	char buf[256];

	expect_norm("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest");
	expect_norm("localhost/x", "localhost/x:latest");
	expect_norm("quay.io/a/b-c_d.e:v1.2-rc", "quay.io/a/b-c_d.e:v1.2-rc");
	snprintf(buf, sizeof(buf), "host:5000/a/b@%s", d);
	assert_int_equal(plx_image_ref_parse(buf, &r, &err), 0);
	assert_string_equal(r.registry, "host:5000");
	assert_string_equal(r.repository, "a/b");
	assert_null(r.tag);
	assert_string_equal(r.digest, d);
	plx_image_ref_free(&r);
	/* tag and digest: both kept */
	snprintf(buf, sizeof(buf), "alpine:3@%s", d);
	assert_int_equal(plx_image_ref_parse(buf, &r, &err), 0);
	assert_string_equal(r.tag, "3");
	assert_string_equal(r.digest, d);
	char *s = plx_image_ref_string(&r);
	snprintf(buf, sizeof(buf), "docker.io/library/alpine:3@%s", d);
	assert_string_equal(s, buf);
	free(s);
	plx_image_ref_free(&r);
}

static void test_bad_references_are_named(void **state)
{
	expect_bad("", "empty");
	expect_bad("Alpine", "\"Alpine\": repository name must be lowercase");
	expect_bad("alpine:", "invalid tag");
	expect_bad("alpine:-x", "invalid tag");
	expect_bad("a//b", "invalid repository component");
	expect_bad("a/b_", "invalid repository component");
	expect_bad("alpine@sha256:abc", "invalid digest");
	expect_bad("alpine@md5:0123", "invalid digest");
	expect_bad("al pine", "white space");
	expect_bad("host:x/a", "invalid registry");
}

static void test_digest_valid(void **state)
{
	assert_true(plx_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(plx_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(plx_digest_valid("sha256:0123"));
	assert_false(plx_digest_valid("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(plx_digest_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_hub_short_names),
		cmocka_unit_test(test_registries_ports_digests),
		cmocka_unit_test(test_bad_references_are_named),
		cmocka_unit_test(test_digest_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
