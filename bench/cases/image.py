# SPDX-License-Identifier: Apache-2.0
"""image pull from a local docker-registry (tests/integration/registry_env.py) against skopeo and podman.

Only proxmox-lxcri has an `image pull`: the other runtimes' rows report it as not applicable.
Each sample pulls the three-layer busybox image into an empty store; in the same iteration
`skopeo copy docker://… oci:DIR` (what umoci would unpack from) and `podman pull` (into a
fresh --root) pull the same image, and bench/results/image_pull_tools.json gets the medians
and the ratios to ours.
"""
import atexit
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "integration"))

_env = {}
_tools = {"proxmox-lxcri image pull": [], "skopeo copy": [], "podman pull": []}


def _registry():
    if "env" not in _env:
        import registry_env  # noqa: E402  (the test fixtures, reused)
        _env["env"] = registry_env.RegistryEnv()
        atexit.register(_finish)
    return _env["env"]


def _timed(argv, **kw):
    start = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)
    if p.returncode != 0:
        raise sys.modules["__main__"].CommandFailed(f"{argv[0]} failed: {p.stderr.strip()[-300:]}")
    return (time.perf_counter() - start) * 1000.0


def _finish():
    ours = _tools["proxmox-lxcri image pull"]
    result = {"unit": "ms", "tools": {}}
    for name, s in _tools.items():
        if s:
            result["tools"][name] = {"median_ms": round(statistics.median(s), 1), "samples": len(s)}
    if ours:
        base = statistics.median(ours)
        for name, entry in result["tools"].items():
            entry["ratio_to_ours"] = round(entry["median_ms"] / base, 2)
    out = HERE.parent / "results" / "image_pull_tools.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\nimage pull, same image, same registry (median ms, ratio to proxmox-lxcri):")
    for name, entry in result["tools"].items():
        print(f"  {name:<28} {entry['median_ms']:>8.1f} ms  {entry.get('ratio_to_ours', 0):.2f}x")
    _env["env"].close()


def case_image_pull(ctx):
    """pull a 3-layer image from a local registry into an empty store (see image_pull_tools.json)."""
    CommandFailed = sys.modules["__main__"].CommandFailed  # bench.py runs as __main__
    if ctx.runtime.name != "proxmox-lxcri":
        raise CommandFailed("not applicable: image pull is proxmox-lxcri's own command")
    env = _registry()
    ref = f"{env.plain.host}/test/busybox:v1"

    def plan(i):
        work = ctx.workdir / f"pull-{i}"
        work.mkdir()
        cfg = work / "config.json"
        cfg.write_text(json.dumps({"images": {"store": str(work / "store")}}))

        def measure():
            ours = _timed(ctx.cmd("image", "pull", "-q", ref), env={"PROXMOX_LXCRI_CONFIG": str(cfg),
                                                                   "PATH": "/usr/bin:/bin"})
            _tools["proxmox-lxcri image pull"].append(ours)
            _tools["skopeo copy"].append(_timed(["skopeo", "copy", "-q", "--src-tls-verify=false",
                                                 f"docker://{ref}", f"oci:{work / 'skopeo'}:v1"]))
            if shutil.which("podman"):
                proot = work / "podman"
                # podman refuses a runroot path longer than 50 characters
                prun = tempfile.mkdtemp(prefix="plx-pr-", dir="/tmp")
                try:
                    _tools["podman pull"].append(_timed(["podman", "--root", str(proot), "--runroot", prun,
                                                         "pull", "-q", "--tls-verify=false", ref]))
                finally:
                    subprocess.run(["podman", "--root", str(proot), "--runroot", prun, "system", "reset", "-f"],
                                   capture_output=True, timeout=120)
                    shutil.rmtree(prun, ignore_errors=True)
            return ours
        return measure

    return plan


case_image_pull.containers = False
