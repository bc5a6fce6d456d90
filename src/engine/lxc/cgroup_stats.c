/* SPDX-License-Identifier: Apache-2.0 */
#include "cgroup_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lxc/cgroup.h"
#include "util/cgroupfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* <controller's hierarchy>/<cgpath>/<file>, or NULL when the controller is nowhere. */
static char *cg_file(const char *ctrl, const char *cgpath, const char *file)
{
	__do_free char *dir = NULL;
	int ver = plx_cgroup_controller_version(ctrl);

	if (ver == 1)
		dir = plx_cgroup_v1_path(ctrl, cgpath);
	else if (ver == 2 || !ctrl[0])
		dir = plx_cgroup_v2_path(cgpath);
	return dir ? plx_path_join(dir, file) : NULL;
}

static char *read_cg(const char *ctrl, const char *cgpath, const char *file)
{
	__do_free char *path = cg_file(ctrl, cgpath, file);
	char *buf = NULL;
	if (!path || plx_read_file_at(AT_FDCWD, path, &buf, NULL, NULL) < 0)
		return NULL;
	return buf;
}

/* A single number; "max" (v2 unlimited) reads as 0, as runc reports an unset limit. */
static bool read_u64(const char *ctrl, const char *cgpath, const char *file, uint64_t *v)
{
	__do_free char *buf = read_cg(ctrl, cgpath, file);
	if (!buf)
		return false;
	*v = strncmp(buf, "max", 3) == 0 ? 0 : strtoull(buf, NULL, 10);
	return true;
}

/* "key value" lines (memory.stat, cpu.stat, memory.events) into an object of integers. */
static json_t *read_kv(const char *ctrl, const char *cgpath, const char *file)
{
	__do_free char *buf = read_cg(ctrl, cgpath, file);
	json_t *o;
	char *save = NULL;

	if (!buf || !(o = json_object()))
		return NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		json_object_set_new(o, line, json_integer((json_int_t)strtoull(sp + 1, NULL, 10)));
	}
	return o;
}

static uint64_t kv_get(json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

static void set_u64(json_t *o, const char *key, uint64_t v, bool omitempty)
{
	if (v || !omitempty)
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *cpu_stats(const char *cgpath)
{
	json_t *cpu = json_object(), *usage = json_object(), *thr = json_object();
	json_auto_t *st = NULL;

	if (plx_cgroup_controller_version("cpu") == 2) {
		st = read_kv("cpu", cgpath, "cpu.stat");
		set_u64(usage, "total", kv_get(st, "usage_usec") * 1000, true);
		set_u64(usage, "kernel", kv_get(st, "system_usec") * 1000, false);
		set_u64(usage, "user", kv_get(st, "user_usec") * 1000, false);
		set_u64(thr, "periods", kv_get(st, "nr_periods"), true);
		set_u64(thr, "throttledPeriods", kv_get(st, "nr_throttled"), true);
		set_u64(thr, "throttledTime", kv_get(st, "throttled_usec") * 1000, true);
	} else {
		uint64_t total = 0;
		long hz = sysconf(_SC_CLK_TCK);
		json_auto_t *acct = read_kv("cpuacct", cgpath, "cpuacct.stat");
		__do_free char *percpu = read_cg("cpuacct", cgpath, "cpuacct.usage_percpu");
		if (read_u64("cpuacct", cgpath, "cpuacct.usage", &total))
			set_u64(usage, "total", total, true);
		if (percpu) {
			json_t *arr = json_array();
			char *save = NULL;
			for (char *t = strtok_r(percpu, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
				json_array_append_new(arr, json_integer((json_int_t)strtoull(t, NULL, 10)));
			json_object_set_new(usage, "percpu", arr);
		}
		/* cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds */
		set_u64(usage, "kernel", kv_get(acct, "system") * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100)), false);
		set_u64(usage, "user", kv_get(acct, "user") * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100)), false);
		st = read_kv("cpu", cgpath, "cpu.stat");
		set_u64(thr, "periods", kv_get(st, "nr_periods"), true);
		set_u64(thr, "throttledPeriods", kv_get(st, "nr_throttled"), true);
		set_u64(thr, "throttledTime", kv_get(st, "throttled_time"), true);
	}
	json_object_set_new(cpu, "usage", usage);
	json_object_set_new(cpu, "throttling", thr);
	return cpu;
}

static json_t *mem_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
	json_t *e = json_object();
	set_u64(e, "limit", limit, false);
	set_u64(e, "usage", usage, true);
	set_u64(e, "max", max, true);
	set_u64(e, "failcnt", failcnt, false);
	return e;
}

static json_t *memory_stats(const char *cgpath)
{
	json_t *mem = json_object();
	json_t *raw;
	uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;

	if (plx_cgroup_controller_version("memory") == 2) {
		json_auto_t *ev = read_kv("memory", cgpath, "memory.events");
		read_u64("memory", cgpath, "memory.current", &usage);
		read_u64("memory", cgpath, "memory.max", &limit);
		read_u64("memory", cgpath, "memory.peak", &max);
		json_object_set_new(mem, "usage", mem_entry(limit, usage, max, kv_get(ev, "max")));
		uint64_t su = 0, sl = 0;
		read_u64("memory", cgpath, "memory.swap.current", &su);
		read_u64("memory", cgpath, "memory.swap.max", &sl);
		json_object_set_new(mem, "swap", mem_entry(sl, su, 0, 0));
		raw = read_kv("memory", cgpath, "memory.stat");
		set_u64(mem, "cache", kv_get(raw, "file"), true);
	} else {
		read_u64("memory", cgpath, "memory.usage_in_bytes", &usage);
		read_u64("memory", cgpath, "memory.limit_in_bytes", &limit);
		read_u64("memory", cgpath, "memory.max_usage_in_bytes", &max);
		read_u64("memory", cgpath, "memory.failcnt", &failcnt);
		json_object_set_new(mem, "usage", mem_entry(limit, usage, max, failcnt));
		uint64_t su = 0, sl = 0, sm = 0, sf = 0;
		if (read_u64("memory", cgpath, "memory.memsw.usage_in_bytes", &su)) {
			read_u64("memory", cgpath, "memory.memsw.limit_in_bytes", &sl);
			read_u64("memory", cgpath, "memory.memsw.max_usage_in_bytes", &sm);
			read_u64("memory", cgpath, "memory.memsw.failcnt", &sf);
			json_object_set_new(mem, "swap", mem_entry(sl, su, sm, sf));
		}
		uint64_t ku = 0, kl = 0, km = 0, kf = 0;
		if (read_u64("memory", cgpath, "memory.kmem.usage_in_bytes", &ku)) {
			read_u64("memory", cgpath, "memory.kmem.limit_in_bytes", &kl);
			read_u64("memory", cgpath, "memory.kmem.max_usage_in_bytes", &km);
			read_u64("memory", cgpath, "memory.kmem.failcnt", &kf);
			json_object_set_new(mem, "kernel", mem_entry(kl, ku, km, kf));
		}
		raw = read_kv("memory", cgpath, "memory.stat");
		set_u64(mem, "cache", kv_get(raw, "total_cache") ? kv_get(raw, "total_cache") : kv_get(raw, "cache"),
			true);
	}
	if (raw && json_object_size(raw))
		json_object_set_new(mem, "raw", raw);
	else
		json_decref(raw);
	return mem;
}

static json_t *pids_stats(const char *cgpath)
{
	json_t *p = json_object();
	uint64_t cur = 0, lim = 0;
	read_u64("pids", cgpath, "pids.current", &cur);
	read_u64("pids", cgpath, "pids.max", &lim);
	set_u64(p, "current", cur, true);
	set_u64(p, "limit", lim, true);
	return p;
}

/* v1 "8:0 Read 123" lines, or v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4" */
static json_t *blkio_stats(const char *cgpath)
{
	json_t *b = json_object();
	json_t *bytes = json_array(), *ios = json_array();

	if (plx_cgroup_controller_version("io") == 2) {
		__do_free char *buf = read_cg("io", cgpath, "io.stat");
		char *save = NULL;
		for (char *line = buf ? strtok_r(buf, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
			unsigned maj, min;
			if (sscanf(line, "%u:%u", &maj, &min) != 2)
				continue;
			static const struct {
				const char *key, *op;
				bool is_bytes;
			} m[] = { { "rbytes=", "Read", true }, { "wbytes=", "Write", true },
				  { "rios=", "Read", false },  { "wios=", "Write", false } };
			for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
				char *f = strstr(line, m[i].key);
				if (!f)
					continue;
				json_array_append_new(m[i].is_bytes ? bytes : ios,
						      json_pack("{s:i, s:i, s:s, s:I}", "major", maj, "minor", min, "op",
								m[i].op, "value",
								(json_int_t)strtoull(f + strlen(m[i].key), NULL, 10)));
			}
		}
	} else {
		static const struct {
			const char *file;
			bool is_bytes;
		} f[] = { { "blkio.throttle.io_service_bytes_recursive", true },
			  { "blkio.throttle.io_serviced_recursive", false } };
		for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
			__do_free char *buf = read_cg("blkio", cgpath, f[i].file);
			char *save = NULL;
			for (char *line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
			     line = strtok_r(NULL, "\n", &save)) {
				unsigned maj, min;
				char op[16];
				unsigned long long v;
				if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) != 4)
					continue;
				json_array_append_new(f[i].is_bytes ? bytes : ios,
						      json_pack("{s:i, s:i, s:s, s:I}", "major", maj, "minor", min, "op", op,
								"value", (json_int_t)v));
			}
		}
	}
	if (json_array_size(bytes))
		json_object_set_new(b, "ioServiceBytesRecursive", bytes);
	else
		json_decref(bytes);
	if (json_array_size(ios))
		json_object_set_new(b, "ioServicedRecursive", ios);
	else
		json_decref(ios);
	return b;
}

static json_t *hugetlb_stats(const char *cgpath)
{
	json_t *h = json_object();
	__do_closedir DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *de;
	bool v2 = plx_cgroup_controller_version("hugetlb") == 2;

	while (d && (de = readdir(d))) {
		unsigned long kb;
		char size[32], f[96];
		if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		/* the kernel names them 2MB, 1GB, 64KB */
		if (kb >= 1024 * 1024)
			snprintf(size, sizeof(size), "%luGB", kb / (1024 * 1024));
		else if (kb >= 1024)
			snprintf(size, sizeof(size), "%luMB", kb / 1024);
		else
			snprintf(size, sizeof(size), "%luKB", kb);
		uint64_t usage = 0, max = 0, fail = 0;
		snprintf(f, sizeof(f), v2 ? "hugetlb.%s.current" : "hugetlb.%s.usage_in_bytes", size);
		if (!read_u64("hugetlb", cgpath, f, &usage))
			continue;
		if (v2) {
			snprintf(f, sizeof(f), "hugetlb.%s.events", size);
			json_auto_t *ev = read_kv("hugetlb", cgpath, f);
			fail = kv_get(ev, "max");
		} else {
			snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", size);
			read_u64("hugetlb", cgpath, f, &max);
			snprintf(f, sizeof(f), "hugetlb.%s.failcnt", size);
			read_u64("hugetlb", cgpath, f, &fail);
		}
		json_t *e = json_object();
		set_u64(e, "usage", usage, true);
		set_u64(e, "max", max, true);
		set_u64(e, "failcnt", fail, false);
		json_object_set_new(h, size, e);
	}
	return h;
}

int plx_cgroup_stats(const char *cgpath, json_t **out, struct plx_err *err)
{
	json_t *d = json_pack("{s:o, s:o, s:o, s:o, s:o}", "cpu", cpu_stats(cgpath), "memory", memory_stats(cgpath),
			      "pids", pids_stats(cgpath), "blkio", blkio_stats(cgpath), "hugetlb",
			      hugetlb_stats(cgpath));
	if (!d)
		return plx_err_set(err, ENOMEM, "stats");
	*out = d;
	return 0;
}

uint64_t plx_cgroup_oom_kills(const char *cgpath)
{
	const char *file = plx_cgroup_controller_version("memory") == 2 ? "memory.events" : "memory.oom_control";
	json_auto_t *kv = read_kv("memory", cgpath, file);
	return kv_get(kv, "oom_kill");
}
