/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry authentication: WWW-Authenticate challenges, bearer-token
 * replies, and where credentials come from, first found wins:
 *   1. the runtime config: "registries": {"HOST[:PORT]": {"username", "password"}}
 *   2. $REGISTRY_AUTH_FILE (containers-auth.json: {"auths": {HOST: {"auth": base64(user:pass)}}})
 *   3. ~/.docker/config.json (same "auths" form; Docker Hub as https://index.docker.io/v1/)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "util/error.h"

struct plx_auth_challenge {
	char *scheme;  /* "basic" or "bearer" (lowercased) */
	char *realm;
	char *service; /* NULL when absent */
	char *scope;   /* NULL when absent */
	char *error;   /* bearer error="...", NULL when absent */
};

/*
 * Parse one WWW-Authenticate value (RFC 7235: scheme, then auth-params with
 * token or quoted-string values).  Errors name the header.
 */
int plx_auth_challenge_parse(const char *header, struct plx_auth_challenge *out, struct plx_err *err);
void plx_auth_challenge_free(struct plx_auth_challenge *c);

/* A token server's reply: {"token": ...} or {"access_token": ...}. */
int plx_auth_token_parse(const char *buf, size_t len, char **token, struct plx_err *err);

struct plx_registry_creds {
	char *username;
	char *password;
	char *source; /* where they came from, for messages: "config", "$REGISTRY_AUTH_FILE (PATH)", ... */
};

/*
 * The credentials for registry (HOST[:PORT]).  Returns 1 and fills *out
 * when some are found, 0 when none, negative on a malformed source (the
 * error names the file and key).  auth_file: $REGISTRY_AUTH_FILE's value,
 * docker_config: the ~/.docker/config.json path (either may be NULL).
 */
int plx_auth_lookup(const struct plx_config *cfg, const char *registry, const char *auth_file,
		    const char *docker_config, struct plx_registry_creds *out, struct plx_err *err);
/* The same, reading $REGISTRY_AUTH_FILE and $HOME/.docker/config.json (or $DOCKER_CONFIG/config.json). */
int plx_auth_lookup_env(const struct plx_config *cfg, const char *registry, struct plx_registry_creds *out,
			struct plx_err *err);
void plx_registry_creds_free(struct plx_registry_creds *c);
