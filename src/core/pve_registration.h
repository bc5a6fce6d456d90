/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lifecycle's side of PVE CT registration (proxmox/pve_register.h):
 * the hooks create, delete, run, checkpoint and restore call.
 *
 * Records: st->pve is the registration (written before the vmid is
 * claimed); once the volume is planned, the storage record carries a copy
 * under "pve" and st->pve gets "in_storage": the registration then lives
 * and dies with the volume.  That is what lets restore in place (which
 * takes the volume record out of the state, deletes the container and
 * creates it again on the same volume) keep the vmid and the CT config.
 */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/state.h"
#include "oci/spec.h"
#include "proxmox/pve_register.h"
#include "util/error.h"

/*
 * create, before anything is made: is the container registered, with what
 * settings (*out NULL: not registered).  volume: the record restore hands
 * to create, or NULL; a volume made by restore --as is not registered.
 */
int plx_pve_create_plan(const struct plx_config *cfg, const json_t *annotations, const json_t *volume,
			struct pve_register_plan **out, struct plx_err *err);

/*
 * create, once the state directory exists: record and claim a vmid, and
 * plan the volume subvol-<vmid>-disk-0 on the storage's pool (*plan, made
 * by create as any managed rootfs).  With volume (restore in place of a
 * registered container): take its registration again, *plan NULL.
 * st->pve is set and the state written at each step.
 */
int plx_pve_create_claim(const struct pve_register_plan *reg, const struct plx_config *cfg, const char *root,
			 const struct oci_spec *spec, const char *bundle_rootfs, const json_t *volume,
			 int dirfd, struct plx_state *st, json_t **plan, struct plx_err *err);

/* create, once the volume exists: the CT config, checked against the schema (reg NULL: adopted, kept). */
int plx_pve_create_conf(const struct pve_register_plan *reg, const char *root, const struct oci_spec *spec,
			const struct plx_state *st, struct plx_err *err);

/* liblxc's name (the vmid, malloc'd) and lxcpath (borrowed from st) of a registered container. */
int plx_pve_lxc_name(const struct plx_state *st, char **name, const char **lxcpath, struct plx_err *err);

/*
 * delete (and create's rollback): unregister what st records, after the
 * volume is gone: the CT config and <lxcpath>/<vmid>.  Leaves a
 * registration whose volume restore took out of the state.
 */
int plx_pve_release(const struct plx_state *st, const char *root, struct plx_err *err);

/* The pid whose exit is the container's: the kept liblxc monitor of a registered one, else st->pid. */
pid_t plx_pve_reaped_pid(const struct plx_state *st);

/* checkpoint, checkpoint --delete, restore: the CT config's snapshot sections follow the volume. */
int plx_pve_sync_snapshots(const struct plx_state *st, const char *rollback_to, struct plx_err *err);
