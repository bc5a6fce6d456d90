/* SPDX-License-Identifier: Apache-2.0 */
/* pause / resume / ps: what acts on a container's cgroup as a whole. */
#include "core/lifecycle.h"

#include <errno.h>
#include <stdlib.h>

#include "core/lifecycle_internal.h"
#include "core/state.h"
#include "engine/lxc/cgroup.h"
#include "engine/lxc/cgroup_update.h"
#include "oci/spec.h"
#include "util/cleanup.h"

int plx_container_pause(struct plx_runtime *rt, const char *id, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;

	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	enum plx_status s = plx_state_status(dirfd, st);
	if (s != PLX_STATUS_RUNNING && s != PLX_STATUS_CREATED)
		return plx_err_set(err, EINVAL, "container not running");
	r = plx_cgroup_freeze(st->cgroup_path, true, err);
	return r < 0 ? plx_err_prefix(err, "container %s", id) : 0;
}

int plx_container_resume(struct plx_runtime *rt, const char *id, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;

	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	if (plx_state_status(dirfd, st) != PLX_STATUS_PAUSED)
		return plx_err_set(err, EINVAL, "container not paused");
	r = plx_cgroup_freeze(st->cgroup_path, false, err);
	return r < 0 ? plx_err_prefix(err, "container %s", id) : 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int plx_container_pids(struct plx_runtime *rt, const char *id, pid_t **pids, size_t *n, struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;

	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	if (plx_state_status(dirfd, st) == PLX_STATUS_STOPPED && !st->cgroup_path)
		return plx_err_set(err, EINVAL, "container not running");
	r = plx_cgroup_pids(st->cgroup_path, pids, n, err);
	if (r < 0)
		return r;
	qsort(*pids, *n, sizeof(**pids), cmp_pid);
	return 0;
}

int plx_container_update(struct plx_runtime *rt, const char *id, json_t *resources, const char *name,
			 struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1, lockfd = -1;
	__do_plx_state_free struct plx_state *st = NULL;
	__do_oci_spec_free struct oci_spec *spec = NULL;

	if (!json_is_object(resources))
		return plx_err_set(err, EINVAL, "%s: expected a linux.resources object", name);
	int r = plx_container_open(rt, id, &rootfd, &dirfd, &lockfd, &st, err);
	if (r < 0)
		return r;
	if (plx_state_status(dirfd, st) == PLX_STATUS_STOPPED)
		return plx_err_set(err, EINVAL, "container not running");
	/* parsed and checked as the linux.resources of a config, so errors name the field */
	json_auto_t *doc = json_pack("{s:s, s:{s:s}, s:{s:O}}", "ociVersion", OCI_RUNTIME_SPEC_VERSION, "root",
				     "path", "/", "linux", "resources", resources);
	if (!doc)
		return plx_err_set(err, ENOMEM, "update");
	r = oci_spec_from_json(doc, name, &spec, err);
	if (r == 0)
		r = oci_spec_validate(spec, err);
	if (r < 0)
		return r;
	if (!spec->linux || !spec->linux->resources)
		return 0;
	r = plx_cgroup_update(st->cgroup_path, spec->linux->resources, err);
	return r < 0 ? plx_err_prefix(err, "container %s", id) : 0;
}
