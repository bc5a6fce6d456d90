/* SPDX-License-Identifier: Apache-2.0 */
/* File uploads to PVE (multipart POST) with the client's failover rules. */
#include "proxmox/pve_client_internal.h"

struct upload {
	const char *path, *file_field, *file_path, *file_name;
	const json_t *fields;
};

static int send_upload(struct pve_http *h, void *arg, struct pve_response *r, struct plx_err *err)
{
	const struct upload *u = arg;
	int ret = pve_http_upload(h, u->path, u->fields, u->file_field, u->file_path, u->file_name, r, err);

	return ret < 0 ? plx_err_prefix(err, "POST %s", u->path) : 0;
}

int pve_client_upload(struct pve_client *c, const char *path, const json_t *fields, const char *file_field,
		      const char *file_path, const char *file_name, json_t **data, struct plx_err *err)
{
	struct upload u = {.path = path,
			   .file_field = file_field,
			   .file_path = file_path,
			   .file_name = file_name,
			   .fields = fields};

	/* as any POST: only a host that provably never got the request is left for the next */
	return pve_client_failover(c, "POST", path, send_upload, &u, data, err);
}
