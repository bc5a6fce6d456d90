/* SPDX-License-Identifier: Apache-2.0 */
#include "mounts_finish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* The flags of the mount at path that a read-only remount must repeat. */
static int kept_mount_flags(const char *path, unsigned long *out)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },	      { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return -errno;
	*out = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (sv.f_flag & map[i].st)
			*out |= map[i].ms;
	/* an atime flag in a remount resets the others to relatime unless strictatime is named */
	if ((*out & MS_NODIRATIME) && !(*out & (MS_NOATIME | MS_RELATIME)))
		*out |= MS_STRICTATIME;
	return 0;
}

static int remount_ro(const char *path)
{
	unsigned long flags = 0;

	int r = kept_mount_flags(path, &flags);
	if (r < 0)
		return r;
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL) < 0)
		return -errno;
	return 0;
}

int plx_mask_paths(char *const *paths, struct plx_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		const char *p = paths[i];
		struct stat st;

		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return plx_err_sys(err, errno, "linux.maskedPaths[%zu] %s: stat", i, p);
		}
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
					    : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0)
			return plx_err_sys(err, errno, "linux.maskedPaths[%zu] %s: mask with %s", i, p,
					   S_ISDIR(st.st_mode) ? "a read-only tmpfs" : "/dev/null");
	}
	return 0;
}

int plx_readonly_paths(char *const *paths, struct plx_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		const char *p = paths[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return plx_err_sys(err, errno, "linux.readonlyPaths[%zu] %s: bind-mount", i, p);
		}
		int r = remount_ro(p);
		if (r < 0)
			return plx_err_sys(err, -r, "linux.readonlyPaths[%zu] %s: remount read-only", i, p);
	}
	return 0;
}

int plx_root_readonly(struct plx_err *err)
{
	int r = remount_ro("/");
	if (r < 0)
		return plx_err_sys(err, -r, "root.readonly: remount / read-only");
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} flag_opts[] = {
	{ "ro", MS_RDONLY },
	{ "nosuid", MS_NOSUID },
	{ "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC },
	{ "noatime", MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME },
	{ "relatime", MS_RELATIME },
	{ "strictatime", MS_STRICTATIME },
	{ "nosymfollow", MS_NOSYMFOLLOW },
	{ "mand", MS_MANDLOCK },
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_opts[] = {
	{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

unsigned long plx_mount_flags(char *const *options)
{
	unsigned long flags = 0;

	for (size_t i = 0; options && options[i]; i++)
		for (size_t j = 0; j < ARRAY_SIZE(flag_opts); j++)
			if (strcmp(options[i], flag_opts[j].name) == 0)
				flags |= flag_opts[j].flag;
	return flags;
}

unsigned long plx_mount_propagation(char *const *options)
{
	unsigned long flags = 0;

	/* the last one wins, as the mounts are made in order */
	for (size_t i = 0; options && options[i]; i++)
		for (size_t j = 0; j < ARRAY_SIZE(propagation_opts); j++)
			if (strcmp(options[i], propagation_opts[j].name) == 0)
				flags = propagation_opts[j].flag;
	return flags;
}

static bool is_bind(const struct oci_mount *m)
{
	return (m->type && strcmp(m->type, "bind") == 0) || plx_strv_contains(m->options, "bind") ||
	       plx_strv_contains(m->options, "rbind");
}

int plx_bind_mount_flags(const struct oci_mount *v, size_t n, struct plx_err *err)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long flags = plx_mount_flags(v[i].options), kept = 0;

		if (!is_bind(&v[i]) || flags == 0)
			continue;
		__do_free char *dest = plx_path_abs(v[i].destination);
		if (!dest)
			return plx_err_set(err, ENOMEM, "mounts[%zu]", i);
		if (mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == 0)
			continue;
		int e = errno;
		/* a user namespace may not drop the flags the source is locked with */
		if (e == EPERM && kept_mount_flags(dest, &kept) == 0) {
			struct statvfs sv;
			const unsigned long atime = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
			if (flags & atime)
				kept &= ~atime;
			if (statvfs(dest, &sv) == 0 && (sv.f_flag & ST_RDONLY))
				kept |= MS_RDONLY;
			if (mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | flags | kept, NULL) == 0)
				continue;
			e = errno;
		}
		return plx_err_sys(err, e, "mounts[%zu] %s: remount the bind mount with its options", i,
				   dest);
	}
	return 0;
}

int plx_mount_propagation_apply(const char *root_propagation, const struct oci_mount *v, size_t n,
				struct plx_err *err)
{
	char *const root_opt[] = { (char *)(root_propagation ? root_propagation : "rslave"), NULL };
	unsigned long root = plx_mount_propagation(root_opt);

	if (!root)
		return plx_err_set(err, EINVAL, "linux.rootfsPropagation: unknown propagation \"%s\"",
				   root_opt[0]);
	if (mount(NULL, "/", NULL, root, NULL) < 0)
		return plx_err_sys(err, errno, "linux.rootfsPropagation: make / %s", root_opt[0]);
	for (size_t i = 0; i < n; i++) {
		unsigned long flags = plx_mount_propagation(v[i].options);

		if (!flags)
			continue;
		__do_free char *dest = plx_path_abs(v[i].destination);
		if (!dest)
			return plx_err_set(err, ENOMEM, "mounts[%zu]", i);
		if (mount(NULL, dest, NULL, flags, NULL) < 0)
			return plx_err_sys(err, errno, "mounts[%zu] %s: set its propagation", i, dest);
	}
	return 0;
}

/* The options of a mount that are not flags: the file system's own ("mode=0620", ...). */
static char *fs_options(char *const *options)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool first = true;

	if (!f)
		return NULL;
	for (size_t i = 0; options && options[i]; i++) {
		char *const one[] = { options[i], NULL };
		if (plx_mount_flags(one) || plx_mount_propagation(one) || strcmp(options[i], "rw") == 0)
			continue;
		fprintf(f, "%s%s", first ? "" : ",", options[i]);
		first = false;
	}
	fclose(f);
	return out;
}

int plx_devpts_options(const struct oci_mount *v, size_t n, struct plx_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].type || strcmp(v[i].type, "devpts") != 0)
			continue;
		__do_free char *dest = plx_path_abs(v[i].destination);
		if (!dest)
			return plx_err_set(err, ENOMEM, "mounts[%zu]", i);
		if (strcmp(dest, "/dev/pts") != 0)
			continue;
		__do_free char *data = fs_options(v[i].options);
		if (!data)
			return plx_err_set(err, ENOMEM, "mounts[%zu]", i);
		if (mount("devpts", dest, "devpts", MS_REMOUNT | plx_mount_flags(v[i].options), data) < 0)
			return plx_err_sys(err, errno, "mounts[%zu] /dev/pts: remount devpts with \"%s\"", i,
					   data);
	}
	return 0;
}
