/* SPDX-License-Identifier: Apache-2.0 */
/* maskedPaths, readonlyPaths and root.readonly, in a child with its own mount namespace (root only). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/mounts_finish.h"

static char dir[64];

static int child_checks(void)
{
	char secret[128], secretdir[128], hidden[128], rodir[128], rofile[128], missing[128];
	struct plx_err err = PLX_ERR_INIT;
	struct statvfs sv;
	char buf[32] = { 0 };

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 2;
	/* a scratch tmpfs with flags a read-only remount must keep */
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, NULL) < 0)
		return 3;
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(secretdir, sizeof(secretdir), "%s/secretdir", dir);
	snprintf(hidden, sizeof(hidden), "%s/secretdir/hidden", dir);
	snprintf(rodir, sizeof(rodir), "%s/rodir", dir);
	snprintf(rofile, sizeof(rofile), "%s/rodir/f", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	if (mkdir(secretdir, 0755) < 0 || mkdir(rodir, 0755) < 0)
		return 4;
	int fd = open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "top", 3) != 3)
		return 5;
	close(fd);
	fd = open(hidden, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 6;
	close(fd);

	char *masked[] = { secret, secretdir, missing, NULL };
	char *ro[] = { rodir, missing, NULL };
	if (plx_mask_paths(masked, &err) < 0 || plx_readonly_paths(ro, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 7;
	}
	/* the file reads as /dev/null, the directory is an empty read-only tmpfs */
	fd = open(secret, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 0)
		return 8;
	close(fd);
	if (access(hidden, F_OK) == 0 || errno != ENOENT)
		return 9;
	if (mkdir(hidden, 0755) == 0 || errno != EROFS)
		return 10;
	/* read-only, with the tmpfs' own flags kept */
	if (open(rofile, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) >= 0 || errno != EROFS)
		return 11;
	if (statvfs(rodir, &sv) < 0 || !(sv.f_flag & ST_RDONLY) || !(sv.f_flag & ST_NOSUID) ||
	    !(sv.f_flag & ST_NODEV) || !(sv.f_flag & ST_NOEXEC) || !(sv.f_flag & ST_NOATIME))
		return 12;
	/* the rest of the tmpfs stays writable */
	if (statvfs(dir, &sv) < 0 || (sv.f_flag & ST_RDONLY))
		return 13;

	/* root.readonly: only this namespace's copy of "/" */
	if (plx_root_readonly(&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 14;
	}
	if (statvfs("/", &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return 15;
	return 0;
}

/* checks() in a child of its own under a fresh dir (it unshares the mount namespace); 0 = passed. */
static void run_in_child(int (*checks)(void))
{
	int status;

	if (geteuid() != 0)
		skip();
	strcpy(dir, "/tmp/plx-mnt-XXXXXX");
	assert_non_null(mkdtemp(dir));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(checks());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 2 || WEXITSTATUS(status) == 3)
		skip(); /* no mount namespaces here */
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_mask_readonly_root(void **state)
{
	run_in_child(child_checks);
}

static void test_option_words(void **state)
{
	char *opts[] = { "rbind", "ro", "nosuid", "size=1m", "noexec", "rslave", "private", "rw", NULL };
	char *none[] = { "bind", "mode=0755", NULL };

	assert_int_equal(plx_mount_flags(opts), MS_RDONLY | MS_NOSUID | MS_NOEXEC);
	/* the last propagation word wins */
	assert_int_equal(plx_mount_propagation(opts), MS_PRIVATE);
	assert_int_equal(plx_mount_flags(none), 0);
	assert_int_equal(plx_mount_propagation(none), 0);
	assert_int_equal(plx_mount_flags(NULL), 0);
}

/* bind mounts get their flags by a remount; other types are left alone; propagation as asked */
static int child_bind_flags(void)
{
	char src[128], dst[128], other[128];
	struct plx_err err = PLX_ERR_INIT;
	struct statvfs sv;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 2;
	if (mount("tmpfs", dir, "tmpfs", 0, NULL) < 0)
		return 3;
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	if (mkdir(src, 0755) < 0 || mkdir(dst, 0755) < 0 || mkdir(other, 0755) < 0)
		return 4;
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0 || mount("tmpfs", other, "tmpfs", 0, NULL) < 0)
		return 5;
	char *bind_opts[] = { "rbind", "nosuid", "noexec", "ro", "rshared", NULL };
	char *tmpfs_opts[] = { "nodev", NULL };
	struct oci_mount m[] = {
		{ .destination = dst, .type = "bind", .source = src, .options = bind_opts },
		{ .destination = other, .type = "tmpfs", .source = "tmpfs", .options = tmpfs_opts },
	};
	if (plx_bind_mount_flags(m, 2, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 6;
	}
	if (statvfs(dst, &sv) < 0 || !(sv.f_flag & ST_NOSUID) || !(sv.f_flag & ST_NOEXEC) ||
	    !(sv.f_flag & ST_RDONLY))
		return 7;
	if (statvfs(other, &sv) < 0 || (sv.f_flag & ST_NODEV))
		return 8; /* not a bind mount: its flags were liblxc's business */
	if (statvfs(src, &sv) < 0 || (sv.f_flag & (ST_NOSUID | ST_RDONLY)))
		return 9; /* the source keeps its own */
	return 0;
}

static void test_bind_mount_flags(void **state)
{
	run_in_child(child_bind_flags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option_words),
		cmocka_unit_test(test_bind_mount_flags),
		cmocka_unit_test(test_mask_readonly_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
