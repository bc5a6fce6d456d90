/* SPDX-License-Identifier: Apache-2.0 */
#include "image/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/inroot.h"
#include "util/cleanup.h"

/* Far above any real passwd; a bound so a hostile image cannot make us read gigabytes. */
#define ETC_FILE_MAX (16 << 20)

/* Read root/path; *out NULL when the image has no such file. */
static int read_etc(int rootfd, const char *path, char **out, struct plx_err *err)
{
	__do_close int fd = -1;
	__do_free char *buf = NULL;
	struct stat st;
	size_t n = 0;

	*out = NULL;
	/* O_NONBLOCK: a fifo planted at etc/passwd must not hang us before the S_ISREG check. */
	fd = plx_inroot_openat(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return plx_err_sys(err, -fd, "open the image's /%s", path);
	if (fstat(fd, &st) < 0)
		return plx_err_sys(err, errno, "stat the image's /%s", path);
	if (!S_ISREG(st.st_mode))
		return plx_err_set(err, EINVAL, "the image's /%s is not a regular file", path);
	if (st.st_size > ETC_FILE_MAX)
		return plx_err_set(err, EFBIG, "the image's /%s is larger than %d bytes", path, ETC_FILE_MAX);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return plx_err_set(err, ENOMEM, "read the image's /%s: out of memory", path);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return plx_err_sys(err, errno, "read the image's /%s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = steal_ptr(buf);
	return 0;
}

static bool parse_id(const char *s, uint32_t *out)
{
	unsigned long long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		/* (uint32_t)-1 is "no id" to the kernel */
		if (v >= UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/*
 * Split the next line of *cursor into at most max ':'-separated fields
 * (in place).  Returns the number of fields, 0 at the end; comments and
 * NIS "+"/"-" lines give -1 (skip).
 */
static int next_line(char **cursor, char **fields, int max)
{
	char *line = *cursor, *nl, *p;
	int n = 0;

	if (!line || !*line)
		return 0;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*cursor = nl + 1;
	} else {
		*cursor = line + strlen(line);
	}
	if (line[0] == '#' || line[0] == '+' || line[0] == '-' || !*line)
		return -1;
	p = line;
	while (n < max) {
		fields[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

struct pw_match {
	bool found;
	char *name;
	uint32_t uid, gid;
	char *home;
};

/* The passwd entry for userArg (a uid when numeric, else a name). */
static void find_user(char *passwd, const char *user, bool numeric, uint32_t uid, struct pw_match *m)
{
	char *cursor = passwd, *f[7];
	int n;

	while (passwd && (n = next_line(&cursor, f, 7)) != 0) {
		uint32_t pu, pg;

		if (n < 4 || !parse_id(f[2], &pu) || !parse_id(f[3], &pg))
			continue;
		if (numeric ? pu != uid : strcmp(f[0], user) != 0)
			continue;
		m->found = true;
		m->name = f[0];
		m->uid = pu;
		m->gid = pg;
		m->home = n >= 6 && *f[5] ? f[5] : NULL;
		return;
	}
}

static bool in_list(char *list, const char *name)
{
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

static int add_gid(struct plx_image_user *u, gid_t gid)
{
	gid_t *v;

	for (size_t i = 0; i < u->n_additional_gids; i++)
		if (u->additional_gids[i] == gid)
			return 0;
	v = realloc(u->additional_gids, (u->n_additional_gids + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[u->n_additional_gids++] = gid;
	u->additional_gids = v;
	return 0;
}

/* With group: the gid of the named group.  Without: the groups listing user as a member. */
static int scan_groups(char *groups, const char *group, const char *user, struct plx_image_user *u,
		       bool *found)
{
	char *cursor = groups, *f[4];
	int n;

	*found = false;
	while (groups && (n = next_line(&cursor, f, 4)) != 0) {
		uint32_t gid;

		if (n < 3 || !parse_id(f[2], &gid))
			continue;
		if (group) {
			if (strcmp(f[0], group) == 0) {
				u->gid = gid;
				*found = true;
				return 0;
			}
		} else if (user && n == 4 && in_list(f[3], user)) {
			if (add_gid(u, gid) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int plx_image_user_resolve(int rootfd, const char *spec, struct plx_image_user *out, struct plx_err *err)
{
	__do_free char *copy = NULL;
	__do_free char *passwd = NULL;
	__do_free char *groups = NULL;
	struct plx_image_user u = { 0 };
	struct pw_match m = { 0 };
	char *user, *group;
	uint32_t id = 0, gid;
	bool numeric, found;
	int ret;

	copy = strdup(spec ? spec : "");
	if (!copy)
		return plx_err_set(err, ENOMEM, "user %s: out of memory", spec);
	user = copy;
	group = strchr(copy, ':');
	if (group)
		*group++ = '\0';
	numeric = !*user || parse_id(user, &id);

	ret = read_etc(rootfd, "etc/passwd", &passwd, err);
	if (ret < 0)
		return plx_err_prefix(err, "user %s", spec);
	find_user(passwd, user, numeric, id, &m);
	if (!m.found && !numeric)
		return plx_err_set(err, ENOENT, "user %s: no such user in the image's /etc/passwd%s", user,
				   passwd ? "" : " (the image has none)");
	u.uid = m.found ? m.uid : id;
	u.gid = m.found ? m.gid : 0;
	u.home = strdup(m.home ? m.home : "/");
	if (!u.home)
		return plx_err_set(err, ENOMEM, "user %s: out of memory", spec);

	if (!group || !parse_id(group, &gid)) {
		ret = read_etc(rootfd, "etc/group", &groups, err);
		if (ret < 0) {
			plx_image_user_free(&u);
			return plx_err_prefix(err, "user %s", spec);
		}
	}
	if (group && !*group) {
		plx_image_user_free(&u);
		return plx_err_set(err, EINVAL, "user %s: empty group", spec);
	} else if (group && parse_id(group, &gid)) {
		u.gid = gid;
	} else {
		/* m.name points into passwd, which scan_groups does not touch */
		ret = scan_groups(groups, group, m.found ? m.name : NULL, &u, &found);
		if (ret < 0) {
			plx_image_user_free(&u);
			return plx_err_set(err, ENOMEM, "user %s: out of memory", spec);
		}
		if (group && !found) {
			plx_image_user_free(&u);
			return plx_err_set(err, ENOENT, "user %s: no such group %s in the image's /etc/group%s",
					   spec, group, groups ? "" : " (the image has none)");
		}
	}
	*out = u;
	return 0;
}

void plx_image_user_free(struct plx_image_user *u)
{
	free(u->additional_gids);
	free(u->home);
	u->additional_gids = NULL;
	u->n_additional_gids = 0;
	u->home = NULL;
}
