/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 with libcrypto's EVP interface (no hand-written hashing). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "image/digest.h"
#include "image/reference.h"

int plx_sha256_init(struct plx_sha256 *h, struct plx_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx)
		return plx_err_set(err, ENOMEM, "cannot allocate a sha256 context");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return plx_err_set(err, EIO, "libcrypto: cannot start sha256");
	}
	h->ctx = ctx;
	return 0;
}

void plx_sha256_update(struct plx_sha256 *h, const void *buf, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, buf, len);
}

void plx_sha256_final(struct plx_sha256 *h, char out[PLX_DIGEST_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *p = out;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	p += sprintf(p, PLX_DIGEST_PREFIX);
	for (unsigned int i = 0; i < n; i++)
		p += sprintf(p, "%02x", md[i]);
}

void plx_sha256_free(struct plx_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int plx_sha256_buf(const void *buf, size_t len, char out[PLX_DIGEST_LEN], struct plx_err *err)
{
	struct plx_sha256 h;
	int ret = plx_sha256_init(&h, err);

	if (ret < 0)
		return ret;
	plx_sha256_update(&h, buf, len);
	plx_sha256_final(&h, out);
	plx_sha256_free(&h);
	return 0;
}

bool plx_digest_valid(const char *digest)
{
	const char *hex;

	if (!digest || strncmp(digest, PLX_DIGEST_PREFIX, strlen(PLX_DIGEST_PREFIX)) != 0)
		return false;
	hex = plx_digest_hex(digest);
	if (strlen(hex) != 64)
		return false;
	for (const char *p = hex; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}
