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
import os
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


# ---- pull + unpack of a realistic multi-layer image (issue 6 item 9) ----

_big = {}
_unpack_tools = {"proxmox-lxcri image pull + bundle": [], "skopeo copy + umoci unpack": [], "podman pull": []}


def _tar_gz(members, path):
    """A gzip layer of host trees: members {name in the image: host path}; -> (blob, diff_id)."""
    import hashlib
    import io
    import tarfile
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, host in members.items():
            t.add(host, arcname=name)
    data = raw.getvalue()
    blob = subprocess.run(["gzip", "-6", "-n", "-c"], input=data, capture_output=True, check=True).stdout
    return blob, "sha256:" + hashlib.sha256(data).hexdigest()


def _layers_of(spec):
    """spec: a list of {name: host path} dicts, one per layer; busybox below them."""
    bb = tempfile.mkdtemp(prefix="plx-bb-")
    atexit.register(shutil.rmtree, bb, True)
    os.makedirs(os.path.join(bb, "bin"))
    shutil.copy2("/bin/busybox", os.path.join(bb, "bin", "busybox"))
    os.symlink("busybox", os.path.join(bb, "bin", "sh"))
    os.symlink("busybox", os.path.join(bb, "bin", "true"))
    return [_tar_gz({"bin": os.path.join(bb, "bin")}, None)] + [_tar_gz(m, None) for m in spec]


def _layout(path, layers, tag):
    import registry_env
    lay = registry_env.Layout(path)
    lay.name(lay.image(layers), tag)
    return path


def _noise_dir(mb):
    d = tempfile.mkdtemp(prefix="plx-noise-")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "noise.bin"), "wb") as f:
        f.write(os.urandom(mb << 20))
    return d


def _big_image():
    """busybox + python3.11's stdlib + /usr/include: 3 gzip layers, ~45 MB compressed, ~190 MB unpacked."""
    if "ref" not in _big:
        env = _registry()
        top = tempfile.mkdtemp(prefix="plx-bigimg-")
        atexit.register(shutil.rmtree, top, True)
        layers = _layers_of([{"usr/lib/python3.11": "/usr/lib/python3.11"}, {"usr/include": "/usr/include"}])
        lay = _layout(os.path.join(top, "layout"), layers, "v1")
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{lay}:v1",
                        f"docker://{env.plain.host}/bench/big:v1"], check=True, capture_output=True, timeout=600)
        _big["ref"] = f"{env.plain.host}/bench/big:v1"
        _big["compressed"] = sum(len(b) for b, _ in layers)
        atexit.register(_finish_unpack)
    return _big["ref"]



def _finish_unpack():
    result = {"unit": "ms", "image": {"ref": _big.get("ref"), "layers": 3,
                                      "compressed_bytes": _big.get("compressed")}, "tools": {}}
    for name, s in _unpack_tools.items():
        if s:
            result["tools"][name] = {"median_ms": round(statistics.median(s), 1), "min_ms": round(min(s), 1),
                                     "samples": len(s)}
    ours = _unpack_tools["proxmox-lxcri image pull + bundle"]
    if ours:
        base = statistics.median(ours)
        for entry in result["tools"].values():
            entry["ratio_to_ours"] = round(entry["median_ms"] / base, 2)
    out = HERE.parent / "results" / "image_pull_unpack_tools.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\nimage pull + unpack, 3 layers, same registry (median ms, ratio to proxmox-lxcri):")
    for name, entry in result["tools"].items():
        print(f"  {name:<36} {entry['median_ms']:>8.1f} ms  {entry.get('ratio_to_ours', 0):.2f}x")


def case_image_pull_unpack(ctx):
    """pull + unpack a 3-layer ~45 MB image vs skopeo copy + umoci unpack and podman pull (image_pull_unpack_tools.json)."""
    CommandFailed = sys.modules["__main__"].CommandFailed
    if ctx.runtime.name != "proxmox-lxcri":
        raise CommandFailed("not applicable: image pull is proxmox-lxcri's own command")
    ref = _big_image()

    def plan(i):
        work = ctx.workdir / f"pu-{i}"
        work.mkdir()
        cfg = work / "config.json"
        cfg.write_text(json.dumps({"images": {"store": str(work / "store")}}))
        env = {"PROXMOX_LXCRI_CONFIG": str(cfg), "PATH": "/usr/bin:/bin"}

        def measure():
            try:
                ours = _timed(ctx.cmd("image", "pull", "-q", ref), env=env)
                ours += _timed(ctx.cmd("image", "bundle", ref, work / "bundle"), env=env)
                theirs = _timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                                 f"oci:{work / 'skopeo'}:v1"])
                theirs += _timed(["umoci", "unpack", "--image", f"{work / 'skopeo'}:v1", str(work / "umoci")])
                pod = None
                if shutil.which("podman"):
                    proot = work / "podman"
                    prun = tempfile.mkdtemp(prefix="plx-pr-", dir="/tmp")
                    try:
                        pod = _timed(["podman", "--root", str(proot), "--runroot", prun, "pull", "-q",
                                      "--tls-verify=false", ref])
                    finally:
                        subprocess.run(["podman", "--root", str(proot), "--runroot", prun, "system", "reset",
                                        "-f"], capture_output=True, timeout=300)
                        shutil.rmtree(prun, ignore_errors=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if i >= 1:  # bench.py's warmup sample is not kept
                _unpack_tools["proxmox-lxcri image pull + bundle"].append(ours)
                _unpack_tools["skopeo copy + umoci unpack"].append(theirs)
                if pod is not None:
                    _unpack_tools["podman pull"].append(pod)
            return ours
        return measure

    return plan


case_image_pull_unpack.containers = False


# ---- create from an image on zfs/btrfs (layer store) and dir (layer directories + overlay): flat in image size ----

_create = {"rows": {}}


def _storage_env(driver):
    """A 1.5 GiB zfs-fuse pool or loop btrfs (storage_env.py), or a directory, kept for the whole run."""
    import contextlib
    import storage_env
    if driver == "dir" and driver not in _create:
        # a plain directory on the host's disk: layer directories under overlayfs
        _create[driver] = tempfile.mkdtemp(prefix="plx-bench-dir-", dir="/var/tmp")
        atexit.register(shutil.rmtree, _create[driver], True)
    if driver not in _create:
        stack = contextlib.ExitStack()
        maker = storage_env.zfs_pool if driver == "zfs" else storage_env.loop_btrfs
        _create[driver] = stack.enter_context(maker(size_mb=1536))
        atexit.register(stack.close)
    return _create[driver]


def _sized_layouts():
    """small: busybox + 8 MB (~10 MB); large: + python3.11 + /usr/include + 100 MB (~300 MB unpacked)."""
    if "layouts" not in _create:
        top = tempfile.mkdtemp(prefix="plx-sized-")
        atexit.register(shutil.rmtree, top, True)
        small = _layout(os.path.join(top, "small"), _layers_of([{"noise": _noise_dir(8)}]), "1")
        large = _layout(os.path.join(top, "large"), _layers_of([
            {"usr/lib/python3.11": "/usr/lib/python3.11"}, {"usr/include": "/usr/include"},
            {"noise": _noise_dir(100)}]), "1")
        _create["layouts"] = {"small": small, "large": large}
        atexit.register(_finish_create)
    return _create["layouts"]


def _finish_create():
    rows = {k: {"first_create_ms": round(v["first"], 1),
                "create_median_ms": round(statistics.median(v["s"]), 1) if v["s"] else None,
                "create_min_ms": round(min(v["s"]), 1) if v["s"] else None, "samples": len(v["s"])}
            for k, v in _create["rows"].items()}
    out = HERE.parent / "results" / "image_create_layers.json"
    # one driver per run is usual: keep the other drivers' rows
    kept = json.loads(out.read_text()).get("rows", {}) if out.exists() else {}
    kept.update(rows)
    out.write_text(json.dumps({"unit": "ms", "what": "create --image (+ untimed delete); first = layers unpacked",
                               "rows": kept}, indent=2) + "\n")
    print("\ncreate --image on the layer store (ms):")
    for k, v in rows.items():
        print(f"  {k:<14} first {v['first_create_ms']:>8.1f}  then median {v['create_median_ms']}  "
              f"min {v['create_min_ms']}")


def _timed_create(argv, env):
    """create leaves the container's init behind: it must not hold a pipe of ours."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=600)
        if p.returncode != 0:
            err.seek(0)
            raise sys.modules["__main__"].CommandFailed(f"create failed: {err.read().strip()[-300:]}")
    return (time.perf_counter() - start) * 1000.0


def _case_create(driver):
    def case(ctx):
        CommandFailed = sys.modules["__main__"].CommandFailed
        if ctx.runtime.name != "proxmox-lxcri":
            raise CommandFailed("not applicable: create --image is proxmox-lxcri's own")
        base = _storage_env(driver)
        layouts = _sized_layouts()
        cfg = ctx.workdir / "config.json"
        key = "parent" if driver == "zfs" else "path"
        cfg.write_text(json.dumps({"images": {"store": str(ctx.workdir / "store")},
                                   "storage": {"driver": driver, driver: {key: base}}}))
        env = {"PROXMOX_LXCRI_CONFIG": str(cfg), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        for size, lay in layouts.items():
            subprocess.run(ctx.cmd("image", "import", lay, "--name", f"localhost/bench/{size}:1"), env=env,
                           check=True, capture_output=True, timeout=600)
            cid = f"first-{size}"
            first = _timed_create(ctx.cmd("create", "--image", f"localhost/bench/{size}:1", cid, "--", "true"),
                                  env)
            subprocess.run(ctx.cmd("delete", "--force", cid), env=env, capture_output=True, timeout=120)
            _create["rows"][f"{driver}/{size}"] = {"first": first, "s": []}

        def plan(i):
            def measure():
                total = 0.0
                for size in layouts:
                    cid = f"c{i}-{size}"
                    t = _timed_create(ctx.cmd("create", "--image", f"localhost/bench/{size}:1", cid, "--", "true"),
                                      env)
                    subprocess.run(ctx.cmd("delete", "--force", cid), env=env, capture_output=True, timeout=120)
                    if i >= 1:
                        _create["rows"][f"{driver}/{size}"]["s"].append(t)
                    total += t
                return total
            return measure

        def cleanup_layers():
            for size in layouts:
                subprocess.run(ctx.cmd("image", "rm", f"localhost/bench/{size}:1"), env=env, capture_output=True,
                               timeout=300)
        atexit.register(cleanup_layers)
        return plan
    case.__doc__ = f"create --image on {driver} for a ~10 MB and a ~300 MB image (image_create_layers.json)"
    case.containers = False
    return case


case_image_create_zfs = _case_create("zfs")
case_image_create_btrfs = _case_create("btrfs")
case_image_create_dir = _case_create("dir")
