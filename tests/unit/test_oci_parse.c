/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <unistd.h>
#include <cmocka.h>

#include "oci/spec.h"
#include "util/cleanup.h"

static char *read_fixture(const char *name, size_t *len)
{
	char path[4096];
	char *buf = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/oci/%s", PLX_TEST_DATA, name);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(getdelim(&buf, &cap, '\0', f) > 0, 1);
	*len = strlen(buf);
	fclose(f);
	return buf;
}

static struct oci_spec *parse(const char *json, struct plx_err *err)
{
	struct oci_spec *spec = NULL;
	int r = oci_spec_parse(json, strlen(json), "config.json", &spec, err);

	if (r < 0) {
		assert_null(spec);
		assert_int_equal(r, -err->code);
		return NULL;
	}
	assert_non_null(spec);
	return spec;
}

/* Parsing must fail with exactly msg. */
static void expect_error(const char *json, const char *msg)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_spec *spec = parse(json, &err);

	if (spec)
		fail_msg("parsed without error: %s", json);
	assert_int_equal(err.code, EINVAL);
	assert_string_equal(err.msg, msg);
	plx_err_clear(&err);
}

static void test_full_config(void **state)
{
	__do_free char *buf = NULL;
	__do_oci_spec_free struct oci_spec *s = NULL;
	struct plx_err err = PLX_ERR_INIT;
	const struct oci_process *p;
	const struct oci_linux *l;
	const struct oci_resources *res;
	const struct oci_seccomp *sc;
	size_t len;

	buf = read_fixture("full.json", &len);
	assert_int_equal(oci_spec_parse(buf, len, "full.json", &s, &err), 0);
	assert_string_equal(s->source, "full.json");
	assert_string_equal(s->oci_version, "1.2.0");

	p = s->process;
	assert_non_null(p);
	assert_true(p->terminal);
	assert_true(p->has_console_size);
	assert_int_equal(p->console_height, 25);
	assert_int_equal(p->console_width, 80);
	assert_string_equal(p->cwd, "/work");
	assert_string_equal(p->args[0], "/bin/sh");
	assert_string_equal(p->args[2], "echo hi");
	assert_null(p->args[3]);
	assert_string_equal(p->command_line, "windows only");
	assert_string_equal(p->env[2], "EMPTY=");
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 18);
	assert_int_equal(p->user.n_additional_gids, 3);
	assert_int_equal(p->user.additional_gids[1], 6);
	assert_int_equal(p->user.additional_gids[2], UINT32_MAX);
	assert_string_equal(p->user.username, "ignored");
	assert_non_null(p->capabilities);
	assert_string_equal(p->capabilities->bounding[1], "CAP_KILL");
	assert_non_null(p->capabilities->inheritable);
	assert_null(p->capabilities->inheritable[0]);
	assert_string_equal(p->capabilities->permitted[1], "CAP_CHECKPOINT_RESTORE");
	assert_string_equal(p->capabilities->ambient[0], "CAP_NET_BIND_SERVICE");
	assert_int_equal(p->n_rlimits, 2);
	assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[0].hard, 4096);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_MEMLOCK);
	assert_true(p->rlimits[1].soft == UINT64_MAX);
	assert_true(p->rlimits[1].hard == UINT64_MAX);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "docker-default");
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");
	assert_string_equal(p->io_priority->klass, "IOPRIO_CLASS_BE");
	assert_int_equal(p->io_priority->priority, 4);
	assert_string_equal(p->scheduler->policy, "SCHED_DEADLINE");
	assert_true(p->scheduler->has_nice);
	assert_int_equal(p->scheduler->nice, -5);
	assert_true(p->scheduler->has_priority);
	assert_string_equal(p->scheduler->flags[0], "SCHED_FLAG_RESET_ON_FORK");
	assert_int_equal(p->scheduler->runtime, 10000000);
	assert_int_equal(p->scheduler->deadline, 20000000);
	assert_true(p->scheduler->has_period);
	assert_int_equal(p->scheduler->period, 30000000);

	assert_string_equal(s->root->path, "rootfs");
	assert_true(s->root->readonly);
	assert_string_equal(s->hostname, "box");
	assert_string_equal(s->domainname, "example.org");

	assert_int_equal(s->n_mounts, 3);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_null(s->mounts[0].options);
	assert_string_equal(s->mounts[1].source, "/srv/data");
	assert_string_equal(s->mounts[1].options[2], "idmap");
	assert_int_equal(s->mounts[1].n_uid_mappings, 1);
	assert_int_equal(s->mounts[1].uid_mappings[0].host_id, 100000);
	assert_int_equal(s->mounts[1].gid_mappings[0].host_id, 200000);
	assert_int_equal(s->mounts[1].gid_mappings[0].size, 65536);
	assert_null(s->mounts[2].type);
	assert_null(s->mounts[2].source);

	assert_int_equal(s->hooks.prestart.n, 1);
	assert_string_equal(s->hooks.prestart.v[0].path, "/usr/bin/pre");
	assert_false(s->hooks.prestart.v[0].has_timeout);
	assert_string_equal(s->hooks.create_runtime.v[0].args[1], "a");
	assert_string_equal(s->hooks.create_runtime.v[0].env[0], "A=1");
	assert_true(s->hooks.create_runtime.v[0].has_timeout);
	assert_int_equal(s->hooks.create_runtime.v[0].timeout, 5);
	assert_string_equal(s->hooks.create_container.v[0].path, "/usr/bin/cc");
	assert_string_equal(s->hooks.start_container.v[0].path, "/usr/bin/sc");
	assert_int_equal(s->hooks.poststart.n, 2);
	assert_int_equal(s->hooks.poststart.v[1].timeout, 1);
	assert_string_equal(s->hooks.poststop.v[0].path, "/usr/bin/pstop");

	/* annotations stay the document's own object */
	assert_ptr_equal(s->annotations, json_object_get(s->doc, "annotations"));
	assert_string_equal(json_string_value(json_object_get(s->annotations, "org.example.key")), "value");

	l = s->linux;
	assert_non_null(l);
	assert_int_equal(l->n_namespaces, 8);
	assert_int_equal(l->namespaces[0].flag, CLONE_NEWPID);
	assert_string_equal(l->namespaces[1].path, "/var/run/netns/x");
	assert_int_equal(l->namespaces[1].flag, CLONE_NEWNET);
	assert_null(l->namespaces[2].path);
	assert_int_equal(l->namespaces[2].flag, CLONE_NEWNS);
	assert_int_equal(l->namespaces[5].flag, CLONE_NEWUSER);
	assert_int_equal(l->namespaces[7].flag, 0x80); /* CLONE_NEWTIME */
	assert_ptr_equal(oci_spec_namespace(s, "uts"), &l->namespaces[4]);
	assert_null(oci_spec_namespace(s, "nope"));
	assert_int_equal(l->uid_mappings[0].container_id, 0);
	assert_int_equal(l->uid_mappings[0].host_id, 100000);
	assert_int_equal(l->gid_mappings[0].host_id, 200000);
	assert_int_equal(l->n_time_offsets, 2);
	assert_string_equal(l->time_offsets[0].clock, "monotonic");
	assert_int_equal(l->time_offsets[0].secs, -3);
	assert_int_equal(l->time_offsets[0].nanosecs, 500);
	assert_string_equal(l->time_offsets[1].clock, "boottime");
	assert_int_equal(l->n_devices, 2);
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_file_mode);
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_true(l->devices[0].has_uid);
	assert_int_equal(l->devices[1].type, 'p');
	assert_int_equal(l->devices[1].major, -1);
	assert_false(l->devices[1].has_gid);
	assert_string_equal(l->cgroups_path, "/plx/test");

	res = l->resources;
	assert_non_null(res);
	assert_int_equal(res->n_devices, 2);
	assert_false(res->devices[0].allow);
	assert_int_equal(res->devices[0].type, 'a');
	assert_int_equal(res->devices[0].major, -1);
	assert_string_equal(res->devices[0].access, "rwm");
	assert_true(res->devices[1].allow);
	assert_int_equal(res->devices[1].type, 'c');
	assert_int_equal(res->devices[1].minor, 229);
	assert_int_equal(res->memory->limit, 536870912);
	assert_true(res->memory->has_reservation);
	assert_int_equal(res->memory->swap, 1073741824);
	assert_int_equal(res->memory->kernel, -1);
	assert_true(res->memory->has_kernel_tcp);
	assert_int_equal(res->memory->swappiness, 60);
	assert_true(res->memory->has_disable_oom_killer);
	assert_false(res->memory->disable_oom_killer);
	assert_true(res->memory->use_hierarchy);
	assert_true(res->memory->check_before_update);
	assert_int_equal(res->cpu->shares, 1024);
	assert_int_equal(res->cpu->quota, 100000);
	assert_int_equal(res->cpu->burst, 5000);
	assert_int_equal(res->cpu->period, 100000);
	assert_int_equal(res->cpu->realtime_runtime, 950000);
	assert_int_equal(res->cpu->realtime_period, 1000000);
	assert_string_equal(res->cpu->cpus, "0-1");
	assert_string_equal(res->cpu->mems, "0");
	assert_true(res->cpu->has_idle);
	assert_int_equal(res->cpu->idle, 1);
	assert_true(res->has_pids_limit);
	assert_int_equal(res->pids_limit, 32);
	assert_int_equal(res->block_io->weight, 500);
	assert_int_equal(res->block_io->leaf_weight, 300);
	assert_int_equal(res->block_io->weight_device[0].major, 8);
	assert_int_equal(res->block_io->weight_device[0].weight, 600);
	assert_int_equal(res->block_io->weight_device[0].leaf_weight, 200);
	assert_int_equal(res->block_io->throttle_read_bps[0].rate, 1048576);
	assert_int_equal(res->block_io->throttle_write_bps[0].minor, 16);
	assert_int_equal(res->block_io->throttle_read_iops[0].rate, 100);
	assert_int_equal(res->block_io->throttle_write_iops[0].rate, 200);
	assert_string_equal(res->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(res->hugepage_limits[0].limit, 209715200);
	assert_true(res->has_net_class_id);
	assert_int_equal(res->net_class_id, 1048577);
	assert_string_equal(res->net_priorities[0].name, "eth0");
	assert_int_equal(res->net_priorities[0].priority, 500);
	assert_int_equal(res->n_unified, 2);
	assert_string_equal(res->unified[0].key, "memory.high");
	assert_string_equal(res->unified[1].value, "default 100");

	assert_string_equal(l->intel_rdt->clos_id, "guaranteed");
	assert_string_equal(l->intel_rdt->l3_cache_schema, "L3:0=7f0");
	assert_string_equal(l->intel_rdt->mem_bw_schema, "MB:0=20");
	assert_true(l->intel_rdt->enable_cmt);
	assert_false(l->intel_rdt->enable_mbm);
	assert_int_equal(l->n_sysctl, 2);
	assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(l->sysctl[0].value, "1");

	sc = l->seccomp;
	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_string_equal(sc->architectures[1], "SCMP_ARCH_X86");
	assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(sc->listener_path, "/run/seccomp-agent.sock");
	assert_string_equal(sc->listener_metadata, "meta");
	assert_int_equal(sc->n_syscalls, 4);
	assert_string_equal(sc->syscalls[0].names[1], "write");
	assert_false(sc->syscalls[0].has_errno_ret);
	assert_int_equal(sc->syscalls[1].n_args, 2);
	assert_int_equal(sc->syscalls[1].args[0].value, 4294967295u);
	assert_false(sc->syscalls[1].args[0].has_value_two);
	assert_int_equal(sc->syscalls[1].args[1].index, 1);
	assert_true(sc->syscalls[1].args[1].value == UINT64_MAX);
	assert_true(sc->syscalls[1].args[1].has_value_two);
	assert_int_equal(sc->syscalls[1].args[1].value_two, 2);
	assert_string_equal(sc->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
	assert_true(sc->syscalls[2].has_errno_ret);
	assert_int_equal(sc->syscalls[2].errno_ret, 38);

	assert_string_equal(l->rootfs_propagation, "rslave");
	assert_string_equal(l->masked_paths[1], "/sys/firmware");
	assert_string_equal(l->readonly_paths[0], "/proc/sys");
	assert_string_equal(l->mount_label, "system_u:object_r:container_file_t:s0");
	assert_string_equal(l->personality->domain, "LINUX32");
	assert_null(l->personality->flags[0]);

	assert_int_equal(oci_spec_validate(s, &err), 0);
	plx_err_clear(&err);
}

struct error_case {
	const char *json;
	const char *msg;
};

static void test_type_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "{\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1\"}}}}",
		  "config.json: linux.resources.memory.limit: expected integer, got string" },
		{ "{\"mounts\":[{},{},{\"destination\":5}]}",
		  "config.json: mounts[2].destination: expected string, got integer" },
		{ "{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":1}}}",
		  "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: expected string, got integer" },
		{ "{\"linux\":{\"sysctl\":{\"a\\\"b\\n\":true}}}",
		  "config.json: linux.sysctl[\"a\\\"b\\u000a\"]: expected string, got boolean" },
		{ "{\"process\":{\"terminal\":\"yes\"}}",
		  "config.json: process.terminal: expected boolean, got string" },
		{ "{\"process\":{\"args\":\"sh\"}}",
		  "config.json: process.args: expected array, got string" },
		{ "{\"process\":{\"args\":[\"sh\",1]}}",
		  "config.json: process.args[1]: expected string, got integer" },
		{ "{\"process\":{\"args\":[\"sh\",null]}}",
		  "config.json: process.args[1]: expected string, got null" },
		{ "{\"process\":{\"oomScoreAdj\":1.5}}",
		  "config.json: process.oomScoreAdj: expected integer, got float" },
		{ "{\"process\":{\"user\":[]}}", "config.json: process.user: expected object, got array" },
		{ "{\"process\":{\"user\":{\"additionalGids\":[1,\"2\"]}}}",
		  "config.json: process.user.additionalGids[1]: expected integer, got string" },
		{ "{\"process\":{\"capabilities\":{\"ambient\":{}}}}",
		  "config.json: process.capabilities.ambient: expected array, got object" },
		{ "{\"linux\":[]}", "config.json: linux: expected object, got array" },
		{ "[]", "config.json: expected object, got array" },
		{ "\"x\"", "config.json: expected object, got string" },
		{ "{\"root\":{\"path\":\"r\",\"readonly\":1}}",
		  "config.json: root.readonly: expected boolean, got integer" },
		{ "{\"hooks\":{\"poststop\":[{\"path\":\"/x\",\"timeout\":true}]}}",
		  "config.json: hooks.poststop[0].timeout: expected integer, got boolean" },
		{ "{\"hooks\":{\"prestart\":{}}}",
		  "config.json: hooks.prestart: expected array, got object" },
		{ "{\"annotations\":{\"a\":1}}",
		  "config.json: annotations[\"a\"]: expected string, got integer" },
		{ "{\"annotations\":[]}", "config.json: annotations: expected object, got array" },
		{ "{\"linux\":{\"timeOffsets\":{\"monotonic\":{\"secs\":\"1\"}}}}",
		  "config.json: linux.timeOffsets[\"monotonic\"].secs: expected integer, got string" },
		{ "{\"linux\":{\"seccomp\":{\"syscalls\":[{\"names\":[\"x\"],\"args\":[{\"value\":-1}]}]}}}",
		  "config.json: linux.seccomp.syscalls[0].args[0].value: value -1 out of range 0..18446744073709551615" },
		{ "{\"linux\":{\"resources\":{\"unified\":{\"memory.max\":5}}}}",
		  "config.json: linux.resources.unified[\"memory.max\"]: expected string, got integer" },
		{ "{\"linux\":{\"devices\":[{\"type\":99}]}}",
		  "config.json: linux.devices[0].type: expected string, got integer" },
		/* ranges */
		{ "{\"process\":{\"user\":{\"uid\":-1}}}",
		  "config.json: process.user.uid: value -1 out of range 0..4294967295" },
		{ "{\"process\":{\"user\":{\"gid\":4294967296}}}",
		  "config.json: process.user.gid: value 4294967296 out of range 0..4294967295" },
		{ "{\"linux\":{\"resources\":{\"blockIO\":{\"weight\":70000}}}}",
		  "config.json: linux.resources.blockIO.weight: value 70000 out of range 0..65535" },
		{ "{\"process\":{\"oomScoreAdj\":2147483648}}",
		  "config.json: process.oomScoreAdj: value 2147483648 out of range -2147483648..2147483647" },
		{ "{\"process\":{\"scheduler\":{\"nice\":-2147483649}}}",
		  "config.json: process.scheduler.nice: value -2147483649 out of range -2147483648..2147483647" },
		{ "{\"linux\":{\"resources\":{\"memory\":{\"limit\":18446744073709551615}}}}",
		  "config.json: linux.resources.memory.limit: value 18446744073709551615 out of range "
		  "-9223372036854775808..9223372036854775807" },
		{ "{\"process\":{\"rlimits\":[{\"soft\":-1}]}}",
		  "config.json: process.rlimits[0].soft: value -1 out of range 0..18446744073709551615" },
		{ "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":\"x\"}]}}",
		  "config.json: process.rlimits[0].hard: expected integer, got string" },
		/* a wrapped big integer where a string is wanted is still an integer */
		{ "{\"hostname\":9223372036854775808}",
		  "config.json: hostname: expected string, got integer" },
		{ "{\"linux\":9223372036854775808}", "config.json: linux: expected object, got integer" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].json, cases[i].msg);
}

static void test_syntax_errors(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct plx_err err2 = PLX_ERR_INIT;

	assert_null(parse("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": }\n", &err));
	assert_string_equal(err.msg, "config.json:3:11: unexpected token near '}'");
	assert_null(parse("", &err));
	assert_string_equal(err.msg, "config.json:1:0: unexpected token near end of file");
	assert_null(parse("{\"a\":1} x", &err));
	assert_string_equal(err.msg, "config.json:1:9: end of file expected near 'x'");
	assert_null(parse("{\"a\":1e999}", &err));
	assert_string_equal(err.msg, "config.json:1:10: real number overflow near '1e999'");
	/* beyond uint64: still jansson's own error */
	assert_null(parse("{\"a\": 18446744073709551616}", &err));
	assert_string_equal(err.msg, "config.json:1:26: too big integer near '18446744073709551616'");
	/* after a wrapped big integer, columns still count the text as written */
	assert_null(parse("{\"a\": 18446744073709551615, \"b\": }", &err));
	assert_null(parse("{\"a\": -1844674407370955161, \"b\": }", &err2));
	assert_string_equal(err.msg, err2.msg);
	/* numbers inside strings are left alone, escaped quotes included */
	assert_null(
		parse("{\"x\": 18446744073709551615, \"a\": \"\\\" 9223372036854775808\", \"b\": }", &err));
	assert_null(
		parse("{\"x\": -1844674407370955161, \"a\": \"\\\" 9223372036854775808\", \"b\": }", &err2));
	assert_string_equal(err.msg, err2.msg);
	assert_string_equal(err.msg, "config.json:1:65: unexpected token near '}'");
	plx_err_clear(&err);
	plx_err_clear(&err2);
}

static void test_unknown_keys_and_nulls(void **state)
{
	__do_oci_spec_free struct oci_spec *s = NULL;
	struct plx_err err = PLX_ERR_INIT;

	s = parse(
		"{\"ociVersion\":\"1.0.0\",\"foo\":1,\"process\":{\"bar\":{},\"args\":[\"sh\"],\"cwd\":\"/\","
		"\"user\":{\"uid\":0,\"gid\":0,\"x\":[]}},\"root\":{\"path\":\"r\",\"baz\":[]},"
		"\"linux\":{\"seccomp\":null,\"namespaces\":[{\"type\":\"uts\",\"path\":\"\"}],\"resources\":{\"rdma\":"
		"{\"x\":{}}}},\"hooks\":null,\"annotations\":null,\"hostname\":null,\"mounts\":[]}",
		&err);
	assert_non_null(s);
	assert_string_equal(s->oci_version, "1.0.0");
	assert_string_equal(s->process->args[0], "sh");
	assert_null(s->linux->seccomp);
	assert_null(s->linux->namespaces[0].path); /* "" = new namespace */
	assert_null(s->annotations);
	assert_null(s->hostname);
	assert_null(s->mounts);
	assert_int_equal(s->n_mounts, 0);
	assert_int_equal(oci_spec_validate(s, &err), 0);
	plx_err_clear(&err);
}

static void test_big_integers_survive_dump(void **state)
{
	__do_oci_spec_free struct oci_spec *s = NULL;
	__do_oci_spec_free struct oci_spec *s2 = NULL;
	__do_free char *dumped = NULL;
	struct plx_err err = PLX_ERR_INIT;

	s = parse("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":9223372036854775808,"
		  "\"hard\":18446744073709551615}]}}",
		  &err);
	assert_non_null(s);
	assert_true(s->process->rlimits[0].soft == (uint64_t)INT64_MAX + 1);
	oci_spec_free(s);
	s = parse("{\"hostname\":\"9223372036854775808 \\\" 18446744073709551615\",\"process\":{\"rlimits\":"
		  "[{\"type\":\"RLIMIT_CORE\",\"soft\":9223372036854775808,\"hard\":18446744073709551615}]}}",
		  &err);
	assert_non_null(s);
	assert_string_equal(s->hostname, "9223372036854775808 \" 18446744073709551615");
	/* as the init receives it: dumped and decoded again by plain jansson */
	dumped = json_dumps(s->doc, JSON_COMPACT);
	assert_non_null(dumped);
	s2 = parse(dumped, &err);
	assert_non_null(s2);
	assert_true(s2->process->rlimits[0].soft == (uint64_t)INT64_MAX + 1);
	assert_true(s2->process->rlimits[0].hard == UINT64_MAX);
}

static void test_from_json_keeps_reference(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_spec *s = NULL;
	json_t *doc = json_pack("{s:s, s:{s:s}}", "ociVersion", "1.2.0", "root", "path", "rootfs");

	assert_int_equal(oci_spec_from_json(doc, NULL, &s, &err), 0);
	assert_ptr_equal(s->doc, doc);
	assert_int_equal(doc->refcount, 2);
	assert_string_equal(s->source, "config.json");
	assert_string_equal(s->root->path, "rootfs");
	oci_spec_free(s);
	assert_int_equal(doc->refcount, 1);
	json_decref(doc);
}

static void test_process_from_json(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_process *p = NULL;
	json_t *obj =
		json_pack("{s:[s,s], s:s, s:{s:i}}", "args", "ls", "-l", "cwd", "/tmp", "user", "uid", 7);

	assert_int_equal(oci_process_from_json(obj, "p.json", "", &p, &err), 0);
	assert_string_equal(p->args[1], "-l");
	assert_int_equal(p->user.uid, 7);
	assert_int_equal(oci_process_validate(p, "p.json", "", &err), 0);
	oci_process_free(p);
	p = NULL;
	json_decref(obj);

	obj = json_pack("{s:i}", "args", 1);
	assert_int_equal(oci_process_from_json(obj, "p.json", "", &p, &err), -EINVAL);
	assert_null(p);
	assert_string_equal(err.msg, "p.json: args: expected array, got integer");
	assert_int_equal(oci_process_from_json(obj, "config.json", "process", &p, &err), -EINVAL);
	assert_string_equal(err.msg, "config.json: process.args: expected array, got integer");
	json_decref(obj);

	obj = json_array();
	assert_int_equal(oci_process_from_json(obj, "p.json", "", &p, &err), -EINVAL);
	assert_string_equal(err.msg, "p.json: expected object, got array");
	json_decref(obj);
	plx_err_clear(&err);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/test_oci_parse.XXXXXX";
	char path[64];
	struct plx_err err = PLX_ERR_INIT;
	struct oci_spec *s = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);

	/* missing file: the error names it */
	assert_true(oci_spec_load(path, &s, &err) < 0);
	assert_null(s);
	assert_non_null(strstr(err.msg, path));

	f = fopen(path, "we");
	fputs("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}}", f);
	fclose(f);
	assert_int_equal(oci_spec_load(path, &s, &err), 0);
	assert_string_equal(s->source, path);
	oci_spec_free(s);
	s = NULL;

	/* load validates too */
	f = fopen(path, "we");
	fputs("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"rootfs\"}}", f);
	fclose(f);
	assert_int_equal(oci_spec_load(path, &s, &err), -EINVAL);
	assert_null(s);
	assert_true(strncmp(err.msg, path, strlen(path)) == 0);
	assert_non_null(strstr(err.msg, ": ociVersion: "));

	unlink(path);
	rmdir(dir);
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_keys_and_nulls),
		cmocka_unit_test(test_big_integers_survive_dump),
		cmocka_unit_test(test_from_json_keeps_reference),
		cmocka_unit_test(test_process_from_json),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
