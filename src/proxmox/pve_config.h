/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "proxmox" section of the runtime config: how to reach the PVE API
 * (hosts, token, TLS) and where PVE keeps its files on a node.  The API
 * token is a secret: no message, log line or argv ever holds it, and a file
 * holding it must not be readable by group or others.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/error.h"

#define PVE_DEFAULT_PORT	 8006
#define PVE_DEFAULT_NODE_CACHE	 300 /* seconds */
#define PVE_DEFAULT_TIMEOUT	 30  /* seconds, one HTTP request */
#define PVE_DEFAULT_TASK_TIMEOUT 3600
#define PVE_DEFAULT_ETC_PVE	 "/etc/pve"
#define PVE_DEFAULT_LXC_PATH	 "/var/lib/lxc"
#define PVE_DEFAULT_STORAGE_CFG	 "/etc/pve/storage.cfg"

struct pve_host {
	char *name; /* DNS name or IP (an IPv6 address without brackets) */
	unsigned int port;
};

struct pve_config {
	struct pve_host *hosts; /* tried in this order */
	size_t n_hosts;
	unsigned int port;   /* "port": for hosts given without one */
	char *token_id;	     /* "USER@REALM!TOKENID": safe to show */
	char *token;	     /* "USER@REALM!TOKENID=UUID": secret, wiped on free */
	char *node;	     /* the node to act on, NULL = the local/first node */
	char *scheme;	     /* "https", or "http" (only for tests: "scheme": "http") */
	bool verify_tls;     /* check the chain against CAs (system, or ca_file) */
	char *ca_file;	     /* PEM bundle to trust instead of the system CAs, NULL = system */
	char **fingerprints; /* pinned SHA-256 leaf fingerprints "AA:BB:...", NULL-terminated, or NULL */
	unsigned int node_cache_duration;
	unsigned int timeout;
	unsigned int task_timeout;
	char *etc_pve;	   /* paths.etc_pve */
	char *lxc_path;	   /* paths.lxc */
	char *storage_cfg; /* paths.storage_cfg */
	/* node-local registration (pve_register.h); with register true, hosts and token are optional */
	bool reg;	   /* "register": containers become PVE CTs unless annotated otherwise (false) */
	char *storage;	   /* "storage": the PVE storage id of registered CTs' rootfs */
	char *schema;	   /* "schema": apidata.json the CT config is checked against */
};

/*
 * Parse the proxmox section (a JSON object) of the config file named
 * file (NULL when the section does not come from a file).  Errors name
 * the key: "FILE: proxmox.port: expected an integer 1-65535".  An inline
 * token in a file that group or others may read is refused, as is a
 * token_file with such a mode.
 */
int pve_config_parse(const json_t *section, const char *file, struct pve_config **out, struct plx_err *err);
void pve_config_free(struct pve_config *cfg);

/*
 * Refuse a file holding a secret when its mode lets group or others read
 * it (fd: an open descriptor of it, path: its name for the message).
 */
int pve_check_secret_mode(int fd, const char *path, struct plx_err *err);

/*
 * Check a token "USER@REALM!TOKENID=UUID" (trailing whitespace already
 * removed); on success *id_len is the length of the "USER@REALM!TOKENID" part.
 * The message never repeats the value.
 */
int pve_token_check(const char *token, size_t *id_len, const char *what, struct plx_err *err);

/*
 * Normalize a SHA-256 fingerprint ("aa:bb:..", "AABB..") to PVE's form,
 * 32 upper-case hex pairs joined by ':'; out holds 96 bytes.
 */
int pve_fingerprint_normalize(const char *in, char out[96], struct plx_err *err);

/* "name:port" for messages, "[v6]:port" for IPv6 addresses; NULL on ENOMEM. */
char *pve_host_display(const struct pve_host *h);
