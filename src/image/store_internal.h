/* SPDX-License-Identifier: Apache-2.0 */
/* What the store's files share; not for users of the store (they use store.h). */
#pragma once

#include "image/store.h"

#define STORE_BLOBS "blobs/sha256"
#define STORE_INGEST "ingest"
#define STORE_INDEX "index.json"
#define STORE_LOCK ".lock"
#define STORE_INDEX_LOCK ".index.lock"

struct plx_store {
	char *root;
	int dirfd;   /* the root, O_PATH-free O_DIRECTORY */
	int blobsfd; /* blobs/sha256 */
	int lockfd;  /* .lock, held shared while open */
};

/* Take the store lock exclusively (waits for pulls and unpacks); back to shared with store_lock_shared(). */
int store_lock_exclusive(struct plx_store *s, struct plx_err *err);
int store_lock_shared(struct plx_store *s, struct plx_err *err);

/* The index.json document (a fresh empty one when missing). */
int store_index_load(const struct plx_store *s, json_t **out, struct plx_err *err);
/* Remove the entry named ref_name (caller holds .index.lock); returns 1 when one was removed. */
int store_index_write(const struct plx_store *s, json_t *doc, struct plx_err *err);
/* Take .index.lock; returns the fd to close, or a negative code. */
int store_index_lock(const struct plx_store *s, struct plx_err *err);
