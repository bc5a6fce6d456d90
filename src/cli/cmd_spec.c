/* SPDX-License-Identifier: Apache-2.0 */
/* proxmox-lxcri spec [--bundle DIR] [--rootless]: write the template config.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const struct plx_flag flags[] = {
	{ "bundle", "b", PLX_FLAG_STRING, "path to the root of the bundle directory", NULL },
	{ "rootless", NULL, PLX_FLAG_BOOL, "generate a configuration for a rootless container", NULL },
};

static int cmd_spec(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	const char *bundle = plx_args_str(a, "bundle");
	bool rootless = plx_args_bool(a, "rootless");
	json_auto_t *spec = oci_spec_template(rootless, getuid(), getgid());
	__do_free char *buf = NULL, *shown = NULL;
	__do_close int dirfd = -1;
	__do_fclose FILE *mem = NULL;
	size_t len = 0;
	struct stat st;
	int ret;

	if (!spec)
		return plx_err_set(err, ENOMEM, "cannot build the spec template");
	if (!bundle || !*bundle)
		bundle = ".";
	/* runc words it "File config.json exists": we name the bundle when one was given */
	shown = strcmp(bundle, ".") == 0 ? strdup("config.json") : plx_path_join(bundle, "config.json");
	if (!shown)
		return plx_err_set(err, ENOMEM, "out of memory");

	dirfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return plx_err_sys(err, errno, "bundle %s", bundle);
	if (fstatat(dirfd, "config.json", &st, 0) == 0)
		return plx_err_set(err, EEXIST, "File %s exists. Remove it first", shown);
	if (errno != ENOENT)
		return plx_err_sys(err, errno, "%s", shown);

	/* runc: json.MarshalIndent(spec, "", "\t"), no trailing newline, mode 0666 & ~umask */
	mem = open_memstream(&buf, &len);
	if (!mem)
		return plx_err_sys(err, errno, "open_memstream");
	ret = plx_cli_print_json(mem, spec, "\t", err);
	if (ret < 0)
		return ret;
	if (fclose(steal_ptr(mem)) != 0)
		return plx_err_sys(err, errno, "open_memstream");
	return plx_write_file_at(dirfd, "config.json", buf, len, 0666, err);
}

const struct plx_cli_cmd plx_cmd_spec = {
	.name = "spec",
	.usage = "create a new specification file",
	.description =
		"The spec command creates the new specification file named \"config.json\" for\n"
		"the bundle.\n"
		"\n"
		"The spec generated is just a starter file. Editing of the spec is required to\n"
		"achieve desired results. For example, the newly generated spec includes an args\n"
		"parameter that is initially set to call the \"sh\" command when the container is\n"
		"started. Calling \"sh\" may work for an ubuntu container or busybox, but will not\n"
		"work for containers that do not include the \"sh\" program.\n"
		"\n"
		"EXAMPLE:\n"
		"  To run a busybox container one can set the args parameter in the spec to\n"
		"call a command of the rootfs and then run it:\n"
		"\n"
		"    mkdir -p bundle/rootfs/bin\n"
		"    cp /bin/busybox bundle/rootfs/bin/\n"
		"    cd bundle\n"
		"    " PLX_PROGRAM " spec\n"
		"    sed -i 's;\"sh\";\"/bin/busybox\", \"echo\", \"hello\";' config.json\n"
		"    " PLX_PROGRAM " run container1\n"
		"\n"
		"In the run command above, \"container1\" is the name for the instance of the\n"
		"container that you are starting. The name you provide for the container instance\n"
		"must be unique on your host.\n"
		"\n"
		"You can also generate a spec for a rootless container, which has the ability\n"
		"to run without root privileges: pass --rootless to this command to map the\n"
		"calling user into a user namespace.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 0,
	.max_args = 0,
	.run = cmd_spec,
};
