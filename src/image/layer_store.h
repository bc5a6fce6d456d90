/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image layers as storage snapshots (zfs, btrfs): each layer is unpacked
 * once, into a volume named after its chain id,
 *
 *   layer-<chain id hex>      a clone of the parent layer's snapshot "done"
 *                             (a new empty volume for the bottom layer),
 *                             the layer unpacked on top, then snapshotted
 *   layer-<chain id hex>@done the finished layer: only a volume that has it
 *                             is ever used
 *
 * so a layer shared by images is stored once, and a container's rootfs is
 * an O(1) clone of the top layer (core/rootfs.c clones whatever bundle
 * rootfs lies on the same storage).  A layer killed mid-unpack has no
 * "done" and is destroyed and made again by the next user.  On zfs the
 * finished dataset is set readonly=on (its clones are writable); on btrfs
 * the tree handed out is the read-only snapshot.
 *
 * Locks: <images store>/layers/<driver>-<volume>.lock, flocked exclusively
 * while a layer is checked or made and held until the image's whole chain
 * is ready, so a collection never takes a layer that a create is using.
 * The dir driver keeps layer directories for overlayfs instead (below).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "image/store.h"
#include "storage/storage.h"
#include "util/error.h"

#define PLX_LAYER_VOLUME_PREFIX "layer-"
#define PLX_LAYER_DONE_SNAPSHOT "done"

/*
 * The chain ids of diff_ids (image-spec config.md): chain[0] = diff_ids[0],
 * chain[i] = sha256(chain[i-1] + " " + diff_ids[i]).  NULL-terminated.
 */
int plx_layer_chain_ids(char *const *diff_ids, size_t n, char ***out, struct plx_err *err);

/* "layer-<hex>" of a chain id (heap string; NULL on ENOMEM or an invalid digest). */
char *plx_layer_volume_name(const char *chain_id);
/* Is name a layer volume ("layer-" + 64 lowercase hex)? */
bool plx_layer_volume_name_valid(const char *name);

/* Does this driver keep layers (zfs, btrfs)? */
bool plx_layer_store_supported(const struct plx_storage *s);

struct plx_layer_stats {
	size_t layers;      /* in the chain */
	size_t unpacked;    /* made by this call (the others were there) */
	uint64_t entries;   /* tar members unpacked */
	uint64_t tar_bytes; /* uncompressed bytes unpacked */
};

/*
 * Make sure every layer of img is on s, unpacking (with the diff_id check)
 * only those missing.  *rootfs gets the top layer's finished tree: the
 * read-only dataset's mount point on zfs, the read-only "done" snapshot on
 * btrfs.  stats may be NULL.
 */
int plx_layer_store_ensure(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img,
			   char **rootfs, struct plx_layer_stats *stats, struct plx_err *err);

struct plx_layer_gc_stats {
	size_t removed; /* layer volumes destroyed */
	size_t kept;    /* unneeded but kept: a container is a clone of it (zfs) or a create holds it */
};

/*
 * Destroy the layer volumes of s that no image in st needs.  A layer a
 * live container was cloned from (zfs: dependent clones), whose directory
 * a container's overlay uses (dir) or a create is using (its lock is held)
 * stays and is counted in kept.
 */
int plx_layer_store_gc(struct plx_storage *s, const struct plx_store *st, struct plx_layer_gc_stats *stats,
		       struct plx_err *err);

/* plx_layer_store_gc() on every zfs, btrfs and dir storage the runtime config names; none is fine. */
int plx_layer_store_gc_config(const struct plx_config *cfg, const struct plx_store *st,
			      struct plx_layer_gc_stats *stats, struct plx_err *err);

/*
 * Layer directories on the dir driver, for overlayfs:
 *
 *   <base>/layers/layer-<chain id hex>/diff    the layer's own changes, as an
 *                                              overlay upper layer holds them
 *                                              (whiteouts are 0/0 devices)
 *   <base>/layers/layer-<chain id hex>/lower   the names of the layers below,
 *                                              top first, one a line
 *
 * A layer is made in <base>/tmp/ (unpacked through a detached overlay whose
 * lowers are its parents and whose upper is the new diff, so the unpacker's
 * deletions become whiteouts) and renamed into place when whole: a layer
 * directory that exists is complete.  Same locks as above.  A container's
 * rootfs is an overlay of the chain with upper/ and work/ in its own volume
 * (core/rootfs.h); its volume's file PLX_LAYER_DIRS_USERS_FILE names the
 * layers it uses, so collection keeps them while the volume lives.
 */
#define PLX_LAYER_DIRS "layers"
#define PLX_LAYER_DIRS_USERS_FILE "layers"

/* Does this driver keep layer directories (dir)? */
bool plx_layer_dirs_supported(const struct plx_storage *s);

/*
 * Make sure every layer of img has its directory on s (dir), unpacking
 * only those missing.  *top gets the top layer's name ("layer-<hex>").
 */
int plx_layer_dirs_ensure(struct plx_storage *s, const struct plx_store *st, const struct plx_image *img,
			  char **top, struct plx_layer_stats *stats, struct plx_err *err);

/* The diff directories of layer top and the layers below it, top first (absolute). */
int plx_layer_dirs_chain(const char *base, const char *top, char ***dirs, struct plx_err *err);

/*
 * The image as one read-only tree: a detached overlay of dirs (top first),
 * or the directory itself for a single layer.  An O_PATH fd for
 * image/inroot.h; nothing is mounted anywhere.
 */
int plx_layer_dirs_open_merged(char *const *dirs, struct plx_err *err);
