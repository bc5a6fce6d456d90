# SPDX-License-Identifier: Apache-2.0
"""containerd 1.6 drives proxmox-lxcri through its runc shim (io.containerd.runc.v2).

A private containerd (config, socket, root and state in a temporary directory) gets the busybox OCI
image built with umoci.  `ctr` names our binary with --runc-binary (the shim's BinaryName); the
CRI plugin gets it from the docs/clients.md snippet, and a pod of the docs' RuntimeClass runs on
it through the CRI calls a kubelet makes.  Everything is removed at the end, failed or not.
"""
import json
import os
import re
import subprocess

import pytest

import clients
from clients import Containerd, doc_snippet, ensure_tools, run_in_pty, wait_for, wait_size
from cri_client import CriError, CriRuntime

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root on this machine")

IMAGE = f"{clients.IMAGE_NAME}:latest"


@pytest.fixture(scope="module")
def daemon(binary):
    ensure_tools("containerd", "ctr", "umoci")

    def setup(d):
        d.start()
        d.import_image()
    with clients.client_in_tmp("plx-ctrd-", lambda top, image: Containerd(os.path.join(top, "containerd"), binary,
                                                                          image), setup) as d:
        yield d


@pytest.fixture
def ctr(daemon, request):
    """daemon.ctr, and a fresh container ID; whatever the test leaves under that ID is removed."""
    cid = clients.container_name_for(request)
    yield daemon, cid
    daemon.ctr("task", "kill", "-s", "SIGKILL", cid, check=False)
    daemon.ctr("task", "delete", "--force", cid, check=False)
    daemon.ctr("container", "rm", cid, check=False)
    clients.force_delete(daemon.binary, daemon.state_dir(""), [cid])


def run_argv(d, cid, *args, flags=()):
    return ["ctr", "--address", str(d.sock), "--namespace", d.namespace, "run", *flags,
            *d.runtime_flags(), IMAGE, cid, *args]


def ctr_run(d, cid, *args, flags=("--rm",), timeout=60):
    return clients.run(run_argv(d, cid, *args, flags=flags), timeout=timeout, check=False)


def task_status(d, cid):
    """(pid, STATUS) from `ctr task ls`, or None when there is no task."""
    for line in d.ctr("task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return int(f[1]), f[2]
    return None


def run_detached(d, cid, *args):
    p = ctr_run(d, cid, *args, flags=("-d",))
    assert p.returncode == 0, f"ctr run -d: {p.stderr}"
    assert wait_for(lambda: (task_status(d, cid) or (0, ""))[1] == "RUNNING", 10), task_status(d, cid)
    return task_status(d, cid)[0]


def state_gone(d, cid):
    return not d.state_dir(cid).exists()


def why(d, p):
    return f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}\ncontainerd log:\n{d.log_tail(15)}"


# --- ctr run ----------------------------------------------------------------------------------

def test_run_rm_prints_output_and_removes_everything(ctr):
    d, cid = ctr
    p = ctr_run(d, cid, "/bin/sh", "-c", "echo out; echo err >&2")
    assert p.returncode == 0, why(d, p)
    assert p.stdout == "out\n"
    assert "err" in p.stderr
    assert cid not in d.ctr("container", "ls", "-q").stdout.split()
    assert state_gone(d, cid), f"our state {d.state_dir(cid)} outlived ctr run --rm"


def test_run_exit_status_is_the_programs(ctr):
    d, cid = ctr
    p = ctr_run(d, cid, "/bin/sh", "-c", "exit 3")
    assert p.returncode == 3, why(d, p)


def test_run_exit_status_when_killed_is_128_plus_signal(ctr):
    d, cid = ctr
    proc = subprocess.Popen(run_argv(d, cid, "/bin/sleep", "1000", flags=("--rm",)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (task_status(d, cid) or (0, ""))[1] == "RUNNING", 20)
        d.ctr("task", "kill", "-s", "SIGKILL", cid)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 137, f"ctr run exited {proc.returncode}: {err}"


def test_run_sigterm_reaches_the_program(ctr):
    d, cid = ctr
    # PID 1 gets only the signals it handles: trap TERM
    script = "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"
    proc = subprocess.Popen(run_argv(d, cid, "/bin/sh", "-c", script, flags=("--rm",)), text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "ready\n"
        d.ctr("task", "kill", cid)  # SIGTERM by default
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 7, f"ctr run exited {proc.returncode}: {err}"


def test_run_tty(ctr):
    d, cid = ctr
    argv = run_argv(d, cid, "/bin/sh", "-c", wait_size(33, 77) + "exit 5", flags=("--rm", "--tty"))
    status, out = run_in_pty(argv, timeout=20, rows=33, cols=77)
    text = out.decode(errors="replace")
    assert status == 5, f"ctr run --tty exited {status}: {text}"
    assert re.search(r"^/dev/(pts/\d+|console)\r*$", text, re.M), text
    assert re.search(r"^33 77\r*$", text, re.M), f"the console did not get the terminal's size: {text!r}"


def test_run_reads_stdin(ctr):
    d, cid = ctr
    p = clients.run(run_argv(d, cid, "/bin/sh", "-c", "read line; echo got:$line", flags=("--rm",)),
                    input="hello\n", stdin=None, check=False)
    assert p.returncode == 0, why(d, p)
    assert p.stdout == "got:hello\n"


# --- a detached task --------------------------------------------------------------------------

def test_detached_task_kill_delete_and_container_rm(ctr):
    d, cid = ctr
    pid = run_detached(d, cid, "/bin/sleep", "1000")
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"/bin/sleep", b"1000"]
    state = json.loads(clients.run([d.binary, "--root", d.state_dir(""), "state", cid]).stdout)
    assert state["status"] == "running" and state["pid"] == pid

    d.ctr("task", "kill", "-s", "SIGKILL", cid)
    assert wait_for(lambda: task_status(d, cid)[1] == "STOPPED", 10), task_status(d, cid)
    d.ctr("task", "delete", cid)
    assert task_status(d, cid) is None
    assert state_gone(d, cid), "task delete left our state behind"
    d.ctr("container", "rm", cid)
    assert cid not in d.ctr("container", "ls", "-q").stdout.split()
    assert cid not in d.ctr("snapshot", "ls").stdout, "container rm left its snapshot"


def test_task_exec(ctr):
    d, cid = ctr
    run_detached(d, cid, "/bin/sleep", "1000")
    p = d.ctr("task", "exec", "--exec-id", "e1", "--fifo-dir", d.fifo_dir, cid,
              "/bin/sh", "-c", "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; exit 4", check=False)
    assert p.returncode == 4, why(d, p)
    assert p.stdout == "in-exec\n/bin/sleep 1000 ", "exec must run in the container's PID namespace"


def test_task_exec_killed_by_signal(ctr):
    d, cid = ctr
    run_detached(d, cid, "/bin/sleep", "1000")
    p = d.ctr("task", "exec", "--exec-id", "e2", "--fifo-dir", d.fifo_dir, cid,
              "/bin/sh", "-c", "kill -KILL $$", check=False)
    assert p.returncode == 137, why(d, p)


def test_task_exec_tty(ctr):
    d, cid = ctr
    run_detached(d, cid, "/bin/sleep", "1000")
    argv = ["ctr", "--address", str(d.sock), "--namespace", d.namespace, "task", "exec", "--tty",
            "--exec-id", "t1", "--fifo-dir", str(d.fifo_dir), cid,
            "/bin/sh", "-c", wait_size(21, 61) + "exit 6"]
    status, out = run_in_pty(argv, timeout=20, rows=21, cols=61)
    text = out.decode(errors="replace")
    assert status == 6, f"ctr task exec --tty exited {status}: {text}"
    assert re.search(r"^/dev/pts/\d+\r*$", text, re.M), text
    assert re.search(r"^21 61\r*$", text, re.M), f"the exec's pty did not get the terminal's size: {text!r}"


def test_task_ps(ctr):
    d, cid = ctr
    pid = run_detached(d, cid, "/bin/sh", "-c", "sleep 1000 & sleep 1001 & wait")
    assert wait_for(lambda: len(d.ctr("task", "ps", cid, check=False).stdout.split()) >= 4, 10)
    p = d.ctr("task", "ps", cid, check=False)
    assert p.returncode == 0, why(d, p)
    pids = [int(line.split()[0]) for line in p.stdout.splitlines()[1:] if line.strip()]
    assert pid in pids
    assert len(pids) == 3, f"sh and its two sleeps: {p.stdout}"


def test_task_pause_resume(ctr):
    d, cid = ctr
    pid = run_detached(d, cid, "/bin/sh", "-c", "while :; do sleep 0.05; done")
    p = d.ctr("task", "pause", cid, check=False)
    assert p.returncode == 0, why(d, p)
    assert task_status(d, cid) == (pid, "PAUSED")
    p = d.ctr("task", "resume", cid, check=False)
    assert p.returncode == 0, why(d, p)
    assert task_status(d, cid) == (pid, "RUNNING")
    p = d.ctr("task", "exec", "--exec-id", "after", "--fifo-dir", d.fifo_dir, cid, "/bin/echo", "alive",
              check=False)
    assert p.returncode == 0 and p.stdout == "alive\n", why(d, p)


def test_task_kill_all(ctr):
    d, cid = ctr
    run_detached(d, cid, "/bin/sh", "-c", "sleep 1000 & sleep 1001 & wait")
    p = d.ctr("task", "kill", "--all", "-s", "SIGKILL", cid, check=False)
    assert p.returncode == 0, why(d, p)
    assert wait_for(lambda: task_status(d, cid)[1] == "STOPPED", 10), task_status(d, cid)


def test_task_metrics(ctr):
    d, cid = ctr
    run_detached(d, cid, "/bin/sh", "-c", "sleep 1000 & sleep 1001 & wait")
    p = d.ctr("task", "metrics", "--format", "json", cid, check=False)
    assert p.returncode == 0, why(d, p)
    m = json.loads(p.stdout)
    # cgroup v1 metrics (this machine's controllers are v1): the container's cgroup, found by pid
    assert m["pids"]["current"] == 3, m.get("pids")
    assert m["memory"]["usage"]["usage"] > 0, m.get("memory")


# --- the CRI plugin with the docs' runtime, a pod of the docs' RuntimeClass -------------------

def runtimeclass_handler():
    text = doc_snippet("runtimeclass")
    rc, pod = text.split("\n---\n")
    handler = re.search(r"^handler:\s*(\S+)\s*$", rc, re.M).group(1)
    name = re.search(r"^\s+name:\s*(\S+)\s*$", rc, re.M).group(1)
    assert re.search(r"^\s+runtimeClassName:\s*" + re.escape(name) + r"\s*$", pod, re.M)
    command = json.loads(re.search(r"^\s+command:\s*(\[.*\])\s*$", pod, re.M).group(1))
    return handler, command


def test_cri_pod_with_the_docs_runtimeclass(daemon, request):
    d = daemon
    handler, command = runtimeclass_handler()
    assert f'containerd.runtimes.{handler}]' in doc_snippet("containerd-config"), \
        "the RuntimeClass handler must name the containerd runtime of the docs"
    d.import_image(namespace="k8s.io")  # the CRI plugin's namespace
    cri = CriRuntime(d.sock)
    pod_id = None
    try:
        assert wait_for(lambda: cri.image_present(IMAGE) and cri.image_present(d.sandbox_image), 20)
        logs = d.cri_logs / "default_hello-lxcri"
        pod = CriRuntime.host_network_pod("hello-lxcri", "0b1c-test", "default", logs)
        try:
            pod_id = cri.run_pod_sandbox(pod, handler)
        except CriError as e:
            pytest.fail(f"{e}\ncontainerd log:\n{d.log_tail(15)}")
        assert d.state_dir(pod_id, "k8s.io").is_dir(), "the sandbox must run on our runtime (options.Root)"

        try:
            hello_config = CriRuntime.container("hello", IMAGE, command, "hello/0.log")
            hello = cri.create_container(pod_id, hello_config, pod)
            cri.start_container(hello)
        except CriError as e:
            pytest.fail(f"{e}\ncontainerd log:\n{d.log_tail(15)}")
        assert wait_for(lambda: cri.container_status(hello)["state"] == "exited", 30), \
            cri.container_status(hello)
        st = cri.container_status(hello)
        assert st["exit_code"] == 0, st
        log = (logs / "hello" / "0.log").read_text()
        assert re.search(r" stdout F hello from proxmox-lxcri$", log, re.M), log

        # a second container, kept running, for ExecSync (a kubelet's exec probe)
        sleeper = cri.create_container(pod_id, CriRuntime.container(
            "sleeper", IMAGE, ["/bin/sleep", "1000"], "sleeper/0.log"), pod)
        cri.start_container(sleeper)
        assert cri.container_status(sleeper)["state"] == "running"
        try:
            out, err, code = cri.exec_sync(sleeper, ["/bin/sh", "-c", "echo probe; exit 2"])
        except CriError as e:
            pytest.fail(f"{e}\ncontainerd log:\n{d.log_tail(15)}")
        assert (out, code) == (b"probe\n", 2), (out, err, code)
        cri.stop_container(sleeper, timeout=0)
        assert cri.container_status(sleeper)["state"] == "exited"
        for c in (hello, sleeper):
            cri.remove_container(c)
            assert not d.state_dir(c, "k8s.io").exists(), f"RemoveContainer left our state of {c}"
    finally:
        if pod_id is not None:
            try:
                cri.stop_pod_sandbox(pod_id)
                cri.remove_pod_sandbox(pod_id)
            except CriError:
                pass  # the module's teardown removes what is left
        cri.close()
    assert not d.state_dir(pod_id, "k8s.io").exists(), "RemovePodSandbox left our state of the sandbox"
