/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config "runc spec" writes (libcontainer/specconv's Example() and
 * ToRootless()), with our spec version and hostname.  Two departures, both
 * so that the template runs as written: no ambient capabilities (raising
 * them needs them inheritable too, which the default set is not), and the
 * rootless variant drops the cgroup namespace and the /sys/fs/cgroup mount
 * (a cgroup file system cannot be mounted from a user namespace that does
 * not own the cgroup namespace; the /sys rbind shows the host's instead).
 */
#include "oci/spec.h"

#include "util/cleanup.h"

static json_t *strs(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

#define STRS(...)                                                \
	({                                                       \
		static const char *const _v[] = { __VA_ARGS__ }; \
		strs(_v, ARRAY_SIZE(_v));                        \
	})

static json_t *default_caps(void)
{
	return STRS("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
}

static json_t *process(void)
{
	return json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:[{s:s, s:i, s:i}], s:b}",
			 "terminal", 1,
			 "user", "uid", 0, "gid", 0,
			 "args", STRS("sh"),
			 "env", STRS("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				     "TERM=xterm"),
			 "cwd", "/",
			 "capabilities",
			 "bounding", default_caps(),
			 "effective", default_caps(),
			 "permitted", default_caps(),
			 "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
			 "noNewPrivileges", 1);
}

static json_t *mount(const char *dst, const char *type, const char *src, json_t *opts)
{
	return json_pack("{s:s, s:s, s:s, s:o}",
			 "destination", dst, "type", type, "source", src, "options", opts);
}

static json_t *mounts(bool rootless)
{
	json_t *arr, *sys, *pts;

	if (rootless) {
		/* runc strips gid=/uid= options: the ids may not be mapped */
		pts = STRS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620");
		sys = mount("/sys", "none", "/sys", STRS("rbind", "nosuid", "noexec", "nodev", "ro"));
	} else {
		pts = STRS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
		sys = mount("/sys", "sysfs", "sysfs", STRS("nosuid", "noexec", "nodev", "ro"));
	}
	arr = json_pack("[{s:s, s:s, s:s}, o, o, o, o, o]",
			"destination", "/proc", "type", "proc", "source", "proc",
			mount("/dev", "tmpfs", "tmpfs",
			      STRS("nosuid", "strictatime", "mode=755", "size=65536k")),
			mount("/dev/pts", "devpts", "devpts", pts),
			mount("/dev/shm", "tmpfs", "shm",
			      STRS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
			mount("/dev/mqueue", "mqueue", "mqueue", STRS("nosuid", "noexec", "nodev")),
			sys);
	if (arr && !rootless &&
	    json_array_append_new(arr, mount("/sys/fs/cgroup", "cgroup", "cgroup",
					     STRS("nosuid", "noexec", "nodev", "relatime", "ro"))) < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *namespaces(bool rootless)
{
	if (rootless)
		return json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]",
				 "type", "pid", "type", "ipc", "type", "uts", "type", "mount",
				 "type", "user");
	return json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}]",
			 "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
			 "type", "cgroup");
}

static json_t *masked_paths(void)
{
	return STRS("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		    "/proc/scsi");
}

static json_t *readonly_paths(void)
{
	return STRS("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
}

static json_t *linux_section(bool rootless, uid_t uid, gid_t gid)
{
	if (rootless)
		return json_pack("{s:[{s:i, s:I, s:i}], s:[{s:i, s:I, s:i}], s:o, s:o, s:o}",
				 "uidMappings", "containerID", 0, "hostID", (json_int_t)uid, "size", 1,
				 "gidMappings", "containerID", 0, "hostID", (json_int_t)gid, "size", 1,
				 "namespaces", namespaces(true),
				 "maskedPaths", masked_paths(),
				 "readonlyPaths", readonly_paths());
	return json_pack("{s:{s:[{s:b, s:s}]}, s:o, s:o, s:o}",
			 "resources", "devices", "allow", 0, "access", "rwm",
			 "namespaces", namespaces(false),
			 "maskedPaths", masked_paths(),
			 "readonlyPaths", readonly_paths());
}

/* NULL only when out of memory (json_pack releases the parts it was given). */
json_t *oci_spec_template(bool rootless, uid_t uid, gid_t gid)
{
	return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}",
			 "ociVersion", OCI_RUNTIME_SPEC_VERSION,
			 "process", process(),
			 "root", "path", "rootfs", "readonly", 1,
			 "hostname", "proxmox-lxcri",
			 "mounts", mounts(rootless),
			 "linux", linux_section(rootless, uid, gid));
}
