# SPDX-License-Identifier: Apache-2.0
"""Real filesystems for the storage tests, made and destroyed by the tests.

    zfs_parent      a zfs-fuse pool on a 256 MiB file with a parent dataset POOL/ct (str);
                    starts the zfs-fuse daemon if none runs (and stops it afterwards)
    btrfs_dir       a loop-mounted 256 MiB btrfs (str: its mount point)
    plain_dir       a directory on a 64 MiB tmpfs (str), for the dir driver
    storage_base    (driver) -> one of the above for "zfs", "btrfs", "dir"

Everything is undone even when a test fails: the pool destroyed, zfs-fuse stopped if the
fixture started it, file systems unmounted, loop devices detached, files removed.  A missing
tool skips the test with the package to install (scripts/install-deps.sh storage).
"""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest


def run(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, text=True, capture_output=True, timeout=120, **kw)


def need(tool, package):
    if not shutil.which(tool):
        msg = f"{tool} not found: install {package} (scripts/install-deps.sh storage)"
        # CI installs it (make deps): a missing tool there is a broken install step, not a skip
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def _zfs_running():
    return run("zpool", "list", "-H", check=False).returncode == 0


@contextlib.contextmanager
def zfs_fuse_daemon(workdir):
    """Make sure a zfs-fuse daemon runs; stop it afterwards only if we started it."""
    if _zfs_running():
        yield
        return
    pidfile = os.path.join(workdir, "zfs-fuse.pid")
    run("zfs-fuse", "--pidfile", pidfile, "--no-kstat-mount")
    pid = None
    try:
        for _ in range(100):
            if os.path.exists(pidfile) and _zfs_running():
                break
            time.sleep(0.1)
        with open(pidfile) as f:
            pid = int(f.read().strip())
        yield
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)


@contextlib.contextmanager
def zfs_pool(size_mb=256):
    need("zfs-fuse", "zfs-fuse")
    workdir = tempfile.mkdtemp(prefix="plx-zfs-")
    pool = f"plxtest{os.getpid()}x{int(time.time() * 1000) % 100000}"
    try:
        with zfs_fuse_daemon(workdir):
            img = os.path.join(workdir, "pool.img")
            with open(img, "wb") as f:
                f.truncate(size_mb << 20)
            run("zpool", "create", "-m", os.path.join(workdir, "mnt"), pool, img)
            try:
                run("zfs", "create", f"{pool}/ct")
                yield f"{pool}/ct"
            finally:
                # clones first would be needed by -r; -f unmounts what is still busy
                for _ in range(30):
                    if run("zpool", "destroy", "-f", pool, check=False).returncode == 0:
                        break
                    time.sleep(0.2)
                else:
                    run("zpool", "destroy", "-f", pool)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def loop_btrfs(size_mb=256):
    need("mkfs.btrfs", "btrfs-progs")
    workdir = tempfile.mkdtemp(prefix="plx-btrfs-")
    img = os.path.join(workdir, "fs.img")
    mnt = os.path.join(workdir, "mnt")
    os.mkdir(mnt)
    loop = None
    mounted = False
    try:
        with open(img, "wb") as f:
            f.truncate(size_mb << 20)
        run("mkfs.btrfs", "-q", img)
        loop = run("losetup", "--find", "--show", img).stdout.strip()
        run("mount", loop, mnt)
        mounted = True
        yield mnt
    finally:
        if mounted:
            if run("umount", mnt, check=False).returncode != 0:
                run("umount", "-l", mnt, check=False)
        if loop:
            run("losetup", "-d", loop, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def tmpfs_dir(size_mb=64):
    workdir = tempfile.mkdtemp(prefix="plx-dir-")
    mounted = False
    try:
        run("mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "plx-storage-test", workdir)
        mounted = True
        yield workdir
    finally:
        if mounted:
            if run("umount", workdir, check=False).returncode != 0:
                run("umount", "-l", workdir, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def zfs_parent():
    with zfs_pool() as parent:
        yield parent


@pytest.fixture
def btrfs_dir():
    with loop_btrfs() as mnt:
        yield mnt


@pytest.fixture
def plain_dir():
    with tmpfs_dir() as d:
        yield d


@pytest.fixture
def storage_base():
    """storage_base(driver) -> the base for that driver, undone at the end of the test."""
    with contextlib.ExitStack() as stack:
        makers = {"zfs": zfs_pool, "btrfs": loop_btrfs, "dir": tmpfs_dir}
        yield lambda driver, **kw: stack.enter_context(makers[driver](**kw))


def zfs_datasets(parent):
    """Every dataset and snapshot under parent, parent excluded."""
    out = run("zfs", "list", "-H", "-r", "-t", "all", "-o", "name", parent).stdout.split()
    return [n for n in out if n != parent]


def btrfs_subvolumes(mnt):
    return [line.split(" path ", 1)[1] for line in
            run("btrfs", "subvolume", "list", mnt).stdout.splitlines() if " path " in line]
