"""update (runc's flags and -r) and events (--stats, streaming, oom)."""
import json
import os
import subprocess

import pytest

from lifecycle_util import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")


@pytest.fixture
def ctr(binary, runtime_root, make_bundle, tmp_path):
    made = []

    def cli(*args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([binary, "--root", runtime_root, *args], **kw)

    def start(args=("/bin/sleep", "1000"), cid="u", **overrides):
        b = make_bundle(list(args), **overrides)
        with open(tmp_path / f"{cid}.out", "w") as o:
            r = subprocess.run([binary, "--root", runtime_root, "run", "-d", "--bundle", b, cid],
                               stdin=subprocess.DEVNULL, stdout=o, stderr=o, timeout=60)
        assert r.returncode == 0, (tmp_path / f"{cid}.out").read_text()
        made.append(cid)
        return cid

    cli.argv = [binary, "--root", runtime_root]
    start.cli = cli
    yield start
    for c in made:
        cli("delete", "--force", c)


def cg_read(cid, ctrl, name):
    f = f"/sys/fs/cgroup/{ctrl}/proxmox-lxcri/{cid}/{name}"
    return open(f).read().strip() if os.path.exists(f) else None


def v1(ctrl):
    return os.path.isdir(f"/sys/fs/cgroup/{ctrl}") and not os.path.islink(f"/sys/fs/cgroup/{ctrl}")


def test_update_flags_reach_the_cgroup(ctr):
    c = ctr()
    r = ctr.cli("update", "--memory", "64m", "--memory-reservation", "32M", "--pids-limit", "20",
                "--cpu-share", "512", "--cpu-quota", "50000", "--cpu-period", "100000",
                "--cpuset-cpus", "0", c)
    assert r.returncode == 0, r.stderr
    if v1("memory"):
        assert cg_read(c, "memory", "memory.limit_in_bytes") == str(64 << 20)
        assert cg_read(c, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
        assert cg_read(c, "pids", "pids.max") == "20"
        assert cg_read(c, "cpu", "cpu.shares") == "512"
        assert cg_read(c, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cg_read(c, "cpuset", "cpuset.cpus") == "0"
    # the limit holds inside: the 21st process cannot be made
    r = ctr.cli("exec", c, "sh", "-c",
                "for i in $(seq 1 30); do sleep 100 </dev/null >/dev/null 2>&1 & done; echo done")
    assert "Resource temporarily unavailable" in r.stderr or "can't fork" in r.stderr, r.stderr


def test_update_resources_file_and_stdin(ctr, tmp_path):
    c = ctr()
    (tmp_path / "r.json").write_text(json.dumps({"pids": {"limit": 7}}))
    r = ctr.cli("update", "-r", str(tmp_path / "r.json"), c)
    assert r.returncode == 0, r.stderr
    if v1("pids"):
        assert cg_read(c, "pids", "pids.max") == "7"
    r = ctr.cli("update", "-r", "-", c, input=json.dumps({"pids": {"limit": 9}}))
    assert r.returncode == 0, r.stderr
    if v1("pids"):
        assert cg_read(c, "pids", "pids.max") == "9"


def test_update_bad_input_names_the_field(ctr, tmp_path):
    c = ctr()
    r = ctr.cli("update", "-r", "-", c, input='{"memory": {"limit": "lots"}}')
    assert r.returncode == 1
    assert "<stdin>: linux.resources.memory.limit: expected integer, got string" in r.stderr
    r = ctr.cli("update", "--memory", "12zz", c)
    assert r.returncode == 1 and "--memory" in r.stderr
    (tmp_path / "bad.json").write_text("{")
    r = ctr.cli("update", "-r", str(tmp_path / "bad.json"), c)
    assert r.returncode == 1 and "bad.json:1:" in r.stderr


def test_update_raises_memory_and_swap_together(ctr):
    """v1 refuses a memory limit above memory+swap: both must move in the right order."""
    c = ctr()
    if not os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        r = ctr.cli("update", "--memory", "64m", "--memory-swap", "128m", c)
        assert r.returncode == 1 and "swap" in r.stderr, "no swap accounting: a clear error"
        return
    assert ctr.cli("update", "--memory", "32m", "--memory-swap", "64m", c).returncode == 0
    r = ctr.cli("update", "--memory", "128m", "--memory-swap", "256m", c)
    assert r.returncode == 0, r.stderr


def test_update_stopped_container_fails(ctr):
    c = ctr(("/bin/true",))
    assert wait_for(lambda: json.loads(ctr.cli("state", c).stdout)["status"] == "stopped")
    r = ctr.cli("update", "--pids-limit", "5", c)
    assert r.returncode == 1 and "not running" in r.stderr


def test_events_stats_once(ctr):
    c = ctr(("/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"))
    assert wait_for(lambda: json.loads(ctr.cli("ps", "-f", "json", c).stdout).__len__() == 3)
    r = ctr.cli("events", "--stats", c)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1
    ev = json.loads(r.stdout)
    assert ev["type"] == "stats" and ev["id"] == c
    d = ev["data"]
    assert d["pids"]["current"] == 3
    assert d["memory"]["usage"]["usage"] > 0
    assert d["cpu"]["usage"]["total"] > 0
    assert set(d) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}


def test_events_stream_and_oom(ctr, tmp_path):
    c = ctr(("/bin/sleep", "1000"),
            linux={"resources": {"memory": {"limit": 16 << 20}}})
    p = subprocess.Popen([*ctr.cli.argv, "events", "--interval", "200ms", c], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(p.stdout.readline())
        assert first["type"] == "stats"
        # a process that eats past the limit is OOM-killed: an "oom" event follows
        ctr.cli("exec", "-d", c, "sh", "-c", "x=a; while true; do x=$x$x; done", stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, capture_output=False)
        seen = [first["type"]]
        for _ in range(200):
            ev = json.loads(p.stdout.readline())
            seen.append(ev["type"])
            if ev["type"] == "oom":
                break
        assert "oom" in seen, seen
        assert seen.count("stats") >= 1
    finally:
        p.kill()
        p.wait()
