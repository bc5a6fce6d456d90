/* SPDX-License-Identifier: Apache-2.0 */
#include "msg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

static int send_all(int sock, const void *buf, size_t len, int fd, struct plx_err *err)
{
	const char *p = buf;

	while (len > 0) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (fd >= 0) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return plx_err_sys(err, errno, "send message");
		}
		fd = -1; /* only with the first chunk */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int plx_msg_send(int sock, json_t *msg, int fd, struct plx_err *err)
{
	__do_free char *body = json_dumps(msg, JSON_COMPACT);
	if (!body)
		return plx_err_set(err, ENOMEM, "encode message");
	size_t len = strlen(body);
	if (len > PLX_MSG_MAX)
		return plx_err_set(err, EMSGSIZE, "message of %zu bytes exceeds %u", len, PLX_MSG_MAX);

	__do_free char *frame = malloc(4 + len);
	if (!frame)
		return plx_err_set(err, ENOMEM, "encode message");
	uint32_t l = (uint32_t)len;
	frame[0] = (char)(l & 0xff);
	frame[1] = (char)((l >> 8) & 0xff);
	frame[2] = (char)((l >> 16) & 0xff);
	frame[3] = (char)((l >> 24) & 0xff);
	memcpy(frame + 4, body, len);
	return send_all(sock, frame, 4 + len, fd, err);
}

/* Read exactly len bytes; collects at most one fd. */
static int recv_all(int sock, void *buf, size_t len, int *fd, bool *eof_at_start, struct plx_err *err)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { .iov_base = p + got, .iov_len = len - got };
		union {
			char buf[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };

		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return plx_err_sys(err, errno, "receive message");
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfds; i++) {
				int rfd;
				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fd && *fd < 0)
					*fd = rfd;
				else
					close(rfd);
			}
		}
		if (n == 0) {
			if (got == 0 && eof_at_start)
				*eof_at_start = true;
			return plx_err_set(err, EPIPE, "connection closed");
		}
		got += (size_t)n;
	}
	return 0;
}

static int msg_recv(int sock, json_t **msg, int *got_fd, struct plx_err *err)
{
	unsigned char hdr[4];
	bool eof = false;
	json_error_t jerr;

	int r = recv_all(sock, hdr, 4, got_fd, &eof, err);
	if (r < 0)
		return r;
	uint32_t len = hdr[0] | (hdr[1] << 8) | (hdr[2] << 16) | ((uint32_t)hdr[3] << 24);
	if (len > PLX_MSG_MAX)
		return plx_err_set(err, EMSGSIZE, "message of %u bytes exceeds %u", len, PLX_MSG_MAX);
	__do_free char *body = malloc(len + 1);
	if (!body)
		return plx_err_set(err, ENOMEM, "receive message");
	r = recv_all(sock, body, len, got_fd, NULL, err);
	if (r < 0)
		return r;
	body[len] = '\0';
	json_t *m = json_loadb(body, len, 0, &jerr);
	if (!m || !json_is_object(m)) {
		json_decref(m);
		return plx_err_set(err, EBADMSG, "malformed message: %s", m ? "not an object" : jerr.text);
	}
	*msg = m;
	return 0;
}

int plx_msg_recv(int sock, json_t **msg, int *fd, struct plx_err *err)
{
	int got_fd = -1;

	*msg = NULL;
	int r = msg_recv(sock, msg, &got_fd, err);
	if (r < 0 || !fd) {
		if (got_fd >= 0)
			close(got_fd);
		if (fd)
			*fd = -1;
		return r;
	}
	*fd = got_fd;
	return 0;
}

int plx_send_fd(int sock, int fd, struct plx_err *err)
{
	char byte = 0;
	return send_all(sock, &byte, 1, fd, err);
}
