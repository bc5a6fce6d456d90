/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxmox-lxcri image export --pve-template REF FILE.tar.zst [-- command...]
 * proxmox-lxcri image export --pve-template --from-bundle DIR FILE.tar.zst
 *
 * A Proxmox VE CT template of an image (image/pve_template.h).  A template
 * carries the rootfs only, so the process and environment PVE 9.1 keeps
 * in an application CT's config are printed as the config lines they
 * become ("entrypoint:", "lxc.environment.runtime:"): give them to
 * "pct create ... --entrypoint ... --env ..." or let "create --name" do it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/pve_template.h"
#include "image/store.h"
#include "proxmox/pve_remote.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(export_store_closep, struct plx_store, plx_store_close)

static const struct plx_flag flags[] = {
	{"pve-template", NULL, PLX_FLAG_BOOL, "write a Proxmox VE container template (.tar.zst)", NULL},
	{"from-bundle", NULL, PLX_FLAG_STRING,
	 "export the rootfs and process of an OCI bundle directory instead of an image", NULL},
	{"env", "e", PLX_FLAG_STRINGS, "set an environment variable KEY=VALUE over the image's", NULL},
};

/* The strings of a JSON array (NULL when v is not one). */
static int json_strv(const json_t *v, const char *what, char ***out, struct plx_err *err)
{
	__do_strv_free char **list = calloc(1, sizeof(char *));
	size_t i;
	json_t *s;

	if (!list)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_array_foreach (v, i, s) {
		if (!json_is_string(s))
			return plx_err_set(err, EINVAL, "%s[%zu]: expected a string", what, i);
		if (plx_strv_append(&list, json_string_value(s)) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	*out = steal_ptr(list);
	return 0;
}

/* DIR/config.json's rootfs, process.args and process.env. */
static int bundle_process(const char *dir, char **rootfs, char ***argv, char ***env, struct plx_err *err)
{
	__do_free char *path = plx_path_join(dir, "config.json");
	json_auto_t *doc = NULL;
	json_error_t jerr;
	json_t *root, *process;
	const char *rp;
	int ret;

	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "%s: %s", path, jerr.text);
	root = json_object_get(doc, "root");
	process = json_object_get(doc, "process");
	rp = json_string_value(json_object_get(root, "path"));
	*rootfs = rp && rp[0] == '/' ? strdup(rp) : plx_path_join(dir, rp ? rp : "rootfs");
	if (!*rootfs)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = json_strv(json_object_get(process, "args"), "process.args", argv, err);
	if (ret == 0)
		ret = json_strv(json_object_get(process, "env"), "process.env", env, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s", path);
	return 0;
}

static int print_process(char *const *argv, char *const *env, struct plx_err *err)
{
	__do_free char *entry = NULL;
	int ret;

	if (argv && argv[0]) {
		ret = pve_remote_entrypoint(argv, &entry, err);
		if (ret < 0)
			return ret;
		printf("entrypoint: %s\n", entry);
	}
	for (size_t i = 0; env && env[i]; i++)
		printf("lxc.environment.runtime: %s\n", env[i]);
	return 0;
}

static int image_export(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__attribute__((cleanup(export_store_closep))) struct plx_store *s = NULL;
	__do_image_free struct plx_image *img = NULL;
	__do_strv_free char **args = NULL, **argv = NULL, **env = NULL;
	__do_free char *rootfs = NULL, *name = NULL;
	struct plx_pve_template_stats st;
	const char *bundle = plx_args_str(a, "from-bundle"), *out;
	int ret;

	if (!plx_args_bool(a, "pve-template"))
		return plx_err_set(err, EINVAL,
				   "image export: say which format: --pve-template (a Proxmox VE CT "
				   "template, the one format there is)");
	if (bundle && *bundle) {
		if (a->n_pos != 1)
			return plx_err_set(err, EINVAL,
					   "image export --from-bundle DIR: expected FILE.tar.zst only");
		out = a->pos[0];
		ret = bundle_process(bundle, &rootfs, &argv, &env, err);
		if (ret == 0)
			ret = plx_pve_template_write(rootfs, out, &st, err);
	} else {
		if (a->n_pos < 2)
			return plx_err_set(err, EINVAL,
					   "image export: expected REF FILE.tar.zst [-- command...]");
		out = a->pos[1];
		for (size_t i = 2; i < a->n_pos; i++)
			if (plx_strv_append(&args, a->pos[i]) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
		ret = plx_store_open_config(rt->config, &s, err);
		if (ret == 0)
			ret = plx_store_image_open(s, a->pos[0], &img, err);
		if (ret == 0)
			ret = plx_pve_template_process(img, args, plx_args_strv(a, "env"), &argv, &env, err);
		if (ret == 0)
			ret = plx_pve_template_export(s, img, out, &st, err);
	}
	if (ret < 0)
		return ret;
	printf("template: %s (%llu entries, %llu bytes, %s)\n", out, (unsigned long long)st.entries,
	       (unsigned long long)st.bytes, st.sha256);
	if (img && (name = plx_pve_template_name(img->manifest_digest)))
		printf("image: %s@%s (create --name uploads it as %s)\n", img->name, img->manifest_digest,
		       name);
	ret = print_process(argv, env, err);
	if (ret < 0)
		return ret;
	return fflush(stdout) == 0 ? 0 : plx_err_sys(err, errno, "write output");
}

const struct plx_cli_cmd plx_image_cmd_export = {
	.name = "export",
	.usage = "write an image as a Proxmox VE CT template (.tar.zst)",
	.args_usage = "--pve-template <reference|digest> <file.tar.zst> [-- command [args...]]\n"
		      "   " PLX_PROGRAM " image export --pve-template --from-bundle <dir> <file.tar.zst>\n\n"
		      "The template holds the rootfs (numeric owners, xattrs, ACLs). The process and\n"
		      "environment are printed as the CT config lines PVE 9.1 keeps for them\n"
		      "(entrypoint:, lxc.environment.runtime:); arguments after \"--\" replace Cmd.",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = -1,
	.run = image_export,
};
