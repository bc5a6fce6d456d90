/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/init.h"
#include "process/devices.h"
#include "process/env.h"
#include "process/exec_path.h"
#include "process/lsm.h"
#include "process/mounts_finish.h"
#include "process/pty.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* The optional scalar fields of the create message. */
static int read_options(struct plx_init *ini, json_t *msg, bool *console, struct plx_err *err)
{
	json_t *id = json_object_get(msg, "id");
	json_t *pfds = json_object_get(msg, "preserve_fds");
	json_t *cs = json_object_get(msg, "console_socket");
	json_t *nnk = json_object_get(msg, "no_new_keyring");

	if (!json_is_string(id) || !*json_string_value(id))
		return plx_err_set(err, EINVAL, "create message: \"id\" must be a non-empty string");
	if (pfds &&
	    (!json_is_integer(pfds) || json_integer_value(pfds) < 0 || json_integer_value(pfds) > 65536))
		return plx_err_set(err, EINVAL,
				   "create message: \"preserve_fds\" must be an integer 0..65536");
	if ((cs && !json_is_boolean(cs)) || (nnk && !json_is_boolean(nnk)))
		return plx_err_set(err, EINVAL,
				   "create message: \"console_socket\" and \"no_new_keyring\" are booleans");
	ini->id = strdup(json_string_value(id));
	if (!ini->id)
		return plx_err_set(err, ENOMEM, "create message");
	ini->preserve_fds = pfds ? (unsigned int)json_integer_value(pfds) : 0;
	ini->no_new_keyring = json_is_true(nnk);
	*console = json_is_true(cs);
	return 0;
}

/* The pty: its master goes to the console socket now, its slave waits for start. */
static int setup_terminal(struct plx_init *ini, int console, struct plx_err *err)
{
	const struct oci_process *p = ini->spec->process;

	int r = plx_pty_open("/", &ini->pty, err);
	if (r < 0)
		return plx_err_prefix(err, "process.terminal");
	if (p->has_console_size) {
		r = plx_pty_set_size(&ini->pty, p->console_height, p->console_width, err);
		if (r < 0)
			return r;
	}
	r = plx_pty_send_master(console, &ini->pty, err);
	if (r < 0)
		return r;
	plx_closep(&ini->pty.master); /* the console socket's owner has it now */
	r = plx_pty_bind_console(&ini->pty, err);
	if (r < 0)
		return plx_err_prefix(err, "process.terminal");
	/*
	 * The pty is the process's stdio from now on, as with runc: let go of
	 * the caller's.  containerd's shim reads create's stdout/stderr to EOF
	 * before it takes the pty from the console socket.
	 */
	for (int fd = 0; fd < 3; fd++)
		if (dup2(ini->pty.slave, fd) < 0)
			return plx_err_sys(err, errno, "process.terminal: pty as fd %d", fd);
	return 0;
}

int plx_init_create(struct plx_init *ini, json_t *msg, int fd, struct plx_err *err)
{
	__do_close int console = fd;
	bool want_console = false;
	int r;

	if (ini->created)
		return plx_err_set(err, EEXIST, "create: the container was already created");
	json_t *config = json_object_get(msg, "config");
	if (!json_is_object(config))
		return plx_err_set(err, EINVAL, "create message: \"config\" must be an object");
	r = read_options(ini, msg, &want_console, err);
	if (r < 0)
		return r;
	r = oci_spec_from_json(config, "config.json", &ini->spec, err);
	if (r < 0)
		return r;
	r = oci_spec_validate(ini->spec, err);
	if (r < 0)
		return r;

	const struct oci_spec *spec = ini->spec;
	const struct oci_process *p = spec->process;
	const struct oci_linux *lnx = spec->linux;
	if (!p || !p->args || !p->args[0])
		return plx_err_set(err, EINVAL, "config.json: process.args is required");
	if (p->terminal && (!want_console || console < 0))
		return plx_err_set(err, EINVAL, "process.terminal is set but no console socket was passed");
	/* refused before anything changes, as runc's validator does */
	if ((r = plx_selinux_check(p->selinux_label, err)) < 0)
		return r;

	/* the mounts as runc leaves them: bind mount flags, devpts options, then propagation */
	if ((r = plx_bind_mount_flags(spec->mounts, spec->n_mounts, err)) < 0)
		return r;
	if ((r = plx_devpts_options(spec->mounts, spec->n_mounts, err)) < 0)
		return r;
	r = plx_mount_propagation_apply(lnx ? lnx->rootfs_propagation : NULL, spec->mounts, spec->n_mounts, err);
	if (r < 0)
		return r;
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return plx_err_sys(err, errno, "domainname \"%s\"", spec->domainname);
	if (lnx && (r = plx_devices_create("/", lnx->devices, lnx->n_devices, err)) < 0)
		return r;
	if ((r = plx_dev_symlinks("/", err)) < 0)
		return r;
	if (p->cwd && (r = plx_mkdir_p(p->cwd, 0755, err)) < 0)
		return plx_err_prefix(err, "process.cwd");
	/* before root.readonly: /dev/console may need creating */
	if (p->terminal && (r = setup_terminal(ini, console, err)) < 0)
		return r;
	if (spec->root && spec->root->readonly && (r = plx_root_readonly(err)) < 0)
		return r;
	if (lnx && (r = plx_readonly_paths(lnx->readonly_paths, err)) < 0)
		return r;
	if (lnx && (r = plx_mask_paths(lnx->masked_paths, err)) < 0)
		return r;

	r = plx_exec_path_resolve("/", p->cwd, p->args[0], plx_env_get(p->env, "PATH"), &ini->exec_path, err);
	if (r < 0)
		return r;
	log_debug("container %s created; will execute %s", ini->id, ini->exec_path);
	ini->created = true;
	return 0;
}
