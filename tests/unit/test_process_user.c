/* SPDX-License-Identifier: Apache-2.0 */
/* The container's passwd/group, parsed by hand, and HOME in the process environment. */
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

#include "process/env.h"
#include "process/user.h"
#include "util/cleanup.h"

static char root[64];

static const char passwd[] = "# a comment\n"
			     "root:x:0:0:root:/root:/bin/sh\n"
			     "\n"
			     "garbage without colons\n"
			     "short:x:5\n"
			     "+nis:x:::::\n"
			     "bad:x:abc:1:::\n"
			     "big:x:4294967296:1:::\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "nohome:x:7:7:no home::/bin/sh\n"
			     "minimal:x:8:8\n"
			     "user:x:1000:1000:User,,,:/home/user:/bin/bash\n"
			     "dup:x:1000:1000::/home/dup:/bin/sh\n"
			     "crlf:x:9:9::/home/crlf:/bin/sh\r\n";

static const char group[] = "root:x:0:\n"
			    "broken\n"
			    "wheel:x:10:root,user,,admin\n"
			    "users:x:100\n";

static void write_file(const char *rel, const char *content)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	__do_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
}

static int setup(void **state)
{
	char etc[128];

	strcpy(root, "/tmp/plx-user-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(etc, sizeof(etc), "%s/etc", root);
	if (mkdir(etc, 0755) < 0)
		return -1;
	write_file("etc/passwd", passwd);
	write_file("etc/group", group);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_parse_passwd_line(void **state)
{
	struct plx_passwd pw;

	assert_int_equal(plx_passwd_parse_line("user:x:1000:1001:User:/home/user:/bin/bash\n", &pw), 0);
	assert_string_equal(pw.name, "user");
	assert_int_equal(pw.uid, 1000);
	assert_int_equal(pw.gid, 1001);
	assert_string_equal(pw.home, "/home/user");
	assert_string_equal(pw.shell, "/bin/bash");
	plx_passwd_clear(&pw);

	/* missing trailing fields are empty */
	assert_int_equal(plx_passwd_parse_line("m:x:8:9", &pw), 0);
	assert_string_equal(pw.home, "");
	assert_string_equal(pw.shell, "");
	plx_passwd_clear(&pw);

	/* a shell field with ':' keeps the rest */
	assert_int_equal(plx_passwd_parse_line("s:x:1:1:g:/h:/bin/sh:extra", &pw), 0);
	assert_string_equal(pw.shell, "/bin/sh:extra");
	plx_passwd_clear(&pw);

	const char *bad[] = { "",
			      "\n",
			      "# root:x:0:0::/root:/bin/sh",
			      "   ",
			      "nocolons",
			      "a:x:1",
			      ":x:1:1:::",
			      "a:x:-1:1:::",
			      "a:x:1x:1:::",
			      "a:x::1:::",
			      "a:x:1:4294967296:::",
			      "a:x: 1:1:::" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(plx_passwd_parse_line(bad[i], &pw), -EINVAL);
}

static void test_parse_group_line(void **state)
{
	struct plx_group gr;

	assert_int_equal(plx_group_parse_line("wheel:x:10:root,,admin\n", &gr), 0);
	assert_string_equal(gr.name, "wheel");
	assert_int_equal(gr.gid, 10);
	assert_string_equal(gr.members[0], "root");
	assert_string_equal(gr.members[1], "admin");
	assert_null(gr.members[2]);
	plx_group_clear(&gr);

	assert_int_equal(plx_group_parse_line("users:x:100", &gr), 0);
	assert_non_null(gr.members);
	assert_null(gr.members[0]);
	plx_group_clear(&gr);

	assert_int_equal(plx_group_parse_line("users:x", &gr), -EINVAL);
	assert_int_equal(plx_group_parse_line("users:x:abc:", &gr), -EINVAL);
	assert_int_equal(plx_group_parse_line("#users:x:1:", &gr), -EINVAL);
}

static void test_find_uid(void **state)
{
	struct plx_passwd pw;
	struct plx_err err = PLX_ERR_INIT;
	char msg[256];

	assert_int_equal(plx_passwd_find_uid(root, 1000, &pw, &err), 0);
	/* the first entry wins */
	assert_string_equal(pw.name, "user");
	assert_string_equal(pw.home, "/home/user");
	plx_passwd_clear(&pw);

	assert_int_equal(plx_passwd_find_uid(root, 9, &pw, &err), 0);
	assert_string_equal(pw.shell, "/bin/sh");
	plx_passwd_clear(&pw);

	assert_int_equal(plx_passwd_find_uid(root, 0, &pw, &err), 0);
	assert_string_equal(pw.home, "/root");
	plx_passwd_clear(&pw);

	/* malformed lines are skipped, not misread */
	assert_int_equal(plx_passwd_find_uid(root, 5, &pw, &err), -ENOENT);
	snprintf(msg, sizeof(msg), "uid 5 not found in %s/etc/passwd", root);
	assert_string_equal(err.msg, msg);

	assert_int_equal(plx_passwd_find_uid("/nonexistent", 0, &pw, &err), -ENOENT);
	assert_string_equal(err.msg, "open /nonexistent/etc/passwd: No such file or directory");
	plx_err_clear(&err);
}

static void test_find_gid(void **state)
{
	struct plx_group gr;
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_group_find_gid(root, 10, &gr, &err), 0);
	assert_string_equal(gr.name, "wheel");
	assert_string_equal(gr.members[1], "user");
	plx_group_clear(&gr);
	assert_int_equal(plx_group_find_gid(root, 100, &gr, &err), 0);
	assert_null(gr.members[0]);
	plx_group_clear(&gr);
	assert_int_equal(plx_group_find_gid(root, 4242, &gr, &err), -ENOENT);
	plx_err_clear(&err);
}

static void test_env_get(void **state)
{
	char *env[] = { "A=1", "PATH=/bin", "AB=2", "A=3", "EMPTY=", NULL };

	assert_string_equal(plx_env_get(env, "A"), "3"); /* last wins */
	assert_string_equal(plx_env_get(env, "AB"), "2");
	assert_string_equal(plx_env_get(env, "EMPTY"), "");
	assert_null(plx_env_get(env, "PAT"));
	assert_null(plx_env_get(NULL, "A"));
}

static void expect_home(uint32_t uid, char **env, const char *want_last)
{
	struct oci_process p = { .env = env, .user = { .uid = uid } };
	struct plx_err err = PLX_ERR_INIT;
	char **out = NULL;

	assert_int_equal(plx_process_env(&p, root, &out, &err), 0);
	size_t n = 0;
	while (out[n])
		n++;
	assert_true(n > 0);
	assert_string_equal(out[n - 1], want_last);
	plx_strv_freep(&out);
}

static void test_process_env_home(void **state)
{
	char *env[] = { "PATH=/bin", NULL };
	char *with_home[] = { "HOME=/custom", "X=y", NULL };

	expect_home(1000, env, "HOME=/home/user");
	expect_home(0, NULL, "HOME=/root");
	/* an explicit HOME is kept, nothing added */
	expect_home(1000, with_home, "X=y");
	/* unknown uid, empty home field: "/" */
	expect_home(4242, env, "HOME=/");
	expect_home(7, env, "HOME=/");

	/* no passwd at all: "/" too */
	struct oci_process p = { .env = env, .user = { .uid = 1000 } };
	struct plx_err err = PLX_ERR_INIT;
	char **out = NULL;
	assert_int_equal(plx_process_env(&p, "/nonexistent", &out, &err), 0);
	assert_string_equal(out[0], "PATH=/bin");
	assert_string_equal(out[1], "HOME=/");
	assert_null(out[2]);
	plx_strv_freep(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_passwd_line), cmocka_unit_test(test_parse_group_line),
		cmocka_unit_test(test_find_uid),	  cmocka_unit_test(test_find_gid),
		cmocka_unit_test(test_env_get),		  cmocka_unit_test(test_process_env_home),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
