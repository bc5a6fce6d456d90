/* SPDX-License-Identifier: Apache-2.0 */
/* state.json: our record of a container, and the OCI state runc prints. */
#include "core/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/fs.h"

static inline void state_json_decrefp(json_t **p)
{
	json_decref(*p);
	*p = NULL;
}
#define __do_json_decref __attribute__((cleanup(state_json_decrefp)))

/*
 * The path of state.json for messages: the real path of dirfd when
 * /proc tells it, else <id>/state.json.
 */
static char *state_file_name(int dirfd, const char *id)
{
	char link[64], dir[PATH_MAX];
	char *out = NULL;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, dir, sizeof(dir) - 1);
	if (n > 0 && dir[0] == '/') {
		dir[n] = '\0';
		if (asprintf(&out, "%s/%s", dir, PLX_STATE_FILE) < 0)
			out = NULL;
	} else if (asprintf(&out, "%s/%s", id ? id : "?", PLX_STATE_FILE) < 0) {
		out = NULL;
	}
	return out;
}

static int set_str(json_t *o, const char *key, const char *val)
{
	if (!val)
		return 0;
	return json_object_set_new(o, key, json_string(val));
}

static int set_json(json_t *o, const char *key, json_t *val)
{
	if (!val)
		return 0;
	return json_object_set(o, key, val);
}

int plx_state_write(int dirfd, const struct plx_state *st, struct plx_err *err)
{
	__do_json_decref json_t *o = NULL;
	__do_free char *text = NULL;
	int bad = 0;

	if (!st->id)
		return plx_err_set(err, EINVAL, "write %s: container has no id", PLX_STATE_FILE);
	if (st->pid < 0 || st->pid_start > (uint64_t)INT64_MAX)
		return plx_err_set(err, EINVAL, "write state of %s: pid %d / start %" PRIu64 " out of range",
				   st->id, (int)st->pid, st->pid_start);
	o = json_object();
	if (!o)
		return plx_err_set(err, ENOMEM, "write state of %s: out of memory", st->id);
	bad |= set_str(o, "id", st->id);
	bad |= set_str(o, "bundle", st->bundle);
	bad |= set_str(o, "rootfs", st->rootfs);
	bad |= set_str(o, "config_path", st->config_path);
	bad |= json_object_set_new(o, "pid", json_integer(st->pid));
	bad |= json_object_set_new(o, "pid_start", json_integer((json_int_t)st->pid_start));
	bad |= set_str(o, "created", st->created);
	bad |= set_str(o, "owner", st->owner);
	bad |= set_json(o, "annotations", st->annotations);
	bad |= set_str(o, "cgroup_path", st->cgroup_path);
	bad |= json_object_set_new(o, "use_systemd_cgroup", json_boolean(st->use_systemd_cgroup));
	bad |= set_json(o, "engine", st->engine);
	bad |= set_json(o, "storage", st->storage);
	bad |= set_json(o, "pve", st->pve);
	if (bad)
		return plx_err_set(err, ENOMEM, "write state of %s: cannot build JSON", st->id);

	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		return plx_err_set(err, ENOMEM, "write state of %s: cannot serialize JSON", st->id);
	return plx_write_file_atomic_at(dirfd, PLX_STATE_FILE, text, strlen(text), 0600, err);
}

/* Typed field readers: absent (or null) leaves the default. */
static int get_str(json_t *o, const char *key, char **out, const char *file, struct plx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return plx_err_set(err, EINVAL, "%s: %s: expected string, got %s", file, key,
				   plx_json_type_name(v));
	*out = strdup(json_string_value(v));
	if (!*out)
		return plx_err_set(err, ENOMEM, "%s: out of memory", file);
	return 0;
}

static int get_int(json_t *o, const char *key, json_int_t min, json_int_t max, json_int_t *out,
		   const char *file, struct plx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return plx_err_set(err, EINVAL, "%s: %s: expected integer, got %s", file, key,
				   plx_json_type_name(v));
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return plx_err_set(err, EINVAL, "%s: %s: %" JSON_INTEGER_FORMAT " out of range", file, key,
				   json_integer_value(v));
	*out = json_integer_value(v);
	return 0;
}

static int get_obj(json_t *o, const char *key, json_t **out, const char *file, struct plx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return plx_err_set(err, EINVAL, "%s: %s: expected object, got %s", file, key,
				   plx_json_type_name(v));
	*out = json_incref(v);
	return 0;
}

static int state_from_json(json_t *o, const char *file, struct plx_state *st, struct plx_err *err)
{
	json_int_t pid = 0, start = 0;
	json_t *v;
	int ret = 0;

	ret = get_str(o, "id", &st->id, file, err);
	if (!ret)
		ret = get_str(o, "bundle", &st->bundle, file, err);
	if (!ret)
		ret = get_str(o, "rootfs", &st->rootfs, file, err);
	if (!ret)
		ret = get_str(o, "config_path", &st->config_path, file, err);
	if (!ret)
		ret = get_int(o, "pid", 0, INT_MAX, &pid, file, err);
	if (!ret)
		ret = get_int(o, "pid_start", 0, INT64_MAX, &start, file, err);
	if (!ret)
		ret = get_str(o, "created", &st->created, file, err);
	if (!ret)
		ret = get_str(o, "owner", &st->owner, file, err);
	if (!ret)
		ret = get_obj(o, "annotations", &st->annotations, file, err);
	if (!ret)
		ret = get_str(o, "cgroup_path", &st->cgroup_path, file, err);
	if (!ret)
		ret = get_obj(o, "engine", &st->engine, file, err);
	if (!ret)
		ret = get_obj(o, "storage", &st->storage, file, err);
	if (!ret)
		ret = get_obj(o, "pve", &st->pve, file, err);
	if (ret < 0)
		return ret;

	v = json_object_get(o, "use_systemd_cgroup");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return plx_err_set(err, EINVAL, "%s: use_systemd_cgroup: expected boolean, got %s",
					   file, plx_json_type_name(v));
		st->use_systemd_cgroup = json_is_true(v);
	}
	st->pid = (pid_t)pid;
	st->pid_start = (uint64_t)start;
	return 0;
}

int plx_state_read(int dirfd, const char *id, struct plx_state **out, struct plx_err *err)
{
	__do_free char *file = NULL;
	__do_free char *buf = NULL;
	__do_json_decref json_t *doc = NULL;
	__do_plx_state_free struct plx_state *st = NULL;
	json_error_t jerr;
	size_t len = 0;
	int ret;

	file = state_file_name(dirfd, id);
	if (!file)
		return plx_err_set(err, ENOMEM, "read state of %s: out of memory", id ? id : "?");
	ret = plx_read_file_at(dirfd, PLX_STATE_FILE, &buf, &len, err);
	if (ret < 0) /* plx_read_file_at named only "state.json": say which one */
		return plx_err_sys(err, -ret, "read %s", file);
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "%s:%d:%d: corrupt state: %s", file, jerr.line, jerr.column,
				   jerr.text);
	if (!json_is_object(doc))
		return plx_err_set(err, EINVAL, "%s: corrupt state: expected object, got %s", file,
				   plx_json_type_name(doc));

	st = calloc(1, sizeof(*st));
	if (!st)
		return plx_err_set(err, ENOMEM, "read %s: out of memory", file);
	ret = state_from_json(doc, file, st, err);
	if (ret < 0)
		return ret;
	if (!st->id)
		return plx_err_set(err, EINVAL, "%s: corrupt state: no id", file);
	if (id && strcmp(st->id, id) != 0)
		return plx_err_set(err, EINVAL,
				   "%s: corrupt state: id \"%s\" does not match the directory %s", file,
				   st->id, id);
	*out = steal_ptr(st);
	return 0;
}

json_t *plx_state_to_json(const struct plx_state *st, enum plx_status status)
{
	__do_json_decref json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	/* The keys and their order are runc's (its `state` output). */
	bad |= json_object_set_new(o, "ociVersion", json_string(OCI_RUNTIME_SPEC_VERSION));
	bad |= json_object_set_new(o, "id", json_string(st->id ? st->id : ""));
	bad |= json_object_set_new(o, "pid", json_integer(status == PLX_STATUS_STOPPED ? 0 : st->pid));
	bad |= json_object_set_new(o, "status", json_string(plx_status_name(status)));
	bad |= json_object_set_new(o, "bundle", json_string(st->bundle ? st->bundle : ""));
	bad |= json_object_set_new(o, "rootfs", json_string(st->rootfs ? st->rootfs : ""));
	bad |= json_object_set_new(o, "created", json_string(st->created ? st->created : ""));
	bad |= json_object_set_new(o, "owner", json_string(st->owner ? st->owner : ""));
	if (st->annotations && json_object_size(st->annotations) > 0)
		bad |= json_object_set(o, "annotations", st->annotations);
	if (bad)
		return NULL;
	return steal_ptr(o);
}

char *plx_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char date[32], frac[24] = "";
	char *out = NULL;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm))
		return NULL;
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return NULL;
	/* Go's RFC3339Nano (runc's "created"): nanoseconds without trailing zeros. */
	if (ts.tv_nsec > 0) {
		size_t n;

		snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
		n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	if (asprintf(&out, "%s%sZ", date, frac) < 0)
		return NULL;
	return out;
}
