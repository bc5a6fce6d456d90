"""cgroups: resources, device rules, freezer, kill and removal, on this hybrid host and on pure
cgroup v2 (issue: cgroups).  cgroup_env.py explains how pure v2 is had on a hybrid host.

Where the host cannot take a setting, create must fail with an error naming the config.json
field and what is missing; the tests assert those messages.  Every test removes what it made
(containers, parent cgroups) even when it fails.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

from cgroup_env import HOST, Layout, left_behind, remove_tree, subtree_restore, subtree_snapshot
from lifecycle_util import pid_alive, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root on this machine")

MB = 1024 * 1024
HUGE_2MB = pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB")


@pytest.fixture(scope="module", autouse=True)
def v2_subtree_control_restored():
    lay = Layout("v2")
    snap = subtree_snapshot(lay) if lay.emulated and not lay.unavailable else {}
    yield
    subtree_restore(snap)


@pytest.fixture(params=["hybrid", "v2"])
def layout(request):
    lay = Layout(request.param)
    if lay.unavailable:
        pytest.skip(lay.unavailable)
    return lay


@pytest.fixture
def hybrid():
    lay = Layout("hybrid")
    if lay.unavailable:
        pytest.skip(lay.unavailable)
    return lay


@pytest.fixture
def v2():
    lay = Layout("v2")
    if lay.unavailable:
        pytest.skip(lay.unavailable)
    return lay


class Runtime:
    """The runtime under one layout; stdout/stderr go to files, so a container holding them
    open never blocks a test."""

    def __init__(self, binary, root, tmp, layout):
        self.binary, self.root, self.tmp, self.layout = binary, pathlib.Path(root), tmp, layout
        self.parents = []  # parent cgroups a test made the runtime create: removed afterwards

    def __call__(self, *args, systemd=False, timeout=60):
        out = self.tmp / f"out.{time.monotonic_ns()}"
        err = self.tmp / f"err.{time.monotonic_ns()}"
        flags = ["--systemd-cgroup"] if systemd else []
        argv = self.layout.wrap([self.binary, "--root", str(self.root), *flags, *map(str, args)])
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, timeout=timeout)
        p.stdout, p.stderr = out.read_text(), err.read_text()
        return p

    def state(self, cid):
        r = self("state", cid)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def cleanup(self):
        for d in self.root.iterdir() if self.root.exists() else []:
            self("delete", "--force", d.name)
        for p in self.parents:
            remove_tree(p)


@pytest.fixture
def rt(binary, runtime_root, tmp_path, request):
    lay = None
    for name in ("layout", "hybrid", "v2"):
        if name in request.fixturenames:
            lay = request.getfixturevalue(name)
    r = Runtime(binary, runtime_root, tmp_path, lay or Layout("hybrid"))
    yield r
    r.cleanup()


@pytest.fixture
def cid(request):
    # unique per run too: another run of this file may be under way on the machine
    name = re.sub(r"[^A-Za-z0-9.+-]+", "-", request.node.name)[:50].strip("-")
    return f"cg-{name}-{os.urandom(3).hex()}"


def cgpath(c):
    return f"/proxmox-lxcri/{c}"


def with_resources(make_bundle, resources, args=("/bin/sleep", "100"), linux=None, **overrides):
    return make_bundle(list(args), linux={"resources": resources, **(linux or {})}, **overrides)


def create_ok(rt, bundle, c):
    r = rt("create", "--bundle", bundle, c)
    assert r.returncode == 0, r.stderr
    return rt.state(c)


def create_fails(rt, bundle, c, *needles):
    """create fails, its message holds every needle, and nothing is left."""
    r = rt("create", "--bundle", bundle, c)
    assert r.returncode != 0, "create should have failed"
    msg = r.stderr.replace('\\"', '"')  # the log format escapes quotes
    for n in needles:
        assert n in msg, f"{n!r} not in: {msg}"
    assert not (rt.root / c).exists(), "a failed create must leave no state directory"
    assert left_behind(cgpath(c)) == []
    return msg


def delete_leaves_nothing(rt, c, path=None):
    r = rt("delete", "--force", c)
    assert r.returncode == 0, r.stderr
    assert not (rt.root / c).exists()
    assert left_behind(path or cgpath(c)) == []
    assert left_behind((path or cgpath(c)) + ".lxc-monitor") == []


def procs(layout, path):
    f = layout.procs_dir(path) / "cgroup.procs"
    return f.read_text().split() if f.exists() else []


# --- lifecycle on both layouts --------------------------------------------------------------

def test_run_leaves_no_cgroup(rt, make_bundle, cid, layout):
    b = make_bundle(["/bin/sh", "-c", "echo hello"])
    r = rt("run", "--bundle", b, cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n"
    assert left_behind(cgpath(cid)) == []
    assert left_behind(cgpath(cid) + ".lxc-monitor") == []


def test_create_start_kill_delete(rt, make_bundle, cid, layout):
    b = make_bundle(["/bin/sleep", "100"])
    st = create_ok(rt, b, cid)
    assert str(st["pid"]) in procs(layout, cgpath(cid))
    made = left_behind(cgpath(cid))
    if layout.name == "v2":
        # only in the v2 hierarchy: liblxc took the host for a pure v2 one
        assert made == [layout.v2_root / cgpath(cid).lstrip("/")]
    else:
        assert HOST / "memory" / cgpath(cid).lstrip("/") in made
    assert rt("start", cid).returncode == 0
    assert rt.state(cid)["status"] == "running"
    assert rt("kill", cid, "KILL").returncode == 0
    assert wait_for(lambda: rt.state(cid)["status"] == "stopped")
    assert not pid_alive(st["pid"])
    delete_leaves_nothing(rt, cid)


@pytest.mark.parametrize("sig", ["KILL", "TERM"])
def test_kill_all_reaches_every_process(rt, make_bundle, cid, layout, sig):
    # KILL takes cgroup.kill on v2; any other signal the freeze-signal-thaw path
    b = make_bundle(["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"])
    assert rt("run", "-d", "--bundle", b, cid).returncode == 0
    assert wait_for(lambda: len(procs(layout, cgpath(cid))) == 3)
    r = rt("kill", "--all", cid, sig)
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: rt.state(cid)["status"] == "stopped")
    assert wait_for(lambda: procs(layout, cgpath(cid)) == [])
    delete_leaves_nothing(rt, cid)


def test_paused_status_kill_all_and_delete(rt, make_bundle, cid, layout):
    b = make_bundle(["/bin/sh", "-c", "trap 'echo usr1 > /tmp/mark' USR1; while :; do sleep 0.2; done"],
                    root={"readonly": False})
    mark = pathlib.Path(b) / "rootfs/tmp/mark"
    assert rt("run", "-d", "--bundle", b, cid).returncode == 0
    pid = rt.state(cid)["pid"]
    layout.freeze(cgpath(cid), True)
    assert wait_for(lambda: rt.state(cid)["status"] == "paused")
    # a paused container stays paused; the signal waits for the thaw
    assert rt("kill", "--all", cid, "USR1").returncode == 0
    assert rt.state(cid)["status"] == "paused"
    time.sleep(0.3)
    assert not mark.exists()
    layout.freeze(cgpath(cid), False)
    assert wait_for(lambda: rt.state(cid)["status"] == "running")
    assert wait_for(lambda: mark.exists())
    # delete --force of a paused container: thawed, killed, removed
    layout.freeze(cgpath(cid), True)
    assert wait_for(lambda: rt.state(cid)["status"] == "paused")
    delete_leaves_nothing(rt, cid)
    assert wait_for(lambda: not pid_alive(pid))


FUSE = {"destination": "/dev/fuse", "type": "bind", "source": "/dev/fuse", "options": ["bind"]}
OPEN_FUSE = ("head -c 1 /dev/zero >/dev/null && echo zero=ok; "
             "(exec 3</dev/fuse) 2>/dev/null; echo fuse=$?; head -c 1 /dev/urandom >/dev/null; echo urandom=$?")


@pytest.mark.parametrize("rules,fuse_opens", [
    ([], False),                                                   # the spec's "deny a" only
    ([{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}], True),
    ([{"allow": True, "type": "c", "major": 10, "access": "rwm"}], True),       # minor wildcard
    ([{"allow": True, "type": "c", "access": "r"}], True),                      # c *:* r
    ([{"allow": True, "type": "b", "major": 10, "minor": 229}], False),         # wrong type
    ([{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "w"}], False),  # no read
    ([{"allow": True, "type": "c", "major": 10, "minor": 229},
      {"allow": False, "type": "c", "major": 10, "minor": 229}], False),       # the last rule wins
])
def test_device_rules(rt, make_bundle, cid, layout, rules, fuse_opens):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("the host has no /dev/fuse to bind into the container")
    b = make_bundle(["/bin/sh", "-c", OPEN_FUSE])
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    cfg["mounts"].append(FUSE)
    cfg["linux"]["resources"]["devices"] += rules
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    r = rt("run", "--bundle", b, cid)
    assert r.returncode == 0, r.stderr
    assert "zero=ok" in r.stdout
    assert ("fuse=0" in r.stdout) == fuse_opens, r.stdout
    assert "urandom=0" in r.stdout


def test_denying_a_default_device_does_not_take_it_away(rt, make_bundle, cid, layout):
    """As with runc, the default devices (/dev/urandom ...) are allowed after the config's
    rules: a config cannot deny them."""
    b = make_bundle(["/bin/sh", "-c", OPEN_FUSE])
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    cfg["linux"]["resources"]["devices"].append(
        {"allow": False, "type": "c", "major": 1, "minor": 9, "access": "rwm"})
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    r = rt("run", "--bundle", b, cid)
    assert r.returncode == 0, r.stderr
    assert "urandom=0" in r.stdout


@pytest.mark.parametrize("form", ["absolute", "relative", "nested", "systemd"])
def test_cgroups_path(rt, make_bundle, cid, layout, form):
    top = f"/plxcgtest-{cid}"
    if form == "absolute":
        given, expect = f"{top}/abs", f"{top}/abs"
    elif form == "relative":
        given, expect = f"{top.lstrip('/')}/rel", f"{top}/rel"
    elif form == "nested":
        given, expect = f"{top}/a/b/c", f"{top}/a/b/c"
    else:
        slice_ = f"plxcgtest{cid[-6:]}.slice"  # no '-': a top-level slice of its own
        top = f"/{slice_}"
        given, expect = f"{slice_}:plx:{cid}", f"{top}/plx-{cid}.scope"
    rt.parents.append(top)
    b = make_bundle(["/bin/sleep", "100"], linux={"cgroupsPath": given})
    r = rt("create", "--bundle", b, cid, systemd=form == "systemd")
    assert r.returncode == 0, r.stderr
    assert str(rt.state(cid)["pid"]) in procs(layout, expect)
    delete_leaves_nothing(rt, cid, expect)
    # the runtime leaves the parents it made (as runc does); they are empty and removable
    remove_tree(top)
    assert left_behind(top) == []


def test_failed_create_leaves_no_cgroup(rt, make_bundle, cid, layout):
    b = with_resources(make_bundle, {"hugepageLimits": [{"pageSize": "3MB", "limit": 2 * MB}]})
    create_fails(rt, b, cid, "linux.resources.hugepageLimits[0].pageSize", "no 3MB huge pages")


# --- pure cgroup v2 ------------------------------------------------------------------------

def test_v2_hugetlb_limit(rt, make_bundle, cid, v2):
    if "hugetlb" not in v2.v2_controllers() or not HUGE_2MB.exists():
        pytest.skip("no hugetlb controller in the v2 root or no 2MB huge pages")
    b = with_resources(make_bundle, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MB}]})
    create_ok(rt, b, cid)
    assert v2.read("hugetlb", cgpath(cid), "hugetlb.2MB.max") == str(4 * MB)
    delete_leaves_nothing(rt, cid)


def test_v2_unified(rt, make_bundle, cid, v2):
    unified = {"cgroup.max.depth": "3", "cgroup.max.descendants": "7"}
    if "hugetlb" in v2.v2_controllers() and HUGE_2MB.exists():
        unified["hugetlb.2MB.max"] = str(8 * MB)
    create_ok(rt, with_resources(make_bundle, {"unified": unified}), cid)
    for k, v in unified.items():
        assert v2.read("", cgpath(cid), k) == v
    delete_leaves_nothing(rt, cid)


def missing_v2_controller(v2):
    for c in ("memory", "pids", "cpu", "io", "cpuset"):
        if c not in v2.v2_controllers():
            return c
    pytest.skip("the v2 root offers every common controller")


def test_v2_unified_needs_the_controller(rt, make_bundle, cid, v2):
    c = missing_v2_controller(v2)
    b = with_resources(make_bundle, {"unified": {f"{c}.max": "100"}})
    create_fails(rt, b, cid, f'linux.resources.unified["{c}.max"]', f"the {c} controller is not available",
                 "cgroup.controllers")


def test_v2_unified_key_must_name_a_controller(rt, make_bundle, cid, v2):
    b = with_resources(make_bundle, {"unified": {"nodot": "1"}})
    create_fails(rt, b, cid, 'linux.resources.unified["nodot"]', "<controller>.<setting>")


# resources -> (field, controller, v2 file, expected content) on a pure v2 host
V2_CASES = {
    "memory.limit": ({"memory": {"limit": 64 * MB}}, "memory", "memory.max", str(64 * MB)),
    "memory.reservation": ({"memory": {"reservation": 32 * MB}}, "memory", "memory.low", str(32 * MB)),
    "cpu.shares": ({"cpu": {"shares": 512}}, "cpu", "cpu.weight", "20"),
    "cpu.quota": ({"cpu": {"quota": 50000}}, "cpu", "cpu.max", "50000 100000"),
    "cpu.cpus": ({"cpu": {"cpus": "0"}}, "cpuset", "cpuset.cpus", "0"),
    "pids.limit": ({"pids": {"limit": 5}}, "pids", "pids.max", "5"),
    "blockIO": ({"blockIO": {"weight": 500}}, "io", None, None),
}


@pytest.mark.parametrize("field", sorted(V2_CASES))
def test_v2_resource_needs_its_controller(rt, make_bundle, cid, v2, field):
    res, ctrl, file, want = V2_CASES[field]
    b = with_resources(make_bundle, res)
    if ctrl in v2.v2_controllers():
        create_ok(rt, b, cid)
        if file:
            assert v2.read(ctrl, cgpath(cid), file) == want
        delete_leaves_nothing(rt, cid)
    else:
        create_fails(rt, b, cid, f"linux.resources.{field}", f"the {ctrl} controller is not available",
                     "cgroup v2 root's cgroup.controllers")


# --- hybrid: each resource, read back from the host ------------------------------------------

def v1_has(controller, file):
    """Whether the v1 hierarchy's cgroups have file (the root or a child cgroup)."""
    h = HOST / controller
    if (h / file).exists():
        return True
    return any((d / file).exists() for d in h.iterdir() if d.is_dir())


def test_memory_settings(rt, make_bundle, cid, hybrid):
    mem = {"limit": 64 * MB, "reservation": 32 * MB, "swap": 128 * MB, "swappiness": 10,
           "disableOOMKiller": True, "kernelTCP": 16 * MB}
    b = with_resources(make_bundle, {"memory": mem})
    if not v1_has("memory", "memory.memsw.limit_in_bytes"):
        create_fails(rt, b, cid, "linux.resources.memory.swap", "memory.memsw.limit_in_bytes",
                     "swap accounting is off")
        return
    create_ok(rt, b, cid)
    read = lambda f: hybrid.read("memory", cgpath(cid), f)  # noqa: E731
    assert read("memory.limit_in_bytes") == str(64 * MB)
    assert read("memory.soft_limit_in_bytes") == str(32 * MB)
    assert read("memory.memsw.limit_in_bytes") == str(128 * MB)
    assert read("memory.swappiness") == "10"
    assert "oom_kill_disable 1" in read("memory.oom_control")
    assert read("memory.kmem.tcp.limit_in_bytes") == str(16 * MB)
    delete_leaves_nothing(rt, cid)


def test_memory_unlimited(rt, make_bundle, cid, hybrid):
    create_ok(rt, with_resources(make_bundle, {"memory": {"limit": -1, "swap": -1}}), cid)
    assert int(hybrid.read("memory", cgpath(cid), "memory.limit_in_bytes")) > 2**62
    delete_leaves_nothing(rt, cid)


def test_memory_kernel_is_ignored_with_a_warning(rt, make_bundle, cid, layout):
    r = rt("create", "--bundle", with_resources(make_bundle, {"memory": {"kernel": 64 * MB}}), cid)
    assert r.returncode == 0, r.stderr
    assert "level=warning" in r.stderr and "linux.resources.memory.kernel: ignored" in r.stderr
    delete_leaves_nothing(rt, cid)


def test_memory_limit_ends_in_oom_kill(rt, make_bundle, cid, hybrid):
    b = with_resources(make_bundle, {"memory": {"limit": 32 * MB, "swap": 32 * MB}},
                       args=["/bin/sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"])
    r = rt("run", "--bundle", b, cid)
    assert r.returncode == 137, (r.returncode, r.stdout, r.stderr)
    assert "survived" not in r.stdout


@pytest.mark.parametrize("mem,needles", [
    ({"limit": 100 * MB, "swap": 50 * MB}, ["linux.resources.memory.swap", "is below memory.limit"]),
    ({"swap": 50 * MB}, ["linux.resources.memory.swap", "needs memory.limit"]),
    ({"swappiness": 101}, ["linux.resources.memory.swappiness", "outside 0-100"]),
])
def test_memory_errors(rt, make_bundle, cid, layout, mem, needles):
    create_fails(rt, with_resources(make_bundle, {"memory": mem}), cid, *needles)


def test_cpu_settings(rt, make_bundle, cid, hybrid):
    cpu = {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000, "cpus": "0", "mems": "0"}
    create_ok(rt, with_resources(make_bundle, {"cpu": cpu}), cid)
    read = lambda c, f: hybrid.read(c, cgpath(cid), f)  # noqa: E731
    assert read("cpu", "cpu.shares") == "512"
    assert read("cpu", "cpu.cfs_quota_us") == "50000"
    assert read("cpu", "cpu.cfs_period_us") == "100000"
    assert read("cpu", "cpu.cfs_burst_us") == "1000"
    assert read("cpuset", "cpuset.cpus") == "0"
    assert read("cpuset", "cpuset.mems") == "0"
    delete_leaves_nothing(rt, cid)


def test_cpu_idle(rt, make_bundle, cid, hybrid):
    b = with_resources(make_bundle, {"cpu": {"idle": 1}})
    if not v1_has("cpu", "cpu.idle"):
        create_fails(rt, b, cid, "linux.resources.cpu.idle", "cpu.idle")
        return
    create_ok(rt, b, cid)
    assert hybrid.read("cpu", cgpath(cid), "cpu.idle") == "1"
    delete_leaves_nothing(rt, cid)


@pytest.mark.parametrize("cpu,needle", [
    ({"cpus": "4095"}, "linux.resources.cpu.cpus: CPU 4095 is not online on this host"),
    ({"mems": "63"}, "linux.resources.cpu.mems: memory node 63 is not online on this host"),
    ({"cpus": "1-0"}, 'linux.resources.cpu.cpus: "1-0" is not a list like "0-3,8"'),
])
def test_cpuset_outside_the_host(rt, make_bundle, cid, layout, cpu, needle):
    create_fails(rt, with_resources(make_bundle, {"cpu": cpu}), cid, needle)


def test_cpu_realtime_needs_a_parent_budget(rt, make_bundle, cid, hybrid):
    if not v1_has("cpu", "cpu.rt_runtime_us"):
        pytest.skip("no real-time group scheduling in this kernel")
    b = with_resources(make_bundle, {"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 10000}})
    create_fails(rt, b, cid, "linux.resources.cpu.realtimeRuntime", "parent cgroup /proxmox-lxcri",
                 "cpu.rt_runtime_us 0")


def test_cpu_realtime_with_a_parent_budget(rt, make_bundle, cid, hybrid):
    if not v1_has("cpu", "cpu.rt_runtime_us"):
        pytest.skip("no real-time group scheduling in this kernel")
    top = f"/plxcgtest-{cid}"
    rt.parents.append(top)
    parent = HOST / "cpu" / top.lstrip("/")
    parent.mkdir()
    (parent / "cpu.rt_runtime_us").write_text("50000")
    b = with_resources(make_bundle, {"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 10000}},
                       linux={"cgroupsPath": f"{top}/rt"})
    create_ok(rt, b, cid)
    assert hybrid.read("cpu", f"{top}/rt", "cpu.rt_period_us") == "1000000"
    assert hybrid.read("cpu", f"{top}/rt", "cpu.rt_runtime_us") == "10000"
    delete_leaves_nothing(rt, cid, f"{top}/rt")


def test_pids_limit_stops_a_fork_bomb(rt, make_bundle, cid, hybrid):
    # the outer shell and the bomb's shell count: the bomb gets 3 more before fork fails
    script = ('sh -c \'n=0; while :; do sleep 100 & n=$((n+1)); echo forked $n; done\'; '
              'read cur < /sys/fs/cgroup/pids/pids.current; echo current $cur')
    b = with_resources(make_bundle, {"pids": {"limit": 5}}, args=["/bin/sh", "-c", script])
    r = rt("run", "--bundle", b, cid)
    assert "can't fork" in r.stderr
    forked = [int(x) for x in re.findall(r"forked (\d+)", r.stdout)]
    assert max(forked) == 3, r.stdout
    assert "current 4" in r.stdout


@pytest.mark.parametrize("limit,want", [(5, "5"), (0, "max"), (-1, "max")])
def test_pids_limit_read_back(rt, make_bundle, cid, hybrid, limit, want):
    create_ok(rt, with_resources(make_bundle, {"pids": {"limit": limit}}), cid)
    assert hybrid.read("pids", cgpath(cid), "pids.max") == want
    delete_leaves_nothing(rt, cid)


def a_block_device():
    """(major, minor, name) of a whole disk of the host, loop devices first."""
    names = sorted(os.listdir("/sys/block"), key=lambda n: (not n.startswith("loop"), n))
    for n in names:
        maj, mi = pathlib.Path(f"/sys/block/{n}/dev").read_text().split(":")
        return int(maj), int(mi), n
    pytest.skip("no block device")


def test_blkio_weight(rt, make_bundle, cid, hybrid):
    b = with_resources(make_bundle, {"blockIO": {"weight": 500}})
    cfq, bfq = v1_has("blkio", "blkio.weight"), v1_has("blkio", "blkio.bfq.weight")
    if not cfq and not bfq:
        create_fails(rt, b, cid, "linux.resources.blockIO.weight", "blkio.bfq.weight (BFQ)")
        return
    create_ok(rt, b, cid)
    assert hybrid.read("blkio", cgpath(cid), "blkio.weight" if cfq else "blkio.bfq.weight") == "500"
    delete_leaves_nothing(rt, cid)


def test_blkio_throttle(rt, make_bundle, cid, hybrid):
    maj, mi, _ = a_block_device()
    dev = lambda rate: [{"major": maj, "minor": mi, "rate": rate}]  # noqa: E731
    bio = {"throttleReadBpsDevice": dev(MB), "throttleWriteBpsDevice": dev(2 * MB),
           "throttleReadIOPSDevice": dev(100), "throttleWriteIOPSDevice": dev(200)}
    create_ok(rt, with_resources(make_bundle, {"blockIO": bio}), cid)
    read = lambda f: hybrid.read("blkio", cgpath(cid), f)  # noqa: E731
    assert read("blkio.throttle.read_bps_device") == f"{maj}:{mi} {MB}"
    assert read("blkio.throttle.write_bps_device") == f"{maj}:{mi} {2 * MB}"
    assert read("blkio.throttle.read_iops_device") == f"{maj}:{mi} 100"
    assert read("blkio.throttle.write_iops_device") == f"{maj}:{mi} 200"
    delete_leaves_nothing(rt, cid)


def test_blkio_unknown_device(rt, make_bundle, cid, hybrid):
    bio = {"throttleReadBpsDevice": [{"major": 7, "minor": 1048575, "rate": 1}]}
    create_fails(rt, with_resources(make_bundle, {"blockIO": bio}), cid,
                 "linux.resources.blockIO.throttleReadBpsDevice[0]", "no block device 7:1048575")


def test_blkio_weight_device_needs_bfq_on_the_device(rt, make_bundle, cid, hybrid):
    if not v1_has("blkio", "blkio.bfq.weight_device") or v1_has("blkio", "blkio.weight_device"):
        pytest.skip("the host's blkio has no BFQ per-device weights (or CFQ's)")
    maj, mi, name = a_block_device()
    sched = pathlib.Path(f"/sys/block/{name}/queue/scheduler")
    before = re.search(r"\[(\S+)\]", sched.read_text()).group(1)
    bio = {"weightDevice": [{"major": maj, "minor": mi, "weight": 500}]}
    b = with_resources(make_bundle, {"blockIO": bio})
    if before != "bfq":
        create_fails(rt, b, cid, "linux.resources.blockIO.weightDevice[0]", "is not scheduled by bfq")
        if "bfq" not in sched.read_text() or not name.startswith("loop"):
            return
        sched.write_text("bfq")  # an idle loop device: put back below
    try:
        create_ok(rt, b, cid)
        assert f"{maj}:{mi} 500" in hybrid.read("blkio", cgpath(cid), "blkio.bfq.weight_device")
        delete_leaves_nothing(rt, cid)
    finally:
        sched.write_text(before)


def test_blkio_leaf_weight(rt, make_bundle, cid, hybrid):
    b = with_resources(make_bundle, {"blockIO": {"leafWeight": 500}})
    if v1_has("blkio", "blkio.leaf_weight"):
        create_ok(rt, b, cid)
        assert hybrid.read("blkio", cgpath(cid), "blkio.leaf_weight") == "500"
        delete_leaves_nothing(rt, cid)
    else:
        create_fails(rt, b, cid, "linux.resources.blockIO.leafWeight", "no blkio.leaf_weight",
                     "Linux 5.0 removed")


def test_hugepage_limits_on_hybrid(rt, make_bundle, cid, hybrid):
    if not HUGE_2MB.exists():
        pytest.skip("no 2MB huge pages")
    b = with_resources(make_bundle, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MB}]})
    if (HOST / "hugetlb").is_dir():
        create_ok(rt, b, cid)
        assert hybrid.read("hugetlb", cgpath(cid), "hugetlb.2MB.limit_in_bytes") == str(4 * MB)
        delete_leaves_nothing(rt, cid)
    else:
        # runc: "cannot set hugetlb limit: container could not join or create cgroup"
        create_fails(rt, b, cid, "linux.resources.hugepageLimits[0]",
                     "hugetlb controller only in its cgroup v2 hierarchy", "pure cgroup v2 host")


@pytest.mark.parametrize("net,ctrl,field", [
    ({"classID": 1048577}, "net_cls", "network.classID"),
    ({"priorities": [{"name": "lo", "priority": 1}]}, "net_prio", "network.priorities[0]"),
])
def test_network(rt, make_bundle, cid, hybrid, net, ctrl, field):
    b = with_resources(make_bundle, {"network": net})
    if (HOST / ctrl).is_dir():
        create_ok(rt, b, cid)
        f = "net_cls.classid" if ctrl == "net_cls" else "net_prio.ifpriomap"
        assert ("1048577" if ctrl == "net_cls" else "lo 1") in hybrid.read(ctrl, cgpath(cid), f)
        delete_leaves_nothing(rt, cid)
    else:
        create_fails(rt, b, cid, f"linux.resources.{field}", f"the {ctrl} controller is not available")


def test_unified_on_hybrid(rt, make_bundle, cid, hybrid):
    # runc: "invalid configuration: cannot use unified on cgroup v1"
    b = with_resources(make_bundle, {"unified": {"cgroup.max.depth": "3"}})
    create_fails(rt, b, cid, 'linux.resources.unified["cgroup.max.depth"]', "needs a pure cgroup v2 host")


# --- the same verdicts as runc ---------------------------------------------------------------

def runc_accepts(bundle, tmp):
    root = tmp / "runc-root"
    name = "plx-parity"
    with open(tmp / "runc.err", "w+") as e:
        r = subprocess.run(["runc", "--root", str(root), "create", "--bundle", bundle, name],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=e, timeout=60)
    subprocess.run(["runc", "--root", str(root), "delete", "--force", name], capture_output=True, timeout=60)
    return r.returncode == 0


PARITY = {
    "memory": {"memory": {"limit": 64 * MB, "reservation": 32 * MB}},
    "pids": {"pids": {"limit": 10}},
    "cpu": {"cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0"}},
    "blkio-weight": {"blockIO": {"weight": 300}},
    "devices": {"devices": [{"allow": False, "access": "rwm"},
                            {"allow": True, "type": "c", "major": 10, "access": "rw"}]},
    "unified": {"unified": {"cgroup.max.depth": "3"}},
    "hugetlb": {"hugepageLimits": [{"pageSize": "2MB", "limit": 2 * MB}]},
    "net_cls": {"network": {"classID": 1}},
    "swap-below-limit": {"memory": {"limit": 64 * MB, "swap": 32 * MB}},
    "swappiness": {"memory": {"swappiness": 101}},
    "leaf-weight": {"blockIO": {"leafWeight": 300}},
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_same_verdict_as_runc(rt, make_bundle, cid, hybrid, tmp_path, case):
    if not shutil.which("runc"):
        pytest.skip("runc is not installed")
    b = with_resources(make_bundle, PARITY[case])
    ours = rt("create", "--bundle", b, cid).returncode == 0
    if ours:
        delete_leaves_nothing(rt, cid)
    assert ours == runc_accepts(b, tmp_path), f"runc and we disagree on {case}"
