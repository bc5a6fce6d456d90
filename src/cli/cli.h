/* SPDX-License-Identifier: Apache-2.0 */
/* The commands of the proxmox-lxcri CLI and what they share. */
#pragma once

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>

#include "cli/args.h"
#include "core/lifecycle.h"
#include "util/error.h"

#define PLX_PROGRAM "proxmox-lxcri"

struct plx_cli_cmd {
	const char *name;
	const char *alias;       /* "h" for help, or NULL */
	const char *usage;       /* one line, shown in the command list */
	const char *args_usage;  /* text after the USAGE line's command name */
	const char *description; /* NULL when none */
	const struct plx_flag *flags;
	size_t n_flags;
	int min_args, max_args;  /* positional arguments; max -1 = any */
	bool needs_runtime;      /* loads the runtime config and resolves --root */
	bool flags_first;        /* flags only before the first argument (exec: the command's own flags follow) */
	/* a command group's commands ("image pull"), listed by its help */
	const struct plx_cli_cmd *const *subcmds;
	size_t n_subcmds;
	/*
	 * Returns the exit status (>= 0) or a negative code with err set.
	 * rt is fully set up only when needs_runtime.
	 */
	int (*run)(struct plx_runtime *rt, const struct plx_args *args, struct plx_err *err);
};

extern const struct plx_cli_cmd plx_cmd_create, plx_cmd_start, plx_cmd_run, plx_cmd_state, plx_cmd_list,
	plx_cmd_kill, plx_cmd_delete, plx_cmd_spec, plx_cmd_features, plx_cmd_help, plx_cmd_exec,
	plx_cmd_pause, plx_cmd_resume, plx_cmd_ps, plx_cmd_events, plx_cmd_update, plx_cmd_pve,
	plx_cmd_image;
extern const struct plx_cli_cmd plx_cmd_checkpoint, plx_cmd_restore, plx_cmd_checkpoints;
/* image subcommands other files add to cmd_image.c's table */
extern const struct plx_cli_cmd plx_image_cmd_bundle;
extern const struct plx_cli_cmd plx_image_cmd_update;
/* remote mode (cmd_remote.c): CTs on a PVE cluster, by name */
extern const struct plx_cli_cmd plx_cmd_stop, plx_cmd_status, plx_cmd_snapshot, plx_cmd_rollback;
extern const struct plx_cli_cmd plx_image_cmd_export;

/* The global options and the commands, in the order help lists them. */
extern const struct plx_flag plx_global_flags[];
extern const size_t plx_n_global_flags;
extern const struct plx_cli_cmd *const plx_cli_commands[];
extern const size_t plx_cli_n_commands;

/* The command named name (or its alias), NULL when unknown. */
const struct plx_cli_cmd *plx_cli_find(const char *name);

/*
 * The flags create and run share, as runc words them, and the options
 * they fill: paths are made absolute here because runc resolves them
 * against the caller's directory.  *bundle and *pid_file own those paths.
 */
#define PLX_FLAG_BUNDLE                                                                                 \
	{ "bundle", "b", PLX_FLAG_STRING,                                                               \
	  "path to the root of the bundle directory, defaults to the current directory", NULL }
#define PLX_FLAG_CONSOLE_SOCKET                                                                         \
	{ "console-socket", NULL, PLX_FLAG_STRING,                                                      \
	  "path to an AF_UNIX socket which will receive a file descriptor referencing the master end "   \
	  "of the console's pseudoterminal",                                                            \
	  NULL }
#define PLX_FLAG_PID_FILE                                                                               \
	{ "pid-file", NULL, PLX_FLAG_STRING, "specify the file to write the process id to", NULL }
#define PLX_FLAG_NO_PIVOT                                                                               \
	{ "no-pivot", NULL, PLX_FLAG_BOOL,                                                              \
	  "do not use pivot root to jail process inside rootfs.  This should be used whenever the "      \
	  "rootfs is on top of a ramdisk",                                                              \
	  NULL }
#define PLX_FLAG_NO_NEW_KEYRING                                                                         \
	{ "no-new-keyring", NULL, PLX_FLAG_BOOL,                                                        \
	  "do not create a new session keyring for the container.  This will cause the container to "    \
	  "inherit the calling processes session key",                                                  \
	  NULL }
#define PLX_FLAG_PRESERVE_FDS                                                                           \
	{ "preserve-fds", NULL, PLX_FLAG_UINT,                                                          \
	  "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", "0" }

int plx_cli_create_opts(const struct plx_args *a, struct plx_create_opts *o, char **bundle, char **pid_file,
			struct plx_err *err);

/*
 * The flags that say how an image runs (image bundle; create/run --image),
 * and the options they fill: the command is pos[first_arg...], "KEY" alone
 * in --env takes the caller's value as docker does.  *env and *args own
 * what o points to.
 */
#define PLX_FLAG_IMAGE_RUN                                                                              \
	{ "env", "e", PLX_FLAG_STRINGS,                                                                 \
	  "set an environment variable KEY=VALUE (KEY alone: the caller's), over the image's", NULL },   \
	{ "user", "u", PLX_FLAG_STRING,                                                                 \
	  "user[:group] to run as, names from the image's /etc/passwd (default: the image's User)",     \
	  NULL },                                                                                       \
	{ "workdir", "w", PLX_FLAG_STRING, "working directory (default: the image's WorkingDir)", NULL }, \
	{ "tty", "t", PLX_FLAG_BOOL, "give the process a terminal", NULL }
#define PLX_FLAG_IMAGE                                                                                  \
	{ "image", NULL, PLX_FLAG_STRING,                                                               \
	  "make the bundle from this image in the image store (removed by delete); arguments after "    \
	  "\"-- \" replace the image's Cmd", NULL }
struct plx_image_run_opts;
/*
 * create/run --image: the bundle made from the image takes --bundle's
 * place (*bundle owns it, *made says one was made: abandon it if create
 * fails).  Without --image only the container id may be given.
 */
int plx_cli_create_image(struct plx_runtime *rt, const struct plx_cli_cmd *cmd, const struct plx_args *a,
			 struct plx_create_opts *o, char **bundle, bool *made, struct plx_err *err);
int plx_cli_image_run_opts(const struct plx_args *a, size_t first_arg, struct plx_image_run_opts *o, char ***env,
			   char ***args, struct plx_err *err);

/*
 * Remote mode (cmd_remote.c, docs/proxmox.md "Remote mode"): create's
 * flags that only "create --name NAME --image REF" uses, which creates CT
 * NAME on the PVE cluster of the runtime config instead of a local
 * container (runc's create has no --name).
 */
#define PLX_FLAG_REMOTE_CREATE                                                                           \
	{ "name", NULL, PLX_FLAG_STRING,                                                                 \
	  "remote mode: create CT NAME from --image on the Proxmox VE cluster of the runtime config",     \
	  NULL },                                                                                        \
	{ "memory", NULL, PLX_FLAG_UINT, "remote mode: the CT's memory in MiB (default: PVE's)", NULL },   \
	{ "cores", NULL, PLX_FLAG_UINT, "remote mode: the CT's CPU cores (default: all)", NULL },          \
	{ "storage", NULL, PLX_FLAG_STRING, "remote mode: the PVE storage of the CT's rootfs", NULL },     \
	{ "node", NULL, PLX_FLAG_STRING, "remote mode: the PVE node (default: proxmox.node)", NULL },      \
	{ "net0", NULL, PLX_FLAG_STRING,                                                                 \
	  "remote mode: the CT's first network device, e.g. name=eth0,bridge=vmbr0,ip=dhcp", NULL },     \
	{ "rootfs-size", NULL, PLX_FLAG_UINT, "remote mode: the rootfs size in GiB", "8" },                 \
	{ "template-storage", NULL, PLX_FLAG_STRING,                                                     \
	  "remote mode: the PVE storage (content vztmpl) for the image's CT template", "local" },          \
	{ "pull", NULL, PLX_FLAG_STRING,                                                                 \
	  "remote mode: pull the image: always, missing (not in the store) or never", "missing" }

/* create --name: the CT on PVE (create's run calls this first when --name is given). */
int plx_cli_remote_create(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err);

/*
 * start/delete ID: 1 when ID is for the local runtime (a local container
 * of that ID exists, no proxmox section is configured, or PVE has no CT
 * of ours by that name), else the remote action's result (0 or < 0).
 */
int plx_cli_remote_dispatch(struct plx_runtime *rt, const char *cmd, const char *id, bool force,
			    struct plx_err *err);

/* "pve create|start|stop|delete|status|snapshot|rollback|list": is sub one, and run it. */
bool plx_cli_pve_remote_sub(const char *sub);
int plx_cli_pve_remote(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err);

/*
 * The runtime config's proxmox section and a PVE client for it (cmd_pve.c);
 * free *client before *cfg.  No section: an error naming the config file.
 */
struct pve_config;
struct pve_client;
int plx_cli_pve_open(const struct plx_runtime *rt, struct pve_config **cfg, struct pve_client **client,
		     struct plx_err *err);

/* runc's CRIU flags of checkpoint/restore (cmd_checkpoint.c); o->requested when any was given. */
struct plx_criu_opts;
int plx_cli_criu_opts(const struct plx_args *a, struct plx_criu_opts *o, struct plx_err *err);

/* The create/run help texts, shared. */
#define PLX_CLI_CREATE_ARGS_USAGE                                                       \
	"<container-id>\n"                                                               \
	"\n"                                                                             \
	"Where \"<container-id>\" is your name for the instance of the container that you\n" \
	"are starting. The name you provide for the container instance must be unique on\n" \
	"your host."
#define PLX_CLI_CREATE_DESCRIPTION(cmd)                                                   \
	"The " cmd " command creates an instance of a container for a bundle. The bundle\n"  \
	"is a directory with a specification file named \"config.json\" and a root\n"        \
	"filesystem.\n"                                                                    \
	"\n"                                                                               \
	"The specification file includes an args parameter. The args parameter is used\n"  \
	"to specify command(s) that get run when the container is started. To change the\n" \
	"command(s) that get executed on start, edit the args parameter of the spec. See\n" \
	"\"" PLX_PROGRAM " spec --help\" for more explanation."

/* Help texts, as runc prints them (to stdout). */
void plx_cli_print_app_help(FILE *out);
void plx_cli_print_cmd_help(FILE *out, const struct plx_cli_cmd *cmd);
void plx_cli_print_version(FILE *out);

/*
 * Write a JSON value indented as Go's json.MarshalIndent(v, "", indent)
 * does; indent is "\t" or a run of spaces.  No trailing newline.
 */
int plx_cli_print_json(FILE *out, const json_t *v, const char *indent, struct plx_err *err);
