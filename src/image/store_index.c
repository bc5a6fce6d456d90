/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layout's index.json: which manifest each image name points at.
 * Rewritten whole (tmp + fsync + rename) under .index.lock, so readers see
 * either the old or the new file.  Entries written by other tools (skopeo,
 * umoci) are kept as they are.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

static inline void json_decrefp_(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define __do_json_decref __attribute__((cleanup(json_decrefp_)))

int store_index_lock(const struct plx_store *s, struct plx_err *err)
{
	__do_close int fd = openat(s->dirfd, STORE_INDEX_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return plx_err_sys(err, errno, "%s/%s", s->root, STORE_INDEX_LOCK);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return plx_err_sys(err, errno, "lock %s/%s", s->root, STORE_INDEX_LOCK);
	return steal_fd(fd);
}

int store_index_load(const struct plx_store *s, json_t **out, struct plx_err *err)
{
	__do_free char *buf = NULL;
	json_error_t jerr;
	json_t *doc, *m;
	size_t len = 0;
	int ret = plx_read_file_at(s->dirfd, STORE_INDEX, &buf, &len, err);

	if (ret == -ENOENT) {
		plx_err_clear(err);
		doc = json_pack("{s:i, s:[]}", "schemaVersion", 2, "manifests");
		if (!doc)
			return plx_err_set(err, ENOMEM, "out of memory");
		*out = doc;
		return 0;
	}
	if (ret < 0)
		return ret;
	doc = json_loadb(buf, len, 0, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "%s/%s:%d:%d: %s", s->root, STORE_INDEX, jerr.line, jerr.column,
				   jerr.text);
	m = json_object_get(doc, "manifests");
	if (!json_is_object(doc) || (m && !json_is_array(m))) {
		json_decref(doc);
		return plx_err_set(err, EINVAL, "%s/%s: manifests: expected array", s->root, STORE_INDEX);
	}
	if (!m && json_object_set_new(doc, "manifests", json_array()) < 0) {
		json_decref(doc);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	*out = doc;
	return 0;
}

int store_index_write(const struct plx_store *s, json_t *doc, struct plx_err *err)
{
	__do_free char *buf = json_dumps(doc, JSON_COMPACT);
	int ret;

	if (!buf)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_write_file_atomic_at(s->dirfd, STORE_INDEX, buf, strlen(buf), 0644, err);
	if (ret < 0)
		return plx_err_prefix(err, "image store %s", s->root);
	return 0;
}

int plx_store_index_read(const struct plx_store *s, struct plx_index **out, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_free char *buf = NULL;
	int ret = store_index_load(s, &doc, err);

	if (ret < 0)
		return ret;
	buf = json_dumps(doc, JSON_COMPACT);
	if (!buf)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_index_parse(buf, strlen(buf), out, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s/%s", s->root, STORE_INDEX);
	return 0;
}

static const char *entry_ref_name(json_t *e)
{
	json_t *a = json_object_get(e, "annotations");

	return json_string_value(json_object_get(a, PLX_ANNOT_REF_NAME));
}

/* Drop every entry named ref_name; returns how many went. */
static size_t index_drop(json_t *manifests, const char *ref_name)
{
	size_t removed = 0;

	for (size_t i = 0; i < json_array_size(manifests);) {
		const char *n = entry_ref_name(json_array_get(manifests, i));

		if (n && strcmp(n, ref_name) == 0) {
			json_array_remove(manifests, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

static json_t *descriptor_json(const struct plx_descriptor *d, const char *ref_name)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", d->media_type ? d->media_type : PLX_MT_OCI_MANIFEST,
			      "digest", d->digest, "size", (json_int_t)d->size, "annotations", PLX_ANNOT_REF_NAME,
			      ref_name);

	if (j && d->has_platform) {
		json_t *p = json_pack("{s:s, s:s}", "os", d->platform.os, "architecture", d->platform.architecture);

		if (p && d->platform.variant)
			json_object_set_new(p, "variant", json_string(d->platform.variant));
		if (!p || json_object_set_new(j, "platform", p) < 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

int plx_store_tag(struct plx_store *s, const struct plx_descriptor *desc, const char *ref_name,
		  struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_close int lk = -1;
	json_t *manifests, *entry;
	int ret;

	if (!plx_store_has_blob(s, desc->digest))
		return plx_err_set(err, ENOENT, "cannot name %s: manifest %s is not in the store", ref_name,
				   desc->digest);
	lk = store_index_lock(s, err);
	if (lk < 0)
		return lk;
	ret = store_index_load(s, &doc, err);
	if (ret < 0)
		return ret;
	manifests = json_object_get(doc, "manifests");
	index_drop(manifests, ref_name);
	entry = descriptor_json(desc, ref_name);
	if (!entry || json_array_append_new(manifests, entry) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return store_index_write(s, doc, err);
}

int plx_store_untag(struct plx_store *s, const char *ref_name, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_close int lk = store_index_lock(s, err);
	int ret;

	if (lk < 0)
		return lk;
	ret = store_index_load(s, &doc, err);
	if (ret < 0)
		return ret;
	if (index_drop(json_object_get(doc, "manifests"), ref_name) == 0)
		return plx_err_set(err, ENOENT, "image %s is not in the store", ref_name);
	return store_index_write(s, doc, err);
}

static int descriptor_copy(const struct plx_descriptor *src, struct plx_descriptor *dst, struct plx_err *err)
{
	struct plx_descriptor d = { .size = src->size, .has_platform = src->has_platform };

	d.media_type = src->media_type ? strdup(src->media_type) : NULL;
	d.digest = strdup(src->digest);
	d.ref_name = src->ref_name ? strdup(src->ref_name) : NULL;
	d.platform.os = src->platform.os ? strdup(src->platform.os) : NULL;
	d.platform.architecture = src->platform.architecture ? strdup(src->platform.architecture) : NULL;
	d.platform.variant = src->platform.variant ? strdup(src->platform.variant) : NULL;
	if (!d.digest || (src->media_type && !d.media_type) || (src->ref_name && !d.ref_name) ||
	    (src->platform.os && !d.platform.os) || (src->platform.architecture && !d.platform.architecture) ||
	    (src->platform.variant && !d.platform.variant)) {
		plx_descriptor_free(&d);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	*dst = d;
	return 0;
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

/* The entry ref names: by name, or by the digest a digest-only reference asks for. */
static const struct plx_descriptor *match_ref(const struct plx_index *idx, const char *ref)
{
	__do_ref_free struct plx_image_ref r = {};
	__do_free char *norm = NULL, *name = NULL;
	struct plx_err ignore = PLX_ERR_INIT;
	int ret = plx_image_ref_parse(ref, &r, &ignore);

	plx_err_clear(&ignore);
	if (ret < 0)
		return NULL;
	norm = plx_image_ref_string(&r);
	name = plx_image_ref_name(&r);
	if (!norm || !name)
		return NULL;
	for (size_t i = 0; i < idx->n_manifests; i++)
		if (idx->manifests[i].ref_name && strcmp(idx->manifests[i].ref_name, norm) == 0)
			return &idx->manifests[i];
	if (!r.digest)
		return NULL;
	/* repo@digest finds repo:tag when that tag points at the digest */
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct plx_descriptor *d = &idx->manifests[i];
		size_t n = strlen(name);

		if (d->ref_name && strcmp(d->digest, r.digest) == 0 && strncmp(d->ref_name, name, n) == 0 &&
		    (d->ref_name[n] == ':' || d->ref_name[n] == '@'))
			return d;
	}
	return NULL;
}

/* "sha256:<hex>", or a unique prefix of >= 6 hex digits of it. */
static int match_digest(const struct plx_index *idx, const char *ref, const struct plx_descriptor **out,
			struct plx_err *err)
{
	const char *hex = strncmp(ref, PLX_DIGEST_PREFIX, strlen(PLX_DIGEST_PREFIX)) == 0
				  ? ref + strlen(PLX_DIGEST_PREFIX)
				  : ref;
	const struct plx_descriptor *found = NULL;
	size_t n = strlen(hex);

	*out = NULL;
	if (n < 6 || n > 64 || !is_hex(hex))
		return 0;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct plx_descriptor *d = &idx->manifests[i];

		if (strncmp(plx_digest_hex(d->digest), hex, n) != 0)
			continue;
		if (found && strcmp(found->digest, d->digest) != 0)
			return plx_err_set(err, EINVAL, "image ID %s is ambiguous: it starts %s and %s", ref,
					   found->digest, d->digest);
		found = d;
	}
	*out = found;
	return 0;
}

int plx_store_lookup(const struct plx_store *s, const char *ref, struct plx_descriptor *out,
		     struct plx_err *err)
{
	__do_index_free struct plx_index *idx = NULL;
	const struct plx_descriptor *d;
	int ret = plx_store_index_read(s, &idx, err);

	if (ret < 0)
		return ret;
	d = match_ref(idx, ref);
	if (!d) {
		ret = match_digest(idx, ref, &d, err);
		if (ret < 0)
			return ret;
	}
	if (!d)
		return plx_err_set(err, ENOENT, "image %s is not in the store %s", ref, s->root);
	return descriptor_copy(d, out, err);
}

void plx_image_free(struct plx_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->manifest_digest);
	plx_manifest_free(img->manifest);
	plx_image_config_free(img->config);
	free(img->config_json);
	free(img);
}

static inline void descriptor_freep(struct plx_descriptor *d)
{
	plx_descriptor_free(d);
}

int plx_store_image_open(const struct plx_store *s, const char *ref, struct plx_image **out,
			 struct plx_err *err)
{
	_cleanup_(descriptor_freep) struct plx_descriptor d = {};
	__do_image_free struct plx_image *img = NULL;
	__do_free char *buf = NULL;
	const char *digest;
	size_t len = 0;
	int ret = plx_store_lookup(s, ref, &d, err);

	if (ret < 0)
		return ret;
	img = calloc(1, sizeof(*img));
	if (!img)
		return plx_err_set(err, ENOMEM, "out of memory");
	img->name = strdup(d.ref_name ? d.ref_name : d.digest);
	if (!img->name)
		return plx_err_set(err, ENOMEM, "out of memory");
	digest = d.digest;
	ret = plx_store_read_blob(s, digest, PLX_STORE_MAX_META, &buf, &len, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", ref);

	/* an entry that names an index (from an import): take the host's manifest */
	if (d.media_type && (strcmp(d.media_type, PLX_MT_OCI_INDEX) == 0 || strcmp(d.media_type, PLX_MT_DOCKER_LIST) == 0)) {
		__do_index_free struct plx_index *idx = NULL;
		__do_platform_free struct plx_platform host = {};
		const struct plx_descriptor *m;

		ret = plx_index_parse(buf, len, &idx, err);
		if (ret == 0)
			ret = plx_platform_host(&host, err);
		if (ret == 0)
			ret = plx_index_select(idx, &host, &m, err);
		if (ret < 0)
			return plx_err_prefix(err, "image %s", ref);
		img->manifest_digest = strdup(m->digest);
		if (!img->manifest_digest)
			return plx_err_set(err, ENOMEM, "out of memory");
		free(steal_ptr(buf));
		ret = plx_store_read_blob(s, img->manifest_digest, PLX_STORE_MAX_META, &buf, &len, err);
		if (ret < 0)
			return plx_err_prefix(err, "image %s", ref);
	} else {
		img->manifest_digest = strdup(digest);
		if (!img->manifest_digest)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	ret = plx_manifest_parse(buf, len, &img->manifest, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s: manifest %s", ref, img->manifest_digest);
	ret = plx_store_read_blob(s, img->manifest->config.digest, PLX_STORE_MAX_META, &img->config_json,
				  &img->config_len, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s: config", ref);
	ret = plx_image_config_parse(img->config_json, img->config_len, &img->config, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s: config %s", ref, img->manifest->config.digest);
	*out = steal_ptr(img);
	return 0;
}
