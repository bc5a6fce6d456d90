# SPDX-License-Identifier: Apache-2.0
"""The lifecycle as containerd drives it, and the same work sequential, parallel, and at rest."""
import json
import os
import subprocess
import threading
import time


def _state(ctx, cid):
    r = subprocess.run(ctx.cmd("state", cid), capture_output=True, text=True, timeout=60)
    return json.loads(r.stdout) if r.returncode == 0 else None


def _wait_stopped(ctx, cid):
    def wait():
        # what a shim does: wait for the container process to exit; here by polling state
        for _ in range(10000):
            st = _state(ctx, cid)
            if st is None or st["status"] == "stopped":
                return
            time.sleep(0.001)
        raise TimeoutError(f"{cid} did not stop")
    return wait


def _create(ctx, bundle, cid):
    def create():
        # the container keeps create's stdio, as with containerd's FIFOs: give it /dev/null
        subprocess.run(ctx.cmd("create", "--bundle", bundle, cid), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
    return create


def case_create_start_delete(ctx):
    """create + start + wait + delete of /bin/true, one container at a time."""
    bundle = ctx.bundle(["/bin/true"])

    def plan(i):
        cid = f"csd-{os.getpid()}-{i}"
        return [_create(ctx, bundle, cid), ctx.cmd("start", cid), _wait_stopped(ctx, cid),
                ctx.cmd("delete", cid)]
    return plan


def case_sequential50(ctx):
    """50 lifecycles (run /bin/true, delete) one after the other: one sample is all 50."""
    bundle = ctx.bundle(["/bin/true"])

    def plan(i):
        steps = []
        for k in range(50):
            cid = f"seq-{os.getpid()}-{i}-{k}"
            steps += [ctx.cmd("run", "--keep", "--bundle", bundle, cid), ctx.cmd("delete", cid)]
        return steps
    return plan


def case_parallel2(ctx):
    """2 lifecycles at once, 10 each (run /bin/true, delete): one sample is the wall time of both."""
    bundle = ctx.bundle(["/bin/true"])

    def worker(i, w, errors):
        try:
            for k in range(10):
                cid = f"par-{os.getpid()}-{i}-{w}-{k}"
                for argv in (ctx.cmd("run", "--keep", "--bundle", bundle, cid), ctx.cmd("delete", cid)):
                    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=120, check=True)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    def plan(i):
        def both():
            errors = []
            threads = [threading.Thread(target=worker, args=(i, w, errors)) for w in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise OSError(str(errors[0]))
        return [both]
    return plan


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def case_resident_memory(ctx):
    """Resident memory (kB) of what a created container keeps: its waiting init, and any runtime
    process left on the host (neither runtime leaves one)."""
    bundle = ctx.bundle(["/bin/true"])

    def plan(i):
        cid = f"mem-{os.getpid()}-{i}"

        def measure():
            before = set(_runtime_pids(ctx))
            _create(ctx, bundle, cid)()
            st = _state(ctx, cid)
            kept = [p for p in _runtime_pids(ctx) if p not in before]
            total = _rss_kb(st["pid"]) + sum(_rss_kb(p) for p in kept if p != st["pid"])
            subprocess.run(ctx.cmd("delete", "--force", cid), capture_output=True, timeout=120)
            return float(total)
        return measure
    return plan


case_resident_memory.unit = "kB"


def _runtime_pids(ctx):
    """Host processes whose executable is this runtime's binary."""
    exe = os.path.realpath(ctx.runtime.path)
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.path.realpath(f"/proc/{d}/exe") == exe:
                    pids.append(int(d))
            except OSError:
                pass
    return pids
