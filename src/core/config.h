/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's own configuration file (not the OCI config.json): JSON, the
 * first found of $PROXMOX_LXCRI_CONFIG, /etc/proxmox-lxcri/config.json,
 * ./config.json.  None found means embedded defaults.  Later features add
 * sections (storage, images, registries, proxmox); each section is kept as
 * JSON here and parsed by its owner.
 */
#pragma once

#include <jansson.h>

#include "util/error.h"

#define PLX_CONFIG_ENV "PROXMOX_LXCRI_CONFIG"
#define PLX_CONFIG_SYSTEM "/etc/proxmox-lxcri/config.json"
#define PLX_CONFIG_LOCAL "config.json"

struct plx_config {
	char *path;        /* the file read, or NULL for embedded defaults */
	char *root;        /* "root": default for --root (NULL = PLX_DEFAULT_ROOT) */
	char *log_level;   /* "log_level": "error|warning|info|debug" (NULL = info) */
	char *init_path;   /* "init": path of proxmox-lxcri-init (NULL = beside the binary) */
	json_t *storage;   /* section objects, NULL when absent */
	json_t *images;
	json_t *registries;
	json_t *proxmox;
	json_t *doc;       /* the whole document (owned), NULL for defaults */
};

/*
 * Find and load the config file.  A file named by $PROXMOX_LXCRI_CONFIG
 * must exist.  Malformed JSON: "FILE:LINE:COL: message"; a wrong type:
 * "FILE: key storage: expected object, got string".
 */
int plx_config_load(struct plx_config **out, struct plx_err *err);

/*
 * plx_config_load() with the candidates spelled out: env_path (the value
 * of $PROXMOX_LXCRI_CONFIG, NULL or "" when unset), system_path,
 * local_path.  Lets tests exercise the search without touching /etc.
 */
int plx_config_load_search(const char *env_path, const char *system_path, const char *local_path,
			   struct plx_config **out, struct plx_err *err);

/* Load a specific file (used by tests). */
int plx_config_load_file(const char *path, struct plx_config **out, struct plx_err *err);

/* The embedded defaults. */
struct plx_config *plx_config_defaults(void);

void plx_config_free(struct plx_config *c);
