# SPDX-License-Identifier: Apache-2.0
"""Fixtures every integration test shares.

    binary          the runtime under test: $PLX_BINARY, else <repo>/build/src/cli/proxmox-lxcri
    runtime_root    a fresh --root directory (str) per test; containers left in it are
                    force-deleted afterwards
    cli(*args, **kw)
                    runs `binary --root runtime_root *args`; returns the CompletedProcess
                    (text, captured output, stdin /dev/null, timeout 60 s); kw go to
                    subprocess.run
    busybox_rootfs  (session) a rootfs (str) with Debian's static busybox, a symlink per applet
                    in /bin (and at its --list-full path), /etc/passwd with root and nobody
    make_bundle(args, terminal=False, **overrides)
                    a bundle directory (str): a copy of busybox_rootfs and the config.json our
                    `spec` writes, with process.args = args, process.terminal = terminal and
                    overrides merged in (see merge())

Run with /usr/bin/python3 -m pytest tests/integration (the plain `python3` on PATH may be
another interpreter without pytest).
"""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUSYBOX = "/bin/busybox"  # Debian's busybox-static: runs in any rootfs

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def merge(base, overrides):
    """Merge overrides into the dict base, recursively for dicts.

    A dict value merges into the dict already there, any other value replaces it, and None
    removes the key: make_bundle(["sh"], process={"cwd": "/tmp"}, hostname=None).
    """
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture(scope="session")
def binary():
    path = os.environ.get("PLX_BINARY") or str(REPO / "build" / "src" / "cli" / "proxmox-lxcri")
    if not os.access(path, os.X_OK):
        pytest.fail(f"runtime binary not found: {path} (build it, or set PLX_BINARY)")
    return path


def _force_delete_all(binary, root):
    """Delete every container under root, whatever state it is in."""
    if not os.path.isdir(root):
        return
    for name in sorted(os.listdir(root)):
        if os.path.isdir(os.path.join(root, name)):
            subprocess.run([binary, "--root", root, "delete", "--force", name], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@pytest.fixture
def runtime_root(binary):
    root = tempfile.mkdtemp(prefix="plx-root-")
    yield root
    _force_delete_all(binary, root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cli(binary, runtime_root):
    def run(*args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([binary, "--root", runtime_root, *map(str, args)], **kw)

    return run


@pytest.fixture(scope="session")
def busybox_rootfs():
    if not os.access(BUSYBOX, os.X_OK):
        pytest.fail(f"{BUSYBOX} missing: install Debian's busybox-static")
    top = tempfile.mkdtemp(prefix="plx-busybox-")
    rootfs = pathlib.Path(top) / "rootfs"
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev", "tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    os.chmod(rootfs / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")

    # Each applet in /bin, as in docker's busybox image, and also where --list-full puts it
    # (usr/bin/env, sbin/init, ...), so both spellings of a path work.
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        name = os.path.basename(applet)
        if name in ("busybox", "linuxrc"):
            continue
        for link in (rootfs / "bin" / name, rootfs / applet):
            if not os.path.lexists(link):
                link.symlink_to("/bin/busybox")

    (rootfs / "etc" / "passwd").write_text(PASSWD)
    (rootfs / "etc" / "group").write_text(GROUP)
    (rootfs / "etc" / "hostname").write_text("busybox\n")
    yield str(rootfs)
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def make_bundle(binary, busybox_rootfs):
    made = []

    def make(args, terminal=False, **overrides):
        bundle = tempfile.mkdtemp(prefix="plx-bundle-")
        made.append(bundle)
        subprocess.run(["cp", "-a", busybox_rootfs, os.path.join(bundle, "rootfs")], check=True)
        spec = subprocess.run([binary, "spec", "--bundle", bundle], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)
        assert spec.returncode == 0, f"spec failed: {spec.stderr}"
        path = os.path.join(bundle, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["process"]["args"] = list(args)
        config["process"]["terminal"] = terminal
        merge(config, overrides)
        with open(path, "w") as f:
            json.dump(config, f, indent="\t")
        return bundle

    yield make
    for bundle in made:
        shutil.rmtree(bundle, ignore_errors=True)
