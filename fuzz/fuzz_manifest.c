/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what a registry or an image layout hands us as a
 * manifest, index or image config: kind detection, parsing, platform
 * selection and freeing must neither crash nor leak, whatever the bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "image/manifest.h"

/* the log is quiet (fuzz_quiet_log.c) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct plx_platform want = { .os = "linux", .architecture = "arm64" };
	struct plx_err err = PLX_ERR_INIT;
	struct plx_manifest *m = NULL;
	struct plx_index *idx = NULL;
	struct plx_image_config *c = NULL;
	const struct plx_descriptor *d;
	enum plx_manifest_kind kind;
	enum plx_layer_compression comp;

	plx_manifest_kind(buf, size, "application/vnd.oci.image.index.v1+json", &kind, &err);
	plx_err_clear(&err);
	if (plx_manifest_parse(buf, size, &m, &err) == 0) {
		for (size_t i = 0; i < m->n_layers; i++)
			plx_layer_compression(m->layers[i].media_type, &comp, &err), plx_err_clear(&err);
		plx_manifest_free(m);
	}
	plx_err_clear(&err);
	if (plx_index_parse(buf, size, &idx, &err) == 0) {
		plx_index_select(idx, &want, &d, &err);
		plx_index_free(idx);
	}
	plx_err_clear(&err);
	if (plx_image_config_parse(buf, size, &c, &err) == 0)
		plx_image_config_free(c);
	plx_err_clear(&err);
	return 0;
}
