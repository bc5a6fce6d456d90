/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image as a Proxmox VE container template: the squashed rootfs as
 * "./"-relative members of a pax tar, compressed with zstd (what PVE's
 * "pct create ... local:vztmpl/NAME.tar.zst" extracts with GNU tar
 * --numeric-owner --xattrs --acls), numeric owners only, xattrs and ACLs
 * kept, hardlinks as links, sockets left out (tar cannot hold them).
 *
 * A template is a rootfs only: PVE takes nothing else from a .tar.zst.
 * PVE 9.1 keeps an application container's process in its CT config as
 * "entrypoint:" (passed on as lxc.init.cmd) and its environment as
 * "lxc.environment.runtime:" lines; both are create parameters
 * (entrypoint, env), so whoever creates the CT passes what
 * plx_pve_template_process() gives.
 */
#pragma once

#include <stdint.h>

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

/* The file name prefix of templates we make (the rest is the manifest digest's hex). */
#define PLX_PVE_TEMPLATE_PREFIX "proxmox-lxcri-"
#define PLX_PVE_TEMPLATE_SUFFIX ".tar.zst"

struct plx_pve_template_stats {
	uint64_t entries;	     /* tar members written */
	uint64_t bytes;		     /* size of the .tar.zst */
	char sha256[PLX_DIGEST_LEN]; /* "sha256:<hex>" of the .tar.zst */
};

/*
 * The template's file name for an image: PLX_PVE_TEMPLATE_PREFIX + the
 * manifest digest's hex + ".tar.zst", so the same image always maps to the
 * same file and a second upload can be skipped.  NULL on ENOMEM or a
 * digest that is not valid.
 */
char *plx_pve_template_name(const char *manifest_digest);

/*
 * What the CT runs: *argv = Entrypoint + Cmd (args, when non-NULL, replace
 * Cmd), *env = the image's Env, PATH defaulted, then user_env's KEY=VALUE
 * entries replacing the image's of the same key (the user's win).  An
 * image with neither Entrypoint nor Cmd and no args is refused.
 */
int plx_pve_template_process(const struct plx_image *img, char *const *args, char *const *user_env,
			     char ***argv, char ***env, struct plx_err *err);

/*
 * Write the tree at rootfs as a template to out (through out.tmp and a
 * rename, so out is whole or absent).  Symlinks are stored, never followed;
 * mount points below rootfs are not crossed.  st may be NULL.
 */
int plx_pve_template_write(const char *rootfs, const char *out, struct plx_pve_template_stats *st,
			   struct plx_err *err);

/*
 * Unpack img's layers (verified against their diff_ids) into a temporary
 * directory beside out, write the template, remove the directory.  Must
 * run as root (ownership, device nodes).
 */
int plx_pve_template_export(const struct plx_store *s, const struct plx_image *img, const char *out,
			    struct plx_pve_template_stats *st, struct plx_err *err);
