/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of checkpoint/restore: the in-progress marker, names,
 * retention, which snapshot restore picks, the criu check error and the
 * criu dump command line; and recovery from a marker a dead checkpoint left.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/checkpoint.h"
#include "core/criu.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static struct plx_storage_snapshot snaps3[] = {
	{ .name = "checkpoint-100", .created = 100, .size = 1 },
	{ .name = "mine", .created = 101, .size = 2 },
	{ .name = "checkpoint-102", .created = 102, .size = -1 },
};

static void test_marker_roundtrip(void **state)
{
	__do_free char *m = plx_checkpoint_marker_format(1234, 987654321ull, true, "snap-1");
	struct plx_err err = PLX_ERR_INIT;
	pid_t pid = 0;
	uint64_t start = 0;
	bool paused = false;

	assert_non_null(m);
	assert_int_equal(plx_checkpoint_marker_parse(m, &pid, &start, &paused, &err), 0);
	assert_int_equal(pid, 1234);
	assert_true(start == 987654321ull);
	assert_true(paused);

	__do_free char *m2 = plx_checkpoint_marker_format(7, 1, false, NULL);
	assert_int_equal(plx_checkpoint_marker_parse(m2, &pid, &start, &paused, &err), 0);
	assert_false(paused);
	assert_int_equal(pid, 7);
}

static void test_marker_bad(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	pid_t pid;
	uint64_t start;
	bool paused;

	assert_int_equal(plx_checkpoint_marker_parse("{", &pid, &start, &paused, &err), -EINVAL);
	assert_non_null(strstr(err.msg, PLX_CHECKPOINT_MARKER));
	plx_err_clear(&err);
	assert_int_equal(plx_checkpoint_marker_parse("{\"pid\": 3}", &pid, &start, &paused, &err), -EINVAL);
	plx_err_clear(&err);
	assert_int_equal(plx_checkpoint_marker_parse("{\"pid\":0,\"pid_start\":1,\"was_paused\":false}", &pid,
						     &start, &paused, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "invalid pid"));
	plx_err_clear(&err);
}

static void test_default_name(void **state)
{
	struct plx_storage_snapshot taken[] = { { .name = "checkpoint-1700000000" },
						{ .name = "checkpoint-1700000000-2" } };
	__do_free char *a = plx_checkpoint_default_name(1700000000, NULL, 0);
	__do_free char *b = plx_checkpoint_default_name(1700000000, taken, 1);
	__do_free char *c = plx_checkpoint_default_name(1700000000, taken, 2);
	__do_free char *d = plx_checkpoint_default_name(1700000001, taken, 2);

	assert_string_equal(a, "checkpoint-1700000000");
	assert_string_equal(b, "checkpoint-1700000000-2");
	assert_string_equal(c, "checkpoint-1700000000-3");
	assert_string_equal(d, "checkpoint-1700000001");
	/* every default name is a valid snapshot name */
	assert_int_equal(plx_storage_check_snapshot_name(c, NULL), 0);
}

static void test_expired(void **state)
{
	char **v = NULL;

	assert_int_equal(plx_checkpoint_expired(snaps3, 3, 0, &v), 0);
	assert_null(v);
	assert_int_equal(plx_checkpoint_expired(snaps3, 3, 3, &v), 0);
	assert_null(v);
	assert_int_equal(plx_checkpoint_expired(snaps3, 3, 5, &v), 0);
	assert_null(v);
	assert_int_equal(plx_checkpoint_expired(snaps3, 3, 1, &v), 0);
	assert_int_equal(plx_strv_len(v), 2);
	assert_string_equal(v[0], "checkpoint-100");
	assert_string_equal(v[1], "mine");
	plx_strv_free(v);
	assert_int_equal(plx_checkpoint_expired(snaps3, 3, 2, &v), 0);
	assert_int_equal(plx_strv_len(v), 1);
	assert_string_equal(v[0], "checkpoint-100");
	plx_strv_free(v);
}

static void test_pick(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char **newer = NULL;
	size_t i = 99;

	/* latest by default: nothing newer */
	assert_int_equal(plx_checkpoint_pick("web", snaps3, 3, NULL, &i, &newer, &err), 0);
	assert_int_equal(i, 2);
	assert_null(newer);
	/* an older one: the newer ones are named, in order */
	assert_int_equal(plx_checkpoint_pick("web", snaps3, 3, "checkpoint-100", &i, &newer, &err), 0);
	assert_int_equal(i, 0);
	assert_int_equal(plx_strv_len(newer), 2);
	assert_string_equal(newer[0], "mine");
	assert_string_equal(newer[1], "checkpoint-102");
	plx_strv_free(newer);
	newer = NULL;
	/* a missing one: the error names the container, the name and what it has */
	assert_int_equal(plx_checkpoint_pick("web", snaps3, 3, "nope", &i, &newer, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "container web has no checkpoint nope"));
	assert_non_null(strstr(err.msg, "checkpoint-100, mine, checkpoint-102"));
	plx_err_clear(&err);
	assert_int_equal(plx_checkpoint_pick("web", NULL, 0, NULL, &i, &newer, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "container web has no checkpoints"));
	plx_err_clear(&err);
}

static void test_criu_check_message(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	const char *out = "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n"
			  "Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n"
			  "line3\nline4\nline5 not quoted\n";

	assert_int_equal(plx_criu_check_failed("checkpoint", "/usr/sbin/criu", "3.17.1", out, "6.18.0", &err),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "/usr/sbin/criu (criu 3.17.1)"));
	assert_non_null(strstr(err.msg, "fails its own check on this kernel (Linux 6.18.0)"));
	assert_non_null(strstr(err.msg, "Unexpected rt vDSO area bounds; Error (criu/vdso.c:613)"));
	assert_non_null(strstr(err.msg, "line4"));
	assert_null(strstr(err.msg, "line5"));
	assert_non_null(strstr(err.msg, "filesystem checkpoint works here: run checkpoint without --image-path"));
	plx_err_clear(&err);
}

/* A criu that is not there: ENOPKG naming it, and the filesystem checkpoint. */
static void test_criu_missing(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_criu_check("/nonexistent/criu", "restore", &err), -ENOPKG);
	assert_non_null(strstr(err.msg, "/nonexistent/criu not found"));
	assert_non_null(strstr(err.msg, "process restore needs CRIU"));
	assert_non_null(strstr(err.msg, "filesystem checkpoint"));
	plx_err_clear(&err);
}

static bool has_pair(char **v, const char *a, const char *b)
{
	for (size_t i = 0; v[i]; i++)
		if (strcmp(v[i], a) == 0 && (!b || (v[i + 1] && strcmp(v[i + 1], b) == 0)))
			return true;
	return false;
}

static void test_dump_argv(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	char *mounts[] = { "/etc/hosts", NULL };
	char *empty[] = { "network", NULL };
	struct plx_criu_opts o = { .image_path = "/img", .leave_running = true, .tcp_established = true,
				   .shell_job = true, .file_locks = true, .status_fd = 5,
				   .page_server = "10.0.0.1:27", .manage_cgroups_mode = "full", .empty_ns = empty,
				   .requested = true };
	char **v = NULL;

	assert_int_equal(plx_criu_dump_argv("criu", &o, 42, "/rootfs", mounts, &v, &err), 0);
	assert_string_equal(v[0], "criu");
	assert_string_equal(v[1], "dump");
	assert_true(has_pair(v, "--tree", "42"));
	assert_true(has_pair(v, "--images-dir", "/img"));
	assert_true(has_pair(v, "--work-dir", "/img")); /* default: the image path, as runc */
	assert_true(has_pair(v, "--root", "/rootfs"));
	assert_true(has_pair(v, "--leave-running", NULL));
	assert_true(has_pair(v, "--tcp-established", NULL));
	assert_true(has_pair(v, "--shell-job", NULL));
	assert_true(has_pair(v, "--file-locks", NULL));
	assert_false(has_pair(v, "--ext-unix-sk", NULL));
	assert_true(has_pair(v, "--status-fd", "5"));
	assert_true(has_pair(v, "--address", "10.0.0.1"));
	assert_true(has_pair(v, "--port", "27"));
	assert_true(has_pair(v, "--manage-cgroups=full", NULL));
	assert_true(has_pair(v, "--ext-mount-map", "/etc/hosts:/etc/hosts"));
	assert_true(has_pair(v, "--empty-ns", "net"));
	plx_strv_free(v);
	v = NULL;

	o = (struct plx_criu_opts){ .image_path = "/img", .pre_dump = true, .status_fd = -1,
				    .parent_path = "../prev" };
	assert_int_equal(plx_criu_dump_argv("/opt/criu", &o, 1, "/r", NULL, &v, &err), 0);
	assert_string_equal(v[1], "pre-dump");
	assert_true(has_pair(v, "--track-mem", NULL));
	assert_true(has_pair(v, "--prev-images-dir", "../prev"));
	assert_true(has_pair(v, "--manage-cgroups=soft", NULL));
	assert_false(has_pair(v, "--status-fd", NULL));
	plx_strv_free(v);
	v = NULL;

	o = (struct plx_criu_opts){ .status_fd = -1 };
	assert_int_equal(plx_criu_dump_argv("criu", &o, 1, "/r", NULL, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--image-path"));
	plx_err_clear(&err);
	o = (struct plx_criu_opts){ .image_path = "/i", .status_fd = -1, .manage_cgroups_mode = "lazy" };
	assert_int_equal(plx_criu_dump_argv("criu", &o, 1, "/r", NULL, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--manage-cgroups-mode: invalid value lazy"));
	plx_err_clear(&err);
	o = (struct plx_criu_opts){ .image_path = "/i", .status_fd = -1, .page_server = "nohost" };
	assert_int_equal(plx_criu_dump_argv("criu", &o, 1, "/r", NULL, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--page-server"));
	plx_err_clear(&err);
	assert_null(v);
}

/* A marker from a dead writer is cleared; one from a live writer stays. */
static void test_recover_marker(void **state)
{
	char dir[] = "/tmp/plx-test-checkpoint-XXXXXX";
	struct plx_state st = { .id = "web" };
	__do_close int dfd = -1;

	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	uint64_t start = plx_proc_starttime(child);
	waitpid(child, NULL, 0);

	__do_free char *dead = plx_checkpoint_marker_format(child, start ? start : 1, false, "x");
	assert_int_equal(plx_write_file_atomic_at(dfd, PLX_CHECKPOINT_MARKER, dead, strlen(dead), 0600, NULL), 0);
	plx_checkpoint_recover(dfd, &st);
	assert_int_equal(faccessat(dfd, PLX_CHECKPOINT_MARKER, F_OK, 0), -1);

	__do_free char *live = plx_checkpoint_marker_format(getpid(), plx_proc_starttime(getpid()), false, "x");
	assert_int_equal(plx_write_file_atomic_at(dfd, PLX_CHECKPOINT_MARKER, live, strlen(live), 0600, NULL), 0);
	plx_checkpoint_recover(dfd, &st);
	assert_int_equal(faccessat(dfd, PLX_CHECKPOINT_MARKER, F_OK, 0), 0);
	/* our own pid with another start time is pid reuse: the writer is dead */
	__do_free char *reused = plx_checkpoint_marker_format(getpid(), 1, false, "x");
	assert_int_equal(plx_write_file_atomic_at(dfd, PLX_CHECKPOINT_MARKER, reused, strlen(reused), 0600, NULL),
			 0);
	plx_checkpoint_recover_unlocked(dfd, &st);
	assert_int_equal(faccessat(dfd, PLX_CHECKPOINT_MARKER, F_OK, 0), -1);

	/* garbage is treated as dead (never leave a container frozen) */
	assert_int_equal(plx_write_file_atomic_at(dfd, PLX_CHECKPOINT_MARKER, "junk", 4, 0600, NULL), 0);
	plx_checkpoint_recover(dfd, &st);
	assert_int_equal(faccessat(dfd, PLX_CHECKPOINT_MARKER, F_OK, 0), -1);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marker_roundtrip), cmocka_unit_test(test_marker_bad),
		cmocka_unit_test(test_default_name),	 cmocka_unit_test(test_expired),
		cmocka_unit_test(test_pick),		 cmocka_unit_test(test_criu_check_message),
		cmocka_unit_test(test_criu_missing),	 cmocka_unit_test(test_dump_argv),
		cmocka_unit_test(test_recover_marker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
