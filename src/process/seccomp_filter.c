/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp_filter.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "process/json_cleanup.h"
#include "process/sendfd.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

#define SYSCALL_MAX_ARGS 6

DEFINE_CLEANUP_FUNC(seccomp_releasep, void, seccomp_release)
#define __do_seccomp_release __attribute__((cleanup(seccomp_releasep)))

int plx_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *out)
{
	uint32_t ret = has_errno ? errno_ret : EPERM;

	if (!name)
		return -EINVAL;
	if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SCMP_ACT_KILL_THREAD;
	else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
		*out = SCMP_ACT_TRAP;
	else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		*out = SCMP_ACT_ERRNO(ret);
	else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		*out = SCMP_ACT_TRACE(ret);
	else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
		*out = SCMP_ACT_ALLOW;
	else if (strcmp(name, "SCMP_ACT_LOG") == 0)
		*out = SCMP_ACT_LOG;
	else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		*out = SCMP_ACT_NOTIFY;
	else
		return -EINVAL;
	return 0;
}

bool plx_seccomp_uses_notify(const struct oci_seccomp *s)
{
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (s->syscalls[i].action && strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
			return true;
	return false;
}

static int op_from_name(const char *name, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE },
		{ "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE },
		{ "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};

	for (size_t i = 0; name && i < ARRAY_SIZE(ops); i++) {
		if (strcmp(ops[i].name, name) == 0) {
			*out = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" */
static uint32_t arch_from_name(const char *name)
{
	char lower[32];
	size_t i;

	if (strncmp(name, "SCMP_ARCH_", 10) != 0)
		return 0;
	name += 10;
	for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static int set_flags(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct plx_err *err)
{
	bool notify = plx_seccomp_uses_notify(s);
	int r = 0;

	for (size_t i = 0; s->flags && s->flags[i]; i++) {
		const char *f = s->flags[i];

		if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0) {
			/* a single-threaded init gains nothing from TSYNC; older kernels refuse it with a listener */
			if (notify && seccomp_api_get() < 6) {
				log_debug(
					"linux.seccomp.flags: %s dropped: needs seccomp API level 6 with notify",
					f);
				continue;
			}
			r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
		} else if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0) {
			r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
		} else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0) {
			r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
		} else if (strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) {
			const struct scmp_version *v = seccomp_version();
			return plx_err_set(
				err, EOPNOTSUPP,
				"linux.seccomp.flags[%zu]: %s needs libseccomp >= 2.6 (have %u.%u.%u)", i, f,
				v->major, v->minor, v->micro);
		} else {
			return plx_err_set(err, EINVAL, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
					   f);
		}
		if (r < 0)
			return plx_err_sys(err, -r, "linux.seccomp.flags[%zu]: %s", i, f);
	}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct oci_syscall *sc, size_t i, uint32_t action,
		     struct plx_err *err)
{
	struct scmp_arg_cmp conds[SYSCALL_MAX_ARGS * 4];
	unsigned int per_index[SYSCALL_MAX_ARGS] = { 0 };
	bool separate = false;

	if (sc->n_args > ARRAY_SIZE(conds))
		return plx_err_set(err, E2BIG, "linux.seccomp.syscalls[%zu].args: more than %zu conditions",
				   i, ARRAY_SIZE(conds));
	for (size_t a = 0; a < sc->n_args; a++) {
		const struct oci_seccomp_arg *arg = &sc->args[a];
		enum scmp_compare op;

		if (arg->index >= SYSCALL_MAX_ARGS)
			return plx_err_set(
				err, EINVAL,
				"linux.seccomp.syscalls[%zu].args[%zu].index: %u out of range 0..5", i, a,
				arg->index);
		if (op_from_name(arg->op, &op) < 0)
			return plx_err_set(
				err, EINVAL,
				"linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"", i, a,
				arg->op ? arg->op : "");
		/* MASKED_EQ: value is the mask, valueTwo the datum (runc's MakeCondition) */
		conds[a] = (struct scmp_arg_cmp){
			.arg = arg->index, .op = op, .datum_a = arg->value, .datum_b = arg->value_two
		};
		if (++per_index[arg->index] > 1)
			separate = true;
	}

	for (size_t j = 0; sc->names && sc->names[j]; j++) {
		const char *name = sc->names[j];
		int nr = seccomp_syscall_resolve_name(name);
		int r;

		if (nr == __NR_SCMP_ERROR) {
			log_debug("linux.seccomp.syscalls[%zu]: unknown syscall \"%s\" skipped", i, name);
			continue;
		}
		if (separate) {
			/* libseccomp ANDs conditions; two on one argument can't both hold, so runc splits them */
			r = 0;
			for (size_t a = 0; a < sc->n_args && r >= 0; a++)
				r = seccomp_rule_add_array(ctx, action, nr, 1, &conds[a]);
		} else {
			r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)sc->n_args, conds);
		}
		if (r < 0)
			return plx_err_sys(err, -r, "linux.seccomp.syscalls[%zu]: add rule for %s", i, name);
	}
	return 0;
}

int plx_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out, struct plx_err *err)
{
	uint32_t def;

	if (plx_seccomp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &def) < 0)
		return plx_err_set(err, EINVAL, "linux.seccomp.defaultAction: unknown action \"%s\"",
				   s->default_action ? s->default_action : "");
	if (def == SCMP_ACT_NOTIFY)
		return plx_err_set(
			err, EINVAL,
			"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

	__do_seccomp_release scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return plx_err_set(err, EINVAL, "linux.seccomp: cannot create a filter for defaultAction %s",
				   s->default_action);
	/* no_new_privs is process.noNewPrivileges' business, not the filter's */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return plx_err_sys(err, -r, "linux.seccomp: clear the no_new_privs attribute");

	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		uint32_t arch = arch_from_name(s->architectures[i]);
		if (!arch)
			return plx_err_set(err, EINVAL,
					   "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i,
					   s->architectures[i]);
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return plx_err_sys(err, -r, "linux.seccomp.architectures[%zu]: add %s", i,
					   s->architectures[i]);
	}

	r = set_flags(ctx, s, err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_syscall *sc = &s->syscalls[i];
		uint32_t action;

		if (plx_seccomp_action(sc->action, sc->has_errno_ret, sc->errno_ret, &action) < 0)
			return plx_err_set(err, EINVAL,
					   "linux.seccomp.syscalls[%zu].action: unknown action \"%s\"", i,
					   sc->action ? sc->action : "");
		if (action == def) {
			/* libseccomp refuses such a rule; it changes nothing anyway */
			continue;
		}
		if (action == SCMP_ACT_NOTIFY && sc->names && plx_strv_contains(sc->names, "sendmsg"))
			return plx_err_set(
				err, EINVAL,
				"linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used for sendmsg "
				"(the init hands the notify fd over with it)",
				i);
		r = add_rules(ctx, sc, i, action, err);
		if (r < 0)
			return r;
	}
	*out = steal_ptr(ctx);
	return 0;
}

/* runc's specs.ContainerProcessState, built before loading: nothing may allocate after */
static int agent_payload(const struct oci_seccomp *s, const char *state_json, char **out, struct plx_err *err)
{
	json_error_t jerr;

	__do_json_decref json_t *state = json_loads(state_json ? state_json : "", 0, &jerr);
	if (!json_is_object(state))
		return plx_err_set(err, EINVAL, "seccomp agent: container state is not a JSON object");
	json_t *pid = json_object_get(state, "pid");
	__do_json_decref json_t *msg =
		json_pack("{s:s, s:[s], s:I}", "ociVersion", OCI_RUNTIME_SPEC_VERSION, "fds", "seccompFd",
			  "pid", (json_int_t)(json_is_integer(pid) ? json_integer_value(pid) : 0));
	if (!msg)
		return plx_err_set(err, ENOMEM, "seccomp agent message");
	if (s->listener_metadata && *s->listener_metadata &&
	    json_object_set_new(msg, "metadata", json_string(s->listener_metadata)) < 0)
		return plx_err_set(err, ENOMEM, "seccomp agent message");
	if (json_object_set(msg, "state", state) < 0)
		return plx_err_set(err, ENOMEM, "seccomp agent message");
	*out = json_dumps(msg, JSON_COMPACT);
	return *out ? 0 : plx_err_set(err, ENOMEM, "seccomp agent message");
}

int plx_seccomp_load(const struct oci_seccomp *s, int listener, const char *state_json, struct plx_err *err)
{
	__do_seccomp_release scmp_filter_ctx ctx = NULL;
	__do_free char *payload = NULL;
	bool notify = plx_seccomp_uses_notify(s);

	int r = plx_seccomp_build(s, &ctx, err);
	if (r < 0)
		return r;
	if (notify) {
		if (!s->listener_path || !*s->listener_path)
			return plx_err_set(err, EINVAL,
					   "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
		if (listener < 0)
			return plx_err_set(
				err, ENOTCONN,
				"linux.seccomp.listenerPath %s: no connection to the seccomp agent was passed",
				s->listener_path);
		r = agent_payload(s, state_json, &payload, err);
		if (r < 0)
			return r;
	}

	r = seccomp_load(ctx);
	if (r < 0)
		return plx_err_sys(err, -r, "load the seccomp filter");
	if (!notify)
		return 0;

	int nfd = seccomp_notify_fd(ctx);
	if (nfd < 0)
		return plx_err_sys(err, -nfd, "seccomp notify fd");
	r = plx_sendmsg_fd(listener, payload, strlen(payload), nfd, "seccomp agent socket", err);
	close(nfd);
	if (r < 0)
		return plx_err_prefix(err, "linux.seccomp.listenerPath %s", s->listener_path);
	return 0;
}
