/* SPDX-License-Identifier: Apache-2.0 */
#include "cgroup_update.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lxc/lxc_conf_cgroup.h"
#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct setting {
	int version; /* 1 or 2 */
	char *file;
	char *value;
};

/* "lxc.cgroup.memory.limit_in_bytes = 1024" -> {1, "memory.limit_in_bytes", "1024"} */
static bool parse_line(char *line, struct setting *s)
{
	const char *v1 = "lxc.cgroup.", *v2 = "lxc.cgroup2.";
	char *key;

	if (strncmp(line, v2, strlen(v2)) == 0)
		s->version = 2, key = line + strlen(v2);
	else if (strncmp(line, v1, strlen(v1)) == 0)
		s->version = 1, key = line + strlen(v1);
	else
		return false;
	char *eq = strstr(key, " = ");
	if (!eq)
		return false;
	*eq = '\0';
	s->file = key;
	s->value = eq + 3;
	return strncmp(key, "devices.", 8) != 0;
}

static char *setting_path(const struct setting *s, const char *cgpath)
{
	__do_free char *dir = NULL;

	if (s->version == 2) {
		dir = plx_cgroup_v2_path(cgpath);
	} else {
		/* a v1 file is named after its controller: memory.limit_in_bytes */
		__do_free char *ctrl = strndup(s->file, strcspn(s->file, "."));
		dir = ctrl ? plx_cgroup_v1_path(ctrl, cgpath) : NULL;
	}
	return dir ? plx_path_join(dir, s->file) : NULL;
}

static int write_setting(const struct setting *s, const char *cgpath, struct plx_err *err)
{
	__do_free char *path = setting_path(s, cgpath);
	if (!path)
		return plx_err_set(err, ENOENT, "cgroup %s: no hierarchy for %s", cgpath, s->file);
	return plx_write_file_at(AT_FDCWD, path, s->value, strlen(s->value), 0644, err);
}

int plx_cgroup_update(const char *cgpath, const struct oci_resources *r, struct plx_err *err)
{
	__do_free char *text = NULL;
	__do_free struct setting *v = NULL;
	size_t len = 0, n = 0, cap = 0;

	struct oci_linux lnx = { .resources = (struct oci_resources *)r };
	struct oci_spec spec = { .linux = &lnx, .source = "update" };
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return plx_err_set(err, ENOMEM, "update");
	int ret = plx_lxc_conf_cgroup(f, &spec, cgpath, err);
	fclose(f);
	if (ret < 0)
		return ret;

	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct setting s;
		if (!parse_line(line, &s))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			struct setting *nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				return plx_err_set(err, ENOMEM, "update");
			v = nv;
		}
		v[n++] = s;
	}
	for (size_t i = 0; i < n; i++) {
		ret = write_setting(&v[i], cgpath, err);
		/*
		 * v1 refuses a memory limit above memory+swap: raising both must
		 * raise memsw first, as runc does.
		 */
		if (ret == -EINVAL && strcmp(v[i].file, "memory.limit_in_bytes") == 0) {
			for (size_t j = i + 1; j < n; j++) {
				if (strcmp(v[j].file, "memory.memsw.limit_in_bytes") == 0 &&
				    write_setting(&v[j], cgpath, NULL) == 0) {
					plx_err_clear(err);
					ret = write_setting(&v[i], cgpath, err);
					break;
				}
			}
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}
