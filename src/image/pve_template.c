/* SPDX-License-Identifier: Apache-2.0 */
/* An image (or a rootfs directory) written as a Proxmox VE container template (.tar.zst). */
#include "image/pve_template.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/image_config.h"
#include "image/inroot.h"
#include "image/reference.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

DEFINE_CLEANUP_FUNC(archive_read_freep_, struct archive, archive_read_free)
DEFINE_CLEANUP_FUNC(archive_write_freep_, struct archive, archive_write_free)
DEFINE_CLEANUP_FUNC(archive_entry_freep_, struct archive_entry, archive_entry_free)
DEFINE_CLEANUP_FUNC(linkresolver_freep_, struct archive_entry_linkresolver, archive_entry_linkresolver_free)

#define COPY_BUF (64u << 10)

char *plx_pve_template_name(const char *manifest_digest)
{
	char *name;

	if (!manifest_digest || !plx_digest_valid(manifest_digest))
		return NULL;
	if (asprintf(&name, "%s%s%s", PLX_PVE_TEMPLATE_PREFIX, plx_digest_hex(manifest_digest),
		     PLX_PVE_TEMPLATE_SUFFIX) < 0)
		return NULL;
	return name;
}

int plx_pve_template_process(const struct plx_image *img, char *const *args, char *const *user_env,
			     char ***argv, char ***env, struct plx_err *err)
{
	__do_exec_config_free struct plx_exec_config *ec = NULL;
	__do_strv_free char **cmd = calloc(1, sizeof(char *));
	char *const *tail;
	int ret;

	if (!cmd)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_exec_config_from_json(img->config->doc, img->name, &ec, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; ec->entrypoint && ec->entrypoint[i]; i++)
		if (plx_strv_append(&cmd, ec->entrypoint[i]) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	/* docker's rule: arguments replace Cmd, never the Entrypoint */
	tail = args ? args : ec->cmd;
	for (size_t i = 0; tail && tail[i]; i++)
		if (plx_strv_append(&cmd, tail[i]) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	if (!cmd[0])
		return plx_err_set(
			err, EINVAL,
			"image %s: no Entrypoint and no Cmd, and no command was given (after \"--\")",
			img->name);
	ret = plx_image_env_merge(ec->env, user_env, false, NULL, env, err);
	if (ret < 0)
		return plx_err_prefix(err, "image %s", img->name);
	if (ec->user && *ec->user)
		log_warn("image %s: User \"%s\" is not applied: a PVE CT's entrypoint runs as root",
			 img->name, ec->user);
	if (ec->working_dir && *ec->working_dir && strcmp(ec->working_dir, "/") != 0)
		log_warn("image %s: WorkingDir \"%s\" is not applied: PVE's API cannot set a CT's working "
			 "directory",
			 img->name, ec->working_dir);
	*argv = steal_ptr(cmd);
	return 0;
}

/* The output file: written by libarchive's callback, hashed on the way. */
struct tmpl_out {
	int fd;
	struct plx_sha256 hash;
	uint64_t bytes;
};

static la_ssize_t on_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct tmpl_out *o = arg;
	const char *p = buf;
	size_t left = len;

	while (left) {
		ssize_t n = write(o->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			archive_set_error(a, errno, "write: %s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	plx_sha256_update(&o->hash, buf, len);
	o->bytes += len;
	return (la_ssize_t)len;
}

/* "rootfs/a/b" -> "./a/b", "rootfs" -> "./": the names PVE's own templates carry. */
static char *member_name(const char *rootfs, size_t rlen, const char *path)
{
	char *name;

	if (strncmp(path, rootfs, rlen) != 0 || (path[rlen] != '\0' && path[rlen] != '/'))
		return NULL;
	path += rlen;
	while (*path == '/')
		path++;
	if (asprintf(&name, "./%s", path) < 0)
		return NULL;
	return name;
}

static int copy_data(struct archive *disk, struct archive *w, const char *name, struct plx_err *err)
{
	__do_free char *buf = malloc(COPY_BUF);
	la_ssize_t n;

	if (!buf)
		return plx_err_set(err, ENOMEM, "out of memory");
	while ((n = archive_read_data(disk, buf, COPY_BUF)) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			return plx_err_set(err, EIO, "%s: %s", name, archive_error_string(w));
	if (n < 0)
		return plx_err_set(err, EIO, "%s: read: %s", name, archive_error_string(disk));
	return 0;
}

/* Every entry under rootfs into w. */
static int write_tree(struct archive *w, const char *rootfs, struct plx_pve_template_stats *st,
		      struct plx_err *err)
{
	__attribute__((cleanup(archive_read_freep_))) struct archive *disk = archive_read_disk_new();
	__attribute__((cleanup(linkresolver_freep_))) struct archive_entry_linkresolver *links =
		archive_entry_linkresolver_new();
	size_t rlen = strlen(rootfs);
	int r;

	if (!disk || !links)
		return plx_err_set(err, ENOMEM, "out of memory");
	archive_entry_linkresolver_set_strategy(links, archive_format(w));
	/* symlinks are members, never followed; a mount below the rootfs is not the image's */
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_SPARSE | ARCHIVE_READDISK_NO_FFLAGS |
						     ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	if (archive_read_disk_open(disk, rootfs) != ARCHIVE_OK)
		return plx_err_set(err, archive_errno(disk) > 0 ? archive_errno(disk) : EIO, "%s: %s", rootfs,
				   archive_error_string(disk));
	for (;;) {
		__attribute__((cleanup(archive_entry_freep_))) struct archive_entry *e = archive_entry_new();
		struct archive_entry *spare = NULL, *out;
		__do_free char *name = NULL;

		if (!e)
			return plx_err_set(err, ENOMEM, "out of memory");
		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			log_warn("template %s: %s", rootfs, archive_error_string(disk));
		else if (r != ARCHIVE_OK)
			return plx_err_set(err, archive_errno(disk) > 0 ? archive_errno(disk) : EIO, "%s: %s",
					   archive_entry_pathname(e) ? archive_entry_pathname(e) : rootfs,
					   archive_error_string(disk));
		archive_read_disk_descend(disk);
		/* a socket is runtime state, and tar has no type for it */
		if (archive_entry_filetype(e) == AE_IFSOCK)
			continue;
		name = member_name(rootfs, rlen, archive_entry_pathname(e));
		if (!name)
			return plx_err_set(err, EINVAL, "%s: entry %s is outside the tree", rootfs,
					   archive_entry_pathname(e));
		archive_entry_set_pathname(e, name);
		/* numeric owners only: names would be looked up in the host's passwd */
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		out = e;
		archive_entry_linkify(links, &out, &spare);
		if (!out)
			continue;
		if (archive_write_header(w, out) < ARCHIVE_WARN)
			return plx_err_set(err, EIO, "%s: %s", name, archive_error_string(w));
		if (archive_entry_filetype(out) == AE_IFREG && archive_entry_size(out) > 0) {
			r = copy_data(disk, w, name, err);
			if (r < 0)
				return r;
		}
		if (st)
			st->entries++;
	}
	return 0;
}

static int write_template(const char *rootfs, int fd, const char *out, struct plx_pve_template_stats *st,
			  struct plx_err *err)
{
	__attribute__((cleanup(archive_write_freep_))) struct archive *w = archive_write_new();
	struct tmpl_out o = {.fd = fd};
	int ret;

	if (!w)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_sha256_init(&o.hash, err);
	if (ret < 0)
		return ret;
	/* pax: long names, xattrs (SCHILY.xattr, which GNU tar --xattrs reads), ACLs, big uids */
	if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(w) != ARCHIVE_OK) {
		ret = plx_err_set(err, ENOTSUP, "%s: libarchive cannot write pax tar with zstd: %s", out,
				  archive_error_string(w));
		plx_sha256_free(&o.hash);
		return ret;
	}
	archive_write_set_bytes_in_last_block(w, 1);
	if (archive_write_open(w, &o, NULL, on_write, NULL) != ARCHIVE_OK) {
		ret = plx_err_set(err, EIO, "%s: %s", out, archive_error_string(w));
		plx_sha256_free(&o.hash);
		return ret;
	}
	ret = write_tree(w, rootfs, st, err);
	if (ret == 0 && archive_write_close(w) != ARCHIVE_OK)
		ret = plx_err_set(err, EIO, "%s: %s", out, archive_error_string(w));
	if (ret == 0 && st) {
		plx_sha256_final(&o.hash, st->sha256);
		st->bytes = o.bytes;
	}
	plx_sha256_free(&o.hash);
	return ret;
}

int plx_pve_template_write(const char *rootfs, const char *out, struct plx_pve_template_stats *st,
			   struct plx_err *err)
{
	__do_free char *root = strdup(rootfs), *tmp = NULL;
	__do_close int fd = -1;
	struct stat sb;
	size_t len;
	int ret;

	if (!root || asprintf(&tmp, "%s.tmp", out) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		root[--len] = '\0';
	if (stat(root, &sb) < 0)
		return plx_err_sys(err, errno, "template: rootfs %s", root);
	if (!S_ISDIR(sb.st_mode))
		return plx_err_set(err, ENOTDIR, "template: rootfs %s is not a directory", root);
	if (st)
		*st = (struct plx_pve_template_stats){};
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return plx_err_sys(err, errno, "template: create %s", tmp);
	ret = write_template(root, fd, out, st, err);
	if (ret == 0 && fsync(fd) < 0)
		ret = plx_err_sys(err, errno, "template: fsync %s", tmp);
	if (ret == 0 && rename(tmp, out) < 0)
		ret = plx_err_sys(err, errno, "template: rename %s to %s", tmp, out);
	if (ret < 0) {
		unlink(tmp);
		return plx_err_prefix(err, "template %s", out);
	}
	return 0;
}

static int unpack_layers(const struct plx_store *s, const struct plx_image *img, int rootfd,
			 struct plx_err *err)
{
	const struct plx_manifest *m = img->manifest;
	const struct plx_image_config *c = img->config;

	if (c->n_diff_ids != m->n_layers)
		return plx_err_set(err, EINVAL, "image %s: config %s lists %zu diff_ids for %zu layers",
				   img->name, m->config.digest, c->n_diff_ids, m->n_layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct plx_descriptor *l = &m->layers[i];
		struct plx_unpack_opts uo = {
			.name = l->digest, .media_type = l->media_type, .diff_id = c->diff_ids[i]};
		__do_close int fd = -1;
		int ret;

		ret = plx_store_open_blob(s, l->digest, &fd, NULL, err);
		if (ret == 0)
			ret = plx_layer_unpack_fd(rootfd, fd, &uo, NULL, err);
		if (ret < 0)
			return plx_err_prefix(err, "image %s", img->name);
	}
	return 0;
}

int plx_pve_template_export(const struct plx_store *s, const struct plx_image *img, const char *out,
			    struct plx_pve_template_stats *st, struct plx_err *err)
{
	__do_free char *copy = strdup(out), *tmpdir = NULL;
	__do_close int rootfd = -1;
	__do_err_clear struct plx_err rm_err = PLX_ERR_INIT;
	int ret;

	if (!copy)
		return plx_err_set(err, ENOMEM, "out of memory");
	/* beside the output: the same file system, not a tmpfs that may be small */
	if (asprintf(&tmpdir, "%s/.%s.rootfs-XXXXXX", dirname(copy), basename((char *)out)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!mkdtemp(tmpdir))
		return plx_err_sys(err, errno, "template: mkdtemp %s", tmpdir);
	/* mkdtemp's 0700 would become the CT's "/" unless a layer sets it */
	if (chmod(tmpdir, 0755) < 0) {
		ret = plx_err_sys(err, errno, "template: chmod %s", tmpdir);
	} else {
		rootfd = plx_inroot_open_root(tmpdir, err);
		ret = rootfd < 0 ? rootfd : unpack_layers(s, img, rootfd, err);
		if (ret == 0)
			ret = plx_pve_template_write(tmpdir, out, st, err);
	}
	if (plx_rm_rf_at(AT_FDCWD, tmpdir, &rm_err) < 0)
		log_warn("template %s: cannot remove %s: %s", out, tmpdir, plx_err_msg(&rm_err));
	return ret;
}
