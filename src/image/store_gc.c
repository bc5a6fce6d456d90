/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garbage collection.  Reference counts are derived, not stored: a blob is
 * alive when index.json reaches it through a manifest (config, layers) or
 * an index (its manifests, recursively).  Collection runs under the
 * exclusive store lock, so no pull is between "blob committed" and
 * "image tagged" while it looks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* Nesting deeper than this is a loop or an attack, not an image. */
#define GC_MAX_DEPTH 8

static int mark(const struct plx_store *s, const char *digest, int depth, char ***live, struct plx_err *err);

static int mark_manifest_or_index(const struct plx_store *s, const char *buf, size_t len, int depth,
				  char ***live, struct plx_err *err)
{
	enum plx_manifest_kind kind;
	struct plx_err ignore = PLX_ERR_INIT;
	int ret;

	/* a blob that is neither (a config, or a layer named by an odd entry) references nothing */
	if (plx_manifest_kind(buf, len, NULL, &kind, &ignore) < 0) {
		plx_err_clear(&ignore);
		return 0;
	}
	if (kind == PLX_KIND_INDEX) {
		__do_index_free struct plx_index *idx = NULL;

		if (plx_index_parse(buf, len, &idx, &ignore) < 0) {
			plx_err_clear(&ignore);
			return 0;
		}
		for (size_t i = 0; i < idx->n_manifests; i++) {
			ret = mark(s, idx->manifests[i].digest, depth + 1, live, err);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	__do_manifest_free struct plx_manifest *m = NULL;
	if (plx_manifest_parse(buf, len, &m, &ignore) < 0) {
		plx_err_clear(&ignore);
		return 0;
	}
	if (!plx_strv_contains(*live, m->config.digest) && plx_strv_append(live, m->config.digest) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n_layers; i++)
		if (!plx_strv_contains(*live, m->layers[i].digest) && plx_strv_append(live, m->layers[i].digest) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int mark(const struct plx_store *s, const char *digest, int depth, char ***live, struct plx_err *err)
{
	__do_free char *buf = NULL;
	struct plx_err ignore = PLX_ERR_INIT;
	size_t len = 0;

	if (plx_strv_contains(*live, digest))
		return 0;
	if (plx_strv_append(live, digest) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (depth > GC_MAX_DEPTH)
		return plx_err_set(err, ELOOP, "image store %s: indexes nest deeper than %d at %s", s->root,
				   GC_MAX_DEPTH, digest);
	/* a missing or corrupt manifest references nothing we could read */
	if (plx_store_read_blob(s, digest, PLX_STORE_MAX_META, &buf, &len, &ignore) < 0) {
		plx_err_clear(&ignore);
		return 0;
	}
	return mark_manifest_or_index(s, buf, len, depth, live, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int plx_store_referenced(const struct plx_store *s, char ***out, struct plx_err *err)
{
	__do_index_free struct plx_index *idx = NULL;
	__do_strv_free char **live = calloc(1, sizeof(char *));
	int ret;

	if (!live)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_store_index_read(s, &idx, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		ret = mark(s, idx->manifests[i].digest, 0, &live, err);
		if (ret < 0)
			return ret;
	}
	qsort(live, plx_strv_len(live), sizeof(char *), cmp_str);
	*out = steal_ptr(live);
	return 0;
}

static bool sorted_contains(char **v, const char *s)
{
	return bsearch(&s, v, plx_strv_len(v), sizeof(char *), cmp_str) != NULL;
}

static int sweep_blobs(struct plx_store *s, char **live, struct plx_store_gc_stats *st, struct plx_err *err)
{
	__do_closedir DIR *d = NULL;
	int fd = openat(s->blobsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return plx_err_sys(err, errno, "%s/" STORE_BLOBS, s->root);
	}
	while ((errno = 0, e = readdir(d))) {
		char digest[sizeof(PLX_DIGEST_PREFIX) + sizeof(e->d_name)];
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(digest, sizeof(digest), PLX_DIGEST_PREFIX "%s", e->d_name);
		if (plx_digest_valid(digest) && sorted_contains(live, digest))
			continue;
		if (fstatat(s->blobsfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		if (unlinkat(s->blobsfd, e->d_name, 0) < 0)
			return plx_err_sys(err, errno, "remove %s/" STORE_BLOBS "/%s", s->root, e->d_name);
		st->blobs_removed++;
		st->bytes_removed += (uint64_t)sb.st_size;
	}
	if (errno)
		return plx_err_sys(err, errno, "read %s/" STORE_BLOBS, s->root);
	return 0;
}

/* Partials nobody holds the flock of are left by killed pulls. */
static int sweep_partials(struct plx_store *s, struct plx_store_gc_stats *st, struct plx_err *err)
{
	__do_closedir DIR *d = NULL;
	int fd = openat(s->dirfd, STORE_INGEST, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return plx_err_sys(err, errno, "%s/" STORE_INGEST, s->root);
	}
	while ((errno = 0, e = readdir(d))) {
		__do_close int pfd = -1;
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		pfd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (pfd < 0)
			continue;
		if (flock(pfd, LOCK_EX | LOCK_NB) < 0)
			continue;
		if (fstat(pfd, &sb) < 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			return plx_err_sys(err, errno, "remove %s/" STORE_INGEST "/%s", s->root, e->d_name);
		st->partials_removed++;
		st->bytes_removed += (uint64_t)sb.st_size;
	}
	if (errno)
		return plx_err_sys(err, errno, "read %s/" STORE_INGEST, s->root);
	return 0;
}

static int collect(struct plx_store *s, bool partials, struct plx_store_gc_stats *st, struct plx_err *err)
{
	__do_strv_free char **live = NULL;
	int ret = plx_store_referenced(s, &live, err);

	if (ret < 0)
		return ret;
	ret = sweep_blobs(s, live, st, err);
	if (ret == 0 && partials)
		ret = sweep_partials(s, st, err);
	return ret;
}

int plx_store_prune(struct plx_store *s, struct plx_store_gc_stats *st, struct plx_err *err)
{
	_cleanup_(plx_err_clearp) struct plx_err ignore = PLX_ERR_INIT;
	struct plx_store_gc_stats local = {};
	int ret = store_lock_exclusive(s, err);

	if (ret < 0)
		return ret;
	ret = collect(s, true, st ? st : &local, err);
	/* back to shared: only fails if flock itself does, and the store stays usable */
	store_lock_shared(s, &ignore);
	return ret;
}

int plx_store_remove(struct plx_store *s, const char *ref, struct plx_store_gc_stats *st, struct plx_err *err)
{
	_cleanup_(plx_err_clearp) struct plx_err ignore = PLX_ERR_INIT;
	struct plx_store_gc_stats local = {};
	struct plx_descriptor d = {};
	int ret = store_lock_exclusive(s, err);

	if (ret < 0)
		return ret;
	ret = plx_store_lookup(s, ref, &d, err);
	if (ret == 0 && !d.ref_name)
		ret = plx_err_set(err, EINVAL, "image %s has no name in the store", ref);
	if (ret == 0)
		ret = plx_store_untag(s, d.ref_name, err);
	if (ret == 0)
		ret = collect(s, false, st ? st : &local, err);
	plx_descriptor_free(&d);
	store_lock_shared(s, &ignore);
	return ret;
}
