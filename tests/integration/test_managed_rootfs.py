# SPDX-License-Identifier: Apache-2.0
"""Managed rootfs: create puts the container on a volume of the configured storage driver.

Per driver (dir on a tmpfs, btrfs on a loop device, zfs on a zfs-fuse pool; storage_env makes
and destroys them): the container runs on the volume, its writes land there and not in the
bundle, `state` shows the volume, delete removes it, a size limit holds inside the container,
the annotation overrides the config, no driver keeps the bundle's rootfs, faults leave nothing,
a create killed after making the volume is cleaned by delete --force, zfs clones survive the
deletion of their origin.  The config file is passed through $PROXMOX_LXCRI_CONFIG.
Needs root, zfs-fuse and btrfs-progs (scripts/install-deps.sh storage).
"""
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time

import pytest

from lifecycle_util import wait_for
from storage_env import btrfs_subvolumes, run, storage_base, zfs_datasets  # noqa: F401 (fixture)

DRIVERS = ["dir", "btrfs", "zfs"]
SECTION = {"zfs": ("zfs", "parent"), "btrfs": ("btrfs", "path"), "dir": ("dir", "path")}


@pytest.fixture
def config(tmp_path):
    """config(storage_section) -> env for cli() with $PROXMOX_LXCRI_CONFIG naming that config."""
    def make(storage):
        path = tmp_path / "plx-config.json"
        path.write_text(json.dumps({"storage": storage} if storage is not None else {}))
        return dict(os.environ, PROXMOX_LXCRI_CONFIG=str(path))
    return make


def section(driver, base, default=True, **extra):
    key, field = SECTION[driver]
    s = {key: {field: base}, **extra}
    if default:
        s["driver"] = driver
    return s


def volume_path(driver, base, cid):
    if driver == "zfs":
        return run("zfs", "get", "-H", "-o", "value", "mountpoint", f"{base}/{cid}").stdout.strip()
    return os.path.join(base, "volumes", cid)


def leftovers(driver, base):
    if driver == "zfs":
        return zfs_datasets(base)
    found = [os.path.join("volumes", n) for n in os.listdir(os.path.join(base, "volumes"))] \
        if os.path.isdir(os.path.join(base, "volumes")) else []
    if os.path.isdir(os.path.join(base, "tmp")):
        found += [os.path.join("tmp", n) for n in os.listdir(os.path.join(base, "tmp"))]
    if driver == "btrfs":
        found += btrfs_subvolumes(base)
    return found


def state_record(runtime_root, cid):
    with open(os.path.join(runtime_root, cid, "state.json")) as f:
        return json.load(f)


def writable_bundle(make_bundle, args, **kw):
    return make_bundle(args, root={"readonly": False}, **kw)


def ok(r):
    assert r.returncode == 0, r.stderr
    return r


def create(cli, bundle, cid, env):
    """create, with the container's stdio (inherited from ours) off the pipes cli() would wait on."""
    with open(os.devnull, "w") as out, tempfile.TemporaryFile("w+") as err:
        r = cli("create", "--bundle", bundle, cid, env=env, capture_output=False, stdout=out, stderr=err)
        err.seek(0)
        r.stderr = err.read()
    return r


@pytest.mark.parametrize("driver", DRIVERS)
def test_runs_on_volume(driver, storage_base, cli, config, make_bundle, runtime_root):
    base = storage_base(driver)
    env = config(section(driver, base))
    bundle = writable_bundle(make_bundle, ["sh", "-c", "echo in-volume > /written; cat /etc/hostname; sleep 60"])
    ok(create(cli, bundle, "c1", env))
    vol = volume_path(driver, base, "c1")
    st = json.loads(ok(cli("state", "c1")).stdout)
    assert st["rootfs"] == vol
    rec = state_record(runtime_root, "c1")["storage"]
    assert rec["driver"] == driver and rec["volume"] == "c1" and rec["path"] == vol
    assert rec["source"].startswith("copy of ")
    ok(cli("start", "c1"))
    written = os.path.join(vol, "written")
    # the shell creates the file before it writes to it: wait for the content
    assert wait_for(lambda: os.path.exists(written) and open(written).read() == "in-volume\n")
    assert not os.path.exists(os.path.join(bundle, "rootfs", "written"))
    # delete needs no config: the record in state.json names the storage
    ok(cli("delete", "--force", "c1"))
    assert leftovers(driver, base) == []
    assert not os.path.exists(os.path.join(runtime_root, "c1"))


def test_no_driver_uses_bundle(cli, config, make_bundle, runtime_root):
    env = config(None)
    bundle = make_bundle(["true"])
    ok(create(cli, bundle, "plain", env))
    assert json.loads(ok(cli("state", "plain")).stdout)["rootfs"] == os.path.join(bundle, "rootfs")
    assert "storage" not in state_record(runtime_root, "plain")
    ok(cli("delete", "--force", "plain"))


def test_annotation_overrides_config(storage_base, cli, config, make_bundle, runtime_root):
    d = storage_base("dir")
    b = storage_base("btrfs")
    s = section("dir", d)
    s["btrfs"] = {"path": b}
    env = config(s)
    ok(create(cli, make_bundle(["true"]), "bydefault", env))
    over = make_bundle(["true"], annotations={"org.proxmox-lxcri.storage": "btrfs"})
    ok(create(cli, over, "byannotation", env))
    assert state_record(runtime_root, "bydefault")["storage"]["driver"] == "dir"
    assert state_record(runtime_root, "byannotation")["storage"]["driver"] == "btrfs"
    assert os.path.isdir(os.path.join(b, "volumes", "byannotation"))
    # without a default driver, only the annotated container gets a volume
    env = config(section("dir", d, default=False))
    ok(create(cli, make_bundle(["true"]), "none", env))
    assert "storage" not in state_record(runtime_root, "none")
    for cid in ("bydefault", "byannotation", "none"):
        ok(cli("delete", "--force", cid))
    assert leftovers("dir", d) == [] and leftovers("btrfs", b) == []


@pytest.mark.parametrize("driver", ["zfs", "btrfs"])
def test_size_limit(driver, storage_base, cli, config, make_bundle, runtime_root):
    base = storage_base(driver)
    if driver == "btrfs":
        run("btrfs", "quota", "enable", base)
    env = config(section(driver, base))
    script = "dd if=/dev/zero of=/big bs=1M count=48 2>/dev/null; echo rc=$?; sync"
    bundle = writable_bundle(make_bundle, ["sh", "-c", script],
                             annotations={"org.proxmox-lxcri.storage.size": "16M"})
    r = ok(cli("run", "--bundle", bundle, "big", env=env, timeout=120))
    assert "rc=0" not in r.stdout and "rc=" in r.stdout, r.stdout
    assert leftovers(driver, base) == []
    # the config's storage.size is the default; the annotation wins over it
    env = config(section(driver, base, size="8M"))
    bundle = writable_bundle(make_bundle, ["sh", "-c", "dd if=/dev/zero of=/f bs=1M count=12 2>/dev/null; echo rc=$?"],
                             annotations={"org.proxmox-lxcri.storage.size": "64M"})
    r = ok(cli("run", "--bundle", bundle, "fits", env=env, timeout=120))
    assert "rc=0" in r.stdout, r.stdout
    bundle = writable_bundle(make_bundle, ["sh", "-c", "dd if=/dev/zero of=/f bs=1M count=12 2>/dev/null; echo rc=$?"])
    r = ok(cli("run", "--bundle", bundle, "small", env=env, timeout=120))
    assert "rc=0" not in r.stdout, r.stdout
    assert leftovers(driver, base) == []


def fill(path):
    subprocess.run(["dd", "if=/dev/zero", f"of={os.path.join(path, 'filler')}", "bs=1M"],
                   capture_output=True, timeout=120)
    os.sync()


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("fault", ["missing", "readonly", "full"])
def test_faults_leave_nothing(driver, fault, storage_base, cli, config, make_bundle, runtime_root):
    base = storage_base(driver)
    named = base
    if fault == "missing":
        named = f"{base}/nope" if driver == "zfs" else os.path.join(base, "nope")
    env = config(section(driver, named))
    if driver != "zfs":
        run("mkdir", "-p", os.path.join(base, "volumes"), os.path.join(base, "tmp"))
    if fault == "readonly":
        if driver == "zfs":
            run("zfs", "set", "readonly=on", base)
        else:
            run("mount", "-o", "remount,ro", base)
    elif fault == "full":
        if driver == "zfs":
            used = int(run("zfs", "get", "-H", "-p", "-o", "value", "used", base).stdout)
            run("zfs", "set", f"quota={used + (512 << 10)}", base)
        else:
            fill(base)
    try:
        r = create(cli, make_bundle(["true"]), "faulty", env)
        assert r.returncode != 0
        assert named in r.stderr, r.stderr
        assert os.listdir(runtime_root) == []
        assert leftovers(driver, base) == []
    finally:
        if fault == "readonly":
            if driver == "zfs":
                run("zfs", "set", "readonly=off", base)
            else:
                run("mount", "-o", "remount,rw", base)


@pytest.mark.parametrize("driver", DRIVERS)
def test_killed_create_is_cleaned_by_delete_force(driver, storage_base, cli, config, make_bundle, binary,
                                                  runtime_root):
    """SIGKILL the runtime while a prestart hook runs (the volume is made): delete --force removes it."""
    base = storage_base(driver)
    env = config(section(driver, base))
    bundle = make_bundle(["true"], hooks={"prestart": [{"path": "/bin/sleep", "args": ["sleep", "60"]}]})
    p = subprocess.Popen([binary, "--root", runtime_root, "create", "--bundle", bundle, "killed"], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: leftovers(driver, base) != [] and os.path.exists(
            os.path.join(runtime_root, "killed", "config")), timeout=30)
        time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    subprocess.run(["pkill", "-KILL", "-f", "sleep 60"], check=False)  # the orphaned hook
    ok(cli("delete", "--force", "killed"))
    assert leftovers(driver, base) == []
    assert not os.path.exists(os.path.join(runtime_root, "killed"))


@pytest.mark.parametrize("driver", ["zfs", "btrfs"])
def test_clone_from_bundle_on_same_storage(driver, storage_base, cli, config, make_bundle, runtime_root):
    """A bundle whose rootfs is another container's volume: an O(1) clone; deleting the origin first works."""
    base = storage_base(driver)
    env = config(section(driver, base))
    ok(create(cli, writable_bundle(make_bundle, ["true"]), "origin", env))
    origin_vol = volume_path(driver, base, "origin")
    with open(os.path.join(origin_vol, "marker"), "w") as f:
        f.write("from origin\n")
    bundle = writable_bundle(make_bundle, ["sh", "-c", "cat /marker; echo mine > /own; sleep 60"])
    cfg_path = os.path.join(bundle, "config.json")
    with open(cfg_path) as f:
        spec = json.load(f)
    spec["root"]["path"] = origin_vol
    with open(cfg_path, "w") as f:
        json.dump(spec, f)
    ok(create(cli, bundle, "child", env))
    rec = state_record(runtime_root, "child")["storage"]
    assert rec["source"] == "clone of origin@plx-base-child", rec
    ok(cli("start", "child"))
    child_vol = volume_path(driver, base, "child")
    assert wait_for(lambda: os.path.exists(os.path.join(child_vol, "own")))
    assert not os.path.exists(os.path.join(origin_vol, "own"))
    # the origin goes first: on zfs its base snapshot is handed to the clone (zfs promote)
    ok(cli("delete", "--force", "origin"))
    with open(os.path.join(child_vol, "marker")) as f:
        assert f.read() == "from origin\n"
    ok(cli("delete", "--force", "child"))
    assert leftovers(driver, base) == []


def test_zfs_delete_promotes_restored_clone(storage_base, cli, config, make_bundle, runtime_root):
    """A clone of a container's snapshot (as restore --as makes) survives the container's delete."""
    base = storage_base("zfs")
    env = config(section("zfs", base))
    ok(create(cli, writable_bundle(make_bundle, ["true"]), "orig", env))
    vol = volume_path("zfs", base, "orig")
    with open(os.path.join(vol, "data"), "w") as f:
        f.write("snap\n")
    run("zfs", "snapshot", f"{base}/orig@cp1")
    run("zfs", "clone", f"{base}/orig@cp1", f"{base}/fork")
    ok(cli("delete", "--force", "orig"))
    assert f"{base}/orig" not in zfs_datasets(base)
    fork = volume_path("zfs", base, "fork")
    with open(os.path.join(fork, "data")) as f:
        assert f.read() == "snap\n"
    # zfs-fuse reports "dataset is busy" for a moment after a mount
    assert wait_for(lambda: run("zfs", "destroy", "-r", f"{base}/fork", check=False).returncode == 0,
                    timeout=5, step=0.2)
    assert zfs_datasets(base) == []


def test_measure_create_start_delete(storage_base, cli, config, make_bundle):
    """create+start+delete on each driver vs the bundle rootfs (printed with -s; loose bound)."""
    bundle = make_bundle(["true"])
    setups = {"none": config(None)}
    for driver in DRIVERS:
        setups[driver] = config(section(driver, storage_base(driver)))
    results = {}
    for name, env in setups.items():
        runs = []
        for i in range(5):
            cid = f"m-{name}-{i}"
            t0 = time.monotonic()
            ok(create(cli, bundle, cid, env))
            ok(cli("start", cid))
            ok(cli("delete", "--force", cid))
            runs.append((time.monotonic() - t0) * 1000)
        results[name] = runs
    print("\ncreate+start+delete (ms, 5 runs): " + "; ".join(
        f"{n} median {statistics.median(v):.0f} (min {min(v):.0f}, max {max(v):.0f})" for n, v in results.items()))
    assert all(statistics.median(v) < 10000 for v in results.values())
