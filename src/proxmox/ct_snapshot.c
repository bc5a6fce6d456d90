/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot create/delete/rollback on the CT config model, after
 * PVE::AbstractConfig (snapshot_prepare + snapshot_commit, snapshot_delete,
 * snapshot_rollback with __snapshot_copy_config/__snapshot_apply_config).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxmox/ct_snapshot.h"
#include "util/cleanup.h"

/* Keys __snapshot_copy_config leaves out. */
static bool copy_skips(const char *key)
{
	static const char *const skip[] = { "snapstate", "snaptime", "vmstate",
					    "lock",	 "digest",   "description" };
	const char *d;

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strcmp(key, skip[i]) == 0)
			return true;
	if (strncmp(key, "unused", 6) != 0 || !key[6])
		return false;
	for (d = key + 6; *d >= '0' && *d <= '9'; d++)
		;
	return *d == '\0';
}

static bool is_unused(const char *key)
{
	return strncmp(key, "unused", 6) == 0 && copy_skips(key) && strcmp(key, "unused") != 0;
}

static int check_unlocked(const struct pve_conf *conf, struct plx_err *err)
{
	const char *lock = pve_conf_get(conf, NULL, "lock");

	if (lock)
		return plx_err_set(err, EBUSY, "CT is locked (%s)", lock);
	return 0;
}

static struct pve_conf_section *snapshot_or_err(const struct pve_conf *conf, const char *name,
						struct plx_err *err)
{
	struct pve_conf_section *s = NULL;

	if (strcmp(name, PVE_CONF_PENDING) != 0)
		s = pve_conf_section(conf, name);
	if (!s)
		plx_err_set(err, ENOENT, "snapshot '%s' does not exist", name);
	return s;
}

/* Append src's copyable key lines to section dst ("set" sorts plain keys, lxc.* keep their order). */
static int copy_keys(struct pve_conf *conf, const char *dst, const struct pve_conf_section *src,
		     struct plx_err *err)
{
	for (size_t i = 0; i < src->n_lines; i++) {
		const struct pve_conf_line *l = &src->lines[i];
		int ret;

		if (l->kind != PVE_CONF_KEY || copy_skips(l->key))
			continue;
		if (strncmp(l->key, "lxc.", 4) == 0)
			ret = pve_conf_add(conf, dst, l->key, l->value, err);
		else
			ret = pve_conf_set(conf, dst, l->key, l->value, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int pve_snapshot_create(struct pve_conf *conf, const char *name, const char *comment, int64_t snaptime,
			struct plx_err *err)
{
	char when[32];
	int ret;

	if (!pve_conf_snapname_valid(name) || strcmp(name, "current") == 0)
		return plx_err_set(err, EINVAL, "invalid snapshot name '%s'", name);
	if (pve_conf_section(conf, name))
		return plx_err_set(err, EEXIST, "snapshot name '%s' already used", name);
	ret = check_unlocked(conf, err);
	if (ret < 0)
		return ret;
	ret = pve_conf_add_section(conf, name, err);
	if (ret < 0)
		return ret;
	/* the main section moves when sections are added: look it up after */
	ret = copy_keys(conf, name, pve_conf_section(conf, NULL), err);
	if (ret == 0 && comment && *comment)
		ret = pve_conf_set_description(conf, name, comment, err);
	snprintf(when, sizeof(when), "%" PRId64, snaptime);
	if (ret == 0)
		ret = pve_conf_set(conf, name, "snaptime", when, err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "parent", name, err);
	if (ret < 0) {
		struct plx_err ignored = PLX_ERR_INIT;

		pve_conf_remove_section(conf, name, &ignored);
		plx_err_clear(&ignored);
		return plx_err_prefix(err, "snapshot '%s'", name);
	}
	return 0;
}

int pve_snapshot_delete(struct pve_conf *conf, const char *name, struct plx_err *err)
{
	__do_free char *parent = NULL;
	const char *p;
	int ret;

	if (!snapshot_or_err(conf, name, err))
		return -ENOENT;
	ret = check_unlocked(conf, err);
	if (ret < 0)
		return ret;
	p = pve_conf_get(conf, name, "parent");
	if (p && !(parent = strdup(p)))
		return plx_err_set(err, ENOMEM, "out of memory deleting snapshot '%s'", name);
	/* whoever pointed at the deleted snapshot now points at its parent */
	for (size_t i = 0; i < conf->n_sections; i++) {
		const char *sect = conf->sections[i].name;

		if (sect && (strcmp(sect, name) == 0 || strcmp(sect, PVE_CONF_PENDING) == 0))
			continue;
		p = pve_conf_get(conf, sect, "parent");
		if (!p || strcmp(p, name) != 0)
			continue;
		if (parent)
			ret = pve_conf_set(conf, sect, "parent", parent, err);
		else
			ret = pve_conf_delete(conf, sect, "parent", err);
		if (ret < 0)
			return ret;
	}
	return pve_conf_remove_section(conf, name, err);
}

int pve_snapshot_rollback(struct pve_conf *conf, const char *name, struct plx_err *err)
{
	struct pve_conf_section *main_s, *snap;
	struct pve_conf_line *old;
	size_t n_old, kept = 0;
	int ret;

	snap = snapshot_or_err(conf, name, err);
	if (!snap)
		return -ENOENT;
	ret = check_unlocked(conf, err);
	if (ret < 0)
		return ret;
	if (pve_conf_get(conf, name, "snapstate"))
		return plx_err_set(err, EBUSY, "snapshot '%s' is in state '%s'", name,
				   pve_conf_get(conf, name, "snapstate"));

	/* __snapshot_apply_config keeps only the description and unusedN of the current config */
	main_s = pve_conf_section(conf, NULL);
	old = main_s->lines;
	n_old = main_s->n_lines;
	main_s->lines = calloc(n_old ? n_old : 1, sizeof(*old));
	main_s->n_lines = 0;
	if (!main_s->lines) {
		main_s->lines = old;
		main_s->n_lines = n_old;
		return plx_err_set(err, ENOMEM, "out of memory rolling back to snapshot '%s'", name);
	}
	for (size_t i = 0; i < n_old; i++) {
		struct pve_conf_line *l = &old[i];

		if (l->kind == PVE_CONF_COMMENT || (l->kind == PVE_CONF_KEY && is_unused(l->key)) ||
		    (l->kind == PVE_CONF_KEY && strcmp(l->key, "description") == 0)) {
			main_s->lines[kept++] = *l;
			memset(l, 0, sizeof(*l));
		} else {
			free(l->key);
			free(l->value);
			free(l->raw);
		}
	}
	free(old);
	main_s->n_lines = kept;

	ret = copy_keys(conf, NULL, pve_conf_section(conf, name), err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "parent", name, err);
	/* pending changes belong to the config being replaced */
	if (ret == 0 && pve_conf_section(conf, PVE_CONF_PENDING))
		ret = pve_conf_remove_section(conf, PVE_CONF_PENDING, err);
	if (ret < 0)
		return plx_err_prefix(err, "rollback to snapshot '%s'", name);
	return 0;
}
