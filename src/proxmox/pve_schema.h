/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks of CT config keys/values against PVE's API schema (apidata.json),
 * loaded at run time: the schema is data, so a newer PVE needs a newer file,
 * not new code.  Rules and messages follow PVE::JSONSchema (type, enum,
 * pattern, minimum/maximum, min/maxLength, format, property strings).
 */
#pragma once

#include "proxmox/ct_conf.h"
#include "util/error.h"

struct pve_schema;

/* The parameter schema of one method, e.g. ("/nodes/{node}/lxc", "POST"), from apidata_path. */
int pve_schema_load(const char *apidata_path, const char *api_path, const char *method,
		    struct pve_schema **out, struct plx_err *err);
void pve_schema_free(struct pve_schema *schema);

/*
 * 0 when value is valid for parameter key (net0 matches "net[n]"); -EINVAL
 * with PVE's message prefixed by the key otherwise; -EOPNOTSUPP for a
 * format this checker does not know (so nothing passes unchecked).
 */
int pve_schema_check(const struct pve_schema *schema, const char *key, const char *value,
		     struct plx_err *err);

/* Check every plain key of the main section (raw lxc.* keys are not API parameters). */
int pve_schema_check_conf(const struct pve_schema *schema, const struct pve_conf *conf, struct plx_err *err);
