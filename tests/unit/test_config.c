/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "util/cleanup.h"
#include "util/fs.h"

DEFINE_CLEANUP_FUNC(test_config_freep, struct plx_config, plx_config_free)
#define __do_config_free __attribute__((cleanup(test_config_freep)))

struct fx {
	char dir[64];
	char *a, *b, *c; /* candidate paths: env, system, local */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/plx-test-config-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->a = plx_path_join(f->dir, "env.json");
	f->b = plx_path_join(f->dir, "system.json");
	f->c = plx_path_join(f->dir, "config.json");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	plx_rm_rf_at(AT_FDCWD, f->dir, &err);
	plx_err_clear(&err);
	free(f->a);
	free(f->b);
	free(f->c);
	free(f);
	return 0;
}

static void put(const char *path, const char *text)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_write_file_at(AT_FDCWD, path, text, strlen(text), 0644, &err), 0);
}

static void test_full_file(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_config_free struct plx_config *c = NULL;

	put(f->b, "{\n"
		  "  \"root\": \"/run/plx\",\n"
		  "  \"log_level\": \"debug\",\n"
		  "  \"init\": \"/usr/lib/plx/init\",\n"
		  "  \"storage\": {\"driver\": \"zfs\"},\n"
		  "  \"images\": {},\n"
		  "  \"registries\": {\"docker.io\": {}},\n"
		  "  \"proxmox\": {\"node\": \"pve1\"}\n"
		  "}\n");
	assert_int_equal(plx_config_load_file(f->b, &c, &err), 0);
	assert_string_equal(c->path, f->b);
	assert_string_equal(c->root, "/run/plx");
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->init_path, "/usr/lib/plx/init");
	assert_string_equal(json_string_value(json_object_get(c->storage, "driver")), "zfs");
	assert_true(json_is_object(c->images));
	assert_non_null(json_object_get(c->registries, "docker.io"));
	assert_string_equal(json_string_value(json_object_get(c->proxmox, "node")), "pve1");
	assert_true(json_is_object(c->doc));
}

static void test_empty_object_and_defaults(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_config_free struct plx_config *c = NULL;
	__do_config_free struct plx_config *d = plx_config_defaults();

	put(f->b, "{}");
	assert_int_equal(plx_config_load_file(f->b, &c, &err), 0);
	assert_null(c->root);
	assert_null(c->log_level);
	assert_null(c->storage);

	assert_non_null(d);
	assert_null(d->path);
	assert_null(d->root);
	assert_null(d->doc);
}

/* Write text to the file, load it, expect EINVAL and exactly "<file><msg>". */
static void expect_error(const char *path, const char *text, const char *msg)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_config *c = NULL;
	__do_free char *want = NULL;

	put(path, text);
	assert_int_equal(plx_config_load_file(path, &c, &err), -EINVAL);
	assert_null(c);
	assert_true(asprintf(&want, "%s%s", path, msg) > 0);
	if (strcmp(err.msg, want) != 0)
		fail_msg("config %s:\n got  %s\n want %s", text, err.msg, want);
	plx_err_clear(&err);
}

static void test_errors(void **state)
{
	struct fx *f = *state;

	/* syntax errors: FILE:LINE:COL: message */
	expect_error(f->b, "{\n  \"root\": ,\n}", ":2:11: unexpected token near ','");
	expect_error(f->b, "{\"root\": \"/x\"", ":1:13: '}' expected near end of file");
	expect_error(f->b, "", ":1:0: '[' or '{' expected near end of file");
	expect_error(f->b, "{\"root\":\"/a\",\n\"root\":\"/b\"}",
		     ":2:6: duplicate object key near '\"root\"'");
	/* shape */
	expect_error(f->b, "[]", ": top level: expected object, got array");
	expect_error(f->b, "\"x\"", ":1:3: '[' or '{' expected near '\"x\"'");
	/* types */
	expect_error(f->b, "{\"storage\": \"zfs\"}", ": key storage: expected object, got string");
	expect_error(f->b, "{\"images\": []}", ": key images: expected object, got array");
	expect_error(f->b, "{\"registries\": null}", ": key registries: expected object, got null");
	expect_error(f->b, "{\"proxmox\": 1}", ": key proxmox: expected object, got integer");
	expect_error(f->b, "{\"root\": 1}", ": key root: expected string, got integer");
	expect_error(f->b, "{\"root\": \"run/x\"}", ": key root: expected an absolute path, got \"run/x\"");
	expect_error(f->b, "{\"init\": true}", ": key init: expected string, got boolean");
	expect_error(f->b, "{\"init\": \"./init\"}", ": key init: expected an absolute path, got \"./init\"");
	expect_error(f->b, "{\"log_level\": \"warn\"}",
		     ": key log_level: expected one of error, warning, info, debug, got \"warn\"");
	expect_error(f->b, "{\"log_level\": 2.5}", ": key log_level: expected string, got number");
	/* typos are not ignored */
	expect_error(f->b, "{\"rooot\": \"/x\"}", ": unknown key \"rooot\"");
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_config *c = NULL;
	__do_free char *want = NULL;

	assert_int_equal(plx_config_load_file(f->a, &c, &err), -ENOENT);
	assert_true(asprintf(&want, "open %s: No such file or directory", f->a) > 0);
	assert_string_equal(err.msg, want);
	plx_err_clear(&err);
}

static void test_search_env_first_and_must_exist(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_config_free struct plx_config *c = NULL;
	__do_free char *want = NULL;

	put(f->a, "{\"root\": \"/from/env\"}");
	put(f->b, "{\"root\": \"/from/system\"}");
	put(f->c, "{\"root\": \"/from/local\"}");
	assert_int_equal(plx_config_load_search(f->a, f->b, f->c, &c, &err), 0);
	assert_string_equal(c->path, f->a);
	assert_string_equal(c->root, "/from/env");
	plx_config_free(steal_ptr(c));

	/* named by the environment but missing: an error, never a fallback */
	assert_int_equal(unlink(f->a), 0);
	assert_int_equal(plx_config_load_search(f->a, f->b, f->c, &c, &err), -ENOENT);
	assert_null(c);
	assert_true(asprintf(&want, "PROXMOX_LXCRI_CONFIG: open %s: No such file or directory", f->a) > 0);
	assert_string_equal(err.msg, want);
	plx_err_clear(&err);

	/* an empty variable counts as unset */
	assert_int_equal(plx_config_load_search("", f->b, f->c, &c, &err), 0);
	assert_string_equal(c->root, "/from/system");
}

static void test_search_system_then_local(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_config_free struct plx_config *c = NULL;

	put(f->b, "{\"root\": \"/from/system\"}");
	put(f->c, "{\"root\": \"/from/local\"}");
	assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), 0);
	assert_string_equal(c->root, "/from/system");
	plx_config_free(steal_ptr(c));

	assert_int_equal(unlink(f->b), 0);
	assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), 0);
	assert_string_equal(c->path, f->c);
	assert_string_equal(c->root, "/from/local");
	plx_config_free(steal_ptr(c));

	/* nothing: defaults */
	assert_int_equal(unlink(f->c), 0);
	assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), 0);
	assert_null(c->path);
	assert_null(c->root);
	plx_config_free(steal_ptr(c));

	/* an error in a found file is reported, not skipped */
	put(f->b, "{\"bogus\": 1}");
	assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown key \"bogus\""));
	plx_err_clear(&err);
}

static void test_local_oci_config_is_not_ours(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_config_free struct plx_config *c = NULL;
	static const char *const oci[] = {
		"{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"sh\"]},"
		" \"root\": {\"path\": \"rootfs\"}}",
		"{\"ociVersion\": \"1.2.0\"}",
		"{\"process\": {}}",
		"{\"root\": {\"path\": \"rootfs\"}}",
		"{\"linux\": {}}",
		"{\"mounts\": []}",
		/* runc accepts duplicate keys in a bundle config; so must the sniffing */
		"{\"ociVersion\": \"1.0.0\", \"ociVersion\": \"1.0.0\"}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(oci); i++) {
		put(f->c, oci[i]);
		assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), 0);
		if (c->path)
			fail_msg("%s was taken as the runtime config", oci[i]);
		assert_null(c->root);
		plx_config_free(steal_ptr(c));
	}

	/* a broken cwd file is reported, naming it */
	put(f->c, "{\"root\": ");
	assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, f->c));
	plx_err_clear(&err);

	/* the system file is not sniffed: "root" there is our string key */
	put(f->b, "{\"root\": {\"path\": \"rootfs\"}}");
	assert_int_equal(plx_config_load_search(NULL, f->b, f->c, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ": key root: expected string, got object"));
	plx_err_clear(&err);
}

static void test_load_uses_env_and_cwd(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_config_free struct plx_config *c = NULL;
	__do_free char *saved = getcwd(NULL, 0);
	struct stat st;

	put(f->a, "{\"log_level\": \"error\"}");
	assert_int_equal(setenv(PLX_CONFIG_ENV, f->a, 1), 0);
	assert_int_equal(plx_config_load(&c, &err), 0);
	assert_string_equal(c->log_level, "error");
	plx_config_free(steal_ptr(c));
	assert_int_equal(unsetenv(PLX_CONFIG_ENV), 0);

	/* the relative ./config.json is the cwd's (only when /etc has none) */
	if (stat(PLX_CONFIG_SYSTEM, &st) == 0)
		skip();
	put(f->c, "{\"log_level\": \"warning\"}");
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(plx_config_load(&c, &err), 0);
	assert_int_equal(chdir(saved), 0);
	assert_string_equal(c->path, "config.json");
	assert_string_equal(c->log_level, "warning");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_full_file),
		T(test_empty_object_and_defaults),
		T(test_errors),
		T(test_missing_file),
		T(test_search_env_first_and_must_exist),
		T(test_search_system_then_local),
		T(test_local_oci_config_is_not_ours),
		T(test_load_uses_env_and_cwd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
