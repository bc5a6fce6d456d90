/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PVE API client's pure parts: UPIDs, the reply envelope and PVE's
 * error shapes, failover decisions and the per-host failure list, request
 * encoding, task back-off, and the node list with its cache document.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxmox/pve_client.h"
#include "proxmox/pve_client_internal.h"
#include "proxmox/pve_reply.h"
#include "proxmox/pve_upid.h"
#include "util/cleanup.h"

static void test_upid_parse(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	struct pve_upid u;

	assert_int_equal(
		pve_upid_parse("UPID:pve-1:000026AD:00001093:6B04658A:vzcreate:100:root@pam!ci:", &u, &err),
		0);
	assert_string_equal(u.node, "pve-1");
	assert_int_equal(u.pid, 0x26AD);
	assert_int_equal(u.pstart, 0x1093);
	assert_int_equal(u.starttime, 0x6B04658A);
	assert_string_equal(u.type, "vzcreate");
	assert_string_equal(u.id, "100");
	assert_string_equal(u.user, "root@pam!ci");
	pve_upid_clear(&u);

	/* an empty id and a 9-digit pstart are PVE's too */
	assert_int_equal(pve_upid_parse("UPID:n1:0000000A:10000000A:6B04658A:aptupdate::root@pam:", &u, &err),
			 0);
	assert_string_equal(u.id, "");
	assert_int_equal(u.pstart, 0x10000000AUL);
	pve_upid_clear(&u);
	assert_true(pve_upid_is("UPID:pve:000026AD:00001093:6B04658A:vzstart:101:root@pam:"));
}

static void test_upid_rejects(void **state)
{
	static const struct {
		const char *upid, *msg;
	} bad[] = {
		{ "upid:pve:000026AD:00001093:6B04658A:vzcreate:100:root@pam:", "not a PVE task id (UPID)" },
		{ "UPID:pve:000026AD:00001093:6B04658A:vzcreate:100:root@pam", "7 ':'-terminated fields" },
		{ "UPID:pve:000026AD:00001093:6B04658A:vzcreate:100:root@pam:x:", "7 ':'-terminated fields" },
		{ "UPID:pve:26AD:00001093:6B04658A:vzcreate:100:root@pam:", "bad pid field '26AD'" },
		{ "UPID:pve:000026AD:0000109Z:6B04658A:vzcreate:100:root@pam:", "bad pstart field" },
		{ "UPID:pve:000026AD:00001093:6B04658:vzcreate:100:root@pam:", "bad starttime field" },
		{ "UPID:-pve:000026AD:00001093:6B04658A:vzcreate:100:root@pam:", "bad node field '-pve'" },
		{ "UPID:pve:000026AD:00001093:6B04658A::100:root@pam:", "bad type field" },
		{ "UPID:pve:000026AD:00001093:6B04658A:vzcreate:100::", "bad user field" },
		{ "100", "not a PVE task id" },
	};
	struct pve_upid u;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		__do_err_clear struct plx_err err = PLX_ERR_INIT;

		assert_int_equal(pve_upid_parse(bad[i].upid, &u, &err), -EINVAL);
		if (!strstr(plx_err_msg(&err), bad[i].msg))
			fail_msg("%s: expected \"%s\" in \"%s\"", bad[i].upid, bad[i].msg, plx_err_msg(&err));
		assert_null(u.node);
		assert_false(pve_upid_is(bad[i].upid));
	}
}

static struct pve_response reply(long status, const char *reason, const char *body)
{
	return (struct pve_response){ .xfer = PVE_XFER_OK,
				      .status = status,
				      .reason = (char *)reason,
				      .body = (char *)body,
				      .len = body ? strlen(body) : 0 };
}

/* the message of a failed parse; asserts the code */
static char *parse_fail(struct pve_response r, int code)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	json_t *data = (json_t *)1;

	assert_int_equal(pve_reply_parse(&r, "root@pam!ci", &data, &err), -code);
	assert_null(data);
	return strdup(plx_err_msg(&err));
}

static void test_reply_envelope(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	struct pve_response r = reply(200, "OK", "{\"data\": {\"version\": \"9.1.3\"}}");
	json_t *data;
	__do_free char *m1 = NULL, *m2 = NULL;

	assert_int_equal(pve_reply_parse(&r, "root@pam!ci", &data, &err), 0);
	assert_string_equal(json_string_value(json_object_get(data, "version")), "9.1.3");
	json_decref(data);
	r = reply(200, "OK", "{\"data\": null}");
	assert_int_equal(pve_reply_parse(&r, "root@pam!ci", &data, &err), 0);
	assert_true(json_is_null(data));
	json_decref(data);

	m1 = parse_fail(reply(200, "OK", "{\"version\": 1}"), EPROTO);
	assert_string_equal(m1, "PVE answered 200 but not with {\"data\": ...}: no \"data\" key");
	m2 = parse_fail(reply(200, "OK", "<html>"), EPROTO);
	assert_non_null(strstr(m2, "PVE answered 200 but not with {\"data\": ...}: "));
}

static void test_reply_errors(void **state)
{
	__do_free char *one = parse_fail(reply(400, "Parameter verification failed.",
					       "{\"errors\": {\"memory\": \"value must have a minimum value "
					       "of 16\\n\"}, \"data\": null}"),
					 EINVAL);
	__do_free char *two = parse_fail(reply(400, "Parameter verification failed.",
					       "{\"errors\": {\"vmid\": \"value must have a minimum value of "
					       "100\", \"arch\": \"bad\"}, "
					       "\"data\": null}"),
					 EINVAL);
	__do_free char *auth = parse_fail(reply(401, "invalid token value!", "{\"data\": null}"), EACCES);
	__do_free char *same = parse_fail(reply(500, "CT 100 already running",
						"{\"data\": null, \"message\": \"CT 100 already "
						"running\\n\"}"),
					  EIO);
	__do_free char *more = parse_fail(
		reply(500, "Internal Server Error", "{\"data\": null, \"message\": \"disk full\\n\"}"), EIO);
	__do_free char *bad400 = parse_fail(reply(400, "Bad Request", "{\"data\": null}"), EINVAL);
	__do_free char *busy = parse_fail(reply(503, "Service Unavailable", ""), EAGAIN);
	__do_free char *http2 = parse_fail(reply(502, NULL, NULL), EAGAIN);
	struct pve_response lost = { .xfer = PVE_XFER_LOST, .error = (char *)"Operation timed out" };
	__do_free char *timeout = parse_fail(lost, ETIMEDOUT);

	assert_string_equal(one, "PVE rejected parameter 'memory': value must have a minimum value of 16");
	assert_string_equal(two, "PVE rejected parameters: 'arch': bad; 'vmid': value must have a minimum "
				 "value of 100");
	assert_string_equal(auth, "PVE refused the API token for root@pam!ci (401 invalid token value!)");
	assert_string_equal(same, "PVE answered 500 CT 100 already running");
	assert_string_equal(more, "PVE answered 500 Internal Server Error: disk full");
	assert_string_equal(bad400, "PVE answered 400 Bad Request");
	assert_string_equal(busy, "PVE answered 503 Service Unavailable");
	assert_string_equal(http2, "PVE answered 502 (no reason given)");
	assert_string_equal(timeout, "Operation timed out");
}

static void test_failover_rules(void **state)
{
	struct pve_response connect = { .xfer = PVE_XFER_CONNECT };
	struct pve_response lost = { .xfer = PVE_XFER_LOST };
	struct pve_response s503 = reply(503, "x", ""), s500 = reply(500, "x", ""),
			    s401 = reply(401, "x", "");
	struct pve_response s504 = reply(504, "x", ""), s502 = reply(502, "x", "");

	/* never reached a server: any method may go elsewhere */
	assert_true(pve_should_failover(&connect, "GET"));
	assert_true(pve_should_failover(&connect, "POST"));
	assert_true(pve_should_failover(&connect, "DELETE"));
	/* may have reached it: only what can be repeated */
	assert_true(pve_should_failover(&lost, "GET"));
	assert_false(pve_should_failover(&lost, "POST"));
	assert_false(pve_should_failover(&lost, "PUT"));
	assert_true(pve_should_failover(&s503, "GET"));
	assert_true(pve_should_failover(&s502, "GET"));
	assert_true(pve_should_failover(&s504, "GET"));
	assert_false(pve_should_failover(&s503, "POST"));
	/* an answer is an answer */
	assert_false(pve_should_failover(&s500, "GET"));
	assert_false(pve_should_failover(&s401, "GET"));
	assert_true(pve_status_transient(503));
	assert_false(pve_status_transient(500));
}

static void test_attempts(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	struct pve_attempts a = {};

	assert_int_equal(pve_attempts_error(&a, ECONNREFUSED, &err), -ECONNREFUSED);
	assert_string_equal(plx_err_msg(&err), "no PVE host could serve the request (0 tried): no hosts "
					       "configured");
	assert_int_equal(pve_attempts_add(&a, "pve1:8006", "Couldn't connect to server"), 0);
	assert_int_equal(pve_attempts_add(&a, "[fe80::1]:8006", "PVE answered 503 busy"), 0);
	assert_int_equal(pve_attempts_error(&a, EAGAIN, &err), -EAGAIN);
	assert_string_equal(plx_err_msg(&err), "no PVE host could serve the request (2 tried): pve1:8006: "
					       "Couldn't "
					       "connect to server; [fe80::1]:8006: PVE answered 503 busy");
	pve_attempts_clear(&a);
	assert_null(a.text);
}

static void test_params_encode(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	json_auto_t *p = json_object();
	json_auto_t *bad = json_pack("{s:[]}", "tags");
	__do_free char *none = NULL, *form = NULL;

	assert_int_equal(pve_params_encode(NULL, &none, &err), 0);
	assert_string_equal(none, "");
	json_object_set_new(p, "vmid", json_integer(100));
	json_object_set_new(p, "start", json_true());
	json_object_set_new(p, "cpulimit", json_real(0.5));
	json_object_set_new(p, "net0", json_string("name=eth0,bridge=vmbr0 x&y"));
	json_object_set_new(p, "env", json_stringn("A=1\0B=two", 9));
	assert_int_equal(pve_params_encode(p, &form, &err), 0);
	assert_string_equal(form, "vmid=100&start=1&cpulimit=0.5&net0=name%3Deth0%2Cbridge%3Dvmbr0%20x%26y"
				  "&env=A%3D1%00B%3Dtwo");
	assert_int_equal(pve_params_encode(bad, &none, &err), -EINVAL);
	assert_string_equal(plx_err_msg(&err), "parameter 'tags': expected a string, number or boolean, got "
					       "array");
}

static void test_backoff(void **state)
{
	static const unsigned int want[] = { 50, 100, 200, 400, 800, 1000, 1000 };
	unsigned int ms = 0;

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		ms = pve_task_backoff(ms);
		assert_int_equal(ms, want[i]);
	}
}

static void test_path_escape(void **state)
{
	__do_free char *e = pve_path_escape("UPID:pve:000026AD:00001093:6B04658A:vzcreate:100:root@pam!ci:");
	__do_free char *s = pve_path_escape("a/b c");

	assert_string_equal(e, "UPID%3Apve%3A000026AD%3A00001093%3A6B04658A%3Avzcreate%3A100%3Aroot%40pam%"
			       "21ci%3A");
	assert_string_equal(s, "a%2Fb%20c");
}

static void test_nodes_and_cache(void **state)
{
	__do_err_clear struct plx_err err = PLX_ERR_INIT;
	json_auto_t *status = json_loads("[{\"type\": \"cluster\", \"id\": \"cluster\", \"name\": \"c\", "
					 "\"quorate\": 1},"
					 " {\"type\": \"node\", \"name\": \"pve2\", \"online\": 0, "
					 "\"local\": 0, \"ip\": \"10.0.0.2\"},"
					 " {\"type\": \"node\", \"name\": \"pve1\", \"online\": 1, "
					 "\"local\": 1, \"ip\": \"10.0.0.1\"}]",
					 0, NULL);
	json_auto_t *empty = json_loads("[{\"type\": \"cluster\", \"name\": \"c\"}]", 0, NULL);
	json_auto_t *doc = NULL;
	struct pve_node *nodes = NULL, *again = NULL;
	size_t n = 0, m = 0;
	time_t t = 0;

	assert_int_equal(pve_nodes_parse(status, &nodes, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(nodes[0].name, "pve1");
	assert_true(nodes[0].online && nodes[0].local);
	assert_string_equal(nodes[0].ip, "10.0.0.1");
	assert_string_equal(nodes[1].name, "pve2");
	assert_false(nodes[1].online || nodes[1].local);

	doc = pve_nodes_to_cache("https://a:8006", 1000, nodes, n);
	assert_non_null(doc);
	assert_int_equal(pve_nodes_from_cache(doc, "https://a:8006", 1299, 300, &again, &m, &t, &err), 0);
	assert_int_equal(m, 2);
	assert_int_equal(t, 1000);
	assert_string_equal(again[1].name, "pve2");
	assert_string_equal(again[1].ip, "10.0.0.2");
	assert_false(again[1].online);
	assert_true(again[0].local);
	pve_nodes_free(again, m);
	/* expired, from the future, or another cluster's */
	assert_int_equal(pve_nodes_from_cache(doc, "https://a:8006", 1300, 300, &again, &m, &t, &err),
			 -ESTALE);
	assert_int_equal(pve_nodes_from_cache(doc, "https://a:8006", 999, 300, &again, &m, &t, &err),
			 -ESTALE);
	assert_int_equal(pve_nodes_from_cache(doc, "https://b:8006", 1001, 300, &again, &m, &t, &err),
			 -ESTALE);
	assert_int_equal(pve_nodes_from_cache(NULL, "https://a:8006", 1001, 300, &again, &m, &t, &err),
			 -ESTALE);
	pve_nodes_free(nodes, n);

	assert_int_equal(pve_nodes_parse(empty, &nodes, &n, &err), -EPROTO);
	assert_string_equal(plx_err_msg(&err), "GET /cluster/status: PVE lists no nodes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upid_parse),     cmocka_unit_test(test_upid_rejects),
		cmocka_unit_test(test_reply_envelope), cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_failover_rules), cmocka_unit_test(test_attempts),
		cmocka_unit_test(test_params_encode),  cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_path_escape),    cmocka_unit_test(test_nodes_and_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
