/* SPDX-License-Identifier: Apache-2.0 */
#include "user.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_FIELDS 7

void plx_passwd_clear(struct plx_passwd *pw)
{
	free(pw->name);
	free(pw->home);
	free(pw->shell);
	*pw = (struct plx_passwd){ 0 };
}

void plx_group_clear(struct plx_group *gr)
{
	free(gr->name);
	plx_strv_freep(&gr->members);
	*gr = (struct plx_group){ 0 };
}

/*
 * Split a copy of line at ':' into at most MAX_FIELDS fields (the last one
 * keeps any further colons).  Returns the number of fields.
 */
static size_t split_fields(char *buf, char *fields[MAX_FIELDS])
{
	size_t n = 0;

	buf[strcspn(buf, "\r\n")] = '\0';
	fields[n++] = buf;
	for (char *p = buf; *p && n < MAX_FIELDS; p++) {
		if (*p == ':') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	}
	return n;
}

/* A decimal id as used in passwd/group: digits only, fits in 32 bits. */
static bool parse_id(const char *s, uint32_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	uintmax_t v = strtoumax(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool skip_line(const char *line)
{
	line += strspn(line, " \t");
	return *line == '\0' || *line == '\n' || *line == '#';
}

int plx_passwd_parse_line(const char *line, struct plx_passwd *out)
{
	char *f[MAX_FIELDS] = { 0 };
	uint32_t uid, gid;

	if (skip_line(line))
		return -EINVAL;
	__do_free char *buf = strdup(line);
	if (!buf)
		return -ENOMEM;
	size_t n = split_fields(buf, f);
	if (n < 4 || !*f[0] || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return -EINVAL;

	struct plx_passwd pw = {
		.name = strdup(f[0]),
		.uid = uid,
		.gid = gid,
		.home = strdup(n > 5 ? f[5] : ""),
		.shell = strdup(n > 6 ? f[6] : ""),
	};
	if (!pw.name || !pw.home || !pw.shell) {
		plx_passwd_clear(&pw);
		return -ENOMEM;
	}
	*out = pw;
	return 0;
}

/* "a,b,,c" -> {"a","b","c"}; empty entries are dropped. */
static char **split_members(const char *s)
{
	size_t cap = 1;

	for (const char *p = s; *p; p++)
		cap += *p == ',';
	char **v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return NULL;
	size_t n = 0;
	for (const char *p = s; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0) {
			v[n] = strndup(p, len);
			if (!v[n]) {
				plx_strv_freep(&v);
				return NULL;
			}
			n++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return v;
}

int plx_group_parse_line(const char *line, struct plx_group *out)
{
	char *f[MAX_FIELDS] = { 0 };
	uint32_t gid;

	if (skip_line(line))
		return -EINVAL;
	__do_free char *buf = strdup(line);
	if (!buf)
		return -ENOMEM;
	size_t n = split_fields(buf, f);
	if (n < 3 || !*f[0] || !parse_id(f[2], &gid))
		return -EINVAL;

	struct plx_group gr = {
		.name = strdup(f[0]),
		.gid = gid,
		.members = split_members(n > 3 ? f[3] : ""),
	};
	if (!gr.name || !gr.members) {
		plx_group_clear(&gr);
		return -ENOMEM;
	}
	*out = gr;
	return 0;
}

/* Calls match(line, ctx) for each line of <root>/<file> until it returns != -EINVAL. */
static int scan_file(const char *root, const char *file, int (*match)(const char *line, void *ctx), void *ctx,
		     const char *what, struct plx_err *err)
{
	__do_free char *path = plx_path_join(root, file);
	__do_free char *line = NULL;
	size_t cap = 0;

	if (!path)
		return plx_err_set(err, ENOMEM, "%s", file);
	__do_fclose FILE *f = fopen(path, "re");
	if (!f)
		return plx_err_sys(err, errno, "open %s", path);
	while (getline(&line, &cap, f) >= 0) {
		int r = match(line, ctx);
		if (r == 0)
			return 0;
		if (r != -EINVAL)
			return plx_err_sys(err, -r, "read %s", path);
	}
	if (ferror(f))
		return plx_err_sys(err, EIO, "read %s", path);
	return plx_err_set(err, ENOENT, "%s not found in %s", what, path);
}

struct passwd_match {
	uid_t uid;
	struct plx_passwd *out;
};

static int match_passwd(const char *line, void *ctx)
{
	struct passwd_match *m = ctx;
	struct plx_passwd pw;

	int r = plx_passwd_parse_line(line, &pw);
	if (r < 0)
		return r;
	if (pw.uid != m->uid) {
		plx_passwd_clear(&pw);
		return -EINVAL;
	}
	*m->out = pw;
	return 0;
}

int plx_passwd_find_uid(const char *root, uid_t uid, struct plx_passwd *out, struct plx_err *err)
{
	struct passwd_match m = { .uid = uid, .out = out };
	char what[32];

	snprintf(what, sizeof(what), "uid %u", (unsigned)uid);
	return scan_file(root, "etc/passwd", match_passwd, &m, what, err);
}

struct group_match {
	gid_t gid;
	struct plx_group *out;
};

static int match_group(const char *line, void *ctx)
{
	struct group_match *m = ctx;
	struct plx_group gr;

	int r = plx_group_parse_line(line, &gr);
	if (r < 0)
		return r;
	if (gr.gid != m->gid) {
		plx_group_clear(&gr);
		return -EINVAL;
	}
	*m->out = gr;
	return 0;
}

int plx_group_find_gid(const char *root, gid_t gid, struct plx_group *out, struct plx_err *err)
{
	struct group_match m = { .gid = gid, .out = out };
	char what[32];

	snprintf(what, sizeof(what), "gid %u", (unsigned)gid);
	return scan_file(root, "etc/group", match_group, &m, what, err);
}
