/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <lxc/lxccontainer.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config-build.h"
#include "core/runtime_features.h"
#include "oci/spec.h"

static bool array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	assert_true(json_is_array(a));
	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static json_t *path(json_t *doc, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(doc, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	assert_non_null(v);
	return v;
}

static void test_versions_and_hooks(void **state)
{
	json_t *f = plx_features();

	assert_non_null(f);
	assert_string_equal(json_string_value(path(f, "ociVersionMin", NULL, NULL)), "1.0.0");
	assert_string_equal(json_string_value(path(f, "ociVersionMax", NULL, NULL)),
			    OCI_RUNTIME_SPEC_VERSION);
	assert_int_equal(json_array_size(path(f, "hooks", NULL, NULL)), 6);
	assert_true(array_has(path(f, "hooks", NULL, NULL), "prestart"));
	assert_true(array_has(path(f, "hooks", NULL, NULL), "poststop"));
	assert_true(array_has(path(f, "mountOptions", NULL, NULL), "rbind"));
	/* runc extensions the engine refuses are not claimed */
	assert_false(array_has(path(f, "mountOptions", NULL, NULL), "tmpcopyup"));
	assert_false(array_has(path(f, "mountOptions", NULL, NULL), "rro"));
	/* idmapped bind mounts through liblxc's idmap=container */
	assert_true(array_has(path(f, "mountOptions", NULL, NULL), "idmap"));
	json_decref(f);
}

static void test_linux(void **state)
{
	json_t *f = plx_features();
	json_t *ns = path(f, "linux", "namespaces", NULL);
	json_t *caps = path(f, "linux", "capabilities", NULL);

	assert_int_equal(json_array_size(ns), 8);
	assert_true(array_has(ns, "user"));
	assert_true(array_has(ns, "time"));
	/* upper case, as the spec spells them; at least the caps every kernel since 5.9 has */
	assert_true(array_has(caps, "CAP_CHOWN"));
	assert_true(array_has(caps, "CAP_SYS_ADMIN"));
	assert_true(array_has(caps, "CAP_CHECKPOINT_RESTORE"));
	assert_true(json_is_true(path(f, "linux", "cgroup", "v1")));
	assert_true(json_is_true(path(f, "linux", "cgroup", "v2")));
	assert_true(json_is_false(path(f, "linux", "cgroup", "systemd")));
	assert_true(json_is_false(path(f, "linux", "cgroup", "rdma")));
	assert_true(json_is_false(path(f, "linux", "selinux", "enabled")));
	assert_true(json_is_false(path(f, "linux", "intelRdt", "enabled")));
	assert_int_equal(json_is_true(path(f, "linux", "apparmor", "enabled")),
			 access("/sys/kernel/security/apparmor", F_OK) == 0);
	assert_true(json_is_true(json_object_get(path(f, "linux", "mountExtensions", "idmap"), "enabled")));
	json_decref(f);
}

static void test_seccomp(void **state)
{
	json_t *f = plx_features();
	json_t *sc = path(f, "linux", "seccomp", NULL);

	assert_true(json_is_true(json_object_get(sc, "enabled")));
	assert_int_equal(json_array_size(json_object_get(sc, "actions")), 9);
	assert_true(array_has(json_object_get(sc, "actions"), "SCMP_ACT_NOTIFY"));
	assert_true(array_has(json_object_get(sc, "operators"), "SCMP_CMP_MASKED_EQ"));
	/* the arch we run on is always known to libseccomp */
	assert_true(array_has(json_object_get(sc, "archs"), "SCMP_ARCH_X86_64"));
	assert_true(array_has(json_object_get(sc, "archs"), "SCMP_ARCH_AARCH64"));
	assert_true(array_has(json_object_get(sc, "knownFlags"), "SECCOMP_FILTER_FLAG_LOG"));
	assert_true(json_array_size(json_object_get(sc, "supportedFlags")) <=
		    json_array_size(json_object_get(sc, "knownFlags")));
	json_decref(f);
}

static void test_annotations(void **state)
{
	json_t *f = plx_features();
	json_t *an = path(f, "annotations", NULL, NULL);

	assert_string_equal(json_string_value(json_object_get(an, "org.proxmox-lxcri.version")), PLX_VERSION);
	assert_string_equal(json_string_value(json_object_get(an, "org.proxmox-lxcri.liblxc.version")),
			    lxc_get_version());
	assert_non_null(json_string_value(json_object_get(an, "org.proxmox-lxcri.commit")));
	assert_non_null(strchr(json_string_value(json_object_get(an, "org.proxmox-lxcri.libseccomp.version")),
			       '.'));
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_and_hooks),
		cmocka_unit_test(test_linux),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_annotations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
