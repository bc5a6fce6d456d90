/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_msg(struct plx_err *err, int code, char *msg)
{
	if (code <= 0)
		code = EINVAL;
	if (err) {
		free(err->msg);
		err->msg = msg;
		err->code = code;
	} else {
		free(msg);
	}
	return -code;
}

int plx_err_set(struct plx_err *err, int code, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return set_msg(err, code, msg);
}

int plx_err_sys(struct plx_err *err, int code, const char *fmt, ...)
{
	char *head = NULL, *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&head, fmt, ap) < 0)
		head = NULL;
	va_end(ap);
	if (head && asprintf(&msg, "%s: %s", head, strerror(code)) < 0)
		msg = NULL;
	free(head);
	return set_msg(err, code, msg);
}

int plx_err_prefix(struct plx_err *err, const char *fmt, ...)
{
	char *ctx = NULL, *msg = NULL;
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx && asprintf(&msg, "%s: %s", ctx, err->msg ? err->msg : "error") >= 0) {
		free(err->msg);
		err->msg = msg;
	}
	free(ctx);
	if (err->code <= 0)
		err->code = EINVAL;
	return -err->code;
}

void plx_err_move(struct plx_err *dst, struct plx_err *src)
{
	free(dst->msg);
	*dst = *src;
	src->msg = NULL;
	src->code = 0;
}

void plx_err_clear(struct plx_err *err)
{
	if (!err)
		return;
	free(err->msg);
	err->msg = NULL;
	err->code = 0;
}
