/* SPDX-License-Identifier: Apache-2.0 */
#include "image/anon_volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/inroot.h"
#include "storage/storage_config.h"
#include "storage/storage_exec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* hex digits of sha256(destination) in a name: 48 bits, plenty for one container's volumes */
#define NAME_HASH_LEN 12

static inline void anon_json_decrefp(json_t **p)
{
	json_decref(*p);
	*p = NULL;
}
#define __do_json_decref __attribute__((cleanup(anon_json_decrefp)))

static inline void anon_storage_freep(struct plx_storage **p)
{
	plx_storage_free(*p);
	*p = NULL;
}
#define __do_storage_free __attribute__((cleanup(anon_storage_freep)))

int plx_anon_volume_name(const char *id, const char *dest, char **out, struct plx_err *err)
{
	char digest[PLX_DIGEST_LEN];
	int ret;

	ret = plx_sha256_buf(dest, strlen(dest), digest, err);
	if (ret < 0)
		return ret;
	if (asprintf(out, "%s-v-%.*s", id, NAME_HASH_LEN, plx_digest_hex(digest)) < 0) {
		*out = NULL;
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	ret = plx_storage_check_id(*out, err);
	if (ret < 0) {
		free(*out);
		*out = NULL;
		return plx_err_prefix(err, "container %s: volume %s: no storage volume name", id, dest);
	}
	return 0;
}

static char *record_path(const char *bundle_dir)
{
	return plx_path_join(bundle_dir, PLX_ANON_VOLUMES_FILE);
}

static int write_record(const char *bundle_dir, const json_t *rec, struct plx_err *err)
{
	__do_free char *path = record_path(bundle_dir);
	__do_free char *text = json_dumps(rec, JSON_INDENT(2));

	if (!path || !text)
		return plx_err_set(err, ENOMEM, "out of memory");
	return plx_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
}

int plx_anon_volumes_read(const char *bundle_dir, json_t **out, struct plx_err *err)
{
	__do_free char *path = record_path(bundle_dir);
	json_error_t je;

	*out = NULL;
	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : plx_err_sys(err, errno, "%s", path);
	*out = json_load_file(path, 0, &je);
	if (!*out)
		return plx_err_set(err, EINVAL, "%s: %s", path, je.text);
	if (!json_is_string(json_object_get(*out, "driver")) || !json_is_string(json_object_get(*out, "base")) ||
	    !json_is_object(json_object_get(*out, "volumes"))) {
		json_decref(steal_ptr(*out));
		return plx_err_set(err, EINVAL, "%s: expected strings driver, base and an object volumes", path);
	}
	return 0;
}

/* The volume's initial content: what the image has at dest, resolved inside the image's tree. */
static int fill_volume(int rootfd, const char *dest, const char *path, struct plx_err *err)
{
	__do_free char *clean = NULL;
	__do_free char *src = NULL;
	int fd, ret;

	ret = plx_inroot_clean_name(dest + strspn(dest, "/"), &clean);
	if (ret < 0)
		return plx_err_set(err, -ret, "volume %s: not a clean absolute path", dest);
	/* cp (a child) reaches the directory through our /proc/PID/fd, never through a path in the image */
	fd = plx_inroot_openat(rootfd, clean, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd == -ENOTDIR || fd == -ELOOP)
		return plx_err_set(err, ENOTDIR, "volume %s: the image has a file or symlink there, not a directory",
				   dest);
	if (fd < 0)
		return plx_err_sys(err, -fd, "volume %s: open it in the image", dest);
	if (asprintf(&src, "/proc/%d/fd/%d/.", (int)getpid(), fd) < 0) {
		src = NULL;
		close(fd);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	char *argv[] = { "cp", "-a", "--reflink=auto", "-T", "--", src, (char *)path, NULL };
	ret = plx_storage_run(argv, NULL, err);
	close(fd);
	if (ret < 0)
		return plx_err_prefix(err, "volume %s: copy the image's content", dest);
	return 0;
}

static void destroy_quietly(struct plx_storage *s, const char *name)
{
	struct plx_err e = PLX_ERR_INIT;

	if (plx_storage_destroy(s, name, &e) < 0 && e.code != ENOENT)
		log_warn("storage %s %s: cannot remove volume %s: %s", s->ops->name, s->base, name, plx_err_msg(&e));
	plx_err_clear(&e);
}

int plx_anon_volumes_make(struct plx_storage *s, const char *bundle_dir, const char *id, int rootfd,
			  char *const *dests, const json_t *keep, json_t **sources, struct plx_err *err)
{
	__do_json_decref json_t *rec = NULL;
	__do_json_decref json_t *src = json_object();
	json_t *vols;
	size_t made = 0;
	int ret = 0;

	*sources = NULL;
	rec = json_pack("{s:s, s:s, s:{}}", "driver", s->ops->name, "base", s->base, "volumes");
	if (!rec || !src)
		return plx_err_set(err, ENOMEM, "out of memory");
	vols = json_object_get(rec, "volumes");
	for (size_t i = 0; dests && dests[i]; i++) {
		const char *kept = json_string_value(json_object_get(keep, dests[i]));
		__do_free char *name = NULL;
		bool exists;

		if (kept) {
			name = strdup(kept);
			if (!name)
				return plx_err_set(err, ENOMEM, "out of memory");
		} else {
			ret = plx_anon_volume_name(id, dests[i], &name, err);
			if (ret < 0)
				return ret;
			ret = plx_storage_exists(s, name, &exists, err);
			if (ret < 0)
				return ret;
			/* never adopt (and later destroy) a volume this container did not make */
			if (exists)
				return plx_err_set(err, EEXIST, "volume %s: storage %s %s: volume %s already exists",
						   dests[i], s->ops->name, s->base, name);
		}
		if (json_object_set_new(vols, dests[i], json_string(name)) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	/* recorded first: a create killed from here on leaves what release needs */
	ret = write_record(bundle_dir, rec, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; dests && dests[i]; i++) {
		const char *name = json_string_value(json_object_get(vols, dests[i]));
		bool kept = json_object_get(keep, dests[i]) != NULL;
		__do_free char *path = NULL;

		if (!kept) {
			ret = plx_storage_create(s, name, 0, err);
			if (ret < 0)
				break;
			made = i + 1;
		}
		ret = plx_storage_path(s, name, &path, err);
		if (ret == 0 && !kept)
			ret = fill_volume(rootfd, dests[i], path, err);
		if (ret == 0 && json_object_set_new(src, dests[i], json_string(path)) < 0)
			ret = plx_err_set(err, ENOMEM, "out of memory");
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		for (size_t i = 0; i < made; i++)
			if (!json_object_get(keep, dests[i]))
				destroy_quietly(s, json_string_value(json_object_get(vols, dests[i])));
		return plx_err_prefix(err, "anonymous volumes on %s %s", s->ops->name, s->base);
	}
	*sources = steal_ptr(src);
	return 0;
}

static int open_record_storage(const json_t *rec, struct plx_storage **s, struct plx_err *err)
{
	const char *driver = json_string_value(json_object_get(rec, "driver"));
	enum plx_storage_driver d;

	if (plx_storage_driver_from_name(driver, &d) < 0)
		return plx_err_set(err, EINVAL, "volume record: unknown driver \"%s\"", driver);
	const struct plx_storage_ops *ops = d == PLX_STORAGE_ZFS ? &plx_storage_zfs_ops :
					    d == PLX_STORAGE_BTRFS ? &plx_storage_btrfs_ops :
								     &plx_storage_dir_ops;
	return plx_storage_open(ops, json_string_value(json_object_get(rec, "base")), s, err);
}

static bool is_excepted(const json_t *except, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)except, k, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

int plx_anon_volumes_release(const char *bundle_dir, const json_t *except, struct plx_err *err)
{
	__do_json_decref json_t *rec = NULL;
	__do_storage_free struct plx_storage *s = NULL;
	const char *dest;
	json_t *v;
	int ret;

	ret = plx_anon_volumes_read(bundle_dir, &rec, err);
	if (ret < 0 || !rec)
		return ret;
	ret = open_record_storage(rec, &s, err);
	if (ret == -ENOENT) {
		log_warn("%s; the volumes of %s are gone with it", plx_err_msg(err), bundle_dir);
		plx_err_clear(err);
		return plx_anon_volumes_forget(bundle_dir, err);
	}
	if (ret < 0)
		return ret;
	json_object_foreach(json_object_get(rec, "volumes"), dest, v) {
		struct plx_err e = PLX_ERR_INIT;

		if (!json_is_string(v) || is_excepted(except, json_string_value(v)))
			continue;
		ret = plx_storage_destroy(s, json_string_value(v), &e);
		if (ret < 0 && e.code != ENOENT) {
			ret = plx_err_set(err, e.code, "volume %s: %s", dest, plx_err_msg(&e));
			plx_err_clear(&e);
			return ret;
		}
		plx_err_clear(&e);
	}
	return plx_anon_volumes_forget(bundle_dir, err);
}

int plx_anon_volumes_forget(const char *bundle_dir, struct plx_err *err)
{
	__do_free char *path = record_path(bundle_dir);

	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (unlink(path) < 0 && errno != ENOENT)
		return plx_err_sys(err, errno, "remove %s", path);
	return 0;
}
