"""exec: a new process joins the running container, through the same settings path as its init."""
import array
import json
import os
import pathlib
import pty
import select
import socket
import subprocess
import time

import pytest

from lifecycle_util import edit_config, pid_alive, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")


@pytest.fixture
def ctr(binary, runtime_root, make_bundle, tmp_path):
    """A running container (sleep) and a runner for our CLI against it."""
    made = []

    def start(config_edit=None, cid="x1"):
        b = make_bundle(["/bin/sleep", "1000"])
        if config_edit:
            edit_config(b, config_edit)
        with open(tmp_path / "run.out", "w") as out:
            r = subprocess.run([binary, "--root", runtime_root, "run", "-d", "--bundle", b, cid],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60)
        assert r.returncode == 0, (tmp_path / "run.out").read_text()
        made.append(cid)
        return cid

    def cli(*args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        if "input" not in kw and "stdin" not in kw:
            kw["stdin"] = subprocess.DEVNULL
        return subprocess.run([binary, "--root", runtime_root, *args], **kw)

    start.cli = cli
    yield start
    for cid in made:
        cli("delete", "--force", cid)


def state(cli, cid):
    r = cli("state", cid)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_exec_runs_in_the_containers_namespaces_and_cgroup(ctr):
    c = ctr()
    cli = ctr.cli
    init = state(cli, c)["pid"]
    r = cli("exec", c, "sh", "-c", "for n in pid mnt net uts ipc; do readlink /proc/self/ns/$n; done; "
                                   "hostname; echo $$")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    for ns, got in zip(["pid", "mnt", "net", "uts", "ipc"], lines[:5]):
        assert got == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    assert lines[5] == "proxmox-lxcri"
    assert int(lines[6]) > 1, "a pid inside the container's pid namespace"


def test_exec_exit_status_and_stdio(ctr):
    c = ctr()
    r = ctr.cli("exec", c, "sh", "-c", "read x; echo out:$x; echo err >&2; exit 9", input="hi\n")
    assert r.returncode == 9
    assert r.stdout == "out:hi\n" and r.stderr == "err\n"


def test_exec_flags_env_cwd_user_gids(ctr):
    c = ctr()
    r = ctr.cli("exec", "-e", "A=1", "--env", "B=2", "--cwd", "/tmp", "-u", "65534:65534",
                "--additional-gids", "10", "-g", "11", c,
                "sh", "-c", "echo $A $B; pwd; id -u; id -g; id -G")
    assert r.returncode == 0, r.stderr
    a, cwd, uid, gid, groups = r.stdout.splitlines()
    assert (a, cwd, uid, gid) == ("1 2", "/tmp", "65534", "65534")
    assert "10" in groups.split() and "11" in groups.split()


def test_exec_inherits_config_env_and_rlimits(ctr):
    c = ctr(lambda cfg: (cfg["process"]["env"].append("FROM_CONFIG=yes"),
                         cfg["process"].__setitem__("rlimits", [{"type": "RLIMIT_NOFILE", "soft": 321,
                                                                 "hard": 321}])))
    r = ctr.cli("exec", c, "sh", "-c", "echo $FROM_CONFIG; ulimit -n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["yes", "321"]


def test_exec_process_file(ctr, tmp_path):
    c = ctr()
    proc = {"args": ["sh", "-c", "echo $X; pwd; id -u"], "env": ["X=from-file", "PATH=/bin"], "cwd": "/etc",
            "user": {"uid": 65534, "gid": 65534}}
    (tmp_path / "p.json").write_text(json.dumps(proc))
    r = ctr.cli("exec", "--process", str(tmp_path / "p.json"), c)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["from-file", "/etc", "65534"]


def test_exec_bad_process_file_names_the_field(ctr, tmp_path):
    c = ctr()
    (tmp_path / "p.json").write_text(json.dumps({"args": ["true"], "cwd": 5}))
    r = ctr.cli("exec", "--process", str(tmp_path / "p.json"), c)
    assert r.returncode == 1
    assert "p.json" in r.stderr and "cwd" in r.stderr


def test_exec_missing_program(ctr):
    c = ctr()
    r = ctr.cli("exec", c, "no-such")
    assert r.returncode == 1
    assert "executable file not found in $PATH" in r.stderr


def test_exec_detach_pid_file(ctr, tmp_path):
    c = ctr()
    pf = tmp_path / "exec.pid"
    # the detached process keeps our stdio: don't hand it pipes we would wait on
    r = ctr.cli("exec", "-d", "--pid-file", str(pf), c, "sleep", "30", capture_output=False,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid = int(pf.read_text())
    assert pid_alive(pid)
    assert pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep")
    # in the container's cgroup
    own = pathlib.Path(f"/proc/{pid}/cgroup").read_text()
    assert f"/proxmox-lxcri/{c}" in own
    ctr.cli("kill", "--all", c, "KILL")


def test_exec_caps_and_no_new_privs(ctr):
    c = ctr()
    r = ctr.cli("exec", "--no-new-privs", "--cap", "CAP_SYS_ADMIN", c, "sh", "-c",
                "grep -E 'NoNewPrivs|CapEff' /proc/self/status")
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert fields["NoNewPrivs"].strip() == "1"
    cap_eff = int(fields["CapEff"], 16)
    assert cap_eff & (1 << 21), "CAP_SYS_ADMIN (21) added by --cap"
    assert not cap_eff & (1 << 12), "CAP_NET_ADMIN stays out: the template does not grant it"


def test_exec_gets_the_containers_seccomp_filter(ctr):
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    c = ctr(lambda cfg: cfg["linux"].__setitem__("seccomp", seccomp))
    r = ctr.cli("exec", c, "mkdir", "/tmp/x")
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr


def test_exec_fds_are_only_stdio_and_preserved(ctr):
    c = ctr()
    rd, wr = os.pipe()
    try:
        r = subprocess.run(["/bin/bash", "-c", f'exec "$@" 3>&{wr} 4>&{wr}', "--",
                            *_argv_holder["argv"], "exec", "--preserve-fds", "1", c, "sh", "-c",
                            "echo hi >&3; ls /proc/self/fd | tr '\\n' ' '"],
                           pass_fds=(wr,), capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    finally:
        os.close(wr)
    assert r.returncode == 0, r.stderr
    assert os.read(rd, 10) == b"hi\n"
    os.close(rd)
    assert r.stdout.split()[:4] == ["0", "1", "2", "3"] and len(r.stdout.split()) <= 5, r.stdout


# the binary and --root of the current test, for commands run through a wrapper or a pty
_argv_holder = {}


@pytest.fixture(autouse=True)
def _remember_argv(binary, runtime_root):
    _argv_holder["argv"] = [binary, "--root", runtime_root]


def test_exec_tty_console_socket(ctr, tmp_path):
    c = ctr()
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(30)
    p = subprocess.Popen([*_argv_holder["argv"], "exec", "-t", "-d", "--console-socket", sock_path, c,
                          "sh", "-c", "tty; echo done; sleep 1"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, _ = srv.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    assert p.wait(60) == 0, p.stderr.read()
    master = fds[0]
    out = b""
    end = time.monotonic() + 20
    while b"done" not in out and time.monotonic() < end:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        out += chunk
    os.close(master)
    assert b"/dev/pts/" in out and b"done" in out, out


def test_exec_tty_proxied_to_our_terminal(ctr):
    c = ctr()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(_argv_holder["argv"][0], [*_argv_holder["argv"], "exec", "-t", c, "sh", "-c",
                                           "tty; read line; echo got:$line; exit 5"])
    out = b""
    os.write(fd, b"hello\n")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 5, out
    assert b"/dev/pts/" in out and b"got:hello" in out, out


def test_exec_in_stopped_container_fails(ctr):
    c = ctr()
    ctr.cli("kill", c, "KILL")
    assert wait_for(lambda: state(ctr.cli, c)["status"] == "stopped")
    r = ctr.cli("exec", c, "true")
    assert r.returncode == 1 and "stopped" in r.stderr


@pytest.fixture
def request_cleanup():
    undo = []
    yield undo
    for fn in undo:
        fn()


def test_exec_user_namespace_container(ctr, binary, runtime_root, make_bundle, tmp_path, request_cleanup):
    """Joining a container with a user namespace: the process is root inside, unprivileged outside."""
    b = make_bundle(["/bin/sleep", "1000"])
    rootfs = pathlib.Path(b) / "rootfs"
    subprocess.run(["chown", "-R", "100000:100000", str(rootfs)], check=True)
    os.chmod(b, 0o755)  # the mapped root must reach its rootfs (mkdtemp made the bundle 0700)
    edit_config(b, lambda cfg: (
        cfg["linux"]["namespaces"].append({"type": "user"}),
        cfg["linux"].__setitem__("uidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}]),
        cfg["linux"].__setitem__("gidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}]),
        cfg["mounts"].__setitem__(slice(None), [m for m in cfg["mounts"] if m["destination"] not in
                                                ("/sys/fs/cgroup",)]),
    ))
    with open(tmp_path / "o", "w") as o:
        r = subprocess.run([binary, "--root", runtime_root, "run", "-d", "--bundle", b, "u1"],
                           stdin=subprocess.DEVNULL, stdout=o, stderr=o, timeout=60)
    assert r.returncode == 0, (tmp_path / "o").read_text()
    try:
        r = ctr.cli("exec", "u1", "sh", "-c", "id -u; cat /proc/self/uid_map")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "0"
        assert lines[1].split() == ["0", "100000", "65536"]
    finally:
        ctr.cli("delete", "--force", "u1")
