/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* The template as "runc spec" writes it: dumped to text, parsed, validated. */
static struct oci_spec *round_trip(bool rootless, uid_t uid, gid_t gid)
{
	__do_free char *text = NULL;
	struct plx_err err = PLX_ERR_INIT;
	struct oci_spec *s = NULL;
	json_t *t = oci_spec_template(rootless, uid, gid);

	assert_non_null(t);
	text = json_dumps(t, JSON_INDENT(8));
	json_decref(t);
	assert_non_null(text);
	if (oci_spec_parse(text, strlen(text), "config.json", &s, &err) < 0)
		fail_msg("template does not parse: %s", err.msg);
	if (oci_spec_validate(s, &err) < 0)
		fail_msg("template does not validate: %s", err.msg);
	return s;
}

static const struct oci_mount *find_mount(const struct oci_spec *s, const char *dst)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dst) == 0)
			return &s->mounts[i];
	return NULL;
}

static void test_default(void **state)
{
	__do_oci_spec_free struct oci_spec *s = round_trip(false, 0, 0);
	const struct oci_process *p = s->process;
	const struct oci_mount *m;

	assert_string_equal(s->oci_version, OCI_RUNTIME_SPEC_VERSION);
	assert_true(p->terminal);
	assert_int_equal(p->user.uid, 0);
	assert_int_equal(p->user.gid, 0);
	assert_string_equal(p->args[0], "sh");
	assert_null(p->args[1]);
	assert_string_equal(p->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(p->env[1], "TERM=xterm");
	assert_string_equal(p->cwd, "/");
	assert_int_equal(plx_strv_len(p->capabilities->bounding), 3);
	assert_true(plx_strv_contains(p->capabilities->effective, "CAP_NET_BIND_SERVICE"));
	assert_true(plx_strv_contains(p->capabilities->permitted, "CAP_AUDIT_WRITE"));
	assert_null(p->capabilities->ambient);
	assert_int_equal(p->n_rlimits, 1);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[0].hard, 1024);
	assert_true(p->no_new_privileges);
	assert_string_equal(s->root->path, "rootfs");
	assert_true(s->root->readonly);
	assert_string_equal(s->hostname, "proxmox-lxcri");

	assert_int_equal(s->n_mounts, 7);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_string_equal(s->mounts[0].type, "proc");
	m = find_mount(s, "/dev");
	assert_true(plx_strv_contains(m->options, "size=65536k"));
	assert_true(plx_strv_contains(m->options, "strictatime"));
	m = find_mount(s, "/dev/pts");
	assert_string_equal(m->type, "devpts");
	assert_true(plx_strv_contains(m->options, "gid=5"));
	assert_true(plx_strv_contains(m->options, "ptmxmode=0666"));
	m = find_mount(s, "/dev/shm");
	assert_string_equal(m->source, "shm");
	assert_true(plx_strv_contains(m->options, "mode=1777"));
	assert_string_equal(find_mount(s, "/dev/mqueue")->type, "mqueue");
	m = find_mount(s, "/sys");
	assert_string_equal(m->type, "sysfs");
	assert_true(plx_strv_contains(m->options, "ro"));
	m = find_mount(s, "/sys/fs/cgroup");
	assert_string_equal(m->type, "cgroup");
	assert_true(plx_strv_contains(m->options, "relatime"));

	assert_int_equal(s->linux->resources->n_devices, 1);
	assert_false(s->linux->resources->devices[0].allow);
	assert_int_equal(s->linux->resources->devices[0].type, 'a');
	assert_string_equal(s->linux->resources->devices[0].access, "rwm");
	assert_int_equal(s->linux->n_namespaces, 6);
	assert_non_null(oci_spec_namespace(s, "pid"));
	assert_non_null(oci_spec_namespace(s, "network"));
	assert_non_null(oci_spec_namespace(s, "ipc"));
	assert_non_null(oci_spec_namespace(s, "uts"));
	assert_non_null(oci_spec_namespace(s, "mount"));
	assert_non_null(oci_spec_namespace(s, "cgroup"));
	assert_null(oci_spec_namespace(s, "user"));
	assert_int_equal(s->linux->n_uid_mappings, 0);
	assert_int_equal(plx_strv_len(s->linux->masked_paths), 10);
	assert_string_equal(s->linux->masked_paths[0], "/proc/acpi");
	assert_string_equal(s->linux->masked_paths[9], "/proc/scsi");
	assert_int_equal(plx_strv_len(s->linux->readonly_paths), 5);
	assert_string_equal(s->linux->readonly_paths[4], "/proc/sysrq-trigger");
}

static void test_rootless(void **state)
{
	__do_oci_spec_free struct oci_spec *s = round_trip(true, 4000000000u, 1234);
	const struct oci_mount *m;

	assert_non_null(oci_spec_namespace(s, "user"));
	assert_null(oci_spec_namespace(s, "network"));
	assert_null(oci_spec_namespace(s, "cgroup"));
	assert_non_null(oci_spec_namespace(s, "pid"));
	assert_non_null(oci_spec_namespace(s, "mount"));
	assert_int_equal(s->linux->n_namespaces, 5);
	assert_int_equal(s->linux->n_uid_mappings, 1);
	assert_int_equal(s->linux->uid_mappings[0].container_id, 0);
	assert_int_equal(s->linux->uid_mappings[0].host_id, 4000000000u);
	assert_int_equal(s->linux->uid_mappings[0].size, 1);
	assert_int_equal(s->linux->gid_mappings[0].host_id, 1234);
	assert_null(s->linux->resources);
	m = find_mount(s, "/sys");
	assert_string_equal(m->type, "none");
	assert_string_equal(m->source, "/sys");
	assert_string_equal(m->options[0], "rbind");
	assert_true(plx_strv_contains(m->options, "ro"));
	assert_false(plx_strv_contains(find_mount(s, "/dev/pts")->options, "gid=5"));
	assert_null(find_mount(s, "/sys/fs/cgroup"));
	assert_int_equal(plx_strv_len(s->linux->masked_paths), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_rootless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
