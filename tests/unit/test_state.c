/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/state.h"
#include "oci/spec.h"
#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fx {
	char dir[64];
	char root[96];
	int rootfd;
};

static bool g_can_mount;

static int group_setup(void **state)
{
	/* Mounts made by tests vanish with this process: no leftovers on the host. */
	g_can_mount = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct plx_err err = PLX_ERR_INIT;

	strcpy(f->dir, "/tmp/plx-test-state-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/run/root", f->dir);
	if (plx_root_open(f->root, &f->rootfd, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	close(f->rootfd);
	plx_rm_rf_at(AT_FDCWD, f->dir, &err);
	plx_err_clear(&err);
	free(f);
	return 0;
}

static bool exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void put(int dfd, const char *name, const char *text)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_write_file_at(dfd, name, text, strlen(text), 0600, &err), 0);
}

/* ---- root ---- */

static void test_root_open_creates_0700(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_int_equal(stat(f->root, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_root_open_errors_name_root(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	char path[256], ro[160];
	int fd = -1;

	/* a file in the way */
	snprintf(ro, sizeof(ro), "%s/file", f->dir);
	put(AT_FDCWD, ro, "");
	snprintf(path, sizeof(path), "%s/root", ro);
	assert_true(plx_root_open(path, &fd, &err) < 0);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.msg, path));
	plx_err_clear(&err);

	/* an existing but read-only root (as root, only a read-only mount stops writes) */
	if (!g_can_mount)
		return;
	snprintf(ro, sizeof(ro), "%s/ro", f->dir);
	assert_int_equal(mkdir(ro, 0700), 0);
	assert_int_equal(mount("tmpfs", ro, "tmpfs", MS_RDONLY, NULL), 0);
	assert_int_equal(plx_root_open(ro, &fd, &err), -EROFS);
	assert_non_null(strstr(err.msg, ro));
	assert_non_null(strstr(err.msg, "not writable"));
	plx_err_clear(&err);
	/* and one that must be created on it */
	snprintf(path, sizeof(path), "%s/sub", ro);
	assert_int_equal(plx_root_open(path, &fd, &err), -EROFS);
	assert_non_null(strstr(err.msg, path));
	plx_err_clear(&err);
	assert_int_equal(umount2(ro, MNT_DETACH), 0);
}

/* ---- directories and locks ---- */

static void test_dir_create_duplicate_missing(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	int dfd = -1, lfd = -1;
	struct stat st;

	assert_int_equal(plx_state_dir_create(f->rootfd, "c1", &dfd, &lfd, &err), 0);
	assert_true(dfd >= 0 && lfd >= 0);
	assert_int_equal(fstatat(f->rootfd, "c1", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	close(dfd);
	close(lfd);

	assert_int_equal(plx_state_dir_create(f->rootfd, "c1", &dfd, &lfd, &err), -EEXIST);
	assert_string_equal(err.msg, "container with id exists: c1");
	plx_err_clear(&err);

	assert_int_equal(plx_state_dir_open(f->rootfd, "c1", &dfd, &lfd, &err), 0);
	close(dfd);
	close(lfd);

	assert_int_equal(plx_state_dir_open(f->rootfd, "nope", &dfd, &lfd, &err), -ENOENT);
	assert_string_equal(err.msg, "container does not exist: nope");
	plx_err_clear(&err);

	/* a file or a symlink under the root is not a container */
	put(f->rootfd, "afile", "");
	assert_int_equal(plx_state_dir_open(f->rootfd, "afile", &dfd, &lfd, &err), -ENOENT);
	plx_err_clear(&err);
	assert_int_equal(symlinkat("/", f->rootfd, "alink"), 0);
	assert_int_equal(plx_state_dir_open(f->rootfd, "alink", &dfd, &lfd, &err), -ENOENT);
	plx_err_clear(&err);

	/* IDs are checked before they touch the file system */
	assert_int_equal(plx_state_dir_create(f->rootfd, "..", &dfd, &lfd, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid container id format: ..");
	plx_err_clear(&err);
	assert_int_equal(plx_state_dir_open(f->rootfd, "../x", &dfd, &lfd, &err), -EINVAL);
	plx_err_clear(&err);
}

/* Wait (at most ~2 s) until some process is blocked in flock on inode ino. */
static bool wait_for_flock_waiter(ino_t ino)
{
	char needle[48];

	snprintf(needle, sizeof(needle), ":%lu ", (unsigned long)ino);
	for (int i = 0; i < 2000; i++) {
		__do_free char *locks = NULL;
		struct plx_err err = PLX_ERR_INIT;

		if (plx_read_file_at(AT_FDCWD, "/proc/locks", &locks, NULL, &err) < 0)
			return false;
		for (char *line = strtok(locks, "\n"); line; line = strtok(NULL, "\n"))
			if (strstr(line, "-> FLOCK") && strstr(line, needle))
				return true;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

enum child_action { CHILD_MARK, CHILD_DELETE };

/*
 * A child takes the lock on <id>, tells the parent, waits until the parent
 * is blocked on the lock, then marks or deletes, and exits (unlocking).
 */
static pid_t locker_child(struct fx *f, const char *id, enum child_action what, int *ready_fd)
{
	int p[2];
	pid_t pid;
	struct stat st;

	assert_int_equal(fstatat(f->rootfd, id, &st, 0), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct plx_err err = PLX_ERR_INIT;
		int dfd, lfd;

		if (plx_state_dir_open(f->rootfd, id, &dfd, &lfd, &err) < 0)
			_exit(2);
		if (write(p[1], "L", 1) != 1)
			_exit(3);
		if (!wait_for_flock_waiter(st.st_ino))
			_exit(4);
		if (what == CHILD_MARK) {
			if (plx_write_file_at(dfd, "marker", "", 0, 0600, &err) < 0)
				_exit(5);
		} else if (plx_state_dir_remove(f->rootfd, id, &err) < 0) {
			_exit(6);
		}
		_exit(0);
	}
	close(p[1]);
	*ready_fd = p[0];
	return pid;
}

static void wait_child_ok(pid_t pid)
{
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_lock_serializes(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	int dfd = -1, lfd = -1, ready;
	char c;
	pid_t pid;

	assert_int_equal(plx_state_dir_create(f->rootfd, "c", &dfd, &lfd, &err), 0);
	close(dfd);
	close(lfd);

	pid = locker_child(f, "c", CHILD_MARK, &ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	/* blocks until the child, having seen us wait, marks and exits */
	assert_int_equal(plx_state_dir_open(f->rootfd, "c", &dfd, &lfd, &err), 0);
	assert_true(exists_at(dfd, "marker"));
	close(dfd);
	close(lfd);
	wait_child_ok(pid);
}

static void test_lock_delete_race(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	int dfd = -1, lfd = -1, ready;
	char c;
	pid_t pid;

	assert_int_equal(plx_state_dir_create(f->rootfd, "gone", &dfd, &lfd, &err), 0);
	close(dfd);
	close(lfd);

	pid = locker_child(f, "gone", CHILD_DELETE, &ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	dfd = lfd = -1;
	/* we open the directory, block on its lock, and find it deleted */
	assert_int_equal(plx_state_dir_open(f->rootfd, "gone", &dfd, &lfd, &err), -ENOENT);
	assert_string_equal(err.msg, "container does not exist: gone");
	plx_err_clear(&err);
	assert_int_equal(dfd, -1);
	assert_int_equal(lfd, -1);
	wait_child_ok(pid);
	assert_false(exists_at(f->rootfd, "gone"));
}

static void test_dir_remove(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	int dfd = -1, lfd = -1;

	assert_int_equal(plx_state_dir_create(f->rootfd, "r", &dfd, &lfd, &err), 0);
	put(dfd, "state.json", "{}");
	assert_int_equal(mkdirat(dfd, "sub", 0700), 0);
	put(dfd, "sub/x", "");
	assert_int_equal(plx_state_dir_remove(f->rootfd, "r", &err), 0);
	assert_false(exists_at(f->rootfd, "r"));
	close(dfd);
	close(lfd);
	assert_int_equal(plx_state_dir_remove(f->rootfd, "..", &err), -EINVAL);
	plx_err_clear(&err);
}

static void test_list_ids(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_strv_free char **ids = NULL;
	int dfd, lfd;

	assert_int_equal(plx_state_list_ids(f->rootfd, &ids, &err), 0);
	assert_non_null(ids);
	assert_null(ids[0]);
	plx_strv_freep(&ids);

	const char *names[] = { "b", "a", "c-1", "B" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(plx_state_dir_create(f->rootfd, names[i], &dfd, &lfd, &err), 0);
		close(dfd);
		close(lfd);
	}
	put(f->rootfd, "file", "");               /* not a directory */
	assert_int_equal(mkdirat(f->rootfd, "x y", 0700), 0); /* not an ID */
	assert_int_equal(symlinkat("a", f->rootfd, "link"), 0); /* a symlink to a dir */

	assert_int_equal(plx_state_list_ids(f->rootfd, &ids, &err), 0);
	assert_string_equal(ids[0], "B");
	assert_string_equal(ids[1], "a");
	assert_string_equal(ids[2], "b");
	assert_string_equal(ids[3], "c-1");
	assert_null(ids[4]);
}

/* ---- state.json ---- */

static struct plx_state *full_state(void)
{
	struct plx_state *st = calloc(1, sizeof(*st));

	st->id = strdup("web.1");
	st->bundle = strdup("/srv/bundle");
	st->rootfs = strdup("/srv/bundle/rootfs");
	st->config_path = strdup("/srv/bundle/config.json");
	st->pid = 4321;
	st->pid_start = 9876543210123ULL;
	st->created = strdup("2026-11-23T14:22:44.123456789Z");
	st->owner = strdup("");
	st->annotations = json_pack("{s:s, s:s}", "org.example/a", "1", "b", "two");
	st->cgroup_path = strdup("/proxmox-lxcri/web.1");
	st->use_systemd_cgroup = true;
	st->engine = json_pack("{s:s, s:[i,i], s:{s:b}}", "lxcpath", "/run/x", "ports", 1, 2, "nested", "k",
			       1);
	return st;
}

static void test_state_roundtrip(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	__do_plx_state_free struct plx_state *st = full_state();
	__do_plx_state_free struct plx_state *got = NULL;
	__do_plx_state_free struct plx_state *empty = NULL;
	__do_plx_state_free struct plx_state *min = calloc(1, sizeof(*min));
	int dfd, lfd;

	assert_int_equal(plx_state_dir_create(f->rootfd, "web.1", &dfd, &lfd, &err), 0);
	assert_int_equal(plx_state_write(dfd, st, &err), 0);
	assert_false(exists_at(dfd, "state.json.tmp"));
	assert_int_equal(plx_state_read(dfd, "web.1", &got, &err), 0);

	assert_string_equal(got->id, st->id);
	assert_string_equal(got->bundle, st->bundle);
	assert_string_equal(got->rootfs, st->rootfs);
	assert_string_equal(got->config_path, st->config_path);
	assert_int_equal(got->pid, 4321);
	assert_true(got->pid_start == 9876543210123ULL);
	assert_string_equal(got->created, st->created);
	assert_string_equal(got->owner, "");
	assert_true(json_equal(got->annotations, st->annotations));
	assert_string_equal(got->cgroup_path, st->cgroup_path);
	assert_true(got->use_systemd_cgroup);
	assert_true(json_equal(got->engine, st->engine));

	/* a minimal record: absent fields come back as NULL/0/false */
	min->id = strdup("web.1");
	assert_int_equal(plx_state_write(dfd, min, &err), 0);
	assert_int_equal(plx_state_read(dfd, "web.1", &empty, &err), 0);
	assert_null(empty->bundle);
	assert_null(empty->annotations);
	assert_null(empty->engine);
	assert_int_equal(empty->pid, 0);
	assert_false(empty->use_systemd_cgroup);
	close(dfd);
	close(lfd);
}

static void expect_corrupt(int dfd, const char *text, const char *want)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_state *st = NULL;

	put(dfd, "state.json", text);
	assert_int_equal(plx_state_read(dfd, "c", &st, &err), -EINVAL);
	assert_null(st);
	if (!strstr(err.msg, want) || !strstr(err.msg, "/run/root/c/state.json"))
		fail_msg("state \"%s\": message \"%s\" lacks \"%s\"", text, err.msg, want);
	plx_err_clear(&err);
}

static void test_state_corrupt(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_state *st = NULL;
	int dfd, lfd;

	assert_int_equal(plx_state_dir_create(f->rootfd, "c", &dfd, &lfd, &err), 0);

	/* missing: ENOENT naming the file */
	assert_int_equal(plx_state_read(dfd, "c", &st, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/run/root/c/state.json: No such file or directory"));
	plx_err_clear(&err);

	expect_corrupt(dfd, "", "state.json:1:0: corrupt state:");
	expect_corrupt(dfd, "{\"id\":\"c\",\"pid\":12", "state.json:1:");
	expect_corrupt(dfd, "{\"id\":\"c\",\n\"pid\":}", "state.json:2:");
	expect_corrupt(dfd, "[1,2]", "corrupt state: expected object, got array");
	expect_corrupt(dfd, "{\"id\":\"c\",\"id\":\"c\"}", "duplicate");
	expect_corrupt(dfd, "{\"pid\":1}", "corrupt state: no id");
	expect_corrupt(dfd, "{\"id\":\"other\"}", "id \"other\" does not match the directory c");
	expect_corrupt(dfd, "{\"id\":\"c\",\"pid\":\"12\"}", "pid: expected integer, got string");
	expect_corrupt(dfd, "{\"id\":\"c\",\"pid\":-3}", "pid: -3 out of range");
	expect_corrupt(dfd, "{\"id\":\"c\",\"pid\":99999999999}", "pid: 99999999999 out of range");
	expect_corrupt(dfd, "{\"id\":\"c\",\"annotations\":[]}", "annotations: expected object, got array");
	expect_corrupt(dfd, "{\"id\":\"c\",\"use_systemd_cgroup\":1}",
		       "use_systemd_cgroup: expected boolean, got integer");
	expect_corrupt(dfd, "{\"id\":\"c\",\"bundle\":5}", "bundle: expected string, got integer");
	expect_corrupt(dfd, "{\"id\":\"c\",\"engine\":\"x\"}", "engine: expected object, got string");
	/* binary garbage */
	expect_corrupt(dfd, "\x01\x02\xff\xfe", "corrupt state");
	close(dfd);
	close(lfd);
}

/* ---- process and status ---- */

static void test_parse_proc_stat(void **state)
{
	/* comm "a) (b c" shows as "(a) (b c)": only the last ')' ends it */
	const char *tricky = "1234 (a) (b c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
			     "987654 4096 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n";
	const char *plain = "1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1 2\n";

	assert_true(plx_parse_proc_stat_starttime(tricky) == 987654);
	assert_true(plx_parse_proc_stat_starttime(plain) == 42);
	/* ") S" inside comm must not be taken for the end of it */
	assert_true(plx_parse_proc_stat_starttime("7 (x) S 1 2 3) R 1 2 3 4 5 6 7 8 9 10 11 12 "
						   "13 14 15 16 17 18 55 1\n") == 55);
	/* malformed */
	assert_true(plx_parse_proc_stat_starttime("") == 0);
	assert_true(plx_parse_proc_stat_starttime("1 (x S 1 2") == 0);
	assert_true(plx_parse_proc_stat_starttime("1 (x) S 1 2 3") == 0);
	assert_true(plx_parse_proc_stat_starttime("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 "
						   "17 18 zz 1") == 0);
	assert_true(plx_parse_proc_stat_starttime(NULL) == 0);
}

static void test_proc_starttime_of_self(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *buf = NULL;
	uint64_t mine = plx_proc_starttime(getpid());

	assert_true(mine > 0);
	assert_int_equal(plx_read_file_at(AT_FDCWD, "/proc/self/stat", &buf, NULL, &err), 0);
	assert_true(plx_parse_proc_stat_starttime(buf) == mine);
	assert_true(plx_proc_starttime(0) == 0);
	assert_true(plx_proc_starttime(-1) == 0);
}

static pid_t reaped_child(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void test_status(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_state st = { .id = "s" };
	int dfd, lfd;
	pid_t zombie;

	assert_int_equal(plx_state_dir_create(f->rootfd, "s", &dfd, &lfd, &err), 0);

	/* no pid and no state.json yet: creating */
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_CREATING);
	put(dfd, "state.json", "{}");
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_STOPPED);

	/* our own pid is alive */
	st.pid = getpid();
	st.pid_start = plx_proc_starttime(getpid());
	assert_true(plx_state_pid_alive(&st));
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_RUNNING);
	put(dfd, "init.sock", "");
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_CREATED);
	assert_int_equal(unlinkat(dfd, "init.sock", 0), 0);

	/* same pid, another start time: a reused pid is not our process */
	st.pid_start += 1;
	assert_false(plx_state_pid_alive(&st));
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_STOPPED);

	/* a reaped child is gone */
	st.pid = reaped_child();
	st.pid_start = 0;
	assert_false(plx_state_pid_alive(&st));
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_STOPPED);

	/* a zombie has exited even though kill(pid, 0) succeeds */
	zombie = fork();
	assert_true(zombie >= 0);
	if (zombie == 0)
		_exit(0);
	st.pid = zombie;
	for (int i = 0; i < 2000; i++) {
		__do_free char *buf = NULL;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/stat", zombie);
		if (plx_read_file_at(AT_FDCWD, path, &buf, NULL, &err) == 0 && strstr(buf, ") Z "))
			break;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(kill(zombie, 0), 0);
	st.pid_start = plx_proc_starttime(zombie);
	assert_false(plx_state_pid_alive(&st));
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_STOPPED);
	assert_int_equal(waitpid(zombie, NULL, 0), zombie);

	close(dfd);
	close(lfd);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* A real, empty cgroup frozen through the v2 cgroup.freeze or the v1 freezer. */
static void test_status_paused(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_state st = { .id = "p" };
	char name[64];
	bool tested = false;
	int dfd, lfd;

	assert_int_equal(plx_state_dir_create(f->rootfd, "p", &dfd, &lfd, &err), 0);
	put(dfd, "state.json", "{}");
	snprintf(name, sizeof(name), "plx-test-paused-%d", getpid());
	st.pid = getpid();
	st.pid_start = plx_proc_starttime(getpid());
	st.cgroup_path = name;

	/* without a cgroup (or with none frozen) it runs */
	assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_RUNNING);

	__do_free char *v2 = plx_cgroup_v2_path(name);
	if (v2 && mkdir(v2, 0755) == 0) {
		__do_free char *freeze = plx_path_join(v2, "cgroup.freeze");

		assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_RUNNING);
		assert_int_equal(write_str(freeze, "1"), 0);
		/* an empty cgroup is frozen at once */
		assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_PAUSED);
		assert_int_equal(write_str(freeze, "0"), 0);
		assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_RUNNING);
		assert_int_equal(rmdir(v2), 0);
		tested = true;
	}

	__do_free char *v1 = plx_cgroup_v1_path("freezer", name);
	if (plx_cgroup_layout() != PLX_CGROUP_PURE_V2 && mkdir(v1, 0755) == 0) {
		__do_free char *fstate = plx_path_join(v1, "freezer.state");

		assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_RUNNING);
		assert_int_equal(write_str(fstate, "FROZEN"), 0);
		assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_PAUSED);
		assert_int_equal(write_str(fstate, "THAWED"), 0);
		assert_int_equal(plx_state_status(dfd, &st), PLX_STATUS_RUNNING);
		assert_int_equal(rmdir(v1), 0);
		tested = true;
	}
	close(dfd);
	close(lfd);
	if (!tested)
		skip();
}

static void test_status_names(void **state)
{
	assert_string_equal(plx_status_name(PLX_STATUS_CREATING), "creating");
	assert_string_equal(plx_status_name(PLX_STATUS_CREATED), "created");
	assert_string_equal(plx_status_name(PLX_STATUS_RUNNING), "running");
	assert_string_equal(plx_status_name(PLX_STATUS_PAUSED), "paused");
	assert_string_equal(plx_status_name(PLX_STATUS_STOPPED), "stopped");
}

/* ---- runc's state output ---- */

static void test_to_json(void **state)
{
	__do_plx_state_free struct plx_state *st = full_state();
	__do_free char *text = NULL;
	__do_free char *want = NULL;
	json_t *j;

	j = plx_state_to_json(st, PLX_STATUS_RUNNING);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_true(asprintf(&want,
			     "{\"ociVersion\":\"%s\",\"id\":\"web.1\",\"pid\":4321,\"status\":\"running\","
			     "\"bundle\":\"/srv/bundle\",\"rootfs\":\"/srv/bundle/rootfs\","
			     "\"created\":\"2026-11-23T14:22:44.123456789Z\",\"owner\":\"\","
			     "\"annotations\":{\"org.example/a\":\"1\",\"b\":\"two\"}}",
			     OCI_RUNTIME_SPEC_VERSION) > 0);
	assert_string_equal(text, want);
	free(steal_ptr(text));
	free(steal_ptr(want));

	/* stopped: pid 0; empty annotations: no key */
	json_object_clear(st->annotations);
	j = plx_state_to_json(st, PLX_STATUS_STOPPED);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_true(asprintf(&want,
			     "{\"ociVersion\":\"%s\",\"id\":\"web.1\",\"pid\":0,\"status\":\"stopped\","
			     "\"bundle\":\"/srv/bundle\",\"rootfs\":\"/srv/bundle/rootfs\","
			     "\"created\":\"2026-11-23T14:22:44.123456789Z\",\"owner\":\"\"}",
			     OCI_RUNTIME_SPEC_VERSION) > 0);
	assert_string_equal(text, want);
}

static void test_now_rfc3339(void **state)
{
	regex_t re;

	/* Go's RFC3339Nano, as runc's "created": no trailing zeros in the fraction */
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
				 "(\\.[0-9]{0,8}[1-9])?Z$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	for (int i = 0; i < 200; i++) {
		__do_free char *now = plx_now_rfc3339();

		assert_non_null(now);
		if (regexec(&re, now, 0, NULL, 0) != 0)
			fail_msg("bad timestamp %s", now);
	}
	regfree(&re);

	/* it is the current UTC time */
	__do_free char *now = plx_now_rfc3339();
	char year[16];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(year, sizeof(year), "%04d-", tm.tm_year + 1900);
	assert_memory_equal(now, year, 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_root_open_creates_0700),
		T(test_root_open_errors_name_root),
		T(test_dir_create_duplicate_missing),
		T(test_lock_serializes),
		T(test_lock_delete_race),
		T(test_dir_remove),
		T(test_list_ids),
		T(test_state_roundtrip),
		T(test_state_corrupt),
		cmocka_unit_test(test_parse_proc_stat),
		cmocka_unit_test(test_proc_starttime_of_self),
		T(test_status),
		T(test_status_paused),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_now_rfc3339),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
