/* SPDX-License-Identifier: Apache-2.0 */
/* vmid allocation on a node: scan what the cluster uses, claim by O_EXCL, lose a duplicate cleanly. */
#include "proxmox/pve_vmid.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* how many vmids one create tries before giving up (each loss moves on by one) */
#define CLAIM_ATTEMPTS 1000

void pve_vmid_set_clear(struct pve_vmid_set *s)
{
	free(s->ids);
	s->ids = NULL;
	s->n = 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

bool pve_vmid_set_has(const struct pve_vmid_set *s, unsigned int vmid)
{
	return s->n && bsearch(&vmid, s->ids, s->n, sizeof(*s->ids), cmp_uint);
}

static int set_add(struct pve_vmid_set *s, unsigned int vmid)
{
	unsigned int *v = realloc(s->ids, (s->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->ids = v;
	v[s->n++] = vmid;
	return 0;
}

static void set_sort(struct pve_vmid_set *s)
{
	size_t w = 0;

	if (!s->n)
		return;
	qsort(s->ids, s->n, sizeof(*s->ids), cmp_uint);
	for (size_t r = 1; r < s->n; r++)
		if (s->ids[r] != s->ids[w])
			s->ids[++w] = s->ids[r];
	s->n = w + 1;
}

/* A vmid as PVE writes it: decimal, no sign or leading zero, 100..999999999. */
static bool parse_vmid(const char *s, size_t n, unsigned int *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 9 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 100)
		return false;
	*out = (unsigned int)v;
	return true;
}

static int range_value(const char *v, size_t n, const char *name, const char *what, unsigned int *out,
		       struct plx_err *err)
{
	if (!parse_vmid(v, n, out))
		return plx_err_set(err, EINVAL, "%s: next-id: %s: expected a vmid (100-%u), got '%.*s'", name,
				   what, PVE_VMID_MAX, (int)n, v);
	return 0;
}

int pve_vmid_range_parse(const char *text, const char *name, unsigned int *lower, unsigned int *upper,
			 struct plx_err *err)
{
	*lower = PVE_VMID_LOWER;
	*upper = PVE_VMID_UPPER;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n > 8 && strncmp(line, "next-id:", 8) == 0) {
			/* a property string: lower=N,upper=N */
			for (const char *p = line + 8; p < line + n;) {
				size_t len, klen;
				int ret = 0;

				p += strspn(p, " \t");
				len = strcspn(p, ",\n");
				if (p + len > line + n)
					len = (size_t)(line + n - p);
				while (len && isspace((unsigned char)p[len - 1]))
					len--;
				klen = strcspn(p, "=");
				if (klen == 5 && strncmp(p, "lower", 5) == 0 && klen < len)
					ret = range_value(p + 6, len - 6, name, "lower", lower, err);
				else if (klen == 5 && strncmp(p, "upper", 5) == 0 && klen < len)
					ret = range_value(p + 6, len - 6, name, "upper", upper, err);
				else if (len)
					ret = plx_err_set(err, EINVAL, "%s: next-id: unknown property '%.*s'",
							  name, (int)len, p);
				if (ret < 0)
					return ret;
				p += strcspn(p, ",\n");
				if (*p == ',')
					p++;
				else
					break;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (*lower >= *upper)
		return plx_err_set(err, EINVAL, "%s: next-id: lower %u is not below upper %u", name, *lower,
				   *upper);
	return 0;
}

int pve_vmid_range(const char *etc_pve, unsigned int *lower, unsigned int *upper, struct plx_err *err)
{
	__do_free char *path = plx_path_join(etc_pve, "datacenter.cfg");
	__do_free char *text = NULL;
	int ret;

	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_read_file_at(AT_FDCWD, path, &text, NULL, err);
	if (ret == -ENOENT) {
		plx_err_clear(err);
		*lower = PVE_VMID_LOWER;
		*upper = PVE_VMID_UPPER;
		return 0;
	}
	if (ret < 0)
		return ret;
	return pve_vmid_range_parse(text, path, lower, upper, err);
}

/* .vmlist: {"version": N, "ids": {"100": {"node": ..., "type": ..., "version": ...}}} */
static int scan_vmlist(const char *etc_pve, const char *skip_node, unsigned int skip_vmid,
		       struct pve_vmid_set *s, struct plx_err *err)
{
	__do_free char *path = plx_path_join(etc_pve, ".vmlist");
	__do_free char *text = NULL;
	json_error_t jerr;
	json_t *ids, *v;
	const char *key;
	size_t len = 0;
	int ret;

	if (!path)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = plx_read_file_at(AT_FDCWD, path, &text, &len, err);
	if (ret == -ENOENT) {
		plx_err_clear(err);
		return 0;
	}
	if (ret < 0)
		return ret;
	json_auto_t *doc = json_loadb(text, len, 0, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
	ids = json_object_get(doc, "ids");
	if (ids && !json_is_object(ids))
		return plx_err_set(err, EINVAL, "%s: ids: expected object", path);
	json_object_foreach(ids, key, v)
	{
		const char *node = json_string_value(json_object_get(v, "node"));
		unsigned int vmid;

		if (!parse_vmid(key, strlen(key), &vmid))
			return plx_err_set(err, EINVAL, "%s: ids: bad vmid '%s'", path, key);
		/* our own claim, once pmxcfs lists it */
		if (vmid == skip_vmid && skip_node && node && strcmp(node, skip_node) == 0)
			continue;
		if (set_add(s, vmid) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* <dir>/<vmid>.conf names; a missing directory holds none. */
static int scan_conf_dir(const char *dir, unsigned int skip_vmid, struct pve_vmid_set *s, struct plx_err *err)
{
	__do_closedir DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : plx_err_sys(err, errno, "open %s", dir);
	while ((errno = 0, de = readdir(d))) {
		size_t n = strlen(de->d_name);
		unsigned int vmid;

		if (n <= 5 || strcmp(de->d_name + n - 5, ".conf") != 0 ||
		    !parse_vmid(de->d_name, n - 5, &vmid))
			continue;
		if (vmid == skip_vmid)
			continue;
		if (set_add(s, vmid) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	if (errno)
		return plx_err_sys(err, errno, "read %s", dir);
	return 0;
}

int pve_vmid_scan(const char *etc_pve, const char *skip_node, unsigned int skip_vmid,
		  struct pve_vmid_set *out, struct plx_err *err)
{
	struct pve_vmid_set s __attribute__((cleanup(pve_vmid_set_clear))) = {0};
	__do_free char *nodes = plx_path_join(etc_pve, "nodes");
	__do_closedir DIR *d = NULL;
	struct dirent *de;
	int ret;

	if (!nodes)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = scan_vmlist(etc_pve, skip_node, skip_vmid, &s, err);
	if (ret < 0)
		return ret;
	d = opendir(nodes);
	if (!d)
		return plx_err_sys(err, errno, "open %s", nodes);
	while ((de = readdir(d))) {
		static const char *const kinds[] = {"lxc", "qemu-server"};

		if (de->d_name[0] == '.')
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			__do_free char *dir = NULL;
			bool ours = skip_node && strcmp(de->d_name, skip_node) == 0 && k == 0;

			if (asprintf(&dir, "%s/%s/%s", nodes, de->d_name, kinds[k]) < 0)
				return plx_err_set(err, ENOMEM, "out of memory");
			ret = scan_conf_dir(dir, ours ? skip_vmid : 0, &s, err);
			if (ret < 0)
				return ret;
		}
	}
	set_sort(&s);
	*out = s;
	s = (struct pve_vmid_set){0}; /* handed over */
	return 0;
}

char *pve_vmid_conf_path(const char *etc_pve, const char *node, unsigned int vmid)
{
	char *p;

	if (asprintf(&p, "%s/nodes/%s/lxc/%u.conf", etc_pve, node, vmid) < 0)
		return NULL;
	return p;
}

/* -EEXIST (no message) when the file exists. */
static int write_claim(const char *path, const char *content, struct plx_err *err)
{
	__do_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	size_t len = strlen(content), off = 0;

	if (fd < 0 && errno == EEXIST)
		return -EEXIST; /* taken: the caller moves on, nothing to report */
	if (fd < 0)
		return plx_err_sys(err, errno, "claim a vmid: create %s", path);
	while (off < len) {
		ssize_t n = write(fd, content + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			unlink(path);
			return plx_err_sys(err, e, "write %s", path);
		}
		off += (size_t)n;
	}
	return 0;
}

int pve_vmid_claim(const char *etc_pve, const char *node, const char *content, unsigned int *vmid,
		   struct plx_err *err)
{
	struct pve_vmid_set used __attribute__((cleanup(pve_vmid_set_clear))) = {0};
	unsigned int lower, upper, next;
	int ret;

	ret = pve_vmid_range(etc_pve, &lower, &upper, err);
	if (ret == 0)
		ret = pve_vmid_scan(etc_pve, NULL, 0, &used, err);
	if (ret < 0)
		return ret;
	next = lower;
	for (int attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
		struct pve_vmid_set again __attribute__((cleanup(pve_vmid_set_clear))) = {0};
		__do_free char *path = NULL;

		while (next < upper && pve_vmid_set_has(&used, next))
			next++;
		if (next >= upper)
			return plx_err_set(err, ENOSPC, "%s: no free vmid in %u-%u (datacenter.cfg next-id)",
					   etc_pve, lower, upper - 1);
		path = pve_vmid_conf_path(etc_pve, node, next);
		if (!path)
			return plx_err_set(err, ENOMEM, "out of memory");
		ret = write_claim(path, content, err);
		if (ret == -EEXIST) {
			next++; /* a concurrent create on this node got it first */
			continue;
		}
		if (ret < 0)
			return ret;
		/* another node may have created the same vmid meanwhile: then ours loses */
		ret = pve_vmid_scan(etc_pve, node, next, &again, err);
		if (ret < 0) {
			unlink(path);
			return ret;
		}
		if (!pve_vmid_set_has(&again, next)) {
			*vmid = next;
			return 0;
		}
		log_info("vmid %u is also claimed elsewhere in the cluster: ours (%s) gives way", next, path);
		if (unlink(path) < 0)
			return plx_err_sys(err, errno, "give up vmid %u: unlink %s", next, path);
		next++;
	}
	return plx_err_set(err, EAGAIN, "%s: no vmid could be claimed after %d attempts", etc_pve,
			   CLAIM_ATTEMPTS);
}
