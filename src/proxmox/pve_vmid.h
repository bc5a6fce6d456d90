/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocating a vmid on a PVE node without the API, the way pmxcfs makes it
 * safe: a vmid is taken by the config file that names it, and creating
 * <etc_pve>/nodes/<node>/lxc/<vmid>.conf with O_CREAT|O_EXCL is atomic
 * cluster-wide on pmxcfs.  Used vmids come from <etc_pve>/.vmlist (when
 * present) and every nodes/ * /{lxc,qemu-server}/ *.conf; the range from
 * datacenter.cfg's next-id (lower=100, upper=1000000, upper exclusive).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define PVE_VMID_LOWER 100
#define PVE_VMID_UPPER 1000000 /* exclusive */
#define PVE_VMID_MAX   999999999

struct pve_vmid_set {
	unsigned int *ids; /* sorted, unique after pve_vmid_scan() */
	size_t n;
};
void pve_vmid_set_clear(struct pve_vmid_set *s);
bool pve_vmid_set_has(const struct pve_vmid_set *s, unsigned int vmid);

/* next-id of datacenter.cfg text (PVE's defaults when absent); errors name name. */
int pve_vmid_range_parse(const char *text, const char *name, unsigned int *lower, unsigned int *upper,
			 struct plx_err *err);
/* The same from <etc_pve>/datacenter.cfg (a missing file means the defaults). */
int pve_vmid_range(const char *etc_pve, unsigned int *lower, unsigned int *upper, struct plx_err *err);

/*
 * The vmids in use in the cluster: .vmlist's ids and every guest config
 * under nodes/.  skip_node/skip_vmid (NULL/0: none) leaves out one file,
 * our own claim, so that a re-scan finds only the others.
 */
int pve_vmid_scan(const char *etc_pve, const char *skip_node, unsigned int skip_vmid,
		  struct pve_vmid_set *out, struct plx_err *err);

/* <etc_pve>/nodes/<node>/lxc/<vmid>.conf, malloc'd (NULL on ENOMEM). */
char *pve_vmid_conf_path(const char *etc_pve, const char *node, unsigned int vmid);

/*
 * Claim the lowest free vmid of the range: create its config on node with
 * content (O_CREAT|O_EXCL, mode 0640), then re-scan the other nodes; when
 * another node holds the same vmid, ours loses: it is unlinked and the next
 * vmid is tried.  *vmid is the one claimed.
 */
int pve_vmid_claim(const char *etc_pve, const char *node, const char *content, unsigned int *vmid,
		   struct plx_err *err);
