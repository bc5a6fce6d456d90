/* SPDX-License-Identifier: Apache-2.0 */
/* Manifests, indexes, platforms, WWW-Authenticate and token replies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image/auth.h"
#include "image/manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char docker_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" PLX_MT_DOCKER_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" PLX_MT_DOCKER_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7},"
	"\"layers\":[{\"mediaType\":\"" PLX_MT_DOCKER_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":100},"
	"{\"mediaType\":\"" PLX_MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D3 "\",\"size\":5}]}";

static const char index_json[] =
	"{\"schemaVersion\":2,\"manifests\":["
	"{\"mediaType\":\"" PLX_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"" PLX_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"" PLX_MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";

static void test_docker_manifest(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_manifest *m = NULL;
	enum plx_manifest_kind kind;
	enum plx_layer_compression c;

	assert_int_equal(plx_manifest_kind(docker_manifest, strlen(docker_manifest), NULL, &kind, &err), 0);
	assert_int_equal(kind, PLX_KIND_MANIFEST);
	assert_int_equal(plx_manifest_parse(docker_manifest, strlen(docker_manifest), &m, &err), 0);
	assert_string_equal(m->media_type, PLX_MT_DOCKER_MANIFEST);
	assert_string_equal(m->config.digest, D1);
	assert_int_equal(m->n_layers, 2);
	assert_int_equal(m->layers[0].size, 100);
	assert_int_equal(plx_layer_compression(m->layers[0].media_type, &c, &err), 0);
	assert_int_equal(c, PLX_LAYER_GZIP);
	assert_int_equal(plx_layer_compression(m->layers[1].media_type, &c, &err), 0);
	assert_int_equal(c, PLX_LAYER_ZSTD);
	plx_manifest_free(m);
	assert_int_equal(plx_layer_compression("text/plain", &c, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "text/plain"));
	plx_err_clear(&err);
}

static void expect_manifest_error(const char *json, const char *needle)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_manifest *m = NULL;

	assert_true(plx_manifest_parse(json, strlen(json), &m, &err) < 0);
	assert_null(m);
	if (!strstr(plx_err_msg(&err), needle))
		fail_msg("\"%s\" lacks \"%s\"", plx_err_msg(&err), needle);
	plx_err_clear(&err);
}

static void test_manifest_errors_name_the_path(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	enum plx_manifest_kind kind;
	const char *v1 = "{\"schemaVersion\":1,\"fsLayers\":[]}";

	expect_manifest_error("[]", "manifest: expected object, got array");
	expect_manifest_error("{\"schemaVersion\":2,\"layers\":[]}", "config: missing");
	expect_manifest_error("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},"
			      "\"layers\":[{\"mediaType\":\"x\",\"digest\":7,\"size\":1}]}",
			      "layers[0].digest: expected string, got integer");
	expect_manifest_error("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}",
			      "config.digest: unsupported digest");
	expect_manifest_error("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
			      "config.size");
	assert_int_equal(plx_manifest_kind(v1, strlen(v1), NULL, &kind, &err), -ENOTSUP);
	assert_non_null(strstr(plx_err_msg(&err), "schema 1"));
	plx_err_clear(&err);
}

static void select_platform(const char *want, const char *digest)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_index *idx = NULL;
	struct plx_platform p = {};
	const struct plx_descriptor *d = NULL;

	assert_int_equal(plx_index_parse(index_json, strlen(index_json), &idx, &err), 0);
	assert_int_equal(plx_platform_parse(want, &p, &err), 0);
	if (!digest) {
		assert_int_equal(plx_index_select(idx, &p, &d, &err), -ENOENT);
		assert_non_null(strstr(plx_err_msg(&err), "it offers: linux/amd64, linux/arm/v7, linux/arm64"));
		plx_err_clear(&err);
	} else {
		assert_int_equal(plx_index_select(idx, &p, &d, &err), 0);
		assert_string_equal(d->digest, digest);
	}
	plx_platform_free(&p);
	plx_index_free(idx);
}

static void test_platform_selection(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_platform p = {};

	select_platform("linux/amd64", D1);
	select_platform("linux/arm/v7", D2);
	select_platform("linux/arm64", D3);
	select_platform("linux/arm64/v8", D3); /* arm64 without a variant is v8 */
	select_platform("linux/arm/v6", NULL);
	select_platform("linux/s390x", NULL);
	assert_int_equal(plx_platform_parse("linux", &p, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "\"linux\": expected os/arch[/variant]"));
	plx_err_clear(&err);
	assert_int_equal(plx_platform_parse("linux//v7", &p, &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_platform_host(&p, &err), 0);
	assert_string_equal(p.os, "linux");
	plx_platform_free(&p);
}

static void test_www_authenticate(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_auth_challenge c = {};

	assert_int_equal(plx_auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
						  "scope=\"repository:library/alpine:pull\"",
						  &c, &err),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/alpine:pull");
	plx_auth_challenge_free(&c);
	assert_int_equal(plx_auth_challenge_parse("Basic realm=\"a \\\"q\\\" b\", charset=UTF-8", &c, &err), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "a \"q\" b");
	plx_auth_challenge_free(&c);
	assert_int_equal(plx_auth_challenge_parse("Bearer service=\"x\"", &c, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "without a realm"));
	plx_err_clear(&err);
	assert_int_equal(plx_auth_challenge_parse("Bearer realm=\"unterminated", &c, &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_auth_challenge_parse("", &c, &err), -EINVAL);
	plx_err_clear(&err);
}

static void test_token_reply(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char *t = NULL;

	assert_int_equal(plx_auth_token_parse("{\"token\":\"abc\"}", 15, &t, &err), 0);
	assert_string_equal(t, "abc");
	free(t);
	assert_int_equal(plx_auth_token_parse("{\"access_token\":\"xyz\",\"expires_in\":300}", 39, &t, &err), 0);
	assert_string_equal(t, "xyz");
	free(t);
	assert_int_equal(plx_auth_token_parse("{\"token\":\"\"}", 12, &t, &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_auth_token_parse("nope", 4, &t, &err), -EINVAL);
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_manifest),
		cmocka_unit_test(test_manifest_errors_name_the_path),
		cmocka_unit_test(test_platform_selection),
		cmocka_unit_test(test_www_authenticate),
		cmocka_unit_test(test_token_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
