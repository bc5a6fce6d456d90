/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxmox-lxcri image SUBCOMMAND: the image store (src/image/).  Each
 * subcommand is a struct plx_cli_cmd of its own in the table below (name
 * without the "image " prefix); other files add theirs with one line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/import.h"
#include "image/layer_store.h"
#include "image/pull.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/cleanup.h"

DEFINE_CLEANUP_FUNC(store_closep, struct plx_store, plx_store_close)
#define __do_store_close _cleanup_(store_closep)

static inline void json_decrefp_(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define __do_json_decref __attribute__((cleanup(json_decrefp_)))

/* "12.3MB" as docker prints sizes (powers of 1000). */
static void human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.3g%s" : "%.0f%s", v, units[u]);
}

/* ---- pull ---- */

struct progress_bar {
	uint64_t last_ms;
	bool drawn;
};

static void draw_progress(void *ctx, const struct plx_registry_progress *p)
{
	struct progress_bar *bar = ctx;
	char done[16], total[16], line[160];
	struct timespec ts;
	uint64_t now;
	int width = 30, filled;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* at most 10 redraws a second, but always the final state */
	if (bar->drawn && now - bar->last_ms < 100 && p->blobs_done < p->blobs_total)
		return;
	bar->last_ms = now;
	bar->drawn = true;
	filled = p->bytes_total ? (int)((double)p->bytes_done * width / (double)p->bytes_total) : width;
	if (filled > width)
		filled = width;
	human_size(p->bytes_done, done, sizeof(done));
	human_size(p->bytes_total, total, sizeof(total));
	snprintf(line, sizeof(line), "\r[%.*s%*s] %s / %s  blobs %zu/%zu", filled, "==============================",
		 width - filled, "", done, total, p->blobs_done, p->blobs_total);
	fputs(line, stderr);
	fflush(stderr);
}

static const struct plx_flag pull_flags[] = {
	{ "platform", NULL, PLX_FLAG_STRING, "os/arch[/variant] to pull from a multi-platform image (default: the host's)",
	  NULL },
	{ "quiet", "q", PLX_FLAG_BOOL, "print only the manifest digest, no progress", NULL },
};

static int image_pull(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_store_close struct plx_store *s = NULL;
	__do_platform_free struct plx_platform plat = {};
	struct plx_pull_result res = {};
	struct progress_bar bar = {};
	const char *p = plx_args_str(a, "platform");
	bool quiet = plx_args_bool(a, "quiet");
	struct plx_pull_opts o = { .ref = a->pos[0] };
	int ret;

	if (p && *p) {
		ret = plx_platform_parse(p, &plat, err);
		if (ret < 0)
			return ret;
		o.platform = &plat;
	}
	if (!quiet && isatty(STDERR_FILENO)) {
		o.progress = draw_progress;
		o.progress_ctx = &bar;
	}
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret < 0)
		return ret;
	ret = plx_image_pull(rt->config, s, &o, &res, err);
	if (bar.drawn)
		fputc('\n', stderr);
	if (ret < 0)
		return ret;
	if (quiet) {
		printf("%s\n", res.manifest_digest);
	} else {
		char size[16];

		human_size(res.bytes, size, sizeof(size));
		printf("Pulled %s (%s, %zu layers, %s)\nDigest: %s\n", res.name, res.platform, res.n_layers, size,
		       res.manifest_digest);
	}
	plx_pull_result_free(&res);
	return 0;
}

static const struct plx_cli_cmd image_cmd_pull = {
	.name = "pull",
	.usage = "pull an image from a registry into the image store",
	.args_usage = "<reference>\n\n"
		      "Where \"<reference>\" is [registry[:port]/]repository[:tag][@sha256:digest];\n"
		      "short names are on Docker Hub (alpine = docker.io/library/alpine:latest).",
	.flags = pull_flags,
	.n_flags = ARRAY_SIZE(pull_flags),
	.min_args = 1,
	.max_args = 1,
	.run = image_pull,
};

/* ---- import ---- */

static const struct plx_flag import_flags[] = {
	{ "name", NULL, PLX_FLAG_STRING, "the reference to name the imported image", NULL },
};

static int image_import(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_store_close struct plx_store *s = NULL;
	struct plx_import_result res = {};
	const char *name = plx_args_str(a, "name");
	int ret = plx_store_open_config(rt->config, &s, err);

	if (ret < 0)
		return ret;
	ret = plx_image_import(s, a->pos[0], name && *name ? name : NULL, &res, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; res.names && res.names[i]; i++)
		printf("Imported %s\nDigest: %s\n", res.names[i], res.digests[i]);
	plx_import_result_free(&res);
	return 0;
}

static const struct plx_cli_cmd image_cmd_import = {
	.name = "import",
	.usage = "import an OCI image layout (directory or tar) or a docker-archive tar",
	.args_usage = "<path>",
	.flags = import_flags,
	.n_flags = ARRAY_SIZE(import_flags),
	.min_args = 1,
	.max_args = 1,
	.run = image_import,
};

/* ---- ls ---- */

/* Total size of an entry: manifest + config + layers (what the store holds for it). */
static uint64_t image_size(const struct plx_store *s, const struct plx_descriptor *d)
{
	__do_image_free struct plx_image *img = NULL;
	struct plx_err ignore = PLX_ERR_INIT;
	uint64_t n = (uint64_t)d->size;

	if (plx_store_image_open(s, d->digest, &img, &ignore) < 0) {
		plx_err_clear(&ignore);
		return n;
	}
	n += (uint64_t)img->manifest->config.size;
	for (size_t i = 0; i < img->manifest->n_layers; i++)
		n += (uint64_t)img->manifest->layers[i].size;
	return n;
}

static const struct plx_flag ls_flags[] = {
	{ "format", "f", PLX_FLAG_STRING, "select one of: table or json", "table" },
};

static int image_ls(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_store_close struct plx_store *s = NULL;
	__do_index_free struct plx_index *idx = NULL;
	__do_json_decref json_t *arr = json_array();
	const char *fmt = plx_args_str(a, "format");
	bool json = strcmp(fmt, "json") == 0;
	int ret;

	if (!json && strcmp(fmt, "table") != 0)
		return plx_err_set(err, EINVAL, "invalid format option \"%s\": expected table or json", fmt);
	if (!arr)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret == 0)
		ret = plx_store_index_read(s, &idx, err);
	if (ret < 0)
		return ret;
	if (!json)
		printf("%-40s %-16s %-19s %s\n", "REPOSITORY", "TAG", "DIGEST", "SIZE");
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct plx_descriptor *d = &idx->manifests[i];
		__do_ref_free struct plx_image_ref r = {};
		__do_free char *repo = NULL;
		struct plx_err ignore = PLX_ERR_INIT;
		uint64_t size = image_size(s, d);
		char hsize[16];

		if (d->ref_name && plx_image_ref_parse(d->ref_name, &r, &ignore) == 0)
			repo = plx_image_ref_name(&r);
		plx_err_clear(&ignore);
		if (json) {
			json_t *o = json_pack("{s:s?, s:s?, s:s?, s:s, s:I}", "name", d->ref_name, "repository", repo,
					      "tag", r.tag, "digest", d->digest, "size", (json_int_t)size);

			if (!o || json_array_append_new(arr, o) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
			continue;
		}
		human_size(size, hsize, sizeof(hsize));
		printf("%-40s %-16s sha256:%.12s %s\n", repo ? repo : "<none>", r.tag ? r.tag : "<none>",
		       d->digest + 7, hsize);
	}
	if (json) {
		ret = plx_cli_print_json(stdout, arr, "  ", err);
		if (ret < 0)
			return ret;
		putchar('\n');
	}
	return 0;
}

static const struct plx_cli_cmd image_cmd_ls = {
	.name = "ls",
	.usage = "list the images in the store",
	.args_usage = " ",
	.flags = ls_flags,
	.n_flags = ARRAY_SIZE(ls_flags),
	.min_args = 0,
	.max_args = 0,
	.run = image_ls,
};

/* ---- inspect ---- */

static int image_inspect(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_store_close struct plx_store *s = NULL;
	__do_image_free struct plx_image *img = NULL;
	__do_free char *mbuf = NULL;
	__do_json_decref json_t *out = NULL;
	json_t *manifest;
	json_error_t jerr;
	size_t mlen = 0;
	int ret = plx_store_open_config(rt->config, &s, err);

	if (ret == 0)
		ret = plx_store_image_open(s, a->pos[0], &img, err);
	if (ret == 0)
		ret = plx_store_read_blob(s, img->manifest_digest, PLX_STORE_MAX_META, &mbuf, &mlen, err);
	if (ret < 0)
		return ret;
	manifest = json_loadb(mbuf, mlen, 0, &jerr);
	out = json_pack("{s:s, s:s, s:o, s:O}", "Name", img->name, "Digest", img->manifest_digest, "Manifest",
			manifest ? manifest : json_null(), "Config", img->config->doc);
	if (!out)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_cli_print_json(stdout, out, "  ", err);
	if (ret < 0)
		return ret;
	putchar('\n');
	return 0;
}

static const struct plx_cli_cmd image_cmd_inspect = {
	.name = "inspect",
	.usage = "print an image's manifest and config as JSON",
	.args_usage = "<reference|digest>",
	.min_args = 1,
	.max_args = 1,
	.run = image_inspect,
};

/* ---- rm, prune ---- */

static void print_gc(const char *what, const struct plx_store_gc_stats *st)
{
	char size[16];

	human_size(st->bytes_removed, size, sizeof(size));
	printf("%s %zu blobs and %zu partial downloads, %s freed\n", what, st->blobs_removed, st->partials_removed,
	       size);
}

/* layer store hook (image/layer_store.h): layer volumes no image needs any more go too */
static int layer_gc(struct plx_runtime *rt, struct plx_store *s, struct plx_err *err)
{
	struct plx_layer_gc_stats ls = {};
	int ret = plx_layer_store_gc_config(rt->config, s, &ls, err);

	if (ret == 0 && (ls.removed || ls.kept))
		printf("Removed %zu layer volumes (%zu kept: in use by containers)\n", ls.removed, ls.kept);
	return ret;
}

static int image_rm(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_store_close struct plx_store *s = NULL;
	int ret = plx_store_open_config(rt->config, &s, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < a->n_pos; i++) {
		struct plx_store_gc_stats st = {};

		ret = plx_store_remove(s, a->pos[i], &st, err);
		if (ret < 0)
			return ret;
		printf("Untagged: %s\n", a->pos[i]);
		print_gc("Deleted", &st);
	}
	return layer_gc(rt, s, err);
}

static const struct plx_cli_cmd image_cmd_rm = {
	.name = "rm",
	.usage = "remove images from the store (blobs no other image uses go too)",
	.args_usage = "<reference|digest> [...]",
	.min_args = 1,
	.max_args = -1,
	.run = image_rm,
};

static int image_prune(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_store_close struct plx_store *s = NULL;
	struct plx_store_gc_stats st = {};
	int ret = plx_store_open_config(rt->config, &s, err);

	if (ret == 0)
		ret = plx_store_prune(s, &st, err);
	if (ret < 0)
		return ret;
	print_gc("Removed", &st);
	return layer_gc(rt, s, err);
}

static const struct plx_cli_cmd image_cmd_prune = {
	.name = "prune",
	.usage = "remove blobs no image references and partial downloads no pull is writing",
	.args_usage = " ",
	.min_args = 0,
	.max_args = 0,
	.run = image_prune,
};

/* ---- the group ---- */

static const struct plx_cli_cmd *const image_cmds[] = {
	&image_cmd_pull, &image_cmd_import, &image_cmd_ls, &image_cmd_inspect, &image_cmd_rm, &image_cmd_prune,
	&plx_image_cmd_bundle,
	&plx_image_cmd_export,
	&plx_image_cmd_update,
};

/* "proxmox-lxcri image pull" in the subcommand's help */
static void print_sub_help(const struct plx_cli_cmd *sub)
{
	__do_free char *name = NULL;
	struct plx_cli_cmd c = *sub;

	if (asprintf(&name, "image %s", sub->name) > 0)
		c.name = name;
	plx_cli_print_cmd_help(stdout, &c);
}

static int cmd_image(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_args_free struct plx_args sa = {};
	const struct plx_cli_cmd *sub = NULL;
	size_t n;
	int ret;

	if (a->n_pos == 0 || strcmp(a->pos[0], "help") == 0) {
		plx_cli_print_cmd_help(stdout, &plx_cmd_image);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(image_cmds) && !sub; i++)
		if (strcmp(image_cmds[i]->name, a->pos[0]) == 0)
			sub = image_cmds[i];
	if (!sub) {
		plx_cli_print_cmd_help(stdout, &plx_cmd_image);
		return plx_err_set(err, EINVAL, "image: unknown command \"%s\"", a->pos[0]);
	}
	ret = plx_args_parse(sub->flags, sub->n_flags, (int)a->n_pos, a->pos, PLX_ARGS_ANY_ORDER, &sa, err);
	if (ret < 0) {
		print_sub_help(sub);
		return plx_err_prefix(err, "image %s", sub->name);
	}
	if (sa.help) {
		print_sub_help(sub);
		return 0;
	}
	n = sa.n_pos;
	if (n < (size_t)sub->min_args || (sub->max_args >= 0 && n > (size_t)sub->max_args)) {
		print_sub_help(sub);
		return plx_err_set(err, EINVAL, "image %s: expected %s%d argument(s), got %zu", sub->name,
				   sub->max_args < 0 ? "at least " : "", sub->min_args, n);
	}
	return sub->run(rt, &sa, err);
}

const struct plx_cli_cmd plx_cmd_image = {
	.name = "image",
	.usage = "manage OCI images: pull, ls, bundle, ... (\"image help\" lists the commands)",
	.args_usage = "command [command options] [arguments...]",
	.description = "Images live in an OCI image layout (the config's images.store, default\n"
		       "   " PLX_STORE_DEFAULT_ROOT ").\n"
		       "   \"" PLX_PROGRAM " image COMMAND --help\" shows a command's options.",
	.subcmds = image_cmds,
	.n_subcmds = ARRAY_SIZE(image_cmds),
	.min_args = 0,
	.max_args = -1,
	.needs_runtime = true,
	.flags_first = true,
	.run = cmd_image,
};
