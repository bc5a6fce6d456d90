/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "oci/spec.h"
#include "oci/spec_names.h"
#include "util/cleanup.h"

/* A minimal valid config; each case merges a patch into it (null removes). */
static const char base[] =
	"{'ociVersion':'1.2.0','root':{'path':'rootfs'},'process':{'args':['sh'],'cwd':'/'},"
	"'linux':{'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'uts'}]}}";

/* The cases are written with ' for " to stay readable. */
static json_t *load_quoted(const char *text)
{
	__do_free char *s = strdup(text);
	json_error_t jerr;
	json_t *v;

	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(s, 0, &jerr);
	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

/* Validate base+patch: expect NULL = valid, else the exact message. */
static void check(const char *patch, const char *expect)
{
	__do_oci_spec_free struct oci_spec *s = NULL;
	struct plx_err err = PLX_ERR_INIT;
	json_t *doc = load_quoted(base);
	json_t *p = load_quoted(patch);
	int r;

	assert_int_equal(json_object_update_recursive(doc, p), 0);
	json_decref(p);
	r = oci_spec_from_json(doc, "config.json", &s, &err);
	json_decref(doc);
	if (r < 0)
		fail_msg("parse failed for %s: %s", patch, err.msg);
	r = oci_spec_validate(s, &err);
	if (!expect) {
		if (r != 0)
			fail_msg("%s: unexpected error: %s", patch, err.msg);
	} else {
		if (r == 0)
			fail_msg("%s: accepted, expected: %s", patch, expect);
		assert_int_equal(r, -EINVAL);
		if (strcmp(err.msg, expect) != 0)
			fail_msg("%s:\n got: %s\nwant: %s", patch, err.msg, expect);
	}
	plx_err_clear(&err);
}

static void test_base_is_valid(void **state)
{
	check("{}", NULL);
	check("{'process':null}", NULL);
	check("{'linux':null}", NULL);
}

static void test_version(void **state)
{
	check("{'ociVersion':'1.0.2-dev'}", NULL);
	check("{'ociVersion':'1.0.0'}", NULL);
	check("{'ociVersion':'1.1'}", NULL);
	check("{'ociVersion':'1.2.0+dev'}", NULL);
	check("{'ociVersion':null}", "config.json: ociVersion: required");
	check("{'ociVersion':''}", "config.json: ociVersion: required");
	check("{'ociVersion':'2.0.0'}",
	      "config.json: ociVersion: unsupported version \"2.0.0\" (supported: 1.x, up to 1.2.0)");
	check("{'ociVersion':'garbage'}",
	      "config.json: ociVersion: unsupported version \"garbage\" (supported: 1.x, up to 1.2.0)");
	check("{'ociVersion':'1.'}",
	      "config.json: ociVersion: unsupported version \"1.\" (supported: 1.x, up to 1.2.0)");
	check("{'ociVersion':'1.0.x'}",
	      "config.json: ociVersion: unsupported version \"1.0.x\" (supported: 1.x, up to 1.2.0)");
	check("{'ociVersion':'10.0.0'}",
	      "config.json: ociVersion: unsupported version \"10.0.0\" (supported: 1.x, up to 1.2.0)");
}

static void test_root(void **state)
{
	check("{'root':{'path':'/abs/rootfs','readonly':true}}", NULL);
	check("{'root':null}", "config.json: root: required");
	check("{'root':{'path':null}}", "config.json: root.path: required");
	check("{'root':{'path':''}}", "config.json: root.path: required");
}

static void test_process(void **state)
{
	check("{'process':{'args':[]}}", "config.json: process.args: must not be empty");
	check("{'process':{'args':null}}", "config.json: process.args: must not be empty");
	check("{'process':{'cwd':''}}", "config.json: process.cwd: required");
	check("{'process':{'cwd':'tmp'}}", "config.json: process.cwd: must be an absolute path, got \"tmp\"");
	check("{'process':{'env':['A=1','B=']}}", NULL);
	check("{'process':{'env':['A=1','FOO']}}",
	      "config.json: process.env[1]: \"FOO\" is not of the form NAME=VALUE");
	check("{'process':{'env':['=x']}}",
	      "config.json: process.env[0]: \"=x\" is not of the form NAME=VALUE");
}

static void test_rlimits(void **state)
{
	static const char *const names[] = {
		"RLIMIT_CPU",	   "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
		"RLIMIT_CORE",	   "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
		"RLIMIT_MEMLOCK",  "RLIMIT_AS",	   "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
		"RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
	};
	char patch[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(patch, sizeof(patch), "{'process':{'rlimits':[{'type':'%s','soft':1,'hard':2}]}}",
			 names[i]);
		check(patch, NULL);
		assert_true(oci_rlimit_resource(names[i]) >= 0);
	}
	check("{'process':{'rlimits':[{'type':'RLIMIT_NOFILE','soft':5,'hard':5}]}}", NULL);
	check("{'process':{'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}}",
	      "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
	check("{'process':{'rlimits':[{'soft':1,'hard':1}]}}",
	      "config.json: process.rlimits[0].type: required");
	check("{'process':{'rlimits':[{'type':'RLIMIT_NOFILE','soft':2048,'hard':1024}]}}",
	      "config.json: process.rlimits[0]: soft limit 2048 exceeds hard limit 1024");
	check("{'process':{'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_CORE','hard':1},"
	      "{'type':'RLIMIT_NOFILE','soft':1,'hard':1}]}}",
	      "config.json: process.rlimits[2].type: duplicate rlimit \"RLIMIT_NOFILE\"");
}

static void test_capabilities(void **state)
{
	char patch[128];

	for (int i = 0; i <= OCI_CAP_LAST; i++) {
		snprintf(patch, sizeof(patch), "{'process':{'capabilities':{'bounding':['%s']}}}",
			 oci_capability_name(i));
		check(patch, NULL);
		assert_int_equal(oci_capability_number(oci_capability_name(i)), i);
	}
	assert_null(oci_capability_name(OCI_CAP_LAST + 1));
	check("{'process':{'capabilities':{'effective':['CAP_KILL','CAP_FOO']}}}",
	      "config.json: process.capabilities.effective[1]: unknown capability \"CAP_FOO\"");
	check("{'process':{'capabilities':{'ambient':['cap_kill']}}}",
	      "config.json: process.capabilities.ambient[0]: unknown capability \"cap_kill\"");
}

static void test_io_priority_and_scheduler(void **state)
{
	check("{'process':{'ioPriority':{'class':'IOPRIO_CLASS_IDLE','priority':7}}}", NULL);
	check("{'process':{'ioPriority':{'class':'IOPRIO_CLASS_X'}}}",
	      "config.json: process.ioPriority.class: unknown class \"IOPRIO_CLASS_X\"");
	check("{'process':{'ioPriority':{'class':'IOPRIO_CLASS_RT','priority':8}}}",
	      "config.json: process.ioPriority.priority: value 8 out of range 0..7");
	check("{'process':{'scheduler':{'policy':'SCHED_BATCH','nice':19,'flags':['SCHED_FLAG_RECLAIM']}}}",
	      NULL);
	check("{'process':{'scheduler':{'nice':1}}}", "config.json: process.scheduler.policy: required");
	check("{'process':{'scheduler':{'policy':'SCHED_FOO'}}}",
	      "config.json: process.scheduler.policy: unknown policy \"SCHED_FOO\"");
	check("{'process':{'scheduler':{'policy':'SCHED_OTHER','nice':-21}}}",
	      "config.json: process.scheduler.nice: value -21 out of range -20..19");
	check("{'process':{'scheduler':{'policy':'SCHED_OTHER','flags':['X']}}}",
	      "config.json: process.scheduler.flags[0]: unknown flag \"X\"");
}

static void test_mounts(void **state)
{
	check("{'mounts':[{'destination':'/proc','type':'proc','source':'proc'}]}", NULL);
	/* accepted as runc does (with a warning) */
	check("{'mounts':[{'destination':'data','type':'bind','source':'/x'}]}", NULL);
	check("{'mounts':[{'destination':'/a'},{'destination':''}]}",
	      "config.json: mounts[1].destination: required");
	check("{'mounts':[{'type':'tmpfs'}]}", "config.json: mounts[0].destination: required");
}

static void test_hooks(void **state)
{
	check("{'hooks':{'poststop':[{'path':'/bin/true','timeout':1}]}}", NULL);
	check("{'hooks':{'createRuntime':[{'path':'bin/true'}]}}",
	      "config.json: hooks.createRuntime[0].path: must be an absolute path, got \"bin/true\"");
	check("{'hooks':{'prestart':[{'args':['x']}]}}", "config.json: hooks.prestart[0].path: required");
	check("{'hooks':{'poststart':[{'path':'/a'},{'path':'/b','timeout':0}]}}",
	      "config.json: hooks.poststart[1].timeout: must be greater than zero, got 0");
	check("{'hooks':{'startContainer':[{'path':'/b','timeout':-3}]}}",
	      "config.json: hooks.startContainer[0].timeout: must be greater than zero, got -3");
}

static void test_hostname(void **state)
{
	check("{'hostname':'box','domainname':'example.org'}", NULL);
	check("{'hostname':'box','linux':{'namespaces':[{'type':'pid'}]}}",
	      "config.json: hostname: unable to set hostname without a new UTS namespace");
	check("{'hostname':'box','linux':null}",
	      "config.json: hostname: unable to set hostname without a new UTS namespace");
	check("{'domainname':'x','linux':{'namespaces':[]}}",
	      "config.json: domainname: unable to set domainname without a new UTS namespace");
	check("{'hostname':'','linux':{'namespaces':[]}}", NULL);
}

static void test_annotations(void **state)
{
	check("{'annotations':{'a':'b'}}", NULL);
	check("{'annotations':{'':'b'}}", "config.json: annotations: keys must not be empty");
}

static void test_namespaces(void **state)
{
	check("{'linux':{'namespaces':[{'type':'pid'},{'type':'network'},{'type':'mount'},{'type':'ipc'},"
	      "{'type':'uts'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
	      "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
	      "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	      NULL);
	check("{'linux':{'namespaces':[{'type':'pid'},{'type':'bogus'}]}}",
	      "config.json: linux.namespaces[1].type: unknown namespace type \"bogus\"");
	check("{'linux':{'namespaces':[{'path':'/proc/1/ns/pid'}]}}",
	      "config.json: linux.namespaces[0].type: required");
	check("{'linux':{'namespaces':[{'type':'pid'},{'type':'uts'},{'type':'pid'}]}}",
	      "config.json: linux.namespaces[2].type: duplicate namespace \"pid\"");
	check("{'linux':{'namespaces':[{'type':'network','path':'/var/run/netns/a'}]}}", NULL);
	check("{'linux':{'namespaces':[{'type':'network','path':'netns/a'}]}}",
	      "config.json: linux.namespaces[0].path: must be an absolute path, got \"netns/a\"");
}

static void test_id_mappings(void **state)
{
	check("{'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	      "config.json: linux.uidMappings: user namespace remapping requires a user namespace");
	check("{'linux':{'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	      "config.json: linux.gidMappings: user namespace remapping requires a user namespace");
	check("{'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	      "config.json: linux.gidMappings: a new user namespace needs both uidMappings and gidMappings");
	check("{'linux':{'namespaces':[{'type':'user'}]}}",
	      "config.json: linux.uidMappings: a new user namespace needs both uidMappings and gidMappings");
	/* joining an existing user namespace needs no mappings */
	check("{'linux':{'namespaces':[{'type':'user','path':'/proc/1/ns/user'}]}}", NULL);
}

static void test_devices(void **state)
{
	check("{'linux':{'devices':[{'type':'c','path':'/dev/fuse','major':10,'minor':229},"
	      "{'type':'b','path':'/dev/sda','major':8,'minor':0},{'type':'u','path':'/dev/u','major':1,'minor':2},"
	      "{'type':'p','path':'/dev/fifo'}]}}",
	      NULL);
	check("{'linux':{'devices':[{'type':'x','path':'/dev/x','major':1,'minor':1}]}}",
	      "config.json: linux.devices[0].type: must be one of c, b, u, p");
	check("{'linux':{'devices':[{'type':'cc','path':'/dev/x','major':1,'minor':1}]}}",
	      "config.json: linux.devices[0].type: must be one of c, b, u, p");
	check("{'linux':{'devices':[{'path':'/dev/x','major':1,'minor':1}]}}",
	      "config.json: linux.devices[0].type: must be one of c, b, u, p");
	check("{'linux':{'devices':[{'type':'c','path':'dev/x','major':1,'minor':1}]}}",
	      "config.json: linux.devices[0].path: must be an absolute path, got \"dev/x\"");
	check("{'linux':{'devices':[{'type':'c','major':1,'minor':1}]}}",
	      "config.json: linux.devices[0].path: required");
	check("{'linux':{'devices':[{'type':'c','path':'/dev/x','minor':1}]}}",
	      "config.json: linux.devices[0].major: required (non-negative) for type 'c'");
	check("{'linux':{'devices':[{'type':'b','path':'/dev/x','major':1}]}}",
	      "config.json: linux.devices[0].minor: required (non-negative) for type 'b'");
}

static void test_device_rules(void **state)
{
	check("{'linux':{'resources':{'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':1,"
	      "'minor':3,'access':'rw'},{'allow':true,'type':'b','access':'m'},{'allow':true,'type':''}]}}}",
	      NULL);
	check("{'linux':{'resources':{'devices':[{'allow':true,'type':'u'}]}}}",
	      "config.json: linux.resources.devices[0].type: must be one of a, c, b");
	check("{'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
	      "config.json: linux.resources.devices[0].access: \"rwx\" is not a subset of \"rwm\"");
	check("{'linux':{'resources':{'hugepageLimits':[{'limit':1}]}}}",
	      "config.json: linux.resources.hugepageLimits[0].pageSize: required");
	check("{'linux':{'resources':{'unified':{'memory.max':'1G'}}}}", NULL);
	check("{'linux':{'resources':{'unified':{'../x':'1'}}}}",
	      "config.json: linux.resources.unified[\"../x\"]: not a cgroup file name");
}

static void test_cgroups_path(void **state)
{
	check("{'linux':{'cgroupsPath':'/plx/abc'}}", NULL);
	check("{'linux':{'cgroupsPath':'system.slice:docker:abc'}}", NULL);
	check("{'linux':{'cgroupsPath':':plx:abc'}}", NULL);
	check("{'linux':{'cgroupsPath':'relative/path'}}", NULL);
	check("{'linux':{'cgroupsPath':''}}", NULL);
	check("{'linux':{'cgroupsPath':'a:b'}}",
	      "config.json: linux.cgroupsPath: \"a:b\" is not of the form \"slice:prefix:name\" (systemd) or a path");
	check("{'linux':{'cgroupsPath':'a.slice:b:'}}",
	      "config.json: linux.cgroupsPath: \"a.slice:b:\" is not of the form \"slice:prefix:name\" (systemd) or a path");
	check("{'linux':{'cgroupsPath':'a.slice:b:c:d'}}",
	      "config.json: linux.cgroupsPath: \"a.slice:b:c:d\" is not of the form \"slice:prefix:name\" (systemd) or a "
	      "path");
	check("{'linux':{'cgroupsPath':'a/b.slice:x:y'}}",
	      "config.json: linux.cgroupsPath: \"a/b.slice:x:y\": systemd slice:prefix:name must not contain '/'");
	check("{'linux':{'cgroupsPath':'foo:x:y'}}",
	      "config.json: linux.cgroupsPath: \"foo:x:y\": slice must end in \".slice\"");
	check("{'linux':{'cgroupsPath':'/a/../b'}}",
	      "config.json: linux.cgroupsPath: \"/a/../b\" must not contain \"..\"");
	check("{'linux':{'cgroupsPath':'/a/..b'}}", NULL);
}

static void test_sysctl_propagation_personality(void **state)
{
	check("{'linux':{'sysctl':{'net.ipv4.ip_forward':'1'}}}", NULL);
	check("{'linux':{'sysctl':{'':'1'}}}", "config.json: linux.sysctl: keys must not be empty");
	static const char *const props[] = { "shared",	"slave",  "private",  "unbindable",
					     "rshared", "rslave", "rprivate", "runbindable" };
	char patch[96];

	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		snprintf(patch, sizeof(patch), "{'linux':{'rootfsPropagation':'%s'}}", props[i]);
		check(patch, NULL);
	}
	check("{'linux':{'rootfsPropagation':'rsharedd'}}",
	      "config.json: linux.rootfsPropagation: unknown propagation \"rsharedd\"");
	check("{'linux':{'personality':{'domain':'LINUX'}}}", NULL);
	check("{'linux':{'personality':{'domain':'LINUX32'}}}", NULL);
	check("{'linux':{'personality':{'domain':'LINUX64'}}}",
	      "config.json: linux.personality.domain: unknown domain \"LINUX64\" (LINUX or LINUX32)");
	check("{'linux':{'personality':{}}}", "config.json: linux.personality.domain: required");
}

static void test_time_offsets(void **state)
{
	check("{'linux':{'namespaces':[{'type':'uts'},{'type':'time'}],'timeOffsets':{'monotonic':{'secs':1},"
	      "'boottime':{'nanosecs':999999999}}}}",
	      NULL);
	check("{'linux':{'timeOffsets':{'monotonic':{'secs':1}}}}",
	      "config.json: linux.timeOffsets: time offsets require a new time namespace");
	check("{'linux':{'namespaces':[{'type':'uts'},{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}}}",
	      "config.json: linux.timeOffsets[\"realtime\"]: unknown clock (monotonic or boottime)");
	check("{'linux':{'namespaces':[{'type':'uts'},{'type':'time'}],'timeOffsets':{'boottime':{'nanosecs':"
	      "1000000000}}}}",
	      "config.json: linux.timeOffsets[\"boottime\"].nanosecs: value 1000000000 out of range 0..999999999");
}

static void test_seccomp(void **state)
{
	static const char *const actions[] = { "SCMP_ACT_KILL",	       "SCMP_ACT_KILL_PROCESS",
					       "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
					       "SCMP_ACT_ERRNO",       "SCMP_ACT_TRACE",
					       "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
					       "SCMP_ACT_NOTIFY" };
	static const char *const ops[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	      "SCMP_CMP_EQ",
					   "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ" };
	char patch[256];

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(
			patch, sizeof(patch),
			"{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],"
			"'action':'%s'}]}}}",
			actions[i]);
		check(patch, NULL);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(
			patch, sizeof(patch),
			"{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],"
			"'action':'SCMP_ACT_ERRNO','args':[{'index':5,'value':1,'op':'%s'}]}]}}}",
			ops[i]);
		check(patch, NULL);
	}
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86_64',"
	      "'SCMP_ARCH_AARCH64','SCMP_ARCH_RISCV64'],'flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG',"
	      "'SECCOMP_FILTER_FLAG_SPEC_ALLOW','SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']}}}",
	      NULL);
	check("{'linux':{'seccomp':{'architectures':['SCMP_ARCH_X86']}}}",
	      "config.json: linux.seccomp.defaultAction: required");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_DENY'}}}",
	      "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_NOTIFY'}}}",
	      "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_VAX']}}}",
	      "config.json: linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_X']}}}",
	      "config.json: linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\"");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ERRNO'}]}}}",
	      "config.json: linux.seccomp.syscalls[0].names: required");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a']}]}}}",
	      "config.json: linux.seccomp.syscalls[0].action: required");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'X'}]}}}",
	      "config.json: linux.seccomp.syscalls[0].action: unknown action \"X\"");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read','write'],"
	      "'action':'SCMP_ACT_NOTIFY'}]}}}",
	      "config.json: linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':"
	      "'SCMP_ACT_ALLOW','args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}}}",
	      "config.json: linux.seccomp.syscalls[0].args[0].index: value 6 out of range 0..5");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':"
	      "'SCMP_ACT_ALLOW','args':[{'index':0,'value':1}]}]}}}",
	      "config.json: linux.seccomp.syscalls[0].args[0].op: required");
	check("{'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':"
	      "'SCMP_ACT_ALLOW','args':[{'index':0,'value':1,'op':'SCMP_CMP_XX'}]}]}}}",
	      "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\"");
}

static void test_process_validate_standalone(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct oci_process *p = NULL;
	json_t *obj = load_quoted("{'args':['ls'],'cwd':'rel'}");

	assert_int_equal(oci_process_from_json(obj, "proc.json", "", &p, &err), 0);
	assert_int_equal(oci_process_validate(p, "proc.json", "", &err), -EINVAL);
	assert_string_equal(err.msg, "proc.json: cwd: must be an absolute path, got \"rel\"");
	oci_process_free(p);
	json_decref(obj);
	plx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_is_valid),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_io_priority_and_scheduler),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_annotations),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_id_mappings),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_device_rules),
		cmocka_unit_test(test_cgroups_path),
		cmocka_unit_test(test_sysctl_propagation_personality),
		cmocka_unit_test(test_time_offsets),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_process_validate_standalone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
