/* SPDX-License-Identifier: Apache-2.0 */
/* Registry authentication: challenges, token replies, credential sources. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "image/auth.h"
#include "image/registry_config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#include <fcntl.h>

static inline void json_decrefp_(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define __do_json_decref __attribute__((cleanup(json_decrefp_)))

void plx_auth_challenge_free(struct plx_auth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	*c = (struct plx_auth_challenge){};
}

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or quoted-string at *pp into a new heap string; NULL and *bad on a syntax error. */
static char *param_value(const char **pp, bool *bad)
{
	const char *p = *pp;
	char *out, *o;

	if (*p == '"') {
		out = o = malloc(strlen(p) + 1);
		if (!out)
			return NULL;
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			*o++ = *p;
		}
		if (*p != '"') {
			free(out);
			*bad = true;
			return NULL;
		}
		*o = '\0';
		*pp = p + 1;
		return out;
	}
	while (is_tchar(*p) || *p == '/' || *p == ':' || *p == '=')
		p++;
	if (p == *pp) {
		*bad = true;
		return NULL;
	}
	out = strndup(*pp, (size_t)(p - *pp));
	*pp = p;
	return out;
}

int plx_auth_challenge_parse(const char *header, struct plx_auth_challenge *out, struct plx_err *err)
{
	struct plx_auth_challenge c = {};
	const char *p = skip_ws(header), *start = p;

	while (is_tchar(*p))
		p++;
	if (p == start)
		return plx_err_set(err, EINVAL, "WWW-Authenticate \"%s\": no scheme", header);
	c.scheme = strndup(start, (size_t)(p - start));
	if (!c.scheme)
		return plx_err_set(err, ENOMEM, "out of memory");
	for (char *s = c.scheme; *s; s++)
		*s = (char)tolower((unsigned char)*s);

	for (;;) {
		__do_free char *key = NULL, *val = NULL;
		const char *kstart;
		bool bad = false;
		char **slot = NULL;

		p = skip_ws(p);
		while (*p == ',')
			p = skip_ws(p + 1);
		if (!*p)
			break;
		kstart = p;
		while (is_tchar(*p))
			p++;
		if (p == kstart || *skip_ws(p) != '=') {
			/* the start of a second challenge: we act on the first */
			if (p != kstart && (*p == ' ' || !*p))
				break;
			plx_auth_challenge_free(&c);
			return plx_err_set(err, EINVAL, "WWW-Authenticate \"%s\": malformed parameter at \"%s\"",
					   header, kstart);
		}
		key = strndup(kstart, (size_t)(p - kstart));
		p = skip_ws(skip_ws(p) + 1);
		val = param_value(&p, &bad);
		if (!key || (!val && !bad)) {
			plx_auth_challenge_free(&c);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
		if (bad) {
			plx_auth_challenge_free(&c);
			return plx_err_set(err, EINVAL, "WWW-Authenticate \"%s\": malformed value of %s", header, key);
		}
		if (strcasecmp(key, "realm") == 0)
			slot = &c.realm;
		else if (strcasecmp(key, "service") == 0)
			slot = &c.service;
		else if (strcasecmp(key, "scope") == 0)
			slot = &c.scope;
		else if (strcasecmp(key, "error") == 0)
			slot = &c.error;
		if (slot) {
			free(*slot);
			*slot = steal_ptr(val);
		}
		p = skip_ws(p);
		if (*p && *p != ',') {
			plx_auth_challenge_free(&c);
			return plx_err_set(err, EINVAL, "WWW-Authenticate \"%s\": expected ',' at \"%s\"", header, p);
		}
	}
	if (strcmp(c.scheme, "bearer") == 0 && (!c.realm || !*c.realm)) {
		plx_auth_challenge_free(&c);
		return plx_err_set(err, EINVAL, "WWW-Authenticate \"%s\": bearer challenge without a realm", header);
	}
	*out = c;
	return 0;
}

int plx_auth_token_parse(const char *buf, size_t len, char **token, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	json_error_t jerr;
	json_t *t;

	doc = json_loadb(buf, len, 0, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "token reply: invalid JSON at line %d column %d: %s", jerr.line,
				   jerr.column, jerr.text);
	if (!json_is_object(doc))
		return plx_err_set(err, EINVAL, "token reply: expected object, got %s", plx_json_type_name(doc));
	t = json_object_get(doc, "token");
	if (!json_is_string(t) || !*json_string_value(t))
		t = json_object_get(doc, "access_token");
	if (!json_is_string(t) || !*json_string_value(t))
		return plx_err_set(err, EINVAL, "token reply: no \"token\" or \"access_token\" string");
	*token = strdup(json_string_value(t));
	if (!*token)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

void plx_registry_creds_free(struct plx_registry_creds *c)
{
	free(c->username);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->source);
	*c = (struct plx_registry_creds){};
}

/* "https://index.docker.io/v1/" -> "docker.io"; "http://h:5000/x" -> "h:5000" */
static char *auth_key_host(const char *key)
{
	const char *p = strstr(key, "://");
	char *host;

	p = p ? p + 3 : key;
	host = strndup(p, strcspn(p, "/"));
	if (host && (strcmp(host, "index.docker.io") == 0 || strcmp(host, "registry-1.docker.io") == 0)) {
		free(host);
		host = strdup("docker.io");
	}
	return host;
}

static int decode_auth(const char *file, const char *key, const char *b64, struct plx_registry_creds *out,
		       struct plx_err *err)
{
	size_t n = strlen(b64), pad = 0;
	__do_free unsigned char *raw = malloc(n / 4 * 3 + 4);
	char *colon;
	int len;

	if (!raw)
		return plx_err_set(err, ENOMEM, "out of memory");
	while (pad < n && b64[n - 1 - pad] == '=')
		pad++;
	len = n % 4 == 0 ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
	if (len < 0 || (size_t)len < pad)
		return plx_err_set(err, EINVAL, "%s: auths.\"%s\".auth: not base64", file, key);
	len -= (int)pad;
	raw[len] = '\0';
	colon = strchr((char *)raw, ':');
	if (!colon || colon == (char *)raw)
		return plx_err_set(err, EINVAL, "%s: auths.\"%s\".auth: expected base64 of user:password", file, key);
	*colon = '\0';
	out->username = strdup((char *)raw);
	out->password = strdup(colon + 1);
	explicit_bzero(raw, (size_t)len);
	if (!out->username || !out->password)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* 1 when file has creds for registry, 0 when not (or no such file). */
static int lookup_auth_file(const char *file, const char *what, const char *registry,
			    struct plx_registry_creds *out, struct plx_err *err)
{
	__do_json_decref json_t *doc = NULL;
	__do_free char *buf = NULL;
	json_error_t jerr;
	json_t *auths, *entry;
	const char *key;
	size_t len = 0;
	int ret;

	if (!file || !*file)
		return 0;
	ret = plx_read_file_at(AT_FDCWD, file, &buf, &len, err);
	if (ret == -ENOENT) {
		plx_err_clear(err);
		return 0;
	}
	if (ret < 0)
		return ret;
	doc = json_loadb(buf, len, 0, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	auths = json_object_get(doc, "auths");
	if (!auths)
		return 0;
	if (!json_is_object(auths))
		return plx_err_set(err, EINVAL, "%s: auths: expected object, got %s", file, plx_json_type_name(auths));
	json_object_foreach(auths, key, entry) {
		__do_free char *host = auth_key_host(key);
		json_t *a;

		if (!host)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (strcmp(host, registry) != 0)
			continue;
		a = json_object_get(entry, "auth");
		if (!json_is_string(a) || !*json_string_value(a))
			continue; /* a credential helper entry: not ours to run */
		ret = decode_auth(file, key, json_string_value(a), out, err);
		if (ret < 0) {
			plx_registry_creds_free(out);
			return ret;
		}
		if (asprintf(&out->source, "%s (%s)", what, file) < 0) {
			plx_registry_creds_free(out);
			return plx_err_set(err, ENOMEM, "out of memory");
		}
		return 1;
	}
	return 0;
}

int plx_auth_lookup(const struct plx_config *cfg, const char *registry, const char *auth_file,
		    const char *docker_config, struct plx_registry_creds *out, struct plx_err *err)
{
	struct plx_registry_conf rc = {};
	int ret = plx_registry_conf_get(cfg, registry, &rc, err);

	*out = (struct plx_registry_creds){};
	if (ret < 0)
		return ret;
	if (rc.username) {
		out->username = steal_ptr(rc.username);
		out->password = steal_ptr(rc.password);
		if (asprintf(&out->source, "the config %s", cfg->path ? cfg->path : "") < 0)
			out->source = NULL;
		plx_registry_conf_free(&rc);
		return 1;
	}
	plx_registry_conf_free(&rc);
	ret = lookup_auth_file(auth_file, "$REGISTRY_AUTH_FILE", registry, out, err);
	if (ret != 0)
		return ret;
	return lookup_auth_file(docker_config, "docker config", registry, out, err);
}

int plx_auth_lookup_env(const struct plx_config *cfg, const char *registry, struct plx_registry_creds *out,
			struct plx_err *err)
{
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	__do_free char *docker = NULL;

	if (dc && *dc)
		docker = plx_path_join(dc, "config.json");
	else if (home && *home)
		docker = plx_path_join(home, ".docker/config.json");
	return plx_auth_lookup(cfg, registry, getenv("REGISTRY_AUTH_FILE"), docker, out, err);
}
