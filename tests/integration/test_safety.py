"""The container cannot reach host binaries, host fds or a host cwd through the runtime."""
import os
import pathlib
import subprocess

import pytest

from lifecycle_util import edit_config, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")


def run(binary, root, *args, **kw):
    return subprocess.run([binary, "--root", root, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kw)


def state(binary, root, cid):
    import json
    r = run(binary, root, "state", cid)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_init_runs_from_a_sealed_memfd(binary, runtime_root, make_bundle):
    """CVE-2019-5736 class: what the container executes is never a host file it could write."""
    b = make_bundle(["/bin/true"])
    # the container keeps create's stdio: give it files, not pipes we would wait on
    errf = pathlib.Path(runtime_root).parent / "c1.err"
    with open(errf, "w") as e:
        r = subprocess.run([binary, "--root", runtime_root, "create", "--bundle", b, "c1"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=e, timeout=60)
    assert r.returncode == 0, errf.read_text()
    pid = state(binary, runtime_root, "c1")["pid"]
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe.startswith("/memfd:proxmox-lxcri-init"), exe
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(OSError):
            os.open(f"/proc/{pid}/exe", flags)
    # the host's runtime binaries are not mapped into the container
    maps = pathlib.Path(f"/proc/{pid}/maps").read_text()
    assert "proxmox-lxcri" not in maps.replace("/memfd:proxmox-lxcri-init", "")


def test_program_sees_no_runtime_binary(binary, runtime_root, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "cat /proc/[0-9]*/maps 2>/dev/null | grep -c proxmox-lxcri; "
                                      "ls -l /proc/1/exe"])
    r = run(binary, runtime_root, "run", "--bundle", b, "c2")
    assert r.returncode == 0, r.stderr
    count, exe = r.stdout.splitlines()[:2]
    assert count.strip() == "0", r.stdout
    assert "proxmox-lxcri" not in exe and "memfd" not in exe, exe


def test_program_gets_no_fd_beyond_stdio(binary, runtime_root, make_bundle, tmp_path):
    """Every fd of the runtime and of liblxc is closed before the program runs."""
    b = make_bundle(["/bin/sh", "-c", "for f in /proc/self/fd/*; do readlink $f || true; done"])
    # an fd of the caller that is not preserved must not arrive either
    leak = open(tmp_path / "host-secret", "w")
    try:
        r = subprocess.run([binary, "--root", runtime_root, "run", "--bundle", b, "c3"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                           pass_fds=(leak.fileno(),))
    finally:
        leak.close()
    assert r.returncode == 0, r.stderr
    targets = r.stdout.split()
    assert "host-secret" not in r.stdout
    # fds 0,1,2 are pipes; the shell's glob opened the directory it lists
    assert all(t.startswith("pipe:") or t == "/dev/null" or t.startswith("/proc/") for t in targets), targets


@pytest.mark.parametrize("fd", list(range(3, 12)))
def test_cwd_cannot_escape_through_a_leaked_fd(binary, runtime_root, make_bundle, fd):
    """CVE-2024-21626 class: process.cwd = /proc/self/fd/N must not land outside the container."""
    b = make_bundle(["/bin/sh", "-c", "ls /proc/1/cwd/../../../../ | tr '\\n' ' '; pwd"])
    edit_config(b, lambda c: c["process"].__setitem__("cwd", f"/proc/self/fd/{fd}"))
    r = run(binary, runtime_root, "run", "--bundle", b, f"c-{fd}")
    if r.returncode == 0:
        rootfs = sorted(os.listdir(pathlib.Path(b) / "rootfs"))
        listed = sorted(r.stdout.split()[:-1])
        assert listed == rootfs, f"cwd escaped the container: {r.stdout}"
    else:
        assert "cwd" in r.stderr or "chdir" in r.stderr or "No such" in r.stderr or "Not a dir" in r.stderr, \
            r.stderr


def test_cwd_is_inside_the_container(binary, runtime_root, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "pwd; ls /proc/self/cwd/.. | tr '\\n' ' '"])
    edit_config(b, lambda c: c["process"].__setitem__("cwd", "/tmp"))
    r = run(binary, runtime_root, "run", "--bundle", b, "c4")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "/tmp"
    assert sorted(lines[1].split()) == sorted(os.listdir(pathlib.Path(b) / "rootfs"))
