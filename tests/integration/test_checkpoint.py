# SPDX-License-Identifier: Apache-2.0
"""checkpoint / restore / checkpoints on managed rootfs volumes (dir, btrfs, zfs-fuse).

Per driver: data written before a checkpoint is there after an in-place restore and data
written after it is gone; restore --as forks a running clone while the original runs; the
snapshot of a container writing continuously is one instant (file a is written before file b,
so a snapshot never has b ahead of a).  And: --keep, --delete, missing names, restoring a
running container, --force for an older checkpoint, a container without a managed rootfs,
the CRIU message (criu check fails on this kernel), a runtime SIGKILLed while the container is
frozen (PLX_TEST_CHECKPOINT_DELAY_MS holds it frozen), and a full storage during checkpoint.
Needs root, zfs-fuse and btrfs-progs (scripts/install-deps.sh storage).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from lifecycle_util import wait_for
from storage_env import need, run, storage_base, zfs_datasets  # noqa: F401 (fixture)

DRIVERS = ["dir", "btrfs", "zfs"]
SECTION = {"zfs": ("zfs", "parent"), "btrfs": ("btrfs", "path"), "dir": ("dir", "path")}
# a writes then b, each atomically (tmp + rename): b can never be ahead of a
WRITER = ("i=0; while true; do i=$((i+1)); echo $i > /a.t; mv /a.t /a; echo $i > /b.t; mv /b.t /b; "
          "done")


@pytest.fixture
def env_for(tmp_path):
    """env_for(driver, base) -> env for cli() whose $PROXMOX_LXCRI_CONFIG picks that storage."""
    def make(driver, base):
        key, field = SECTION[driver]
        path = tmp_path / "plx-config.json"
        path.write_text(json.dumps({"storage": {"driver": driver, key: {field: base}}}))
        return dict(os.environ, PROXMOX_LXCRI_CONFIG=str(path))
    return make


def ok(r):
    assert r.returncode == 0, r.stderr
    return r


def fails(r, *words):
    assert r.returncode != 0, r.stdout
    for w in words:
        assert w in r.stderr, r.stderr
    return r


def detached(cli, *args, **kw):
    """A command that leaves a container running: its stdio must not be our pipe (it never closes)."""
    with tempfile.TemporaryFile("w+") as f:
        r = cli(*args, stdout=f, stderr=f, capture_output=False, **kw)
        f.seek(0)
        out = f.read()
    assert r.returncode == 0, out
    return out


def volume_path(driver, base, cid):
    if driver == "zfs":
        return run("zfs", "get", "-H", "-o", "value", "mountpoint", f"{base}/{cid}").stdout.strip()
    return os.path.join(base, "volumes", cid)


def status(cli, cid):
    return json.loads(ok(cli("state", cid)).stdout)["status"]


def checkpoints(cli, cid):
    return [c["name"] for c in json.loads(ok(cli("checkpoints", "--format", "json", cid)).stdout)]


def start(cli, make_bundle, env, cid, args):
    bundle = make_bundle(args, root={"readonly": False})
    detached(cli, "run", "-d", "--bundle", bundle, cid, env=env)
    assert status(cli, cid) == "running"
    return bundle


def stop(cli, cid):
    ok(cli("kill", cid, "KILL"))
    assert wait_for(lambda: status(cli, cid) == "stopped")


def read(path):
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize("driver", DRIVERS)
def test_before_kept_after_gone(driver, storage_base, cli, env_for, make_bundle, runtime_root):
    base = storage_base(driver)
    env = env_for(driver, base)
    start(cli, make_bundle, env, "web", ["sleep", "1000"])
    vol = volume_path(driver, base, "web")
    with open(os.path.join(vol, "before"), "w") as f:
        f.write("kept\n")
    r = ok(cli("checkpoint", "--name", "c1", "web"))
    assert r.stdout.startswith("checkpoint c1 of web: frozen ") and r.stdout.endswith(" ms\n"), r.stdout
    with open(os.path.join(vol, "after"), "w") as f:
        f.write("gone\n")
    listed = json.loads(ok(cli("checkpoints", "--format", "json", "web")).stdout)
    assert [c["name"] for c in listed] == ["c1"]
    assert listed[0]["created"].endswith("Z")
    table = ok(cli("checkpoints", "web")).stdout.splitlines()
    assert table[0].split() == ["NAME", "CREATED", "SIZE"] and table[1].split()[0] == "c1"

    fails(cli("restore", "-d", "web"), "container web is running; stop it or use --as NEWID")
    stop(cli, "web")
    detached(cli, "restore", "-d", "web")
    assert status(cli, "web") == "running"
    vol = volume_path(driver, base, "web")
    assert read(os.path.join(vol, "before")) == "kept\n"
    assert not os.path.exists(os.path.join(vol, "after"))
    # the checkpoint survives the restore; delete takes the volume and it
    assert checkpoints(cli, "web") == ["c1"]
    ok(cli("delete", "--force", "web"))
    if driver == "zfs":
        assert zfs_datasets(base) == []
    else:
        assert os.listdir(os.path.join(base, "volumes")) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_restore_as_forks(driver, storage_base, cli, env_for, make_bundle, runtime_root):
    base = storage_base(driver)
    env = env_for(driver, base)
    start(cli, make_bundle, env, "orig", ["sleep", "1000"])
    vol = volume_path(driver, base, "orig")
    with open(os.path.join(vol, "mark"), "w") as f:
        f.write("1\n")
    ok(cli("checkpoint", "orig"))
    (name,) = checkpoints(cli, "orig")
    assert name.startswith("checkpoint-")
    pidfile = os.path.join(runtime_root, "fork.pid")
    detached(cli, "restore", "-d", "--as", "fork", "--pid-file", pidfile, "orig")
    assert status(cli, "orig") == "running" and status(cli, "fork") == "running"
    assert int(read(pidfile)) == json.loads(ok(cli("state", "fork")).stdout)["pid"]
    clone = volume_path(driver, base, "fork")
    assert clone != vol and read(os.path.join(clone, "mark")) == "1\n"
    with open(os.path.join(clone, "mark"), "w") as f:
        f.write("2\n")
    assert read(os.path.join(vol, "mark")) == "1\n"
    fails(cli("restore", "-d", "--as", "fork", "orig"), "fork")
    ok(cli("delete", "--force", "fork"))
    ok(cli("delete", "--force", "orig"))


@pytest.mark.parametrize("driver", DRIVERS)
def test_snapshot_is_consistent(driver, storage_base, cli, env_for, make_bundle, runtime_root):
    base = storage_base(driver)
    env = env_for(driver, base)
    start(cli, make_bundle, env, "w", ["sh", "-c", WRITER])
    vol = volume_path(driver, base, "w")
    assert wait_for(lambda: os.path.exists(os.path.join(vol, "b")))
    reader = make_bundle(["sleep", "1000"], root={"readonly": False})
    for n in range(3):
        time.sleep(0.1)
        ok(cli("checkpoint", "--name", f"s{n}", "w"))
        # read the snapshot through a clone started from another bundle (its config only)
        detached(cli, "restore", "-d", "--as", f"r{n}", "--snapshot", f"s{n}", "--bundle", reader, "w")
        clone = volume_path(driver, base, f"r{n}")
        a, b = int(read(os.path.join(clone, "a"))), int(read(os.path.join(clone, "b")))
        assert a - 1 <= b <= a, (a, b)
        ok(cli("delete", "--force", f"r{n}"))
    assert status(cli, "w") == "running"
    ok(cli("delete", "--force", "w"))


def test_keep_delete_and_names(storage_base, cli, env_for, make_bundle, runtime_root):
    base = storage_base("dir")
    env = env_for("dir", base)
    start(cli, make_bundle, env, "k", ["sleep", "1000"])
    for n in ("a", "b", "c"):
        ok(cli("checkpoint", "--name", n, "k"))
    r = ok(cli("checkpoint", "--name", "d", "--keep", "2", "k"))
    assert "deleted checkpoint a of k (--keep 2)" in r.stdout
    assert "deleted checkpoint b of k (--keep 2)" in r.stdout
    assert checkpoints(cli, "k") == ["c", "d"]
    assert sorted(os.listdir(os.path.join(base, "snapshots", "k"))) == ["c", "d"]
    # default names: unique even within one second
    ok(cli("checkpoint", "k"))
    ok(cli("checkpoint", "k"))
    auto = [n for n in checkpoints(cli, "k") if n.startswith("checkpoint-")]
    assert len(auto) == 2 and len(set(auto)) == 2
    j = json.loads(ok(cli("checkpoint", "--format", "json", "--name", "e", "k")).stdout)
    assert j["name"] == "e" and j["froze"] is True and j["frozen_ns"] > 0 and j["deleted"] == []

    fails(cli("checkpoint", "--name", "e", "k"), "container k already has a checkpoint e")
    fails(cli("checkpoint", "--name", "../x", "k"), "--name")
    ok(cli("checkpoint", "--delete", "c", "k"))
    assert "c" not in checkpoints(cli, "k")
    fails(cli("checkpoint", "--delete", "c", "k"), "container k has no checkpoint c")
    fails(cli("restore", "-d", "--as", "k2", "--snapshot", "nope", "k"), "container k has no checkpoint nope",
          "(it has: d, ")
    assert not os.path.exists(os.path.join(runtime_root, "k2"))
    # in place to an older one: refused without --force, naming the newer ones
    stop(cli, "k")
    fails(cli("restore", "-d", "--snapshot", "d", "k"), "checkpoint d is not the latest", "--force", " e")
    assert checkpoints(cli, "k")[-1] == "e"
    detached(cli, "restore", "-d", "--force", "--snapshot", "d", "k")
    assert checkpoints(cli, "k") == ["d"]
    assert status(cli, "k") == "running"
    # a paused container is snapshotted as it is and stays paused
    ok(cli("pause", "k"))
    r = ok(cli("checkpoint", "--name", "p", "k"))
    assert "not frozen" in r.stdout
    assert status(cli, "k") == "paused"
    ok(cli("delete", "--force", "k"))


def test_no_managed_rootfs(cli, make_bundle, runtime_root, tmp_path):
    cfg = tmp_path / "none.json"
    cfg.write_text("{}")
    env = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg))
    detached(cli, "run", "-d", "--bundle", make_bundle(["sleep", "1000"]), "plain", env=env)
    for args in (("checkpoint", "plain"), ("checkpoints", "plain"), ("restore", "-d", "--as", "p2", "plain")):
        fails(cli(*args, env=env), "container plain has no managed rootfs", "storage.driver",
              "org.proxmox-lxcri.storage")
    assert status(cli, "plain") == "running"
    ok(cli("delete", "--force", "plain"))


def test_criu_message(storage_base, cli, env_for, make_bundle, runtime_root):
    need("criu", "criu")
    if subprocess.run(["criu", "check"], capture_output=True).returncode == 0:
        pytest.skip("criu check passes on this host: the failure message cannot be seen here")
    env = env_for("dir", storage_base("dir"))
    start(cli, make_bundle, env, "cr", ["sleep", "1000"])
    for args in (("checkpoint", "--image-path", str(runtime_root) + "/img", "cr"),
                 ("checkpoint", "--leave-running", "--tcp-established", "cr")):
        r = fails(cli(*args), "process checkpoint needs CRIU", "criu", "fails its own check on this kernel",
                  "`criu check` says: Error", "The filesystem checkpoint works here")
        assert shutil.which("criu") in r.stderr
    fails(cli("restore", "--image-path", "/nonexistent", "cr"), "process restore needs CRIU")
    fails(cli("--criu", "/nonexistent/criu", "checkpoint", "--shell-job", "cr"), "/nonexistent/criu not found")
    assert not os.path.exists(str(runtime_root) + "/img")
    assert status(cli, "cr") == "running"
    ok(cli("checkpoint", "cr"))
    ok(cli("delete", "--force", "cr"))


@pytest.mark.parametrize("driver", ["dir", "btrfs"])
def test_sigkill_while_frozen(driver, storage_base, cli, env_for, make_bundle, runtime_root, binary):
    base = storage_base(driver)
    env = env_for(driver, base)
    start(cli, make_bundle, env, "fz", ["sh", "-c", WRITER])
    vol = volume_path(driver, base, "fz")
    marker = os.path.join(runtime_root, "fz", "checkpoint.inprogress")
    slow = dict(os.environ, PLX_TEST_CHECKPOINT_DELAY_MS="30000")
    p = subprocess.Popen([binary, "--root", runtime_root, "checkpoint", "--name", "x", "fz"], env=slow,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: os.path.exists(marker))
        assert wait_for(lambda: json.loads(cli("state", "fz").stdout)["status"] == "paused")
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    # the next command finds the marker of a dead writer and thaws the container
    assert status(cli, "fz") == "running"
    assert not os.path.exists(marker)
    before = int(read(os.path.join(vol, "a")))
    assert wait_for(lambda: int(read(os.path.join(vol, "a"))) > before)
    # nothing half-made: the killed checkpoint never got to its snapshot
    assert "x" not in checkpoints(cli, "fz")
    ok(cli("delete", "--force", "fz"))


def test_full_storage(storage_base, cli, env_for, make_bundle, runtime_root):
    """dir on a 64 MiB tmpfs: a rootfs of ~40 MiB has no room for its copy."""
    base = storage_base("dir")
    env = env_for("dir", base)
    start(cli, make_bundle, env, "full", ["sleep", "1000"])
    vol = volume_path("dir", base, "full")
    with open(os.path.join(vol, "big"), "wb") as f:
        f.write(os.urandom(40 << 20))
    r = fails(cli("checkpoint", "--name", "nospace", "full"), "container full", "nospace")
    assert "space" in r.stderr.lower(), r.stderr
    assert status(cli, "full") == "running"
    assert not os.path.exists(os.path.join(runtime_root, "full", "checkpoint.inprogress"))
    assert checkpoints(cli, "full") == []
    snaps = os.path.join(base, "snapshots", "full")
    assert not os.path.exists(snaps) or os.listdir(snaps) == []
    assert os.listdir(os.path.join(base, "tmp")) == []
    ok(cli("delete", "--force", "full"))
