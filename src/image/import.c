/* SPDX-License-Identifier: Apache-2.0 */
/* Importing OCI layouts and docker archives into the store. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/import.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"

#define IMPORT_MAX_DEPTH 4

static inline void json_decrefp_(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define __do_json_decref __attribute__((cleanup(json_decrefp_)))

void plx_import_result_free(struct plx_import_result *r)
{
	plx_strv_free(r->names);
	plx_strv_free(r->digests);
	*r = (struct plx_import_result){};
}

/* sha256 of a file in the source, for blobs that are named by path (docker archives). */
static int hash_file(int dirfd, const char *rel, char digest[PLX_DIGEST_LEN], int64_t *size, struct plx_err *err)
{
	__do_close int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct plx_sha256 h;
	char buf[1 << 16];
	ssize_t n;
	int ret;

	if (fd < 0)
		return plx_err_sys(err, errno, "%s", rel);
	ret = plx_sha256_init(&h, err);
	if (ret < 0)
		return ret;
	*size = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		plx_sha256_update(&h, buf, (size_t)n);
		*size += n;
	}
	plx_sha256_final(&h, digest);
	plx_sha256_free(&h);
	if (n < 0)
		return plx_err_sys(err, errno, "read %s", rel);
	return 0;
}

/* Copy the file rel into the store as blob digest, verifying it. */
static int copy_blob(struct plx_store *s, int dirfd, const char *rel, const char *digest, struct plx_err *err)
{
	__do_close int fd = -1;
	struct plx_blob_writer *w = NULL;
	char buf[1 << 16];
	ssize_t n;
	int ret;

	if (plx_store_has_blob(s, digest))
		return 0;
	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return plx_err_sys(err, errno, "blob %s (%s)", digest, rel);
	ret = plx_blob_writer_open(s, digest, -1, &w, err);
	if (ret < 0)
		return ret;
	ret = plx_blob_writer_restart(w, err);
	while (ret == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0)
			ret = plx_err_sys(err, errno, "read %s", rel);
		else
			ret = plx_blob_writer_write(w, buf, (size_t)n, err);
	}
	if (ret == 0)
		ret = plx_blob_writer_commit(w, err);
	plx_blob_writer_close(w, false);
	return ret;
}

static char *blob_rel(const char *digest)
{
	char *p;

	if (asprintf(&p, "blobs/sha256/%s", plx_digest_hex(digest)) < 0)
		return NULL;
	return p;
}

/* Copy desc's blob and everything it references (an OCI layout's DAG). */
static int copy_tree(struct plx_store *s, int dirfd, const char *digest, int depth, struct plx_err *err)
{
	__do_free char *rel = blob_rel(digest), *buf = NULL;
	enum plx_manifest_kind kind;
	struct plx_err ignore = PLX_ERR_INIT;
	size_t len = 0;
	int ret;

	if (!rel)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (depth > IMPORT_MAX_DEPTH)
		return plx_err_set(err, ELOOP, "indexes nest deeper than %d at %s", IMPORT_MAX_DEPTH, digest);
	ret = copy_blob(s, dirfd, rel, digest, err);
	if (ret < 0)
		return ret;
	ret = plx_store_read_blob(s, digest, PLX_STORE_MAX_META, &buf, &len, err);
	if (ret < 0)
		return ret;
	if (plx_manifest_kind(buf, len, NULL, &kind, &ignore) < 0) {
		plx_err_clear(&ignore);
		return plx_err_set(err, EINVAL, "blob %s is named by the index but is no manifest", digest);
	}
	if (kind == PLX_KIND_INDEX) {
		__do_index_free struct plx_index *idx = NULL;

		ret = plx_index_parse(buf, len, &idx, err);
		for (size_t i = 0; ret == 0 && i < idx->n_manifests; i++) {
			/* an index may list platforms the layout does not carry (skopeo copies one) */
			__do_free char *crel = blob_rel(idx->manifests[i].digest);

			if (crel && faccessat(dirfd, crel, F_OK, 0) != 0)
				continue;
			ret = copy_tree(s, dirfd, idx->manifests[i].digest, depth + 1, err);
		}
		return ret;
	}
	__do_manifest_free struct plx_manifest *m = NULL;
	ret = plx_manifest_parse(buf, len, &m, err);
	if (ret < 0)
		return plx_err_prefix(err, "manifest %s", digest);
	__do_free char *crel = blob_rel(m->config.digest);
	ret = crel ? copy_blob(s, dirfd, crel, m->config.digest, err) : plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; ret == 0 && i < m->n_layers; i++) {
		__do_free char *lrel = blob_rel(m->layers[i].digest);

		ret = lrel ? copy_blob(s, dirfd, lrel, m->layers[i].digest, err)
			   : plx_err_set(err, ENOMEM, "out of memory");
	}
	return ret;
}

/* The name an OCI entry gets: --name, its full ref.name, or --name's repository + its bare tag. */
static int entry_name(const char *ann, const char *name, size_t n_entries, char **out, struct plx_err *err)
{
	if (name && n_entries == 1)
		return plx_image_ref_normalize(name, out, err);
	if (ann && (strchr(ann, '/') || (!name && strchr(ann, ':'))))
		return plx_image_ref_normalize(ann, out, err);
	if (ann && name) {
		__do_ref_free struct plx_image_ref r = {};
		__do_free char *base = NULL, *full = NULL;
		int ret = plx_image_ref_parse(name, &r, err);

		if (ret < 0)
			return ret;
		base = plx_image_ref_name(&r);
		if (!base || asprintf(&full, "%s:%s", base, ann) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		return plx_image_ref_normalize(full, out, err);
	}
	if (ann)
		return plx_image_ref_normalize(ann, out, err);
	return plx_err_set(err, EINVAL, "the image has no name: give one with --name");
}

static int add_result(struct plx_import_result *res, const char *name, const char *digest, struct plx_err *err)
{
	if (plx_strv_append(&res->names, name) < 0 || plx_strv_append(&res->digests, digest) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int import_oci_dir(struct plx_store *s, int dirfd, const char *what, const char *name,
			  struct plx_import_result *res, struct plx_err *err)
{
	__do_index_free struct plx_index *idx = NULL;
	__do_free char *buf = NULL;
	size_t len = 0;
	int ret = plx_read_file_at(dirfd, "index.json", &buf, &len, err);

	if (ret < 0)
		return plx_err_prefix(err, "%s", what);
	ret = plx_index_parse(buf, len, &idx, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s/index.json", what);
	if (idx->n_manifests == 0)
		return plx_err_set(err, ENOENT, "%s: index.json names no image", what);
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct plx_descriptor *d = &idx->manifests[i];
		__do_free char *n = NULL;

		ret = entry_name(d->ref_name, name, idx->n_manifests, &n, err);
		if (ret < 0)
			return plx_err_prefix(err, "%s: manifests[%zu]", what, i);
		ret = copy_tree(s, dirfd, d->digest, 0, err);
		if (ret < 0)
			return plx_err_prefix(err, "%s", what);
		ret = plx_store_tag(s, d, n, err);
		if (ret == 0)
			ret = add_result(res, n, d->digest, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* A docker-archive: manifest.json [{"Config": FILE, "RepoTags": [...], "Layers": [FILE...]}]. */
static int import_docker_archive(struct plx_store *s, int dirfd, const char *what, const char *name,
				 struct plx_import_result *res, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_free char *buf = NULL;
	json_error_t jerr;
	json_t *img;
	size_t len = 0, i;
	int ret = plx_read_file_at(dirfd, "manifest.json", &buf, &len, err);

	if (ret < 0)
		return plx_err_prefix(err, "%s", what);
	doc = json_loadb(buf, len, 0, &jerr);
	if (!json_is_array(doc) || json_array_size(doc) == 0)
		return plx_err_set(err, EINVAL, "%s: manifest.json: expected a non-empty array", what);
	json_array_foreach(doc, i, img) {
		__do_json_decref json_t *m = NULL;
		__do_free char *mbuf = NULL, *n = NULL;
		char cdigest[PLX_DIGEST_LEN], mdigest[PLX_DIGEST_LEN];
		const char *cfgfile = json_string_value(json_object_get(img, "Config"));
		json_t *tags = json_object_get(img, "RepoTags"), *layers = json_object_get(img, "Layers"), *l;
		struct plx_descriptor desc = {};
		int64_t size;
		size_t j;

		if (!cfgfile || !json_is_array(layers))
			return plx_err_set(err, EINVAL, "%s: manifest.json[%zu]: needs Config and Layers", what, i);
		if (name && json_array_size(doc) == 1)
			ret = plx_image_ref_normalize(name, &n, err);
		else if (json_is_string(json_array_get(tags, 0)))
			ret = plx_image_ref_normalize(json_string_value(json_array_get(tags, 0)), &n, err);
		else
			ret = plx_err_set(err, EINVAL, "%s: manifest.json[%zu] has no RepoTags: give --name", what, i);
		if (ret < 0)
			return ret;
		ret = hash_file(dirfd, cfgfile, cdigest, &size, err);
		if (ret == 0)
			ret = copy_blob(s, dirfd, cfgfile, cdigest, err);
		if (ret < 0)
			return plx_err_prefix(err, "%s", what);
		m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
			      PLX_MT_OCI_MANIFEST, "config", "mediaType", PLX_MT_OCI_CONFIG, "digest", cdigest, "size",
			      (json_int_t)size, "layers");
		if (!m)
			return plx_err_set(err, ENOMEM, "out of memory");
		json_array_foreach(layers, j, l) {
			char ldigest[PLX_DIGEST_LEN];
			int64_t lsize;

			if (!json_is_string(l))
				return plx_err_set(err, EINVAL, "%s: manifest.json[%zu].Layers[%zu]: expected string",
						   what, i, j);
			ret = hash_file(dirfd, json_string_value(l), ldigest, &lsize, err);
			if (ret == 0)
				ret = copy_blob(s, dirfd, json_string_value(l), ldigest, err);
			if (ret < 0)
				return plx_err_prefix(err, "%s", what);
			/* docker save writes layers as plain tar; libarchive-based unpack sniffs either way */
			json_array_append_new(json_object_get(m, "layers"),
					      json_pack("{s:s, s:s, s:I}", "mediaType", PLX_MT_OCI_LAYER, "digest",
							ldigest, "size", (json_int_t)lsize));
		}
		mbuf = json_dumps(m, JSON_COMPACT);
		if (!mbuf)
			return plx_err_set(err, ENOMEM, "out of memory");
		ret = plx_sha256_buf(mbuf, strlen(mbuf), mdigest, err);
		if (ret == 0)
			ret = plx_store_put_blob(s, mbuf, strlen(mbuf), mdigest, NULL, err);
		if (ret < 0)
			return ret;
		desc.media_type = (char *)PLX_MT_OCI_MANIFEST;
		desc.digest = mdigest;
		desc.size = (int64_t)strlen(mbuf);
		ret = plx_store_tag(s, &desc, n, err);
		if (ret == 0)
			ret = add_result(res, n, mdigest, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int import_dir(struct plx_store *s, int dirfd, const char *what, const char *name,
		      struct plx_import_result *res, struct plx_err *err)
{
	if (faccessat(dirfd, "index.json", F_OK, 0) == 0 && faccessat(dirfd, "oci-layout", F_OK, 0) == 0)
		return import_oci_dir(s, dirfd, what, name, res, err);
	if (faccessat(dirfd, "manifest.json", F_OK, 0) == 0)
		return import_docker_archive(s, dirfd, what, name, res, err);
	return plx_err_set(err, EINVAL, "%s is neither an OCI image layout (oci-layout, index.json) nor a docker archive "
			   "(manifest.json)", what);
}

/* Unpack the tar's regular files and directories under dirfd; nothing else, nothing outside. */
static int extract_tar(const char *path, int dirfd, struct plx_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int ret = 0, r;

	if (!a)
		return plx_err_set(err, ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		ret = plx_err_set(err, EINVAL, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return ret;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);

		while (name && strncmp(name, "./", 2) == 0)
			name += 2;
		if (!name || !*name || strcmp(name, ".") == 0)
			continue;
		if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 || strstr(name, "/../") ||
		    (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0)) {
			ret = plx_err_set(err, EINVAL, "%s: member %s leaves the archive", path, name);
			break;
		}
		if (type == AE_IFDIR) {
			__do_free char *full = NULL;

			if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
				/* parents first: tars list them, but not always */
				if (asprintf(&full, "/proc/self/fd/%d/%s", dirfd, name) < 0 || plx_mkdir_p(full, 0755, err) < 0) {
					ret = err->code ? -err->code : plx_err_set(err, ENOMEM, "out of memory");
					break;
				}
			}
			continue;
		}
		if (type != AE_IFREG)
			continue; /* layouts and archives hold only files (docker's symlinked layers are dups) */
		{
			__do_free char *dir = strdup(name);
			char *slash = dir ? strrchr(dir, '/') : NULL;
			__do_close int fd = -1;

			if (slash) {
				__do_free char *full = NULL;

				*slash = '\0';
				if (asprintf(&full, "/proc/self/fd/%d/%s", dirfd, dir) < 0 || plx_mkdir_p(full, 0755, err) < 0) {
					ret = err->code ? -err->code : plx_err_set(err, ENOMEM, "out of memory");
					break;
				}
			}
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (fd < 0) {
				ret = plx_err_sys(err, errno, "%s: extract %s", path, name);
				break;
			}
			if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK) {
				ret = plx_err_set(err, EIO, "%s: %s: %s", path, name, archive_error_string(a));
				break;
			}
		}
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = plx_err_set(err, EINVAL, "%s: %s", path, archive_error_string(a));
	archive_read_free(a);
	return ret;
}

int plx_image_import(struct plx_store *s, const char *path, const char *name, struct plx_import_result *out,
		     struct plx_err *err)
{
	struct plx_import_result res = {};
	struct stat st;
	int ret;

	if (stat(path, &st) < 0)
		return plx_err_sys(err, errno, "import %s", path);
	if (S_ISDIR(st.st_mode)) {
		__do_close int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dirfd < 0)
			return plx_err_sys(err, errno, "import %s", path);
		ret = import_dir(s, dirfd, path, name, &res, err);
	} else {
		/* unpacked beside the store's ingest area: same file system, cleaned up after */
		__do_free char *tmp = NULL;
		__do_close int dirfd = -1;

		if (asprintf(&tmp, "%s/ingest/import-XXXXXX", plx_store_root(s)) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (!mkdtemp(tmp))
			return plx_err_sys(err, errno, "mkdtemp %s", tmp);
		dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			ret = plx_err_sys(err, errno, "%s", tmp);
		else
			ret = extract_tar(path, dirfd, err);
		if (ret == 0)
			ret = import_dir(s, dirfd, path, name, &res, err);
		{
			struct plx_err ignore = PLX_ERR_INIT;

			plx_rm_rf_at(AT_FDCWD, tmp, &ignore);
			plx_err_clear(&ignore);
		}
	}
	if (ret < 0) {
		plx_import_result_free(&res);
		return ret;
	}
	*out = res;
	return 0;
}
