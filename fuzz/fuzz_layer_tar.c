/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for layer unpacking: whatever the bytes (a tar, gzip or
 * zstd stream), unpacking into a scratch root must neither crash nor leak,
 * and must never write beside the root: a sentinel directory next to it,
 * which a planted symlink in the root points to, must stay empty (abort()
 * otherwise, so libFuzzer keeps the input).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/inroot.h"
#include "image/unpack.h"
#include "util/fs.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[] = "/tmp/plx-fuzz-layer-XXXXXX";
static char root[64], outside[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	plx_log_init("/dev/null", PLX_LOG_TEXT, false);
	if (!mkdtemp(top))
		abort();
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	if (mkdir(outside, 0755) < 0)
		abort();
	return 0;
}

/* Whether dir holds nothing but the names in allowed (NULL-terminated). */
static bool holds_only(const char *dir, const char *const *allowed)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool ok = true;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		bool known = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;

		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(de->d_name, *a) == 0;
		ok = ok && known;
	}
	closedir(d);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const none[] = { NULL };
	static const char *const ours[] = { "root", "outside", NULL };
	struct plx_err err = PLX_ERR_INIT;
	struct plx_unpack_opts o = { .name = "fuzz" };
	struct plx_unpack_result res;
	char link[96];
	int rootfd;

	plx_rm_rf_at(AT_FDCWD, root, &err);
	if (mkdir(root, 0755) < 0)
		abort();
	/* bait: an absolute symlink to the sentinel, as a hostile lower layer would plant */
	snprintf(link, sizeof(link), "%s/bait", root);
	if (symlink(outside, link) < 0)
		abort();
	rootfd = plx_inroot_open_root(root, &err);
	if (rootfd < 0)
		abort();
	plx_layer_unpack_mem(rootfd, data, size, &o, &res, &err);
	close(rootfd);
	plx_err_clear(&err);
	if (!holds_only(outside, none) || !holds_only(top, ours))
		abort();
	return 0;
}
