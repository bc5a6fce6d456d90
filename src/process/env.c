/* SPDX-License-Identifier: Apache-2.0 */
#include "env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process/user.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

const char *plx_env_get(char *const *env, const char *key)
{
	const char *found = NULL;
	size_t klen = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, klen) == 0 && (*env)[klen] == '=')
			found = *env + klen + 1;
	return found;
}

int plx_process_env(const struct oci_process *p, const char *root, char ***out, struct plx_err *err)
{
	/* an absent env is an empty one */
	__do_strv_free char **env = p->env ? plx_strv_dup(p->env) : calloc(1, sizeof(char *));
	__do_free char *home_var = NULL;
	struct plx_passwd pw = { 0 };

	if (!env)
		return plx_err_set(err, ENOMEM, "process.env");
	if (plx_env_get(env, "HOME")) {
		*out = steal_ptr(env);
		return 0;
	}

	struct plx_err lookup = PLX_ERR_INIT;
	int r = plx_passwd_find_uid(root, p->user.uid, &pw, &lookup);
	if (r == -ENOENT) {
		/* no passwd file or no entry: runc falls back to "/" */
		log_debug("HOME for uid %u: %s; using /", (unsigned)p->user.uid, plx_err_msg(&lookup));
		plx_err_clear(&lookup);
	} else if (r < 0) {
		plx_err_move(err, &lookup);
		return plx_err_prefix(err, "look up HOME of uid %u", (unsigned)p->user.uid);
	}
	r = asprintf(&home_var, "HOME=%s", pw.home && *pw.home ? pw.home : "/");
	plx_passwd_clear(&pw);
	if (r < 0 || plx_strv_append(&env, home_var) < 0)
		return plx_err_set(err, ENOMEM, "process.env");
	*out = steal_ptr(env);
	return 0;
}
