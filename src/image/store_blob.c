/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blobs: whole, verified files under blobs/sha256.  Everything arrives
 * through ingest/<hex>.partial, is hashed while written, fsynced, checked
 * and only then renamed in, so a blob file is never half-written.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "image/store_internal.h"
#include "util/cleanup.h"

struct plx_blob_writer {
	struct plx_store *s;
	char digest[PLX_DIGEST_LEN];
	char partial[128]; /* ingest/<hex>.partial, relative to the root */
	int fd;
	int64_t size; /* expected, -1 when unknown */
	int64_t offset;
	bool committed; /* renamed into blobs/: the partial name is free again */
	struct plx_sha256 hash;
};

/* on error paths: close, keeping the partial for a later resume */
static inline void writer_keepp(struct plx_blob_writer **w)
{
	plx_blob_writer_close(*w, true);
	*w = NULL;
}


char *plx_store_blob_path(const struct plx_store *s, const char *digest)
{
	char *p;

	if (!plx_digest_valid(digest))
		return NULL;
	if (asprintf(&p, "%s/" STORE_BLOBS "/%s", s->root, plx_digest_hex(digest)) < 0)
		return NULL;
	return p;
}

bool plx_store_has_blob(const struct plx_store *s, const char *digest)
{
	return plx_digest_valid(digest) && faccessat(s->blobsfd, plx_digest_hex(digest), F_OK, 0) == 0;
}

int plx_store_open_blob(const struct plx_store *s, const char *digest, int *fd, int64_t *size,
			struct plx_err *err)
{
	struct stat st;
	int f;

	if (!plx_digest_valid(digest))
		return plx_err_set(err, EINVAL, "invalid blob digest \"%s\"", digest);
	f = openat(s->blobsfd, plx_digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0) {
		if (errno == ENOENT)
			return plx_err_set(err, ENOENT, "blob %s is not in the image store %s", digest, s->root);
		return plx_err_sys(err, errno, "blob %s in %s", digest, s->root);
	}
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return plx_err_set(err, EINVAL, "blob %s in %s is not a regular file", digest, s->root);
	}
	if (size)
		*size = st.st_size;
	*fd = f;
	return 0;
}

int plx_store_read_blob(const struct plx_store *s, const char *digest, size_t max, char **buf, size_t *len,
			struct plx_err *err)
{
	__do_close int fd = -1;
	__do_free char *data = NULL;
	char got[PLX_DIGEST_LEN];
	int64_t size;
	size_t done = 0;
	int ret = plx_store_open_blob(s, digest, &fd, &size, err);

	if (ret < 0)
		return ret;
	if ((uint64_t)size > max)
		return plx_err_set(err, EFBIG, "blob %s is %" PRId64 " bytes, more than the %zu allowed", digest, size,
				   max);
	data = malloc((size_t)size + 1);
	if (!data)
		return plx_err_set(err, ENOMEM, "out of memory");
	while (done < (size_t)size) {
		ssize_t n = read(fd, data + done, (size_t)size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return plx_err_sys(err, errno, "read blob %s", digest);
		if (n == 0)
			break;
		done += (size_t)n;
	}
	data[done] = '\0';
	ret = plx_sha256_buf(data, done, got, err);
	if (ret < 0)
		return ret;
	if (strcmp(got, digest) != 0)
		return plx_err_set(err, EIO, "blob %s in the image store %s is corrupt: its content has digest %s",
				   digest, s->root, got);
	*buf = steal_ptr(data);
	if (len)
		*len = done;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Feed what an interrupted pull left in the partial to the hash, so writing can resume after it. */
static int writer_rehash(struct plx_blob_writer *w, struct plx_err *err)
{
	char buf[1 << 16];
	ssize_t n;

	if (lseek(w->fd, 0, SEEK_SET) < 0)
		return plx_err_sys(err, errno, "%s", w->partial);
	while ((n = read(w->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return plx_err_sys(err, errno, "read %s/%s", w->s->root, w->partial);
		plx_sha256_update(&w->hash, buf, (size_t)n);
		w->offset += n;
	}
	return 0;
}

int plx_blob_writer_restart(struct plx_blob_writer *w, struct plx_err *err)
{
	int ret;

	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return plx_err_sys(err, errno, "truncate %s/%s", w->s->root, w->partial);
	plx_sha256_free(&w->hash);
	ret = plx_sha256_init(&w->hash, err);
	if (ret < 0)
		return ret;
	w->offset = 0;
	return 0;
}

int plx_blob_writer_open(struct plx_store *s, const char *digest, int64_t size, struct plx_blob_writer **out,
			 struct plx_err *err)
{
	_cleanup_(writer_keepp) struct plx_blob_writer *w = NULL;
	int ret;

	if (!plx_digest_valid(digest))
		return plx_err_set(err, EINVAL, "invalid blob digest \"%s\"", digest);
	w = calloc(1, sizeof(*w));
	if (!w)
		return plx_err_set(err, ENOMEM, "out of memory");
	w->s = s;
	w->size = size;
	w->fd = -1;
	snprintf(w->digest, sizeof(w->digest), "%s", digest);
	snprintf(w->partial, sizeof(w->partial), STORE_INGEST "/%s.partial", plx_digest_hex(digest));
	ret = plx_sha256_init(&w->hash, err);
	if (ret < 0)
		return ret;
	w->fd = openat(s->dirfd, w->partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (w->fd < 0)
		return plx_err_sys(err, errno, "%s/%s", s->root, w->partial);
	/* the lock tells prune and other pulls that this partial is alive */
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return plx_err_set(err, EBUSY, "blob %s is being downloaded by another process", digest);
		return plx_err_sys(err, errno, "lock %s/%s", s->root, w->partial);
	}
	ret = writer_rehash(w, err);
	if (ret < 0)
		return ret;
	/* a partial longer than the blob can only be wrong: start over */
	if (size >= 0 && w->offset > size) {
		ret = plx_blob_writer_restart(w, err);
		if (ret < 0)
			return ret;
	}
	*out = steal_ptr(w);
	return 0;
}

int64_t plx_blob_writer_offset(const struct plx_blob_writer *w)
{
	return w->offset;
}

int plx_blob_writer_write(struct plx_blob_writer *w, const void *buf, size_t len, struct plx_err *err)
{
	int ret;

	if (w->size >= 0 && w->offset + (int64_t)len > w->size)
		return plx_err_set(err, EPROTO, "blob %s: received more than the %" PRId64 " bytes it should have",
				   w->digest, w->size);
	ret = write_all(w->fd, buf, len);
	if (ret < 0)
		return plx_err_sys(err, -ret, "write %s/%s", w->s->root, w->partial);
	plx_sha256_update(&w->hash, buf, len);
	w->offset += (int64_t)len;
	return 0;
}

int plx_blob_writer_commit(struct plx_blob_writer *w, struct plx_err *err)
{
	char got[PLX_DIGEST_LEN];
	const char *hex = plx_digest_hex(w->digest);

	if (w->size >= 0 && w->offset != w->size)
		return plx_err_set(err, EPROTO, "blob %s: got %" PRId64 " of %" PRId64 " bytes", w->digest, w->offset,
				   w->size);
	plx_sha256_final(&w->hash, got);
	if (strcmp(got, w->digest) != 0) {
		/* never keep content that failed verification: the next pull starts over */
		unlinkat(w->s->dirfd, w->partial, 0);
		return plx_err_set(err, EIO, "blob %s: digest mismatch: got %s", w->digest, got);
	}
	if (fsync(w->fd) < 0)
		return plx_err_sys(err, errno, "fsync %s/%s", w->s->root, w->partial);
	if (renameat(w->s->dirfd, w->partial, w->s->blobsfd, hex) < 0)
		return plx_err_sys(err, errno, "rename %s/%s into %s/" STORE_BLOBS, w->s->root, w->partial, w->s->root);
	w->committed = true;
	if (fsync(w->s->blobsfd) < 0)
		return plx_err_sys(err, errno, "fsync %s/" STORE_BLOBS, w->s->root);
	return 0;
}

void plx_blob_writer_close(struct plx_blob_writer *w, bool keep_partial)
{
	if (!w)
		return;
	if (!keep_partial && !w->committed && w->fd >= 0)
		unlinkat(w->s->dirfd, w->partial, 0);
	plx_closep(&w->fd);
	plx_sha256_free(&w->hash);
	free(w);
}

int plx_store_put_blob(struct plx_store *s, const void *buf, size_t len, const char *expected,
		       char **digest_out, struct plx_err *err)
{
	char digest[PLX_DIGEST_LEN];
	struct plx_blob_writer *w = NULL;
	int ret = plx_sha256_buf(buf, len, digest, err);

	if (ret < 0)
		return ret;
	if (expected && strcmp(expected, digest) != 0)
		return plx_err_set(err, EIO, "blob %s: digest mismatch: got %s", expected, digest);
	if (!plx_store_has_blob(s, digest)) {
		ret = plx_blob_writer_open(s, digest, (int64_t)len, &w, err);
		if (ret < 0)
			return ret;
		ret = plx_blob_writer_restart(w, err);
		if (ret == 0)
			ret = plx_blob_writer_write(w, buf, len, err);
		if (ret == 0)
			ret = plx_blob_writer_commit(w, err);
		plx_blob_writer_close(w, false);
		if (ret < 0)
			return ret;
	}
	if (digest_out) {
		*digest_out = strdup(digest);
		if (!*digest_out)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}
