# SPDX-License-Identifier: Apache-2.0
"""image update ID against a real registry: a new push of the same tag moves the container onto
it, keeping its id, volumes (bundle volumes/ or storage volumes) and the user's flags; no change
is "up to date"; a running container needs --restart, which stops it and runs it again."""
import json
import os
import subprocess
import tempfile
import time

import pytest

from registry_env import Layout, registry_env, run as rrun, tar_layer  # noqa: F401  (fixture)
from storage_env import storage_base  # noqa: F401  (fixture)

SCRIPT = b"""#!/bin/sh
echo "version=$(cat /etc/version) mode=$MODE args=$*" >> /data/log
if [ "$1" = wait ]; then
    trap 'exit 0' TERM
    while :; do sleep 0.1; done
fi
"""


def push(env, layout_dir, version):
    bb = open("/bin/busybox", "rb").read()
    lay = Layout(os.path.join(layout_dir, version))
    base = tar_layer({"bin/": ("dir",), "bin/busybox": bb, "bin/sh": ("symlink", "busybox"),
                      "bin/cat": ("symlink", "busybox"), "bin/echo": ("symlink", "busybox"),
                      "bin/sleep": ("symlink", "busybox")})
    top = tar_layer({"etc/": ("dir",), "etc/version": version.encode(), "app/": ("dir",), "app/run": SCRIPT,
                     "data/": ("dir",), "data/seed": b"image " + version.encode() + b"\n"})
    desc = lay.image([base, top])
    # the Layout helper writes a plain config: add the entrypoint and the volume
    cfg_desc = json.load(open(os.path.join(lay.path, "blobs", "sha256", desc["digest"][7:])))["config"]
    cfg = json.load(open(os.path.join(lay.path, "blobs", "sha256", cfg_desc["digest"][7:])))
    cfg["config"].update({"Entrypoint": ["/bin/sh", "/app/run"], "Cmd": ["default"], "Volumes": {"/data": {}},
                          "Env": ["PATH=/bin", "MODE=image"]})
    cdesc = lay.blob(json.dumps(cfg).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = json.load(open(os.path.join(lay.path, "blobs", "sha256", desc["digest"][7:])))
    manifest["config"] = cdesc
    lay.name(lay.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"), "latest")
    rrun("skopeo", "copy", "--dest-tls-verify=false", f"oci:{lay.path}:latest",
         f"docker://{env.plain.host}/upd/app:latest")


@pytest.fixture(params=["bundle", "btrfs"])
def plx(request, binary, runtime_root, tmp_path, registry_env, storage_base):  # noqa: F811
    cfg = {"images": {"store": str(tmp_path / "store")}}
    if request.param != "bundle":
        cfg["storage"] = {"driver": "btrfs", "btrfs": {"path": storage_base("btrfs")}}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    envv = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(tmp_path / "config.json"))

    def run(*args, **kw):
        if "stdout" not in kw:
            kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 120)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([binary, "--root", runtime_root, *args], env=envv, **kw)

    run.ref = f"{registry_env.plain.host}/upd/app:latest"
    run.store = str(tmp_path / "store")
    run.layouts = str(tmp_path / "layouts")
    run.kind = request.param
    push(registry_env, run.layouts, "v1")
    yield run
    for c in json.loads(run("list", "--format", "json").stdout or "[]") or []:
        run("delete", "--force", c["id"])


def ok(p):
    assert p.returncode == 0, f"rc={p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def detached(plx, *args, check=True):
    """A command that leaves a container process behind: its stdio must not be our pipe."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = plx(*args, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read(), err.read()
    if check:
        assert p.returncode == 0, f"rc={p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def wait_status(plx, cid, want, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        st = json.loads(ok(plx("state", cid)).stdout)
        if st["status"] == want:
            return st
        time.sleep(0.1)
    raise AssertionError(f"{cid} not {want}: {st['status']}")


def data_log(plx, cid):
    st = json.loads(ok(plx("state", cid)).stdout)
    cfg = json.load(open(os.path.join(st["bundle"], "config.json")))
    src = [m["source"] for m in cfg["mounts"] if m["destination"] == "/data"][0]
    return open(os.path.join(src, "log")).read()


def test_update_stopped(plx, registry_env):  # noqa: F811
    ok(plx("image", "pull", "-q", plx.ref))
    detached(plx, "create", "--image", plx.ref, "--env", "MODE=user", "upd", "--", "one", "two")
    ok(plx("start", "upd"))
    wait_status(plx, "upd", "stopped")
    old = json.loads(ok(plx("state", "upd")).stdout)["annotations"]["org.proxmox-lxcri.image.digest"]

    p = detached(plx, "image", "update", "upd")
    assert "is up to date" in p.stdout and old in p.stdout

    push(registry_env, plx.layouts, "v2")
    p = detached(plx, "image", "update", "upd")
    st = json.loads(ok(plx("state", "upd")).stdout)
    new = st["annotations"]["org.proxmox-lxcri.image.digest"]
    assert new != old and f"{old} -> {new}" in p.stdout
    assert st["status"] == "created" and st["id"] == "upd"
    ok(plx("start", "upd"))
    wait_status(plx, "upd", "stopped")
    # the volume kept its data (and the image's seed from v1), the user's flags stayed
    log = data_log(plx, "upd")
    assert log == "version=v1 mode=user args=one two\nversion=v2 mode=user args=one two\n", log
    st = json.loads(ok(plx("state", "upd")).stdout)
    cfg = json.load(open(os.path.join(st["bundle"], "config.json")))
    src = [m["source"] for m in cfg["mounts"] if m["destination"] == "/data"][0]
    assert open(os.path.join(src, "seed")).read() == "image v1\n"
    assert not os.path.exists(st["bundle"] + "@old") and not os.path.exists(st["bundle"] + "@update")
    ok(plx("delete", "upd"))
    assert not os.path.exists(st["bundle"])
    if plx.kind == "btrfs":
        base = json.load(open(os.path.join(plx.store, "..", "config.json")))["storage"]["btrfs"]["path"]
        assert [v for v in os.listdir(os.path.join(base, "volumes")) if not v.startswith("layer-")] == []


def test_update_running_needs_restart(plx, registry_env):  # noqa: F811
    ok(plx("image", "pull", "-q", plx.ref))
    detached(plx, "run", "-d", "--image", plx.ref, "updr", "--", "wait")
    wait_status(plx, "updr", "running")
    push(registry_env, plx.layouts, "v3")
    p = detached(plx, "image", "update", "updr", check=False)
    assert p.returncode != 0 and "--restart" in p.stderr
    # refused before anything changed
    assert json.loads(ok(plx("state", "updr")).stdout)["status"] == "running"

    p = detached(plx, "image", "update", "--restart", "updr")
    assert "(restarted)" in p.stdout
    wait_status(plx, "updr", "running")
    time.sleep(0.3)
    assert data_log(plx, "updr").splitlines()[-1] == "version=v3 mode=image args=wait"
    ok(plx("delete", "--force", "updr"))
