/* SPDX-License-Identifier: Apache-2.0 */
/* What registry.c and registry_blobs.c share. */
#pragma once

#include <stdbool.h>
#include <curl/curl.h>

#include "image/auth.h"
#include "image/registry.h"
#include "image/registry_config.h"

struct plx_registry {
	char *host;       /* as in the reference: "127.0.0.1:5000", "docker.io" */
	char *repository;
	char *base;       /* "https://registry-1.docker.io" */
	bool verify_tls;
	struct plx_registry_conf conf;
	struct plx_registry_creds creds; /* username NULL: anonymous */
	struct plx_auth_challenge challenge; /* scheme NULL: the registry asked for none */
	char *authorization; /* "Authorization: ..." header line, NULL while anonymous */
	CURLSH *share;       /* connections and TLS sessions reused across requests */
};

/* Response headers the client acts on; reset on every new status line (redirects). */
struct reg_headers {
	char reason[64];
	char *content_type;
	char *www_authenticate;
	char *docker_digest;
};

void reg_headers_reset(struct reg_headers *h);
size_t reg_header_cb(char *buf, size_t size, size_t n, void *ud);

/* Common options: TLS, timeouts, redirects, user agent. */
void reg_easy_setup(struct plx_registry *r, CURL *c, const char *url, char *errbuf);

/* A curl failure as a message naming the URL, with the CA hint for TLS failures. */
int reg_curl_error(struct plx_registry *r, CURLcode rc, const char *url, const char *errbuf, struct plx_err *err);

/* Whether a failure is worth another try. */
bool reg_transient_curl(CURLcode rc);
bool reg_transient_status(long status);
/* Sleep before try n (0-based): 250 ms, 500 ms, 1 s, 2 s ... */
void reg_backoff(unsigned n);

/* (Re-)authenticate after a 401 carrying www_authenticate; 0 when the request should be retried. */
int reg_reauth(struct plx_registry *r, const char *www_authenticate, long status, const char *reason,
	       struct plx_err *err);

/* The "(401 Unauthorized)" part of messages. */
const char *reg_reason(long status, const char *reason);
