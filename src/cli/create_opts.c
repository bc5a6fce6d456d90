/* SPDX-License-Identifier: Apache-2.0 */
/* The options create's and run's flags fill. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/image_create.h"
#include "image/image_config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

int plx_cli_create_opts(const struct plx_args *a, struct plx_create_opts *o, char **bundle, char **pid_file,
			struct plx_err *err)
{
	const char *b = plx_args_str(a, "bundle");
	const char *p = plx_args_str(a, "pid-file");

	*o = (struct plx_create_opts){
		.id = a->pos[0],
		.console_socket = plx_args_str(a, "console-socket"),
		.no_pivot = plx_args_bool(a, "no-pivot"),
		.no_new_keyring = plx_args_bool(a, "no-new-keyring"),
		.preserve_fds = plx_args_uint(a, "preserve-fds"),
	};
	/* "" means the default, as an unset flag does in runc */
	if (b && *b) {
		*bundle = plx_path_abs(b);
		if (!*bundle)
			return plx_err_set(err, ENOMEM, "out of memory");
		o->bundle = *bundle;
	}
	if (p && *p) {
		*pid_file = plx_path_abs(p);
		if (!*pid_file)
			return plx_err_set(err, ENOMEM, "out of memory");
		o->pid_file = *pid_file;
	}
	if (o->console_socket && !*o->console_socket)
		o->console_socket = NULL;
	return 0;
}

int plx_cli_image_run_opts(const struct plx_args *a, size_t first_arg, struct plx_image_run_opts *o, char ***env,
			   char ***args, struct plx_err *err)
{
	char *const *given = plx_args_strv(a, "env");
	const char *user = plx_args_str(a, "user"), *wd = plx_args_str(a, "workdir");

	*env = NULL;
	*args = NULL;
	for (size_t i = 0; given && given[i]; i++) {
		__do_free char *kv = NULL;
		const char *v;

		/* docker's --env KEY: the caller's value, or nothing when the caller has none */
		if (strchr(given[i], '=')) {
			kv = strdup(given[i]);
		} else if ((v = getenv(given[i]))) {
			if (asprintf(&kv, "%s=%s", given[i], v) < 0)
				kv = NULL;
		} else {
			continue;
		}
		if (!kv || plx_strv_append(env, kv) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = first_arg; i < a->n_pos; i++)
		if (plx_strv_append(args, a->pos[i]) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	*o = (struct plx_image_run_opts){
		.args = *args,
		.env = *env,
		.user = user && *user ? user : NULL,
		.workdir = wd && *wd ? wd : NULL,
		.tty = plx_args_bool(a, "tty"),
	};
	return 0;
}

/* main.c's usage error, for the argument counts create and run check themselves (they depend on --image). */
static int usage_error(const struct plx_cli_cmd *cmd, bool exactly, struct plx_err *err)
{
	printf("Incorrect Usage.\n\n");
	plx_cli_print_cmd_help(stdout, cmd);
	fflush(stdout);
	return plx_err_set(err, EINVAL, "%s: \"%s\" requires %s 1 argument(s)", program_invocation_name, cmd->name,
			   exactly ? "exactly" : "a minimum of");
}

int plx_cli_create_image(struct plx_runtime *rt, const struct plx_cli_cmd *cmd, const struct plx_args *a,
			 struct plx_create_opts *o, char **bundle, bool *made, struct plx_err *err)
{
	__do_strv_free char **env = NULL;
	__do_strv_free char **args = NULL;
	const char *image = plx_args_str(a, "image");
	struct plx_image_run_opts ro;
	int ret;

	*made = false;
	if (!image || !*image) {
		/* runc's check, as if the command took exactly the id */
		if (a->n_pos != 1)
			return usage_error(cmd, true, err);
		if (plx_args_isset(a, "env") || plx_args_isset(a, "user") || plx_args_isset(a, "workdir") ||
		    plx_args_isset(a, "tty"))
			return plx_err_set(err, EINVAL, "--env, --user, --workdir and --tty need --image");
		return 0;
	}
	if (a->n_pos < 1)
		return usage_error(cmd, false, err);
	if (o->bundle)
		return plx_err_set(err, EINVAL, "--image and --bundle exclude each other");
	ret = plx_cli_image_run_opts(a, 1, &ro, &env, &args, err);
	if (ret < 0)
		return ret;
	free(*bundle);
	*bundle = NULL;
	ret = plx_image_create_bundle(rt, o->id, image, &ro, bundle, err);
	if (ret < 0)
		return ret;
	o->bundle = *bundle;
	*made = true;
	return 0;
}
