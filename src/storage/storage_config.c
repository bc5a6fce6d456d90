/* SPDX-License-Identifier: Apache-2.0 */
/* The "storage" section of the runtime config and the per-container driver choice. */
#include "storage/storage_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/json.h"

static const char *const driver_names[] = {
	[PLX_STORAGE_NONE] = "none",
	[PLX_STORAGE_DIR] = "dir",
	[PLX_STORAGE_BTRFS] = "btrfs",
	[PLX_STORAGE_ZFS] = "zfs",
};

int plx_storage_driver_from_name(const char *name, enum plx_storage_driver *out)
{
	for (size_t i = PLX_STORAGE_DIR; i < ARRAY_SIZE(driver_names); i++)
		if (strcmp(name, driver_names[i]) == 0) {
			*out = (enum plx_storage_driver)i;
			return 0;
		}
	return -EINVAL;
}

const char *plx_storage_driver_name(enum plx_storage_driver d)
{
	if ((size_t)d < ARRAY_SIZE(driver_names))
		return driver_names[d];
	return "unknown";
}

int plx_storage_parse_size(const char *s, const char *what, uint64_t *out, struct plx_err *err)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return plx_err_set(err, EINVAL, "%s: expected a size like 512M or 8G, got \"%s\"", what,
				   s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return plx_err_set(err, ERANGE, "%s: size \"%s\" is too large", what, s);
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));

		if (!u)
			return plx_err_set(err, EINVAL, "%s: unknown unit in \"%s\" (expected K, M, G or T)",
					   what, s);
		shift = 10 * (unsigned int)(u - units + 1);
		end++;
		if (*end && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
			return plx_err_set(err, EINVAL, "%s: unknown unit in \"%s\" (expected K, M, G or T)",
					   what, s);
	}
	if (v == 0)
		return plx_err_set(err, EINVAL, "%s: size must be greater than 0", what);
	if (shift && v > (UINT64_MAX >> shift))
		return plx_err_set(err, ERANGE, "%s: size \"%s\" is too large", what, s);
	*out = (uint64_t)v << shift;
	return 0;
}

/* "size": a string with a unit or a number of bytes. */
static int parse_size_key(const json_t *v, uint64_t *out, struct plx_err *err)
{
	if (json_is_string(v))
		return plx_storage_parse_size(json_string_value(v), "storage.size", out, err);
	if (!json_is_integer(v))
		return plx_err_set(err, EINVAL, "storage.size: expected string or integer, got %s",
				   plx_json_type_name(v));
	if (json_integer_value(v) <= 0)
		return plx_err_set(err, EINVAL, "storage.size: size must be greater than 0");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* section.key = {"<field>": string}; absolute when abs.  Sets *out. */
static int parse_sub(const json_t *sub, const char *key, const char *field, bool abs, char **out,
		     struct plx_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(sub))
		return plx_err_set(err, EINVAL, "storage.%s: expected object, got %s", key, plx_json_type_name(sub));
	json_object_foreach((json_t *)sub, k, v) {
		if (strcmp(k, field) != 0)
			return plx_err_set(err, EINVAL, "storage.%s.%s: unknown key (expected \"%s\")", key, k,
					   field);
		if (!json_is_string(v))
			return plx_err_set(err, EINVAL, "storage.%s.%s: expected string, got %s", key, k,
					   plx_json_type_name(v));
		const char *s = json_string_value(v);
		if (s[0] == '\0')
			return plx_err_set(err, EINVAL, "storage.%s.%s: must not be empty", key, k);
		if (abs && s[0] != '/')
			return plx_err_set(err, EINVAL, "storage.%s.%s: expected an absolute path, got \"%s\"",
					   key, k, s);
		/* A zfs dataset name: POOL or POOL/DATASET, no snapshot part, no leading or trailing '/'. */
		if (!abs && (s[0] == '/' || s[strlen(s) - 1] == '/' || strpbrk(s, "@# ") || strstr(s, "//")))
			return plx_err_set(err, EINVAL,
					   "storage.%s.%s: expected a dataset name POOL/DATASET, got \"%s\"", key,
					   k, s);
		free(*out);
		*out = strdup(s);
		if (!*out)
			return plx_err_set(err, ENOMEM, "storage.%s.%s: out of memory", key, k);
	}
	if (!*out)
		return plx_err_set(err, EINVAL, "storage.%s: missing key \"%s\"", key, field);
	return 0;
}

static int parse_section(const json_t *section, struct plx_storage_config *c, struct plx_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(section))
		return plx_err_set(err, EINVAL, "storage: expected object, got %s", plx_json_type_name(section));
	json_object_foreach((json_t *)section, k, v) {
		int ret;

		if (strcmp(k, "driver") == 0) {
			if (!json_is_string(v))
				return plx_err_set(err, EINVAL, "storage.driver: expected string, got %s",
						   plx_json_type_name(v));
			if (plx_storage_driver_from_name(json_string_value(v), &c->driver) < 0)
				return plx_err_set(err, EINVAL,
						   "storage.driver: expected one of dir, btrfs, zfs, got \"%s\"",
						   json_string_value(v));
			continue;
		}
		if (strcmp(k, "size") == 0)
			ret = parse_size_key(v, &c->size, err);
		else if (strcmp(k, "zfs") == 0)
			ret = parse_sub(v, k, "parent", false, &c->zfs_parent, err);
		else if (strcmp(k, "btrfs") == 0)
			ret = parse_sub(v, k, "path", true, &c->btrfs_path, err);
		else if (strcmp(k, "dir") == 0)
			ret = parse_sub(v, k, "path", true, &c->dir_path, err);
		else
			return plx_err_set(err, EINVAL,
					   "storage.%s: unknown key (expected driver, size, zfs, btrfs, dir)", k);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static const char *driver_section_value(const struct plx_storage_config *c, enum plx_storage_driver d)
{
	switch (d) {
	case PLX_STORAGE_ZFS:
		return c->zfs_parent;
	case PLX_STORAGE_BTRFS:
		return c->btrfs_path;
	case PLX_STORAGE_DIR:
		return c->dir_path;
	case PLX_STORAGE_NONE:
		break;
	}
	return NULL;
}

static const char *driver_section_key(enum plx_storage_driver d)
{
	return d == PLX_STORAGE_ZFS ? "storage.zfs.parent" :
	       d == PLX_STORAGE_BTRFS ? "storage.btrfs.path" : "storage.dir.path";
}

int plx_storage_config_parse(const json_t *section, struct plx_storage_config *out, struct plx_err *err)
{
	struct plx_storage_config c = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	if (!section)
		return 0;
	ret = parse_section(section, &c, err);
	if (ret == 0 && c.driver != PLX_STORAGE_NONE && !driver_section_value(&c, c.driver))
		ret = plx_err_set(err, EINVAL, "storage.driver is \"%s\" but %s is not set",
				  plx_storage_driver_name(c.driver), driver_section_key(c.driver));
	if (ret < 0) {
		plx_storage_config_clear(&c);
		return ret;
	}
	*out = c;
	return 0;
}

void plx_storage_config_clear(struct plx_storage_config *c)
{
	free(c->zfs_parent);
	free(c->btrfs_path);
	free(c->dir_path);
	memset(c, 0, sizeof(*c));
}

int plx_storage_pick(const struct plx_storage_config *c, const json_t *annotations,
		     enum plx_storage_driver *out, struct plx_err *err)
{
	json_t *a = annotations ? json_object_get(annotations, PLX_STORAGE_ANNOTATION) : NULL;
	enum plx_storage_driver d;

	*out = PLX_STORAGE_NONE;
	if (!a) {
		*out = c->driver;
		return 0;
	}
	if (!json_is_string(a))
		return plx_err_set(err, EINVAL, "annotation %s: expected string, got %s", PLX_STORAGE_ANNOTATION,
				   plx_json_type_name(a));
	if (plx_storage_driver_from_name(json_string_value(a), &d) < 0)
		return plx_err_set(err, EINVAL, "annotation %s: expected one of dir, btrfs, zfs, got \"%s\"",
				   PLX_STORAGE_ANNOTATION, json_string_value(a));
	if (!driver_section_value(c, d))
		return plx_err_set(err, EINVAL, "annotation %s=%s: the runtime config does not set %s",
				   PLX_STORAGE_ANNOTATION, json_string_value(a), driver_section_key(d));
	*out = d;
	return 0;
}

int plx_storage_open_configured(const struct plx_storage_config *c, enum plx_storage_driver d,
				struct plx_storage **out, struct plx_err *err)
{
	const char *base = driver_section_value(c, d);
	const struct plx_storage_ops *ops = d == PLX_STORAGE_ZFS ? &plx_storage_zfs_ops :
					    d == PLX_STORAGE_BTRFS ? &plx_storage_btrfs_ops :
								     &plx_storage_dir_ops;

	if (d == PLX_STORAGE_NONE)
		return plx_err_set(err, EINVAL, "no storage driver chosen");
	if (!base)
		return plx_err_set(err, EINVAL, "storage driver %s: %s is not set", plx_storage_driver_name(d),
				   driver_section_key(d));
	return plx_storage_open(ops, base, out, err);
}
