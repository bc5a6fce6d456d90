/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whiteouts of the OCI image layer format: a member ".wh.NAME" deletes
 * NAME from the layers below, ".wh..wh..opq" in a directory hides all that
 * the layers below put there.  Neither touches what the same layer made
 * (image-spec layer.md: "whiteout files MUST only apply to resources in
 * lower/parent layers"), whatever the order of the members, so the unpacker
 * keeps the set of names the current layer made.
 */
#pragma once

#include <stdbool.h>

#include "util/error.h"

#define PLX_WHITEOUT_PREFIX ".wh."
#define PLX_WHITEOUT_OPAQUE ".wh..wh..opq"

/* A set of clean member names (see plx_inroot_clean_name()). */
struct plx_name_set {
	void *tree; /* tsearch(3) tree of owned strings */
};

int plx_name_set_add(struct plx_name_set *s, const char *name);
bool plx_name_set_has(const struct plx_name_set *s, const char *name);
void plx_name_set_clear(struct plx_name_set *s);

/* Whether the last component base marks a whiteout. */
static inline bool plx_whiteout_is(const char *base)
{
	return base[0] == '.' && base[1] == 'w' && base[2] == 'h' && base[3] == '.';
}

/*
 * Apply the whiteout member name (clean, its last component a whiteout)
 * to the tree under rootfd, sparing what made lists.  A whiteout of
 * something that is not there is not an error.  Messages name the member;
 * the caller prefixes the layer.
 */
int plx_whiteout_apply(int rootfd, const char *name, const struct plx_name_set *made, struct plx_err *err);
