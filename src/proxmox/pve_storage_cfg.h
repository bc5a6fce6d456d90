/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/pve/storage.cfg, in PVE's section format (PVE::SectionConfig):
 *
 *   zfspool: local-zfs
 *           pool rpool/data
 *           sparse
 *           content images,rootdir
 *
 * A header "TYPE: ID" starts a section; its properties follow on indented
 * "key value" lines (a flag without a value means 1); blank lines end it.
 * Only what registration needs is interpreted; every property is kept.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct pve_storage_prop {
	char *key;
	char *value; /* "1" for a bare flag */
};

struct pve_storage_entry {
	char *type; /* "zfspool", "dir", "btrfs", "lvmthin", ... */
	char *id;
	struct pve_storage_prop *props;
	size_t n_props;
};

struct pve_storage_cfg {
	struct pve_storage_entry *entries;
	size_t n_entries;
};

/* Parse buf (len bytes); name is used in errors ("<name>:<line>: ..."). */
int pve_storage_cfg_parse(const char *buf, size_t len, const char *name, struct pve_storage_cfg **out,
			  struct plx_err *err);
int pve_storage_cfg_load(const char *path, struct pve_storage_cfg **out, struct plx_err *err);
void pve_storage_cfg_free(struct pve_storage_cfg *cfg);

/* The storage named id, or NULL. */
const struct pve_storage_entry *pve_storage_cfg_find(const struct pve_storage_cfg *cfg, const char *id);

/* A property's value, or NULL when absent. */
const char *pve_storage_prop(const struct pve_storage_entry *e, const char *key);

/* Whether a comma list property (content, nodes) holds item. */
bool pve_storage_list_has(const char *list, const char *item);

/*
 * Whether this storage may hold a CT rootfs on node: not disabled, content
 * lists rootdir, and nodes (when given) lists node.  The error says which.
 */
int pve_storage_check_rootdir(const struct pve_storage_entry *e, const char *node, struct plx_err *err);
