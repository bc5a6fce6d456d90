/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the PVE API answered and what it means, without any I/O: the
 * {"data": ...} envelope, PVE's error shapes turned into messages, whether
 * a failure may be retried on the next host, and the list of per-host
 * failures that becomes one error when every host failed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/error.h"

enum pve_xfer {
	PVE_XFER_OK,	  /* an HTTP answer arrived (any status) */
	PVE_XFER_CONNECT, /* the request provably never reached the server (resolve, connect, TLS) */
	PVE_XFER_LOST,	  /* it may have reached it: timeout or connection lost after sending */
};

struct pve_response {
	enum pve_xfer xfer;
	long status;  /* HTTP status, PVE_XFER_OK only */
	char *reason; /* the status line's reason phrase (PVE puts its message there), or NULL */
	char *body;   /* NUL-terminated */
	size_t len;
	char *error; /* what went wrong below HTTP, when xfer != PVE_XFER_OK */
};

void pve_response_clear(struct pve_response *r);

/*
 * The data of a reply, or an error in PVE's words:
 *   400 with errors{}:  "PVE rejected parameter 'memory': value must have a minimum value of 16"
 *                       (several: "PVE rejected parameters: 'a': ...; 'b': ...")
 *   401:                "PVE refused the API token for root@pam!ci (401 invalid token value!)"
 *   others:             "PVE answered 500 CT 100 already running" (+ ": message" when it says more)
 * token_id is the token without its secret.  *data is a new reference
 * (JSON null when PVE's data is null).
 */
int pve_reply_parse(const struct pve_response *r, const char *token_id, json_t **data, struct plx_err *err);

/* 502, 503, 504: a proxy or a node in trouble, worth another host for a request that may be repeated. */
bool pve_status_transient(long status);

/*
 * Whether a failed request goes to the next host: when it never reached the
 * server, or when it is idempotent (GET) and failed transiently.
 */
bool pve_should_failover(const struct pve_response *r, const char *method);

/* Each host's failure, in the order tried. */
struct pve_attempts {
	char *text; /* "h1:8006: reason; h2:8006: reason" */
	size_t n;
};

int pve_attempts_add(struct pve_attempts *a, const char *host, const char *reason);
/* The one error when no host could serve: "no PVE host could be reached (2 tried): h1: ...; h2: ..." */
int pve_attempts_error(const struct pve_attempts *a, int code, struct plx_err *err);
void pve_attempts_clear(struct pve_attempts *a);

/*
 * Form-encode params (an object of string, integer, real or boolean
 * values; NULL = none) as application/x-www-form-urlencoded, the way PVE
 * takes POST/PUT bodies and GET/DELETE queries.  Booleans become 1/0;
 * strings may hold NUL bytes (PVE's env list).  *out is "" for no params.
 */
int pve_params_encode(const json_t *params, char **out, struct plx_err *err);
