/* SPDX-License-Identifier: Apache-2.0 */
/* PVE task ids: the fields of "UPID:node:PID:PSTART:STARTTIME:type:id:user:". */
#include "proxmox/pve_upid.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

#define N_FIELDS 8 /* after "UPID": node pid pstart starttime type id user, then "" */

void pve_upid_clear(struct pve_upid *u)
{
	/* node is the start of the buffer every field points into */
	free(u->node);
	*u = (struct pve_upid){};
}

/* A hex field of min..max digits, as PVE's regex has them. */
static bool hex_field(const char *s, size_t min, size_t max, unsigned long *out)
{
	size_t n = strlen(s);
	char *end;

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	errno = 0;
	*out = strtoul(s, &end, 16);
	return !errno && !*end;
}

/* PVE's node name: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static bool node_field(const char *s)
{
	size_t n = strlen(s);

	if (!n || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool plain_field(const char *s, bool may_be_empty)
{
	if (!*s)
		return may_be_empty;
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return false;
	return true;
}

int pve_upid_parse(const char *s, struct pve_upid *out, struct plx_err *err)
{
	static const char *const names[] = { "node", "pid", "pstart", "starttime", "type", "id", "user" };
	__do_free char *buf = NULL;
	char *f[N_FIELDS];
	unsigned long starttime = 0;
	char *p;
	size_t n = 0;
	int bad = -1;

	*out = (struct pve_upid){};
	if (strncmp(s, "UPID:", 5) != 0)
		return plx_err_set(err, EINVAL, "not a PVE task id (UPID): '%s'", s);
	buf = strdup(s + 5);
	if (!buf)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (p = buf; n < N_FIELDS; n++) {
		f[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	/* exactly 7 fields, each ended by ':' (the 8th is the empty rest) */
	if (n != N_FIELDS - 1 || *f[N_FIELDS - 1])
		return plx_err_set(err, EINVAL,
				   "not a PVE task id (UPID): '%s': expected 7 ':'-terminated fields", s);
	if (!node_field(f[0]))
		bad = 0;
	else if (!hex_field(f[1], 8, 8, &out->pid))
		bad = 1;
	else if (!hex_field(f[2], 8, 9, &out->pstart))
		bad = 2;
	else if (!hex_field(f[3], 8, 8, &starttime))
		bad = 3;
	else if (!plain_field(f[4], false))
		bad = 4;
	else if (!plain_field(f[5], true))
		bad = 5;
	else if (!plain_field(f[6], false))
		bad = 6;
	if (bad >= 0) {
		*out = (struct pve_upid){};
		return plx_err_set(err, EINVAL, "not a PVE task id (UPID): '%s': bad %s field '%s'", s,
				   names[bad], f[bad]);
	}
	out->starttime = (time_t)starttime;
	out->node = f[0];
	out->type = f[4];
	out->id = f[5];
	out->user = f[6];
	steal_ptr(buf);
	return 0;
}

bool pve_upid_is(const char *s)
{
	struct pve_upid u;
	struct plx_err err = PLX_ERR_INIT;
	int ret = pve_upid_parse(s, &u, &err);

	plx_err_clear(&err);
	pve_upid_clear(&u);
	return ret == 0;
}
