/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxmox-lxcri: global options, the command dispatch and the one place
 * that prints errors.  Exit status: 0, the container program's for run,
 * 1 for any failure (usage errors included), as runc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(cli_config_freep, struct plx_config, plx_config_free)

/* runc's fatal(): the log gets the error; stderr too when the log is a file. */
static int fatal(const struct plx_err *err)
{
	log_error("%s", plx_err_msg(err));
	if (plx_log_is_file())
		fprintf(stderr, "%s\n", plx_err_msg(err));
	return 1;
}

/* urfave/cli prints usage errors with the help that fits, on stdout. */
static int usage_error(const struct plx_cli_cmd *cmd, const char *lead, const struct plx_err *err)
{
	printf("%s\n\n", lead);
	if (cmd)
		plx_cli_print_cmd_help(stdout, cmd);
	else
		plx_cli_print_app_help(stdout);
	fflush(stdout);
	return fatal(err);
}

/* runc's checkArgs(), with its wording. */
static int check_args(const char *argv0, const struct plx_cli_cmd *cmd, size_t n, struct plx_err *err)
{
	if (cmd->min_args == cmd->max_args && n != (size_t)cmd->min_args)
		return plx_err_set(err, EINVAL, "%s: \"%s\" requires exactly %d argument(s)", argv0,
				   cmd->name, cmd->min_args);
	if (n < (size_t)cmd->min_args)
		return plx_err_set(err, EINVAL, "%s: \"%s\" requires a minimum of %d argument(s)", argv0,
				   cmd->name, cmd->min_args);
	if (cmd->max_args >= 0 && n > (size_t)cmd->max_args)
		return plx_err_set(err, EINVAL, "%s: \"%s\" requires a maximum of %d argument(s)", argv0,
				   cmd->name, cmd->max_args);
	return 0;
}

/* runc: "", "auto" (any case) or a Go boolean. */
static int check_rootless(const char *v, struct plx_err *err)
{
	static const char *const ok[] = { "1", "t", "T", "TRUE", "true", "True",
					  "0", "f", "F", "FALSE", "false", "False" };

	if (!v || !*v || strcasecmp(v, "auto") == 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (strcmp(v, ok[i]) == 0)
			return 0;
	return plx_err_set(err, EINVAL, "invalid value \"%s\" for --rootless: expected true, false or auto",
			   v);
}

static void log_command_line(int argc, char **argv)
{
	__do_free char *line = NULL;
	size_t len = 0;
	FILE *f;

	if (!plx_log_debug_enabled())
		return;
	f = open_memstream(&line, &len);
	if (!f)
		return;
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fclose(f);
	log_debug("command line: %s", line);
}

/*
 * The per-invocation context: the runtime config file, then --root (or
 * the config's "root", or the default) made absolute as runc does.  The
 * caller owns *config, *root and *log_path, which rt points into.
 */
static int setup_runtime(struct plx_runtime *rt, const struct plx_args *g, struct plx_config **config,
			 char **root, char **log_path, struct plx_err *err)
{
	const char *r = plx_args_isset(g, "root") ? plx_args_str(g, "root") : NULL;
	const char *log = plx_args_str(g, "log");
	int ret;

	ret = check_rootless(plx_args_str(g, "rootless"), err);
	if (ret < 0)
		return ret;
	ret = plx_config_load(config, err);
	if (ret < 0)
		return ret;
	rt->config = *config;
	if (!r || !*r)
		r = rt->config->root && *rt->config->root ? rt->config->root : PLX_DEFAULT_ROOT;
	*root = plx_path_abs(r);
	if (!*root)
		return plx_err_set(err, ENOMEM, "out of memory");
	rt->root = *root;
	if (log && *log) {
		*log_path = plx_path_abs(log);
		if (!*log_path)
			return plx_err_set(err, ENOMEM, "out of memory");
		rt->log_path = *log_path;
	}

	/* the config's log_level "debug" turns on what --debug does */
	if (!rt->debug && rt->config->log_level && strcmp(rt->config->log_level, "debug") == 0) {
		rt->debug = true;
		plx_log_init(rt->log_path, plx_log_format(), true);
	}
	return 0;
}

static int run_command(const struct plx_cli_cmd *cmd, struct plx_runtime *rt, const struct plx_args *g,
		       const char *argv0, struct plx_err *err)
{
	_cleanup_(cli_config_freep) struct plx_config *config = NULL;
	__do_free char *root = NULL, *log_path = NULL;
	__do_args_free struct plx_args a = {};
	int ret;

	/* g->pos[0] is the command name: it plays argv[0] for the command's parser */
	ret = plx_args_parse(cmd->flags, cmd->n_flags, (int)g->n_pos, g->pos,
			     cmd->flags_first ? PLX_ARGS_FLAGS_FIRST : PLX_ARGS_ANY_ORDER, &a, err);
	if (ret < 0) {
		__do_free char *lead = NULL;

		if (asprintf(&lead, "Incorrect Usage: %s", plx_err_msg(err)) < 0)
			lead = NULL;
		return usage_error(cmd, lead ? lead : "Incorrect Usage.", err);
	}
	if (a.help) {
		plx_cli_print_cmd_help(stdout, cmd);
		return 0;
	}
	ret = check_args(argv0, cmd, a.n_pos, err);
	if (ret < 0)
		return usage_error(cmd, "Incorrect Usage.", err);
	if (cmd->needs_runtime) {
		ret = setup_runtime(rt, g, &config, &root, &log_path, err);
		if (ret < 0)
			return fatal(err);
	}
	/* the lifecycle may fork: nothing buffered may be written twice */
	fflush(stdout);
	ret = cmd->run(rt, &a, err);
	if (ret < 0)
		return fatal(err);
	return ret;
}

int main(int argc, char **argv)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	__do_args_free struct plx_args g = {};
	struct plx_runtime rt = {};
	const struct plx_cli_cmd *cmd;
	const char *fmt;
	int ret;

	ret = plx_args_parse(plx_global_flags, plx_n_global_flags, argc, argv, PLX_ARGS_FLAGS_FIRST, &g,
			     &err);
	if (ret < 0) {
		__do_free char *lead = NULL;

		if (asprintf(&lead, "Incorrect Usage. %s", plx_err_msg(&err)) < 0)
			lead = NULL;
		return usage_error(NULL, lead ? lead : "Incorrect Usage.", &err);
	}

	fmt = plx_args_str(&g, "log-format");
	if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0) {
		plx_err_set(&err, EINVAL, "invalid log-format: %s", fmt);
		return fatal(&err);
	}
	rt.debug = plx_args_bool(&g, "debug");
	rt.systemd_cgroup = plx_args_bool(&g, "systemd-cgroup");
	rt.criu = plx_args_str(&g, "criu");
	rt.log_format = fmt;
	/* first of all, so that every later failure lands where the caller reads */
	ret = plx_log_init(plx_args_str(&g, "log"), strcmp(fmt, "json") == 0 ? PLX_LOG_JSON : PLX_LOG_TEXT,
			   rt.debug);
	if (ret < 0) {
		plx_err_sys(&err, -ret, "open log file %s", plx_args_str(&g, "log"));
		return fatal(&err);
	}
	log_command_line(argc, argv);

	if (plx_args_bool(&g, "help") || (g.n_pos == 0 && !plx_args_bool(&g, "version"))) {
		plx_cli_print_app_help(stdout);
		ret = 0;
	} else if (plx_args_bool(&g, "version")) {
		plx_cli_print_version(stdout);
		ret = 0;
	} else if (!(cmd = plx_cli_find(g.pos[0]))) {
		plx_err_set(&err, EINVAL, "No help topic for '%s'", g.pos[0]);
		ret = usage_error(NULL, "Incorrect Usage.", &err);
	} else {
		ret = run_command(cmd, &rt, &g, argv[0], &err);
	}
	plx_log_close();
	return ret;
}
