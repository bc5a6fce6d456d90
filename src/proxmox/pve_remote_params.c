/* SPDX-License-Identifier: Apache-2.0 */
/* Remote mode without I/O: how names, processes and environments are written for PVE. */
#include "proxmox/pve_remote.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"

void pve_remote_ct_clear(struct pve_remote_ct *ct)
{
	free(ct->name);
	free(ct->node);
	free(ct->status);
	*ct = (struct pve_remote_ct){};
}

void pve_remote_cts_free(struct pve_remote_ct *cts, size_t n)
{
	for (size_t i = 0; cts && i < n; i++)
		pve_remote_ct_clear(&cts[i]);
	free(cts);
}

void pve_remote_created_clear(struct pve_remote_created *r)
{
	free(r->node);
	*r = (struct pve_remote_created){};
}

char *pve_remote_description(const char *name)
{
	char *d;

	if (asprintf(&d, PVE_REMOTE_DESCRIPTION "%s", name) < 0)
		return NULL;
	return d;
}

bool pve_remote_config_is(const json_t *config, const char *name)
{
	const json_t *v = json_object_get(config, "description");
	const char *d;
	size_t len, plen = strlen(PVE_REMOTE_DESCRIPTION), nlen = strlen(name);

	if (!json_is_string(v))
		return false;
	d = json_string_value(v);
	/* PVE hands the description back with the newline its comment lines end in */
	len = strlen(d);
	while (len && isspace((unsigned char)d[len - 1]))
		len--;
	return len == plen + nlen && strncmp(d, PVE_REMOTE_DESCRIPTION, plen) == 0 &&
	       strncmp(d + plen, name, nlen) == 0;
}

bool pve_remote_has_tag(const char *tags)
{
	size_t tlen = strlen(PVE_REMOTE_TAG);

	if (!tags)
		return false;
	for (const char *p = tags; *p;) {
		size_t n = strcspn(p, ";, ");

		if (n == tlen && strncmp(p, PVE_REMOTE_TAG, tlen) == 0)
			return true;
		p += n;
		p += strspn(p, ";, ");
	}
	return false;
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return true;
	return false;
}

int pve_remote_entrypoint(char *const *argv, char **out, struct plx_err *err)
{
	__do_free char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!argv || !argv[0])
		return plx_err_set(err, EINVAL, "entrypoint: no command");
	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];

		/* a config line ends at a newline: a control character cannot be carried */
		for (const char *p = a; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return plx_err_set(
					err, EINVAL,
					"entrypoint argument %zu \"%s\": a control character cannot "
					"be passed to a PVE CT's entrypoint",
					i, a);
		if ((has_space(a) || !*a || a[0] == '"' || a[0] == '\'') && strchr(a, '"') && strchr(a, '\''))
			return plx_err_set(err, EINVAL,
					   "entrypoint argument %zu \"%s\": holds both quote characters and "
					   "white space, which LXC's lxc.init.cmd cannot carry (no escapes)",
					   i, a);
	}
	f = open_memstream(&text, &len);
	if (!f)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];
		bool quote = has_space(a) || !*a || a[0] == '"' || a[0] == '\'';

		if (i)
			fputc(' ', f);
		if (!quote)
			fputs(a, f);
		else if (!strchr(a, '"'))
			fprintf(f, "\"%s\"", a);
		else
			fprintf(f, "'%s'", a);
	}
	if (fclose(f) != 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	*out = steal_ptr(text);
	return 0;
}

int pve_remote_env(char *const *env, json_t **out, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t len = 0, off = 0;
	json_t *s;

	for (size_t i = 0; env && env[i]; i++)
		len += strlen(env[i]) + 1;
	buf = malloc(len + 1);
	if (!buf)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; env && env[i]; i++) {
		size_t n = strlen(env[i]);

		if (i)
			buf[off++] = '\0';
		memcpy(buf + off, env[i], n);
		off += n;
	}
	s = json_stringn_nocheck(buf, off);
	if (!s)
		return plx_err_set(err, ENOMEM, "out of memory");
	*out = s;
	return 0;
}

bool pve_remote_vmid_taken(const char *msg, unsigned int vmid)
{
	char ct[48], vm[48];

	snprintf(ct, sizeof(ct), "CT %u already exists", vmid);
	snprintf(vm, sizeof(vm), "VM %u already exists", vmid);
	return msg && (strstr(msg, ct) || strstr(msg, vm));
}

int pve_remote_snapname(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) || strftime(out, 32, "snap%Y%m%d%H%M%S", &tm) == 0)
		return -EINVAL;
	return 0;
}

int pve_remote_create_params(const struct pve_remote_create_opts *o, unsigned int vmid,
			     const char *ostemplate, json_t **out, struct plx_err *err)
{
	json_auto_t *p = NULL, *env = NULL;
	__do_free char *desc = pve_remote_description(o->name), *rootfs = NULL, *entry = NULL;
	int ret;

	if (!desc ||
	    asprintf(&rootfs, "%s:%u", o->storage, o->rootfs_gb ? o->rootfs_gb : PVE_REMOTE_ROOTFS_GB) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = pve_remote_entrypoint(o->entrypoint, &entry, err);
	if (ret < 0)
		return ret;
	ret = pve_remote_env(o->env, &env, err);
	if (ret < 0)
		return ret;
	/*
	 * unprivileged, and ostype unmanaged: PVE leaves the rootfs of an
	 * application container alone (no /etc/hostname, no getty setup)
	 */
	p = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "vmid", (json_int_t)vmid, "hostname",
		      o->name, "ostemplate", ostemplate, "rootfs", rootfs, "entrypoint", entry, "description",
		      desc, "tags", PVE_REMOTE_TAG, "unprivileged", 1, "ostype", "unmanaged");
	if (!p)
		return plx_err_set(err, EINVAL, "CT %s: parameters are not valid UTF-8", o->name);
	if (o->env && o->env[0] && json_object_set(p, "env", env) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (o->memory && json_object_set_new(p, "memory", json_integer(o->memory)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (o->cores && json_object_set_new(p, "cores", json_integer(o->cores)) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (o->net0 && json_object_set_new(p, "net0", json_string(o->net0)) < 0)
		return plx_err_set(err, EINVAL, "CT %s: --net0 is not valid UTF-8", o->name);
	*out = steal_ptr(p);
	return 0;
}
