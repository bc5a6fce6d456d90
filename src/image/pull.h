/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image pull: reference -> registry -> (index ->) manifest -> blobs ->
 * store -> name.  Blobs first, then the manifest, then the index.json
 * entry, so an interrupted pull leaves only whole blobs and partials,
 * never a name pointing at something missing.
 */
#pragma once

#include <stdbool.h>

#include "core/config.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "image/store.h"
#include "util/error.h"

struct plx_pull_opts {
	const char *ref;                       /* as the user wrote it */
	const struct plx_platform *platform;   /* NULL: the host's */
	unsigned parallel;                     /* 0: PLX_REGISTRY_PARALLEL_MAX */
	plx_registry_progress_fn progress;     /* NULL: none */
	void *progress_ctx;
};

struct plx_pull_result {
	char *name;            /* the normalized reference now in index.json */
	char *manifest_digest; /* of the platform's manifest */
	char *platform;        /* "linux/amd64" */
	size_t n_layers;
	uint64_t bytes;        /* config + layers */
};

int plx_image_pull(const struct plx_config *cfg, struct plx_store *s, const struct plx_pull_opts *o,
		   struct plx_pull_result *out, struct plx_err *err);
void plx_pull_result_free(struct plx_pull_result *r);
