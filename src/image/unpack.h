/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unpacking one image layer (a tar, plain or compressed with gzip or zstd)
 * onto a root filesystem, applying the OCI layer rules: whiteouts, opaque
 * directories, hardlinks, symlinks, device nodes and fifos, xattrs,
 * ownership, modes and times.  Layers are applied in order, bottom first,
 * onto the same root.
 *
 * Security: the layer is untrusted.  Every file is made relative to an
 * O_PATH descriptor of the root, resolved by the kernel with
 * RESOLVE_IN_ROOT (see image/inroot.h); names with ".." or a leading "/"
 * are refused.  Nothing can be written outside the root, whatever the
 * symlinks in the tree.  The reasoning is written next to the code in
 * unpack.c.  Must run as root (ownership and device nodes).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/manifest.h"
#include "util/error.h"

struct plx_unpack_opts {
	const char *name;       /* the layer as errors name it, e.g. its digest; NULL: "layer" */
	const char *media_type; /* a layer type (plx_layer_compression()); NULL: found by magic */
	const char *diff_id;    /* "sha256:..." the uncompressed tar must hash to; NULL: not checked */
};

struct plx_unpack_result {
	char diff_id[PLX_DIGEST_LEN]; /* "sha256:<hex>" of the uncompressed tar */
	uint64_t entries;         /* tar members applied (whiteouts included) */
	uint64_t tar_bytes;       /* size of the uncompressed tar */
};

/*
 * Unpack the layer read from fd onto the tree at rootfd (as from
 * plx_inroot_open_root()).  The content must match the media type's
 * compression (when one is given) and the diff_id (when one is given).
 * res may be NULL.  Errors name the layer and the member.
 */
int plx_layer_unpack_fd(int rootfd, int fd, const struct plx_unpack_opts *opts, struct plx_unpack_result *res,
			struct plx_err *err);

/* The same for a layer in memory. */
int plx_layer_unpack_mem(int rootfd, const void *buf, size_t len, const struct plx_unpack_opts *opts,
			 struct plx_unpack_result *res, struct plx_err *err);

/* The same for a layer file (a blob in the store). */
int plx_layer_unpack_path(int rootfd, const char *path, const struct plx_unpack_opts *opts,
			  struct plx_unpack_result *res, struct plx_err *err);
