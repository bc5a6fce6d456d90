/* SPDX-License-Identifier: Apache-2.0 */
/* The volumes/snapshots/tmp layout shared by the btrfs and dir drivers. */
#include "storage/storage_layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static const char *const subdirs[] = { "volumes", "snapshots", "tmp" };

int plx_layout_init(const char *base, struct plx_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		__do_free char *p = NULL;

		if (asprintf(&p, "%s/%s", base, subdirs[i]) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return plx_err_sys(err, errno, "cannot create %s", p);
	}
	return 0;
}

char *plx_layout_volume(const char *base, const char *id)
{
	char *p;

	return asprintf(&p, "%s/volumes/%s", base, id) < 0 ? NULL : p;
}

char *plx_layout_snapdir(const char *base, const char *id)
{
	char *p;

	return asprintf(&p, "%s/snapshots/%s", base, id) < 0 ? NULL : p;
}

char *plx_layout_snapshot(const char *base, const char *id, const char *snap)
{
	char *p;

	return asprintf(&p, "%s/snapshots/%s/%s", base, id, snap) < 0 ? NULL : p;
}

char *plx_layout_scratch(const char *base)
{
	struct timespec ts;
	char *p;

	/* pid + nanoseconds: unique among concurrent runtimes on one host. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return asprintf(&p, "%s/tmp/%d-%lld%09ld", base, getpid(), (long long)ts.tv_sec, ts.tv_nsec) < 0 ? NULL :
														      p;
}

int plx_layout_rename_new(const char *src, const char *dst, struct plx_err *err)
{
	if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return plx_err_set(err, EEXIST, "%s already exists", dst);
		return plx_err_sys(err, errno, "cannot rename %s to %s", src, dst);
	}
	return 0;
}

int plx_layout_exchange(const char *a, const char *b, struct plx_err *err)
{
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
		return plx_err_sys(err, errno, "cannot exchange %s and %s", a, b);
	return 0;
}

bool plx_layout_is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int plx_layout_need_dir(const char *path, const char *what, struct plx_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? plx_err_set(err, ENOENT, "%s does not exist (%s)", what, path) :
					 plx_err_sys(err, errno, "%s (%s)", what, path);
	if (!S_ISDIR(st.st_mode))
		return plx_err_set(err, ENOTDIR, "%s (%s) is not a directory", what, path);
	return 0;
}

struct entry {
	struct plx_storage_snapshot s;
	int64_t ns;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return strcmp(x->s.name, y->s.name);
}

int plx_layout_list(const char *base, const char *id, const struct plx_layout_snap_ops *ops,
		    struct plx_storage_snapshot **out, size_t *n, struct plx_err *err)
{
	__do_free char *dir = plx_layout_snapdir(base, id);
	__do_free char *vol = plx_layout_volume(base, id);
	__do_closedir DIR *d = NULL;
	__do_free struct entry *v = NULL;
	struct plx_storage_snapshot *res;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!dir || !vol)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_need_dir(vol, "volume", err);
	if (ret < 0)
		return ret;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : plx_err_sys(err, errno, "cannot list %s", dir);
	while ((de = readdir(d))) {
		__do_free char *p = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (cnt == cap) {
			struct entry *nv = reallocarray(v, cap = cap ? 2 * cap : 8, sizeof(*v));

			if (!nv) {
				ret = plx_err_set(err, ENOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		p = plx_path_join(dir, de->d_name);
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].s.name = strdup(de->d_name);
		cnt++;
		if (!p || !v[cnt - 1].s.name) {
			ret = plx_err_set(err, ENOMEM, "out of memory");
			break;
		}
		ret = ops->created_ns(p, &v[cnt - 1].ns, err);
		if (ret < 0)
			break;
		v[cnt - 1].s.created = v[cnt - 1].ns / 1000000000;
		v[cnt - 1].s.size = ops->size(p);
	}
	if (ret == 0 && cnt)
		res = calloc(cnt, sizeof(*res));
	else
		res = NULL;
	if (ret == 0 && cnt && !res)
		ret = plx_err_set(err, ENOMEM, "out of memory");
	if (ret < 0) {
		for (size_t i = 0; i < cnt; i++)
			free(v[i].s.name);
		return ret;
	}
	qsort(v, cnt, sizeof(*v), cmp_entry);
	for (size_t i = 0; i < cnt; i++)
		res[i] = v[i].s;
	*out = res;
	*n = cnt;
	return 0;
}

int plx_layout_check_latest(const struct plx_storage_snapshot *v, size_t n, const char *what,
			    const char *snap, struct plx_err *err)
{
	__do_free char *newer = NULL;
	size_t idx, len = 1;

	for (idx = 0; idx < n && strcmp(v[idx].name, snap) != 0; idx++)
		;
	if (idx == n)
		return plx_err_set(err, ENOENT, "snapshot %s of %s does not exist", snap, what);
	if (idx + 1 == n)
		return 0;
	for (size_t i = idx + 1; i < n; i++)
		len += strlen(v[i].name) + 2;
	newer = calloc(1, len);
	if (!newer)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = idx + 1; i < n; i++) {
		if (i > idx + 1)
			strcat(newer, ", ");
		strcat(newer, v[i].name);
	}
	return plx_err_set(err, EEXIST,
			   "cannot roll %s back to %s: it is not the most recent snapshot (newer: %s); "
			   "delete those first",
			   what, snap, newer);
}

int plx_layout_path(struct plx_storage *s, const char *id, char **out, struct plx_err *err)
{
	*out = plx_layout_volume(s->base, id);
	return *out ? 0 : plx_err_set(err, ENOMEM, "out of memory");
}

int plx_layout_create(const char *base, const char *id, uint64_t size_limit, const struct plx_layout_acts *a,
		      struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(base, id);
	__do_free char *tmp = plx_layout_scratch(base);
	int ret;

	if (!vol || !tmp)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_init(base, err);
	if (ret < 0)
		return ret;
	if (plx_layout_is_dir(vol))
		return plx_err_set(err, EEXIST, "volume %s already exists (%s)", id, vol);
	/* Made in tmp/ and renamed: a failure leaves nothing under the real name. */
	ret = a->make(tmp, size_limit, err);
	if (ret < 0)
		return ret;
	ret = plx_layout_rename_new(tmp, vol, err);
	if (ret < 0)
		a->unmake(tmp);
	return ret;
}

/* Copy src to the new path dst, through tmp/ unless the copy is atomic itself. */
static int put_copy(const char *base, const char *src, const char *dst, bool readonly,
		    const struct plx_layout_acts *a, struct plx_err *err)
{
	__do_free char *tmp = NULL;
	int ret;

	if (a->atomic)
		return a->copy(src, dst, readonly, err);
	tmp = plx_layout_scratch(base);
	if (!tmp)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = a->copy(src, tmp, readonly, err);
	if (ret < 0)
		return ret;
	ret = plx_layout_rename_new(tmp, dst, err);
	if (ret < 0)
		a->drop(tmp);
	return ret;
}

int plx_layout_clone_from(const char *base, const char *src, const char *snap, const char *id,
			  const struct plx_layout_acts *a, struct plx_err *err)
{
	__do_free char *from = plx_layout_snapshot(base, src, snap);
	__do_free char *vol = plx_layout_volume(base, id);
	int ret;

	if (!from || !vol)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_need_dir(from, "snapshot", err);
	if (ret == 0 && plx_layout_is_dir(vol))
		ret = plx_err_set(err, EEXIST, "volume %s already exists (%s)", id, vol);
	if (ret == 0)
		ret = plx_layout_init(base, err);
	return ret < 0 ? ret : put_copy(base, from, vol, false, a, err);
}

int plx_layout_snapshot_take(const char *base, const char *id, const char *snap, const struct plx_layout_acts *a,
			     struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(base, id);
	__do_free char *dir = plx_layout_snapdir(base, id);
	__do_free char *dst = plx_layout_snapshot(base, id, snap);
	int ret;

	if (!vol || !dir || !dst)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_need_dir(vol, "volume", err);
	if (ret == 0 && plx_layout_is_dir(dst))
		ret = plx_err_set(err, EEXIST, "snapshot %s of %s already exists", snap, id);
	if (ret == 0)
		ret = plx_layout_init(base, err);
	if (ret == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
		ret = plx_err_sys(err, errno, "cannot create %s", dir);
	return ret < 0 ? ret : put_copy(base, vol, dst, true, a, err);
}

int plx_layout_rollback(const char *base, const char *id, const char *snap, const struct plx_layout_acts *a,
			struct plx_err *err)
{
	__do_free char *vol = plx_layout_volume(base, id);
	__do_free char *from = plx_layout_snapshot(base, id, snap);
	__do_free char *tmp = plx_layout_scratch(base);
	struct plx_storage_snapshot *v = NULL;
	size_t n = 0;
	int ret;

	if (!vol || !from || !tmp)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_layout_list(base, id, a->snap, &v, &n, err);
	if (ret < 0)
		return ret;
	ret = plx_layout_check_latest(v, n, id, snap, err);
	plx_storage_snapshots_free(v, n);
	if (ret < 0)
		return ret;
	ret = a->copy(from, tmp, false, err);
	if (ret < 0)
		return ret;
	/* The swap is atomic: the volume is either all old or all restored; the old one then sits at tmp. */
	ret = plx_layout_exchange(tmp, vol, err);
	a->drop(tmp);
	return ret;
}
