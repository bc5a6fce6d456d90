# SPDX-License-Identifier: Apache-2.0
"""Whole client round trips: `ctr run --rm` and `podman run --rm` of busybox /bin/true.

One containerd (or one podman store) serves every runtime of a case, each runtime named per
command (`ctr run --runc-binary`, `podman --runtime`), so the samples differ by the runtime only.
The daemon, its image and its temporary directory live as long as the case's contexts; the
helpers are the client suites' (tests/integration/clients.py).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import weakref

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "integration"))
import clients  # noqa: E402  (the client suites' helpers)


class _Shared:
    """A client set up once for all the runtimes of a case and torn down after the last one's
    context is gone (the harness drops the contexts when the case ends)."""

    def __init__(self, make):
        self._make = make  # make(top, first_binary) -> object with .cleanup()
        self._top = None
        self.obj = None
        self._users = 0

    def acquire(self, ctx):
        if self.obj is None:
            self._top = clients.mkdtemp_hex("plx-bench-clients-")
            try:
                self.obj = self._make(pathlib.Path(self._top), ctx.runtime.path)
            except (clients.ClientError, subprocess.TimeoutExpired) as e:
                self._teardown()
                raise OSError(str(e).splitlines()[0]) from None
        self._users += 1
        weakref.finalize(ctx, self._release)
        return self.obj

    def _release(self):
        self._users -= 1
        if self._users == 0:
            self._teardown()

    def _teardown(self):
        try:
            if self.obj is not None:
                self.obj.cleanup()
        finally:
            self.obj = None
            if self._top:
                clients.unmount_under(self._top)
                shutil.rmtree(self._top, ignore_errors=True)
            self._top = None


def _make_containerd(top, binary):
    clients.ensure_tools("containerd", "ctr", "umoci")
    d = clients.Containerd(top / "containerd", binary, clients.build_image(top / "image"))
    d.start()
    try:
        d.import_image()
    except Exception:
        d.cleanup()
        raise
    return d


def _make_podman(top, binary):
    clients.ensure_tools("podman", "conmon", "umoci")
    pm = clients.Podman(top / "podman", binary, clients.build_image(top / "image"))
    try:
        pm.setup()
    except Exception:
        pm.cleanup()
        raise
    return pm


_containerd = _Shared(_make_containerd)
_podman = _Shared(_make_podman)


def _step(argv, env=None):
    """A timed step; a failure ends this runtime's case with the client's last error line."""
    def step():
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, timeout=120, env=env)
        if p.returncode != 0:
            lines = p.stderr.strip().splitlines()
            raise OSError(f"`{argv[0]} run` exited {p.returncode}: {lines[-1] if lines else 'no output'}")
    return step


def case_ctr_run(ctx):
    """`ctr run --rm` of /bin/true through containerd's runc shim (--runc-binary)."""
    d = _containerd.acquire(ctx)
    base = ["ctr", "--address", str(d.sock), "--namespace", d.namespace, "run", "--rm",
            "--runc-binary", os.path.abspath(ctx.runtime.path), "--runc-root", str(ctx.root),
            "--fifo-dir", str(ctx.workdir / "fifo")]

    def plan(i):
        return [_step([*base, f"{clients.IMAGE_NAME}:latest", f"bench-{ctx.runtime.name}-{os.getpid()}-{i}",
                       "/bin/true"])]
    return plan


def case_podman_run(ctx):
    """`podman run --rm` of /bin/true (conmon, vfs, cgroupfs, --network none)."""
    pm = _podman.acquire(ctx)
    argv = ["podman", *map(str, pm.global_flags(runtime=False)),
            "--runtime", os.path.abspath(ctx.runtime.path),
            "run", "--rm", *pm.RUN_FLAGS, f"{clients.IMAGE_NAME}:latest", "/bin/true"]
    env = pm.env()

    def plan(i):
        return [_step(argv, env)]
    return plan
