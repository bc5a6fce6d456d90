/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node-local PVE registration: storage.cfg, vmid allocation in a temporary
 * /etc/pve tree (including concurrent claims from several processes), the
 * CT config written for an OCI spec and checked against PVE's API schema
 * (<repo>/../shared/pve/apidata.json or $PLX_PVE_DATA/../apidata.json),
 * release, and the snapshot sections that follow a volume's snapshots.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "oci/spec.h"
#include "proxmox/ct_conf.h"
#include "proxmox/pve_register.h"
#include "proxmox/pve_storage_cfg.h"
#include "proxmox/pve_vmid.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char apidata[PATH_MAX + 64];

static const char *schema_path(void)
{
	const char *env = getenv("PLX_PVE_DATA");
	char src[PATH_MAX];

	if (env) {
		snprintf(apidata, sizeof(apidata), "%s/../apidata.json", env);
		return apidata;
	}
	if (!realpath(__FILE__, src))
		fail_msg("cannot resolve %s; set PLX_PVE_DATA", __FILE__);
	*strrchr(src, '/') = '\0';
	snprintf(apidata, sizeof(apidata), "%s/../../../shared/pve/apidata.json", src);
	return apidata;
}

/* A temporary /etc/pve with nodes pve1 and pve2. */
static char *make_tree(void)
{
	char tmpl[] = "/tmp/plx-pvereg-XXXXXX";
	char *top = strdup(mkdtemp(tmpl));
	char path[PATH_MAX];
	const char *dirs[] = {
		"nodes",      "nodes/pve1",	"nodes/pve1/lxc",	 "nodes/pve1/qemu-server",
		"nodes/pve2", "nodes/pve2/lxc", "nodes/pve2/qemu-server"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", top, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	return top;
}

static void put(const char *top, const char *rel, const char *text)
{
	char path[PATH_MAX];
	struct plx_err err = PLX_ERR_INIT;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (plx_write_file_at(AT_FDCWD, path, text, strlen(text), 0640, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
}

static void rm_tree(char *top)
{
	plx_rm_rf_at(AT_FDCWD, top, NULL);
	free(top);
}

static bool exists(const char *top, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return access(path, F_OK) == 0;
}

static void test_storage_cfg(void **state)
{
	(void)state;
	const char *text = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n"
			   "# a comment\n"
			   "zfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n\n"
			   "btrfs: bt\n\tpath /mnt/bt\n\tnodes pve2\n\tdisable\n";
	struct pve_storage_cfg *cfg = NULL;
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(pve_storage_cfg_parse(text, strlen(text), "storage.cfg", &cfg, &err), 0);
	assert_int_equal(cfg->n_entries, 3);
	const struct pve_storage_entry *z = pve_storage_cfg_find(cfg, "local-zfs");
	assert_non_null(z);
	assert_string_equal(z->type, "zfspool");
	assert_string_equal(pve_storage_prop(z, "pool"), "rpool/data");
	assert_string_equal(pve_storage_prop(z, "sparse"), "1");
	assert_int_equal(pve_storage_check_rootdir(z, "pve1", &err), 0);

	const struct pve_storage_entry *d = pve_storage_cfg_find(cfg, "local");
	assert_int_equal(pve_storage_check_rootdir(d, "pve1", &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "needs rootdir"));
	plx_err_clear(&err);
	const struct pve_storage_entry *b = pve_storage_cfg_find(cfg, "bt");
	assert_int_equal(pve_storage_check_rootdir(b, "pve1", &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "disabled"));
	plx_err_clear(&err);
	assert_null(pve_storage_cfg_find(cfg, "nope"));
	pve_storage_cfg_free(cfg);

	/* errors name the file and line */
	const char *bad = "zfspool: x1\n\tpool a\n\tpool b\n";
	assert_int_equal(pve_storage_cfg_parse(bad, strlen(bad), "s.cfg", &cfg, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "s.cfg:3"));
	plx_err_clear(&err);
	const char *orphan = "\tpool a\n";
	assert_int_equal(pve_storage_cfg_parse(orphan, strlen(orphan), "s.cfg", &cfg, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "outside a storage section"));
	plx_err_clear(&err);
}

static void test_vmid_range(void **state)
{
	(void)state;
	struct plx_err err = PLX_ERR_INIT;
	unsigned int lo, hi;

	assert_int_equal(pve_vmid_range_parse("keyboard: en-us\n", "dc.cfg", &lo, &hi, &err), 0);
	assert_int_equal(lo, 100);
	assert_int_equal(hi, 1000000);
	assert_int_equal(pve_vmid_range_parse("next-id: lower=5000,upper=5010\n", "dc.cfg", &lo, &hi, &err),
			 0);
	assert_int_equal(lo, 5000);
	assert_int_equal(hi, 5010);
	assert_int_equal(pve_vmid_range_parse("next-id: upper=200\n", "dc.cfg", &lo, &hi, &err), 0);
	assert_int_equal(lo, 100);
	assert_int_equal(hi, 200);
	assert_int_equal(pve_vmid_range_parse("next-id: lower=abc\n", "dc.cfg", &lo, &hi, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "dc.cfg: next-id: lower"));
	plx_err_clear(&err);
	assert_int_equal(pve_vmid_range_parse("next-id: lower=300,upper=200\n", "dc.cfg", &lo, &hi, &err),
			 -EINVAL);
	plx_err_clear(&err);
}

static void test_vmid_scan_and_claim(void **state)
{
	(void)state;
	char *top = make_tree();
	struct pve_vmid_set used = {0};
	struct plx_err err = PLX_ERR_INIT;
	unsigned int vmid = 0;

	put(top, "nodes/pve2/qemu-server/100.conf", "memory: 512\n");
	put(top, "nodes/pve1/lxc/102.conf", "hostname: a\n");
	put(top, "nodes/pve1/lxc/notes.txt", "x");
	put(top, ".vmlist",
	    "{\"version\": 3, \"ids\": {\"101\": {\"node\": \"pve2\", \"type\": \"lxc\", \"version\": 1}}}");
	assert_int_equal(pve_vmid_scan(top, NULL, 0, &used, &err), 0);
	assert_int_equal(used.n, 3);
	assert_true(pve_vmid_set_has(&used, 100));
	assert_true(pve_vmid_set_has(&used, 101));
	assert_true(pve_vmid_set_has(&used, 102));
	pve_vmid_set_clear(&used);

	assert_int_equal(pve_vmid_claim(top, "pve1", "lock: create\n", &vmid, &err), 0);
	assert_int_equal(vmid, 103);
	assert_true(exists(top, "nodes/pve1/lxc/103.conf"));

	/* the range of datacenter.cfg */
	put(top, "datacenter.cfg", "next-id: lower=200,upper=202\n");
	assert_int_equal(pve_vmid_claim(top, "pve1", "lock: create\n", &vmid, &err), 0);
	assert_int_equal(vmid, 200);
	/* 201 is taken on another node after our scan: simulate with an existing qemu config there */
	put(top, "nodes/pve2/qemu-server/201.conf", "memory: 512\n");
	assert_int_equal(pve_vmid_claim(top, "pve1", "lock: create\n", &vmid, &err), -ENOSPC);
	assert_non_null(strstr(plx_err_msg(&err), "no free vmid in 200-201"));
	plx_err_clear(&err);
	assert_false(exists(top, "nodes/pve1/lxc/201.conf"));
	rm_tree(top);
}

/* Several processes claim at once: every vmid distinct, every claim file there. */
static void test_vmid_concurrent(void **state)
{
	(void)state;
	char *top = make_tree();
	enum { N = 8 };
	int fds[N][2];
	pid_t pids[N];
	unsigned int got[N];

	for (int i = 0; i < N; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct plx_err err = PLX_ERR_INIT;
			unsigned int v = 0;

			close(fds[i][0]);
			if (pve_vmid_claim(top, i % 2 ? "pve1" : "pve2", "lock: create\n", &v, &err) < 0)
				v = 0;
			(void)!write(fds[i][1], &v, sizeof(v));
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(read(fds[i][0], &got[i], sizeof(got[i])), sizeof(got[i]));
		close(fds[i][0]);
		waitpid(pids[i], NULL, 0);
	}
	for (int i = 0; i < N; i++) {
		char rel[64];

		assert_true(got[i] >= 100);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(got[i], got[j]);
		snprintf(rel, sizeof(rel), "nodes/%s/lxc/%u.conf", i % 2 ? "pve1" : "pve2", got[i]);
		assert_true(exists(top, rel));
	}
	rm_tree(top);
}

static void test_names(void **state)
{
	(void)state;
	char *s;

	s = pve_register_format_size(0);
	assert_string_equal(s, "0T");
	free(s);
	s = pve_register_format_size(8ULL << 30);
	assert_string_equal(s, "8G");
	free(s);
	s = pve_register_format_size(512ULL << 20);
	assert_string_equal(s, "512M");
	free(s);
	s = pve_register_format_size(2ULL << 40);
	assert_string_equal(s, "2T");
	free(s);
	s = pve_register_format_size(1536);
	assert_string_equal(s, "1536");
	free(s);
	s = pve_register_volume_name(123);
	assert_string_equal(s, "subvol-123-disk-0");
	free(s);

	s = pve_register_hostname("web.example.com", "x", 100);
	assert_string_equal(s, "web.example.com");
	free(s);
	s = pve_register_hostname(NULL, "My_Container.1", 100);
	assert_string_equal(s, "My-Container-1");
	free(s);
	s = pve_register_hostname("-bad-", "___", 104);
	assert_string_equal(s, "ct104");
	free(s);

	assert_true(pve_register_raw_key_allowed("lxc.environment.runtime"));
	assert_true(pve_register_raw_key_allowed("lxc.cgroup2.memory.max"));
	assert_true(pve_register_raw_key_allowed("lxc.init.cwd"));
	assert_true(pve_register_raw_key_allowed("lxc.net.0.type"));
	assert_false(pve_register_raw_key_allowed("lxc.rootfs.path"));
	assert_false(pve_register_raw_key_allowed("lxc.cgroup2."));
	assert_false(pve_register_raw_key_allowed("lxc.uts.name"));
}

static struct oci_spec *spec_from(const char *json)
{
	struct oci_spec *spec = NULL;
	struct plx_err err = PLX_ERR_INIT;

	if (oci_spec_parse(json, strlen(json), "config.json", &spec, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return spec;
}

static const char *SPEC =
	"{\"ociVersion\": \"1.0.2\", \"hostname\": \"web1\", \"root\": {\"path\": \"rootfs\"},"
	" \"process\": {\"cwd\": \"/srv\", \"user\": {\"uid\": 1000, \"gid\": 100},"
	"  \"args\": [\"sh\", \"-c\", \"echo hi; sleep 1\"], \"env\": [\"PATH=/bin\", \"A_B=x y\", "
	"\"bad.key=1\"]},"
	" \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"user\"}],"
	"  \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
	"  \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
	"  \"resources\": {\"memory\": {\"limit\": 268435456, \"swap\": 536870912},"
	"   \"cpu\": {\"quota\": 150000, \"period\": 100000}}}}";

static struct pve_conf *built(const char *json, uint64_t size)
{
	__attribute__((cleanup(oci_spec_freep))) struct oci_spec *spec = spec_from(json);
	struct pve_register_ct ct = {.spec = spec,
				     .id = "c1",
				     .root = "/run/plx",
				     .vmid = 105,
				     .storage = "local-zfs",
				     .volume = "subvol-105-disk-0",
				     .size = size};
	struct pve_conf *conf = NULL;
	struct plx_err err = PLX_ERR_INIT;

	if (pve_register_build_conf(&ct, &conf, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return conf;
}

static void test_build_conf(void **state)
{
	(void)state;
	struct pve_conf *conf = built(SPEC, 8ULL << 30);
	struct plx_err err = PLX_ERR_INIT;
	__do_free char *text = NULL, *desc = NULL;
	size_t len;

	assert_string_equal(pve_conf_get(conf, NULL, "hostname"), "web1");
	assert_string_equal(pve_conf_get(conf, NULL, "cores"), "2");
	assert_string_equal(pve_conf_get(conf, NULL, "memory"), "256");
	assert_string_equal(pve_conf_get(conf, NULL, "swap"), "256");
	assert_string_equal(pve_conf_get(conf, NULL, "ostype"), "unmanaged");
	assert_string_equal(pve_conf_get(conf, NULL, "unprivileged"), "1");
	assert_string_equal(pve_conf_get(conf, NULL, "rootfs"), "local-zfs:subvol-105-disk-0,size=8G");
	assert_string_equal(pve_conf_get(conf, NULL, "entrypoint"), "sh -c \"echo hi; sleep 1\"");
	assert_null(pve_conf_get(conf, NULL, "net0"));
	desc = pve_conf_get_description(conf, NULL);
	assert_string_equal(desc, "managed by proxmox-lxcri, container c1\nruntime root /run/plx");
	assert_int_equal(pve_conf_serialize(conf, &text, &len, &err), 0);
	/* env as PVE 9.1 keeps it; a key PVE's env pattern refuses is left out */
	assert_non_null(strstr(text, "\nlxc.environment.runtime: PATH=/bin\n"));
	assert_non_null(strstr(text, "\nlxc.environment.runtime: A_B=x y\n"));
	assert_null(strstr(text, "bad.key"));
	assert_non_null(strstr(text, "\nlxc.init.cwd: /srv\n"));
	assert_non_null(strstr(text, "\nlxc.init.uid: 1000\n"));
	assert_non_null(strstr(text, "#managed by proxmox-lxcri, container c1\n#runtime root /run/plx\n"));

	/* everything written validates against PVE's schema */
	assert_int_equal(pve_register_check_conf(schema_path(), conf, &err), 0);
	pve_conf_free(conf);

	/* no limits: PVE's defaults and an unlimited subvol */
	conf = built("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, \"process\": {\"cwd\": \"/\","
		     " \"args\": [\"/bin/true\"], \"user\": {\"uid\": 0, \"gid\": 0}}}",
		     0);
	assert_string_equal(pve_conf_get(conf, NULL, "memory"), "512");
	assert_null(pve_conf_get(conf, NULL, "cores"));
	assert_null(pve_conf_get(conf, NULL, "swap"));
	assert_null(pve_conf_get(conf, NULL, "unprivileged"));
	assert_string_equal(pve_conf_get(conf, NULL, "hostname"), "c1");
	assert_string_equal(pve_conf_get(conf, NULL, "rootfs"), "local-zfs:subvol-105-disk-0,size=0T");
	assert_int_equal(pve_register_check_conf(schema_path(), conf, &err), 0);

	/* the checks bite: a value PVE refuses, a raw key PVE drops */
	assert_int_equal(pve_conf_set(conf, NULL, "memory", "8", &err), 0);
	assert_int_equal(pve_register_check_conf(schema_path(), conf, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "memory"));
	plx_err_clear(&err);
	assert_int_equal(pve_conf_set(conf, NULL, "memory", "64", &err), 0);
	assert_int_equal(pve_conf_add(conf, NULL, "lxc.rootfs.path", "/x", &err), 0);
	assert_int_equal(pve_register_check_conf(schema_path(), conf, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "lxc.rootfs.path"));
	plx_err_clear(&err);
	pve_conf_free(conf);
}

static json_t *record_in(const char *top, unsigned int vmid)
{
	char conf[PATH_MAX], dir[PATH_MAX];

	snprintf(conf, sizeof(conf), "%s/nodes/pve1/lxc/%u.conf", top, vmid);
	snprintf(dir, sizeof(dir), "%s/nodes/pve1/lxc", top);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "node", "pve1", "etc_pve", top, "conf_dir",
			 dir, "lxcpath", top, "vmid", (json_int_t)vmid, "conf", conf, "volume", "subvol");
}

static void test_claim_release(void **state)
{
	(void)state;
	char *top = make_tree();
	struct plx_err err = PLX_ERR_INIT;
	struct pve_register_plan plan = {
		.node = "pve1", .storage = "local-zfs", .etc_pve = top, .lxc_path = top};
	json_t *rec = pve_register_record_new(&plan);
	struct pve_conf *conf = NULL;

	assert_non_null(rec);
	assert_int_equal(pve_register_claim(rec, "c1", "/run/plx", &err), 0);
	assert_int_equal(pve_register_record_vmid(rec), 100);
	assert_string_equal(json_string_value(json_object_get(rec, "volume")), "subvol-100-disk-0");
	assert_int_equal(pve_register_read_conf(rec, &conf, &err), 0);
	assert_string_equal(pve_conf_get(conf, NULL, "lock"), "create");
	pve_conf_free(conf);

	/* a record without vmid (killed before the claim was recorded) finds the claim by description */
	json_t *early = pve_register_record_new(&plan);
	assert_int_equal(pve_register_release(early, "other", "/run/plx", &err), 0);
	assert_true(exists(top, "nodes/pve1/lxc/100.conf"));
	assert_int_equal(pve_register_release(early, "c1", "/run/plx", &err), 0);
	assert_false(exists(top, "nodes/pve1/lxc/100.conf"));
	json_decref(early);

	/* a config someone else now has is left alone; ours goes with its lxc dir */
	put(top, "nodes/pve1/lxc/100.conf", "# someone else\nhostname: x\n");
	assert_int_equal(pve_register_release(rec, "c1", "/run/plx", &err), 0);
	assert_true(exists(top, "nodes/pve1/lxc/100.conf"));
	put(top, "nodes/pve1/lxc/100.conf",
	    "#managed by proxmox-lxcri, container c1\n#runtime root /run/plx\n"
	    "hostname: x\n");
	assert_int_equal(mkdir(strcat(strcpy((char[PATH_MAX]){0}, top), "/100"), 0755), 0);
	put(top, "100/config", "lxc.uts.name = x\n");
	assert_int_equal(pve_register_release(rec, "c1", "/run/plx", &err), 0);
	assert_false(exists(top, "nodes/pve1/lxc/100.conf"));
	assert_false(exists(top, "100"));
	/* gone is fine */
	assert_int_equal(pve_register_release(rec, "c1", "/run/plx", &err), 0);
	json_decref(rec);
	rm_tree(top);
}

static void test_sync_snapshots(void **state)
{
	(void)state;
	char *top = make_tree();
	json_t *rec = record_in(top, 107);
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = NULL;
	struct plx_storage_snapshot snaps[3] = {
		{"checkpoint-1", 1700000000, -1}, {"second", 1700000100, -1}, {"Not.PVE", 1700000200, -1}};

	put(top, "nodes/pve1/lxc/107.conf",
	    "# managed by proxmox-lxcri, container c1\nhostname: a\nmemory: 256\n");
	assert_int_equal(pve_register_sync_snapshots(rec, snaps, 1, NULL, &err), 0);
	assert_int_equal(pve_register_read_conf(rec, &conf, &err), 0);
	assert_string_equal(pve_conf_get(conf, NULL, "parent"), "checkpoint-1");
	assert_string_equal(pve_conf_get(conf, "checkpoint-1", "snaptime"), "1700000000");
	assert_string_equal(pve_conf_get(conf, "checkpoint-1", "memory"), "256");
	pve_conf_free(conf);

	/* the main section changes, a second snapshot chains to the first; a name PVE refuses is left out */
	put(top, "nodes/pve1/lxc/107.conf",
	    "# managed by proxmox-lxcri, container c1\nhostname: a\nmemory: 512\nparent: checkpoint-1\n\n"
	    "[checkpoint-1]\nhostname: a\nmemory: 256\nsnaptime: 1700000000\n");
	assert_int_equal(pve_register_sync_snapshots(rec, snaps, 3, NULL, &err), 0);
	assert_int_equal(pve_register_read_conf(rec, &conf, &err), 0);
	assert_string_equal(pve_conf_get(conf, "second", "parent"), "checkpoint-1");
	assert_string_equal(pve_conf_get(conf, NULL, "parent"), "second");
	assert_null(pve_conf_section(conf, "Not.PVE"));
	pve_conf_free(conf);

	/* rollback to the first: main is its config again */
	assert_int_equal(pve_register_sync_snapshots(rec, snaps, 3, "checkpoint-1", &err), 0);
	assert_int_equal(pve_register_read_conf(rec, &conf, &err), 0);
	assert_string_equal(pve_conf_get(conf, NULL, "memory"), "256");
	assert_string_equal(pve_conf_get(conf, NULL, "parent"), "checkpoint-1");
	pve_conf_free(conf);

	/* the volume lost checkpoint-1: its section goes, second's parent is re-linked */
	assert_int_equal(pve_register_sync_snapshots(rec, snaps + 1, 1, NULL, &err), 0);
	assert_int_equal(pve_register_read_conf(rec, &conf, &err), 0);
	assert_null(pve_conf_section(conf, "checkpoint-1"));
	assert_non_null(pve_conf_section(conf, "second"));
	assert_null(pve_conf_get(conf, "second", "parent"));
	pve_conf_free(conf);
	json_decref(rec);
	rm_tree(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage_cfg),
		cmocka_unit_test(test_vmid_range),
		cmocka_unit_test(test_vmid_scan_and_claim),
		cmocka_unit_test(test_vmid_concurrent),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_build_conf),
		cmocka_unit_test(test_claim_release),
		cmocka_unit_test(test_sync_snapshots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
