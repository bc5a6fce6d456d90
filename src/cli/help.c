/* SPDX-License-Identifier: Apache-2.0 */
/* Help and version texts, laid out as urfave/cli lays out runc's. */
#include <lxc/lxccontainer.h>
#include <seccomp.h>
#include <string.h>

#include "cli/cli.h"
#include "config-build.h"
#include "oci/spec.h"
#include "version.h"

static const char app_usage[] =
	"Open Container Initiative runtime\n"
	"\n"
	PLX_PROGRAM " is a command line client for running applications packaged according to\n"
	"the Open Container Initiative (OCI) format and is a drop-in replacement for runc:\n"
	"same commands, same flags, same behaviour.  Containers are set up and run by\n"
	"liblxc.\n"
	"\n"
	"Containers are configured using bundles. A bundle for a container is a directory\n"
	"that includes a specification file named \"config.json\" and a root filesystem.\n"
	"The root filesystem contains the contents of the container.\n"
	"\n"
	"To start a new instance of a container:\n"
	"\n"
	"    # " PLX_PROGRAM " run [ -b bundle ] <container-id>\n"
	"\n"
	"Where \"<container-id>\" is your name for the instance of the container that you\n"
	"are starting. The name you provide for the container instance must be unique on\n"
	"your host. Providing the bundle directory using \"-b\" is optional. The default\n"
	"value for \"bundle\" is the current directory.";

/* Everything after "version " (also the VERSION section of the help). */
static void print_version_body(FILE *out)
{
	const struct scmp_version *v = seccomp_version();

	fprintf(out,
		"%s\n"
		"commit: %s\n"
		"spec: %s\n"
		"liblxc: %s\n"
		"libseccomp: %u.%u.%u\n",
		PLX_VERSION, PLX_GIT_COMMIT, OCI_RUNTIME_SPEC_VERSION, lxc_get_version(), v->major, v->minor,
		v->micro);
}

void plx_cli_print_version(FILE *out)
{
	fputs(PLX_PROGRAM " version ", out);
	print_version_body(out);
}

/* "   name, alias  usage" lines, the usages in one column. */
static void print_commands(FILE *out, const struct plx_cli_cmd *const *cmds, size_t n)
{
	int width = 0;

	for (size_t i = 0; i < n; i++) {
		int w = (int)strlen(cmds[i]->name) + (cmds[i]->alias ? 2 + (int)strlen(cmds[i]->alias) : 0);

		if (w > width)
			width = w;
	}
	for (size_t i = 0; i < n; i++) {
		const struct plx_cli_cmd *c = cmds[i];
		int w = (int)strlen(c->name) + (c->alias ? 2 + (int)strlen(c->alias) : 0);

		fprintf(out, "   %s%s%s%*s  %s\n", c->name, c->alias ? ", " : "", c->alias ? c->alias : "",
			width - w, "", c->usage);
	}
}

void plx_cli_print_app_help(FILE *out)
{
	fprintf(out, "NAME:\n   %s - %s\n\n", PLX_PROGRAM, app_usage);
	fprintf(out, "USAGE:\n   %s [global options] command [command options] [arguments...]\n\n",
		PLX_PROGRAM);
	fputs("VERSION:\n   ", out);
	print_version_body(out);

	fputs("\nCOMMANDS:\n", out);
	print_commands(out, plx_cli_commands, plx_cli_n_commands);
	fputs("\nGLOBAL OPTIONS:\n", out);
	plx_flags_print(out, plx_global_flags, plx_n_global_flags);
}

void plx_cli_print_cmd_help(FILE *out, const struct plx_cli_cmd *cmd)
{
	const char *options = cmd->n_flags ? " [command options]" : "";

	fprintf(out, "NAME:\n   %s %s - %s\n\n", PLX_PROGRAM, cmd->name, cmd->usage);
	fprintf(out, "USAGE:\n   %s %s%s %s\n", PLX_PROGRAM, cmd->name, options,
		cmd->args_usage ? cmd->args_usage : "[arguments...]");
	if (cmd->description)
		fprintf(out, "\nDESCRIPTION:\n   %s\n", cmd->description);
	if (cmd->n_subcmds) {
		fputs("\nCOMMANDS:\n", out);
		print_commands(out, cmd->subcmds, cmd->n_subcmds);
	}
	if (cmd->n_flags) {
		fputs("\nOPTIONS:\n", out);
		plx_flags_print(out, cmd->flags, cmd->n_flags);
	}
}
