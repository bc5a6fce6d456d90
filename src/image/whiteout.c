/* SPDX-License-Identifier: Apache-2.0 */
#include "image/whiteout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/inroot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int plx_name_set_add(struct plx_name_set *s, const char *name)
{
	char *copy, **slot;

	if (plx_name_set_has(s, name))
		return 0;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	slot = tsearch(copy, &s->tree, cmp_names);
	if (!slot) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

bool plx_name_set_has(const struct plx_name_set *s, const char *name)
{
	return tfind(name, &s->tree, cmp_names) != NULL;
}

void plx_name_set_clear(struct plx_name_set *s)
{
	tdestroy(s->tree, free);
	s->tree = NULL;
}

static char *join(const char *dir, const char *name)
{
	char *out;

	if (!*dir)
		return strdup(name);
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		return NULL;
	return out;
}

/*
 * Empty the directory dfd (clean name path) of all the layers below put
 * there.  A directory this layer made may still hold older entries (the
 * layer's "a/" over a lower "a/"), so the walk goes down into those.
 * dfd was resolved inside the root and every step below it is by one
 * component with no symlink followed (O_NOFOLLOW, plx_rm_rf_at).
 */
static int make_opaque(int dfd, const char *path, const struct plx_name_set *made, struct plx_err *err)
{
	__do_closedir DIR *dir = NULL;
	int rfd;

	rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return plx_err_sys(err, errno, "open %s", *path ? path : "/");
	dir = fdopendir(rfd);
	if (!dir) {
		close(rfd);
		return plx_err_sys(err, ENOMEM, "open %s", *path ? path : "/");
	}
	for (;;) {
		__do_free char *child = NULL;
		__do_close int cfd = -1;
		struct dirent *de;
		struct stat st;
		int ret;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				return plx_err_sys(err, errno, "read directory %s", *path ? path : "/");
			return 0;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = join(path, de->d_name);
		if (!child)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (!plx_name_set_has(made, child)) {
			ret = plx_rm_rf_at(dfd, de->d_name, err);
			if (ret < 0)
				return ret;
			continue;
		}
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		cfd = openat(dfd, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			return plx_err_sys(err, errno, "open %s", child);
		ret = make_opaque(cfd, child, made, err);
		if (ret < 0)
			return ret;
	}
}

int plx_whiteout_apply(int rootfd, const char *name, const struct plx_name_set *made, struct plx_err *err)
{
	__do_free char *dir = NULL;
	__do_free char *victim = NULL;
	__do_close int pfd = -1;
	const char *base, *target;

	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	target = base + strlen(PLX_WHITEOUT_PREFIX);
	if (strcmp(base, PLX_WHITEOUT_OPAQUE) == 0) {
		target = NULL;
	} else if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0) {
		return plx_err_set(err, EINVAL, "invalid whiteout %s: it names no entry", name);
	} else if (plx_whiteout_is(target)) {
		/* Other ".wh..wh." names are aufs bookkeeping (".wh..wh.plnk"), never content. */
		log_debug("ignoring aufs metadata %s", name);
		return 0;
	}

	pfd = plx_inroot_open_parent(rootfd, name, false, &base, NULL, NULL);
	/* Nothing below to hide: the directory was never there. */
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0;
	if (pfd < 0)
		return plx_err_sys(err, -pfd, "open the directory of %s", name);
	dir = strndup(name, (size_t)(base - name) - (base > name ? 1 : 0));
	if (!dir)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!target)
		return make_opaque(pfd, dir, made, err);
	victim = join(dir, target);
	if (!victim)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (plx_name_set_has(made, victim))
		return 0;
	return plx_rm_rf_at(pfd, target, err);
}
