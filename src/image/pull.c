/* SPDX-License-Identifier: Apache-2.0 */
/* Pulling an image from a registry into the store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/pull.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/log.h"

DEFINE_CLEANUP_FUNC(registry_closep, struct plx_registry, plx_registry_close)

void plx_pull_result_free(struct plx_pull_result *r)
{
	free(r->name);
	free(r->manifest_digest);
	free(r->platform);
	*r = (struct plx_pull_result){};
}

static inline void descriptor_freep(struct plx_descriptor *d)
{
	plx_descriptor_free(d);
}

/*
 * The manifest to pull: the reference's own, or the platform's entry of
 * the index it names (verified against the index's descriptor).
 */
static int resolve_manifest(struct plx_registry *r, const struct plx_image_ref *ref, const struct plx_platform *want,
			    char **body, size_t *len, struct plx_descriptor *desc, struct plx_err *err)
{
	__do_free char *ct = NULL, *digest = NULL;
	const char *reference = ref->digest ? ref->digest : ref->tag;
	enum plx_manifest_kind kind;
	int ret;

	ret = plx_registry_get_manifest(r, reference, body, len, &ct, &digest, err);
	if (ret < 0)
		return ret;
	ret = plx_manifest_kind(*body, *len, ct, &kind, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s/%s:%s", ref->registry, ref->repository, reference);
	if (kind == PLX_KIND_INDEX) {
		__do_index_free struct plx_index *idx = NULL;
		__do_free char *ct2 = NULL, *digest2 = NULL;
		const struct plx_descriptor *pick;

		ret = plx_index_parse(*body, *len, &idx, err);
		if (ret == 0)
			ret = plx_index_select(idx, want, &pick, err);
		if (ret < 0)
			return plx_err_prefix(err, "%s/%s@%s", ref->registry, ref->repository, digest);
		free(steal_ptr(*body));
		/* asking by digest makes the registry's answer verifiable */
		ret = plx_registry_get_manifest(r, pick->digest, body, len, &ct2, &digest2, err);
		if (ret < 0)
			return ret;
		if (pick->size != (int64_t)*len)
			return plx_err_set(err, EIO, "manifest %s: %zu bytes, the index says %lld", pick->digest, *len,
					   (long long)pick->size);
		ret = plx_manifest_kind(*body, *len, ct2, &kind, err);
		if (ret < 0)
			return ret;
		if (kind != PLX_KIND_MANIFEST)
			return plx_err_set(err, EINVAL, "manifest %s: an index inside an index is not supported",
					   pick->digest);
		desc->media_type = strdup(pick->media_type ? pick->media_type : PLX_MT_OCI_MANIFEST);
		desc->has_platform = true;
		desc->platform.os = strdup(pick->platform.os);
		desc->platform.architecture = strdup(pick->platform.architecture);
		if (pick->platform.variant)
			desc->platform.variant = strdup(pick->platform.variant);
		free(digest);
		digest = strdup(pick->digest);
	}
	desc->digest = steal_ptr(digest);
	desc->size = (int64_t)*len;
	if (!desc->media_type) {
		__do_manifest_free struct plx_manifest *m = NULL;

		ret = plx_manifest_parse(*body, *len, &m, err);
		if (ret < 0)
			return plx_err_prefix(err, "manifest %s", desc->digest);
		desc->media_type = strdup(m->media_type);
	}
	if (!desc->digest || !desc->media_type)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* An image whose config says another platform than asked for is refused (a lone manifest has no index). */
static int check_platform(const struct plx_image_config *c, const struct plx_platform *want, bool explicit_,
			  struct plx_err *err)
{
	if (!c->architecture || !c->os)
		return 0;
	if (strcmp(c->os, want->os) == 0 && strcmp(c->architecture, want->architecture) == 0)
		return 0;
	if (!explicit_) {
		log_warn("image is for %s/%s, not for this host's %s/%s", c->os, c->architecture, want->os,
			 want->architecture);
		return 0;
	}
	return plx_err_set(err, ENOENT, "the image is for %s/%s, not for the requested %s/%s", c->os, c->architecture,
			   want->os, want->architecture);
}

int plx_image_pull(const struct plx_config *cfg, struct plx_store *s, const struct plx_pull_opts *o,
		   struct plx_pull_result *out, struct plx_err *err)
{
	__do_ref_free struct plx_image_ref ref = {};
	_cleanup_(registry_closep) struct plx_registry *r = NULL;
	_cleanup_(descriptor_freep) struct plx_descriptor desc = {};
	__do_platform_free struct plx_platform host = {};
	__do_manifest_free struct plx_manifest *m = NULL;
	__do_image_config_free struct plx_image_config *config = NULL;
	__do_free char *body = NULL, *name = NULL, *cfgbuf = NULL;
	const struct plx_platform *want = o->platform;
	struct plx_descriptor *blobs;
	size_t len = 0, cfglen = 0;
	int ret;

	ret = plx_image_ref_parse(o->ref, &ref, err);
	if (ret < 0)
		return ret;
	name = plx_image_ref_string(&ref);
	if (!name)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!want) {
		ret = plx_platform_host(&host, err);
		if (ret < 0)
			return ret;
		want = &host;
	}
	ret = plx_registry_open(cfg, ref.registry, ref.repository, &r, err);
	if (ret < 0)
		return plx_err_prefix(err, "pull %s", name);
	ret = resolve_manifest(r, &ref, want, &body, &len, &desc, err);
	if (ret < 0)
		return plx_err_prefix(err, "pull %s", name);
	ret = plx_manifest_parse(body, len, &m, err);
	if (ret < 0)
		return plx_err_prefix(err, "pull %s: manifest %s", name, desc.digest);

	/* config first in the same batch: small, and checked before the name is written */
	blobs = calloc(m->n_layers + 1, sizeof(*blobs));
	if (!blobs)
		return plx_err_set(err, ENOMEM, "out of memory");
	blobs[0] = m->config;
	memcpy(blobs + 1, m->layers, m->n_layers * sizeof(*blobs));
	ret = plx_registry_fetch_blobs(r, s, blobs, m->n_layers + 1, o->parallel ? o->parallel : PLX_REGISTRY_PARALLEL_MAX,
				       o->progress, o->progress_ctx, err);
	free(blobs); /* shallow copies: the strings belong to m */
	if (ret < 0)
		return plx_err_prefix(err, "pull %s", name);

	ret = plx_store_read_blob(s, m->config.digest, PLX_STORE_MAX_META, &cfgbuf, &cfglen, err);
	if (ret == 0)
		ret = plx_image_config_parse(cfgbuf, cfglen, &config, err);
	if (ret == 0)
		ret = check_platform(config, want, o->platform != NULL, err);
	if (ret < 0)
		return plx_err_prefix(err, "pull %s: config %s", name, m->config.digest);
	if (!desc.has_platform && config->os && config->architecture) {
		desc.has_platform = true;
		desc.platform.os = strdup(config->os);
		desc.platform.architecture = strdup(config->architecture);
		if (config->variant)
			desc.platform.variant = strdup(config->variant);
	}

	ret = plx_store_put_blob(s, body, len, desc.digest, NULL, err);
	if (ret == 0)
		ret = plx_store_tag(s, &desc, name, err);
	if (ret < 0)
		return plx_err_prefix(err, "pull %s", name);

	out->name = steal_ptr(name);
	out->manifest_digest = strdup(desc.digest);
	out->platform = desc.has_platform ? plx_platform_string(&desc.platform) : strdup("unknown");
	out->n_layers = m->n_layers;
	out->bytes = (uint64_t)m->config.size;
	for (size_t i = 0; i < m->n_layers; i++)
		out->bytes += (uint64_t)m->layers[i].size;
	if (!out->manifest_digest || !out->platform) {
		plx_pull_result_free(out);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}
