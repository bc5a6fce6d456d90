/* SPDX-License-Identifier: Apache-2.0 */
/* Remote create: template upload (once per image), CT create with a vmid race retried, start, cleanup. */
#include "proxmox/pve_remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/log.h"

/* Add a second failure to the first one's message (the first is what the user must see). */
static void err_append(struct plx_err *err, const char *what, const struct plx_err *more)
{
	__do_free char *msg = err->msg ? strdup(err->msg) : NULL;
	int code = err->code;

	plx_err_set(err, code, "%s; %s: %s", msg ? msg : "failed", what, plx_err_msg(more));
}

static const char *str_of(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Whether the storage holds volid (GET .../content?content=vztmpl). */
static int template_present(struct pve_client *c, const char *node, const char *storage, const char *volid,
			    bool *present, struct plx_err *err)
{
	json_auto_t *params = json_pack("{s:s}", "content", "vztmpl");
	json_auto_t *list = NULL;
	__do_free char *path = NULL, *n = pve_path_escape(node), *s = pve_path_escape(storage);
	size_t i;
	json_t *v;
	int ret;

	*present = false;
	if (!params || !n || !s || asprintf(&path, "/nodes/%s/storage/%s/content", n, s) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = pve_client_call(c, "GET", path, params, &list, err);
	if (ret < 0)
		return ret;
	if (!json_is_array(list))
		return plx_err_set(err, EPROTO, "GET %s: expected a list from PVE", path);
	json_array_foreach (list, i, v) {
		const char *id = str_of(v, "volid");

		if (id && strcmp(id, volid) == 0)
			*present = true;
	}
	return 0;
}

static int upload_template(struct pve_client *c, const char *node, const struct pve_remote_template *t,
			   struct plx_err *err)
{
	__do_free char *path = NULL, *n = pve_path_escape(node), *s = pve_path_escape(t->storage);
	json_auto_t *fields = NULL, *upid = NULL;
	const char *file, *sha256;
	int ret;

	if (!n || !s || asprintf(&path, "/nodes/%s/storage/%s/upload", n, s) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = t->make(t->ctx, &file, &sha256, err);
	if (ret < 0)
		return ret;
	/* PVE checks the copy it stores against the checksum: a torn upload is never used */
	fields = json_pack("{s:s, s:s, s:s}", "content", "vztmpl", "checksum-algorithm", "sha256", "checksum",
			   sha256);
	if (!fields)
		return plx_err_set(err, ENOMEM, "out of memory");
	log_info("uploading template %s to %s:%s", t->filename, node, t->storage);
	ret = pve_client_upload(c, path, fields, "filename", file, t->filename, &upid, err);
	if (ret < 0)
		return ret;
	if (json_is_string(upid))
		ret = pve_task_wait(c, json_string_value(upid), NULL, err);
	if (ret < 0)
		return plx_err_prefix(err, "upload of template %s to storage %s", t->filename, t->storage);
	return 0;
}

/*
 * After a failed create or start: remove the CT when it is there and
 * ours (a vmid taken by someone else is left alone).  What fails here is
 * added to err.
 */
static void cleanup(struct pve_client *c, const char *node, unsigned int vmid, const char *name,
		    struct plx_err *err)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	__do_free char *base = NULL, *conf_path = NULL, *cur_path = NULL, *stop_path = NULL;
	__do_free char *n = pve_path_escape(node);
	json_auto_t *config = NULL, *cur = NULL, *data = NULL, *params = NULL;
	const char *status;

	if (!n || asprintf(&base, "/nodes/%s/lxc/%u", n, vmid) < 0)
		return;
	if (asprintf(&conf_path, "%s/config", base) < 0 ||
	    asprintf(&cur_path, "%s/status/current", base) < 0 ||
	    asprintf(&stop_path, "%s/status/stop", base) < 0)
		return;
	if (pve_client_call(c, "GET", conf_path, NULL, &config, &e) < 0) {
		/* PVE: "Configuration file 'nodes/pve/lxc/100.conf' does not exist" */
		if (!strstr(plx_err_msg(&e), "does not exist"))
			err_append(err, "cannot tell whether the CT was left behind", &e);
		return;
	}
	if (!pve_remote_config_is(config, name))
		return;
	log_info("removing CT %u (%s) after the failed create", vmid, name);
	if (pve_client_call(c, "GET", cur_path, NULL, &cur, &e) == 0 && (status = str_of(cur, "status")) &&
	    strcmp(status, "running") == 0) {
		if (pve_client_call_wait(c, "POST", stop_path, NULL, &data, &e) < 0) {
			err_append(err, "stopping the CT for its removal failed too", &e);
			return;
		}
		json_decref(data);
		data = NULL;
	}
	plx_err_clear(&e);
	params = json_pack("{s:b, s:b}", "purge", 1, "destroy-unreferenced-disks", 1);
	if (!params || pve_client_call_wait(c, "DELETE", base, params, &data, &e) < 0) {
		char what[96];

		snprintf(what, sizeof(what), "CT %u is left behind: its removal failed", vmid);
		err_append(err, what, &e);
	}
}

/* POST /nodes/{node}/lxc and wait; *taken says the vmid went to someone else meanwhile. */
static int create_ct(struct pve_client *c, const char *node, const struct pve_remote_create_opts *o,
		     unsigned int vmid, const char *ostemplate, bool *taken, struct plx_err *err)
{
	__do_free char *path = NULL, *n = pve_path_escape(node);
	json_auto_t *params = NULL, *upid = NULL;
	int ret;

	*taken = false;
	if (!n || asprintf(&path, "/nodes/%s/lxc", n) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = pve_remote_create_params(o, vmid, ostemplate, &params, err);
	if (ret < 0)
		return ret;
	ret = pve_client_call_wait(c, "POST", path, params, &upid, err);
	if (ret < 0)
		*taken = pve_remote_vmid_taken(plx_err_msg(err), vmid);
	return ret;
}

static int start_ct(struct pve_client *c, const char *node, unsigned int vmid, struct plx_err *err)
{
	__do_free char *path = NULL, *n = pve_path_escape(node);
	json_auto_t *upid = NULL;

	if (!n || asprintf(&path, "/nodes/%s/lxc/%u/status/start", n, vmid) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return pve_client_call_wait(c, "POST", path, NULL, &upid, err);
}

int pve_remote_create(struct pve_client *c, const struct pve_remote_create_opts *o,
		      struct pve_remote_created *out, struct plx_err *err)
{
	struct pve_remote_template t = o->tmpl;
	struct pve_remote_ct existing = {};
	__do_free char *volid = NULL;
	unsigned int attempts = o->attempts ? o->attempts : PVE_REMOTE_CREATE_ATTEMPTS;
	const char *node = o->node;
	bool present;
	int ret;

	*out = (struct pve_remote_created){};
	if (!t.storage)
		t.storage = PVE_REMOTE_TEMPLATE_STORAGE;
	if (!o->storage || !*o->storage)
		return plx_err_set(err, EINVAL, "CT %s: no storage for the rootfs (--storage)", o->name);
	if (!node && (ret = pve_client_node(c, &node, err)) < 0)
		return ret;
	if (asprintf(&volid, "%s:vztmpl/%s", t.storage, t.filename) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");

	ret = pve_remote_find(c, o->name, &existing, err);
	if (ret == 0) {
		ret = plx_err_set(err, EEXIST, "CT %s exists already: vmid %u on node %s", o->name,
				  existing.vmid, existing.node);
		pve_remote_ct_clear(&existing);
		return ret;
	}
	if (ret != -ENOENT)
		return ret;
	plx_err_clear(err);

	ret = template_present(c, node, t.storage, volid, &present, err);
	if (ret == 0 && !present)
		ret = upload_template(c, node, &t, err);
	if (ret < 0)
		return plx_err_prefix(err, "CT %s", o->name);
	if (present)
		log_info("template %s is on %s:%s already", t.filename, node, t.storage);

	for (unsigned int attempt = 1;; attempt++) {
		unsigned int vmid;
		bool taken;

		ret = pve_client_nextid(c, &vmid, err);
		if (ret < 0)
			return plx_err_prefix(err, "CT %s", o->name);
		ret = create_ct(c, node, o, vmid, volid, &taken, err);
		if (ret < 0 && taken && attempt < attempts) {
			/* another create got this vmid between nextid and ours: PVE refused, nothing to undo
			 */
			log_info("vmid %u was taken meanwhile (%s), trying another", vmid, plx_err_msg(err));
			plx_err_clear(err);
			continue;
		}
		if (ret == 0)
			ret = start_ct(c, node, vmid, err);
		if (ret < 0) {
			if (!taken)
				cleanup(c, node, vmid, o->name, err);
			return plx_err_prefix(err, "CT %s", o->name);
		}
		out->vmid = vmid;
		out->node = strdup(node);
		out->uploaded = !present;
		if (!out->node)
			return plx_err_set(err, ENOMEM, "out of memory");
		return 0;
	}
}
