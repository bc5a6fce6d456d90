/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of the OCI distribution API (GET /v2/, manifests, blobs) on
 * libcurl.  HTTPS with verification; for registries marked insecure in the
 * config and for localhost/127.0.0.1/[::1], HTTPS is tried first and plain
 * HTTP used when the server does not speak TLS (insecure ones also accept
 * an unverified certificate).  Anonymous, basic and bearer-token access;
 * transient failures (5xx, 429, resets, timeouts) are retried with
 * back-off; blobs stream into the store, several at once, resuming
 * partials with Range requests.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "image/manifest.h"
#include "image/store.h"
#include "util/error.h"

#define PLX_REGISTRY_PARALLEL_MAX 4
#define PLX_REGISTRY_RETRIES 4

struct plx_registry;

struct plx_registry_progress {
	uint64_t bytes_done, bytes_total;
	size_t blobs_done, blobs_total;
};
typedef void (*plx_registry_progress_fn)(void *ctx, const struct plx_registry_progress *p);

/*
 * Connect to registry (as in a reference: "docker.io", "127.0.0.1:5000")
 * for repository: ping /v2/, pick the scheme, authenticate for pull.
 * Errors: "registry H refused the credentials for user U (401 Unauthorized)",
 * TLS failures with the CA hint, connection failures naming the URL.
 */
int plx_registry_open(const struct plx_config *cfg, const char *registry, const char *repository,
		      struct plx_registry **out, struct plx_err *err);
void plx_registry_close(struct plx_registry *r);

/*
 * GET the manifest reference (a tag or a digest) with every manifest and
 * index media type accepted.  *digest gets the sha256 of the bytes
 * received (the caller compares it with a digest it asked for).  Unknown
 * tag: -ENOENT "manifest unknown: tag T is not in registry H repository R".
 */
int plx_registry_get_manifest(struct plx_registry *r, const char *reference, char **body, size_t *len,
			      char **content_type, char **digest, struct plx_err *err);

/*
 * Download blobs (skipping those already in the store) into the store,
 * up to parallel (1..PLX_REGISTRY_PARALLEL_MAX) at a time, each verified
 * while it streams.  progress may be NULL.
 */
int plx_registry_fetch_blobs(struct plx_registry *r, struct plx_store *s, const struct plx_descriptor *blobs,
			     size_t n, unsigned parallel, plx_registry_progress_fn progress, void *ctx,
			     struct plx_err *err);

/* "registry-1.docker.io" for Docker Hub, else registry itself. */
const char *plx_registry_api_host(const char *registry);
