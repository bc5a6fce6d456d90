# SPDX-License-Identifier: Apache-2.0
"""The PVE API client through `proxmox-lxcri pve ...`, against tests/pve_mock (HTTP and HTTPS).

Token handling, PVE's error messages, task polling and failure, failover across hosts, TLS
(CA-verified and fingerprint-pinned), token file modes, the node cache.  The opt-in class at
the end runs against a real PVE host when PVE_TEST_HOST and PVE_TEST_TOKEN are set.

Run with PLX_BINARY=build-x/src/cli/proxmox-lxcri /usr/bin/python3 -m pytest tests/integration/test_pve_client.py
"""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SERVER = REPO / "tests" / "pve_mock" / "server.py"
APIDATA = REPO.parent / "shared" / "pve" / "apidata.json"
SECRET = "11111111-2222-3333-4444-555555555555"
TOKEN = "root@pam!ci=" + SECRET
WRONG_SECRET = "99999999-8888-7777-6666-555555555555"
CREATE = ["vmid=100", "ostemplate=local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "rootfs=local-zfs:8",
          "memory=512", "hostname=web"]

pytestmark = pytest.mark.skipif(not APIDATA.exists(), reason="needs %s" % APIDATA)


def need_tool(name):
    path = shutil.which(name)
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("%s is missing" % name)
        pytest.skip("needs %s" % name)
    return path


def closed_port():
    """A local port nothing listens on: connecting is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Mock:
    def __init__(self, proc, port, scheme, cafile=None):
        self.proc, self.port, self.scheme, self.cafile = proc, port, scheme, cafile
        self.host = "127.0.0.1:%d" % port

    def _control(self, method, path, body=None):
        import ssl
        ctx = None
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.cafile)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request("%s://%s%s" % (self.scheme, self.host, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return json.loads(r.read())["data"]

    def faults(self, **kw):
        return self._control("POST", "/_mock/faults", kw)

    def state(self):
        return self._control("GET", "/_mock/state")

    def requests(self, path_part=""):
        return [r for r in self.state()["requests"] if path_part in r[1]]


@pytest.fixture
def mock():
    started = []

    def start(tls=None, nodes="pve,pve2"):
        cmd = ["/usr/bin/python3", str(SERVER), "--apidata", str(APIDATA), "--token", TOKEN, "--nodes", nodes]
        if tls:
            cmd += ["--tls-cert", tls["cert"], "--tls-key", tls["key"]]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        port = int(proc.stdout.readline())
        return Mock(proc, port, "https" if tls else "http", tls and tls["ca"])

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def openssl(*args, cwd):
    subprocess.run([need_tool("openssl"), *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs():
    """A CA and a server certificate for 127.0.0.1 it signed, plus another CA that signed nothing we serve."""
    need_tool("openssl")
    d = tempfile.mkdtemp(prefix="plx-pve-tls-")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=%s" % ca,
                "-keyout", ca + ".key", "-out", ca + ".pem", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pve", "-keyout", "server.key", "-out",
            "server.csr", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem", cwd=d)
    out = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "server.pem"), "-noout", "-fingerprint",
                          "-sha256"], capture_output=True, text=True, check=True).stdout
    fp = out.strip().split("=", 1)[1]
    yield {"cert": os.path.join(d, "server.pem"), "key": os.path.join(d, "server.key"),
           "ca": os.path.join(d, "ca.pem"), "other_ca": os.path.join(d, "other-ca.pem"), "fingerprint": fp}
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pve(binary, runtime_root, tmp_path):
    """pve(config, *args, debug=False): run `proxmox-lxcri pve *args` with a runtime config {"proxmox": config}."""

    def run(config, *args, debug=False, mode=0o600, timeout=60):
        path = tmp_path / "config.json"
        path.write_text(json.dumps({"proxmox": config}))
        os.chmod(path, mode)
        env = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(path))
        cmd = [binary, "--root", runtime_root] + (["--debug"] if debug else []) + ["pve", *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env,
                              timeout=timeout)

    return run


def http_config(*hosts, **kw):
    cfg = {"hosts": list(hosts), "scheme": "http", "token": TOKEN, "node": "pve"}
    cfg.update(kw)
    return cfg


def text(res):
    """stderr with the log's quoting undone: msg="a \\"b\\"" reads a "b"."""
    return res.stderr.replace('\\"', '"').replace("\\\\", "\\")


def assert_no_secret(res):
    assert SECRET not in res.stdout + res.stderr
    assert WRONG_SECRET not in res.stdout + res.stderr


def test_check_nodes_nextid(mock, pve):
    m = mock()
    res = pve(http_config(m.host), "check")
    assert res.returncode == 0, res.stderr
    assert "token: root@pam!ci" in res.stdout
    assert "host %s: ok, pve-manager 9.1.3 (release 9.1)" % m.host in res.stdout
    assert "nodes: pve (online), pve2 (online)" in res.stdout
    res = pve(http_config(m.host), "nodes")
    assert res.returncode == 0, res.stderr
    assert [line.split()[:2] for line in res.stdout.splitlines()] == [["NAME", "STATUS"], ["pve", "online"],
                                                                      ["pve2", "online"]]
    res = pve(http_config(m.host), "nextid")
    assert res.returncode == 0 and res.stdout == "100\n"
    res = pve(http_config(m.host, node="nosuch"), "check")
    assert res.returncode == 1 and 'proxmox.node "nosuch" is not a node of the cluster' in text(res)


def test_wrong_token_names_the_token_not_the_secret(mock, pve):
    m = mock()
    res = pve(http_config(m.host, token="root@pam!ci=" + WRONG_SECRET), "nodes", debug=True)
    assert res.returncode == 1
    assert "PVE refused the API token for root@pam!ci (401 invalid token value!)" in text(res)
    assert_no_secret(res)


def test_debug_output_never_holds_the_token(mock, pve):
    m = mock()
    res = pve(http_config(m.host), "api", "POST", "/nodes/pve/lxc", *CREATE, "password=hunter2-secret",
              debug=True)
    assert res.returncode == 0, res.stderr
    assert "PVE POST %s/nodes/pve/lxc (token root@pam!ci" % m.host in text(res)
    assert_no_secret(res)
    # parameter values stay out of the client's log lines (argv is the caller's business)
    assert [line for line in res.stderr.splitlines() if "msg=\"PVE " in line and "hunter2" in line] == []


def test_bad_parameter_reports_pve_message(mock, pve):
    m = mock()
    res = pve(http_config(m.host), "api", "POST", "/nodes/pve/lxc", *CREATE[:-2], "memory=8")
    assert res.returncode == 1
    assert ("%s: POST /nodes/pve/lxc: PVE rejected parameter 'memory': value must have a minimum value of 16"
            % m.host) in text(res)
    res = pve(http_config(m.host), "api", "POST", "/nodes/pve/lxc", "vmid=1", "arch=mips")
    assert re.search(r"PVE rejected parameters: 'arch': value 'mips' does not have a value in the enumeration "
                     r"[^;]*; 'ostemplate': property is missing and it is not optional; 'vmid': value must have "
                     r"a minimum value of 100", text(res)), text(res)
    res = pve(http_config(m.host), "api", "POST", "/nodes/pve/lxc/100/status/start")
    assert res.returncode == 1
    assert "PVE answered 500 Configuration file 'nodes/pve/lxc/100.conf' does not exist" in text(res)


def test_task_is_polled_until_stopped(mock, pve):
    m = mock()
    m.faults(task_polls=4)
    res = pve(http_config(m.host), "api", "POST", "/nodes/pve/lxc", *CREATE)
    assert res.returncode == 0, res.stderr
    upid = json.loads(res.stdout)
    assert upid.startswith("UPID:pve:") and ":vzcreate:100:root@pam:" in upid
    # 4 polls saw it running, the 5th stopped; the CT is no longer locked
    assert len(m.requests("/tasks/")) == 5
    assert "lock" not in m.state()["cts"]["100"]["config"]
    # --async: the UPID at once, the task still running
    m.faults(task_polls=4)
    res = pve(http_config(m.host), "--async", "api", "POST", "/nodes/pve/lxc/100/status/start")
    assert res.returncode == 0 and json.loads(res.stdout).startswith("UPID:pve:")
    assert m.state()["cts"]["100"]["status"] == "stopped"
    res = pve(http_config(m.host), "api", "GET", "/nodes/pve/lxc/100/config")
    assert json.loads(res.stdout)["hostname"] == "web"


def test_failed_task_reports_message_and_log(mock, pve):
    m = mock()
    m.faults(fail_next_task="unable to create CT 100 - storage 'local-zfs' is full",
             task_log=["extracting archive '/var/lib/vz/template/cache/debian.tar.zst'",
                       "zfs error: out of space"])
    res = pve(http_config(m.host), "api", "POST", "/nodes/pve/lxc", *CREATE)
    assert res.returncode == 1
    assert re.search(r"PVE task vzcreate 100 on node pve failed: unable to create CT 100 - storage 'local-zfs' "
                     r"is full; log: \"task started by mock PVE\" / \"extracting archive '[^']*'\" / "
                     r"\"zfs error: out of space\" \(UPID:pve:", text(res)), text(res)
    assert "TASK ERROR" not in text(res)
    assert m.state()["cts"] == {}


def test_failover_to_the_next_host(mock, pve):
    m = mock()
    dead = "127.0.0.1:%d" % closed_port()
    res = pve(http_config(dead, m.host), "api", "POST", "/nodes/pve/lxc", *CREATE, debug=True)
    assert res.returncode == 0, res.stderr
    assert "PVE host %s failed" % dead in text(res)
    assert "100" in m.state()["cts"]


def test_all_hosts_down_is_one_error_listing_each(pve):
    a, b = closed_port(), closed_port()
    res = pve(http_config("127.0.0.1:%d" % a, "127.0.0.1:%d" % b), "nextid")
    assert res.returncode == 1
    errors = [line for line in text(res).splitlines() if "level=error" in line]
    assert len(errors) == 1
    assert "GET /cluster/nextid: no PVE host could serve the request (2 tried): " in errors[0]
    assert re.search(r"127\.0\.0\.1:%d: Failed to connect to 127\.0\.0\.1 port %d.*; 127\.0\.0\.1:%d: Failed to "
                     r"connect to 127\.0\.0\.1 port %d" % (a, a, b, b), errors[0]), errors[0]


def test_transient_errors_fail_over_only_for_get(mock, pve):
    first, second = mock(), mock()
    first.faults(http_status=503, http_status_count=1)
    res = pve(http_config(first.host, second.host), "nextid")
    assert res.returncode == 0, res.stderr
    assert len(second.requests("/cluster/nextid")) == 1
    # a POST that got 503 may have done something: it is not repeated elsewhere
    first.faults(http_status=503, http_status_count=1)
    res = pve(http_config(first.host, second.host), "api", "POST", "/nodes/pve/lxc", *CREATE)
    assert res.returncode == 1
    assert "%s: POST /nodes/pve/lxc: PVE answered 503 injected fault 503" % first.host in text(res)
    assert second.requests("/nodes/pve/lxc") == []
    # a definitive answer is not failed over either
    res = pve(http_config(first.host, second.host), "api", "GET", "/nodes/pve/lxc/999/config")
    assert res.returncode == 1 and second.requests("/lxc/999") == []


def test_timeouts(mock, pve):
    slow, fast = mock(), mock()
    slow.faults(delay=3)
    res = pve(http_config(slow.host, fast.host, timeout=1), "nextid")
    assert res.returncode == 0, res.stderr
    res = pve(http_config(slow.host, fast.host, timeout=1), "api", "POST", "/nodes/pve/lxc", *CREATE)
    assert res.returncode == 1
    assert "the request may have reached PVE, so it is not repeated" in text(res)
    assert fast.requests("/nodes/pve/lxc") == []


def https_config(m, **kw):
    cfg = {"hosts": [m.host], "token": TOKEN, "node": "pve"}
    cfg.update(kw)
    return cfg


def test_tls_ca_verification(mock, pve, certs):
    m = mock(tls=certs)
    res = pve(https_config(m, ca_file=certs["ca"]), "check")
    assert res.returncode == 0, res.stderr
    seen = len(m.requests())
    res = pve(https_config(m, ca_file=certs["other_ca"]), "check")
    assert res.returncode == 1
    assert "SSL certificate problem" in text(res) or "certificate verify failed" in text(res), res.stderr
    # the system CAs do not know the test CA
    res = pve(https_config(m), "nextid")
    assert res.returncode == 1 and "no PVE host could serve the request (1 tried)" in text(res)
    # no request got past a failed handshake
    assert len(m.requests()) == seen


def test_tls_fingerprint_pinning(mock, pve, certs):
    m = mock(tls=certs)
    res = pve(https_config(m, fingerprint=certs["fingerprint"].lower()), "check")
    assert res.returncode == 0, res.stderr
    wrong = "AA:" * 31 + "AA"
    before = len(m.requests())
    res = pve(https_config(m, fingerprint=wrong), "nextid")
    assert res.returncode == 1
    assert ("TLS certificate fingerprint mismatch: pinned %s, server presented %s" % (wrong, certs["fingerprint"])
            in text(res)), res.stderr
    # the handshake failed before any request (and its token) went out
    assert len(m.requests()) == before
    # one of several pins is enough (each node of a cluster has its own certificate)
    res = pve(https_config(m, fingerprint=[wrong, certs["fingerprint"]]), "nextid")
    assert res.returncode == 0, res.stderr


def test_tls_unverified_warns(mock, pve, certs):
    m = mock(tls=certs)
    res = pve(https_config(m, verify_tls=False), "nextid")
    assert res.returncode == 0, res.stderr
    assert "proxmox.verify_tls is false and no fingerprint is pinned" in text(res)


def test_token_in_readable_files_refused(pve, tmp_path):
    res = pve(http_config("127.0.0.1:1"), "nodes", mode=0o644)
    assert res.returncode == 1
    assert re.search(r"config\.json: holds an API token but is readable by group/others \(mode 0644\); chmod 600 it",
                     text(res)), res.stderr
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o640)
    cfg = http_config("127.0.0.1:1")
    del cfg["token"]
    cfg["token_file"] = str(token_file)
    res = pve(cfg, "nodes", mode=0o644)
    assert res.returncode == 1
    assert ("%s: holds an API token but is readable by group/others (mode 0640); chmod 600 it" % token_file
            in text(res))
    assert_no_secret(res)


def test_token_file_and_config_errors(mock, pve, tmp_path):
    m = mock()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    cfg = http_config(m.host)
    del cfg["token"]
    cfg["token_file"] = str(token_file)
    res = pve(cfg, "nextid", mode=0o644)
    assert res.returncode == 0, res.stderr
    res = pve(http_config(m.host, token="root@pam!ci:" + SECRET), "nextid")
    assert res.returncode == 1 and 'proxmox.token: expected "USER@REALM!TOKENID=UUID"' in text(res)
    assert_no_secret(res)
    res = pve(http_config(m.host, port="8006"), "nextid")
    assert res.returncode == 1 and "proxmox.port: expected an integer 1-65535, got string" in text(res)


def test_node_list_is_cached(mock, pve, runtime_root):
    m = mock()
    assert pve(http_config(m.host), "nodes").returncode == 0
    assert pve(http_config(m.host), "nodes").returncode == 0
    assert len(m.requests("/cluster/status")) == 1
    cache = pathlib.Path(runtime_root) / "pve-nodes.json"
    assert cache.stat().st_mode & 0o777 == 0o600
    assert [n["name"] for n in json.loads(cache.read_text())["nodes"]] == ["pve", "pve2"]
    # another cluster's cache is not used, nor one with caching off
    other = mock(nodes="a,b")
    res = pve(http_config(other.host), "nodes")
    assert res.returncode == 0 and "a " in res.stdout and "pve" not in res.stdout
    assert pve(http_config(m.host, node_cache_duration=0), "nodes").returncode == 0
    assert len(m.requests("/cluster/status")) == 2


def test_usage_errors(pve):
    res = pve(http_config("127.0.0.1:1"), "frobnicate")
    assert res.returncode == 1 and "pve: unknown subcommand 'frobnicate' (check, nodes, nextid, api)" in text(res)
    res = pve(http_config("127.0.0.1:1"), "api", "GET", "/nodes", "novalue")
    assert res.returncode == 1 and 'pve api: expected key=value, got "novalue"' in text(res)
    res = pve(http_config("127.0.0.1:1"), "api", "PATCH", "/nodes")
    assert res.returncode == 1 and "unknown HTTP method 'PATCH'" in text(res)
    res = pve(http_config("127.0.0.1:1"), "api", "GET", "nodes")
    assert res.returncode == 1 and "API path 'nodes': must start with '/'" in text(res)


@pytest.mark.skipif(not (os.environ.get("PVE_TEST_HOST") and os.environ.get("PVE_TEST_TOKEN")),
                    reason="opt-in: set PVE_TEST_HOST and PVE_TEST_TOKEN to run against a real PVE host")
class TestRealPVE:
    """Read-only calls against a real PVE host (see docs/proxmox.md, "Testing against a real PVE")."""

    @pytest.fixture
    def config(self):
        cfg = {"hosts": [os.environ["PVE_TEST_HOST"]], "token": os.environ["PVE_TEST_TOKEN"]}
        if os.environ.get("PVE_TEST_FINGERPRINT"):
            cfg["fingerprint"] = os.environ["PVE_TEST_FINGERPRINT"]
        if os.environ.get("PVE_TEST_CA_FILE"):
            cfg["ca_file"] = os.environ["PVE_TEST_CA_FILE"]
        if os.environ.get("PVE_TEST_VERIFY_TLS") == "0":
            cfg["verify_tls"] = False
        if os.environ.get("PVE_TEST_NODE"):
            cfg["node"] = os.environ["PVE_TEST_NODE"]
        return cfg

    def test_check(self, pve, config):
        res = pve(config, "check")
        assert res.returncode == 0, res.stderr
        assert "pve-manager" in res.stdout

    def test_nodes_and_nextid(self, pve, config):
        res = pve(config, "nodes")
        assert res.returncode == 0 and len(res.stdout.splitlines()) >= 2, res.stderr
        res = pve(config, "nextid")
        assert res.returncode == 0 and int(res.stdout) >= 100, res.stderr

    def test_errors_in_pves_words(self, pve, config):
        res = pve(config, "api", "GET", "/cluster/nextid", "vmid=1")
        assert res.returncode == 1 and "PVE rejected parameter 'vmid'" in text(res)
        secret = config["token"].split("=", 1)[1]
        bad = dict(config, token=config["token"].split("=", 1)[0] + "=00000000-0000-0000-0000-000000000000")
        res = pve(bad, "nodes", debug=True)
        assert res.returncode == 1 and "PVE refused the API token for" in text(res)
        assert secret not in res.stdout + res.stderr
