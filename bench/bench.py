#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Time the same command sequences under each OCI runtime available here.

    /usr/bin/python3 bench/bench.py [--iterations N] [--binary PATH] [case ...]

A case is a function named case_<name> in bench/cases/*.py.  It is called once per runtime
with a Context and returns plan(i) -> list of command lines: plan(i) itself runs untimed (it
may prepare files), then its command lines run one after the other and that whole sequence is
one timed sample.  Runtimes take turns sample by sample so that drift in the machine's load
spreads evenly.  Results: a table on stdout and bench/results/<case>.json.
"""
import argparse
import importlib.util
import json
import math
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
BUSYBOX = "/bin/busybox"


class Runtime:
    def __init__(self, name, path):
        self.name = name
        self.path = path
        self.missing = None  # why it is not here at all, or None
        self.unrunnable = None  # why it cannot run a container here, or None

    def version(self):
        try:
            out = subprocess.run([self.path, "--version"], capture_output=True, text=True, timeout=30).stdout
        except OSError as e:
            return str(e)
        return out.splitlines()[0] if out else ""


class CommandFailed(Exception):
    pass


def run_quiet(argv, **kw):
    """Run argv; raise CommandFailed with its last stderr line when it fails."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120, **kw)
    if p.returncode != 0:
        lines = (p.stderr or p.stdout).strip().splitlines()
        # name the subcommand, not the temporary paths around it
        sub = next((str(a) for a in argv[1:] if not str(a).startswith(("-", "/"))), "")
        raise CommandFailed(f"`{sub}` exited {p.returncode}: {lines[-1] if lines else 'no output'}")
    return p


def make_rootfs(path):
    """A busybox rootfs: the static binary and /bin links for every applet."""
    (path / "bin").mkdir(parents=True)
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        (path / d).mkdir()
    shutil.copy2(BUSYBOX, path / "bin" / "busybox")
    for applet in subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split():
        if applet != "busybox":
            (path / "bin" / applet).symlink_to("busybox")
    (path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (path / "etc" / "group").write_text("root:x:0:\n")


class Context:
    """What a case gets: its runtime, a private work directory and --root, and bundles."""

    def __init__(self, runtime, workdir, template):
        self.runtime = runtime
        self.workdir = workdir
        self.root = workdir / "root"
        self._template = template
        self._bundles = 0

    def cmd(self, *args):
        """A command line of this runtime, with its own --root."""
        return [self.runtime.path, "--root", str(self.root), *map(str, args)]

    def bundle(self, args):
        """A busybox bundle running args (the same config.json for every runtime)."""
        self._bundles += 1
        b = self.workdir / f"bundle{self._bundles}"
        b.mkdir()
        make_rootfs(b / "rootfs")
        config = json.loads(json.dumps(self._template))
        config["process"]["args"] = list(args)
        config["process"]["terminal"] = False
        # a version every runtime accepts (crun 1.8 refuses "1.2.0"); the fields are 1.0's
        config["ociVersion"] = "1.0.2"
        (b / "config.json").write_text(json.dumps(config, indent="\t"))
        return b

    def cleanup(self):
        """Force-delete whatever containers the case left, then drop the work directory."""
        if self.root.is_dir():
            for cid in sorted(os.listdir(self.root)):
                subprocess.run(self.cmd("delete", "--force", cid), capture_output=True, timeout=120)
        shutil.rmtree(self.workdir, ignore_errors=True)


def discover_cases():
    cases = {}
    for file in sorted((HERE / "cases").glob("*.py")):
        if file.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"bench_cases_{file.stem}", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in dir(module):
            if name.startswith("case_") and callable(getattr(module, name)):
                cases[name[len("case_"):]] = getattr(module, name)
    return cases


def spec_template(runtimes, tmp):
    """Our `spec` template (else runc's): one config for every runtime (ours runs unchanged
    under runc)."""
    for rt in sorted(runtimes, key=lambda r: r.name != "proxmox-lxcri"):
        d = tmp / f"template-{rt.name}"
        d.mkdir()
        try:
            run_quiet([rt.path, "spec", "--bundle", str(d)])
            return json.loads((d / "config.json").read_text())
        except (CommandFailed, OSError):
            continue
    raise SystemExit("no runtime could write a spec template")


def probe(rt, template, tmp):
    """Whether rt can run a container here: run /bin/true once; the reason when it cannot."""
    work = tmp / f"probe-{rt.name}"
    work.mkdir()
    ctx = Context(rt, work, template)
    try:
        bundle = ctx.bundle(["/bin/true"])
        run_quiet(ctx.cmd("run", "--bundle", bundle, f"bench-probe-{os.getpid()}"))
        return None
    except (CommandFailed, OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    finally:
        ctx.cleanup()


def find_runtimes(binary):
    ours = binary or os.environ.get("PLX_BINARY") or str(REPO / "build" / "src" / "cli" / "proxmox-lxcri")
    found = []
    for name, path in (("proxmox-lxcri", ours), ("runc", shutil.which("runc")), ("crun", shutil.which("crun"))):
        rt = Runtime(name, path)
        if not path or not os.access(path, os.X_OK):
            rt.missing = f"not installed ({path})" if path else "not installed"
        found.append(rt)
    return found


def percentile(sorted_samples, q):
    """Nearest-rank percentile."""
    return sorted_samples[max(0, math.ceil(q * len(sorted_samples)) - 1)]


def skip_reason(rt, fn):
    """Why rt sits out case fn, or None.  A case that runs no container (case_x.containers =
    False) also times a runtime that cannot run one here."""
    if rt.missing:
        return rt.missing
    if rt.unrunnable and getattr(fn, "containers", True):
        return f"not runnable here: {rt.unrunnable}"
    return None


def time_case(name, fn, runtimes, template, iterations, warmup, tmp):
    contexts, plans, samples, errors = {}, {}, {}, {}
    runtimes = [rt for rt in runtimes if not skip_reason(rt, fn)]
    for rt in runtimes:
        work = tmp / f"{name}-{rt.name}"
        work.mkdir()
        contexts[rt.name] = Context(rt, work, template)
        try:
            plans[rt.name] = fn(contexts[rt.name])
            samples[rt.name] = []
        except (CommandFailed, OSError) as e:
            errors[rt.name] = f"setup failed: {e}"

    for i in range(warmup + iterations):
        for rt in runtimes:
            if rt.name not in plans or rt.name in errors:
                continue
            try:
                steps = plans[rt.name](i)
                if callable(steps):
                    # a measuring case: the plan returns the sample itself (in the case's unit)
                    value = steps()
                else:
                    start = time.perf_counter()
                    for step in steps:
                        step() if callable(step) else run_quiet(step)
                    value = (time.perf_counter() - start) * 1000.0
            except (CommandFailed, OSError, subprocess.TimeoutExpired) as e:
                errors[rt.name] = str(e)
                continue
            if i >= warmup:
                samples[rt.name].append(value)
    for ctx in contexts.values():
        ctx.cleanup()
    return samples, errors


def report(name, fn, runtimes, samples, errors, iterations):
    result = {"case": name, "iterations": iterations, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "host": {"kernel": platform.release(), "machine": platform.machine(), "cpus": os.cpu_count()},
              "runtimes": {}}
    unit = getattr(fn, "unit", "ms")
    result["unit"] = unit
    stats = {}
    for rt in runtimes:
        entry = {"path": rt.path}
        if skip_reason(rt, fn):
            entry["skipped"] = skip_reason(rt, fn)
        elif rt.name in errors:
            entry["error"] = errors[rt.name]
        else:
            s = sorted(samples[rt.name])
            stats[rt.name] = {"median_ms": round(statistics.median(s), 3), "p90_ms": round(percentile(s, 0.9), 3)}
            entry.update(version=rt.version(), samples_ms=[round(x, 3) for x in samples[rt.name]],
                         **stats[rt.name])
        result["runtimes"][rt.name] = entry
    base = stats.get("runc", {}).get("median_ms")
    for rt_name, st in stats.items():
        result["runtimes"][rt_name]["ratio_to_runc"] = round(st["median_ms"] / base, 3) if base else None

    doc = (fn.__doc__ or "").strip().splitlines()
    print(f"\ncase {name}: {iterations} iterations{(' - ' + doc[0]) if doc else ''}")
    print(f"  {'runtime':<15} {'median':>10} {'p90':>10} {'vs runc':>8}")
    for rt in runtimes:
        entry = result["runtimes"][rt.name]
        if rt.name in stats:
            ratio = entry["ratio_to_runc"]
            print(f"  {rt.name:<15} {entry['median_ms']:>7.1f} {unit:<2} {entry['p90_ms']:>7.1f} {unit:<2} "
                  f"{(f'{ratio:.2f}x' if ratio else '-'):>8}")
        elif "skipped" in entry:
            print(f"  {rt.name}: {entry['skipped']}")
        else:
            print(f"  {rt.name}: failed: {entry['error']}")
    out = HERE / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  -> {out.relative_to(REPO)}")


def main():
    cases = discover_cases()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", metavar="case", help=f"cases to run (default: all of {', '.join(cases)})")
    ap.add_argument("--iterations", "-n", type=int, default=20, help="timed samples per runtime (default 20)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed samples first (default 1)")
    ap.add_argument("--binary", help="proxmox-lxcri to time (default $PLX_BINARY, else build/src/cli/proxmox-lxcri)")
    ap.add_argument("--runtimes", help="comma-separated subset of proxmox-lxcri,runc,crun")
    a = ap.parse_args()
    unknown = [c for c in a.cases if c not in cases]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)} (have: {', '.join(cases)})")
    if a.iterations < 1:
        ap.error("--iterations must be at least 1")

    runtimes = find_runtimes(a.binary)
    if a.runtimes:
        wanted = a.runtimes.split(",")
        runtimes = [rt for rt in runtimes if rt.name in wanted]
    with tempfile.TemporaryDirectory(prefix="plx-bench-") as t:
        tmp = pathlib.Path(t)
        installed = [rt for rt in runtimes if not rt.missing]
        if not installed:
            raise SystemExit("no runtime installed")
        template = spec_template(installed, tmp)
        for rt in installed:
            rt.unrunnable = probe(rt, template, tmp)
        for name in a.cases or list(cases):
            samples, errors = time_case(name, cases[name], installed, template, a.iterations, a.warmup, tmp)
            report(name, cases[name], runtimes, samples, errors, a.iterations)


if __name__ == "__main__":
    main()
