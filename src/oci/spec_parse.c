/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json -> struct oci_spec: type checking only (semantics are in
 * spec_validate.c).  The input is untrusted: every value's type and range
 * is checked, and every error names the file and the JSON path.  Partly
 * built results are always in a state oci_spec_free() can release, so
 * error paths just return.
 */
#include "oci/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/spec_json.h"
#include "oci/spec_names.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* JSON path of the value being parsed, e.g. "mounts[2].destination". */
struct jpath {
	char *buf;
	size_t len;
	size_t cap;
};

struct pctx {
	const char *name; /* the file, as messages call it */
	struct jpath path;
	struct plx_err *err;
};

typedef int (*parse_fn)(struct pctx *c, json_t *v, void *out);

/* Out of memory only costs the message its detail, never the parse. */
static void jp_append(struct jpath *p, const char *s, size_t n)
{
	if (p->len + n + 1 > p->cap) {
		size_t cap = (p->len + n + 1) * 2;
		char *b = realloc(p->buf, cap);

		if (!b)
			return;
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static const char *jp_str(const struct jpath *p)
{
	return p->buf && p->len ? p->buf : "";
}

static size_t jp_key(struct jpath *p, const char *key)
{
	size_t mark = p->len;

	if (p->len)
		jp_append(p, ".", 1);
	jp_append(p, key, strlen(key));
	return mark;
}

static size_t jp_index(struct jpath *p, size_t i)
{
	size_t mark = p->len;
	char b[32];
	int n = snprintf(b, sizeof(b), "[%zu]", i);

	jp_append(p, b, (size_t)n);
	return mark;
}

/* linux.sysctl["net.ipv4.ip_forward"], quotes and control bytes escaped. */
static size_t jp_map_key(struct jpath *p, const char *key)
{
	size_t mark = p->len;

	jp_append(p, "[\"", 2);
	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		char b[8];

		if (*k == '"' || *k == '\\') {
			b[0] = '\\';
			b[1] = (char)*k;
			jp_append(p, b, 2);
		} else if (*k < 0x20) {
			jp_append(p, b, (size_t)snprintf(b, sizeof(b), "\\u%04x", *k));
		} else {
			jp_append(p, (const char *)k, 1);
		}
	}
	jp_append(p, "\"]", 2);
	return mark;
}

static void jp_pop(struct jpath *p, size_t mark)
{
	if (p->buf && mark <= p->len) {
		p->len = mark;
		p->buf[mark] = '\0';
	}
}

static const char *kind(const json_t *v)
{
	uint64_t u;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return oci_json_big_u64(v, &u) ? "integer" : "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/* "<name>: <path>: <message>" (no path part at the document's top). */
static __attribute__((format(printf, 2, 3))) int fail(struct pctx *c, const char *fmt, ...)
{
	__do_free char *msg = NULL;
	const char *path = jp_str(&c->path);
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return plx_err_set(c->err, ENOMEM, "%s: out of memory", c->name);
	if (*path)
		return plx_err_set(c->err, EINVAL, "%s: %s: %s", c->name, path, msg);
	return plx_err_set(c->err, EINVAL, "%s: %s", c->name, msg);
}

static int oom(struct pctx *c)
{
	return plx_err_set(c->err, ENOMEM, "%s: %s: out of memory", c->name, jp_str(&c->path));
}

static int type_error(struct pctx *c, const char *want, const json_t *v)
{
	return fail(c, "expected %s, got %s", want, kind(v));
}

/* Go's decoder, which runc uses, treats null like an absent property. */
static json_t *get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int want_object(struct pctx *c, json_t *v)
{
	uint64_t u;

	if (!json_is_object(v) || oci_json_big_u64(v, &u))
		return type_error(c, "object", v);
	return 0;
}

/* Check v is an object and point *out at a new zeroed struct of size. */
static int alloc_object(struct pctx *c, json_t *v, size_t size, void **out)
{
	int r = want_object(c, v);

	if (r < 0)
		return r;
	*out = calloc(1, size);
	return *out ? 0 : oom(c);
}

/* Parse obj[key] with fn when present; *has (optional) tells whether it was. */
static int field(struct pctx *c, json_t *obj, const char *key, parse_fn fn, void *out, bool *has)
{
	json_t *v = get(obj, key);
	size_t mark;
	int r;

	if (has)
		*has = false;
	if (!v)
		return 0;
	mark = jp_key(&c->path, key);
	r = fn(c, v, out);
	jp_pop(&c->path, mark);
	if (r == 0 && has)
		*has = true;
	return r;
}

/* ---- scalars ---- */

static int p_str(struct pctx *c, json_t *v, void *out)
{
	char **res = out;

	if (!json_is_string(v))
		return type_error(c, "string", v);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, "string contains a NUL byte");
	free(*res);
	*res = strdup(json_string_value(v));
	return *res ? 0 : oom(c);
}

static int p_bool(struct pctx *c, json_t *v, void *out)
{
	if (!json_is_boolean(v))
		return type_error(c, "boolean", v);
	*(bool *)out = json_is_true(v);
	return 0;
}

/* An integer (or a wrapped one above INT64_MAX) as sign and magnitude. */
static int get_integer(struct pctx *c, json_t *v, bool *neg, uint64_t *mag)
{
	uint64_t big;

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		*neg = x < 0;
		*mag = x < 0 ? (uint64_t)(-(x + 1)) + 1 : (uint64_t)x;
		return 0;
	}
	if (oci_json_big_u64(v, &big)) {
		*neg = false;
		*mag = big;
		return 0;
	}
	return type_error(c, "integer", v);
}

static int get_signed(struct pctx *c, json_t *v, int64_t min, int64_t max, int64_t *out)
{
	bool neg;
	uint64_t mag;
	int64_t x = 0;
	int r = get_integer(c, v, &neg, &mag);

	if (r < 0)
		return r;
	if (!neg && mag > INT64_MAX)
		goto range;
	x = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	if (x < min || x > max)
		goto range;
	*out = x;
	return 0;
range:
	return fail(c, "value %s%" PRIu64 " out of range %" PRId64 "..%" PRId64, neg ? "-" : "", mag, min,
		    max);
}

static int get_unsigned(struct pctx *c, json_t *v, uint64_t max, uint64_t *out)
{
	bool neg;
	uint64_t mag;
	int r = get_integer(c, v, &neg, &mag);

	if (r < 0)
		return r;
	if (neg || mag > max)
		return fail(c, "value %s%" PRIu64 " out of range 0..%" PRIu64, neg ? "-" : "", mag, max);
	*out = mag;
	return 0;
}

static int p_i64(struct pctx *c, json_t *v, void *out)
{
	return get_signed(c, v, INT64_MIN, INT64_MAX, out);
}

static int p_i32(struct pctx *c, json_t *v, void *out)
{
	int64_t x = 0;
	int r = get_signed(c, v, INT32_MIN, INT32_MAX, &x);

	if (r == 0)
		*(int32_t *)out = (int32_t)x;
	return r;
}

/* C int fields (timeout, oomScoreAdj, ioPriority) */
static int p_int(struct pctx *c, json_t *v, void *out)
{
	int64_t x = 0;
	int r = get_signed(c, v, INT_MIN, INT_MAX, &x);

	if (r == 0)
		*(int *)out = (int)x;
	return r;
}

static int p_u64(struct pctx *c, json_t *v, void *out)
{
	return get_unsigned(c, v, UINT64_MAX, out);
}

static int p_u32(struct pctx *c, json_t *v, void *out)
{
	uint64_t x = 0;
	int r = get_unsigned(c, v, UINT32_MAX, &x);

	if (r == 0)
		*(uint32_t *)out = (uint32_t)x;
	return r;
}

static int p_u16(struct pctx *c, json_t *v, void *out)
{
	uint64_t x = 0;
	int r = get_unsigned(c, v, UINT16_MAX, &x);

	if (r == 0)
		*(uint16_t *)out = (uint16_t)x;
	return r;
}

/* One-letter device types: the letter; "" -> '\0'; longer -> '?' (the validator rejects both). */
static int p_type_char(struct pctx *c, json_t *v, void *out)
{
	const char *s;

	if (!json_is_string(v))
		return type_error(c, "string", v);
	s = json_string_value(v);
	*(char *)out = json_string_length(v) == 1 ? s[0] : s[0] ? '?' : '\0';
	return 0;
}

/* ---- containers ---- */

/* A NULL-terminated vector; an empty array gives an empty (non-NULL) vector. */
static int p_strv(struct pctx *c, json_t *v, void *out)
{
	char ***res = out;
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return type_error(c, "array", v);
	plx_strv_freep(res);
	*res = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*res)
		return oom(c);
	json_array_foreach(v, i, e) {
		size_t mark = jp_index(&c->path, i);
		int r = p_str(c, e, &(*res)[i]);

		jp_pop(&c->path, mark);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * An array of structs of size bytes, each parsed by elem.  The array is
 * handed to the owner before its elements are parsed, so a failure
 * half-way leaves nothing unowned.
 */
static int p_array(struct pctx *c, json_t *v, size_t size, parse_fn elem, void **arr, size_t *n)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return type_error(c, "array", v);
	if (json_array_size(v) == 0)
		return 0;
	*arr = calloc(json_array_size(v), size);
	if (!*arr)
		return oom(c);
	*n = json_array_size(v);
	json_array_foreach(v, i, e) {
		size_t mark = jp_index(&c->path, i);
		int r = elem(c, e, (char *)*arr + i * size);

		jp_pop(&c->path, mark);
		if (r < 0)
			return r;
	}
	return 0;
}

static int field_array(struct pctx *c, json_t *obj, const char *key, size_t size, parse_fn elem, void **arr,
		       size_t *n)
{
	json_t *v = get(obj, key);
	size_t mark;
	int r;

	if (!v)
		return 0;
	mark = jp_key(&c->path, key);
	r = p_array(c, v, size, elem, arr, n);
	jp_pop(&c->path, mark);
	return r;
}

#define ARRAY(c, obj, key, elem, arrp, np) \
	field_array(c, obj, key, sizeof(**(arrp)), elem, (void **)(arrp), np)

/* An object of strings into key/value pairs, in document order. */
static int p_kv_map(struct pctx *c, json_t *v, struct oci_key_value **arr, size_t *n)
{
	const char *key;
	json_t *e;
	size_t i = 0;
	int r = want_object(c, v);

	if (r < 0)
		return r;
	if (json_object_size(v) == 0)
		return 0;
	*arr = calloc(json_object_size(v), sizeof(**arr));
	if (!*arr)
		return oom(c);
	*n = json_object_size(v);
	json_object_foreach(v, key, e) {
		size_t mark = jp_map_key(&c->path, key);

		r = p_str(c, e, &(*arr)[i].value);
		jp_pop(&c->path, mark);
		if (r < 0)
			return r;
		(*arr)[i].key = strdup(key);
		if (!(*arr)[i].key)
			return oom(c);
		i++;
	}
	return 0;
}

static int field_kv_map(struct pctx *c, json_t *obj, const char *key, struct oci_key_value **arr, size_t *n)
{
	json_t *v = get(obj, key);
	size_t mark;
	int r;

	if (!v)
		return 0;
	mark = jp_key(&c->path, key);
	r = p_kv_map(c, v, arr, n);
	jp_pop(&c->path, mark);
	return r;
}

/* ---- process ---- */

static int p_rlimit(struct pctx *c, json_t *v, void *out)
{
	struct oci_rlimit *rl = out;
	int r;

	rl->resource = -1;
	r = want_object(c, v) ?: field(c, v, "type", p_str, &rl->type, NULL)
		?: field(c, v, "soft", p_u64, &rl->soft, NULL)
		?: field(c, v, "hard", p_u64, &rl->hard, NULL);
	if (r == 0)
		rl->resource = oci_rlimit_resource(rl->type);
	return r;
}

static int p_user(struct pctx *c, json_t *v, void *out)
{
	struct oci_user *u = out;

	return want_object(c, v) ?: field(c, v, "uid", p_u32, &u->uid, NULL)
		?: field(c, v, "gid", p_u32, &u->gid, NULL)
		?: field(c, v, "umask", p_u32, &u->umask, &u->has_umask)
		?: ARRAY(c, v, "additionalGids", p_u32, &u->additional_gids, &u->n_additional_gids)
		?: field(c, v, "username", p_str, &u->username, NULL);
}

static int p_capabilities(struct pctx *c, json_t *v, void *out)
{
	struct oci_capabilities **res = out, *caps;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	caps = *res;
	return field(c, v, "bounding", p_strv, &caps->bounding, NULL)
		?: field(c, v, "effective", p_strv, &caps->effective, NULL)
		?: field(c, v, "inheritable", p_strv, &caps->inheritable, NULL)
		?: field(c, v, "permitted", p_strv, &caps->permitted, NULL)
		?: field(c, v, "ambient", p_strv, &caps->ambient, NULL);
}

static int p_console_size(struct pctx *c, json_t *v, void *out)
{
	struct oci_process *p = out;

	return want_object(c, v) ?: field(c, v, "height", p_u32, &p->console_height, NULL)
		?: field(c, v, "width", p_u32, &p->console_width, NULL);
}

static int p_io_priority(struct pctx *c, json_t *v, void *out)
{
	struct oci_io_priority **res = out, *io;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	io = *res;
	return field(c, v, "class", p_str, &io->klass, NULL)
		?: field(c, v, "priority", p_int, &io->priority, NULL);
}

static int p_scheduler(struct pctx *c, json_t *v, void *out)
{
	struct oci_scheduler **res = out, *s;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	s = *res;
	return field(c, v, "policy", p_str, &s->policy, NULL)
		?: field(c, v, "nice", p_i32, &s->nice, &s->has_nice)
		?: field(c, v, "priority", p_i32, &s->priority, &s->has_priority)
		?: field(c, v, "flags", p_strv, &s->flags, NULL)
		?: field(c, v, "runtime", p_u64, &s->runtime, &s->has_runtime)
		?: field(c, v, "deadline", p_u64, &s->deadline, &s->has_deadline)
		?: field(c, v, "period", p_u64, &s->period, &s->has_period);
}

static int parse_process(struct pctx *c, json_t *v, struct oci_process *p)
{
	return want_object(c, v) ?: field(c, v, "terminal", p_bool, &p->terminal, NULL)
		?: field(c, v, "consoleSize", p_console_size, p, &p->has_console_size)
		?: field(c, v, "cwd", p_str, &p->cwd, NULL)
		?: field(c, v, "args", p_strv, &p->args, NULL)
		?: field(c, v, "commandLine", p_str, &p->command_line, NULL)
		?: field(c, v, "env", p_strv, &p->env, NULL)
		?: field(c, v, "user", p_user, &p->user, NULL)
		?: field(c, v, "capabilities", p_capabilities, &p->capabilities, NULL)
		?: ARRAY(c, v, "rlimits", p_rlimit, &p->rlimits, &p->n_rlimits)
		?: field(c, v, "noNewPrivileges", p_bool, &p->no_new_privileges, NULL)
		?: field(c, v, "apparmorProfile", p_str, &p->apparmor_profile, NULL)
		?: field(c, v, "oomScoreAdj", p_int, &p->oom_score_adj, &p->has_oom_score_adj)
		?: field(c, v, "selinuxLabel", p_str, &p->selinux_label, NULL)
		?: field(c, v, "ioPriority", p_io_priority, &p->io_priority, NULL)
		?: field(c, v, "scheduler", p_scheduler, &p->scheduler, NULL);
}

static int p_process(struct pctx *c, json_t *v, void *out)
{
	struct oci_process **res = out;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	return r ?: parse_process(c, v, *res);
}

/* ---- root, mounts, hooks ---- */

static int p_root(struct pctx *c, json_t *v, void *out)
{
	struct oci_root **res = out;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	return r ?: field(c, v, "path", p_str, &(*res)->path, NULL)
		?: field(c, v, "readonly", p_bool, &(*res)->readonly, NULL);
}

static int p_id_mapping(struct pctx *c, json_t *v, void *out)
{
	struct oci_id_mapping *m = out;

	return want_object(c, v) ?: field(c, v, "containerID", p_u32, &m->container_id, NULL)
		?: field(c, v, "hostID", p_u32, &m->host_id, NULL)
		?: field(c, v, "size", p_u32, &m->size, NULL);
}

static int p_mount(struct pctx *c, json_t *v, void *out)
{
	struct oci_mount *m = out;

	return want_object(c, v) ?: field(c, v, "destination", p_str, &m->destination, NULL)
		?: field(c, v, "type", p_str, &m->type, NULL)
		?: field(c, v, "source", p_str, &m->source, NULL)
		?: field(c, v, "options", p_strv, &m->options, NULL)
		?: ARRAY(c, v, "uidMappings", p_id_mapping, &m->uid_mappings, &m->n_uid_mappings)
		?: ARRAY(c, v, "gidMappings", p_id_mapping, &m->gid_mappings, &m->n_gid_mappings);
}

static int p_hook(struct pctx *c, json_t *v, void *out)
{
	struct oci_hook *h = out;

	return want_object(c, v) ?: field(c, v, "path", p_str, &h->path, NULL)
		?: field(c, v, "args", p_strv, &h->args, NULL)
		?: field(c, v, "env", p_strv, &h->env, NULL)
		?: field(c, v, "timeout", p_int, &h->timeout, &h->has_timeout);
}

static int p_hooks(struct pctx *c, json_t *v, void *out)
{
	struct oci_hooks *h = out;

	return want_object(c, v) ?: ARRAY(c, v, "prestart", p_hook, &h->prestart.v, &h->prestart.n)
		?: ARRAY(c, v, "createRuntime", p_hook, &h->create_runtime.v, &h->create_runtime.n)
		?: ARRAY(c, v, "createContainer", p_hook, &h->create_container.v, &h->create_container.n)
		?: ARRAY(c, v, "startContainer", p_hook, &h->start_container.v, &h->start_container.n)
		?: ARRAY(c, v, "poststart", p_hook, &h->poststart.v, &h->poststart.n)
		?: ARRAY(c, v, "poststop", p_hook, &h->poststop.v, &h->poststop.n);
}

/* Kept as the document's own object (state JSON hands it on); values must be strings. */
static int p_annotations(struct pctx *c, json_t *v, void *out)
{
	const char *key;
	json_t *e;
	int r = want_object(c, v);

	if (r < 0)
		return r;
	json_object_foreach(v, key, e) {
		size_t mark = jp_map_key(&c->path, key);

		if (!json_is_string(e))
			r = type_error(c, "string", e);
		jp_pop(&c->path, mark);
		if (r < 0)
			return r;
	}
	*(json_t **)out = v;
	return 0;
}

/* ---- linux ---- */

static int p_namespace(struct pctx *c, json_t *v, void *out)
{
	struct oci_namespace *ns = out;
	int r = want_object(c, v) ?: field(c, v, "type", p_str, &ns->type, NULL)
		?: field(c, v, "path", p_str, &ns->path, NULL);

	if (r < 0)
		return r;
	ns->flag = oci_namespace_flag(ns->type);
	/* an empty path means a new namespace, as for runc */
	if (ns->path && !*ns->path) {
		free(ns->path);
		ns->path = NULL;
	}
	return 0;
}

static int p_device(struct pctx *c, json_t *v, void *out)
{
	struct oci_device *d = out;

	/* -1: absent; the validator requires them for c, b and u */
	d->major = -1;
	d->minor = -1;
	return want_object(c, v) ?: field(c, v, "type", p_type_char, &d->type, NULL)
		?: field(c, v, "path", p_str, &d->path, NULL)
		?: field(c, v, "major", p_i64, &d->major, NULL)
		?: field(c, v, "minor", p_i64, &d->minor, NULL)
		?: field(c, v, "fileMode", p_u32, &d->file_mode, &d->has_file_mode)
		?: field(c, v, "uid", p_u32, &d->uid, &d->has_uid)
		?: field(c, v, "gid", p_u32, &d->gid, &d->has_gid);
}

static int p_device_rule(struct pctx *c, json_t *v, void *out)
{
	struct oci_device_rule *d = out;
	int r;

	d->type = 'a';
	d->major = -1;
	d->minor = -1;
	r = want_object(c, v) ?: field(c, v, "allow", p_bool, &d->allow, NULL)
		?: field(c, v, "type", p_type_char, &d->type, NULL)
		?: field(c, v, "major", p_i64, &d->major, NULL)
		?: field(c, v, "minor", p_i64, &d->minor, NULL)
		?: field(c, v, "access", p_str, &d->access, NULL);
	/* runc reads an empty type as "a" */
	if (r == 0 && d->type == '\0')
		d->type = 'a';
	return r;
}

static int p_memory(struct pctx *c, json_t *v, void *out)
{
	struct oci_memory **res = out, *m;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	m = *res;
	return field(c, v, "limit", p_i64, &m->limit, &m->has_limit)
		?: field(c, v, "reservation", p_i64, &m->reservation, &m->has_reservation)
		?: field(c, v, "swap", p_i64, &m->swap, &m->has_swap)
		?: field(c, v, "kernel", p_i64, &m->kernel, &m->has_kernel)
		?: field(c, v, "kernelTCP", p_i64, &m->kernel_tcp, &m->has_kernel_tcp)
		?: field(c, v, "swappiness", p_u64, &m->swappiness, &m->has_swappiness)
		?: field(c, v, "disableOOMKiller", p_bool, &m->disable_oom_killer, &m->has_disable_oom_killer)
		?: field(c, v, "useHierarchy", p_bool, &m->use_hierarchy, &m->has_use_hierarchy)
		?: field(c, v, "checkBeforeUpdate", p_bool, &m->check_before_update,
			 &m->has_check_before_update);
}

static int p_cpu(struct pctx *c, json_t *v, void *out)
{
	struct oci_cpu **res = out, *cpu;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	cpu = *res;
	return field(c, v, "shares", p_u64, &cpu->shares, &cpu->has_shares)
		?: field(c, v, "quota", p_i64, &cpu->quota, &cpu->has_quota)
		?: field(c, v, "burst", p_u64, &cpu->burst, &cpu->has_burst)
		?: field(c, v, "period", p_u64, &cpu->period, &cpu->has_period)
		?: field(c, v, "realtimeRuntime", p_i64, &cpu->realtime_runtime, &cpu->has_realtime_runtime)
		?: field(c, v, "realtimePeriod", p_u64, &cpu->realtime_period, &cpu->has_realtime_period)
		?: field(c, v, "cpus", p_str, &cpu->cpus, NULL)
		?: field(c, v, "mems", p_str, &cpu->mems, NULL)
		?: field(c, v, "idle", p_i64, &cpu->idle, &cpu->has_idle);
}

static int p_pids(struct pctx *c, json_t *v, void *out)
{
	struct oci_resources *res = out;

	return want_object(c, v) ?: field(c, v, "limit", p_i64, &res->pids_limit, &res->has_pids_limit);
}

static int p_weight_device(struct pctx *c, json_t *v, void *out)
{
	struct oci_weight_device *d = out;

	return want_object(c, v) ?: field(c, v, "major", p_i64, &d->major, NULL)
		?: field(c, v, "minor", p_i64, &d->minor, NULL)
		?: field(c, v, "weight", p_u16, &d->weight, &d->has_weight)
		?: field(c, v, "leafWeight", p_u16, &d->leaf_weight, &d->has_leaf_weight);
}

static int p_throttle_device(struct pctx *c, json_t *v, void *out)
{
	struct oci_throttle_device *d = out;

	return want_object(c, v) ?: field(c, v, "major", p_i64, &d->major, NULL)
		?: field(c, v, "minor", p_i64, &d->minor, NULL)
		?: field(c, v, "rate", p_u64, &d->rate, NULL);
}

static int p_block_io(struct pctx *c, json_t *v, void *out)
{
	struct oci_block_io **res = out, *b;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	b = *res;
	return field(c, v, "weight", p_u16, &b->weight, &b->has_weight)
		?: field(c, v, "leafWeight", p_u16, &b->leaf_weight, &b->has_leaf_weight)
		?: ARRAY(c, v, "weightDevice", p_weight_device, &b->weight_device, &b->n_weight_device)
		?: ARRAY(c, v, "throttleReadBpsDevice", p_throttle_device, &b->throttle_read_bps,
			 &b->n_throttle_read_bps)
		?: ARRAY(c, v, "throttleWriteBpsDevice", p_throttle_device, &b->throttle_write_bps,
			 &b->n_throttle_write_bps)
		?: ARRAY(c, v, "throttleReadIOPSDevice", p_throttle_device, &b->throttle_read_iops,
			 &b->n_throttle_read_iops)
		?: ARRAY(c, v, "throttleWriteIOPSDevice", p_throttle_device, &b->throttle_write_iops,
			 &b->n_throttle_write_iops);
}

static int p_hugepage_limit(struct pctx *c, json_t *v, void *out)
{
	struct oci_hugepage_limit *h = out;

	return want_object(c, v) ?: field(c, v, "pageSize", p_str, &h->page_size, NULL)
		?: field(c, v, "limit", p_u64, &h->limit, NULL);
}

static int p_net_priority(struct pctx *c, json_t *v, void *out)
{
	struct oci_net_priority *p = out;

	return want_object(c, v) ?: field(c, v, "name", p_str, &p->name, NULL)
		?: field(c, v, "priority", p_u32, &p->priority, NULL);
}

static int p_network(struct pctx *c, json_t *v, void *out)
{
	struct oci_resources *res = out;

	return want_object(c, v) ?: field(c, v, "classID", p_u32, &res->net_class_id, &res->has_net_class_id)
		?: ARRAY(c, v, "priorities", p_net_priority, &res->net_priorities, &res->n_net_priorities);
}

/* rdma is not parsed: the runtime cannot apply it (no rdma controller is used). */
static int p_resources(struct pctx *c, json_t *v, void *out)
{
	struct oci_resources **res = out, *r;
	int ret = alloc_object(c, v, sizeof(**res), (void **)res);

	if (ret < 0)
		return ret;
	r = *res;
	return ARRAY(c, v, "devices", p_device_rule, &r->devices, &r->n_devices)
		?: field(c, v, "memory", p_memory, &r->memory, NULL)
		?: field(c, v, "cpu", p_cpu, &r->cpu, NULL)
		?: field(c, v, "pids", p_pids, r, NULL)
		?: field(c, v, "blockIO", p_block_io, &r->block_io, NULL)
		?: ARRAY(c, v, "hugepageLimits", p_hugepage_limit, &r->hugepage_limits, &r->n_hugepage_limits)
		?: field(c, v, "network", p_network, r, NULL)
		?: field_kv_map(c, v, "unified", &r->unified, &r->n_unified);
}

static int p_seccomp_arg(struct pctx *c, json_t *v, void *out)
{
	struct oci_seccomp_arg *a = out;

	return want_object(c, v) ?: field(c, v, "index", p_u32, &a->index, NULL)
		?: field(c, v, "value", p_u64, &a->value, NULL)
		?: field(c, v, "valueTwo", p_u64, &a->value_two, &a->has_value_two)
		?: field(c, v, "op", p_str, &a->op, NULL);
}

static int p_syscall(struct pctx *c, json_t *v, void *out)
{
	struct oci_syscall *s = out;

	return want_object(c, v) ?: field(c, v, "names", p_strv, &s->names, NULL)
		?: field(c, v, "action", p_str, &s->action, NULL)
		?: field(c, v, "errnoRet", p_u32, &s->errno_ret, &s->has_errno_ret)
		?: ARRAY(c, v, "args", p_seccomp_arg, &s->args, &s->n_args);
}

static int p_seccomp(struct pctx *c, json_t *v, void *out)
{
	struct oci_seccomp **res = out, *s;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	s = *res;
	return field(c, v, "defaultAction", p_str, &s->default_action, NULL)
		?: field(c, v, "defaultErrnoRet", p_u32, &s->default_errno_ret, &s->has_default_errno_ret)
		?: field(c, v, "architectures", p_strv, &s->architectures, NULL)
		?: field(c, v, "flags", p_strv, &s->flags, NULL)
		?: field(c, v, "listenerPath", p_str, &s->listener_path, NULL)
		?: field(c, v, "listenerMetadata", p_str, &s->listener_metadata, NULL)
		?: ARRAY(c, v, "syscalls", p_syscall, &s->syscalls, &s->n_syscalls);
}

static int p_personality(struct pctx *c, json_t *v, void *out)
{
	struct oci_personality **res = out;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	return r ?: field(c, v, "domain", p_str, &(*res)->domain, NULL)
		?: field(c, v, "flags", p_strv, &(*res)->flags, NULL);
}

static int p_intel_rdt(struct pctx *c, json_t *v, void *out)
{
	struct oci_intel_rdt **res = out, *rdt;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	rdt = *res;
	return field(c, v, "closID", p_str, &rdt->clos_id, NULL)
		?: field(c, v, "l3CacheSchema", p_str, &rdt->l3_cache_schema, NULL)
		?: field(c, v, "memBwSchema", p_str, &rdt->mem_bw_schema, NULL)
		?: field(c, v, "enableCMT", p_bool, &rdt->enable_cmt, NULL)
		?: field(c, v, "enableMBM", p_bool, &rdt->enable_mbm, NULL);
}

/* "timeOffsets": {"monotonic": {"secs": 1, "nanosecs": 2}, ...} */
static int p_time_offsets(struct pctx *c, json_t *v, void *out)
{
	struct oci_linux *l = out;
	const char *clock;
	json_t *e;
	size_t i = 0;
	int r = want_object(c, v);

	if (r < 0 || json_object_size(v) == 0)
		return r;
	l->time_offsets = calloc(json_object_size(v), sizeof(*l->time_offsets));
	if (!l->time_offsets)
		return oom(c);
	l->n_time_offsets = json_object_size(v);
	json_object_foreach(v, clock, e) {
		struct oci_time_offset *t = &l->time_offsets[i++];
		size_t mark = jp_map_key(&c->path, clock);

		t->clock = strdup(clock);
		r = t->clock ? 0 : oom(c);
		r = r ?: want_object(c, e) ?: field(c, e, "secs", p_i64, &t->secs, NULL)
			?: field(c, e, "nanosecs", p_u32, &t->nanosecs, NULL);
		jp_pop(&c->path, mark);
		if (r < 0)
			return r;
	}
	return 0;
}

static int p_linux(struct pctx *c, json_t *v, void *out)
{
	struct oci_linux **res = out, *l;
	int r = alloc_object(c, v, sizeof(**res), (void **)res);

	if (r < 0)
		return r;
	l = *res;
	return ARRAY(c, v, "namespaces", p_namespace, &l->namespaces, &l->n_namespaces)
		?: ARRAY(c, v, "uidMappings", p_id_mapping, &l->uid_mappings, &l->n_uid_mappings)
		?: ARRAY(c, v, "gidMappings", p_id_mapping, &l->gid_mappings, &l->n_gid_mappings)
		?: ARRAY(c, v, "devices", p_device, &l->devices, &l->n_devices)
		?: field(c, v, "cgroupsPath", p_str, &l->cgroups_path, NULL)
		?: field(c, v, "resources", p_resources, &l->resources, NULL)
		?: field_kv_map(c, v, "sysctl", &l->sysctl, &l->n_sysctl)
		?: field(c, v, "seccomp", p_seccomp, &l->seccomp, NULL)
		?: field(c, v, "rootfsPropagation", p_str, &l->rootfs_propagation, NULL)
		?: field(c, v, "maskedPaths", p_strv, &l->masked_paths, NULL)
		?: field(c, v, "readonlyPaths", p_strv, &l->readonly_paths, NULL)
		?: field(c, v, "mountLabel", p_str, &l->mount_label, NULL)
		?: field(c, v, "personality", p_personality, &l->personality, NULL)
		?: field(c, v, "intelRdt", p_intel_rdt, &l->intel_rdt, NULL)
		?: field(c, v, "timeOffsets", p_time_offsets, l, NULL);
}

static int parse_spec(struct pctx *c, json_t *v, struct oci_spec *s)
{
	return want_object(c, v) ?: field(c, v, "ociVersion", p_str, &s->oci_version, NULL)
		?: field(c, v, "process", p_process, &s->process, NULL)
		?: field(c, v, "root", p_root, &s->root, NULL)
		?: field(c, v, "hostname", p_str, &s->hostname, NULL)
		?: field(c, v, "domainname", p_str, &s->domainname, NULL)
		?: ARRAY(c, v, "mounts", p_mount, &s->mounts, &s->n_mounts)
		?: field(c, v, "hooks", p_hooks, &s->hooks, NULL)
		?: field(c, v, "annotations", p_annotations, &s->annotations, NULL)
		?: field(c, v, "linux", p_linux, &s->linux, NULL);
}

/* ---- entry points ---- */

/* The spec keeps its own reference to doc; the caller keeps theirs. */
int oci_spec_from_json(json_t *doc, const char *name, struct oci_spec **out, struct plx_err *err)
{
	struct oci_spec *spec;
	struct pctx c = { .err = err };
	int r;

	if (!name)
		name = "config.json";
	if (!doc)
		return plx_err_set(err, EINVAL, "%s: no JSON document", name);
	spec = calloc(1, sizeof(*spec));
	if (!spec)
		return plx_err_set(err, ENOMEM, "%s: out of memory", name);
	spec->doc = json_incref(doc);
	spec->source = strdup(name);
	if (!spec->source) {
		oci_spec_free(spec);
		return plx_err_set(err, ENOMEM, "%s: out of memory", name);
	}
	c.name = spec->source;
	r = parse_spec(&c, doc, spec);
	free(c.path.buf);
	if (r < 0) {
		oci_spec_free(spec);
		return r;
	}
	*out = spec;
	return 0;
}

int oci_spec_parse(const char *buf, size_t len, const char *name, struct oci_spec **out, struct plx_err *err)
{
	json_t *doc = NULL;
	int r;

	if (!name)
		name = "config.json";
	if (!buf) {
		buf = "";
		len = 0;
	}
	r = oci_json_load(buf, len, name, &doc, err);
	if (r < 0)
		return r;
	r = oci_spec_from_json(doc, name, out, err);
	json_decref(doc);
	return r;
}

int oci_spec_load(const char *path, struct oci_spec **out, struct plx_err *err)
{
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_free char *buf = NULL;
	size_t len = 0;
	int r;

	r = plx_read_file_at(AT_FDCWD, path, &buf, &len, err);
	if (r < 0)
		return r;
	r = oci_spec_parse(buf, len, path, &spec, err);
	if (r < 0)
		return r;
	r = oci_spec_validate(spec, err);
	if (r < 0)
		return r;
	*out = steal_ptr(spec);
	return 0;
}

int oci_process_from_json(json_t *obj, const char *name, const char *jpath, struct oci_process **out,
			  struct plx_err *err)
{
	struct oci_process *p;
	struct pctx c = { .name = name ? name : "process.json", .err = err };
	int r;

	if (!obj)
		return plx_err_set(err, EINVAL, "%s: no JSON document", c.name);
	p = calloc(1, sizeof(*p));
	if (!p)
		return plx_err_set(err, ENOMEM, "%s: out of memory", c.name);
	if (jpath)
		jp_append(&c.path, jpath, strlen(jpath));
	r = parse_process(&c, obj, p);
	free(c.path.buf);
	if (r < 0) {
		oci_process_free(p);
		return r;
	}
	*out = p;
	return 0;
}

const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, const char *type)
{
	if (!spec || !spec->linux || !type)
		return NULL;
	for (size_t i = 0; i < spec->linux->n_namespaces; i++)
		if (spec->linux->namespaces[i].type && strcmp(spec->linux->namespaces[i].type, type) == 0)
			return &spec->linux->namespaces[i];
	return NULL;
}
