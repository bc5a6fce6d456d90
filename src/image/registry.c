/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client: connecting (scheme, TLS), authenticating (basic,
 * bearer token) and fetching manifests.  Blob downloads: registry_blobs.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>

#include "image/digest.h"
#include "image/reference.h"
#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "config-build.h"

#define REG_USER_AGENT "proxmox-lxcri/" PLX_VERSION
#define REG_MAX_BODY PLX_STORE_MAX_META

struct membuf {
	char *data;
	size_t len, max;
	bool overflow;
};

static size_t mem_write_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct membuf *m = ud;
	size_t len = size * n;
	char *p;

	if (m->len + len > m->max) {
		m->overflow = true;
		return 0;
	}
	p = realloc(m->data, m->len + len + 1);
	if (!p)
		return 0;
	memcpy(p + m->len, buf, len);
	m->data = p;
	m->len += len;
	m->data[m->len] = '\0';
	return len;
}

const char *plx_registry_api_host(const char *registry)
{
	return strcmp(registry, "docker.io") == 0 ? "registry-1.docker.io" : registry;
}

void reg_headers_reset(struct reg_headers *h)
{
	free(h->content_type);
	free(h->www_authenticate);
	free(h->docker_digest);
	*h = (struct reg_headers){};
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *end = line + len;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	v = line + n + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return strndup(v, (size_t)(end - v));
}

size_t reg_header_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct reg_headers *h = ud;
	size_t len = size * n;
	char *v;

	if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
		const char *sp = memchr(buf, ' ', len);

		reg_headers_reset(h);
		/* "HTTP/1.1 401 Unauthorized\r\n": keep the reason phrase for messages */
		if (sp && (size_t)(sp - buf) + 5 < len) {
			const char *r = sp + 5, *e = buf + len;

			while (e > r && (e[-1] == '\r' || e[-1] == '\n'))
				e--;
			snprintf(h->reason, sizeof(h->reason), "%.*s", (int)(e - r), r);
		}
		return len;
	}
	if ((v = header_value(buf, len, "Content-Type"))) {
		free(h->content_type);
		h->content_type = v;
	} else if ((v = header_value(buf, len, "WWW-Authenticate"))) {
		/* several challenges: prefer bearer, the one that can scope a token */
		if (!h->www_authenticate || strncasecmp(v, "bearer", 6) == 0) {
			free(h->www_authenticate);
			h->www_authenticate = v;
		} else {
			free(v);
		}
	} else if ((v = header_value(buf, len, "Docker-Content-Digest"))) {
		free(h->docker_digest);
		h->docker_digest = v;
	}
	return len;
}

/* HTTP/2 carries no reason phrase: name the common ones ourselves */
static const char *reason_phrase(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

const char *reg_reason(long status, const char *reason)
{
	static __thread char buf[96];

	if (!reason || !*reason)
		reason = reason_phrase(status);
	snprintf(buf, sizeof(buf), "%ld%s%s", status, *reason ? " " : "", reason);
	return buf;
}

void reg_easy_setup(struct plx_registry *r, CURL *c, const char *url, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_USERAGENT, REG_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer (under 1 byte/s for 60 s) is a transient failure, retried */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, r->verify_tls ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, r->verify_tls ? 2L : 0L);
	if (r->conf.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->conf.ca_file);
	if (r->share)
		curl_easy_setopt(c, CURLOPT_SHARE, r->share);
}

static bool is_tls_verify_error(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

int reg_curl_error(struct plx_registry *r, CURLcode rc, const char *url, const char *errbuf, struct plx_err *err)
{
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);

	if (is_tls_verify_error(rc))
		return plx_err_set(err, EPROTO,
				   "TLS verification of registry %s failed (%s): if it uses a private CA, set "
				   "registries.\"%s\".ca_file in the runtime config to the CA certificate%s",
				   r->host, why, r->host, r->conf.ca_file ? " (the ca_file given does not verify it)" : "");
	if (rc == CURLE_SSL_CONNECT_ERROR)
		return plx_err_set(err, EPROTO, "TLS handshake with registry %s failed (%s)", r->host, why);
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		return plx_err_set(err, ECONNREFUSED, "cannot reach registry %s at %s: %s", r->host, url, why);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return plx_err_set(err, ETIMEDOUT, "registry %s: %s timed out: %s", r->host, url, why);
	return plx_err_set(err, EIO, "registry %s: %s: %s", r->host, url, why);
}

bool reg_transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

bool reg_transient_status(long status)
{
	return status == 429 || status == 408 || (status >= 500 && status != 501 && status != 505);
}

void reg_backoff(unsigned n)
{
	long ms = 250L << (n > 5 ? 5 : n);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct reg_reply {
	long status;
	struct membuf body;
	struct reg_headers h;
};

static void reg_reply_free(struct reg_reply *rep)
{
	free(rep->body.data);
	reg_headers_reset(&rep->h);
	*rep = (struct reg_reply){};
}

/* One GET with retries for transient failures; basic_auth: send the creds as HTTP basic (token realm). */
static inline void reg_reply_freep(struct reg_reply *rep)
{
	reg_reply_free(rep);
}

static int reg_get(struct plx_registry *r, const char *url, const char *accept, bool basic_auth,
		   bool with_authorization, struct reg_reply *rep, struct plx_err *err)
{
	for (unsigned attempt = 0;; attempt++) {
		char errbuf[CURL_ERROR_SIZE];
		struct curl_slist *hdrs = NULL;
		CURL *c = curl_easy_init();
		CURLcode rc;

		reg_reply_free(rep);
		rep->body.max = REG_MAX_BODY;
		if (!c)
			return plx_err_set(err, ENOMEM, "cannot create a curl handle");
		reg_easy_setup(r, c, url, errbuf);
		if (accept) {
			__do_free char *line = NULL;

			if (asprintf(&line, "Accept: %s", accept) > 0)
				hdrs = curl_slist_append(hdrs, line);
		}
		if (with_authorization && r->authorization)
			hdrs = curl_slist_append(hdrs, r->authorization);
		if (basic_auth && r->creds.username) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, r->creds.username);
			curl_easy_setopt(c, CURLOPT_PASSWORD, r->creds.password);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &rep->body);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reg_header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &rep->h);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
		curl_easy_cleanup(c);
		curl_slist_free_all(hdrs);
		if (rc == CURLE_WRITE_ERROR && rep->body.overflow)
			return plx_err_set(err, EFBIG, "registry %s: %s: reply larger than %u bytes", r->host, url,
					   REG_MAX_BODY);
		if (rc != CURLE_OK) {
			if (reg_transient_curl(rc) && attempt + 1 < PLX_REGISTRY_RETRIES) {
				log_debug("registry %s: %s: %s, retrying", r->host, url, curl_easy_strerror(rc));
				reg_backoff(attempt);
				continue;
			}
			return reg_curl_error(r, rc, url, errbuf, err);
		}
		if (reg_transient_status(rep->status) && attempt + 1 < PLX_REGISTRY_RETRIES) {
			log_debug("registry %s: %s: HTTP %ld, retrying", r->host, url, rep->status);
			reg_backoff(attempt);
			continue;
		}
		return 0;
	}
}

static char *base64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static int refused(struct plx_registry *r, long status, const char *reason, struct plx_err *err)
{
	if (r->creds.username)
		return plx_err_set(err, EACCES, "registry %s refused the credentials for user %s (%s)", r->host,
				   r->creds.username, reg_reason(status, reason));
	return plx_err_set(err, EACCES,
			   "registry %s requires authentication (%s): no credentials for it in the runtime config "
			   "(registries.\"%s\"), $REGISTRY_AUTH_FILE or ~/.docker/config.json",
			   r->host, reg_reason(status, reason), r->host);
}

static int set_authorization(struct plx_registry *r, const char *scheme, const char *cred, struct plx_err *err)
{
	free(r->authorization);
	if (asprintf(&r->authorization, "Authorization: %s %s", scheme, cred) < 0) {
		r->authorization = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* Bearer: GET realm?service=S&scope=repository:R:pull, with the basic creds if we have some. */
static int fetch_token(struct plx_registry *r, struct plx_err *err)
{
	__do_free char *url = NULL, *scope = NULL, *token = NULL;
	struct reg_reply rep = {};
	CURL *esc = curl_easy_init();
	char *svc = NULL, *sc = NULL;
	int ret;

	if (!esc)
		return plx_err_set(err, ENOMEM, "cannot create a curl handle");
	if (asprintf(&scope, "repository:%s:pull", r->repository) < 0)
		scope = NULL;
	if (r->challenge.service)
		svc = curl_easy_escape(esc, r->challenge.service, 0);
	if (scope)
		sc = curl_easy_escape(esc, scope, 0);
	if (asprintf(&url, "%s%sscope=%s%s%s", r->challenge.realm, strchr(r->challenge.realm, '?') ? "&" : "?",
		     sc ? sc : "", svc ? "&service=" : "", svc ? svc : "") < 0)
		url = NULL;
	curl_free(svc);
	curl_free(sc);
	curl_easy_cleanup(esc);
	if (!url)
		return plx_err_set(err, ENOMEM, "out of memory");

	ret = reg_get(r, url, "application/json", true, false, &rep, err);
	if (ret < 0) {
		reg_reply_free(&rep);
		return plx_err_prefix(err, "token server of registry %s", r->host);
	}
	if (rep.status == 401 || rep.status == 403) {
		ret = refused(r, rep.status, rep.h.reason, err);
		reg_reply_free(&rep);
		return ret;
	}
	if (rep.status != 200) {
		ret = plx_err_set(err, EPROTO, "token server %s of registry %s answered %s", r->challenge.realm, r->host,
				  reg_reason(rep.status, rep.h.reason));
		reg_reply_free(&rep);
		return ret;
	}
	ret = plx_auth_token_parse(rep.body.data ? rep.body.data : "", rep.body.len, &token, err);
	reg_reply_free(&rep);
	if (ret < 0)
		return plx_err_prefix(err, "token server %s of registry %s", r->challenge.realm, r->host);
	return set_authorization(r, "Bearer", token, err);
}

/* Act on a challenge: a bearer token, or basic credentials. */
static int authenticate(struct plx_registry *r, const char *www_authenticate, long status, const char *reason,
			struct plx_err *err)
{
	int ret;

	plx_auth_challenge_free(&r->challenge);
	if (!www_authenticate)
		return refused(r, status, reason, err);
	ret = plx_auth_challenge_parse(www_authenticate, &r->challenge, err);
	if (ret < 0)
		return plx_err_prefix(err, "registry %s", r->host);
	if (strcmp(r->challenge.scheme, "bearer") == 0)
		return fetch_token(r, err);
	if (strcmp(r->challenge.scheme, "basic") == 0) {
		__do_free char *pair = NULL, *b64 = NULL;

		if (!r->creds.username)
			return refused(r, status, reason, err);
		if (asprintf(&pair, "%s:%s", r->creds.username, r->creds.password) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		b64 = base64(pair);
		explicit_bzero(pair, strlen(pair));
		if (!b64)
			return plx_err_set(err, ENOMEM, "out of memory");
		return set_authorization(r, "Basic", b64, err);
	}
	return plx_err_set(err, ENOTSUP, "registry %s asks for %s authentication, which is not supported "
			   "(basic and bearer are)", r->host, r->challenge.scheme);
}

int reg_reauth(struct plx_registry *r, const char *www_authenticate, long status, const char *reason,
	       struct plx_err *err)
{
	/* a 401 after we sent credentials means they were refused, not that a token expired */
	if (r->authorization && strncmp(r->authorization, "Authorization: Basic", 20) == 0)
		return refused(r, status, reason, err);
	return authenticate(r, www_authenticate, status, reason, err);
}

static bool is_local(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "localhost:", 10) == 0 ||
	       strcmp(host, "127.0.0.1") == 0 || strncmp(host, "127.0.0.1:", 10) == 0 ||
	       strcmp(host, "[::1]") == 0 || strncmp(host, "[::1]:", 6) == 0;
}

static int set_base(struct plx_registry *r, const char *scheme)
{
	free(r->base);
	if (asprintf(&r->base, "%s://%s", scheme, plx_registry_api_host(r->host)) < 0) {
		r->base = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Plain HTTP spoken to a TLS server: Go's answer (docker-registry), or a reset. */
static bool answered_by_tls_server(const struct reg_reply *rep)
{
	return rep->status == 400 && rep->body.data && strstr(rep->body.data, "HTTPS server");
}

/* One scheme's GET /v2/. */
static int ping_scheme(struct plx_registry *r, const char *scheme, struct reg_reply *rep, struct plx_err *err)
{
	__do_free char *url = NULL;

	if (set_base(r, scheme) < 0 || asprintf(&url, "%s/v2/", r->base) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return reg_get(r, url, NULL, false, false, rep, err);
}

/*
 * GET /v2/: pick the scheme, learn whether and how to authenticate.
 * Insecure registries: HTTPS first (unverified if need be), then HTTP.
 * Local ones without a ca_file: HTTP first (no TLS set up is the usual
 * case there), HTTPS when the server turns out to speak only TLS.
 */
static int ping(struct plx_registry *r, struct plx_err *err)
{
	bool local_plain_first = is_local(r->host) && !r->conf.ca_file && !r->conf.insecure;
	bool may_plain = r->conf.insecure || is_local(r->host);
	_cleanup_(reg_reply_freep) struct reg_reply rep = {};
	int ret;

	if (local_plain_first) {
		ret = ping_scheme(r, "http", &rep, err);
		if (ret < 0 || answered_by_tls_server(&rep)) {
			log_debug("registry %s: plain HTTP failed (%s), trying HTTPS", r->host,
				  ret < 0 ? plx_err_msg(err) : "the server speaks TLS");
			plx_err_clear(err);
			ret = ping_scheme(r, "https", &rep, err);
		}
	} else {
		ret = ping_scheme(r, "https", &rep, err);
		if (ret < 0 && r->conf.insecure && strstr(plx_err_msg(err), "TLS verification")) {
			/* insecure: a certificate we cannot verify is accepted */
			plx_err_clear(err);
			r->verify_tls = false;
			ret = ping_scheme(r, "https", &rep, err);
		}
		if (ret < 0 && may_plain && !strstr(plx_err_msg(err), "TLS verification")) {
			log_debug("registry %s: HTTPS failed (%s), trying plain HTTP", r->host, plx_err_msg(err));
			plx_err_clear(err);
			ret = ping_scheme(r, "http", &rep, err);
		}
	}
	if (ret < 0)
		return ret;
	if (rep.status == 401)
		ret = authenticate(r, rep.h.www_authenticate, rep.status, rep.h.reason, err);
	else if (rep.status != 200)
		ret = plx_err_set(err, EPROTO, "registry %s: %s/v2/ answered %s: not an OCI distribution registry?",
				  r->host, r->base, reg_reason(rep.status, rep.h.reason));
	if (ret < 0 || !r->authorization || strncmp(r->authorization, "Authorization: Basic", 20) != 0)
		return ret;
	/* basic: check the credentials now, so a wrong password is named as such */
	__do_free char *url = NULL;
	if (asprintf(&url, "%s/v2/", r->base) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = reg_get(r, url, NULL, false, true, &rep, err);
	if (ret == 0 && rep.status == 401)
		ret = refused(r, rep.status, rep.h.reason, err);
	return ret;
}

void plx_registry_close(struct plx_registry *r)
{
	if (!r)
		return;
	free(r->host);
	free(r->repository);
	free(r->base);
	plx_registry_conf_free(&r->conf);
	plx_registry_creds_free(&r->creds);
	plx_auth_challenge_free(&r->challenge);
	free(r->authorization);
	if (r->share)
		curl_share_cleanup(r->share);
	free(r);
}

DEFINE_CLEANUP_FUNC(registry_closep, struct plx_registry, plx_registry_close)

int plx_registry_open(const struct plx_config *cfg, const char *registry, const char *repository,
		      struct plx_registry **out, struct plx_err *err)
{
	_cleanup_(registry_closep) struct plx_registry *r = NULL;
	int ret;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return plx_err_set(err, EIO, "cannot initialize libcurl");
	r = calloc(1, sizeof(*r));
	if (!r)
		return plx_err_set(err, ENOMEM, "out of memory");
	r->host = strdup(registry);
	r->repository = strdup(repository);
	r->verify_tls = true;
	if (!r->host || !r->repository)
		return plx_err_set(err, ENOMEM, "out of memory");
	/* one process, one thread: sharing needs no lock callbacks */
	r->share = curl_share_init();
	if (r->share) {
		curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	}
	ret = plx_registry_conf_get(cfg, registry, &r->conf, err);
	if (ret < 0)
		return ret;
	ret = plx_auth_lookup_env(cfg, registry, &r->creds, err);
	if (ret < 0)
		return ret;
	if (r->creds.username)
		log_debug("registry %s: credentials of user %s from %s", registry, r->creds.username,
			  r->creds.source ? r->creds.source : "?");
	ret = ping(r, err);
	if (ret < 0)
		return ret;
	*out = steal_ptr(r);
	return 0;
}

/* The registry's error body {"errors":[{"code","message"}]}: its first code, for messages. */
static char *error_code(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *doc = body ? json_loadb(body, len, 0, &jerr) : NULL;
	json_t *code = json_object_get(json_array_get(json_object_get(doc, "errors"), 0), "code");
	char *s = json_is_string(code) ? strdup(json_string_value(code)) : NULL;

	json_decref(doc);
	return s;
}

int plx_registry_get_manifest(struct plx_registry *r, const char *reference, char **body, size_t *len,
			      char **content_type, char **digest, struct plx_err *err)
{
	__do_free char *url = NULL, *code = NULL;
	char got[PLX_DIGEST_LEN];
	_cleanup_(reg_reply_freep) struct reg_reply rep = {};
	bool is_digest = plx_digest_valid(reference);
	int ret;

	if (asprintf(&url, "%s/v2/%s/manifests/%s", r->base, r->repository, reference) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (int auth_tries = 0;; auth_tries++) {
		ret = reg_get(r, url, PLX_MANIFEST_ACCEPT, false, true, &rep, err);
		if (ret < 0)
			return ret;
		if (rep.status != 401 || auth_tries > 0)
			break;
		ret = reg_reauth(r, rep.h.www_authenticate, rep.status, rep.h.reason, err);
		if (ret < 0)
			return ret;
	}
	if (rep.status == 401 || rep.status == 403) {
		return refused(r, rep.status, rep.h.reason, err);
	}
	if (rep.status == 404) {
		code = error_code(rep.body.data, rep.body.len);
		if (code && strcmp(code, "NAME_UNKNOWN") == 0)
			return plx_err_set(err, ENOENT, "repository %s is not in registry %s (404 NAME_UNKNOWN)",
					  r->repository, r->host);
		else
			return plx_err_set(err, ENOENT, "manifest unknown: %s %s is not in registry %s repository %s",
					  is_digest ? "digest" : "tag", reference, r->host, r->repository);
	}
	if (rep.status != 200) {
		return plx_err_set(err, EPROTO, "registry %s: manifest %s of %s: %s", r->host, reference,
				  r->repository, reg_reason(rep.status, rep.h.reason));
	}
	ret = plx_sha256_buf(rep.body.data ? rep.body.data : "", rep.body.len, got, err);
	if (ret < 0)
		return ret;
	if (is_digest && strcmp(got, reference) != 0) {
		return plx_err_set(err, EIO, "registry %s: manifest %s of %s: digest mismatch: got %s", r->host,
				  reference, r->repository, got);
	}
	*digest = strdup(got);
	*content_type = rep.h.content_type ? strdup(rep.h.content_type) : NULL;
	*len = rep.body.len;
	*body = rep.body.data ? steal_ptr(rep.body.data) : strdup("");
	if (!*digest || !*body) {
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}
