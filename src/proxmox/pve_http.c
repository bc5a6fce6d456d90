/* SPDX-License-Identifier: Apache-2.0 */
/* One PVE host over libcurl: requests, the token header and TLS (CAs or a pinned fingerprint). */
#include "proxmox/pve_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config-build.h"
#include "util/cleanup.h"
#include "util/log.h"

/* PVE's answers are small; a bigger one is a wrong server or an attack. */
#define REPLY_MAX	    (64u << 20)
#define CONNECT_TIMEOUT_MAX 10 /* seconds: a dead host must not hold up the failover long */

struct pve_http {
	CURL *curl;
	const struct pve_config *cfg;
	char *display;		    /* "host:port" */
	char *base;		    /* "https://host:port/api2/json" */
	struct curl_slist *headers; /* holds the token: never logged */
	char errbuf[CURL_ERROR_SIZE];
	char seen_fp[96]; /* the leaf certificate's fingerprint, when pinning */
	bool pin_mismatch;
	struct pve_response *resp; /* the reply being received */
	size_t cap;
	bool too_big;
};

const char *pve_http_host(const struct pve_http *h)
{
	return h->display;
}

void pve_http_free(struct pve_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	free(h->display);
	free(h->base);
	free(h);
}
DEFINE_CLEANUP_FUNC(pve_http_freep, struct pve_http, pve_http_free)

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pve_http *h = arg;
	struct pve_response *r = h->resp;
	size_t n = size * nmemb;

	if (r->len + n > REPLY_MAX) {
		h->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (r->len + n + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;
		char *body;

		while (cap < r->len + n + 1)
			cap *= 2;
		body = realloc(r->body, cap);
		if (!body)
			return 0;
		r->body = body;
		h->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* PVE writes its error message into the status line's reason phrase: keep it. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pve_http *h = arg;
	size_t n = size * nmemb, i = 0;

	if (n < 5 || strncmp(data, "HTTP/", 5) != 0)
		return n;
	/* "HTTP/1.1 200 OK\r\n": skip the version and the code */
	for (int field = 0; field < 2; field++) {
		while (i < n && data[i] != ' ')
			i++;
		while (i < n && data[i] == ' ')
			i++;
	}
	free(h->resp->reason);
	while (n > i && (data[n - 1] == '\r' || data[n - 1] == '\n' || data[n - 1] == ' '))
		n--;
	h->resp->reason = strndup(data + i, n - i);
	return size * nmemb;
}

/*
 * Pinning: PVE shows its certificate's SHA-256 fingerprint, not the SPKI
 * hash curl's CURLOPT_PINNEDPUBLICKEY wants, so the leaf is checked here,
 * instead of the chain, while the handshake runs.
 */
static int verify_pinned(X509_STORE_CTX *ctx, void *arg)
{
	struct pve_http *h = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	h->seen_fp[0] = '\0';
	if (!cert || !X509_digest(cert, EVP_sha256(), md, &len) || len != 32) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
		h->pin_mismatch = true;
		return 0;
	}
	for (unsigned int i = 0; i < len; i++)
		snprintf(h->seen_fp + i * 3, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
	for (char **fp = h->cfg->fingerprints; *fp; fp++)
		if (strcmp(*fp, h->seen_fp) == 0)
			return 1;
	h->pin_mismatch = true;
	X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
	return 0;
}

static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	SSL_CTX_set_cert_verify_callback(ssl_ctx, verify_pinned, arg);
	return CURLE_OK;
}

static int setup_tls(struct pve_http *h, struct plx_err *err)
{
	const struct pve_config *cfg = h->cfg;
	const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
	CURL *c = h->curl;

	if (strcmp(cfg->scheme, "https") != 0)
		return 0;
	if (cfg->fingerprints) {
		if (!info->ssl_version || strncmp(info->ssl_version, "OpenSSL", 7) != 0)
			return plx_err_set(err, ENOTSUP,
					   "proxmox.fingerprint: pinning needs libcurl built with OpenSSL, "
					   "this one uses %s",
					   info->ssl_version ? info->ssl_version : "no TLS library");
		/* the callback replaces the chain check; peer verification must stay on for it to count */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h);
		if (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK)
			return plx_err_set(err, ENOTSUP,
					   "proxmox.fingerprint: this libcurl cannot check certificates "
					   "itself (no CURLOPT_SSL_CTX_FUNCTION)");
		return 0;
	}
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, cfg->verify_tls ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, cfg->verify_tls ? 2L : 0L);
	if (cfg->verify_tls && cfg->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	return 0;
}

int pve_http_new(const struct pve_config *cfg, const struct pve_host *host, struct pve_http **out,
		 struct plx_err *err)
{
	__attribute__((cleanup(pve_http_freep))) struct pve_http *h = NULL;
	__do_free char *auth = NULL;
	long connect_timeout = cfg->timeout < CONNECT_TIMEOUT_MAX ? cfg->timeout : CONNECT_TIMEOUT_MAX;
	int ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return plx_err_set(err, ENOMEM, "out of memory");
	h->cfg = cfg;
	h->display = pve_host_display(host);
	if (!h->display || asprintf(&h->base, "%s://%s/api2/json", cfg->scheme, h->display) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (asprintf(&auth, "Authorization: PVEAPIToken=%s", cfg->token) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	h->headers = curl_slist_append(NULL, auth);
	explicit_bzero(auth, strlen(auth));
	/* no "Expect: 100-continue" round trip for bigger form bodies */
	if (h->headers)
		h->headers = curl_slist_append(h->headers, "Expect:");
	if (h->headers)
		h->headers = curl_slist_append(h->headers, "Accept: application/json");
	h->curl = curl_easy_init();
	if (!h->headers || !h->curl)
		return plx_err_set(err, ENOMEM, "%s: cannot set up a libcurl handle", h->display);

	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, cfg->scheme);
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "proxmox-lxcri/" PLX_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, connect_timeout);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)cfg->timeout);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	ret = setup_tls(h, err);
	if (ret < 0)
		return ret;
	*out = steal_ptr(h);
	return 0;
}

static int set_method(struct pve_http *h, const char *method, const char *form)
{
	CURL *c = h->curl;

	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		/* COPYPOSTFIELDS: the body may hold secrets; curl's copy dies with the request */
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, form);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "PUT") == 0 ? "PUT" : NULL);
		return 0;
	}
	if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "DELETE") == 0 ? "DELETE" : NULL);
		return 0;
	}
	return -EINVAL;
}

/* Whether the request was sent at all decides if it may be repeated elsewhere. */
static void classify_failure(struct pve_http *h, CURLcode res, struct pve_response *r)
{
	long sent = 0;
	int n;

	curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &sent);
	if (h->pin_mismatch) {
		r->xfer = PVE_XFER_CONNECT;
		n = asprintf(&r->error,
			     "TLS certificate fingerprint mismatch: pinned %s%s, server presented %s",
			     h->cfg->fingerprints[0], h->cfg->fingerprints[1] ? " (and others)" : "",
			     h->seen_fp[0] ? h->seen_fp : "no certificate");
	} else if (h->too_big) {
		r->xfer = PVE_XFER_LOST;
		n = asprintf(&r->error, "reply larger than %u MiB", REPLY_MAX >> 20);
	} else {
		r->xfer = sent == 0 ? PVE_XFER_CONNECT : PVE_XFER_LOST;
		n = asprintf(&r->error, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(res));
	}
	if (n < 0)
		r->error = NULL;
}

/* The transfer set up on h->curl, its answer collected into *resp. */
static CURLcode perform(struct pve_http *h, struct pve_response *resp)
{
	CURLcode res;

	h->resp = resp;
	h->cap = 0;
	h->too_big = false;
	h->pin_mismatch = false;
	h->errbuf[0] = '\0';
	res = curl_easy_perform(h->curl);
	h->resp = NULL;
	return res;
}

/* What perform() gave, in *resp: an HTTP answer, or how the transfer failed. */
static int outcome(struct pve_http *h, CURLcode res, const char *method, const char *path,
		   struct pve_response *resp, struct plx_err *err)
{
	if (res == CURLE_OK) {
		resp->xfer = PVE_XFER_OK;
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		if (!resp->body && !(resp->body = strdup("")))
			return plx_err_set(err, ENOMEM, "out of memory");
		log_debug("PVE %s %s%s: %ld %s", method, h->display, path, resp->status,
			  resp->reason ? resp->reason : "");
		return 0;
	}
	classify_failure(h, res, resp);
	log_debug("PVE %s %s%s: %s", method, h->display, path, resp->error ? resp->error : "failed");
	return 0;
}

int pve_http_request(struct pve_http *h, const char *method, const char *path, const json_t *params,
		     struct pve_response *resp, struct plx_err *err)
{
	__do_free char *form = NULL, *url = NULL;
	bool in_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	CURLcode res;
	int ret;

	*resp = (struct pve_response){};
	ret = pve_params_encode(params, &form, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s %s", method, path);
	if (asprintf(&url, "%s%s%s%s", h->base, path, !in_body && *form ? "?" : "", in_body ? "" : form) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (set_method(h, method, form) < 0)
		return plx_err_set(err, EINVAL, "%s %s: unknown method (GET, POST, PUT or DELETE)", method,
				   path);
	/* parameter values are not logged: they may hold passwords */
	log_debug("PVE %s %s%s (token %s, %zu bytes of parameters)", method, h->display, path,
		  h->cfg->token_id, strlen(form));
	explicit_bzero(form, strlen(form));
	curl_easy_setopt(h->curl, CURLOPT_URL, url);

	res = perform(h, resp);
	explicit_bzero(url, strlen(url));
	return outcome(h, res, method, path, resp, err);
}

/*
 * The multipart body of an upload: the fields first, then the file, as
 * PVE's HTTP server wants them (it streams the file part to a temporary
 * file and hands the fields to the API call).
 */
static int upload_mime(struct pve_http *h, const json_t *fields, const char *file_field,
		       const char *file_path, const char *file_name, curl_mime **out, struct plx_err *err)
{
	curl_mime *mime = curl_mime_init(h->curl);
	curl_mimepart *part;
	const char *key;
	json_t *v;

	if (!mime)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_object_foreach((json_t *)fields, key, v)
	{
		if (!json_is_string(v)) {
			curl_mime_free(mime);
			return plx_err_set(err, EINVAL, "upload field '%s': expected a string", key);
		}
		part = curl_mime_addpart(mime);
		if (!part || curl_mime_name(part, key) != CURLE_OK ||
		    curl_mime_data(part, json_string_value(v), json_string_length(v)) != CURLE_OK) {
			curl_mime_free(mime);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	part = curl_mime_addpart(mime);
	if (!part || curl_mime_name(part, file_field) != CURLE_OK ||
	    curl_mime_filename(part, file_name) != CURLE_OK ||
	    curl_mime_type(part, "application/octet-stream") != CURLE_OK) {
		curl_mime_free(mime);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	if (curl_mime_filedata(part, file_path) != CURLE_OK) {
		curl_mime_free(mime);
		return plx_err_sys(err, errno ? errno : EIO, "upload: cannot read %s", file_path);
	}
	/* filedata keeps the given name as the part's filename: set ours again */
	curl_mime_filename(part, file_name);
	*out = mime;
	return 0;
}

int pve_http_upload(struct pve_http *h, const char *path, const json_t *fields, const char *file_field,
		    const char *file_path, const char *file_name, struct pve_response *resp,
		    struct plx_err *err)
{
	__do_free char *url = NULL;
	curl_mime *mime = NULL;
	CURLcode res;
	int ret;

	*resp = (struct pve_response){};
	if (access(file_path, R_OK) < 0)
		return plx_err_sys(err, errno, "upload: cannot read %s", file_path);
	ret = upload_mime(h, fields, file_field, file_path, file_name, &mime, err);
	if (ret < 0)
		return ret;
	if (asprintf(&url, "%s%s", h->base, path) < 0) {
		curl_mime_free(mime);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	log_debug("PVE POST %s%s (token %s, upload of %s)", h->display, path, h->cfg->token_id, file_name);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(h->curl, CURLOPT_MIMEPOST, mime);
	/*
	 * A template takes longer than one API call: no overall limit, but a
	 * transfer that stalls (under 1 byte/s for the timeout) is given up.
	 */
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, (long)h->cfg->timeout);

	res = perform(h, resp);
	/* the handle is reused: back to what every other request expects */
	curl_easy_setopt(h->curl, CURLOPT_MIMEPOST, NULL);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)h->cfg->timeout);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 0L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, 0L);
	curl_mime_free(mime);
	return outcome(h, res, "POST", path, resp, err);
}
