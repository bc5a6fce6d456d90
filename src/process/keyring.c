/* SPDX-License-Identifier: Apache-2.0 */
#include "keyring.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"

#define KEY_USR_SEARCH 0x00080000u

static long keyctl(int op, unsigned long a2, unsigned long a3, unsigned long a4)
{
	return syscall(SYS_keyctl, op, a2, a3, a4, 0UL);
}

int plx_keyring_join_session(const char *name, struct plx_err *err)
{
	char desc[512];

	long key = keyctl(KEYCTL_JOIN_SESSION_KEYRING, (unsigned long)name, 0, 0);
	if (key < 0) {
		if (errno == ENOSYS || errno == EACCES || errno == EPERM) {
			log_debug("session keyring %s not joined: %s", name, strerror(errno));
			return 0;
		}
		return plx_err_sys(err, errno, "join session keyring %s", name);
	}

	/* "type;uid;gid;perm;description": perm is hex */
	long n = keyctl(KEYCTL_DESCRIBE, (unsigned long)key, (unsigned long)desc, sizeof(desc));
	if (n < 0)
		return plx_err_sys(err, errno, "describe session keyring %s", name);
	desc[sizeof(desc) - 1] = '\0';
	unsigned int uid, gid, perm;
	if (sscanf(desc, "%*[^;];%u;%u;%x;", &uid, &gid, &perm) != 3)
		return plx_err_set(err, EINVAL, "describe session keyring %s: unexpected \"%s\"", name, desc);
	if (keyctl(KEYCTL_SETPERM, (unsigned long)key, perm | KEY_USR_SEARCH, 0) < 0)
		return plx_err_sys(err, errno, "set permissions of session keyring %s", name);
	return 0;
}
