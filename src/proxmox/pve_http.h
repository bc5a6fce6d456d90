/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport to one PVE host: a libcurl handle reused across requests
 * (keep-alive), the token header, and TLS checked against CAs or pinned by
 * the leaf certificate's SHA-256 fingerprint.  The pin is checked during
 * the handshake, so a wrong server never sees the token.
 */
#pragma once

#include <jansson.h>

#include "proxmox/pve_config.h"
#include "proxmox/pve_reply.h"
#include "util/error.h"

struct pve_http;

/* cfg and host must outlive the handle. */
int pve_http_new(const struct pve_config *cfg, const struct pve_host *host, struct pve_http **out,
		 struct plx_err *err);
void pve_http_free(struct pve_http *h);

/* "h:port" as messages name this host. */
const char *pve_http_host(const struct pve_http *h);

/*
 * One request: method GET|POST|PUT|DELETE, path below /api2/json
 * ("/nodes"), params form-encoded (body for POST/PUT, query otherwise).
 * Network outcomes land in *resp (xfer, status, error); only local
 * failures (memory, bad params) return < 0.
 */
int pve_http_request(struct pve_http *h, const char *method, const char *path, const json_t *params,
		     struct pve_response *resp, struct plx_err *err);

/*
 * A multipart/form-data POST (PVE's /storage/{storage}/upload): fields (an
 * object of strings) first, then the file at file_path as part file_field
 * named file_name.  No overall time limit, but a transfer stalled for
 * proxmox.timeout seconds fails.  Outcomes as pve_http_request().
 */
int pve_http_upload(struct pve_http *h, const char *path, const json_t *fields, const char *file_field,
		    const char *file_path, const char *file_name, struct pve_response *resp,
		    struct plx_err *err);
