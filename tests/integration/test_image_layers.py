# SPDX-License-Identifier: Apache-2.0
"""Layers as snapshots (zfs-fuse, btrfs): each layer unpacked once into layer-<chain id>, a clone
of its parent's @done; containers are clones of the top layer; a layer shared by two images is
stored once; a half-made layer is made again; image rm/prune keep what a container or another
image needs; anonymous volumes are storage volumes destroyed by delete.  On dir: layer directories
under an overlay that only the container's mount namespace holds (upper/ in its volume): unpacked
once, shared, kept while used; checkpoint/restore; a SIGKILLed create leaves no host mount."""
import hashlib
import json
import os
import subprocess
import tempfile
import time

import pytest

from registry_env import Layout
from storage_env import btrfs_subvolumes, run as srun, storage_base, zfs_datasets  # noqa: F401 (fixture)
from test_image_bundle import app_layer, base_layer, build_image, layer, need_tools, upper_layer, REF

REF2 = "localhost/plx/app2:1"


def chain_ids(diff_ids):
    out = [diff_ids[0]]
    for d in diff_ids[1:]:
        out.append("sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


def layer_names(diff_ids):
    return ["layer-" + c.split(":", 1)[1] for c in chain_ids(diff_ids)]


def build_image2(path):
    """Shares the first two layers with build_image(), then a different app layer."""
    lay = Layout(path)
    descs, diff_ids = [], []

    def other_app(t):
        app_layer(t)
        from test_image_bundle import member
        member(t, "app/other", data=b"second image\n")
    for fill, comp in ((base_layer, "gzip"), (upper_layer, "zstd"), (other_app, "plain")):
        blob, diff_id, mt = layer(fill, comp)
        descs.append(lay.blob(blob, mt))
        diff_ids.append(diff_id)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Entrypoint": ["/bin/sh", "/app/entry.sh"], "Cmd": ["default"],
                         "Env": ["PATH=/bin"], "Volumes": {"/data": {}}},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdesc = lay.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": descs}
    lay.name(lay.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"), "1")
    return path, diff_ids


def diff_ids_of(layout):
    with open(os.path.join(layout, "index.json")) as f:
        m = json.load(f)["manifests"][0]["digest"].split(":")[1]
    with open(os.path.join(layout, "blobs", "sha256", m)) as f:
        c = json.load(f)["config"]["digest"].split(":")[1]
    with open(os.path.join(layout, "blobs", "sha256", c)) as f:
        return json.load(f)["rootfs"]["diff_ids"]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    need_tools()
    d = tmp_path_factory.mktemp("layouts")
    one = build_image(str(d / "app"))
    two, diff2 = build_image2(str(d / "app2"))
    return {"one": (one, diff_ids_of(one)), "two": (two, diff2)}


@pytest.fixture(params=["zfs", "btrfs"])
def env(request, binary, runtime_root, tmp_path, storage_base, layouts):
    driver = request.param
    base = storage_base(driver)
    storage = {"driver": driver, driver: {"parent" if driver == "zfs" else "path": base}}
    store = tmp_path / "store"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"images": {"store": str(store)}, "storage": storage}))
    envv = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg))

    def plx(*args, **kw):
        if "stdout" not in kw:
            kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 180)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([binary, "--root", runtime_root, *args], env=envv, **kw)

    def volumes():
        if driver == "zfs":
            return sorted(n.split("/")[-1] for n in zfs_datasets(base) if "@" not in n)
        return sorted(os.listdir(os.path.join(base, "volumes"))) if os.path.isdir(
            os.path.join(base, "volumes")) else []

    plx.driver, plx.base, plx.store, plx.volumes = driver, base, str(store), volumes
    for name, ref in (("one", REF), ("two", REF2)):
        ok(plx("image", "import", layouts[name][0], "--name", ref))
    yield plx
    # whatever a failed test left: containers first, then the layers
    for c in json.loads(plx("list", "--format", "json").stdout or "[]") or []:
        plx("delete", "--force", c["id"])


def ok(p):
    assert p.returncode == 0, f"rc={p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def detached(plx, *args):
    with tempfile.TemporaryFile("w+") as f:
        p = plx(*args, stdout=f, stderr=f)
        f.seek(0)
        assert p.returncode == 0, f.read()


def layers_on(plx):
    return [v for v in plx.volumes() if v.startswith("layer-")]


def test_layers_cloned_and_shared(env, layouts):
    plx = env
    names1 = layer_names(layouts["one"][1])
    names2 = layer_names(layouts["two"][1])
    assert names1[:2] == names2[:2] and names1[2] != names2[2]

    p = ok(plx("run", "--image", REF, "ly-run", "--", "hi"))
    assert "args=hi" in p.stdout and "seeded by the image" in p.stdout and "data mounted" in p.stdout
    assert sorted(layers_on(plx)) == sorted(names1)
    # run deleted the container: its clone and its anonymous volume are gone, the layers stay
    assert [v for v in plx.volumes() if not v.startswith("layer-")] == []

    detached(plx, "create", "--image", REF, "ly-a", "--", "hi")
    st = json.loads(ok(plx("state", "ly-a")).stdout)
    rec = json.load(open(os.path.join(plx.store, "bundles", "ly-a", "config.json")))
    top = names1[-1]
    assert top in rec["root"]["path"]
    # the rootfs is a clone of the top layer, not a copy
    vols = plx.volumes()
    assert "ly-a" in vols
    anon = [v for v in vols if v.startswith("ly-a-v-")]
    assert len(anon) == 1
    if plx.driver == "zfs":
        origin = srun("zfs", "get", "-H", "-o", "value", "origin", f"{plx.base}/ly-a").stdout.strip()
        assert origin.startswith(f"{plx.base}/{top}@"), origin
        # zfs-fuse shows readonly as "off (temporary)" even when set: try a write instead
        mp = srun("zfs", "get", "-H", "-o", "value", "mountpoint", f"{plx.base}/{top}").stdout.strip()
        with pytest.raises(OSError):
            open(os.path.join(mp, "written"), "w").close()
    else:
        assert st["rootfs"] == os.path.join(plx.base, "volumes", "ly-a")
        info = srun("btrfs", "subvolume", "show", st["rootfs"]).stdout
        assert "Parent UUID" in info and "Parent UUID:\t\t-" not in info
    # the volume starts with the image's content
    with open(os.path.join(st["rootfs"], "app", "entry.sh")) as f:
        assert "args=" in f.read()

    # a second image: only its own top layer is unpacked
    detached(plx, "create", "--image", REF2, "ly-b")
    assert sorted(layers_on(plx)) == sorted(set(names1 + names2))

    # rm of the first image: its own top layer goes unless a container is a clone of it (zfs)
    ok(plx("image", "rm", REF))
    left = layers_on(plx)
    assert names2[0] in left and names2[1] in left and names2[2] in left
    assert (names1[2] in left) == (plx.driver == "zfs")
    ok(plx("delete", "--force", "ly-a"))
    ok(plx("delete", "--force", "ly-b"))
    assert [v for v in plx.volumes() if not v.startswith("layer-")] == []
    ok(plx("image", "prune"))
    assert sorted(layers_on(plx)) == sorted(names2)
    ok(plx("image", "rm", REF2))
    assert layers_on(plx) == []
    if plx.driver == "zfs":
        assert zfs_datasets(plx.base) == []
    else:
        assert btrfs_subvolumes(plx.base) == []


def test_half_made_layer_is_made_again(env, layouts):
    plx = env
    names = layer_names(layouts["one"][1])
    # a layer volume without its @done, as a make killed mid-unpack leaves it
    if plx.driver == "zfs":
        srun("zfs", "create", f"{plx.base}/{names[0]}")
        mp = srun("zfs", "get", "-H", "-o", "value", "mountpoint", f"{plx.base}/{names[0]}").stdout.strip()
    else:
        os.makedirs(os.path.join(plx.base, "volumes"), exist_ok=True)
        mp = os.path.join(plx.base, "volumes", names[0])
        srun("btrfs", "subvolume", "create", mp)
    with open(os.path.join(mp, "junk"), "w") as f:
        f.write("half\n")
    detached(plx, "create", "--image", REF, "ly-half")
    st = json.loads(ok(plx("state", "ly-half")).stdout)
    assert not os.path.exists(os.path.join(st["rootfs"], "junk"))
    assert os.path.exists(os.path.join(st["rootfs"], "bin", "busybox"))
    ok(plx("delete", "--force", "ly-half"))
    ok(plx("image", "rm", REF))
    ok(plx("image", "rm", REF2))
    assert layers_on(plx) == []


# ---- dir: layer directories under overlayfs ----

@pytest.fixture
def dir_env(binary, runtime_root, tmp_path, storage_base, layouts):
    base = storage_base("dir")
    store = tmp_path / "store"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"images": {"store": str(store)},
                               "storage": {"driver": "dir", "dir": {"path": base}}}))
    envv = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg))

    def plx(*args, **kw):
        if "stdout" not in kw:
            kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 180)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([binary, "--root", runtime_root, *args], env=envv, **kw)

    plx.base, plx.store, plx.root, plx.env, plx.binary = base, str(store), runtime_root, envv, binary
    plx.layers = lambda: sorted(os.listdir(os.path.join(base, "layers"))) if os.path.isdir(
        os.path.join(base, "layers")) else []
    plx.volumes = lambda: sorted(os.listdir(os.path.join(base, "volumes"))) if os.path.isdir(
        os.path.join(base, "volumes")) else []
    for name, ref in (("one", REF), ("two", REF2)):
        ok(plx("image", "import", layouts[name][0], "--name", ref))
    yield plx
    for c in json.loads(plx("list", "--format", "json").stdout or "[]") or []:
        plx("delete", "--force", c["id"])


def overlay_mounts(base):
    """Overlay mounts in our (the host's) mount namespace that use the storage base."""
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if " overlay " in line and base in line]


def layer_stamp(plx):
    out = {}
    for n in plx.layers():
        st = os.stat(os.path.join(plx.base, "layers", n, "diff"))
        out[n] = (st.st_ino, st.st_mtime_ns)
    return out


def sh(plx, cid, script):
    return ok(plx("exec", "--user", "0:0", cid, "/bin/sh", "-c", script)).stdout


def test_dir_layers_overlay(dir_env, layouts):
    plx = dir_env
    names1 = layer_names(layouts["one"][1])
    names2 = layer_names(layouts["two"][1])

    p = ok(plx("run", "--image", REF, "dl-run", "--", "hi"))
    assert "args=hi" in p.stdout and "seeded by the image" in p.stdout and "data mounted" in p.stdout
    assert plx.layers() == sorted(names1)
    stamp = layer_stamp(plx)
    # run deleted the container: its volume is gone, the layers stay
    assert plx.volumes() == []

    # the second create unpacks nothing: the same layer directories, untouched
    detached(plx, "create", "--image", REF, "dl-a", "--", "wait")
    assert layer_stamp(plx) == stamp
    st = json.loads(ok(plx("state", "dl-a")).stdout)
    state = json.load(open(os.path.join(plx.root, "dl-a", "state.json")))
    rec = state["storage"]
    assert rec["driver"] == "dir" and rec["volume"] == "dl-a"
    assert rec["layers"] == [os.path.join(plx.base, "layers", n, "diff") for n in reversed(names1)]
    # the rootfs is an overlay inside the container only: on the host an empty directory
    assert st["rootfs"] == os.path.join(plx.root, "dl-a", "rootfs")
    assert os.listdir(st["rootfs"]) == []
    assert overlay_mounts(plx.base) == []
    bundle = json.load(open(os.path.join(plx.store, "bundles", "dl-a", "config.json")))
    assert bundle["root"]["path"] == "rootfs"
    assert bundle["annotations"]["org.proxmox-lxcri.rootfs.layer"] == names1[-1]

    # the image as its layers make it: whiteouts and the opaque directory hold
    ok(plx("start", "dl-a"))
    assert sh(plx, "dl-a", "ls /opt; ls /lower/dir; cat /app/entry.sh | head -1").split() == \
        ["kept", "b", "#!/bin/sh"]
    # writes land in the container's upper/, never in a layer
    sh(plx, "dl-a", "echo written > /opt/new; rm /opt/kept")
    upper = os.path.join(plx.base, "volumes", "dl-a", "upper")
    assert open(os.path.join(upper, "opt", "new")).read() == "written\n"
    assert os.stat(os.path.join(upper, "opt", "kept")).st_rdev == 0  # a whiteout
    for n in names1:
        assert not os.path.exists(os.path.join(plx.base, "layers", n, "diff", "opt", "new"))
    assert os.path.exists(os.path.join(plx.base, "layers", names1[0], "diff", "opt", "kept"))

    # a second image: only its own top layer is unpacked, the shared two are stored once
    detached(plx, "create", "--image", REF2, "dl-b")
    assert plx.layers() == sorted(set(names1 + names2))
    assert {n: s for n, s in layer_stamp(plx).items() if n in stamp} == stamp

    # rm of the first image: its top layer stays while dl-a's overlay uses it
    p = ok(plx("image", "rm", REF))
    assert names1[2] in plx.layers()
    ok(plx("delete", "--force", "dl-a"))
    ok(plx("delete", "--force", "dl-b"))
    assert plx.volumes() == []
    ok(plx("image", "prune"))
    assert plx.layers() == sorted(names2)
    ok(plx("image", "rm", REF2))
    assert plx.layers() == []
    assert overlay_mounts(plx.base) == []


def test_dir_overlay_checkpoint_restore(dir_env):
    plx = dir_env
    detached(plx, "create", "--image", REF, "dl-c", "--", "wait")
    ok(plx("start", "dl-c"))
    sh(plx, "dl-c", "echo one > /opt/state")
    ok(plx("checkpoint", "--name", "cp1", "dl-c"))
    sh(plx, "dl-c", "echo two > /opt/state; rm /opt/kept")
    # --as: a copy of the volume (upper/) on the same layers
    detached(plx, "restore", "--as", "dl-d", "--detach", "dl-c")
    assert sh(plx, "dl-d", "cat /opt/state; ls /opt").split() == ["one", "kept", "state"]
    assert sh(plx, "dl-c", "cat /opt/state; ls /opt").split() == ["two", "state"]
    rec_d = json.load(open(os.path.join(plx.root, "dl-d", "state.json")))["storage"]
    rec_c = json.load(open(os.path.join(plx.root, "dl-c", "state.json")))["storage"]
    assert rec_d["layers"] == rec_c["layers"] and rec_d["volume"] == "dl-d"
    # in place: rolled back, made again from its own bundle
    ok(plx("kill", "dl-c", "KILL"))
    for _ in range(50):
        if json.loads(ok(plx("state", "dl-c")).stdout)["status"] == "stopped":
            break
        time.sleep(0.1)
    detached(plx, "restore", "--detach", "dl-c")
    assert sh(plx, "dl-c", "cat /opt/state; ls /opt").split() == ["one", "kept", "state"]
    assert overlay_mounts(plx.base) == []
    ok(plx("delete", "--force", "dl-c"))
    ok(plx("delete", "--force", "dl-d"))
    assert plx.volumes() == []
    assert not os.path.exists(os.path.join(plx.store, "bundles", "dl-c"))


def test_dir_overlay_sigkill_create_leaves_no_mount(dir_env):
    plx = dir_env
    ok(plx("image", "bundle", REF, os.path.join(plx.store, "warm")))  # the blobs read once
    for i, delay in enumerate((0.05, 0.15, 0.3, 0.6)):
        cid = f"dl-k{i}"
        with tempfile.TemporaryFile("w+") as f:
            p = subprocess.Popen([plx.binary, "--root", plx.root, "create", "--image", REF, cid, "--", "wait"],
                                 env=plx.env, stdin=subprocess.DEVNULL, stdout=f, stderr=f)
            time.sleep(delay)
            p.kill()
            p.wait()
        assert overlay_mounts(plx.base) == []
        plx("delete", "--force", cid)
        assert overlay_mounts(plx.base) == []
    # whatever the kills left is cleaned by delete --force, and the next create works
    detached(plx, "create", "--image", REF, "dl-k", "--", "hi")
    assert overlay_mounts(plx.base) == []
    ok(plx("delete", "--force", "dl-k"))
    assert plx.volumes() == []
