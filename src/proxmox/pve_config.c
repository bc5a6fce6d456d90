/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime config's "proxmox" section, checked key by key. */
#include "proxmox/pve_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"

#define TOKEN_FILE_MAX 4096

DEFINE_CLEANUP_FUNC(pve_config_freep, struct pve_config, pve_config_free)

/* The prefix of every message: "FILE: " or "" for a section not read from a file. */
#define FILE_PFX(file) (file) ? (file) : "", (file) ? ": " : ""

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void pve_config_free(struct pve_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_hosts; i++)
		free(cfg->hosts[i].name);
	free(cfg->hosts);
	free(cfg->token_id);
	wipe_free(cfg->token);
	free(cfg->node);
	free(cfg->scheme);
	free(cfg->ca_file);
	plx_strv_free(cfg->fingerprints);
	free(cfg->etc_pve);
	free(cfg->lxc_path);
	free(cfg->storage_cfg);
	free(cfg->storage);
	free(cfg->schema);
	free(cfg);
}

char *pve_host_display(const struct pve_host *h)
{
	char *s;

	if (asprintf(&s, strchr(h->name, ':') ? "[%s]:%u" : "%s:%u", h->name, h->port) < 0)
		return NULL;
	return s;
}

int pve_check_secret_mode(int fd, const char *path, struct plx_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return plx_err_sys(err, errno, "%s: stat", path);
	if (st.st_mode & (S_IRGRP | S_IROTH))
		return plx_err_set(err, EPERM,
				   "%s: holds an API token but is readable by group/others (mode %04o); "
				   "chmod 600 it",
				   path, (unsigned int)(st.st_mode & 07777));
	return 0;
}

static bool is_token_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* PVE's UUID-shaped token secret: 8-4-4-4-12 hex digits. */
static bool is_uuid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };

	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (*s != (g + 1 < ARRAY_SIZE(groups) ? '-' : '\0'))
			return false;
		s++;
	}
	return true;
}

int pve_token_check(const char *token, size_t *id_len, const char *what, struct plx_err *err)
{
	const char *at = strchr(token, '@');
	const char *bang = strchr(token, '!');
	const char *eq = strchr(token, '=');
	bool ok = at && bang && eq && at > token && at < bang && bang + 1 < eq;

	/* user: anything PVE allows but the separators; realm and token name: PVE's identifiers */
	for (const char *p = token; ok && p < at; p++)
		ok = !isspace((unsigned char)*p) && *p != '!' && *p != '=' && *p != ':';
	for (const char *p = at + 1; ok && p < bang; p++)
		ok = is_token_name_char(*p);
	for (const char *p = bang + 1; ok && p < eq; p++)
		ok = is_token_name_char(*p);
	ok = ok && at + 1 < bang && isalpha((unsigned char)bang[1]) && is_uuid(eq + 1);
	if (!ok)
		return plx_err_set(err, EINVAL, "%s: expected \"USER@REALM!TOKENID=UUID\"", what);
	*id_len = (size_t)(eq - token);
	return 0;
}

int pve_fingerprint_normalize(const char *in, char out[96], struct plx_err *err)
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= 64)
			return plx_err_set(err, EINVAL,
					   "expected a SHA-256 fingerprint \"AA:BB:...\" (32 bytes), "
					   "got \"%s\"",
					   in);
		out[n / 2 * 3 + n % 2] = (char)toupper((unsigned char)*p);
		n++;
		if (n % 2 == 0)
			out[n / 2 * 3 - 1] = ':';
	}
	if (n != 64)
		return plx_err_set(err, EINVAL,
				   "expected a SHA-256 fingerprint \"AA:BB:...\" (32 bytes), got \"%s\"", in);
	out[95] = '\0';
	return 0;
}

/* -- one key each ------------------------------------------------------ */

struct parse_ctx {
	const char *file;
	struct pve_config *cfg;
	struct plx_err *err;
};

static int type_error(struct parse_ctx *x, const char *key, const char *expected, const json_t *v)
{
	return plx_err_set(x->err, EINVAL, "%s%sproxmox.%s: expected %s, got %s", FILE_PFX(x->file), key,
			   expected, plx_json_type_name(v));
}

static int get_string(struct parse_ctx *x, const char *key, const json_t *v, char **out)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return type_error(x, key, "a non-empty string", v);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return plx_err_set(x->err, EINVAL, "%s%sproxmox.%s: contains a NUL byte", FILE_PFX(x->file),
				   key);
	free(*out);
	*out = strdup(json_string_value(v));
	return *out ? 0 : plx_err_set(x->err, ENOMEM, "out of memory");
}

static int get_abs_path(struct parse_ctx *x, const char *key, const json_t *v, char **out)
{
	int ret = get_string(x, key, v, out);

	if (ret < 0)
		return ret;
	if ((*out)[0] != '/')
		return plx_err_set(x->err, EINVAL, "%s%sproxmox.%s: expected an absolute path, got \"%s\"",
				   FILE_PFX(x->file), key, *out);
	return 0;
}

static int get_uint(struct parse_ctx *x, const char *key, const json_t *v, json_int_t min, json_int_t max,
		    unsigned int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return plx_err_set(x->err, EINVAL, "%s%sproxmox.%s: expected an integer %lld-%lld, got %s",
				   FILE_PFX(x->file), key, (long long)min, (long long)max,
				   json_is_integer(v) ? "a value out of range" : plx_json_type_name(v));
	*out = (unsigned int)json_integer_value(v);
	return 0;
}

static bool valid_host_name(const char *s, bool v6)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '.' || *s == '-' || (v6 && *s == ':') ||
		      (v6 && *s == '%')))
			return false;
	return true;
}

/* "name", "name:port", "[v6]", "[v6]:port" or a bare IPv6 address. */
static int parse_host(struct parse_ctx *x, size_t i, const char *s, struct pve_host *h)
{
	__do_free char *name = NULL;
	const char *port = NULL;
	const char *colon = strchr(s, ':');
	bool v6 = false;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || (end[1] && end[1] != ':'))
			goto bad;
		name = strndup(s + 1, (size_t)(end - s - 1));
		port = end[1] ? end + 2 : NULL;
		v6 = true;
	} else if (colon && strchr(colon + 1, ':')) {
		name = strdup(s);
		v6 = true;
	} else if (colon) {
		name = strndup(s, (size_t)(colon - s));
		port = colon + 1;
	} else {
		name = strdup(s);
	}
	if (!name)
		return plx_err_set(x->err, ENOMEM, "out of memory");
	if (!valid_host_name(name, v6))
		goto bad;
	if (port) {
		char *end;
		unsigned long p;

		errno = 0;
		p = strtoul(port, &end, 10);
		if (!isdigit((unsigned char)*port) || *end || errno || p < 1 || p > 65535)
			goto bad;
		h->port = (unsigned int)p;
	}
	h->name = steal_ptr(name);
	return 0;
bad:
	return plx_err_set(x->err, EINVAL,
			   "%s%sproxmox.hosts[%zu]: expected a host name or IP, optionally with \":PORT\", "
			   "got \"%s\"",
			   FILE_PFX(x->file), i, s);
}

static int get_hosts(struct parse_ctx *x, const json_t *v)
{
	size_t i;
	json_t *e;
	int ret;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return type_error(x, "hosts", "a non-empty array of host names", v);
	x->cfg->hosts = calloc(json_array_size(v), sizeof(*x->cfg->hosts));
	if (!x->cfg->hosts)
		return plx_err_set(x->err, ENOMEM, "out of memory");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return plx_err_set(x->err, EINVAL, "%s%sproxmox.hosts[%zu]: expected string, got %s",
					   FILE_PFX(x->file), i, plx_json_type_name(e));
		ret = parse_host(x, i, json_string_value(e), &x->cfg->hosts[i]);
		if (ret < 0)
			return ret;
		x->cfg->n_hosts++;
	}
	return 0;
}

static int add_fingerprint(struct parse_ctx *x, const char *key, const json_t *v)
{
	char fp[96];
	int ret;

	if (!json_is_string(v))
		return type_error(x, key, "string", v);
	ret = pve_fingerprint_normalize(json_string_value(v), fp, x->err);
	if (ret < 0)
		return plx_err_prefix(x->err, "%s%sproxmox.%s", FILE_PFX(x->file), key);
	if (plx_strv_append(&x->cfg->fingerprints, fp) < 0)
		return plx_err_set(x->err, ENOMEM, "out of memory");
	return 0;
}

/* One fingerprint, or several: the nodes of a cluster each have their own certificate. */
static int get_fingerprints(struct parse_ctx *x, const json_t *v)
{
	size_t i;
	json_t *e;
	int ret;

	if (json_is_string(v))
		return add_fingerprint(x, "fingerprint", v);
	if (!json_is_array(v) || json_array_size(v) == 0)
		return type_error(x, "fingerprint", "a string or a non-empty array of strings", v);
	json_array_foreach(v, i, e)
	{
		char key[48];

		snprintf(key, sizeof(key), "fingerprint[%zu]", i);
		ret = add_fingerprint(x, key, e);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int get_scheme(struct parse_ctx *x, const json_t *v)
{
	int ret = get_string(x, "scheme", v, &x->cfg->scheme);

	if (ret < 0)
		return ret;
	if (strcmp(x->cfg->scheme, "https") != 0 && strcmp(x->cfg->scheme, "http") != 0)
		return plx_err_set(x->err, EINVAL,
				   "%s%sproxmox.scheme: expected \"https\" (or \"http\" for test servers), "
				   "got \"%s\"",
				   FILE_PFX(x->file), x->cfg->scheme);
	return 0;
}

static int get_paths(struct parse_ctx *x, const json_t *v)
{
	const char *key;
	json_t *e;
	int ret;

	if (!json_is_object(v))
		return type_error(x, "paths", "object", v);
	json_object_foreach((json_t *)v, key, e)
	{
		if (strcmp(key, "etc_pve") == 0)
			ret = get_abs_path(x, "paths.etc_pve", e, &x->cfg->etc_pve);
		else if (strcmp(key, "lxc") == 0)
			ret = get_abs_path(x, "paths.lxc", e, &x->cfg->lxc_path);
		else if (strcmp(key, "storage_cfg") == 0)
			ret = get_abs_path(x, "paths.storage_cfg", e, &x->cfg->storage_cfg);
		else
			ret = plx_err_set(x->err, EINVAL,
					  "%s%sproxmox.paths: unknown key \"%s\" (known: etc_pve, lxc, "
					  "storage_cfg)",
					  FILE_PFX(x->file), key);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Take a token (wiping the caller's copy is its business) and split off its id. */
static int set_token(struct parse_ctx *x, const char *token, const char *what)
{
	size_t id_len;
	int ret;

	ret = pve_token_check(token, &id_len, what, x->err);
	if (ret < 0)
		return ret;
	x->cfg->token = strdup(token);
	x->cfg->token_id = strndup(token, id_len);
	if (!x->cfg->token || !x->cfg->token_id)
		return plx_err_set(x->err, ENOMEM, "out of memory");
	return 0;
}

static int token_inline(struct parse_ctx *x, const json_t *v)
{
	__do_close int fd = -1;
	char what[PATH_MAX + 32];
	int ret;

	snprintf(what, sizeof(what), "%s%sproxmox.token", FILE_PFX(x->file));
	if (!json_is_string(v))
		return type_error(x, "token", "string", v);
	ret = set_token(x, json_string_value(v), what);
	if (ret < 0 || !x->file)
		return ret;
	fd = open(x->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return plx_err_sys(x->err, errno, "%s: open", x->file);
	return pve_check_secret_mode(fd, x->file, x->err);
}

static int token_from_file(struct parse_ctx *x, const json_t *v)
{
	__do_free char *path = NULL;
	__do_close int fd = -1;
	char buf[TOKEN_FILE_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int ret;

	ret = get_abs_path(x, "token_file", v, &path);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return plx_err_sys(x->err, errno, "%s%sproxmox.token_file: open %s", FILE_PFX(x->file), path);
	/* the mode first: a readable secret is refused before it is even read */
	ret = pve_check_secret_mode(fd, path, x->err);
	if (ret < 0)
		return ret;
	while (len < TOKEN_FILE_MAX && (n = read(fd, buf + len, TOKEN_FILE_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			explicit_bzero(buf, sizeof(buf));
			return plx_err_sys(x->err, errno, "%s: read", path);
		}
		len += (size_t)n;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	ret = strlen(buf) == len
		      ? set_token(x, buf, path)
		      : plx_err_set(x->err, EINVAL, "%s: expected \"USER@REALM!TOKENID=UUID\"", path);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

static int apply_key(struct parse_ctx *x, const char *key, const json_t *v)
{
	struct pve_config *c = x->cfg;

	if (strcmp(key, "hosts") == 0)
		return get_hosts(x, v);
	if (strcmp(key, "port") == 0)
		return get_uint(x, key, v, 1, 65535, &c->port);
	if (strcmp(key, "token") == 0)
		return token_inline(x, v);
	if (strcmp(key, "token_file") == 0)
		return token_from_file(x, v);
	if (strcmp(key, "node") == 0)
		return get_string(x, key, v, &c->node);
	if (strcmp(key, "scheme") == 0)
		return get_scheme(x, v);
	if (strcmp(key, "verify_tls") == 0) {
		if (!json_is_boolean(v))
			return type_error(x, key, "boolean", v);
		c->verify_tls = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "ca_file") == 0)
		return get_abs_path(x, key, v, &c->ca_file);
	if (strcmp(key, "fingerprint") == 0)
		return get_fingerprints(x, v);
	if (strcmp(key, "node_cache_duration") == 0)
		return get_uint(x, key, v, 0, 86400 * 365, &c->node_cache_duration);
	if (strcmp(key, "timeout") == 0)
		return get_uint(x, key, v, 1, 3600, &c->timeout);
	if (strcmp(key, "task_timeout") == 0)
		return get_uint(x, key, v, 1, 86400 * 7, &c->task_timeout);
	if (strcmp(key, "paths") == 0)
		return get_paths(x, v);
	if (strcmp(key, "register") == 0) {
		if (!json_is_boolean(v))
			return type_error(x, key, "boolean", v);
		c->reg = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "storage") == 0)
		return get_string(x, key, v, &c->storage);
	if (strcmp(key, "schema") == 0)
		return get_abs_path(x, key, v, &c->schema);
	/* a typo must not be silently ignored */
	return plx_err_set(x->err, EINVAL, "%s%sproxmox: unknown key \"%s\"", FILE_PFX(x->file), key);
}

static int set_default(char **field, const char *value, struct plx_err *err)
{
	if (*field)
		return 0;
	*field = strdup(value);
	return *field ? 0 : plx_err_set(err, ENOMEM, "out of memory");
}

int pve_config_parse(const json_t *section, const char *file, struct pve_config **out, struct plx_err *err)
{
	__attribute__((cleanup(pve_config_freep))) struct pve_config *cfg = NULL;
	struct parse_ctx x = { .file = file, .err = err };
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(section))
		return plx_err_set(err, EINVAL, "%s%sproxmox: expected object, got %s", FILE_PFX(file),
				   plx_json_type_name(section));
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return plx_err_set(err, ENOMEM, "out of memory");
	x.cfg = cfg;
	cfg->verify_tls = true;
	cfg->node_cache_duration = PVE_DEFAULT_NODE_CACHE;
	cfg->timeout = PVE_DEFAULT_TIMEOUT;
	cfg->task_timeout = PVE_DEFAULT_TASK_TIMEOUT;
	cfg->port = PVE_DEFAULT_PORT;
	if (json_object_get(section, "token") && json_object_get(section, "token_file"))
		return plx_err_set(err, EINVAL, "%s%sproxmox: give either token or token_file, not both",
				   FILE_PFX(file));
	json_object_foreach((json_t *)section, key, v)
	{
		ret = apply_key(&x, key, v);
		if (ret < 0)
			return ret;
	}
	/* node-local registration alone needs no API access */
	if (!cfg->n_hosts && !cfg->reg)
		return plx_err_set(err, EINVAL, "%s%sproxmox.hosts: missing (the PVE hosts to talk to)",
				   FILE_PFX(file));
	if (!cfg->token && !cfg->reg)
		return plx_err_set(err, EINVAL,
				   "%s%sproxmox.token: missing (give token or token_file: "
				   "\"USER@REALM!TOKENID=UUID\")",
				   FILE_PFX(file));
	for (size_t i = 0; i < cfg->n_hosts; i++)
		if (!cfg->hosts[i].port)
			cfg->hosts[i].port = cfg->port;
	if ((ret = set_default(&cfg->scheme, "https", err)) < 0 ||
	    (ret = set_default(&cfg->etc_pve, PVE_DEFAULT_ETC_PVE, err)) < 0 ||
	    (ret = set_default(&cfg->lxc_path, PVE_DEFAULT_LXC_PATH, err)) < 0 ||
	    (ret = set_default(&cfg->storage_cfg, PVE_DEFAULT_STORAGE_CFG, err)) < 0)
		return ret;
	*out = steal_ptr(cfg);
	return 0;
}
