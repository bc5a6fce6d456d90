/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster's node list, from /cluster/status, cached for
 * proxmox.node_cache_duration in memory and in a file beside our state
 * (mode 0600), so that a CLI run after another does not ask again.
 */
#include "proxmox/pve_client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

void pve_nodes_free(struct pve_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(nodes[i].name);
		free(nodes[i].ip);
	}
	free(nodes);
}

static int cmp_nodes(const void *a, const void *b)
{
	return strcmp(((const struct pve_node *)a)->name, ((const struct pve_node *)b)->name);
}

/* PVE's booleans come as 0/1 integers or JSON booleans. */
static bool truthy(const json_t *v)
{
	return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

/* entries: [{"name", "ip", "online", "local"}, ...], from PVE or from the cache file */
static int nodes_from_array(const json_t *arr, bool want_type, struct pve_node **out, size_t *n,
			    struct plx_err *err)
{
	struct pve_node *nodes;
	size_t i, k = 0;
	json_t *e;

	if (!json_is_array(arr))
		return plx_err_set(err, EPROTO, "node list: expected an array");
	nodes = calloc(json_array_size(arr) + 1, sizeof(*nodes));
	if (!nodes)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_array_foreach(arr, i, e)
	{
		json_t *name = json_object_get(e, "name"), *ip = json_object_get(e, "ip");
		json_t *type = json_object_get(e, "type");

		if (want_type && !(json_is_string(type) && strcmp(json_string_value(type), "node") == 0))
			continue;
		if (!json_is_string(name)) {
			pve_nodes_free(nodes, k);
			return plx_err_set(err, EPROTO, "node list: entry %zu has no name", i);
		}
		nodes[k].name = strdup(json_string_value(name));
		nodes[k].ip = json_is_string(ip) ? strdup(json_string_value(ip)) : NULL;
		nodes[k].online = truthy(json_object_get(e, "online"));
		nodes[k].local = truthy(json_object_get(e, "local"));
		k++;
		if (!nodes[k - 1].name || (json_is_string(ip) && !nodes[k - 1].ip)) {
			pve_nodes_free(nodes, k);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	qsort(nodes, k, sizeof(*nodes), cmp_nodes);
	*out = nodes;
	*n = k;
	return 0;
}

int pve_nodes_parse(const json_t *status, struct pve_node **out, size_t *n, struct plx_err *err)
{
	int ret = nodes_from_array(status, true, out, n, err);

	if (ret < 0)
		return plx_err_prefix(err, "GET /cluster/status");
	if (*n == 0) {
		pve_nodes_free(*out, 0);
		*out = NULL;
		return plx_err_set(err, EPROTO, "GET /cluster/status: PVE lists no nodes");
	}
	return 0;
}

json_t *pve_nodes_to_cache(const char *key, time_t t, const struct pve_node *nodes, size_t n)
{
	json_auto_t *doc = json_pack("{s:s, s:I, s:[]}", "cluster", key, "time", (json_int_t)t, "nodes");
	json_t *arr = json_object_get(doc, "nodes");

	if (!doc)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_pack("{s:s, s:b, s:b}", "name", nodes[i].name, "online", nodes[i].online,
				      "local", nodes[i].local);

		if (!e || (nodes[i].ip && json_object_set_new(e, "ip", json_string(nodes[i].ip)) < 0) ||
		    json_array_append_new(arr, e) < 0) {
			json_decref(e);
			return NULL;
		}
	}
	return json_incref(doc);
}

int pve_nodes_from_cache(const json_t *doc, const char *key, time_t now, unsigned int duration,
			 struct pve_node **out, size_t *n, time_t *t, struct plx_err *err)
{
	json_t *cluster = json_object_get(doc, "cluster"), *time_v = json_object_get(doc, "time");
	time_t then;

	if (!json_is_string(cluster) || strcmp(json_string_value(cluster), key) != 0 ||
	    !json_is_integer(time_v))
		return plx_err_set(err, ESTALE, "node cache: for another cluster");
	then = (time_t)json_integer_value(time_v);
	/* a clock that went back makes the entry suspect too */
	if (then > now || now - then >= (time_t)duration)
		return plx_err_set(err, ESTALE, "node cache: expired");
	*t = then;
	return nodes_from_array(json_object_get(doc, "nodes"), false, out, n, err);
}

static void cache_read(struct pve_client *c, time_t now)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	__do_free char *buf = NULL;
	json_auto_t *doc = NULL;
	size_t len = 0;

	if (!c->cache_path || plx_read_file_at(AT_FDCWD, c->cache_path, &buf, &len, &e) < 0)
		return;
	doc = json_loadb(buf, len, 0, NULL);
	if (pve_nodes_from_cache(doc, c->cache_key, now, c->cfg->node_cache_duration, &c->nodes, &c->n_nodes,
				 &c->nodes_time, &e) < 0)
		log_debug("%s: not used: %s", c->cache_path, plx_err_msg(&e));
}

/* The cache is only an optimization: failing to write it is not an error. */
static void cache_write(struct pve_client *c)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	json_auto_t *doc = NULL;
	__do_free char *text = NULL, *dir = NULL;
	char *slash;

	if (!c->cache_path)
		return;
	doc = pve_nodes_to_cache(c->cache_key, c->nodes_time, c->nodes, c->n_nodes);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	dir = strdup(c->cache_path);
	if (!text || !dir)
		return;
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if (plx_mkdir_p(dir, 0700, &e) < 0 ||
	    plx_write_file_atomic_at(AT_FDCWD, c->cache_path, text, strlen(text), 0600, &e) < 0)
		log_debug("node cache not written: %s", plx_err_msg(&e));
}

void pve_client_nodes_invalidate(struct pve_client *c)
{
	pve_nodes_free(c->nodes, c->n_nodes);
	c->nodes = NULL;
	c->n_nodes = 0;
	c->nodes_time = 0;
	if (c->cache_path && unlink(c->cache_path) < 0 && errno != ENOENT)
		log_debug("%s: cannot remove: %m", c->cache_path);
}

int pve_client_nodes(struct pve_client *c, const struct pve_node **nodes, size_t *n, struct plx_err *err)
{
	json_auto_t *status = NULL;
	time_t now = time(NULL);
	int ret;

	if (c->nodes && (now < c->nodes_time || now - c->nodes_time >= (time_t)c->cfg->node_cache_duration))
		pve_client_nodes_invalidate(c);
	if (!c->nodes && c->cfg->node_cache_duration > 0)
		cache_read(c, now);
	if (!c->nodes) {
		ret = pve_client_call(c, "GET", "/cluster/status", NULL, &status, err);
		if (ret < 0)
			return ret;
		ret = pve_nodes_parse(status, &c->nodes, &c->n_nodes, err);
		if (ret < 0)
			return ret;
		c->nodes_time = now;
		if (c->cfg->node_cache_duration > 0)
			cache_write(c);
	}
	*nodes = c->nodes;
	*n = c->n_nodes;
	return 0;
}

int pve_client_node(struct pve_client *c, const char **node, struct plx_err *err)
{
	const struct pve_node *nodes;
	size_t n;
	int ret;

	if (c->cfg->node) {
		*node = c->cfg->node;
		return 0;
	}
	ret = pve_client_nodes(c, &nodes, &n, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (nodes[i].local) {
			*node = nodes[i].name;
			return 0;
		}
	return plx_err_set(err, ENOENT, "no node to act on: set proxmox.node (the cluster has %zu nodes)", n);
}
