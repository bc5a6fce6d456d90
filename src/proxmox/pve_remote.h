/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote mode: application containers as CTs on a PVE cluster, managed
 * by name through the API from anywhere.
 *
 * The name <-> vmid map lives in PVE itself, so it is cluster-wide and
 * needs no local state: a CT of ours has hostname NAME, the tag
 * PVE_REMOTE_TAG and the description PVE_REMOTE_DESCRIPTION NAME.  A name
 * is found through /cluster/resources?type=vm (hostname and tag), then
 * confirmed by the CT's config (description).
 *
 * Create: the template (the image's rootfs, see image/pve_template.h) is
 * uploaded to a vztmpl storage of the node unless a file of that name is
 * there already (the name is the image's manifest digest, so a re-create
 * uploads nothing); the CT is created with entrypoint and env (the image's
 * env merged with the user's), then started.  A vmid taken between nextid
 * and create is retried with a new one; any other failure removes the CT
 * again, so nothing is left behind but the (reusable) template.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "proxmox/pve_client.h"
#include "util/error.h"

#define PVE_REMOTE_TAG "proxmox-lxcri"
#define PVE_REMOTE_DESCRIPTION "managed by proxmox-lxcri, container "
#define PVE_REMOTE_TEMPLATE_STORAGE "local"
#define PVE_REMOTE_ROOTFS_GB 8
#define PVE_REMOTE_CREATE_ATTEMPTS 5

struct pve_remote_ct {
	char *name;
	unsigned int vmid;
	char *node;
	char *status; /* "running", "stopped", ... as /cluster/resources says */
};
void pve_remote_ct_clear(struct pve_remote_ct *ct);
void pve_remote_cts_free(struct pve_remote_ct *cts, size_t n);

/* ---- pure helpers (pve_remote_params.c) ---- */

/* "managed by proxmox-lxcri, container NAME"; NULL on ENOMEM. */
char *pve_remote_description(const char *name);

/* Whether a CT config (GET .../config data) is ours and carries name. */
bool pve_remote_config_is(const json_t *config, const char *name);

/* Whether a tag list ("a;b", PVE also splits on ',' and ' ') holds PVE_REMOTE_TAG. */
bool pve_remote_has_tag(const char *tags);

/*
 * argv as PVE's entrypoint string, which becomes lxc.init.cmd and is split
 * by LXC (lxc_string_split_quoted): words on white space, a word may be
 * wrapped in '...' or "..." (no escapes).  An argument that holds both
 * quote characters and white space, or a control character, cannot be
 * written that way and is refused, naming it.
 */
int pve_remote_entrypoint(char *const *argv, char **out, struct plx_err *err);

/* env (KEY=VALUE, ...) as PVE's env parameter: one JSON string, entries joined by NUL bytes. */
int pve_remote_env(char *const *env, json_t **out, struct plx_err *err);

/* Whether a failed create says the vmid was taken meanwhile ("CT 100 already exists on node 'x'"). */
bool pve_remote_vmid_taken(const char *msg, unsigned int vmid);

/* A snapshot name when none is given: "snap" + UTC YYYYmmddHHMMSS (PVE's pve-configid). */
int pve_remote_snapname(char out[32]);

/* ---- lookups and lifecycle (pve_remote.c) ---- */

/* Every CT of ours in the cluster (tagged), sorted by vmid. */
int pve_remote_list(struct pve_client *c, struct pve_remote_ct **out, size_t *n, struct plx_err *err);

/*
 * The CT named name: -ENOENT "no CT named NAME ..." when there is none,
 * -EEXIST naming the vmids when several claim the name.
 */
int pve_remote_find(struct pve_client *c, const char *name, struct pve_remote_ct *out, struct plx_err *err);

int pve_remote_start(struct pve_client *c, const char *name, struct plx_err *err);
/* shutdown (SIGTERM-like, then forced after timeout seconds), or an immediate stop with force. */
int pve_remote_stop(struct pve_client *c, const char *name, bool force, unsigned int timeout,
		    struct plx_err *err);
/* A running CT is refused unless force (then stopped first); purges it from jobs and ACLs too. */
int pve_remote_delete(struct pve_client *c, const char *name, bool force, struct plx_err *err);
/* {"name", "vmid", "node", "status", "uptime", ...}: PVE's status/current plus the name and node. */
int pve_remote_status(struct pve_client *c, const char *name, json_t **out, struct plx_err *err);
int pve_remote_snapshot(struct pve_client *c, const char *name, const char *snap, struct plx_err *err);
/* Rolls back and, when the CT was running, starts it again (PVE stops it for the rollback). */
int pve_remote_rollback(struct pve_client *c, const char *name, const char *snap, struct plx_err *err);

/* ---- create (pve_remote_create.c) ---- */

struct pve_remote_template {
	const char *storage;  /* a storage of the node with content vztmpl (NULL: "local") */
	const char *filename; /* the file's name there (image/pve_template.h names it by digest) */
	/*
	 * Make the file when it has to be uploaded: *path and *sha256_hex
	 * (64 hex digits, PVE checks the upload against it) stay owned by
	 * ctx.  Not called when the storage has the file already.
	 */
	int (*make)(void *ctx, const char **path, const char **sha256_hex, struct plx_err *err);
	void *ctx;
};

struct pve_remote_create_opts {
	const char *name;	 /* hostname and map key */
	const char *node;	 /* NULL: pve_client_node() */
	const char *storage;	 /* rootfs storage (required) */
	unsigned int rootfs_gb;	 /* 0: PVE_REMOTE_ROOTFS_GB */
	unsigned int memory;	 /* MiB, 0: PVE's default */
	unsigned int cores;	 /* 0: PVE's default (all) */
	const char *net0;	 /* PVE's net[n] property string, or NULL */
	char *const *entrypoint; /* argv */
	char *const *env;	 /* KEY=VALUE, already merged */
	unsigned int attempts;	 /* vmid races tolerated, 0: PVE_REMOTE_CREATE_ATTEMPTS */
	struct pve_remote_template tmpl;
};

struct pve_remote_created {
	unsigned int vmid;
	char *node;
	bool uploaded; /* false: the template was on the storage already */
};
void pve_remote_created_clear(struct pve_remote_created *r);

/* Create and start the CT.  On failure nothing of it is left on PVE. */
int pve_remote_create(struct pve_client *c, const struct pve_remote_create_opts *o,
		      struct pve_remote_created *out, struct plx_err *err);

/*
 * The parameters of POST /nodes/{node}/lxc for o with vmid and the
 * template volume ostemplate (exposed for the tests).
 */
int pve_remote_create_params(const struct pve_remote_create_opts *o, unsigned int vmid,
			     const char *ostemplate, json_t **out, struct plx_err *err);
