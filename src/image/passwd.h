/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image config's User ("name", "uid", "name:group", "uid:gid", "") to
 * ids, looked up in the image's own /etc/passwd and /etc/group the way
 * docker does (moby/sys/user GetExecUser): a numeric user is a uid even
 * when passwd lacks it; a name must be there.  Supplementary groups are
 * the groups that list the user as a member, and only when no group is
 * named.  The files are read through the rootfs descriptor with the
 * kernel confining resolution to it (image/inroot.h), so a hostile
 * "etc/passwd -> /etc/shadow" symlink reads the image's own file or none.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct plx_image_user {
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *home; /* from passwd; "/" when the user has no entry */
};

int plx_image_user_resolve(int rootfd, const char *spec, struct plx_image_user *out, struct plx_err *err);
void plx_image_user_free(struct plx_image_user *u);
