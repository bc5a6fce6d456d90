/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node-local registration: a container created by containerd, podman or our
 * CLI becomes a Proxmox VE CT on this node, without the API.
 *
 *   claim    a vmid free in the cluster (pve_vmid.h): <etc_pve>/nodes/<node>/lxc/<vmid>.conf,
 *            first holding only "lock: create" and our description
 *   volume   subvol-<vmid>-disk-0 on the PVE storage (a zfspool of storage.cfg)
 *   conf     the CT config in PVE's format (ct_conf.h), every value checked
 *            against the API schema (pve_schema.h) before it is written
 *   run      liblxc name <vmid>, lxcpath paths.lxc: what pct/lxc-info reach
 *
 * The container's state keeps the record (state.json "pve"):
 *   {"node", "storage", "conf_dir", "lxcpath"[, "vmid", "volume", "conf"]}
 * written before the claim, so a create killed at any point leaves a record
 * that delete --force cleans (a record without "vmid" is resolved by the
 * description of the claim, which names the container and the runtime root).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "oci/spec.h"
#include "proxmox/ct_conf.h"
#include "util/error.h"

/* Per container: "true" or "false", overrides the config's proxmox.register. */
#define PVE_REGISTER_ANNOTATION "org.proxmox-lxcri.pve.register"
/*
 * The API schema the CT config is checked against when proxmox.schema is
 * not set: ours if installed, else the one every PVE node has (pve-docs'
 * api-viewer, a JavaScript file holding the same JSON).
 */
#define PVE_REGISTER_DEFAULT_SCHEMA "/usr/share/proxmox-lxcri/pve-apidata.json"
#define PVE_REGISTER_NODE_SCHEMA    "/usr/share/pve-docs/api-viewer/apidata.js"
#define PVE_REGISTER_DESCRIPTION    "managed by proxmox-lxcri, container "

struct pve_register_plan {
	char *node;	/* proxmox.node, else this host's short name */
	char *storage;	/* proxmox.storage: a PVE storage id */
	char *pool;	/* the zfspool's dataset: the volume's parent */
	char *etc_pve;	/* paths.etc_pve */
	char *lxc_path; /* paths.lxc */
	char *schema;	/* apidata.json */
};
void pve_register_plan_free(struct pve_register_plan *p);
static inline void pve_register_plan_freep(struct pve_register_plan **p)
{
	pve_register_plan_free(*p);
	*p = NULL;
}

/*
 * Whether this container is registered (the annotation, else the config's
 * proxmox.register), and if so everything create needs, checked before
 * anything is made: the storage exists in storage.cfg, is a zfspool that
 * holds rootdir on this node.  *out is NULL when not registered.
 * section: the config's "proxmox" object (NULL when absent); file: the config file.
 */
int pve_register_plan_new(const json_t *section, const char *file, const json_t *annotations,
			  struct pve_register_plan **out, struct plx_err *err);

/* "managed by proxmox-lxcri, container <id>\nruntime root <root>": the description, malloc'd. */
char *pve_register_description(const char *id, const char *root);

/* "subvol-<vmid>-disk-0", malloc'd. */
char *pve_register_volume_name(unsigned int vmid);

/* PVE's format_size (PVE::JSONSchema): the largest unit that divides bytes exactly; 0 is "0T". */
char *pve_register_format_size(uint64_t bytes);

/* A dns-name for the CT: hostname when PVE accepts it, else one made from id, else "ct<vmid>". */
char *pve_register_hostname(const char *hostname, const char *id, unsigned int vmid);

/* Raw lxc.* keys PVE keeps in a CT config (PVE::LXC::Config's whitelist). */
bool pve_register_raw_key_allowed(const char *key);

/* PVE's arch name of this host (uname machine), or NULL when PVE has none. */
const char *pve_register_host_arch(void);

struct pve_register_ct {
	const struct oci_spec *spec;
	const char *id;
	const char *root; /* the runtime root (--root) */
	unsigned int vmid;
	const char *storage; /* PVE storage id */
	const char *volume;
	uint64_t size; /* bytes, 0 = no limit */
};

/*
 * The CT config for a created container: arch, hostname, cores, memory,
 * swap, ostype unmanaged, rootfs, entrypoint, lxc.environment.runtime,
 * lxc.init.cwd/uid/gid, the description, unprivileged with a user namespace.
 * No net0: the network namespace is the OCI runtime's caller's (CNI).
 */
int pve_register_build_conf(const struct pve_register_ct *ct, struct pve_conf **out, struct plx_err *err);

/*
 * Check conf against the schema of POST /nodes/{node}/lxc in schema_path
 * (every plain key, the description) and its raw keys against the whitelist.
 */
int pve_register_check_conf(const char *schema_path, const struct pve_conf *conf, struct plx_err *err);

/* The record written before the claim (no vmid yet). */
json_t *pve_register_record_new(const struct pve_register_plan *p);

/* Claim a vmid for container id (record gets "vmid", "volume", "conf"). */
int pve_register_claim(json_t *record, const char *id, const char *root, struct plx_err *err);

/* Replace the claimed config with conf (atomically). */
int pve_register_write_conf(const json_t *record, const struct pve_conf *conf, struct plx_err *err);

/* Read the registered CT's config (for snapshot sections). */
int pve_register_read_conf(const json_t *record, struct pve_conf **out, struct plx_err *err);

/*
 * Unregister: remove the CT config when it is still ours (its description
 * names id and root; a config someone else now has is left alone) and
 * <lxcpath>/<vmid>/.  A record without vmid (create killed around the claim)
 * removes a claim of this container still "lock: create".  Gone is fine.
 */
int pve_register_release(const json_t *record, const char *id, const char *root, struct plx_err *err);

/* The record's vmid (0 when none). */
unsigned int pve_register_record_vmid(const json_t *record);

struct plx_storage_snapshot;

/*
 * Make the CT config's snapshot sections match the volume's snapshots
 * (oldest first): a new one becomes a [name] section of the current config
 * (snaptime, parent), one gone is deleted (children re-linked); then, with
 * rollback_to, the main section becomes that snapshot's config again.  A
 * name PVE cannot hold ([a-z][a-z0-9_-]+) is left out with a warning.
 */
int pve_register_sync_snapshots(const json_t *record, const struct plx_storage_snapshot *snaps, size_t n,
				const char *rollback_to, struct plx_err *err);
