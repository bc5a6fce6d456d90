/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create / start / kill / delete / state / list.
 *
 * create:  config.json -> validation -> state dir (locked) -> managed
 *          rootfs volume (when a storage driver is chosen) -> liblxc
 *          config -> monitor (liblxc start) -> our init reports ready ->
 *          monitor killed (the container is re-parented to the caller's
 *          subreaper) -> prestart/createRuntime/createContainer hooks ->
 *          pid file.  Any failure rolls everything back.
 * start:   connect to the init's socket, remove it (the container is no
 *          longer "created"), tell the init to exec, poststart hooks.
 */
#include "core/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/container_hooks.h"
#include "core/image_create.h"
#include "core/lifecycle_internal.h"
#include "core/pve_registration.h"
#include "core/rootfs.h"
#include "core/state.h"
#include "engine/lxc/cgroup.h"
#include "engine/lxc/lxc_conf.h"
#include "engine/lxc/lxc_engine.h"
#include "oci/spec.h"
#include "process/hook.h"
#include "process/seccomp_filter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/msg.h"

#define OCI_CONFIG_COPY "oci-config.json"
#define LXC_LOG "lxc.log"
#define INIT_LOG "init.log"
/* how long create waits for liblxc and the init to get the container ready */
#define CREATE_TIMEOUT_MS 120000

/* sun_path is 108 bytes; --root can be longer, so address the socket through the dir fd */
static int sock_addr(int dirfd, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/" PLX_INIT_SOCKET, dirfd);
	return n < (int)sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int plx_wait_pid_gone(pid_t pid, int timeout_ms)
{
	__do_close int pfd = pidfd_open_compat(pid);
	if (pfd < 0)
		return errno == ESRCH ? 0 : -errno;
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return r > 0 ? 0 : -ETIMEDOUT;
}

static char *state_json_str(const struct plx_state *st, enum plx_status status)
{
	json_auto_t *j = plx_state_to_json(st, status);
	return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

static int load_bundle(const struct plx_create_opts *o, char **bundle, struct oci_spec **spec,
		       struct plx_err *err)
{
	__do_free char *abs = plx_path_abs(o->bundle ? o->bundle : ".");
	__do_free char *cfg = NULL;
	struct stat st;

	if (!abs)
		return plx_err_set(err, ENOMEM, "bundle path");
	if (stat(abs, &st) < 0)
		return plx_err_sys(err, errno, "bundle %s", abs);
	if (!S_ISDIR(st.st_mode))
		return plx_err_set(err, ENOTDIR, "bundle %s: not a directory", abs);
	cfg = plx_path_join(abs, "config.json");
	if (!cfg)
		return plx_err_set(err, ENOMEM, "bundle path");
	int r = oci_spec_load(cfg, spec, err);
	if (r < 0)
		return r;
	*bundle = steal_ptr(abs);
	return 0;
}

/* The runtime's own requirements on a valid config, checked before anything is made. */
static int check_spec_for_create(const struct oci_spec *spec, const struct plx_create_opts *o, int console_fd,
				 struct plx_err *err)
{
	if (!spec->process)
		return plx_err_set(err, EINVAL, "%s: process: required to create a container", spec->source);
	if (!spec->root || !spec->root->path)
		return plx_err_set(err, EINVAL, "%s: root.path: required", spec->source);
	bool have_console = o->console_socket || console_fd >= 0;
	if (spec->process->terminal && !have_console)
		return plx_err_set(err, EINVAL,
				   "cannot allocate tty if runc will detach without setting console socket "
				   "(%s: process.terminal is true and no --console-socket was given)",
				   spec->source);
	if (!spec->process->terminal && o->console_socket)
		return plx_err_set(err, EINVAL,
				   "--console-socket given but %s: process.terminal is false (no pty to send)",
				   spec->source);
	return 0;
}

static int connect_console(const char *path, struct plx_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return plx_err_set(err, ENAMETOOLONG, "console socket %s: path too long", path);
	strcpy(sa.sun_path, path);
	__do_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return plx_err_sys(err, errno, "console socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return plx_err_sys(err, errno, "connect to console socket %s", path);
	return steal_fd(fd);
}

/* Everything create made, undone unless committed. */
struct create_ctx {
	struct plx_runtime *rt;
	const char *id;
	int rootfd;
	int dirfd;
	int lockfd;
	pid_t monitor;
	pid_t init;
	char *cgroup_path;
	char *monitor_cgroup;
	json_t *volume; /* the managed rootfs made (or taken over) */
	bool volume_given; /* taken over (restore): the caller's to keep or destroy on failure */
	json_t *pve;    /* the PVE CT registration (claim, config), released after the volume on failure */
	bool dir_made;
	bool spawned; /* liblxc was started: the cgroup is ours to empty and remove */
	bool committed;
};

static void create_rollback(struct create_ctx *c)
{
	if (!c->committed) {
		plx_lxc_monitor_kill(c->monitor);
		if (c->spawned && c->cgroup_path) {
			plx_cgroup_kill_all(c->cgroup_path, SIGKILL, NULL);
			if (c->init > 0)
				plx_wait_pid_gone(c->init, 5000);
			plx_cgroup_destroy(c->cgroup_path, NULL);
		}
		if (c->spawned && c->monitor_cgroup)
			plx_cgroup_destroy(c->monitor_cgroup, NULL);
		if (c->volume && !c->volume_given) {
			struct plx_err e = PLX_ERR_INIT;
			if (plx_rootfs_release(c->volume, &e) < 0)
				log_warn("container %s: %s", c->id, plx_err_msg(&e));
			plx_err_clear(&e);
		}
		if (c->pve) {
			struct plx_err e = PLX_ERR_INIT;
			if (pve_register_release(c->pve, c->id, c->rt->root, &e) < 0)
				log_warn("container %s: %s", c->id, plx_err_msg(&e));
			plx_err_clear(&e);
		}
		if (c->dir_made)
			plx_state_dir_remove(c->rootfd, c->id, NULL);
	}
	free(c->cgroup_path);
	free(c->monitor_cgroup);
	json_decref(c->volume);
	json_decref(c->pve);
	plx_closep(&c->lockfd);
	plx_closep(&c->dirfd);
	plx_closep(&c->rootfd);
}

static int engine_record(struct plx_state *st, pid_t monitor, const char *monitor_cgroup)
{
	json_t *e = json_pack("{s:i, s:I, s:s}", "monitor_pid", (int)monitor, "monitor_start",
			      (json_int_t)plx_proc_starttime(monitor), "monitor_cgroup", monitor_cgroup);
	if (!e)
		return -ENOMEM;
	json_decref(st->engine);
	st->engine = e;
	return 0;
}

/* Wait for the init's answer to "create", or for liblxc to give up. */
static int await_ready(int conn, pid_t *monitor, const char *lxc_log, struct plx_err *err)
{
	__do_close int pfd = pidfd_open_compat(*monitor);
	struct pollfd p[2] = { { .fd = conn, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
	json_auto_t *reply = NULL;

	for (;;) {
		int r = poll(p, pfd >= 0 ? 2 : 1, CREATE_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return plx_err_set(err, ETIMEDOUT, "container did not get ready within %d s",
					   CREATE_TIMEOUT_MS / 1000);
		if (p[0].revents)
			break;
		if (p[1].revents)
			break; /* the monitor ended: a last answer may still be queued */
	}
	if (plx_msg_recv(conn, &reply, NULL, NULL) < 0) {
		int r = plx_lxc_monitor_failure(*monitor, lxc_log, err);
		*monitor = 0;
		return r;
	}
	const char *type = json_string_value(json_object_get(reply, "type"));
	if (type && strcmp(type, "ready") == 0)
		return 0;
	const char *msg = json_string_value(json_object_get(reply, "message"));
	return plx_err_set(err, EINVAL, "%s", msg ? msg : "container init failed");
}

static int send_create(int conn, const struct oci_spec *spec, const char *id, const char *bundle,
		       const struct plx_create_opts *o, int console_fd, struct plx_err *err)
{
	json_auto_t *msg = json_pack("{s:s, s:s, s:s, s:O, s:i, s:b, s:b}", "type", "create", "id", id,
					  "bundle", bundle, "config", spec->doc, "preserve_fds",
					  (int)o->preserve_fds, "console_socket", console_fd >= 0, "no_new_keyring",
					  o->no_new_keyring);
	if (!msg)
		return plx_err_set(err, ENOMEM, "create message");
	return plx_msg_send(conn, msg, console_fd, err);
}

static bool apparmor_enabled(void)
{
	__do_free char *buf = NULL;
	return plx_read_file_at(AT_FDCWD, "/sys/module/apparmor/parameters/enabled", &buf, NULL, NULL) == 0 &&
	       buf[0] == 'Y';
}

/*
 * The managed rootfs (core/rootfs.h), once the state dir exists: the volume
 * restore --as made, or the planned one, recorded in state.json before it
 * is made so that delete --force after a killed create releases it.
 * st->rootfs becomes the volume's path.
 */
static int create_rootfs_volume(struct create_ctx *c, json_t *plan, struct plx_state *st, struct plx_err *err)
{
	int r;

	if (plan) {
		st->storage = json_incref(plan);
		r = plx_state_write(c->dirfd, st, err);
		if (r < 0)
			return r;
		r = plx_rootfs_make(plan, err);
		if (r < 0)
			return plx_err_prefix(err, "container %s", c->id);
		c->volume = json_incref(plan);
	} else if (c->volume) {
		st->storage = json_incref(c->volume);
	} else {
		return 0;
	}
	const char *path = json_string_value(json_object_get(st->storage, "path"));
	if (!path)
		return plx_err_set(err, EINVAL, "container %s: storage record without a path", c->id);
	free(st->rootfs);
	st->rootfs = strdup(path);
	return st->rootfs ? 0 : plx_err_set(err, ENOMEM, "state");
}

int plx_container_create_fd(struct plx_runtime *rt, const struct plx_create_opts *o, int console_fd,
			    struct plx_state **created, bool *used_console, struct plx_err *err)
{
	_cleanup_(create_rollback) struct create_ctx c = { .rt = rt, .id = o->id, .rootfd = -1, .dirfd = -1,
							   .lockfd = -1, .volume = json_incref(o->rootfs_volume),
							   .volume_given = o->rootfs_volume != NULL };
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_plx_state_free struct plx_state *st = NULL;
	__do_free char *bundle = NULL, *rootfs = NULL, *statedir = NULL, *lxc_log = NULL, *conf = NULL;
	__do_free char *init_path = NULL, *raw_cfg = NULL;
	__do_close int console = -1, lsock = -1, conn = -1, init_log = -1, go = -1;
	json_auto_t *plan = NULL;
	_cleanup_(plx_rootfs_overlay_clear) struct plx_rootfs_overlay ovl = { 0 }; /* overlay hook */
	_cleanup_(pve_register_plan_freep) struct pve_register_plan *reg = NULL;
	__do_free char *lxc_name = NULL;
	const char *lxcpath = rt->root;
	size_t raw_len = 0;
	int r;

	/* 1. everything that can be checked without making anything */
	r = plx_id_validate(o->id, err);
	if (r < 0)
		return r;
	r = load_bundle(o, &bundle, &spec, err);
	if (r < 0)
		return r;
	r = check_spec_for_create(spec, o, console_fd, err);
	if (r < 0)
		return r;
	rootfs = spec->root->path[0] == '/' ? plx_path_abs(spec->root->path)
					    : plx_path_join(bundle, spec->root->path);
	struct stat sb;
	if (!rootfs)
		return plx_err_set(err, ENOMEM, "rootfs path");
	if (stat(rootfs, &sb) < 0)
		return plx_err_sys(err, errno, "%s: root.path: %s", spec->source, rootfs);
	if (!S_ISDIR(sb.st_mode))
		return plx_err_set(err, ENOTDIR, "%s: root.path: %s is not a directory", spec->source, rootfs);
	/* PVE CT registration hook (core/pve_registration.h): checked here, claimed below */
	r = plx_pve_create_plan(rt->config, spec->annotations, c.volume, &reg, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", o->id);
	if (!c.volume && !reg) {
		r = plx_rootfs_plan(rt->config, o->id, spec->annotations, rootfs, &plan, err);
		if (r < 0)
			return plx_err_prefix(err, "container %s", o->id);
	}
	r = plx_cgroup_resolve_path(spec->linux ? spec->linux->cgroups_path : NULL, o->id, rt->systemd_cgroup,
				    &c.cgroup_path, err);
	if (r < 0)
		return plx_err_prefix(err, "%s", spec->source);
	c.monitor_cgroup = plx_lxc_monitor_cgroup(c.cgroup_path);
	statedir = plx_path_join(rt->root, o->id);
	lxc_log = statedir ? plx_path_join(statedir, LXC_LOG) : NULL;
	if (!c.monitor_cgroup || !lxc_log)
		return plx_err_set(err, ENOMEM, "paths");
	r = plx_lxc_find_init(rt->config ? rt->config->init_path : NULL, &init_path, err);
	if (r < 0)
		return r;
	r = plx_read_file_at(AT_FDCWD, spec->source, &raw_cfg, &raw_len, err);
	if (r < 0)
		return r;
	if (o->console_socket) {
		console = connect_console(o->console_socket, err);
		if (console < 0)
			return console;
	} else if (console_fd >= 0 && spec->process->terminal) {
		console = fcntl(console_fd, F_DUPFD_CLOEXEC, 3);
		if (console < 0)
			return plx_err_sys(err, errno, "console fd");
	}

	/* 2. the state directory: from here on, failure rolls back */
	r = plx_root_open(rt->root, &c.rootfd, err);
	if (r < 0)
		return r;
	r = plx_state_dir_create(c.rootfd, o->id, &c.dirfd, &c.lockfd, err);
	if (r < 0)
		return r;
	c.dir_made = true;

	/*
	 * liblxc checks that a user namespace's root can traverse the lxcpath
	 * (our --root): grant search, never read, to others.
	 */
	if (spec->linux && spec->linux->n_uid_mappings) {
		struct stat rs;
		if (fstat(c.rootfd, &rs) == 0 && !(rs.st_mode & S_IXOTH) && fchmod(c.rootfd, (rs.st_mode & 07777) | 0011) < 0)
			return plx_err_sys(err, errno, "grant search on %s to the container's root", rt->root);
	}

	st = calloc(1, sizeof(*st));
	if (!st)
		return plx_err_set(err, ENOMEM, "state");
	st->id = strdup(o->id);
	st->bundle = strdup(bundle);
	st->rootfs = strdup(rootfs);
	st->config_path = strdup(spec->source);
	st->created = plx_now_rfc3339();
	st->owner = strdup("");
	st->cgroup_path = strdup(c.cgroup_path);
	st->use_systemd_cgroup = rt->systemd_cgroup;
	st->annotations = spec->annotations ? json_incref(spec->annotations) : NULL;
	if (engine_record(st, 0, c.monitor_cgroup) < 0)
		return plx_err_set(err, ENOMEM, "state");
	if (!st->id || !st->bundle || !st->rootfs || !st->config_path || !st->created || !st->owner ||
	    !st->cgroup_path)
		return plx_err_set(err, ENOMEM, "state");
	/* PVE CT registration hook: vmid claimed and its volume planned; the CT config once it exists */
	if (reg || c.volume) {
		r = plx_pve_create_claim(reg, rt->config, rt->root, spec, rootfs, c.volume, c.dirfd, st, &plan, err);
		c.pve = json_incref(st->pve);
		if (r < 0)
			return r;
	}
	r = create_rootfs_volume(&c, plan, st, err);
	/* overlay hook (core/rootfs.h): dir layers + upper, mounted by the monitor at <statedir>/rootfs */
	if (r == 0)
		r = plx_rootfs_overlay_get(st->storage, statedir, &ovl, &st->rootfs, err);
	if (r == 0)
		r = plx_pve_create_conf(reg, rt->root, spec, st, err);
	if (r < 0)
		return r;
	if (st->pve) {
		/* liblxc runs it as PVE would: name <vmid> under paths.lxc, where pct and lxc-* look */
		r = plx_pve_lxc_name(st, &lxc_name, &lxcpath, err);
		if (r < 0)
			return r;
	}

	/* the liblxc config, on the rootfs the container really gets */
	struct plx_lxc_conf_in cin = {
		.spec = spec, .id = o->id, .bundle = bundle, .rootfs = st->rootfs, .cgroup_path = c.cgroup_path,
		.monitor_cgroup = c.monitor_cgroup, .log_file = lxc_log, .debug = rt->debug,
		.apparmor_enabled = apparmor_enabled(),
	};
	r = plx_lxc_conf_build(&cin, &conf, err);
	if (r < 0)
		return plx_err_prefix(err, "%s", spec->source);
	log_debug("container %s: liblxc config:\n%s", o->id, conf);
	r = plx_write_file_at(c.dirfd, "config", conf, strlen(conf), 0600, err);
	if (r < 0)
		return r;
	if (lxc_name) {
		__do_free char *lxcdir = plx_path_join(lxcpath, lxc_name);
		__do_close int lxcfd = -1;

		if (!lxcdir)
			return plx_err_set(err, ENOMEM, "paths");
		r = plx_mkdir_p(lxcdir, 0755, err);
		if (r < 0)
			return r;
		lxcfd = open(lxcdir, O_DIRECTORY | O_CLOEXEC);
		if (lxcfd < 0)
			return plx_err_sys(err, errno, "open %s", lxcdir);
		r = plx_write_file_atomic_at(lxcfd, "config", conf, strlen(conf), 0600, err);
		if (r < 0)
			return r;
	}
	r = plx_write_file_at(c.dirfd, OCI_CONFIG_COPY, raw_cfg, raw_len, 0600, err);
	if (r < 0)
		return r;
	r = plx_state_write(c.dirfd, st, err);
	if (r < 0)
		return r;

	/* 3. the socket the init listens on; start removes it */
	struct sockaddr_un sa;
	if (sock_addr(c.dirfd, &sa) < 0)
		return plx_err_set(err, ENAMETOOLONG, "init socket path");
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lsock, 4) < 0)
		return plx_err_sys(err, errno, "init socket in %s", statedir);
	fchmodat(c.dirfd, PLX_INIT_SOCKET, 0600, 0);
	init_log = openat(c.dirfd, INIT_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	/* 4. liblxc */
	struct plx_lxc_spawn sp = { .lxc_log = lxc_log, .id = lxc_name ? lxc_name : o->id, .lxcpath = lxcpath,
				    .init_path = init_path, .listen_fd = lsock, .init_log_fd = init_log,
				    .preserve_fds = o->preserve_fds, .debug = rt->debug,
				    .keep_monitor = st->pve != NULL,
				    .overlay = ovl.lowers ? &ovl.mount : NULL /* overlay hook */ };
	c.spawned = true; /* even a failed fork may leave nothing, and removing nothing is fine */
	r = plx_lxc_spawn(&sp, &c.monitor, &go, err);
	if (r < 0)
		return r;
	plx_closep(&lsock); /* only the init holds it now: its death fails our connect/read */
	if (engine_record(st, c.monitor, c.monitor_cgroup) < 0)
		return plx_err_set(err, ENOMEM, "state");
	r = plx_state_write(c.dirfd, st, err);
	if (r < 0)
		return r;
	r = plx_lxc_monitor_release(go, err);
	if (r < 0)
		return r;

	conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn < 0)
		return plx_err_sys(err, errno, "socket");
	/* a refused connection or a lost one means the init is gone: liblxc knows why */
	if (connect(conn, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send_create(conn, spec, o->id, bundle, o, console, NULL) < 0) {
		r = plx_lxc_monitor_failure(c.monitor, lxc_log, err);
		c.monitor = 0;
		return r;
	}
	r = await_ready(conn, &c.monitor, lxc_log, err);
	if (r < 0)
		return r;

	/* 5. hand the container over: the init becomes the caller's (subreaper's) child */
	r = plx_lxc_init_pid(c.monitor, &c.init, err);
	if (r < 0)
		return r;
	st->pid = c.init;
	st->pid_start = plx_proc_starttime(c.init);
	/* a registered PVE CT keeps its monitor: it owns the command socket pct/lxc-* use */
	if (!st->pve) {
		plx_lxc_monitor_kill(c.monitor);
		c.monitor = 0;
		plx_cgroup_destroy(c.monitor_cgroup, NULL);
	}
	r = plx_state_write(c.dirfd, st, err);
	if (r < 0)
		return r;

	/* 6. hooks, with the state as it is now */
	__do_free char *sj = state_json_str(st, PLX_STATUS_CREATING);
	if (!sj)
		return plx_err_set(err, ENOMEM, "state json");
	r = plx_hooks_run(&spec->hooks.prestart, "prestart", sj, err);
	if (r == 0)
		r = plx_hooks_run(&spec->hooks.create_runtime, "createRuntime", sj, err);
	if (r == 0)
		r = plx_hooks_run_in_container(c.init, &spec->hooks.create_container, "createContainer", sj, err);
	if (r < 0)
		return r;

	if (o->pid_file) {
		/* registered: the monitor, whose exit the caller's subreaper sees (docs/proxmox.md) */
		r = plx_write_pid_file(o->pid_file, plx_pve_reaped_pid(st), err);
		if (r < 0)
			return r;
	}
	log_debug("container %s created: pid %d, cgroup %s", o->id, c.init, c.cgroup_path);
	c.committed = true;
	if (used_console)
		*used_console = console >= 0 && !o->console_socket;
	if (created)
		*created = steal_ptr(st);
	return 0;
}

int plx_container_create(struct plx_runtime *rt, const struct plx_create_opts *o, struct plx_err *err)
{
	return plx_container_create_fd(rt, o, -1, NULL, NULL, err);
}

int plx_container_open(struct plx_runtime *rt, const char *id, int *rootfd, int *dirfd, int *lockfd,
		       struct plx_state **st, struct plx_err *err)
{
	int r = plx_id_validate(id, err);
	if (r < 0)
		return r;
	r = plx_root_open(rt->root, rootfd, err);
	if (r < 0)
		return r;
	r = plx_state_dir_open(*rootfd, id, dirfd, lockfd, err);
	if (r < 0)
		return r;
	r = plx_state_read(*dirfd, id, st, err);
	if (r < 0)
		return r;
	/* a checkpoint killed while the container was frozen: thaw it first */
	plx_checkpoint_recover(*dirfd, *st);
	return 0;
}

/*
 * With SCMP_ACT_NOTIFY rules, the seccomp agent at listenerPath gets the
 * notify fd.  The init cannot reach a host path, so we connect for it.
 */
static int connect_seccomp_agent(const struct oci_spec *spec, struct plx_err *err)
{
	const struct oci_seccomp *sc = spec->linux ? spec->linux->seccomp : NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!sc || !plx_seccomp_uses_notify(sc))
		return -1;
	if (!sc->listener_path)
		return plx_err_set(err, EINVAL, "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY rules");
	if (strlen(sc->listener_path) >= sizeof(sa.sun_path))
		return plx_err_set(err, ENAMETOOLONG, "linux.seccomp.listenerPath: %s: too long", sc->listener_path);
	strcpy(sa.sun_path, sc->listener_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return plx_err_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return plx_err_sys(err, e, "linux.seccomp.listenerPath: connect to %s", sc->listener_path);
	}
	return fd;
}

static int load_config_copy(int dirfd, struct oci_spec **spec, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t len = 0;
	int r = plx_read_file_at(dirfd, OCI_CONFIG_COPY, &buf, &len, err);
	if (r < 0)
		return r;
	return oci_spec_parse(buf, len, OCI_CONFIG_COPY, spec, err);
}

int plx_container_start(struct plx_runtime *rt, const char *id, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1, conn = -1, agent = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	__do_oci_spec_free struct oci_spec *spec = NULL;
	json_auto_t *msg = NULL, *reply = NULL;

	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	enum plx_status s = plx_state_status(dirfd, st);
	if (s == PLX_STATUS_STOPPED)
		return plx_err_set(err, EINVAL, "cannot start a container that has stopped");
	if (s != PLX_STATUS_CREATED)
		return plx_err_set(err, EINVAL, "cannot start an already %s container", plx_status_name(s));
	r = load_config_copy(dirfd, &spec, err);
	if (r < 0)
		return r;
	agent = connect_seccomp_agent(spec, err);
	if (agent < -1)
		return plx_err_prefix(err, "container %s", id);

	struct sockaddr_un sa;
	if (sock_addr(dirfd, &sa) < 0)
		return plx_err_set(err, ENAMETOOLONG, "init socket path");
	conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn < 0 || connect(conn, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return plx_err_sys(err, errno, "container %s: connect to its init", id);
	/* from here the container is no longer "created", whatever happens */
	unlinkat(dirfd, PLX_INIT_SOCKET, 0);

	msg = json_pack("{s:s, s:o}", "type", "start", "state", plx_state_to_json(st, PLX_STATUS_CREATED));
	if (!msg)
		return plx_err_set(err, ENOMEM, "start message");
	r = plx_msg_send(conn, msg, agent, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", id);
	r = plx_msg_recv(conn, &reply, NULL, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s: init", id);
	const char *type = json_string_value(json_object_get(reply, "type"));
	if (!type || strcmp(type, "exec") != 0) {
		const char *m = json_string_value(json_object_get(reply, "message"));
		return plx_err_set(err, EINVAL, "%s", m ? m : "container init failed to start the process");
	}
	json_decref(reply);
	reply = NULL;
	/* EOF: the connection was close-on-exec, so execve succeeded */
	r = plx_msg_recv(conn, &reply, NULL, err);
	if (r == 0) {
		const char *m = json_string_value(json_object_get(reply, "message"));
		return plx_err_set(err, EINVAL, "%s", m ? m : "container init failed to start the process");
	}
	plx_err_clear(err);

	__do_free char *sj = state_json_str(st, PLX_STATUS_RUNNING);
	struct plx_err herr = PLX_ERR_INIT;
	if (sj && plx_hooks_run(&spec->hooks.poststart, "poststart", sj, &herr) < 0)
		log_warn("container %s: %s", id, plx_err_msg(&herr));
	plx_err_clear(&herr);
	return 0;
}

int plx_container_kill(struct plx_runtime *rt, const char *id, int sig, bool all, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;

	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	enum plx_status s = plx_state_status(dirfd, st);
	if (all) {
		if (s == PLX_STATUS_STOPPED && !st->cgroup_path)
			return plx_err_set(err, ESRCH, "container not running");
		return plx_cgroup_kill_all(st->cgroup_path, sig, err);
	}
	if (s == PLX_STATUS_STOPPED || s == PLX_STATUS_CREATING)
		return plx_err_set(err, ESRCH, "container not running");
	if (kill(st->pid, sig) < 0)
		return plx_err_sys(err, errno, "container %s: kill %d", id, st->pid);
	/* a frozen task cannot die: SIGKILL thaws a paused container, as runc does */
	if (sig == SIGKILL && s == PLX_STATUS_PAUSED)
		return plx_cgroup_freeze(st->cgroup_path, false, err);
	return 0;
}

/* Stop every process of the container, including a monitor left by a killed create. */
static void stop_everything(const struct plx_state *st)
{
	json_t *mp = st->engine ? json_object_get(st->engine, "monitor_pid") : NULL;
	json_t *ms = st->engine ? json_object_get(st->engine, "monitor_start") : NULL;
	pid_t mon = mp ? (pid_t)json_integer_value(mp) : 0;

	if (mon > 0 && plx_proc_starttime(mon) == (uint64_t)json_integer_value(ms))
		kill(mon, SIGKILL);
	if (plx_state_pid_alive(st))
		kill(st->pid, SIGKILL);
	if (st->cgroup_path) {
		plx_cgroup_freeze(st->cgroup_path, false, NULL); /* a frozen task cannot die */
		plx_cgroup_kill_all(st->cgroup_path, SIGKILL, NULL);
	}
	if (st->pid > 0)
		plx_wait_pid_gone(st->pid, 10000);
}

int plx_container_delete(struct plx_runtime *rt, const char *id, bool force, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	__do_oci_spec_free struct oci_spec *spec = NULL;

	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r == -ENOENT && force && !st) {
		/* idempotent: nothing to delete; a half-made directory without state goes too */
		plx_err_clear(err);
		/* image hook: a create --image killed before its state existed left only its bundle */
		__do_free char *bundle = NULL;
		if (plx_image_bundle_path(rt, id, &bundle, NULL) == 0)
			plx_image_abandon_bundle(rt, id, bundle);
		if (dirfd >= 0)
			return plx_state_dir_remove(rootfd, id, err);
		return 0;
	}
	if (r < 0)
		return r;
	enum plx_status s = plx_state_status(dirfd, st);
	if ((s == PLX_STATUS_RUNNING || s == PLX_STATUS_PAUSED) && !force)
		return plx_err_set(err, EBUSY, "cannot delete container %s that is not stopped: %s", id,
				   plx_status_name(s));
	stop_everything(st);

	if (st->cgroup_path) {
		r = plx_cgroup_destroy(st->cgroup_path, err);
		if (r < 0)
			return r;
	}
	const char *mcg = st->engine ? json_string_value(json_object_get(st->engine, "monitor_cgroup")) : NULL;
	if (mcg)
		plx_cgroup_destroy(mcg, NULL);

	/* poststop: after the container is gone, before delete returns; failures are only logged */
	if (load_config_copy(dirfd, &spec, NULL) == 0) {
		__do_free char *sj = state_json_str(st, PLX_STATUS_STOPPED);
		struct plx_err herr = PLX_ERR_INIT;
		if (sj && plx_hooks_run(&spec->hooks.poststop, "poststop", sj, &herr) < 0)
			log_warn("container %s: %s", id, plx_err_msg(&herr));
		plx_err_clear(&herr);
	}
	/* the managed rootfs; on failure the state stays, so a later delete can retry */
	if (st->storage) {
		r = plx_rootfs_release(st->storage, err);
		if (r < 0)
			return plx_err_prefix(err, "container %s", id);
	}
	/* PVE CT registration hook: after its volume, the CT config and vmid go */
	r = plx_pve_release(st, rt->root, err);
	if (r < 0)
		return r;
	/* image hook: the bundle create --image made (core/image_create.h) */
	r = plx_image_release_bundle(rt, id, st->bundle, st->annotations, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", id);
	return plx_state_dir_remove(rootfd, id, err);
}

/* state.json is replaced atomically: readers need no lock (and never wait on a slow create) */
static int read_unlocked(int rootfd, const char *id, int *dirfd, struct plx_state **st, struct plx_err *err)
{
	*dirfd = openat(rootfd, id, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*dirfd < 0) {
		if (errno == ENOENT)
			return plx_err_set(err, ENOENT, "container does not exist: %s", id);
		return plx_err_sys(err, errno, "container %s", id);
	}
	return plx_state_read(*dirfd, id, st, err);
}

int plx_container_state(struct plx_runtime *rt, const char *id, json_t **out, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;

	int r = plx_id_validate(id, err);
	if (r < 0)
		return r;
	r = plx_root_open(rt->root, &rootfd, err);
	if (r < 0)
		return r;
	r = read_unlocked(rootfd, id, &dirfd, &st, err);
	if (r < 0)
		return r;
	plx_checkpoint_recover_unlocked(dirfd, st);
	*out = plx_state_to_json(st, plx_state_status(dirfd, st));
	return *out ? 0 : plx_err_set(err, ENOMEM, "state json");
}

int plx_container_list(struct plx_runtime *rt, json_t **out, struct plx_err *err)
{
	__do_close int rootfd = -1;
	__do_strv_free char **ids = NULL;
	json_auto_t *arr = json_array();

	if (!arr)
		return plx_err_set(err, ENOMEM, "list");
	int r = plx_root_open(rt->root, &rootfd, err);
	if (r < 0)
		return r;
	r = plx_state_list_ids(rootfd, &ids, err);
	if (r < 0)
		return r;
	for (char **id = ids; id && *id; id++) {
		__do_close int dirfd = -1;
		__do_plx_state_free struct plx_state *st = NULL;
		struct plx_err e = PLX_ERR_INIT;
		/* a container deleted meanwhile, or one without state yet, is skipped */
		if (read_unlocked(rootfd, *id, &dirfd, &st, &e) < 0) {
			plx_err_clear(&e);
			continue;
		}
		json_array_append_new(arr, plx_state_to_json(st, plx_state_status(dirfd, st)));
	}
	*out = steal_ptr(arr);
	return 0;
}
