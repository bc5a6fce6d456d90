/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote mode's pure parts: the entrypoint string (checked by splitting it
 * back the way LXC splits lxc.init.cmd), the NUL-joined env, the name map's
 * description and tag, the vmid-race message, the create parameters, and
 * the template's file name.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image/pve_template.h"
#include "proxmox/pve_remote.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* LXC's lxc_string_split_quoted(), as lxc.init.cmd is read: what PVE's entrypoint becomes. */
static char **lxc_split(const char *s)
{
	char **out = calloc(1, sizeof(char *));
	const char *p = s, *word = s;
	char state = ' ';

	for (; *p; p++) {
		if (state == ' ') {
			if (isspace((unsigned char)*p))
				continue;
			word = p;
			state = (*p == '"' || *p == '\'') ? *p : 'a';
		} else if (state == 'a' && isspace((unsigned char)*p)) {
			char *w = strndup(word, (size_t)(p - word));

			plx_strv_append(&out, w);
			free(w);
			state = ' ';
		} else if ((state == '"' || state == '\'') && *p == state) {
			char *w = strndup(word + 1, (size_t)(p - word - 1));

			plx_strv_append(&out, w);
			free(w);
			state = ' ';
		}
	}
	if (state == 'a')
		plx_strv_append(&out, word);
	return out;
}

static void roundtrip(char *const *argv, const char *want)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	__do_free char *s = NULL;
	__do_strv_free char **back = NULL;

	assert_int_equal(pve_remote_entrypoint(argv, &s, &err), 0);
	if (want)
		assert_string_equal(s, want);
	back = lxc_split(s);
	assert_int_equal(plx_strv_len(back), plx_strv_len(argv));
	for (size_t i = 0; argv[i]; i++)
		assert_string_equal(back[i], argv[i]);
}

static void test_entrypoint(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	__do_free char *s = NULL;
	char *plain[] = {"/usr/bin/app", "--port", "8080", NULL};
	char *shell[] = {"/bin/sh", "-c", "echo 'a b'; sleep 1", NULL};
	char *dq[] = {"say", "\"hi there\"", "", "a\"b", "'x", NULL};
	char *both[] = {"sh", "-c", "echo \"a\" 'b'", NULL};
	char *ctl[] = {"sh", "-c", "a\nb", NULL};
	char *none[] = {NULL};

	roundtrip(plain, "/usr/bin/app --port 8080");
	roundtrip(shell, "/bin/sh -c \"echo 'a b'; sleep 1\"");
	roundtrip(dq, "say '\"hi there\"' \"\" a\"b \"'x\"");

	assert_int_equal(pve_remote_entrypoint(both, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "argument 2"));
	assert_non_null(strstr(err.msg, "both quote characters"));
	plx_err_clear(&err);
	assert_int_equal(pve_remote_entrypoint(ctl, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "control character"));
	plx_err_clear(&err);
	assert_int_equal(pve_remote_entrypoint(none, &s, &err), -EINVAL);
}

static void test_env(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	char *env[] = {"PATH=/bin", "A=x y", "EMPTY=", NULL};
	json_t *s = NULL;

	assert_int_equal(pve_remote_env(env, &s, &err), 0);
	assert_int_equal(json_string_length(s),
			 strlen("PATH=/bin") + 1 + strlen("A=x y") + 1 + strlen("EMPTY="));
	assert_memory_equal(json_string_value(s), "PATH=/bin\0A=x y\0EMPTY=", json_string_length(s));
	json_decref(s);
	assert_int_equal(pve_remote_env(NULL, &s, &err), 0);
	assert_int_equal(json_string_length(s), 0);
	json_decref(s);
}

static void test_name_map(void **state)
{
	json_t *cfg = json_pack("{s:s}", "description", "managed by proxmox-lxcri, container web\n");
	__do_free char *d = pve_remote_description("web");

	assert_string_equal(d, "managed by proxmox-lxcri, container web");
	assert_true(pve_remote_config_is(cfg, "web"));
	assert_false(pve_remote_config_is(cfg, "we"));
	assert_false(pve_remote_config_is(cfg, "web2"));
	json_object_set_new(cfg, "description", json_string("managed by someone else, container web"));
	assert_false(pve_remote_config_is(cfg, "web"));
	json_object_del(cfg, "description");
	assert_false(pve_remote_config_is(cfg, "web"));
	json_decref(cfg);

	assert_true(pve_remote_has_tag("proxmox-lxcri"));
	assert_true(pve_remote_has_tag("prod;proxmox-lxcri"));
	assert_true(pve_remote_has_tag("a, proxmox-lxcri b"));
	assert_false(pve_remote_has_tag("proxmox-lxcri2;x"));
	assert_false(pve_remote_has_tag(""));
	assert_false(pve_remote_has_tag(NULL));

	assert_true(pve_remote_vmid_taken(
		"POST /nodes/pve/lxc: PVE answered 500 CT 100 already exists on node 'b'", 100));
	assert_true(pve_remote_vmid_taken("unable to create CT 7 - VM 7 already exists on node 'b'", 7));
	assert_false(pve_remote_vmid_taken("CT 1000 already exists", 100));
	assert_false(pve_remote_vmid_taken("storage 'x' is full", 100));
}

static void test_snapname(void **state)
{
	char s[32];

	assert_int_equal(pve_remote_snapname(s), 0);
	assert_int_equal(strlen(s), 4 + 14);
	assert_memory_equal(s, "snap", 4);
	for (size_t i = 4; s[i]; i++)
		assert_true(isdigit((unsigned char)s[i]));
}

static void test_create_params(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	char *argv[] = {"/bin/sh", "-c", "run it", NULL};
	char *env[] = {"A=1", "B=2", NULL};
	struct pve_remote_create_opts o = {
		.name = "web", .storage = "local-zfs", .memory = 512, .entrypoint = argv, .env = env};
	json_t *p = NULL;

	assert_int_equal(pve_remote_create_params(&o, 123, "local:vztmpl/t.tar.zst", &p, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "vmid")), 123);
	assert_string_equal(json_string_value(json_object_get(p, "hostname")), "web");
	assert_string_equal(json_string_value(json_object_get(p, "ostemplate")), "local:vztmpl/t.tar.zst");
	assert_string_equal(json_string_value(json_object_get(p, "rootfs")), "local-zfs:8");
	assert_string_equal(json_string_value(json_object_get(p, "entrypoint")), "/bin/sh -c \"run it\"");
	assert_memory_equal(json_string_value(json_object_get(p, "env")), "A=1\0B=2", 7);
	assert_string_equal(json_string_value(json_object_get(p, "tags")), "proxmox-lxcri");
	assert_string_equal(json_string_value(json_object_get(p, "description")),
			    "managed by proxmox-lxcri, container web");
	assert_true(json_is_true(json_object_get(p, "unprivileged")));
	assert_string_equal(json_string_value(json_object_get(p, "ostype")), "unmanaged");
	assert_int_equal(json_integer_value(json_object_get(p, "memory")), 512);
	/* unset: PVE's defaults, not ours */
	assert_null(json_object_get(p, "cores"));
	assert_null(json_object_get(p, "net0"));
	json_decref(p);

	o.env = NULL;
	o.rootfs_gb = 2;
	o.net0 = "name=eth0,bridge=vmbr0";
	assert_int_equal(pve_remote_create_params(&o, 100, "x", &p, &err), 0);
	assert_null(json_object_get(p, "env"));
	assert_string_equal(json_string_value(json_object_get(p, "rootfs")), "local-zfs:2");
	assert_string_equal(json_string_value(json_object_get(p, "net0")), "name=eth0,bridge=vmbr0");
	json_decref(p);
}

static void test_template_name(void **state)
{
	__do_free char *n = plx_pve_template_name(
		"sha256:5c47e62fa41cfeed5140df20c50ee8470526ede94c8786e30abda02997c8efae");

	assert_string_equal(n,
			    "proxmox-lxcri-5c47e62fa41cfeed5140df20c50ee8470526ede94c8786e30abda02997c8efae"
			    ".tar.zst");
	assert_null(plx_pve_template_name("sha256:abc"));
	assert_null(plx_pve_template_name(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entrypoint),    cmocka_unit_test(test_env),
		cmocka_unit_test(test_name_map),      cmocka_unit_test(test_snapname),
		cmocka_unit_test(test_create_params), cmocka_unit_test(test_template_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
