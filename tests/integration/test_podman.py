# SPDX-License-Identifier: Apache-2.0
"""Podman 4.3 drives proxmox-lxcri (through conmon, as it drives runc).

A private podman store (--root, --runroot, --tmpdir under a temporary directory; vfs; cgroupfs; a
file events log) gets the busybox OCI image built with umoci; CONTAINERS_CONF is the containers.conf
snippet of docs/clients.md.  Every command passes `--runtime <binary>`, except the test that shows
the snippet alone selects our runtime.  Everything is removed at the end, failed or not.
"""
import json
import os
import re
import time

import pytest

import clients
from clients import Podman, ensure_tools, pid_alive, wait_for, wait_size

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podman with cgroupfs needs root on this machine")

IMAGE = f"{clients.IMAGE_NAME}:latest"


@pytest.fixture(scope="module")
def podman(binary):
    ensure_tools("podman", "conmon", "umoci")
    with clients.client_in_tmp("plx-podman-", lambda top, image: Podman(os.path.join(top, "podman"), binary, image),
                               lambda pm: pm.setup()) as pm:
        yield pm


@pytest.fixture
def name(podman, request):
    """A container name for this test; the container is force-removed afterwards."""
    n = clients.container_name_for(request)
    yield n
    podman("rm", "--force", "--time", "0", n, check=False)


def why(p):
    return f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"


def our_state(podman, cid):
    p = clients.run([podman.binary, "--root", podman.RUNTIME_ROOT, "state", cid], check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def status(podman, name):
    return podman.inspect(name, "{{.State.Status}}")


# --- run --------------------------------------------------------------------------------------

def test_run_rm_output_and_exit_status(podman, name):
    p = podman("run", "--rm", "--name", name, *podman.RUN_FLAGS, IMAGE,
               "/bin/sh", "-c", "echo out; echo err >&2", check=False)
    assert p.returncode == 0, why(p)
    assert p.stdout == "out\n"
    assert "err" in p.stderr
    left = podman("ps", "-a", "-q", "--filter", f"name=^{name}$").stdout.strip()
    assert left == "", "--rm left the container"

    p = podman("run", "--rm", *podman.RUN_FLAGS, IMAGE, "/bin/sh", "-c", "exit 3", check=False)
    assert p.returncode == 3, why(p)


def test_run_tty(podman, name):
    argv = podman.argv("run", "--rm", "-t", "--name", name, *podman.RUN_FLAGS, IMAGE,
                       "/bin/sh", "-c", wait_size(24, 70) + "exit 5")
    status_, out = clients.run_in_pty(argv, timeout=30, rows=24, cols=70, env=podman.env())
    text = out.decode(errors="replace")
    assert status_ == 5, f"podman run -t exited {status_}: {text}"
    assert re.search(r"^/dev/(pts/\d+|console)\r*$", text, re.M), text
    assert re.search(r"^24 70\r*$", text, re.M), f"the console did not get the terminal's size: {text!r}"


def test_run_detached_inspect_state_and_pid(podman, name):
    cid = podman.run_detached(IMAGE, "/bin/sleep", "1000", name=name)
    assert status(podman, name) == "running"
    pid = int(podman.inspect(name, "{{.State.Pid}}"))
    assert pid > 0 and pid_alive(pid)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"/bin/sleep", b"1000"]
    assert podman.inspect(name, "{{.OCIRuntime}}").endswith("proxmox-lxcri")
    st = our_state(podman, cid)
    assert st and st["status"] == "running" and st["pid"] == pid, st


def test_inspect_exit_code_of_an_exited_container(podman, name):
    podman.run_detached(IMAGE, "/bin/sh", "-c", "exit 9", name=name)
    p = podman("wait", name, timeout=30, check=False)
    assert p.returncode == 0 and p.stdout.strip() == "9", why(p)
    assert status(podman, name) == "exited"
    assert podman.inspect(name, "{{.State.ExitCode}}") == "9"
    assert podman.inspect(name, "{{.State.Pid}}") == "0"


# --- exec -------------------------------------------------------------------------------------

def test_exec(podman, name):
    podman.run_detached(IMAGE, "/bin/sleep", "1000", name=name)
    p = podman("exec", name, "/bin/sh", "-c", "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; exit 4",
               check=False)
    assert p.returncode == 4, why(p)
    assert p.stdout == "in-exec\n/bin/sleep 1000 ", "exec must run in the container's PID namespace"


def test_exec_tty(podman, name):
    podman.run_detached(IMAGE, "/bin/sleep", "1000", name=name)
    p = podman("exec", "-t", name, "/bin/sh", "-c", "tty; exit 6", check=False)
    assert p.returncode == 6, why(p)
    assert re.match(r"^/dev/pts/\d+\r*\n$", p.stdout), why(p)


# --- top, stats, pause, stop, rm --------------------------------------------------------------

def test_top(podman, name):
    podman.run_detached(IMAGE, "/bin/sh", "-c", "sleep 1000 & sleep 1001 & wait", name=name)
    assert wait_for(lambda: "sleep 1001" in podman("top", name, "pid", "args", check=False).stdout, 10)
    p = podman("top", name, "pid", "args", check=False)
    assert p.returncode == 0, why(p)
    lines = p.stdout.splitlines()[1:]
    assert len(lines) == 3, p.stdout
    assert any(re.match(r"^\s*1\s+/bin/sh -c", line) for line in lines), p.stdout


def test_stats_no_stream(podman, name):
    podman.run_detached(IMAGE, "/bin/sh", "-c", "sleep 1000 & sleep 1001 & wait", name=name)
    p = podman("stats", "--no-stream", "--format", "json", name, check=False)
    assert p.returncode == 0, why(p)
    stats = json.loads(p.stdout)
    assert len(stats) == 1 and stats[0]["name"] == name, stats
    assert int(stats[0]["pids"]) == 3, stats
    assert not stats[0]["mem_usage"].startswith("0B"), stats


def test_pause_unpause(podman, name):
    cid = podman.run_detached(IMAGE, "/bin/sh", "-c", "while :; do sleep 0.05; done", name=name)
    p = podman("pause", name, check=False)
    assert p.returncode == 0, why(p)
    assert status(podman, name) == "paused"
    assert (our_state(podman, cid) or {}).get("status") == "paused"
    p = podman("unpause", name, check=False)
    assert p.returncode == 0, why(p)
    assert status(podman, name) == "running"
    p = podman("exec", name, "/bin/echo", "alive", check=False)
    assert p.returncode == 0 and p.stdout == "alive\n", why(p)


def test_stop_sends_sigterm(podman, name):
    podman.run_detached(IMAGE, "/bin/sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done", name=name)
    start = time.monotonic()
    p = podman("stop", "--time", "20", name, check=False)
    assert p.returncode == 0, why(p)
    assert time.monotonic() - start < 10, "the program's TERM trap did not run: stop waited for SIGKILL"
    assert status(podman, name) == "exited"
    assert podman.inspect(name, "{{.State.ExitCode}}") == "7"


def test_stop_kills_after_the_timeout(podman, name):
    podman.run_detached(IMAGE, "/bin/sleep", "1000", name=name)  # PID 1 without a TERM handler
    p = podman("stop", "--time", "1", name, check=False)
    assert p.returncode == 0, why(p)
    assert status(podman, name) == "exited"
    assert podman.inspect(name, "{{.State.ExitCode}}") == "137"


def test_rm_removes_our_state(podman, name):
    cid = podman.run_detached(IMAGE, "/bin/sleep", "1000", name=name)
    pid = int(podman.inspect(name, "{{.State.Pid}}"))
    p = podman("rm", "--force", "--time", "0", name, check=False)
    assert p.returncode == 0, why(p)
    assert podman("ps", "-a", "-q", "--filter", f"name=^{name}$").stdout.strip() == ""
    assert wait_for(lambda: not pid_alive(pid), 10), f"pid {pid} outlived podman rm"
    assert not os.path.exists(os.path.join(podman.RUNTIME_ROOT, cid)), "podman rm left our state behind"


# --- the docs' containers.conf alone -------------------------------------------------------------

def test_containers_conf_snippet_selects_our_runtime(podman, name):
    p = podman("run", "-d", "--name", name, *podman.RUN_FLAGS, IMAGE, "/bin/sleep", "1000", runtime=False,
               check=False)
    assert p.returncode == 0, why(p)
    podman.seen.add(p.stdout.strip())
    assert podman.inspect(name, "{{.OCIRuntime}}") == "proxmox-lxcri"
    assert our_state(podman, p.stdout.strip())["status"] == "running"
    p = podman("rm", "--force", "--time", "0", name, runtime=False, check=False)
    assert p.returncode == 0, why(p)
