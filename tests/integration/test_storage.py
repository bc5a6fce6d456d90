# SPDX-License-Identifier: Apache-2.0
"""Storage drivers (zfs, btrfs, dir) on real filesystems.

The C side is tests/unit/test_storage_real.c (skipped in the unit run); here it runs against a
zfs-fuse pool on a file, a loop-mounted btrfs and a tmpfs directory that storage_env makes and
destroys.  The measured times are printed (pytest -s) and checked against loose bounds.
Needs root, zfs-fuse and btrfs-progs (scripts/install-deps.sh storage).
"""
import os
import pathlib
import subprocess

import pytest

from storage_env import btrfs_subvolumes, run, storage_base, zfs_datasets  # noqa: F401 (fixture)

REPO = pathlib.Path(__file__).resolve().parents[2]
DRIVERS = ["zfs", "btrfs", "dir"]


def storage_test_binary():
    path = os.environ.get("PLX_STORAGE_TEST")
    if not path:
        build = pathlib.Path(os.environ["PLX_BINARY"]).parents[2] if os.environ.get("PLX_BINARY") \
            else REPO / "build"
        path = str(build / "tests" / "unit" / "test_storage_real")
    if not os.access(path, os.X_OK):
        pytest.fail(f"storage test binary not found: {path} (build it, or set PLX_STORAGE_TEST)")
    return path


def run_c(driver, base, **env):
    full = dict(os.environ, PLX_STORAGE_DRIVER=driver, PLX_STORAGE_BASE=base, **env)
    r = subprocess.run([storage_test_binary()], env=full, text=True, capture_output=True, timeout=300)
    assert r.returncode == 0, f"{driver}: {r.stdout}\n{r.stderr}"
    assert "[  PASSED  ] 1 test(s)" in r.stdout + r.stderr, r.stdout + r.stderr
    return r.stdout


def times(out):
    return {line.split()[1]: float(line.split()[2]) for line in out.splitlines() if line.startswith("TIME ")}


def leftovers(driver, base):
    if driver == "zfs":
        return zfs_datasets(base)
    found = []
    for sub in ("volumes", "snapshots", "tmp"):
        p = os.path.join(base, sub)
        if os.path.isdir(p):
            found += [os.path.join(sub, n) for n in os.listdir(p)]
    if driver == "btrfs":
        found += btrfs_subvolumes(base)
    return found


@pytest.mark.parametrize("driver", DRIVERS)
def test_lifecycle(driver, storage_base):
    """create, write, snapshot, write, rollback, clone, list, destroy: nothing left."""
    base = storage_base(driver)
    out = run_c(driver, base)
    t = times(out)
    print(f"\n{driver}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in t.items()))
    assert {"snapshot", "rollback", "clone"} <= t.keys()
    if driver in ("zfs", "btrfs"):
        # O(1): independent of the 8 MiB written; zfs-fuse pays ~20 ms per zfs command
        assert t["snapshot"] < 500 and t["clone"] < 500, t
    assert leftovers(driver, base) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_missing_base(driver, storage_base):
    base = storage_base(driver)
    missing = base + "/nope" if driver == "zfs" else os.path.join(base, "nope")
    out = run_c(driver, missing, PLX_STORAGE_FAULT="missing")
    assert "does not exist" in out


def make_volume(driver, base, name="vol"):
    """A volume with one file and a snapshot "base", made with the tools, not the library."""
    if driver == "zfs":
        run("zfs", "create", f"{base}/{name}")
        mp = run("zfs", "get", "-H", "-o", "value", "mountpoint", f"{base}/{name}").stdout.strip()
        pathlib.Path(mp, "data").write_text("x")
        run("zfs", "snapshot", f"{base}/{name}@base")
        return
    for sub in ("volumes", "snapshots/" + name, "tmp"):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    vol = os.path.join(base, "volumes", name)
    snap = os.path.join(base, "snapshots", name, "base")
    if driver == "btrfs":
        run("btrfs", "subvolume", "create", vol)
        pathlib.Path(vol, "data").write_text("x")
        run("btrfs", "subvolume", "snapshot", "-r", vol, snap)
    else:
        os.mkdir(vol)
        pathlib.Path(vol, "data").write_text("x")
        run("cp", "-a", vol, snap)


@pytest.mark.parametrize("driver", DRIVERS)
def test_readonly_base(driver, storage_base):
    base = storage_base(driver)
    make_volume(driver, base)
    before = sorted(leftovers(driver, base))
    if driver == "zfs":
        run("zfs", "set", "readonly=on", base)
        try:
            out = run_c(driver, base, PLX_STORAGE_FAULT="readonly", PLX_STORAGE_VOLUME="vol")
        finally:
            run("zfs", "set", "readonly=off", base)
        print(out)
        assert "is read-only" in out
    else:
        run("mount", "-o", "remount,ro", base)
        try:
            out = run_c(driver, base, PLX_STORAGE_FAULT="readonly", PLX_STORAGE_VOLUME="vol")
            assert "Read-only file system" in out
        finally:
            run("mount", "-o", "remount,rw", base)
    print("\n" + "\n".join(l for l in out.splitlines() if l.startswith("FAULT")))
    assert sorted(leftovers(driver, base)) == before


def fill(path):
    """Write until the filesystem says it is full."""
    with open(os.path.join(path, "filler"), "wb") as f:
        chunk = b"\xa5" * (1 << 20)
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    # metadata too: many small files until even those fail
    for i in range(100000):
        try:
            pathlib.Path(path, f"small{i}").write_bytes(b"y" * 4096)
        except OSError:
            break


@pytest.mark.parametrize("driver", DRIVERS)
def test_full_base(driver, storage_base):
    base = storage_base(driver, size_mb=128) if driver == "btrfs" else storage_base(driver)
    make_volume(driver, base)
    if driver == "zfs":
        run("zfs", "set", "quota=24M", base)
        mp = run("zfs", "get", "-H", "-o", "value", "mountpoint", f"{base}/vol").stdout.strip()
        fill(mp)
    elif driver == "btrfs":
        fill(os.path.join(base, "volumes", "vol"))
    else:
        fill(os.path.join(base, "volumes", "vol"))
    before = sorted(leftovers(driver, base))
    out = run_c(driver, base, PLX_STORAGE_FAULT="full", PLX_STORAGE_VOLUME="vol")
    print("\n" + "\n".join(l for l in out.splitlines() if l.startswith("FAULT")))
    assert sorted(leftovers(driver, base)) == before
