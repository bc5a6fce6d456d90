/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The init's exec mode (argv: --exec-fd N): a process joining a running
 * container.  The runtime has already moved us into the container's
 * cgroups and namespaces and executed us from the sealed memfd; the one
 * message on fd N is
 *   {"type":"exec", "process":{...}, "config":{...}, "preserve_fds":N,
 *    "console_socket":bool, "state":"<OCI state JSON>"}  [fd: console socket]
 * We apply the same settings as the container's own process, answer
 * {"type":"exec"} and execve; on failure {"type":"error","message"}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "init/init.h"
#include "process/env.h"
#include "process/exec_path.h"
#include "process/finalize.h"
#include "process/json_cleanup.h"
#include "process/pty.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/msg.h"

static void send_reply(int conn, const char *type, const char *message)
{
	__do_json_decref json_t *m = message ? json_pack("{s:s, s:s}", "type", type, "message", message)
					     : json_pack("{s:s}", "type", type);
	if (m)
		plx_msg_send(conn, m, -1, NULL);
}

static int exec_process(int conn, struct plx_err *err)
{
	__do_json_decref json_t *msg = NULL;
	__do_close int console = -1;
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_free char *path = NULL;
	__do_strv_free char **env = NULL;
	_cleanup_(plx_pty_close) struct plx_pty pty = PLX_PTY_INIT;
	struct oci_process *p = NULL;
	char ebuf[128];

	int r = plx_msg_recv(conn, &msg, &console, err);
	if (r < 0)
		return r;
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type || strcmp(type, "exec") != 0)
		return plx_err_set(err, EINVAL, "exec mode: unexpected message \"%s\"", type ? type : "");
	r = oci_spec_from_json(json_object_get(msg, "config"), "config.json", &spec, err);
	if (r < 0)
		return r;
	r = oci_process_from_json(json_object_get(msg, "process"), "process", "", &p, err);
	if (r < 0)
		return r;
	/* owned by spec from here, so it is freed with it */
	if (spec->process)
		oci_process_free(spec->process);
	spec->process = p;

	const char *path_env = NULL;
	for (char **e = p->env; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path_env = *e + 5;
	r = plx_exec_path_resolve("/", p->cwd, p->args[0], path_env, &path, err);
	if (r < 0)
		return r;
	if (p->terminal) {
		if (console < 0)
			return plx_err_set(err, EINVAL, "process.terminal: no console socket was passed");
		r = plx_pty_open("/", &pty, err);
		if (r == 0 && p->has_console_size)
			r = plx_pty_set_size(&pty, p->console_height, p->console_width, err);
		if (r == 0)
			r = plx_pty_send_master(console, &pty, err);
		if (r < 0)
			return r;
		plx_closep(&pty.master);
	}
	plx_closep(&console);
	r = plx_process_env(p, "/", &env, err);
	if (r < 0)
		return r;

	json_int_t preserve = json_integer_value(json_object_get(msg, "preserve_fds"));
	struct plx_finalize_opts o = {
		.pty_slave = pty.slave,
		.preserve_fds = preserve > 0 ? (unsigned int)preserve : 0,
		.session_keyring = NULL, /* runc exec keeps the container's keyring */
		.seccomp = spec->linux ? spec->linux->seccomp : NULL,
		.seccomp_listener = -1,
		.state_json = json_string_value(json_object_get(msg, "state")),
	};
	r = plx_process_finalize(p, &o, err);
	if (r < 0)
		return r;
	send_reply(conn, "exec", NULL);
	execve(path, p->args, env);
	int e = errno;
	return plx_err_set(err, e, "exec: \"%s\": %s", path, plx_go_strerror(e, ebuf, sizeof(ebuf)));
}

int plx_init_exec_main(int conn)
{
	struct plx_err err = PLX_ERR_INIT;

	/* no ptrace and no /proc/<pid>/exe for the container's processes while we are the init binary */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	exec_process(conn, &err);
	send_reply(conn, "error", plx_err_msg(&err));
	plx_err_clear(&err);
	return 127;
}
