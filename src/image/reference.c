/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image reference parsing with the grammar of the distribution project
 * (github.com/distribution/reference) and docker's normalization.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"
#include "util/cleanup.h"

/* The distribution spec's limit for the whole name (registry/repository). */
#define REF_NAME_MAX 255
#define REF_TAG_MAX 128

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		if (is_alnum_lower(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.' || s[i] == '-') {
			if (s[i] == '.' && !is_alnum_lower(s[i + 1]))
				return false;
			while (s[i] == '-')
				i++;
			if (s[i] == '.')
				i++;
			if (!is_alnum_lower(s[i]))
				return false;
			continue;
		}
		if (s[i] == '_') {
			i += s[i + 1] == '_' ? 2 : 1;
			if (!is_alnum_lower(s[i]))
				return false;
			continue;
		}
		return false;
	}
	return true;
}

/* host labels (alnum and inner '-', '.'-separated) or [v6], then an optional :port */
static bool domain_valid(const char *s)
{
	const char *colon;
	size_t hostlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close[1])
			return false;
	} else {
		colon = strchr(s, ':');
		hostlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hostlen == 0)
			return false;
		for (size_t i = 0; i < hostlen; i++) {
			char c = s[i];

			if (isalnum((unsigned char)c))
				continue;
			if ((c == '-' || c == '.') && i > 0 && i + 1 < hostlen && isalnum((unsigned char)s[i - 1]))
				continue;
			return false;
		}
	}
	if (colon) {
		if (!colon[1])
			return false;
		for (const char *p = colon + 1; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	return true;
}

/* [\w][\w.-]{0,127} */
static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > REF_TAG_MAX || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

static bool looks_like_domain(const char *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && strncmp(s, "localhost", 9) == 0) ||
	       s[0] == '[';
}

void plx_image_ref_free(struct plx_image_ref *r)
{
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	*r = (struct plx_image_ref){};
}

static int ref_parse(const char *s, struct plx_image_ref *r, struct plx_err *err)
{
	__do_free char *copy = strdup(s);
	char *name, *at, *slash, *colon;

	if (!copy)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!*s)
		return plx_err_set(err, EINVAL, "image reference is empty");
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return plx_err_set(err, EINVAL, "image reference \"%s\": contains white space", s);

	name = copy;
	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!plx_digest_valid(at + 1))
			return plx_err_set(err, EINVAL,
					   "image reference \"%s\": invalid digest \"%s\" (expected sha256:<64 hex>)",
					   s, at + 1);
		r->digest = strdup(at + 1);
		if (!r->digest)
			return plx_err_set(err, ENOMEM, "out of memory");
	}

	/* a ':' after the last '/' starts the tag; before it, it is the registry's port */
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_valid(colon + 1))
			return plx_err_set(err, EINVAL, "image reference \"%s\": invalid tag \"%s\"", s, colon + 1);
		r->tag = strdup(colon + 1);
		if (!r->tag)
			return plx_err_set(err, ENOMEM, "out of memory");
	}

	slash = strchr(name, '/');
	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		*slash = '\0';
		if (!domain_valid(name))
			return plx_err_set(err, EINVAL, "image reference \"%s\": invalid registry \"%s\"", s, name);
		r->registry = strdup(strcmp(name, "index.docker.io") == 0 ? PLX_REF_DEFAULT_REGISTRY : name);
		name = slash + 1;
	} else {
		r->registry = strdup(PLX_REF_DEFAULT_REGISTRY);
	}
	if (!r->registry)
		return plx_err_set(err, ENOMEM, "out of memory");

	if (!*name)
		return plx_err_set(err, EINVAL, "image reference \"%s\": no repository name", s);
	for (const char *p = name; *p; p++)
		if (isupper((unsigned char)*p))
			return plx_err_set(err, EINVAL, "image reference \"%s\": repository name must be lowercase",
					   s);
	for (char *c = name, *e;; c = e + 1) {
		e = strchrnul(c, '/');
		if (!path_component_valid(c, (size_t)(e - c)))
			return plx_err_set(err, EINVAL, "image reference \"%s\": invalid repository component \"%.*s\"",
					   s, (int)(e - c), c);
		if (!*e)
			break;
	}
	/* Docker Hub's official images live under library/ */
	if (strcmp(r->registry, PLX_REF_DEFAULT_REGISTRY) == 0 && !strchr(name, '/')) {
		if (asprintf(&r->repository, "library/%s", name) < 0)
			r->repository = NULL;
	} else {
		r->repository = strdup(name);
	}
	if (!r->repository)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (strlen(r->registry) + 1 + strlen(r->repository) > REF_NAME_MAX)
		return plx_err_set(err, EINVAL, "image reference \"%s\": name longer than %d characters", s,
				   REF_NAME_MAX);
	if (!r->tag && !r->digest) {
		r->tag = strdup(PLX_REF_DEFAULT_TAG);
		if (!r->tag)
			return plx_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int plx_image_ref_parse(const char *s, struct plx_image_ref *out, struct plx_err *err)
{
	struct plx_image_ref r = {};
	int ret = ref_parse(s, &r, err);

	if (ret < 0) {
		plx_image_ref_free(&r);
		return ret;
	}
	*out = r;
	return 0;
}

char *plx_image_ref_name(const struct plx_image_ref *r)
{
	char *s;

	if (asprintf(&s, "%s/%s", r->registry, r->repository) < 0)
		return NULL;
	return s;
}

char *plx_image_ref_string(const struct plx_image_ref *r)
{
	char *s;

	if (asprintf(&s, "%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "", r->tag ? r->tag : "",
		     r->digest ? "@" : "", r->digest ? r->digest : "") < 0)
		return NULL;
	return s;
}

int plx_image_ref_normalize(const char *s, char **out, struct plx_err *err)
{
	__do_ref_free struct plx_image_ref r = {};
	int ret = plx_image_ref_parse(s, &r, err);

	if (ret < 0)
		return ret;
	*out = plx_image_ref_string(&r);
	if (!*out)
		return plx_err_set(err, ENOMEM, "out of memory");
	return 0;
}
