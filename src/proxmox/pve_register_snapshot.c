/* SPDX-License-Identifier: Apache-2.0 */
/* A registered CT's snapshot sections follow its volume's snapshots, so PVE's snapshot list shows ours. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proxmox/ct_snapshot.h"
#include "proxmox/pve_register.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(pve_conf_freep, struct pve_conf, pve_conf_free)

static bool in_volume(const struct plx_storage_snapshot *snaps, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(snaps[i].name, name) == 0)
			return true;
	return false;
}

/* Sections of snapshots the volume no longer has; names malloc'd into *out (NULL-terminated). */
static int stale_sections(const struct pve_conf *conf, const struct plx_storage_snapshot *snaps, size_t n,
			  char ***out)
{
	char **v = calloc(conf->n_sections + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n_sections; i++) {
		const char *name = conf->sections[i].name;

		if (!name || strcmp(name, PVE_CONF_PENDING) == 0 || in_volume(snaps, n, name))
			continue;
		if (!(v[k++] = strdup(name))) {
			for (size_t j = 0; j < k; j++)
				free(v[j]);
			free(v);
			return -ENOMEM;
		}
	}
	*out = v;
	return 0;
}

int pve_register_sync_snapshots(const json_t *record, const struct plx_storage_snapshot *snaps, size_t n,
				const char *rollback_to, struct plx_err *err)
{
	__attribute__((cleanup(pve_conf_freep))) struct pve_conf *conf = NULL;
	__do_strv_free char **stale = NULL;
	bool changed = false;
	int ret;

	ret = pve_register_read_conf(record, &conf, err);
	if (ret < 0)
		return ret;
	if (stale_sections(conf, snaps, n, &stale) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (char **s = stale; *s; s++) {
		ret = pve_snapshot_delete(conf, *s, err);
		if (ret < 0)
			return ret;
		changed = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (pve_conf_section(conf, snaps[i].name))
			continue;
		if (!pve_conf_snapname_valid(snaps[i].name)) {
			log_warn("checkpoint %s: not a name PVE's snapshot list can hold ([a-z][a-z0-9_-]+); "
				 "left out of the CT config",
				 snaps[i].name);
			continue;
		}
		ret = pve_snapshot_create(conf, snaps[i].name, NULL, snaps[i].created, err);
		if (ret < 0)
			return ret;
		changed = true;
	}
	if (rollback_to && pve_conf_section(conf, rollback_to)) {
		ret = pve_snapshot_rollback(conf, rollback_to, err);
		if (ret < 0)
			return ret;
		changed = true;
	}
	return changed ? pve_register_write_conf(record, conf, err) : 0;
}
