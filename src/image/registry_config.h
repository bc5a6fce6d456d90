/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime config's "registries" section:
 *   {"registries": {"HOST[:PORT]": {"insecure": bool, "username": str, "password": str, "ca_file": path}}}
 * insecure allows plain HTTP and unverified TLS for that registry.
 */
#pragma once

#include <stdbool.h>

#include "core/config.h"
#include "util/error.h"

struct plx_registry_conf {
	bool insecure;
	char *username;
	char *password;
	char *ca_file;
};

/* The entry for registry (zeroed when there is none); errors name the key and the config file. */
int plx_registry_conf_get(const struct plx_config *cfg, const char *registry, struct plx_registry_conf *out,
			  struct plx_err *err);
void plx_registry_conf_free(struct plx_registry_conf *c);
