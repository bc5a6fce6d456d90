/* SPDX-License-Identifier: Apache-2.0 */
/* The blob store: ingest, resume, verification, index.json, reference counting, credentials. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/auth.h"
#include "image/digest.h"
#include "image/store.h"
#include "util/fs.h"
#include "util/strv.h"

static int setup(void **state)
{
	char tmpl[] = "/tmp/plx-store-XXXXXX";

	if (!mkdtemp(tmpl))
		return -1;
	*state = strdup(tmpl);
	return 0;
}

static int teardown(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	plx_rm_rf_at(AT_FDCWD, *state, &err);
	plx_err_clear(&err);
	free(*state);
	return 0;
}

static struct plx_store *open_store(const char *dir)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_store *s = NULL;

	if (plx_store_open(dir, &s, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return s;
}

static char *put(struct plx_store *s, const char *data)
{
	struct plx_err err = PLX_ERR_INIT;
	char *d = NULL;

	if (plx_store_put_blob(s, data, strlen(data), NULL, &d, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return d;
}

static void test_layout_and_blobs(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_store *s = open_store(*state);
	char path[512], want[PLX_DIGEST_LEN], *buf = NULL, *d;
	size_t len;

	snprintf(path, sizeof(path), "%s/oci-layout", (char *)*state);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/index.json", (char *)*state);
	assert_int_equal(access(path, F_OK), 0);
	d = put(s, "hello");
	assert_int_equal(plx_sha256_buf("hello", 5, want, &err), 0);
	assert_string_equal(d, want);
	assert_true(plx_store_has_blob(s, d));
	assert_int_equal(plx_store_read_blob(s, d, 100, &buf, &len, &err), 0);
	assert_string_equal(buf, "hello");
	free(buf);
	/* a blob changed on disk is reported, not returned */
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", (char *)*state, plx_digest_hex(d));
	assert_int_equal(plx_write_file_at(AT_FDCWD, path, "HELLO", 5, 0644, &err), 0);
	assert_int_equal(plx_store_read_blob(s, d, 100, &buf, &len, &err), -EIO);
	assert_non_null(strstr(plx_err_msg(&err), "is corrupt"));
	plx_err_clear(&err);
	/* wrong expected digest */
	assert_int_equal(plx_store_put_blob(s, "x", 1, want, NULL, &err), -EIO);
	assert_non_null(strstr(plx_err_msg(&err), "digest mismatch"));
	plx_err_clear(&err);
	free(d);
	plx_store_close(s);
}

static void test_writer_resume_and_mismatch(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_store *s = open_store(*state);
	struct plx_blob_writer *w = NULL, *w2 = NULL;
	const char *data = "0123456789abcdefghij";
	char d[PLX_DIGEST_LEN], partial[512];

	assert_int_equal(plx_sha256_buf(data, 20, d, &err), 0);
	assert_int_equal(plx_blob_writer_open(s, d, 20, &w, &err), 0);
	assert_int_equal(plx_blob_writer_write(w, data, 8, &err), 0);
	/* a second writer of the same blob is told it is busy */
	assert_int_equal(plx_blob_writer_open(s, d, 20, &w2, &err), -EBUSY);
	plx_err_clear(&err);
	plx_blob_writer_close(w, true); /* as if the pull was killed */
	assert_false(plx_store_has_blob(s, d));

	assert_int_equal(plx_blob_writer_open(s, d, 20, &w, &err), 0);
	assert_int_equal(plx_blob_writer_offset(w), 8);
	assert_int_equal(plx_blob_writer_write(w, data + 8, 13, &err), -EPROTO); /* more than the size */
	plx_err_clear(&err);
	assert_int_equal(plx_blob_writer_write(w, data + 8, 12, &err), 0);
	assert_int_equal(plx_blob_writer_commit(w, &err), 0);
	plx_blob_writer_close(w, false);
	assert_true(plx_store_has_blob(s, d));

	/* wrong content: error naming both digests, partial gone, nothing in the store */
	char d2[PLX_DIGEST_LEN];
	assert_int_equal(plx_sha256_buf("other", 5, d2, &err), 0);
	assert_int_equal(plx_blob_writer_open(s, d2, 5, &w, &err), 0);
	assert_int_equal(plx_blob_writer_write(w, "OTHER", 5, &err), 0);
	assert_int_equal(plx_blob_writer_commit(w, &err), -EIO);
	assert_non_null(strstr(plx_err_msg(&err), d2));
	assert_non_null(strstr(plx_err_msg(&err), "digest mismatch: got sha256:"));
	plx_err_clear(&err);
	plx_blob_writer_close(w, false);
	snprintf(partial, sizeof(partial), "%s/ingest/%s.partial", (char *)*state, plx_digest_hex(d2));
	assert_int_not_equal(access(partial, F_OK), 0);
	assert_false(plx_store_has_blob(s, d2));
	plx_store_close(s);
}

/* A manifest of config + layers put into the store; returns its digest. */
static char *put_image(struct plx_store *s, const char *cfg, const char *layer)
{
	char *cd = put(s, cfg), *ld = put(s, layer), *m, *md;

	assert_true(asprintf(&m,
			     "{\"schemaVersion\":2,\"mediaType\":\"" PLX_MT_OCI_MANIFEST "\","
			     "\"config\":{\"mediaType\":\"" PLX_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
			     "\"layers\":[{\"mediaType\":\"" PLX_MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}",
			     cd, strlen(cfg), ld, strlen(layer)) > 0);
	md = put(s, m);
	free(m);
	free(cd);
	free(ld);
	return md;
}

static void tag(struct plx_store *s, const char *digest, const char *name)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_descriptor d = { .media_type = PLX_MT_OCI_MANIFEST, .digest = (char *)digest, .size = 1 };

	if (plx_store_tag(s, &d, name, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
}

static void test_index_lookup_and_gc(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_store *s = open_store(*state);
	struct plx_store_gc_stats st = {};
	struct plx_descriptor d = {};
	struct plx_image *img = NULL;
	char *a = put_image(s, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"diff_ids\":[]}}", "shared");
	char *b = put_image(s, "{\"os\":\"linux\",\"architecture\":\"arm64\"}", "shared");
	char *stray = put(s, "nobody uses me"), **live = NULL;
	char prefix[16];

	tag(s, a, "docker.io/library/alpine:latest");
	tag(s, b, "example.com/b:1");
	/* short names, digests and unique prefixes find images */
	assert_int_equal(plx_store_lookup(s, "alpine", &d, &err), 0);
	assert_string_equal(d.digest, a);
	plx_descriptor_free(&d);
	snprintf(prefix, sizeof(prefix), "%.10s", plx_digest_hex(b));
	assert_int_equal(plx_store_lookup(s, prefix, &d, &err), 0);
	assert_string_equal(d.ref_name, "example.com/b:1");
	plx_descriptor_free(&d);
	assert_int_equal(plx_store_lookup(s, "busybox", &d, &err), -ENOENT);
	assert_non_null(strstr(plx_err_msg(&err), "image busybox is not in the store"));
	plx_err_clear(&err);
	assert_int_equal(plx_store_image_open(s, "alpine", &img, &err), 0);
	assert_string_equal(img->config->architecture, "amd64");
	assert_int_equal(img->manifest->n_layers, 1);
	plx_image_free(img);

	/* reference counts come from index.json: the shared layer survives removing one image */
	assert_int_equal(plx_store_referenced(s, &live, &err), 0);
	assert_int_equal(plx_strv_len(live), 5);
	for (char **p = live; *p; p++)
		free(*p);
	free(live);
	assert_int_equal(plx_store_remove(s, "alpine", &st, &err), 0);
	/* a's manifest and config, and the unreferenced stray; not the shared layer */
	assert_int_equal(st.blobs_removed, 3);
	assert_false(plx_store_has_blob(s, a));
	assert_false(plx_store_has_blob(s, stray));
	assert_int_equal(plx_store_remove(s, "alpine", &st, &err), -ENOENT);
	plx_err_clear(&err);
	free(stray);
	stray = put(s, "nobody uses me either");
	memset(&st, 0, sizeof(st));
	assert_int_equal(plx_store_prune(s, &st, &err), 0);
	assert_int_equal(st.blobs_removed, 1);
	assert_false(plx_store_has_blob(s, stray));
	assert_true(plx_store_has_blob(s, b));
	free(a);
	free(b);
	free(stray);
	plx_store_close(s);
}

static void write_str(const char *path, const char *s)
{
	struct plx_err err = PLX_ERR_INIT;

	if (plx_write_file_at(AT_FDCWD, path, s, strlen(s), 0600, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
}

static void test_credentials_sources(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_registry_creds c = {};
	struct plx_config *cfg = NULL;
	char auth[512], docker[512], conf[512];

	snprintf(auth, sizeof(auth), "%s/auth.json", (char *)*state);
	snprintf(docker, sizeof(docker), "%s/docker.json", (char *)*state);
	snprintf(conf, sizeof(conf), "%s/config.json", (char *)*state);
	/* "bob:secret" and "amy:pw" */
	write_str(auth, "{\"auths\":{\"reg:5000\":{\"auth\":\"Ym9iOnNlY3JldA==\"}}}");
	write_str(docker, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YW15OnB3\"}}}");
	write_str(conf, "{\"registries\":{\"cfg.io\":{\"username\":\"u\",\"password\":\"p\"},"
			"\"bad.io\":{\"insecure\":\"yes\"}}}");
	assert_int_equal(plx_config_load_file(conf, &cfg, &err), 0);
	assert_int_equal(plx_auth_lookup(cfg, "reg:5000", auth, docker, &c, &err), 1);
	assert_string_equal(c.username, "bob");
	assert_string_equal(c.password, "secret");
	plx_registry_creds_free(&c);
	assert_int_equal(plx_auth_lookup(cfg, "docker.io", auth, docker, &c, &err), 1);
	assert_string_equal(c.username, "amy");
	plx_registry_creds_free(&c);
	assert_int_equal(plx_auth_lookup(cfg, "cfg.io", auth, docker, &c, &err), 1);
	assert_string_equal(c.password, "p");
	plx_registry_creds_free(&c);
	assert_int_equal(plx_auth_lookup(cfg, "none.io", auth, docker, &c, &err), 0);
	assert_int_equal(plx_auth_lookup(cfg, "bad.io", auth, docker, &c, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "registries.\"bad.io\".insecure: expected boolean"));
	plx_err_clear(&err);
	plx_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_and_blobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_resume_and_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_lookup_and_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_sources, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
