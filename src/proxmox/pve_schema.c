/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PVE API schema checks.  Patterns in apidata.json are Perl regexes (with
 * (?^:...) groups), so they are matched with PCRE2, anchored as PVE does
 * (m/^$pattern$/).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxmox/pve_schema.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct pve_schema {
	json_t *root;  /* the whole apidata.json, kept alive for props */
	json_t *props; /* parameters.properties of the method (borrowed) */
	char *where;   /* "POST /nodes/{node}/lxc" for messages */
};

static inline void json_decrefp_local(json_t **p)
{
	if (*p)
		json_decref(*p);
	*p = NULL;
}

void pve_schema_free(struct pve_schema *schema)
{
	if (!schema)
		return;
	json_decref(schema->root);
	free(schema->where);
	free(schema);
}

DEFINE_CLEANUP_FUNC(pve_schema_freep, struct pve_schema, pve_schema_free)

static json_t *find_path(json_t *nodes, const char *path)
{
	size_t i;
	json_t *n;

	json_array_foreach (nodes, i, n) {
		json_t *found;

		const char *p = json_string_value(json_object_get(n, "path"));

		if (p && strcmp(p, path) == 0)
			return n;
		found = find_path(json_object_get(n, "children"), path);
		if (found)
			return found;
	}
	return NULL;
}

/*
 * apidata.json, or pve-docs' api-viewer/apidata.js on a PVE node: the same
 * JSON array assigned to a variable ("const apiSchema = [ ... ];" followed
 * by more script), read from its first '['.
 */
static json_t *load_apidata(const char *path, json_error_t *jerr)
{
	__do_free char *buf = NULL;
	size_t len = 0;
	json_t *root = json_load_file(path, 0, jerr);

	if (root || plx_read_file_at(AT_FDCWD, path, &buf, &len, NULL) < 0)
		return root;
	const char *start = strchr(buf, '[');
	if (!start)
		return NULL;
	/* jansson stops after the array: whatever script follows is not read */
	return json_loadb(start, len - (size_t)(start - buf), JSON_DISABLE_EOF_CHECK, jerr);
}

int pve_schema_load(const char *apidata_path, const char *api_path, const char *method,
		    struct pve_schema **out, struct plx_err *err)
{
	struct pve_schema *s __attribute__((cleanup(pve_schema_freep))) = NULL;
	json_error_t jerr;
	json_t *node, *info, *params, *props;

	s = calloc(1, sizeof(*s));
	if (!s || asprintf(&s->where, "%s %s", method, api_path) < 0) {
		if (s)
			s->where = NULL;
		return plx_err_set(err, ENOMEM, "out of memory loading %s", apidata_path);
	}
	s->root = load_apidata(apidata_path, &jerr);
	if (!s->root)
		return plx_err_set(err, EINVAL, "%s:%d: %s", apidata_path, jerr.line, jerr.text);
	node = find_path(s->root, api_path);
	if (!node)
		return plx_err_set(err, ENOENT, "%s: no API path %s", apidata_path, api_path);
	info = json_object_get(json_object_get(node, "info"), method);
	if (!json_is_object(info))
		return plx_err_set(err, ENOENT, "%s: no API method %s", apidata_path, s->where);
	params = json_object_get(info, "parameters");
	props = json_object_get(params, "properties");
	if (!json_is_object(props)) {
		/* a method without parameters: an empty set, so every parameter is unknown */
		props = json_object();
		if (!props ||
		    (!json_is_object(params) && json_object_set_new(info, "parameters", json_object()) < 0) ||
		    json_object_set_new(json_object_get(info, "parameters"), "properties", props) < 0)
			return plx_err_set(err, ENOMEM, "out of memory loading %s", apidata_path);
	}
	s->props = props;
	*out = steal_ptr(s);
	return 0;
}

/* The property for key: exact, or "name[n]" for name<digits>. */
static json_t *find_prop(json_t *props, const char *key)
{
	const char *name;
	json_t *p;

	p = json_object_get(props, key);
	if (p)
		return p;
	json_object_foreach (props, name, p) {
		size_t len = strlen(name);
		const char *d;

		if (len < 4 || strcmp(name + len - 3, "[n]") != 0 || strncmp(name, key, len - 3) != 0)
			continue;
		d = key + len - 3;
		if (!*d)
			continue;
		while (*d >= '0' && *d <= '9')
			d++;
		if (!*d)
			return p;
	}
	return NULL;
}

/* 1 when value matches the whole pattern, 0 when not, <0 when the pattern does not compile. */
static int regex_full_match(const char *pattern, const char *value, size_t len, uint32_t flags)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL | flags, &errcode,
				       &erroff, NULL);
	pcre2_match_data *md;
	int rc;

	if (!re)
		return -EINVAL;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md) {
		pcre2_code_free(re);
		return -ENOMEM;
	}
	rc = pcre2_match(re, (PCRE2_SPTR)value, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0 ? 1 : 0;
}

struct regex_format {
	const char *name;
	const char *regex;
	const char *message; /* %s is the value */
};

/* The formats of PVE::JSONSchema / PVE::LXC::Config the CT keys use, as regexes. */
static const struct regex_format regex_formats[] = {
	{ "pve-vmid", "[1-9][0-9]{2,8}", "value does not look like a valid VM ID" },
	{ "pve-node", "[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?",
	  "value does not look like a valid node name" },
	{ "pve-storage-id", "(?i)[a-z][a-z0-9\\-_.]*[a-z0-9]",
	  "storage ID '%s' contains illegal characters" },
	{ "pve-configid", "(?i)[a-z][a-z0-9_\\-]+", "invalid configuration ID '%s'" },
	{ "pve-volume-id", "(?i)[a-z][a-z0-9\\-_.]*[a-z0-9]:.+", "unable to parse volume ID '%s'" },
	{ "pve-poolid", "[A-Za-z0-9\\-_]+", "invalid pool ID '%s'" },
	{ "dns-name",
	  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?\\.)*[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?",
	  "value does not look like a valid DNS name" },
	{ "mac-addr", "(?i)[a-f0-9][02468ace](?::[a-f0-9]{2}){5}",
	  "value does not look like a valid unicast MAC address" },
	{ "pve-tag", "(?i)[a-z0-9_][a-z0-9_\\-+.]*", "invalid tag '%s'" },
	{ "pve-iface", "[a-zA-Z][a-zA-Z0-9_]{1,20}(?:[:.]\\d+)?", "invalid network interface name '%s'" },
	{ "disk-size", "\\d+(?:\\.\\d+)?[KMGT]?", "unable to parse size '%s'" },
	{ "pve-ct-timezone", "[\\w/+\\-]+", "invalid time zone '%s'" },
	{ "pve-startup-order", "(?:(?:order=\\d+|up=\\d+|down=\\d+)(?:,|$))+",
	  "unable to parse startup options" },
	{ "pve-lxc-mp-string", "/.*|(?i)[a-z][a-z0-9\\-_.]*[a-z0-9]:.+", "unable to parse volume ID '%s'" },
	{ "pve-lxc-dev-string", "/dev/.+", "not a device path below /dev: '%s'" },
};

/* *msg = the formatted message; returns -EINVAL (-ENOMEM when even that fails). */
__attribute__((format(printf, 2, 3))) static int fail(char **msg, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(msg, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		*msg = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

/* A message of the format table: "%s" (at most one) stands for the value. */
static int fail_tpl(char **msg, const char *tpl, const char *value)
{
	const char *at = strstr(tpl, "%s");

	if (!at)
		return fail(msg, "%s", tpl);
	return fail(msg, "%.*s%s%s", (int)(at - tpl), tpl, value, at + 2);
}

/* ip, optionally "/prefix" (cidr) and "%iface" (link-local) */
static bool ip_valid(const char *value, int family, bool cidr, bool iface)
{
	char buf[64];
	unsigned char bin[16];
	const char *slash = cidr ? strchr(value, '/') : NULL;
	size_t len = slash ? (size_t)(slash - value) : strlen(value);
	bool ok = false;

	if (cidr && !slash)
		return false;
	if (iface && !cidr) {
		const char *pct = strchr(value, '%');

		if (pct) {
			if (regex_full_match("[a-zA-Z][a-zA-Z0-9_]{1,20}(?:[:.]\\d+)?", pct + 1,
					     strlen(pct + 1), 0) != 1)
				return false;
			len = (size_t)(pct - value);
		}
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (family != AF_INET6 && inet_pton(AF_INET, buf, bin) == 1) {
		family = AF_INET;
		ok = true;
	} else if (family != AF_INET && inet_pton(AF_INET6, buf, bin) == 1) {
		family = AF_INET6;
		ok = true;
	}
	if (ok && slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);

		ok = slash[1] && !*end && bits >= 0 && bits <= (family == AF_INET ? 32 : 128);
	}
	return ok;
}

static int check_named_format(const char *fmt, const char *value, char **msg)
{
	if (strcmp(fmt, "ip") == 0 || strcmp(fmt, "address") == 0 || strcmp(fmt, "IPorCIDR") == 0)
		return ip_valid(value, AF_UNSPEC, fmt[0] == 'I' && strchr(value, '/'), false)
			       ? 0
			       : fail(msg, "value does not look like a valid IP address");
	if (strcmp(fmt, "ipv4") == 0 || strcmp(fmt, "ipv6") == 0)
		return ip_valid(value, fmt[3] == '4' ? AF_INET : AF_INET6, false, false)
			       ? 0
			       : fail(msg, "value does not look like a valid IP address");
	if (strcmp(fmt, "CIDRv4") == 0 || strcmp(fmt, "CIDRv6") == 0)
		return ip_valid(value, fmt[5] == '4' ? AF_INET : AF_INET6, true, false)
			       ? 0
			       : fail(msg, "value does not look like a valid CIDR network");
	if (strcmp(fmt, "pve-ipv4-config") == 0 || strcmp(fmt, "pve-ipv6-config") == 0) {
		bool v6 = fmt[7] == '6';

		if (strcmp(value, "dhcp") == 0 || strcmp(value, "manual") == 0 ||
		    (v6 && strcmp(value, "auto") == 0))
			return 0;
		return ip_valid(value, v6 ? AF_INET6 : AF_INET, true, false)
			       ? 0
			       : fail(msg, "value does not look like a valid CIDR network");
	}
	if (strcmp(fmt, "lxc-ip-with-ll-iface") == 0)
		return ip_valid(value, AF_UNSPEC, false, true)
			       ? 0
			       : fail(msg, "value does not look like a valid IP address");
	for (size_t i = 0; i < ARRAY_SIZE(regex_formats); i++) {
		int rc;

		if (strcmp(fmt, regex_formats[i].name) != 0)
			continue;
		rc = regex_full_match(regex_formats[i].regex, value, strlen(value), 0);
		if (rc < 0)
			return rc;
		/* ".." path components are refused by PVE for mount points and devices */
		if (rc == 1 && value[0] == '/' &&
		    regex_full_match(".*(?:^|/)\\.\\.?(?:/.*)?", value, strlen(value), 0) == 1)
			return fail(msg, "path with '.' or '..' components is not allowed: '%s'", value);
		return rc == 1 ? 0 : fail_tpl(msg, regex_formats[i].message, value);
	}
	if (fail(msg, "format '%s' is not known to proxmox-lxcri's schema checker", fmt) == -ENOMEM)
		return -ENOMEM;
	return -EOPNOTSUPP;
}

static int check_value(json_t *prop, const char *value, char **msg);

/* "<format>-list": PVE splits on [;,\0\s]+ and checks each item. */
static int check_list_format(const char *fmt, const char *value, char **msg)
{
	__do_free char *base = strndup(fmt, strlen(fmt) - 5), *copy = strdup(value);
	char *save = NULL;

	if (!base || !copy)
		return -ENOMEM;
	for (char *item = strtok_r(copy, ";, \t\n", &save); item; item = strtok_r(NULL, ";, \t\n", &save)) {
		int rc = check_named_format(base, item, msg);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* PVE::JSONSchema::parse_property_string: "k=v,k=v", a bare value for the default_key. */
static int check_property_string(json_t *fmt, const char *value, char **msg)
{
	__do_free char *copy = strdup(value);
	const char *default_key = NULL, *name;
	json_t *sub, *seen __attribute__((cleanup(json_decrefp_local))) = json_object();
	char *save = NULL;

	if (!copy || !seen)
		return -ENOMEM;
	json_object_foreach (fmt, name, sub)
		if (json_is_true(json_object_get(sub, "default_key")) ||
		    json_integer_value(json_object_get(sub, "default_key")) == 1)
			default_key = name;
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(part, '=');
		const char *key = part, *val;
		__do_free char *submsg = NULL;
		int rc;

		if (eq) {
			*eq = '\0';
			val = eq + 1;
		} else if (default_key) {
			key = default_key;
			val = part;
		} else {
			return fail(msg, "value without key, but schema does not define a default key ('%s')",
				    part);
		}
		sub = json_object_get(fmt, key);
		if (sub && json_is_string(json_object_get(sub, "alias"))) {
			key = json_string_value(json_object_get(sub, "alias"));
			sub = json_object_get(fmt, key);
		}
		if (!sub)
			return fail(msg,
				    "property is not defined in schema and the schema does not allow "
				    "additional properties (%s)",
				    key);
		if (json_object_get(seen, key))
			return fail(msg, "duplicate key in comma-separated list property: %s", key);
		json_object_set_new(seen, key, json_true());
		rc = check_value(sub, val, &submsg);
		if (rc < 0) {
			if (submsg && asprintf(msg, "%s: %s", key, submsg) < 0)
				*msg = NULL;
			return rc;
		}
	}
	json_object_foreach (fmt, name, sub) {
		json_t *opt = json_object_get(sub, "optional");

		if (!json_is_true(opt) && json_integer_value(opt) != 1 && !json_object_get(sub, "alias") &&
		    !json_object_get(seen, name))
			return fail(msg, "%s: property is missing and it is not optional", name);
	}
	return 0;
}

static int enum_error(json_t *en, const char *value, char **msg)
{
	size_t i, size = 0;
	json_t *e;
	FILE *f = open_memstream(msg, &size);

	if (!f)
		return -ENOMEM;
	fprintf(f, "value '%s' does not have a value in the enumeration '", value);
	json_array_foreach (en, i, e)
		fprintf(f, "%s%s", i ? ", " : "", json_is_string(e) ? json_string_value(e) : "?");
	fputc('\'', f);
	if (fclose(f) != 0) {
		free(*msg);
		*msg = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

static bool full_number(const char *value, bool integer, double *out)
{
	char *end;

	if (integer && regex_full_match("[+-]?\\d+", value, strlen(value), 0) != 1)
		return false;
	errno = 0;
	*out = strtod(value, &end);
	return *value && !*end && errno == 0;
}

/* 0 when valid; else <0 and *msg holds PVE's message (malloc'd). */
static int check_value(json_t *prop, const char *value, char **msg)
{
	const char *type = json_string_value(json_object_get(prop, "type"));
	json_t *min = json_object_get(prop, "minimum"), *max = json_object_get(prop, "maximum");
	json_t *en = json_object_get(prop, "enum"), *fmt = json_object_get(prop, "format");
	json_t *pattern = json_object_get(prop, "pattern");
	json_t *maxlen = json_object_get(prop, "maxLength"), *minlen = json_object_get(prop, "minLength");
	size_t len = strlen(value);
	double num = 0;

	if (!type)
		type = "string";
	if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0) {
		char limit[64];

		if (!full_number(value, type[0] == 'i', &num)) {
			if (asprintf(msg, "type check ('%s') failed - got '%s'", type, value) < 0)
				*msg = NULL;
			return -EINVAL;
		}
		if (min && num < json_number_value(min)) {
			snprintf(limit, sizeof(limit), "%.15g", json_number_value(min));
			return fail(msg, "value must have a minimum value of %s", limit);
		}
		if (max && num > json_number_value(max)) {
			snprintf(limit, sizeof(limit), "%.15g", json_number_value(max));
			return fail(msg, "value must have a maximum value of %s", limit);
		}
	} else if (strcmp(type, "boolean") == 0) {
		if (regex_full_match("(?i)1|true|yes|on|0|false|no|off", value, len, 0) != 1)
			return fail(msg, "type check ('boolean') failed - got '%s'", value);
	} else if (strcmp(type, "string") != 0) {
		if (asprintf(msg, "type '%s' cannot be a config value", type) < 0)
			*msg = NULL;
		return -EINVAL;
	}
	if (maxlen && (json_int_t)len > json_integer_value(maxlen)) {
		if (asprintf(msg, "value may only be %" JSON_INTEGER_FORMAT " characters long",
			     json_integer_value(maxlen)) < 0)
			*msg = NULL;
		return -EINVAL;
	}
	if (minlen && (json_int_t)len < json_integer_value(minlen)) {
		if (asprintf(msg, "value must be at least %" JSON_INTEGER_FORMAT " characters long",
			     json_integer_value(minlen)) < 0)
			*msg = NULL;
		return -EINVAL;
	}
	if (json_is_array(en)) {
		size_t i;
		json_t *e;

		json_array_foreach (en, i, e)
			if (json_is_string(e) && strcmp(json_string_value(e), value) == 0)
				break;
		if (i == json_array_size(en))
			return enum_error(en, value, msg);
	}
	if (json_is_string(pattern)) {
		int rc = regex_full_match(json_string_value(pattern), value, len, 0);

		if (rc < 0)
			return fail(msg, "schema pattern '%s' does not compile", json_string_value(pattern));
		if (rc == 0)
			return fail(msg, "value does not match the regex pattern");
	}
	if (json_is_object(fmt) || json_is_string(fmt)) {
		__do_free char *fmsg = NULL;
		int rc;

		if (json_is_object(fmt))
			rc = check_property_string(fmt, value, &fmsg);
		else if (strlen(json_string_value(fmt)) > 5 &&
			 strcmp(json_string_value(fmt) + strlen(json_string_value(fmt)) - 5, "-list") == 0)
			rc = check_list_format(json_string_value(fmt), value, &fmsg);
		else
			rc = check_named_format(json_string_value(fmt), value, &fmsg);
		if (rc == -EINVAL && fmsg)
			return fail(msg, "invalid format - %s", fmsg);
		if (rc < 0) {
			*msg = steal_ptr(fmsg);
			return rc;
		}
	}
	return 0;
}

int pve_schema_check(const struct pve_schema *schema, const char *key, const char *value, struct plx_err *err)
{
	__do_free char *msg = NULL;
	json_t *prop = find_prop(schema->props, key);
	int rc;

	if (!prop)
		return plx_err_set(err, EINVAL, "%s: property is not defined in schema of %s", key,
				   schema->where);
	rc = check_value(prop, value, &msg);
	if (rc == -ENOMEM || (rc < 0 && !msg))
		return plx_err_set(err, ENOMEM, "%s: out of memory checking the value", key);
	if (rc < 0)
		return plx_err_set(err, -rc, "%s: %s", key, msg);
	return 0;
}

int pve_schema_check_conf(const struct pve_schema *schema, const struct pve_conf *conf, struct plx_err *err)
{
	const struct pve_conf_section *s = pve_conf_section(conf, NULL);

	for (size_t i = 0; s && i < s->n_lines; i++) {
		const struct pve_conf_line *l = &s->lines[i];
		int rc;

		if (l->kind != PVE_CONF_KEY || strncmp(l->key, "lxc.", 4) == 0)
			continue;
		rc = pve_schema_check(schema, l->key, l->value, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
