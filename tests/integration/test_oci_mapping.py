# SPDX-License-Identifier: Apache-2.0
"""One test per row of docs/oci-to-lxc.md: every OCI config field, applied to a real busybox
container through the CLI (`run`, or create/start/state/delete), asserting its effect inside the
container or on the host.  Hooks are in test_hooks.py, cgroup resources in test_cgroups.py."""
import array
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from lifecycle_util import cgroup_dirs, wait_for
from mapping_util import Runtime

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")

ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]


@pytest.fixture
def rt(binary, runtime_root, tmp_path, request):
    return Runtime(binary, runtime_root, tmp_path, request.node.name)


@pytest.fixture
def sh(rt, make_bundle):
    """sh(script, **overrides): run /bin/sh -c script in a container; its stdout (exit 0 asserted)."""
    def run(script, **overrides):
        r = rt.run(make_bundle(["/bin/sh", "-c", script], **overrides))
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}{r.stdout}"
        return r.stdout
    return run


def status_fields(text):
    return dict(ln.split(":\t", 1) for ln in text.splitlines() if ":\t" in ln)


def mountinfo(text, target):
    """The fields of /proc/self/mountinfo's (last) line for mount point target."""
    found = None
    for ln in text.splitlines():
        f = ln.split()
        if len(f) > 5 and f[4] == target:
            found = f
    assert found, f"{target} is not a mount point:\n{text}"
    return found


def mount_opts(text, target):
    f = mountinfo(text, target)
    sep = f.index("-")
    return set(f[5].split(",")), f[sep + 1], set(f[sep + 3].split(","))


# --- process ------------------------------------------------------------------------------------

def recv_master(srv):
    conn, _ = srv.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    conn.close()
    assert len(fds) == 1
    return fds[0]


def read_until(fd, token, timeout=20):
    out = b""
    end = time.monotonic() + timeout
    while token not in out and time.monotonic() < end:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def test_process_terminal_console_size(rt, make_bundle, tmp_path):
    b = make_bundle(["/bin/sh", "-c", "tty; stty size; stat -c '%F %t' /dev/console; "
                     "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; echo done"], terminal=True,
                    process={"consoleSize": {"height": 33, "width": 111}})
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(30)
    c = rt.create(b, None, "--console-socket", sock_path)
    master = recv_master(srv)
    try:
        rt.start(c)
        text = read_until(master, b"done")
    finally:
        os.close(master)
    assert re.search(r"^/dev/(pts/\d+|console)\r?$", text, re.M), text
    assert "33 111" in text
    assert "character special file 88" in text, "/dev/console is the pty (major 136 = 0x88)"
    assert "stdio-is-tty" in text


def test_process_windows_only_fields_ignored(rt, make_bundle):
    b = make_bundle(["/bin/id", "-u"], process={"user": {"uid": 0, "gid": 0, "username": "ContainerUser"},
                                                 "commandLine": "cmd.exe /c dir"})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0\n"


def test_process_cwd(sh):
    assert sh("pwd", process={"cwd": "/tmp/made/for/cwd"}) == "/tmp/made/for/cwd\n"


def test_process_args(rt, make_bundle):
    args = ["/bin/sh", "-c", 'printf "[%s]" "$0" "$@"', "zero", "a b", "", "$HOME", "*"]
    r = rt.run(make_bundle(args))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[zero][a b][][$HOME][*]"


def test_process_env(rt, make_bundle):
    r = rt.run(make_bundle(["/bin/env"], process={"env": ["PATH=/bin", "FOO=bar baz", "EMPTY="]}))
    assert r.returncode == 0, r.stderr
    # HOME comes from /etc/passwd when the config has none, as runc does
    assert r.stdout.splitlines() == ["PATH=/bin", "FOO=bar baz", "EMPTY=", "HOME=/root"]


def test_process_user_uid_gid_additional_gids(sh):
    out = sh("id -u; id -g; grep -E '^(Uid|Gid|Groups):' /proc/self/status",
             process={"user": {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 1001]}})
    lines = out.splitlines()
    assert lines[:2] == ["1000", "1001"]
    f = status_fields("\n".join(lines[2:]))
    assert f["Uid"].split() == ["1000"] * 4
    assert f["Gid"].split() == ["1001"] * 4
    assert f["Groups"].split() == ["10", "20", "1001"]


def test_process_user_umask(sh):
    out = sh("umask; touch /dev/shm/f; stat -c %a /dev/shm/f",
             process={"user": {"uid": 0, "gid": 0, "umask": 0o027}})
    assert out.split() == ["0027", "640"]


def test_process_rlimits(sh):
    out = sh("cat /proc/self/limits", process={"rlimits": [
        {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1001},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600}]})
    rows = {ln[:26].strip(): ln[26:].split() for ln in out.splitlines()[1:]}
    assert rows["Max open files"][:2] == ["1000", "1001"]
    assert rows["Max core file size"][:2] == ["0", "0"]
    assert rows["Max processes"][:2] == ["500", "600"]


def caps_mask(names):
    from_name = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_KILL": 5, "CAP_SETGID": 6,
                 "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21}
    return f"{sum(1 << from_name[n] for n in names):016x}"


@pytest.mark.parametrize("uid", [0, 1000])
def test_process_capabilities(sh, uid):
    """The five sets as the program (the shell itself: builtins only) has them after execve."""
    caps = {"bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_NET_RAW"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
            "effective": ["CAP_KILL", "CAP_CHOWN"],
            "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_KILL"]}
    out = sh("while read -r l; do echo \"$l\"; done < /proc/self/status",
             process={"user": {"uid": uid, "gid": uid}, "capabilities": caps, "noNewPrivileges": True})
    f = {k: v.strip() for k, v in (ln.split(":", 1) for ln in out.splitlines() if ":" in ln)}
    assert f["CapBnd"] == caps_mask(caps["bounding"])
    assert f["CapInh"] == caps_mask(caps["inheritable"])
    assert f["CapAmb"] == caps_mask(caps["ambient"])
    if uid == 0:
        # execve as root: everything permitted becomes effective (no_new_privs caps it at P)
        assert f["CapPrm"] == caps_mask(caps["permitted"])
        assert f["CapEff"] == caps_mask(caps["permitted"])
    else:
        # execve as a user: P' = E' = the ambient set
        assert f["CapPrm"] == caps_mask(caps["ambient"])
        assert f["CapEff"] == caps_mask(caps["ambient"])


def test_process_ambient_capability_not_inheritable_is_skipped(sh):
    """runc's own template raises ambient caps that are not inheritable: runc 1.1 ignores the
    error; so do we (the capability is simply not ambient)."""
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
    f = status_fields(sh("cat /proc/self/status", process={"capabilities": {
        "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps}}))
    assert f["CapAmb"] == "0000000000000000"
    assert f["CapInh"] == "0000000000000000"
    assert int(f["CapBnd"], 16) == (1 << 5) | (1 << 10) | (1 << 29)


@pytest.mark.parametrize("nnp", [True, False])
def test_process_no_new_privileges(sh, nnp):
    f = status_fields(sh("cat /proc/self/status", process={"noNewPrivileges": nnp}))
    assert f["NoNewPrivs"] == ("1" if nnp else "0")


def test_process_oom_score_adj(sh):
    assert sh("cat /proc/self/oom_score_adj", process={"oomScoreAdj": 321}) == "321\n"


def apparmor_enabled():
    try:
        return pathlib.Path("/sys/module/apparmor/parameters/enabled").read_text().startswith("Y")
    except OSError:
        return False


def test_process_apparmor_profile(rt, make_bundle):
    b = make_bundle(["/bin/cat", "/proc/self/attr/current"], process={"apparmorProfile": "unconfined"})
    r = rt.run(b)
    if apparmor_enabled():
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "unconfined"
    else:
        assert r.returncode != 0
        assert 'process.apparmorProfile \\"unconfined\\": AppArmor is not enabled on this host' in r.stderr


def selinux_enabled():
    return os.path.isdir("/sys/fs/selinux") and os.path.exists("/sys/fs/selinux/enforce")


def test_process_selinux_label(rt, make_bundle):
    label = "system_u:system_r:container_t:s0"
    b = make_bundle(["/bin/cat", "/proc/self/attr/current"], process={"selinuxLabel": label})
    c = rt.cid()
    r = rt.run(b, c)
    if selinux_enabled():
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip("\0\n") == label
    else:
        # as runc: refused at create, nothing made
        assert r.returncode == 1
        assert "selinux label is specified in config, but selinux is disabled or not supported" in r.stderr
        assert not (rt.root / c).exists()


def test_process_io_priority(sh):
    out = sh("ionice -p $$", process={"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 6}})
    assert out.strip() == "best-effort: prio 6"
    out = sh("ionice -p $$", process={"ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}})
    assert out.strip() == "idle"


def stat_fields(text):
    """/proc/PID/stat fields after the comm; index 0 is field 3 (state)."""
    return text.rsplit(")", 1)[1].split()


@pytest.mark.parametrize("sched,expect", [
    ({"policy": "SCHED_OTHER", "nice": 7}, {"nice": "7", "policy": "0", "rt_priority": "0"}),
    ({"policy": "SCHED_BATCH", "nice": 3}, {"nice": "3", "policy": "3", "rt_priority": "0"}),
    ({"policy": "SCHED_IDLE"}, {"policy": "5"}),
    ({"policy": "SCHED_FIFO", "priority": 10}, {"policy": "1", "rt_priority": "10"}),
    ({"policy": "SCHED_RR", "priority": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]},
     {"policy": "2", "rt_priority": "5", "child_policy": "0"}),
])
def test_process_scheduler(sh, request, sched, expect):
    extra = {}
    if sched["policy"] in ("SCHED_FIFO", "SCHED_RR") and os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        # CONFIG_RT_GROUP_SCHED: a cgroup runs real-time tasks only with a real-time budget
        # (runc alike); a cgroup right below the root, whose budget it may take from
        cg = "/plx-rt-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[-40:]
        extra = {"linux": {"cgroupsPath": cg, "resources": {"cpu": {"realtimeRuntime": 10000}}}}
    out = sh("cat /proc/$$/stat; cat /proc/self/stat; true", process={"scheduler": sched}, **extra)
    me, child = (stat_fields(ln) for ln in out.splitlines())
    # stat fields: 19 nice, 40 rt_priority, 41 policy (1-based) -> index - 3
    got = {"nice": me[16], "rt_priority": me[37], "policy": me[38], "child_policy": child[38]}
    for k, v in expect.items():
        assert got[k] == v, (k, got)


# --- root, hostname, domainname -------------------------------------------------------------------

def test_root_path_relative(rt, make_bundle):
    b = make_bundle(["/bin/cat", "/marker"], root={"path": "other-root"})
    os.rename(os.path.join(b, "rootfs"), os.path.join(b, "other-root"))
    pathlib.Path(b, "other-root", "marker").write_text("relative\n")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "relative\n"


def test_root_path_absolute(rt, make_bundle, tmp_path):
    b = make_bundle(["/bin/cat", "/marker"])
    elsewhere = tmp_path / "abs-root"
    shutil.move(os.path.join(b, "rootfs"), elsewhere)
    (elsewhere / "marker").write_text("absolute\n")
    cfg = json.loads(pathlib.Path(b, "config.json").read_text())
    cfg["root"]["path"] = str(elsewhere)
    pathlib.Path(b, "config.json").write_text(json.dumps(cfg))
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "absolute\n"


@pytest.mark.parametrize("readonly", [True, False])
def test_root_readonly(rt, make_bundle, readonly):
    b = make_bundle(["/bin/sh", "-c", "touch /written 2>&1; cat /proc/self/mountinfo"],
                    root={"readonly": readonly})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert ("Read-only file system" in r.stdout) == readonly, r.stdout
    assert os.path.exists(os.path.join(b, "rootfs", "written")) != readonly
    flags, _, _ = mount_opts(r.stdout, "/")
    assert ("ro" in flags) == readonly


def test_hostname(sh):
    out = sh("hostname; cat /proc/sys/kernel/hostname", hostname="box-42.example")
    assert out == "box-42.example\nbox-42.example\n"
    assert os.uname().nodename != "box-42.example"


def test_domainname(sh):
    out = sh("cat /proc/sys/kernel/domainname", domainname="example.org")
    assert out == "example.org\n"
    assert pathlib.Path("/proc/sys/kernel/domainname").read_text() != "example.org\n"


# --- mounts ---------------------------------------------------------------------------------------

@pytest.fixture
def host_mounts():
    """mount(*args): run mount(8) on the host; everything is unmounted (lazily) afterwards."""
    made = []

    def mount(*args):
        subprocess.run(["mount", *args], check=True)
        made.append(args[-1])

    yield mount
    for target in reversed(made):
        subprocess.run(["umount", "-l", target], stderr=subprocess.DEVNULL)


def add_mounts(*mounts):
    """An override for make_bundle: the template's mounts plus these."""
    return {"mounts": list(mounts)}


def test_mount_bind(rt, make_bundle, tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    (src / "from-host").write_text("hello\n")
    single = tmp_path / "single-file"
    single.write_text("one file\n")
    b = make_bundle(["/bin/sh", "-c", "cat /mnt/b/from-host /etc/single /etc/rel; echo back > /mnt/b/from-container"])
    cfg = json.loads(pathlib.Path(b, "config.json").read_text())
    cfg["mounts"] += [{"destination": "/mnt/b", "type": "bind", "source": str(src), "options": ["bind"]},
                      {"destination": "/etc/single", "type": "none", "source": str(single),
                       "options": ["bind"]},
                      # a relative source is the bundle's
                      {"destination": "/etc/rel", "type": "bind", "source": "rel-file", "options": ["rbind"]}]
    pathlib.Path(b, "config.json").write_text(json.dumps(cfg))
    pathlib.Path(b, "rel-file").write_text("relative\n")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\none file\nrelative\n"
    assert (src / "from-container").read_text() == "back\n"


def with_mounts(bundle, *mounts):
    p = pathlib.Path(bundle, "config.json")
    cfg = json.loads(p.read_text())
    cfg["mounts"] += list(mounts)
    p.write_text(json.dumps(cfg))


@pytest.mark.parametrize("opt,sees_submount", [("rbind", True), ("bind", False)])
def test_mount_rbind_and_bind(rt, make_bundle, tmp_path, host_mounts, opt, sees_submount):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    host_mounts("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(src / "sub"))
    (src / "sub" / "in-submount").write_text("deep\n")
    b = make_bundle(["/bin/sh", "-c", "ls /mnt/t/sub"])
    with_mounts(b, {"destination": "/mnt/t", "type": "bind", "source": str(src), "options": [opt]})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert ("in-submount" in r.stdout) == sees_submount


def test_mount_ro_bind(rt, make_bundle, tmp_path):
    src = tmp_path / "ro-src"
    src.mkdir()
    (src / "f").write_text("x\n")
    b = make_bundle(["/bin/sh", "-c", "cat /mnt/ro/f; touch /mnt/ro/new 2>&1; grep ' /mnt/ro ' /proc/self/mountinfo"])
    with_mounts(b, {"destination": "/mnt/ro", "type": "bind", "source": str(src), "options": ["rbind", "ro"]})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("x\n")
    assert "Read-only file system" in r.stdout
    assert not (src / "new").exists()
    assert "ro" in r.stdout.splitlines()[-1].split()[5].split(",")


def test_mount_tmpfs_with_options(rt, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "stat -c '%a %u %g' /mnt/tmp; cat /proc/self/mountinfo"])
    with_mounts(b, {"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "size=2m", "mode=1750", "uid=12", "gid=34", "noatime"]})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "1750 12 34"
    flags, fstype, sb = mount_opts(r.stdout, "/mnt/tmp")
    assert fstype == "tmpfs"
    assert {"nosuid", "nodev", "noatime"} <= flags
    assert {"size=2048k", "mode=1750", "uid=12", "gid=34"} <= sb


@pytest.mark.parametrize("dest,fstype", [("/proc", "proc"), ("/sys", "sysfs"), ("/dev/mqueue", "mqueue"),
                                         ("/dev/shm", "tmpfs"), ("/dev", "tmpfs")])
def test_mount_template_filesystems(rt, make_bundle, dest, fstype):
    """The template's proc, sysfs (ro), mqueue, /dev and /dev/shm mounts, with their flags."""
    r = rt.run(make_bundle(["/bin/sh", "-c", f"stat -c %a {dest}; cat /proc/self/mountinfo"]))
    assert r.returncode == 0, r.stderr
    flags, got_type, sb = mount_opts(r.stdout, dest)
    assert got_type == fstype
    expect = {"/proc": set(), "/sys": {"nosuid", "noexec", "nodev", "ro"},
              "/dev/mqueue": {"nosuid", "noexec", "nodev"}, "/dev/shm": {"nosuid", "noexec", "nodev"},
              "/dev": {"nosuid"}}[dest]
    assert expect <= flags, (dest, flags)
    if dest == "/dev/shm":
        assert "size=65536k" in sb and r.stdout.startswith("1777\n")  # tmpfs does not show mode=1777
    if dest == "/dev":
        assert {"size=65536k", "mode=755"} <= sb


def test_mount_devpts(rt, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo; stat -c '%F %t:%T' /dev/pts/ptmx; "
                     "readlink /dev/ptmx || stat -c '%F %t:%T' /dev/ptmx"])
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    flags, fstype, sb = mount_opts(r.stdout, "/dev/pts")
    assert fstype == "devpts"
    assert {"nosuid", "noexec"} <= flags
    assert {"mode=620", "ptmxmode=666", "gid=5"} <= sb
    assert "character special file 5:2" in r.stdout


def test_mount_devpts_options(rt, make_bundle):
    """Other options than the OCI defaults: liblxc mounts /dev/pts itself, the init remounts it."""
    b = make_bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo; stat -c %a /dev/pts/ptmx"])
    cfg = json.loads(pathlib.Path(b, "config.json").read_text())
    for m in cfg["mounts"]:
        if m["destination"] == "/dev/pts":
            m["options"] = ["nosuid", "noexec", "newinstance", "ptmxmode=0660", "mode=0600", "gid=5"]
    pathlib.Path(b, "config.json").write_text(json.dumps(cfg))
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    flags, _, sb = mount_opts(r.stdout, "/dev/pts")
    assert {"mode=600", "ptmxmode=660", "gid=5"} <= sb, sb
    assert r.stdout.splitlines()[-1] == "660"


def test_mount_cgroup(rt, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo; cat /proc/self/cgroup; "
                     "touch /sys/fs/cgroup/pids/x 2>&1; true"])
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert any("/sys/fs/cgroup/" in ln and " - cgroup" in ln for ln in r.stdout.splitlines())
    # a cgroup namespace: the container's cgroup is its root
    cg_lines = [ln for ln in r.stdout.splitlines() if re.match(r"^\d+:", ln)]
    assert cg_lines and all(ln.endswith(":/") for ln in cg_lines), cg_lines
    assert "Read-only file system" in r.stdout, "the template's cgroup mount is ro"


def test_mount_nosuid_nodev_noexec(rt, make_bundle, tmp_path):
    src = tmp_path / "exec-src"
    src.mkdir()
    script = src / "prog"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    b = make_bundle(["/bin/sh", "-c", "/mnt/noexec/prog 2>&1; /mnt/exec/prog; "
                     "mknod /mnt/nodev/null c 1 3 && (echo x > /mnt/nodev/null) 2>&1; cat /proc/self/mountinfo"],
                    process={"capabilities": {s: ["CAP_MKNOD"] for s in ("bounding", "effective", "permitted")}})
    with_mounts(b, {"destination": "/mnt/noexec", "type": "bind", "source": str(src),
                    "options": ["rbind", "noexec", "nosuid", "nodev"]},
                {"destination": "/mnt/exec", "type": "bind", "source": str(src), "options": ["rbind"]},
                {"destination": "/mnt/nodev", "type": "tmpfs", "source": "tmpfs", "options": ["nodev"]})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Permission denied" in lines[0]
    assert lines[1] == "ran"
    assert "Permission denied" in lines[2]
    flags, _, _ = mount_opts(r.stdout, "/mnt/noexec")
    assert {"noexec", "nosuid", "nodev"} <= flags
    flags, _, _ = mount_opts(r.stdout, "/mnt/exec")
    assert not {"noexec", "nosuid", "nodev"} & flags


def wait_file(path, timeout=20):
    assert wait_for(lambda: os.path.exists(path), timeout), f"{path} never appeared"


@pytest.mark.parametrize("opt,receives", [("rslave", True), ("slave", True), ("rshared", True),
                                          ("rprivate", False), ("private", False)])
def test_mount_propagation(rt, make_bundle, tmp_path, host_mounts, opt, receives):
    """A mount made on the host under a shared bind source reaches the container unless private."""
    src = tmp_path / "prop"
    (src / "later").mkdir(parents=True)
    host_mounts("--bind", str(src), str(src))
    subprocess.run(["mount", "--make-shared", str(src)], check=True)
    script = ("i=0; while [ ! -e /mnt/p/go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
              "ls /mnt/p/later > /mnt/p/result.tmp; grep ' /mnt/p ' /proc/self/mountinfo >> /mnt/p/result.tmp; "
              "mv /mnt/p/result.tmp /mnt/p/result")
    b = make_bundle(["/bin/sh", "-c", script])
    with_mounts(b, {"destination": "/mnt/p", "type": "bind", "source": str(src), "options": ["rbind", opt]})
    c = rt.cid()
    r = rt("run", "-d", "--bundle", b, c)
    assert r.returncode == 0, r.stderr
    host_mounts("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(src / "later"))
    (src / "later" / "from-host").write_text("")
    (src / "go").write_text("")
    wait_file(src / "result")
    out = (src / "result").read_text()
    assert ("from-host" in out) == receives, out
    optional = out.splitlines()[-1].split(" - ")[0].split()[6:]
    assert any(o.startswith("master:") for o in optional) == receives, optional
    assert any(o.startswith("shared:") for o in optional) == (opt == "rshared"), optional
    rt.delete(c)


@pytest.mark.parametrize("prop,shared", [(None, False), ("rshared", True), ("shared", True),
                                         ("rslave", False), ("private", False), ("rprivate", False)])
def test_rootfs_propagation(rt, make_bundle, prop, shared):
    b = make_bundle(["/bin/sh", "-c", "mkdir -p /dev/shm/m && mount -t tmpfs t /dev/shm/m; "
                     "cat /proc/self/mountinfo"],
                    linux={"rootfsPropagation": prop},
                    process={"capabilities": {s: ["CAP_SYS_ADMIN"] for s in ("bounding", "effective",
                                                                           "permitted")}})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    f = mountinfo(r.stdout, "/")
    optional = f[6:f.index("-")]
    assert any(o.startswith("shared:") for o in optional) == shared, (prop, optional)


# --- namespaces -----------------------------------------------------------------------------------

NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup",
            "time": "time"}


def host_ns(name):
    return os.readlink(f"/proc/self/ns/{name}")


def template_namespaces(extra=()):
    return [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup", *extra)]


@pytest.mark.parametrize("ns,mode", [(ns, mode) for ns in sorted(NS_FILES) for mode in ("new", "host")
                                     if (ns, mode) != ("mount", "host")])  # test_namespace_mount_is_required
def test_namespace_new_or_host(rt, make_bundle, ns, mode):
    types = [t for t in ("pid", "network", "ipc", "uts", "mount", "cgroup", "time") if mode == "new" or t != ns]
    overrides = {"linux": {"namespaces": [{"type": t} for t in types]}}
    if mode == "host" and ns == "uts":
        overrides["hostname"] = None  # a hostname needs a UTS namespace of its own
    file = NS_FILES[ns]
    b = make_bundle(["/bin/sh", "-c", f"readlink /proc/self/ns/{file}; echo $$"], **overrides)
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    inside, pid = r.stdout.split()
    assert (inside == host_ns(file)) == (mode == "host"), (inside, host_ns(file))
    if ns == "pid":
        assert (pid == "1") == (mode == "new")


def test_namespace_mount_is_required(rt, make_bundle):
    b = make_bundle(["/bin/true"], hostname=None, linux={"namespaces": [{"type": "pid"}, {"type": "ipc"}]})
    c = rt.cid()
    r = rt.run(b, c)
    assert r.returncode == 1
    assert "a mount namespace is required" in r.stderr
    assert not (rt.root / c).exists()


def test_namespace_network_new_has_only_loopback_up(sh):
    out = sh("ls /sys/class/net; cat /sys/class/net/lo/flags")
    assert out.split() == ["lo", "0x9"], "only lo, and it is up (IFF_UP|IFF_LOOPBACK)"


@pytest.fixture
def netns():
    name = f"plx-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield f"/var/run/netns/{name}"
    subprocess.run(["ip", "netns", "del", name])


def test_namespace_join_netns_by_path(rt, make_bundle, netns):
    subprocess.run(["ip", "netns", "exec", os.path.basename(netns), "ip", "addr", "add", "10.99.0.1/32", "dev",
                    "lo"], check=True)
    nss = [{"type": t} for t in ("pid", "ipc", "uts", "mount")] + [{"type": "network", "path": netns}]
    b = make_bundle(["/bin/sh", "-c", "readlink /proc/self/ns/net; ip -o addr show dev lo"],
                    linux={"namespaces": nss})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"net:[{os.stat(netns).st_ino}]"
    assert "10.99.0.1/32" in r.stdout


def test_namespace_join_another_containers(rt, make_bundle):
    """As a pod: the second container joins the first's network, IPC and UTS namespaces through
    /proc/<pid>/ns/*."""
    pause = make_bundle(["/bin/sleep", "100"], hostname="the-pod")
    p = rt.create(pause)
    rt.start(p)
    pid = rt.state(p)["pid"]
    nss = [{"type": t} for t in ("pid", "mount")] + [
        {"type": t, "path": f"/proc/{pid}/ns/{f}"} for t, f in (("network", "net"), ("ipc", "ipc"), ("uts", "uts"))]
    b = make_bundle(["/bin/sh", "-c", "hostname; for n in net ipc uts pid; do readlink /proc/self/ns/$n; done"],
                    hostname=None, linux={"namespaces": nss})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "the-pod"
    assert out[1:4] == [os.readlink(f"/proc/{pid}/ns/{f}") for f in ("net", "ipc", "uts")]
    assert out[4] != os.readlink(f"/proc/{pid}/ns/pid")
    rt.delete(p)


def test_namespace_time_offsets(sh):
    year = 365 * 86400
    out = sh("cat /proc/uptime; readlink /proc/self/ns/time",
             linux={"namespaces": template_namespaces(["time"]),
                    "timeOffsets": {"boottime": {"secs": year}, "monotonic": {"secs": 2 * year}}})
    uptime = float(out.split()[0])
    assert year <= uptime < year + float(pathlib.Path("/proc/uptime").read_text().split()[0]) + 60
    assert out.split()[2] != host_ns("time")


@pytest.fixture
def veth():
    """A veth pair on the host: plxh0 (10.77.0.1/24, up) and its peer plxh1."""
    subprocess.run(["ip", "link", "add", "plxh0", "type", "veth", "peer", "name", "plxh1"], check=True)
    subprocess.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "plxh0"], check=True)
    subprocess.run(["ip", "link", "set", "plxh0", "up"], check=True)
    yield "plxh0"
    for dev in ("plxh0", "plxh1"):
        subprocess.run(["ip", "link", "del", dev], stderr=subprocess.DEVNULL)


def test_net_devices(rt, make_bundle, veth):
    b = make_bundle(["/bin/sh", "-c", "ip -o -4 addr show dev ctr0; cat /sys/class/net/ctr0/operstate; "
                     "ls /sys/class/net"], linux={"netDevices": {veth: {"name": "ctr0"}}})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "inet 10.77.0.1/24" in lines[0]
    assert lines[1] in ("up", "lowerlayerdown")  # the peer on the host is down
    assert lines[2:] == ["ctr0", "lo"]


def test_net_devices_need_a_new_network_namespace(rt, make_bundle, veth):
    nss = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    r = rt.run(make_bundle(["/bin/true"], linux={"namespaces": nss, "netDevices": {veth: {}}}))
    assert r.returncode == 1 and "linux.netDevices: needs a new network namespace" in r.stderr
    assert os.path.exists(f"/sys/class/net/{veth}")


def test_intel_rdt(rt, make_bundle):
    c = rt.cid()
    r = rt.run(make_bundle(["/bin/true"], linux={"intelRdt": {"closID": "plx", "l3CacheSchema": "L3:0=f"}}), c)
    if os.path.exists("/sys/fs/resctrl/schemata"):
        assert r.returncode == 1 and "linux.intelRdt: liblxc manages no resctrl groups" in r.stderr
    else:
        assert r.returncode == 1 and "Intel RDT is not enabled on this host" in r.stderr
    assert not (rt.root / c).exists()


@pytest.fixture
def no_root_subids():
    """As runc, a user namespace needs no ranges for root in /etc/subuid and /etc/subgid, even
    with shadow's newuidmap installed: take root's lines away for the test."""
    saved = {}
    for f in ("/etc/subuid", "/etc/subgid"):
        p = pathlib.Path(f)
        if p.exists():
            saved[p] = p.read_text()
            p.write_text("".join(l for l in saved[p].splitlines(True) if not l.startswith("root:")))
    yield
    for p, text in saved.items():
        p.write_text(text)


@pytest.fixture
def userns_bundle(make_bundle, no_root_subids):
    """make(args, **overrides): a bundle whose rootfs belongs to 100000, run in a user namespace
    mapping container 0..65535 to host 100000..165535."""
    def make(args, **overrides):
        nss = template_namespaces(["user"])
        b = make_bundle(args, linux={"namespaces": nss,
                                     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                                     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
                        **overrides)
        subprocess.run(["chown", "-hR", "100000:100000", os.path.join(b, "rootfs")], check=True)
        os.chmod(b, 0o755)  # the container's root (host 100000) must reach its rootfs, as with runc
        return b
    return make


def test_namespace_user_id_mappings(rt, userns_bundle):
    b = userns_bundle(["/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
                       "touch /tmp/mine; stat -c '%u %g' /tmp/mine; sleep 100"], root={"readonly": False})
    c = rt.create(b)
    rt.start(c)
    pid = rt.state(c)["pid"]
    assert wait_for(lambda: os.path.exists(os.path.join(b, "rootfs", "tmp", "mine")))
    f = status_fields(pathlib.Path(f"/proc/{pid}/status").read_text())
    assert f["Uid"].split()[0] == "100000" and f["Gid"].split()[0] == "100000"
    assert os.readlink(f"/proc/{pid}/ns/user") != host_ns("user")
    st = os.stat(os.path.join(b, "rootfs", "tmp", "mine"))
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    rt.delete(c)


def test_namespace_user_mappings_seen_inside(rt, userns_bundle):
    r = rt.run(userns_bundle(["/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g"]))
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines()]
    assert lines[0] == ["0", "100000", "65536"] and lines[1] == ["0", "100000", "65536"]
    assert lines[2:] == [["0"], ["0"]]


@pytest.fixture
def open_dir():
    """A directory anyone may enter (pytest's tmp_path is root's alone)."""
    d = tempfile.mkdtemp(prefix="plx-open-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def test_mount_idmapped(rt, userns_bundle, open_dir):
    """A bind mount with the container's own mappings is idmapped: the host's root-owned files are
    the container root's."""
    src = open_dir
    (src / "by-host-root").write_text("x\n")
    maps = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b = userns_bundle(["/bin/sh", "-c", "stat -c '%u %g' /mnt/idm/by-host-root /mnt/plain/by-host-root; "
                       "touch /mnt/idm/by-container-root && echo written"])
    with_mounts(b, {"destination": "/mnt/idm", "type": "bind", "source": str(src), "options": ["rbind"],
                    "uidMappings": maps, "gidMappings": maps},
                {"destination": "/mnt/plain", "type": "bind", "source": str(src), "options": ["rbind", "ro"]})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["0 0", "65534 65534", "written"]
    st = os.stat(src / "by-container-root")
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_mount_idmap_option(rt, userns_bundle, open_dir):
    """runc's "idmap" option without mappings: the container's."""
    (open_dir / "f").write_text("x\n")
    b = userns_bundle(["/bin/stat", "-c", "%u %g", "/mnt/idm/f"])
    with_mounts(b, {"destination": "/mnt/idm", "type": "bind", "source": str(open_dir),
                    "options": ["bind", "idmap"]})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0 0\n"


def test_mount_idmapped_other_mappings_refused(rt, userns_bundle, tmp_path):
    maps = [{"containerID": 0, "hostID": 200000, "size": 1000}]
    b = userns_bundle(["/bin/true"])
    with_mounts(b, {"destination": "/mnt/idm", "type": "bind", "source": str(tmp_path), "options": ["rbind"],
                    "uidMappings": maps, "gidMappings": maps})
    r = rt.run(b)
    assert r.returncode == 1 and "liblxc idmaps a mount only to the container's user namespace" in r.stderr


@pytest.mark.parametrize("opt", ["tmpcopyup", "rro", "rnosuid"])
def test_mount_runc_extensions_refused(rt, make_bundle, tmp_path, opt):
    b = make_bundle(["/bin/true"])
    with_mounts(b, {"destination": "/mnt/x", "type": "bind", "source": str(tmp_path), "options": ["rbind", opt]})
    c = rt.cid()
    r = rt.run(b, c)
    assert r.returncode == 1
    assert f'mounts[{len(json.loads(pathlib.Path(b, "config.json").read_text())["mounts"]) - 1}].options' in r.stderr
    assert f'\\"{opt}\\" is a runc extension liblxc cannot apply' in r.stderr
    assert not (rt.root / c).exists()


# --- devices --------------------------------------------------------------------------------------

def test_linux_devices(rt, make_bundle):
    devs = [{"path": "/dev/mychar", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001},
            {"path": "/dev/sub/myblock", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600},
            {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620, "uid": 5, "gid": 6},
            {"path": "/dev/myzero", "type": "u", "major": 1, "minor": 5}]
    b = make_bundle(["/bin/sh", "-c", "for d in mychar sub/myblock myfifo myzero; do "
                     "stat -c '%n|%F|%t:%T|%a|%u:%g' /dev/$d; done; echo hi > /dev/myzero && "
                     "head -c 3 /dev/myzero | od -An -tx1"], linux={"devices": devs})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "/dev/mychar|character special file|1:3|640|1000:1001"
    assert lines[1] == "/dev/sub/myblock|block special file|7:c8|600|0:0"
    assert lines[2] == "/dev/myfifo|fifo|0:0|620|5:6"
    assert lines[3] == "/dev/myzero|character special file|1:5|666|0:0"
    assert lines[4].split() == ["00", "00", "00"]


def test_default_devices(sh):
    out = sh("for d in null zero full random urandom tty; do stat -c '%n %F %t:%T' /dev/$d; done; "
             "stat -L -c '%F %t:%T' /dev/ptmx; stat -c '%F %t:%T' /dev/pts/ptmx; stat -f -c %T /dev/pts /dev/shm; "
             "echo x > /dev/null; head -c 2 /dev/zero | wc -c; head -c 5 /dev/urandom | wc -c; "
             "(echo x > /dev/full) 2>&1; for l in fd stdin stdout stderr; do readlink /dev/$l; done; "
             "[ -e /dev/console ] || echo no-console")
    lines = out.splitlines()
    assert lines[:6] == ["/dev/null character special file 1:3", "/dev/zero character special file 1:5",
                         "/dev/full character special file 1:7", "/dev/random character special file 1:8",
                         "/dev/urandom character special file 1:9", "/dev/tty character special file 5:0"]
    # runc makes /dev/ptmx a symlink to pts/ptmx, liblxc bind-mounts it: the same device either way
    assert lines[6] == "character special file 5:2"
    assert lines[7] == "character special file 5:2"
    assert lines[8:10] == ["devpts", "tmpfs"]
    assert lines[10:12] == ["2", "5"]
    assert "No space left on device" in lines[12]
    assert lines[13:17] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2"]
    # without a terminal there is no /dev/console, as with runc (test_process_terminal_console_size)
    assert lines[17] == "no-console"


# --- paths, sysctl, personality ------------------------------------------------------------------

def test_masked_paths(rt, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "cat /etc/secret | wc -c; ls -A /etc/secretdir | wc -l; "
                     "(touch /etc/secretdir/x) 2>&1; cat /proc/keys | wc -c; ls /sys/firmware | wc -l; "
                     "cat /etc/absent 2>&1; true"],
                    linux={"maskedPaths": ["/etc/secret", "/etc/secretdir", "/proc/keys", "/sys/firmware",
                                           "/etc/absent"]})
    root = pathlib.Path(b, "rootfs", "etc")
    (root / "secret").write_text("password\n")
    (root / "secretdir").mkdir()
    (root / "secretdir" / "key").write_text("k\n")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["0", "0"]
    assert "Read-only file system" in lines[2]
    assert lines[3:5] == ["0", "0"]
    assert "No such file" in lines[5]


def test_readonly_paths(rt, make_bundle):
    b = make_bundle(["/bin/sh", "-c", "(echo x > /proc/sys/kernel/hostname) 2>&1; (echo y > /etc/rodir/f) 2>&1; "
                     "cat /etc/rodir/f; echo z > /etc/rwfile && echo rw-ok"],
                    root={"readonly": False}, linux={"readonlyPaths": ["/proc/sys", "/etc/rodir", "/etc/absent"]})
    root = pathlib.Path(b, "rootfs", "etc")
    (root / "rodir").mkdir()
    (root / "rodir" / "f").write_text("orig\n")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Read-only file system" in lines[0] and "Read-only file system" in lines[1]
    assert lines[2:] == ["orig", "rw-ok"]


def test_sysctl(sh):
    out = sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/net/core/somaxconn",
             linux={"sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234", "net.core.somaxconn": "77"}})
    assert out.split() == ["1", "1234", "77"]
    assert pathlib.Path("/proc/sys/kernel/shmmni").read_text().strip() != "1234"


@pytest.mark.parametrize("domain,machine", [("LINUX32", "i686"), ("LINUX", os.uname().machine)])
def test_personality(sh, domain, machine):
    assert sh("uname -m", linux={"personality": {"domain": domain}}) == machine + "\n"


def test_personality_flags_are_refused(rt, make_bundle):
    b = make_bundle(["/bin/true"], linux={"personality": {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}})
    r = rt.run(b)
    assert r.returncode == 1 and "linux.personality.flags" in r.stderr


def test_mount_label_without_selinux(rt, make_bundle):
    if selinux_enabled():
        pytest.skip("this host has SELinux: the label is applied (context= mount option)")
    b = make_bundle(["/bin/cat", "/proc/self/mountinfo"],
                    linux={"mountLabel": "system_u:object_r:container_file_t:s0:c1,c2"})
    r = rt.run(b)
    # as runc: without SELinux the label has nothing to apply to
    assert r.returncode == 0, r.stderr
    assert "context=" not in r.stdout


def test_cgroups_path(rt, make_bundle, request):
    cg = f"/plx-mapping/{rt.cid()}"
    b = make_bundle(["/bin/sleep", "100"], linux={"cgroupsPath": cg})
    c = rt.create(b)
    st = rt.state(c)
    lines = pathlib.Path(f"/proc/{st['pid']}/cgroup").read_text().splitlines()
    assert any(ln.endswith(":" + cg) for ln in lines), lines
    assert all(str(st["pid"]) in (d / "cgroup.procs").read_text().split() for d in cgroup_dirs(cg)
               if (d / "cgroup.procs").exists())
    rt.delete(c)
    assert cgroup_dirs(cg) == []
    for d in cgroup_dirs("/plx-mapping"):
        d.rmdir()


def test_annotations_in_state(rt, make_bundle):
    ann = {"org.example/key": "value", "io.kubernetes.cri.container-type": "sandbox"}
    c = rt.create(make_bundle(["/bin/true"], annotations=ann))
    assert rt.state(c)["annotations"] == ann
    rt.delete(c)


# --- seccomp --------------------------------------------------------------------------------------

EXDEV = 18  # "Invalid cross-device link": an errno nothing else here returns


def seccomp(**kw):
    return {"linux": {"seccomp": kw}}


def test_seccomp_default_action_and_errno_ret(sh):
    out = sh("mkdir /tmp/a 2>&1; chmod 700 /tmp 2>&1; ls -d /tmp; grep Seccomp: /proc/self/status",
             **seccomp(defaultAction="SCMP_ACT_ALLOW", architectures=["SCMP_ARCH_X86_64"],
                       syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                  "errnoRet": EXDEV},
                                 {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]))
    lines = out.splitlines()
    assert "Invalid cross-device link" in lines[0]
    assert "Operation not permitted" in lines[1], "errnoRet absent: EPERM, as runc"
    assert lines[2:] == ["/tmp", "Seccomp:\t2"]


def kernel_syscall_names():
    """Every x86_64 system call name, from the kernel's uapi header."""
    header = pathlib.Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        header = pathlib.Path("/usr/include/asm/unistd_64.h")
    return re.findall(r"^#define __NR_(\w+)\s+\d+", header.read_text(), re.M)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the allow list is x86_64's")
def test_seccomp_default_errno_ret(sh):
    allowed = [n for n in kernel_syscall_names() if n not in ("mkdir", "mkdirat")]
    out = sh("mkdir /tmp/a 2>&1; echo still-running",
             **seccomp(defaultAction="SCMP_ACT_ERRNO", defaultErrnoRet=EXDEV,
                       syscalls=[{"names": allowed, "action": "SCMP_ACT_ALLOW"}]))
    assert "Invalid cross-device link" in out.splitlines()[0]
    assert out.splitlines()[1] == "still-running"


def test_seccomp_syscall_args(sh):
    rules = [
        # chmod(path, mode) / fchmodat(dirfd, path, mode): mode == 0700 refused
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV,
         "args": [{"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"}]},
        {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV,
         "args": [{"index": 2, "value": 0o700, "op": "SCMP_CMP_EQ"}]},
        # kill(pid, sig) with (sig & 0x1f) == 1: SIGHUP refused, SIGKILL and 0 not
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 0x1f, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]},
        # conditions on two arguments must both hold: umask is a no-op check, kill(<0, >=64) refused
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV,
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_GT"}, {"index": 1, "value": 64, "op": "SCMP_CMP_GE"}]},
    ]
    out = sh("touch /dev/shm/f; chmod 700 /dev/shm/f 2>&1; chmod 750 /dev/shm/f && stat -c %a /dev/shm/f; "
             "sleep 100 & p=$!; kill -HUP $p 2>&1; kill -0 $p && echo alive; kill -s 64 $p 2>&1; "
             "kill -KILL $p; wait $p; echo $?",
             **seccomp(defaultAction="SCMP_ACT_ALLOW", syscalls=rules))
    lines = out.splitlines()
    assert "Invalid cross-device link" in lines[0]
    assert lines[1] == "750"
    assert "Operation not permitted" in lines[2]
    assert lines[3] == "alive"
    assert "Invalid cross-device link" in lines[4]
    assert lines[5] == "137"


X32_PROG = r"""
/* getpid through the x32 ABI: syscall number | __X32_SYSCALL_BIT; exits with 0 when it returned a
   pid, else with the errno (ENOSYS on a kernel without x32) */
void _start(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(0x40000000L | 39) : "rcx", "r11", "memory");
	long code = r > 0 ? 0 : -r;
	__asm__ volatile("syscall" : : "a"(60L), "D"(code) : "rcx", "r11", "memory");
	for (;;)
		;
}
"""


@pytest.fixture(scope="module")
def x32_prog(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    assert cc, "a C compiler builds the runtime; it builds this probe too"
    d = tmp_path_factory.mktemp("x32")
    (d / "x32.c").write_text(X32_PROG)
    subprocess.run([cc, "-static", "-nostdlib", "-O2", "-o", str(d / "x32"), str(d / "x32.c")], check=True)
    return d / "x32"


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the x32 ABI is x86_64's")
@pytest.mark.parametrize("arches,status", [
    # x32 listed: the filter's rules apply to x32 calls (default allow: the kernel answers ENOSYS)
    (["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], 38),
    # not listed: an x32 call is of a foreign architecture and the process is killed (SIGSYS)
    (["SCMP_ARCH_X86_64"], 128 + 31),
])
def test_seccomp_architectures(rt, make_bundle, x32_prog, arches, status):
    b = make_bundle(["/x32"], **seccomp(defaultAction="SCMP_ACT_ALLOW", architectures=arches,
                                        syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]))
    shutil.copy(x32_prog, os.path.join(b, "rootfs", "x32"))
    r = rt.run(b)
    assert r.returncode == status, r.stderr


def kmsg_count(pattern):
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return len(re.findall(pattern, out))


@pytest.mark.parametrize("flags", [[], ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
                                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]])
def test_seccomp_flags(sh, flags):
    """LOG: the errno action is audited (dmesg); SPEC_ALLOW: no forced store-bypass mitigation
    (visible where the host mitigates through prctl/seccomp); TSYNC: accepted."""
    errno_ret = 77
    pattern = r"type=1326 .*comm=\"mkdir\" .*syscall=83 .*code=0x50000"  # SECCOMP_RET_ERRNO
    before = kmsg_count(pattern)
    out = sh("mkdir /tmp/x 2>/dev/null; grep -E '^(Seccomp|Speculation_Store_Bypass):' /proc/self/status",
             **seccomp(defaultAction="SCMP_ACT_ALLOW", flags=flags,
                       syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret}]))
    f = status_fields(out)
    assert f["Seccomp"] == "2"
    logged = wait_for(lambda: kmsg_count(pattern) > before, 2)
    assert logged == ("SECCOMP_FILTER_FLAG_LOG" in flags)
    ssb = pathlib.Path("/sys/devices/system/cpu/vulnerabilities/spec_store_bypass").read_text()
    if "seccomp" in ssb:
        forced = f["Speculation_Store_Bypass"] == "thread force mitigated"
        assert forced == ("SECCOMP_FILTER_FLAG_SPEC_ALLOW" not in flags)


SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101


def seccomp_agent(path, seen):
    """A seccomp agent: takes the notify fd from the runtime and answers EXDEV to every call."""
    import fcntl
    import struct
    import threading

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)

    def serve():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
        seen["msg"] = json.loads(msg)
        fd = fds[0]
        buf = bytearray(80)
        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
        notif_id, pid, _flags, nr = struct.unpack_from("QIIi", buf)
        seen["nr"] = nr
        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(struct.pack("QqiI", notif_id, 0, -EXDEV, 0)))
        os.close(fd)
        conn.close()
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def test_seccomp_listener_path(rt, make_bundle, tmp_path):
    agent_path = str(tmp_path / "agent.sock")
    seen = {}
    t = seccomp_agent(agent_path, seen)
    b = make_bundle(["/bin/sh", "-c", "mkdir /tmp/x 2>&1; echo done"],
                    **seccomp(defaultAction="SCMP_ACT_ALLOW", listenerPath=agent_path,
                              listenerMetadata="agent-meta",
                              syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]))
    c = rt.cid()
    r = rt.run(b, c)
    t.join(30)
    assert r.returncode == 0, r.stderr
    assert "Invalid cross-device link" in r.stdout.splitlines()[0]
    msg = seen["msg"]
    assert msg["fds"] == ["seccompFd"] and msg["metadata"] == "agent-meta"
    assert msg["state"]["id"] == c and msg["state"]["pid"] == msg["pid"] > 0
    assert seen["nr"] in (83, 258)  # mkdir, mkdirat


def test_hostname_needs_a_uts_namespace(rt, make_bundle):
    nss = [{"type": t} for t in ("pid", "ipc", "mount")]
    c = rt.cid()
    r = rt.run(make_bundle(["/bin/true"], hostname="x", linux={"namespaces": nss}), c)
    assert r.returncode == 1 and "unable to set hostname without a new UTS namespace" in r.stderr
    assert not (rt.root / c).exists()


@pytest.mark.parametrize("version,ok", [("1.0.0", True), ("1.2.0", True), ("2.0.0", False)])
def test_oci_version(rt, make_bundle, version, ok):
    r = rt.run(make_bundle(["/bin/true"], ociVersion=version))
    assert (r.returncode == 0) == ok, r.stderr
    if not ok:
        assert "ociVersion" in r.stderr
