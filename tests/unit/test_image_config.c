/* SPDX-License-Identifier: Apache-2.0 */
/* Image config parsing and its mapping onto a runtime config; users from the image's passwd. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/image_config.h"
#include "image/inroot.h"
#include "image/passwd.h"
#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fx {
	char dir[64];
	char root[80];
	int rootfd;
};

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "# a comment\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "broken line\n"
			     "app:x:1000:1000:App:/home/app:/bin/sh\n"
			     "nohome:x:1001:1001::\n";
static const char group[] = "root:x:0:\n"
			    "wheel:x:10:root,app\n"
			    "audio:x:29:app\n"
			    "app:x:1000:\n"
			    "staff:x:50:daemon\n";

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct plx_err err = PLX_ERR_INIT;
	char p[128];

	strcpy(f->dir, "/tmp/plx-test-imgcfg-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(p, sizeof(p), "%s/etc", f->root);
	if (plx_mkdir_p(p, 0755, &err) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/etc/passwd", f->root);
	if (plx_write_file_at(AT_FDCWD, p, passwd, strlen(passwd), 0644, &err) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/etc/group", f->root);
	if (plx_write_file_at(AT_FDCWD, p, group, strlen(group), 0644, &err) < 0)
		return -1;
	f->rootfd = plx_inroot_open_root(f->root, &err);
	*state = f;
	return f->rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	close(f->rootfd);
	plx_rm_rf_at(AT_FDCWD, f->dir, &err);
	plx_err_clear(&err);
	free(f);
	return 0;
}

static const char full_config[] =
	"{\"architecture\": \"amd64\", \"os\": \"linux\","
	" \"config\": {\"User\": \"app\", \"Env\": [\"PATH=/app/bin:/usr/bin\", \"LANG=C.UTF-8\", \"MODE=image\"],"
	"  \"Entrypoint\": [\"/app/entry\", \"--flag\"], \"Cmd\": [\"serve\", \"--port\", \"80\"],"
	"  \"WorkingDir\": \"/srv\", \"ExposedPorts\": {\"443/tcp\": {}, \"80/tcp\": {}},"
	"  \"Volumes\": {\"/var/lib/db\": {}, \"/data\": {}},"
	"  \"Labels\": {\"org.opencontainers.image.title\": \"demo\", \"maintainer\": \"me\"},"
	"  \"StopSignal\": \"SIGQUIT\"},"
	" \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:aa\", \"sha256:bb\"]},"
	" \"history\": []}";

static struct plx_exec_config *parse_ok(const char *s)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_exec_config *ic = NULL;

	if (plx_exec_config_parse(s, strlen(s), "config", &ic, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return ic;
}

static void test_parse(void **state)
{
	__do_exec_config_free struct plx_exec_config *ic = parse_ok(full_config);

	assert_string_equal(ic->user, "app");
	assert_string_equal(ic->env[1], "LANG=C.UTF-8");
	assert_string_equal(ic->entrypoint[1], "--flag");
	assert_string_equal(ic->cmd[2], "80");
	assert_string_equal(ic->working_dir, "/srv");
	assert_string_equal(ic->volumes[0], "/data");
	assert_string_equal(ic->volumes[1], "/var/lib/db");
	assert_string_equal(ic->exposed_ports[0], "443/tcp");
	assert_string_equal(ic->stop_signal, "SIGQUIT");
	assert_string_equal(json_string_value(json_object_get(ic->labels, "maintainer")), "me");

	/* a minimal config: everything absent */
	{
		__do_exec_config_free struct plx_exec_config *m = parse_ok("{\"config\": null}");

		assert_null(m->cmd);
		assert_null(m->labels);
	}
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "[]", "config: (top level): expected object, got array" },
		{ "{\"config\": {\"Env\": [\"A=1\", 2]}}", "config: config.Env[1]: expected string, got integer" },
		{ "{\"config\": {\"Cmd\": \"sh\"}}", "config: config.Cmd: expected array of strings, got string" },
		{ "{\"config\": {\"Volumes\": [\"/data\"]}}", "config: config.Volumes: expected object, got array" },
		{ "{\"config\": {\"Labels\": {\"a\": 1}}}", "config: config.Labels.a: expected string, got integer" },
		{ "{\"config\": {\"User\": 0}}", "config: config.User: expected string, got integer" },
		{ "{\"os\": ", "config: line 1" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct plx_err err = PLX_ERR_INIT;
		struct plx_exec_config *ic = NULL;

		assert_int_equal(plx_exec_config_parse(bad[i].doc, strlen(bad[i].doc), "config", &ic, &err),
				 -EINVAL);
		if (strncmp(plx_err_msg(&err), bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("%s: got \"%s\"", bad[i].doc, plx_err_msg(&err));
		assert_null(ic);
		plx_err_clear(&err);
	}
}

static const char *env_get(json_t *env, const char *key)
{
	size_t i, klen = strlen(key);
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (strncmp(s, key, klen) == 0 && s[klen] == '=')
			return s + klen + 1;
	}
	return NULL;
}

static json_t *apply_ok(struct fx *f, const struct plx_exec_config *ic, const struct plx_image_run_opts *o)
{
	struct plx_err err = PLX_ERR_INIT;
	json_t *spec = oci_spec_template(false, 0, 0);

	if (plx_exec_config_apply(spec, ic, o, f->rootfd, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return spec;
}

static void test_apply(void **state)
{
	struct fx *f = *state;
	__do_exec_config_free struct plx_exec_config *ic = parse_ok(full_config);
	struct plx_image_run_opts o = { 0 };
	json_auto_t *spec = apply_ok(f, ic, &o);
	json_t *p = json_object_get(spec, "process"), *ann = json_object_get(spec, "annotations");
	json_t *args = json_object_get(p, "args"), *env = json_object_get(p, "env"), *user;
	struct plx_err err = PLX_ERR_INIT;
	__do_oci_spec_free struct oci_spec *parsed = NULL;

	assert_int_equal(json_array_size(args), 5);
	assert_string_equal(json_string_value(json_array_get(args, 0)), "/app/entry");
	assert_string_equal(json_string_value(json_array_get(args, 2)), "serve");
	assert_string_equal(env_get(env, "PATH"), "/app/bin:/usr/bin");
	assert_string_equal(env_get(env, "HOME"), "/home/app");
	assert_null(env_get(env, "TERM"));
	assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/srv");
	assert_false(json_is_true(json_object_get(p, "terminal")));
	user = json_object_get(p, "user");
	assert_int_equal(json_integer_value(json_object_get(user, "uid")), 1000);
	assert_int_equal(json_integer_value(json_object_get(user, "gid")), 1000);
	assert_int_equal(json_array_size(json_object_get(user, "additionalGids")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(user, "additionalGids"), 0)), 10);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(user, "additionalGids"), 1)), 29);

	assert_string_equal(json_string_value(json_object_get(ann, "org.opencontainers.image.title")), "demo");
	assert_string_equal(json_string_value(json_object_get(ann, "maintainer")), "me");
	assert_string_equal(json_string_value(json_object_get(ann, PLX_IMAGE_PORTS_ANNOTATION)), "443/tcp,80/tcp");
	assert_string_equal(json_string_value(json_object_get(ann, PLX_IMAGE_STOP_SIGNAL_ANNOTATION)), "SIGQUIT");

	/* the result is a valid runtime config */
	if (oci_spec_from_json(spec, "config.json", &parsed, &err) < 0 || oci_spec_validate(parsed, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	assert_int_equal(parsed->process->user.n_additional_gids, 2);
}

static void test_apply_overrides(void **state)
{
	struct fx *f = *state;
	__do_exec_config_free struct plx_exec_config *ic = parse_ok(full_config);
	char *args[] = { "debug", "-v", NULL };
	char *env[] = { "MODE=user", "EXTRA=1", "PATH=/bin", NULL };
	struct plx_image_run_opts o = { .args = args, .env = env, .workdir = "/tmp", .user = "1234:50", .tty = true };
	json_auto_t *spec = apply_ok(f, ic, &o);
	json_t *p = json_object_get(spec, "process");
	json_t *a = json_object_get(p, "args"), *e = json_object_get(p, "env"), *user = json_object_get(p, "user");

	/* the entrypoint stays; the user's arguments replace Cmd */
	assert_int_equal(json_array_size(a), 4);
	assert_string_equal(json_string_value(json_array_get(a, 1)), "--flag");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "debug");
	/* the user's env wins, the image's other variables stay, in the image's order */
	assert_string_equal(env_get(e, "MODE"), "user");
	assert_string_equal(env_get(e, "PATH"), "/bin");
	assert_string_equal(env_get(e, "LANG"), "C.UTF-8");
	assert_string_equal(env_get(e, "EXTRA"), "1");
	assert_string_equal(env_get(e, "TERM"), "xterm");
	assert_string_equal(json_string_value(json_array_get(e, 0)), "PATH=/bin");
	/* uid 1234 is not in passwd: home "/" */
	assert_string_equal(env_get(e, "HOME"), "/");
	assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/tmp");
	assert_true(json_is_true(json_object_get(p, "terminal")));
	assert_int_equal(json_integer_value(json_object_get(user, "uid")), 1234);
	assert_int_equal(json_integer_value(json_object_get(user, "gid")), 50);
	assert_null(json_object_get(user, "additionalGids"));
}

static void test_apply_errors(void **state)
{
	struct fx *f = *state;
	__do_exec_config_free struct plx_exec_config *empty = parse_ok("{\"config\": {\"Env\": [\"A=1\"]}}");
	__do_exec_config_free struct plx_exec_config *ic = parse_ok(full_config);
	char *bad_env[] = { "NOVALUE", NULL };
	struct plx_image_run_opts o = { 0 };
	struct plx_err err = PLX_ERR_INIT;
	json_auto_t *spec = oci_spec_template(false, 0, 0);

	assert_int_equal(plx_exec_config_apply(spec, empty, &o, f->rootfd, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "no Entrypoint or Cmd"));

	o.env = bad_env;
	assert_int_equal(plx_exec_config_apply(spec, ic, &o, f->rootfd, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "NOVALUE"));

	o.env = NULL;
	o.workdir = "relative";
	assert_int_equal(plx_exec_config_apply(spec, ic, &o, f->rootfd, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "relative"));

	o.workdir = NULL;
	o.user = "ghost";
	assert_int_equal(plx_exec_config_apply(spec, ic, &o, f->rootfd, &err), -ENOENT);
	assert_non_null(strstr(plx_err_msg(&err), "ghost"));
	plx_err_clear(&err);
}

static void resolve_ok(struct fx *f, const char *spec, uid_t uid, gid_t gid, size_t n_gids, const char *home)
{
	struct plx_image_user u = { 0 };
	struct plx_err err = PLX_ERR_INIT;

	if (plx_image_user_resolve(f->rootfd, spec, &u, &err) < 0)
		fail_msg("%s: %s", spec, plx_err_msg(&err));
	if (u.uid != uid || u.gid != gid || u.n_additional_gids != n_gids || strcmp(u.home, home) != 0)
		fail_msg("%s: got %u:%u +%zu %s", spec, u.uid, u.gid, u.n_additional_gids, u.home);
	plx_image_user_free(&u);
}

static void test_users(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *spec;
		int code;
		const char *msg;
	} bad[] = {
		{ "ghost", -ENOENT, "no such user in the image's /etc/passwd" },
		{ "app:ghosts", -ENOENT, "no such group ghosts" },
		{ "app:", -EINVAL, "empty group" },
	};

	resolve_ok(f, "", 0, 0, 1, "/root");           /* root is in wheel */
	resolve_ok(f, "root", 0, 0, 1, "/root");
	resolve_ok(f, "app", 1000, 1000, 2, "/home/app"); /* wheel, audio */
	resolve_ok(f, "1000", 1000, 1000, 2, "/home/app"); /* numeric: looked up by uid */
	resolve_ok(f, "app:staff", 1000, 50, 0, "/home/app");
	resolve_ok(f, "app:7", 1000, 7, 0, "/home/app");
	resolve_ok(f, "4321", 4321, 0, 0, "/");
	resolve_ok(f, "4321:4322", 4321, 4322, 0, "/");
	resolve_ok(f, "nohome", 1001, 1001, 0, "/");
	resolve_ok(f, "daemon", 1, 1, 1, "/usr/sbin");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct plx_image_user u = { 0 };
		struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(plx_image_user_resolve(f->rootfd, bad[i].spec, &u, &err), bad[i].code);
		if (!strstr(plx_err_msg(&err), bad[i].msg))
			fail_msg("%s: %s", bad[i].spec, plx_err_msg(&err));
		plx_err_clear(&err);
	}
}

/* etc/passwd a symlink to a file outside the rootfs: the image's own (absent) file is read, not the host's. */
static void test_users_confined(void **state)
{
	struct fx *f = *state;
	struct plx_err err = PLX_ERR_INIT;
	struct plx_image_user u = { 0 };
	char host[128], link[128];
	static const char evil[] = "evil:x:4242:4242::/:/bin/sh\n";

	snprintf(host, sizeof(host), "%s/hostpasswd", f->dir);
	assert_int_equal(plx_write_file_at(AT_FDCWD, host, evil, strlen(evil), 0644, &err), 0);
	snprintf(link, sizeof(link), "%s/etc/passwd", f->root);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(host, link), 0);
	assert_int_equal(plx_image_user_resolve(f->rootfd, "evil", &u, &err), -ENOENT);
	assert_non_null(strstr(plx_err_msg(&err), "has none"));

	/* a fifo must not hang the lookup */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(mkfifo(link, 0644), 0);
	assert_int_equal(plx_image_user_resolve(f->rootfd, "app", &u, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "not a regular file"));
	plx_err_clear(&err);
}

static void test_volumes(void **state)
{
	__do_exec_config_free struct plx_exec_config *ic = parse_ok(full_config);
	__do_exec_config_free struct plx_exec_config *evil =
		parse_ok("{\"config\": {\"Volumes\": {\"/data/../../etc\": {}}}}");
	json_auto_t *spec = oci_spec_template(false, 0, 0);
	struct plx_err err = PLX_ERR_INIT;
	json_t *mounts = json_object_get(spec, "mounts"), *m;
	size_t before = json_array_size(mounts);
	char *src = NULL;

	assert_int_equal(plx_exec_config_volumes(spec, ic, "/b/volumes", &err), 0);
	assert_int_equal(json_array_size(mounts), before + 2);
	m = json_array_get(mounts, before + 1);
	assert_string_equal(json_string_value(json_object_get(m, "destination")), "/var/lib/db");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/b/volumes/var/lib/db");
	assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
	/* again: destinations already mounted are left alone */
	assert_int_equal(plx_exec_config_volumes(spec, ic, "/b/volumes", &err), 0);
	assert_int_equal(json_array_size(mounts), before + 2);

	assert_int_equal(plx_exec_config_volumes(spec, evil, "/b/volumes", &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "/data/../../etc"));
	assert_int_equal(plx_image_volume_source("/v", "relative", &src, &err), -EINVAL);
	assert_int_equal(plx_image_volume_source("/v", "/", &src, &err), -EINVAL);
	assert_int_equal(plx_image_volume_source("/v", "//a//b/", &src, &err), 0);
	assert_string_equal(src, "/v/a/b");
	free(src);
	plx_err_clear(&err);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		T(test_apply),
		T(test_apply_overrides),
		T(test_apply_errors),
		T(test_users),
		T(test_users_confined),
		cmocka_unit_test(test_volumes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
