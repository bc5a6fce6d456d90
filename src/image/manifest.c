/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsing of OCI / Docker schema-2 manifests, indexes and image configs.
 * Only what the store and unpack act on is extracted; unknown fields are
 * ignored as the specs require.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/manifest.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"

static inline void json_decrefp_(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define __do_json_decref __attribute__((cleanup(json_decrefp_)))

static int load_object(const char *what, const char *buf, size_t len, json_t **out, struct plx_err *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!doc)
		return plx_err_set(err, EINVAL, "%s: invalid JSON at line %d column %d: %s", what, jerr.line,
				   jerr.column, jerr.text);
	if (!json_is_object(doc)) {
		int ret = plx_err_set(err, EINVAL, "%s: expected object, got %s", what, plx_json_type_name(doc));

		json_decref(doc);
		return ret;
	}
	*out = doc;
	return 0;
}

/* An optional string member; wrong type is an error naming the path. */
static int get_str(const char *what, const char *path, json_t *obj, const char *key, bool required,
		   char **out, struct plx_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return plx_err_set(err, EINVAL, "%s: %s%s: missing", what, path, key);
		return 0;
	}
	if (!json_is_string(v))
		return plx_err_set(err, EINVAL, "%s: %s%s: expected string, got %s", what, path, key,
				   plx_json_type_name(v));
	*out = strdup(json_string_value(v));
	if (!*out)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

void plx_platform_free(struct plx_platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	*p = (struct plx_platform){};
}

void plx_descriptor_free(struct plx_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->ref_name);
	plx_platform_free(&d->platform);
	*d = (struct plx_descriptor){};
}

static int parse_descriptor(const char *what, const char *path, json_t *v, struct plx_descriptor *d,
			    struct plx_err *err)
{
	json_t *size, *plat, *ann;
	int ret;

	if (!json_is_object(v))
		return plx_err_set(err, EINVAL, "%s: %s: expected object, got %s", what, path,
				   plx_json_type_name(v));
	__do_free char *p = NULL;
	if (asprintf(&p, "%s.", path) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = get_str(what, p, v, "mediaType", false, &d->media_type, err);
	if (ret < 0)
		return ret;
	ret = get_str(what, p, v, "digest", true, &d->digest, err);
	if (ret < 0)
		return ret;
	if (!plx_digest_valid(d->digest))
		return plx_err_set(err, EINVAL, "%s: %sdigest: unsupported digest \"%s\" (expected sha256:<64 hex>)",
				   what, p, d->digest);
	size = json_object_get(v, "size");
	if (!size)
		return plx_err_set(err, EINVAL, "%s: %ssize: missing", what, p);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return plx_err_set(err, EINVAL, "%s: %ssize: expected a non-negative integer", what, p);
	d->size = json_integer_value(size);

	plat = json_object_get(v, "platform");
	if (plat && !json_is_null(plat)) {
		__do_free char *pp = NULL;

		if (!json_is_object(plat))
			return plx_err_set(err, EINVAL, "%s: %splatform: expected object, got %s", what, p,
					   plx_json_type_name(plat));
		if (asprintf(&pp, "%splatform.", p) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		ret = get_str(what, pp, plat, "os", true, &d->platform.os, err);
		if (ret == 0)
			ret = get_str(what, pp, plat, "architecture", true, &d->platform.architecture, err);
		if (ret == 0)
			ret = get_str(what, pp, plat, "variant", false, &d->platform.variant, err);
		if (ret < 0)
			return ret;
		d->has_platform = true;
	}
	ann = json_object_get(v, "annotations");
	if (ann && json_is_object(ann)) {
		json_t *name = json_object_get(ann, PLX_ANNOT_REF_NAME);

		if (json_is_string(name)) {
			d->ref_name = strdup(json_string_value(name));
			if (!d->ref_name)
				return plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

static int parse_descriptors(const char *what, json_t *doc, const char *key, bool required,
			     struct plx_descriptor **out, size_t *n, struct plx_err *err)
{
	json_t *arr = json_object_get(doc, key), *v;
	struct plx_descriptor *ds;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr)) {
		if (required)
			return plx_err_set(err, EINVAL, "%s: %s: missing", what, key);
		return 0;
	}
	if (!json_is_array(arr))
		return plx_err_set(err, EINVAL, "%s: %s: expected array, got %s", what, key, plx_json_type_name(arr));
	ds = calloc(json_array_size(arr) + 1, sizeof(*ds));
	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	*out = ds;
	json_array_foreach(arr, i, v) {
		char path[64];
		int ret;

		snprintf(path, sizeof(path), "%s[%zu]", key, i);
		ret = parse_descriptor(what, path, v, &ds[i], err);
		*n = i + 1;
		if (ret < 0)
			return ret;
	}
	return 0;
}

static const char *json_media_type(json_t *doc)
{
	json_t *mt = json_object_get(doc, "mediaType");

	return json_is_string(mt) ? json_string_value(mt) : NULL;
}

int plx_manifest_kind(const char *buf, size_t len, const char *content_type, enum plx_manifest_kind *out,
		      struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	const char *mt;
	json_t *sv;
	int ret = load_object("manifest", buf, len, &doc, err);

	if (ret < 0)
		return ret;
	sv = json_object_get(doc, "schemaVersion");
	if (json_is_integer(sv) && json_integer_value(sv) == 1)
		return plx_err_set(err, ENOTSUP,
				   "manifest: Docker schema 1 manifests are deprecated and not supported; "
				   "push the image again with a current client");
	mt = json_media_type(doc);
	if (!mt && content_type && *content_type)
		mt = content_type;
	if (mt) {
		if (strncmp(mt, PLX_MT_OCI_INDEX, strlen(PLX_MT_OCI_INDEX)) == 0 ||
		    strncmp(mt, PLX_MT_DOCKER_LIST, strlen(PLX_MT_DOCKER_LIST)) == 0) {
			*out = PLX_KIND_INDEX;
			return 0;
		}
		if (strncmp(mt, PLX_MT_OCI_MANIFEST, strlen(PLX_MT_OCI_MANIFEST)) == 0 ||
		    strncmp(mt, PLX_MT_DOCKER_MANIFEST, strlen(PLX_MT_DOCKER_MANIFEST)) == 0) {
			*out = PLX_KIND_MANIFEST;
			return 0;
		}
		if (strstr(mt, "prettyjws") || strstr(mt, "manifest.v1"))
			return plx_err_set(err, ENOTSUP,
					   "manifest: media type %s (Docker schema 1) is not supported", mt);
	}
	if (json_object_get(doc, "manifests")) {
		*out = PLX_KIND_INDEX;
		return 0;
	}
	if (json_object_get(doc, "layers") || json_object_get(doc, "config")) {
		*out = PLX_KIND_MANIFEST;
		return 0;
	}
	return plx_err_set(err, EINVAL, "manifest: unknown media type %s and neither manifests nor layers",
			   mt ? mt : "(none)");
}

static int check_schema2(const char *what, json_t *doc, struct plx_err *err)
{
	json_t *sv = json_object_get(doc, "schemaVersion");

	if (!sv)
		return plx_err_set(err, EINVAL, "%s: schemaVersion: missing", what);
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return plx_err_set(err, ENOTSUP, "%s: schemaVersion: expected 2", what);
	return 0;
}

void plx_manifest_free(struct plx_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	plx_descriptor_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		plx_descriptor_free(&m->layers[i]);
	free(m->layers);
	free(m);
}

int plx_manifest_parse(const char *buf, size_t len, struct plx_manifest **out, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_manifest_free struct plx_manifest *m = NULL;
	const char *mt;
	int ret = load_object("manifest", buf, len, &doc, err);

	if (ret < 0)
		return ret;
	ret = check_schema2("manifest", doc, err);
	if (ret < 0)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return plx_err_set(err, ENOMEM, "out of memory");
	mt = json_media_type(doc);
	if (json_object_get(doc, "manifests"))
		return plx_err_set(err, EINVAL, "manifest: has \"manifests\": this is an index, not a manifest");
	if (mt && strcmp(mt, PLX_MT_OCI_MANIFEST) != 0 && strcmp(mt, PLX_MT_DOCKER_MANIFEST) != 0)
		return plx_err_set(err, EINVAL, "manifest: mediaType: unexpected %s", mt);
	m->media_type = strdup(mt ? mt : PLX_MT_OCI_MANIFEST);
	if (!m->media_type)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!json_object_get(doc, "config"))
		return plx_err_set(err, EINVAL, "manifest: config: missing");
	ret = parse_descriptor("manifest", "config", json_object_get(doc, "config"), &m->config, err);
	if (ret < 0)
		return ret;
	ret = parse_descriptors("manifest", doc, "layers", true, &m->layers, &m->n_layers, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < m->n_layers; i++)
		if (!m->layers[i].media_type)
			return plx_err_set(err, EINVAL, "manifest: layers[%zu].mediaType: missing", i);
	*out = steal_ptr(m);
	return 0;
}

void plx_index_free(struct plx_index *idx)
{
	if (!idx)
		return;
	free(idx->media_type);
	for (size_t i = 0; i < idx->n_manifests; i++)
		plx_descriptor_free(&idx->manifests[i]);
	free(idx->manifests);
	free(idx);
}

int plx_index_parse(const char *buf, size_t len, struct plx_index **out, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_index_free struct plx_index *idx = NULL;
	const char *mt;
	int ret = load_object("index", buf, len, &doc, err);

	if (ret < 0)
		return ret;
	ret = check_schema2("index", doc, err);
	if (ret < 0)
		return ret;
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return plx_err_set(err, ENOMEM, "out of memory");
	mt = json_media_type(doc);
	if (mt && strcmp(mt, PLX_MT_OCI_INDEX) != 0 && strcmp(mt, PLX_MT_DOCKER_LIST) != 0)
		return plx_err_set(err, EINVAL, "index: mediaType: unexpected %s", mt);
	idx->media_type = strdup(mt ? mt : PLX_MT_OCI_INDEX);
	if (!idx->media_type)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = parse_descriptors("index", doc, "manifests", true, &idx->manifests, &idx->n_manifests, err);
	if (ret < 0)
		return ret;
	*out = steal_ptr(idx);
	return 0;
}

void plx_image_config_free(struct plx_image_config *c)
{
	if (!c)
		return;
	free(c->os);
	free(c->architecture);
	free(c->variant);
	plx_strv_free(c->diff_ids);
	json_decref(c->doc);
	free(c);
}

int plx_image_config_parse(const char *buf, size_t len, struct plx_image_config **out, struct plx_err *err)
{
	__do_image_config_free struct plx_image_config *c = NULL;
	json_t *rootfs, *ids, *v;
	size_t i;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = load_object("image config", buf, len, &c->doc, err);
	if (ret < 0)
		return ret;
	ret = get_str("image config", "", c->doc, "os", false, &c->os, err);
	if (ret == 0)
		ret = get_str("image config", "", c->doc, "architecture", false, &c->architecture, err);
	if (ret == 0)
		ret = get_str("image config", "", c->doc, "variant", false, &c->variant, err);
	if (ret < 0)
		return ret;
	rootfs = json_object_get(c->doc, "rootfs");
	if (rootfs && !json_is_object(rootfs))
		return plx_err_set(err, EINVAL, "image config: rootfs: expected object, got %s",
				   plx_json_type_name(rootfs));
	ids = rootfs ? json_object_get(rootfs, "diff_ids") : NULL;
	if (ids && !json_is_array(ids))
		return plx_err_set(err, EINVAL, "image config: rootfs.diff_ids: expected array, got %s",
				   plx_json_type_name(ids));
	c->diff_ids = calloc((ids ? json_array_size(ids) : 0) + 1, sizeof(char *));
	if (!c->diff_ids)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v) || !plx_digest_valid(json_string_value(v)))
			return plx_err_set(err, EINVAL, "image config: rootfs.diff_ids[%zu]: expected sha256 digest", i);
		c->diff_ids[i] = strdup(json_string_value(v));
		if (!c->diff_ids[i])
			return plx_err_set(err, ENOMEM, "out of memory");
		c->n_diff_ids = i + 1;
	}
	*out = steal_ptr(c);
	return 0;
}

int plx_layer_compression(const char *media_type, enum plx_layer_compression *out, struct plx_err *err)
{
	static const struct {
		const char *mt;
		enum plx_layer_compression c;
	} table[] = {
		{ PLX_MT_OCI_LAYER, PLX_LAYER_TAR },
		{ PLX_MT_OCI_LAYER_GZIP, PLX_LAYER_GZIP },
		{ PLX_MT_OCI_LAYER_ZSTD, PLX_LAYER_ZSTD },
		{ PLX_MT_OCI_LAYER_ND, PLX_LAYER_TAR },
		{ PLX_MT_OCI_LAYER_ND_GZIP, PLX_LAYER_GZIP },
		{ PLX_MT_OCI_LAYER_ND_ZSTD, PLX_LAYER_ZSTD },
		{ PLX_MT_DOCKER_LAYER_GZIP, PLX_LAYER_GZIP },
		{ PLX_MT_DOCKER_LAYER_FOREIGN_GZIP, PLX_LAYER_GZIP },
	};

	for (size_t i = 0; media_type && i < ARRAY_SIZE(table); i++)
		if (strcmp(media_type, table[i].mt) == 0) {
			*out = table[i].c;
			return 0;
		}
	return plx_err_set(err, EINVAL, "layer media type %s is not a tar, tar+gzip or tar+zstd layer",
			   media_type ? media_type : "(none)");
}

char *plx_platform_string(const struct plx_platform *p)
{
	char *s;

	if (asprintf(&s, "%s/%s%s%s", p->os ? p->os : "?", p->architecture ? p->architecture : "?",
		     p->variant ? "/" : "", p->variant ? p->variant : "") < 0)
		return NULL;
	return s;
}

int plx_platform_parse(const char *s, struct plx_platform *out, struct plx_err *err)
{
	__do_free char *copy = strdup(s);
	char *parts[4] = {}, *rest;
	struct plx_platform p = {};
	size_t n = 0;

	if (!copy)
		return plx_err_set(err, ENOMEM, "out of memory");
	rest = copy;
	while (rest && n < ARRAY_SIZE(parts))
		parts[n++] = strsep(&rest, "/");
	if (rest || n < 2 || n > 3)
		return plx_err_set(err, EINVAL, "platform \"%s\": expected os/arch[/variant], e.g. linux/arm64", s);
	for (size_t i = 0; i < n; i++)
		if (!*parts[i] || strpbrk(parts[i], " \t"))
			return plx_err_set(err, EINVAL, "platform \"%s\": expected os/arch[/variant], e.g. linux/arm64",
					   s);
	p.os = strdup(parts[0]);
	p.architecture = strdup(parts[1]);
	p.variant = n == 3 ? strdup(parts[2]) : NULL;
	if (!p.os || !p.architecture || (n == 3 && !p.variant)) {
		plx_platform_free(&p);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	*out = p;
	return 0;
}

int plx_platform_host(struct plx_platform *out, struct plx_err *err)
{
	/* uname machine -> GOARCH (+ variant), the names registries use */
	static const struct {
		const char *machine, *arch, *variant;
	} table[] = {
		{ "x86_64", "amd64", NULL },   { "aarch64", "arm64", "v8" }, { "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },     { "i686", "386", NULL },      { "i386", "386", NULL },
		{ "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },  { "riscv64", "riscv64", NULL },
	};
	struct utsname u;

	if (uname(&u) < 0)
		return plx_err_sys(err, errno, "uname");
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (strcmp(u.machine, table[i].machine) != 0)
			continue;
		out->os = strdup("linux");
		out->architecture = strdup(table[i].arch);
		out->variant = table[i].variant ? strdup(table[i].variant) : NULL;
		if (!out->os || !out->architecture || (table[i].variant && !out->variant)) {
			plx_platform_free(out);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
		return 0;
	}
	return plx_err_set(err, ENOTSUP, "host machine %s has no known OCI architecture name; use --platform",
			   u.machine);
}

static const char *variant_of(const struct plx_platform *p)
{
	if (p->variant)
		return p->variant;
	/* arm64 images without a variant are v8 */
	return p->architecture && strcmp(p->architecture, "arm64") == 0 ? "v8" : NULL;
}

int plx_index_select(const struct plx_index *idx, const struct plx_platform *want,
		     const struct plx_descriptor **out, struct plx_err *err)
{
	__do_free char *offered = NULL, *w = NULL;
	size_t len = 0;
	FILE *f;

	for (int strict = 1; strict >= 0; strict--) {
		for (size_t i = 0; i < idx->n_manifests; i++) {
			const struct plx_descriptor *d = &idx->manifests[i];
			const char *wv = variant_of(want), *dv = variant_of(&d->platform);

			if (!d->has_platform || strcmp(d->platform.os, want->os) != 0 ||
			    strcmp(d->platform.architecture, want->architecture) != 0)
				continue;
			/* a variant the user asked for must match; the host's own is a preference */
			if (strict && wv && (!dv || strcmp(wv, dv) != 0))
				continue;
			if (!strict && want->variant && strcmp(want->architecture, "arm64") != 0)
				continue;
			*out = d;
			return 0;
		}
	}
	f = open_memstream(&offered, &len);
	if (!f)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < idx->n_manifests; i++) {
		__do_free char *s = idx->manifests[i].has_platform ? plx_platform_string(&idx->manifests[i].platform)
								   : strdup("(no platform)");
		fprintf(f, "%s%s", i ? ", " : "", s ? s : "?");
	}
	fclose(f);
	w = plx_platform_string(want);
	return plx_err_set(err, ENOENT, "no image for platform %s in the index (it offers: %s)", w ? w : "?",
			   offered && *offered ? offered : "nothing");
}
