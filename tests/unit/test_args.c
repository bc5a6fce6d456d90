/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* The parser lives in the CLI executable, which has no library: build it in. */
#include "cli/args.c"

static const struct plx_flag global[] = {
	{ "debug", NULL, PLX_FLAG_BOOL, "enable debug logging", NULL },
	{ "root", NULL, PLX_FLAG_STRING, "root directory", "/run/x" },
	{ "rootless", NULL, PLX_FLAG_STRING, "rootless", "auto" },
	{ "help", "h", PLX_FLAG_BOOL, "show help", NULL },
	{ "version", "v", PLX_FLAG_BOOL, "print the version", NULL },
};

static const struct plx_flag create[] = {
	{ "bundle", "b", PLX_FLAG_STRING, "bundle", NULL },
	{ "force", "f", PLX_FLAG_BOOL, "force", NULL },
	{ "preserve-fds", NULL, PLX_FLAG_UINT, "fds", "0" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a NULL-terminated list; returns the code, err->msg on failure. */
static int parse(const struct plx_flag *flags, size_t n, enum plx_args_order order, struct plx_args *a,
		 struct plx_err *err, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return plx_args_parse(flags, n, argc, argv, order, a, err);
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

static void expect_error(const struct plx_flag *flags, size_t n, enum plx_args_order order, char **argv,
			 const char *msg)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(flags, n, order, &a, &err, argv), -EINVAL);
	assert_string_equal(err.msg, msg);
	plx_args_free(&a);
	plx_err_clear(&err);
}

static void test_global_stops_at_command(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err,
			       ARGV("prog", "--root", "/x", "--debug", "list", "-q", "--root=/y")),
			 0);
	assert_string_equal(plx_args_str(&a, "root"), "/x");
	assert_true(plx_args_bool(&a, "debug"));
	assert_int_equal(a.n_pos, 3);
	assert_string_equal(a.pos[0], "list");
	assert_string_equal(a.pos[1], "-q");
	assert_string_equal(a.pos[2], "--root=/y");
	plx_args_free(&a);
}

/* Go's flag package: one or two dashes, "=value" or a separate value. */
static void test_flag_forms(void **state)
{
	char **forms[] = {
		ARGV("prog", "--root", "/x", "cmd"),
		ARGV("prog", "--root=/x", "cmd"),
		ARGV("prog", "-root", "/x", "cmd"),
		ARGV("prog", "-root=/x", "cmd"),
	};
	for (size_t i = 0; i < N(forms); i++) {
		struct plx_err err = PLX_ERR_INIT;
		struct plx_args a;

		assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err, forms[i]), 0);
		assert_string_equal(plx_args_str(&a, "root"), "/x");
		assert_true(plx_args_isset(&a, "root"));
		assert_int_equal(a.n_pos, 1);
		plx_args_free(&a);
	}
}

static void test_defaults(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err, ARGV("prog")), 0);
	assert_string_equal(plx_args_str(&a, "root"), "/run/x");
	assert_false(plx_args_isset(&a, "root"));
	assert_false(plx_args_bool(&a, "debug"));
	assert_null(plx_args_str(&a, "nosuchflag"));
	assert_int_equal(a.n_pos, 0);
	plx_args_free(&a);
}

static void test_bool_values(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err,
			       ARGV("prog", "--debug=false", "x")),
			 0);
	assert_false(plx_args_bool(&a, "debug"));
	assert_true(plx_args_isset(&a, "debug"));
	plx_args_free(&a);

	/* a separate word after a boolean is not its value */
	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err,
			       ARGV("prog", "-debug", "false")),
			 0);
	assert_true(plx_args_bool(&a, "debug"));
	assert_int_equal(a.n_pos, 1);
	assert_string_equal(a.pos[0], "false");
	plx_args_free(&a);

	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err, ARGV("prog", "-v=T")), 0);
	assert_true(plx_args_bool(&a, "version"));
	plx_args_free(&a);

	expect_error(global, N(global), PLX_ARGS_FLAGS_FIRST, ARGV("prog", "--debug=maybe"),
		     "invalid boolean value \"maybe\" for -debug: parse error");
}

static void test_usage_errors_use_runc_words(void **state)
{
	expect_error(global, N(global), PLX_ARGS_FLAGS_FIRST, ARGV("prog", "--foo"),
		     "flag provided but not defined: -foo");
	expect_error(global, N(global), PLX_ARGS_FLAGS_FIRST, ARGV("prog", "-foo=bar", "list"),
		     "flag provided but not defined: -foo");
	expect_error(global, N(global), PLX_ARGS_FLAGS_FIRST, ARGV("prog", "--root"),
		     "flag needs an argument: -root");
	/* getopt would take these abbreviations; runc does not */
	expect_error(global, N(global), PLX_ARGS_FLAGS_FIRST, ARGV("prog", "--deb"),
		     "flag provided but not defined: -deb");
	expect_error(global, N(global), PLX_ARGS_FLAGS_FIRST, ARGV("prog", "--roo", "/x"),
		     "flag provided but not defined: -roo");
	/* no clusters of short flags */
	expect_error(create, N(create), PLX_ARGS_ANY_ORDER, ARGV("create", "-fb", "x"),
		     "flag provided but not defined: -fb");
}

/* runc's commands take flags after the arguments too; "--" ends the flags. */
static void test_command_any_order(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err,
			       ARGV("create", "c1", "--force", "-b", "/bundle", "extra")),
			 0);
	assert_true(plx_args_bool(&a, "force"));
	assert_string_equal(plx_args_str(&a, "bundle"), "/bundle");
	assert_int_equal(a.n_pos, 2);
	assert_string_equal(a.pos[0], "c1");
	assert_string_equal(a.pos[1], "extra");
	plx_args_free(&a);

	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err,
			       ARGV("create", "--", "-f", "--bundle")),
			 0);
	assert_false(plx_args_bool(&a, "force"));
	assert_int_equal(a.n_pos, 2);
	assert_string_equal(a.pos[0], "-f");
	assert_string_equal(a.pos[1], "--bundle");
	plx_args_free(&a);

	/* "-" alone is an argument */
	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err, ARGV("create", "-")), 0);
	assert_int_equal(a.n_pos, 1);
	assert_string_equal(a.pos[0], "-");
	plx_args_free(&a);
}

static void test_implicit_help(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err, ARGV("create", "x", "-h")),
			 0);
	assert_true(a.help);
	plx_args_free(&a);
	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err, ARGV("create", "--help")), 0);
	assert_true(a.help);
	plx_args_free(&a);
	/* an explicit help flag in the table sets it too */
	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &a, &err, ARGV("prog", "-h")), 0);
	assert_true(a.help);
	assert_true(plx_args_bool(&a, "help"));
	plx_args_free(&a);
}

static void test_uint(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args a;

	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err,
			       ARGV("create", "--preserve-fds", "3")),
			 0);
	assert_int_equal(plx_args_uint(&a, "preserve-fds"), 3);
	plx_args_free(&a);
	assert_int_equal(parse(create, N(create), PLX_ARGS_ANY_ORDER, &a, &err, ARGV("create")), 0);
	assert_int_equal(plx_args_uint(&a, "preserve-fds"), 0);
	plx_args_free(&a);

	expect_error(create, N(create), PLX_ARGS_ANY_ORDER, ARGV("create", "--preserve-fds=x"),
		     "invalid value \"x\" for flag -preserve-fds: parse error");
	expect_error(create, N(create), PLX_ARGS_ANY_ORDER, ARGV("create", "--preserve-fds", "-1"),
		     "invalid value \"-1\" for flag -preserve-fds: parse error");
	expect_error(create, N(create), PLX_ARGS_ANY_ORDER, ARGV("create", "--preserve-fds=99999999999"),
		     "invalid value \"99999999999\" for flag -preserve-fds: value out of range");
}

/* Parsing twice in one process (global, then the command) must start afresh. */
static void test_reparse(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_args g, c;

	assert_int_equal(parse(global, N(global), PLX_ARGS_FLAGS_FIRST, &g, &err,
			       ARGV("prog", "--debug", "create", "-b", "/b", "id")),
			 0);
	assert_int_equal(plx_args_parse(create, N(create), (int)g.n_pos, g.pos, PLX_ARGS_ANY_ORDER, &c, &err),
			 0);
	assert_string_equal(plx_args_str(&c, "bundle"), "/b");
	assert_int_equal(c.n_pos, 1);
	assert_string_equal(c.pos[0], "id");
	plx_args_free(&c);
	plx_args_free(&g);
}

static void test_help_lines_are_aligned(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	plx_flags_print(f, create, N(create));
	fclose(f);
	assert_string_equal(buf, "   --bundle value, -b value  bundle\n"
				 "   --force, -f               force\n"
				 "   --preserve-fds value      fds (default: 0)\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_stops_at_command),
		cmocka_unit_test(test_flag_forms),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bool_values),
		cmocka_unit_test(test_usage_errors_use_runc_words),
		cmocka_unit_test(test_command_any_order),
		cmocka_unit_test(test_implicit_help),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_reparse),
		cmocka_unit_test(test_help_lines_are_aligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
