/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What this runtime supports, as the runtime-spec "features" document
 * (specs-go/features) that `proxmox-lxcri features` prints.  Not named
 * features.h: that would shadow glibc's <features.h> for this directory.
 */
#pragma once

#include <jansson.h>

/* A new object (caller owns the reference), NULL when out of memory. */
json_t *plx_features(void);
