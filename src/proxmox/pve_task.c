/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting for PVE tasks: poll a UPID's status until it stops, report how it ended. */
#include "proxmox/pve_client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxmox/pve_upid.h"
#include "util/cleanup.h"
#include "util/log.h"

#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS	 1000
#define LOG_TAIL_LINES	 5
#define LOG_FETCH_LINES	 500

unsigned int pve_task_backoff(unsigned int ms)
{
	if (ms == 0)
		return BACKOFF_FIRST_MS;
	return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The last lines of a task's log, "; log: \"a\" / \"b\"", or "" when it
 * cannot be had: the log only adds detail to an error already known.
 * PVE's "TASK ERROR: ..." line repeats the exit status and is left out.
 */
static char *log_tail(struct pve_client *c, const char *node_path)
{
	__do_err_clear struct plx_err e = PLX_ERR_INIT;
	json_auto_t *params = json_pack("{s:i, s:i}", "start", 0, "limit", LOG_FETCH_LINES);
	json_auto_t *lines = NULL;
	__do_free char *path = NULL, *text = NULL;
	size_t len = 0, n, first, shown = 0;
	FILE *f;

	if (!params || asprintf(&path, "%s/log", node_path) < 0)
		return NULL;
	if (pve_client_call(c, "GET", path, params, &lines, &e) < 0 || !json_is_array(lines))
		return NULL;
	n = json_array_size(lines);
	while (n > 0) {
		json_t *t = json_object_get(json_array_get(lines, n - 1), "t");

		if (!json_is_string(t) || strncmp(json_string_value(t), "TASK ", 5) != 0)
			break;
		n--;
	}
	first = n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0;
	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (size_t i = first; i < n; i++) {
		json_t *t = json_object_get(json_array_get(lines, i), "t");

		if (json_is_string(t) && json_string_length(t))
			fprintf(f, "%s\"%s\"", shown++ ? " / " : "; log: ", json_string_value(t));
	}
	if (fclose(f) != 0)
		return NULL;
	return steal_ptr(text);
}

static int task_ended(struct pve_client *c, const struct pve_upid *u, const char *upid, const char *node_path,
		      const json_t *st, struct plx_err *err)
{
	json_t *exit = json_object_get(st, "exitstatus");
	const char *status = json_is_string(exit) ? json_string_value(exit) : "(no exit status)";
	__do_free char *tail = NULL;

	if (strcmp(status, "OK") == 0)
		return 0;
	/* PVE's own tools count a task that only warned as done */
	if (strncmp(status, "WARNINGS:", 9) == 0) {
		log_warn("PVE task %s %s on %s ended with %s", u->type, u->id, u->node, status);
		return 0;
	}
	tail = log_tail(c, node_path);
	return plx_err_set(err, EIO, "PVE task %s %s on node %s failed: %s%s (%s)", u->type, u->id, u->node,
			   status, tail ? tail : "", upid);
}

int pve_task_wait(struct pve_client *c, const char *upid, json_t **status, struct plx_err *err)
{
	struct pve_upid u = {};
	__do_free char *eupid = NULL, *node_path = NULL, *path = NULL;
	double deadline = now_s() + c->cfg->task_timeout;
	unsigned int delay = 0;
	int ret;

	if (status)
		*status = NULL;
	ret = pve_upid_parse(upid, &u, err);
	if (ret < 0)
		return ret;
	eupid = pve_path_escape(upid);
	if (!eupid || asprintf(&node_path, "/nodes/%s/tasks/%s", u.node, eupid) < 0 ||
	    asprintf(&path, "%s/status", node_path) < 0) {
		pve_upid_clear(&u);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	for (;;) {
		json_auto_t *st = NULL;
		json_t *s;

		ret = pve_client_call(c, "GET", path, NULL, &st, err);
		if (ret < 0) {
			plx_err_prefix(err, "waiting for PVE task %s", upid);
			break;
		}
		s = json_object_get(st, "status");
		if (!json_is_string(s)) {
			ret = plx_err_set(err, EPROTO,
					  "waiting for PVE task %s: its status has no \"status\"", upid);
			break;
		}
		if (strcmp(json_string_value(s), "running") != 0) {
			ret = task_ended(c, &u, upid, node_path, st, err);
			if (ret == 0 && status)
				*status = json_incref(st);
			break;
		}
		if (now_s() >= deadline) {
			ret = plx_err_set(err, ETIMEDOUT,
					  "PVE task %s still running after %u s (proxmox.task_timeout)", upid,
					  c->cfg->task_timeout);
			break;
		}
		delay = pve_task_backoff(delay);
		log_debug("PVE task %s running, next poll in %u ms", upid, delay);
		sleep_ms(delay);
	}
	pve_upid_clear(&u);
	return ret;
}
