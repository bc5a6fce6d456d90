/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store: an OCI image layout (oci-layout, index.json,
 * blobs/sha256/<hex>) that skopeo and umoci read as "oci:DIR:REF".
 *
 *   <root>/oci-layout, index.json      the layout; each manifests[] entry
 *                                      names one image by the annotation
 *                                      org.opencontainers.image.ref.name =
 *                                      the normalized reference
 *   <root>/blobs/sha256/<hex>          whole, verified blobs only
 *   <root>/ingest/<hex>.partial        blobs while they stream in
 *   <root>/.lock                       flock: shared while a pull, import or
 *                                      unpack runs, exclusive for rm/prune
 *   <root>/.index.lock                 flock: exclusive while index.json is
 *                                      rewritten (tmp + rename)
 *
 * Reference counts are not stored: they are derived each time from
 * index.json -> manifests (and indexes) -> config + layers, so a crash can
 * never leave a count wrong.  A blob no entry reaches is garbage.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "image/manifest.h"
#include "util/error.h"

#define PLX_STORE_DEFAULT_ROOT "/var/lib/proxmox-lxcri/images"
/* Largest manifest, index or config read into memory. */
#define PLX_STORE_MAX_META (8u << 20)

struct plx_store;

/*
 * Open (creating the layout when missing) the store at root and take the
 * shared store lock: blobs cannot be collected while it is open.
 */
int plx_store_open(const char *root, struct plx_store **out, struct plx_err *err);

/* The store path of the config's "images": {"store": PATH} (default PLX_STORE_DEFAULT_ROOT). */
int plx_store_root_from_config(const struct plx_config *cfg, char **out, struct plx_err *err);

/* plx_store_open() of the store the runtime config names. */
int plx_store_open_config(const struct plx_config *cfg, struct plx_store **out, struct plx_err *err);

void plx_store_close(struct plx_store *s);
const char *plx_store_root(const struct plx_store *s);

/* ---- blobs (store_blob.c) ---- */

/* <root>/blobs/sha256/<hex> (heap string, NULL on ENOMEM or an invalid digest). */
char *plx_store_blob_path(const struct plx_store *s, const char *digest);
bool plx_store_has_blob(const struct plx_store *s, const char *digest);
/* An O_RDONLY|O_CLOEXEC fd of a whole blob; *size may be NULL.  Missing: -ENOENT naming the digest. */
int plx_store_open_blob(const struct plx_store *s, const char *digest, int *fd, int64_t *size,
			struct plx_err *err);
/* Read a small blob (<= max bytes) and verify its digest; *buf is NUL-terminated. */
int plx_store_read_blob(const struct plx_store *s, const char *digest, size_t max, char **buf, size_t *len,
			struct plx_err *err);
/*
 * Store buf as a blob (through ingest/, fsynced).  expected: the digest it
 * must have, or NULL.  *digest_out (may be NULL) gets "sha256:<hex>".
 */
int plx_store_put_blob(struct plx_store *s, const void *buf, size_t len, const char *expected,
		       char **digest_out, struct plx_err *err);

/*
 * Streaming a blob in: ingest/<hex>.partial, hashed while written.  Open
 * re-hashes a partial left by an interrupted pull so that writing resumes
 * at plx_blob_writer_offset() (ask the server for Range: bytes=OFFSET-).
 * The partial is flocked while the writer is open: prune leaves it alone.
 * A second writer for the same digest gets -EBUSY.
 */
struct plx_blob_writer;
int plx_blob_writer_open(struct plx_store *s, const char *digest, int64_t size, struct plx_blob_writer **out,
			 struct plx_err *err);
int64_t plx_blob_writer_offset(const struct plx_blob_writer *w);
/* Throw away what the partial holds (the server ignored the Range). */
int plx_blob_writer_restart(struct plx_blob_writer *w, struct plx_err *err);
/* Append; more bytes than the expected size is an error naming the blob. */
int plx_blob_writer_write(struct plx_blob_writer *w, const void *buf, size_t len, struct plx_err *err);
/*
 * fsync, check size and digest, rename into blobs/, fsync the directory.
 * A wrong digest discards the partial and says
 * "blob sha256:A: digest mismatch: got sha256:B".
 */
int plx_blob_writer_commit(struct plx_blob_writer *w, struct plx_err *err);
/* Close; keep_partial false unlinks the partial (e.g. after a digest error). */
void plx_blob_writer_close(struct plx_blob_writer *w, bool keep_partial);

/* ---- index.json (store_index.c) ---- */

/* The layout's index.json (an empty index when there is none). */
int plx_store_index_read(const struct plx_store *s, struct plx_index **out, struct plx_err *err);
/*
 * Name the manifest (or index) desc describes ref_name (normalized),
 * replacing an entry of that name; index.json rewritten atomically under
 * .index.lock.  The blob must be in the store.
 */
int plx_store_tag(struct plx_store *s, const struct plx_descriptor *desc, const char *ref_name,
		  struct plx_err *err);
/* Drop the entry named ref_name; -ENOENT naming it when there is none. */
int plx_store_untag(struct plx_store *s, const char *ref_name, struct plx_err *err);
/*
 * Find an image by reference (short forms are normalized: "alpine" finds
 * docker.io/library/alpine:latest), by manifest digest, or by a unique
 * hex prefix of it (>= 6 digits).  *out is a copy.  None: -ENOENT
 * "image REF is not in the store".
 */
int plx_store_lookup(const struct plx_store *s, const char *ref, struct plx_descriptor *out,
		     struct plx_err *err);

/*
 * An image ready to unpack: its manifest (an index entry is resolved for
 * the host platform) and config, both verified against their digests.
 */
struct plx_image {
	char *name;                  /* the normalized reference (ref_name) */
	char *manifest_digest;
	struct plx_manifest *manifest;
	struct plx_image_config *config;
	char *config_json;           /* the config blob as stored (NUL-terminated) */
	size_t config_len;
};
int plx_store_image_open(const struct plx_store *s, const char *ref, struct plx_image **out,
			 struct plx_err *err);
void plx_image_free(struct plx_image *img);
static inline void plx_image_freep(struct plx_image **i)
{
	plx_image_free(*i);
	*i = NULL;
}
#define __do_image_free __attribute__((cleanup(plx_image_freep)))

/* ---- garbage collection (store_gc.c) ---- */

struct plx_store_gc_stats {
	size_t blobs_removed;
	uint64_t bytes_removed;
	size_t partials_removed;
};

/*
 * Remove every blob no index.json entry reaches and every partial no
 * writer holds, under the exclusive store lock (waits for pulls).
 */
int plx_store_prune(struct plx_store *s, struct plx_store_gc_stats *st, struct plx_err *err);
/* Untag ref, then remove the blobs nothing else references (partials are kept). */
int plx_store_remove(struct plx_store *s, const char *ref, struct plx_store_gc_stats *st, struct plx_err *err);

/* The digests index.json reaches (manifests, indexes, configs, layers), NULL-terminated, sorted. */
int plx_store_referenced(const struct plx_store *s, char ***out, struct plx_err *err);
