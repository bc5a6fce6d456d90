# SPDX-License-Identifier: Apache-2.0
"""Remote mode against tests/pve_mock over HTTPS: create --name (image -> template -> upload -> CT with
entrypoint and env -> start), the name map kept in PVE, status/snapshot/rollback/stop/delete, the upload
skipped for an image PVE has already, failures mid-create leaving no CT, a vmid race retried, PVE's own
message for a bad parameter, start/delete dispatch between a local container and a remote CT, and
image export --pve-template.  The image is built here from busybox-static and imported into a store.

Run with PLX_BINARY=build-x/src/cli/proxmox-lxcri /usr/bin/python3 -m pytest tests/integration/test_pve_remote.py
"""
import io
import json
import os
import socket
import subprocess
import tarfile
import time

import pytest

from registry_env import Layout, busybox_layers
from test_pve_client import APIDATA, SECRET, SERVER, TOKEN, Mock, certs, mock, need_tool, text  # noqa: F401

REF = "localhost/plx/web:1"
DESCRIPTION = "managed by proxmox-lxcri, container %s"

pytestmark = pytest.mark.skipif(not APIDATA.exists(), reason="needs %s" % APIDATA)


def build_image(top):
    """busybox with an Entrypoint, a Cmd and an Env: an OCI layout directory."""
    lay = Layout(os.path.join(top, "layout"))
    descs, diffs = [], []
    for blob, diff in busybox_layers(b"v1"):
        descs.append(lay.blob(blob, "application/vnd.oci.image.layer.v1.tar+gzip"))
        diffs.append(diff)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi; sleep 1000"],
                         "Env": ["PATH=/bin", "MODE=image", "KEEP=1"]},
              "rootfs": {"type": "layers", "diff_ids": diffs}}
    cdesc = lay.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": descs}
    mdesc = lay.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    lay.name(mdesc, "1")
    return lay.path, mdesc["digest"]


@pytest.fixture
def env(binary, runtime_root, tmp_path, certs):  # noqa: F811
    """A mock PVE over HTTPS, a store holding REF, and run(*args) with a runtime config for both."""
    need_tool("zstd")
    proc = subprocess.Popen(["/usr/bin/python3", str(SERVER), "--apidata", str(APIDATA), "--token", TOKEN,
                             "--nodes", "pve,pve2", "--tls-cert", certs["cert"], "--tls-key", certs["key"]],
                            stdout=subprocess.PIPE, text=True)
    mock = Mock(proc, int(proc.stdout.readline()), "https", certs["ca"])
    store = tmp_path / "store"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "proxmox": {"hosts": [mock.host], "token": TOKEN, "node": "pve", "ca_file": certs["ca"]},
        "images": {"store": str(store)}}))
    os.chmod(config, 0o600)
    environ = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(config), TMPDIR=str(tmp_path))

    def run(*args, timeout=120, detached=False):
        # a local container's process keeps create's stdio: it must not be a pipe we wait on
        out = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if detached else {"capture_output": True}
        return subprocess.run([binary, "--root", runtime_root, *map(str, args)], text=True,
                              stdin=subprocess.DEVNULL, env=environ, timeout=timeout, **out)

    layout, digest = build_image(str(tmp_path))
    res = run("image", "import", "--name", REF, layout)
    assert res.returncode == 0, res.stderr
    mock.run, mock.digest, mock.tmp = run, digest, tmp_path
    yield mock
    proc.kill()
    proc.wait()


def create(m, name="web", *extra):
    return m.run("create", "--name", name, "--image", REF, "--memory", 512, "--cores", 1, "--storage", "local-zfs",
                 "--net0", "name=eth0,bridge=vmbr0,ip=dhcp", *extra)


def cts(m):
    return {int(k): v for k, v in m.state()["cts"].items()}


def template_name(m):
    return "proxmox-lxcri-%s.tar.zst" % m.digest[len("sha256:"):]


def test_create_lifecycle(env):
    m = env
    res = create(m, "web", "--env", "MODE=user", "--env", "NEW=1", "--", "echo hello; sleep 1000")
    assert res.returncode == 0, text(res)
    assert res.stdout == "100\n"
    assert SECRET not in res.stdout + res.stderr
    ct = cts(m)[100]
    cfg = ct["config"]
    assert ct["node"] == "pve" and ct["status"] == "running"
    assert cfg["hostname"] == "web" and cfg["memory"] == "512" and cfg["cores"] == "1"
    assert cfg["entrypoint"] == '/bin/sh -c "echo hello; sleep 1000"'
    assert cfg["description"] == DESCRIPTION % "web"
    assert cfg["tags"] == "proxmox-lxcri"
    assert cfg["unprivileged"] == "1" and cfg["ostype"] == "unmanaged"
    assert cfg["rootfs"] == "local-zfs:subvol-100-disk-0,size=8G"
    assert cfg["net0"] == "name=eth0,bridge=vmbr0,ip=dhcp"
    # the image's env, the user's value winning, the user's new one last: PVE's own OCI path drops these
    assert ct["lxc"] == [["lxc.environment.runtime", e] for e in ("PATH=/bin", "MODE=user", "KEEP=1", "NEW=1")]
    vols = m.state()["volumes"]["pve/local"]
    assert "vztmpl/" + template_name(m) in vols
    assert vols["vztmpl/" + template_name(m)]["size"] > 100000
    # nothing of the export is left behind locally
    assert not [p for p in os.listdir(m.tmp) if p.startswith("proxmox-lxcri-template-")]

    res = m.run("status", "web")
    assert res.returncode == 0, text(res)
    st = json.loads(res.stdout)
    assert (st["name"], st["vmid"], st["node"], st["status"]) == ("web", 100, "pve", "running")

    res = m.run("snapshot", "web", "before")
    assert res.returncode == 0 and res.stdout == "before\n", text(res)
    res = m.run("pve", "snapshot", "web")
    assert res.returncode == 0 and res.stdout.startswith("snap"), text(res)
    assert set(cts(m)[100]["snapshots"]) == {"before", res.stdout.strip()}
    res = m.run("rollback", "web", "before")
    assert res.returncode == 0, text(res)
    assert cts(m)[100]["config"]["parent"] == "before"
    assert cts(m)[100]["status"] == "running"  # it was running: started again
    assert any(r[1].endswith("/snapshot/before/rollback") for r in m.state()["requests"])

    res = m.run("stop", "web")
    assert res.returncode == 0, text(res)
    assert cts(m)[100]["status"] == "stopped"
    assert any(r[1].endswith("/100/status/shutdown") for r in m.state()["requests"])
    res = m.run("pve", "list")
    assert res.returncode == 0 and res.stdout.splitlines()[1].split() == ["web", "100", "pve", "stopped"]

    res = m.run("pve", "delete", "web")
    assert res.returncode == 0, text(res)
    assert cts(m) == {}
    res = m.run("status", "web")
    assert res.returncode == 1 and "no CT named web managed by proxmox-lxcri in the PVE cluster" in text(res)


def test_second_create_skips_upload(env):
    m = env
    assert create(m, "one").returncode == 0
    assert create(m, "two").returncode == 0
    uploads = [r for r in m.state()["requests"] if r[1].endswith("/upload")]
    assert len(uploads) == 1
    assert {c["config"]["hostname"] for c in cts(m).values()} == {"one", "two"}
    # the image's own Cmd when no arguments are given
    assert cts(m)[101]["config"]["entrypoint"] == '/bin/sh -c "echo hi; sleep 1000"'
    # a name is taken once
    res = create(m, "one")
    assert res.returncode == 1 and "CT one exists already: vmid 100 on node pve" in text(res)
    assert len(cts(m)) == 2


@pytest.mark.parametrize("task", ["vzcreate", "vzstart"])
def test_failure_mid_create_leaves_no_ct(env, task):
    m = env
    m.faults(fail_task_type=task, fail_next_task="startup for container '100' failed")
    res = create(m)
    assert res.returncode == 1
    assert "PVE task %s 100 on node pve failed: startup for container '100' failed" % task in text(res)
    assert cts(m) == {}
    # the template stays: it is named by the image and the next create uses it
    assert "vztmpl/" + template_name(m) in m.state()["volumes"]["pve/local"]
    assert create(m).returncode == 0


def test_vmid_race_retried(env):
    m = env
    m.faults(nextid_race=2)
    res = m.run("--debug", "create", "--name", "web", "--image", REF, "--storage", "local-zfs")
    assert res.returncode == 0, text(res)
    assert res.stdout == "102\n"
    assert "vmid 100 was taken meanwhile" in text(res)
    c = cts(m)
    assert c[100]["config"]["hostname"] == "racer" and c[101]["config"]["hostname"] == "racer"
    assert c[102]["config"]["description"] == DESCRIPTION % "web"


def test_bad_parameter_reported_with_pve_message(env):
    m = env
    res = m.run("create", "--name", "web", "--image", REF, "--storage", "local-zfs", "--memory", 8)
    assert res.returncode == 1
    assert "PVE rejected parameter 'memory': value must have a minimum value of 16" in text(res)
    res = m.run("create", "--name", "web", "--image", REF, "--storage", "local-zfs", "--env", "A-B=1")
    assert res.returncode == 1 and "PVE rejected parameter 'env'" in text(res)
    res = m.run("create", "--name", "web", "--image", REF, "--storage", "local-zfs", "--template-storage",
                "local-zfs")
    assert res.returncode == 1 and "storage 'local-zfs' does not support 'vztmpl' content" in text(res)
    assert cts(m) == {}
    res = m.run("create", "--name", "web", "--image", REF, "--storage", "local-zfs", "--bundle", "/x")
    assert res.returncode == 1 and "--bundle does not apply to a CT on Proxmox VE" in text(res)


def test_ostemplate_must_exist(env):
    m = env
    res = m.run("pve", "api", "POST", "/nodes/pve/lxc", "vmid=150", "ostemplate=local:vztmpl/nope.tar.zst",
                "rootfs=local-zfs:8")
    assert res.returncode == 1 and "can't find file 'local:vztmpl/nope.tar.zst'" in text(res)
    assert cts(m) == {}


def test_start_delete_dispatch(env, make_bundle):
    m = env
    assert create(m).returncode == 0
    assert m.run("stop", "--force", "web").returncode == 0
    # no local container "web": start and delete go to PVE
    res = m.run("start", "web")
    assert res.returncode == 0, text(res)
    assert cts(m)[100]["status"] == "running"
    # a local container of that ID wins
    bundle = make_bundle(["sleep", "1000"])
    res = m.run("create", "--bundle", bundle, "web", detached=True)
    assert res.returncode == 0
    assert m.run("stop", "web").returncode == 0
    res = m.run("start", "web")
    assert res.returncode == 0, text(res)
    assert cts(m)[100]["status"] == "stopped"
    res = m.run("state", "web")
    assert res.returncode == 0 and json.loads(res.stdout)["status"] == "running"
    res = m.run("delete", "--force", "web")
    assert res.returncode == 0, text(res)
    assert 100 in cts(m)
    # now the name is PVE's again
    res = m.run("delete", "web")
    assert res.returncode == 0, text(res)
    assert cts(m) == {}
    # neither here nor there: runc's answer
    res = m.run("start", "nosuch")
    assert res.returncode == 1 and "container does not exist" in text(res)


@pytest.fixture
def local(binary, runtime_root, tmp_path):
    """local(section, *args): (result, seconds) of a run with the runtime config {"proxmox": section}."""

    def run(section, *args):
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"proxmox": section}))
        os.chmod(config, 0o600)
        environ = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(config))
        start = time.monotonic()
        res = subprocess.run([binary, "--root", runtime_root, *args], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, env=environ, timeout=120)
        return res, time.monotonic() - start

    return run


def test_register_only_section_never_asks_pve(local, mock):
    m = mock()
    # node-local registration: no hosts, or hosts but no token; neither is a cluster to ask
    for section in ({"register": True}, {"register": True, "hosts": [m.host], "scheme": "http"}):
        for args in (["start", "nosuch"], ["delete", "nosuch"]):
            res, _ = local(section, *args)
            assert res.returncode == 1 and "container does not exist: nosuch" in text(res)
            assert "level=warning" not in res.stderr and "Proxmox VE" not in res.stderr, res.stderr
        res, _ = local(section, "delete", "--force", "nosuch")
        assert res.returncode == 0 and res.stderr == "", res.stderr
    assert m.requests() == []


def test_missing_container_with_pve_hanging_stays_quick(local):
    """containerd deletes containers that are gone: hosts that take the connection and never answer must
    not hold that up for proxmox.timeout (30 s) each."""
    # the kernel accepts connections to a listening socket nobody accept()s: requests hang
    hangs = [socket.socket() for _ in range(2)]
    for s in hangs:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
    section = {"hosts": ["127.0.0.1:%d" % s.getsockname()[1] for s in hangs], "scheme": "http", "token": TOKEN}
    try:
        res, took = local(section, "delete", "--force", "nosuch")
        assert res.returncode == 0, text(res)
        # the lookup gives each host 2 s, not proxmox.timeout
        assert took < 10, took
        assert "looking it up on Proxmox VE failed" in text(res)
        res, took = local(section, "start", "nosuch")
        assert res.returncode == 1 and "container does not exist: nosuch" in text(res)
        assert took < 10, took
    finally:
        for s in hangs:
            s.close()


def test_image_export_pve_template(env):
    m = env
    out = m.tmp / "web.tar.zst"
    # arguments replace Cmd, the Entrypoint (/bin/sh -c) stays
    res = m.run("image", "export", "--pve-template", REF, out, "-e", "MODE=user", "--", "echo 'a b'")
    assert res.returncode == 0, text(res)
    assert "entrypoint: /bin/sh -c \"echo 'a b'\"" in res.stdout
    assert "lxc.environment.runtime: MODE=user" in res.stdout
    plain = subprocess.run(["zstd", "-d", "-c", str(out)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as t:
        members = {i.name: i for i in t.getmembers()}
    assert members["."].isdir()  # "./": python's tarfile drops a directory's trailing "/"
    assert members["./bin/busybox"].isfile() and members["./bin/busybox"].mode & 0o111
    assert members["./bin/sh"].issym() and members["./bin/sh"].linkname == "busybox"
    assert members["./etc/version"].uid == 0 and members["./etc/version"].uname == ""
    assert all(n == "." or n.startswith("./") for n in members)
    # from a bundle directory, with its process
    bdir = m.tmp / "bundle"
    (bdir / "rootfs" / "etc").mkdir(parents=True)
    (bdir / "rootfs" / "etc" / "x").write_text("x")
    os.chown(bdir / "rootfs" / "etc" / "x", 1234, 5678)
    os.setxattr(bdir / "rootfs" / "etc" / "x", "user.plx", b"v")
    os.link(bdir / "rootfs" / "etc" / "x", bdir / "rootfs" / "etc" / "y")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(bdir / "rootfs" / "etc" / "sock"))
    (bdir / "config.json").write_text(json.dumps({"root": {"path": "rootfs"},
                                                  "process": {"args": ["/bin/app", "--x"], "env": ["A=1"]}}))
    res = m.run("image", "export", "--pve-template", "--from-bundle", bdir, m.tmp / "b.tar.zst")
    assert res.returncode == 0, text(res)
    assert "entrypoint: /bin/app --x\nlxc.environment.runtime: A=1\n" in res.stdout
    plain = subprocess.run(["zstd", "-d", "-c", str(m.tmp / "b.tar.zst")], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as t:
        x = t.getmember("./etc/x")
        y = t.getmember("./etc/y")
        names = t.getnames()
    sock.close()
    assert y.islnk() and y.linkname == "./etc/x"
    assert "./etc/sock" not in names  # tar has no type for a socket
    assert (x.uid, x.gid) == (1234, 5678)
    assert x.pax_headers.get("SCHILY.xattr.user.plx") == "v"
    res = m.run("image", "export", REF, m.tmp / "c.tar.zst")
    assert res.returncode == 1 and "--pve-template" in text(res)
