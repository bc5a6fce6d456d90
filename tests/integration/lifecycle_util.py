"""Helpers for lifecycle tests: config edits, cgroup and process checks."""
import json
import os
import pathlib
import signal
import time

CGROUP_ROOT = pathlib.Path("/sys/fs/cgroup")


def edit_config(bundle, fn):
    """Load bundle/config.json, let fn mutate the dict, write it back."""
    p = pathlib.Path(bundle) / "config.json"
    cfg = json.loads(p.read_text())
    fn(cfg)
    p.write_text(json.dumps(cfg, indent="\t"))
    return cfg


def cgroup_dirs(cgpath):
    """Every hierarchy directory that exists for cgroup path cgpath ('/a/b')."""
    found = []
    for h in CGROUP_ROOT.iterdir():
        if h.is_symlink() or not h.is_dir():
            continue
        d = h / cgpath.lstrip("/")
        if d.is_dir():
            found.append(d)
    return found


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(pred, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def state(cli, cid):
    r = cli("state", cid)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
