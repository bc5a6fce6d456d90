/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blob downloads: several at once on one curl multi handle, each written
 * through a plx_blob_writer (hashed while it streams, verified before it
 * enters the store).  A failed or cut transfer is retried with back-off
 * and continues where it stopped (Range); a partial left by a killed pull
 * is resumed the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/log.h"

#define ERRBODY_MAX 4096

enum xfer_state { XFER_PENDING, XFER_ACTIVE, XFER_DONE };

struct xfer {
	struct plx_registry *r;
	struct plx_store *s;
	const struct plx_descriptor *d;
	struct plx_blob_writer *w;
	CURL *c;
	struct curl_slist *hdrs;
	struct reg_headers h;
	char errbuf[CURL_ERROR_SIZE];
	bool status_seen;  /* the write callback has looked at this response's status */
	bool ok_status;
	char errbody[ERRBODY_MAX + 1];
	size_t errbody_len;
	struct plx_err werr; /* a failure inside the write callback */
	unsigned attempts;
	unsigned auth_tries;
	uint64_t not_before_ms;
	enum xfer_state state;
};

struct fetch {
	struct xfer *x;
	size_t n;
	uint64_t bytes_base; /* blobs already whole before we started */
	struct plx_registry_progress p;
	plx_registry_progress_fn progress;
	void *ctx;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void report(struct fetch *f)
{
	uint64_t done = f->bytes_base;

	if (!f->progress)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (f->x[i].state == XFER_DONE)
			done += (uint64_t)f->x[i].d->size;
		else if (f->x[i].w)
			done += (uint64_t)plx_blob_writer_offset(f->x[i].w);
	}
	f->p.bytes_done = done;
	f->progress(f->ctx, &f->p);
}

static size_t blob_write_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	if (!x->status_seen) {
		long status = 0;

		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
		x->status_seen = true;
		x->ok_status = status == 200 || status == 206;
		/* the server ignored our Range and sends the whole blob */
		if (status == 200 && plx_blob_writer_offset(x->w) > 0 &&
		    plx_blob_writer_restart(x->w, &x->werr) < 0)
			return 0;
	}
	if (!x->ok_status) {
		size_t room = ERRBODY_MAX - x->errbody_len, k = len < room ? len : room;

		memcpy(x->errbody + x->errbody_len, buf, k);
		x->errbody_len += k;
		x->errbody[x->errbody_len] = '\0';
		return len;
	}
	if (plx_blob_writer_write(x->w, buf, len, &x->werr) < 0)
		return 0;
	return len;
}

static void xfer_release_handle(struct xfer *x, CURLM *m)
{
	if (x->c) {
		curl_multi_remove_handle(m, x->c);
		curl_easy_cleanup(x->c);
		x->c = NULL;
	}
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	reg_headers_reset(&x->h);
}

/* Start (or restart) the transfer of x; 1 when the blob turned out to be whole already. */
static int xfer_start(struct xfer *x, CURLM *m, struct plx_err *err)
{
	__do_free char *url = NULL;
	int ret;

	if (!x->w) {
		if (plx_store_has_blob(x->s, x->d->digest))
			return 1;
		ret = plx_blob_writer_open(x->s, x->d->digest, x->d->size, &x->w, err);
		if (ret == -EBUSY) {
			/* another pull is fetching it: look again shortly */
			plx_err_clear(err);
			x->not_before_ms = now_ms() + 500;
			return 0;
		}
		if (ret < 0)
			return ret;
	}
	/* a partial that is already complete (killed between last byte and rename) */
	if (plx_blob_writer_offset(x->w) == x->d->size) {
		struct plx_err ignore = PLX_ERR_INIT;

		if (plx_blob_writer_commit(x->w, &ignore) == 0) {
			plx_err_clear(&ignore);
			return 1;
		}
		plx_err_clear(&ignore);
		plx_blob_writer_close(x->w, false);
		x->w = NULL;
		ret = plx_blob_writer_open(x->s, x->d->digest, x->d->size, &x->w, err);
		if (ret < 0)
			return ret;
	}
	if (asprintf(&url, "%s/v2/%s/blobs/%s", x->r->base, x->r->repository, x->d->digest) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	x->c = curl_easy_init();
	if (!x->c)
		return plx_err_set(err, ENOMEM, "cannot create a curl handle");
	reg_easy_setup(x->r, x->c, url, x->errbuf);
	if (x->r->authorization)
		x->hdrs = curl_slist_append(x->hdrs, x->r->authorization);
	if (plx_blob_writer_offset(x->w) > 0) {
		char range[64];

		snprintf(range, sizeof(range), "Range: bytes=%" PRId64 "-", plx_blob_writer_offset(x->w));
		x->hdrs = curl_slist_append(x->hdrs, range);
		log_debug("blob %s: resuming at byte %" PRId64, x->d->digest, plx_blob_writer_offset(x->w));
	}
	curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, blob_write_cb);
	curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->c, CURLOPT_HEADERFUNCTION, reg_header_cb);
	curl_easy_setopt(x->c, CURLOPT_HEADERDATA, &x->h);
	curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
	x->status_seen = false;
	x->errbody_len = 0;
	x->errbody[0] = '\0';
	if (curl_multi_add_handle(m, x->c) != CURLM_OK)
		return plx_err_set(err, ENOMEM, "cannot add a curl transfer");
	x->state = XFER_ACTIVE;
	return 0;
}

static void retry_later(struct xfer *x, const char *why)
{
	log_debug("blob %s: %s, retrying (attempt %u)", x->d->digest, why, x->attempts + 1);
	x->not_before_ms = now_ms() + (250u << (x->attempts > 5 ? 5 : x->attempts));
	x->attempts++;
	x->state = XFER_PENDING;
}

/* A transfer ended: commit, schedule a retry, or fail. */
static int xfer_done(struct xfer *x, CURLM *m, CURLcode rc, struct plx_err *err)
{
	long status = 0;
	int ret;

	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	if (x->werr.code) {
		plx_err_move(err, &x->werr);
		return -err->code;
	}
	if (rc != CURLE_OK) {
		if (reg_transient_curl(rc) && x->attempts + 1 < PLX_REGISTRY_RETRIES) {
			retry_later(x, curl_easy_strerror(rc));
			return 0;
		}
		reg_curl_error(x->r, rc, "blob", x->errbuf, err);
		return plx_err_prefix(err, "blob %s", x->d->digest);
	}
	if (status == 200 || status == 206) {
		if (plx_blob_writer_offset(x->w) < x->d->size) {
			if (x->attempts + 1 < PLX_REGISTRY_RETRIES) {
				retry_later(x, "transfer ended early");
				return 0;
			}
			return plx_err_set(err, EPROTO, "blob %s: registry %s sent %" PRId64 " of %" PRId64 " bytes",
					   x->d->digest, x->r->host, plx_blob_writer_offset(x->w), x->d->size);
		}
		ret = plx_blob_writer_commit(x->w, err);
		if (ret < 0) {
			/* the partial is gone (digest) or kept (I/O): either way not in the store */
			plx_blob_writer_close(x->w, err->code != EIO);
			x->w = NULL;
			return plx_err_prefix(err, "registry %s repository %s", x->r->host, x->r->repository);
		}
		plx_blob_writer_close(x->w, false);
		x->w = NULL;
		x->state = XFER_DONE;
		return 1;
	}
	if (status == 401 && x->auth_tries == 0) {
		x->auth_tries++;
		ret = reg_reauth(x->r, x->h.www_authenticate, status, x->h.reason, err);
		if (ret < 0)
			return ret;
		x->state = XFER_PENDING;
		x->not_before_ms = 0;
		return 0;
	}
	if (status == 416) {
		ret = plx_blob_writer_restart(x->w, err);
		if (ret < 0)
			return ret;
		retry_later(x, "range not satisfiable");
		return 0;
	}
	if (status == 404)
		return plx_err_set(err, ENOENT, "blob %s is not in registry %s repository %s (404)", x->d->digest,
				   x->r->host, x->r->repository);
	if (reg_transient_status(status) && x->attempts + 1 < PLX_REGISTRY_RETRIES) {
		retry_later(x, reg_reason(status, x->h.reason));
		return 0;
	}
	(void)m;
	return plx_err_set(err, EPROTO, "blob %s: registry %s answered %s", x->d->digest, x->r->host,
			   reg_reason(status, x->h.reason));
}

static void fetch_free(struct fetch *f, CURLM *m)
{
	for (size_t i = 0; i < f->n; i++) {
		xfer_release_handle(&f->x[i], m);
		/* keep partials: the next pull resumes them */
		plx_blob_writer_close(f->x[i].w, true);
		plx_err_clear(&f->x[i].werr);
	}
	free(f->x);
	curl_multi_cleanup(m);
}

static int fetch_run(struct fetch *f, CURLM *m, unsigned parallel, struct plx_err *err)
{
	size_t left = 0;
	int ret;

	for (size_t i = 0; i < f->n; i++)
		if (f->x[i].state != XFER_DONE)
			left++;
	while (left) {
		unsigned active = 0;
		int running, msgs;
		CURLMsg *msg;
		uint64_t now = now_ms();

		for (size_t i = 0; i < f->n; i++)
			active += f->x[i].state == XFER_ACTIVE;
		for (size_t i = 0; i < f->n && active < parallel; i++) {
			struct xfer *x = &f->x[i];

			if (x->state != XFER_PENDING || x->not_before_ms > now)
				continue;
			ret = xfer_start(x, m, err);
			if (ret < 0)
				return ret;
			if (ret == 1) {
				x->state = XFER_DONE;
				f->p.blobs_done++;
				left--;
				report(f);
			} else if (x->state == XFER_ACTIVE) {
				active++;
			}
		}
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return plx_err_set(err, EIO, "curl multi transfer failed");
		while ((msg = curl_multi_info_read(m, &msgs))) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			ret = xfer_done(x, m, msg->data.result, err);
			xfer_release_handle(x, m);
			if (ret < 0)
				return ret;
			if (ret == 1) {
				f->p.blobs_done++;
				left--;
			}
			report(f);
		}
		if (left && curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK)
			return plx_err_set(err, EIO, "curl multi poll failed");
		report(f);
	}
	return 0;
}

int plx_registry_fetch_blobs(struct plx_registry *r, struct plx_store *s, const struct plx_descriptor *blobs,
			     size_t n, unsigned parallel, plx_registry_progress_fn progress, void *ctx,
			     struct plx_err *err)
{
	struct fetch f = { .progress = progress, .ctx = ctx };
	CURLM *m = curl_multi_init();
	int ret;

	if (!m)
		return plx_err_set(err, ENOMEM, "cannot create a curl multi handle");
	if (parallel < 1)
		parallel = 1;
	if (parallel > PLX_REGISTRY_PARALLEL_MAX)
		parallel = PLX_REGISTRY_PARALLEL_MAX;
	f.x = calloc(n + 1, sizeof(*f.x));
	if (!f.x) {
		curl_multi_cleanup(m);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(blobs[j].digest, blobs[i].digest) == 0;
		if (dup)
			continue;
		f.p.bytes_total += (uint64_t)blobs[i].size;
		f.p.blobs_total++;
		if (plx_store_has_blob(s, blobs[i].digest)) {
			f.bytes_base += (uint64_t)blobs[i].size;
			f.p.blobs_done++;
			continue;
		}
		f.x[f.n++] = (struct xfer){ .r = r, .s = s, .d = &blobs[i], .state = XFER_PENDING };
	}
	report(&f);
	ret = fetch_run(&f, m, parallel, err);
	fetch_free(&f, m);
	return ret;
}
