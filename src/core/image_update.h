/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image update ID: pull the container's image again (the same reference)
 * and, when the digest changed, move the container onto it.  The container
 * keeps its id, its anonymous volumes (volumes/ of its bundle, or storage
 * volumes), and the user's flags (args, env, user, workdir: saved in the
 * bundle by create --image); its rootfs becomes the new image's.
 *
 * The container must be stopped; with restart a running one is stopped
 * (its StopSignal, SIGKILL after stop_timeout_s) and run again detached.
 * A container with a terminal cannot be re-run without its console socket
 * and is refused then.  Everything that can fail before the switch (pull,
 * new bundle) leaves the container untouched; a failure after it (create
 * of the new container) puts the old one back on its old bundle.
 */
#pragma once

#include <stdbool.h>

#include "core/lifecycle.h"
#include "util/error.h"

struct plx_image_update_opts {
	const char *id;
	bool restart;
	unsigned int stop_timeout_s; /* 0: 10 s */
};

struct plx_image_update_result {
	char *name;       /* the image reference */
	char *old_digest;
	char *new_digest; /* equal to old_digest when up to date */
	bool updated;
	bool restarted;
};

int plx_image_update(struct plx_runtime *rt, const struct plx_image_update_opts *o,
		     struct plx_image_update_result *res, struct plx_err *err);
void plx_image_update_result_clear(struct plx_image_update_result *r);
