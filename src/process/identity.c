/* SPDX-License-Identifier: Apache-2.0 */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "additionalGids are passed to setgroups as is");

static bool setgroups_denied(void)
{
	char buf[16] = { 0 };

	__do_close int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	return n > 0 && strncmp(buf, "deny", 4) == 0;
}

/* setres[ug]id fail with EINVAL for an id without a mapping in the user namespace */
static const char *unmapped_hint(int code)
{
	return code == EINVAL ? " (not mapped in the user namespace?)" : "";
}

int plx_identity_switch(const struct oci_user *u, bool keep_caps, struct plx_err *err)
{
	if (setgroups_denied()) {
		if (u->n_additional_gids > 0)
			log_warn(
				"process.user.additionalGids ignored: setgroups is denied in this user namespace");
	} else if (setgroups(u->n_additional_gids, (const gid_t *)u->additional_gids) < 0) {
		return plx_err_sys(err, errno, "setgroups (process.user.additionalGids)");
	}

	if (keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return plx_err_sys(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresgid(u->gid, u->gid, u->gid) < 0) {
		int e = errno;
		return plx_err_sys(err, e, "setresgid(%u)%s", (unsigned)u->gid, unmapped_hint(e));
	}
	if (setresuid(u->uid, u->uid, u->uid) < 0) {
		int e = errno;
		return plx_err_sys(err, e, "setresuid(%u)%s", (unsigned)u->uid, unmapped_hint(e));
	}
	if (keep_caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return plx_err_sys(err, errno, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}
