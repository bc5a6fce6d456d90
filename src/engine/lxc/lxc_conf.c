/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI config -> liblxc configuration.  Pure apart from stat() of bind
 * mount sources (a file or a directory decides create=file|dir), the
 * host's cgroup controller layout (v1 or v2 keys), whether SELinux is on
 * (linux.mountLabel) and the addresses of the host interfaces that
 * linux.netDevices moves.
 *
 * Deliberately left to proxmox-lxcri-init: every process.* setting,
 * capabilities, seccomp, domainname, devices (mknod), maskedPaths,
 * readonlyPaths and root.readonly.  liblxc would apply those to the init
 * itself, which must stay privileged until it execs the user program.
 */
#include "lxc_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/lxc/lxc_conf_cgroup.h"
#include "process/lsm.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

struct out {
	FILE *f;
	struct plx_err *err;
	int ret;
};

/* key = value; values must be one line (liblxc's config is line based). */
static void kv(struct out *o, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv(struct out *o, const char *key, const char *fmt, ...)
{
	__do_free char *val = NULL;
	va_list ap;

	if (o->ret < 0)
		return;
	va_start(ap, fmt);
	int r = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (r < 0) {
		o->ret = plx_err_set(o->err, ENOMEM, "lxc config");
		return;
	}
	if (strpbrk(val, "\n\r")) {
		o->ret = plx_err_set(o->err, EINVAL, "%s: value contains a line break", key);
		return;
	}
	fprintf(o->f, "%s = %s\n", key, val);
}

static const struct {
	const char *oci, *lxc;
} ns_names[] = {
	{ "pid", "pid" }, { "network", "net" }, { "mount", "mnt" }, { "ipc", "ipc" },
	{ "uts", "uts" }, { "user", "user" },   { "cgroup", "cgroup" }, { "time", "time" },
};

const char *plx_lxc_ns_name(const char *oci_type)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (strcmp(ns_names[i].oci, oci_type) == 0)
			return ns_names[i].lxc;
	return NULL;
}

static void emit_namespaces(struct out *o, const struct oci_spec *s)
{
	const struct oci_linux *l = s->linux;
	char clone[128] = "";
	bool new_net = false;

	for (size_t i = 0; l && i < l->n_namespaces; i++) {
		const struct oci_namespace *ns = &l->namespaces[i];
		const char *name = plx_lxc_ns_name(ns->type);
		if (!name) {
			o->ret = plx_err_set(o->err, EINVAL, "linux.namespaces[%zu].type: unknown namespace \"%s\"", i,
					     ns->type);
			return;
		}
		if (ns->path) {
			/* liblxc opens an absolute path as the namespace file and setns()es into it */
			char key[64];
			snprintf(key, sizeof(key), "lxc.namespace.share.%s", name);
			kv(o, key, "%s", ns->path);
			continue;
		}
		/* an explicit clone list must name the user namespace too; lxc.idmap then fills its maps */
		if (strcmp(name, "net") == 0)
			new_net = true;
		if (*clone)
			strcat(clone, " ");
		strcat(clone, name);
	}
	if (!oci_spec_namespace(s, "mount")) {
		o->ret = plx_err_set(o->err, EINVAL,
				     "linux.namespaces: a mount namespace is required: liblxc always sets up the "
				     "container's root in a mount namespace of its own");
		return;
	}
	kv(o, "lxc.namespace.clone", "%s", clone);
	/* a new network namespace gets only a loopback device, up as runc brings it up */
	if (new_net) {
		kv(o, "lxc.net.0.type", "empty");
		kv(o, "lxc.net.0.flags", "up");
	}
}

/* The address bytes of an AF_INET or AF_INET6 sockaddr. */
static const unsigned char *sa_bytes(const struct sockaddr *sa, size_t *len)
{
	if (sa->sa_family == AF_INET) {
		*len = 4;
		return (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	}
	*len = 16;
	return (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
}

/* One interface's addresses and up state, read on the host, for liblxc to set again after the move. */
static void emit_net_device_state(struct out *o, const struct ifaddrs *all, const char *host, int idx)
{
	char key[64], addr[INET6_ADDRSTRLEN];

	for (const struct ifaddrs *a = all; a && o->ret == 0; a = a->ifa_next) {
		if (!a->ifa_addr || strcmp(a->ifa_name, host) != 0)
			continue;
		int fam = a->ifa_addr->sa_family;
		if (fam == AF_PACKET && (a->ifa_flags & IFF_UP)) {
			snprintf(key, sizeof(key), "lxc.net.%d.flags", idx);
			kv(o, key, "up");
		}
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		size_t len, mlen;
		const unsigned char *bytes = sa_bytes(a->ifa_addr, &len);
		if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)bytes))
			continue; /* the kernel makes a new one in the container */
		int prefix = 0;
		const unsigned char *mask = a->ifa_netmask ? sa_bytes(a->ifa_netmask, &mlen) : NULL;
		for (size_t b = 0; mask && b < len; b++)
			prefix += __builtin_popcount(mask[b]);
		inet_ntop(fam, bytes, addr, sizeof(addr));
		snprintf(key, sizeof(key), "lxc.net.%d.%s.address", idx, fam == AF_INET ? "ipv4" : "ipv6");
		kv(o, key, "%s/%d", addr, prefix);
	}
}

static bool ifname_ok(const char *n)
{
	size_t len = strlen(n);
	return len > 0 && len < IFNAMSIZ && !strpbrk(n, "/: \t\n") && strcmp(n, ".") != 0 &&
	       strcmp(n, "..") != 0;
}

/*
 * linux.netDevices (runtime-spec 1.2): liblxc's "phys" network type moves
 * a host interface into the new network namespace and renames it.  The
 * move drops its addresses: they and its up state are given to liblxc to
 * set again, as the spec asks.
 */
static void emit_net_devices(struct out *o, const struct oci_spec *s)
{
	json_t *devs = json_object_get(json_object_get(s->doc, "linux"), "netDevices");
	const struct oci_namespace *net = oci_spec_namespace(s, "network");
	struct ifaddrs *all = NULL;
	const char *host;
	json_t *v;
	int idx = 1; /* lxc.net.0 is the loopback-only "empty" one */
	char key[64];

	if (!devs || json_is_null(devs))
		return;
	if (!json_is_object(devs)) {
		o->ret = plx_err_set(o->err, EINVAL, "linux.netDevices: expected object");
		return;
	}
	if (json_object_size(devs) == 0)
		return;
	if (!net || net->path) {
		o->ret = plx_err_set(o->err, EINVAL,
				     "linux.netDevices: needs a new network namespace (linux.namespaces \"network\" "
				     "without a path)");
		return;
	}
	if (getifaddrs(&all) < 0) {
		o->ret = plx_err_sys(o->err, errno, "linux.netDevices: list the host's interfaces");
		return;
	}
	json_object_foreach(devs, host, v) {
		json_t *name = json_is_object(v) ? json_object_get(v, "name") : NULL;
		const char *target = json_is_string(name) ? json_string_value(name) : host;

		if (!json_is_object(v) || (name && !json_is_string(name))) {
			o->ret = plx_err_set(o->err, EINVAL, "linux.netDevices[\"%s\"]: expected {\"name\": string}",
					     host);
			break;
		}
		if (!ifname_ok(host) || !ifname_ok(target)) {
			o->ret = plx_err_set(o->err, EINVAL, "linux.netDevices[\"%s\"]: \"%s\" is not an interface name",
					     host, ifname_ok(host) ? target : host);
			break;
		}
		if (if_nametoindex(host) == 0) {
			o->ret = plx_err_sys(o->err, errno, "linux.netDevices[\"%s\"]: no such host interface", host);
			break;
		}
		snprintf(key, sizeof(key), "lxc.net.%d.type", idx);
		kv(o, key, "phys");
		snprintf(key, sizeof(key), "lxc.net.%d.link", idx);
		kv(o, key, "%s", host);
		snprintf(key, sizeof(key), "lxc.net.%d.name", idx);
		kv(o, key, "%s", target);
		emit_net_device_state(o, all, host, idx);
		idx++;
	}
	freeifaddrs(all);
}

static void emit_idmaps(struct out *o, const struct oci_spec *s)
{
	const struct oci_linux *l = s->linux;
	if (!l)
		return;
	for (size_t i = 0; i < l->n_uid_mappings; i++)
		kv(o, "lxc.idmap", "u %u %u %u", l->uid_mappings[i].container_id, l->uid_mappings[i].host_id,
		   l->uid_mappings[i].size);
	for (size_t i = 0; i < l->n_gid_mappings; i++)
		kv(o, "lxc.idmap", "g %u %u %u", l->gid_mappings[i].container_id, l->gid_mappings[i].host_id,
		   l->gid_mappings[i].size);
}

/* liblxc reads mount entries with getmntent(): escape what would split a field. */
static char *mnt_escape(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
			fprintf(f, "\\%03o", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fclose(f);
	return out;
}

/*
 * Mount options runc knows that liblxc's mount entries cannot express:
 * they take mount(2) flags only, so no recursive attributes (mount_setattr)
 * and no copy-up.  Refused by name rather than silently dropped.
 */
static const char *const unsupported_opts[] = {
	"tmpcopyup", "rro", "rrw", "rnoatime", "ratime", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec",
	"rexec", "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime",
	"rnosymfollow", "rsymfollow",
};

bool plx_lxc_mount_option_supported(const char *opt)
{
	for (size_t u = 0; u < ARRAY_SIZE(unsupported_opts); u++)
		if (strcmp(opt, unsupported_opts[u]) == 0)
			return false;
	return true;
}

/* A mount's id mappings are the container's user namespace's (the only ones liblxc idmaps to). */
static bool idmap_is_containers(const struct oci_spec *s, const struct oci_mount *m)
{
	const struct oci_linux *l = s->linux;

	if (!l || !oci_spec_namespace(s, "user") || m->n_uid_mappings != l->n_uid_mappings ||
	    m->n_gid_mappings != l->n_gid_mappings)
		return false;
	for (size_t i = 0; i < m->n_uid_mappings; i++)
		if (memcmp(&m->uid_mappings[i], &l->uid_mappings[i], sizeof(m->uid_mappings[i])) != 0)
			return false;
	for (size_t i = 0; i < m->n_gid_mappings; i++)
		if (memcmp(&m->gid_mappings[i], &l->gid_mappings[i], sizeof(m->gid_mappings[i])) != 0)
			return false;
	return true;
}

/* The file systems runc mounts with linux.mountLabel (not proc, sysfs, mqueue, cgroup, binds). */
static bool takes_mount_label(const char *type)
{
	static const char *const unlabelled[] = { "proc",    "sysfs", "mqueue", "cgroup",
						  "cgroup2", "bind",  "none" };

	for (size_t i = 0; type && i < ARRAY_SIZE(unlabelled); i++)
		if (strcmp(type, unlabelled[i]) == 0)
			return false;
	return type != NULL;
}

static bool is_bind(const struct oci_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (char **p = m->options; p && *p; p++)
		if (!strcmp(*p, "bind") || !strcmp(*p, "rbind"))
			return true;
	return false;
}

static void emit_mount(struct out *o, const struct plx_lxc_conf_in *in, size_t i, bool *cgroup_auto)
{
	const struct oci_mount *m = &in->spec->mounts[i];
	__do_free char *dest = plx_path_abs(m->destination);
	__do_free char *src = NULL, *esrc = NULL, *edest = NULL, *opts = NULL;
	size_t olen = 0;

	if (!dest || strcmp(dest, "/") == 0) {
		o->ret = plx_err_set(o->err, EINVAL, "mounts[%zu].destination: \"%s\" cannot be mounted over",
				     i, m->destination);
		return;
	}
	/* runc's "idmap"/"ridmap" options: idmapped with the container's mappings when none are given */
	bool idmap_opt = plx_strv_contains(m->options, "idmap") || plx_strv_contains(m->options, "ridmap");
	bool idmap = idmap_opt || m->n_uid_mappings || m->n_gid_mappings;
	if (idmap_opt && !m->n_uid_mappings && !m->n_gid_mappings && !oci_spec_namespace(in->spec, "user")) {
		o->ret = plx_err_set(o->err, EINVAL,
				     "mounts[%zu].options: idmap needs a user namespace (or uidMappings/gidMappings)", i);
		return;
	}
	if ((m->n_uid_mappings || m->n_gid_mappings) && !idmap_is_containers(in->spec, m)) {
		o->ret = plx_err_set(o->err, EINVAL,
				     "mounts[%zu]: uidMappings/gidMappings must be the container's own "
				     "(linux.uidMappings/gidMappings): liblxc idmaps a mount only to the container's "
				     "user namespace (its idmap=container mount option)",
				     i);
		return;
	}
	if (m->type && strcmp(m->type, "devpts") == 0 && strcmp(dest, "/dev/pts") == 0) {
		/*
		 * liblxc mounts /dev/pts itself (newinstance, ptmxmode=0666,
		 * mode=0620, gid=5, as the OCI default) when lxc.pty.max is set,
		 * and skips devpts mount entries.
		 */
		kv(o, "lxc.pty.max", "1024");
		return;
	}
	if (m->type && strcmp(m->type, "cgroup") == 0) {
		if (strcmp(dest, "/sys/fs/cgroup") != 0) {
			o->ret = plx_err_set(o->err, EINVAL,
					     "mounts[%zu].destination: a cgroup mount must be at /sys/fs/cgroup "
					     "(liblxc mounts the cgroup tree only there)", i);
			return;
		}
		bool ro = plx_strv_contains(m->options, "ro");
		kv(o, "lxc.mount.auto", "cgroup:%s:force", ro ? "ro" : "rw");
		*cgroup_auto = true;
		return;
	}

	bool bind = is_bind(m);
	if (bind) {
		if (!m->source) {
			o->ret = plx_err_set(o->err, EINVAL, "mounts[%zu].source: required for a bind mount", i);
			return;
		}
		src = m->source[0] == '/' ? strdup(m->source) : plx_path_join(in->bundle, m->source);
	} else {
		src = strdup(m->source ? m->source : (m->type ? m->type : "none"));
	}
	if (!src) {
		o->ret = plx_err_set(o->err, ENOMEM, "lxc config");
		return;
	}

	FILE *f = open_memstream(&opts, &olen);
	if (!f) {
		o->ret = plx_err_set(o->err, ENOMEM, "lxc config");
		return;
	}
	bool first = true;
	for (char **p = m->options; p && *p; p++) {
		if (!plx_lxc_mount_option_supported(*p)) {
			fclose(f);
			o->ret = plx_err_set(o->err, EINVAL,
					     "mounts[%zu].options: \"%s\" is a runc extension liblxc cannot apply", i, *p);
			return;
		}
		if (strchr(*p, ' ') || strchr(*p, '\n')) {
			fclose(f);
			o->ret = plx_err_set(o->err, EINVAL, "mounts[%zu].options: \"%s\": blank in option", i, *p);
			return;
		}
		if (strcmp(*p, "idmap") == 0 || strcmp(*p, "ridmap") == 0)
			continue; /* idmap=container below */
		fprintf(f, "%s%s", first ? "" : ",", *p);
		first = false;
	}
	bool rec = plx_strv_contains(m->options, "ridmap");
	if (bind && !plx_strv_contains(m->options, "bind") && !plx_strv_contains(m->options, "rbind"))
		fprintf(f, "%srbind", first ? "" : ","), first = false;
	else if (rec && !plx_strv_contains(m->options, "rbind"))
		fprintf(f, "%srbind", first ? "" : ","), first = false;
	if (idmap) {
		if (!bind) {
			fclose(f);
			o->ret = plx_err_set(o->err, EINVAL,
					     "mounts[%zu]: uidMappings/gidMappings: liblxc idmaps bind mounts only", i);
			return;
		}
		fprintf(f, "%sidmap=container", first ? "" : ","), first = false;
	}
	if (!bind && in->spec->linux && in->spec->linux->mount_label && takes_mount_label(m->type) &&
	    plx_selinux_enabled()) {
		/* runc's label.FormatMountLabel; liblxc passes unknown options on, commas included */
		if (strpbrk(in->spec->linux->mount_label, "\" \t\n")) {
			fclose(f);
			o->ret = plx_err_set(o->err, EINVAL, "linux.mountLabel: \"%s\" is not an SELinux label",
					     in->spec->linux->mount_label);
			return;
		}
		fprintf(f, "%scontext=\"%s\"", first ? "" : ",", in->spec->linux->mount_label), first = false;
	}

	const char *create = "dir";
	if (bind) {
		struct stat st;
		if (stat(src, &st) < 0) {
			fclose(f);
			o->ret = plx_err_sys(o->err, errno, "mounts[%zu].source: stat %s", i, src);
			return;
		}
		if (!S_ISDIR(st.st_mode))
			create = "file";
	}
	fprintf(f, "%screate=%s", first ? "" : ",", create);
	fclose(f);

	esrc = mnt_escape(src);
	edest = mnt_escape(dest + 1);
	if (!esrc || !edest) {
		o->ret = plx_err_set(o->err, ENOMEM, "lxc config");
		return;
	}
	const char *type = bind ? "none" : (m->type ? m->type : "none");
	kv(o, "lxc.mount.entry", "%s %s %s %s 0 0", esrc, edest, type, opts);
}

/* The devices every container gets, bind-mounted from the host (works in user namespaces too). */
static const char *const default_devices[] = { "/dev/null", "/dev/zero", "/dev/full",
					       "/dev/random", "/dev/urandom", "/dev/tty" };

static bool config_has_device(const struct oci_spec *s, const char *path)
{
	for (size_t i = 0; s->linux && i < s->linux->n_devices; i++)
		if (strcmp(s->linux->devices[i].path, path) == 0)
			return true;
	return false;
}

static void emit_mounts(struct out *o, const struct plx_lxc_conf_in *in)
{
	bool cgroup_auto = false;

	for (size_t i = 0; i < in->spec->n_mounts && o->ret == 0; i++)
		emit_mount(o, in, i, &cgroup_auto);
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		if (config_has_device(in->spec, default_devices[i]))
			continue;
		kv(o, "lxc.mount.entry", "%s %s none bind,create=file 0 0", default_devices[i],
		   default_devices[i] + 1);
	}
}

static void emit_misc(struct out *o, const struct plx_lxc_conf_in *in)
{
	const struct oci_spec *s = in->spec;
	const struct oci_linux *l = s->linux;
	char key[256];

	if (s->hostname && *s->hostname)
		kv(o, "lxc.uts.name", "%s", s->hostname);
	for (size_t i = 0; l && i < l->n_sysctl; i++) {
		snprintf(key, sizeof(key), "lxc.sysctl.%s", l->sysctl[i].key);
		kv(o, key, "%s", l->sysctl[i].value);
	}
	if (l && l->personality) {
		if (l->personality->flags && l->personality->flags[0]) {
			o->ret = plx_err_set(o->err, EINVAL,
					     "linux.personality.flags: no personality flags are defined by the spec");
			return;
		}
		if (strcmp(l->personality->domain, "LINUX32") == 0)
			kv(o, "lxc.arch", "linux32");
	}
	if (l && l->intel_rdt) {
		struct stat st;
		bool resctrl = stat("/sys/fs/resctrl/schemata", &st) == 0;
		o->ret = plx_err_set(o->err, EOPNOTSUPP, "linux.intelRdt: %s",
				     resctrl ? "liblxc manages no resctrl groups (Intel RDT)"
					     : "Intel RDT is not enabled on this host (no resctrl file system)");
		return;
	}
	for (size_t i = 0; l && i < l->n_time_offsets; i++) {
		const struct oci_time_offset *t = &l->time_offsets[i];
		/* liblxc names CLOCK_BOOTTIME's offset "boot" */
		const char *clock = strcmp(t->clock, "boottime") == 0 ? "boot" : t->clock;
		snprintf(key, sizeof(key), "lxc.time.offset.%s", clock);
		/* liblxc writes whole seconds or nanoseconds below a second, never both */
		if (t->nanosecs == 0) {
			kv(o, key, "%llds", (long long)t->secs);
		} else if (t->secs == 0 && t->nanosecs < 1000000000U) {
			kv(o, key, "%uns", t->nanosecs);
		} else {
			o->ret = plx_err_set(o->err, EINVAL,
					     "linux.timeOffsets.%s: liblxc sets whole seconds or nanoseconds below "
					     "one second, not %lld s and %u ns",
					     t->clock, (long long)t->secs, t->nanosecs);
			return;
		}
	}
	if (in->apparmor_enabled)
		kv(o, "lxc.apparmor.profile", "unconfined");
}

int plx_lxc_conf_build(const struct plx_lxc_conf_in *in, char **text, struct plx_err *err)
{
	__do_free char *buf = NULL;
	size_t len = 0;
	struct out o = { .err = err, .ret = 0 };

	o.f = open_memstream(&buf, &len);
	if (!o.f)
		return plx_err_set(err, ENOMEM, "lxc config");

	fprintf(o.f, "# generated by proxmox-lxcri for container %s; edits are lost\n", in->id);
	kv(&o, "lxc.rootfs.path", "dir:%s", in->rootfs);
	/* never let liblxc touch the bundle's rootfs (e.g. on destroy) */
	kv(&o, "lxc.rootfs.managed", "0");
	kv(&o, "lxc.log.file", "%s", in->log_file);
	kv(&o, "lxc.log.level", "%s", in->debug ? "DEBUG" : "WARN");
	/* stdio and the pty are ours: the program gets exactly what the caller passed */
	kv(&o, "lxc.console.path", "none");
	kv(&o, "lxc.tty.max", "0");
	kv(&o, "lxc.autodev", "0");
	/*
	 * liblxc's monitor does not outlive create (lxc_engine.c): the
	 * container must not get SIGKILL when it goes.
	 */
	kv(&o, "lxc.monitor.signal.pdeath", "0");
	/* liblxc wants these relative to the hierarchy roots */
	kv(&o, "lxc.cgroup.dir.container", "%s", in->cgroup_path + (in->cgroup_path[0] == '/'));
	kv(&o, "lxc.cgroup.dir.monitor", "%s", in->monitor_cgroup + (in->monitor_cgroup[0] == '/'));

	emit_namespaces(&o, in->spec);
	emit_net_devices(&o, in->spec);
	emit_idmaps(&o, in->spec);
	emit_misc(&o, in);
	emit_mounts(&o, in);
	if (o.ret == 0)
		o.ret = plx_lxc_conf_cgroup(o.f, in->spec, in->cgroup_path, err);

	fclose(o.f);
	if (o.ret < 0)
		return o.ret;
	*text = steal_ptr(buf);
	return 0;
}
