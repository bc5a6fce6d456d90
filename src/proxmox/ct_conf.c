/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader/writer for PVE CT config files.  The grammar follows
 * PVE::LXC::Config::parse_pct_config; the placement of regenerated lines
 * follows write_pct_config, so that an edit of a file PVE wrote gives the
 * file PVE would write.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxmox/ct_conf.h"
#include "util/cleanup.h"

/* Perl's \s */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lxc_key(const char *key)
{
	return strncmp(key, "lxc.", 4) == 0;
}

static void line_clear(struct pve_conf_line *l)
{
	free(l->key);
	free(l->value);
	free(l->raw);
	memset(l, 0, sizeof(*l));
}

static void lines_free(struct pve_conf_line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		line_clear(&lines[i]);
	free(lines);
}

static void section_clear(struct pve_conf_section *s)
{
	free(s->name);
	free(s->header_raw);
	lines_free(s->pre, s->n_pre);
	lines_free(s->lines, s->n_lines);
	memset(s, 0, sizeof(*s));
}

void pve_conf_free(struct pve_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_sections; i++)
		section_clear(&conf->sections[i]);
	free(conf->sections);
	free(conf);
}

DEFINE_CLEANUP_FUNC(pve_conf_freep, struct pve_conf, pve_conf_free)

/* Insert *l at index pos of the array; on success *l is moved (zeroed). */
static int lines_insert(struct pve_conf_line **lines, size_t *n, size_t pos, struct pve_conf_line *l)
{
	struct pve_conf_line *grown = realloc(*lines, (*n + 1) * sizeof(**lines));

	if (!grown)
		return -ENOMEM;
	*lines = grown;
	memmove(&grown[pos + 1], &grown[pos], (*n - pos) * sizeof(*grown));
	grown[pos] = *l;
	memset(l, 0, sizeof(*l));
	(*n)++;
	return 0;
}

static void lines_remove(struct pve_conf_line *lines, size_t *n, size_t pos)
{
	line_clear(&lines[pos]);
	memmove(&lines[pos], &lines[pos + 1], (*n - pos - 1) * sizeof(*lines));
	(*n)--;
}

/* [a-z][a-z_]*\d* */
static bool plain_key_valid(const char *k, size_t len)
{
	size_t i = 0;

	if (len == 0 || !is_lower(k[0]))
		return false;
	for (i = 1; i < len && (is_lower(k[i]) || k[i] == '_'); i++)
		;
	for (; i < len && is_digit(k[i]); i++)
		;
	return i == len;
}

/* lxc\.[a-z0-9_\-\.]+ */
static bool lxc_key_valid(const char *k, size_t len)
{
	if (len < 5 || strncmp(k, "lxc.", 4) != 0)
		return false;
	for (size_t i = 4; i < len; i++)
		if (!is_lower(k[i]) && !is_digit(k[i]) && k[i] != '_' && k[i] != '-' && k[i] != '.')
			return false;
	return true;
}

bool pve_conf_key_valid(const char *key)
{
	size_t len = strlen(key);

	return plain_key_valid(key, len) || lxc_key_valid(key, len);
}

/* [a-z][a-z0-9_\-]+ (PVE matches it case-insensitively) */
static bool snapname_valid_n(const char *n, size_t len)
{
	if (len < 2 || !isalpha((unsigned char)n[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '-')
			return false;
	return true;
}

bool pve_conf_snapname_valid(const char *name)
{
	return snapname_valid_n(name, strlen(name));
}

/* Parse a "[...]" header; *name is malloc'd.  Returns 1 for a header, 0 for another line. */
static int parse_header(const char *s, size_t len, char **name)
{
	size_t end;

	if (len < 3 || s[0] != '[')
		return 0;
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len < 3 || s[len - 1] != ']')
		return 0;
	end = len - 1;
	if (end - 1 == strlen(PVE_CONF_PENDING) && strncasecmp(s + 1, PVE_CONF_PENDING, end - 1) == 0)
		*name = strdup(PVE_CONF_PENDING);
	else if (snapname_valid_n(s + 1, end - 1))
		*name = strndup(s + 1, end - 1);
	else
		return 0;
	return *name ? 1 : -ENOMEM;
}

/*
 * "key: value" (plain key, non-empty value) or "lxc.key: value" /
 * "lxc.key = value" (value may be empty); values lose surrounding blanks.
 */
static int parse_key_line(const char *s, size_t len, struct pve_conf_line *l)
{
	size_t k = 0, v;
	bool lxc;

	while (k < len && s[k] != ':' && !is_space(s[k]) && s[k] != '=')
		k++;
	lxc = lxc_key_valid(s, k);
	if (!lxc && !plain_key_valid(s, k))
		return 0;
	v = k;
	if (lxc) {
		while (v < len && is_space(s[v]))
			v++;
		if (v < len && (s[v] == '=' || (s[v] == ':' && v == k)))
			v++;
		else
			return 0;
	} else {
		if (v >= len || s[v] != ':')
			return 0;
		v++;
	}
	while (v < len && is_space(s[v]))
		v++;
	while (len > v && is_space(s[len - 1]))
		len--;
	if (!lxc && len == v)
		return 0;
	l->kind = PVE_CONF_KEY;
	l->key = strndup(s, k);
	l->value = strndup(s + v, len - v);
	if (!l->key || !l->value)
		return -ENOMEM;
	return 1;
}

static int add_section_raw(struct pve_conf *conf, char *name, char *header_raw)
{
	struct pve_conf_section *grown;

	grown = realloc(conf->sections, (conf->n_sections + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	conf->sections = grown;
	memset(&grown[conf->n_sections], 0, sizeof(*grown));
	grown[conf->n_sections].name = name;
	grown[conf->n_sections].header_raw = header_raw;
	conf->n_sections++;
	return 0;
}

int pve_conf_parse(const char *buf, size_t len, const char *name, struct pve_conf **out, struct plx_err *err)
{
	struct pve_conf *conf __attribute__((cleanup(pve_conf_freep))) = NULL;
	struct pve_conf_line *blanks = NULL;
	size_t n_blanks = 0, lineno = 0, pos = 0;
	int ret = 0;

	if (memchr(buf, '\0', len))
		return plx_err_set(err, EINVAL, "%s: contains a NUL byte", name);
	conf = calloc(1, sizeof(*conf));
	if (!conf || add_section_raw(conf, NULL, NULL) < 0)
		return plx_err_set(err, ENOMEM, "%s: out of memory", name);
	conf->final_newline = len == 0 || buf[len - 1] == '\n';

	while (pos < len) {
		const char *s = buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		struct pve_conf_section *cur = &conf->sections[conf->n_sections - 1];
		struct pve_conf_line l = { 0 };
		char *sect = NULL;
		size_t i;

		pos += n + 1;
		lineno++;
		for (i = 0; i < n && is_space(s[i]); i++)
			;
		if (i == n) {
			l.kind = PVE_CONF_BLANK;
		} else if ((ret = parse_header(s, n, &sect)) != 0) {
			if (ret < 0)
				goto oom;
			for (size_t j = 0; j < conf->n_sections; j++) {
				if (conf->sections[j].name && strcmp(conf->sections[j].name, sect) == 0) {
					ret = plx_err_set(err, EINVAL, "%s:%zu: duplicate section [%s]", name,
							  lineno, sect);
					free(sect);
					goto fail;
				}
			}
			l.raw = strndup(s, n);
			if (!l.raw || add_section_raw(conf, sect, l.raw) < 0) {
				free(sect);
				free(l.raw);
				goto oom;
			}
			/* blank lines right before a header separate sections: they go with it */
			cur = &conf->sections[conf->n_sections - 1];
			cur->pre = steal_ptr(blanks);
			cur->n_pre = n_blanks;
			n_blanks = 0;
			continue;
		} else if (s[0] == '#') {
			l.kind = PVE_CONF_COMMENT;
			l.value = strndup(s + 1, n - 1);
			if (!l.value)
				goto oom;
		} else {
			ret = parse_key_line(s, n, &l);
			if (ret < 0) {
				line_clear(&l);
				goto oom;
			}
			if (ret == 0) {
				line_clear(&l);
				ret = plx_err_set(err, EINVAL, "%s:%zu: cannot parse line '%.*s'", name,
						  lineno, (int)(n > 80 ? 80 : n), s);
				goto fail;
			}
		}
		l.raw = strndup(s, n);
		if (!l.raw) {
			line_clear(&l);
			goto oom;
		}
		if (l.kind == PVE_CONF_BLANK) {
			if (lines_insert(&blanks, &n_blanks, n_blanks, &l) < 0) {
				line_clear(&l);
				goto oom;
			}
			continue;
		}
		while (n_blanks > 0) {
			if (lines_insert(&cur->lines, &cur->n_lines, cur->n_lines, &blanks[0]) < 0) {
				line_clear(&l);
				goto oom;
			}
			memmove(&blanks[0], &blanks[1], (n_blanks - 1) * sizeof(*blanks));
			n_blanks--;
		}
		if (lines_insert(&cur->lines, &cur->n_lines, cur->n_lines, &l) < 0) {
			line_clear(&l);
			goto oom;
		}
	}
	/* trailing blank lines stay at the end of the last section */
	for (size_t i = 0; i < n_blanks; i++) {
		struct pve_conf_section *cur = &conf->sections[conf->n_sections - 1];

		if (lines_insert(&cur->lines, &cur->n_lines, cur->n_lines, &blanks[i]) < 0) {
			lines_free(blanks + i, n_blanks - i);
			free(blanks);
			return plx_err_set(err, ENOMEM, "%s: out of memory", name);
		}
	}
	free(blanks);
	*out = steal_ptr(conf);
	return 0;

oom:
	ret = plx_err_set(err, ENOMEM, "%s: out of memory", name);
fail:
	lines_free(blanks, n_blanks);
	return ret;
}

static void write_line(FILE *f, const struct pve_conf_line *l, bool *first, bool *need_nl)
{
	if (*need_nl)
		fputc('\n', f);
	*first = false;
	*need_nl = true;
	if (l->raw)
		fputs(l->raw, f);
	else if (l->kind == PVE_CONF_KEY)
		fprintf(f, "%s: %s", l->key, l->value);
	else if (l->kind == PVE_CONF_COMMENT)
		fprintf(f, "#%s", l->value);
}

int pve_conf_serialize(const struct pve_conf *conf, char **out, size_t *len, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t size = 0;
	bool first = true, need_nl = false;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return plx_err_sys(err, errno, "serializing CT config");
	for (size_t i = 0; i < conf->n_sections; i++) {
		const struct pve_conf_section *s = &conf->sections[i];

		for (size_t j = 0; j < s->n_pre; j++)
			write_line(f, &s->pre[j], &first, &need_nl);
		if (s->name) {
			if (need_nl)
				fputc('\n', f);
			need_nl = true;
			first = false;
			if (s->header_raw)
				fputs(s->header_raw, f);
			else
				fprintf(f, "[%s]", s->name);
		}
		for (size_t j = 0; j < s->n_lines; j++)
			write_line(f, &s->lines[j], &first, &need_nl);
	}
	if (need_nl && conf->final_newline)
		fputc('\n', f);
	if (fclose(f) != 0)
		return plx_err_sys(err, errno, "serializing CT config");
	*len = size;
	*out = steal_ptr(buf);
	return 0;
}

struct pve_conf_section *pve_conf_section(const struct pve_conf *conf, const char *section)
{
	for (size_t i = 0; i < conf->n_sections; i++) {
		const char *n = conf->sections[i].name;

		if ((!n && !section) || (n && section && strcmp(n, section) == 0))
			return &conf->sections[i];
	}
	return NULL;
}

static struct pve_conf_section *section_or_err(const struct pve_conf *conf, const char *section,
					       struct plx_err *err)
{
	struct pve_conf_section *s = pve_conf_section(conf, section);

	if (!s)
		plx_err_set(err, ENOENT, "CT config has no section [%s]", section ? section : "main");
	return s;
}

const char *pve_conf_get(const struct pve_conf *conf, const char *section, const char *key)
{
	const struct pve_conf_section *s = pve_conf_section(conf, section);
	const char *v = NULL;

	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_lines; i++)
		if (s->lines[i].kind == PVE_CONF_KEY && strcmp(s->lines[i].key, key) == 0)
			v = s->lines[i].value;
	return v;
}

static int check_key_value(const char *key, const char *value, struct plx_err *err)
{
	if (!pve_conf_key_valid(key))
		return plx_err_set(err, EINVAL, "invalid CT config key '%s'", key);
	if (strpbrk(value, "\n\r"))
		return plx_err_set(err, EINVAL, "value of CT config key '%s' contains a newline", key);
	if (!is_lxc_key(key) && (!*value || is_space(value[0]) || is_space(value[strlen(value) - 1])))
		return plx_err_set(err, EINVAL,
				   "value of CT config key '%s' is empty or has surrounding blanks", key);
	return 0;
}

/* Index after the last non-blank line (trailing blank lines stay trailing). */
static size_t content_end(const struct pve_conf_section *s)
{
	size_t pos = s->n_lines;

	while (pos > 0 && s->lines[pos - 1].kind == PVE_CONF_BLANK)
		pos--;
	return pos;
}

/* Where PVE's writer puts key: plain keys sorted, then lxc.* keys in order. */
static size_t insert_pos(const struct pve_conf_section *s, const char *key)
{
	if (!is_lxc_key(key)) {
		for (size_t i = 0; i < s->n_lines; i++) {
			const struct pve_conf_line *l = &s->lines[i];

			if (l->kind == PVE_CONF_KEY && (is_lxc_key(l->key) || strcmp(l->key, key) > 0))
				return i;
		}
	}
	return content_end(s);
}

static int insert_key(struct pve_conf_section *s, size_t pos, const char *key, const char *value,
		      struct plx_err *err)
{
	struct pve_conf_line l = { .kind = PVE_CONF_KEY };

	l.key = strdup(key);
	l.value = strdup(value);
	if (!l.key || !l.value || lines_insert(&s->lines, &s->n_lines, pos, &l) < 0) {
		line_clear(&l);
		return plx_err_set(err, ENOMEM, "out of memory setting CT config key '%s'", key);
	}
	return 0;
}

int pve_conf_set(struct pve_conf *conf, const char *section, const char *key, const char *value,
		 struct plx_err *err)
{
	struct pve_conf_section *s = section_or_err(conf, section, err);
	bool done = false;
	int ret;

	if (!s)
		return -ENOENT;
	ret = check_key_value(key, value, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < s->n_lines;) {
		struct pve_conf_line *l = &s->lines[i];
		char *v;

		if (l->kind != PVE_CONF_KEY || strcmp(l->key, key) != 0) {
			i++;
			continue;
		}
		if (done) {
			lines_remove(s->lines, &s->n_lines, i);
			continue;
		}
		if (strcmp(l->value, value) != 0) {
			v = strdup(value);
			if (!v)
				return plx_err_set(err, ENOMEM, "out of memory setting CT config key '%s'",
						   key);
			free(l->value);
			l->value = v;
			free(l->raw);
			l->raw = NULL;
		}
		done = true;
		i++;
	}
	if (done)
		return 0;
	return insert_key(s, insert_pos(s, key), key, value, err);
}

int pve_conf_add(struct pve_conf *conf, const char *section, const char *key, const char *value,
		 struct plx_err *err)
{
	struct pve_conf_section *s = section_or_err(conf, section, err);
	size_t pos;
	int ret;

	if (!s)
		return -ENOENT;
	ret = check_key_value(key, value, err);
	if (ret < 0)
		return ret;
	if (!is_lxc_key(key))
		return plx_err_set(err, EINVAL, "CT config key '%s' cannot repeat (only lxc.* keys can)",
				   key);
	pos = content_end(s);
	/* keep repeated keys together, after the last one */
	for (size_t i = 0; i < s->n_lines; i++)
		if (s->lines[i].kind == PVE_CONF_KEY && strcmp(s->lines[i].key, key) == 0)
			pos = i + 1;
	return insert_key(s, pos, key, value, err);
}

int pve_conf_delete(struct pve_conf *conf, const char *section, const char *key, struct plx_err *err)
{
	struct pve_conf_section *s = section_or_err(conf, section, err);
	int removed = 0;

	if (!s)
		return -ENOENT;
	for (size_t i = 0; i < s->n_lines;) {
		if (s->lines[i].kind == PVE_CONF_KEY && strcmp(s->lines[i].key, key) == 0) {
			lines_remove(s->lines, &s->n_lines, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

/* PVE::Tools::encode_text: uri_escape of everything outside 0x20-0x39 and 0x3b-0x7e. */
char *pve_conf_encode_text(const char *text)
{
	size_t len = strlen(text);
	char *out = malloc(len * 3 + 1), *p = out;

	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if ((*c >= 0x20 && *c <= 0x39) || (*c >= 0x3b && *c <= 0x7e))
			*p++ = (char)*c;
		else
			p += sprintf(p, "%%%02X", *c);
	}
	*p = '\0';
	return out;
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* uri_unescape: %XX becomes the byte, anything else stays. */
char *pve_conf_decode_text(const char *text)
{
	char *out = malloc(strlen(text) + 1), *p = out;

	if (!out)
		return NULL;
	for (const char *c = text; *c; c++) {
		int hi, lo;

		if (c[0] == '%' && (hi = hexval(c[1])) >= 0 && (lo = hexval(c[2])) >= 0) {
			*p++ = (char)(hi * 16 + lo);
			c += 2;
		} else {
			*p++ = *c;
		}
	}
	*p = '\0';
	return out;
}

char *pve_conf_get_description(const struct pve_conf *conf, const char *section)
{
	const struct pve_conf_section *s = pve_conf_section(conf, section);
	__do_free char *buf = NULL;
	size_t size = 0;
	bool first = true;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; s && i < s->n_lines; i++) {
		const struct pve_conf_line *l = &s->lines[i];
		__do_free char *dec = NULL;

		if (l->kind == PVE_CONF_COMMENT ||
		    (l->kind == PVE_CONF_KEY && strcmp(l->key, "description") == 0)) {
			dec = pve_conf_decode_text(l->value);
			if (!dec) {
				fclose(f);
				return NULL;
			}
			fprintf(f, "%s%s", first ? "" : "\n", dec);
			first = false;
		}
	}
	if (fclose(f) != 0)
		return NULL;
	return steal_ptr(buf);
}

int pve_conf_set_description(struct pve_conf *conf, const char *section, const char *text,
			     struct plx_err *err)
{
	struct pve_conf_section *s = section_or_err(conf, section, err);
	__do_free char *copy = NULL;
	size_t pos = 0;

	if (!s)
		return -ENOENT;
	copy = strdup(text);
	if (!copy)
		return plx_err_set(err, ENOMEM, "out of memory setting the CT description");
	for (size_t i = 0; i < s->n_lines;) {
		const struct pve_conf_line *l = &s->lines[i];

		if (l->kind == PVE_CONF_COMMENT ||
		    (l->kind == PVE_CONF_KEY && strcmp(l->key, "description") == 0))
			lines_remove(s->lines, &s->n_lines, i);
		else
			i++;
	}
	/* one comment line per text line, as PVE writes it */
	for (char *p = copy; *p;) {
		char *nl = strchrnul(p, '\n');
		bool more = *nl == '\n';
		struct pve_conf_line l = { .kind = PVE_CONF_COMMENT };

		*nl = '\0';
		l.value = pve_conf_encode_text(p);
		if (!l.value || lines_insert(&s->lines, &s->n_lines, pos++, &l) < 0) {
			line_clear(&l);
			return plx_err_set(err, ENOMEM, "out of memory setting the CT description");
		}
		p = more ? nl + 1 : nl;
	}
	return 0;
}

int pve_conf_add_section(struct pve_conf *conf, const char *name, struct plx_err *err)
{
	struct pve_conf_section sect = { 0 }, *grown;
	struct pve_conf_line blank = { .kind = PVE_CONF_BLANK };
	size_t pos = conf->n_sections;
	bool pending = strcmp(name, PVE_CONF_PENDING) == 0;

	if (!pending && !pve_conf_snapname_valid(name))
		return plx_err_set(err, EINVAL, "invalid CT config section name '%s'", name);
	if (pve_conf_section(conf, name))
		return plx_err_set(err, EEXIST, "CT config section [%s] already exists", name);
	for (size_t i = 1; i < conf->n_sections; i++) {
		const char *n = conf->sections[i].name;

		if (strcmp(n, PVE_CONF_PENDING) == 0)
			continue;
		if (pending || strcmp(n, name) > 0) {
			pos = i;
			break;
		}
	}
	sect.name = strdup(name);
	if (!sect.name || lines_insert(&sect.pre, &sect.n_pre, 0, &blank) < 0)
		goto oom;
	grown = realloc(conf->sections, (conf->n_sections + 1) * sizeof(*grown));
	if (!grown)
		goto oom;
	conf->sections = grown;
	memmove(&grown[pos + 1], &grown[pos], (conf->n_sections - pos) * sizeof(*grown));
	grown[pos] = sect;
	conf->n_sections++;
	return 0;
oom:
	section_clear(&sect);
	return plx_err_set(err, ENOMEM, "out of memory adding CT config section [%s]", name);
}

int pve_conf_remove_section(struct pve_conf *conf, const char *name, struct plx_err *err)
{
	struct pve_conf_section *s = name ? pve_conf_section(conf, name) : NULL;
	size_t pos;

	if (!s)
		return plx_err_set(err, ENOENT, "CT config has no section [%s]", name ? name : "main");
	pos = (size_t)(s - conf->sections);
	section_clear(s);
	memmove(&conf->sections[pos], &conf->sections[pos + 1],
		(conf->n_sections - pos - 1) * sizeof(*conf->sections));
	conf->n_sections--;
	return 0;
}
