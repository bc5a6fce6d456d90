/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/init.h"
#include "process/env.h"
#include "process/exec_path.h"
#include "process/finalize.h"
#include "process/hook.h"
#include "process/json_cleanup.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/msg.h"

int plx_init_start(struct plx_init *ini, json_t *msg, int fd, int conn, struct plx_err *err)
{
	__do_close int listener = fd;
	__do_free char *state_json = NULL;
	__do_free char *keyring = NULL;
	__do_strv_free char **env = NULL;
	char ebuf[128];
	int r;

	if (!ini->created)
		return plx_err_set(err, EINVAL, "start: the container was not created");
	json_t *state = json_object_get(msg, "state");
	if (!json_is_object(state))
		return plx_err_set(err, EINVAL, "start message: \"state\" must be an object");
	state_json = json_dumps(state, JSON_COMPACT);
	if (!state_json)
		return plx_err_set(err, ENOMEM, "start message");

	const struct oci_spec *spec = ini->spec;
	const struct oci_process *p = spec->process;
	r = plx_hooks_run(&spec->hooks.start_container, "startContainer", state_json, err);
	if (r < 0)
		return r;
	/* before the user switch: /etc/passwd may be unreadable for the user */
	r = plx_process_env(p, "/", &env, err);
	if (r < 0)
		return r;
	if (!ini->no_new_keyring && asprintf(&keyring, "_ses.%s", ini->id) < 0)
		return plx_err_set(err, ENOMEM, "session keyring name");

	struct plx_finalize_opts o = {
		.pty_slave = ini->pty.slave,
		.preserve_fds = ini->preserve_fds,
		.session_keyring = keyring,
		.seccomp = spec->linux ? spec->linux->seccomp : NULL,
		.seccomp_listener = listener,
		.state_json = state_json,
	};
	r = plx_process_finalize(p, &o, err);
	if (r < 0)
		return r;

	/* the connection is close-on-exec: after "exec", EOF tells start it worked */
	json_t *reply = json_pack("{s:s}", "type", "exec");
	struct plx_err serr = PLX_ERR_INIT;
	if (!reply || plx_msg_send(conn, reply, -1, &serr) < 0)
		log_warn("start: could not report exec: %s", plx_err_msg(&serr));
	json_decref(reply);
	plx_err_clear(&serr);

	execve(ini->exec_path, p->args, env);
	int e = errno;
	return plx_err_set(err, e, "exec: \"%s\": %s", ini->exec_path,
			   plx_go_strerror(e, ebuf, sizeof(ebuf)));
}
