/* SPDX-License-Identifier: Apache-2.0 */
/* What pve_client.c, pve_task.c, pve_nodes.c and pve_upload.c share (not part of the client's API). */
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

/*
 * One attempt of a request on one host: the network outcome lands in *r;
 * < 0 only for local failures (memory, an unreadable file), never retried.
 */
typedef int (*pve_send_fn)(struct pve_http *h, void *arg, struct pve_response *r, struct plx_err *err);

/*
 * send(arg) through the hosts by the failover rules of pve_client.h (what
 * may be repeated depends on method), starting with the host that answered
 * last; method and path name the request in messages.  *data: PVE's data.
 */
int pve_client_failover(struct pve_client *c, const char *method, const char *path, pve_send_fn send,
			void *arg, json_t **data, struct plx_err *err);
