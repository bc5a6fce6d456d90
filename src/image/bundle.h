/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image from the store made into an OCI runtime bundle, runnable by
 * this runtime and by runc alike:
 *
 *   DIR/rootfs/        the layers unpacked in order (image/unpack.h)
 *   DIR/volumes/PATH   one anonymous volume per image Volume, bind-mounted
 *                      at /PATH; it starts with what the image has there
 *                      (docker's rule), moved out of the rootfs, not copied
 *   DIR/config.json    "runc spec"'s template with the image config applied
 *                      (image/image_config.h); root writable
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "image/image_config.h"
#include "image/store.h"
#include "util/error.h"

/* The image a bundle was made from (annotations in its config.json). */
#define PLX_IMAGE_NAME_ANNOTATION "org.proxmox-lxcri.image.name"
#define PLX_IMAGE_DIGEST_ANNOTATION "org.proxmox-lxcri.image.digest"
/* Set on bundles that create/run --image made for a container: delete removes them. */
#define PLX_IMAGE_MANAGED_ANNOTATION "org.proxmox-lxcri.image.managed-bundle"

struct plx_bundle_stats {
	size_t layers;
	uint64_t entries;   /* tar members unpacked */
	uint64_t tar_bytes; /* uncompressed layer bytes */
	size_t layers_unpacked; /* with the layer store: layers this call had to unpack */
	bool layered;       /* the rootfs is the top layer of the layer store */
};

struct plx_bundle_opts {
	struct plx_image_run_opts run;
	bool managed; /* mark the bundle as the container's own (PLX_IMAGE_MANAGED_ANNOTATION) */
	/*
	 * create --image: the container's id and the runtime config.  When a
	 * storage driver is chosen for it (config storage.driver, or the
	 * image's label org.proxmox-lxcri.storage), the anonymous volumes are
	 * volumes of that storage (image/anon_volumes.h), and on zfs and btrfs
	 * root.path is the top layer of the layer store (image/layer_store.h)
	 * instead of an unpacked DIR/rootfs: create clones it in O(1).  On dir
	 * DIR/rootfs stays empty and the annotation PLX_ROOTFS_LAYER_ANNOTATION
	 * (core/rootfs.h) names the top layer directory: create mounts an
	 * overlay of the layers.
	 * NULL/NULL: a self-contained bundle (image bundle REF DIR).
	 */
	const char *id;
	const struct plx_config *cfg;
	/*
	 * image update: volumes the container has already, kept instead of
	 * made: destination -> the storage volume name, or "" for a directory
	 * under volumes/ that the caller moves into this bundle.
	 */
	const json_t *keep_volumes;
	/* image update: the path the bundle gets once renamed (mount sources name it); NULL: dir */
	const char *final_dir;
};

/*
 * Make the bundle of image ref at dir.  dir must be absent or an empty
 * directory; on failure whatever was made is removed again.  stats may be
 * NULL.
 */
int plx_image_bundle(const struct plx_store *s, const char *ref, const char *dir, const struct plx_bundle_opts *o,
		     struct plx_bundle_stats *stats, struct plx_err *err);
