/* SPDX-License-Identifier: Apache-2.0 */
/* Node-local registration of a container as a PVE CT: settings, the CT config, claim and release. */
#include "proxmox/pve_register.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "proxmox/pve_config.h"
#include "proxmox/pve_remote.h"
#include "proxmox/pve_schema.h"
#include "proxmox/pve_storage_cfg.h"
#include "proxmox/pve_vmid.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define MIB		   (1024ULL * 1024ULL)
#define PVE_DEFAULT_MEMORY 512 /* MiB, PVE's default when there is no limit */
#define PVE_MAX_CORES	   8192

DEFINE_CLEANUP_FUNC(pve_config_freep, struct pve_config, pve_config_free)
DEFINE_CLEANUP_FUNC(pve_storage_cfg_freep, struct pve_storage_cfg, pve_storage_cfg_free)
DEFINE_CLEANUP_FUNC(pve_conf_freep, struct pve_conf, pve_conf_free)
DEFINE_CLEANUP_FUNC(pve_schema_freep, struct pve_schema, pve_schema_free)

void pve_register_plan_free(struct pve_register_plan *p)
{
	if (!p)
		return;
	free(p->node);
	free(p->storage);
	free(p->pool);
	free(p->etc_pve);
	free(p->lxc_path);
	free(p->schema);
	free(p);
}

/* The annotation, else the config's proxmox.register. */
static int wanted(const json_t *section, const json_t *annotations, bool *out, struct plx_err *err)
{
	json_t *a = annotations ? json_object_get(annotations, PVE_REGISTER_ANNOTATION) : NULL;
	json_t *r = json_is_object(section) ? json_object_get(section, "register") : NULL;

	if (a) {
		const char *v = json_string_value(a);

		if (!v || (strcmp(v, "true") != 0 && strcmp(v, "false") != 0))
			return plx_err_set(err, EINVAL, "annotation %s: expected \"true\" or \"false\"",
					   PVE_REGISTER_ANNOTATION);
		*out = strcmp(v, "true") == 0;
		return 0;
	}
	*out = json_is_true(r);
	return 0;
}

/* PVE's node name: the host name up to its first dot. */
static char *local_node(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return NULL;
	return strndup(u.nodename, strcspn(u.nodename, "."));
}

static int dup_into(char **dst, const char *src, struct plx_err *err)
{
	*dst = strdup(src);
	return *dst ? 0 : plx_err_set(err, ENOMEM, "out of memory");
}

int pve_register_plan_new(const json_t *section, const char *file, const json_t *annotations,
			  struct pve_register_plan **out, struct plx_err *err)
{
	__attribute__((cleanup(pve_config_freep))) struct pve_config *cfg = NULL;
	__attribute__((cleanup(pve_storage_cfg_freep))) struct pve_storage_cfg *scfg = NULL;
	__attribute__((cleanup(pve_register_plan_freep))) struct pve_register_plan *p = NULL;
	const struct pve_storage_entry *e;
	const char *pool, *where = file ? file : "runtime config";
	bool want = false;
	int ret;

	*out = NULL;
	ret = wanted(section, annotations, &want, err);
	if (ret < 0 || !want)
		return ret;
	if (!section)
		return plx_err_set(err, EINVAL,
				   "annotation %s asks for a PVE CT but %s has no \"proxmox\" section",
				   PVE_REGISTER_ANNOTATION, where);
	ret = pve_config_parse(section, file, &cfg, err);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!cfg->storage)
		return plx_err_set(err, EINVAL,
				   "%s: proxmox.storage: missing (the PVE storage for registered CTs)",
				   where);
	p->node = cfg->node ? strdup(cfg->node) : local_node();
	if (!p->node)
		return plx_err_set(err, ENOMEM, "out of memory");
	if ((ret = dup_into(&p->storage, cfg->storage, err)) < 0 ||
	    (ret = dup_into(&p->etc_pve, cfg->etc_pve, err)) < 0 ||
	    (ret = dup_into(&p->lxc_path, cfg->lxc_path, err)) < 0 ||
	    (ret = dup_into(&p->schema, cfg->schema                                    ? cfg->schema
					 : access(PVE_REGISTER_DEFAULT_SCHEMA, R_OK) == 0 ? PVE_REGISTER_DEFAULT_SCHEMA
											  : PVE_REGISTER_NODE_SCHEMA,
			     err)) < 0)
		return ret;
	/* the config is checked against the schema: without it nothing is written */
	if (access(p->schema, R_OK) < 0) {
		if (cfg->schema)
			return plx_err_sys(err, errno, "%s: proxmox.schema: the PVE API schema %s", where, p->schema);
		return plx_err_set(err, ENOENT,
				   "%s: proxmox.schema: no PVE API schema found (%s, or %s from pve-docs on a PVE "
				   "node); set proxmox.schema to apidata.json",
				   where, PVE_REGISTER_DEFAULT_SCHEMA, PVE_REGISTER_NODE_SCHEMA);
	}
	ret = pve_storage_cfg_load(cfg->storage_cfg, &scfg, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s: proxmox.paths.storage_cfg", where);
	e = pve_storage_cfg_find(scfg, p->storage);
	if (!e)
		return plx_err_set(err, ENOENT, "%s: proxmox.storage: no storage '%s' in %s", where,
				   p->storage, cfg->storage_cfg);
	if (strcmp(e->type, "zfspool") != 0)
		return plx_err_set(
			err, EOPNOTSUPP,
			"%s: proxmox.storage: storage '%s' is of type %s; registered CTs need a zfspool "
			"storage (subvol-<vmid>-disk-0 datasets)",
			where, p->storage, e->type);
	ret = pve_storage_check_rootdir(e, p->node, err);
	if (ret < 0)
		return plx_err_prefix(err, "%s: proxmox.storage", where);
	pool = pve_storage_prop(e, "pool");
	if (!pool)
		return plx_err_set(err, EINVAL, "%s: storage '%s' has no pool", cfg->storage_cfg, p->storage);
	if ((ret = dup_into(&p->pool, pool, err)) < 0)
		return ret;
	*out = steal_ptr(p);
	return 0;
}

char *pve_register_description(const char *id, const char *root)
{
	char *s;

	if (asprintf(&s, PVE_REGISTER_DESCRIPTION "%s\nruntime root %s", id, root) < 0)
		return NULL;
	return s;
}

char *pve_register_volume_name(unsigned int vmid)
{
	char *s;

	if (asprintf(&s, "subvol-%u-disk-0", vmid) < 0)
		return NULL;
	return s;
}

char *pve_register_format_size(uint64_t bytes)
{
	static const char units[] = {'K', 'M', 'G', 'T'};
	uint64_t v = bytes;
	char *s;
	int u = -1;

	/* PVE::JSONSchema::format_size: step up while the next unit divides exactly; 0 ends at T */
	while (u < 3 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0 ? asprintf(&s, "%llu", (unsigned long long)v) < 0
		  : asprintf(&s, "%llu%c", (unsigned long long)v, units[u]) < 0)
		return NULL;
	return s;
}

/* One DNS label: [A-Za-z0-9] at both ends, '-' inside, at most 63 bytes. */
static bool dns_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 255)
		return false;
	for (const char *label = s; label;) {
		const char *dot = strchr(label, '.');
		size_t l = dot ? (size_t)(dot - label) : strlen(label);

		if (l == 0 || l > 63 || !isalnum((unsigned char)label[0]) ||
		    !isalnum((unsigned char)label[l - 1]))
			return false;
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)label[i]) && label[i] != '-')
				return false;
		label = dot ? dot + 1 : NULL;
	}
	return true;
}

char *pve_register_hostname(const char *hostname, const char *id, unsigned int vmid)
{
	char buf[64];
	size_t n = 0;
	char *s;

	if (hostname && dns_name_valid(hostname))
		return strdup(hostname);
	/* from the container ID: other characters become '-', one label */
	for (const char *p = id; p && *p && n < sizeof(buf) - 1; p++) {
		char c = isalnum((unsigned char)*p) ? *p : '-';

		if (c == '-' && (n == 0 || buf[n - 1] == '-'))
			continue;
		buf[n++] = c;
	}
	while (n && buf[n - 1] == '-')
		n--;
	buf[n] = '\0';
	if (n && dns_name_valid(buf))
		return strdup(buf);
	if (asprintf(&s, "ct%u", vmid) < 0)
		return NULL;
	return s;
}

bool pve_register_raw_key_allowed(const char *key)
{
	static const char *const exact[] = {
		"lxc.init.cmd",	   "lxc.init.cwd",    "lxc.init.uid", "lxc.init.gid",
		"lxc.init.groups", "lxc.mount.entry", "lxc.idmap",    "lxc.environment.runtime",
	};
	static const char *const prefixes[] = {
		"lxc.cap.",    "lxc.seccomp.", "lxc.apparmor.", "lxc.hook.",
		"lxc.cgroup.", "lxc.cgroup2.", "lxc.prlimit.",	"lxc.net.",
	};

	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strcmp(key, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0 && key[strlen(prefixes[i])])
			return true;
	return false;
}

const char *pve_register_host_arch(void)
{
	static const struct {
		const char *machine, *arch;
	} map[] = {
		{"x86_64", "amd64"}, {"i686", "i386"},	     {"i386", "i386"},	     {"aarch64", "arm64"},
		{"armv7l", "armhf"}, {"riscv64", "riscv64"}, {"riscv32", "riscv32"},
	};
	struct utsname u;

	if (uname(&u) < 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcmp(u.machine, map[i].machine) == 0)
			return map[i].arch;
	return NULL;
}

static int set_uint(struct pve_conf *conf, const char *key, unsigned long long v, struct plx_err *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return pve_conf_set(conf, NULL, key, buf, err);
}

/* Whole MiB, rounded up. */
static unsigned long long mib_ceil(int64_t bytes)
{
	return ((unsigned long long)bytes + MIB - 1) / MIB;
}

static int set_resources(struct pve_conf *conf, const struct oci_spec *spec, struct plx_err *err)
{
	const struct oci_resources *r = spec->linux ? spec->linux->resources : NULL;
	const struct oci_memory *m = r ? r->memory : NULL;
	const struct oci_cpu *c = r ? r->cpu : NULL;
	unsigned long long mem = PVE_DEFAULT_MEMORY;
	int ret;

	if (c && c->has_quota && c->quota > 0 && c->has_period && c->period > 0) {
		unsigned long long cores = ((unsigned long long)c->quota + c->period - 1) / c->period;

		ret = set_uint(conf, "cores", cores > PVE_MAX_CORES ? PVE_MAX_CORES : cores, err);
		if (ret < 0)
			return ret;
	}
	if (m && m->has_limit && m->limit > 0) {
		mem = mib_ceil(m->limit);
		if (mem < 16)
			mem = 16; /* PVE's minimum */
	}
	ret = set_uint(conf, "memory", mem, err);
	/* OCI's swap is memory + swap; -1 (unlimited) has no PVE value, so swap is left out */
	if (ret == 0 && m && m->has_swap && m->swap >= 0 && m->has_limit && m->limit > 0)
		ret = set_uint(conf, "swap", m->swap > m->limit ? mib_ceil(m->swap - m->limit) : 0, err);
	return ret;
}

static bool has_user_ns(const struct oci_spec *spec)
{
	for (size_t i = 0; spec->linux && i < spec->linux->n_namespaces; i++)
		if (strcmp(spec->linux->namespaces[i].type, "user") == 0)
			return true;
	return false;
}

/* KEY=VALUE as PVE's env pattern takes it: \w+ key, no control characters. */
static bool env_entry_valid(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return false;
	for (const char *p = kv; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	for (const char *p = eq + 1; *p; p++)
		if ((unsigned char)*p <= 0x08 || ((unsigned char)*p >= 0x10 && (unsigned char)*p <= 0x1f) ||
		    *p == 0x7f)
			return false;
	return true;
}

static int set_process(struct pve_conf *conf, const struct oci_process *proc, struct plx_err *err)
{
	__do_free char *entry = NULL;
	int ret;

	ret = pve_remote_entrypoint(proc->args, &entry, err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "entrypoint", entry, err);
	for (size_t i = 0; ret == 0 && proc->env && proc->env[i]; i++) {
		if (!env_entry_valid(proc->env[i])) {
			/* the container still gets it; only PVE's view of the CT cannot hold it */
			log_warn("environment entry '%.*s...' cannot be written to a PVE CT config; left out",
				 (int)strcspn(proc->env[i], "="), proc->env[i]);
			continue;
		}
		ret = pve_conf_add(conf, NULL, "lxc.environment.runtime", proc->env[i], err);
	}
	if (ret == 0 && proc->cwd)
		ret = pve_conf_add(conf, NULL, "lxc.init.cwd", proc->cwd, err);
	if (ret == 0) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%u", proc->user.uid);
		ret = pve_conf_add(conf, NULL, "lxc.init.uid", buf, err);
		snprintf(buf, sizeof(buf), "%u", proc->user.gid);
		if (ret == 0)
			ret = pve_conf_add(conf, NULL, "lxc.init.gid", buf, err);
	}
	return ret;
}

int pve_register_build_conf(const struct pve_register_ct *ct, struct pve_conf **out, struct plx_err *err)
{
	__attribute__((cleanup(pve_conf_freep))) struct pve_conf *conf = NULL;
	__do_free char *hostname = NULL, *size = NULL, *rootfs = NULL, *desc = NULL;
	const char *arch = pve_register_host_arch();
	int ret;

	if (!ct->spec->process)
		return plx_err_set(err, EINVAL, "%s: process: required for a PVE CT's entrypoint",
				   ct->spec->source);
	ret = pve_conf_parse("", 0, "new CT config", &conf, err);
	if (ret < 0)
		return ret;
	hostname = pve_register_hostname(ct->spec->hostname, ct->id, ct->vmid);
	size = pve_register_format_size(ct->size);
	desc = pve_register_description(ct->id, ct->root);
	if (!hostname || !size || !desc ||
	    asprintf(&rootfs, "%s:%s,size=%s", ct->storage, ct->volume, size) < 0)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (arch)
		ret = pve_conf_set(conf, NULL, "arch", arch, err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "hostname", hostname, err);
	if (ret == 0)
		ret = set_resources(conf, ct->spec, err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "ostype", "unmanaged", err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "rootfs", rootfs, err);
	if (ret == 0 && has_user_ns(ct->spec))
		ret = pve_conf_set(conf, NULL, "unprivileged", "1", err);
	if (ret == 0)
		ret = set_process(conf, ct->spec->process, err);
	if (ret == 0)
		ret = pve_conf_set_description(conf, NULL, desc, err);
	if (ret < 0)
		return plx_err_prefix(err, "CT config of container %s (vmid %u)", ct->id, ct->vmid);
	*out = steal_ptr(conf);
	return 0;
}

int pve_register_check_conf(const char *schema_path, const struct pve_conf *conf, struct plx_err *err)
{
	__attribute__((cleanup(pve_schema_freep))) struct pve_schema *schema = NULL;
	const struct pve_conf_section *main = pve_conf_section(conf, NULL);
	__do_free char *desc = pve_conf_get_description(conf, NULL);
	int ret;

	if (!desc)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = pve_schema_load(schema_path, "/nodes/{node}/lxc", "POST", &schema, err);
	if (ret == 0)
		ret = pve_schema_check_conf(schema, conf, err);
	if (ret == 0 && *desc)
		ret = pve_schema_check(schema, "description", desc, err);
	for (size_t i = 0; ret == 0 && i < main->n_lines; i++) {
		const struct pve_conf_line *l = &main->lines[i];

		if (l->kind == PVE_CONF_KEY && strncmp(l->key, "lxc.", 4) == 0 &&
		    !pve_register_raw_key_allowed(l->key))
			ret = plx_err_set(err, EINVAL, "%s: not a raw lxc key PVE allows in a CT config",
					  l->key);
	}
	return ret;
}

json_t *pve_register_record_new(const struct pve_register_plan *p)
{
	__do_free char *dir = NULL;

	if (asprintf(&dir, "%s/nodes/%s/lxc", p->etc_pve, p->node) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "node", p->node, "storage", p->storage, "conf_dir", dir,
			 "lxcpath", p->lxc_path, "etc_pve", p->etc_pve);
}

unsigned int pve_register_record_vmid(const json_t *record)
{
	json_int_t v = json_integer_value(json_object_get(record, "vmid"));

	return v > 0 && v <= PVE_VMID_MAX ? (unsigned int)v : 0;
}

static const char *rec_str(const json_t *record, const char *key)
{
	return json_string_value(json_object_get(record, key));
}

/* What a claim holds until the full config replaces it: PVE shows it locked, with our description. */
static int claim_text(const char *id, const char *root, char **out, struct plx_err *err)
{
	__attribute__((cleanup(pve_conf_freep))) struct pve_conf *conf = NULL;
	__do_free char *desc = pve_register_description(id, root);
	size_t len;
	int ret;

	if (!desc)
		return plx_err_set(err, ENOMEM, "out of memory");
	ret = pve_conf_parse("", 0, "claim", &conf, err);
	if (ret == 0)
		ret = pve_conf_set(conf, NULL, "lock", "create", err);
	if (ret == 0)
		ret = pve_conf_set_description(conf, NULL, desc, err);
	if (ret == 0)
		ret = pve_conf_serialize(conf, out, &len, err);
	return ret;
}

int pve_register_claim(json_t *record, const char *id, const char *root, struct plx_err *err)
{
	__do_free char *text = NULL, *volume = NULL, *conf = NULL;
	const char *etc_pve = rec_str(record, "etc_pve"), *node = rec_str(record, "node");
	unsigned int vmid = 0;
	int ret;

	if (!etc_pve || !node)
		return plx_err_set(err, EINVAL, "pve record: expected strings etc_pve and node");
	ret = claim_text(id, root, &text, err);
	if (ret == 0)
		ret = pve_vmid_claim(etc_pve, node, text, &vmid, err);
	if (ret < 0)
		return plx_err_prefix(err, "container %s: allocate a PVE vmid on node %s", id, node);
	volume = pve_register_volume_name(vmid);
	conf = pve_vmid_conf_path(etc_pve, node, vmid);
	if (!volume || !conf || json_object_set_new(record, "vmid", json_integer(vmid)) < 0 ||
	    json_object_set_new(record, "volume", json_string(volume)) < 0 ||
	    json_object_set_new(record, "conf", json_string(conf)) < 0) {
		if (conf)
			unlink(conf);
		return plx_err_set(err, ENOMEM, "out of memory");
	}
	log_debug("container %s: PVE vmid %u on node %s", id, vmid, node);
	return 0;
}

int pve_register_write_conf(const json_t *record, const struct pve_conf *conf, struct plx_err *err)
{
	__do_free char *text = NULL;
	const char *path = rec_str(record, "conf");
	size_t len = 0;
	int ret;

	if (!path)
		return plx_err_set(err, EINVAL, "pve record: no CT config path");
	ret = pve_conf_serialize(conf, &text, &len, err);
	if (ret == 0)
		ret = plx_write_file_atomic_at(AT_FDCWD, path, text, len, 0640, err);
	return ret < 0 ? plx_err_prefix(err, "write CT config") : 0;
}

int pve_register_read_conf(const json_t *record, struct pve_conf **out, struct plx_err *err)
{
	__do_free char *text = NULL;
	const char *path = rec_str(record, "conf");
	size_t len = 0;
	int ret;

	if (!path)
		return plx_err_set(err, EINVAL, "pve record: no CT config path");
	ret = plx_read_file_at(AT_FDCWD, path, &text, &len, err);
	if (ret == 0)
		ret = pve_conf_parse(text, len, path, out, err);
	return ret;
}

/* Is the file at path a CT config of this container (by its description)?  With claim_only: still locked. */
static bool conf_is_ours(const char *path, const char *desc, bool claim_only)
{
	__attribute__((cleanup(pve_conf_freep))) struct pve_conf *conf = NULL;
	__do_free char *text = NULL, *d = NULL;
	size_t len = 0;
	const char *lock;

	if (plx_read_file_at(AT_FDCWD, path, &text, &len, NULL) < 0 ||
	    pve_conf_parse(text, len, path, &conf, NULL) < 0)
		return false;
	d = pve_conf_get_description(conf, NULL);
	lock = pve_conf_get(conf, NULL, "lock");
	if (claim_only && (!lock || strcmp(lock, "create") != 0))
		return false;
	return d && strcmp(d, desc) == 0;
}

/* A create killed between recording and claiming: find its claim by the description. */
static int release_unrecorded_claim(const char *dir, const char *desc, struct plx_err *err)
{
	__do_closedir DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : plx_err_sys(err, errno, "open %s", dir);
	while ((de = readdir(d))) {
		__do_free char *path = NULL;
		size_t n = strlen(de->d_name);

		if (n <= 5 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			return plx_err_set(err, ENOMEM, "out of memory");
		if (conf_is_ours(path, desc, true) && unlink(path) < 0 && errno != ENOENT)
			return plx_err_sys(err, errno, "remove the vmid claim %s", path);
	}
	return 0;
}

int pve_register_release(const json_t *record, const char *id, const char *root, struct plx_err *err)
{
	__do_free char *desc = pve_register_description(id, root), *lxcdir = NULL;
	const char *conf = rec_str(record, "conf"), *lxcpath = rec_str(record, "lxcpath");
	unsigned int vmid = pve_register_record_vmid(record);
	int ret;

	if (!desc)
		return plx_err_set(err, ENOMEM, "out of memory");
	if (!vmid || !conf) {
		const char *dir = rec_str(record, "conf_dir");

		return dir ? release_unrecorded_claim(dir, desc, err) : 0;
	}
	/* liblxc's directory for the CT: our generated config, anything liblxc left */
	if (lxcpath && asprintf(&lxcdir, "%s/%u", lxcpath, vmid) > 0) {
		ret = plx_rm_rf_at(AT_FDCWD, lxcdir, err);
		if (ret < 0 && ret != -ENOENT)
			return plx_err_prefix(err, "unregister CT %u", vmid);
		plx_err_clear(err);
	}
	if (access(conf, F_OK) < 0 && errno == ENOENT)
		return 0;
	/* the vmid may have been freed and taken by somebody else since: leave theirs alone */
	if (!conf_is_ours(conf, desc, false)) {
		log_warn("%s no longer describes container %s: left in place", conf, id);
		return 0;
	}
	if (unlink(conf) < 0 && errno != ENOENT)
		return plx_err_sys(err, errno, "unregister CT %u: remove %s", vmid, conf);
	log_debug("container %s: PVE CT %u unregistered", id, vmid);
	return 0;
}
