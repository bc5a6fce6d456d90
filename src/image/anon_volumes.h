/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Anonymous volumes (the image's Volumes) as volumes of a storage driver,
 * for a container made from an image while a storage driver is chosen:
 * one volume per destination per container, named
 * "<id>-v-<12 hex of sha256(destination)>" (stable, so image update keeps
 * them), starting with what the image has at the destination (docker's
 * rule; copied with cp -a --reflink=auto from the image's tree, the
 * destination resolved inside it).
 *
 * They are recorded in the container's bundle, in PLX_ANON_VOLUMES_FILE:
 *   {"driver": "zfs|btrfs|dir", "base": "...", "volumes": {"/dest": "<volume>"}}
 * written before any volume is made, so a create killed half-way leaves a
 * record that the next create of the id, or delete, releases.
 */
#pragma once

#include <jansson.h>

#include "storage/storage.h"
#include "util/error.h"

#define PLX_ANON_VOLUMES_FILE "storage-volumes.json"

/* The volume name of destination dest of container id; errors name both. */
int plx_anon_volume_name(const char *id, const char *dest, char **out, struct plx_err *err);

/*
 * Make the volumes of dests (NULL-terminated) on s for container id and
 * record them in bundle_dir.  rootfd: the image's tree (read only).  keep
 * (destination -> volume name, may be NULL) lists volumes that exist
 * already (image update): they are recorded and mounted, not made.
 * *sources gets destination -> mount path for plx_exec_config_volumes_from().
 * What this call made is destroyed again on failure.
 */
int plx_anon_volumes_make(struct plx_storage *s, const char *bundle_dir, const char *id, int rootfd,
			  char *const *dests, const json_t *keep, json_t **sources, struct plx_err *err);

/* The record in bundle_dir, or *out NULL when there is none. */
int plx_anon_volumes_read(const char *bundle_dir, json_t **out, struct plx_err *err);

/*
 * Destroy every volume the record in bundle_dir names (one already gone is
 * fine) except those named as values in except (may be NULL: the volumes
 * an image update keeps), then the record.  No record: nothing to do.
 */
int plx_anon_volumes_release(const char *bundle_dir, const json_t *except, struct plx_err *err);

/* Forget the record in bundle_dir without destroying its volumes (they moved to another bundle). */
int plx_anon_volumes_forget(const char *bundle_dir, struct plx_err *err);
