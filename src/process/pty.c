/* SPDX-License-Identifier: Apache-2.0 */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "process/sendfd.h"
#include "util/cleanup.h"

void plx_pty_close(struct plx_pty *pty)
{
	plx_closep(&pty->master);
	plx_closep(&pty->slave);
	free(pty->master_path);
	free(pty->slave_path);
	pty->master_path = pty->slave_path = NULL;
}

static int open_master(const char *root, const char *path, char **opened)
{
	__do_free char *full = NULL;

	if (asprintf(&full, "%s%s", strcmp(root, "/") == 0 ? "" : root, path) < 0)
		return -ENOMEM;
	int fd = open(full, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*opened = strdup(path);
	if (!*opened) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

int plx_pty_open(const char *root, struct plx_pty *pty, struct plx_err *err)
{
	char name[64];
	int n = 0;

	*pty = (struct plx_pty)PLX_PTY_INIT;
	/* the devpts instance mounted for the container, not the host's */
	int master = open_master(root, "/dev/pts/ptmx", &pty->master_path);
	if (master < 0)
		master = open_master(root, "/dev/ptmx", &pty->master_path);
	if (master < 0)
		return plx_err_sys(err, -master, "open /dev/pts/ptmx or /dev/ptmx");
	pty->master = master;
	if (grantpt(pty->master) < 0 || unlockpt(pty->master) < 0 || ioctl(pty->master, TIOCGPTN, &n) < 0) {
		int e = errno;
		plx_pty_close(pty);
		return plx_err_sys(err, e, "set up pty from %s", "/dev/pts/ptmx");
	}
	snprintf(name, sizeof(name), "/dev/pts/%d", n);
	pty->slave_path = strdup(name);
	if (!pty->slave_path) {
		plx_pty_close(pty);
		return plx_err_set(err, ENOMEM, "pty");
	}
	/* TIOCGPTPEER opens the peer of this very master, whatever devpts is mounted where */
	pty->slave = ioctl(pty->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty->slave < 0) {
		__do_free char *full = NULL;
		if (asprintf(&full, "%s%s", strcmp(root, "/") == 0 ? "" : root, name) < 0) {
			plx_pty_close(pty);
			return plx_err_set(err, ENOMEM, "pty");
		}
		pty->slave = open(full, O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	if (pty->slave < 0) {
		int e = errno;
		plx_pty_close(pty);
		return plx_err_sys(err, e, "open pty slave %s", name);
	}
	return 0;
}

int plx_pty_set_size(const struct plx_pty *pty, unsigned int rows, unsigned int cols, struct plx_err *err)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };

	if (ioctl(pty->slave, TIOCSWINSZ, &ws) < 0)
		return plx_err_sys(err, errno, "set size of %s to %ux%u (process.consoleSize)",
				   pty->slave_path, cols, rows);
	return 0;
}

int plx_pty_send_master(int sock, const struct plx_pty *pty, struct plx_err *err)
{
	const char *name = pty->master_path;

	return plx_sendmsg_fd(sock, name, strlen(name), pty->master, "console socket", err);
}

int plx_pty_bind_console(const struct plx_pty *pty, struct plx_err *err)
{
	struct stat st;

	/* never open an existing /dev/console: it may be a real terminal */
	if (lstat("/dev/console", &st) < 0) {
		if (errno != ENOENT)
			return plx_err_sys(err, errno, "stat /dev/console");
		int fd = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
		if (fd < 0)
			return plx_err_sys(err, errno, "create /dev/console");
		close(fd);
	}
	if (mount(pty->slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
		return plx_err_sys(err, errno, "bind-mount %s on /dev/console", pty->slave_path);
	return 0;
}

int plx_pty_make_controlling(int slave, struct plx_err *err)
{
	for (int fd = 0; fd <= 2; fd++) {
		/* dup2 onto itself would keep the slave's close-on-exec: clear it */
		if (dup2(slave, fd) < 0 || fcntl(fd, F_SETFD, 0) < 0)
			return plx_err_sys(err, errno, "dup the pty onto fd %d", fd);
	}
	/* EPERM: already a session leader (LXC may have done it); that session is ours */
	if (setsid() < 0 && (errno != EPERM || getsid(0) != getpid()))
		return plx_err_sys(err, errno, "setsid");
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return plx_err_sys(err, errno, "make the pty the controlling terminal (TIOCSCTTY)");
	return 0;
}
