/* SPDX-License-Identifier: Apache-2.0 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", as systemd lays slices out. */
static char *expand_slice(const char *slice)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	if (strcmp(slice, "-.slice") != 0) {
		const char *end = strstr(slice, ".slice");
		size_t base = end ? (size_t)(end - slice) : strlen(slice);
		for (size_t i = 0; i <= base; i++) {
			if (i == base || slice[i] == '-')
				fprintf(f, "/%.*s.slice", (int)i, slice);
		}
	}
	fclose(f);
	return out;
}

static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2) {
		bool start = s == p || s[-1] == '/';
		bool end = s[2] == '\0' || s[2] == '/';
		if (start && end)
			return true;
	}
	return false;
}

int plx_cgroup_resolve_path(const char *cgroups_path, const char *id, bool systemd, char **out,
			    struct plx_err *err)
{
	__do_free char *raw = NULL;

	if (!cgroups_path || !*cgroups_path) {
		if (asprintf(&raw, "/proxmox-lxcri/%s", id) < 0)
			return plx_err_set(err, ENOMEM, "cgroup path");
	} else if (systemd && strchr(cgroups_path, ':') && cgroups_path[0] != '/') {
		/* slice:prefix:name */
		__do_free char *copy = strdup(cgroups_path);
		if (!copy)
			return plx_err_set(err, ENOMEM, "cgroup path");
		char *slice = copy, *prefix = strchr(copy, ':');
		*prefix++ = '\0';
		char *name = strchr(prefix, ':');
		if (!name)
			return plx_err_set(err, EINVAL,
					   "linux.cgroupsPath: \"%s\": expected slice:prefix:name",
					   cgroups_path);
		*name++ = '\0';
		__do_free char *sl = expand_slice(*slice ? slice : "system.slice");
		if (!sl)
			return plx_err_set(err, ENOMEM, "cgroup path");
		int r = *prefix ? asprintf(&raw, "%s/%s-%s.scope", sl, prefix, name)
				: asprintf(&raw, "%s/%s", sl, name);
		if (r < 0)
			return plx_err_set(err, ENOMEM, "cgroup path");
	} else if (cgroups_path[0] != '/') {
		if (asprintf(&raw, "/%s", cgroups_path) < 0)
			return plx_err_set(err, ENOMEM, "cgroup path");
	} else {
		raw = strdup(cgroups_path);
		if (!raw)
			return plx_err_set(err, ENOMEM, "cgroup path");
	}

	if (has_dotdot(raw))
		return plx_err_set(err, EINVAL, "linux.cgroupsPath: \"%s\": \"..\" is not allowed",
				   cgroups_path);
	char *norm = plx_path_abs(raw);
	if (!norm)
		return plx_err_set(err, ENOMEM, "cgroup path");
	if (strcmp(norm, "/") == 0) {
		free(norm);
		return plx_err_set(err, EINVAL, "linux.cgroupsPath: the root cgroup cannot hold a container");
	}
	*out = norm;
	return 0;
}

static bool is_v1_hierarchy(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (strcmp(name, "unified") == 0)
		return false;
	snprintf(path, sizeof(path), PLX_CGROUP_ROOT "/%s", name);
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return false; /* cpu,cpuacct style symlinks are visited through their target */
	snprintf(path, sizeof(path), PLX_CGROUP_ROOT "/%s/cgroup.procs", name);
	return access(path, F_OK) == 0;
}

/* "/sys/fs/cgroup/<hierarchy>" of the v1 hierarchy carrying controller, or NULL. */
static char *v1_hierarchy_of(const char *controller)
{
	enum plx_cgroup_layout layout = plx_cgroup_layout();
	__do_closedir DIR *d = NULL;
	struct dirent *de;

	if (layout != PLX_CGROUP_LEGACY && layout != PLX_CGROUP_HYBRID)
		return NULL;
	d = opendir(PLX_CGROUP_ROOT);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !is_v1_hierarchy(de->d_name))
			continue;
		/* a hierarchy may carry several controllers: "cpu,cpuacct" */
		__do_free char *names = strdup(de->d_name);
		char *save = NULL;
		for (char *t = names ? strtok_r(names, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
			if (strcmp(t, controller) == 0)
				return plx_path_join(PLX_CGROUP_ROOT, de->d_name);
	}
	return NULL;
}

/* Whether the blank-separated list in file dir/name holds word. */
static bool file_lists(const char *dir, const char *name, const char *word)
{
	__do_free char *path = plx_path_join(dir, name), *buf = NULL;
	char *save = NULL;

	if (!path || plx_read_file_at(AT_FDCWD, path, &buf, NULL, NULL) < 0)
		return false;
	for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, word) == 0)
			return true;
	return false;
}

int plx_cgroup_controller_version(const char *controller)
{
	__do_free char *v1 = v1_hierarchy_of(controller);
	const char *v2;

	if (v1)
		return 1;
	v2 = plx_cgroup_v2_mount();
	if (v2 && file_lists(v2, "cgroup.controllers", controller))
		return 2;
	return 0;
}

static bool has_file(const char *dir, const char *file)
{
	__do_free char *path = plx_path_join(dir, file);

	return path && access(path, F_OK) == 0;
}

int plx_cgroup_probe_file(const char *controller, const char *file)
{
	__do_free char *v1 = v1_hierarchy_of(controller);
	const char *root = v1;
	__do_closedir DIR *d = NULL;
	struct dirent *de;

	if (!root) {
		root = plx_cgroup_v2_mount();
		if (!root || (strcmp(controller, "cgroup") != 0 &&
			      !file_lists(root, "cgroup.controllers", controller)))
			return 0;
	}
	if (has_file(root, file))
		return 1;
	d = opendir(root);
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		__do_free char *child = plx_path_join(root, de->d_name);
		if (!child)
			return -ENOMEM;
		/* v1: every child has the controller's files; v2: only where the parent enabled it */
		if (!v1 && strcmp(controller, "cgroup") != 0 &&
		    !file_lists(child, "cgroup.controllers", controller))
			continue;
		return has_file(child, file) ? 1 : 0;
	}
	return -ENOENT;
}

int plx_cgroup_v1_read_int(const char *controller, const char *cgpath, const char *file, long long *out)
{
	__do_free char *hier = v1_hierarchy_of(controller), *dir = NULL, *path = NULL, *buf = NULL;
	char *end;

	if (!hier)
		return -ENOENT;
	dir = plx_path_join(hier, cgpath);
	path = dir ? plx_path_join(dir, file) : NULL;
	if (!path)
		return -ENOMEM;
	int r = plx_read_file_at(AT_FDCWD, path, &buf, NULL, NULL);
	if (r < 0)
		return r;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

/* A directory of this cgroup that lists its processes: the v2 one, else a v1 one. */
static char *procs_dir(const char *cgpath)
{
	enum plx_cgroup_layout layout = plx_cgroup_layout();
	if (layout == PLX_CGROUP_PURE_V2)
		return plx_cgroup_v2_path(cgpath);

	static const char *const prefer[] = { "freezer", "pids", "memory", "cpu", "systemd" };
	for (size_t i = 0; i < ARRAY_SIZE(prefer); i++) {
		__do_free char *p = plx_cgroup_v1_path(prefer[i], cgpath);
		if (p && access(p, F_OK) == 0)
			return steal_ptr(p);
	}
	return plx_cgroup_v2_path(cgpath);
}

int plx_cgroup_pids(const char *cgpath, pid_t **pids, size_t *n, struct plx_err *err)
{
	__do_free char *dir = procs_dir(cgpath), *buf = NULL, *file = NULL;
	__do_free pid_t *v = NULL;
	size_t cnt = 0, cap = 0;

	*pids = NULL;
	*n = 0;
	if (!dir)
		return 0;
	file = plx_path_join(dir, "cgroup.procs");
	if (!file)
		return plx_err_set(err, ENOMEM, "cgroup path");
	int r = plx_read_file_at(AT_FDCWD, file, &buf, NULL, err);
	if (r == -ENOENT) {
		plx_err_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			pid_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				return plx_err_set(err, ENOMEM, "cgroup pids");
			v = nv;
		}
		v[cnt++] = (pid_t)strtol(t, NULL, 10);
	}
	*pids = steal_ptr(v);
	*n = cnt;
	return 0;
}

static int write_str(const char *path, const char *val, struct plx_err *err)
{
	return plx_write_file_at(AT_FDCWD, path, val, strlen(val), 0644, err);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int plx_cgroup_freeze(const char *cgpath, bool freeze, struct plx_err *err)
{
	__do_free char *dir = NULL, *file = NULL, *check = NULL;
	const char *want;
	bool v1 = plx_cgroup_controller_version("freezer") == 1;

	if (v1) {
		dir = plx_cgroup_v1_path("freezer", cgpath);
		file = dir ? plx_path_join(dir, "freezer.state") : NULL;
		check = file ? strdup(file) : NULL;
		want = freeze ? "FROZEN" : "THAWED";
	} else {
		dir = plx_cgroup_v2_path(cgpath);
		file = dir ? plx_path_join(dir, "cgroup.freeze") : NULL;
		check = dir ? plx_path_join(dir, "cgroup.events") : NULL;
		want = freeze ? "frozen 1" : "frozen 0";
	}
	if (!file || !check)
		return plx_err_set(err, ENOENT,
				   "cgroup %s: no freezer (neither the v1 controller nor cgroup v2)", cgpath);
	int r = write_str(file, v1 ? want : (freeze ? "1" : "0"), err);
	if (r < 0)
		return plx_err_prefix(err, "%s cgroup %s", freeze ? "freeze" : "thaw", cgpath);

	/* v1 passes through FREEZING; v2 reports in cgroup.events */
	for (int i = 0; i < 2000; i++) {
		__do_free char *buf = NULL;
		if (plx_read_file_at(AT_FDCWD, check, &buf, NULL, NULL) == 0 && strstr(buf, want))
			return 0;
		if (v1 && freeze && i % 50 == 49)
			write_str(file, want, NULL); /* retry, as runc does, for tasks that were forking */
		sleep_ms(1);
	}
	return plx_err_set(err, ETIMEDOUT, "%s cgroup %s: state %s not reached", freeze ? "freeze" : "thaw",
			   cgpath, want);
}

bool plx_cgroup_is_frozen(const char *cgpath)
{
	__do_free char *dir = NULL, *buf = NULL, *file = NULL;

	if (plx_cgroup_controller_version("freezer") == 1) {
		dir = plx_cgroup_v1_path("freezer", cgpath);
		file = dir ? plx_path_join(dir, "freezer.state") : NULL;
		if (!file || plx_read_file_at(AT_FDCWD, file, &buf, NULL, NULL) < 0)
			return false;
		return strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "FREEZING", 8) == 0;
	}
	dir = plx_cgroup_v2_path(cgpath);
	file = dir ? plx_path_join(dir, "cgroup.events") : NULL;
	if (!file || plx_read_file_at(AT_FDCWD, file, &buf, NULL, NULL) < 0)
		return false;
	for (const char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, "frozen 1", 8) == 0 && (l[8] == '\n' || l[8] == '\0'))
			return true;
	return false;
}

int plx_cgroup_kill_all(const char *cgpath, int sig, struct plx_err *err)
{
	__do_free pid_t *pids = NULL;
	size_t n = 0;

	/* v2 offers an atomic kill, which also reaches frozen tasks */
	if (sig == SIGKILL && plx_cgroup_layout() == PLX_CGROUP_PURE_V2) {
		__do_free char *dir = plx_cgroup_v2_path(cgpath);
		__do_free char *file = dir ? plx_path_join(dir, "cgroup.kill") : NULL;
		if (file && access(file, F_OK) == 0)
			return write_str(file, "1", err);
	}

	bool was_frozen = plx_cgroup_is_frozen(cgpath);
	bool frozen = was_frozen || plx_cgroup_freeze(cgpath, true, NULL) == 0;
	int r = plx_cgroup_pids(cgpath, &pids, &n, err);
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			if (kill(pids[i], sig) < 0 && errno != ESRCH)
				log_warn("kill %d in cgroup %s: %s", pids[i], cgpath, strerror(errno));
	}
	/* a paused container stays paused: its tasks get the signal on resume */
	if (frozen && (!was_frozen || sig == SIGKILL))
		plx_cgroup_freeze(cgpath, false, NULL);
	return r;
}

/* rmdir dir and every child cgroup below it, deepest first. */
static int rmdir_tree(const char *dir)
{
	__do_closedir DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		__do_free char *sub = plx_path_join(dir, de->d_name);
		if (!sub)
			return -ENOMEM;
		int r = rmdir_tree(sub);
		if (r < 0)
			return r;
	}
	/* the last tasks may need a moment to leave after SIGKILL */
	for (int i = 0; i < 500; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		sleep_ms(2);
	}
	return -EBUSY;
}

int plx_cgroup_destroy(const char *cgpath, struct plx_err *err)
{
	__do_closedir DIR *d = opendir(PLX_CGROUP_ROOT);
	struct dirent *de;
	int ret = 0;

	if (plx_cgroup_layout() == PLX_CGROUP_PURE_V2) {
		__do_free char *p = plx_cgroup_v2_path(cgpath);
		int r = p ? rmdir_tree(p) : 0;
		return r < 0 ? plx_err_sys(err, -r, "remove cgroup %s", p) : 0;
	}
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!is_v1_hierarchy(de->d_name) && strcmp(de->d_name, "unified") != 0)
			continue;
		__do_free char *p = NULL;
		if (asprintf(&p, PLX_CGROUP_ROOT "/%s%s", de->d_name, cgpath) < 0)
			return plx_err_set(err, ENOMEM, "cgroup path");
		int r = rmdir_tree(p);
		if (r < 0 && ret == 0)
			ret = plx_err_sys(err, -r, "remove cgroup %s", p);
	}
	return ret;
}

int plx_cgroup_of_pid(pid_t pid, char **out, struct plx_err *err)
{
	char path[64];
	__do_free char *buf = NULL;
	const char *fallback = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	int r = plx_read_file_at(AT_FDCWD, path, &buf, NULL, err);
	if (r < 0)
		return r;
	bool pure_v2 = plx_cgroup_layout() == PLX_CGROUP_PURE_V2;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		if (pure_v2 ? strcmp(line, "0") == 0 : strcmp(ctrls, "freezer") == 0) {
			*out = strdup(cg);
			return *out ? 0 : plx_err_set(err, ENOMEM, "cgroup path");
		}
		if (!fallback && strcmp(line, "0") == 0)
			fallback = cg;
	}
	if (!fallback)
		return plx_err_set(err, ENOENT, "%s: no cgroup line", path);
	*out = strdup(fallback);
	return *out ? 0 : plx_err_set(err, ENOMEM, "cgroup path");
}
