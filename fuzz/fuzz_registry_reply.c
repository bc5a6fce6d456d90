/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what a registry's auth side sends: a WWW-Authenticate
 * header (the first half of the input, up to a NUL) and a token server's
 * JSON reply (the rest).  Also image references, which come from users and
 * from index.json annotations.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/auth.h"
#include "image/reference.h"

/* the log is quiet (fuzz_quiet_log.c) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t hlen = nul ? (size_t)(nul - data) : size;
	char *header = strndup((const char *)data, hlen);
	struct plx_err err = PLX_ERR_INIT;
	struct plx_auth_challenge c = {};
	struct plx_image_ref r = {};
	char *token = NULL;

	if (!header)
		return 0;
	if (plx_auth_challenge_parse(header, &c, &err) == 0)
		plx_auth_challenge_free(&c);
	plx_err_clear(&err);
	if (plx_image_ref_parse(header, &r, &err) == 0) {
		free(plx_image_ref_string(&r));
		plx_image_ref_free(&r);
	}
	plx_err_clear(&err);
	if (nul && plx_auth_token_parse((const char *)nul + 1, size - hlen - 1, &token, &err) == 0)
		free(token);
	plx_err_clear(&err);
	free(header);
	return 0;
}
