/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources -> lxc.cgroup.* / lxc.cgroup2.*.  Values follow runc's
 * conversions (0 means unset, shares -> cpu.weight, blkio weight ->
 * io.weight, OCI swap = memory + swap).  The host decides the keys: where
 * each controller lives (v1 or v2), and which files its cgroups have
 * (blkio.weight or BFQ's blkio.bfq.weight, memsw with swap accounting).
 */
#include "lxc_conf_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lxc/cgroup.h"
#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

struct cg {
	FILE *f;
	struct plx_err *err;
	int ret;
	enum plx_cgroup_layout layout;
	const char *cgroup_path;
};

static void fail(struct cg *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct cg *c, int code, const char *fmt, ...)
{
	__do_free char *msg = NULL;
	va_list ap;

	if (c->ret < 0)
		return;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	c->ret = r < 0 ? plx_err_set(c->err, ENOMEM, "lxc config") : plx_err_set(c->err, code, "%s", msg);
}

/* "lxc.cgroup.<file> = value" (v1) or "lxc.cgroup2.<file> = value" (v2); one line each. */
static void vput(struct cg *c, int ver, const char *file, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void vput(struct cg *c, int ver, const char *file, const char *fmt, va_list ap)
{
	__do_free char *val = NULL;

	if (c->ret < 0)
		return;
	if (vasprintf(&val, fmt, ap) < 0) {
		c->ret = plx_err_set(c->err, ENOMEM, "lxc config");
		return;
	}
	if (strpbrk(val, "\n\r")) {
		fail(c, EINVAL, "lxc.cgroup%s.%s: value contains a line break", ver == 2 ? "2" : "", file);
		return;
	}
	fprintf(c->f, "lxc.cgroup%s.%s = %s\n", ver == 2 ? "2" : "", file, val);
}

static void put(struct cg *c, int ver, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(struct cg *c, int ver, const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(c, ver, file, fmt, ap);
	va_end(ap);
}

static const char *missing_controller(enum plx_cgroup_layout l)
{
	switch (l) {
	case PLX_CGROUP_PURE_V2:
		return "it is not in the cgroup v2 root's cgroup.controllers";
	case PLX_CGROUP_HYBRID:
		return "no cgroup v1 hierarchy has it and it is not in the cgroup v2 root's cgroup.controllers";
	case PLX_CGROUP_LEGACY:
		return "no cgroup v1 hierarchy has it";
	case PLX_CGROUP_UNKNOWN:
		break;
	}
	return "there is no cgroup file system at " PLX_CGROUP_ROOT;
}

/* The cgroup version settings of ctrl go to (1 or 2), or 0 after an error naming field. */
static int ctrl_version(struct cg *c, const char *field, const char *ctrl)
{
	if (c->ret < 0)
		return 0;
	int ver = plx_cgroup_controller_version(ctrl);
	if (ver == 0) {
		fail(c, EOPNOTSUPP, "linux.resources.%s: the %s controller is not available on this host: %s",
		     field, ctrl, missing_controller(c->layout));
		return 0;
	}
	if (ver == 2 && c->layout != PLX_CGROUP_PURE_V2) {
		fail(c, EOPNOTSUPP,
		     "linux.resources.%s: this hybrid host has the %s controller only in its cgroup v2 hierarchy "
		     "(%s), where liblxc applies no settings (it does on a pure cgroup v2 host only)",
		     field, ctrl, PLX_CGROUP_ROOT "/unified");
		return 0;
	}
	return ver;
}

/* Why a cgroup file may be missing. */
static const struct {
	const char *file, *why;
} missing_hints[] = {
	{ "memory.memsw.limit_in_bytes", "swap accounting is off (boot option swapaccount=1)" },
	{ "memory.swap.max", "swap accounting is off" },
	{ "memory.kmem.tcp.limit_in_bytes", "the kernel has no TCP memory accounting" },
	{ "blkio.leaf_weight", "leaf weights were CFQ's, which Linux 5.0 removed" },
	{ "blkio.leaf_weight_device", "leaf weights were CFQ's, which Linux 5.0 removed" },
	{ "cpu.rt_runtime_us", "the kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)" },
	{ "cpu.rt_period_us", "the kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)" },
	{ "cpu.cfs_burst_us", "CFS burst needs Linux 5.14" },
	{ "cpu.max.burst", "CFS burst needs Linux 5.14" },
	{ "cpu.idle", "SCHED_IDLE groups need Linux 5.15" },
	{ "io.weight", "the kernel has neither BFQ (io.bfq.weight) nor the io cost controller (io.weight)" },
};

/*
 * Whether the cgroups of ctrl have file; fails naming field when they
 * certainly do not.  Unknowable (no cgroup to look at) passes: liblxc then
 * names the file it could not write.
 */
static bool file_ok(struct cg *c, const char *field, const char *ctrl, const char *file)
{
	if (c->ret < 0)
		return false;
	if (plx_cgroup_probe_file(ctrl, file) != 0)
		return true;
	const char *why = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(missing_hints); i++)
		if (strcmp(missing_hints[i].file, file) == 0)
			why = missing_hints[i].why;
	fail(c, EOPNOTSUPP, "linux.resources.%s: this host's %s controller has no %s%s%s", field, ctrl, file,
	     why ? ": " : "", why ? why : "");
	return false;
}

/* One setting with the v1 or the v2 file, depending on where ctrl lives; NULL: none there. */
static void cg_set(struct cg *c, const char *field, const char *ctrl, const char *v1file, const char *v2file,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void cg_set(struct cg *c, const char *field, const char *ctrl, const char *v1file, const char *v2file,
		   const char *fmt, ...)
{
	va_list ap;
	int ver = ctrl_version(c, field, ctrl);

	if (!ver)
		return;
	const char *file = ver == 1 ? v1file : v2file;
	if (!file) {
		fail(c, EOPNOTSUPP,
		     "linux.resources.%s: cgroup v%d (this host's %s controller) has no such setting; "
		     "it is cgroup v%d's %s",
		     field, ver, ctrl, 3 - ver, ver == 1 ? v2file : v1file);
		return;
	}
	if (!file_ok(c, field, ctrl, file))
		return;
	va_start(ap, fmt);
	vput(c, ver, file, fmt, ap);
	va_end(ap);
}

/* runc's AllowedDevices: what a container may always use. */
static const char *const default_device_rules[] = {
	"c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:8 rwm",   "c 1:7 rwm", "c 5:0 rwm",
	"c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
};

static void fmt_devnum(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "*");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

/*
 * In runc's order: the config's rules, then linux.devices and the default
 * devices allowed (so a rule cannot take those away, as with runc).
 */
static void emit_device_rules(struct cg *c, const struct oci_spec *s)
{
	const struct oci_resources *r = s->linux ? s->linux->resources : NULL;
	char file[32], maj[24], min[24];
	int ver;

	if (!r || r->n_devices == 0)
		return;
	if (plx_cgroup_controller_version("devices") == 1) {
		ver = 1;
	} else if (c->layout == PLX_CGROUP_PURE_V2) {
		ver = 2; /* liblxc turns the rules into an eBPF program */
	} else {
		fail(c, EOPNOTSUPP,
		     "linux.resources.devices: this host has no cgroup v1 devices hierarchy, and liblxc applies "
		     "device rules through cgroup v2 (eBPF) on a pure cgroup v2 host only");
		return;
	}
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		const char *access = d->access && *d->access ? d->access : "rwm";
		snprintf(file, sizeof(file), "devices.%s", d->allow ? "allow" : "deny");
		if ((d->type == 'a' || !d->type) && d->major < 0 && d->minor < 0) {
			put(c, ver, file, "a");
			continue;
		}
		fmt_devnum(maj, sizeof(maj), d->major);
		fmt_devnum(min, sizeof(min), d->minor);
		put(c, ver, file, "%c %s:%s %s", d->type ? d->type : 'a', maj, min, access);
	}
	for (size_t i = 0; s->linux && i < s->linux->n_devices; i++) {
		const struct oci_device *d = &s->linux->devices[i];
		if (d->type == 'p')
			continue;
		put(c, ver, "devices.allow", "%c %lld:%lld rwm", d->type == 'u' ? 'c' : d->type,
		    (long long)d->major, (long long)d->minor);
	}
	for (size_t i = 0; i < ARRAY_SIZE(default_device_rules); i++)
		put(c, ver, "devices.allow", "%s", default_device_rules[i]);
}

/* cgroup v2 spells OCI's -1 (unlimited) "max" */
static void fmt_limit(char *buf, size_t len, int64_t v, int ver)
{
	if (v < 0 && ver == 2)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

/* What the kernel would refuse anyway, named by field (runc refuses the same). */
static bool memory_values_ok(struct cg *c, const struct oci_memory *m, int64_t limit, int64_t swap)
{
	if (swap > 0 && limit <= 0)
		fail(c, EINVAL, "linux.resources.memory.swap: a swap limit needs memory.limit");
	else if (swap > 0 && swap < limit)
		fail(c, EINVAL,
		     "linux.resources.memory.swap: %lld is below memory.limit %lld (swap counts memory plus swap)",
		     (long long)swap, (long long)limit);
	else if (m->has_swappiness && m->swappiness > 100)
		fail(c, EINVAL, "linux.resources.memory.swappiness: %llu is outside 0-100",
		     (unsigned long long)m->swappiness);
	return c->ret == 0;
}

bool plx_cg_swap_v2(int64_t limit, int64_t swap, int64_t *out)
{
	/* unlimited memory with swap unset means both unlimited, as on v1 */
	if (swap < 0 || (limit < 0 && swap == 0)) {
		*out = -1;
		return true;
	}
	if (swap == 0)
		return false;
	*out = swap - limit;
	return true;
}

static void emit_swap(struct cg *c, int64_t limit, int64_t swap, int ver)
{
	int64_t v2;

	if (ver != 2) {
		if (swap)
			cg_set(c, "memory.swap", "memory", "memory.memsw.limit_in_bytes", NULL, "%lld",
			       (long long)swap);
		return;
	}
	if (!plx_cg_swap_v2(limit, swap, &v2))
		return;
	/* without swap accounting "no limit" and "no swap" hold anyway: runc skips them too */
	if (v2 <= 0 && plx_cgroup_probe_file("memory", "memory.swap.max") == 0)
		return;
	if (v2 < 0)
		cg_set(c, "memory.swap", "memory", NULL, "memory.swap.max", "max");
	else
		cg_set(c, "memory.swap", "memory", NULL, "memory.swap.max", "%lld", (long long)v2);
}

static void emit_memory(struct cg *c, const struct oci_memory *m)
{
	char buf[32];
	int ver = plx_cgroup_controller_version("memory");
	/* runc: 0 is "not set" */
	int64_t limit = m->has_limit ? m->limit : 0;
	int64_t swap = m->has_swap ? m->swap : 0;

	if (!memory_values_ok(c, m, limit, swap))
		return;
	if (limit) {
		fmt_limit(buf, sizeof(buf), limit, ver);
		cg_set(c, "memory.limit", "memory", "memory.limit_in_bytes", "memory.max", "%s", buf);
	}
	if (m->has_reservation && m->reservation) {
		fmt_limit(buf, sizeof(buf), m->reservation, ver);
		cg_set(c, "memory.reservation", "memory", "memory.soft_limit_in_bytes", "memory.low", "%s",
		       buf);
	}
	if (swap || limit < 0)
		emit_swap(c, limit, swap, ver);
	if (m->has_swappiness)
		cg_set(c, "memory.swappiness", "memory", "memory.swappiness", NULL, "%llu",
		       (unsigned long long)m->swappiness);
	if (m->has_disable_oom_killer && m->disable_oom_killer)
		cg_set(c, "memory.disableOOMKiller", "memory", "memory.oom_control", NULL, "1");
	if (m->has_kernel_tcp && m->kernel_tcp)
		cg_set(c, "memory.kernelTCP", "memory", "memory.kmem.tcp.limit_in_bytes", NULL, "%lld",
		       (long long)m->kernel_tcp);
	if (m->has_kernel && m->kernel && c->ret == 0)
		log_warn(
			"linux.resources.memory.kernel: ignored: Linux 5.16+ ignores kernel memory limits (as runc)");
}

/* The parent cgroup of path ("/a/b" -> "/a", "/a" -> "/"). */
static char *parent_of(const char *path)
{
	char *p = strdup(path);
	char *slash = p ? strrchr(p, '/') : NULL;

	if (slash == p)
		p[1] = '\0';
	else if (slash)
		*slash = '\0';
	return p;
}

/*
 * The kernel refuses a real-time runtime above the parent's share
 * (runtime/period).  liblxc makes missing parents with none: say so by
 * name instead of liblxc's bare EINVAL.
 */
static void check_rt_budget(struct cg *c, uint64_t period, int64_t runtime)
{
	__do_free char *parent = parent_of(c->cgroup_path);
	long long prt = 0, pper = 1000000;

	if (!parent) {
		c->ret = plx_err_set(c->err, ENOMEM, "lxc config");
		return;
	}
	if (plx_cgroup_v1_read_int("cpu", parent, "cpu.rt_runtime_us", &prt) < 0)
		prt = 0;
	if (plx_cgroup_v1_read_int("cpu", parent, "cpu.rt_period_us", &pper) < 0 || pper <= 0)
		pper = 1000000;
	if (prt < 0) /* unlimited */
		return;
	if ((__int128)runtime * pper > (__int128)prt * (long long)period)
		fail(c, EINVAL,
		     "linux.resources.cpu.realtimeRuntime: %lld us per %llu us is more real-time than the parent cgroup "
		     "%s has (cpu.rt_runtime_us %lld per cpu.rt_period_us %lld); give the parent cgroups a budget first",
		     (long long)runtime, (unsigned long long)period, parent, prt, pper);
}

/* The next range of a kernel list ("0-3,8") at *p: 1, 0 at its end, -EINVAL if it is none. */
static int next_range(const char **p, unsigned long *lo, unsigned long *hi)
{
	const char *s = *p;
	char *end;

	if (!*s || *s == '\n')
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*lo = *hi = strtoul(s, &end, 10);
	if (*end == '-') {
		s = end + 1;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		*hi = strtoul(s, &end, 10);
		if (*hi < *lo)
			return -EINVAL;
	}
	if (*end == ',' && end[1] >= '0' && end[1] <= '9')
		end++;
	else if (*end && *end != '\n')
		return -EINVAL;
	*p = end;
	return 1;
}

static bool list_has(const char *list, unsigned long n)
{
	unsigned long lo, hi;

	while (next_range(&list, &lo, &hi) == 1)
		if (n >= lo && n <= hi)
			return true;
	return false;
}

/* cpu.cpus / cpu.mems: a kernel list of what is online here (the kernel's own check, named by field). */
static bool cpuset_list_ok(struct cg *c, const char *field, const char *list, const char *online_file,
			   const char *what)
{
	__do_free char *online = NULL;
	unsigned long lo, hi;
	const char *p = list;
	int r;

	while ((r = next_range(&p, &lo, &hi)) == 1)
		;
	if (r < 0) {
		fail(c, EINVAL, "linux.resources.%s: \"%s\" is not a list like \"0-3,8\"", field, list);
		return false;
	}
	if (plx_read_file_at(AT_FDCWD, online_file, &online, NULL, NULL) < 0)
		return true; /* unknown: the kernel decides */
	online[strcspn(online, "\n")] = '\0';
	for (p = list; next_range(&p, &lo, &hi) == 1;) {
		for (unsigned long n = lo; n <= hi; n++) {
			if (!list_has(online, n)) {
				fail(c, EINVAL,
				     "linux.resources.%s: %s %lu is not online on this host (online: %s)",
				     field, what, n, online);
				return false;
			}
		}
	}
	return true;
}

static void emit_cpu(struct cg *c, const struct oci_cpu *p)
{
	int ver = plx_cgroup_controller_version("cpu");
	/* runc: 0 is "not set" */
	int64_t quota = p->has_quota ? p->quota : 0;
	uint64_t period = p->has_period ? p->period : 0;

	if (p->has_shares && p->shares) {
		if (ver == 2) {
			cg_set(c, "cpu.shares", "cpu", NULL, "cpu.weight", "%llu",
			       (unsigned long long)plx_cg_cpu_weight(p->shares));
		} else {
			cg_set(c, "cpu.shares", "cpu", "cpu.shares", NULL, "%llu",
			       (unsigned long long)p->shares);
		}
	}
	if (ver == 2 && (quota || period)) {
		char buf[64];
		int n = quota > 0 ? snprintf(buf, sizeof(buf), "%lld", (long long)quota)
				  : snprintf(buf, sizeof(buf), "max");
		if (period)
			snprintf(buf + n, sizeof(buf) - (size_t)n, " %llu", (unsigned long long)period);
		cg_set(c, "cpu.quota", "cpu", NULL, "cpu.max", "%s", buf);
	} else if (ver != 2) {
		/* the period first: a quota is checked against it */
		if (period)
			cg_set(c, "cpu.period", "cpu", "cpu.cfs_period_us", NULL, "%llu",
			       (unsigned long long)period);
		if (quota)
			cg_set(c, "cpu.quota", "cpu", "cpu.cfs_quota_us", NULL, "%lld", (long long)quota);
	}
	if (p->has_burst)
		cg_set(c, "cpu.burst", "cpu", "cpu.cfs_burst_us", "cpu.max.burst", "%llu",
		       (unsigned long long)p->burst);
	if (p->has_realtime_period && p->realtime_period)
		cg_set(c, "cpu.realtimePeriod", "cpu", "cpu.rt_period_us", NULL, "%llu",
		       (unsigned long long)p->realtime_period);
	if (p->has_realtime_runtime && p->realtime_runtime) {
		cg_set(c, "cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", NULL, "%lld",
		       (long long)p->realtime_runtime);
		if (c->ret == 0 && p->realtime_runtime > 0)
			check_rt_budget(c,
					p->has_realtime_period && p->realtime_period ? p->realtime_period
										     : 1000000,
					p->realtime_runtime);
	}
	if (p->has_idle)
		cg_set(c, "cpu.idle", "cpu", "cpu.idle", "cpu.idle", "%lld", (long long)p->idle);
	if (p->cpus && *p->cpus &&
	    cpuset_list_ok(c, "cpu.cpus", p->cpus, "/sys/devices/system/cpu/online", "CPU"))
		cg_set(c, "cpu.cpus", "cpuset", "cpuset.cpus", "cpuset.cpus", "%s", p->cpus);
	if (p->mems && *p->mems &&
	    cpuset_list_ok(c, "cpu.mems", p->mems, "/sys/devices/system/node/has_memory", "memory node"))
		cg_set(c, "cpu.mems", "cpuset", "cpuset.mems", "cpuset.mems", "%s", p->mems);
}

/* The block device must exist; per-device BFQ weights also need it scheduled by bfq. */
static bool check_blockdev(struct cg *c, const char *field, int64_t maj, int64_t min, bool bfq)
{
	char dev[64], path[128];
	__do_free char *sched = NULL;

	snprintf(dev, sizeof(dev), "/sys/dev/block/%lld:%lld", (long long)maj, (long long)min);
	if (access(dev, F_OK) < 0) {
		fail(c, ENODEV, "linux.resources.%s: this host has no block device %lld:%lld", field,
		     (long long)maj, (long long)min);
		return false;
	}
	if (!bfq)
		return true;
	/* a partition has its disk's queue */
	snprintf(path, sizeof(path), "%s/queue/scheduler", dev);
	if (access(path, F_OK) < 0)
		snprintf(path, sizeof(path), "%s/../queue/scheduler", dev);
	if (plx_read_file_at(AT_FDCWD, path, &sched, NULL, NULL) < 0 || strstr(sched, "[bfq]"))
		return true;
	sched[strcspn(sched, "\n")] = '\0';
	fail(c, EOPNOTSUPP,
	     "linux.resources.%s: block device %lld:%lld is not scheduled by bfq (its queue/scheduler: %s), "
	     "which per-device weights need",
	     field, (long long)maj, (long long)min, sched);
	return false;
}

uint64_t plx_cg_cpu_weight(uint64_t shares)
{
	uint64_t s = shares < 2 ? 2 : shares > 262144 ? 262144 : shares;

	return 1 + (s - 2) * 9999 / 262142;
}

unsigned plx_cg_io_weight(unsigned w)
{
	w = w < 10 ? 10 : w > 1000 ? 1000 : w;
	return 1 + (w - 10) * 9999 / 990;
}

/* v1 weights live in blkio.<name> (CFQ, before Linux 5.0) or blkio.bfq.<name> (BFQ). */
static const char *v1_weight_file(struct cg *c, const char *field, bool device)
{
	const char *cfq = device ? "blkio.weight_device" : "blkio.weight";
	const char *bfq = device ? "blkio.bfq.weight_device" : "blkio.bfq.weight";
	int has_cfq = plx_cgroup_probe_file("blkio", cfq);

	if (has_cfq == 1)
		return cfq;
	int has_bfq = plx_cgroup_probe_file("blkio", bfq);
	if (has_bfq == 1)
		return bfq;
	if (has_cfq == 0 && has_bfq == 0) {
		fail(c, EOPNOTSUPP,
		     "linux.resources.%s: this host's blkio controller has neither %s (CFQ) nor %s (BFQ)",
		     field, cfq, bfq);
		return NULL;
	}
	return cfq;
}

static void emit_weights(struct cg *c, const struct oci_block_io *b, int ver)
{
	/* v2: BFQ's io.bfq.weight takes OCI's range as it is; io.weight (io cost) another one */
	bool bfq2 = ver == 2 && plx_cgroup_probe_file("io", "io.bfq.weight") == 1;
	char field[96];

	if (b->has_weight && b->weight) {
		if (ver == 1) {
			const char *file = v1_weight_file(c, "blockIO.weight", false);
			if (file && file_ok(c, "blockIO.weight", "blkio", file))
				put(c, 1, file, "%u", b->weight);
		} else if (bfq2) {
			put(c, 2, "io.bfq.weight", "%u", b->weight);
		} else if (file_ok(c, "blockIO.weight", "io", "io.weight")) {
			put(c, 2, "io.weight", "%u", plx_cg_io_weight(b->weight));
		}
	}
	if (b->has_leaf_weight && b->leaf_weight)
		cg_set(c, "blockIO.leafWeight", "blkio", "blkio.leaf_weight", NULL, "%u", b->leaf_weight);
	for (size_t i = 0; i < b->n_weight_device && c->ret == 0; i++) {
		const struct oci_weight_device *w = &b->weight_device[i];
		long long maj = (long long)w->major, min = (long long)w->minor;
		snprintf(field, sizeof(field), "blockIO.weightDevice[%zu]", i);
		if (w->has_weight) {
			if (ver == 1) {
				const char *file = v1_weight_file(c, field, true);
				bool is_bfq = file && strstr(file, ".bfq.");
				if (file && check_blockdev(c, field, w->major, w->minor, is_bfq))
					put(c, 1, file, "%lld:%lld %u", maj, min, w->weight);
			} else if (bfq2) {
				if (check_blockdev(c, field, w->major, w->minor, true))
					put(c, 2, "io.bfq.weight", "%lld:%lld %u", maj, min, w->weight);
			} else if (check_blockdev(c, field, w->major, w->minor, false) &&
				   file_ok(c, field, "io", "io.weight")) {
				put(c, 2, "io.weight", "%lld:%lld %u", maj, min, plx_cg_io_weight(w->weight));
			}
		}
		if (w->has_leaf_weight && check_blockdev(c, field, w->major, w->minor, false))
			cg_set(c, field, "blkio", "blkio.leaf_weight_device", NULL, "%lld:%lld %u", maj, min,
			       w->leaf_weight);
	}
}

static void emit_throttle(struct cg *c, const char *name, const struct oci_throttle_device *v, size_t n,
			  int ver, const char *v1file, const char *v2key)
{
	char field[96];

	for (size_t i = 0; i < n && c->ret == 0; i++) {
		snprintf(field, sizeof(field), "blockIO.%s[%zu]", name, i);
		if (!check_blockdev(c, field, v[i].major, v[i].minor, false))
			return;
		if (ver == 2)
			cg_set(c, field, "io", NULL, "io.max", "%lld:%lld %s=%llu", (long long)v[i].major,
			       (long long)v[i].minor, v2key, (unsigned long long)v[i].rate);
		else
			cg_set(c, field, "blkio", v1file, NULL, "%lld:%lld %llu", (long long)v[i].major,
			       (long long)v[i].minor, (unsigned long long)v[i].rate);
	}
}

static void emit_blkio(struct cg *c, const struct oci_block_io *b)
{
	/* the controller is "blkio" on v1 and "io" on v2 */
	int ver = plx_cgroup_controller_version("blkio") == 1 ? 1 : 2;
	const char *ctrl = ver == 1 ? "blkio" : "io";
	bool any = (b->has_weight && b->weight) || (b->has_leaf_weight && b->leaf_weight) ||
		   b->n_weight_device || b->n_throttle_read_bps || b->n_throttle_write_bps ||
		   b->n_throttle_read_iops || b->n_throttle_write_iops;

	if (!any || !ctrl_version(c, "blockIO", ctrl))
		return;
	emit_weights(c, b, ver);
	emit_throttle(c, "throttleReadBpsDevice", b->throttle_read_bps, b->n_throttle_read_bps, ver,
		      "blkio.throttle.read_bps_device", "rbps");
	emit_throttle(c, "throttleWriteBpsDevice", b->throttle_write_bps, b->n_throttle_write_bps, ver,
		      "blkio.throttle.write_bps_device", "wbps");
	emit_throttle(c, "throttleReadIOPSDevice", b->throttle_read_iops, b->n_throttle_read_iops, ver,
		      "blkio.throttle.read_iops_device", "riops");
	emit_throttle(c, "throttleWriteIOPSDevice", b->throttle_write_iops, b->n_throttle_write_iops, ver,
		      "blkio.throttle.write_iops_device", "wiops");
}

/* "2MB" -> 2048 (kB), as the kernel names its pools; 0 if not a size. */
static unsigned long long page_size_kb(const char *s)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);

	if (end == s || n == 0)
		return 0;
	if (!strcmp(end, "KB"))
		return n;
	if (!strcmp(end, "MB"))
		return n << 10;
	if (!strcmp(end, "GB"))
		return n << 20;
	return 0;
}

static void emit_hugetlb(struct cg *c, const struct oci_resources *r)
{
	char field[64], v1f[96], v2f[96], pool[96];

	for (size_t i = 0; i < r->n_hugepage_limits && c->ret == 0; i++) {
		const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		unsigned long long kb = page_size_kb(h->page_size);
		snprintf(field, sizeof(field), "hugepageLimits[%zu]", i);
		if (!kb) {
			fail(c, EINVAL, "linux.resources.%s.pageSize: \"%s\" is not a page size like \"2MB\"",
			     field, h->page_size);
			return;
		}
		snprintf(pool, sizeof(pool), "/sys/kernel/mm/hugepages/hugepages-%llukB", kb);
		if (access(pool, F_OK) < 0) {
			fail(c, EOPNOTSUPP,
			     "linux.resources.%s.pageSize: this host has no %s huge pages (no %s)", field,
			     h->page_size, pool);
			return;
		}
		snprintf(v1f, sizeof(v1f), "hugetlb.%s.limit_in_bytes", h->page_size);
		snprintf(v2f, sizeof(v2f), "hugetlb.%s.max", h->page_size);
		cg_set(c, field, "hugetlb", v1f, v2f, "%llu", (unsigned long long)h->limit);
	}
}

static void emit_network(struct cg *c, const struct oci_resources *r)
{
	char field[64];

	if (r->has_net_class_id)
		cg_set(c, "network.classID", "net_cls", "net_cls.classid", NULL, "%u", r->net_class_id);
	for (size_t i = 0; i < r->n_net_priorities && c->ret == 0; i++) {
		const char *name = r->net_priorities[i].name;
		snprintf(field, sizeof(field), "network.priorities[%zu]", i);
		if (!name || !*name || strpbrk(name, " \t\n/")) {
			fail(c, EINVAL, "linux.resources.%s.name: \"%s\" is not an interface name", field,
			     name ? name : "");
			return;
		}
		cg_set(c, field, "net_prio", "net_prio.ifpriomap", NULL, "%s %u", name,
		       r->net_priorities[i].priority);
	}
}

/* unified: "<controller>.<setting>" files of a cgroup v2 host, written as they are (as runc). */
static void emit_unified(struct cg *c, const struct oci_resources *r)
{
	for (size_t i = 0; i < r->n_unified && c->ret == 0; i++) {
		const char *k = r->unified[i].key;
		const char *dot = strchr(k, '.');
		if (c->layout != PLX_CGROUP_PURE_V2) {
			fail(c, EOPNOTSUPP,
			     "linux.resources.unified[\"%s\"]: needs a pure cgroup v2 host; on this %s host liblxc "
			     "applies no cgroup v2 settings",
			     k, c->layout == PLX_CGROUP_HYBRID ? "hybrid" : "cgroup v1");
			return;
		}
		if (!dot || dot == k || !dot[1] || strchr(k, '/')) {
			fail(c, EINVAL,
			     "linux.resources.unified[\"%s\"]: not of the form <controller>.<setting>", k);
			return;
		}
		__do_free char *ctrl = strndup(k, (size_t)(dot - k));
		if (!ctrl) {
			c->ret = plx_err_set(c->err, ENOMEM, "lxc config");
			return;
		}
		if (strcmp(ctrl, "cgroup") != 0 && plx_cgroup_controller_version(ctrl) != 2) {
			fail(c, EOPNOTSUPP,
			     "linux.resources.unified[\"%s\"]: the %s controller is not available on "
			     "this host: %s",
			     k, ctrl, missing_controller(c->layout));
			return;
		}
		put(c, 2, k, "%s", r->unified[i].value);
	}
}

int plx_lxc_conf_cgroup(FILE *f, const struct oci_spec *spec, const char *cgroup_path, struct plx_err *err)
{
	const struct oci_resources *r = spec->linux ? spec->linux->resources : NULL;
	struct cg c = { .f = f, .err = err, .layout = plx_cgroup_layout(), .cgroup_path = cgroup_path };

	emit_device_rules(&c, spec);
	if (!r)
		return c.ret;
	if (r->memory)
		emit_memory(&c, r->memory);
	if (r->cpu)
		emit_cpu(&c, r->cpu);
	if (r->has_pids_limit) {
		/* OCI: 0 or -1 is unlimited; both hierarchies spell that "max" */
		if (r->pids_limit > 0)
			cg_set(&c, "pids.limit", "pids", "pids.max", "pids.max", "%lld",
			       (long long)r->pids_limit);
		else
			cg_set(&c, "pids.limit", "pids", "pids.max", "pids.max", "max");
	}
	if (r->block_io)
		emit_blkio(&c, r->block_io);
	emit_hugetlb(&c, r);
	emit_network(&c, r);
	emit_unified(&c, r);
	return c.ret;
}
