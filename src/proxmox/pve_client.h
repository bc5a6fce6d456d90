/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Proxmox VE API client: calls with failover across the configured
 * hosts, task (UPID) waiting, and the cluster's node list, cached.
 *
 *   struct pve_client *c;
 *   pve_client_new(cfg, rt->root, &c, err);
 *   json_auto_t *params = json_pack("{s:i, s:s}", "vmid", 100, "hostname", "web");
 *   pve_client_call_wait(c, "POST", "/nodes/pve/lxc", params, &data, err);
 *
 * Failover: hosts are tried in order, starting with the last one that
 * answered.  A request goes to the next host only when it provably never
 * reached a server (resolve, connect or TLS failure), or when it is a GET
 * and failed transiently (timeout, lost connection, 502/503/504).  Any
 * other answer is final.  When no host serves, one error lists each
 * host's failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "proxmox/pve_config.h"
#include "util/error.h"

struct pve_client;

/* The name of the node cache file in the cache directory. */
#define PVE_NODE_CACHE_FILE "pve-nodes.json"

/*
 * cfg must outlive the client.  cache_dir (may be NULL: memory only) holds
 * PVE_NODE_CACHE_FILE, so that short-lived CLI runs share the node list.
 */
int pve_client_new(const struct pve_config *cfg, const char *cache_dir, struct pve_client **out,
		   struct plx_err *err);
void pve_client_free(struct pve_client *c);

/*
 * One API call: method GET|POST|PUT|DELETE, path below /api2/json
 * ("/nodes/pve/lxc", segments already escaped), params an object or NULL.
 * *data: PVE's "data" (a new reference, JSON null when PVE says null).
 */
int pve_client_call(struct pve_client *c, const char *method, const char *path, const json_t *params,
		    json_t **data, struct plx_err *err);

/* The same against hosts[host] only, no failover (pve check tests each host). */
int pve_client_call_host(struct pve_client *c, size_t host, const char *method, const char *path,
			 const json_t *params, json_t **data, struct plx_err *err);

/*
 * pve_client_call(), then, when the answer is a UPID, pve_task_wait() for
 * it; *data stays the UPID.
 */
int pve_client_call_wait(struct pve_client *c, const char *method, const char *path, const json_t *params,
			 json_t **data, struct plx_err *err);

/*
 * Poll /nodes/{node}/tasks/{upid}/status until it is "stopped" (back-off
 * 50 ms doubling to 1 s, up to proxmox.task_timeout).  exitstatus "OK" is
 * success, "WARNINGS: n" success with a warning logged, anything else an
 * error with PVE's message and the last lines of the task log.
 * *status (may be NULL) gets the final status object.
 */
int pve_task_wait(struct pve_client *c, const char *upid, json_t **status, struct plx_err *err);

/* The next poll delay after ms (0 = the first). */
unsigned int pve_task_backoff(unsigned int ms);

struct pve_node {
	char *name;
	char *ip; /* may be NULL */
	bool online;
	bool local; /* the node that answered when the list was fetched */
};

/*
 * The cluster's nodes (from /cluster/status), cached in memory and in the
 * cache file for proxmox.node_cache_duration seconds.  The list stays
 * owned by the client.
 */
int pve_client_nodes(struct pve_client *c, const struct pve_node **nodes, size_t *n, struct plx_err *err);

/* Forget the cached node list (memory and file), e.g. after a node was not found. */
void pve_client_nodes_invalidate(struct pve_client *c);

/*
 * The node to act on: proxmox.node, else the node that answers (local in
 * the node list).  The string stays owned by the client.
 */
int pve_client_node(struct pve_client *c, const char **node, struct plx_err *err);

/* A free vmid from /cluster/nextid. */
int pve_client_nextid(struct pve_client *c, unsigned int *vmid, struct plx_err *err);

/* Escape one path segment (a UPID, a snapshot name); free() the result.  NULL on ENOMEM. */
char *pve_path_escape(const char *segment);

/*
 * Upload a file (pve_upload.c): a multipart POST to path ("/nodes/pve/
 * storage/local/upload") with fields (an object of strings, e.g. content,
 * checksum) and the file as part file_field named file_name.  Failover
 * only while nothing was sent; an upload that may have reached PVE is
 * never repeated.  *data: PVE's data (the UPID of the copy task).
 */
int pve_client_upload(struct pve_client *c, const char *path, const json_t *fields, const char *file_field,
		      const char *file_path, const char *file_name, json_t **data, struct plx_err *err);
