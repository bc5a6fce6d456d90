/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error object passed down through every layer (as crun does): a
 * function that can fail returns a negative errno-style code and fills
 * *err with a message that names the object it failed on.  Only the CLI
 * prints it.  Context is added on the way up with plx_err_prefix().
 */
#pragma once

#include <stdarg.h>

struct plx_err {
	int code;  /* positive errno value, or 0 when unset */
	char *msg; /* heap string, owned */
};

#define PLX_ERR_INIT { 0, NULL }

/* Set the error; returns -code (or -EINVAL when code is 0). */
int plx_err_set(struct plx_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like plx_err_set() but appends ": <strerror(code)>". */
int plx_err_sys(struct plx_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "<context>: " to the current message; returns -err->code. */
int plx_err_prefix(struct plx_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Move src into dst (dst's old message is freed). */
void plx_err_move(struct plx_err *dst, struct plx_err *src);

void plx_err_clear(struct plx_err *err);

static inline const char *plx_err_msg(const struct plx_err *err)
{
	return err->msg ? err->msg : "unknown error";
}

static inline void plx_err_clearp(struct plx_err *err)
{
	plx_err_clear(err);
}

#define __do_err_clear __attribute__((cleanup(plx_err_clearp)))
