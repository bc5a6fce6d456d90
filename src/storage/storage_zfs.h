/* SPDX-License-Identifier: Apache-2.0 */
/* The zfs driver's pure parts, exposed for the unit tests. */
#pragma once

#include <stddef.h>

#include "storage/storage.h"
#include "util/error.h"

/*
 * The dataset of container id under parent.  runc IDs may hold '+', which
 * zfs refuses in names; they never hold ':', which zfs allows, so '+' maps
 * to ':' one to one.  NULL on ENOMEM.
 */
char *plx_zfs_dataset(const char *parent, const char *id);

/*
 * Parse `zfs get -H -p -o name,property,value creation,used NAMES...` for
 * the snapshots names[0..n) of dataset (names are "DATASET@SNAP"); *out
 * follows names' order.  Errors name the line or the missing property.
 */
int plx_zfs_parse_snapshot_props(const char *text, char *const *names, size_t n,
				 struct plx_storage_snapshot **out, struct plx_err *err);

/* Split `zfs list -H -o name` output into lines; *out is a NULL-terminated vector. */
int plx_zfs_split_lines(const char *text, char ***out, struct plx_err *err);
