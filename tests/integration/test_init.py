# SPDX-License-Identifier: Apache-2.0
"""The real static proxmox-lxcri-init, driven over its protocol without LXC.

Each test builds a busybox rootfs, starts the init as PID 1 of fresh mount,
pid, uts and ipc namespaces (unshare) chrooted into that rootfs, and speaks
the protocol of src/init/protocol.h from Python: 4-byte little-endian length
+ JSON, at most one fd per message.  Everything runs in private namespaces,
so the mounts vanish with the processes.

Needs root.  The init binary: $PLX_INIT, else the newest static
<repo>/build*/src/init/proxmox-lxcri-init.
"""
import fcntl
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUSYBOX = "/bin/busybox"
TIMEOUT = 20

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, chroot, mounts)")


def _is_static(path):
    """No ELF interpreter: a dynamic (e.g. sanitizer) build cannot run in the busybox rootfs."""
    with open(path, "rb") as f:
        return b"/ld-linux" not in f.read(4096)


def _init_binary():
    env = os.environ.get("PLX_INIT")
    if env:
        return pathlib.Path(env)
    found = sorted((p for p in REPO.glob("build*/src/init/proxmox-lxcri-init") if _is_static(p)),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    if not found:
        pytest.skip("no static proxmox-lxcri-init built (set PLX_INIT)")
    return found[0]


@pytest.fixture
def init_rootfs(tmp_path):
    """A busybox rootfs with the init copied in as /.init."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed")
    root = tmp_path / "rootfs"
    for d in ("bin", "etc", "proc", "dev", "sys", "root", "home/user", "secretdir", "rodir"):
        (root / d).mkdir(parents=True)
    (root / "tmp").mkdir(mode=0o1777)
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    applets = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout.split()
    for a in applets:
        if a != "busybox" and not (root / "bin" / a).exists():
            os.symlink("busybox", root / "bin" / a)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "user:x:1000:1000:User:/home/user:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nuser:x:1000:\n")
    (root / "etc/secret").write_text("top secret\n")
    (root / "secretdir/file").write_text("hidden\n")
    (root / "etc/preserved").write_text("preserved fd content\n")
    (root / "bin/notexec").write_text("#!/bin/sh\necho never\n")
    os.chmod(root / "bin/notexec", 0o644)
    shutil.copy2(_init_binary(), root / ".init")
    return root


def config(args, **process):
    """A minimal valid config.json for the init, process fields overridable."""
    proc = {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "env": ["PATH=/bin", "TERM=xterm"],
        "cwd": "/",
    }
    proc.update(process)
    return {
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "process": proc,
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]},
    }


def _high_fd(fd, minimum=20):
    """A close-on-exec copy of fd at >= minimum, so fd 3 stays free for the preserved one."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, minimum)
    os.close(fd)
    return new


def _recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Init:
    """One init as PID 1 of private namespaces, chrooted into rootfs."""

    def __init__(self, rootfs, tmp_path):
        self.rootfs = rootfs
        self.sock_path = str(tmp_path / "init.sock")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(self.sock_path)
        lsock.listen(8)
        self.listen_fd = _high_fd(os.dup(lsock.fileno()))
        lsock.close()
        logr, logw = os.pipe()
        self.log_r = logr
        self.log_fd = _high_fd(logw, 30)
        os.set_blocking(self.log_r, False)
        # unshare (util-linux) makes mounts private; everything below dies with the namespace
        script = f"""set -e
R='{rootfs}'
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null zero urandom; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir "$R/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
exec 3<"$R/etc/preserved"
exec chroot "$R" /.init --listen-fd {self.listen_fd} --log-fd {self.log_fd} --debug
"""
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--fork", "--uts", "--ipc", "sh", "-c", script],
            pass_fds=(self.listen_fd, self.log_fd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        os.close(self.listen_fd)
        os.close(self.log_fd)

    def request(self, msg, fd=None):
        """Send one message on a new connection; returns the connection."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                conn.connect(self.sock_path)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        data = json.dumps(msg).encode()
        frame = struct.pack("<I", len(data)) + data
        if fd is None:
            conn.sendall(frame)
        else:
            socket.send_fds(conn, [frame], [fd])
        return conn

    @staticmethod
    def reply(conn):
        """The next message, or None at EOF."""
        hdr = _recv_exact(conn, 4)
        if hdr is None:
            return None
        (n,) = struct.unpack("<I", hdr)
        return json.loads(_recv_exact(conn, n))

    def call(self, msg, fd=None):
        conn = self.request(msg, fd)
        try:
            return self.reply(conn)
        finally:
            conn.close()

    def create(self, cfg, console=None, preserve_fds=1, no_new_keyring=False):
        msg = {"type": "create", "id": "ctr1", "bundle": "/bundle", "config": cfg,
               "preserve_fds": preserve_fds, "console_socket": console is not None,
               "no_new_keyring": no_new_keyring}
        return self.call(msg, console)

    def init_pid(self):
        """Host pid of the init: the child of unshare."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                children = pathlib.Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
                kids = children.read_text().split()
            except FileNotFoundError:
                kids = []
            if kids:
                return int(kids[0])
            time.sleep(0.05)
        raise TimeoutError("init did not start")

    def start(self):
        """start: returns the replies until EOF."""
        state = {"ociVersion": "1.2.0", "id": "ctr1", "status": "created", "pid": self.init_pid(),
                 "bundle": "/bundle", "annotations": {"a": "b"}}
        conn = self.request({"type": "start", "state": state})
        replies = []
        try:
            while (m := self.reply(conn)) is not None:
                replies.append(m)
        finally:
            conn.close()
        return replies

    def wait(self):
        """Exit status of unshare (the init's or its program's) and the output."""
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out.decode(), err.decode()

    def log(self):
        try:
            return os.read(self.log_r, 1 << 20).decode()
        except BlockingIOError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate()
        os.close(self.log_r)


@pytest.fixture
def init(init_rootfs, tmp_path):
    i = Init(init_rootfs, tmp_path)
    yield i
    i.close()


def run(init, cfg, **kw):
    """create + start; returns (exit status, stdout) after the program exits."""
    r = init.create(cfg, **kw)
    assert r == {"type": "ready"}, (r, init.log())
    replies = init.start()
    assert replies == [{"type": "exec"}], (replies, init.log())
    status, out, err = init.wait()
    assert err == ""
    return status, out


def test_exec_env_user_cwd_umask(init):
    cfg = config(["sh", "-c", "echo $FOO; id -u; id -g; id -G; pwd; umask; echo $HOME"],
                 env=["PATH=/bin", "FOO=bar baz"], cwd="/work/dir",
                 user={"uid": 1000, "gid": 1000, "umask": 0o027, "additionalGids": [5, 7]})
    status, out = run(init, cfg)
    assert status == 0
    assert out.splitlines() == ["bar baz", "1000", "1000", "1000 5 7", "/work/dir", "0027", "/home/user"]


def test_defaults_root_home_umask(init):
    status, out = run(init, config(["sh", "-c", "umask; echo $HOME; id -u"]))
    assert status == 0
    assert out.splitlines() == ["0022", "/root", "0"]


def test_exit_status_is_the_programs(init):
    status, _ = run(init, config(["sh", "-c", "exit 7"]))
    assert status == 7


@pytest.mark.parametrize("arg0,message", [
    ("nonexistent", 'exec: "nonexistent": executable file not found in $PATH'),
    ("/nonexistent", 'exec: "/nonexistent": stat /nonexistent: no such file or directory'),
    ("/bin/notexec", 'exec: "/bin/notexec": permission denied'),
    ("/etc", 'exec: "/etc": is a directory'),
])
def test_missing_executable(init, arg0, message):
    r = init.create(config([arg0]))
    assert r == {"type": "error", "message": message}
    status, out, _ = init.wait()
    assert status == 1
    assert out == ""


def test_start_container_hook_runs_inside(init, init_rootfs):
    cfg = config(["true"])
    cfg["hooks"] = {"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "cat > /hook-state; echo \"$HOOKVAR\" > /hook-env"],
         "env": ["HOOKVAR=from-hook"]},
    ]}
    status, _ = run(init, cfg)
    assert status == 0
    state = json.loads((init_rootfs / "hook-state").read_text())
    assert state["id"] == "ctr1" and state["status"] == "created" and state["annotations"] == {"a": "b"}
    assert (init_rootfs / "hook-env").read_text() == "from-hook\n"


def test_failing_hook_reports_and_exits_127(init):
    cfg = config(["true"])
    cfg["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo oops >&2; exit 3"]}]}
    assert init.create(cfg) == {"type": "ready"}
    replies = init.start()
    assert replies == [{"type": "error",
                        "message": "startContainer hook #0 (/bin/sh): exit status 3, output: oops"}]
    status, out, _ = init.wait()
    assert status == 127 and out == ""


def test_terminal(init):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    cfg = config(["sh", "-c", "echo hello-tty; tty; stty size; readlink /proc/self/fd/0"], terminal=True,
                 consoleSize={"height": 33, "width": 101})
    r = init.create(cfg, console=theirs.fileno())
    theirs.close()
    assert r == {"type": "ready"}, init.log()
    name, fds, _, _ = socket.recv_fds(ours, 1024, 1)
    ours.close()
    assert len(fds) == 1 and name.startswith(b"/dev/")
    master = fds[0]
    assert init.start() == [{"type": "exec"}]
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the slave side is gone
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    status, out, _ = init.wait()
    assert status == 0 and out == ""
    lines = output.decode().replace("\r", "").splitlines()
    assert lines[0] == "hello-tty"
    assert lines[1].startswith("/dev/pts/")
    assert lines[2] == "33 101"
    assert lines[3] == lines[1]


def test_terminal_without_console_socket_fails(init):
    r = init.create(config(["true"], terminal=True))
    assert r["type"] == "error" and "console socket" in r["message"]


def test_rlimits(init):
    cfg = config(["cat", "/proc/self/limits"],
                 rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1001},
                          {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}])
    status, out = run(init, cfg)
    assert status == 0
    nofile = [ln for ln in out.splitlines() if ln.startswith("Max open files")][0].split()
    assert nofile[3:5] == ["1000", "1001"]
    core = [ln for ln in out.splitlines() if ln.startswith("Max core file size")][0].split()
    assert core[4:6] == ["0", "0"]


def _status_fields(out):
    return dict(ln.split(":\t", 1) for ln in out.splitlines() if ":\t" in ln)


def test_capabilities_dropped_for_root(init):
    kill = ["CAP_KILL"]
    cfg = config(["cat", "/proc/self/status"],
                 capabilities={"bounding": kill, "effective": kill, "permitted": kill, "inheritable": [],
                               "ambient": []})
    status, out = run(init, cfg)
    assert status == 0
    f = _status_fields(out)
    assert f["CapEff"] == "0000000000000020"
    assert f["CapPrm"] == "0000000000000020"
    assert f["CapBnd"] == "0000000000000020"
    assert f["NoNewPrivs"] == "0"


def test_ambient_capabilities_for_user(init):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    cfg = config(["cat", "/proc/self/status"], user={"uid": 1000, "gid": 1000},
                 capabilities={"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps,
                               "ambient": ["CAP_KILL"]})
    status, out = run(init, cfg)
    assert status == 0
    f = _status_fields(out)
    assert f["Uid"].split() == ["1000"] * 4
    assert f["CapAmb"] == "0000000000000020"
    assert f["CapEff"] == "0000000000000020"
    assert f["CapBnd"] == "0000000000000420"


def test_no_new_privileges(init):
    status, out = run(init, config(["cat", "/proc/self/status"], noNewPrivileges=True))
    assert status == 0
    assert _status_fields(out)["NoNewPrivs"] == "1"


def test_oom_score_adj(init):
    status, out = run(init, config(["cat", "/proc/self/oom_score_adj"], oomScoreAdj=123))
    assert status == 0 and out.strip() == "123"


@pytest.mark.parametrize("nnp,uid", [(True, 0), (False, 0), (False, 1000)])
def test_seccomp_denial(init, nnp, uid):
    cfg = config(["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?; ls -d /tmp; grep Seccomp: /proc/self/status"],
                 noNewPrivileges=nnp, user={"uid": uid, "gid": uid})
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
        ],
    }
    status, out = run(init, cfg)
    assert status == 0
    assert "Operation not permitted" in out and "rc=1" in out and "/tmp\n" in out
    assert "Seccomp:\t2" in out


def test_fds_beyond_preserve_fds_are_closed(init):
    status, out = run(init, config(["sh", "-c", "ls /proc/$$/fd; cat <&3"]), preserve_fds=1)
    assert status == 0
    lines = out.splitlines()
    assert sorted(int(x) for x in lines[:-1]) == [0, 1, 2, 3]
    assert lines[-1] == "preserved fd content"


def test_fd_3_closed_without_preserve_fds(init):
    # two commands: sh must not exec ls, whose own directory fd would be listed
    status, out = run(init, config(["sh", "-c", "ls /proc/$$/fd; true"]), preserve_fds=0)
    assert status == 0
    assert sorted(int(x) for x in out.split()) == [0, 1, 2]


def test_container_setup(init, init_rootfs):
    cfg = config(["sh", "-c",
                  "stat -c '%t %T %a %u %g %F' /dev/mydev; stat -c '%a %F' /dev/sub/myfifo;"
                  "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done;"
                  "cat /proc/sys/kernel/domainname; wc -c < /etc/secret; ls -A /secretdir | wc -l;"
                  "touch /rodir/x 2>/dev/null && echo rodir-writable || echo rodir-ro;"
                  "touch /newfile 2>/dev/null && echo root-writable || echo root-ro;"
                  "grep ' /rodir ' /proc/self/mountinfo | grep -c ro,"])
    cfg["domainname"] = "example.test"
    cfg["root"]["readonly"] = True
    cfg["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 1000},
        {"path": "/dev/sub/myfifo", "type": "p"},
    ]
    cfg["linux"]["maskedPaths"] = ["/etc/secret", "/secretdir", "/does/not/exist"]
    cfg["linux"]["readonlyPaths"] = ["/rodir", "/missing"]
    status, out = run(init, cfg)
    assert status == 0, init.log()
    assert [ln.strip() for ln in out.splitlines()] == [
        "1 3 640 1000 1000 character special file",
        "666 fifo",
        "/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx",
        "example.test",
        "0", "0",
        "rodir-ro", "root-ro",
        "1",
    ]


def test_unknown_message_then_create(init):
    assert init.call({"type": "frobnicate"}) == {"type": "error",
                                                 "message": 'unknown message type "frobnicate"'}
    assert init.call({"type": "start", "state": {}}) == {"type": "error",
                                                        "message": "start: the container was not created"}
    assert init.create(config(["echo", "still fine"])) == {"type": "ready"}
    assert init.create(config(["true"])) == {"type": "error",
                                             "message": "create: the container was already created"}
    assert init.start() == [{"type": "exec"}]
    status, out, _ = init.wait()
    assert status == 0 and out == "still fine\n"


def test_kill_while_created(init):
    assert init.create(config(["true"])) == {"type": "ready"}
    os.kill(init.init_pid(), signal.SIGTERM)
    status, out, _ = init.wait()
    assert status == 128 + signal.SIGTERM
    assert out == ""


def test_log_is_json(init):
    run(init, config(["true"]))
    lines = [json.loads(ln) for ln in init.log().splitlines()]
    assert lines and all({"level", "msg", "time"} <= set(ln) for ln in lines)
    assert any("created" in ln["msg"] for ln in lines)


def test_session_keyring(init):
    if not os.path.exists("/proc/keys"):
        pytest.skip("kernel without keys")
    status, out = run(init, config(["cat", "/proc/keys"]))
    assert status == 0
    assert "_ses.ctr1" in out


def test_no_new_keyring(init):
    if not os.path.exists("/proc/keys"):
        pytest.skip("kernel without keys")
    status, out = run(init, config(["cat", "/proc/keys"]), no_new_keyring=True)
    assert status == 0
    assert "_ses.ctr1" not in out


def test_apparmor_profile_without_apparmor(init):
    if pathlib.Path("/sys/module/apparmor/parameters/enabled").exists():
        pytest.skip("AppArmor is enabled here")
    assert init.create(config(["true"], apparmorProfile="some-profile")) == {"type": "ready"}
    assert init.start() == [{"type": "error", "message":
                             'process.apparmorProfile "some-profile": AppArmor is not enabled on this host'}]
    assert init.wait()[0] == 127


def _notify_config(args):
    cfg = config(args, noNewPrivileges=True)
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock",
        "listenerMetadata": "meta-data",
        "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}],
    }
    return cfg


def test_seccomp_notify_fd_goes_to_the_agent(init):
    assert init.create(_notify_config(["echo", "after notify"])) == {"type": "ready"}
    agent, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    state = {"ociVersion": "1.2.0", "id": "ctr1", "status": "created", "pid": init.init_pid(), "bundle": "/b"}
    conn = init.request({"type": "start", "state": state}, theirs.fileno())
    theirs.close()
    agent.settimeout(TIMEOUT)
    payload, fds, _, _ = socket.recv_fds(agent, 65536, 1)
    assert len(fds) == 1
    # a seccomp listener fd: anon inode "seccomp notify"
    assert os.readlink(f"/proc/self/fd/{fds[0]}") == "anon_inode:seccomp notify"
    os.close(fds[0])
    agent.close()
    msg = json.loads(payload)
    assert msg == {"ociVersion": "1.2.0", "fds": ["seccompFd"], "pid": state["pid"], "metadata": "meta-data",
                   "state": state}
    assert Init.reply(conn) == {"type": "exec"}
    conn.close()
    status, out, _ = init.wait()
    assert status == 0 and out == "after notify\n"


def test_seccomp_notify_without_agent_connection(init):
    assert init.create(_notify_config(["true"])) == {"type": "ready"}
    message = "linux.seccomp.listenerPath /run/agent.sock: no connection to the seccomp agent was passed"
    assert init.start() == [{"type": "error", "message": message}]
    assert init.wait()[0] == 127
