/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image import PATH [--name REF]: an OCI image layout directory, an OCI
 * layout tar, or a docker-archive tar (`docker save`), read with
 * libarchive (compressed tars too).  Every blob is verified as it is
 * copied into the store; names are written last.
 *
 * Names: --name REF names the image when the source holds one; otherwise
 * an OCI entry's org.opencontainers.image.ref.name (a full reference, or a
 * bare tag that --name's repository completes) or a docker-archive's
 * RepoTags.
 */
#pragma once

#include "image/store.h"
#include "util/error.h"

struct plx_import_result {
	char **names;   /* normalized references now in index.json, NULL-terminated */
	char **digests; /* their manifest digests, same order */
};

int plx_image_import(struct plx_store *s, const char *path, const char *name, struct plx_import_result *out,
		     struct plx_err *err);
void plx_import_result_free(struct plx_import_result *r);
