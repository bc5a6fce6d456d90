# SPDX-License-Identifier: Apache-2.0
"""The PVE API test server (tests/pve_mock): the schema, not the client, decides what is valid.

Runs the server as a subprocess on an ephemeral port and talks to it with urllib.
Run with /usr/bin/python3 -m pytest tests/integration/test_pve_mock.py
"""
import json
import pathlib
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SERVER = REPO / "tests" / "pve_mock" / "server.py"
APIDATA = REPO.parent / "shared" / "pve" / "apidata.json"
TOKEN = "root@pam!ci=11111111-2222-3333-4444-555555555555"
UPID_RE = re.compile(r"UPID:([^:]+):([0-9A-F]{8}):([0-9A-F]{8}):([0-9A-F]{8}):([^:]+):([^:]*):([^:]+):")

pytestmark = pytest.mark.skipif(not APIDATA.exists(), reason="needs %s" % APIDATA)


class Client:
    def __init__(self, port, token=TOKEN):
        self.base = "http://127.0.0.1:%d" % port
        self.token = token

    def call(self, method, path, params=None, json_body=False, auth=True, prefix="/api2/json"):
        """(HTTP status, decoded JSON body)."""
        url = self.base + prefix + path
        data = None
        headers = {}
        if params and method in ("GET", "DELETE"):
            url += "?" + urllib.parse.urlencode(params)
        elif params is not None:
            if json_body:
                data = json.dumps(params).encode()
                headers["Content-Type"] = "application/json"
            else:
                data = urllib.parse.urlencode(params).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth and self.token:
            headers["Authorization"] = "PVEAPIToken=" + self.token
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def ok(self, method, path, params=None, **kw):
        status, body = self.call(method, path, params, **kw)
        assert status == 200, body
        return body["data"]

    def wait(self, upid, node="pve"):
        """Poll the task until it stops; returns (polls seen running, final status)."""
        running = 0
        for _ in range(50):
            st = self.ok("GET", "/nodes/%s/tasks/%s/status" % (node, urllib.parse.quote(upid, safe="")))
            if st["status"] == "stopped":
                return running, st
            assert st["status"] == "running"
            running += 1
        raise AssertionError("task %s never stopped" % upid)

    def faults(self, **faults):
        return self.ok("POST", "/_mock/faults", faults, json_body=True, prefix="")

    def state(self):
        return self.ok("GET", "/_mock/state", prefix="")


@pytest.fixture
def server():
    proc = subprocess.Popen(["/usr/bin/python3", str(SERVER), "--apidata", str(APIDATA), "--token", TOKEN,
                             "--nodes", "pve,pve2"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        yield proc, port
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def api(server):
    return Client(server[1])


def create_params(vmid, **extra):
    p = {"vmid": vmid, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
         "rootfs": "local-zfs:8", "memory": 512, "hostname": "web",
         "net0": "name=eth0,bridge=vmbr0,ip=dhcp"}
    p.update(extra)
    return p


def test_auth_required(api):
    status, body = api.call("GET", "/nodes", auth=False)
    assert status == 401 and body["data"] is None
    api.token = "root@pam!ci=wrong"
    status, body = api.call("GET", "/nodes")
    assert status == 401 and body["data"] is None


def test_parameter_errors_have_pve_shape(api):
    status, body = api.call("POST", "/nodes/pve/lxc",
                            {"vmid": 99, "memory": "lots", "arch": "mips", "bogus": 1, "cores": 0,
                             "hostname": "not_a_dns", "net0": "name=eth0,colour=red", "rootfs": "nostorage"})
    assert status == 400
    assert body["data"] is None
    errors = body["errors"]
    assert set(errors) == {"vmid", "memory", "arch", "bogus", "cores", "hostname", "net0", "rootfs", "ostemplate"}
    assert errors["vmid"] == "value must have a minimum value of 100"
    assert errors["memory"] == "type check ('integer') failed - got 'lots'"
    assert errors["arch"].startswith("value 'mips' does not have a value in the enumeration 'amd64, i386")
    assert errors["bogus"] == ("property is not defined in schema and the schema does not allow additional "
                               "properties")
    assert errors["cores"] == "value must have a minimum value of 1"
    assert errors["hostname"] == "invalid format - value does not look like a valid DNS name"
    assert "colour" in errors["net0"]
    assert errors["rootfs"].startswith("invalid format - ")
    assert errors["ostemplate"] == "property is missing and it is not optional"


def test_path_formats_patterns_and_lengths(api):
    status, body = api.call("GET", "/nodes/bad_node/lxc")
    assert status == 400 and body["errors"] == {"node": "invalid format - value does not look like a valid node name"}
    status, body = api.call("POST", "/nodes/pve/lxc/100/snapshot", {"snapname": "x" * 41})
    assert status == 400 and body["errors"]["snapname"] == "value may only be 40 characters long"
    status, body = api.call("POST", "/nodes/pve/lxc/100/snapshot", {"snapname": "1bad"})
    assert body["errors"]["snapname"] == "invalid format - invalid configuration ID '1bad'"
    # entrypoint's pattern forbids control characters
    status, body = api.call("POST", "/nodes/pve/lxc", create_params(100, entrypoint="/bin/sh\x01"))
    assert status == 400 and body["errors"] == {"entrypoint": "value does not match the regex pattern"}
    status, body = api.call("PUT", "/nodes/pve/lxc/100/config", {"onboot": "maybe"})
    assert body["errors"] == {"onboot": "type check ('boolean') failed - got 'maybe'"}
    status, body = api.call("GET", "/nodes/pve/nosuch")
    assert status == 501
    # a path the schema knows, with a method it does not
    status, body = api.call("DELETE", "/cluster/nextid")
    assert status == 501


def test_create_poll_config_start_snapshot_delete(api):
    assert [n["node"] for n in api.ok("GET", "/nodes")] == ["pve", "pve2"]
    assert [e["type"] for e in api.ok("GET", "/cluster/status")] == ["cluster", "node", "node"]
    vmid = int(api.ok("GET", "/cluster/nextid"))
    assert vmid == 100

    upid = api.ok("POST", "/nodes/pve/lxc", create_params(vmid, env="A=1\0B=two words", entrypoint="/bin/app"),
                  json_body=True)
    m = UPID_RE.fullmatch(upid)
    assert m and m.group(1) == "pve" and m.group(5) == "vzcreate" and m.group(6) == str(vmid)
    assert m.group(7) == "root@pam"
    # locked while the task runs
    assert api.ok("GET", "/nodes/pve/lxc/%d/config" % vmid)["lock"] == "create"
    running, st = api.wait(upid)
    assert running == 1 and st["exitstatus"] == "OK" and st["type"] == "vzcreate"
    assert int(api.ok("GET", "/cluster/nextid")) == vmid + 1
    status, body = api.call("GET", "/cluster/nextid", {"vmid": vmid})
    assert status == 400 and body["errors"] == {"vmid": "VM %d already exists" % vmid}

    cts = api.ok("GET", "/nodes/pve/lxc")
    assert [(c["vmid"], c["name"], c["status"]) for c in cts] == [(vmid, "web", "stopped")]
    assert api.ok("GET", "/nodes/pve2/lxc") == []
    cfg = api.ok("GET", "/nodes/pve/lxc/%d/config" % vmid)
    assert "lock" not in cfg
    assert cfg["memory"] == 512 and cfg["hostname"] == "web" and cfg["entrypoint"] == "/bin/app"
    assert cfg["rootfs"] == "local-zfs:subvol-%d-disk-0,size=8G" % vmid
    assert cfg["lxc"] == [["lxc.environment.runtime", "A=1"], ["lxc.environment.runtime", "B=two words"]]

    assert api.ok("PUT", "/nodes/pve/lxc/%d/config" % vmid, {"memory": 1024, "cores": 2, "digest": cfg["digest"]}) is None
    status, body = api.call("PUT", "/nodes/pve/lxc/%d/config" % vmid, {"memory": 2048, "digest": cfg["digest"]})
    assert status == 500 and "modified configuration" in body["message"]
    api.ok("PUT", "/nodes/pve/lxc/%d/config" % vmid, {"delete": "cores"})
    cfg = api.ok("GET", "/nodes/pve/lxc/%d/config" % vmid)
    assert cfg["memory"] == 1024 and "cores" not in cfg

    api.wait(api.ok("POST", "/nodes/pve/lxc/%d/status/start" % vmid))
    cur = api.ok("GET", "/nodes/pve/lxc/%d/status/current" % vmid)
    assert cur["status"] == "running" and cur["vmid"] == vmid and cur["maxmem"] == 1024 << 20
    status, body = api.call("POST", "/nodes/pve/lxc/%d/status/start" % vmid)
    assert status == 500 and "already running" in body["message"]

    _, st = api.wait(api.ok("POST", "/nodes/pve/lxc/%d/snapshot" % vmid, {"snapname": "before", "description": "d"}))
    assert st["exitstatus"] == "OK"
    status, body = api.call("POST", "/nodes/pve/lxc/%d/snapshot" % vmid, {"snapname": "before"})
    assert status == 500 and "already used" in body["message"]
    api.ok("PUT", "/nodes/pve/lxc/%d/config" % vmid, {"memory": 4096})
    snaps = api.ok("GET", "/nodes/pve/lxc/%d/snapshot" % vmid)
    assert [(s["name"], s.get("parent")) for s in snaps] == [("before", None), ("current", "before")]
    assert snaps[0]["description"] == "d"

    api.wait(api.ok("POST", "/nodes/pve/lxc/%d/snapshot/before/rollback" % vmid))
    cfg = api.ok("GET", "/nodes/pve/lxc/%d/config" % vmid)
    assert cfg["memory"] == 1024 and cfg["parent"] == "before"
    assert api.ok("GET", "/nodes/pve/lxc/%d/status/current" % vmid)["status"] == "stopped"

    api.wait(api.ok("DELETE", "/nodes/pve/lxc/%d/snapshot/before" % vmid))
    assert [s["name"] for s in api.ok("GET", "/nodes/pve/lxc/%d/snapshot" % vmid)] == ["current"]
    assert "parent" not in api.ok("GET", "/nodes/pve/lxc/%d/config" % vmid)

    api.wait(api.ok("POST", "/nodes/pve/lxc/%d/status/start" % vmid))
    status, body = api.call("DELETE", "/nodes/pve/lxc/%d" % vmid)
    assert status == 500 and "is running" in body["message"]
    api.wait(api.ok("POST", "/nodes/pve/lxc/%d/status/shutdown" % vmid))
    _, st = api.wait(api.ok("DELETE", "/nodes/pve/lxc/%d" % vmid, {"purge": 1}))
    assert st["exitstatus"] == "OK"
    status, body = api.call("GET", "/nodes/pve/lxc/%d/config" % vmid)
    assert status == 500 and "does not exist" in body["message"]
    assert api.ok("GET", "/nodes/pve/lxc") == []


def test_task_polls_and_failure(api):
    api.faults(task_polls=3, fail_next_task="unable to create CT 100 - storage 'local-zfs' is full")
    upid = api.ok("POST", "/nodes/pve/lxc", create_params(100))
    running, st = api.wait(upid)
    assert running == 3
    assert st["exitstatus"] == "unable to create CT 100 - storage 'local-zfs' is full"
    # a failed create leaves no CT behind
    assert api.ok("GET", "/nodes/pve/lxc") == []
    api.faults(task_polls=0)
    running, st = api.wait(api.ok("POST", "/nodes/pve/lxc", create_params(100)))
    assert running == 0 and st["exitstatus"] == "OK"


def test_nextid_race(api):
    api.faults(nextid_race=1)
    vmid = int(api.ok("GET", "/cluster/nextid"))
    status, body = api.call("POST", "/nodes/pve/lxc", create_params(vmid))
    assert status == 500 and body["message"] == "CT %d already exists on node 'pve2'\n" % vmid
    # the loser asks again and wins
    vmid2 = int(api.ok("GET", "/cluster/nextid"))
    assert vmid2 == vmid + 1
    api.wait(api.ok("POST", "/nodes/pve/lxc", create_params(vmid2)))


def test_refuse_connections(server, api):
    api.faults(refuse=True)
    proc, port = server
    proc.wait(timeout=5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_state_dump_records_unchecked_formats(api):
    params = create_params(100, features="nesting=1", tags="a;b", nameserver="1.1.1.1 fe80::1%eth0",
                           timezone="Europe/Vienna", startup="order=1,up=5", mp0="local:8,mp=/data",
                           dev0="/dev/null,mode=0666", net1="name=eth1,bridge=vmbr1,ip=10.0.0.2/24,gw=10.0.0.1")
    api.ok("POST", "/nodes/pve/lxc", params)
    state = api.state()
    assert state["cts"]["100"]["config"]["features"] == "nesting=1"
    assert state["cts"]["100"]["config"]["mp0"] == "local:subvol-100-disk-1,size=8G,mp=/data"
    # every format the create used is checked, none merely accepted
    assert state["unchecked_formats"] == []
    status, body = api.call("POST", "/nodes/pve/lxc", create_params(101, nameserver="1.1.1.999",
                                                                    dev0="/etc/passwd"))
    assert status == 400 and set(body["errors"]) == {"nameserver", "dev0"}
