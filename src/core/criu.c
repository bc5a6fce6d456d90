/* SPDX-License-Identifier: Apache-2.0 */
/* criu check before anything else; criu dump with runc's flags. */
#include "core/criu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "storage/storage_exec.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* how much of criu's own output the error quotes */
#define CHECK_LINES 4

/* The criu binary as PATH resolves it, so the error names the one that ran. */
static char *which(const char *cmd)
{
	const char *path = getenv("PATH");
	__do_free char *copy = NULL;
	char *save = NULL;

	if (strchr(cmd, '/') || !path)
		return strdup(cmd);
	copy = strdup(path);
	if (!copy)
		return NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", *dir ? dir : ".", cmd) < 0)
			return NULL;
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return strdup(cmd);
}

/* The first n lines of text, joined with "; ". */
static char *first_lines(const char *text, int n)
{
	__do_free char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int lines = 0;

	if (!f)
		return NULL;
	for (const char *p = text; *p && lines < n;) {
		const char *nl = strchrnul(p, '\n');
		if (nl > p) {
			fprintf(f, "%s%.*s", lines ? "; " : "", (int)(nl - p), p);
			lines++;
		}
		p = *nl ? nl + 1 : nl;
	}
	if (fclose(f) != 0)
		return NULL;
	return steal_ptr(out);
}

int plx_criu_check_failed(const char *cmd, const char *criu, const char *version, const char *output,
			  const char *kernel, struct plx_err *err)
{
	__do_free char *head = first_lines(output ? output : "", CHECK_LINES);
	size_t n = head ? strlen(head) : 0;

	if (n && head[n - 1] == '.')
		head[n - 1] = '\0';
	return plx_err_set(err, EOPNOTSUPP,
			   "process %s needs CRIU, and %s (criu %s) fails its own check on this kernel "
			   "(Linux %s): `criu check` says: %s. The filesystem checkpoint works here: run %s "
			   "without --image-path and the other CRIU flags",
			   cmd, criu, version && *version ? version : "of unknown version", kernel ? kernel : "?",
			   head && *head ? head : "(no output)", cmd);
}

/* "criu check: TEXT (exit 1)" -> TEXT: what criu itself said. */
static const char *strip_command(const char *msg, const char *cmd)
{
	size_t n = strlen(cmd);

	if (strncmp(msg, cmd, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
		return msg + n + 2;
	return msg;
}

int plx_criu_check(const char *criu, const char *cmd, struct plx_err *err)
{
	__do_free char *path = which(criu ? criu : "criu");
	__do_free char *version = NULL, *vout = NULL, *line = NULL;
	struct plx_err e = PLX_ERR_INIT;
	struct utsname u;

	if (!path)
		return plx_err_set(err, ENOMEM, "criu path");
	char *vargv[] = { path, "--version", NULL };
	int r = plx_storage_run(vargv, &vout, &e);
	if (r == -ENOPKG) {
		plx_err_clear(&e);
		return plx_err_set(err, ENOPKG,
				   "process %s needs CRIU: %s not found (install Debian's criu or pass "
				   "--criu PATH). The filesystem checkpoint works without it: run %s "
				   "without --image-path and the other CRIU flags",
				   cmd, path, cmd);
	}
	plx_err_clear(&e);
	/* "Version: 3.17.1\n..." */
	if (vout) {
		const char *v = strstr(vout, "Version:");
		v = v ? v + 8 + strspn(v + 8, " ") : vout;
		version = strndup(v, strcspn(v, "\n"));
	}
	char *cargv[] = { path, "check", NULL };
	r = plx_storage_run(cargv, NULL, &e);
	if (r == 0)
		return 0;
	if (asprintf(&line, "%s check", path) < 0)
		line = NULL;
	__do_free char *said = strdup(line ? strip_command(plx_err_msg(&e), line) : plx_err_msg(&e));
	plx_err_clear(&e);
	if (said) {
		/* the runner appends " (exit N)" */
		char *tail = strstr(said, " (exit ");
		if (tail)
			*tail = '\0';
	}
	return plx_criu_check_failed(cmd, path, version, said, uname(&u) == 0 ? u.release : NULL, err);
}

static int add(char ***v, const char *a, const char *b)
{
	if (plx_strv_append(v, a) < 0)
		return -ENOMEM;
	return b ? plx_strv_append(v, b) : 0;
}

int plx_criu_dump_argv(const char *criu, const struct plx_criu_opts *o, pid_t pid, const char *rootfs,
		       char *const *ext_mounts, char ***argv, struct plx_err *err)
{
	__do_strv_free char **v = NULL;
	char pidbuf[24];
	int r = 0;

	if (!o->image_path || !*o->image_path)
		return plx_err_set(err, EINVAL, "--image-path: required for a process checkpoint");
	const char *mode = o->manage_cgroups_mode;
	if (mode && strcmp(mode, "soft") != 0 && strcmp(mode, "full") != 0 && strcmp(mode, "strict") != 0)
		return plx_err_set(err, EINVAL, "--manage-cgroups-mode: invalid value %s (soft, full or strict)",
				   mode);
	const char *colon = o->page_server ? strrchr(o->page_server, ':') : NULL;
	if (o->page_server && *o->page_server && (!colon || colon == o->page_server || !colon[1]))
		return plx_err_set(err, EINVAL, "--page-server: %s: expected ADDRESS:PORT", o->page_server);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);

	r |= add(&v, criu ? criu : "criu", o->pre_dump ? "pre-dump" : "dump");
	r |= add(&v, "--tree", pidbuf);
	r |= add(&v, "--images-dir", o->image_path);
	r |= add(&v, "--work-dir", o->work_path && *o->work_path ? o->work_path : o->image_path);
	r |= add(&v, "--root", rootfs);
	r |= add(&v, "--log-file", "dump.log");
	r |= add(&v, "-v4", NULL);
	if (o->parent_path && *o->parent_path)
		r |= add(&v, "--prev-images-dir", o->parent_path);
	if (o->leave_running || o->pre_dump)
		r |= add(&v, "--leave-running", NULL);
	if (o->tcp_established)
		r |= add(&v, "--tcp-established", NULL);
	if (o->ext_unix_sk)
		r |= add(&v, "--ext-unix-sk", NULL);
	if (o->shell_job)
		r |= add(&v, "--shell-job", NULL);
	if (o->file_locks)
		r |= add(&v, "--file-locks", NULL);
	if (o->auto_dedup)
		r |= add(&v, "--auto-dedup", NULL);
	if (o->lazy_pages)
		r |= add(&v, "--lazy-pages", NULL);
	if (o->pre_dump)
		r |= add(&v, "--track-mem", NULL);
	if (o->status_fd >= 0) {
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", o->status_fd);
		r |= add(&v, "--status-fd", fd);
	}
	if (o->page_server && *o->page_server) {
		__do_free char *addr = strndup(o->page_server, (size_t)(colon - o->page_server));
		if (!addr)
			return plx_err_set(err, ENOMEM, "criu argv");
		r |= add(&v, "--page-server", NULL);
		r |= add(&v, "--address", addr);
		r |= add(&v, "--port", colon + 1);
	}
	/* runc's default is "soft" */
	__do_free char *mc = NULL;
	if (asprintf(&mc, "--manage-cgroups=%s", mode ? mode : "soft") < 0)
		return plx_err_set(err, ENOMEM, "criu argv");
	r |= add(&v, mc, NULL);
	/* runc declares every bind mount external, mapped to itself */
	for (char *const *m = ext_mounts; m && *m; m++) {
		__do_free char *map = NULL;
		if (asprintf(&map, "%s:%s", *m, *m) < 0)
			return plx_err_set(err, ENOMEM, "criu argv");
		r |= add(&v, "--ext-mount-map", map);
	}
	for (char *const *ns = o->empty_ns; ns && *ns; ns++) {
		if (strcmp(*ns, "network") != 0)
			return plx_err_set(err, EINVAL, "--empty-ns: %s: only network is supported, as in runc", *ns);
		/* runc: the runtime makes the namespace on restore; criu must not dump its properties */
		r |= add(&v, "--empty-ns", "net");
	}
	if (r < 0)
		return plx_err_set(err, ENOMEM, "criu argv");
	*argv = steal_ptr(v);
	return 0;
}
