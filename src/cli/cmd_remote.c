/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote mode: application containers as CTs on a Proxmox VE cluster,
 * managed by name from anywhere (proxmox/pve_remote.h).
 *
 *   create --name NAME --image REF --storage S [...] [-- ARGS]
 *   stop|status NAME, snapshot NAME [SNAP], rollback NAME SNAP
 *   start|delete NAME      when no local container has that ID
 *   pve create|start|stop|delete|status|snapshot|rollback|list
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "image/image_config.h"
#include "image/pull.h"
#include "image/pve_template.h"
#include "image/store.h"
#include "proxmox/pve_client.h"
#include "proxmox/pve_config.h"
#include "proxmox/pve_remote.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(remote_config_freep, struct pve_config, pve_config_free)
DEFINE_CLEANUP_FUNC(remote_client_freep, struct pve_client, pve_client_free)
DEFINE_CLEANUP_FUNC(remote_store_closep, struct plx_store, plx_store_close)

/* docker stop's grace period before the kill */
#define STOP_TIMEOUT "10"

/*
 * Seconds each request of the lookup of a start/delete ID with no local
 * container may take (connect and answer): containerd deletes containers
 * that are gone, and an unreachable PVE must not hold that up for
 * proxmox.timeout per host.
 */
#define REMOTE_LOOKUP_TIMEOUT 2

/* The PVE client of the runtime config's proxmox section. */
struct remote {
	struct pve_config *cfg;
	struct pve_client *client;
};

static void remote_close(struct remote *r)
{
	pve_client_free(r->client);
	pve_config_free(r->cfg);
	*r = (struct remote){};
}
#define __do_remote_close __attribute__((cleanup(remote_close)))

static int remote_open(const struct plx_runtime *rt, struct remote *r, struct plx_err *err)
{
	return plx_cli_pve_open(rt, &r->cfg, &r->client, err);
}

/* ---- create ---- */

/* Makes the template when it has to be uploaded (pve_remote_template.make). */
struct template_maker {
	const struct plx_store *store;
	const struct plx_image *img;
	const char *filename;
	char *dir;  /* a temporary directory holding the file */
	char *path; /* dir/filename */
	struct plx_pve_template_stats st;
};

static int make_template(void *arg, const char **path, const char **sha256_hex, struct plx_err *err)
{
	struct template_maker *m = arg;
	const char *tmp = getenv("TMPDIR");
	int ret;

	/* /var/tmp, not /tmp: a template is the size of the image, /tmp may be a small tmpfs */
	if (asprintf(&m->dir, "%s/proxmox-lxcri-template-XXXXXX", tmp && *tmp ? tmp : "/var/tmp") < 0) {
		m->dir = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	if (!mkdtemp(m->dir))
		return plx_err_sys(err, errno, "template: mkdtemp %s", m->dir);
	m->path = plx_path_join(m->dir, m->filename);
	if (!m->path)
		return plx_err_set(err, ENOMEM, "out of memory");
	log_info("exporting image %s as template %s", m->img->name, m->filename);
	ret = plx_pve_template_export(m->store, m->img, m->path, &m->st, err);
	if (ret < 0)
		return ret;
	*path = m->path;
	*sha256_hex = plx_digest_hex(m->st.sha256);
	return 0;
}

static void template_maker_clear(struct template_maker *m)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;

	if (m->dir && plx_rm_rf_at(AT_FDCWD, m->dir, &e) < 0)
		log_warn("cannot remove %s: %s", m->dir, plx_err_msg(&e));
	free(m->dir);
	free(m->path);
}

/* The image as the store has it, pulled first as --pull says; digest-pinned from here on. */
static int resolve_image(const struct plx_runtime *rt, struct plx_store *s, const char *ref, const char *pull,
			 struct plx_image **img, struct plx_err *err)
{
	struct plx_pull_opts po = {.ref = ref};
	struct plx_pull_result res = {};
	struct plx_descriptor d = {};
	int ret;

	if (strcmp(pull, "always") != 0 && strcmp(pull, "missing") != 0 && strcmp(pull, "never") != 0)
		return plx_err_set(err, EINVAL, "--pull \"%s\": expected always, missing or never", pull);
	if (strcmp(pull, "always") != 0) {
		ret = plx_store_lookup(s, ref, &d, err);
		plx_descriptor_free(&d);
		if (ret == 0 || strcmp(pull, "never") == 0 || ret != -ENOENT)
			return ret < 0 ? ret : plx_store_image_open(s, ref, img, err);
		plx_err_clear(err);
	}
	ret = plx_image_pull(rt->config, s, &po, &res, err);
	if (ret < 0)
		return ret;
	ret = plx_store_image_open(s, res.manifest_digest, img, err);
	plx_pull_result_free(&res);
	return ret;
}

/* Flags of local create that mean nothing for a CT on PVE. */
static int refuse_local_flags(const struct plx_args *a, struct plx_err *err)
{
	static const char *const local[] = {"bundle",	"console-socket", "pid-file",
					    "no-pivot", "no-new-keyring", "preserve-fds",
					    "user",	"workdir",	  "tty"};

	for (size_t i = 0; i < ARRAY_SIZE(local); i++)
		if (plx_args_isset(a, local[i]))
			return plx_err_set(
				err, EINVAL,
				"create --name (remote mode): --%s does not apply to a CT on Proxmox VE",
				local[i]);
	return 0;
}

int plx_cli_remote_create(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__attribute__((cleanup(remote_store_closep))) struct plx_store *s = NULL;
	__do_image_free struct plx_image *img = NULL;
	__do_remote_close struct remote r = {};
	__do_strv_free char **env = NULL, **args = NULL, **argv = NULL, **merged = NULL;
	__do_free char *filename = NULL;
	struct pve_remote_created created = {};
	struct template_maker maker = {};
	struct plx_image_run_opts ro;
	const char *name = plx_args_str(a, "name"), *image = plx_args_str(a, "image");
	int ret;

	if (!name || !*name)
		return plx_err_set(err, EINVAL, "create --name: the CT needs a name");
	if (!image || !*image)
		return plx_err_set(err, EINVAL, "create --name %s: remote mode needs --image REF", name);
	ret = refuse_local_flags(a, err);
	if (ret < 0)
		return ret;
	/* every argument is the command: it replaces the image's Cmd */
	ret = plx_cli_image_run_opts(a, 0, &ro, &env, &args, err);
	if (ret < 0)
		return ret;
	ret = plx_store_open_config(rt->config, &s, err);
	if (ret == 0)
		ret = resolve_image(rt, s, image, plx_args_str(a, "pull"), &img, err);
	if (ret == 0)
		ret = plx_pve_template_process(img, ro.args, ro.env, &argv, &merged, err);
	if (ret < 0)
		return plx_err_prefix(err, "create %s", name);
	filename = plx_pve_template_name(img->manifest_digest);
	if (!filename)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = remote_open(rt, &r, err);
	if (ret < 0)
		return ret;

	maker = (struct template_maker){.store = s, .img = img, .filename = filename};
	struct pve_remote_create_opts o = {
		.name = name,
		.node = plx_args_str(a, "node"),
		.storage = plx_args_str(a, "storage"),
		.rootfs_gb = plx_args_uint(a, "rootfs-size"),
		.memory = plx_args_uint(a, "memory"),
		.cores = plx_args_uint(a, "cores"),
		.net0 = plx_args_str(a, "net0"),
		.entrypoint = argv,
		.env = merged,
		.tmpl = {.storage = plx_args_str(a, "template-storage"),
			 .filename = filename,
			 .make = make_template,
			 .ctx = &maker},
	};
	if (o.node && !*o.node)
		o.node = NULL;
	if (o.net0 && !*o.net0)
		o.net0 = NULL;
	ret = pve_remote_create(r.client, &o, &created, err);
	template_maker_clear(&maker);
	if (ret < 0)
		return ret;
	log_info("CT %s: vmid %u on node %s (image %s, template %s)", name, created.vmid, created.node,
		 img->manifest_digest, created.uploaded ? "uploaded" : "already there");
	printf("%u\n", created.vmid);
	pve_remote_created_clear(&created);
	return fflush(stdout) == 0 ? 0 : plx_err_sys(err, errno, "write output");
}

/* ---- the other commands ---- */

static bool local_exists(const struct plx_runtime *rt, const char *id)
{
	__do_free char *path = plx_path_join(rt->root, id);

	return path && access(path, F_OK) == 0;
}

/* Whether PVE has a CT of ours named id (looked up with r->client); a warning when PVE cannot tell. */
static bool remote_has(const struct plx_runtime *rt, struct remote *r, const char *cmd, const char *id)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	struct pve_remote_ct ct = {};
	int ret;

	/* each lookup request gets a short time: handles keep the timeout they were made with */
	if (r->cfg->timeout > REMOTE_LOOKUP_TIMEOUT)
		r->cfg->timeout = REMOTE_LOOKUP_TIMEOUT;
	ret = pve_client_new(r->cfg, rt->root, &r->client, &e);
	if (ret == 0) {
		ret = pve_remote_find(r->client, id, &ct, &e);
		/* no CT of ours by that name: runc's own answer ("container does not exist") stands */
		if (ret == -ENOENT)
			return false;
	}
	if (ret < 0) {
		log_warn("%s %s: no local container; looking it up on Proxmox VE failed: %s", cmd, id,
			 plx_err_msg(&e));
		return false;
	}
	log_debug("%s %s: no local container, CT %u on node %s: remote", cmd, id, ct.vmid, ct.node);
	pve_remote_ct_clear(&ct);
	return true;
}

int plx_cli_remote_dispatch(struct plx_runtime *rt, const char *cmd, const char *id, bool force,
			    struct plx_err *err)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	__do_remote_close struct remote r = {};
	const struct plx_config *c = rt->config;
	unsigned int timeout;
	int ret;

	if (!c->proxmox || local_exists(rt, id))
		return 1;
	if (pve_config_parse(c->proxmox, c->path, &r.cfg, &e) < 0) {
		log_warn("%s %s: no local container; the proxmox section is not usable: %s", cmd, id,
			 plx_err_msg(&e));
		return 1;
	}
	/* node-local registration only: no cluster to ask, nothing to warn about */
	if (!r.cfg->n_hosts || !r.cfg->token)
		return 1;
	timeout = r.cfg->timeout;
	if (!remote_has(rt, &r, cmd, id))
		return 1;
	/* the action itself gets the configured timeouts: a new client */
	pve_client_free(steal_ptr(r.client));
	r.cfg->timeout = timeout;
	ret = pve_client_new(r.cfg, rt->root, &r.client, err);
	if (ret < 0)
		return ret;
	if (strcmp(cmd, "start") == 0)
		return pve_remote_start(r.client, id, err);
	if (strcmp(cmd, "delete") == 0)
		return pve_remote_delete(r.client, id, force, err);
	return plx_err_set(err, EINVAL, "%s: no remote form of this command", cmd);
}

static int remote_start(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	int ret = remote_open(rt, &r, err);

	return ret < 0 ? ret : pve_remote_start(r.client, a->pos[0], err);
}

static int remote_stop(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	int ret = remote_open(rt, &r, err);

	if (ret < 0)
		return ret;
	return pve_remote_stop(r.client, a->pos[0], plx_args_bool(a, "force"), plx_args_uint(a, "timeout"),
			       err);
}

static int remote_delete(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	int ret = remote_open(rt, &r, err);

	return ret < 0 ? ret : pve_remote_delete(r.client, a->pos[0], plx_args_bool(a, "force"), err);
}

static int remote_status(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	json_auto_t *st = NULL;
	int ret = remote_open(rt, &r, err);

	if (ret == 0)
		ret = pve_remote_status(r.client, a->pos[0], &st, err);
	if (ret == 0)
		ret = plx_cli_print_json(stdout, st, "  ", err);
	if (ret < 0)
		return ret;
	if (puts("") == EOF || fflush(stdout) != 0)
		return plx_err_sys(err, errno, "write output");
	return 0;
}

static int remote_snapshot(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	char stamp[32];
	const char *snap = a->n_pos > 1 ? a->pos[1] : stamp;
	int ret = remote_open(rt, &r, err);

	if (ret < 0)
		return ret;
	if (a->n_pos < 2 && pve_remote_snapname(stamp) < 0)
		return plx_err_set(err, EINVAL, "snapshot: cannot make a snapshot name from the clock");
	/* the name's syntax is PVE's to check (pve-configid), with its own message */
	ret = pve_remote_snapshot(r.client, a->pos[0], snap, err);
	if (ret < 0)
		return ret;
	printf("%s\n", snap);
	return fflush(stdout) == 0 ? 0 : plx_err_sys(err, errno, "write output");
}

static int remote_rollback(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	int ret = remote_open(rt, &r, err);

	return ret < 0 ? ret : pve_remote_rollback(r.client, a->pos[0], a->pos[1], err);
}

static int remote_list(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_remote_close struct remote r = {};
	struct pve_remote_ct *cts = NULL;
	size_t n = 0;
	int ret = remote_open(rt, &r, err);

	if (ret == 0)
		ret = pve_remote_list(r.client, &cts, &n, err);
	if (ret < 0)
		return ret;
	printf("%-24s %-10s %-16s %s\n", "NAME", "VMID", "NODE", "STATUS");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-10u %-16s %s\n", cts[i].name, cts[i].vmid, cts[i].node, cts[i].status);
	pve_remote_cts_free(cts, n);
	return fflush(stdout) == 0 ? 0 : plx_err_sys(err, errno, "write output");
}

static const struct plx_flag create_flags[] = {
	PLX_FLAG_REMOTE_CREATE,
	{"image", NULL, PLX_FLAG_STRING, "the image the CT runs (a reference, or a digest in the store)",
	 NULL},
	{"env", "e", PLX_FLAG_STRINGS,
	 "set an environment variable KEY=VALUE (KEY alone: the caller's), over the image's", NULL},
};

static const struct plx_flag stop_flags[] = {
	{"force", "f", PLX_FLAG_BOOL, "stop at once instead of shutting down", NULL},
	{"timeout", "t", PLX_FLAG_UINT, "seconds the CT gets to shut down before it is stopped",
	 STOP_TIMEOUT},
};

static const struct plx_flag delete_flags[] = {
	{"force", "f", PLX_FLAG_BOOL, "stop a running CT first", NULL},
};

static int remote_create_cmd(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	return plx_cli_remote_create(rt, a, err);
}

#define NAME_USAGE "<name>\n\nWhere \"<name>\" is the CT's name (its hostname on Proxmox VE)."

static const struct plx_cli_cmd pve_cmd_create = {
	.name = "create",
	.usage = "create and start a CT from an image on the Proxmox VE cluster",
	.args_usage = "--name NAME --image REF --storage STORAGE [options] [-- command [args...]]",
	.description = "Pull the image (--pull), export it as a CT template and upload it to the node's\n"
		       "   --template-storage unless it is there already, create the CT (entrypoint and\n"
		       "   environment from the image, --env wins), start it and print its vmid.",
	.flags = create_flags,
	.n_flags = ARRAY_SIZE(create_flags),
	.min_args = 0,
	.max_args = -1,
	.needs_runtime = true,
	.run = remote_create_cmd,
};

static const struct plx_cli_cmd pve_cmd_start = {
	.name = "start",
	.usage = "start a CT of ours on Proxmox VE",
	.args_usage = NAME_USAGE,
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = remote_start,
};

const struct plx_cli_cmd plx_cmd_stop = {
	.name = "stop",
	.usage = "stop a CT on Proxmox VE (remote mode)",
	.args_usage = NAME_USAGE,
	.description = "Shut the CT down, and stop it when it is still running after --timeout seconds.",
	.flags = stop_flags,
	.n_flags = ARRAY_SIZE(stop_flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = remote_stop,
};

static const struct plx_cli_cmd pve_cmd_delete = {
	.name = "delete",
	.usage = "delete a CT of ours on Proxmox VE",
	.args_usage = NAME_USAGE,
	.flags = delete_flags,
	.n_flags = ARRAY_SIZE(delete_flags),
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = remote_delete,
};

const struct plx_cli_cmd plx_cmd_status = {
	.name = "status",
	.usage = "show a CT's status on Proxmox VE (remote mode)",
	.args_usage = NAME_USAGE,
	.min_args = 1,
	.max_args = 1,
	.needs_runtime = true,
	.run = remote_status,
};

const struct plx_cli_cmd plx_cmd_snapshot = {
	.name = "snapshot",
	.usage = "take a PVE snapshot of a CT (remote mode)",
	.args_usage = "<name> [<snapshot>]\n\nPrints the snapshot's name (default: snapYYYYmmddHHMMSS, UTC).",
	.min_args = 1,
	.max_args = 2,
	.needs_runtime = true,
	.run = remote_snapshot,
};

const struct plx_cli_cmd plx_cmd_rollback = {
	.name = "rollback",
	.usage = "roll a CT back to a PVE snapshot (remote mode)",
	.args_usage = "<name> <snapshot>\n\nA running CT is started again after the rollback.",
	.min_args = 2,
	.max_args = 2,
	.needs_runtime = true,
	.run = remote_rollback,
};

static const struct plx_cli_cmd pve_cmd_list = {
	.name = "list",
	.usage = "list the CTs of ours in the Proxmox VE cluster",
	.args_usage = " ",
	.min_args = 0,
	.max_args = 0,
	.needs_runtime = true,
	.run = remote_list,
};

static const struct plx_cli_cmd *const pve_remote_cmds[] = {
	&pve_cmd_create, &pve_cmd_start,    &plx_cmd_stop,     &pve_cmd_delete,
	&plx_cmd_status, &plx_cmd_snapshot, &plx_cmd_rollback, &pve_cmd_list,
};

bool plx_cli_pve_remote_sub(const char *sub)
{
	for (size_t i = 0; i < ARRAY_SIZE(pve_remote_cmds); i++)
		if (strcmp(pve_remote_cmds[i]->name, sub) == 0)
			return true;
	return false;
}

static void print_sub_help(const struct plx_cli_cmd *sub)
{
	__do_free char *name = NULL;
	struct plx_cli_cmd c = *sub;

	if (asprintf(&name, "pve %s", sub->name) > 0)
		c.name = name;
	plx_cli_print_cmd_help(stdout, &c);
}

int plx_cli_pve_remote(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_args_free struct plx_args sa = {};
	const struct plx_cli_cmd *sub = NULL;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(pve_remote_cmds) && !sub; i++)
		if (strcmp(pve_remote_cmds[i]->name, a->pos[0]) == 0)
			sub = pve_remote_cmds[i];
	if (!sub)
		return plx_err_set(err, EINVAL, "pve: unknown subcommand '%s'", a->pos[0]);
	ret = plx_args_parse(sub->flags, sub->n_flags, (int)a->n_pos, a->pos, PLX_ARGS_ANY_ORDER, &sa, err);
	if (ret < 0) {
		print_sub_help(sub);
		return plx_err_prefix(err, "pve %s", sub->name);
	}
	if (sa.help) {
		print_sub_help(sub);
		return 0;
	}
	if (sa.n_pos < (size_t)sub->min_args || (sub->max_args >= 0 && sa.n_pos > (size_t)sub->max_args)) {
		print_sub_help(sub);
		return plx_err_set(err, EINVAL, "pve %s: expected %s%d argument(s), got %zu", sub->name,
				   sub->max_args < 0 ? "at least " : "", sub->min_args, sa.n_pos);
	}
	return sub->run(rt, &sa, err);
}
