/* SPDX-License-Identifier: Apache-2.0 */
/* What pve_client.c, pve_task.c and pve_nodes.c share (not part of the client's API). */
#pragma once

#include "proxmox/pve_client.h"
#include "proxmox/pve_http.h"

struct pve_client {
	const struct pve_config *cfg;
	struct pve_http **http; /* one per host, made on first use */
	size_t current;		/* the host that answered last: tried first */
	char *cache_path;	/* the node cache file, or NULL */
	char *cache_key;	/* which cluster the cache is for: scheme and hosts */
	struct pve_node *nodes;
	size_t n_nodes;
	time_t nodes_time; /* when the list was fetched; 0 = none */
};

void pve_nodes_free(struct pve_node *nodes, size_t n);

/* The type=node entries of /cluster/status data (name, ip, online, local), sorted by name. */
int pve_nodes_parse(const json_t *status, struct pve_node **out, size_t *n, struct plx_err *err);

/* The cache file's document for nodes fetched at t, and back (-ESTALE: other cluster or expired). */
json_t *pve_nodes_to_cache(const char *key, time_t t, const struct pve_node *nodes, size_t n);
int pve_nodes_from_cache(const json_t *doc, const char *key, time_t now, unsigned int duration,
			 struct pve_node **out, size_t *n, time_t *t, struct plx_err *err);

/* The transport of hosts[host], made on first use (pve_upload.c sends through it). */
int pve_client_http(struct pve_client *c, size_t host, struct pve_http **h, struct plx_err *err);
