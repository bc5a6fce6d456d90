/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec: a new process in a running container, as runc's.
 *
 * We fork a helper that joins the container's cgroups and namespaces (the
 * user namespace first: the others belong to it), then forks once more so
 * the new process is inside the pid namespace, and executes the init from
 * a sealed memfd in its "exec" mode.  Until it execs the program, the
 * joining process is that sealed copy, never a host binary the container
 * could open through /proc/<pid>/exe (the CVE-2019-5736 class).  The init
 * receives the process over a socketpair and applies the same settings as
 * the container's own process (src/process/finalize.c).
 */
#include "core/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/lifecycle_internal.h"
#include "core/nsjoin.h"
#include "core/state.h"
#include "engine/lxc/cgroup_join.h"
#include "engine/lxc/lxc_engine.h"
#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/msg.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int strv_to_json(json_t *arr, char *const *v)
{
	for (; v && *v; v++)
		if (json_array_append_new(arr, json_string(*v)) < 0)
			return -ENOMEM;
	return 0;
}

/* runc exec's flags applied to a copy of the container's process. */
static int process_from_flags(const struct oci_spec *spec, const struct plx_exec_opts *o, json_t **out,
			      struct plx_err *err)
{
	json_t *base = json_object_get(spec->doc, "process");
	json_auto_t *p = base ? json_deep_copy(base) : json_object();
	if (!p)
		return plx_err_set(err, ENOMEM, "exec process");

	json_auto_t *args = json_array();
	if (!args || strv_to_json(args, o->args) < 0)
		return plx_err_set(err, ENOMEM, "exec process");
	json_object_set(p, "args", args);
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	json_object_del(p, "consoleSize");
	if (o->cwd)
		json_object_set_new(p, "cwd", json_string(o->cwd));
	if (o->env) {
		json_t *env = json_object_get(p, "env");
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(p, "env", env);
		}
		if (strv_to_json(env, o->env) < 0)
			return plx_err_set(err, ENOMEM, "exec process");
	}
	json_t *user = json_object_get(p, "user");
	if (!json_is_object(user)) {
		user = json_pack("{s:i, s:i}", "uid", 0, "gid", 0);
		json_object_set_new(p, "user", user);
	}
	if (o->user) {
		__do_free char *u = strdup(o->user);
		if (!u)
			return plx_err_set(err, ENOMEM, "exec process");
		char *colon = strchr(u, ':');
		uint32_t uid, gid;
		if (colon)
			*colon = '\0';
		if (parse_u32(u, &uid) < 0 || (colon && parse_u32(colon + 1, &gid) < 0))
			return plx_err_set(err, EINVAL, "--user: \"%s\": expected <uid>[:<gid>]", o->user);
		json_object_set_new(user, "uid", json_integer(uid));
		if (colon)
			json_object_set_new(user, "gid", json_integer(gid));
	}
	if (o->additional_gids) {
		json_t *gids = json_object_get(user, "additionalGids");
		if (!json_is_array(gids)) {
			gids = json_array();
			json_object_set_new(user, "additionalGids", gids);
		}
		for (char *const *g = o->additional_gids; *g; g++) {
			uint32_t gid;
			if (parse_u32(*g, &gid) < 0)
				return plx_err_set(err, EINVAL, "--additional-gids: \"%s\": not a gid", *g);
			json_array_append_new(gids, json_integer(gid));
		}
	}
	if (o->caps) {
		json_t *caps = json_object_get(p, "capabilities");
		if (!json_is_object(caps)) {
			caps = json_object();
			json_object_set_new(p, "capabilities", caps);
		}
		/* as runc: added to bounding, effective, permitted; ambient only with inheritable bits */
		const char *sets[] = { "bounding", "effective", "permitted", "ambient" };
		bool inheritable = json_is_array(json_object_get(caps, "inheritable"));
		for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
			if (strcmp(sets[i], "ambient") == 0 && !inheritable)
				continue;
			json_t *set = json_object_get(caps, sets[i]);
			if (!json_is_array(set)) {
				set = json_array();
				json_object_set_new(caps, sets[i], set);
			}
			if (strv_to_json(set, o->caps) < 0)
				return plx_err_set(err, ENOMEM, "exec process");
		}
	}
	if (o->no_new_privs)
		json_object_set_new(p, "noNewPrivileges", json_true());
	if (o->apparmor)
		json_object_set_new(p, "apparmorProfile", json_string(o->apparmor));
	if (o->process_label)
		json_object_set_new(p, "selinuxLabel", json_string(o->process_label));
	*out = steal_ptr(p);
	return 0;
}

static int build_process(const struct oci_spec *spec, const struct plx_exec_opts *o, json_t **out,
			 struct oci_process **parsed, struct plx_err *err)
{
	json_auto_t *p = NULL;
	const char *name = "exec";
	int r;

	if (o->process_path) {
		__do_free char *buf = NULL;
		json_error_t jerr;
		size_t len = 0;
		r = plx_read_file_at(AT_FDCWD, o->process_path, &buf, &len, err);
		if (r < 0)
			return r;
		p = json_loadb(buf, len, 0, &jerr);
		if (!p)
			return plx_err_set(err, EINVAL, "%s:%d:%d: %s", o->process_path, jerr.line, jerr.column,
					   jerr.text);
		name = o->process_path;
	} else {
		if (!o->args || !o->args[0])
			return plx_err_set(err, EINVAL, "exec: a command to run is required (or --process)");
		r = process_from_flags(spec, o, &p, err);
		if (r < 0)
			return r;
	}
	r = oci_process_from_json(p, name, "", parsed, err);
	if (r < 0)
		return r;
	r = oci_process_validate(*parsed, name, "", err);
	if (r < 0)
		return r;
	*out = steal_ptr(p);
	return 0;
}

/* The joining helper: never returns.  Reports "P<pid>" or "E<message>" on report_fd. */
static __attribute__((noreturn)) void join_and_spawn(pid_t target, int init_fd, int sock, int report_fd,
							unsigned int preserve_fds)
{
	struct plx_err err = PLX_ERR_INIT;

	if (plx_cgroup_join_like(target, &err) < 0 || plx_join_namespaces(target, &err) < 0) {
		dprintf(report_fd, "E%s", plx_err_msg(&err));
		_exit(1);
	}

	pid_t child = fork();
	if (child < 0) {
		dprintf(report_fd, "Efork: %s", strerror(errno));
		_exit(1);
	}
	if (child > 0) {
		dprintf(report_fd, "P%d", (int)child);
		_exit(0);
	}

	/* the new process: our socket right above the preserved fds, nothing else open on exec */
	int base = 3 + (int)preserve_fds;
	int hi_init = fcntl(init_fd, F_DUPFD_CLOEXEC, base + 1);
	if (hi_init < 0 || dup2(sock, base) < 0)
		_exit(126);
	for (int fd = 3; fd < base; fd++)
		fcntl(fd, F_SETFD, 0);
	if (syscall(SYS_close_range, (unsigned)base + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = base + 1; fd < 65536; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	char fdarg[16];
	snprintf(fdarg, sizeof(fdarg), "%d", base);
	char *argv[] = { "proxmox-lxcri-init", "--exec-fd", fdarg, NULL };
	char *envp[] = { NULL };
	syscall(SYS_execveat, hi_init, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/* What the helper reported: the new process's pid, or its error. */
static int read_report(int fd, pid_t *pid, struct plx_err *err)
{
	char buf[1024];
	ssize_t n, got = 0;

	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0 || (n < 0 && errno == EINTR))
		got += n > 0 ? n : 0;
	buf[got] = '\0';
	if (got > 1 && buf[0] == 'P') {
		*pid = (pid_t)strtol(buf + 1, NULL, 10);
		return 0;
	}
	if (got > 1 && buf[0] == 'E')
		return plx_err_set(err, EIO, "exec: %s", buf + 1);
	return plx_err_set(err, EIO, "exec: the joining helper died");
}

static int connect_path(const char *path, struct plx_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return plx_err_set(err, ENAMETOOLONG, "console socket %s: path too long", path);
	strcpy(sa.sun_path, path);
	__do_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return plx_err_sys(err, errno, "connect to console socket %s", path);
	return steal_fd(fd);
}

static void reap(pid_t pid)
{
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

int plx_container_exec(struct plx_runtime *rt, const struct plx_exec_opts *o, int *exit_status,
		       struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1, init_fd = -1, console = -1, ours = -1,
		       theirs = -1, tty_ours = -1, master = -1, rep_rd = -1, rep_wr = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_free char *init_path = NULL, *cfg = NULL, *sj = NULL;
	json_auto_t *proc = NULL, *msg = NULL, *reply = NULL;
	struct oci_process *parsed = NULL;
	_cleanup_(plx_tty_restore) struct plx_tty_saved tty = { 0 };
	size_t cfg_len = 0;
	int r;

	*exit_status = 0;
	r = plx_container_open(rt, o->id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	enum plx_status s = plx_state_status(dirfd, st);
	if (s == PLX_STATUS_STOPPED || s == PLX_STATUS_CREATING)
		return plx_err_set(err, EINVAL, "cannot exec in a stopped container");
	if (s == PLX_STATUS_PAUSED && !o->ignore_paused)
		return plx_err_set(err, EINVAL, "cannot exec in a paused container (use --ignore-paused to override)");
	r = plx_read_file_at(dirfd, "oci-config.json", &cfg, &cfg_len, err);
	if (r == 0)
		r = oci_spec_parse(cfg, cfg_len, "oci-config.json", &spec, err);
	if (r < 0)
		return plx_err_prefix(err, "container %s", o->id);
	/*
	 * Done with the state: the joining process may stay frozen (paused
	 * container, --ignore-paused) until resume, which needs the lock.
	 */
	plx_closep(&lockfd);
	r = build_process(spec, o, &proc, &parsed, err);
	bool terminal = r == 0 && parsed->terminal;
	if (parsed)
		oci_process_free(parsed);
	if (r < 0)
		return r;

	if (terminal && o->console_socket) {
		console = connect_path(o->console_socket, err);
		if (console < 0)
			return console;
	} else if (terminal && !o->detach) {
		int tp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tp) < 0)
			return plx_err_sys(err, errno, "socketpair");
		tty_ours = tp[0];
		console = tp[1];
	} else if (terminal) {
		return plx_err_set(err, EINVAL, "cannot allocate tty if runc will detach without setting console socket");
	} else if (o->console_socket) {
		return plx_err_set(err, EINVAL, "cannot use console socket if runc will not detach or allocate tty");
	}

	r = plx_lxc_find_init(rt->config ? rt->config->init_path : NULL, &init_path, err);
	if (r < 0)
		return r;
	init_fd = plx_lxc_sealed_init(init_path, err);
	if (init_fd < 0)
		return init_fd;
	int sp[2], rp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(rp, O_CLOEXEC) < 0)
		return plx_err_sys(err, errno, "socketpair");
	ours = sp[0];
	theirs = sp[1];
	rep_rd = rp[0];
	rep_wr = rp[1];
	for (unsigned int fd = 3; fd < 3 + o->preserve_fds; fd++)
		fcntl((int)fd, F_SETFD, 0);
	/* the new process is handed to us when the helper exits */
	if (!o->detach && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return plx_err_sys(err, errno, "become child subreaper");

	pid_t helper = fork();
	if (helper < 0)
		return plx_err_sys(err, errno, "fork");
	if (helper == 0)
		join_and_spawn(st->pid, init_fd, theirs, rep_wr, o->preserve_fds);
	plx_closep(&theirs);
	plx_closep(&rep_wr);
	pid_t pid = 0;
	r = read_report(rep_rd, &pid, err);
	reap(helper);
	if (r < 0)
		return r;

	sj = json_dumps(plx_state_to_json(st, s), JSON_COMPACT);
	msg = json_pack("{s:s, s:O, s:O, s:i, s:b, s:s?}", "type", "exec", "process", proc, "config", spec->doc,
			"preserve_fds", (int)o->preserve_fds, "console_socket", console >= 0, "state", sj);
	if (!msg || plx_msg_send(ours, msg, console, err) < 0) {
		kill(pid, SIGKILL);
		reap(pid);
		return msg ? plx_err_prefix(err, "exec") : plx_err_set(err, ENOMEM, "exec message");
	}
	plx_closep(&console);
	r = plx_msg_recv(ours, &reply, NULL, err);
	const char *type = r == 0 ? json_string_value(json_object_get(reply, "type")) : NULL;
	if (!type || strcmp(type, "exec") != 0) {
		const char *m = reply ? json_string_value(json_object_get(reply, "message")) : NULL;
		reap(pid);
		if (m)
			return plx_err_set(err, EINVAL, "%s", m);
		return r < 0 ? plx_err_prefix(err, "exec") : plx_err_set(err, EIO, "exec failed");
	}
	json_decref(reply);
	reply = NULL;
	/* EOF: the connection was close-on-exec, the program runs */
	if (plx_msg_recv(ours, &reply, NULL, NULL) == 0) {
		const char *m = json_string_value(json_object_get(reply, "message"));
		reap(pid);
		return plx_err_set(err, EINVAL, "%s", m ? m : "exec failed");
	}
	if (tty_ours >= 0) {
		master = plx_recv_pty_master(tty_ours, err);
		if (master < 0)
			return master;
	}
	if (o->pid_file) {
		r = plx_write_pid_file(o->pid_file, pid, err);
		if (r < 0)
			return r;
	}
	if (o->detach)
		return 0;
	if (master >= 0)
		plx_tty_raw(&tty);
	return plx_wait_process(pid, master, exit_status, err);
}
