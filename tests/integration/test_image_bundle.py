# SPDX-License-Identifier: Apache-2.0
"""image bundle, run/create --image: a multi-layer image built here (python tarfile, gzip, zstd and
plain layers, every entry type, whiteouts, an opaque directory), imported into a store, unpacked,
compared with umoci's unpack, and run by this runtime and by runc."""
import functools
import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
import tempfile
import time

import pytest

import registry_env
from registry_env import Layout, sha

TOOLS = {"umoci": "umoci", "runc": "runc", "zstd": "zstd"}
REF = "localhost/plx/app:1"
MTIME = 1600000000

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "app:x:1000:1000:App:/home/app:/bin/sh\n")
GROUP = "root:x:0:\nwheel:x:10:app\napp:x:1000:\n"
ENTRY = """#!/bin/sh
echo "args=$*"
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"
echo "pwd=$(pwd)"
echo "mode=$MODE keep=$KEEP home=$HOME"
cat /data/seed
grep -q ' /data ' /proc/mounts && echo "data mounted"
if [ "$1" = wait ]; then
    trap 'echo usr1 > /data/got; exit 3' USR1
    while :; do sleep 0.1; done
fi
"""


need_tools = functools.partial(registry_env.need_tools, TOOLS)


def member(t, name, kind="file", data=b"", mode=0o644, uid=0, gid=0, link=None, xattrs=None, dev=(0, 0)):
    info = tarfile.TarInfo(name)
    info.mtime, info.mode, info.uid, info.gid = MTIME, mode, uid, gid
    if xattrs:
        info.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    types = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
             "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}
    if kind == "file":
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        return
    info.type = types[kind]
    if link:
        info.linkname = link
    info.devmajor, info.devminor = dev
    t.addfile(info)


def layer(fill, compression):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        fill(t)
    data = raw.getvalue()
    if compression == "gzip":
        return gzip.compress(data, mtime=0), sha(data), "application/vnd.oci.image.layer.v1.tar+gzip"
    if compression == "zstd":
        z = subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
        return z, sha(data), "application/vnd.oci.image.layer.v1.tar+zstd"
    return data, sha(data), "application/vnd.oci.image.layer.v1.tar"


def base_layer(t):
    member(t, "bin/", "dir", mode=0o755)
    member(t, "bin/busybox", data=open("/bin/busybox", "rb").read(), mode=0o755)
    for a in ("sh", "id", "cat", "echo", "pwd", "sleep", "grep", "ls"):
        member(t, "bin/" + a, "symlink", link="busybox")
    member(t, "etc/", "dir", mode=0o755)
    member(t, "etc/passwd", data=PASSWD.encode())
    member(t, "etc/group", data=GROUP.encode())
    member(t, "home/app/", "dir", mode=0o750, uid=1000, gid=1000)
    member(t, "tmp/", "dir", mode=0o1777)
    member(t, "data/", "dir", mode=0o755, uid=1000, gid=1000)
    member(t, "data/seed", data=b"seeded by the image\n", uid=1000, gid=1000)
    member(t, "opt/old", data=b"whited out above\n")
    member(t, "opt/kept", data=b"kept\n")
    member(t, "lower/dir/a", data=b"hidden by the opaque dir\n")


def upper_layer(t):
    # parents given explicitly: implied ones get the time of the unpack, which two unpackers
    # cannot agree on (test_unpack covers implied parents)
    for d in ("run/", "dev/", "usr/", "usr/bin/", "usr/share/", "usr/lib/"):
        member(t, d, "dir", mode=0o755)
    member(t, "opt/.wh.old")
    member(t, "lower/dir/", "dir", mode=0o700)
    member(t, "lower/dir/.wh..wh..opq")
    member(t, "lower/dir/b", data=b"new\n")
    member(t, "bin/hardlinked", "hardlink", link="bin/busybox")
    member(t, "run/fifo", "fifo", mode=0o600)
    member(t, "dev/null2", "chr", mode=0o666, dev=(1, 3))
    member(t, "usr/bin/setuid", data=b"#!/bin/sh\n", mode=0o4755)
    member(t, "usr/share/owned", data=b"x", uid=1234, gid=5678, xattrs={"user.plx": "value"})
    member(t, "usr/lib/link", "symlink", link="../share/owned")


def app_layer(t):
    member(t, "app/", "dir", mode=0o755)
    member(t, "app/entry.sh", data=ENTRY.encode(), mode=0o755)


def build_image(path, upper="zstd"):
    lay = Layout(path)
    descs, diff_ids = [], []
    for fill, comp in ((base_layer, "gzip"), (upper_layer, upper), (app_layer, "plain")):
        blob, diff_id, mt = layer(fill, comp)
        descs.append(lay.blob(blob, mt))
        diff_ids.append(diff_id)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Entrypoint": ["/bin/sh", "/app/entry.sh"], "Cmd": ["default"],
                         "Env": ["PATH=/bin", "MODE=image", "KEEP=yes"], "WorkingDir": "/home/app",
                         "User": "app", "Volumes": {"/data": {}}, "ExposedPorts": {"80/tcp": {}},
                         "Labels": {"org.opencontainers.image.title": "plx-test"}, "StopSignal": "SIGUSR1"},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdesc = lay.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": descs}
    lay.name(lay.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"), "1")
    return path


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    need_tools()
    return build_image(str(tmp_path_factory.mktemp("layout") / "app"))


@pytest.fixture
def plx(binary, runtime_root, tmp_path, layout):
    """plx(*args) runs the runtime with a config whose image store holds the test image."""
    store = tmp_path / "store"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"images": {"store": str(store)}}))
    env = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg))

    def run(*args, **kw):
        if "stdout" not in kw and "stderr" not in kw:
            kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 120)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([binary, "--root", runtime_root, *args], env=env, **kw)

    p = run("image", "import", layout, "--name", REF)
    assert p.returncode == 0, p.stderr
    run.store = str(store)
    return run


def detached(plx, *args):
    """A command that leaves a container running: its stdio must not be our pipe (it never closes)."""
    with tempfile.TemporaryFile("w+") as f:
        p = plx(*args, stdout=f, stderr=f)
        f.seek(0)
        assert p.returncode == 0, f.read()


def ok(p):
    assert p.returncode == 0, f"rc={p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def test_bundle_config(plx, tmp_path):
    bundle = tmp_path / "bundle"
    ok(plx("image", "bundle", REF, str(bundle)))
    cfg = json.loads((bundle / "config.json").read_text())
    proc = cfg["process"]
    assert proc["args"] == ["/bin/sh", "/app/entry.sh", "default"]
    assert proc["env"][:3] == ["PATH=/bin", "MODE=image", "KEEP=yes"]
    assert "HOME=/home/app" in proc["env"]
    assert proc["cwd"] == "/home/app"
    assert proc["terminal"] is False
    assert proc["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [10]}
    assert cfg["root"] == {"path": "rootfs", "readonly": False}
    ann = cfg["annotations"]
    assert ann["org.opencontainers.image.title"] == "plx-test"
    assert ann["org.proxmox-lxcri.image.exposed-ports"] == "80/tcp"
    assert ann["org.opencontainers.image.stopSignal"] == "SIGUSR1"
    assert ann["org.proxmox-lxcri.image.name"] == "localhost/plx/app:1"
    assert "org.proxmox-lxcri.image.managed-bundle" not in ann
    data = [m for m in cfg["mounts"] if m["destination"] == "/data"]
    assert data == [{"destination": "/data", "type": "bind", "source": str(bundle / "volumes" / "data"),
                     "options": ["rbind", "rw"]}]
    # the image's /data moved into the volume; an empty mount point with its owner stays
    assert (bundle / "volumes" / "data" / "seed").read_text() == "seeded by the image\n"
    st = os.lstat(bundle / "rootfs" / "data")
    assert os.listdir(bundle / "rootfs" / "data") == []
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o755)

    # flags: arguments replace Cmd, env wins, user and workdir override, tty
    b2 = tmp_path / "b2"
    ok(plx("image", "bundle", "--env", "MODE=user", "-e", "NEW=1", "--user", "root:wheel", "--workdir", "/tmp",
           "--tty", REF, str(b2), "--", "one", "two"))
    proc = json.loads((b2 / "config.json").read_text())["process"]
    assert proc["args"] == ["/bin/sh", "/app/entry.sh", "one", "two"]
    assert "MODE=user" in proc["env"] and "KEEP=yes" in proc["env"] and "NEW=1" in proc["env"]
    assert "TERM=xterm" in proc["env"]
    assert proc["user"] == {"uid": 0, "gid": 10}
    assert proc["cwd"] == "/tmp" and proc["terminal"] is True


def test_bundle_tree(plx, tmp_path):
    bundle = tmp_path / "bundle"
    ok(plx("image", "bundle", REF, str(bundle)))
    r = bundle / "rootfs"
    assert not (r / "opt" / "old").exists() and (r / "opt" / "kept").exists()
    assert os.listdir(r / "lower" / "dir") == ["b"]
    assert os.lstat(r / "bin" / "hardlinked").st_ino == os.lstat(r / "bin" / "busybox").st_ino
    assert stat.S_ISFIFO(os.lstat(r / "run" / "fifo").st_mode)
    st = os.lstat(r / "dev" / "null2")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(os.lstat(r / "usr" / "bin" / "setuid").st_mode) == 0o4755
    st = os.lstat(r / "usr" / "share" / "owned")
    assert (st.st_uid, st.st_gid, int(st.st_mtime)) == (1234, 5678, MTIME)
    assert os.getxattr(r / "usr" / "share" / "owned", "user.plx") == b"value"
    assert os.readlink(r / "usr" / "lib" / "link") == "../share/owned"
    st = os.lstat(r / "home" / "app")
    assert (st.st_uid, stat.S_IMODE(st.st_mode), int(st.st_mtime)) == (1000, 0o750, MTIME)
    assert not (r / "opt" / ".wh.old").exists() and not (r / "lower" / "dir" / ".wh..wh..opq").exists()


def tree(root, skip=()):
    """path -> (type, mode, uid, gid, mtime, content digest | link target, xattrs)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if rel.split("/")[0] in skip:
                continue
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(open(p, "rb").read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            else:
                what = st.st_rdev
            xattrs = {} if stat.S_ISLNK(st.st_mode) else {
                k: os.getxattr(p, k) for k in os.listxattr(p) if k.startswith("user.")}
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                        int(st.st_mtime), what, xattrs)
    return out


def test_same_tree_as_umoci(plx, tmp_path):
    # umoci 0.4 reads no zstd: the same image with gzip instead
    layout = build_image(str(tmp_path / "gz"), upper="gzip")
    ok(plx("image", "import", layout, "--name", "localhost/plx/app:gz"))
    started = int(time.time())
    bundle = tmp_path / "bundle"
    ok(plx("image", "bundle", "localhost/plx/app:gz", str(bundle)))
    ref = tmp_path / "umoci"
    p = subprocess.run(["umoci", "unpack", "--image", f"{layout}:1", str(ref)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    # data/ differs on purpose: its content moved into the volume
    ours, theirs = tree(bundle / "rootfs", skip=("data",)), tree(ref / "rootfs", skip=("data",))
    assert sorted(ours) == sorted(theirs)
    # a directory that a layer adds to without naming it gets the time of the unpack, in both tools:
    # two unpacks a second apart may differ there, and only there
    def unpack_time(e):
        return e[0] == stat.S_IFDIR and e[4] >= started
    diff = {k: (ours[k], theirs[k]) for k in ours if ours[k] != theirs[k] and not (
        unpack_time(ours[k]) and unpack_time(theirs[k]) and ours[k][:4] + ours[k][5:] == theirs[k][:4] + theirs[k][5:])}
    assert diff == {}


def assert_image_defaults(out, args, mode):
    """ENTRY's output for a run with the image's User, WorkingDir and volume, given args and MODE."""
    assert f"args={args}" in out
    assert "uid=1000 gid=1000 groups=1000 10" in out
    assert "pwd=/home/app" in out
    assert f"mode={mode} keep=yes home=/home/app" in out
    assert "seeded by the image" in out
    assert "data mounted" in out


def test_bundle_runs_under_runc(plx, tmp_path):
    bundle = tmp_path / "bundle"
    ok(plx("image", "bundle", "-e", "MODE=runc", REF, str(bundle), "--", "under-runc"))
    root = tmp_path / "runc-root"
    p = subprocess.run(["runc", "--root", str(root), "run", "-b", str(bundle), "plx-img-runc"],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    subprocess.run(["runc", "--root", str(root), "delete", "-f", "plx-img-runc"], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert_image_defaults(p.stdout, "under-runc", "runc")


def test_run_image(plx):
    p = ok(plx("run", "--image", REF, "--env", "MODE=user", "plx-img-run", "--", "hello", "world"))
    # the user's env wins, the image's other variables stay
    assert_image_defaults(p.stdout, "hello world", "user")
    # run deleted the container, and with it the bundle made for it
    assert not os.path.exists(os.path.join(plx.store, "bundles", "plx-img-run"))

    p = ok(plx("run", "--image", REF, "--user", "root:wheel", "--workdir", "/opt", "plx-img-run2"))
    assert "args=default" in p.stdout
    assert "uid=0 gid=10" in p.stdout and "pwd=/opt" in p.stdout


def test_stop_signal_is_kill_default(plx):
    detached(plx, "run", "-d", "--image", REF, "plx-img-stop", "--", "wait")
    bundle = os.path.join(plx.store, "bundles", "plx-img-stop")
    state = json.loads(ok(plx("state", "plx-img-stop")).stdout)
    assert state["bundle"] == bundle
    time.sleep(0.5)  # let the trap be set
    ok(plx("kill", "plx-img-stop"))
    got = os.path.join(bundle, "volumes", "data", "got")
    end = time.time() + 20
    while time.time() < end and json.loads(plx("state", "plx-img-stop").stdout)["status"] != "stopped":
        time.sleep(0.1)
    assert open(got).read() == "usr1\n"
    ok(plx("delete", "plx-img-stop"))
    assert not os.path.exists(bundle)


def test_create_image_errors(plx, tmp_path):
    detached(plx, "create", "--image", REF, "plx-img-dup")
    bundle = os.path.join(plx.store, "bundles", "plx-img-dup")
    p = plx("create", "--image", REF, "plx-img-dup")
    assert p.returncode != 0 and "container with id exists: plx-img-dup" in p.stderr
    assert os.path.exists(os.path.join(bundle, "config.json"))
    ok(plx("delete", "plx-img-dup"))
    assert not os.path.exists(bundle)

    p = plx("run", "--image", "localhost/nosuch:1", "plx-img-none")
    assert p.returncode != 0 and "not in the store" in p.stderr
    assert not os.path.exists(os.path.join(plx.store, "bundles", "plx-img-none"))
    p = plx("run", "--image", REF, "--user", "ghost", "plx-img-ghost")
    assert p.returncode != 0 and "ghost" in p.stderr
    assert not os.path.exists(os.path.join(plx.store, "bundles", "plx-img-ghost"))

    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    p = plx("image", "bundle", REF, str(full))
    assert p.returncode != 0 and "is not empty" in p.stderr
    p = plx("run", "plx-img-x", "extra")
    assert p.returncode != 0 and 'requires exactly 1 argument(s)' in p.stderr
    p = plx("run", "--env", "A=1", "plx-img-x")
    assert p.returncode != 0 and "need --image" in p.stderr
