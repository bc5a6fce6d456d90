/* SPDX-License-Identifier: Apache-2.0 */
#include "image/image_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/inroot.h"
#include "image/passwd.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"

struct parse {
	const char *name; /* the file, for messages */
	struct plx_err *err;
};

static int type_err(struct parse *p, const char *path, const char *want, const json_t *got)
{
	return plx_err_set(p->err, EINVAL, "%s: %s: expected %s, got %s", p->name, path, want,
			   plx_json_type_name(got));
}

/* obj[key] as a string; absent or null: NULL. */
static int get_str(struct parse *p, json_t *obj, const char *key, const char *path, char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return type_err(p, path, "string", v);
	*out = strdup(json_string_value(v));
	return *out ? 0 : plx_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
}

static int get_strv(struct parse *p, json_t *obj, const char *key, const char *path, char ***out)
{
	__do_strv_free char **v = NULL;
	json_t *a = json_object_get(obj, key), *s;
	size_t i;

	*out = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return type_err(p, path, "array of strings", a);
	/* an empty array stays distinct from an absent one */
	v = calloc(1, sizeof(char *));
	if (!v)
		return plx_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
	json_array_foreach(a, i, s) {
		if (!json_is_string(s)) {
			char at[64];

			snprintf(at, sizeof(at), "%s[%zu]", path, i);
			return type_err(p, at, "string", s);
		}
		if (plx_strv_append(&v, json_string_value(s)) < 0)
			return plx_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
	}
	*out = steal_ptr(v);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of an object such as Volumes {"/data": {}}, sorted. */
static int get_keys(struct parse *p, json_t *obj, const char *key, const char *path, char ***out)
{
	__do_strv_free char **v = NULL;
	json_t *o = json_object_get(obj, key), *val;
	const char *k;

	*out = NULL;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return type_err(p, path, "object", o);
	json_object_foreach(o, k, val) {
		if (plx_strv_append(&v, k) < 0)
			return plx_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
	}
	if (v)
		qsort(v, plx_strv_len(v), sizeof(char *), cmp_str);
	*out = steal_ptr(v);
	return 0;
}

static int parse_config(struct parse *p, json_t *c, struct plx_exec_config *ic)
{
	json_t *labels, *val;
	const char *k;
	int ret;

	if (!c || json_is_null(c))
		return 0;
	if (!json_is_object(c))
		return type_err(p, "config", "object", c);
	if ((ret = get_str(p, c, "User", "config.User", &ic->user)) < 0 ||
	    (ret = get_strv(p, c, "Env", "config.Env", &ic->env)) < 0 ||
	    (ret = get_strv(p, c, "Entrypoint", "config.Entrypoint", &ic->entrypoint)) < 0 ||
	    (ret = get_strv(p, c, "Cmd", "config.Cmd", &ic->cmd)) < 0 ||
	    (ret = get_str(p, c, "WorkingDir", "config.WorkingDir", &ic->working_dir)) < 0 ||
	    (ret = get_keys(p, c, "Volumes", "config.Volumes", &ic->volumes)) < 0 ||
	    (ret = get_keys(p, c, "ExposedPorts", "config.ExposedPorts", &ic->exposed_ports)) < 0 ||
	    (ret = get_str(p, c, "StopSignal", "config.StopSignal", &ic->stop_signal)) < 0)
		return ret;

	labels = json_object_get(c, "Labels");
	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return type_err(p, "config.Labels", "object", labels);
	json_object_foreach(labels, k, val) {
		if (!json_is_string(val)) {
			__do_free char *at = NULL;

			if (asprintf(&at, "config.Labels.%s", k) < 0)
				return plx_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
			return type_err(p, at, "string", val);
		}
	}
	ic->labels = json_incref(labels);
	return 0;
}

int plx_exec_config_from_json(json_t *doc, const char *name, struct plx_exec_config **out,
			      struct plx_err *err)
{
	struct plx_exec_config *ic __attribute__((cleanup(plx_exec_config_freep))) = NULL;
	struct parse p = { name, err };
	int ret;

	if (!json_is_object(doc))
		return type_err(&p, "(top level)", "object", doc);
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return plx_err_set(err, ENOMEM, "%s: out of memory", name);
	ret = parse_config(&p, json_object_get(doc, "config"), ic);
	if (ret < 0)
		return ret;
	*out = steal_ptr(ic);
	return 0;
}

int plx_exec_config_parse(const char *buf, size_t len, const char *name, struct plx_exec_config **out,
			  struct plx_err *err)
{
	json_auto_t *doc = NULL;
	json_error_t jerr;

	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return plx_err_set(err, EINVAL, "%s: line %d: %s", name, jerr.line, jerr.text);
	return plx_exec_config_from_json(doc, name, out, err);
}

void plx_exec_config_free(struct plx_exec_config *c)
{
	free(c->user);
	plx_strv_free(c->env);
	plx_strv_free(c->entrypoint);
	plx_strv_free(c->cmd);
	free(c->working_dir);
	plx_strv_free(c->volumes);
	plx_strv_free(c->exposed_ports);
	json_decref(c->labels);
	free(c->stop_signal);
	free(c);
}

/* Index of the entry of env whose key is that of kv ("KEY=..." or "KEY"), or -1. */
static ssize_t env_find(char *const *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], kv, klen) == 0 && (env[i][klen] == '=' || env[i][klen] == '\0'))
			return (ssize_t)i;
	return -1;
}

static int env_default(char ***env, const char *kv)
{
	return env_find(*env, kv) < 0 ? plx_strv_append(env, kv) : 0;
}

int plx_image_env_merge(char *const *image_env, char *const *user_env, bool tty, const char *home, char ***out,
			struct plx_err *err)
{
	__do_strv_free char **env = calloc(1, sizeof(char *));
	__do_free char *home_kv = NULL;

	if (!env)
		return plx_err_set(err, ENOMEM, "environment: out of memory");
	for (size_t i = 0; image_env && image_env[i]; i++)
		if (plx_strv_append(&env, image_env[i]) < 0)
			return plx_err_set(err, ENOMEM, "environment: out of memory");
	if (home && asprintf(&home_kv, "HOME=%s", home) < 0) {
		home_kv = NULL;
		return plx_err_set(err, ENOMEM, "environment: out of memory");
	}
	if (env_default(&env, PLX_IMAGE_DEFAULT_PATH) < 0 || (tty && env_default(&env, "TERM=xterm") < 0) ||
	    (home_kv && env_default(&env, home_kv) < 0))
		return plx_err_set(err, ENOMEM, "environment: out of memory");

	for (size_t i = 0; user_env && user_env[i]; i++) {
		const char *kv = user_env[i];
		ssize_t at;
		char *copy;

		if (!strchr(kv, '=') || kv[0] == '=')
			return plx_err_set(err, EINVAL, "environment variable \"%s\": expected KEY=VALUE", kv);
		at = env_find(env, kv);
		if (at < 0) {
			if (plx_strv_append(&env, kv) < 0)
				return plx_err_set(err, ENOMEM, "environment: out of memory");
			continue;
		}
		copy = strdup(kv);
		if (!copy)
			return plx_err_set(err, ENOMEM, "environment: out of memory");
		free(env[at]);
		env[at] = copy;
	}
	*out = steal_ptr(env);
	return 0;
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v && v[i]; i++) {
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *args_json(const struct plx_exec_config *ic, const struct plx_image_run_opts *o,
			 struct plx_err *err)
{
	char *const *cmd = o->args ? o->args : ic->cmd;
	json_t *a = strv_json(ic->entrypoint);

	for (size_t i = 0; a && cmd && cmd[i]; i++) {
		if (json_array_append_new(a, json_string(cmd[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (!a) {
		plx_err_set(err, ENOMEM, "process.args: out of memory");
		return NULL;
	}
	if (json_array_size(a) == 0) {
		json_decref(a);
		plx_err_set(err, EINVAL, "the image has no Entrypoint or Cmd: give the command to run");
		return NULL;
	}
	return a;
}

static json_t *user_json(const struct plx_image_user *u)
{
	json_t *user = json_pack("{s:I, s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);
	json_t *gids;

	if (!user || u->n_additional_gids == 0)
		return user;
	gids = json_array();
	for (size_t i = 0; gids && i < u->n_additional_gids; i++)
		if (json_array_append_new(gids, json_integer(u->additional_gids[i])) < 0)
			break;
	if (!gids || json_object_set_new(user, "additionalGids", gids) < 0) {
		json_decref(user);
		return NULL;
	}
	return user;
}

static int set_annotations(json_t *spec, const struct plx_exec_config *ic, struct plx_err *err)
{
	json_t *ann = json_object_get(spec, "annotations");
	const char *k;
	json_t *v;

	if (!ann) {
		ann = json_object();
		if (!ann || json_object_set_new(spec, "annotations", ann) < 0)
			return plx_err_set(err, ENOMEM, "annotations: out of memory");
	}
	if (!json_is_object(ann))
		return plx_err_set(err, EINVAL, "annotations: expected object, got %s", plx_json_type_name(ann));
	json_object_foreach(ic->labels, k, v) {
		if (json_object_set(ann, k, v) < 0)
			return plx_err_set(err, ENOMEM, "annotations: out of memory");
	}
	if (ic->exposed_ports && ic->exposed_ports[0]) {
		size_t len = 1;
		__do_free char *ports = NULL;

		for (size_t i = 0; ic->exposed_ports[i]; i++)
			len += strlen(ic->exposed_ports[i]) + 1;
		ports = calloc(1, len);
		if (!ports)
			return plx_err_set(err, ENOMEM, "annotations: out of memory");
		for (size_t i = 0; ic->exposed_ports[i]; i++) {
			if (i)
				strcat(ports, ",");
			strcat(ports, ic->exposed_ports[i]);
		}
		if (json_object_set_new(ann, PLX_IMAGE_PORTS_ANNOTATION, json_string(ports)) < 0)
			return plx_err_set(err, ENOMEM, "annotations: out of memory");
	}
	if (ic->stop_signal &&
	    json_object_set_new(ann, PLX_IMAGE_STOP_SIGNAL_ANNOTATION, json_string(ic->stop_signal)) < 0)
		return plx_err_set(err, ENOMEM, "annotations: out of memory");
	return 0;
}

static int cwd_of(const struct plx_exec_config *ic, const struct plx_image_run_opts *o, char **out,
		  struct plx_err *err)
{
	const char *wd = o->workdir ? o->workdir : ic->working_dir;

	if (o->workdir && o->workdir[0] != '/')
		return plx_err_set(err, EINVAL, "working directory %s: must be absolute", o->workdir);
	if (!wd || !*wd)
		wd = "/";
	/* docker takes a relative WorkingDir in an image as relative to "/" */
	if (asprintf(out, "%s%s", wd[0] == '/' ? "" : "/", wd) < 0) {
		*out = NULL;
		return plx_err_set(err, ENOMEM, "working directory: out of memory");
	}
	return 0;
}

int plx_exec_config_apply(json_t *spec, const struct plx_exec_config *ic, const struct plx_image_run_opts *o,
			   int rootfd, struct plx_err *err)
{
	__attribute__((cleanup(plx_image_user_free))) struct plx_image_user user = { 0 };
	__do_strv_free char **env = NULL;
	__do_free char *cwd = NULL;
	json_t *process = json_object_get(spec, "process"), *args, *env_j, *user_j;
	const char *user_spec = o->user ? o->user : ic->user;
	int ret;

	if (!process) {
		process = json_object();
		if (!process || json_object_set_new(spec, "process", process) < 0)
			return plx_err_set(err, ENOMEM, "process: out of memory");
	}
	if (!json_is_object(process))
		return plx_err_set(err, EINVAL, "process: expected object, got %s", plx_json_type_name(process));

	ret = plx_image_user_resolve(rootfd, user_spec ? user_spec : "", &user, err);
	if (ret < 0)
		return ret;
	ret = plx_image_env_merge(ic->env, o->env, o->tty, user.home, &env, err);
	if (ret < 0)
		return ret;
	ret = cwd_of(ic, o, &cwd, err);
	if (ret < 0)
		return ret;
	args = args_json(ic, o, err);
	if (!args)
		return -err->code;
	env_j = strv_json(env);
	user_j = user_json(&user);
	if (json_object_set_new(process, "args", args) < 0 || json_object_set_new(process, "env", env_j) < 0 ||
	    json_object_set_new(process, "user", user_j) < 0 ||
	    json_object_set_new(process, "cwd", json_string(cwd)) < 0 ||
	    json_object_set_new(process, "terminal", json_boolean(o->tty)) < 0)
		return plx_err_set(err, ENOMEM, "process: out of memory");
	return set_annotations(spec, ic, err);
}

int plx_image_volume_source(const char *volumes_dir, const char *dest, char **out, struct plx_err *err)
{
	__do_free char *clean = NULL;
	int ret;

	if (!dest || dest[0] != '/')
		return plx_err_set(err, EINVAL, "volume %s: the destination must be absolute", dest ? dest : "");
	ret = plx_inroot_clean_name(dest + strspn(dest, "/"), &clean);
	if (ret == -EINVAL)
		return plx_err_set(err, EINVAL, "volume %s: refusing a \"..\" component", dest);
	if (ret < 0)
		return plx_err_set(err, -ret, "volume %s: out of memory", dest);
	if (!*clean)
		return plx_err_set(err, EINVAL, "volume %s: the root cannot be a volume", dest);
	if (asprintf(out, "%s/%s", volumes_dir, clean) < 0) {
		*out = NULL;
		return plx_err_set(err, ENOMEM, "volume %s: out of memory", dest);
	}
	return 0;
}

static bool mounts_dest(json_t *mounts, const char *dest)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m) {
		const char *d = json_string_value(json_object_get(m, "destination"));

		if (d && strcmp(d, dest) == 0)
			return true;
	}
	return false;
}

int plx_exec_config_volumes(json_t *spec, const struct plx_exec_config *ic, const char *volumes_dir,
			     struct plx_err *err)
{
	return plx_exec_config_volumes_from(spec, ic, volumes_dir, NULL, err);
}

int plx_exec_config_volumes_from(json_t *spec, const struct plx_exec_config *ic, const char *volumes_dir,
				 const json_t *sources, struct plx_err *err)
{
	json_t *mounts = json_object_get(spec, "mounts");

	if (!ic->volumes || !ic->volumes[0])
		return 0;
	if (!mounts) {
		mounts = json_array();
		if (!mounts || json_object_set_new(spec, "mounts", mounts) < 0)
			return plx_err_set(err, ENOMEM, "mounts: out of memory");
	}
	if (!json_is_array(mounts))
		return plx_err_set(err, EINVAL, "mounts: expected array, got %s", plx_json_type_name(mounts));
	for (size_t i = 0; ic->volumes[i]; i++) {
		__do_free char *src = NULL;
		json_t *m;
		int ret;

		const char *given = json_string_value(json_object_get(sources, ic->volumes[i]));

		/* checked even when given: the destination must be a sane volume path */
		ret = plx_image_volume_source(volumes_dir, ic->volumes[i], &src, err);
		if (ret < 0)
			return ret;
		if (given) {
			free(src);
			src = strdup(given);
			if (!src)
				return plx_err_set(err, ENOMEM, "mounts: out of memory");
		}
		if (mounts_dest(mounts, ic->volumes[i]))
			continue;
		m = json_pack("{s:s, s:s, s:s, s:[s, s]}", "destination", ic->volumes[i], "type", "bind", "source",
			      src, "options", "rbind", "rw");
		if (!m || json_array_append_new(mounts, m) < 0)
			return plx_err_set(err, ENOMEM, "mounts: out of memory");
	}
	return 0;
}
