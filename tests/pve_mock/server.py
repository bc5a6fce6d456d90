#!/usr/bin/python3
"""Proxmox VE API test server.

Answers /api2/json/... as PVE 9.1 does, from PVE's own API schema
(apidata.json): every request's path, method and parameters are checked
against the schema (HTTP 400 with {"errors": {param: message}, "data": null}),
a missing or wrong API token gets 401, and the CT endpoints keep state across
calls: create/list/config/start/stop/shutdown/status/delete/snapshots, with
state-changing calls answered by a UPID that is polled through
/nodes/{node}/tasks/{upid}/status.  Storages (local: vztmpl/iso/backup/import,
local-zfs: images/rootdir) keep their templates per node: a multipart upload
(content vztmpl, checksum checked by the copy task) adds one, storage content
lists them, and a CT create refuses an ostemplate volume that is not there.

Plain HTTP on 127.0.0.1, or HTTPS with --tls-cert/--tls-key.  Faults are
injected with POST /_mock/faults (JSON, no auth): task_polls (polls a task stays
running), fail_next_task (the next task ends with that exit status), task_log
(lines the next failing task logs before its "TASK ERROR:" line), nextid_race
(the next N ids /cluster/nextid hands out are taken before create runs), refuse
(stop listening: later connections are refused), http_status + http_status_count
(the next N API requests get that status, e.g. 503, before anything else
happens), delay (seconds every API request waits before it is answered),
fail_task_type (fail_next_task waits for a task of this type, e.g. vzstart).
GET /_mock/state dumps it all.

    /usr/bin/python3 tests/pve_mock/server.py --apidata ../shared/pve/apidata.json
prints the port it listens on (ephemeral unless --port) as its first line.
"""

import argparse
import hashlib
import json
import re
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pve_mock.schema import Schema  # noqa: E402

DEFAULT_TOKEN = "root@pam!test=00000000-0000-0000-0000-000000000000"
API = "/api2/json"
# create parameters that are instructions, not config keys
CREATE_ONLY = {"node", "vmid", "ostemplate", "storage", "password", "ssh-public-keys", "start", "force",
               "unique", "restore", "ignore-unpack-errors", "pool", "bwlimit", "ha-managed", "env"}
# the storages of every node (storage.cfg), and what each may hold
STORAGES = {"local": {"type": "dir", "content": "backup,import,iso,vztmpl", "shared": 0},
            "local-zfs": {"type": "zfspool", "content": "images,rootdir", "shared": 0}}
# the template a fresh PVE has downloaded (pveam) on each node
STANDARD_TEMPLATE = "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
# PVE::Storage's VZTMPL_EXT_RE_1
VZTMPL_EXT = re.compile(r"\.tar\.(gz|xz|zst|bz2)$", re.I)


class PVEError(Exception):
    """A failure PVE reports with a status line and {"data": null, "message": ...}."""

    def __init__(self, message, status=500, errors=None):
        super().__init__(message)
        self.status = status
        self.errors = errors


class Task:
    def __init__(self, upid, polls, failure, on_ok, on_fail, log=()):
        self.upid = upid
        self.polls_left = polls
        self.failure = failure
        self.on_ok = on_ok
        self.on_fail = on_fail
        self.exitstatus = None
        self.log = ["task started by mock PVE"]
        self.extra_log = list(log)

    def poll(self):
        if self.exitstatus is None and self.polls_left <= 0:
            self.finish()
        self.polls_left -= 1
        return self.exitstatus

    def finish(self):
        if self.failure:
            self.exitstatus = self.failure
            self.log += self.extra_log + ["TASK ERROR: " + self.failure]
            if self.on_fail:
                self.on_fail()
        else:
            self.exitstatus = "OK"
            self.log.append("TASK OK")
            if self.on_ok:
                self.on_ok()


class CT:
    def __init__(self, vmid, node):
        self.vmid = vmid
        self.node = node
        self.config = {}
        self.lxc = []  # raw lxc.* keys, in order, may repeat
        self.snapshots = {}  # name -> {"config", "lxc", "description", "snaptime"}
        self.status = "stopped"
        self.started = 0

    def digest(self):
        text = json.dumps([self.config, self.lxc, sorted(self.snapshots)], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()


class PVE:
    """The cluster's state and what each endpoint does to it."""

    def __init__(self, schema, nodes, token, task_polls=1):
        self.schema = schema
        self.nodes = nodes
        self.token = token
        self.cts = {}
        self.tasks = {}
        self.lock = threading.Lock()
        self.faults = {"task_polls": task_polls, "fail_next_task": None, "task_log": [], "nextid_race": 0,
                       "refuse": False, "http_status": 503, "http_status_count": 0, "delay": 0,
                       "fail_task_type": None}
        # (node, storage) -> {volname: {"size", "ctime", "sha256"}}
        self.volumes = {(n, "local"): {STANDARD_TEMPLATE: {"size": 126 << 20, "ctime": 1700000000,
                                                            "sha256": "0" * 64}} for n in nodes}
        self.pid = os.getpid()
        self.counter = 0
        self.requests = []

    # -- helpers -------------------------------------------------------
    def upid(self, node, typ, ident):
        self.counter += 1
        # UPID:node:PID:PSTART:STARTTIME:type:id:user: with hex fields
        return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, self.pid + self.counter, 4242 + self.counter,
                                                    int(time.time()), typ, ident, self.token.split("!")[0])

    def task(self, node, typ, ident, on_ok=None, on_fail=None, failure=None):
        upid = self.upid(node, typ, ident)
        if failure is None and self.faults["fail_task_type"] in (None, typ):
            failure = self.faults["fail_next_task"]
            self.faults["fail_next_task"] = None
            if failure:
                self.faults["fail_task_type"] = None
        t = Task(upid, int(self.faults["task_polls"]), failure, on_ok, on_fail,
                 self.faults["task_log"] if failure else ())
        if failure:
            self.faults["task_log"] = []
        self.tasks[upid] = t
        if t.polls_left <= 0:
            t.finish()
        return upid

    def node(self, name):
        if name not in self.nodes:
            raise PVEError("no such cluster node '%s'" % name, 595)
        return name

    def ct(self, node, vmid):
        ct = self.cts.get(int(vmid))
        if not ct or ct.node != node:
            raise PVEError("Configuration file 'nodes/%s/lxc/%s.conf' does not exist" % (node, vmid))
        return ct

    @staticmethod
    def unlocked(ct):
        if "lock" in ct.config:
            raise PVEError("CT is locked (%s)" % ct.config["lock"])

    def typed_config(self, config):
        """Numbers for integer/boolean keys, as PVE's JSON has them."""
        props = self.schema.method("/nodes/{node}/lxc/{vmid}/config", "PUT")["parameters"]["properties"]
        out = {}
        for k, v in config.items():
            typ = props.get(k, {}).get("type")
            out[k] = int(v) if typ in ("integer", "boolean") and v.lstrip("-").isdigit() else v
        return out

    # -- endpoints -----------------------------------------------------
    def dispatch(self, method, template, p):
        fn = getattr(self, "h_%s_%s" % (method, template.strip("/").replace("/", "_").replace("{", "")
                                         .replace("}", "")), None)
        if fn is None:
            raise PVEError("Method '%s %s' not implemented by the test server" % (method, template), 501)
        with self.lock:
            return fn(p)

    def h_GET_version(self, p):
        return {"version": "9.1.3", "release": "9.1", "repoid": "4f1ab2ac0e2b8a6c", "console": "html5"}

    def h_GET_cluster_resources(self, p):
        res = []
        if p.get("type") in (None, "node"):
            res += [{"type": "node", "id": "node/" + n, "node": n, "status": "online", "maxcpu": 2,
                     "maxmem": 8 << 30} for n in self.nodes]
        if p.get("type") in (None, "vm"):
            for ct in sorted(self.cts.values(), key=lambda c: c.vmid):
                item = {"type": "lxc", "id": "lxc/%d" % ct.vmid, "vmid": ct.vmid, "node": ct.node,
                        "name": ct.config.get("hostname", "CT%d" % ct.vmid), "status": ct.status, "template": 0}
                if "tags" in ct.config:
                    item["tags"] = ct.config["tags"]
                res.append(item)
        return res

    def h_GET_nodes(self, p):
        return [{"node": n, "status": "online", "type": "node", "id": "node/" + n, "maxcpu": 2,
                 "maxmem": 8 << 30, "uptime": 1000} for n in self.nodes]

    def h_GET_cluster_status(self, p):
        res = [{"type": "cluster", "id": "cluster", "name": "mock", "nodes": len(self.nodes), "quorate": 1,
                "version": 1}]
        for i, n in enumerate(self.nodes):
            res.append({"type": "node", "id": "node/" + n, "name": n, "online": 1, "local": int(i == 0),
                        "nodeid": i + 1, "ip": "127.0.0.1", "level": ""})
        return res

    def h_GET_cluster_nextid(self, p):
        if "vmid" in p:
            vmid = int(p["vmid"])
            if vmid in self.cts:
                raise PVEError("Parameter verification failed.", 400, {"vmid": "VM %d already exists" % vmid})
        else:
            vmid = 100
            while vmid in self.cts:
                vmid += 1
        if self.faults["nextid_race"]:
            # somebody else creates it between our answer and the caller's create
            self.faults["nextid_race"] -= 1
            ghost = CT(vmid, self.nodes[-1])
            ghost.config = {"hostname": "racer", "arch": "amd64"}
            self.cts[vmid] = ghost
        return str(vmid)

    def h_GET_nodes_node_lxc(self, p):
        node = self.node(p["node"])
        res = []
        for ct in sorted(self.cts.values(), key=lambda c: c.vmid):
            if ct.node != node:
                continue
            item = {"vmid": ct.vmid, "name": ct.config.get("hostname", "CT%d" % ct.vmid), "status": ct.status,
                    "type": "lxc", "maxmem": int(ct.config.get("memory", 512)) << 20,
                    "cpus": int(ct.config.get("cores", 1))}
            if "lock" in ct.config:
                item["lock"] = ct.config["lock"]
            if "tags" in ct.config:
                item["tags"] = ct.config["tags"]
            res.append(item)
        return res

    # -- storage -------------------------------------------------------
    def storage(self, name, content=None):
        if name not in STORAGES:
            raise PVEError("storage '%s' does not exist" % name)
        if content and content not in STORAGES[name]["content"].split(","):
            raise PVEError("storage '%s' does not support '%s' content" % (name, content))
        return STORAGES[name]

    def h_GET_nodes_node_storage(self, p):
        self.node(p["node"])
        res = []
        for name, scfg in sorted(STORAGES.items()):
            if p.get("content") and p["content"] not in scfg["content"].split(","):
                continue
            if p.get("storage") and p["storage"] != name:
                continue
            res.append({"storage": name, "type": scfg["type"], "content": scfg["content"], "shared": scfg["shared"],
                        "active": 1, "enabled": 1, "total": 100 << 30, "used": 1 << 30, "avail": 99 << 30})
        return res

    def h_GET_nodes_node_storage_storage_content(self, p):
        node = self.node(p["node"])
        self.storage(p["storage"])
        res = []
        for vol, info in sorted(self.volumes.get((node, p["storage"]), {}).items()):
            content = vol.split("/")[0]
            if p.get("content") and p["content"] != content:
                continue
            ext = VZTMPL_EXT.search(vol)
            res.append({"volid": "%s:%s" % (p["storage"], vol), "content": content, "size": info["size"],
                        "ctime": info["ctime"], "format": "t" + ext.group(1) if ext else "raw"})
        return res

    def h_POST_nodes_node_storage_storage_upload(self, p):
        node = self.node(p["node"])
        content = p["content"]
        self.storage(p["storage"], content)
        data = p.get("__file")
        if data is None:
            raise PVEError("missing file upload (multipart part 'filename')", 400)
        # PVE normalizes the name the client gave its file part
        filename = re.sub(r"[^-a-zA-Z0-9_.]", "_", p["filename"])
        if content == "vztmpl" and not VZTMPL_EXT.search(filename):
            raise PVEError("Parameter verification failed.", 400, {"filename": "wrong file extension"})
        want = p.get("checksum")
        got = hashlib.new(p.get("checksum-algorithm", "sha256"), data).hexdigest() if want else None
        vols = self.volumes.setdefault((node, p["storage"]), {})

        def ok():
            vols["%s/%s" % (content, filename)] = {"size": len(data), "ctime": int(time.time()),
                                                     "sha256": hashlib.sha256(data).hexdigest()}

        # the copy task checks what arrived against what the client said it sent
        bad = "checksum mismatch: got '%s' != expect '%s'" % (got, want) if want and got != want.lower() else None
        return self.task(node, "imgcopy", "", ok, failure=bad)

    def check_ostemplate(self, node, volid):
        store, sep, vol = volid.partition(":")
        if not sep:
            return
        self.storage(store)
        if vol not in self.volumes.get((node, store), {}):
            raise PVEError("can't find file '%s'" % volid)

    def h_POST_nodes_node_lxc(self, p):
        node = self.node(p["node"])
        vmid = int(p["vmid"])
        if vmid in self.cts:
            raise PVEError("CT %d already exists on node '%s'" % (vmid, self.cts[vmid].node))
        self.check_ostemplate(node, str(p["ostemplate"]))
        ct = CT(vmid, node)
        cfg = {k: str(v) for k, v in p.items() if k not in CREATE_ONLY}
        cfg.setdefault("arch", "amd64")
        cfg.setdefault("hostname", "CT%d" % vmid)
        for key in [k for k in cfg if k == "rootfs" or (k.startswith("mp") and k[2:].isdigit())]:
            vol, _, rest = cfg[key].partition(",")
            store, _, size = vol.partition(":")
            if size.replace(".", "", 1).isdigit():
                # STORAGE:SIZE allocates a new volume under PVE's naming
                disk = 0 if key == "rootfs" else int(key[2:]) + 1
                vol = "%s:subvol-%d-disk-%d,size=%sG" % (store, vmid, disk, size)
            cfg[key] = vol + ("," + rest if rest else "")
        cfg["lock"] = "create"
        ct.config = cfg
        if p.get("env"):
            ct.lxc = [["lxc.environment.runtime", e] for e in str(p["env"]).split("\0") if e]
        self.cts[vmid] = ct
        start = str(p.get("start", "0")).lower() in ("1", "true", "yes", "on")

        def ok():
            ct.config.pop("lock", None)
            if start:
                ct.status, ct.started = "running", time.time()

        def fail():
            # a failed create leaves nothing behind
            self.cts.pop(vmid, None)

        return self.task(node, "vzcreate", vmid, ok, fail)

    def h_GET_nodes_node_lxc_vmid_config(self, p):
        ct = self.ct(self.node(p["node"]), p["vmid"])
        res = self.typed_config(ct.config)
        if ct.lxc:
            res["lxc"] = [list(e) for e in ct.lxc]
        res["digest"] = ct.digest()
        return res

    def h_PUT_nodes_node_lxc_vmid_config(self, p):
        ct = self.ct(self.node(p["node"]), p["vmid"])
        if "digest" in p and p["digest"] != ct.digest():
            raise PVEError("detected modified configuration - file changed by other user? Try again.")
        if "lock" not in p:
            self.unlocked(ct)
        for key in [k for k in str(p.get("delete", "")).replace(";", ",").split(",") if k.strip()]:
            ct.config.pop(key.strip(), None)
        for k, v in p.items():
            if k in ("node", "vmid", "delete", "digest", "revert"):
                continue
            if k == "env":
                ct.lxc = [e for e in ct.lxc if e[0] != "lxc.environment.runtime"]
                ct.lxc += [["lxc.environment.runtime", e] for e in str(v).split("\0") if e]
            else:
                ct.config[k] = str(v)
        return None

    def _status_task(self, p, typ, want_running, new_status):
        node = self.node(p["node"])
        ct = self.ct(node, p["vmid"])
        if typ != "vzstop" or not p.get("skiplock"):
            self.unlocked(ct)
        if (ct.status == "running") != want_running:
            raise PVEError("CT %s %s" % (ct.vmid, "not running" if want_running else "already running"))

        def ok():
            ct.status = new_status
            ct.started = time.time() if new_status == "running" else 0

        return self.task(node, typ, ct.vmid, ok)

    def h_POST_nodes_node_lxc_vmid_status_start(self, p):
        return self._status_task(p, "vzstart", False, "running")

    def h_POST_nodes_node_lxc_vmid_status_stop(self, p):
        return self._status_task(p, "vzstop", True, "stopped")

    def h_POST_nodes_node_lxc_vmid_status_shutdown(self, p):
        return self._status_task(p, "vzshutdown", True, "stopped")

    def h_GET_nodes_node_lxc_vmid_status_current(self, p):
        ct = self.ct(self.node(p["node"]), p["vmid"])
        res = {"vmid": ct.vmid, "status": ct.status, "name": ct.config.get("hostname"), "type": "lxc",
               "uptime": int(time.time() - ct.started) if ct.started else 0,
               "maxmem": int(ct.config.get("memory", 512)) << 20, "cpus": int(ct.config.get("cores", 1)),
               "ha": {"managed": 0}}
        if "lock" in ct.config:
            res["lock"] = ct.config["lock"]
        return res

    def h_DELETE_nodes_node_lxc_vmid(self, p):
        node = self.node(p["node"])
        ct = self.ct(node, p["vmid"])
        self.unlocked(ct)
        if ct.status == "running":
            raise PVEError("CT %d is running - destroy failed" % ct.vmid)
        return self.task(node, "vzdestroy", ct.vmid, lambda: self.cts.pop(ct.vmid, None))

    def h_GET_nodes_node_lxc_vmid_snapshot(self, p):
        ct = self.ct(self.node(p["node"]), p["vmid"])
        res = []
        for name, s in ct.snapshots.items():
            item = {"name": name, "description": s["description"], "snaptime": s["snaptime"]}
            if "parent" in s["config"]:
                item["parent"] = s["config"]["parent"]
            res.append(item)
        current = {"name": "current", "description": "You are here!", "running": int(ct.status == "running")}
        if "parent" in ct.config:
            current["parent"] = ct.config["parent"]
        return res + [current]

    def h_POST_nodes_node_lxc_vmid_snapshot(self, p):
        node = self.node(p["node"])
        ct = self.ct(node, p["vmid"])
        name = p["snapname"]
        if name == "current":
            raise PVEError("unable to use snapshot name 'current' (reserved name)")
        if name in ct.snapshots:
            raise PVEError("snapshot name '%s' already used" % name)
        self.unlocked(ct)

        def ok():
            skip = {"lock", "snapstate", "snaptime", "vmstate", "digest", "description"}
            cfg = {k: v for k, v in ct.config.items() if k not in skip and not k.startswith("unused")}
            ct.snapshots[name] = {"config": cfg, "lxc": [list(e) for e in ct.lxc],
                                  "description": p.get("description", ""), "snaptime": int(time.time())}
            ct.config["parent"] = name

        return self.task(node, "vzsnapshot", ct.vmid, ok)

    def _snapshot(self, p):
        node = self.node(p["node"])
        ct = self.ct(node, p["vmid"])
        if p["snapname"] not in ct.snapshots:
            raise PVEError("snapshot '%s' does not exist" % p["snapname"])
        self.unlocked(ct)
        return node, ct, p["snapname"]

    def h_DELETE_nodes_node_lxc_vmid_snapshot_snapname(self, p):
        node, ct, name = self._snapshot(p)

        def ok():
            parent = ct.snapshots.pop(name)["config"].get("parent")
            for cfg in [ct.config] + [s["config"] for s in ct.snapshots.values()]:
                if cfg.get("parent") == name:
                    if parent:
                        cfg["parent"] = parent
                    else:
                        del cfg["parent"]

        return self.task(node, "vzdelsnapshot", ct.vmid, ok)

    def h_POST_nodes_node_lxc_vmid_snapshot_snapname_rollback(self, p):
        node, ct, name = self._snapshot(p)
        start = str(p.get("start", "0")).lower() in ("1", "true", "yes", "on")

        def ok():
            keep = {k: v for k, v in ct.config.items() if k == "description" or k.startswith("unused")}
            snap = ct.snapshots[name]
            ct.config = dict(snap["config"], **keep)
            ct.config["parent"] = name
            ct.lxc = [list(e) for e in snap["lxc"]]
            ct.status = "running" if start else "stopped"

        return self.task(node, "vzrollback", ct.vmid, ok)

    def h_GET_nodes_node_tasks_upid_log(self, p):
        self.node(p["node"])
        t = self.tasks.get(p["upid"])
        if not t:
            raise PVEError("no such task '%s'" % p["upid"])
        start, limit = int(p.get("start", 0)), int(p.get("limit", 50))
        return [{"n": i + 1, "t": line} for i, line in enumerate(t.log)][start:start + limit]

    def h_GET_nodes_node_tasks_upid_status(self, p):
        self.node(p["node"])
        t = self.tasks.get(p["upid"])
        if not t:
            raise PVEError("no such task '%s'" % p["upid"])
        f = t.upid.split(":")
        res = {"upid": t.upid, "node": f[1], "pid": int(f[2], 16), "pstart": int(f[3], 16),
               "starttime": int(f[4], 16), "type": f[5], "id": f[6], "user": f[7]}
        status = t.poll()
        res["status"] = "running" if status is None else "stopped"
        if status is not None:
            res["exitstatus"] = status
        return res


def parse_multipart(raw, content_type):
    """multipart/form-data -> ({name: text}, {name: (filename, bytes)}), as PVE's HTTP server reads it."""
    boundary = None
    for item in content_type.split(";")[1:]:
        k, _, v = item.strip().partition("=")
        if k.lower() == "boundary":
            boundary = v.strip('"')
    if not boundary:
        raise PVEError("multipart body without a boundary", 400)
    fields, files = {}, {}
    for part in raw.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, body = part[2:].partition(b"\r\n\r\n")
        if body.endswith(b"\r\n"):
            body = body[:-2]
        disp = {}
        for line in head.decode().split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-disposition":
                for item in v.split(";")[1:]:
                    dk, _, dv = item.strip().partition("=")
                    disp[dk.lower()] = dv.strip('"')
        if "name" not in disp:
            raise PVEError("multipart part without a name", 400)
        if "filename" in disp:
            files[disp["name"]] = (disp["filename"], body)
        else:
            fields[disp["name"]] = body.decode()
    return fields, files


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def reply(self, status, body, reason=None):
        data = json.dumps(body).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def params(self, query):
        self.upload = None
        p = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "multipart/form-data":
            fields, files = parse_multipart(raw, self.headers.get("Content-Type"))
            p.update(fields)
            if "filename" in files:
                # PVE's HTTP server stores the part and passes its client-side name as filename
                p["filename"], self.upload = files["filename"]
        elif raw and ctype == "application/json":
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise PVEError("JSON body must be an object", 400)
            p.update(body)
        elif raw:
            p.update({k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()})
        return p

    def handle_one(self, method):
        pve = self.server.pve
        url = urllib.parse.urlsplit(self.path)
        try:
            params = self.params(url.query)
        except (ValueError, UnicodeDecodeError) as e:
            return self.reply(400, {"data": None, "message": "malformed request body: %s" % e})
        except PVEError as e:
            return self.reply(e.status, {"data": None, "message": str(e)})
        if url.path.startswith("/_mock/"):
            return self.control(method, url.path, params)
        pve.requests.append((method, url.path))
        if not url.path.startswith(API + "/"):
            return self.reply(404, {"data": None}, "Not Found")
        if pve.faults["delay"]:
            time.sleep(float(pve.faults["delay"]))
        with pve.lock:
            status = None
            if pve.faults["http_status_count"] > 0:
                pve.faults["http_status_count"] -= 1
                status = int(pve.faults["http_status"])
        if status:
            return self.reply(status, {"data": None}, "injected fault %d" % status)
        if self.headers.get("Authorization") != "PVEAPIToken=" + pve.token:
            reason = "No ticket" if not self.headers.get("Authorization") else "invalid token value!"
            return self.reply(401, {"data": None, "message": reason}, reason)
        path = urllib.parse.unquote(url.path[len(API):])
        template, path_params = pve.schema.lookup(path)
        info = pve.schema.method(template, method) if template else None
        if info is None:
            msg = "Method '%s %s' not implemented" % (method, path)
            return self.reply(501, {"data": None, "message": msg}, msg)
        params.update(path_params)
        errors = pve.schema.check_params(info, params)
        if errors:
            return self.reply(400, {"errors": errors, "data": None}, "Parameter verification failed.")
        if getattr(self, "upload", None) is not None:
            params["__file"], self.upload = self.upload, None
        try:
            data = pve.dispatch(method, template, params)
        except PVEError as e:
            body = {"data": None, "message": str(e) + "\n"}
            if e.errors:
                body["errors"] = e.errors
            return self.reply(e.status, body, str(e))
        return self.reply(200, {"data": data})

    def control(self, method, path, params):
        pve = self.server.pve
        with pve.lock:
            if method == "POST" and path == "/_mock/faults":
                unknown = set(params) - set(pve.faults)
                if unknown:
                    return self.reply(400, {"data": None, "message": "unknown faults %s" % sorted(unknown)})
                pve.faults.update(params)
                self.reply(200, {"data": pve.faults})
                if pve.faults["refuse"]:
                    # after the answer is out: shutdown() waits for this request's loop
                    self.close_connection = True
                    threading.Thread(target=self.server.refuse, daemon=True).start()
                return None
            if method == "GET" and path == "/_mock/state":
                cts = {vmid: {"node": c.node, "status": c.status, "config": c.config, "lxc": c.lxc,
                              "snapshots": c.snapshots} for vmid, c in pve.cts.items()}
                vols = {"%s/%s" % k: v for k, v in pve.volumes.items()}
                return self.reply(200, {"data": {"cts": cts, "faults": pve.faults, "volumes": vols,
                                                 "unchecked_formats": sorted(pve.schema.unchecked_formats),
                                                 "requests": pve.requests}})
        return self.reply(404, {"data": None, "message": "unknown control endpoint"})

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    def do_PUT(self):
        self.handle_one("PUT")

    def do_DELETE(self):
        self.handle_one("DELETE")


class MockServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pve, port=0, verbose=False, tls_cert=None, tls_key=None):
        super().__init__(("127.0.0.1", port), Handler)
        self.pve = pve
        self.verbose = verbose
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            # the handshake runs in the request's thread: a client that gives up
            # (a pinned fingerprint that does not match) must not stall the others
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)

    def refuse(self):
        """Stop listening: from now on connections are refused, as with a node that is down."""
        self.shutdown()
        self.server_close()


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apidata", default=os.path.join(here, "..", "..", "..", "shared", "pve", "apidata.json"))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=DEFAULT_TOKEN, help="USER@REALM!TOKENID=UUID")
    ap.add_argument("--nodes", default="pve", help="comma-separated cluster node names")
    ap.add_argument("--task-polls", type=int, default=1, help="polls a task reports running")
    ap.add_argument("--tls-cert", help="PEM certificate (chain): serve HTTPS")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    pve = PVE(Schema(args.apidata), args.nodes.split(","), args.token, args.task_polls)
    srv = MockServer(pve, args.port, args.verbose, args.tls_cert, args.tls_key)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
