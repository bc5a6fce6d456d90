/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references as docker and skopeo read them:
 *   alpine                      -> docker.io/library/alpine:latest
 *   user/app:1.2                -> docker.io/user/app:1.2
 *   host:5000/a/b@sha256:<hex>  -> host:5000/a/b@sha256:<hex>
 *   host/a:tag@sha256:<hex>     -> both kept; the digest is what is fetched
 * The first path component is a registry when it has a '.' or ':' or is
 * "localhost"; otherwise the reference is on Docker Hub.
 */
#pragma once

#include <stdbool.h>

#include "util/error.h"

#define PLX_REF_DEFAULT_REGISTRY "docker.io"
#define PLX_REF_DEFAULT_TAG "latest"

struct plx_image_ref {
	char *registry;   /* "docker.io", "127.0.0.1:5000", "localhost" */
	char *repository; /* "library/alpine", "a/b" */
	char *tag;        /* "latest"; NULL when only a digest was given */
	char *digest;     /* "sha256:<64 hex>", or NULL */
};

/*
 * Parse and normalize s.  Errors name the reference, e.g.
 * "image reference \"Foo\": repository names must be lowercase".
 */
int plx_image_ref_parse(const char *s, struct plx_image_ref *out, struct plx_err *err);

/* The normalized form: registry/repository[:tag][@digest] (heap string, NULL on ENOMEM). */
char *plx_image_ref_string(const struct plx_image_ref *r);

/* registry/repository without tag or digest (heap string, NULL on ENOMEM). */
char *plx_image_ref_name(const struct plx_image_ref *r);

/* Parse s and return its normalized string in *out (the key the store indexes by). */
int plx_image_ref_normalize(const char *s, char **out, struct plx_err *err);

void plx_image_ref_free(struct plx_image_ref *r);

static inline void plx_image_ref_freep(struct plx_image_ref *r)
{
	plx_image_ref_free(r);
}
#define __do_ref_free __attribute__((cleanup(plx_image_ref_freep)))

/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool plx_digest_valid(const char *digest);
