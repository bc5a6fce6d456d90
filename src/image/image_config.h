/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image config (image-spec config.md) and its mapping onto a runtime
 * config, as docker and podman map it:
 *
 *   Entrypoint + Cmd      process.args; arguments given by the user replace Cmd
 *   Env                   process.env; the user's KEY=VALUE wins per key, the
 *                         image's other variables stay; PATH defaulted, TERM
 *                         with a terminal, HOME from the image's passwd
 *   WorkingDir            process.cwd ("/" when unset)
 *   User                  process.user, names resolved in the image's
 *                         /etc/passwd and /etc/group (image/passwd.h)
 *   Labels                annotations, key for key
 *   ExposedPorts          annotation org.proxmox-lxcri.image.exposed-ports
 *                         ("80/tcp,443/udp")
 *   StopSignal            annotation org.opencontainers.image.stopSignal, the
 *                         default signal of "kill"
 *   Volumes               bind mounts of anonymous volumes (plx_exec_config_volumes)
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "util/error.h"

#define PLX_IMAGE_STOP_SIGNAL_ANNOTATION "org.opencontainers.image.stopSignal"
#define PLX_IMAGE_PORTS_ANNOTATION "org.proxmox-lxcri.image.exposed-ports"
#define PLX_IMAGE_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The "config" object of an image config (the rest is in image/manifest.h's plx_image_config). */
struct plx_exec_config {
	char *user;
	char **env;
	char **entrypoint;
	char **cmd;
	char *working_dir;
	char **volumes;       /* destinations, sorted */
	char **exposed_ports; /* "80/tcp", sorted */
	json_t *labels;       /* object of strings, or NULL (owned reference) */
	char *stop_signal;
};

/* From a whole image config document; errors name name and the JSON path ("config.Env[2]"). */
int plx_exec_config_from_json(json_t *doc, const char *name, struct plx_exec_config **out,
			      struct plx_err *err);
/* The same from the blob. */
int plx_exec_config_parse(const char *buf, size_t len, const char *name, struct plx_exec_config **out,
			  struct plx_err *err);
void plx_exec_config_free(struct plx_exec_config *c);
static inline void plx_exec_config_freep(struct plx_exec_config **p)
{
	if (*p)
		plx_exec_config_free(*p);
	*p = NULL;
}
#define __do_exec_config_free __attribute__((cleanup(plx_exec_config_freep)))

/* What the user says on top of the image (image bundle / run --image flags). */
struct plx_image_run_opts {
	char *const *args;    /* replace Cmd when non-NULL */
	char *const *env;     /* KEY=VALUE, each wins over the image's KEY */
	const char *workdir;  /* replaces WorkingDir when non-NULL */
	const char *user;     /* replaces User when non-NULL */
	bool tty;             /* process.terminal */
};

/*
 * Fill spec (a runtime config object, e.g. from oci_spec_template()):
 * process.args, env, cwd, user, terminal and the annotations.  rootfd is
 * the unpacked image (for user names).  Errors name what is wrong.
 */
int plx_exec_config_apply(json_t *spec, const struct plx_exec_config *ic, const struct plx_image_run_opts *o,
			   int rootfd, struct plx_err *err);

/*
 * The merged environment: image env, then PATH when the image has none,
 * TERM=xterm with a terminal, HOME=home when unset, then the user's
 * entries replacing the image's of the same key.  User entries must be
 * KEY=VALUE.
 */
int plx_image_env_merge(char *const *image_env, char *const *user_env, bool tty, const char *home, char ***out,
			struct plx_err *err);

/*
 * The volume directory of destination dest under volumes_dir: the
 * destination's own path below it ("/var/lib/db" -> "<dir>/var/lib/db"),
 * so that names never collide.  Refuses relative destinations and "..".
 */
int plx_image_volume_source(const char *volumes_dir, const char *dest, char **out, struct plx_err *err);

/*
 * Append to spec.mounts a bind mount of each volume from its source
 * (plx_image_volume_source()), skipping a destination the spec already
 * mounts.  The caller makes the directories.
 */
int plx_exec_config_volumes(json_t *spec, const struct plx_exec_config *ic, const char *volumes_dir,
			     struct plx_err *err);
/*
 * The same, but a destination named in sources (an object destination ->
 * path, may be NULL) is mounted from that path (a storage volume) instead.
 */
int plx_exec_config_volumes_from(json_t *spec, const struct plx_exec_config *ic, const char *volumes_dir,
				 const json_t *sources, struct plx_err *err);
