/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create --image / run --image: the container's bundle made from an image
 * in the store (image/bundle.h), at <images store>/bundles/<id>, marked as
 * the container's own (PLX_IMAGE_MANAGED_ANNOTATION) so that delete
 * removes it.  Anonymous volumes live in that bundle's volumes/, or on the
 * storage driver (image/anon_volumes.h) when one is chosen, and go with it.
 * With zfs or btrfs the bundle's root.path is the image's top layer in the
 * layer store (image/layer_store.h), which create clones.
 *
 * The user's flags are kept in the bundle (PLX_IMAGE_RUN_FILE) so that
 * image update can make the same container from a newer image.
 */
#pragma once

#include <jansson.h>

#include "core/lifecycle.h"
#include "image/image_config.h"
#include "util/error.h"

#define PLX_IMAGE_RUN_FILE "image-run.json"

/* <images store>/bundles/<id> */
int plx_image_bundle_path(struct plx_runtime *rt, const char *id, char **out, struct plx_err *err);

/* The flags saved in a bundle (PLX_IMAGE_RUN_FILE); run points into the other fields. */
struct plx_image_run_saved {
	struct plx_image_run_opts run;
	char **args;
	char **env;
	char *user;
	char *workdir;
};
int plx_image_run_load(const char *bundle, struct plx_image_run_saved *out, struct plx_err *err);
void plx_image_run_saved_clear(struct plx_image_run_saved *s);

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
