/* SPDX-License-Identifier: Apache-2.0 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strv.h"

#define VAL_HELP 999
#define VAL_FLAG 1000 /* + index into the flag table */

/* Go's strconv.ParseBool spellings. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* flag.Uint accepts decimal, 0x, 0o/0 and 0b forms; we take what strtoul does. */
static int check_uint(const char *s, const char *typed, struct plx_err *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	/* strtoul would also skip blanks and take a sign: Go's parser does neither */
	if (!isdigit((unsigned char)s[0]) || *end)
		return plx_err_set(err, EINVAL, "invalid value \"%s\" for flag -%s: parse error", s, typed);
	if (errno == ERANGE || v > UINT_MAX)
		return plx_err_set(err, EINVAL, "invalid value \"%s\" for flag -%s: value out of range", s,
				   typed);
	return 0;
}

/* The flag name as the user wrote it: "--root=/x" -> "root" (Go reports it as "-root"). */
static char *typed_name(const char *arg)
{
	size_t dashes = strspn(arg, "-");

	arg += dashes > 2 ? 2 : dashes;
	return strndup(arg, strcspn(arg, "="));
}

static bool has_flag(const struct plx_flag *flags, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(flags[i].name, name) == 0)
			return true;
	return false;
}

static ssize_t flag_index(const struct plx_args *a, const char *name)
{
	for (size_t i = 0; i < a->n_flags; i++)
		if (strcmp(a->flags[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* "--debug" alone is true; a separate "false" is an argument, as in Go. */
static int bool_value(const char *optarg_, const char *typed, struct plx_err *err)
{
	int b = optarg_ ? parse_bool(optarg_) : 1;

	if (b < 0)
		return plx_err_set(err, EINVAL, "invalid boolean value \"%s\" for -%s: parse error", optarg_,
				   typed);
	return b;
}

static int take_value(struct plx_args *a, size_t i, const char *typed, const char *optarg_,
		      struct plx_err *err)
{
	const struct plx_flag *f = &a->flags[i];

	switch (f->kind) {
	case PLX_FLAG_BOOL: {
		int b = bool_value(optarg_, typed, err);

		if (b < 0)
			return b;
		a->value[i] = b ? "true" : "false";
		break;
	}
	case PLX_FLAG_UINT: {
		int ret = check_uint(optarg_, typed, err);

		if (ret < 0)
			return ret;
		a->value[i] = optarg_;
		break;
	}
	case PLX_FLAG_STRING:
		a->value[i] = optarg_;
		break;
	case PLX_FLAG_STRINGS:
		a->value[i] = optarg_;
		if (plx_strv_append(&a->values[i], optarg_) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		break;
	}
	if (strcmp(f->name, "help") == 0)
		a->help = strcmp(a->value[i], "true") == 0;
	return 0;
}

int plx_args_parse(const struct plx_flag *flags, size_t n_flags, int argc, char **argv,
		   enum plx_args_order order, struct plx_args *out, struct plx_err *err)
{
	/* each flag twice (name, alias) + the implicit help pair + terminator */
	struct option longopts[2 * PLX_ARGS_MAX_FLAGS + 3] = {};
	bool implicit_help = !has_flag(flags, n_flags, "help");
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (n_flags > PLX_ARGS_MAX_FLAGS)
		return plx_err_set(err, E2BIG, "too many flags (%zu) for the parser", n_flags);
	out->flags = flags;
	out->n_flags = n_flags;
	out->pos = calloc((size_t)argc + 1, sizeof(*out->pos));
	if (!out->pos)
		return plx_err_set(err, ENOMEM, "out of memory");

	for (size_t i = 0; i < n_flags; i++) {
		int has_arg = flags[i].kind == PLX_FLAG_BOOL ? optional_argument : required_argument;

		longopts[n++] = (struct option){ flags[i].name, has_arg, NULL, VAL_FLAG + (int)i };
		if (flags[i].alias)
			longopts[n++] = (struct option){ flags[i].alias, has_arg, NULL, VAL_FLAG + (int)i };
	}
	if (implicit_help) {
		longopts[n++] = (struct option){ "help", optional_argument, NULL, VAL_HELP };
		longopts[n++] = (struct option){ "h", optional_argument, NULL, VAL_HELP };
	}

	/*
	 * No short options at all: with getopt_long_only every "-x" and "--x"
	 * is then looked up as a long name, so "-root" works as in runc and
	 * "-qf" is one unknown flag instead of a cluster.  "-" returns each
	 * argument in place (code 1); "+" stops at the first one.
	 */
	const char *optstring = order == PLX_ARGS_ANY_ORDER ? "-:" : "+:";
	opterr = 0;
	optind = 0;
	for (;;) {
		int at = optind > 0 ? optind : 1; /* the element getopt looks at next */
		int longindex = -1;
		int c = getopt_long_only(argc, argv, optstring, longopts, &longindex);
		__do_free char *typed = NULL;

		if (c == -1)
			break;
		if (c == 1) {
			out->pos[out->n_pos++] = optarg;
			continue;
		}
		typed = typed_name(argv[at]);
		if (!typed)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (c == ':')
			return plx_err_set(err, EINVAL, "flag needs an argument: -%s", typed);
		/* getopt also takes unambiguous abbreviations; Go's flag package does not */
		if (c == '?' || longindex < 0 || strcmp(typed, longopts[longindex].name) != 0)
			return plx_err_set(err, EINVAL, "flag provided but not defined: -%s", typed);
		if (c == VAL_HELP) {
			int b = bool_value(optarg, typed, err);

			if (b < 0)
				return b;
			out->help = b;
			continue;
		}

		int ret = take_value(out, (size_t)(c - VAL_FLAG), typed, optarg, err);
		if (ret < 0)
			return ret;
	}
	for (int i = optind; i < argc; i++)
		out->pos[out->n_pos++] = argv[i];
	return 0;
}

void plx_args_free(struct plx_args *a)
{
	for (size_t i = 0; i < PLX_ARGS_MAX_FLAGS; i++) {
		plx_strv_free(a->values[i]);
		a->values[i] = NULL;
	}
	free(a->pos);
	a->pos = NULL;
	a->n_pos = 0;
}

bool plx_args_isset(const struct plx_args *a, const char *name)
{
	ssize_t i = flag_index(a, name);

	return i >= 0 && a->value[i];
}

bool plx_args_bool(const struct plx_args *a, const char *name)
{
	const char *v = plx_args_str(a, name);

	return v && strcmp(v, "true") == 0;
}

const char *plx_args_str(const struct plx_args *a, const char *name)
{
	ssize_t i = flag_index(a, name);

	if (i < 0)
		return NULL;
	return a->value[i] ? a->value[i] : a->flags[i].def;
}

unsigned int plx_args_uint(const struct plx_args *a, const char *name)
{
	const char *v = plx_args_str(a, name);

	return v ? (unsigned int)strtoul(v, NULL, 0) : 0;
}

/* "--bundle value, -b value" */
static char *flag_names(const struct plx_flag *f)
{
	const char *value = f->kind == PLX_FLAG_BOOL ? "" : " value";
	char *s = NULL;
	int ret;

	if (f->alias)
		ret = asprintf(&s, "--%s%s, -%s%s", f->name, value, f->alias, value);
	else
		ret = asprintf(&s, "--%s%s", f->name, value);
	return ret < 0 ? NULL : s;
}

void plx_flags_print(FILE *out, const struct plx_flag *flags, size_t n_flags)
{
	int width = 0;

	for (size_t i = 0; i < n_flags; i++) {
		__do_free char *names = flag_names(&flags[i]);

		if (names && (int)strlen(names) > width)
			width = (int)strlen(names);
	}
	for (size_t i = 0; i < n_flags; i++) {
		__do_free char *names = flag_names(&flags[i]);
		const struct plx_flag *f = &flags[i];

		fprintf(out, "   %-*s  %s", width, names ? names : f->name, f->usage);
		if (f->def && f->kind == PLX_FLAG_STRING)
			fprintf(out, " (default: \"%s\")", f->def);
		else if (f->def && f->kind == PLX_FLAG_UINT)
			fprintf(out, " (default: %s)", f->def);
		fputc('\n', out);
	}
}

char *const *plx_args_strv(const struct plx_args *a, const char *name)
{
	ssize_t i = flag_index(a, name);
	return i >= 0 ? a->values[i] : NULL;
}
