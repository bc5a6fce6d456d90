/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The managed rootfs of a container: a volume on a storage driver made by
 * create (plan, then make) and destroyed by delete (release).
 *
 * A volume is filled from the bundle's rootfs by an O(1) clone when that
 * rootfs is itself on the same storage:
 *   zfs    the mountpoint of a dataset PARENT/X: snapshot X@plx-base-<id>, clone it;
 *          X's snapshot directory .../.zfs/snapshot/S: clone X@S
 *   btrfs  BASE/volumes/X: read-only snapshot, writable snapshot of it, drop the first;
 *          BASE/snapshots/X/S: writable snapshot of it
 * and otherwise by a new volume (with the size limit) and `cp -a --reflink=auto`.
 * A zfs clone keeps depending on its origin snapshot: release hands the
 * snapshots of a volume to the volumes cloned from them (zfs promote) before
 * destroying it, and destroys the plx-base snapshot it made on the source.
 */
#include "core/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "image/layer_store.h"
#include "storage/storage_config.h"
#include "storage/storage_exec.h"
#include "storage/storage_layout.h"
#include "storage/storage_zfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

#define BASE_SNAP_PREFIX "plx-base-"
#define FUSE_MAGIC 0x65735546 /* zfs-fuse */
#define ZFS_MAGIC 0x2fc12fc1  /* OpenZFS */
/* promote rounds before giving up: each moves at least one snapshot */
#define PROMOTE_MAX 64

static inline void rootfs_json_decrefp(json_t **p)
{
	json_decref(*p);
	*p = NULL;
}
#define __do_json_decref __attribute__((cleanup(rootfs_json_decrefp)))

static inline void rootfs_storage_freep(struct plx_storage **p)
{
	plx_storage_free(*p);
	*p = NULL;
}
#define __do_storage_free __attribute__((cleanup(rootfs_storage_freep)))

static const char *rec_str(const json_t *record, const char *key)
{
	return json_string_value(json_object_get(record, key));
}

int plx_rootfs_parse_size(const char *s, const char *what, uint64_t *out, struct plx_err *err)
{
	return plx_storage_parse_size(s, what, out, err);
}

int plx_rootfs_open(const json_t *record, struct plx_storage **s, const char **volume, struct plx_err *err)
{
	const char *driver = rec_str(record, "driver"), *base = rec_str(record, "base");
	const char *vol = rec_str(record, "volume");
	enum plx_storage_driver d;

	if (!driver || !base || !vol)
		return plx_err_set(err, EINVAL, "storage record: expected strings driver, base and volume");
	if (plx_storage_driver_from_name(driver, &d) < 0)
		return plx_err_set(err, EINVAL, "storage record: unknown driver \"%s\"", driver);
	const struct plx_storage_ops *ops = d == PLX_STORAGE_ZFS ? &plx_storage_zfs_ops :
					    d == PLX_STORAGE_BTRFS ? &plx_storage_btrfs_ops :
								     &plx_storage_dir_ops;
	int ret = plx_storage_open(ops, base, s, err);
	if (ret < 0)
		return ret;
	if (volume)
		*volume = vol;
	return 0;
}

/* The size limit: the annotation, else the config's storage.size, else none. */
static int size_limit(const struct plx_storage_config *c, const json_t *annotations, uint64_t *out,
		      struct plx_err *err)
{
	json_t *a = annotations ? json_object_get(annotations, PLX_ROOTFS_SIZE_ANNOTATION) : NULL;

	*out = c->size;
	if (!a)
		return 0;
	if (!json_is_string(a))
		return plx_err_set(err, EINVAL, "annotation %s: expected string", PLX_ROOTFS_SIZE_ANNOTATION);
	return plx_storage_parse_size(json_string_value(a), "annotation " PLX_ROOTFS_SIZE_ANNOTATION, out,
				      err);
}

/* "plx-base-<id>", or NULL when the ID makes no valid snapshot name (a '+', too long). */
static char *base_snap_name(const char *id)
{
	char *snap;

	if (asprintf(&snap, BASE_SNAP_PREFIX "%s", id) < 0)
		return NULL;
	if (plx_storage_check_snapshot_name(snap, NULL) < 0) {
		free(snap);
		return NULL;
	}
	return snap;
}

/* zfs: the child dataset of base mounted at rootfs (or whose snapshot directory it is). */
static int zfs_find_source(const char *base, const char *rootfs, char **vol, char **snap, struct plx_err *err)
{
	__do_free char *text = NULL;
	__do_strv_free char **lines = NULL;
	struct statfs sfs;
	char *argv[] = { "zfs", "list", "-H", "-o", "name,mountpoint", "-d", "1", "-t", "filesystem",
			 (char *)base, NULL };
	size_t blen = strlen(base);
	int ret;

	/* not on zfs: no need to ask it */
	if (statfs(rootfs, &sfs) < 0 || (sfs.f_type != FUSE_MAGIC && sfs.f_type != ZFS_MAGIC))
		return 0;
	ret = plx_storage_run(argv, &text, err);
	if (ret == 0)
		ret = plx_zfs_split_lines(text, &lines, err);
	if (ret < 0)
		return ret;
	for (char **l = lines; *l; l++) {
		char *mp = strchr(*l, '\t'), *leaf = *l + blen + 1;
		char real[PATH_MAX];

		if (!mp || strncmp(*l, base, blen) != 0 || (*l)[blen] != '/')
			continue;
		*mp++ = '\0';
		if (!realpath(mp, real))
			continue;
		for (char *p = leaf; *p; p++)
			if (*p == ':')
				*p = '+';
		if (plx_storage_check_id(leaf, NULL) < 0)
			continue;
		size_t mlen = strlen(real);
		const char *rest = rootfs + mlen;
		if (strncmp(rootfs, real, mlen) != 0)
			continue;
		if (*rest == '\0') {
			*vol = strdup(leaf);
			return *vol ? 0 : plx_err_set(err, ENOMEM, "out of memory");
		}
		if (strncmp(rest, "/.zfs/snapshot/", 15) == 0 && plx_storage_check_snapshot_name(rest + 15, NULL) == 0) {
			*vol = strdup(leaf);
			*snap = strdup(rest + 15);
			return *vol && *snap ? 0 : plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* btrfs: rootfs is BASE/volumes/X or BASE/snapshots/X/S of this storage. */
static int btrfs_find_source(struct plx_storage *s, const char *rootfs, char **vol, char **snap,
			     struct plx_err *err)
{
	char base[PATH_MAX];
	const char *rest;
	size_t blen;
	bool exists;

	if (!realpath(s->base, base))
		return 0;
	blen = strlen(base);
	if (strncmp(rootfs, base, blen) != 0 || rootfs[blen] != '/')
		return 0;
	rest = rootfs + blen + 1;
	if (strncmp(rest, "volumes/", 8) == 0 && plx_storage_check_id(rest + 8, NULL) == 0) {
		if (plx_storage_exists(s, rest + 8, &exists, err) < 0)
			return -err->code;
		if (exists && !(*vol = strdup(rest + 8)))
			return plx_err_set(err, ENOMEM, "out of memory");
		return 0;
	}
	if (strncmp(rest, "snapshots/", 10) == 0) {
		__do_free char *v = strdup(rest + 10);
		char *slash = v ? strchr(v, '/') : NULL;

		if (!slash)
			return v ? 0 : plx_err_set(err, ENOMEM, "out of memory");
		*slash = '\0';
		if (plx_storage_check_id(v, NULL) < 0 || plx_storage_check_snapshot_name(slash + 1, NULL) < 0)
			return 0;
		*snap = strdup(slash + 1);
		*vol = steal_ptr(v);
		return *snap ? 0 : plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * How to fill the volume: the plan keys "clone_volume" (+ "clone_snapshot"
 * when it exists already) or "copy_from".  A new base snapshot is recorded
 * as "origin" before it is made, so a killed create leaves it findable.
 */
static int plan_source(struct plx_storage *s, enum plx_storage_driver d, const char *id, uint64_t limit,
		       const char *rootfs, json_t *rec, struct plx_err *err)
{
	__do_free char *vol = NULL, *snap = NULL, *base_snap = NULL;
	char real[PATH_MAX];
	int ret = 0;

	if (!realpath(rootfs, real))
		return plx_err_sys(err, errno, "rootfs %s", rootfs);
	/* dir has no clones (a clone is a copy too); a btrfs clone cannot take a limit through the driver */
	if (d == PLX_STORAGE_ZFS)
		ret = zfs_find_source(s->base, real, &vol, &snap, err);
	else if (d == PLX_STORAGE_BTRFS && !limit)
		ret = btrfs_find_source(s, real, &vol, &snap, err);
	if (ret < 0)
		return ret;
	if (vol && !snap && !(base_snap = base_snap_name(id))) {
		free(steal_ptr(vol)); /* no snapshot name for this ID: copy */
	}
	if (!vol) {
		if (json_object_set_new(rec, "copy_from", json_string(real)) < 0 ||
		    json_object_set_new(rec, "source", json_sprintf("copy of %s", real)) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		return 0;
	}
	const char *from = snap ? snap : base_snap;
	if (json_object_set_new(rec, "clone_volume", json_string(vol)) < 0 ||
	    json_object_set_new(rec, "clone_snapshot", json_string(from)) < 0 ||
	    json_object_set_new(rec, "source", json_sprintf("clone of %s@%s", vol, from)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	/* zfs keeps the base snapshot while the clone lives: release destroys it */
	if (!snap && d == PLX_STORAGE_ZFS &&
	    json_object_set_new(rec, "origin", json_pack("{s:s, s:s}", "volume", vol, "snapshot", from)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!snap && json_object_set_new(rec, "new_snapshot", json_true()) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* Never adopt (and later destroy) a volume another runtime root made. */
static int need_new_volume(struct plx_storage *s, const char *volume, struct plx_err *err)
{
	bool exists;
	int ret = plx_storage_exists(s, volume, &exists, err);

	if (ret < 0)
		return plx_err_prefix(err, "storage %s %s", s->ops->name, s->base);
	if (exists)
		return plx_err_set(err, EEXIST, "storage %s %s: volume %s already exists", s->ops->name, s->base,
				   volume);
	return 0;
}

/* The plan of volume on s (checked not to exist yet), filled from rootfs. */
static int plan_on(struct plx_storage *s, enum plx_storage_driver d, const char *volume, uint64_t limit,
		   const char *bundle_rootfs, json_t **record, struct plx_err *err)
{
	__do_json_decref json_t *rec = NULL;
	int ret;

	ret = need_new_volume(s, volume, err);
	if (ret < 0)
		return ret;
	rec = json_pack("{s:s, s:s, s:s}", "driver", s->ops->name, "base", s->base, "volume", volume);
	if (!rec || (limit && json_object_set_new(rec, "size", json_integer((json_int_t)limit)) < 0))
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plan_source(s, d, volume, limit, bundle_rootfs, rec, err);
	if (ret < 0)
		return ret;
	*record = steal_ptr(rec);
	return 0;
}

/* overlay hook: the plan of an overlay volume on the dir storage s over the layer chain from top. */
static int plan_overlay(struct plx_storage *s, const char *volume, const char *top, json_t **record,
			struct plx_err *err)
{
	__do_json_decref json_t *rec = NULL;
	__do_json_decref json_t *layers = json_array();
	__do_strv_free char **dirs = NULL;
	int ret;

	ret = need_new_volume(s, volume, err);
	if (ret < 0)
		return ret;
	ret = plx_layer_dirs_chain(s->base, top, &dirs, err);
	if (ret < 0)
		return plx_err_prefix(err, "annotation %s", PLX_ROOTFS_LAYER_ANNOTATION);
	for (char **d = dirs; layers && *d; d++)
		if (json_array_append_new(layers, json_string(*d)) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	rec = json_pack("{s:s, s:s, s:s, s:o, s:O}", "driver", s->ops->name, "base", s->base, "volume", volume,
			"source", json_sprintf("overlay on %s (%zu layers)", top, plx_strv_len(dirs)), "layers",
			layers);
	if (!rec)
		return plx_err_set(err, ENOMEM, "out of memory");
	*record = steal_ptr(rec);
	return 0;
}

int plx_rootfs_size_limit(const struct plx_config *cfg, const json_t *annotations, uint64_t *out,
			  struct plx_err *err)
{
	struct plx_storage_config sc __attribute__((cleanup(plx_storage_config_clear))) = { 0 };
	int ret = plx_storage_config_parse(cfg ? cfg->storage : NULL, &sc, err);

	if (ret < 0)
		return plx_err_prefix(err, "%s", cfg && cfg->path ? cfg->path : "runtime config");
	return size_limit(&sc, annotations, out, err);
}

int plx_rootfs_plan(const struct plx_config *cfg, const char *id, const json_t *annotations,
		    const char *bundle_rootfs, json_t **record, struct plx_err *err)
{
	struct plx_storage_config sc __attribute__((cleanup(plx_storage_config_clear))) = { 0 };
	__do_storage_free struct plx_storage *s = NULL;
	enum plx_storage_driver d;
	uint64_t limit = 0;
	int ret;

	*record = NULL;
	ret = plx_storage_config_parse(cfg ? cfg->storage : NULL, &sc, err);
	if (ret == 0)
		ret = plx_storage_pick(&sc, annotations, &d, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s", cfg && cfg->path ? cfg->path : "runtime config");
	/* overlay hook: a bundle made on dir layer directories */
	const char *layer = json_string_value(json_object_get(annotations, PLX_ROOTFS_LAYER_ANNOTATION));
	if (layer && d != PLX_STORAGE_DIR)
		return plx_err_set(err, EINVAL, "annotation %s: an overlay of layer directories needs the dir storage "
				   "driver, not %s", PLX_ROOTFS_LAYER_ANNOTATION,
				   d == PLX_STORAGE_NONE ? "none" : plx_storage_driver_name(d));
	if (d == PLX_STORAGE_NONE)
		return 0;
	ret = size_limit(&sc, annotations, &limit, err);
	if (ret < 0)
		return ret;
	ret = plx_storage_open_configured(&sc, d, &s, err);
	if (ret < 0)
		return ret;
	if (layer)
		return plan_overlay(s, id, layer, record, err);
	return plan_on(s, d, id, limit, bundle_rootfs, record, err);
}

int plx_rootfs_plan_volume(const struct plx_rootfs_target *t, const char *bundle_rootfs, json_t **record,
			   struct plx_err *err)
{
	__do_storage_free struct plx_storage *s = NULL;
	const struct plx_storage_ops *ops = t->driver == PLX_STORAGE_ZFS   ? &plx_storage_zfs_ops :
					    t->driver == PLX_STORAGE_BTRFS ? &plx_storage_btrfs_ops :
					    t->driver == PLX_STORAGE_DIR   ? &plx_storage_dir_ops :
									     NULL;
	int ret;

	*record = NULL;
	if (!ops)
		return plx_err_set(err, EINVAL, "managed rootfs %s: no storage driver", t->volume);
	ret = plx_storage_check_id(t->volume, err);
	if (ret == 0)
		ret = plx_storage_open(ops, t->base, &s, err);
	if (ret < 0)
		return ret;
	return plan_on(s, t->driver, t->volume, t->size, bundle_rootfs, record, err);
}

static int zfs_set_refquota(struct plx_storage *s, const char *vol, uint64_t limit, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, vol);
	__do_free char *q = NULL;

	if (!ds || asprintf(&q, "refquota=%llu", (unsigned long long)limit) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	char *argv[] = { "zfs", "set", q, ds, NULL };
	return plx_storage_run(argv, NULL, err);
}

/* Drop what a failed make left; its own errors are only logged. */
static void drop_volume(struct plx_storage *s, const char *vol)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;

	if (plx_storage_destroy(s, vol, &e) < 0 && e.code != ENOENT)
		log_warn("storage %s %s: cannot remove the half-made volume %s: %s", s->ops->name, s->base, vol,
			 plx_err_msg(&e));
}

static void drop_snapshot(struct plx_storage *s, const char *vol, const char *snap)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	__do_free char *dir = NULL;

	if (plx_storage_destroy_snapshot(s, vol, snap, &e) < 0 && e.code != ENOENT)
		log_warn("storage %s %s: cannot remove snapshot %s@%s: %s", s->ops->name, s->base, vol, snap,
			 plx_err_msg(&e));
	/* btrfs/dir: the snapshot directory of vol, if this was its only snapshot */
	if (strcmp(s->ops->name, "zfs") != 0 && (dir = plx_layout_snapdir(s->base, vol)))
		rmdir(dir);
}

static int make_clone(struct plx_storage *s, const char *id, const json_t *rec, char **path,
		      struct plx_err *err)
{
	const char *src = rec_str(rec, "clone_volume"), *snap = rec_str(rec, "clone_snapshot");
	bool new_snap = json_is_true(json_object_get(rec, "new_snapshot"));
	bool zfs = strcmp(s->ops->name, "zfs") == 0;
	json_int_t limit = json_integer_value(json_object_get(rec, "size"));
	int ret = 0;

	if (new_snap)
		ret = plx_storage_snapshot(s, src, snap, err);
	if (ret == 0)
		ret = plx_storage_clone_from(s, src, snap, id, err);
	if (ret == 0) {
		if (zfs && limit > 0)
			ret = zfs_set_refquota(s, id, (uint64_t)limit, err);
		if (ret == 0)
			ret = plx_storage_path(s, id, path, err);
		if (ret < 0)
			drop_volume(s, id);
	}
	/* a btrfs clone is independent of its snapshot; a zfs clone needs it until release */
	if (new_snap && (ret < 0 || !zfs))
		drop_snapshot(s, src, snap);
	return ret;
}

static int make_copy(struct plx_storage *s, const char *id, const json_t *rec, char **path,
		     struct plx_err *err)
{
	json_int_t limit = json_integer_value(json_object_get(rec, "size"));
	int ret = plx_storage_create(s, id, (uint64_t)limit, err);

	if (ret < 0)
		return ret;
	ret = plx_storage_path(s, id, path, err);
	if (ret == 0) {
		/* -T: the contents (and the top directory's owner and mode) into the existing volume */
		char *argv[] = { "cp", "-a", "--reflink=auto", "-T", "--", (char *)rec_str(rec, "copy_from"),
				 *path, NULL };
		ret = plx_storage_run(argv, NULL, err);
	}
	if (ret < 0)
		drop_volume(s, id);
	return ret;
}

/* overlay hook: a new volume with upper/, work/ and the names of the layers it uses. */
static int make_overlay(struct plx_storage *s, const char *id, const json_t *rec, char **path,
			struct plx_err *err)
{
	const json_t *layers = json_object_get(rec, "layers");
	__do_free char *names = NULL;
	size_t len = 0, i;
	__do_fclose FILE *f = open_memstream(&names, &len);
	__do_close int vfd = -1;
	json_t *l;
	int ret;

	if (!f)
		return plx_err_set(err, ENOMEM, "out of memory");
	json_array_foreach(layers, i, l) {
		/* ".../layers/<name>/diff" -> <name> */
		const char *p = json_string_value(l), *end = p ? strrchr(p, '/') : NULL, *start = end;

		while (start && start > p && start[-1] != '/')
			start--;
		if (!end || !start)
			return plx_err_set(err, EINVAL, "storage record: layers[%zu]: expected a layer path", i);
		fprintf(f, "%.*s\n", (int)(end - start), start);
	}
	if (fclose(steal_ptr(f)) != 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_storage_create(s, id, 0, err);
	if (ret < 0)
		return ret;
	ret = plx_storage_path(s, id, path, err);
	if (ret == 0 && (vfd = open(*path, O_DIRECTORY | O_CLOEXEC)) < 0)
		ret = plx_err_sys(err, errno, "open %s", *path);
	if (ret == 0 && (mkdirat(vfd, "upper", 0755) < 0 || mkdirat(vfd, "work", 0700) < 0))
		ret = plx_err_sys(err, errno, "mkdir upper and work in %s", *path);
	if (ret == 0)
		ret = plx_write_file_atomic_at(vfd, PLX_LAYER_DIRS_USERS_FILE, names, len, 0644, err);
	if (ret < 0)
		drop_volume(s, id);
	return ret;
}

int plx_rootfs_make(json_t *record, struct plx_err *err)
{
	__do_storage_free struct plx_storage *s = NULL;
	__do_free char *path = NULL;
	const char *id;
	int ret;

	ret = plx_rootfs_open(record, &s, &id, err);
	if (ret < 0)
		return ret;
	if (json_object_get(record, "clone_volume")) {
		ret = make_clone(s, id, record, &path, err);
	} else if (json_object_get(record, "layers")) {
		ret = make_overlay(s, id, record, &path, err); /* overlay hook */
	} else {
		ret = make_copy(s, id, record, &path, err);
	}
	if (ret < 0)
		return plx_err_prefix(err, "managed rootfs %s on %s %s", id, s->ops->name, s->base);
	if (json_object_set_new(record, "path", json_string(path)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	/* the plan's working keys are not part of the record */
	json_object_del(record, "clone_volume");
	json_object_del(record, "clone_snapshot");
	json_object_del(record, "new_snapshot");
	json_object_del(record, "copy_from");
	return 0;
}

int plx_rootfs_prepare(const struct plx_config *cfg, const char *id, const json_t *annotations,
		       const char *bundle_rootfs, char **path, json_t **record, struct plx_err *err)
{
	__do_json_decref json_t *rec = NULL;
	int ret;

	*path = NULL;
	*record = NULL;
	ret = plx_rootfs_plan(cfg, id, annotations, bundle_rootfs, &rec, err);
	if (ret < 0 || !rec)
		return ret;
	ret = plx_rootfs_make(rec, err);
	if (ret < 0)
		return ret;
	*path = strdup(rec_str(rec, "path"));
	if (!*path)
		return plx_err_set(err, ENOMEM, "out of memory");
	*record = steal_ptr(rec);
	return 0;
}

int plx_rootfs_clone_snapshot(const json_t *src_record, const char *snap, const char *new_id, char **path,
			      json_t **record, struct plx_err *err)
{
	__do_storage_free struct plx_storage *s = NULL;
	__do_json_decref json_t *rec = NULL;
	__do_free char *p = NULL;
	const char *src;
	int ret;

	*path = NULL;
	*record = NULL;
	ret = plx_rootfs_open(src_record, &s, &src, err);
	if (ret < 0)
		return ret;
	ret = plx_storage_clone_from(s, src, snap, new_id, err);
	if (ret < 0)
		return plx_err_prefix(err, "clone %s@%s to %s on %s %s", src, snap, new_id, s->ops->name, s->base);
	ret = plx_storage_path(s, new_id, &p, err);
	if (ret == 0 && !(rec = json_pack("{s:s, s:s, s:s, s:s, s:o}", "driver", s->ops->name, "base", s->base,
					  "volume", new_id, "path", p, "source",
					  json_sprintf("clone of %s@%s", src, snap))))
		ret = plx_err_set(err, ENOMEM, "out of memory");
	/* overlay hook: the clone holds upper/; the layers stay the same */
	if (ret == 0 && json_object_get(src_record, "layers") &&
	    json_object_set(rec, "layers", json_object_get(src_record, "layers")) < 0)
		ret = plx_err_set(err, ENOMEM, "out of memory");
	if (ret < 0) {
		drop_volume(s, new_id);
		return ret;
	}
	*path = steal_ptr(p);
	*record = steal_ptr(rec);
	return 0;
}

/*
 * zfs: hand every snapshot of vol that another dataset was cloned from to
 * that clone (zfs promote), so vol can be destroyed without taking the
 * clone's origin with it.
 */
static int zfs_promote_clones(struct plx_storage *s, const char *vol, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, vol);
	__do_free char *pool = strndup(s->base, strcspn(s->base, "/"));
	__do_free char *prefix = NULL;

	if (!ds || !pool || asprintf(&prefix, "%s@", ds) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (int round = 0; round < PROMOTE_MAX; round++) {
		__do_free char *text = NULL;
		__do_strv_free char **lines = NULL;
		char *argv[] = { "zfs", "list", "-H", "-o", "name,origin", "-t", "filesystem", "-r", pool, NULL };
		char *clone = NULL;
		int ret = plx_storage_run(argv, &text, err);

		if (ret == 0)
			ret = plx_zfs_split_lines(text, &lines, err);
		if (ret < 0)
			return ret;
		for (char **l = lines; *l && !clone; l++) {
			char *origin = strchr(*l, '\t');

			if (origin && strncmp(origin + 1, prefix, strlen(prefix)) == 0) {
				*origin = '\0';
				clone = *l;
			}
		}
		if (!clone)
			return 0;
		log_info("zfs: promoting %s, a clone of a snapshot of %s, before destroying it", clone, ds);
		char *pargv[] = { "zfs", "promote", clone, NULL };
		ret = plx_storage_run(pargv, NULL, err);
		if (ret < 0)
			return ret;
	}
	return plx_err_set(err, EBUSY, "zfs: %s still has dependent clones after %d promotions", ds, PROMOTE_MAX);
}

int plx_rootfs_release(const json_t *record, struct plx_err *err)
{
	__do_storage_free struct plx_storage *s = NULL;
	const json_t *origin = json_object_get(record, "origin");
	const char *vol;
	bool exists = false;
	int ret;

	ret = plx_rootfs_open(record, &s, &vol, err);
	if (ret == -ENOENT) {
		/* the pool or directory is gone, and the volume with it */
		log_warn("%s; its volume %s is gone with it", plx_err_msg(err), rec_str(record, "volume"));
		plx_err_clear(err);
		return 0;
	}
	if (ret < 0)
		return ret;
	ret = plx_storage_exists(s, vol, &exists, err);
	if (ret == 0 && exists && strcmp(s->ops->name, "zfs") == 0)
		ret = zfs_promote_clones(s, vol, err);
	if (ret == 0 && exists)
		ret = plx_storage_destroy(s, vol, err);
	if (ret < 0)
		return plx_err_prefix(err, "release managed rootfs %s on %s %s", vol, s->ops->name, s->base);
	if (origin)
		drop_snapshot(s, rec_str(origin, "volume"), rec_str(origin, "snapshot"));
	return 0;
}

/* ---- overlay hook ---- */

void plx_rootfs_overlay_clear(struct plx_rootfs_overlay *o)
{
	plx_strv_free(o->lowers);
	free(o->upper);
	free(o->work);
	free(o->target);
	*o = (struct plx_rootfs_overlay){ 0 };
}

int plx_rootfs_overlay_get(const json_t *record, const char *statedir, struct plx_rootfs_overlay *o,
			   char **rootfs, struct plx_err *err)
{
	const json_t *layers = json_object_get(record, "layers");
	const char *path = rec_str(record, "path");
	__do_free char *copy = NULL;
	size_t i;
	json_t *l;

	if (!layers)
		return 0;
	if (!json_is_array(layers) || !json_array_size(layers) || !path)
		return plx_err_set(err, EINVAL, "storage record: expected \"layers\" (a list of paths) and \"path\"");
	json_array_foreach(layers, i, l) {
		if (!json_is_string(l) || json_string_value(l)[0] != '/') {
			plx_rootfs_overlay_clear(o);
			return plx_err_set(err, EINVAL, "storage record: layers[%zu]: expected an absolute path", i);
		}
		if (plx_strv_append(&o->lowers, json_string_value(l)) < 0) {
			plx_rootfs_overlay_clear(o);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	o->upper = plx_path_join(path, "upper");
	o->work = plx_path_join(path, "work");
	o->target = plx_path_join(statedir, "rootfs");
	copy = o->target ? strdup(o->target) : NULL;
	if (!o->upper || !o->work || !copy) {
		plx_rootfs_overlay_clear(o);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	if (mkdir(o->target, 0755) < 0 && errno != EEXIST) {
		int ret = plx_err_sys(err, errno, "mkdir %s", o->target);

		plx_rootfs_overlay_clear(o);
		return ret;
	}
	o->mount = (struct plx_overlay){ .lowers = o->lowers, .upper = o->upper, .work = o->work,
					 .target = o->target };
	free(*rootfs);
	*rootfs = steal_ptr(copy);
	return 0;
}
