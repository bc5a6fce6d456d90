/* SPDX-License-Identifier: Apache-2.0 */
/* PVE API calls with failover across the configured hosts. */
#include "proxmox/pve_client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "proxmox/pve_upid.h"
#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(pve_client_freep, struct pve_client, pve_client_free)

void pve_client_free(struct pve_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->http && i < c->cfg->n_hosts; i++)
		pve_http_free(c->http[i]);
	free(c->http);
	free(c->cache_path);
	free(c->cache_key);
	pve_nodes_free(c->nodes, c->n_nodes);
	free(c);
	curl_global_cleanup();
}

/* "https://h1:8006,h2:8006": a cache written for another cluster is not ours. */
static char *cluster_key(const struct pve_config *cfg)
{
	__do_free char *key = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&key, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s://", cfg->scheme);
	for (size_t i = 0; i < cfg->n_hosts; i++) {
		__do_free char *d = pve_host_display(&cfg->hosts[i]);

		fprintf(f, "%s%s", i ? "," : "", d ? d : "?");
	}
	if (fclose(f) != 0)
		return NULL;
	return steal_ptr(key);
}

int pve_client_new(const struct pve_config *cfg, const char *cache_dir, struct pve_client **out,
		   struct plx_err *err)
{
	__attribute__((cleanup(pve_client_freep))) struct pve_client *c = NULL;

	/* a config for node-local registration only (proxmox.register) may have neither */
	if (!cfg->n_hosts || !cfg->token)
		return plx_err_set(err, EINVAL, "proxmox.%s: missing (needed to talk to the PVE API)",
				   !cfg->n_hosts ? "hosts" : "token");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return plx_err_set(err, ENOMEM, "cannot initialize libcurl");
	c = calloc(1, sizeof(*c));
	if (!c) {
		curl_global_cleanup();
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	c->cfg = cfg;
	c->http = calloc(cfg->n_hosts, sizeof(*c->http));
	c->cache_key = cluster_key(cfg);
	if (!c->http || !c->cache_key)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (cache_dir && asprintf(&c->cache_path, "%s/%s", cache_dir, PVE_NODE_CACHE_FILE) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (strcmp(cfg->scheme, "https") == 0 && !cfg->verify_tls && !cfg->fingerprints)
		log_warn("proxmox.verify_tls is false and no fingerprint is pinned: the identity of the PVE "
			 "hosts is not checked");
	*out = steal_ptr(c);
	return 0;
}

char *pve_path_escape(const char *segment)
{
	char *e = curl_easy_escape(NULL, segment, 0);
	char *s = e ? strdup(e) : NULL;

	curl_free(e);
	return s;
}

/* A path below /api2/json: "/x/y", nothing a URL would read differently. */
static int check_path(const char *path, struct plx_err *err)
{
	if (path[0] != '/')
		return plx_err_set(err, EINVAL, "API path '%s': must start with '/'", path);
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
			return plx_err_set(err, EINVAL,
					   "API path '%s': must not contain spaces, control characters, '?' "
					   "or '#' (give parameters as key=value)",
					   path);
	return 0;
}

static int check_method(const char *method, struct plx_err *err)
{
	static const char *const ok[] = { "GET", "POST", "PUT", "DELETE" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (strcmp(method, ok[i]) == 0)
			return 0;
	return plx_err_set(err, EINVAL, "unknown HTTP method '%s' (GET, POST, PUT or DELETE)", method);
}

static int http_for(struct pve_client *c, size_t i, struct pve_http **h, struct plx_err *err)
{
	if (!c->http[i]) {
		int ret = pve_http_new(c->cfg, &c->cfg->hosts[i], &c->http[i], err);

		if (ret < 0)
			return ret;
	}
	*h = c->http[i];
	return 0;
}

int pve_client_call_host(struct pve_client *c, size_t host, const char *method, const char *path,
			 const json_t *params, json_t **data, struct plx_err *err)
{
	struct pve_response r = {};
	struct pve_http *h;
	int ret;

	*data = NULL;
	if (host >= c->cfg->n_hosts)
		return plx_err_set(err, EINVAL, "no host #%zu in proxmox.hosts", host);
	if ((ret = check_method(method, err)) < 0 || (ret = check_path(path, err)) < 0 ||
	    (ret = http_for(c, host, &h, err)) < 0 ||
	    (ret = pve_http_request(h, method, path, params, &r, err)) < 0)
		return ret;
	ret = pve_reply_parse(&r, c->cfg->token_id, data, err);
	pve_response_clear(&r);
	if (ret < 0)
		return plx_err_prefix(err, "%s: %s %s", pve_http_host(h), method, path);
	return 0;
}

int pve_client_failover(struct pve_client *c, const char *method, const char *path, pve_send_fn send,
			void *arg, json_t **data, struct plx_err *err)
{
	struct pve_attempts tried = {};
	size_t n = c->cfg->n_hosts;
	int ret, code = ECONNREFUSED;

	*data = NULL;
	for (size_t k = 0; k < n; k++) {
		size_t i = (c->current + k) % n;
		struct pve_response r = {};
		struct pve_http *h;

		ret = http_for(c, i, &h, err);
		if (ret == 0)
			ret = send(h, arg, &r, err);
		if (ret < 0) {
			pve_attempts_clear(&tried);
			return ret;
		}
		if (pve_should_failover(&r, method)) {
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
		/* an answer (or a failure that must not be repeated): final */
		c->current = i;
		ret = pve_reply_parse(&r, c->cfg->token_id, data, err);
		if (ret < 0 && r.xfer == PVE_XFER_LOST)
			ret = plx_err_set(err, ETIMEDOUT,
					  "%s (the request may have reached PVE, so it is not repeated)",
					  r.error ? r.error : "no answer");
		pve_response_clear(&r);
		if (ret < 0)
			plx_err_prefix(err, "%s: %s %s", pve_http_host(h), method, path);
		pve_attempts_clear(&tried);
		return ret;
	}
	ret = pve_attempts_error(&tried, code, err);
	plx_err_prefix(err, "%s %s", method, path);
	pve_attempts_clear(&tried);
	return ret;
}

struct call {
	const char *method, *path;
	const json_t *params;
};

static int send_call(struct pve_http *h, void *arg, struct pve_response *r, struct plx_err *err)
{
	const struct call *call = arg;

	return pve_http_request(h, call->method, call->path, call->params, r, err);
}

int pve_client_call(struct pve_client *c, const char *method, const char *path, const json_t *params,
		    json_t **data, struct plx_err *err)
{
	struct call call = {.method = method, .path = path, .params = params};
	int ret;

	*data = NULL;
	if ((ret = check_method(method, err)) < 0 || (ret = check_path(path, err)) < 0)
		return ret;
	return pve_client_failover(c, method, path, send_call, &call, data, err);
}

int pve_client_call_wait(struct pve_client *c, const char *method, const char *path, const json_t *params,
			 json_t **data, struct plx_err *err)
{
	int ret = pve_client_call(c, method, path, params, data, err);

	if (ret < 0 || !json_is_string(*data) || !pve_upid_is(json_string_value(*data)))
		return ret;
	ret = pve_task_wait(c, json_string_value(*data), NULL, err);
	if (ret < 0) {
		json_decref(*data);
		*data = NULL;
	}
	return ret;
}

int pve_client_nextid(struct pve_client *c, unsigned int *vmid, struct plx_err *err)
{
	json_auto_t *data = NULL;
	long long v = -1;
	char *end;
	int ret;

	ret = pve_client_call(c, "GET", "/cluster/nextid", NULL, &data, err);
	if (ret < 0)
		return ret;
	/* PVE sends the integer as a JSON string */
	if (json_is_integer(data))
		v = json_integer_value(data);
	else if (json_is_string(data)) {
		errno = 0;
		v = strtoll(json_string_value(data), &end, 10);
		if (errno || *end || end == json_string_value(data))
			v = -1;
	}
	if (v < 100 || v > 999999999)
		return plx_err_set(err, EPROTO,
				   "GET /cluster/nextid: expected a vmid (100-999999999) from PVE");
	*vmid = (unsigned int)v;
	return 0;
}
