"""Container lifecycle on liblxc: create/start/run/state/kill/delete (issue: lifecycle)."""
import array
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

from lifecycle_util import cgroup_dirs, edit_config, pid_alive, wait_for, kill_quietly

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")


@pytest.fixture
def rt(binary, runtime_root, tmp_path):
    """Run the runtime with chosen stdio; stdout/stderr go to files so a container keeping them
    open never blocks the test."""
    class Runtime:
        root = pathlib.Path(runtime_root)
        created = []

        def __call__(self, *args, stdin=subprocess.DEVNULL, timeout=60, pass_fds=(), env=None):
            out = tmp_path / f"out.{time.monotonic_ns()}"
            err = tmp_path / f"err.{time.monotonic_ns()}"
            with open(out, "w") as o, open(err, "w") as e:
                p = subprocess.run([binary, "--root", str(self.root), *args], stdin=stdin, stdout=o,
                                   stderr=e, timeout=timeout, pass_fds=pass_fds, env=env)
            p.stdout = out.read_text()
            p.stderr = err.read_text()
            return p

        def state(self, cid):
            r = self("state", cid)
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)

    r = Runtime()
    yield r
    # whatever a test left: force-delete, so the machine stays clean
    for d in r.root.iterdir() if r.root.exists() else []:
        subprocess.run([binary, "--root", str(r.root), "delete", "--force", d.name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def cid(request):
    return "t-" + re.sub(r"[^A-Za-z0-9.+-]+", "-", request.node.name)[:60].strip("-")


# --- run -------------------------------------------------------------------------------------

def test_run_true_exits_zero_and_cleans_up(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    c = cid(request)
    r = rt("run", "--bundle", b, c)
    assert r.returncode == 0, r.stderr
    assert not (rt.root / c).exists(), "run without --keep must delete the container"
    assert cgroup_dirs(f"/proxmox-lxcri/{c}") == [], "no cgroup may be left behind"


def test_run_exit_status_is_the_programs(rt, make_bundle, request):
    b = make_bundle(["/bin/sh", "-c", "exit 3"])
    r = rt("run", "--bundle", b, cid(request))
    assert r.returncode == 3, r.stderr


@pytest.mark.parametrize("sig,code", [("KILL", 137), ("TERM", 143)])
def test_run_exit_status_when_killed_is_128_plus_signal(rt, make_bundle, request, sig, code):
    # a PID 1 ignores signals it has no handler for, except SIGKILL from outside: trap TERM
    b = make_bundle(["/bin/sh", "-c", "trap 'kill -TERM $child; exit 143' TERM; sleep 100 & child=$!; wait"])
    c = cid(request)
    p = subprocess.Popen([rt_binary(rt), "--root", str(rt.root), "run", "--bundle", b, c],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert wait_for(lambda: (rt.root / c / "state.json").exists() and
                    rt.state(c)["status"] == "running", 30)
    time.sleep(0.2)
    assert rt("kill", c, sig).returncode == 0
    assert p.wait(30) == code, p.stderr.read()


def test_run_forwards_signals_to_the_container(rt, make_bundle, request):
    b = make_bundle(["/bin/sh", "-c", "trap 'exit 42' USR1; sleep 100 & wait"])
    c = cid(request)
    p = subprocess.Popen([rt_binary(rt), "--root", str(rt.root), "run", "--bundle", b, c],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert wait_for(lambda: (rt.root / c / "state.json").exists() and
                    rt.state(c)["status"] == "running", 30)
    time.sleep(0.2)
    p.send_signal(signal.SIGUSR1)
    assert p.wait(30) == 42, p.stderr.read()


def test_run_stdout_stderr_are_the_callers(rt, make_bundle, request):
    b = make_bundle(["/bin/sh", "-c", "echo out; echo err >&2; read x; echo got:$x"])
    p = subprocess.run([rt_binary(rt), "--root", str(rt.root), "run", "--bundle", b, cid(request)],
                       input="line\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "out\ngot:line\n"
    assert p.stderr == "err\n"


def rt_binary(rt):
    return os.environ.get("PLX_BINARY") or str(pathlib.Path(__file__).resolve().parents[2] /
                                               "build/src/cli/proxmox-lxcri")


def test_run_keep_leaves_stopped_container(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    c = cid(request)
    assert rt("run", "--keep", "--bundle", b, c).returncode == 0
    assert rt.state(c)["status"] == "stopped"
    assert rt("delete", c).returncode == 0
    assert not (rt.root / c).exists()


def test_run_detach_then_kill_and_delete(rt, make_bundle, request):
    b = make_bundle(["/bin/sleep", "100"])
    c = cid(request)
    r = rt("run", "-d", "--bundle", b, c)
    assert r.returncode == 0, r.stderr
    st = rt.state(c)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])
    assert rt("kill", c, "KILL").returncode == 0
    assert wait_for(lambda: rt.state(c)["status"] == "stopped")
    assert rt("delete", c).returncode == 0


# --- create / start ----------------------------------------------------------------------------

def test_create_start_state_delete(rt, make_bundle, request, tmp_path):
    b = make_bundle(["/bin/sleep", "100"])
    c = cid(request)
    pidfile = tmp_path / "pid"
    r = rt("create", "--bundle", b, "--pid-file", str(pidfile), c)
    assert r.returncode == 0, r.stderr
    st = rt.state(c)
    assert st["status"] == "created"
    assert st["id"] == c and st["bundle"] == str(b)
    assert int(pidfile.read_text()) == st["pid"]
    assert pid_alive(st["pid"])
    # the user program has not run yet: the container's pid 1 is our init
    assert "sleep" not in pathlib.Path(f"/proc/{st['pid']}/cmdline").read_text()

    r = rt("start", c)
    assert r.returncode == 0, r.stderr
    st2 = rt.state(c)
    assert st2["status"] == "running" and st2["pid"] == st["pid"]
    assert "sleep" in pathlib.Path(f"/proc/{st['pid']}/cmdline").read_text()
    assert rt("start", c).returncode == 1, "a running container cannot be started again"

    r = rt("delete", c)
    assert r.returncode == 1 and "not stopped" in r.stderr
    # SIGTERM by default; a PID 1 without a handler ignores it (as with runc)
    r = rt("kill", c)
    assert r.returncode == 0, r.stderr
    time.sleep(0.2)
    assert rt.state(c)["status"] == "running"
    assert rt("kill", c, "SIGKILL").returncode == 0
    assert wait_for(lambda: rt.state(c)["status"] == "stopped")
    assert rt.state(c)["pid"] == 0
    assert rt("delete", c).returncode == 0
    assert rt("state", c).returncode == 1


def test_state_stopped_after_program_exits_by_itself(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    c = cid(request)
    assert rt("create", "--bundle", b, c).returncode == 0
    assert rt("start", c).returncode == 0
    assert wait_for(lambda: rt.state(c)["status"] == "stopped")


def test_delete_created_container_kills_its_init(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    c = cid(request)
    assert rt("create", "--bundle", b, c).returncode == 0
    pid = rt.state(c)["pid"]
    assert rt("delete", c).returncode == 0
    assert wait_for(lambda: not pid_alive(pid))
    assert cgroup_dirs(f"/proxmox-lxcri/{c}") == []


def test_delete_force_running(rt, make_bundle, request):
    b = make_bundle(["/bin/sleep", "100"])
    c = cid(request)
    assert rt("run", "-d", "--bundle", b, c).returncode == 0
    pid = rt.state(c)["pid"]
    assert rt("delete", "--force", c).returncode == 0
    assert not pid_alive(pid)
    assert not (rt.root / c).exists()
    assert cgroup_dirs(f"/proxmox-lxcri/{c}") == []
    # idempotent
    assert rt("delete", "--force", c).returncode == 0


def test_kill_all_signals_every_process(rt, make_bundle, request):
    b = make_bundle(["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"])
    c = cid(request)
    assert rt("run", "-d", "--bundle", b, c).returncode == 0
    assert wait_for(lambda: len(cgroup_procs(c)) == 3)
    assert rt("kill", "--all", c, "9").returncode == 0
    assert wait_for(lambda: rt.state(c)["status"] == "stopped")
    assert wait_for(lambda: cgroup_procs(c) == [])


def cgroup_procs(c):
    for d in cgroup_dirs(f"/proxmox-lxcri/{c}"):
        f = d / "cgroup.procs"
        if f.exists():
            return f.read_text().split()
    return []


def test_kill_stopped_container_fails(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    c = cid(request)
    assert rt("run", "--keep", "--bundle", b, c).returncode == 0
    r = rt("kill", c, "KILL")
    assert r.returncode == 1 and "not running" in r.stderr


# --- stdio, terminal, fds --------------------------------------------------------------------

def test_terminal_master_is_sent_over_console_socket(rt, make_bundle, request, tmp_path):
    b = make_bundle(["/bin/sh", "-c", "tty; stty size; echo done"], terminal=True)
    edit_config(b, lambda c: c["process"].__setitem__("consoleSize", {"height": 33, "width": 111}))
    c = cid(request)
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(30)
    proc = subprocess.Popen([rt_binary(rt), "--root", str(rt.root), "create", "--bundle", b,
                             "--console-socket", sock_path, c], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    conn, _ = srv.accept()
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    assert proc.wait(60) == 0, proc.stderr.read()
    assert len(fds) == 1
    master = fds[0]
    assert rt("start", c).returncode == 0
    out = b""
    end = time.monotonic() + 20
    while b"done" not in out and time.monotonic() < end:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    text = out.decode()
    assert "/dev/pts/" in text or "/dev/console" in text, text
    assert "33 111" in text, text
    assert "done" in text


def test_preserve_fds_passes_exactly_those(rt, make_bundle, request):
    b = make_bundle(["/bin/sh", "-c", "echo via-fd3 >&3; ls /proc/self/fd | sort -n | tr '\\n' ' '"])
    c = cid(request)
    r_fd, w_fd = os.pipe()
    extra_r, extra_w = os.pipe()  # not preserved: must not reach the container
    try:
        # the runtime gets the pipe as fd 3 and another fd as 4, as a client would pass them
        p = subprocess.run(["/bin/bash", "-c", f'exec "$@" 3>&{w_fd} 4>&{extra_w}', "--",
                            rt_binary(rt), "--root", str(rt.root), "run", "--preserve-fds", "1",
                            "--bundle", b, c], pass_fds=(w_fd, extra_w), capture_output=True,
                           text=True, timeout=60)
    finally:
        os.close(w_fd)
        os.close(extra_w)
    assert p.returncode == 0, p.stderr
    assert os.read(r_fd, 100) == b"via-fd3\n"
    # ls itself opens one fd for the directory it lists
    fds = p.stdout.split()
    assert fds[:4] == ["0", "1", "2", "3"] and len(fds) <= 5, fds
    os.close(r_fd)
    os.close(extra_r)


# --- bad input: clear errors, nothing left behind ---------------------------------------------

def assert_nothing_left(rt, c):
    assert not (rt.root / c).exists(), "a failed create must leave no state directory"
    assert cgroup_dirs(f"/proxmox-lxcri/{c}") == []


def test_missing_bundle(rt, request, tmp_path):
    c = cid(request)
    r = rt("create", "--bundle", str(tmp_path / "nope"), c)
    assert r.returncode == 1
    assert "nope" in r.stderr and "No such file" in r.stderr
    assert_nothing_left(rt, c)


def test_invalid_json(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    (pathlib.Path(b) / "config.json").write_text('{"ociVersion": "1.0.2",')
    c = cid(request)
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1
    assert "config.json:1:" in r.stderr
    assert_nothing_left(rt, c)


def test_wrong_type_names_the_field(rt, make_bundle, request):
    b = make_bundle(["/bin/true"])
    edit_config(b, lambda cfg: cfg["linux"].setdefault("resources", {}).__setitem__(
        "memory", {"limit": "lots"}))
    c = cid(request)
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1
    assert "config.json: linux.resources.memory.limit: expected integer, got string" in r.stderr
    assert_nothing_left(rt, c)


def test_duplicate_id(rt, make_bundle, request):
    b = make_bundle(["/bin/sleep", "100"])
    c = cid(request)
    assert rt("create", "--bundle", b, c).returncode == 0
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1 and "exists" in r.stderr
    assert rt.state(c)["status"] == "created", "the first container is untouched"


def test_unwritable_root(binary, make_bundle, request, tmp_path):
    b = make_bundle(["/bin/true"])
    blocker = tmp_path / "file"
    blocker.write_text("")
    p = subprocess.run([binary, "--root", str(blocker / "root"), "create", "--bundle", b, "x"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert str(blocker) in p.stderr


def test_missing_executable_fails_create(rt, make_bundle, request):
    b = make_bundle(["no-such-program"])
    c = cid(request)
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1
    # logrus text format escapes the quotes, as runc's log does
    assert 'exec: \\"no-such-program\\": executable file not found in $PATH' in r.stderr
    assert_nothing_left(rt, c)


def test_bad_mount_fails_create_and_cleans_up(rt, make_bundle, request, tmp_path):
    b = make_bundle(["/bin/true"])
    edit_config(b, lambda cfg: cfg["mounts"].append(
        {"destination": "/mnt", "type": "bind", "source": str(tmp_path / "missing"),
         "options": ["rbind"]}))
    c = cid(request)
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1
    assert "mounts[" in r.stderr and "missing" in r.stderr
    assert_nothing_left(rt, c)


def test_terminal_without_console_socket_is_refused(rt, make_bundle, request):
    b = make_bundle(["/bin/true"], terminal=True)
    c = cid(request)
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1 and "console socket" in r.stderr
    assert_nothing_left(rt, c)


def test_delete_force_after_create_was_killed(rt, make_bundle, request):
    """SIGKILL the runtime at several points of create; delete --force cleans up every time."""
    b = make_bundle(["/bin/sleep", "100"])
    for delay in (0.005, 0.02, 0.05, 0.1, 0.2):
        c = cid(request) + f"-{int(delay * 1000)}"
        p = subprocess.Popen([rt_binary(rt), "--root", str(rt.root), "create", "--bundle", b, c],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
        pids = []
        sj = rt.root / c / "state.json"
        if sj.exists():
            try:
                st = json.loads(sj.read_text())
                pids = [x for x in (st.get("pid"), (st.get("engine") or {}).get("monitor_pid")) if x]
            except ValueError:
                pass
        r = rt("delete", "--force", c)
        assert r.returncode == 0, r.stderr
        assert_nothing_left(rt, c)
        for pid in pids:
            assert wait_for(lambda: not pid_alive(pid), 5), f"process {pid} survived delete --force"
