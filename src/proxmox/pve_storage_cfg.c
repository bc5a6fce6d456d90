/* SPDX-License-Identifier: Apache-2.0 */
/* storage.cfg: PVE's section config format, kept as type, id and properties. */
#include "proxmox/pve_storage_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

DEFINE_CLEANUP_FUNC(pve_storage_cfg_freep, struct pve_storage_cfg, pve_storage_cfg_free)

void pve_storage_cfg_free(struct pve_storage_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_entries; i++) {
		struct pve_storage_entry *e = &cfg->entries[i];

		for (size_t j = 0; j < e->n_props; j++) {
			free(e->props[j].key);
			free(e->props[j].value);
		}
		free(e->props);
		free(e->type);
		free(e->id);
	}
	free(cfg->entries);
	free(cfg);
}

/* PVE's storage ids and section types: [a-z][a-z0-9\-\_\.]*[a-z0-9] (pve-storage-id), types [a-z]+ */
static bool storage_id_valid(const char *s, size_t n)
{
	if (n < 2 || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!islower(c) && !isdigit(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return islower((unsigned char)s[n - 1]) || isdigit((unsigned char)s[n - 1]);
}

static char *trimmed_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

static int add_entry(struct pve_storage_cfg *cfg, const char *line, size_t n, const char *name, size_t lineno,
		     struct plx_err *err)
{
	const char *colon = memchr(line, ':', n);
	struct pve_storage_entry *v;
	__do_free char *type = NULL, *id = NULL;

	if (!colon || colon == line)
		return plx_err_set(err, EINVAL, "%s:%zu: expected \"TYPE: ID\", got '%.*s'", name, lineno,
				   (int)n, line);
	for (const char *p = line; p < colon; p++)
		if (!islower((unsigned char)*p))
			return plx_err_set(err, EINVAL, "%s:%zu: bad storage type '%.*s'", name, lineno,
					   (int)(colon - line), line);
	type = strndup(line, (size_t)(colon - line));
	id = trimmed_dup(colon + 1, n - (size_t)(colon - line) - 1);
	if (!type || !id)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!storage_id_valid(id, strlen(id)))
		return plx_err_set(err, EINVAL, "%s:%zu: bad storage id '%s'", name, lineno, id);
	if (pve_storage_cfg_find(cfg, id))
		return plx_err_set(err, EINVAL, "%s:%zu: storage '%s' defined twice", name, lineno, id);
	v = realloc(cfg->entries, (cfg->n_entries + 1) * sizeof(*v));
	if (!v)
		return plx_err_set(err, ENOMEM, "out of memory");
	cfg->entries = v;
	v[cfg->n_entries++] = (struct pve_storage_entry){.type = steal_ptr(type), .id = steal_ptr(id)};
	return 0;
}

static int add_prop(struct pve_storage_entry *e, const char *line, size_t n, const char *name, size_t lineno,
		    struct plx_err *err)
{
	size_t klen = 0;
	struct pve_storage_prop *v;
	__do_free char *key = NULL, *value = NULL;

	while (n && isspace((unsigned char)*line)) {
		line++;
		n--;
	}
	while (klen < n && !isspace((unsigned char)line[klen]))
		klen++;
	key = strndup(line, klen);
	value = trimmed_dup(line + klen, n - klen);
	if (!key || !value)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!*value) {
		free(value);
		value = strdup("1"); /* a bare flag: "sparse", "disable" */
		if (!value)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	if (pve_storage_prop(e, key))
		return plx_err_set(err, EINVAL, "%s:%zu: storage '%s': property '%s' given twice", name,
				   lineno, e->id, key);
	v = realloc(e->props, (e->n_props + 1) * sizeof(*v));
	if (!v)
		return plx_err_set(err, ENOMEM, "out of memory");
	e->props = v;
	v[e->n_props++] = (struct pve_storage_prop){.key = steal_ptr(key), .value = steal_ptr(value)};
	return 0;
}

int pve_storage_cfg_parse(const char *buf, size_t len, const char *name, struct pve_storage_cfg **out,
			  struct plx_err *err)
{
	__attribute__((cleanup(pve_storage_cfg_freep))) struct pve_storage_cfg *cfg = calloc(1, sizeof(*cfg));
	struct pve_storage_entry *cur = NULL;
	size_t lineno = 0;

	if (!cfg)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (memchr(buf, '\0', len))
		return plx_err_set(err, EINVAL, "%s: holds a NUL byte", name);
	for (size_t off = 0; off < len;) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		size_t blank = 0;
		int ret;

		off += n + (nl ? 1 : 0);
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		while (blank < n && isspace((unsigned char)line[blank]))
			blank++;
		if (blank == n) {
			cur = NULL; /* a blank line ends the section */
			continue;
		}
		if (line[blank] == '#')
			continue;
		if (blank == 0) {
			ret = add_entry(cfg, line, n, name, lineno, err);
			cur = ret == 0 ? &cfg->entries[cfg->n_entries - 1] : NULL;
		} else if (!cur) {
			ret = plx_err_set(err, EINVAL, "%s:%zu: property '%.*s' outside a storage section",
					  name, lineno, (int)(n - blank), line + blank);
		} else {
			ret = add_prop(cur, line, n, name, lineno, err);
		}
		if (ret < 0)
			return ret;
	}
	*out = steal_ptr(cfg);
	return 0;
}

int pve_storage_cfg_load(const char *path, struct pve_storage_cfg **out, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t len = 0;
	int ret = plx_read_file_at(AT_FDCWD, path, &buf, &len, err);

	if (ret < 0)
		return ret;
	return pve_storage_cfg_parse(buf, len, path, out, err);
}

const struct pve_storage_entry *pve_storage_cfg_find(const struct pve_storage_cfg *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_entries; i++)
		if (strcmp(cfg->entries[i].id, id) == 0)
			return &cfg->entries[i];
	return NULL;
}

const char *pve_storage_prop(const struct pve_storage_entry *e, const char *key)
{
	for (size_t i = 0; i < e->n_props; i++)
		if (strcmp(e->props[i].key, key) == 0)
			return e->props[i].value;
	return NULL;
}

bool pve_storage_list_has(const char *list, const char *item)
{
	size_t ilen = strlen(item);

	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",; ");

		if (n == ilen && strncmp(p, item, n) == 0)
			return true;
		p += n;
		p += strspn(p, ",; ");
	}
	return false;
}

int pve_storage_check_rootdir(const struct pve_storage_entry *e, const char *node, struct plx_err *err)
{
	const char *disable = pve_storage_prop(e, "disable"), *content = pve_storage_prop(e, "content");
	const char *nodes = pve_storage_prop(e, "nodes");

	if (disable && strcmp(disable, "0") != 0)
		return plx_err_set(err, EINVAL, "storage '%s' is disabled", e->id);
	/* without "content", zfspool, dir and btrfs default to images,rootdir */
	if (content && !pve_storage_list_has(content, "rootdir"))
		return plx_err_set(err, EINVAL,
				   "storage '%s' does not hold container root filesystems "
				   "(content %s, needs rootdir)",
				   e->id, content);
	if (nodes && node && !pve_storage_list_has(nodes, node))
		return plx_err_set(err, EINVAL, "storage '%s' is not available on node '%s' (nodes %s)",
				   e->id, node, nodes);
	return 0;
}
