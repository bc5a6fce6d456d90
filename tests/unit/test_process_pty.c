/* SPDX-License-Identifier: Apache-2.0 */
/* The terminal: a pty from the host's devpts, its size, and the master sent the way runc sends it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/pty.h"

static void test_open_size_send(void **state)
{
	struct plx_pty pty;
	struct plx_err err = PLX_ERR_INIT;
	struct winsize ws = { 0 };
	int sv[2];

	if (plx_pty_open("/", &pty, &err) < 0) {
		plx_err_clear(&err);
		skip(); /* no usable devpts here */
	}
	assert_true(pty.master >= 0 && pty.slave >= 0);
	assert_string_equal(pty.master_path, "/dev/pts/ptmx");
	assert_true(strncmp(pty.slave_path, "/dev/pts/", 9) == 0);
	assert_true(isatty(pty.slave));

	assert_int_equal(plx_pty_set_size(&pty, 33, 101, &err), 0);
	assert_int_equal(ioctl(pty.master, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 33);
	assert_int_equal(ws.ws_col, 101);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(plx_pty_send_master(sv[0], &pty, &err), 0);

	char buf[64] = { 0 };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)
	};
	ssize_t n = recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC);
	assert_int_equal(n, (ssize_t)strlen("/dev/pts/ptmx"));
	assert_string_equal(buf, "/dev/pts/ptmx");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	int master;
	memcpy(&master, CMSG_DATA(c), sizeof(int));

	/* the received master talks to our slave */
	assert_int_equal(write(pty.slave, "hi\n", 3), 3);
	char out[16] = { 0 };
	assert_true(read(master, out, sizeof(out) - 1) > 0);
	assert_non_null(strstr(out, "hi"));

	close(master);
	close(sv[0]);
	close(sv[1]);
	plx_pty_close(&pty);
	assert_int_equal(pty.master, -1);
	assert_int_equal(pty.slave, -1);
	assert_null(pty.slave_path);
}

static void test_open_missing(void **state)
{
	struct plx_pty pty;
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_pty_open("/nonexistent", &pty, &err), -ENOENT);
	assert_string_equal(err.msg, "open /dev/pts/ptmx or /dev/ptmx: No such file or directory");
	assert_int_equal(pty.master, -1);
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_size_send),
		cmocka_unit_test(test_open_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
