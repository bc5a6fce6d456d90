/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's /etc/passwd and /etc/group, parsed by hand: the static
 * init must not use NSS, and the files belong to the container, not the host.
 * Every lookup takes the container's root directory ("/" inside it).
 */
#pragma once

#include <sys/types.h>

#include "util/error.h"

struct plx_passwd {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home; /* "" when the field is empty */
	char *shell;
};

struct plx_group {
	char *name;
	gid_t gid;
	char **members; /* NULL-terminated, never NULL after a successful parse */
};

void plx_passwd_clear(struct plx_passwd *pw);
void plx_group_clear(struct plx_group *gr);

/*
 * One line of passwd(5): name:password:uid:gid:gecos:home:shell.  Returns
 * -EINVAL for comments, blank and malformed lines (fewer than 4 fields,
 * non-numeric ids), -ENOMEM.  Missing trailing fields are empty.
 */
int plx_passwd_parse_line(const char *line, struct plx_passwd *out);

/* One line of group(5): name:password:gid:member,member,...  Same rules. */
int plx_group_parse_line(const char *line, struct plx_group *out);

/*
 * First entry of <root>/etc/passwd with this uid.  -ENOENT (err set) when
 * the file or the entry is missing; malformed lines are skipped.
 */
int plx_passwd_find_uid(const char *root, uid_t uid, struct plx_passwd *out, struct plx_err *err);

/* First entry of <root>/etc/group with this gid; like plx_passwd_find_uid(). */
int plx_group_find_gid(const char *root, gid_t gid, struct plx_group *out, struct plx_err *err);
