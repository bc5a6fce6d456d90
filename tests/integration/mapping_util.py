# SPDX-License-Identifier: Apache-2.0
"""The CLI as test_oci_mapping.py and test_hooks.py drive it."""
import json
import pathlib
import re
import subprocess
import time


class Runtime:
    """The CLI with the container's stdio in files: a container keeps create's stdout and
    stderr open, so pipes would never reach EOF."""

    def __init__(self, binary, root, tmp, name):
        self.binary, self.root, self.tmp = binary, pathlib.Path(root), pathlib.Path(tmp)
        self.name = re.sub(r"[^A-Za-z0-9.+-]+", "-", name)[:50].strip("-")
        self.n = 0

    def cid(self):
        self.n += 1
        return f"m-{self.name}-{self.n}"

    def __call__(self, *args, timeout=60, **kw):
        out = self.tmp / f"out.{time.monotonic_ns()}"
        err = self.tmp / f"err.{time.monotonic_ns()}"
        kw.setdefault("stdin", subprocess.DEVNULL)
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run([self.binary, "--root", str(self.root), *map(str, args)], stdout=o,
                               stderr=e, timeout=timeout, **kw)
        p.stdout, p.stderr = out.read_text(), err.read_text()
        return p

    def run(self, bundle, cid=None):
        return self("run", "--bundle", bundle, cid or self.cid())

    def create(self, bundle, cid=None, *flags):
        cid = cid or self.cid()
        r = self("create", "--bundle", bundle, *flags, cid)
        assert r.returncode == 0, r.stderr
        return cid

    def start(self, cid):
        r = self("start", cid)
        assert r.returncode == 0, r.stderr

    def state(self, cid):
        r = self("state", cid)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def delete(self, cid):
        r = self("delete", "--force", cid)
        assert r.returncode == 0, r.stderr
