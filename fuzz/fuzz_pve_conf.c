/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the PVE CT config reader/writer: whatever the bytes,
 * parsing must not crash or leak, and what parses must serialize back to
 * exactly the input.  Accepted files also go through edits and the
 * snapshot operations, whose output must parse again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxmox/ct_conf.h"
#include "proxmox/ct_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reparse(const struct pve_conf *conf)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *again = NULL;
	char *text = NULL;
	size_t len = 0;

	if (pve_conf_serialize(conf, &text, &len, &err) < 0)
		abort();
	/* what we write must be readable by us (and so by PVE's grammar) */
	if (pve_conf_parse(text, len, "edited.conf", &again, &err) < 0)
		abort();
	pve_conf_free(again);
	free(text);
	plx_err_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = NULL;
	char *text = NULL;
	size_t len = 0;

	if (pve_conf_parse((const char *)data, size, "fuzz.conf", &conf, &err) < 0) {
		plx_err_clear(&err);
		return 0;
	}
	if (pve_conf_serialize(conf, &text, &len, &err) < 0 || len != size || memcmp(text, data, size) != 0)
		abort();
	free(text);

	pve_conf_set(conf, NULL, "memory", "512", &err);
	pve_conf_add(conf, NULL, "lxc.environment.runtime", "A=1", &err);
	pve_conf_set_description(conf, NULL, "managed by proxmox-lxcri\n:%", &err);
	pve_conf_delete(conf, NULL, "swap", &err);
	reparse(conf);
	pve_snapshot_delete(conf, "test", &err);
	pve_snapshot_rollback(conf, "test2", &err);
	pve_snapshot_create(conf, "fz", "c", 1, &err);
	reparse(conf);
	plx_err_clear(&err);
	pve_conf_free(conf);
	return 0;
}
