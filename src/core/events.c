/* SPDX-License-Identifier: Apache-2.0 */
/* events: stats and OOM notices in runc's event schema. */
#include "core/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/lifecycle_internal.h"
#include "core/state.h"
#include "engine/lxc/cgroup_stats.h"
#include "util/cleanup.h"

/* Read the state without the lock: events runs for a long time beside other commands. */
static int read_state(struct plx_runtime *rt, const char *id, struct plx_state **st, enum plx_status *s,
		      struct plx_err *err)
{
	__do_close int rootfd = -1, dirfd = -1;

	int r = plx_id_validate(id, err);
	if (r < 0)
		return r;
	r = plx_root_open(rt->root, &rootfd, err);
	if (r < 0)
		return r;
	dirfd = openat(rootfd, id, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? plx_err_set(err, ENOENT, "container does not exist: %s", id)
				       : plx_err_sys(err, errno, "container %s", id);
	r = plx_state_read(dirfd, id, st, err);
	if (r < 0)
		return r;
	*s = plx_state_status(dirfd, *st);
	return 0;
}

int plx_container_stats(struct plx_runtime *rt, const char *id, json_t **data, struct plx_err *err)
{
	__do_plx_state_free struct plx_state *st = NULL;
	enum plx_status s;

	int r = read_state(rt, id, &st, &s, err);
	if (r < 0)
		return r;
	if (s == PLX_STATUS_STOPPED)
		return plx_err_set(err, EINVAL, "container %s is not running", id);
	return plx_cgroup_stats(st->cgroup_path, data, err);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int plx_container_events(struct plx_runtime *rt, const char *id, unsigned int interval_ms,
			 int (*emit)(json_t *event, void *ctx), void *ctx, struct plx_err *err)
{
	__do_plx_state_free struct plx_state *st = NULL;
	enum plx_status s;

	int r = read_state(rt, id, &st, &s, err);
	if (r < 0)
		return r;
	if (s == PLX_STATUS_STOPPED)
		return plx_err_set(err, EINVAL, "container %s is not running", id);

	/* OOM kills are counted by the kernel; a rising count is an "oom" event (checked every 100 ms) */
	uint64_t ooms = plx_cgroup_oom_kills(st->cgroup_path);
	uint64_t next = now_ms();
	for (;;) {
		if (!plx_state_pid_alive(st))
			return 0;
		uint64_t k = plx_cgroup_oom_kills(st->cgroup_path);
		if (k > ooms) {
			ooms = k;
			json_auto_t *ev = json_pack("{s:s, s:s}", "type", "oom", "id", id);
			if (!ev || emit(ev, ctx) < 0)
				return 0;
		}
		if (now_ms() >= next) {
			json_t *data = NULL;
			if (plx_cgroup_stats(st->cgroup_path, &data, err) < 0)
				return -err->code;
			json_auto_t *ev = json_pack("{s:s, s:s, s:o}", "type", "stats", "id", id, "data", data);
			if (!ev || emit(ev, ctx) < 0)
				return 0;
			next += interval_ms;
		}
		poll(NULL, 0, 100);
	}
}
