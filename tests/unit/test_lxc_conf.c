/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The liblxc configuration text generated for representative OCI configs.
 * Resources depend on the host's cgroups: some tests read the real host,
 * others build a fake one (a tmpfs on /sys/fs/cgroup holding v1
 * hierarchies, or the real cgroup2 mounted there) in a mount namespace of
 * their own, so the v1/hybrid/v2 mappings are all checked on one machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/lxc/cgroup.h"
#include "engine/lxc/lxc_conf.h"
#include "engine/lxc/lxc_conf_cgroup.h"
#include "oci/spec.h"
#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* A minimal valid config; each test merges its own part over it. */
static const char *const base_json =
	"{'ociVersion': '1.0.2', 'root': {'path': 'rootfs'}, 'process': {'args': ['sh'], 'cwd': '/'},"
	" 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'mount'}]}}";

static char bundle[] = "/tmp/plx-test-lxc-conf-XXXXXX";

/* JSON with ' for " (the configs here hold no apostrophes). */
static json_t *jload(const char *s)
{
	__do_free char *q = strdup(s);
	json_error_t je;

	for (char *p = q; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *j = json_loads(q, 0, &je);
	if (!j)
		fail_msg("bad test JSON (%s): %s", je.text, s);
	return j;
}

/* Build the LXC config for base_json with overlay merged in (objects merge, the rest replaces). */
static int build(const char *overlay, char **text, struct plx_err *err)
{
	json_t *doc = jload(base_json);
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_free char *rootfs = plx_path_join(bundle, "rootfs");

	if (overlay) {
		json_t *ov = jload(overlay);
		assert_int_equal(json_object_update_recursive(doc, ov), 0);
		json_decref(ov);
	}
	int r = oci_spec_from_json(doc, "config.json", &spec, err);
	json_decref(doc);
	if (r < 0)
		fail_msg("config does not parse: %s", plx_err_msg(err));
	struct plx_lxc_conf_in in = {
		.spec = spec,
		.id = "t1",
		.bundle = bundle,
		.rootfs = rootfs,
		.cgroup_path = "/proxmox-lxcri/t1",
		.monitor_cgroup = "/proxmox-lxcri/t1.lxc-monitor",
		.log_file = "/run/t1/lxc.log",
	};
	*text = NULL;
	return plx_lxc_conf_build(&in, text, err);
}

/* The config for overlay, which must build. */
static char *conf(const char *overlay)
{
	struct plx_err err = PLX_ERR_INIT;
	char *text = NULL;

	if (build(overlay, &text, &err) < 0)
		fail_msg("build failed: %s", plx_err_msg(&err));
	return text;
}

/* The error for overlay, which must not build; it must contain want. */
static void expect_error(const char *overlay, const char *want)
{
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *text = NULL;

	if (build(overlay, &text, &err) == 0)
		fail_msg("built, expected an error with \"%s\":\n%s", want, text);
	if (!strstr(plx_err_msg(&err), want))
		fail_msg("error \"%s\" lacks \"%s\"", plx_err_msg(&err), want);
	plx_err_clear(&err);
}

/* Where the whole line sits in text, or NULL. */
static const char *line_at(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return p;
	return NULL;
}

#define assert_line(text, line)                                                \
	do {                                                                   \
		if (!line_at(text, line))                                      \
			fail_msg("line \"%s\" missing from:\n%s", line, text); \
	} while (0)

#define assert_no_line(text, line)                                              \
	do {                                                                    \
		if (line_at(text, line))                                        \
			fail_msg("line \"%s\" unexpected in:\n%s", line, text); \
	} while (0)

static void assert_before(const char *text, const char *a, const char *b)
{
	const char *pa = line_at(text, a), *pb = line_at(text, b);

	assert_non_null(pa);
	assert_non_null(pb);
	if (pa > pb)
		fail_msg("\"%s\" comes after \"%s\"", a, b);
}

static void put_file(const char *path, const char *content)
{
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *dir = strdup(path);

	*strrchr(dir, '/') = '\0';
	assert_int_equal(plx_mkdir_p(dir, 0755, &err), 0);
	assert_int_equal(plx_write_file_at(AT_FDCWD, path, content, strlen(content), 0644, &err), 0);
}

static int group_setup(void **state)
{
	char path[256];

	if (!mkdtemp(bundle))
		return -1;
	snprintf(path, sizeof(path), "%s/rootfs/etc", bundle);
	put_file(strcat(path, "/hostname"), "box\n");
	snprintf(path, sizeof(path), "%s/a file", bundle);
	put_file(path, "x");
	snprintf(path, sizeof(path), "%s/data dir/keep", bundle);
	put_file(path, "x");
	return 0;
}

static int group_teardown(void **state)
{
	struct plx_err err = PLX_ERR_INIT;

	return plx_rm_rf_at(AT_FDCWD, bundle, &err);
}

/* --- the general part --------------------------------------------------------------------- */

static void test_fixed_part(void **state)
{
	__do_free char *t = conf(NULL);
	char line[512];

	snprintf(line, sizeof(line), "lxc.rootfs.path = dir:%s/rootfs", bundle);
	assert_line(t, line);
	assert_line(t, "lxc.rootfs.managed = 0");
	assert_line(t, "lxc.log.file = /run/t1/lxc.log");
	assert_line(t, "lxc.cgroup.dir.container = proxmox-lxcri/t1");
	assert_line(t, "lxc.cgroup.dir.monitor = proxmox-lxcri/t1.lxc-monitor");
	assert_line(t, "lxc.monitor.signal.pdeath = 0");
	assert_line(t, "lxc.namespace.clone = pid mnt");
	assert_no_line(t, "lxc.net.0.type = empty");
	/* no rules, no limits: no cgroup settings at all */
	assert_null(strstr(t, "lxc.cgroup.devices"));
	assert_null(strstr(t, "lxc.cgroup2."));
}

static void test_namespaces_new(void **state)
{
	__do_free char *t =
		conf("{'linux': {'namespaces': [{'type': 'pid'}, {'type': 'network'}, {'type': 'ipc'},"
		     " {'type': 'uts'}, {'type': 'mount'}, {'type': 'cgroup'}]}}");

	assert_line(t, "lxc.namespace.clone = pid net ipc uts mnt cgroup");
	assert_line(t, "lxc.net.0.type = empty");
}

static void test_namespaces_joined(void **state)
{
	__do_free char *t = conf(
		"{'linux': {'namespaces': [{'type': 'pid'}, {'type': 'mount'},"
		" {'type': 'network', 'path': '/proc/1/ns/net'}, {'type': 'ipc', 'path': '/run/ipc'}]}}");

	assert_line(t, "lxc.namespace.clone = pid mnt");
	assert_line(t, "lxc.namespace.share.net = /proc/1/ns/net");
	assert_line(t, "lxc.namespace.share.ipc = /run/ipc");
	/* a joined network is not set up */
	assert_no_line(t, "lxc.net.0.type = empty");
}

static void test_mount_namespace_required(void **state)
{
	expect_error("{'linux': {'namespaces': [{'type': 'pid'}]}}", "a mount namespace is required");
}

static void test_user_namespace_and_idmaps(void **state)
{
	__do_free char *t = conf("{'linux': {'namespaces': [{'type': 'user'}, {'type': 'mount'}],"
				 " 'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
				 " 'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 1000},"
				 "                 {'containerID': 1000, 'hostID': 1000, 'size': 1}]}}");

	assert_line(t, "lxc.namespace.clone = user mnt");
	assert_line(t, "lxc.idmap = u 0 100000 65536");
	assert_line(t, "lxc.idmap = g 0 200000 1000");
	assert_line(t, "lxc.idmap = g 1000 1000 1");
}

static void test_bind_mounts(void **state)
{
	__do_free char *t = conf(
		"{'mounts': ["
		" {'destination': '/etc/hostname', 'type': 'bind', 'source': 'rootfs/etc/hostname',"
		"  'options': ['rbind']},"
		" {'destination': '/srv/my data', 'source': 'data dir', 'options': ['bind']},"
		" {'destination': '/a file', 'type': 'none', 'source': 'a file', 'options': ['rbind']}]}");
	char line[512];

	/* relative sources are the bundle's; files get create=file, directories create=dir */
	snprintf(line, sizeof(line),
		 "lxc.mount.entry = %s/rootfs/etc/hostname etc/hostname none rbind,create=file 0 0", bundle);
	assert_line(t, line);
	/* blanks are escaped as getmntent() reads them: \040 */
	snprintf(line, sizeof(line),
		 "lxc.mount.entry = %s/data\\040dir srv/my\\040data none bind,create=dir 0 0", bundle);
	assert_line(t, line);
	snprintf(line, sizeof(line), "lxc.mount.entry = %s/a\\040file a\\040file none rbind,create=file 0 0",
		 bundle);
	assert_line(t, line);
}

static void test_bind_mount_missing_source(void **state)
{
	expect_error(
		"{'mounts': [{'destination': '/x', 'type': 'bind', 'source': '/nonexistent-plx', 'options': ['bind']}]}",
		"mounts[0].source: stat /nonexistent-plx");
}

static void test_other_mounts(void **state)
{
	__do_free char *t =
		conf("{'mounts': ["
		     " {'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
		     " {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',"
		     "  'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']},"
		     " {'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',"
		     "  'options': ['nosuid', 'ro']},"
		     " {'destination': '/tmp', 'type': 'tmpfs', 'options': ['mode=1777']}]}");

	assert_line(t, "lxc.mount.entry = proc proc proc create=dir 0 0");
	/* liblxc makes /dev/pts itself from lxc.pty.max; no devpts entry */
	assert_line(t, "lxc.pty.max = 1024");
	assert_null(strstr(t, " devpts "));
	/* the cgroup tree is liblxc's mount.auto, read-only as asked */
	assert_line(t, "lxc.mount.auto = cgroup:ro:force");
	assert_null(strstr(t, " cgroup cgroup "));
	/* no source: the type stands in */
	assert_line(t, "lxc.mount.entry = tmpfs tmp tmpfs mode=1777,create=dir 0 0");
	/* the default devices are bound from the host */
	assert_line(t, "lxc.mount.entry = /dev/null dev/null none bind,create=file 0 0");
}

static void test_cgroup_mount_rw_and_elsewhere(void **state)
{
	__do_free char *t = conf("{'mounts': [{'destination': '/sys/fs/cgroup', 'type': 'cgroup'}]}");

	assert_line(t, "lxc.mount.auto = cgroup:rw:force");
	expect_error("{'mounts': [{'destination': '/cg', 'type': 'cgroup'}]}",
		     "mounts[0].destination: a cgroup mount must be at /sys/fs/cgroup");
}

static void test_configured_device_replaces_default_bind(void **state)
{
	__do_free char *t =
		conf("{'linux': {'devices': [{'path': '/dev/null', 'type': 'c', 'major': 1, 'minor': 3}]}}");

	assert_no_line(t, "lxc.mount.entry = /dev/null dev/null none bind,create=file 0 0");
	assert_line(t, "lxc.mount.entry = /dev/zero dev/zero none bind,create=file 0 0");
}

static void test_sysctl_hostname(void **state)
{
	__do_free char *t = conf("{'hostname': 'box', 'linux': {'sysctl': {'net.ipv4.ip_forward': '1',"
				 " 'kernel.msgmax': '8192'}}}");

	assert_line(t, "lxc.uts.name = box");
	assert_line(t, "lxc.sysctl.net.ipv4.ip_forward = 1");
	assert_line(t, "lxc.sysctl.kernel.msgmax = 8192");
}

/* --- cgroups on the real host -------------------------------------------------------------- */

static const char *const rules_json =
	"{'linux': {'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229}],"
	" 'resources': {'devices': [{'allow': false, 'access': 'rwm'},"
	"  {'allow': true, 'type': 'c', 'major': 10, 'access': 'rw'},"
	"  {'allow': true, 'type': 'b', 'access': 'm'},"
	"  {'allow': false, 'type': 'c', 'major': 1, 'minor': 9},"
	"  {'allow': true, 'type': 'c', 'minor': 3, 'access': 'r'}]}}}";

static void check_device_rules(const char *t, const char *p)
{
	char l[8][96];

	snprintf(l[0], sizeof(l[0]), "%s.deny = a", p);
	snprintf(l[1], sizeof(l[1]), "%s.allow = c 10:* rw", p); /* minor wildcard */
	snprintf(l[2], sizeof(l[2]), "%s.allow = b *:* m", p); /* both wildcards */
	snprintf(l[3], sizeof(l[3]), "%s.deny = c 1:9 rwm", p); /* access defaults to rwm */
	snprintf(l[4], sizeof(l[4]), "%s.allow = c *:3 r", p); /* major wildcard */
	snprintf(l[5], sizeof(l[5]), "%s.allow = c 10:229 rwm", p); /* linux.devices */
	snprintf(l[6], sizeof(l[6]), "%s.allow = c 1:9 rwm", p); /* the defaults, last */
	snprintf(l[7], sizeof(l[7]), "%s.allow = c 136:* rwm", p);
	for (int i = 0; i < 7; i++)
		assert_before(t, l[i], l[i + 1]);
}

static void test_device_rules_on_this_host(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *t = NULL;
	enum plx_cgroup_layout layout = plx_cgroup_layout();
	int r = build(rules_json, &t, &err);

	if (plx_cgroup_controller_version("devices") == 1) {
		assert_int_equal(r, 0);
		check_device_rules(t, "lxc.cgroup.devices");
	} else if (layout == PLX_CGROUP_PURE_V2) {
		assert_int_equal(r, 0);
		check_device_rules(t, "lxc.cgroup2.devices");
	} else {
		assert_int_equal(r, -EOPNOTSUPP);
		assert_non_null(strstr(plx_err_msg(&err), "no cgroup v1 devices hierarchy"));
		plx_err_clear(&err);
	}
}

/* memory.limit, cpu.shares and pids.limit, as this host takes them */
static void test_resources_on_this_host(void **state)
{
	static const struct {
		const char *json, *ctrl, *v1, *v2, *field;
	} cases[] = {
		{ "{'linux': {'resources': {'memory': {'limit': 67108864}}}}", "memory",
		  "lxc.cgroup.memory.limit_in_bytes = 67108864", "lxc.cgroup2.memory.max = 67108864",
		  "memory.limit" },
		{ "{'linux': {'resources': {'cpu': {'shares': 1024}}}}", "cpu",
		  "lxc.cgroup.cpu.shares = 1024", "lxc.cgroup2.cpu.weight = 39", "cpu.shares" },
		{ "{'linux': {'resources': {'pids': {'limit': 5}}}}", "pids", "lxc.cgroup.pids.max = 5",
		  "lxc.cgroup2.pids.max = 5", "pids.limit" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plx_err err = PLX_ERR_INIT;
		__do_free char *t = NULL;
		int ver = plx_cgroup_controller_version(cases[i].ctrl);
		int r = build(cases[i].json, &t, &err);
		if (ver == 1 || (ver == 2 && plx_cgroup_layout() == PLX_CGROUP_PURE_V2)) {
			assert_int_equal(r, 0);
			assert_line(t, ver == 1 ? cases[i].v1 : cases[i].v2);
		} else {
			assert_int_equal(r, -EOPNOTSUPP);
			assert_non_null(strstr(plx_err_msg(&err), cases[i].field));
			assert_non_null(strstr(plx_err_msg(&err), cases[i].ctrl));
			plx_err_clear(&err);
		}
	}
}

static void test_resource_values_checked_first(void **state)
{
	expect_error("{'linux': {'resources': {'memory': {'limit': 100, 'swap': 50}}}}",
		     "linux.resources.memory.swap: 50 is below memory.limit 100");
	expect_error("{'linux': {'resources': {'memory': {'swap': 50}}}}",
		     "linux.resources.memory.swap: a swap limit needs memory.limit");
	expect_error("{'linux': {'resources': {'memory': {'swappiness': 101}}}}",
		     "linux.resources.memory.swappiness: 101 is outside 0-100");
	expect_error("{'linux': {'resources': {'hugepageLimits': [{'pageSize': '2XB', 'limit': 1}]}}}",
		     "linux.resources.hugepageLimits[0].pageSize: \"2XB\" is not a page size");
	expect_error("{'linux': {'resources': {'cpu': {'cpus': '0,,1'}}}}",
		     "linux.resources.cpu.cpus: \"0,,1\" is not a list like \"0-3,8\"");
	expect_error("{'linux': {'resources': {'cpu': {'cpus': '3-1'}}}}", "is not a list");
	expect_error("{'linux': {'resources': {'cpu': {'cpus': '0-1,'}}}}", "is not a list");
	expect_error("{'linux': {'resources': {'cpu': {'cpus': '0,1048576'}}}}",
		     "linux.resources.cpu.cpus: CPU 1048576 is not online on this host (online: ");
	expect_error("{'linux': {'resources': {'cpu': {'mems': '0-1048576'}}}}",
		     "linux.resources.cpu.mems: memory node 1");
	expect_error(
		"{'linux': {'resources': {'network': {'priorities': [{'name': 'a b', 'priority': 1}]}}}}",
		"linux.resources.network.priorities[0].name: \"a b\" is not an interface name");
}

static void test_v2_conversions(void **state)
{
	int64_t v = 0;

	/* runc's tables */
	assert_int_equal(plx_cg_cpu_weight(2), 1);
	assert_int_equal(plx_cg_cpu_weight(1024), 39);
	assert_int_equal(plx_cg_cpu_weight(262144), 10000);
	assert_int_equal(plx_cg_cpu_weight(1), 1);
	assert_int_equal(plx_cg_cpu_weight(1000000), 10000);
	assert_int_equal(plx_cg_io_weight(10), 1);
	assert_int_equal(plx_cg_io_weight(500), 4950);
	assert_int_equal(plx_cg_io_weight(1000), 10000);
	/* OCI swap is memory + swap; v2's memory.swap.max is swap alone */
	assert_true(plx_cg_swap_v2(100, 300, &v));
	assert_int_equal(v, 200);
	assert_true(plx_cg_swap_v2(100, 100, &v));
	assert_int_equal(v, 0);
	assert_true(plx_cg_swap_v2(100, -1, &v));
	assert_int_equal(v, -1);
	assert_true(plx_cg_swap_v2(-1, 0, &v)); /* unlimited memory, swap unset: both unlimited */
	assert_int_equal(v, -1);
	assert_false(plx_cg_swap_v2(100, 0, &v));
	assert_false(plx_cg_swap_v2(0, 0, &v));
}

/* --- fake hosts ------------------------------------------------------------------------------ */

/* What a fake host mounted; the teardown takes it away when a test failed half way. */
static bool fake_mounted, fake_hugepages;

/* A mount namespace of our own, once: what the fake hosts mount stays there. */
static void own_mount_ns(void)
{
	static bool done;

	if (done)
		return;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		skip();
	done = true;
}

/*
 * A cgroup v1 host: a tmpfs on /sys/fs/cgroup holding hierarchies, each a
 * directory with cgroup.procs plus the files given (a file "x/f" is in the
 * child cgroup x only, as many files are below the root only).
 */
static void fake_v1(const char *const *files)
{
	char path[512];

	own_mount_ns();
	assert_int_equal(mount("tmpfs", PLX_CGROUP_ROOT, "tmpfs", 0, "mode=0755"), 0);
	fake_mounted = true;
	for (const char *const *f = files; *f; f++) {
		const char *eq = strchr(*f, '=');
		snprintf(path, sizeof(path), PLX_CGROUP_ROOT "/%.*s", eq ? (int)(eq - *f) : (int)strlen(*f),
			 *f);
		put_file(path, eq ? eq + 1 : "");
		/* every directory on the way is a cgroup of the hierarchy */
		char *hier_end = strchr(path + strlen(PLX_CGROUP_ROOT) + 1, '/');
		if (hier_end) {
			*hier_end = '\0';
			strcat(path, "/cgroup.procs");
			put_file(path, "");
		}
	}
}

static void fake_end(void)
{
	if (fake_hugepages)
		assert_int_equal(umount2("/sys/kernel/mm/hugepages", MNT_DETACH), 0);
	fake_hugepages = false;
	/* a submount (unified/) goes with it */
	if (fake_mounted)
		assert_int_equal(umount2(PLX_CGROUP_ROOT, MNT_DETACH), 0);
	fake_mounted = false;
}

static int fake_teardown(void **state)
{
	fake_end();
	return 0;
}

static const char *const v1_host[] = {
	"memory/memory.limit_in_bytes",
	"memory/memory.soft_limit_in_bytes",
	"memory/memory.swappiness",
	"memory/memory.oom_control",
	"memory/memory.kmem.tcp.limit_in_bytes",
	"memory/x/memory.limit_in_bytes",
	"cpu,cpuacct/cpu.shares",
	"cpu,cpuacct/cpu.cfs_period_us",
	"cpu,cpuacct/cpu.cfs_quota_us",
	"cpu,cpuacct/cpu.rt_period_us=1000000",
	"cpu,cpuacct/cpu.rt_runtime_us=950000",
	"cpu,cpuacct/poor/cpu.rt_runtime_us=0",
	"cpu,cpuacct/rich/cpu.rt_runtime_us=100000",
	"cpu,cpuacct/rich/cpu.rt_period_us=1000000",
	"cpuset/cpuset.cpus",
	"cpuset/x/cpuset.cpus",
	"pids/x/pids.max",
	"devices/devices.allow",
	"blkio/blkio.throttle.read_bps_device",
	"blkio/x/blkio.bfq.weight",
	"blkio/x/blkio.bfq.weight_device",
	NULL,
};

static void test_fake_v1_memory(void **state)
{
	fake_v1(v1_host);
	/* cpu,cpuacct is reached by its controller name as by a symlink */
	assert_int_equal(symlink("cpu,cpuacct", PLX_CGROUP_ROOT "/cpu"), 0);
	assert_int_equal(plx_cgroup_layout(), PLX_CGROUP_LEGACY);

	__do_free char *t =
		conf("{'linux': {'resources': {'memory': {'limit': 67108864, 'reservation': 33554432,"
		     " 'swappiness': 10, 'disableOOMKiller': true, 'kernelTCP': 1048576, 'kernel': 0}}}}");
	assert_line(t, "lxc.cgroup.memory.limit_in_bytes = 67108864");
	assert_line(t, "lxc.cgroup.memory.soft_limit_in_bytes = 33554432");
	assert_line(t, "lxc.cgroup.memory.swappiness = 10");
	assert_line(t, "lxc.cgroup.memory.oom_control = 1");
	assert_line(t, "lxc.cgroup.memory.kmem.tcp.limit_in_bytes = 1048576");

	/* 0 is "not set" (runc); -1 unlimited */
	__do_free char *t0 = conf("{'linux': {'resources': {'memory': {'limit': 0, 'reservation': -1}}}}");
	assert_null(strstr(t0, "memory.limit_in_bytes"));
	assert_line(t0, "lxc.cgroup.memory.soft_limit_in_bytes = -1");

	/* no memsw file anywhere: swap accounting is off */
	expect_error(
		"{'linux': {'resources': {'memory': {'limit': 100, 'swap': 200}}}}",
		"linux.resources.memory.swap: this host's memory controller has no memory.memsw.limit_in_bytes: "
		"swap accounting is off");
	fake_end();
}

static void test_fake_v1_cpu(void **state)
{
	fake_v1(v1_host);
	assert_int_equal(symlink("cpu,cpuacct", PLX_CGROUP_ROOT "/cpu"), 0);

	__do_free char *t =
		conf("{'linux': {'resources': {'cpu': {'shares': 512, 'quota': 50000, 'period': 100000,"
		     " 'cpus': '0'}}}}");
	assert_line(t, "lxc.cgroup.cpu.shares = 512");
	/* the period first: the kernel checks a quota against it */
	assert_before(t, "lxc.cgroup.cpu.cfs_period_us = 100000", "lxc.cgroup.cpu.cfs_quota_us = 50000");
	assert_line(t, "lxc.cgroup.cpuset.cpus = 0");

	__do_free char *t0 = conf("{'linux': {'resources': {'cpu': {'shares': 0, 'quota': 0}}}}");
	assert_null(strstr(t0, "lxc.cgroup.cpu."));

	expect_error(
		"{'linux': {'resources': {'cpu': {'burst': 1000}}}}",
		"linux.resources.cpu.burst: this host's cpu controller has no cpu.cfs_burst_us: CFS burst needs "
		"Linux 5.14");
	expect_error("{'linux': {'resources': {'cpu': {'idle': 1}}}}", "no cpu.idle");
	expect_error("{'linux': {'resources': {'cpu': {'mems': '0'}}}}", "linux.resources.cpu.mems");
	fake_end();
}

static int build_at(const char *overlay, const char *cgpath, char **text, struct plx_err *err)
{
	json_t *doc = jload(base_json), *ov = jload(overlay);
	__do_oci_spec_free struct oci_spec *spec = NULL;
	__do_free char *buf = NULL;
	size_t len = 0;

	assert_int_equal(json_object_update_recursive(doc, ov), 0);
	json_decref(ov);
	assert_int_equal(oci_spec_from_json(doc, "config.json", &spec, err), 0);
	json_decref(doc);
	FILE *f = open_memstream(&buf, &len);
	int r = plx_lxc_conf_cgroup(f, spec, cgpath, err);
	fclose(f);
	*text = steal_ptr(buf);
	return r;
}

static void test_fake_v1_realtime_budget(void **state)
{
	static const char *rt =
		"{'linux': {'resources': {'cpu': {'realtimePeriod': 1000000, 'realtimeRuntime': 50000}}}}";
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	fake_v1(v1_host);
	assert_int_equal(symlink("cpu,cpuacct", PLX_CGROUP_ROOT "/cpu"), 0);
	/* a parent with 100000 per 1000000 has room */
	assert_int_equal(build_at(rt, "/rich/c", &a, &err), 0);
	assert_before(a, "lxc.cgroup.cpu.rt_period_us = 1000000", "lxc.cgroup.cpu.rt_runtime_us = 50000");
	/* the root: 950000 per 1000000 */
	assert_int_equal(build_at(rt, "/c", &b, &err), 0);
	/* none, or a parent not made yet (liblxc makes it with none) */
	assert_int_equal(build_at(rt, "/poor/c", &c, &err), -EINVAL);
	assert_non_null(
		strstr(plx_err_msg(&err), "linux.resources.cpu.realtimeRuntime: 50000 us per 1000000 us"));
	assert_non_null(strstr(plx_err_msg(&err), "parent cgroup /poor has (cpu.rt_runtime_us 0"));
	plx_err_clear(&err);
	assert_int_equal(build_at(rt, "/new/c", &d, &err), -EINVAL);
	plx_err_clear(&err);
	fake_end();
}

static void test_fake_v1_blkio(void **state)
{
	char json[512], line[128];
	__do_free char *devno = NULL;
	unsigned maj, min;

	/* a real block device: the existence check looks at /sys/dev/block */
	if (plx_read_file_at(AT_FDCWD, "/sys/block/loop0/dev", &devno, NULL, NULL) < 0 ||
	    sscanf(devno, "%u:%u", &maj, &min) != 2)
		skip();

	fake_v1(v1_host);
	/* BFQ's file when there is no CFQ one (only a child cgroup has it) */
	__do_free char *t = conf("{'linux': {'resources': {'blockIO': {'weight': 500}}}}");
	assert_line(t, "lxc.cgroup.blkio.bfq.weight = 500");

	snprintf(json, sizeof(json),
		 "{'linux': {'resources': {'blockIO': {'throttleReadBpsDevice': [{'major': %u, 'minor': %u,"
		 " 'rate': 1024}]}}}}",
		 maj, min);
	__do_free char *t2 = conf(json);
	snprintf(line, sizeof(line), "lxc.cgroup.blkio.throttle.read_bps_device = %u:%u 1024", maj, min);
	assert_line(t2, line);

	expect_error(
		"{'linux': {'resources': {'blockIO': {'throttleWriteIOPSDevice': [{'major': 7, 'minor': 1048575,"
		" 'rate': 1}]}}}}",
		"linux.resources.blockIO.throttleWriteIOPSDevice[0]: this host has no block device 7:1048575");
	expect_error(
		"{'linux': {'resources': {'blockIO': {'leafWeight': 300}}}}",
		"linux.resources.blockIO.leafWeight: this host's blkio controller has no blkio.leaf_weight");
	fake_end();

	/* neither CFQ's nor BFQ's weight */
	static const char *const no_weight[] = { "blkio/x/blkio.throttle.read_bps_device", NULL };
	fake_v1(no_weight);
	expect_error(
		"{'linux': {'resources': {'blockIO': {'weight': 500}}}}",
		"linux.resources.blockIO.weight: this host's blkio controller has neither blkio.weight (CFQ) nor "
		"blkio.bfq.weight (BFQ)");
	fake_end();
}

static void test_fake_v1_missing_controllers(void **state)
{
	static const char *const bare[] = { "memory/memory.limit_in_bytes", NULL };

	fake_v1(bare);
	expect_error(
		"{'linux': {'resources': {'network': {'classID': 1}}}}",
		"linux.resources.network.classID: the net_cls controller is not available on this host: no cgroup "
		"v1 hierarchy has it");
	expect_error("{'linux': {'resources': {'pids': {'limit': 0}}}}",
		     "linux.resources.pids.limit: the pids");
	expect_error("{'linux': {'resources': {'unified': {'memory.max': '1'}}}}",
		     "linux.resources.unified[\"memory.max\"]: needs a pure cgroup v2 host");
	/* without a devices hierarchy a v1 host cannot take rules at all */
	expect_error(rules_json, "linux.resources.devices: this host has no cgroup v1 devices hierarchy");
	fake_end();
}

static void test_fake_v1_pids_and_devices(void **state)
{
	fake_v1(v1_host);
	__do_free char *t = conf("{'linux': {'resources': {'pids': {'limit': 0}}}}");
	assert_line(t, "lxc.cgroup.pids.max = max");
	__do_free char *t2 = conf("{'linux': {'resources': {'pids': {'limit': 7}}}}");
	assert_line(t2, "lxc.cgroup.pids.max = 7");
	__do_free char *t3 = conf(rules_json);
	check_device_rules(t3, "lxc.cgroup.devices");
	fake_end();
}

/* Fake huge page pools on /sys/kernel/mm/hugepages. */
static void test_fake_hugepages(void **state)
{
	static const char *const with_hugetlb[] = { "hugetlb/hugetlb.2MB.limit_in_bytes", NULL };

	fake_v1(with_hugetlb);
	if (mount("tmpfs", "/sys/kernel/mm/hugepages", "tmpfs", 0, NULL) < 0)
		skip(); /* the teardown unmounts the fake host */
	fake_hugepages = true;
	assert_int_equal(mkdir("/sys/kernel/mm/hugepages/hugepages-2048kB", 0755), 0);
	__do_free char *t =
		conf("{'linux': {'resources': {'hugepageLimits': [{'pageSize': '2MB', 'limit': 4194304}]}}}");
	assert_line(t, "lxc.cgroup.hugetlb.2MB.limit_in_bytes = 4194304");
	expect_error("{'linux': {'resources': {'hugepageLimits': [{'pageSize': '1GB', 'limit': 1}]}}}",
		     "linux.resources.hugepageLimits[0].pageSize: this host has no 1GB huge pages "
		     "(no /sys/kernel/mm/hugepages/hugepages-1048576kB)");
	fake_end();
}

/* The v2 root's controllers, "" without one. */
static char *v2_controllers(const char *mnt)
{
	char path[256];
	char *buf = NULL;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	if (plx_read_file_at(AT_FDCWD, path, &buf, NULL, NULL) < 0)
		return strdup("");
	return buf;
}

/* A hybrid host: v1 hierarchies on a tmpfs, the real cgroup2 at unified/. */
static void test_fake_hybrid(void **state)
{
	fake_v1(v1_host);
	assert_int_equal(mkdir(PLX_CGROUP_ROOT "/unified", 0755), 0);
	if (mount("cgroup2", PLX_CGROUP_ROOT "/unified", "cgroup2", 0, NULL) < 0)
		skip();
	assert_int_equal(plx_cgroup_layout(), PLX_CGROUP_HYBRID);
	__do_free char *ctrls = v2_controllers(PLX_CGROUP_ROOT "/unified");

	/* liblxc ignores lxc.cgroup2.* on a hybrid host: refuse instead of losing them */
	expect_error(
		"{'linux': {'resources': {'unified': {'cgroup.max.depth': '3'}}}}",
		"linux.resources.unified[\"cgroup.max.depth\"]: needs a pure cgroup v2 host; on this hybrid host");
	if (strstr(ctrls, "hugetlb") && access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0)
		expect_error(
			"{'linux': {'resources': {'hugepageLimits': [{'pageSize': '2MB', 'limit': 4194304}]}}}",
			"linux.resources.hugepageLimits[0]: this hybrid host has the hugetlb controller only in its "
			"cgroup v2 hierarchy");
	/* the v1 controllers still take their v1 keys */
	__do_free char *t = conf("{'linux': {'resources': {'memory': {'limit': 1048576}}}}");
	assert_line(t, "lxc.cgroup.memory.limit_in_bytes = 1048576");
	fake_end();
}

/* A pure v2 host: the real cgroup2 on /sys/fs/cgroup. */
static void test_pure_v2(void **state)
{
	own_mount_ns();
	if (mount("cgroup2", PLX_CGROUP_ROOT, "cgroup2", 0, NULL) < 0)
		skip();
	fake_mounted = true;
	assert_int_equal(plx_cgroup_layout(), PLX_CGROUP_PURE_V2);
	__do_free char *ctrls = v2_controllers(PLX_CGROUP_ROOT);

	/* device rules become liblxc's eBPF program */
	__do_free char *t = conf(rules_json);
	check_device_rules(t, "lxc.cgroup2.devices");

	__do_free char *u = conf("{'linux': {'resources': {'unified': {'cgroup.max.depth': '3'}}}}");
	assert_line(u, "lxc.cgroup2.cgroup.max.depth = 3");
	expect_error("{'linux': {'resources': {'unified': {'nodot': '3'}}}}",
		     "linux.resources.unified[\"nodot\"]: not of the form <controller>.<setting>");
	if (!strstr(ctrls, "memory")) {
		expect_error(
			"{'linux': {'resources': {'memory': {'limit': 1048576}}}}",
			"linux.resources.memory.limit: the memory controller is not available on this host: it is "
			"not in the cgroup v2 root's cgroup.controllers");
		expect_error(
			"{'linux': {'resources': {'unified': {'memory.max': '3'}}}}",
			"linux.resources.unified[\"memory.max\"]: the memory controller is not available");
	} else {
		__do_free char *m =
			conf("{'linux': {'resources': {'memory': {'limit': 1048576, 'swap': -1}}}}");
		assert_line(m, "lxc.cgroup2.memory.max = 1048576");
		expect_error(
			"{'linux': {'resources': {'memory': {'swappiness': 10}}}}",
			"linux.resources.memory.swappiness: cgroup v2 (this host's memory controller) has no such "
			"setting; it is cgroup v1's memory.swappiness");
	}
	if (strstr(ctrls, "hugetlb") && access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0) {
		__do_free char *h = conf(
			"{'linux': {'resources': {'hugepageLimits': [{'pageSize': '2MB', 'limit': 4194304}]}}}");
		assert_line(h, "lxc.cgroup2.hugetlb.2MB.max = 4194304");
	}
	fake_end();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_part),
		cmocka_unit_test(test_namespaces_new),
		cmocka_unit_test(test_namespaces_joined),
		cmocka_unit_test(test_mount_namespace_required),
		cmocka_unit_test(test_user_namespace_and_idmaps),
		cmocka_unit_test(test_bind_mounts),
		cmocka_unit_test(test_bind_mount_missing_source),
		cmocka_unit_test(test_other_mounts),
		cmocka_unit_test(test_cgroup_mount_rw_and_elsewhere),
		cmocka_unit_test(test_configured_device_replaces_default_bind),
		cmocka_unit_test(test_sysctl_hostname),
		cmocka_unit_test(test_device_rules_on_this_host),
		cmocka_unit_test(test_resources_on_this_host),
		cmocka_unit_test(test_resource_values_checked_first),
		cmocka_unit_test(test_v2_conversions),
		/* the fake hosts last: they live in a mount namespace of the test's own */
		cmocka_unit_test_teardown(test_fake_v1_memory, fake_teardown),
		cmocka_unit_test_teardown(test_fake_v1_cpu, fake_teardown),
		cmocka_unit_test_teardown(test_fake_v1_realtime_budget, fake_teardown),
		cmocka_unit_test_teardown(test_fake_v1_blkio, fake_teardown),
		cmocka_unit_test_teardown(test_fake_v1_missing_controllers, fake_teardown),
		cmocka_unit_test_teardown(test_fake_v1_pids_and_devices, fake_teardown),
		cmocka_unit_test_teardown(test_fake_hugepages, fake_teardown),
		cmocka_unit_test_teardown(test_fake_hybrid, fake_teardown),
		cmocka_unit_test_teardown(test_pure_v2, fake_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
