/* SPDX-License-Identifier: Apache-2.0 */
/* File uploads to PVE (multipart POST) with the client's failover rules. */
#include "proxmox/pve_client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/log.h"

int pve_client_upload(struct pve_client *c, const char *path, const json_t *fields, const char *file_field,
		      const char *file_path, const char *file_name, json_t **data, struct plx_err *err)
{
	struct pve_attempts tried = {};
	size_t n = c->cfg->n_hosts;
	int ret, code = ECONNREFUSED;

	*data = NULL;
	for (size_t k = 0; k < n; k++) {
		size_t i = (c->current + k) % n;
		struct pve_response r = {};
		struct pve_http *h;

		ret = pve_client_http(c, i, &h, err);
		if (ret == 0)
			ret = pve_http_upload(h, path, fields, file_field, file_path, file_name, &r, err);
		if (ret < 0) {
			pve_attempts_clear(&tried);
			return plx_err_prefix(err, "POST %s", path);
		}
		/* as any POST: only a host that provably never got the request is left for the next */
		if (pve_should_failover(&r, "POST")) {
			__do_err_clear struct plx_err e = PLX_ERR_INIT;
			json_t *ignored = NULL;

			pve_reply_parse(&r, c->cfg->token_id, &ignored, &e);
			json_decref(ignored);
			pve_response_clear(&r);
			log_debug("PVE host %s failed (%s), trying the next", pve_http_host(h),
				  plx_err_msg(&e));
			if (pve_attempts_add(&tried, pve_http_host(h), plx_err_msg(&e)) < 0) {
				pve_attempts_clear(&tried);
				return plx_err_set(err, ENOMEM, "out of memory");
			}
			code = e.code;
			continue;
		}
		c->current = i;
		ret = pve_reply_parse(&r, c->cfg->token_id, data, err);
		if (ret < 0 && r.xfer == PVE_XFER_LOST)
			ret = plx_err_set(err, ETIMEDOUT,
					  "%s (the upload may have reached PVE, so it is not repeated)",
					  r.error ? r.error : "no answer");
		pve_response_clear(&r);
		if (ret < 0)
			plx_err_prefix(err, "%s: POST %s", pve_http_host(h), path);
		pve_attempts_clear(&tried);
		return ret;
	}
	ret = pve_attempts_error(&tried, code, err);
	plx_err_prefix(err, "POST %s", path);
	pve_attempts_clear(&tried);
	return ret;
}
