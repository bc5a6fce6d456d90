/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's own config file: where it is, and its top-level keys. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/fs.h"

static inline void config_json_decrefp(json_t **p)
{
	json_decref(*p);
	*p = NULL;
}
#define __do_json_decref __attribute__((cleanup(config_json_decrefp)))

DEFINE_CLEANUP_FUNC(config_freep, struct plx_config, plx_config_free)
#define __do_config_free __attribute__((cleanup(config_freep)))

static const char *const log_levels[] = { "error", "warning", "info", "debug" };

/* The top-level keys of an OCI config.json; see plx_config_load_search(). */
static const char *const oci_keys[] = { "ociVersion", "process", "root", "linux", "mounts" };

struct plx_config *plx_config_defaults(void)
{
	return calloc(1, sizeof(struct plx_config));
}

void plx_config_free(struct plx_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->root);
	free(c->log_level);
	free(c->init_path);
	json_decref(c->storage);
	json_decref(c->images);
	json_decref(c->registries);
	json_decref(c->proxmox);
	json_decref(c->doc);
	free(c);
}

static int get_string(const char *file, const char *key, json_t *v, char **out, struct plx_err *err)
{
	if (!json_is_string(v))
		return plx_err_set(err, EINVAL, "%s: key %s: expected string, got %s", file, key,
				   plx_json_type_name(v));
	*out = strdup(json_string_value(v));
	if (!*out)
		return plx_err_set(err, ENOMEM, "%s: out of memory", file);
	return 0;
}

static int get_abs_path(const char *file, const char *key, json_t *v, char **out, struct plx_err *err)
{
	int ret = get_string(file, key, v, out, err);

	if (ret < 0)
		return ret;
	if ((*out)[0] != '/')
		return plx_err_set(err, EINVAL, "%s: key %s: expected an absolute path, got \"%s\"", file,
				   key, *out);
	return 0;
}

static int get_log_level(const char *file, json_t *v, char **out, struct plx_err *err)
{
	int ret = get_string(file, "log_level", v, out, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ARRAY_SIZE(log_levels); i++)
		if (strcmp(*out, log_levels[i]) == 0)
			return 0;
	return plx_err_set(err, EINVAL,
			   "%s: key log_level: expected one of error, warning, info, debug, got \"%s\"", file,
			   *out);
}

static int get_section(const char *file, const char *key, json_t *v, json_t **out, struct plx_err *err)
{
	if (!json_is_object(v))
		return plx_err_set(err, EINVAL, "%s: key %s: expected object, got %s", file, key,
				   plx_json_type_name(v));
	*out = json_incref(v);
	return 0;
}

static int apply_key(struct plx_config *c, const char *file, const char *key, json_t *v, struct plx_err *err)
{
	if (strcmp(key, "root") == 0)
		return get_abs_path(file, key, v, &c->root, err);
	if (strcmp(key, "log_level") == 0)
		return get_log_level(file, v, &c->log_level, err);
	if (strcmp(key, "init") == 0)
		return get_abs_path(file, key, v, &c->init_path, err);
	if (strcmp(key, "storage") == 0)
		return get_section(file, key, v, &c->storage, err);
	if (strcmp(key, "images") == 0)
		return get_section(file, key, v, &c->images, err);
	if (strcmp(key, "registries") == 0)
		return get_section(file, key, v, &c->registries, err);
	if (strcmp(key, "proxmox") == 0)
		return get_section(file, key, v, &c->proxmox, err);
	/* A typo in a config file must not be silently ignored. */
	return plx_err_set(err, EINVAL, "%s: unknown key \"%s\"", file, key);
}

static int parse_json(const char *file, const char *buf, size_t len, size_t flags, json_t **out,
		      struct plx_err *err)
{
	json_error_t jerr;

	*out = json_loadb(buf, len, flags, &jerr);
	if (!*out)
		return plx_err_set(err, EINVAL, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	return 0;
}

static int config_from_text(const char *file, const char *buf, size_t len, struct plx_config **out,
			    struct plx_err *err)
{
	__do_config_free struct plx_config *c = NULL;
	json_t *doc = NULL;
	const char *key;
	json_t *v;
	int ret;

	c = plx_config_defaults();
	if (!c)
		return plx_err_set(err, ENOMEM, "%s: out of memory", file);
	c->path = strdup(file);
	if (!c->path)
		return plx_err_set(err, ENOMEM, "%s: out of memory", file);
	ret = parse_json(file, buf, len, JSON_REJECT_DUPLICATES, &doc, err);
	if (ret < 0)
		return ret;
	c->doc = doc;
	if (!json_is_object(doc))
		return plx_err_set(err, EINVAL, "%s: top level: expected object, got %s", file,
				   plx_json_type_name(doc));
	json_object_foreach(doc, key, v)
	{
		ret = apply_key(c, file, key, v, err);
		if (ret < 0)
			return ret;
	}
	*out = steal_ptr(c);
	return 0;
}

int plx_config_load_file(const char *path, struct plx_config **out, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = plx_read_file_at(AT_FDCWD, path, &buf, &len, err);
	if (ret < 0)
		return ret;
	return config_from_text(path, buf, len, out, err);
}

/*
 * runc is usually run in the bundle directory, so ./config.json is most
 * often the container's OCI config, not ours.  It is ours only when its
 * top level has none of the OCI keys.  "root" is a key of both: the OCI
 * one is an object ({"path": ...}), ours a string.  The test parses
 * leniently, as runc parses an OCI config (duplicate keys allowed), so a
 * bundle's config never fails on a rule that only applies to our file.
 */
static bool is_oci_config(const char *buf, size_t len)
{
	__do_json_decref json_t *doc = json_loadb(buf, len, 0, NULL);
	json_t *v;

	if (!doc || !json_is_object(doc))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(oci_keys); i++) {
		v = json_object_get(doc, oci_keys[i]);
		if (v && (strcmp(oci_keys[i], "root") != 0 || json_is_object(v)))
			return true;
	}
	return false;
}

/* Read path; *found is false (and 0 returned) when it does not exist. */
static int read_candidate(const char *path, char **buf, size_t *len, bool *found, struct plx_err *err)
{
	int ret = plx_read_file_at(AT_FDCWD, path, buf, len, err);

	*found = ret == 0;
	if (ret == -ENOENT) {
		plx_err_clear(err);
		return 0;
	}
	return ret;
}

static int defaults(struct plx_config **out, struct plx_err *err)
{
	*out = plx_config_defaults();
	if (!*out)
		return plx_err_set(err, ENOMEM, "config: out of memory");
	return 0;
}

int plx_config_load_search(const char *env_path, const char *system_path, const char *local_path,
			   struct plx_config **out, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t len = 0;
	bool found = false;
	int ret;

	/* An explicitly named file must exist: silently running with defaults
	 * would hide the mistake. */
	if (env_path && *env_path) {
		ret = plx_config_load_file(env_path, out, err);
		if (ret < 0)
			return plx_err_prefix(err, "%s", PLX_CONFIG_ENV);
		return 0;
	}

	if (system_path) {
		ret = read_candidate(system_path, &buf, &len, &found, err);
		if (ret < 0)
			return ret;
		if (found)
			return config_from_text(system_path, buf, len, out, err);
	}

	if (local_path) {
		ret = read_candidate(local_path, &buf, &len, &found, err);
		if (ret < 0)
			return ret;
		if (found && !is_oci_config(buf, len))
			return config_from_text(local_path, buf, len, out, err);
	}

	return defaults(out, err);
}

int plx_config_load(struct plx_config **out, struct plx_err *err)
{
	return plx_config_load_search(getenv(PLX_CONFIG_ENV), PLX_CONFIG_SYSTEM, PLX_CONFIG_LOCAL, out, err);
}
