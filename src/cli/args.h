/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command-line flags with the rules of runc's parser (urfave/cli v1 on Go's
 * flag package): "-name" and "--name" are the same flag, values come as
 * "--name value" or "--name=value", booleans take no separate value but
 * accept "--name=false", and no flag is known by an abbreviation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

enum plx_flag_kind {
	PLX_FLAG_BOOL,
	PLX_FLAG_STRING,
	PLX_FLAG_UINT,
	PLX_FLAG_STRINGS, /* repeatable: every value is kept (runc's StringSlice) */
};

struct plx_flag {
	const char *name;  /* "bundle" */
	const char *alias; /* "b", or NULL */
	enum plx_flag_kind kind;
	const char *usage;
	const char *def; /* default shown in help (and returned when unset), or NULL */
};

#define PLX_ARGS_MAX_FLAGS 24

enum plx_args_order {
	PLX_ARGS_FLAGS_FIRST, /* stop at the first non-flag (global options before the command) */
	PLX_ARGS_ANY_ORDER,   /* flags may follow arguments, as runc's commands allow; "--" ends flags */
};

struct plx_args {
	const struct plx_flag *flags;
	size_t n_flags;
	const char *value[PLX_ARGS_MAX_FLAGS]; /* last value given; "true"/"false" for booleans */
	char **values[PLX_ARGS_MAX_FLAGS];     /* PLX_FLAG_STRINGS: all values, NULL-terminated (owned) */
	bool help;                             /* --help / -h */
	char **pos;                            /* the arguments that are not flags (points into argv) */
	size_t n_pos;
};

/*
 * Parse argv[1..argc-1] (argv[0] is the program or command name).  On a
 * usage error returns -EINVAL with runc's wording in err, e.g.
 * "flag provided but not defined: -x" or "flag needs an argument: -root".
 */
int plx_args_parse(const struct plx_flag *flags, size_t n_flags, int argc, char **argv,
		   enum plx_args_order order, struct plx_args *out, struct plx_err *err);
void plx_args_free(struct plx_args *a);
static inline void plx_args_freep(struct plx_args *a)
{
	plx_args_free(a);
}
#define __do_args_free __attribute__((cleanup(plx_args_freep)))

/* Whether the flag was given at all (a default does not count). */
bool plx_args_isset(const struct plx_args *a, const char *name);

bool plx_args_bool(const struct plx_args *a, const char *name);
/* The value given, else the flag's default (may be NULL). */
const char *plx_args_str(const struct plx_args *a, const char *name);
/* Every value of a PLX_FLAG_STRINGS flag, NULL when never given. */
char *const *plx_args_strv(const struct plx_args *a, const char *name);
/* The value of a PLX_FLAG_UINT flag (validated by the parser). */
unsigned int plx_args_uint(const struct plx_args *a, const char *name);

/* The OPTIONS lines of a help text, aligned as urfave/cli prints them. */
void plx_flags_print(FILE *out, const struct plx_flag *flags, size_t n_flags);
