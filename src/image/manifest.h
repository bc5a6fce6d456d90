/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI and Docker schema-2 manifests, indexes (manifest lists) and the
 * parts of the image config the store needs.  Parsing only: no I/O.
 * Errors name the JSON path ("manifest: layers[2].digest: expected string").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/error.h"

#define PLX_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define PLX_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define PLX_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define PLX_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define PLX_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define PLX_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define PLX_MT_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define PLX_MT_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define PLX_MT_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define PLX_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define PLX_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define PLX_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define PLX_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define PLX_MT_DOCKER_LAYER_FOREIGN_GZIP "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* The Accept header a registry client sends for a manifest. */
#define PLX_MANIFEST_ACCEPT \
	PLX_MT_OCI_INDEX ", " PLX_MT_OCI_MANIFEST ", " PLX_MT_DOCKER_LIST ", " PLX_MT_DOCKER_MANIFEST

/* Annotation that names an image in an OCI layout's index.json. */
#define PLX_ANNOT_REF_NAME "org.opencontainers.image.ref.name"

struct plx_platform {
	char *os;           /* "linux" */
	char *architecture; /* GOARCH: "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64" */
	char *variant;      /* "v8", "v7"; NULL when none */
};

struct plx_descriptor {
	char *media_type;
	char *digest; /* "sha256:<hex>", validated */
	int64_t size; /* >= 0 */
	bool has_platform;
	struct plx_platform platform; /* index entries only */
	char *ref_name;               /* annotation PLX_ANNOT_REF_NAME, or NULL */
};

enum plx_manifest_kind {
	PLX_KIND_MANIFEST, /* an image manifest (OCI or Docker schema 2) */
	PLX_KIND_INDEX,    /* an OCI index or Docker manifest list */
};

struct plx_manifest {
	char *media_type; /* the manifest's own media type (PLX_MT_OCI_MANIFEST when the field is absent) */
	struct plx_descriptor config;
	struct plx_descriptor *layers;
	size_t n_layers;
};

struct plx_index {
	char *media_type;
	struct plx_descriptor *manifests;
	size_t n_manifests;
};

/* The parts of an image config the store and unpack use; doc keeps the rest. */
struct plx_image_config {
	char *os;
	char *architecture;
	char *variant;    /* NULL when none */
	char **diff_ids;  /* rootfs.diff_ids, NULL-terminated ("sha256:<hex>" of each uncompressed layer) */
	size_t n_diff_ids;
	json_t *doc;      /* the whole config document (owned) */
};

enum plx_layer_compression {
	PLX_LAYER_TAR,
	PLX_LAYER_GZIP,
	PLX_LAYER_ZSTD,
};

/*
 * Which of manifest or index buf holds: the mediaType field, else the
 * HTTP Content-Type (content_type may be NULL), else "manifests" vs
 * "layers".  Schema 1 manifests are refused with a message saying so.
 */
int plx_manifest_kind(const char *buf, size_t len, const char *content_type, enum plx_manifest_kind *out,
		      struct plx_err *err);

void plx_descriptor_free(struct plx_descriptor *d);

int plx_manifest_parse(const char *buf, size_t len, struct plx_manifest **out, struct plx_err *err);
void plx_manifest_free(struct plx_manifest *m);

int plx_index_parse(const char *buf, size_t len, struct plx_index **out, struct plx_err *err);
void plx_index_free(struct plx_index *idx);

int plx_image_config_parse(const char *buf, size_t len, struct plx_image_config **out, struct plx_err *err);
void plx_image_config_free(struct plx_image_config *c);

/* The compression a layer media type implies; unknown types: -EINVAL naming it. */
int plx_layer_compression(const char *media_type, enum plx_layer_compression *out, struct plx_err *err);

/* "os/arch[/variant]" (e.g. "linux/arm64/v8"); errors name the string. */
int plx_platform_parse(const char *s, struct plx_platform *out, struct plx_err *err);
/* The platform this binary runs on, in GOARCH names (arm64 -> variant "v8"). */
int plx_platform_host(struct plx_platform *out, struct plx_err *err);
/* "os/arch[/variant]" (heap string, NULL on ENOMEM). */
char *plx_platform_string(const struct plx_platform *p);
void plx_platform_free(struct plx_platform *p);

/*
 * The index entry for want: same os and architecture; a variant in want
 * must match (arm64's missing variant counts as "v8"); without one the
 * first entry of that os/arch wins.  None: -ENOENT naming want and what
 * the index offers.
 */
int plx_index_select(const struct plx_index *idx, const struct plx_platform *want,
		     const struct plx_descriptor **out, struct plx_err *err);

static inline void plx_manifest_freep(struct plx_manifest **m)
{
	plx_manifest_free(*m);
	*m = NULL;
}
static inline void plx_index_freep(struct plx_index **i)
{
	plx_index_free(*i);
	*i = NULL;
}
static inline void plx_platform_freep(struct plx_platform *p)
{
	plx_platform_free(p);
}
static inline void plx_image_config_freep(struct plx_image_config **c)
{
	plx_image_config_free(*c);
	*c = NULL;
}
#define __do_manifest_free __attribute__((cleanup(plx_manifest_freep)))
#define __do_index_free __attribute__((cleanup(plx_index_freep)))
#define __do_image_config_free __attribute__((cleanup(plx_image_config_freep)))
#define __do_platform_free __attribute__((cleanup(plx_platform_freep)))
