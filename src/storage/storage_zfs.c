/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The zfs driver, through the zfs command as Proxmox VE uses it: the same
 * calls work with OpenZFS and with zfs-fuse.  zfs-fuse's `zfs list` has no
 * -p, so parsable values come from `zfs get -H -p`.
 */
#include "storage/storage_zfs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage_exec.h"
#include "storage/storage_layout.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

/* zfs-fuse reports "dataset is busy" for a moment after a clone is mounted. */
#define BUSY_RETRIES 30
#define BUSY_WAIT_NS (100 * 1000 * 1000L)

char *plx_zfs_dataset(const char *parent, const char *id)
{
	char *ds;

	if (asprintf(&ds, "%s/%s", parent, id) < 0)
		return NULL;
	for (char *p = ds + strlen(parent); *p; p++)
		if (*p == '+')
			*p = ':';
	return ds;
}

int plx_zfs_split_lines(const char *text, char ***out, struct plx_err *err)
{
	__do_strv_free char **v = calloc(1, sizeof(char *));
	const char *p = text;

	if (!v)
		return plx_err_set(err, ENOMEM, "out of memory");
	while (*p) {
		const char *nl = strchrnul(p, '\n');
		__do_free char *line = strndup(p, (size_t)(nl - p));

		if (!line || (line[0] && plx_strv_append(&v, line) < 0))
			return plx_err_set(err, ENOMEM, "out of memory");
		p = *nl ? nl + 1 : nl;
	}
	*out = steal_ptr(v);
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int plx_zfs_parse_snapshot_props(const char *text, char *const *names, size_t n,
				 struct plx_storage_snapshot **out, struct plx_err *err)
{
	__do_strv_free char **lines = NULL;
	struct plx_storage_snapshot *v;
	int ret;

	*out = NULL;
	ret = plx_zfs_split_lines(text, &lines, err);
	if (ret < 0)
		return ret;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *at = strchr(names[i], '@');

		v[i].created = v[i].size = INT64_MIN;
		v[i].name = strdup(at ? at + 1 : names[i]);
		if (!v[i].name) {
			plx_storage_snapshots_free(v, n);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
	}
	for (char **l = lines; *l; l++) {
		char *f1 = *l, *f2 = strchr(f1, '\t'), *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
		int64_t val;
		size_t i;

		if (!f3) {
			plx_storage_snapshots_free(v, n);
			return plx_err_set(err, EINVAL, "zfs get: unexpected line \"%s\"", *l);
		}
		*f2++ = '\0';
		*f3++ = '\0';
		for (i = 0; i < n && strcmp(names[i], f1) != 0; i++)
			;
		if (i == n)
			continue;
		if (parse_i64(f3, &val) < 0) {
			plx_storage_snapshots_free(v, n);
			return plx_err_set(err, EINVAL, "zfs get: %s %s: expected an integer, got \"%s\"", f1, f2,
					   f3);
		}
		if (strcmp(f2, "creation") == 0)
			v[i].created = val;
		else if (strcmp(f2, "used") == 0)
			v[i].size = val;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].created == INT64_MIN || v[i].size == INT64_MIN) {
			plx_err_set(err, EINVAL, "zfs get: no %s for %s",
				    v[i].created == INT64_MIN ? "creation" : "used", names[i]);
			plx_storage_snapshots_free(v, n);
			return -EINVAL;
		}
	*out = v;
	return 0;
}

/* `zfs get -H -p -o value PROP DS` into *out (trimmed). */
static int zfs_get(const char *ds, const char *prop, char **out, struct plx_err *err)
{
	char *argv[] = { "zfs", "get", "-H", "-p", "-o", "value", (char *)prop, (char *)ds, NULL };
	int ret = plx_storage_run(argv, out, err);

	if (ret < 0)
		return ret;
	(*out)[strcspn(*out, "\n")] = '\0';
	return 0;
}

static int dataset_exists(const char *ds, bool *out, struct plx_err *err)
{
	__do_free char *type = NULL;
	int ret = zfs_get(ds, "type", &type, err);

	*out = ret == 0;
	if (ret == -ENOENT) {
		plx_err_clear(err);
		return 0;
	}
	return ret;
}

/* Run a destroy, waiting out zfs-fuse's short "busy" after a mount. */
static int run_destroy(char *const argv[], struct plx_err *err)
{
	const struct timespec wait = { 0, BUSY_WAIT_NS };
	int ret;

	for (int i = 0;; i++) {
		ret = plx_storage_run(argv, NULL, err);
		if (ret != -EBUSY || i == BUSY_RETRIES || strstr(plx_err_msg(err), "dependent clones"))
			return ret;
		plx_err_clear(err);
		nanosleep(&wait, NULL);
	}
}

/* The parent must be writable to hold a new dataset: say so before creating anything. */
static int check_parent_writable(const char *parent, struct plx_err *err)
{
	__do_free char *ro = NULL;
	int ret = zfs_get(parent, "readonly", &ro, err);

	if (ret < 0)
		return plx_err_prefix(err, "zfs parent dataset %s", parent);
	if (strcmp(ro, "on") == 0)
		return plx_err_set(err, EROFS, "zfs parent dataset %s is read-only (readonly=on)", parent);
	return 0;
}

static int zfs_check_base(const char *base, struct plx_err *err)
{
	__do_free char *type = NULL;
	int ret = zfs_get(base, "type", &type, err);

	if (ret == -ENOENT) {
		plx_err_clear(err);
		return plx_err_set(err, ENOENT, "zfs parent dataset %s does not exist", base);
	}
	if (ret < 0)
		return ret;
	if (strcmp(type, "filesystem") != 0)
		return plx_err_set(err, EINVAL, "zfs parent %s is a %s, not a filesystem", base, type);
	return 0;
}

/* Probe the parent's mounted directory: zfs-fuse reports readonly=off on a read-only dataset. */
static int probe_mountpoint(const char *parent)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	__do_free char *mp = NULL, *probe = NULL;

	if (zfs_get(parent, "mountpoint", &mp, &e) < 0 || mp[0] != '/' ||
	    asprintf(&probe, "%s/.plx-probe-XXXXXX", mp) < 0)
		return 0;
	if (!mkdtemp(probe))
		return -errno;
	rmdir(probe);
	return 0;
}

/* Say why a new dataset could not be made when the parent is the cause: read-only or full. */
static int explain_failure(const char *parent, int ret, struct plx_err *err)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	__do_free char *ro = NULL, *avail = NULL;
	int probe;

	if (zfs_get(parent, "readonly", &ro, &e) == 0 && strcmp(ro, "on") == 0) {
		plx_err_prefix(err, "zfs parent dataset %s is read-only (readonly=on)", parent);
		err->code = EROFS;
		return -EROFS;
	}
	if (zfs_get(parent, "available", &avail, &e) == 0 && strtoull(avail, NULL, 10) < (1 << 20)) {
		plx_err_prefix(err, "zfs parent dataset %s is full (%s bytes available)", parent, avail);
		err->code = ENOSPC;
		return -ENOSPC;
	}
	probe = probe_mountpoint(parent);
	if (probe == -EROFS || probe == -ENOSPC || probe == -EDQUOT) {
		plx_err_prefix(err, "zfs parent dataset %s is %s", parent,
			       probe == -EROFS ? "read-only" : "full");
		err->code = -probe;
		return probe;
	}
	return ret;
}

/*
 * zfs create/clone may fail after making the dataset (e.g. its mount
 * failed); remove what it left so a failure leaves nothing behind.
 */
static int new_dataset(char *const argv[], const char *ds, const char *parent, struct plx_err *err)
{
	bool exists = false;
	int ret;

	ret = dataset_exists(ds, &exists, err);
	if (ret < 0)
		return ret;
	if (exists)
		return plx_err_set(err, EEXIST, "zfs dataset %s already exists", ds);
	ret = plx_storage_run(argv, NULL, err);
	if (ret < 0) {
		__do_err_clear struct plx_err e2 = PLX_ERR_INIT;
		char *dargv[] = { "zfs", "destroy", "-r", (char *)ds, NULL };

		if (dataset_exists(ds, &exists, &e2) == 0 && exists && run_destroy(dargv, &e2) < 0)
			log_warn("zfs: cannot remove the half-made %s: %s", ds, plx_err_msg(&e2));
		ret = explain_failure(parent, ret, err);
	}
	return ret;
}

static int zfs_create(struct plx_storage *s, const char *id, uint64_t size_limit, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *quota = NULL;
	int ret;

	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = check_parent_writable(s->base, err);
	if (ret < 0)
		return ret;
	/* refquota as Proxmox VE sets on subvols: snapshots do not count against the container. */
	if (size_limit && asprintf(&quota, "refquota=%" PRIu64, size_limit) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	char *argv[6] = { "zfs", "create" };
	size_t i = 2;
	if (quota) {
		argv[i++] = "-o";
		argv[i++] = quota;
	}
	argv[i] = ds;
	return new_dataset(argv, ds, s->base, err);
}

static int zfs_clone_from(struct plx_storage *s, const char *src, const char *snap, const char *id,
			  struct plx_err *err)
{
	__do_free char *srcds = plx_zfs_dataset(s->base, src);
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *origin = NULL;
	bool exists;
	int ret;

	if (!srcds || !ds || asprintf(&origin, "%s@%s", srcds, snap) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = check_parent_writable(s->base, err);
	if (ret < 0)
		return ret;
	ret = dataset_exists(origin, &exists, err);
	if (ret < 0)
		return ret;
	if (!exists)
		return plx_err_set(err, ENOENT, "zfs snapshot %s does not exist", origin);
	char *argv[] = { "zfs", "clone", origin, ds, NULL };
	return new_dataset(argv, ds, s->base, err);
}

static int zfs_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *name = NULL;

	if (!ds || asprintf(&name, "%s@%s", ds, snap) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	char *argv[] = { "zfs", "snapshot", name, NULL };
	/* zfs snapshot is atomic: it either exists afterwards or nothing was made. */
	return plx_storage_run(argv, NULL, err);
}

static int zfs_list_snapshots(struct plx_storage *s, const char *id, struct plx_storage_snapshot **out,
			      size_t *n, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *text = NULL, *props = NULL;
	__do_strv_free char **names = NULL;
	__do_strv_free char **gargv = NULL;
	int ret;

	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	/* Without -s, zfs lists a dataset's snapshots in the order they were taken. */
	char *argv[] = { "zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-d", "1", ds, NULL };
	ret = plx_storage_run(argv, &text, err);
	if (ret < 0)
		return ret;
	ret = plx_zfs_split_lines(text, &names, err);
	if (ret < 0)
		return ret;
	if (!names[0])
		return 0;
	const char *fixed[] = { "zfs", "get", "-H", "-p", "-o", "name,property,value", "creation,used" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (plx_strv_append(&gargv, fixed[i]) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	for (char **p = names; *p; p++)
		if (plx_strv_append(&gargv, *p) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_storage_run(gargv, &props, err);
	if (ret < 0)
		return ret;
	ret = plx_zfs_parse_snapshot_props(props, names, plx_strv_len(names), out, err);
	if (ret < 0)
		return ret;
	*n = plx_strv_len(names);
	return 0;
}

static int zfs_rollback(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *name = NULL;
	struct plx_storage_snapshot *v = NULL;
	size_t n = 0;
	int ret;

	if (!ds || asprintf(&name, "%s@%s", ds, snap) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = zfs_list_snapshots(s, id, &v, &n, err);
	if (ret < 0)
		return ret;
	ret = plx_layout_check_latest(v, n, ds, snap, err);
	plx_storage_snapshots_free(v, n);
	if (ret < 0)
		return ret;
	char *argv[] = { "zfs", "rollback", name, NULL };
	return plx_storage_run(argv, NULL, err);
}

static int zfs_destroy_snapshot(struct plx_storage *s, const char *id, const char *snap, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *name = NULL;
	bool exists;
	int ret;

	if (!ds || asprintf(&name, "%s@%s", ds, snap) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = dataset_exists(name, &exists, err);
	if (ret < 0)
		return ret;
	if (!exists)
		return plx_err_set(err, ENOENT, "zfs snapshot %s does not exist", name);
	char *argv[] = { "zfs", "destroy", name, NULL };
	return run_destroy(argv, err);
}

static int zfs_destroy(struct plx_storage *s, const char *id, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	bool exists;
	int ret;

	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = dataset_exists(ds, &exists, err);
	if (ret < 0)
		return ret;
	if (!exists)
		return plx_err_set(err, ENOENT, "zfs dataset %s does not exist", ds);
	/* -r: its snapshots; never -R, which would also destroy other containers cloned from them. */
	char *argv[] = { "zfs", "destroy", "-r", ds, NULL };
	return run_destroy(argv, err);
}

static int zfs_path(struct plx_storage *s, const char *id, char **out, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);
	__do_free char *mp = NULL;
	int ret;

	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = zfs_get(ds, "mountpoint", &mp, err);
	if (ret < 0)
		return ret;
	if (mp[0] != '/')
		return plx_err_set(err, EINVAL, "zfs dataset %s has mountpoint=%s, not a directory", ds, mp);
	*out = steal_ptr(mp);
	return 0;
}

static int zfs_exists(struct plx_storage *s, const char *id, bool *out, struct plx_err *err)
{
	__do_free char *ds = plx_zfs_dataset(s->base, id);

	if (!ds)
		return plx_err_set(err, ENOMEM, "out of memory");
	return dataset_exists(ds, out, err);
}

const struct plx_storage_ops plx_storage_zfs_ops = {
	.name = "zfs",
	.check_base = zfs_check_base,
	.create = zfs_create,
	.clone_from = zfs_clone_from,
	.snapshot = zfs_snapshot,
	.list_snapshots = zfs_list_snapshots,
	.rollback = zfs_rollback,
	.destroy_snapshot = zfs_destroy_snapshot,
	.destroy = zfs_destroy,
	.path = zfs_path,
	.exists = zfs_exists,
};
