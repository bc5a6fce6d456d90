/* SPDX-License-Identifier: Apache-2.0 */
/* The options create's and run's flags fill. */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fs.h"

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
