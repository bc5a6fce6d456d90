/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI config -> liblxc configuration.  Pure apart from stat() of bind
 * mount sources (a file or a directory decides create=file|dir) and the
 * host's cgroup controller layout (v1 or v2 keys).
 *
 * Deliberately left to proxmox-lxcri-init: every process.* setting,
 * capabilities, seccomp, domainname, devices (mknod), maskedPaths,
 * readonlyPaths and root.readonly.  liblxc would apply those to the init
 * itself, which must stay privileged until it execs the user program.
 */
#include "lxc_conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/lxc/cgroup.h"
#include "util/cgroupfs.h"
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
	/* a new network namespace gets only a loopback device (runc brings it up too) */
	if (new_net)
		kv(o, "lxc.net.0.type", "empty");
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

/* Mount options runc knows that mount(2) and liblxc do not: refuse them by name. */
static const char *const unsupported_opts[] = { "tmpcopyup", "rro", "rrw", "idmap", "ridmap", "rnoatime" };

bool plx_lxc_mount_option_supported(const char *opt)
{
	for (size_t u = 0; u < ARRAY_SIZE(unsupported_opts); u++)
		if (strcmp(opt, unsupported_opts[u]) == 0)
			return false;
	return true;
}

/* Options that are per-mount flags: a bind mount gets them only through a remount. */
static const char *const bind_flag_opts[] = {
	"ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "strictatime", "sync", "dirsync",
	"nosymfollow",
};

static bool bind_needs_remount(char *const *options)
{
	for (size_t i = 0; i < ARRAY_SIZE(bind_flag_opts); i++)
		if (plx_strv_contains(options, bind_flag_opts[i]))
			return true;
	return false;
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
	if (m->n_uid_mappings || m->n_gid_mappings) {
		o->ret = plx_err_set(o->err, EINVAL,
				     "mounts[%zu]: idmapped mounts (uidMappings/gidMappings) are not offered by this "
				     "runtime: liblxc only idmaps the rootfs",
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
		fprintf(f, "%s%s", first ? "" : ",", *p);
		first = false;
	}
	if (bind && !plx_strv_contains(m->options, "bind") && !plx_strv_contains(m->options, "rbind"))
		fprintf(f, "%srbind", first ? "" : ","), first = false;
	/*
	 * A bind mount takes its flags only from a remount.  liblxc skips that
	 * remount unless the entry is "ro" (or the source's flags demand it),
	 * so nosuid/nodev/noexec/... alone would be lost: ask for it.
	 */
	if (bind && bind_needs_remount(m->options))
		fprintf(f, "%sremount", first ? "" : ","), first = false;

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

/* runc's AllowedDevices: what a container may always use. */
static const char *const default_device_rules[] = {
	"c *:* m", "b *:* m",  "c 1:3 rwm",  "c 1:8 rwm",  "c 1:7 rwm",  "c 5:0 rwm",
	"c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
};

static void fmt_devnum(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "*");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static void emit_device_rules(struct out *o, const struct oci_spec *s)
{
	const struct oci_resources *r = s->linux ? s->linux->resources : NULL;
	int ver = plx_cgroup_controller_version("devices");
	const char *prefix = ver == 1 ? "lxc.cgroup.devices" : "lxc.cgroup2.devices";
	char key[64], maj[24], min[24];

	if (!r || r->n_devices == 0)
		return;
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		snprintf(key, sizeof(key), "%s.%s", prefix, d->allow ? "allow" : "deny");
		if (d->type == 'a' && d->major < 0 && d->minor < 0) {
			kv(o, key, "a");
			continue;
		}
		fmt_devnum(maj, sizeof(maj), d->major);
		fmt_devnum(min, sizeof(min), d->minor);
		kv(o, key, "%c %s:%s %s", d->type ? d->type : 'a', maj, min, d->access ? d->access : "rwm");
	}
	/* devices listed in linux.devices are usable, as runc allows them */
	snprintf(key, sizeof(key), "%s.allow", prefix);
	for (size_t i = 0; s->linux && i < s->linux->n_devices; i++) {
		const struct oci_device *d = &s->linux->devices[i];
		if (d->type == 'p')
			continue;
		kv(o, key, "%c %lld:%lld rwm", d->type == 'u' ? 'c' : d->type, (long long)d->major,
		   (long long)d->minor);
	}
	for (size_t i = 0; i < ARRAY_SIZE(default_device_rules); i++)
		kv(o, key, "%s", default_device_rules[i]);
}

/* One cgroup setting: written with the v1 or v2 key depending on where the controller lives. */
static void cg_set(struct out *o, const char *field, const char *ctrl, const char *v1file, const char *v2file,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void cg_set(struct out *o, const char *field, const char *ctrl, const char *v1file, const char *v2file,
		   const char *fmt, ...)
{
	__do_free char *val = NULL;
	char key[128];
	va_list ap;

	if (o->ret < 0)
		return;
	int ver = plx_cgroup_controller_version(ctrl);
	const char *file = ver == 1 ? v1file : v2file;
	if (ver == 0 || !file) {
		o->ret = plx_err_set(o->err, EOPNOTSUPP,
				     "linux.resources.%s: the %s controller has no %s on this host's cgroup %s",
				     field, ctrl, ver == 0 ? "hierarchy" : "such setting",
				     ver == 1 ? "v1 hierarchy" : "v2 hierarchy");
		return;
	}
	va_start(ap, fmt);
	int r = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (r < 0) {
		o->ret = plx_err_set(o->err, ENOMEM, "lxc config");
		return;
	}
	snprintf(key, sizeof(key), "%s.%s", ver == 1 ? "lxc.cgroup" : "lxc.cgroup2", file);
	kv(o, key, "%s", val);
}

static bool v2(const char *ctrl)
{
	return plx_cgroup_controller_version(ctrl) == 2;
}

/* cgroup v2 "max" for OCI's -1 (unlimited) */
static void fmt_limit(char *buf, size_t len, int64_t v, bool is_v2)
{
	if (v < 0 && is_v2)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static void emit_memory(struct out *o, const struct oci_memory *m)
{
	char buf[32];
	bool mv2 = v2("memory");

	if (m->has_limit) {
		fmt_limit(buf, sizeof(buf), m->limit, mv2);
		cg_set(o, "memory.limit", "memory", "memory.limit_in_bytes", "memory.max", "%s", buf);
	}
	if (m->has_reservation) {
		fmt_limit(buf, sizeof(buf), m->reservation, mv2);
		cg_set(o, "memory.reservation", "memory", "memory.soft_limit_in_bytes", "memory.low", "%s", buf);
	}
	if (m->has_swap) {
		if (mv2) {
			/* OCI swap is memory+swap; v2 limits swap alone */
			if (m->swap < 0 || !m->has_limit || m->limit < 0)
				snprintf(buf, sizeof(buf), "max");
			else if (m->swap < m->limit)
				o->ret = plx_err_set(o->err, EINVAL,
						     "linux.resources.memory.swap: %lld is below memory.limit %lld",
						     (long long)m->swap, (long long)m->limit);
			else
				snprintf(buf, sizeof(buf), "%lld", (long long)(m->swap - m->limit));
			cg_set(o, "memory.swap", "memory", NULL, "memory.swap.max", "%s", buf);
		} else {
			cg_set(o, "memory.swap", "memory", "memory.memsw.limit_in_bytes", NULL, "%lld",
			       (long long)m->swap);
		}
	}
	if (m->has_swappiness)
		cg_set(o, "memory.swappiness", "memory", "memory.swappiness", NULL, "%llu",
		       (unsigned long long)m->swappiness);
	if (m->has_disable_oom_killer && m->disable_oom_killer)
		cg_set(o, "memory.disableOOMKiller", "memory", "memory.oom_control", NULL, "1");
	if (m->has_kernel_tcp)
		cg_set(o, "memory.kernelTCP", "memory", "memory.kmem.tcp.limit_in_bytes", NULL, "%lld",
		       (long long)m->kernel_tcp);
	/* memory.kernel: kernel 5.16+ ignores kmem limits; runc ignores it as well */
}

static void emit_cpu(struct out *o, const struct oci_cpu *c)
{
	bool cv2 = v2("cpu");

	if (c->has_shares) {
		if (cv2) /* runc's conversion: [2, 262144] -> [1, 10000] */
			cg_set(o, "cpu.shares", "cpu", NULL, "cpu.weight", "%llu",
			       c->shares == 0 ? 100ULL
					      : 1 + ((unsigned long long)(c->shares < 2 ? 2 : c->shares) - 2) * 9999 /
							    262142);
		else
			cg_set(o, "cpu.shares", "cpu", "cpu.shares", NULL, "%llu", (unsigned long long)c->shares);
	}
	if (cv2 && (c->has_quota || c->has_period)) {
		unsigned long long period = c->has_period && c->period ? c->period : 100000;
		if (c->has_quota && c->quota > 0)
			cg_set(o, "cpu.quota", "cpu", NULL, "cpu.max", "%lld %llu", (long long)c->quota, period);
		else
			cg_set(o, "cpu.quota", "cpu", NULL, "cpu.max", "max %llu", period);
	} else {
		if (c->has_period)
			cg_set(o, "cpu.period", "cpu", "cpu.cfs_period_us", NULL, "%llu",
			       (unsigned long long)c->period);
		if (c->has_quota)
			cg_set(o, "cpu.quota", "cpu", "cpu.cfs_quota_us", NULL, "%lld", (long long)c->quota);
	}
	if (c->has_burst)
		cg_set(o, "cpu.burst", "cpu", "cpu.cfs_burst_us", "cpu.max.burst", "%llu",
		       (unsigned long long)c->burst);
	if (c->has_realtime_period)
		cg_set(o, "cpu.realtimePeriod", "cpu", "cpu.rt_period_us", NULL, "%llu",
		       (unsigned long long)c->realtime_period);
	if (c->has_realtime_runtime)
		cg_set(o, "cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", NULL, "%lld",
		       (long long)c->realtime_runtime);
	if (c->has_idle)
		cg_set(o, "cpu.idle", "cpu", NULL, "cpu.idle", "%lld", (long long)c->idle);
	if (c->cpus && *c->cpus)
		cg_set(o, "cpu.cpus", "cpuset", "cpuset.cpus", "cpuset.cpus", "%s", c->cpus);
	if (c->mems && *c->mems)
		cg_set(o, "cpu.mems", "cpuset", "cpuset.mems", "cpuset.mems", "%s", c->mems);
}

static void emit_throttle(struct out *o, const char *field, const struct oci_throttle_device *v, size_t n,
			  const char *v1file, const char *v2key)
{
	for (size_t i = 0; i < n; i++) {
		if (v2("io"))
			cg_set(o, field, "io", NULL, "io.max", "%lld:%lld %s=%llu", (long long)v[i].major,
			       (long long)v[i].minor, v2key, (unsigned long long)v[i].rate);
		else
			cg_set(o, field, "blkio", v1file, NULL, "%lld:%lld %llu", (long long)v[i].major,
			       (long long)v[i].minor, (unsigned long long)v[i].rate);
	}
}

static void emit_blkio(struct out *o, const struct oci_block_io *b)
{
	bool bv2 = v2("io");
	const char *ctrl = bv2 ? "io" : "blkio";

	if (b->has_weight) {
		if (bv2) /* runc's conversion: [10, 1000] -> [1, 10000] */
			cg_set(o, "blockIO.weight", ctrl, NULL, "io.weight", "%u",
			       1 + ((unsigned)b->weight - 10) * 9999 / 990);
		else
			cg_set(o, "blockIO.weight", ctrl, "blkio.weight", NULL, "%u", b->weight);
	}
	if (b->has_leaf_weight)
		cg_set(o, "blockIO.leafWeight", ctrl, "blkio.leaf_weight", NULL, "%u", b->leaf_weight);
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *w = &b->weight_device[i];
		if (w->has_weight)
			cg_set(o, "blockIO.weightDevice", ctrl, "blkio.weight_device", "io.weight", "%lld:%lld %u",
			       (long long)w->major, (long long)w->minor, w->weight);
	}
	emit_throttle(o, "blockIO.throttleReadBpsDevice", b->throttle_read_bps, b->n_throttle_read_bps,
		      "blkio.throttle.read_bps_device", "rbps");
	emit_throttle(o, "blockIO.throttleWriteBpsDevice", b->throttle_write_bps, b->n_throttle_write_bps,
		      "blkio.throttle.write_bps_device", "wbps");
	emit_throttle(o, "blockIO.throttleReadIOPSDevice", b->throttle_read_iops, b->n_throttle_read_iops,
		      "blkio.throttle.read_iops_device", "riops");
	emit_throttle(o, "blockIO.throttleWriteIOPSDevice", b->throttle_write_iops, b->n_throttle_write_iops,
		      "blkio.throttle.write_iops_device", "wiops");
}

static void emit_resources(struct out *o, const struct oci_spec *s)
{
	const struct oci_resources *r = s->linux ? s->linux->resources : NULL;
	char key[160], buf[32];

	if (!r)
		return;
	if (r->memory)
		emit_memory(o, r->memory);
	if (r->cpu)
		emit_cpu(o, r->cpu);
	if (r->has_pids_limit) {
		/* OCI: 0 or -1 is unlimited; both hierarchies spell that "max" */
		if (r->pids_limit > 0)
			snprintf(buf, sizeof(buf), "%lld", (long long)r->pids_limit);
		else
			snprintf(buf, sizeof(buf), "max");
		cg_set(o, "pids.limit", "pids", "pids.max", "pids.max", "%s", buf);
	}
	if (r->block_io)
		emit_blkio(o, r->block_io);
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		char v1f[96], v2f[96];
		snprintf(v1f, sizeof(v1f), "hugetlb.%s.limit_in_bytes", h->page_size);
		snprintf(v2f, sizeof(v2f), "hugetlb.%s.max", h->page_size);
		cg_set(o, "hugepageLimits", "hugetlb", v1f, v2f, "%llu", (unsigned long long)h->limit);
	}
	if (r->has_net_class_id)
		cg_set(o, "network.classID", "net_cls", "net_cls.classid", NULL, "%u", r->net_class_id);
	for (size_t i = 0; i < r->n_net_priorities; i++)
		cg_set(o, "network.priorities", "net_prio", "net_prio.ifpriomap", NULL, "%s %u",
		       r->net_priorities[i].name, r->net_priorities[i].priority);
	for (size_t i = 0; i < r->n_unified && o->ret == 0; i++) {
		const char *k = r->unified[i].key;
		if (!plx_cgroup_v2_mount()) {
			o->ret = plx_err_set(o->err, EOPNOTSUPP,
					     "linux.resources.unified[\"%s\"]: this host has no cgroup v2 hierarchy", k);
			return;
		}
		if (strchr(k, '/') || k[0] == '.') {
			o->ret = plx_err_set(o->err, EINVAL, "linux.resources.unified[\"%s\"]: not a cgroup file name", k);
			return;
		}
		snprintf(key, sizeof(key), "lxc.cgroup2.%s", k);
		kv(o, key, "%s", r->unified[i].value);
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
	for (size_t i = 0; l && i < l->n_time_offsets; i++) {
		const struct oci_time_offset *t = &l->time_offsets[i];
		snprintf(key, sizeof(key), "lxc.time.offset.%s", t->clock);
		long long ns = (long long)t->secs * 1000000000LL + t->nanosecs;
		kv(o, key, "%lldns", ns);
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
	emit_idmaps(&o, in->spec);
	emit_misc(&o, in);
	emit_mounts(&o, in);
	emit_device_rules(&o, in->spec);
	emit_resources(&o, in->spec);

	fclose(o.f);
	if (o.ret < 0)
		return o.ret;
	*text = steal_ptr(buf);
	return 0;
}
