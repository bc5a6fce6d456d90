/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxmox-lxcri pve check|nodes|nextid|api: talk to the Proxmox VE API
 * configured in the runtime config's "proxmox" section.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "proxmox/pve_client.h"
#include "proxmox/pve_config.h"
#include "proxmox/pve_reply.h"
#include "util/cleanup.h"

DEFINE_CLEANUP_FUNC(pve_config_freep, struct pve_config, pve_config_free)
DEFINE_CLEANUP_FUNC(pve_client_freep, struct pve_client, pve_client_free)
#define __do_pve_config_free __attribute__((cleanup(pve_config_freep)))
#define __do_pve_client_free __attribute__((cleanup(pve_client_freep)))

static const struct plx_flag flags[] = {
	{ "async", NULL, PLX_FLAG_BOOL, "api: print a task's UPID without waiting for the task to end",
	  NULL },
};

int plx_cli_pve_open(const struct plx_runtime *rt, struct pve_config **cfg, struct pve_client **client,
		     struct plx_err *err)
{
	const struct plx_config *c = rt->config;
	int ret;

	*cfg = NULL;
	*client = NULL;
	if (!c->proxmox)
		return plx_err_set(err, ENOENT,
				   "%s: no \"proxmox\" section (hosts, token) in the runtime config",
				   c->path ? c->path
					   : "no runtime config file found ($" PLX_CONFIG_ENV
					     ", " PLX_CONFIG_SYSTEM ", ./" PLX_CONFIG_LOCAL ")");
	ret = pve_config_parse(c->proxmox, c->path, cfg, err);
	if (ret < 0)
		return ret;
	return pve_client_new(*cfg, rt->root, client, err);
}

static int print_json(const json_t *v, struct plx_err *err)
{
	int ret = plx_cli_print_json(stdout, v ? v : json_null(), "  ", err);

	if (ret < 0)
		return ret;
	if (puts("") == EOF || fflush(stdout) != 0)
		return plx_err_sys(err, errno, "write output");
	return 0;
}

static const char *str_or(const json_t *obj, const char *key, const char *def)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

/* Each host on its own: a config is right only when every host answers and takes the token. */
static int pve_check(struct pve_client *client, const struct pve_config *cfg, struct plx_err *err)
{
	struct pve_attempts failed = {};
	const struct pve_node *nodes;
	size_t n_nodes;
	int ret;

	printf("token: %s\n", cfg->token_id);
	for (size_t i = 0; i < cfg->n_hosts; i++) {
		__do_err_clear struct plx_err e = PLX_ERR_INIT;
		__do_free char *host = pve_host_display(&cfg->hosts[i]);
		json_auto_t *v = NULL;

		if (!host)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (pve_client_call_host(client, i, "GET", "/version", NULL, &v, &e) < 0) {
			/* the message starts with "HOST: " already */
			const char *msg = plx_err_msg(&e);

			if (strncmp(msg, host, strlen(host)) == 0 &&
			    strncmp(msg + strlen(host), ": ", 2) == 0)
				msg += strlen(host) + 2;
			printf("host %s: FAILED: %s\n", host, msg);
			if (pve_attempts_add(&failed, host, msg) < 0) {
				pve_attempts_clear(&failed);
				return plx_err_set(err, ENOMEM, "out of memory");
			}
			continue;
		}
		printf("host %s: ok, pve-manager %s (release %s)\n", host, str_or(v, "version", "?"),
		       str_or(v, "release", "?"));
	}
	if (failed.n == cfg->n_hosts) {
		ret = plx_err_set(err, EHOSTUNREACH, "pve check: no host passed: %s", failed.text);
		pve_attempts_clear(&failed);
		return ret;
	}
	pve_client_nodes_invalidate(client);
	ret = pve_client_nodes(client, &nodes, &n_nodes, err);
	if (ret < 0) {
		pve_attempts_clear(&failed);
		return ret;
	}
	printf("nodes:");
	for (size_t i = 0; i < n_nodes; i++)
		printf("%s %s (%s)", i ? "," : "", nodes[i].name, nodes[i].online ? "online" : "offline");
	printf("\n");
	if (cfg->node) {
		bool found = false;

		for (size_t i = 0; i < n_nodes; i++)
			found = found || strcmp(nodes[i].name, cfg->node) == 0;
		if (!found) {
			pve_attempts_clear(&failed);
			return plx_err_set(err, ENOENT,
					   "pve check: proxmox.node \"%s\" is not a node of the cluster",
					   cfg->node);
		}
	}
	printf("node: %s\n", cfg->node ? cfg->node : "(not set: the node that answers)");
	fflush(stdout);
	if (failed.n) {
		ret = plx_err_set(err, EHOSTUNREACH, "pve check: %zu of %zu hosts failed: %s", failed.n,
				  cfg->n_hosts, failed.text);
		pve_attempts_clear(&failed);
		return ret;
	}
	return 0;
}

static int pve_nodes(struct pve_client *client, struct plx_err *err)
{
	const struct pve_node *nodes;
	size_t n;
	int ret = pve_client_nodes(client, &nodes, &n, err);

	if (ret < 0)
		return ret;
	printf("%-24s %-8s %s\n", "NAME", "STATUS", "IP");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-8s %s\n", nodes[i].name, nodes[i].online ? "online" : "offline",
		       nodes[i].ip ? nodes[i].ip : "-");
	if (fflush(stdout) != 0)
		return plx_err_sys(err, errno, "write output");
	return 0;
}

static int pve_nextid(struct pve_client *client, struct plx_err *err)
{
	unsigned int vmid;
	int ret = pve_client_nextid(client, &vmid, err);

	if (ret < 0)
		return ret;
	printf("%u\n", vmid);
	return fflush(stdout) == 0 ? 0 : plx_err_sys(err, errno, "write output");
}

/* key=value arguments, as PVE's own pvesh takes them (--key value there). */
static int api_params(char *const *args, size_t n, json_t **out, struct plx_err *err)
{
	json_auto_t *params = json_object();

	if (!params)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(args[i], '=');
		__do_free char *key = NULL;

		if (!eq || eq == args[i])
			return plx_err_set(err, EINVAL, "pve api: expected key=value, got \"%s\"", args[i]);
		key = strndup(args[i], (size_t)(eq - args[i]));
		if (!key)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (json_object_get(params, key))
			return plx_err_set(err, EINVAL, "pve api: parameter '%s' given twice", key);
		if (json_object_set_new(params, key, json_string(eq + 1)) < 0)
			return plx_err_set(err, EINVAL, "pve api: parameter '%s': not valid UTF-8", key);
	}
	*out = steal_ptr(params);
	return 0;
}

static int pve_api(struct pve_client *client, const struct plx_args *a, struct plx_err *err)
{
	json_auto_t *params = NULL, *data = NULL;
	char method[8];
	size_t len;
	int ret;

	if (a->n_pos < 3)
		return plx_err_set(err, EINVAL,
				   "pve api: usage: pve api GET|POST|PUT|DELETE PATH [key=value ...]");
	len = strlen(a->pos[1]);
	if (len >= sizeof(method))
		return plx_err_set(err, EINVAL,
				   "pve api: unknown HTTP method '%s' (GET, POST, PUT or DELETE)", a->pos[1]);
	for (size_t i = 0; i <= len; i++)
		method[i] = (char)toupper((unsigned char)a->pos[1][i]);
	ret = api_params(a->pos + 3, a->n_pos - 3, &params, err);
	if (ret < 0)
		return ret;
	if (plx_args_bool(a, "async"))
		ret = pve_client_call(client, method, a->pos[2], params, &data, err);
	else
		ret = pve_client_call_wait(client, method, a->pos[2], params, &data, err);
	if (ret < 0)
		return ret;
	return print_json(data, err);
}

static int cmd_pve(struct plx_runtime *rt, const struct plx_args *a, struct plx_err *err)
{
	__do_pve_config_free struct pve_config *cfg = NULL;
	__do_pve_client_free struct pve_client *client = NULL;
	const char *sub = a->pos[0];
	bool known = strcmp(sub, "check") == 0 || strcmp(sub, "nodes") == 0 || strcmp(sub, "nextid") == 0 ||
		     strcmp(sub, "api") == 0;
	int ret;

	if (plx_cli_pve_remote_sub(sub))
		return plx_cli_pve_remote(rt, a, err);
	if (!known)
		return plx_err_set(err, EINVAL, "pve: unknown subcommand '%s' (check, nodes, nextid, api)",
				   sub);
	if (strcmp(sub, "api") != 0 && a->n_pos != 1)
		return plx_err_set(err, EINVAL, "pve %s: takes no arguments", sub);
	ret = plx_cli_pve_open(rt, &cfg, &client, err);
	if (ret < 0)
		return ret;
	if (strcmp(sub, "check") == 0)
		return pve_check(client, cfg, err);
	if (strcmp(sub, "nodes") == 0)
		return pve_nodes(client, err);
	if (strcmp(sub, "nextid") == 0)
		return pve_nextid(client, err);
	return pve_api(client, a, err);
}

const struct plx_cli_cmd plx_cmd_pve = {
	.name = "pve",
	.usage = "talk to the Proxmox VE API of the runtime config",
	.args_usage = "check|nodes|nextid|api [METHOD PATH [key=value ...]]\n"
		      "   | create|start|stop|delete|status|snapshot|rollback|list ...",
	.description = "Talk to the Proxmox VE API configured in the runtime config's \"proxmox\" section.\n"
		       "\n"
		       "   check     connect to each host, check the API token, list the cluster's nodes\n"
		       "   nodes     list the cluster's nodes (cached for proxmox.node_cache_duration)\n"
		       "   nextid    print a free vmid\n"
		       "   api METHOD PATH [key=value ...]\n"
		       "             one raw API call (PATH below /api2/json, e.g. /nodes/pve/lxc); prints\n"
		       "             PVE's data as JSON and waits for a task (UPID) to end unless --async\n"
		       "   create|start|stop|delete|status|snapshot|rollback|list\n"
		       "             remote mode: CTs made from images, by name (\"pve SUBCOMMAND --help\")",
	.flags = flags,
	.n_flags = ARRAY_SIZE(flags),
	.min_args = 1,
	.max_args = -1,
	.needs_runtime = true,
	/* the remote subcommands (cmd_remote.c) parse their own flags */
	.flags_first = true,
	.run = cmd_pve,
};
