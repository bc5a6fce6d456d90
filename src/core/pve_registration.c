/* SPDX-License-Identifier: Apache-2.0 */
/* The lifecycle hooks of PVE CT registration: claim, volume, CT config, release, snapshots. */
#include "core/pve_registration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rootfs.h"
#include "proxmox/ct_conf.h"
#include "storage/storage.h"
#include "storage/storage_config.h"
#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(pve_conf_freep, struct pve_conf, pve_conf_free)

static inline void reg_storage_freep(struct plx_storage **p)
{
	plx_storage_free(*p);
	*p = NULL;
}

int plx_pve_create_plan(const struct plx_config *cfg, const json_t *annotations, const json_t *volume,
			struct pve_register_plan **out, struct plx_err *err)
{
	*out = NULL;
	if (volume) {
		/* restore: in place keeps the registration its volume carries; --as makes a plain clone */
		return 0;
	}
	return pve_register_plan_new(cfg ? cfg->proxmox : NULL, cfg ? cfg->path : NULL, annotations, out,
				     err);
}

static int set_pve(struct plx_state *st, json_t *record, int dirfd, struct plx_err *err)
{
	json_decref(st->pve);
	st->pve = json_incref(record);
	return plx_state_write(dirfd, st, err);
}

int plx_pve_create_claim(const struct pve_register_plan *reg, const struct plx_config *cfg, const char *root,
			 const struct oci_spec *spec, const char *bundle_rootfs, const json_t *volume,
			 int dirfd, struct plx_state *st, json_t **plan, struct plx_err *err)
{
	json_t *adopted = volume ? json_object_get(volume, "pve") : NULL;
	json_auto_t *rec = NULL;
	uint64_t size = 0;
	int r;

	*plan = NULL;
	if (adopted) {
		json_auto_t *copy = json_deep_copy(adopted);

		if (!copy || json_object_set_new(copy, "in_storage", json_true()) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		return set_pve(st, copy, dirfd, err);
	}
	if (!reg)
		return 0;
	r = plx_rootfs_size_limit(cfg, spec->annotations, &size, err);
	if (r < 0)
		return r;
	/* recorded before the claim: a create killed in between leaves a claim delete --force finds */
	rec = pve_register_record_new(reg);
	if (!rec)
		return plx_err_set(err, ENOMEM, "out of memory");
	r = set_pve(st, rec, dirfd, err);
	if (r == 0)
		r = pve_register_claim(rec, st->id, root, err);
	if (r == 0)
		r = plx_state_write(dirfd, st, err);
	if (r < 0)
		return r;

	struct plx_rootfs_target t = {.driver = PLX_STORAGE_ZFS,
				      .base = reg->pool,
				      .volume = json_string_value(json_object_get(rec, "volume")),
				      .size = size};
	json_auto_t *p = NULL;
	r = plx_rootfs_plan_volume(&t, bundle_rootfs, &p, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s: PVE storage %s", st->id, reg->storage);
	/* from here the registration goes with the volume (the state write of the plan records both) */
	if (json_object_set_new(p, "pve", json_deep_copy(rec)) < 0 ||
	    json_object_set_new(rec, "in_storage", json_true()) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	*plan = steal_ptr(p);
	return 0;
}

int plx_pve_create_conf(const struct pve_register_plan *reg, const char *root, const struct oci_spec *spec,
			const struct plx_state *st, struct plx_err *err)
{
	__attribute__((cleanup(pve_conf_freep))) struct pve_conf *conf = NULL;
	json_int_t size = st->storage ? json_integer_value(json_object_get(st->storage, "size")) : 0;
	int r;

	if (!reg || !st->pve)
		return 0;
	struct pve_register_ct ct = {
		.spec = spec,
		.id = st->id,
		.root = root,
		.vmid = pve_register_record_vmid(st->pve),
		.storage = reg->storage,
		.volume = json_string_value(json_object_get(st->pve, "volume")),
		.size = size > 0 ? (uint64_t)size : 0,
	};
	r = pve_register_build_conf(&ct, &conf, err);
	if (r == 0)
		r = pve_register_check_conf(reg->schema, conf, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s: CT %u", st->id, ct.vmid);
	return pve_register_write_conf(st->pve, conf, err);
}

int plx_pve_lxc_name(const struct plx_state *st, char **name, const char **lxcpath, struct plx_err *err)
{
	unsigned int vmid = pve_register_record_vmid(st->pve);

	*lxcpath = json_string_value(json_object_get(st->pve, "lxcpath"));
	if (!vmid || !*lxcpath)
		return plx_err_set(err, EINVAL, "container %s: PVE record without vmid or lxcpath", st->id);
	if (asprintf(name, "%u", vmid) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int plx_pve_release(const struct plx_state *st, const char *root, struct plx_err *err)
{
	json_t *with_volume = st->storage ? json_object_get(st->storage, "pve") : NULL;
	int r;

	if (with_volume)
		r = pve_register_release(with_volume, st->id, root, err);
	else if (st->pve && !json_is_true(json_object_get(st->pve, "in_storage")))
		r = pve_register_release(st->pve, st->id, root, err); /* a create killed before its volume */
	else
		return 0; /* no registration, or its volume is with restore */
	return r < 0 ? plx_err_prefix(err, "container %s", st->id) : 0;
}

pid_t plx_pve_reaped_pid(const struct plx_state *st)
{
	json_t *m = st->engine ? json_object_get(st->engine, "monitor_pid") : NULL;

	if (st->pve && json_integer_value(m) > 0)
		return (pid_t)json_integer_value(m);
	return st->pid;
}

int plx_pve_sync_snapshots(const struct plx_state *st, const char *rollback_to, struct plx_err *err)
{
	__attribute__((cleanup(reg_storage_freep))) struct plx_storage *s = NULL;
	json_t *rec = st->storage ? json_object_get(st->storage, "pve") : NULL;
	struct plx_storage_snapshot *snaps = NULL;
	const char *volume;
	size_t n = 0;
	int r;

	if (!rec)
		return 0;
	r = plx_rootfs_open(st->storage, &s, &volume, err);
	if (r == 0)
		r = plx_storage_list_snapshots(s, volume, &snaps, &n, err);
	if (r == 0)
		r = pve_register_sync_snapshots(rec, snaps, n, rollback_to, err);
	plx_storage_snapshots_free(snaps, n);
	return r < 0 ? plx_err_prefix(err, "container %s: PVE snapshot list of CT %u", st->id,
				      pve_register_record_vmid(rec))
		     : 0;
}
