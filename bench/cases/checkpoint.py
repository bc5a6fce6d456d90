# SPDX-License-Identifier: Apache-2.0
"""Filesystem checkpoint and restore on managed rootfs volumes: zfs (zfs-fuse), btrfs, dir.

For each driver and rootfs size (10 MB, 100 MB, 1 GB of random data files beside busybox),
four cases named ckpt_<driver>_<size>_<what>:

    checkpoint   wall time of `checkpoint ID` of a running container (older ones pruned untimed)
    frozen       the time the container stayed frozen in that checkpoint (its --format json)
    restore      wall time of an in-place `restore -d ID` of the stopped container (rollback to
                 the latest checkpoint, create, start)
    restore_as   wall time of `restore -d --as NEWID ID` (clone of the latest checkpoint, create,
                 start) while ID keeps running

The seeds claim checkpoint in 1-3 s and restore in 2-5 s; the target is flat in size and under
50 ms on zfs and btrfs.  runc has no filesystem checkpoint, and its own (CRIU) checkpoint needs
`criu check` to pass, which it does not on this kernel: runc and crun report that and sit out.
A storage (pool file, loop btrfs, directory) with its container is made once per driver and
size and kept for that group's four cases.
"""
import atexit
import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "integration"))
import storage_env  # noqa: E402  (the storage tests' pool / loop device fixtures)

SIZES = {"10m": 10 << 20, "100m": 100 << 20, "1g": 1 << 30}
DRIVERS = ("zfs", "btrfs", "dir")
SECTION = {"zfs": ("zfs", "parent"), "btrfs": ("btrfs", "path"), "dir": ("dir", "path")}
CID = "bench"
CLAIM = {"checkpoint": "seeds: 1-3 s", "frozen": "seeds: 1-3 s (checkpoint)", "restore": "seeds: 2-5 s",
         "restore_as": "seeds: 2-5 s"}


def _criu_says():
    if not shutil.which("criu"):
        return "criu is not installed"
    p = subprocess.run(["criu", "check"], capture_output=True, text=True, timeout=60)
    if p.returncode == 0:
        return None
    first = (p.stderr or p.stdout).strip().splitlines()
    return f"`criu check` fails on this kernel ({first[0] if first else 'no output'})"


def _quiet(argv, env=None):
    """Run argv with its output in a file: a detached container must not hold a pipe of ours."""
    with tempfile.TemporaryFile("w+") as f:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f, text=True, timeout=600, env=env)
        f.seek(0)
        out = f.read()
    if p.returncode != 0:
        lines = out.strip().splitlines()
        raise OSError(f"`{argv[3] if len(argv) > 3 else argv[0]}` exited {p.returncode}: "
                      f"{lines[-1] if lines else 'no output'}")
    return out


class _Env:
    """One storage with a running container whose rootfs holds size bytes of random files."""

    def __init__(self, driver, size, ctx):
        self.key = (driver, size)
        self._stack = contextlib.ExitStack()
        self.top = pathlib.Path(tempfile.mkdtemp(prefix="plx-bench-ckpt-"))
        self._stack.callback(shutil.rmtree, self.top, ignore_errors=True)
        try:
            self._setup(driver, size, ctx)
        except BaseException:
            self.close()
            raise

    def _setup(self, driver, size, ctx):
        room = max(512, 3 * (size >> 20) + 512)  # the volume, two checkpoints' changes, clones
        if driver == "zfs":
            base = self._stack.enter_context(storage_env.zfs_pool(size_mb=room))
        elif driver == "btrfs":
            base = self._stack.enter_context(storage_env.loop_btrfs(size_mb=room))
        else:
            base = str(self.top / "dir-storage")  # on disk: a dir copy costs what it costs there
            os.mkdir(base)
        key, field = SECTION[driver]
        cfg = self.top / "config.json"
        cfg.write_text(json.dumps({"storage": {"driver": driver, key: {field: base}}}))
        self.env = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg))
        self.binary = ctx.runtime.path
        self.root = self.top / "root"
        self._stack.callback(self._delete_all)
        # a bundle of our own: the context's goes when the first case of the group ends
        bundle = self.top / "bundle"
        shutil.copytree(ctx.bundle(["sleep", "100000"]), bundle, symlinks=True)
        conf = json.loads((bundle / "config.json").read_text())
        conf["root"]["readonly"] = False
        (bundle / "config.json").write_text(json.dumps(conf))
        # the data files go into the bundle's rootfs; create copies them into the volume
        data = bundle / "rootfs" / "data"
        data.mkdir()
        left, n = size, 0
        while left > 0:
            chunk = min(left, 64 << 20)
            with open(data / f"f{n}", "wb") as f:
                f.write(os.urandom(chunk))
            left -= chunk
            n += 1
        self.bundle = bundle
        self.run("run", "-d", "--bundle", bundle, CID)

    def cmd(self, *args):
        return [self.binary, "--root", str(self.root), *map(str, args)]

    def run(self, *args):
        return _quiet(self.cmd(*args), self.env)

    def _delete_all(self):
        if self.root.is_dir():
            for cid in sorted(os.listdir(self.root)):
                subprocess.run(self.cmd("delete", "--force", cid), capture_output=True, timeout=300)

    def close(self):
        self._stack.close()


_current = None


def _env(ctx, driver, size):
    """The storage and container of (driver, size), made on first use; the previous one goes."""
    global _current
    if ctx.runtime.name != "proxmox-lxcri":
        reason = _criu_says()
        raise OSError(f"{ctx.runtime.name} has no filesystem checkpoint; its CRIU checkpoint is not "
                      f"comparable here: {reason or 'criu check passes, but it is a different operation'}")
    if _current and _current.key != (driver, size):
        _current.close()
        _current = None
    if not _current:
        _current = _Env(driver, size, ctx)
        atexit.register(lambda: _current and _current.close())
    return _current


def _status(e, cid):
    out = subprocess.run(e.cmd("state", cid), capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)["status"] if out else "gone"


def _ensure_running(e):
    """The container running (restarted from the bundle after an earlier case stopped it)."""
    st = _status(e, CID)
    if st == "running":
        return
    if st != "gone":
        e.run("delete", "--force", CID)
    e.run("run", "-d", "--bundle", e.bundle, CID)


def _prune(e):
    """Untimed: all but the latest checkpoint go, so the timed one pays for no retention."""
    out = e.run("checkpoints", "--format", "json", CID)
    for c in json.loads(out[out.index("["):])[:-1]:
        e.run("checkpoint", "--delete", c["name"], CID)


def _make(driver, size, what):
    def case(ctx):
        e = _env(ctx, driver, size)

        def checkpoint_plan(i):
            _ensure_running(e)
            _prune(e)
            return [lambda: e.run("checkpoint", CID)]

        def frozen_plan(i):
            _ensure_running(e)
            _prune(e)

            def sample():
                out = e.run("checkpoint", "--format", "json", CID)
                return json.loads(out[out.index("{"):])["frozen_ns"] / 1e6
            return sample

        def restore_plan(i):
            _ensure_running(e)
            e.run("checkpoint", "--keep", "2", CID)
            e.run("kill", CID, "KILL")
            deadline = time.monotonic() + 30
            while _status(e, CID) != "stopped" and time.monotonic() < deadline:
                time.sleep(0.02)
            return [lambda: e.run("restore", "-d", CID)]

        def restore_as_plan(i):
            _ensure_running(e)
            for cid in os.listdir(e.root):
                if cid.startswith("fork"):
                    e.run("delete", "--force", cid)
            if i == 0:
                e.run("checkpoint", "--keep", "2", CID)
            return [lambda: e.run("restore", "-d", "--as", f"fork{i}", CID)]

        return {"checkpoint": checkpoint_plan, "frozen": frozen_plan, "restore": restore_plan,
                "restore_as": restore_as_plan}[what]

    label = {"checkpoint": "checkpoint", "frozen": "frozen time of checkpoint", "restore": "restore in place",
             "restore_as": "restore --as"}[what]
    case.__doc__ = f"{label} on {driver}, rootfs {size >> 20} MiB of random data ({CLAIM[what]})"
    return case


for _d in DRIVERS:
    for _s in SIZES:
        for _w in ("checkpoint", "frozen", "restore", "restore_as"):
            globals()[f"case_ckpt_{_d}_{_s}_{_w}"] = _make(_d, SIZES[_s], _w)
