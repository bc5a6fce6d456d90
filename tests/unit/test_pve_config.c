/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime config's "proxmox" section: defaults, every key, errors that
 * name the key and never the token, and files holding a token that group
 * or others can read.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxmox/pve_config.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define TOKEN  "root@pam!ci=11111111-2222-3333-4444-555555555555"
#define SECRET "11111111-2222-3333-4444-555555555555"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/plx-pve-config-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct plx_err err = PLX_ERR_INIT;

	plx_rm_rf_at(AT_FDCWD, f->dir, &err);
	plx_err_clear(&err);
	free(f);
	return 0;
}

/* Parse text (a JSON object) as the proxmox section of file (may be NULL). */
static int parse(const char *text, const char *file, struct pve_config **cfg, struct plx_err *err)
{
	json_auto_t *doc = json_loads(text, 0, NULL);

	assert_non_null(doc);
	*cfg = NULL;
	return pve_config_parse(doc, file, cfg, err);
}

/* A private (0600) config file for the messages to name. */
static char cfg_file[] = "/tmp/plx-pve-config-file-XXXXXX";

static void assert_fails(const char *text, int code, const char *msg)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	struct pve_config *cfg;

	assert_int_equal(parse(text, cfg_file, &cfg, &err), -code);
	assert_null(cfg);
	assert_true(strncmp(plx_err_msg(&err), cfg_file, strlen(cfg_file)) == 0);
	if (!strstr(plx_err_msg(&err), msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, plx_err_msg(&err));
	/* whatever went wrong, the secret is not in the message */
	assert_null(strstr(plx_err_msg(&err), SECRET));
}

static void test_defaults(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	struct pve_config *cfg;

	assert_int_equal(parse("{\"hosts\": [\"pve1\"], \"token\": \"" TOKEN "\"}", NULL, &cfg, &err), 0);
	assert_int_equal(cfg->n_hosts, 1);
	assert_string_equal(cfg->hosts[0].name, "pve1");
	assert_int_equal(cfg->hosts[0].port, 8006);
	assert_string_equal(cfg->token, TOKEN);
	assert_string_equal(cfg->token_id, "root@pam!ci");
	assert_null(cfg->node);
	assert_string_equal(cfg->scheme, "https");
	assert_true(cfg->verify_tls);
	assert_null(cfg->fingerprints);
	assert_null(cfg->ca_file);
	assert_int_equal(cfg->node_cache_duration, 300);
	assert_int_equal(cfg->timeout, 30);
	assert_string_equal(cfg->etc_pve, "/etc/pve");
	assert_string_equal(cfg->lxc_path, "/var/lib/lxc");
	assert_string_equal(cfg->storage_cfg, "/etc/pve/storage.cfg");
	pve_config_free(cfg);
}

static void test_every_key(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	struct pve_config *cfg;
	const char *text =
		"{\"hosts\": [\"pve1.example.com\", \"10.0.0.2:8443\", \"[fe80::1]:9000\", \"fe80::2\", "
		"\"[::1]\"],"
		" \"port\": 443, \"token\": \"" TOKEN "\", \"node\": \"pve2\", \"verify_tls\": false,"
		" \"fingerprint\": "
		"[\"ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:"
		"ef:01:23:45:67:89\", \"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\"],"
		" \"ca_file\": \"/etc/pve/pve-root-ca.pem\", \"node_cache_duration\": 0, \"timeout\": 5,"
		" \"task_timeout\": 60, \"scheme\": \"http\","
		" \"paths\": {\"etc_pve\": \"/t/pve\", \"lxc\": \"/t/lxc\", \"storage_cfg\": "
		"\"/t/storage.cfg\"}}";

	assert_int_equal(parse(text, NULL, &cfg, &err), 0);
	assert_int_equal(cfg->n_hosts, 5);
	assert_string_equal(cfg->hosts[0].name, "pve1.example.com");
	assert_int_equal(cfg->hosts[0].port, 443);
	assert_string_equal(cfg->hosts[1].name, "10.0.0.2");
	assert_int_equal(cfg->hosts[1].port, 8443);
	assert_string_equal(cfg->hosts[2].name, "fe80::1");
	assert_int_equal(cfg->hosts[2].port, 9000);
	assert_string_equal(cfg->hosts[3].name, "fe80::2");
	assert_int_equal(cfg->hosts[3].port, 443);
	assert_string_equal(cfg->hosts[4].name, "::1");
	assert_string_equal(cfg->node, "pve2");
	assert_false(cfg->verify_tls);
	assert_string_equal(cfg->fingerprints[0], "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
						  "01:23:45:67:89:"
						  "AB:CD:EF:01:23:45:67:89");
	assert_string_equal(cfg->fingerprints[1], "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:"
						  "33:44:55:66:"
						  "77:88:99:AA:BB:CC:DD:EE:FF");
	assert_null(cfg->fingerprints[2]);
	assert_string_equal(cfg->ca_file, "/etc/pve/pve-root-ca.pem");
	assert_int_equal(cfg->node_cache_duration, 0);
	assert_int_equal(cfg->timeout, 5);
	assert_int_equal(cfg->task_timeout, 60);
	assert_string_equal(cfg->scheme, "http");
	assert_string_equal(cfg->etc_pve, "/t/pve");
	assert_string_equal(cfg->lxc_path, "/t/lxc");
	assert_string_equal(cfg->storage_cfg, "/t/storage.cfg");
	pve_config_free(cfg);

	{
		__do_free char *d1 = pve_host_display(&(struct pve_host){ "fe80::1", 8006 });
		__do_free char *d2 = pve_host_display(&(struct pve_host){ "pve1", 8006 });

		assert_string_equal(d1, "[fe80::1]:8006");
		assert_string_equal(d2, "pve1:8006");
	}
}

static void test_errors_name_the_key(void **state)
{
	assert_fails("{\"token\": \"" TOKEN "\"}", EINVAL, ": proxmox.hosts: missing");
	assert_fails("{\"hosts\": [\"a\"]}", EINVAL, "proxmox.token: missing");
	assert_fails("{\"hosts\": [], \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.hosts: expected a non-empty array");
	assert_fails("{\"hosts\": [\"a:0\"], \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.hosts[0]: expected a host name or IP, optionally with \":PORT\", got \"a:0\"");
	assert_fails("{\"hosts\": [\"a\", \"b c\"], \"token\": \"" TOKEN "\"}", EINVAL, "proxmox.hosts[1]:");
	assert_fails("{\"hosts\": [\"a\", 5], \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.hosts[1]: expected string, got integer");
	assert_fails("{\"hosts\": [\"a\"], \"port\": 70000, \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.port: expected an integer 1-65535");
	assert_fails("{\"hosts\": [\"a\"], \"verify_tls\": \"yes\", \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.verify_tls: expected boolean, got string");
	assert_fails("{\"hosts\": [\"a\"], \"fingerprint\": \"AB:CD\", \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.fingerprint: expected a SHA-256 fingerprint");
	assert_fails("{\"hosts\": [\"a\"], \"scheme\": \"ftp\", \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.scheme: expected \"https\"");
	assert_fails("{\"hosts\": [\"a\"], \"paths\": {\"etc_pve\": \"rel\"}, \"token\": \"" TOKEN "\"}",
		     EINVAL, "proxmox.paths.etc_pve: expected an absolute path, got \"rel\"");
	assert_fails("{\"hosts\": [\"a\"], \"paths\": {\"etc\": \"/x\"}, \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.paths: unknown key \"etc\"");
	assert_fails("{\"hosts\": [\"a\"], \"tokn\": 1, \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox: unknown key \"tokn\"");
	assert_fails("{\"hosts\": [\"a\"], \"token\": \"" TOKEN "\", \"token_file\": \"/x\"}", EINVAL,
		     "give either token or token_file");
	assert_fails("{\"hosts\": [\"a\"], \"timeout\": 0, \"token\": \"" TOKEN "\"}", EINVAL,
		     "proxmox.timeout: expected an integer 1-3600");
}

static void test_token_format(void **state)
{
	static const char *const bad[] = {
		"root@pam!ci",					   /* no secret */
		"root@pam=11111111-2222-3333-4444-555555555555",   /* no token name */
		"root!ci=11111111-2222-3333-4444-555555555555",	   /* no realm */
		"root@pam!ci=11111111-2222-3333-4444-55555555555", /* short uuid */
		"root@pam!ci=11111111-2222-3333-4444-55555555555x",
		"root@pam!ci=11111111-2222-3333-4444-555555555555 trailing",
		"root@pam!1ci=11111111-2222-3333-4444-555555555555", /* token names start with a letter */
		"ro ot@pam!ci=11111111-2222-3333-4444-555555555555",
		"@pam!ci=11111111-2222-3333-4444-555555555555",
		"",
	};
	size_t id_len;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(pve_token_check(bad[i], &id_len, "proxmox.token", &err), -EINVAL);
		assert_string_equal(plx_err_msg(&err), "proxmox.token: expected \"USER@REALM!TOKENID=UUID\"");
	}
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(pve_token_check("svc-user@pve!lxcri_1.a=AAAAAAAA-bbbb-CCCC-dddd-"
						 "000000000000",
						 &id_len, "t", &err),
				 0);
		assert_int_equal(id_len, strlen("svc-user@pve!lxcri_1.a"));
	}
	assert_fails("{\"hosts\": [\"a\"], \"token\": \"root@pam!ci=" SECRET "x\"}", EINVAL,
		     ": proxmox.token: expected \"USER@REALM!TOKENID=UUID\"");
}

static void write_mode(const char *path, const char *text, mode_t mode)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;

	assert_int_equal(plx_write_file_at(AT_FDCWD, path, text, strlen(text), mode, &err), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_token_in_readable_file_refused(void **state)
{
	struct fixture *f = *state;
	__do_free char *file = plx_path_join(f->dir, "config.json");
	struct pve_config *cfg;
	char want[256];

	write_mode(file, "{}", 0644);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse("{\"hosts\": [\"a\"], \"token\": \"" TOKEN "\"}", file, &cfg, &err),
				 -EPERM);
		snprintf(want, sizeof(want),
			 "%s: holds an API token but is readable by group/others (mode 0644); chmod 600 it",
			 file);
		assert_string_equal(plx_err_msg(&err), want);
	}
	chmod(file, 0640);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse("{\"hosts\": [\"a\"], \"token\": \"" TOKEN "\"}", file, &cfg, &err),
				 -EPERM);
		assert_non_null(strstr(plx_err_msg(&err), "(mode 0640)"));
	}
	chmod(file, 0600);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse("{\"hosts\": [\"a\"], \"token\": \"" TOKEN "\"}", file, &cfg, &err),
				 0);
		pve_config_free(cfg);
	}
	/* without a token, a readable config is fine */
	chmod(file, 0644);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;
		__do_free char *tf = plx_path_join(f->dir, "token");
		__do_free char *text = NULL;

		write_mode(tf, TOKEN "\n", 0600);
		assert_true(asprintf(&text, "{\"hosts\": [\"a\"], \"token_file\": \"%s\"}", tf) > 0);
		assert_int_equal(parse(text, file, &cfg, &err), 0);
		assert_string_equal(cfg->token, TOKEN);
		assert_string_equal(cfg->token_id, "root@pam!ci");
		pve_config_free(cfg);
	}
}

static void test_token_file(void **state)
{
	struct fixture *f = *state;
	__do_free char *tf = plx_path_join(f->dir, "token");
	__do_free char *text = NULL;
	char want[256];
	struct pve_config *cfg;

	assert_true(asprintf(&text, "{\"hosts\": [\"a\"], \"token_file\": \"%s\"}", tf) > 0);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse(text, NULL, &cfg, &err), -ENOENT);
		assert_non_null(strstr(plx_err_msg(&err), "proxmox.token_file: open"));
	}
	write_mode(tf, TOKEN "\n", 0604);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse(text, NULL, &cfg, &err), -EPERM);
		snprintf(want, sizeof(want),
			 "%s: holds an API token but is readable by group/others (mode 0604); chmod 600 it",
			 tf);
		assert_string_equal(plx_err_msg(&err), want);
	}
	write_mode(tf, "root@pam!ci=" SECRET "-oops\n", 0400);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse(text, NULL, &cfg, &err), -EINVAL);
		snprintf(want, sizeof(want), "%s: expected \"USER@REALM!TOKENID=UUID\"", tf);
		assert_string_equal(plx_err_msg(&err), want);
	}
	unlink(tf);
	write_mode(tf, TOKEN " \r\n\n", 0600);
	{
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(parse(text, NULL, &cfg, &err), 0);
		assert_string_equal(cfg->token, TOKEN);
		pve_config_free(cfg);
	}
}

static void test_fingerprint_normalize(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	char out[96];

	assert_int_equal(pve_fingerprint_normalize("0a1B2c3D4e5F60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c"
						   "6d7e8f9",
						   out, &err),
			 0);
	assert_string_equal(out, "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:"
				 "93:A4:B5:"
				 "C6:D7:E8:F9");
	assert_int_equal(pve_fingerprint_normalize("0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:0a:1b:2c:"
						   "3d:4e:5f:60:71:82:"
						   "93:a4:b5:c6:d7:e8:f9",
						   out, &err),
			 0);
	assert_string_equal(out, "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:"
				 "93:A4:B5:"
				 "C6:D7:E8:F9");
	assert_int_equal(pve_fingerprint_normalize("0A:1B", out, &err), -EINVAL);
	assert_int_equal(pve_fingerprint_normalize("zz", out, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_token_format),
		cmocka_unit_test_setup_teardown(test_token_in_readable_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_file, setup, teardown),
		cmocka_unit_test(test_fingerprint_normalize),
	};

	int fd = mkstemp(cfg_file), ret;

	if (fd < 0)
		return 1;
	close(fd);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(cfg_file);
	return ret;
}
