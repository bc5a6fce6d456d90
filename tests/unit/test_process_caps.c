/* SPDX-License-Identifier: Apache-2.0 */
/* Capability names and sets; the sets are applied in forked children (needs root for those). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/caps.h"
#include "process/identity.h"

static void test_names(void **state)
{
	cap_value_t v = -1;

	assert_int_equal(plx_cap_from_name("CAP_CHOWN", &v), 0);
	assert_int_equal(v, CAP_CHOWN);
	assert_int_equal(plx_cap_from_name("CAP_KILL", &v), 0);
	assert_int_equal(v, CAP_KILL);
	assert_int_equal(plx_cap_from_name("CAP_SYS_ADMIN", &v), 0);
	assert_int_equal(v, CAP_SYS_ADMIN);
	assert_int_equal(plx_cap_from_name("CAP_NET_BIND_SERVICE", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(plx_cap_from_name("CAP_CHECKPOINT_RESTORE", &v), 0);
	assert_int_equal(v, 40);
	/* libcap's other spellings are not OCI names */
	assert_int_equal(plx_cap_from_name("cap_chown", &v), -EINVAL);
	assert_int_equal(plx_cap_from_name("12", &v), -EINVAL);
	assert_int_equal(plx_cap_from_name("CHOWN", &v), -EINVAL);
	assert_int_equal(plx_cap_from_name("CAP_FOO", &v), -EINVAL);
	assert_int_equal(plx_cap_from_name("", &v), -EINVAL);
	assert_int_equal(plx_cap_from_name(NULL, &v), -EINVAL);
}

static void test_mask(void **state)
{
	char *names[] = { "CAP_CHOWN", "CAP_KILL", "CAP_FOO", "CAP_KILL", NULL };

	assert_int_equal(plx_caps_mask(names, "effective"), (1u << CAP_CHOWN) | (1u << CAP_KILL));
	assert_int_equal(plx_caps_mask(NULL, "ambient"), 0);
}

/* "CapEff" etc. of /proc/self/status as a number */
static unsigned long long status_caps(const char *field)
{
	char line[256];
	unsigned long long v = ~0ULL;
	size_t flen = strlen(field);

	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			v = strtoull(line + flen + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static int run_child(int (*fn)(void))
{
	int status;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static const unsigned long long KILL_BIND = (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE);

static int child_root_sets(void)
{
	char *both[] = { "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	char *kill_only[] = { "CAP_KILL", NULL };
	struct oci_capabilities c = { .bounding = both,
				      .effective = kill_only,
				      .permitted = both,
				      .inheritable = kill_only,
				      .ambient = kill_only };
	struct plx_err err = PLX_ERR_INIT;

	if (plx_caps_drop_bounding(&c, &err) < 0 || plx_caps_apply(&c, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 10;
	}
	if (status_caps("CapBnd") != KILL_BIND)
		return 11;
	if (status_caps("CapPrm") != KILL_BIND)
		return 12;
	if (status_caps("CapEff") != 1ULL << CAP_KILL)
		return 13;
	if (status_caps("CapInh") != 1ULL << CAP_KILL)
		return 14;
	if (status_caps("CapAmb") != 1ULL << CAP_KILL)
		return 15;
	return 0;
}

static void test_apply_as_root(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(run_child(child_root_sets), 0);
}

static int child_user_switch(void)
{
	char *kill_only[] = { "CAP_KILL", NULL };
	struct oci_capabilities c = { .bounding = kill_only,
				      .effective = kill_only,
				      .permitted = kill_only,
				      .inheritable = kill_only,
				      .ambient = kill_only };
	uint32_t gids[] = { 5, 7 };
	struct oci_user u = { .uid = 1000, .gid = 1001, .additional_gids = gids, .n_additional_gids = 2 };
	struct plx_err err = PLX_ERR_INIT;
	gid_t groups[8];

	/* the finalize order: bounding set, user with keepcaps, then the sets */
	if (plx_caps_drop_bounding(&c, &err) < 0 || plx_identity_switch(&u, true, &err) < 0 ||
	    plx_caps_apply(&c, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 10;
	}
	if (getuid() != 1000 || geteuid() != 1000 || getgid() != 1001 || getegid() != 1001)
		return 11;
	if (getgroups(8, groups) != 2 || groups[0] != 5 || groups[1] != 7)
		return 12;
	if (status_caps("CapEff") != 1ULL << CAP_KILL || status_caps("CapAmb") != 1ULL << CAP_KILL)
		return 13;
	if (prctl(PR_GET_KEEPCAPS) != 0)
		return 14;
	return 0;
}

static void test_user_switch_keeps_requested_caps(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(run_child(child_user_switch), 0);
}

static int child_user_without_caps(void)
{
	struct oci_user u = { .uid = 1000, .gid = 1000 };
	struct plx_err err = PLX_ERR_INIT;

	/* no process.capabilities: the kernel clears them at the uid change */
	if (plx_identity_switch(&u, false, &err) < 0)
		return 10;
	return status_caps("CapEff") == 0 && status_caps("CapPrm") == 0 ? 0 : 11;
}

static void test_user_switch_without_caps(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(run_child(child_user_without_caps), 0);
}

/* runc's template: ambient capabilities that are not inheritable are skipped, not fatal */
static int child_ambient_not_inheritable(void)
{
	char *both[] = { "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	char *kill_only[] = { "CAP_KILL", NULL };
	struct oci_capabilities c = { .bounding = both,
				      .effective = both,
				      .permitted = both,
				      .inheritable = kill_only,
				      .ambient = both };
	struct plx_err err = PLX_ERR_INIT;

	if (plx_caps_drop_bounding(&c, &err) < 0 || plx_caps_apply(&c, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 10;
	}
	if (status_caps("CapAmb") != 1ULL << CAP_KILL)
		return 11;
	if (status_caps("CapPrm") != KILL_BIND)
		return 12;
	return 0;
}

static void test_ambient_not_inheritable_is_skipped(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(run_child(child_ambient_not_inheritable), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_apply_as_root),
		cmocka_unit_test(test_ambient_not_inheritable_is_skipped),
		cmocka_unit_test(test_user_switch_keeps_requested_caps),
		cmocka_unit_test(test_user_switch_without_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
