/* SPDX-License-Identifier: Apache-2.0 */
/* Remote mode: finding our CTs by name in the cluster, and their lifecycle through the API. */
#include "proxmox/pve_remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

static const char *str_of(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* PVE sends vmids as integers, some versions as strings. */
static unsigned int vmid_of(const json_t *obj)
{
	const json_t *v = json_object_get(obj, "vmid");

	if (json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 999999999)
		return (unsigned int)json_integer_value(v);
	if (json_is_string(v))
		return (unsigned int)strtoul(json_string_value(v), NULL, 10);
	return 0;
}

static int ct_from(const json_t *res, struct pve_remote_ct *ct, struct plx_err *err)
{
	const char *name = str_of(res, "name"), *node = str_of(res, "node"), *status = str_of(res, "status");

	*ct = (struct pve_remote_ct){.vmid = vmid_of(res)};
	ct->name = strdup(name ? name : "");
	ct->node = strdup(node ? node : "");
	ct->status = strdup(status ? status : "unknown");
	if (!ct->name || !ct->node || !ct->status) {
		pve_remote_ct_clear(ct);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* The CTs of /cluster/resources?type=vm that carry our tag (name may be NULL: all). */
static int tagged(struct pve_client *c, const char *name, struct pve_remote_ct **out, size_t *n,
		  struct plx_err *err)
{
	json_auto_t *params = json_pack("{s:s}", "type", "vm");
	json_auto_t *list = NULL;
	struct pve_remote_ct *cts = NULL;
	size_t count = 0, i;
	json_t *res;
	int ret;

	*out = NULL;
	*n = 0;
	if (!params)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = pve_client_call(c, "GET", "/cluster/resources", params, &list, err);
	if (ret < 0)
		return ret;
	if (!json_is_array(list))
		return plx_err_set(err, EPROTO, "GET /cluster/resources: expected a list from PVE");
	cts = calloc(json_array_size(list) + 1, sizeof(*cts));
	if (!cts)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_array_foreach (list, i, res) {
		const char *type = str_of(res, "type"), *hostname = str_of(res, "name");

		if (!type || strcmp(type, "lxc") != 0 || !pve_remote_has_tag(str_of(res, "tags")) ||
		    !vmid_of(res))
			continue;
		if (name && (!hostname || strcmp(hostname, name) != 0))
			continue;
		ret = ct_from(res, &cts[count], err);
		if (ret < 0) {
			pve_remote_cts_free(cts, count);
			return ret;
		}
		count++;
	}
	/* resources come in the cluster's order: sorted output is stable */
	for (size_t a = 1; a < count; a++)
		for (size_t b = a; b > 0 && cts[b - 1].vmid > cts[b].vmid; b--) {
			struct pve_remote_ct t = cts[b];

			cts[b] = cts[b - 1];
			cts[b - 1] = t;
		}
	*out = cts;
	*n = count;
	return 0;
}

int pve_remote_list(struct pve_client *c, struct pve_remote_ct **out, size_t *n, struct plx_err *err)
{
	return tagged(c, NULL, out, n, err);
}

static int ct_path(const struct pve_remote_ct *ct, const char *suffix, char **out, struct plx_err *err)
{
	__do_free char *node = pve_path_escape(ct->node);

	if (!node || asprintf(out, "/nodes/%s/lxc/%u%s", node, ct->vmid, suffix) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int pve_remote_find(struct pve_client *c, const char *name, struct pve_remote_ct *out, struct plx_err *err)
{
	struct pve_remote_ct *cts = NULL;
	__do_free char *vmids = NULL;
	size_t n = 0, found = 0, at = 0, vlen = 0;
	FILE *f;
	int ret;

	ret = tagged(c, name, &cts, &n, err);
	if (ret < 0)
		return ret;
	f = open_memstream(&vmids, &vlen);
	if (!f) {
		pve_remote_cts_free(cts, n);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	/* the hostname can be changed in PVE's UI: the description says whose it is */
	for (size_t i = 0; i < n; i++) {
		__do_free char *path = NULL;
		json_auto_t *config = NULL;

		ret = ct_path(&cts[i], "/config", &path, err);
		if (ret == 0)
			ret = pve_client_call(c, "GET", path, NULL, &config, err);
		if (ret < 0) {
			fclose(f);
			pve_remote_cts_free(cts, n);
			return plx_err_prefix(err, "CT %s", name);
		}
		if (!pve_remote_config_is(config, name))
			continue;
		fprintf(f, "%s%u (node %s)", found ? ", " : "", cts[i].vmid, cts[i].node);
		at = i;
		found++;
	}
	fclose(f);
	if (found == 1) {
		*out = cts[at];
		cts[at] = (struct pve_remote_ct){};
		ret = 0;
	} else if (found == 0) {
		ret = plx_err_set(err, ENOENT, "no CT named %s managed by proxmox-lxcri in the PVE cluster",
				  name);
	} else {
		ret = plx_err_set(err, EEXIST, "several CTs claim the name %s: vmids %s", name,
				  vmids ? vmids : "?");
	}
	pve_remote_cts_free(cts, n);
	return ret;
}

static void ct_clearp(struct pve_remote_ct *ct)
{
	pve_remote_ct_clear(ct);
}
#define __do_ct_clear __attribute__((cleanup(ct_clearp)))

/* One state-changing call on the CT named name, waiting for its task. */
static int ct_action(struct pve_client *c, const struct pve_remote_ct *ct, const char *method,
		     const char *suffix, const json_t *params, struct plx_err *err)
{
	__do_free char *path = NULL;
	json_auto_t *data = NULL;
	int ret = ct_path(ct, suffix, &path, err);

	if (ret < 0)
		return ret;
	ret = pve_client_call_wait(c, method, path, params, &data, err);
	if (ret < 0)
		return plx_err_prefix(err, "CT %s (vmid %u)", ct->name, ct->vmid);
	return 0;
}

/* status/current of a CT: "running", "stopped", ... */
static int ct_current(struct pve_client *c, const struct pve_remote_ct *ct, json_t **out, struct plx_err *err)
{
	__do_free char *path = NULL;
	int ret = ct_path(ct, "/status/current", &path, err);

	if (ret == 0)
		ret = pve_client_call(c, "GET", path, NULL, out, err);
	if (ret < 0)
		return plx_err_prefix(err, "CT %s (vmid %u)", ct->name, ct->vmid);
	if (!json_is_object(*out) || !str_of(*out, "status")) {
		json_decref(*out);
		*out = NULL;
		return plx_err_set(err, EPROTO, "CT %s (vmid %u): status/current without a status", ct->name,
				   ct->vmid);
	}
	return 0;
}

/* The CT named name, and whether it runs. */
static int find_running(struct pve_client *c, const char *name, struct pve_remote_ct *ct, bool *running,
			struct plx_err *err)
{
	json_auto_t *cur = NULL;
	int ret = pve_remote_find(c, name, ct, err);

	if (ret == 0)
		ret = ct_current(c, ct, &cur, err);
	if (ret < 0)
		return ret;
	*running = strcmp(str_of(cur, "status"), "running") == 0;
	return 0;
}

int pve_remote_start(struct pve_client *c, const char *name, struct plx_err *err)
{
	__do_ct_clear struct pve_remote_ct ct = {};
	int ret = pve_remote_find(c, name, &ct, err);

	if (ret < 0)
		return ret;
	return ct_action(c, &ct, "POST", "/status/start", NULL, err);
}

static int stop_ct(struct pve_client *c, const struct pve_remote_ct *ct, bool force, unsigned int timeout,
		   struct plx_err *err)
{
	json_auto_t *params = NULL;

	if (force)
		return ct_action(c, ct, "POST", "/status/stop", NULL, err);
	/* docker stop's rule: ask, wait, then kill */
	params = json_pack("{s:i, s:b}", "timeout", (json_int_t)timeout, "forceStop", 1);
	if (!params)
		return plx_err_set(err, ENOMEM, "out of memory");
	return ct_action(c, ct, "POST", "/status/shutdown", params, err);
}

int pve_remote_stop(struct pve_client *c, const char *name, bool force, unsigned int timeout,
		    struct plx_err *err)
{
	__do_ct_clear struct pve_remote_ct ct = {};
	bool running;
	int ret = find_running(c, name, &ct, &running, err);

	if (ret < 0)
		return ret;
	if (!running)
		return 0;
	return stop_ct(c, &ct, force, timeout, err);
}

int pve_remote_delete(struct pve_client *c, const char *name, bool force, struct plx_err *err)
{
	__do_ct_clear struct pve_remote_ct ct = {};
	json_auto_t *params = json_pack("{s:b, s:b}", "purge", 1, "destroy-unreferenced-disks", 1);
	bool running;
	int ret;

	if (!params)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = find_running(c, name, &ct, &running, err);
	if (ret < 0)
		return ret;
	if (running && !force)
		return plx_err_set(err, EBUSY, "CT %s (vmid %u) is running: stop it first, or delete --force",
				   ct.name, ct.vmid);
	if (running) {
		ret = stop_ct(c, &ct, true, 0, err);
		if (ret < 0)
			return ret;
	}
	return ct_action(c, &ct, "DELETE", "", params, err);
}

int pve_remote_status(struct pve_client *c, const char *name, json_t **out, struct plx_err *err)
{
	__do_ct_clear struct pve_remote_ct ct = {};
	json_auto_t *cur = NULL;
	int ret = pve_remote_find(c, name, &ct, err);

	if (ret == 0)
		ret = ct_current(c, &ct, &cur, err);
	if (ret < 0)
		return ret;
	if (json_object_set_new(cur, "name", json_string(ct.name)) < 0 ||
	    json_object_set_new(cur, "vmid", json_integer(ct.vmid)) < 0 ||
	    json_object_set_new(cur, "node", json_string(ct.node)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	*out = steal_ptr(cur);
	return 0;
}

int pve_remote_snapshot(struct pve_client *c, const char *name, const char *snap, struct plx_err *err)
{
	__do_ct_clear struct pve_remote_ct ct = {};
	json_auto_t *params =
		json_pack("{s:s, s:s}", "snapname", snap, "description", "proxmox-lxcri snapshot");
	int ret;

	if (!params)
		return plx_err_set(err, EINVAL, "snapshot name \"%s\": not valid UTF-8", snap);
	ret = pve_remote_find(c, name, &ct, err);
	if (ret < 0)
		return ret;
	return ct_action(c, &ct, "POST", "/snapshot", params, err);
}

int pve_remote_rollback(struct pve_client *c, const char *name, const char *snap, struct plx_err *err)
{
	__do_ct_clear struct pve_remote_ct ct = {};
	__do_free char *suffix = NULL, *esc = pve_path_escape(snap);
	json_auto_t *params = NULL;
	bool running;
	int ret;

	if (!esc || asprintf(&suffix, "/snapshot/%s/rollback", esc) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = find_running(c, name, &ct, &running, err);
	if (ret < 0)
		return ret;
	params = json_pack("{s:b}", "start", running);
	if (!params)
		return plx_err_set(err, ENOMEM, "out of memory");
	return ct_action(c, &ct, "POST", suffix, params, err);
}
