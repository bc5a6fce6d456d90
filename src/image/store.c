/* SPDX-License-Identifier: Apache-2.0 */
/* Opening the image store: its layout, its location in the config and its lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"schemaVersion\":2,\"manifests\":[]}"

int plx_store_root_from_config(const struct plx_config *cfg, char **out, struct plx_err *err)
{
	const json_t *images = cfg ? cfg->images : NULL;
	json_t *v;

	*out = NULL;
	/* other keys of "images" belong to unpack and bundles */
	v = images ? json_object_get(images, "store") : NULL;
	if (v) {
		if (!json_is_string(v) || !*json_string_value(v))
			return plx_err_set(err, EINVAL, "%s: images.store: expected a non-empty string, got %s",
					   cfg->path ? cfg->path : "config", plx_json_type_name(v));
		if (json_string_value(v)[0] != '/')
			return plx_err_set(err, EINVAL, "%s: images.store: \"%s\" is not an absolute path",
					   cfg->path ? cfg->path : "config", json_string_value(v));
		*out = strdup(json_string_value(v));
	}
	if (!*out)
		*out = strdup(PLX_STORE_DEFAULT_ROOT);
	if (!*out)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int ensure_file(int dirfd, const char *name, const char *content, struct plx_err *err)
{
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return plx_err_sys(err, errno, "%s", name);
	return plx_write_file_atomic_at(dirfd, name, content, strlen(content), 0644, err);
}

static int store_setup(struct plx_store *s, struct plx_err *err)
{
	__do_free char *blobs = plx_path_join(s->root, STORE_BLOBS);
	__do_free char *ingest = plx_path_join(s->root, STORE_INGEST);
	int ret;

	if (!blobs || !ingest)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_mkdir_p(blobs, 0755, err);
	if (ret == 0)
		ret = plx_mkdir_p(ingest, 0700, err);
	if (ret < 0)
		return ret;
	s->dirfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return plx_err_sys(err, errno, "image store %s", s->root);
	s->blobsfd = openat(s->dirfd, STORE_BLOBS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->blobsfd < 0)
		return plx_err_sys(err, errno, "image store %s/%s", s->root, STORE_BLOBS);
	s->lockfd = openat(s->dirfd, STORE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		return plx_err_sys(err, errno, "image store %s/%s", s->root, STORE_LOCK);
	ret = store_lock_shared(s, err);
	if (ret < 0)
		return ret;
	ret = ensure_file(s->dirfd, "oci-layout", OCI_LAYOUT, err);
	if (ret < 0)
		return plx_err_prefix(err, "image store %s", s->root);
	if (faccessat(s->dirfd, STORE_INDEX, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
		__do_close int lk = store_index_lock(s, err);

		if (lk < 0)
			return lk;
		ret = ensure_file(s->dirfd, STORE_INDEX, EMPTY_INDEX, err);
		if (ret < 0)
			return plx_err_prefix(err, "image store %s", s->root);
	}
	return 0;
}

int plx_store_open(const char *root, struct plx_store **out, struct plx_err *err)
{
	struct plx_store *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return plx_err_set(err, ENOMEM, "out of memory");
	s->dirfd = s->blobsfd = s->lockfd = -1;
	s->root = plx_path_abs(root);
	if (!s->root) {
		free(s);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	ret = store_setup(s, err);
	if (ret < 0) {
		plx_store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int plx_store_open_config(const struct plx_config *cfg, struct plx_store **out, struct plx_err *err)
{
	__do_free char *root = NULL;
	int ret = plx_store_root_from_config(cfg, &root, err);

	if (ret < 0)
		return ret;
	return plx_store_open(root, out, err);
}

void plx_store_close(struct plx_store *s)
{
	if (!s)
		return;
	plx_closep(&s->lockfd);
	plx_closep(&s->blobsfd);
	plx_closep(&s->dirfd);
	free(s->root);
	free(s);
}

const char *plx_store_root(const struct plx_store *s)
{
	return s->root;
}

static int lock_as(struct plx_store *s, int op, struct plx_err *err)
{
	while (flock(s->lockfd, op) < 0)
		if (errno != EINTR)
			return plx_err_sys(err, errno, "lock image store %s", s->root);
	return 0;
}

int store_lock_exclusive(struct plx_store *s, struct plx_err *err)
{
	return lock_as(s, LOCK_EX, err);
}

int store_lock_shared(struct plx_store *s, struct plx_err *err)
{
	return lock_as(s, LOCK_SH, err);
}
