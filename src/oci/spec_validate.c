/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime spec's semantic rules for Linux (the MUSTs), plus runc's own
 * checks where runc refuses a config.  Types and ranges were checked by the
 * parser; here every message still names the source and the JSON path.
 */
#include "oci/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/spec_names.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

/* prefix and separator for a path under jpath: "process" -> "process.", "" -> "" */
#define JP(jpath) (jpath), (*(jpath) ? "." : "")

static __attribute__((format(printf, 3, 4))) int bad(struct plx_err *err, const char *name, const char *fmt,
						     ...)
{
	__do_free char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return plx_err_set(err, ENOMEM, "%s: out of memory", name);
	return plx_err_set(err, EINVAL, "%s: %s", name, msg);
}

static bool is_abs(const char *p)
{
	return p && p[0] == '/';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1.MINOR[.PATCH][-pre][+build]: any 1.x release or pre-release. */
static bool version_1x(const char *v)
{
	const char *p = v + 2;

	if (v[0] != '1' || v[1] != '.' || !is_digit(*p))
		return false;
	while (is_digit(*p))
		p++;
	if (*p == '.') {
		if (!is_digit(*++p))
			return false;
		while (is_digit(*p))
			p++;
	}
	return *p == '\0' || *p == '-' || *p == '+';
}

static bool char_in(char c, const char *set)
{
	return c != '\0' && strchr(set, c);
}

/* ---- process ---- */

static int validate_caps(const struct oci_capabilities *caps, const char *name, const char *jpath,
			 struct plx_err *err)
{
	const struct {
		const char *set;
		char **v;
	} sets[] = {
		{ "bounding", caps->bounding },	      { "effective", caps->effective },
		{ "inheritable", caps->inheritable }, { "permitted", caps->permitted },
		{ "ambient", caps->ambient },
	};

	for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
		for (size_t i = 0; sets[s].v && sets[s].v[i]; i++)
			if (oci_capability_number(sets[s].v[i]) < 0)
				return bad(err, name, "%s%scapabilities.%s[%zu]: unknown capability \"%s\"",
					   JP(jpath), sets[s].set, i, sets[s].v[i]);
	return 0;
}

static int validate_rlimits(const struct oci_process *p, const char *name, const char *jpath,
			    struct plx_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];

		if (!rl->type)
			return bad(err, name, "%s%srlimits[%zu].type: required", JP(jpath), i);
		if (rl->resource < 0)
			return bad(err, name, "%s%srlimits[%zu].type: unknown rlimit \"%s\"", JP(jpath), i,
				   rl->type);
		if (rl->soft > rl->hard)
			return bad(err, name,
				   "%s%srlimits[%zu]: soft limit %" PRIu64 " exceeds hard limit %" PRIu64,
				   JP(jpath), i, rl->soft, rl->hard);
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == rl->resource)
				return bad(err, name, "%s%srlimits[%zu].type: duplicate rlimit \"%s\"",
					   JP(jpath), i, rl->type);
	}
	return 0;
}

static int validate_scheduler(const struct oci_scheduler *s, const char *name, const char *jpath,
			      struct plx_err *err)
{
	if (!s->policy)
		return bad(err, name, "%s%sscheduler.policy: required", JP(jpath));
	if (!oci_sched_policy_known(s->policy))
		return bad(err, name, "%s%sscheduler.policy: unknown policy \"%s\"", JP(jpath), s->policy);
	if (s->has_nice && (s->nice < -20 || s->nice > 19))
		return bad(err, name, "%s%sscheduler.nice: value %d out of range -20..19", JP(jpath),
			   s->nice);
	for (size_t i = 0; s->flags && s->flags[i]; i++)
		if (!oci_sched_flag_known(s->flags[i]))
			return bad(err, name, "%s%sscheduler.flags[%zu]: unknown flag \"%s\"", JP(jpath), i,
				   s->flags[i]);
	return 0;
}

int oci_process_validate(const struct oci_process *p, const char *name, const char *jpath,
			 struct plx_err *err)
{
	int r;

	if (!name)
		name = "process.json";
	if (!jpath)
		jpath = "";
	if (!p)
		return bad(err, name, "%s: required", *jpath ? jpath : "process");
	if (!p->args || !p->args[0])
		return bad(err, name, "%s%sargs: must not be empty", JP(jpath));
	if (!p->cwd || !*p->cwd)
		return bad(err, name, "%s%scwd: required", JP(jpath));
	if (!is_abs(p->cwd))
		return bad(err, name, "%s%scwd: must be an absolute path, got \"%s\"", JP(jpath), p->cwd);
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return bad(err, name, "%s%senv[%zu]: \"%s\" is not of the form NAME=VALUE", JP(jpath),
				   i, p->env[i]);
	r = validate_rlimits(p, name, jpath, err);
	if (r < 0)
		return r;
	if (p->capabilities) {
		r = validate_caps(p->capabilities, name, jpath, err);
		if (r < 0)
			return r;
	}
	if (p->io_priority) {
		if (!p->io_priority->klass)
			return bad(err, name, "%s%sioPriority.class: required", JP(jpath));
		if (!oci_ioprio_class_known(p->io_priority->klass))
			return bad(err, name, "%s%sioPriority.class: unknown class \"%s\"", JP(jpath),
				   p->io_priority->klass);
		if (p->io_priority->priority < 0 || p->io_priority->priority > 7)
			return bad(err, name, "%s%sioPriority.priority: value %d out of range 0..7",
				   JP(jpath), p->io_priority->priority);
	}
	if (p->scheduler)
		return validate_scheduler(p->scheduler, name, jpath, err);
	return 0;
}

/* ---- top level ---- */

static int validate_mounts(const struct oci_spec *s, const char *name, struct plx_err *err)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const char *dst = s->mounts[i].destination;

		if (!dst || !*dst)
			return bad(err, name, "mounts[%zu].destination: required", i);
		/* runc still accepts these (relative to the rootfs) with a warning */
		if (!is_abs(dst))
			log_warn("%s: mounts[%zu].destination: \"%s\" is not an absolute path", name, i, dst);
	}
	return 0;
}

static int validate_hooks(const struct oci_spec *s, const char *name, struct plx_err *err)
{
	const struct {
		const char *kind;
		const struct oci_hook_list *l;
	} lists[] = {
		{ "prestart", &s->hooks.prestart },
		{ "createRuntime", &s->hooks.create_runtime },
		{ "createContainer", &s->hooks.create_container },
		{ "startContainer", &s->hooks.start_container },
		{ "poststart", &s->hooks.poststart },
		{ "poststop", &s->hooks.poststop },
	};

	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		for (size_t i = 0; i < lists[k].l->n; i++) {
			const struct oci_hook *h = &lists[k].l->v[i];

			if (!h->path || !*h->path)
				return bad(err, name, "hooks.%s[%zu].path: required", lists[k].kind, i);
			if (!is_abs(h->path))
				return bad(err, name,
					   "hooks.%s[%zu].path: must be an absolute path, got \"%s\"",
					   lists[k].kind, i, h->path);
			if (h->has_timeout && h->timeout <= 0)
				return bad(err, name,
					   "hooks.%s[%zu].timeout: must be greater than zero, got %d",
					   lists[k].kind, i, h->timeout);
		}
	}
	return 0;
}

static int validate_annotations(const struct oci_spec *s, const char *name, struct plx_err *err)
{
	const char *key;
	json_t *v;

	if (!s->annotations)
		return 0;
	json_object_foreach(s->annotations, key, v)
		if (!*key)
			return bad(err, name, "annotations: keys must not be empty");
	return 0;
}

/* ---- linux ---- */

static int validate_namespaces(const struct oci_spec *s, const char *name, struct plx_err *err)
{
	const struct oci_linux *l = s->linux;
	const struct oci_namespace *user = oci_spec_namespace(s, "user");

	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct oci_namespace *ns = &l->namespaces[i];

		if (!ns->type)
			return bad(err, name, "linux.namespaces[%zu].type: required", i);
		if (!ns->flag)
			return bad(err, name, "linux.namespaces[%zu].type: unknown namespace type \"%s\"", i,
				   ns->type);
		for (size_t j = 0; j < i; j++)
			if (l->namespaces[j].flag == ns->flag)
				return bad(err, name,
					   "linux.namespaces[%zu].type: duplicate namespace \"%s\"", i,
					   ns->type);
		if (ns->path && !is_abs(ns->path))
			return bad(err, name,
				   "linux.namespaces[%zu].path: must be an absolute path, got \"%s\"", i,
				   ns->path);
	}
	if (!user && (l->n_uid_mappings || l->n_gid_mappings))
		return bad(err, name, "linux.%s: user namespace remapping requires a user namespace",
			   l->n_uid_mappings ? "uidMappings" : "gidMappings");
	if (user && !user->path && (!l->n_uid_mappings || !l->n_gid_mappings))
		return bad(err, name, "linux.%s: a new user namespace needs both uidMappings and gidMappings",
			   l->n_uid_mappings ? "gidMappings" : "uidMappings");
	return 0;
}

static int validate_devices(const struct oci_linux *l, const char *name, struct plx_err *err)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct oci_device *d = &l->devices[i];

		if (!char_in(d->type, "cbup"))
			return bad(err, name, "linux.devices[%zu].type: must be one of c, b, u, p", i);
		if (!d->path || !*d->path)
			return bad(err, name, "linux.devices[%zu].path: required", i);
		if (!is_abs(d->path))
			return bad(err, name, "linux.devices[%zu].path: must be an absolute path, got \"%s\"",
				   i, d->path);
		if (d->type != 'p' && d->major < 0)
			return bad(err, name,
				   "linux.devices[%zu].major: required (non-negative) for type '%c'", i,
				   d->type);
		if (d->type != 'p' && d->minor < 0)
			return bad(err, name,
				   "linux.devices[%zu].minor: required (non-negative) for type '%c'", i,
				   d->type);
	}
	return 0;
}

/*
 * A cgroupfs path (absolute, or relative to the runtime's cgroup as the
 * spec allows) or the systemd form "slice:prefix:name".
 */
static int validate_cgroups_path(const char *p, const char *name, struct plx_err *err)
{
	const char *c1 = strchr(p, ':');

	if (c1) {
		const char *c2 = strchr(c1 + 1, ':');
		size_t slice_len = (size_t)(c1 - p);

		if (!c2 || strchr(c2 + 1, ':') || !c2[1])
			return bad(
				err, name,
				"linux.cgroupsPath: \"%s\" is not of the form \"slice:prefix:name\" (systemd) or a path",
				p);
		if (memchr(p, '/', (size_t)(c2 - p)) || strchr(c2 + 1, '/'))
			return bad(
				err, name,
				"linux.cgroupsPath: \"%s\": systemd slice:prefix:name must not contain '/'",
				p);
		if (slice_len && (slice_len < 6 || memcmp(c1 - 6, ".slice", 6) != 0))
			return bad(err, name, "linux.cgroupsPath: \"%s\": slice must end in \".slice\"", p);
		return 0;
	}
	for (const char *q = p; (q = strstr(q, "..")); q += 2)
		if ((q == p || q[-1] == '/') && (q[2] == '\0' || q[2] == '/'))
			return bad(err, name, "linux.cgroupsPath: \"%s\" must not contain \"..\"", p);
	return 0;
}

static int validate_resources(const struct oci_resources *res, const char *name, struct plx_err *err)
{
	for (size_t i = 0; i < res->n_devices; i++) {
		const struct oci_device_rule *d = &res->devices[i];

		if (!char_in(d->type, "acb"))
			return bad(err, name, "linux.resources.devices[%zu].type: must be one of a, c, b", i);
		if (d->access && strspn(d->access, "rwm") != strlen(d->access))
			return bad(err, name,
				   "linux.resources.devices[%zu].access: \"%s\" is not a subset of \"rwm\"",
				   i, d->access);
	}
	for (size_t i = 0; i < res->n_hugepage_limits; i++)
		if (!res->hugepage_limits[i].page_size || !*res->hugepage_limits[i].page_size)
			return bad(err, name, "linux.resources.hugepageLimits[%zu].pageSize: required", i);
	for (size_t i = 0; i < res->n_unified; i++)
		if (!*res->unified[i].key || strchr(res->unified[i].key, '/'))
			return bad(err, name, "linux.resources.unified[\"%s\"]: not a cgroup file name",
				   res->unified[i].key);
	return 0;
}

static int validate_seccomp(const struct oci_seccomp *sc, const char *name, struct plx_err *err)
{
	if (!sc->default_action)
		return bad(err, name, "linux.seccomp.defaultAction: required");
	if (!oci_seccomp_action_known(sc->default_action))
		return bad(err, name, "linux.seccomp.defaultAction: unknown action \"%s\"",
			   sc->default_action);
	if (strcmp(sc->default_action, "SCMP_ACT_NOTIFY") == 0)
		return bad(err, name,
			   "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++)
		if (!oci_seccomp_arch_known(sc->architectures[i]))
			return bad(err, name, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"",
				   i, sc->architectures[i]);
	for (size_t i = 0; sc->flags && sc->flags[i]; i++)
		if (!oci_seccomp_flag_known(sc->flags[i]))
			return bad(err, name, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
				   sc->flags[i]);
	for (size_t i = 0; i < sc->n_syscalls; i++) {
		const struct oci_syscall *s = &sc->syscalls[i];

		if (!s->names)
			return bad(err, name, "linux.seccomp.syscalls[%zu].names: required", i);
		if (!s->action)
			return bad(err, name, "linux.seccomp.syscalls[%zu].action: required", i);
		if (!oci_seccomp_action_known(s->action))
			return bad(err, name, "linux.seccomp.syscalls[%zu].action: unknown action \"%s\"", i,
				   s->action);
		/* the notifying process could never be told: it would write to the agent */
		if (strcmp(s->action, "SCMP_ACT_NOTIFY") == 0 && plx_strv_contains(s->names, "write"))
			return bad(
				err, name,
				"linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
				i);
		for (size_t j = 0; j < s->n_args; j++) {
			const struct oci_seccomp_arg *a = &s->args[j];

			if (a->index > 5)
				return bad(
					err, name,
					"linux.seccomp.syscalls[%zu].args[%zu].index: value %u out of range 0..5",
					i, j, a->index);
			if (!a->op)
				return bad(err, name, "linux.seccomp.syscalls[%zu].args[%zu].op: required", i,
					   j);
			if (!oci_seccomp_op_known(a->op))
				return bad(
					err, name,
					"linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"",
					i, j, a->op);
		}
	}
	return 0;
}

static int validate_time_offsets(const struct oci_spec *s, const char *name, struct plx_err *err)
{
	const struct oci_linux *l = s->linux;

	if (l->n_time_offsets && !oci_spec_namespace(s, "time"))
		return bad(err, name, "linux.timeOffsets: time offsets require a new time namespace");
	for (size_t i = 0; i < l->n_time_offsets; i++) {
		const struct oci_time_offset *t = &l->time_offsets[i];

		if (strcmp(t->clock, "monotonic") != 0 && strcmp(t->clock, "boottime") != 0)
			return bad(err, name,
				   "linux.timeOffsets[\"%s\"]: unknown clock (monotonic or boottime)",
				   t->clock);
		if (t->nanosecs >= 1000000000u)
			return bad(err, name,
				   "linux.timeOffsets[\"%s\"].nanosecs: value %u out of range 0..999999999",
				   t->clock, t->nanosecs);
	}
	return 0;
}

static int validate_linux(const struct oci_spec *s, const char *name, struct plx_err *err)
{
	const struct oci_linux *l = s->linux;
	int r;

	r = validate_namespaces(s, name, err);
	if (r < 0)
		return r;
	r = validate_devices(l, name, err);
	if (r < 0)
		return r;
	if (l->cgroups_path && *l->cgroups_path) {
		r = validate_cgroups_path(l->cgroups_path, name, err);
		if (r < 0)
			return r;
	}
	if (l->resources) {
		r = validate_resources(l->resources, name, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->n_sysctl; i++)
		if (!*l->sysctl[i].key)
			return bad(err, name, "linux.sysctl: keys must not be empty");
	if (l->seccomp) {
		r = validate_seccomp(l->seccomp, name, err);
		if (r < 0)
			return r;
	}
	if (l->rootfs_propagation && !oci_propagation_known(l->rootfs_propagation))
		return bad(err, name, "linux.rootfsPropagation: unknown propagation \"%s\"",
			   l->rootfs_propagation);
	if (l->personality) {
		const char *d = l->personality->domain;

		if (!d)
			return bad(err, name, "linux.personality.domain: required");
		if (strcmp(d, "LINUX") != 0 && strcmp(d, "LINUX32") != 0)
			return bad(err, name,
				   "linux.personality.domain: unknown domain \"%s\" (LINUX or LINUX32)", d);
	}
	return validate_time_offsets(s, name, err);
}

int oci_spec_validate(const struct oci_spec *s, struct plx_err *err)
{
	const char *name = s->source ? s->source : "config.json";
	int r;

	if (!s->oci_version || !*s->oci_version)
		return bad(err, name, "ociVersion: required");
	if (!version_1x(s->oci_version))
		return bad(err, name, "ociVersion: unsupported version \"%s\" (supported: 1.x, up to %s)",
			   s->oci_version, OCI_RUNTIME_SPEC_VERSION);
	if (!s->root)
		return bad(err, name, "root: required");
	if (!s->root->path || !*s->root->path)
		return bad(err, name, "root.path: required");
	if (s->process) {
		r = oci_process_validate(s->process, name, "process", err);
		if (r < 0)
			return r;
	}
	/* runc's rules: only a private UTS namespace may be renamed */
	if (s->hostname && *s->hostname && !oci_spec_namespace(s, "uts"))
		return bad(err, name, "hostname: unable to set hostname without a new UTS namespace");
	if (s->domainname && *s->domainname && !oci_spec_namespace(s, "uts"))
		return bad(err, name, "domainname: unable to set domainname without a new UTS namespace");
	r = validate_mounts(s, name, err);
	if (r < 0)
		return r;
	r = validate_hooks(s, name, err);
	if (r < 0)
		return r;
	r = validate_annotations(s, name, err);
	if (r < 0)
		return r;
	if (s->linux)
		return validate_linux(s, name, err);
	return 0;
}
