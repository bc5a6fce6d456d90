/* SPDX-License-Identifier: Apache-2.0 */
/* Building seccomp filters from OCI structs, checked through libseccomp's PFC export (nothing is loaded). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/seccomp_filter.h"
#include "util/cleanup.h"

/* The filter as libseccomp's pseudo filter code; NULL when building failed (err set). */
static char *build_pfc(const struct oci_seccomp *s, struct plx_err *err)
{
	scmp_filter_ctx ctx = NULL;
	char *text;

	if (plx_seccomp_build(s, &ctx, err) < 0)
		return NULL;
	__do_close int fd = memfd_create("pfc", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
	seccomp_release(ctx);
	off_t size = lseek(fd, 0, SEEK_END);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)size, 0), size);
	return text;
}

static char *names_mkdir[] = { "mkdir", "mkdirat", NULL };

static void test_errno_rule_and_default(void **state)
{
	struct oci_syscall sc = {
		.names = names_mkdir, .action = "SCMP_ACT_ERRNO", .has_errno_ret = true, .errno_ret = 1
	};
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	struct plx_err err = PLX_ERR_INIT;

	__do_free char *pfc = build_pfc(&s, &err);
	assert_non_null(pfc);
	assert_non_null(strstr(pfc, "syscall \"mkdir\""));
	assert_non_null(strstr(pfc, "syscall \"mkdirat\""));
	assert_non_null(strstr(pfc, "action ERRNO(1);"));
	assert_non_null(strstr(pfc, "# default action\n  action ALLOW;"));
}

static void test_errno_defaults_to_eperm(void **state)
{
	char *names[] = { "getpid", NULL };
	struct oci_syscall sc = { .names = names, .action = "SCMP_ACT_ALLOW" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ERRNO", .syscalls = &sc, .n_syscalls = 1 };
	struct plx_err err = PLX_ERR_INIT;

	__do_free char *pfc = build_pfc(&s, &err);
	assert_non_null(pfc);
	assert_non_null(strstr(pfc, "# default action\n  action ERRNO(1);"));
	assert_non_null(strstr(pfc, "syscall \"getpid\""));

	/* defaultErrnoRet wins */
	s.has_default_errno_ret = true;
	s.default_errno_ret = ENOSYS;
	__do_free char *pfc2 = build_pfc(&s, &err);
	assert_non_null(pfc2);
	assert_non_null(strstr(pfc2, "# default action\n  action ERRNO(38);"));
}

static void test_actions(void **state)
{
	uint32_t a;

	assert_int_equal(plx_seccomp_action("SCMP_ACT_KILL", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_KILL_THREAD);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_KILL_PROCESS", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_KILL_PROCESS);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_KILL_THREAD", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_KILL_THREAD);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_TRAP", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_TRAP);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_ERRNO", true, 13, &a), 0);
	assert_int_equal(a, SCMP_ACT_ERRNO(13));
	assert_int_equal(plx_seccomp_action("SCMP_ACT_TRACE", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_TRACE(EPERM));
	assert_int_equal(plx_seccomp_action("SCMP_ACT_ALLOW", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_ALLOW);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_LOG", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_LOG);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_NOTIFY", false, 0, &a), 0);
	assert_int_equal(a, SCMP_ACT_NOTIFY);
	assert_int_equal(plx_seccomp_action("SCMP_ACT_BOGUS", false, 0, &a), -EINVAL);
	assert_int_equal(plx_seccomp_action(NULL, false, 0, &a), -EINVAL);
}

static void test_unknown_syscall_skipped_and_default_equal_dropped(void **state)
{
	char *names1[] = { "no_such_syscall", "getppid", NULL };
	char *names2[] = { "getpid", NULL };
	struct oci_syscall sc[] = {
		{ .names = names1, .action = "SCMP_ACT_LOG" },
		/* same as the default: libseccomp would refuse it, runc drops it */
		{ .names = names2, .action = "SCMP_ACT_ALLOW" },
	};
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = sc, .n_syscalls = 2 };
	struct plx_err err = PLX_ERR_INIT;

	__do_free char *pfc = build_pfc(&s, &err);
	assert_non_null(pfc);
	assert_non_null(strstr(pfc, "syscall \"getppid\""));
	assert_non_null(strstr(pfc, "action LOG;"));
	assert_null(strstr(pfc, "no_such_syscall"));
	assert_null(strstr(pfc, "\"getpid\""));
}

static void test_args_and_masked_eq(void **state)
{
	char *pers[] = { "personality", NULL };
	char *clone[] = { "clone", NULL };
	struct oci_seccomp_arg pers_args[] = { { .index = 0, .value = 0xffffffff, .op = "SCMP_CMP_EQ" } };
	struct oci_seccomp_arg clone_args[] = {
		{ .index = 0,
		  .value = 0x7E020000,
		  .has_value_two = true,
		  .value_two = 0,
		  .op = "SCMP_CMP_MASKED_EQ" },
	};
	struct oci_syscall sc[] = {
		{ .names = pers, .action = "SCMP_ACT_KILL_PROCESS", .args = pers_args, .n_args = 1 },
		{ .names = clone,
		  .action = "SCMP_ACT_ERRNO",
		  .has_errno_ret = true,
		  .errno_ret = 38,
		  .args = clone_args,
		  .n_args = 1 },
	};
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = sc, .n_syscalls = 2 };
	struct plx_err err = PLX_ERR_INIT;

	__do_free char *pfc = build_pfc(&s, &err);
	assert_non_null(pfc);
	assert_non_null(strstr(pfc, "if ($a0.lo32 == 4294967295)\n        action KILL_PROCESS;"));
	/* value is the mask, valueTwo the datum */
	assert_non_null(strstr(pfc, "if ($a0.lo32 & 0x7e020000 == 0)\n        action ERRNO(38);"));
}

static void test_same_index_becomes_separate_rules(void **state)
{
	char *names[] = { "personality", NULL };
	/* both conditions on a0 can never hold at once; runc adds one rule per condition */
	struct oci_seccomp_arg args[] = {
		{ .index = 0, .value = 8, .op = "SCMP_CMP_EQ" },
		{ .index = 0, .value = 0x20008, .op = "SCMP_CMP_EQ" },
	};
	struct oci_syscall sc = { .names = names, .action = "SCMP_ACT_ERRNO", .args = args, .n_args = 2 };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	struct plx_err err = PLX_ERR_INIT;

	__do_free char *pfc = build_pfc(&s, &err);
	assert_non_null(pfc);
	assert_non_null(strstr(pfc, "($a0.lo32 == 8)"));
	assert_non_null(strstr(pfc, "($a0.lo32 == 131080)"));
}

static void test_architectures_and_flags(void **state)
{
	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
			  "SECCOMP_FILTER_FLAG_TSYNC", NULL };
	struct oci_syscall sc = { .names = names_mkdir, .action = "SCMP_ACT_ERRNO" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				 .architectures = arches,
				 .flags = flags,
				 .syscalls = &sc,
				 .n_syscalls = 1 };
	struct plx_err err = PLX_ERR_INIT;
	scmp_filter_ctx ctx = NULL;
	uint32_t v = 0;

	__do_free char *pfc = build_pfc(&s, &err);
	assert_non_null(pfc);
	assert_non_null(strstr(pfc, "# filter for arch x86_64"));
	assert_non_null(strstr(pfc, "# filter for arch x86 "));
	assert_non_null(strstr(pfc, "# filter for arch x32"));

	assert_int_equal(plx_seccomp_build(&s, &ctx, &err), 0);
	/* the filter never sets no_new_privs itself: that is process.noNewPrivileges' job */
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_TSYNC, &v), 0);
	assert_int_equal(v, 1);
	if (seccomp_api_get() >= 3) {
		assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_LOG, &v), 0);
		assert_int_equal(v, 1);
	}
	if (seccomp_api_get() >= 4) {
		assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_SSB, &v), 0);
		assert_int_equal(v, 1);
	}
	seccomp_release(ctx);
}

static void expect_error(const struct oci_seccomp *s, const char *msg)
{
	struct plx_err err = PLX_ERR_INIT;
	scmp_filter_ctx ctx = NULL;

	assert_true(plx_seccomp_build(s, &ctx, &err) < 0);
	assert_null(ctx);
	assert_string_equal(err.msg, msg);
	plx_err_clear(&err);
}

static void test_errors(void **state)
{
	char *bad_arch[] = { "SCMP_ARCH_VAX", NULL };
	char *bad_flag[] = { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };
	char *sendmsg[] = { "sendmsg", NULL };
	struct oci_seccomp_arg bad_index[] = { { .index = 6, .op = "SCMP_CMP_EQ" } };
	struct oci_seccomp_arg bad_op[] = { { .index = 1, .op = "SCMP_CMP_LIKE" } };
	struct oci_syscall sc = { .names = names_mkdir, .action = "SCMP_ACT_MAYBE" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_FOO" };

	expect_error(&s, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
	s.default_action = "SCMP_ACT_NOTIFY";
	expect_error(&s, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	s.default_action = "SCMP_ACT_ALLOW";
	s.architectures = bad_arch;
	expect_error(&s, "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"");
	s.architectures = NULL;
	s.flags = bad_flag;
	const struct scmp_version *v = seccomp_version();
	if (v->major == 2 && v->minor < 6) {
		char msg[200];
		snprintf(
			msg, sizeof(msg),
			"linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs libseccomp >= 2.6 "
			"(have %u.%u.%u)",
			v->major, v->minor, v->micro);
		expect_error(&s, msg);
	}
	s.flags = NULL;
	s.syscalls = &sc;
	s.n_syscalls = 1;
	expect_error(&s, "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_MAYBE\"");
	sc.action = "SCMP_ACT_NOTIFY";
	sc.names = sendmsg;
	expect_error(&s, "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg "
			 "(the init hands the notify fd over with it)");
	sc.action = "SCMP_ACT_ERRNO";
	sc.names = names_mkdir;
	sc.args = bad_index;
	sc.n_args = 1;
	expect_error(&s, "linux.seccomp.syscalls[0].args[0].index: 6 out of range 0..5");
	sc.args = bad_op;
	expect_error(&s, "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_LIKE\"");
}

static void test_notify_needs_listener(void **state)
{
	char *acct[] = { "acct", NULL };
	struct oci_syscall sc = { .names = acct, .action = "SCMP_ACT_NOTIFY" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	struct plx_err err = PLX_ERR_INIT;

	assert_true(plx_seccomp_uses_notify(&s));
	/* both fail before anything is loaded into this test process */
	assert_int_equal(plx_seccomp_load(&s, -1, "{}", &err), -EINVAL);
	assert_string_equal(err.msg, "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
	s.listener_path = "/run/agent.sock";
	assert_int_equal(plx_seccomp_load(&s, -1, "{}", &err), -ENOTCONN);
	assert_string_equal(
		err.msg,
		"linux.seccomp.listenerPath /run/agent.sock: no connection to the seccomp agent was passed");
	plx_err_clear(&err);

	sc.action = "SCMP_ACT_ERRNO";
	assert_false(plx_seccomp_uses_notify(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_rule_and_default),
		cmocka_unit_test(test_errno_defaults_to_eperm),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_unknown_syscall_skipped_and_default_equal_dropped),
		cmocka_unit_test(test_args_and_masked_eq),
		cmocka_unit_test(test_same_index_becomes_separate_rules),
		cmocka_unit_test(test_architectures_and_flags),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_notify_needs_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
