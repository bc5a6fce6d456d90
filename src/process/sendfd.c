/* SPDX-License-Identifier: Apache-2.0 */
#include "sendfd.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int plx_sendmsg_fd(int sock, const void *data, size_t len, int fd, const char *what, struct plx_err *err)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};

	memset(&u, 0, sizeof(u));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return plx_err_sys(err, errno, "send over the %s", what);
		if ((size_t)n != len)
			return plx_err_set(err, EIO, "send over the %s: short write", what);
		return 0;
	}
}
