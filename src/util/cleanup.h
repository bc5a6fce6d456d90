/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup helpers, in the style of LXC's __do_free and
 * systemd's _cleanup_: a variable declared with one of these is released
 * when it goes out of scope, so error paths need no goto ladders.  Use
 * steal_ptr()/steal_fd() to hand ownership to the caller.
 */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void plx_freep(void *p)
{
	free(*(void **)p);
}

static inline void plx_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

static inline void plx_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}

static inline void plx_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
	*d = NULL;
}

/* NULL-terminated string vector */
static inline void plx_strv_freep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
	*v = NULL;
}

#define __do_free _cleanup_(plx_freep)
#define __do_close _cleanup_(plx_closep)
#define __do_fclose _cleanup_(plx_fclosep)
#define __do_closedir _cleanup_(plx_closedirp)
#define __do_strv_free _cleanup_(plx_strv_freep)

#define steal_ptr(p)                      \
	({                                \
		__typeof__(p) _tmp_ = (p); \
		(p) = NULL;               \
		_tmp_;                    \
	})

#define steal_fd(fd)           \
	({                     \
		int _tmp_ = (fd); \
		(fd) = -1;     \
		_tmp_;         \
	})

/* Declare a cleanup function for pointer type T released by func(T *). */
#define DEFINE_CLEANUP_FUNC(name, type, func) \
	static inline void name(type **p)     \
	{                                     \
		if (*p)                       \
			func(*p);             \
		*p = NULL;                    \
	}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
