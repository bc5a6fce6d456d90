/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI hook runner: real hooks run through /bin/sh. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/hook.h"
#include "util/cleanup.h"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/plx-hook-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static char *slurp(const char *dir, const char *name)
{
	char path[256], *buf = calloc(1, 65536);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	__do_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	ssize_t n = read(fd, buf, 65535);
	assert_true(n >= 0);
	return buf;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_state_on_stdin_args_env(void **state)
{
	struct fixture *f = *state;
	char script[256], dirvar[128];
	snprintf(script, sizeof(script),
		 "cat > \"$D/state\"; echo \"$0|$1|$V|$(/usr/bin/env | grep -c ^PATH=)\" > \"$D/argv\"");
	snprintf(dirvar, sizeof(dirvar), "D=%s", f->dir);
	char *args[] = { "sh", "-c", script, "zero", "one", NULL };
	char *env[] = { dirvar, "V=vee", NULL };
	struct oci_hook h = { .path = "/bin/sh", .args = args, .env = env };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_hook_run(&h, "createRuntime", 0, "{\"id\":\"c1\"}", &err), 0);
	__do_free char *st = slurp(f->dir, "state");
	__do_free char *argv = slurp(f->dir, "argv");
	assert_string_equal(st, "{\"id\":\"c1\"}");
	/* args[0] is argv[0]; the environment is exactly env (no PATH) */
	assert_string_equal(argv, "zero|one|vee|0\n");
}

static void test_no_args_means_argv_is_path(void **state)
{
	struct fixture *f = *state;
	char path[128], body[256];

	snprintf(path, sizeof(path), "%s/hook.sh", f->dir);
	snprintf(body, sizeof(body), "#!/bin/sh\necho \"$0 $#\" > %s/argv0\n", f->dir);
	__do_close int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	plx_closep(&fd);
	struct oci_hook h = { .path = path };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_hook_run(&h, "poststart", 0, "", &err), 0);
	__do_free char *argv0 = slurp(f->dir, "argv0");
	char expect[200];
	snprintf(expect, sizeof(expect), "%s 0\n", path);
	assert_string_equal(argv0, expect);
}

static void test_exit_status_message_with_output(void **state)
{
	char *args[] = { "sh", "-c", "echo to-stdout; echo boom >&2; exit 3", NULL };
	struct oci_hook h = { .path = "/bin/sh", .args = args };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_hook_run(&h, "createRuntime", 2, "{}", &err), -ECHILD);
	assert_string_equal(err.msg,
			    "createRuntime hook #2 (/bin/sh): exit status 3, output: to-stdout\nboom");
	plx_err_clear(&err);
}

static void test_killed_by_signal(void **state)
{
	char *args[] = { "sh", "-c", "kill -9 $$", NULL };
	struct oci_hook h = { .path = "/bin/sh", .args = args };
	struct plx_err err = PLX_ERR_INIT;

	assert_true(plx_hook_run(&h, "poststop", 0, "{}", &err) < 0);
	assert_string_equal(err.msg, "poststop hook #0 (/bin/sh): killed by signal 9");
	plx_err_clear(&err);
}

static void test_timeout_kills_within_a_second(void **state)
{
	char *args[] = { "sh", "-c", "echo started; exec sleep 30", NULL };
	struct oci_hook h = { .path = "/bin/sh", .args = args, .has_timeout = true, .timeout = 1 };
	struct plx_err err = PLX_ERR_INIT;

	double t0 = now();
	assert_int_equal(plx_hook_run(&h, "prestart", 1, "{}", &err), -ETIMEDOUT);
	double elapsed = now() - t0;
	assert_true(elapsed >= 0.9 && elapsed < 2.5);
	assert_string_equal(err.msg, "prestart hook #1 (/bin/sh): timed out after 1s, output: started");
	plx_err_clear(&err);
}

static void test_exec_failure(void **state)
{
	struct oci_hook h = { .path = "/nonexistent/hook" };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_hook_run(&h, "createContainer", 0, "{}", &err), -ENOENT);
	assert_string_equal(err.msg,
			    "createContainer hook #0 (/nonexistent/hook): exec: No such file or directory");
	plx_err_clear(&err);
}

static void test_hook_ignoring_a_large_state(void **state)
{
	/* more than a pipe holds: the runner must neither block nor die of SIGPIPE */
	size_t len = 1 << 20;
	__do_free char *big = malloc(len + 1);
	memset(big, 'x', len);
	big[len] = '\0';
	char *args[] = { "sh", "-c", "exit 0", NULL };
	struct oci_hook h = { .path = "/bin/sh", .args = args, .has_timeout = true, .timeout = 5 };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_hook_run(&h, "poststart", 0, big, &err), 0);

	/* and one that reads it all gets every byte */
	char *wc[] = { "sh", "-c", "test \"$(wc -c)\" -eq 1048576", NULL };
	h.args = wc;
	assert_int_equal(plx_hook_run(&h, "poststart", 0, big, &err), 0);
}

static void test_list_stops_at_first_failure(void **state)
{
	struct fixture *f = *state;
	char dirvar[128];
	snprintf(dirvar, sizeof(dirvar), "D=%s", f->dir);
	char *ok[] = { "sh", "-c", "touch \"$D/first\"", NULL };
	char *bad[] = { "sh", "-c", "exit 1", NULL };
	char *never[] = { "sh", "-c", "touch \"$D/third\"", NULL };
	char *env[] = { dirvar, NULL };
	struct oci_hook v[] = {
		{ .path = "/bin/sh", .args = ok, .env = env },
		{ .path = "/bin/sh", .args = bad, .env = env },
		{ .path = "/bin/sh", .args = never, .env = env },
	};
	struct oci_hook_list l = { .v = v, .n = 3 };
	struct oci_hook_list empty = { 0 };
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_hooks_run(&empty, "poststop", "{}", &err), 0);
	assert_int_equal(plx_hooks_run(&l, "startContainer", "{}", &err), -ECHILD);
	assert_string_equal(err.msg, "startContainer hook #1 (/bin/sh): exit status 1");
	__do_free char *first = slurp(f->dir, "first");
	__do_free char *third = slurp(f->dir, "third");
	assert_non_null(first);
	assert_null(third);
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_on_stdin_args_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_args_means_argv_is_path, setup, teardown),
		cmocka_unit_test(test_exit_status_message_with_output),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_timeout_kills_within_a_second),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_hook_ignoring_a_large_state),
		cmocka_unit_test_setup_teardown(test_list_stops_at_first_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
