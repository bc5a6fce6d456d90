/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 digests in the OCI form "sha256:<64 lowercase hex>", computed with libcrypto's EVP. */
#pragma once

#include <stddef.h>

#include "util/error.h"

#define PLX_DIGEST_PREFIX "sha256:"
/* "sha256:" + 64 hex + NUL */
#define PLX_DIGEST_LEN 72

struct plx_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

int plx_sha256_init(struct plx_sha256 *h, struct plx_err *err);
void plx_sha256_update(struct plx_sha256 *h, const void *buf, size_t len);
/* Writes "sha256:<hex>" into out; the context stays usable only after another init. */
void plx_sha256_final(struct plx_sha256 *h, char out[PLX_DIGEST_LEN]);
void plx_sha256_free(struct plx_sha256 *h);
/* The digest of buf in one call. */
int plx_sha256_buf(const void *buf, size_t len, char out[PLX_DIGEST_LEN], struct plx_err *err);

/* The hex part of a valid digest (plx_digest_valid()). */
static inline const char *plx_digest_hex(const char *digest)
{
	return digest + sizeof(PLX_DIGEST_PREFIX) - 1;
}
