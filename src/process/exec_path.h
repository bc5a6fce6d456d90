/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding the program to execute the way runc does (Go's exec.LookPath),
 * with the same error texts, over a root directory so that it works on a
 * rootfs seen from outside (tests) as well as from inside ("/").
 */
#pragma once

#include "util/error.h"

/*
 * name containing '/': it must exist and be executable, relative names
 * being relative to cwd; *out is name.  Otherwise each directory of
 * path_env (NULL: PLX_DEFAULT_PATH from env.h; an empty entry means cwd)
 * is tried in turn; *out is "<dir>/<name>".  Paths are resolved inside
 * root, symlinks included.  Errors (code ENOENT, EACCES, ...):
 *   exec: "foo": executable file not found in $PATH
 *   exec: "/x": stat /x: no such file or directory
 *   exec: "/etc": is a directory
 *   exec: "/etc/passwd": permission denied
 */
int plx_exec_path_resolve(const char *root, const char *cwd, const char *name, const char *path_env,
			  char **out, struct plx_err *err);

/* strerror() spelled as Go spells it (lower-case first letter), as runc prints errors. */
const char *plx_go_strerror(int code, char *buf, unsigned long len);
