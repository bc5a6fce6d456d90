# SPDX-License-Identifier: Apache-2.0
"""OCI hooks through the CLI (rows "hooks.*" of docs/oci-to-lxc.md): when each kind runs, in which
namespaces, where its path resolves, the state on its stdin, args/env/timeout, and what a failure
does to the command."""
import json
import os
import pathlib
import shutil
import time

import pytest

from lifecycle_util import cgroup_dirs, pid_alive, wait_for
from mapping_util import Runtime

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")

# Portable between the host's /bin/sh and busybox: records what the hook saw into $1/$2.out and
# appends $2 to $1/order.  A hook's env is exactly its config's, so PATH comes from there.
HOOK = """#!/bin/sh
out=$1; kind=$2
{
  echo "argv=$0|$*"
  echo "hostname=$(hostname)"
  echo "mntns=$(readlink /proc/self/ns/mnt)"
  echo "utsns=$(readlink /proc/self/ns/uts)"
  echo "root=$(ls / | tr '\\n' ' ')"
  echo "env=$(env | grep -v '^PWD=' | grep -v '^SHLVL=' | sort | tr '\\n' ' ')"
  echo "cgroup=$(cat /proc/self/cgroup | tr '\\n' ' ')"
  echo "stdin=$(cat)"
} > "$out/$kind.out"
echo "$kind" >> "$out/order"
"""

ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOOKVAR=hook value"]
KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


@pytest.fixture
def rt(binary, runtime_root, tmp_path, request):
    return Runtime(binary, runtime_root, tmp_path, request.node.name)


@pytest.fixture
def hooks(tmp_path):
    """The recording hook on the host, and the directory hooks write to (same path inside the
    container, bind-mounted)."""
    class Hooks:
        out = tmp_path / "hookout"
        script = tmp_path / "hookbin" / "record.sh"

        def hook(self, kind, path=None, **extra):
            h = {"path": str(path or self.script), "args": [f"{kind}-hook", str(self.out), kind], "env": ENV}
            h.update(extra)
            return h

        def read(self, kind):
            text = (self.out / f"{kind}.out").read_text()
            return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)

        def state(self, kind):
            return json.loads(self.read(kind)["stdin"])

        def order(self):
            p = self.out / "order"
            return p.read_text().split() if p.exists() else []

    h = Hooks()
    h.out.mkdir()
    h.script.parent.mkdir()
    h.script.write_text(HOOK)
    h.script.chmod(0o755)
    return h


def bundle_with_hooks(make_bundle, hooks, args, hook_cfg, **overrides):
    b = make_bundle(args, hooks=hook_cfg, root={"readonly": False}, **overrides)
    p = pathlib.Path(b, "config.json")
    cfg = json.loads(p.read_text())
    cfg["mounts"].append({"destination": str(hooks.out), "type": "bind", "source": str(hooks.out),
                          "options": ["rbind"]})
    p.write_text(json.dumps(cfg))
    # startContainer's path resolves in the container: the same script at /hooks/record.sh there
    inside = pathlib.Path(b, "rootfs", "hooks")
    inside.mkdir()
    shutil.copy(hooks.script, inside / "record.sh")
    return b


def all_hooks(hooks, **per_kind):
    cfg = {k: [hooks.hook(k)] for k in KINDS}
    cfg["startContainer"] = [hooks.hook("startContainer", path="/hooks/record.sh")]
    cfg.update(per_kind)
    return cfg


def test_hooks_run_in_order_with_state_and_namespaces(rt, make_bundle, hooks):
    b = bundle_with_hooks(make_bundle, hooks,
                          ["/bin/sh", "-c", f"echo program >> {hooks.out}/order; sleep 100"],
                          all_hooks(hooks), hostname="hooked-box")
    c = rt.create(b)
    st = rt.state(c)
    pid = st["pid"]
    # prestart, createRuntime and createContainer ran during create, nothing after
    assert hooks.order() == ["prestart", "createRuntime", "createContainer"]
    host_mnt, host_uts = os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/uts")
    for kind in ("prestart", "createRuntime"):
        seen = hooks.read(kind)
        # runtime namespace: the host's mount and UTS namespaces, hostname and root
        assert seen["mntns"] == host_mnt and seen["utsns"] == host_uts
        assert seen["hostname"] == os.uname().nodename
        state = hooks.state(kind)
        assert state["status"] == "creating" and state["pid"] == pid and state["id"] == c
        assert state["bundle"] == b and state["ociVersion"]
    cc = hooks.read("createContainer")
    # the container's namespaces, path resolved on the host (the script is not in the rootfs)
    assert cc["mntns"] == os.readlink(f"/proc/{pid}/ns/mnt")
    assert cc["utsns"] == os.readlink(f"/proc/{pid}/ns/uts")
    assert cc["hostname"] == "hooked-box"
    assert "hooks" in cc["root"].split() and "hookbin" not in cc["root"]
    assert hooks.state("createContainer")["status"] == "creating"
    assert hooks.state("createContainer")["pid"] == pid

    rt.start(c)
    # startContainer ran inside before the program; poststart before start returned (the program
    # runs concurrently with it, so the two may be in either order)
    assert "poststart" in hooks.order()
    assert wait_for(lambda: "program" in hooks.order())
    assert hooks.order()[3] == "startContainer"
    assert sorted(hooks.order()[4:]) == ["poststart", "program"]
    sc = hooks.read("startContainer")
    assert sc["mntns"] == os.readlink(f"/proc/{pid}/ns/mnt") and sc["hostname"] == "hooked-box"
    assert hooks.state("startContainer")["status"] == "created"
    ps = hooks.read("poststart")
    assert ps["mntns"] == host_mnt
    assert hooks.state("poststart")["status"] == "running" and hooks.state("poststart")["pid"] == pid

    assert rt("kill", c, "KILL").returncode == 0
    assert wait_for(lambda: rt.state(c)["status"] == "stopped")
    assert "poststop" not in hooks.order()
    r = rt("delete", c)
    assert r.returncode == 0, r.stderr
    # poststop ran during delete, after the container and its cgroup were gone
    assert hooks.order()[-1] == "poststop"
    post = hooks.read("poststop")
    assert post["mntns"] == host_mnt
    assert hooks.state("poststop")["status"] == "stopped"
    assert not pid_alive(pid)
    assert cgroup_dirs(f"/proxmox-lxcri/{c}") == []


def test_hook_args_and_env(rt, make_bundle, hooks):
    """args[0] is argv[0] (busybox picks its applet by it), the rest follow; the env is exactly
    the hook's, nothing of the runtime's."""
    def hook(kind):
        script = f'echo "$0|$1|$2" > {hooks.out}/{kind}.args; env | sort > {hooks.out}/{kind}.env'
        return {"path": "/bin/busybox", "args": ["sh", "-c", script, "zero", "one", "two words"], "env": ENV}
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/true"], {k: [hook(k)] for k in KINDS})
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    for kind in KINDS:
        assert (hooks.out / f"{kind}.args").read_text() == "zero|one|two words\n", kind
        env = [ln for ln in (hooks.out / f"{kind}.env").read_text().splitlines() if not ln.startswith(("PWD=", "SHLVL="))]
        assert env == ["HOOKVAR=hook value", ENV[0]], kind


def assert_gone(rt, c, pids=()):
    assert not (rt.root / c).exists(), "no state directory"
    assert cgroup_dirs(f"/proxmox-lxcri/{c}") == [], "no cgroup"
    for p in pids:
        assert wait_for(lambda: not pid_alive(p), 5), f"process {p} survived"


def container_pids_of(c):
    pids = []
    for d in cgroup_dirs(f"/proxmox-lxcri/{c}"):
        f = d / "cgroup.procs"
        if f.exists():
            pids += [int(x) for x in f.read_text().split()]
    return pids


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_cleans_up(rt, make_bundle, hooks, tmp_path, kind):
    fail = tmp_path / "fail.sh"
    fail.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 3\n")
    fail.chmod(0o755)
    cfg = all_hooks(hooks)
    cfg[kind] = [hooks.hook(kind), {"path": str(fail)}]
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/true"], cfg)
    c = rt.cid()
    r = rt("create", "--bundle", b, c)
    assert r.returncode == 1
    assert f"{kind} hook #1" in r.stderr and "exit status 3" in r.stderr and "hook says no" in r.stderr
    # the message names the hook as the config does (createContainer hooks run through /proc/self/fd)
    assert str(fail) in r.stderr and "/proc/self/fd/" not in r.stderr
    assert_gone(rt, c)
    state = hooks.state(kind)
    assert wait_for(lambda: not pid_alive(state["pid"]), 5)
    later = KINDS[KINDS.index(kind) + 1:]
    assert not any(k in hooks.order() for k in later if k != "poststop")


def test_failing_start_container_hook_fails_start(rt, make_bundle, hooks, tmp_path):
    inside_fail = "/hooks/fail.sh"
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/sh", "-c", f"echo program >> {hooks.out}/order"],
                          all_hooks(hooks, startContainer=[{"path": inside_fail}]))
    fail = pathlib.Path(b, "rootfs", "hooks", "fail.sh")
    fail.write_text("#!/bin/sh\necho 'not today' >&2\nexit 4\n")
    fail.chmod(0o755)
    c = rt.create(b)
    pid = rt.state(c)["pid"]
    r = rt("start", c)
    assert r.returncode == 1
    assert "startContainer hook #0" in r.stderr and "exit status 4" in r.stderr and "not today" in r.stderr
    assert "program" not in hooks.order() and "poststart" not in hooks.order()
    assert wait_for(lambda: not pid_alive(pid), 5)
    assert rt.state(c)["status"] == "stopped"
    assert rt("delete", c).returncode == 0
    assert_gone(rt, c)


def test_failing_start_container_hook_fails_run_and_cleans_up(rt, make_bundle, hooks):
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/true"],
                          all_hooks(hooks, startContainer=[{"path": "/hooks/missing.sh"}]))
    c = rt.cid()
    r = rt.run(b, c)
    assert r.returncode != 0
    assert "startContainer hook #0 (/hooks/missing.sh)" in r.stderr
    assert_gone(rt, c, [hooks.state("createRuntime")["pid"]])


def test_start_container_path_resolves_in_the_container(rt, make_bundle, hooks):
    # the host's path of the script does not exist inside: the hook fails
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/true"],
                          {"startContainer": [hooks.hook("startContainer")]})
    r = rt.run(b)
    assert r.returncode != 0 and f"({hooks.script})" in r.stderr and "No such file" in r.stderr


@pytest.mark.parametrize("kind", ["poststart", "poststop"])
def test_failing_post_hooks_only_warn(rt, make_bundle, hooks, tmp_path, kind):
    fail = tmp_path / "fail.sh"
    fail.write_text("#!/bin/sh\nexit 5\n")
    fail.chmod(0o755)
    cfg = all_hooks(hooks)
    cfg[kind] = [{"path": str(fail)}, hooks.hook(kind)]
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/sleep", "100"], cfg)
    c = rt.create(b)
    r = rt("start", c)
    assert r.returncode == 0, r.stderr
    if kind == "poststart":
        assert "level=warning" in r.stderr and "poststart hook #0" in r.stderr and "exit status 5" in r.stderr
    r = rt("delete", "--force", c)
    assert r.returncode == 0, r.stderr
    if kind == "poststop":
        assert "level=warning" in r.stderr and "poststop hook #0" in r.stderr and "exit status 5" in r.stderr
    # a failing hook stops its own list (runc alike), the container lifecycle goes on
    assert kind not in hooks.order()
    assert_gone(rt, c)


def test_hook_timeout(rt, make_bundle, hooks, tmp_path):
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    b = bundle_with_hooks(make_bundle, hooks, ["/bin/true"],
                          {"createRuntime": [{"path": str(slow), "timeout": 1}]})
    c = rt.cid()
    t0 = time.monotonic()
    r = rt("create", "--bundle", b, c)
    assert time.monotonic() - t0 < 15
    assert r.returncode == 1 and "createRuntime hook #0" in r.stderr and "timed out after 1s" in r.stderr
    assert_gone(rt, c)
