/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create --image / run --image: the container's bundle made from an image
 * in the store (image/bundle.h), at <images store>/bundles/<id>, marked as
 * the container's own (PLX_IMAGE_MANAGED_ANNOTATION) so that delete
 * removes it.  Anonymous volumes live in that bundle's volumes/ and go
 * with it.
 */
#pragma once

#include <jansson.h>

#include "core/lifecycle.h"
#include "image/image_config.h"
#include "util/error.h"

/*
 * Make the bundle of image ref for container id; *bundle gets its path.
 * A bundle left by a create that crashed (no container id exists) is
 * replaced; one of an existing container is refused.
 */
int plx_image_create_bundle(struct plx_runtime *rt, const char *id, const char *ref,
			    const struct plx_image_run_opts *o, char **bundle, struct plx_err *err);

/*
 * For delete: remove bundle when it is the one plx_image_create_bundle()
 * made for id (the annotation and the path both say so); otherwise a
 * no-op.  A bundle already gone is fine.
 */
int plx_image_release_bundle(struct plx_runtime *rt, const char *id, const char *bundle,
			     const json_t *annotations, struct plx_err *err);

/* For a create or run that failed: remove the bundle unless container id exists after all. */
void plx_image_abandon_bundle(struct plx_runtime *rt, const char *id, const char *bundle);
