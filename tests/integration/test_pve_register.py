# SPDX-License-Identifier: Apache-2.0
"""Node-local registration: containers become Proxmox VE CTs (docs/proxmox.md).

Each test gets a temporary PVE tree (etc/pve with nodes pve1/pve2, .vmlist, storage.cfg, and
paths.lxc) and a zfspool storage on its own dataset of a zfs-fuse pool (storage_env.py), and a
runtime config with proxmox.register true pointing at it.  Checked with the real liblxc tools that
pct uses (lxc-info, lxc-attach, lxc-stop), with our run (exit status through the kept monitor), with
containerd's ctr, with concurrent creates, killed creates and checkpoints.
"""
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import clients
import storage_env
from clients import wait_for

SCHEMA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "pve",
                                      "apidata.json"))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="zfs-fuse and liblxc need root")


def run(*args, check=True, **kw):
    return subprocess.run([str(a) for a in args], check=check, text=True, capture_output=True, timeout=120,
                          **kw)


@pytest.fixture(scope="module")
def pool():
    for tool, pkg in (("lxc-info", "lxc"), ("lxc-attach", "lxc"), ("lxc-stop", "lxc")):
        storage_env.need(tool, pkg)
    with storage_env.zfs_pool(size_mb=512) as parent:
        yield parent


class PVE:
    """A temporary PVE node tree and the runtime config that registers containers into it."""

    def __init__(self, top, dataset):
        self.top = top
        self.etc = os.path.join(top, "etc-pve")
        self.lxc = os.path.join(top, "lxc")
        self.dataset = dataset
        for node in ("pve1", "pve2"):
            for kind in ("lxc", "qemu-server"):
                os.makedirs(os.path.join(self.etc, "nodes", node, kind))
        os.makedirs(self.lxc)
        # taken elsewhere in the cluster: 100 by a VM on pve2, 101 only in pmxcfs' .vmlist
        open(os.path.join(self.etc, "nodes", "pve2", "qemu-server", "100.conf"), "w").write("memory: 512\n")
        with open(os.path.join(self.etc, ".vmlist"), "w") as f:
            json.dump({"version": 3, "ids": {"101": {"node": "pve2", "type": "lxc", "version": 1}}}, f)
        with open(os.path.join(self.etc, "storage.cfg"), "w") as f:
            f.write("dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n"
                    f"zfspool: local-zfs\n\tpool {dataset}\n\tsparse\n\tcontent images,rootdir\n")
        self.config = os.path.join(top, "config.json")
        self.write_config()

    def write_config(self, **extra):
        proxmox = {"register": True, "node": "pve1", "storage": "local-zfs", "schema": SCHEMA,
                   "paths": {"etc_pve": self.etc, "lxc": self.lxc,
                             "storage_cfg": os.path.join(self.etc, "storage.cfg")}}
        proxmox.update(extra)
        with open(self.config, "w") as f:
            json.dump({"proxmox": proxmox}, f)
        os.chmod(self.config, 0o600)

    def env(self):
        return dict(os.environ, PROXMOX_LXCRI_CONFIG=self.config)

    def conf_path(self, vmid, node="pve1"):
        return os.path.join(self.etc, "nodes", node, "lxc", f"{vmid}.conf")

    def confs(self, node="pve1"):
        return sorted(os.listdir(os.path.join(self.etc, "nodes", node, "lxc")))

    def conf(self, vmid):
        with open(self.conf_path(vmid)) as f:
            return f.read()

    def volumes(self):
        out = run("zfs", "list", "-H", "-o", "name", "-r", "-d", "1", self.dataset).stdout.split()
        return sorted(v.rsplit("/", 1)[1] for v in out if v != self.dataset)


@pytest.fixture
def pve(pool, request):
    top = tempfile.mkdtemp(prefix="plx-pvereg-")
    dataset = f"{pool}/t{abs(hash(request.node.name)) % 100000}"
    run("zfs", "create", dataset)
    try:
        yield PVE(top, dataset)
    finally:
        run("zfs", "destroy", "-r", "-f", dataset, check=False)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def pcli(binary, runtime_root, pve):
    def call(*args, detached=False, **kw):
        """detached: a command that leaves a container running, whose stdio must not be our pipe."""
        kw.setdefault("timeout", 60)
        kw.setdefault("stdin", subprocess.DEVNULL)
        argv = [binary, "--root", runtime_root, *map(str, args)]
        if not detached:
            return subprocess.run(argv, capture_output=True, text=True, env=pve.env(), **kw)
        with tempfile.TemporaryFile("w+") as f:
            r = subprocess.run(argv, stdout=f, stderr=f, text=True, env=pve.env(), **kw)
            f.seek(0)
            r.stdout = r.stderr = f.read()
        return r
    call.argv = [binary, "--root", runtime_root]
    return call


def ok(p):
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def vmid_of(runtime_root, cid):
    with open(os.path.join(runtime_root, cid, "state.json")) as f:
        return json.load(f)["pve"]["vmid"]


def lxc(tool, pve, vmid, *args, check=True):
    return run(tool, "-n", vmid, "-P", pve.lxc, *args, check=check)


def test_created_container_is_a_pve_ct(pve, pcli, make_bundle, runtime_root):
    bundle = make_bundle(["sleep", "1000"], hostname="web1",
                         process={"env": ["PATH=/bin", "GREETING=hello world"]},
                         linux={"resources": {"memory": {"limit": 256 << 20, "swap": 512 << 20},
                                              "cpu": {"quota": 150000, "period": 100000}}})
    pidfile = os.path.join(pve.top, "pid")
    ok(pcli("create", "--bundle", bundle, "--pid-file", pidfile, "web", detached=True))
    vmid = vmid_of(runtime_root, "web")
    assert vmid == 102  # 100 and 101 are taken in the cluster
    conf = pve.conf(vmid)
    lines = conf.splitlines()
    assert lines[:2] == ["#managed by proxmox-lxcri, container web", f"#runtime root {runtime_root}"]
    for want in ("cores: 2", "hostname: web1", "memory: 256", "swap: 256", "ostype: unmanaged",
                 f"rootfs: local-zfs:subvol-{vmid}-disk-0,size=0T", "entrypoint: sleep 1000",
                 "lxc.environment.runtime: PATH=/bin", "lxc.environment.runtime: GREETING=hello world"):
        assert want in lines, conf
    assert not any(line.startswith(("net0", "lock")) for line in lines), conf
    assert pve.volumes() == [f"subvol-{vmid}-disk-0"]
    assert os.path.exists(os.path.join(pve.lxc, str(vmid), "config"))

    # what pct status/enter/stop use: liblxc's command socket, kept by the monitor
    with open(pidfile) as f:
        monitor = int(f.read())
    state = json.loads(ok(pcli("state", "web")).stdout)
    assert state["status"] == "created" and state["pid"] != monitor
    info = lxc("lxc-info", pve, vmid).stdout
    assert "RUNNING" in info and f"PID:            {state['pid']}" in info, info
    ok(pcli("start", "web", detached=True))
    assert lxc("lxc-attach", pve, vmid, "--", "/bin/cat", "/etc/hostname").returncode == 0
    out = lxc("lxc-attach", pve, vmid, "--", "/bin/sh", "-c", "echo $$; hostname").stdout.split()
    assert out[1] == "web1"
    lxc("lxc-stop", pve, vmid, "-k")
    assert wait_for(lambda: json.loads(pcli("state", "web").stdout)["status"] == "stopped", 10)
    assert wait_for(lambda: not clients.pid_alive(monitor), 10)

    ok(pcli("delete", "web"))
    assert pve.confs() == [] and pve.volumes() == [] and os.listdir(pve.lxc) == []


def test_run_exit_status_through_the_monitor(pve, pcli, make_bundle, runtime_root):
    p = pcli("run", "--bundle", make_bundle(["sh", "-c", "echo out; exit 3"]), "r1")
    assert p.returncode == 3 and p.stdout == "out\n", p.stderr

    # killed from outside: the monitor ends with the same signal, run reports 128+9
    proc = subprocess.Popen([*pcli.argv, "run", "--bundle", make_bundle(["sleep", "1000"]), "r2"],
                            env=pve.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: pcli("state", "r2").returncode == 0 and
                        json.loads(pcli("state", "r2").stdout)["status"] == "running", 30)
        ok(pcli("kill", "r2", "KILL"))
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 137, err
    assert pve.confs() == [] and pve.volumes() == []


def test_concurrent_creates_get_distinct_vmids(pve, pcli, make_bundle, runtime_root):
    bundle = make_bundle(["sleep", "1000"])
    ids = [f"c{i}" for i in range(8)]
    with concurrent.futures.ThreadPoolExecutor(len(ids)) as ex:
        results = list(ex.map(lambda cid: pcli("create", "--bundle", bundle, cid, timeout=180, detached=True), ids))
    for r in results:
        ok(r)
    vmids = [vmid_of(runtime_root, cid) for cid in ids]
    assert len(set(vmids)) == len(ids), vmids
    assert pve.confs() == sorted(f"{v}.conf" for v in vmids)
    assert pve.volumes() == sorted(f"subvol-{v}-disk-0" for v in vmids)
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for r in ex.map(lambda cid: pcli("delete", "--force", cid, timeout=120), ids):
            ok(r)
    assert pve.confs() == [] and pve.volumes() == [] and os.listdir(pve.lxc) == []


def test_duplicate_on_another_node_loses_cleanly(pve, pcli, make_bundle, runtime_root):
    # 102 is claimed on pve2 without being in .vmlist yet: ours must not take it
    open(pve.conf_path(102, "pve2"), "w").write("hostname: other\n")
    ok(pcli("create", "--bundle", make_bundle(["sleep", "1000"]), "d1", detached=True))
    assert vmid_of(runtime_root, "d1") == 103
    ok(pcli("delete", "--force", "d1"))
    assert pve.confs() == [] and pve.confs("pve2") == ["102.conf"]


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5, 1.0])
def test_killed_create_leaves_nothing_after_delete_force(pve, pcli, make_bundle, runtime_root, delay):
    bundle = make_bundle(["sleep", "1000"])
    proc = subprocess.Popen([*pcli.argv, "create", "--bundle", bundle, "k"], env=pve.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    r = pcli("delete", "--force", "k", timeout=120)
    assert r.returncode == 0, r.stderr
    assert pve.confs() == [], (delay, pve.confs())
    assert pve.volumes() == [], (delay, pve.volumes())
    assert os.listdir(pve.lxc) == []


def test_bad_settings_fail_before_anything_is_made(pve, pcli, make_bundle, runtime_root):
    bundle = make_bundle(["sleep", "1"])
    pve.write_config(storage="local")
    p = pcli("create", "--bundle", bundle, "b")
    assert p.returncode != 0 and "storage 'local' is of type dir" in p.stderr, p.stderr
    pve.write_config(storage="nope")
    p = pcli("create", "--bundle", bundle, "b")
    assert p.returncode != 0 and "no storage 'nope'" in p.stderr, p.stderr
    assert pve.confs() == [] and not os.path.exists(os.path.join(runtime_root, "b"))
    # the annotation turns it off per container: a plain container, nothing on PVE
    pve.write_config()
    b2 = make_bundle(["sleep", "1"], annotations={"org.proxmox-lxcri.pve.register": "false"})
    ok(pcli("create", "--bundle", b2, "plain", detached=True))
    assert pve.confs() == [] and "pve" not in json.load(open(os.path.join(runtime_root, "plain", "state.json")))
    ok(pcli("delete", "--force", "plain"))


def test_checkpoints_are_pve_snapshots(pve, pcli, make_bundle, runtime_root):
    ok(pcli("run", "-d", "--bundle", make_bundle(["sleep", "1000"]), "s", detached=True))
    vmid = vmid_of(runtime_root, "s")
    ok(pcli("checkpoint", "--name", "first", "s"))
    ok(pcli("checkpoint", "--name", "second", "s"))
    conf = pve.conf(vmid)
    assert "\n[first]\n" in conf and "\n[second]\n" in conf, conf
    assert "parent: second" in conf.split("\n[")[0], conf
    second = conf.split("\n[second]\n")[1]
    assert "parent: first" in second and "snaptime: " in second, conf
    ok(pcli("checkpoint", "--delete", "first", "s"))
    conf = pve.conf(vmid)
    assert "[first]" not in conf and "parent: first" not in conf, conf
    # restore rolls the volume and the CT config back; vmid and config stay
    ok(pcli("kill", "s", "KILL"))
    assert wait_for(lambda: json.loads(pcli("state", "s").stdout)["status"] == "stopped", 10)
    ok(pcli("restore", "-d", "s", detached=True))
    assert vmid_of(runtime_root, "s") == vmid
    assert "\n[second]\n" in pve.conf(vmid)
    assert "RUNNING" in lxc("lxc-info", pve, vmid).stdout
    ok(pcli("delete", "--force", "s"))
    assert pve.confs() == [] and pve.volumes() == []


def test_ctr_run_exit_status_and_kill(pve, binary, monkeypatch):
    clients.ensure_tools("containerd", "ctr", "umoci")
    monkeypatch.setenv("PROXMOX_LXCRI_CONFIG", pve.config)  # containerd -> shim -> our create
    top = tempfile.mkdtemp(prefix="plx-pvereg-ctr-")
    d = None
    try:
        d = clients.Containerd(os.path.join(top, "containerd"), binary, clients.build_image(os.path.join(top, "image")))
        d.start()
        d.import_image()
        image = f"{clients.IMAGE_NAME}:latest"
        argv = ["ctr", "--address", str(d.sock), "--namespace", d.namespace, "run", "--rm",
                *d.runtime_flags(), image]
        p = clients.run([*argv, "x1", "/bin/sh", "-c", "exit 3"], check=False)
        assert p.returncode == 3, p.stderr + d.log_tail(15)
        proc = subprocess.Popen([*argv, "x2", "/bin/sleep", "1000"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: pve.confs() != [] and "RUNNING" in d.ctr("task", "ls").stdout, 30)
            vmid = int(pve.confs()[0].split(".")[0])
            assert "RUNNING" in lxc("lxc-info", pve, vmid).stdout
            d.ctr("task", "kill", "-s", "SIGKILL", "x2")
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 137, err
        assert wait_for(lambda: pve.confs() == [] and pve.volumes() == [], 10), (pve.confs(), pve.volumes())
    finally:
        if d is not None:
            d.cleanup()
        clients.unmount_under(top)
        shutil.rmtree(top, ignore_errors=True)


def test_podman_run_exit_status_and_kill(pve, binary):
    clients.ensure_tools("podman", "conmon", "umoci")
    top = clients.mkdtemp_hex("plx-pvereg-podman-")
    pm = None
    try:
        pm = clients.Podman(os.path.join(top, "podman"), binary, clients.build_image(os.path.join(top, "image")))
        pm.setup()
        # podman gives conmon (which runs our create) only containers.conf's conmon_env_vars
        conf = pm.conf.read_text().replace(
            "[engine]\n", f'[engine]\nconmon_env_vars = ["PATH={os.environ["PATH"]}", '
                          f'"PROXMOX_LXCRI_CONFIG={pve.config}"]\n', 1)
        pm.conf.write_text(conf)
        image = f"{clients.IMAGE_NAME}:latest"
        p = pm("run", "--name", "pvereg-x", *pm.RUN_FLAGS, image, "/bin/sh", "-c", "echo out; exit 3",
               check=False)
        assert p.returncode == 3 and p.stdout == "out\n", p.stderr
        assert len(pve.confs()) == 1

        cid = pm.run_detached(image, "/bin/sleep", "1000", name="pvereg-k")
        assert wait_for(lambda: len(pve.confs()) == 2, 10)
        vmid = max(int(c.split(".")[0]) for c in pve.confs())
        assert f"#managed by proxmox-lxcri, container {cid}" in pve.conf(vmid)
        assert "RUNNING" in lxc("lxc-info", pve, vmid).stdout
        pm("kill", "pvereg-k")
        assert pm("wait", "pvereg-k", timeout=30).stdout.strip() == "137"
        # podman runs the runtime's delete with an empty environment (no PATH): our zfs driver cannot
        # find zfs there (an open issue of the storage drivers), so delete with ours
        for c in pm("ps", "-a", "-q", "--no-trunc").stdout.split():
            ok(subprocess.run([binary, "--root", pm.RUNTIME_ROOT, "delete", "--force", c], capture_output=True,
                              text=True, timeout=60))
        assert pve.confs() == [] and pve.volumes() == [], (pve.confs(), pve.volumes())
    finally:
        if pm is not None:
            pm.cleanup()
        clients.unmount_under(top)
        shutil.rmtree(top, ignore_errors=True)
