/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PVE CT config reader/writer against PVE's own test files
 * (<repo>/../shared/pve/conf-samples, or $PLX_PVE_DATA): byte-exact
 * round-trips, edits, and the snapshot operations compared with the files
 * PVE writes after them.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxmox/ct_conf.h"
#include "proxmox/ct_snapshot.h"
#include "proxmox/pve_schema.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char data_dir[PATH_MAX + 64];

static const char *samples(void)
{
	const char *env = getenv("PLX_PVE_DATA");
	char src[PATH_MAX];

	if (env)
		return env;
	if (!data_dir[0]) {
		/* __FILE__ is <repo>/tests/unit/test_pve_conf.c, maybe relative to the build dir */
		if (!realpath(__FILE__, src))
			fail_msg("cannot resolve %s; set PLX_PVE_DATA", __FILE__);
		*strrchr(src, '/') = '\0';
		snprintf(data_dir, sizeof(data_dir), "%s/../../../shared/pve/conf-samples", src);
	}
	return data_dir;
}

static char *slurp(const char *path, size_t *len)
{
	struct plx_err err = PLX_ERR_INIT;
	char *buf = NULL;

	if (plx_read_file_at(-100 /* AT_FDCWD */, path, &buf, len, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return buf;
}

static struct pve_conf *parse_str(const char *text)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = NULL;

	if (pve_conf_parse(text, strlen(text), "test.conf", &conf, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return conf;
}

static char *dump(const struct pve_conf *conf)
{
	struct plx_err err = PLX_ERR_INIT;
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(pve_conf_serialize(conf, &out, &len, &err), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static size_t n_roundtrips;

static int roundtrip_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = NULL;
	__do_free char *buf = NULL, *out = NULL;
	size_t len = 0, olen = 0;

	if (type != FTW_F || strcmp(path + strlen(path) - 5, ".conf") != 0)
		return 0;
	buf = slurp(path, &len);
	if (pve_conf_parse(buf, len, path, &conf, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	assert_int_equal(pve_conf_serialize(conf, &out, &olen, &err), 0);
	if (olen != len || memcmp(out, buf, len) != 0)
		fail_msg("%s does not round-trip", path);
	pve_conf_free(conf);
	n_roundtrips++;
	return 0;
}

static void test_samples_roundtrip(void **state)
{
	n_roundtrips = 0;
	assert_int_equal(nftw(samples(), roundtrip_one, 16, FTW_PHYS), 0);
	/* 42 inputs + 42 expected files */
	assert_true(n_roundtrips >= 84);
}

static void test_odd_files_roundtrip(void **state)
{
	static const char *const texts[] = {
		"",
		"\n\n",
		"arch: amd64",
		"#a%3Ab\n# two  \nmemory:   512  \r\nlxc.cgroup2.devices.allow = c 1:3 rwm\nlxc.init.cmd:\n",
		"memory: 1\n\n\n[pve:pending]\nmemory: 2\ndelete: swap\n  \n[snap_1]\n#x\nmemory: 3\n\n",
		"[PVE:Pending]  \ncores: 2\n[s2] \nlxc.environment.runtime: A=1\nlxc.environment.runtime: "
		"B=2",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct pve_conf *conf = parse_str(texts[i]);
		__do_free char *out = dump(conf);

		assert_string_equal(out, texts[i]);
		pve_conf_free(conf);
	}
}

static void test_model_values(void **state)
{
	struct pve_conf *conf = parse_str("#managed by%3A me\nmemory:   512  \nmemory: 1024\n"
					  "lxc.environment.runtime = A=1\nlxc.environment.runtime: B=2\n"
					  "\n[pve:pending]\nmemory: 2048\n\n[snap]\nhostname: old\n");
	__do_free char *descr = pve_conf_get_description(conf, NULL);

	/* the last line wins, as in PVE's hash */
	assert_string_equal(pve_conf_get(conf, NULL, "memory"), "1024");
	assert_string_equal(pve_conf_get(conf, NULL, "lxc.environment.runtime"), "B=2");
	assert_string_equal(pve_conf_get(conf, PVE_CONF_PENDING, "memory"), "2048");
	assert_string_equal(pve_conf_get(conf, "snap", "hostname"), "old");
	assert_null(pve_conf_get(conf, "snap", "memory"));
	assert_null(pve_conf_get(conf, "nosuch", "memory"));
	assert_string_equal(descr, "managed by: me");
	assert_int_equal(conf->n_sections, 3);
	pve_conf_free(conf);
}

static struct pve_conf *parse_sample(const char *rel)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = NULL;
	char path[PATH_MAX];
	__do_free char *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", samples(), rel);
	buf = slurp(path, &len);
	if (pve_conf_parse(buf, len, path, &conf, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return conf;
}

static void assert_matches_sample(const struct pve_conf *conf, const char *rel)
{
	char path[PATH_MAX];
	__do_free char *want = NULL, *got = dump(conf);
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", samples(), rel);
	want = slurp(path, &len);
	if (strcmp(got, want) != 0)
		fail_msg("result differs from %s:\n--- got\n%s--- want\n%s", rel, got, want);
}

static void test_edits(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = parse_sample("snapshot-input/create/lxc/101.conf");
	__do_free char *out = NULL;

	assert_int_equal(pve_conf_set(conf, NULL, "memory", "4096", &err), 0);
	assert_int_equal(pve_conf_set(conf, NULL, "cores", "2", &err), 0);
	assert_int_equal(pve_conf_add(conf, NULL, "lxc.environment.runtime", "PATH=/bin", &err), 0);
	assert_int_equal(pve_conf_add(conf, NULL, "lxc.mount.entry", "/a b none bind 0 0", &err), 0);
	assert_int_equal(pve_conf_add(conf, NULL, "lxc.environment.runtime", "HOME=/root", &err), 0);
	assert_int_equal(pve_conf_set(conf, NULL, "entrypoint", "/bin/sh", &err), 0);
	assert_int_equal(pve_conf_delete(conf, NULL, "cpulimit", &err), 1);
	assert_int_equal(pve_conf_delete(conf, NULL, "cpulimit", &err), 0);
	assert_int_equal(
		pve_conf_set_description(conf, NULL, "managed by proxmox-lxcri, container c:1\nline 2", &err),
		0);
	assert_int_equal(pve_conf_add_section(conf, PVE_CONF_PENDING, &err), 0);
	assert_int_equal(pve_conf_set(conf, PVE_CONF_PENDING, "swap", "0", &err), 0);
	out = dump(conf);
	assert_string_equal(
		out, "#managed by proxmox-lxcri, container c%3A1\n"
		     "#line 2\n"
		     "arch: amd64\n"
		     "cores: 2\n"
		     "cpuunits: 1024\n"
		     "entrypoint: /bin/sh\n"
		     "hostname: test\n"
		     "memory: 4096\n"
		     "net0: bridge=vmbr0,hwaddr=12:34:56:78:90:12,ip=dhcp,ip6=dhcp,name=eth0,type=veth\n"
		     "ostype: redhat\n"
		     "rootfs: local:snapshotable-disk-1\n"
		     "swap: 512\n"
		     "lxc.environment.runtime: PATH=/bin\n"
		     "lxc.environment.runtime: HOME=/root\n"
		     "lxc.mount.entry: /a b none bind 0 0\n"
		     "\n[pve:pending]\n"
		     "swap: 0\n");
	pve_conf_free(conf);
}

static void test_edit_errors(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = parse_str("memory: 1\n");

	assert_int_equal(pve_conf_set(conf, NULL, "memory", "1\n2", &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "memory"));
	assert_int_equal(pve_conf_set(conf, NULL, "Memory", "1", &err), -EINVAL);
	assert_int_equal(pve_conf_set(conf, NULL, "memory", "", &err), -EINVAL);
	assert_int_equal(pve_conf_add(conf, NULL, "memory", "2", &err), -EINVAL);
	assert_int_equal(pve_conf_set(conf, "snap", "memory", "2", &err), -ENOENT);
	assert_non_null(strstr(plx_err_msg(&err), "[snap]"));
	assert_int_equal(pve_conf_add_section(conf, "bad name", &err), -EINVAL);
	assert_int_equal(pve_conf_add_section(conf, "snap", &err), 0);
	assert_int_equal(pve_conf_add_section(conf, "snap", &err), -EEXIST);
	assert_int_equal(pve_conf_remove_section(conf, "nosuch", &err), -ENOENT);
	assert_int_equal(pve_conf_remove_section(conf, NULL, &err), -ENOENT);
	plx_err_clear(&err);
	pve_conf_free(conf);
}

static void expect_parse_error(const char *text, size_t len, const char *needle)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = NULL;

	assert_int_equal(pve_conf_parse(text, len, "/etc/pve/lxc/100.conf", &conf, &err), -EINVAL);
	assert_null(conf);
	if (!strstr(plx_err_msg(&err), needle))
		fail_msg("'%s' does not contain '%s'", plx_err_msg(&err), needle);
	plx_err_clear(&err);
}

static void test_parse_errors(void **state)
{
	expect_parse_error("memory: 1\ngarbage\n", 17,
			   "/etc/pve/lxc/100.conf:2: cannot parse line 'garbage'");
	expect_parse_error("memory:\n", 8, ":1:");
	expect_parse_error("memory = 5\n", 11, ":1:");
	expect_parse_error("Memory: 5\n", 10, ":1:");
	expect_parse_error("[ab]\n[ab]\n", 10, ":2: duplicate section [ab]");
	expect_parse_error("[a]\n", 4, ":1:"); /* PVE wants two characters at least */
	expect_parse_error("[a b]\n", 6, ":1:");
	expect_parse_error("lxc.: x\n", 8, ":1:");
	expect_parse_error("memory: 1\0\n", 11, "NUL byte");
}

static void snapshot_case(const char *op, const char *vmid, const char *snap)
{
	struct plx_err err = PLX_ERR_INIT;
	char in[64], want[64];
	struct pve_conf *conf;
	int ret;

	snprintf(in, sizeof(in), "snapshot-input/%s/lxc/%s.conf", op, vmid);
	snprintf(want, sizeof(want), "snapshot-expected/%s/lxc/%s.conf", op, vmid);
	conf = parse_sample(in);
	if (strcmp(op, "create") == 0)
		ret = pve_snapshot_create(conf, snap, "test comment", 1234567890, &err);
	else if (strcmp(op, "delete") == 0)
		ret = pve_snapshot_delete(conf, snap, &err);
	else
		ret = pve_snapshot_rollback(conf, snap, &err);
	if (ret < 0)
		fail_msg("%s %s: %s", op, vmid, plx_err_msg(&err));
	assert_matches_sample(conf, want);
	pve_conf_free(conf);
}

static void test_snapshot_create(void **state)
{
	snapshot_case("create", "101", "test");
	snapshot_case("create", "102", "test2");
	snapshot_case("create", "103", "test");
}

static void test_snapshot_delete(void **state)
{
	snapshot_case("delete", "101", "test");
	snapshot_case("delete", "102", "test2");
	snapshot_case("delete", "103", "test");
	snapshot_case("delete", "104", "test2");
	snapshot_case("delete", "105", "test");
	snapshot_case("delete", "106", "test");
}

static void test_snapshot_rollback(void **state)
{
	snapshot_case("rollback", "101", "test");
	snapshot_case("rollback", "102", "test2");
	snapshot_case("rollback", "103", "test");
	snapshot_case("rollback", "104", "test2");
	snapshot_case("rollback", "105", "test");
}

static void test_snapshot_errors(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_conf *conf = parse_str("lock: backup\nmemory: 1\n\n[s1]\nmemory: 1\nsnapstate: prepare\n");
	__do_free char *before = dump(conf), *after = NULL;

	assert_int_equal(pve_snapshot_create(conf, "s2", NULL, 1, &err), -EBUSY);
	assert_non_null(strstr(plx_err_msg(&err), "locked (backup)"));
	assert_int_equal(pve_snapshot_create(conf, "s1", NULL, 1, &err), -EEXIST);
	assert_int_equal(pve_snapshot_create(conf, "current", NULL, 1, &err), -EINVAL);
	assert_int_equal(pve_snapshot_delete(conf, "nosuch", &err), -ENOENT);
	assert_int_equal(pve_snapshot_rollback(conf, PVE_CONF_PENDING, &err), -ENOENT);
	assert_int_equal(pve_conf_delete(conf, NULL, "lock", &err), 1);
	assert_int_equal(pve_snapshot_rollback(conf, "s1", &err), -EBUSY);
	assert_non_null(strstr(plx_err_msg(&err), "prepare"));
	/* failed operations leave the config as it was (but for the lock we removed) */
	after = dump(conf);
	assert_string_equal(after, before + strlen("lock: backup\n"));
	plx_err_clear(&err);
	pve_conf_free(conf);
}

static void test_text_coding(void **state)
{
	__do_free char *enc = pve_conf_encode_text("a:b %\t\xc3\xa4~");
	__do_free char *dec = NULL, *bad = pve_conf_decode_text("100%zz%4");

	/* PVE leaves '%' itself alone: decode(encode(x)) is not always x, as in PVE */
	assert_string_equal(enc, "a%3Ab %%09%C3%A4~");
	dec = pve_conf_decode_text(enc);
	assert_string_equal(dec, "a:b %\t\xc3\xa4~");
	assert_string_equal(bad, "100%zz%4");
}

static struct pve_schema *load_schema(const char *api_path, const char *method)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_schema *schema = NULL;
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/../apidata.json", samples());
	if (pve_schema_load(path, api_path, method, &schema, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	return schema;
}

static void expect_valid(const struct pve_schema *schema, const char *key, const char *value)
{
	struct plx_err err = PLX_ERR_INIT;

	if (pve_schema_check(schema, key, value, &err) < 0)
		fail_msg("%s=%s rejected: %s", key, value, plx_err_msg(&err));
}

static void expect_invalid(const struct pve_schema *schema, const char *key, const char *value, int code,
			   const char *msg)
{
	struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(pve_schema_check(schema, key, value, &err), -code);
	if (strcmp(plx_err_msg(&err), msg) != 0)
		fail_msg("%s=%s: got '%s', want '%s'", key, value, plx_err_msg(&err), msg);
	plx_err_clear(&err);
}

static void test_schema_accepts_what_pve_accepts(void **state)
{
	struct pve_schema *s = load_schema("/nodes/{node}/lxc", "POST");

	expect_valid(s, "vmid", "100");
	expect_valid(s, "memory", "512");
	expect_valid(s, "cores", "2");
	expect_valid(s, "cpulimit", "1.5");
	expect_valid(s, "arch", "amd64");
	expect_valid(s, "unprivileged", "true");
	expect_valid(s, "hostname", "web-1.example.org");
	expect_valid(s, "rootfs", "local-zfs:8");
	expect_valid(s, "rootfs", "volume=local-zfs:subvol-100-disk-0,size=8G,mountoptions=noatime;nodev");
	expect_valid(s, "mp0", "local:8,mp=/data,backup=1");
	expect_valid(s, "net0",
		     "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto");
	expect_valid(s, "net12", "name=eth1,bridge=vmbr1,ip=dhcp");
	expect_valid(s, "features", "nesting=1,keyctl=1");
	expect_valid(s, "tags", "a;b-c");
	expect_valid(s, "nameserver", "1.1.1.1 fe80::1%eth0");
	expect_valid(s, "entrypoint", "/bin/sh -c 'exec app'");
	expect_valid(s, "env", "PATH=/bin");
	expect_invalid(s, "env", "1 bad", EINVAL, "env: value does not match the regex pattern");
	expect_valid(s, "startup", "order=1,up=30");
	expect_valid(s, "dev0", "/dev/fuse,mode=0666");
	expect_valid(s, "description", "managed by proxmox-lxcri, container c1");
	pve_schema_free(s);
}

static void test_schema_rejects_like_pve(void **state)
{
	struct pve_schema *s = load_schema("/nodes/{node}/lxc", "POST");

	expect_invalid(s, "vmid", "99", EINVAL, "vmid: value must have a minimum value of 100");
	expect_invalid(s, "vmid", "1000000000", EINVAL, "vmid: value must have a maximum value of 999999999");
	expect_invalid(s, "memory", "lots", EINVAL, "memory: type check ('integer') failed - got 'lots'");
	expect_invalid(s, "cpulimit", "1.5x", EINVAL, "cpulimit: type check ('number') failed - got '1.5x'");
	expect_invalid(s, "onboot", "maybe", EINVAL, "onboot: type check ('boolean') failed - got 'maybe'");
	expect_invalid(s, "arch", "mips", EINVAL,
		       "arch: value 'mips' does not have a value in the enumeration "
		       "'amd64, i386, arm64, armhf, riscv32, riscv64'");
	expect_invalid(s, "hostname", "not_dns", EINVAL,
		       "hostname: invalid format - value does not look like a valid DNS name");
	expect_invalid(
		s, "net0", "name=eth0,colour=red", EINVAL,
		"net0: invalid format - property is not defined in schema and the schema does not allow "
		"additional properties (colour)");
	expect_invalid(s, "net0", "bridge=vmbr0", EINVAL,
		       "net0: invalid format - name: property is missing and it is not optional");
	expect_invalid(
		s, "net0", "name=eth0,hwaddr=01:00:00:00:00:01", EINVAL,
		"net0: invalid format - hwaddr: invalid format - value does not look like a valid unicast "
		"MAC address");
	expect_invalid(
		s, "net0", "name=eth0,ip=10.0.0.300/24", EINVAL,
		"net0: invalid format - ip: invalid format - value does not look like a valid CIDR network");
	expect_invalid(
		s, "rootfs", "nostorage", EINVAL,
		"rootfs: invalid format - volume: invalid format - unable to parse volume ID 'nostorage'");
	expect_invalid(
		s, "mp0", "/a/../b,mp=/x", EINVAL,
		"mp0: invalid format - volume: invalid format - path with '.' or '..' components is not "
		"allowed: '/a/../b'");
	expect_invalid(s, "entrypoint", "/bin/sh\x01", EINVAL,
		       "entrypoint: value does not match the regex pattern");
	expect_invalid(s, "tags", "ok;b@d", EINVAL, "tags: invalid format - invalid tag 'b@d'");
	expect_invalid(s, "lxc.init.cmd", "/bin/sh", EINVAL,
		       "lxc.init.cmd: property is not defined in schema of POST /nodes/{node}/lxc");
	expect_invalid(s, "net", "name=eth0", EINVAL,
		       "net: property is not defined in schema of POST /nodes/{node}/lxc");
	pve_schema_free(s);
}

static void test_schema_unknown_format_and_load_errors(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_schema *s = load_schema("/cluster/firewall/rules", "POST");

	/* nothing passes unchecked: a format the checker lacks is an error naming it */
	expect_invalid(s, "source", "10.0.0.1", EOPNOTSUPP,
		       "source: format 'pve-fw-addr-spec' is not known to proxmox-lxcri's schema checker");
	pve_schema_free(s);
	s = NULL;
	assert_int_equal(pve_schema_load("/nonexistent/apidata.json", "/nodes", "GET", &s, &err), -EINVAL);
	assert_non_null(strstr(plx_err_msg(&err), "/nonexistent/apidata.json"));
	plx_err_clear(&err);
	s = load_schema("/nodes", "GET");
	pve_schema_free(s);
	s = NULL;
	{
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/../apidata.json", samples());
		assert_int_equal(pve_schema_load(path, "/nodes/{node}/nosuch", "GET", &s, &err), -ENOENT);
		assert_non_null(strstr(plx_err_msg(&err), "/nodes/{node}/nosuch"));
		assert_int_equal(pve_schema_load(path, "/nodes/{node}/lxc", "PATCH", &s, &err), -ENOENT);
		assert_null(s);
	}
	plx_err_clear(&err);
}

static void test_schema_checks_conf(void **state)
{
	struct plx_err err = PLX_ERR_INIT;
	struct pve_schema *s = load_schema("/nodes/{node}/lxc/{vmid}/config", "PUT");
	struct pve_conf *conf = parse_sample("snapshot-input/create/lxc/103.conf");

	/* PVE's old test fixture uses an ostype 9.1 no longer has */
	assert_int_equal(pve_schema_check_conf(s, conf, &err), -EINVAL);
	assert_non_null(
		strstr(plx_err_msg(&err), "ostype: value 'redhat' does not have a value in the enumeration"));
	assert_int_equal(pve_conf_set(conf, NULL, "ostype", "debian", &err), 0);
	if (pve_schema_check_conf(s, conf, &err) < 0)
		fail_msg("%s", plx_err_msg(&err));
	/* raw lxc keys are not API parameters */
	assert_int_equal(pve_conf_add(conf, NULL, "lxc.environment.runtime", "A=1", &err), 0);
	assert_int_equal(pve_schema_check_conf(s, conf, &err), 0);
	assert_int_equal(pve_conf_set(conf, NULL, "memory", "8", &err), 0);
	assert_int_equal(pve_schema_check_conf(s, conf, &err), -EINVAL);
	assert_string_equal(plx_err_msg(&err), "memory: value must have a minimum value of 16");
	plx_err_clear(&err);
	pve_conf_free(conf);
	pve_schema_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_roundtrip),
		cmocka_unit_test(test_odd_files_roundtrip),
		cmocka_unit_test(test_model_values),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_edit_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_snapshot_create),
		cmocka_unit_test(test_snapshot_delete),
		cmocka_unit_test(test_snapshot_rollback),
		cmocka_unit_test(test_snapshot_errors),
		cmocka_unit_test(test_text_coding),
		cmocka_unit_test(test_schema_accepts_what_pve_accepts),
		cmocka_unit_test(test_schema_rejects_like_pve),
		cmocka_unit_test(test_schema_unknown_format_and_load_errors),
		cmocka_unit_test(test_schema_checks_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
