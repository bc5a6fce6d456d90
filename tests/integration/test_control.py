"""pause / resume / ps on a running container."""
import json
import os
import subprocess
import time

import pytest

from lifecycle_util import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")


@pytest.fixture
def running(binary, runtime_root, make_bundle, tmp_path):
    b = make_bundle(["/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    with open(tmp_path / "o", "w") as o:
        r = subprocess.run([binary, "--root", runtime_root, "run", "-d", "--bundle", b, "c"],
                           stdin=subprocess.DEVNULL, stdout=o, stderr=o, timeout=60)
    assert r.returncode == 0, (tmp_path / "o").read_text()

    def cli(*args):
        return subprocess.run([binary, "--root", runtime_root, *args], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
    cli.argv = [binary, "--root", runtime_root]
    yield cli
    cli("delete", "--force", "c")


def status(cli):
    return json.loads(cli("state", "c").stdout)["status"]


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_pause_freezes_every_process_and_resume_thaws(running):
    cli = running
    assert wait_for(lambda: len(json.loads(cli("ps", "--format", "json", "c").stdout)) == 3)
    pids = json.loads(cli("ps", "--format", "json", "c").stdout)
    r = cli("pause", "c")
    assert r.returncode == 0, r.stderr
    assert status(cli) == "paused"
    # a frozen task sleeps in the freezer: it cannot run, signals stay pending
    assert all(proc_state(p) in ("D", "S") for p in pids)
    r = cli("exec", "c", "true")
    assert r.returncode == 1 and "paused" in r.stderr
    r = cli("resume", "c")
    assert r.returncode == 0, r.stderr
    assert status(cli) == "running"
    r = cli("resume", "c")
    assert r.returncode == 1 and "not paused" in r.stderr


def test_exec_ignore_paused_runs_after_resume(running, tmp_path):
    cli = running
    assert cli("pause", "c").returncode == 0
    # the new process joins the frozen cgroup: it runs once the container is resumed
    out = tmp_path / "exec.out"
    with open(out, "w") as o:
        p = subprocess.Popen([*cli.argv, "exec", "--ignore-paused", "c", "echo", "ran"],
                             stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        assert p.poll() is None, out.read_text()
        assert cli("resume", "c").returncode == 0
        assert p.wait(30) == 0, out.read_text()
    assert out.read_text() == "ran\n"


def test_delete_force_of_a_paused_container(running):
    cli = running
    pids = json.loads(cli("ps", "--format", "json", "c").stdout)
    assert cli("pause", "c").returncode == 0
    r = cli("delete", "--force", "c")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids))


def test_ps_json_and_table(running):
    cli = running
    assert wait_for(lambda: len(json.loads(cli("ps", "--format", "json", "c").stdout)) == 3)
    r = cli("ps", "--format", "json", "c")
    assert r.returncode == 0
    pids = json.loads(r.stdout)
    init = json.loads(cli("state", "c").stdout)["pid"]
    assert init in pids and pids == sorted(pids)
    assert r.stdout.endswith("]\n") and " " not in r.stdout
    r = cli("ps", "c")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    assert len(lines) == 4
    assert all("sleep" in l or "sh" in l for l in lines[1:])
    # ps options after the id go to ps(1)
    r = cli("ps", "c", "-o", "pid,comm")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["PID", "COMMAND"]


def test_pause_stopped_container_fails(running):
    cli = running
    assert cli("kill", "c", "KILL").returncode == 0
    assert wait_for(lambda: status(cli) == "stopped")
    r = cli("pause", "c")
    assert r.returncode == 1 and "not running" in r.stderr


def test_sigkill_reaches_a_paused_container(running):
    cli = running
    assert cli("pause", "c").returncode == 0
    assert cli("kill", "c", "KILL").returncode == 0
    assert wait_for(lambda: status(cli) == "stopped")
