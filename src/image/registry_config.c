/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing of the runtime config's "registries" section. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry_config.h"
#include "util/json.h"

void plx_registry_conf_free(struct plx_registry_conf *c)
{
	free(c->username);
	free(c->password);
	free(c->ca_file);
	*c = (struct plx_registry_conf){};
}

static int conf_str(const char *file, const char *registry, json_t *entry, const char *key, char **out,
		    struct plx_err *err)
{
	json_t *v = json_object_get(entry, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return plx_err_set(err, EINVAL, "%s: registries.\"%s\".%s: expected string, got %s", file, registry,
				   key, plx_json_type_name(v));
	*out = strdup(json_string_value(v));
	if (!*out)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int plx_registry_conf_get(const struct plx_config *cfg, const char *registry, struct plx_registry_conf *out,
			  struct plx_err *err)
{
	const char *file = cfg && cfg->path ? cfg->path : "config";
	struct plx_registry_conf c = {};
	json_t *entry, *v;
	const char *key;
	int ret = 0;

	*out = c;
	if (!cfg || !cfg->registries)
		return 0;
	entry = json_object_get(cfg->registries, registry);
	if (!entry)
		return 0;
	if (!json_is_object(entry))
		return plx_err_set(err, EINVAL, "%s: registries.\"%s\": expected object, got %s", file, registry,
				   plx_json_type_name(entry));
	json_object_foreach(entry, key, v) {
		if (strcmp(key, "insecure") == 0) {
			if (!json_is_boolean(v)) {
				ret = plx_err_set(err, EINVAL, "%s: registries.\"%s\".insecure: expected boolean, got %s",
						  file, registry, plx_json_type_name(v));
				break;
			}
			c.insecure = json_is_true(v);
		} else if (strcmp(key, "username") == 0) {
			ret = conf_str(file, registry, entry, key, &c.username, err);
		} else if (strcmp(key, "password") == 0) {
			ret = conf_str(file, registry, entry, key, &c.password, err);
		} else if (strcmp(key, "ca_file") == 0) {
			ret = conf_str(file, registry, entry, key, &c.ca_file, err);
		} else {
			ret = plx_err_set(err, EINVAL, "%s: registries.\"%s\": unknown key \"%s\"", file, registry, key);
		}
		if (ret < 0)
			break;
	}
	if (ret == 0 && !!c.username != !!c.password)
		ret = plx_err_set(err, EINVAL, "%s: registries.\"%s\": username and password go together", file,
				  registry);
	if (ret < 0) {
		plx_registry_conf_free(&c);
		return ret;
	}
	*out = c;
	return 0;
}
