/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the config.json model: whatever the bytes, parsing,
 * validating and freeing must neither crash nor leak (ASan/UBSan watch).
 * A parsed document is also dumped and parsed again, as the init receives
 * it, and its process object goes through the standalone (exec) path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/spec.h"

/* the log is quiet (fuzz_quiet_log.c) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reparse(const struct oci_spec *spec)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_spec *again = NULL;
	char *text = json_dumps(spec->doc, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!text)
		return;
	/* what parsed once must parse again the same way */
	if (oci_spec_parse(text, strlen(text), "dumped.json", &again, &err) < 0)
		abort();
	oci_spec_free(again);
	plx_err_clear(&err);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_spec *spec = NULL;
	struct oci_process *p = NULL;
	json_t *proc;

	if (oci_spec_parse((const char *)data, size, "fuzz.json", &spec, &err) < 0) {
		if (!err.msg || spec)
			abort();
		plx_err_clear(&err);
		return 0;
	}
	if (oci_spec_validate(spec, &err) < 0 && !err.msg)
		abort();
	plx_err_clear(&err);
	oci_spec_namespace(spec, "user");
	reparse(spec);

	proc = json_object_get(spec->doc, "process");
	if (json_is_object(proc) && oci_process_from_json(proc, "fuzz.json", "process", &p, &err) == 0) {
		oci_process_validate(p, "fuzz.json", "process", &err);
		oci_process_free(p);
	}
	plx_err_clear(&err);
	oci_spec_free(spec);
	return 0;
}
