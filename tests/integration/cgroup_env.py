"""Run the runtime under a chosen cgroup layout, and look at its cgroups from the host.

Two layouts:

    hybrid  the host as it is: v1 controllers under /sys/fs/cgroup/<controller>, the v2
            hierarchy at /sys/fs/cgroup/unified (Debian 11/12 with systemd's hybrid mode,
            and this test machine).
    v2      a pure cgroup v2 host (Proxmox VE 7+).  On a hybrid host it is emulated: every
            runtime command runs in a private mount namespace whose /sys/fs/cgroup is a
            cgroup2 mount, i.e. the host's one v2 hierarchy, the same that the host sees at
            /sys/fs/cgroup/unified.  liblxc (which reads /proc/self/mountinfo) and our code
            (which statfs()es /sys/fs/cgroup) both see a pure v2 host.  Controllers bound
            to a v1 hierarchy cannot be in the v2 one at the same time: on the emulated v2
            host they are simply missing, as they would be on a v2 host without them.

Every runtime command of a container must run under the same layout: its cgroup lives
in that layout's hierarchies.
"""
import os
import pathlib
import shutil
import subprocess

HOST = pathlib.Path("/sys/fs/cgroup")

# The namespace's /sys/fs/cgroup is replaced; the lazy umount takes the v1 mounts below it too.
_V2_SCRIPT = 'umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"'


def fs_type(path):
    """The file system type of path as stat(1) names it ('cgroup2fs', 'tmpfs'), or None."""
    r = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def host_layout():
    """'v2', 'hybrid', 'legacy' or None, like plx_cgroup_layout()."""
    top = fs_type(HOST)
    if top == "cgroup2fs":
        return "v2"
    if top != "tmpfs":
        return None
    return "hybrid" if fs_type(HOST / "unified") == "cgroup2fs" else "legacy"


class Layout:
    """How to run the runtime under one layout, and where its cgroups are seen from the host."""

    def __init__(self, name):
        self.name = name
        host = host_layout()
        self.unavailable = None
        if name == "hybrid" and host != "hybrid":
            self.unavailable = f"the host's cgroup layout is {host}, not hybrid"
        if name == "v2" and host not in ("v2", "hybrid"):
            self.unavailable = f"the host's cgroup layout is {host}: no cgroup v2 hierarchy to mount"
        if name == "v2" and host == "hybrid" and not shutil.which("unshare"):
            self.unavailable = "unshare(1) is missing (util-linux)"
        self.emulated = name == "v2" and host == "hybrid"
        # the v2 hierarchy as the host sees it
        self.v2_root = HOST / "unified" if host == "hybrid" else HOST

    def __repr__(self):
        return self.name

    def wrap(self, argv):
        """argv, run under this layout."""
        if not self.emulated:
            return list(argv)
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _V2_SCRIPT,
                "plx-cgroup2", *argv]

    def v2_controllers(self):
        """The controllers the v2 root offers (cgroup.controllers)."""
        try:
            return set((self.v2_root / "cgroup.controllers").read_text().split())
        except OSError:
            return set()

    def controller_dir(self, controller, cgpath):
        """The host directory of cgroup cgpath ('/a/b') that holds controller's files."""
        rel = cgpath.lstrip("/")
        if self.name == "v2":
            return self.v2_root / rel
        v1 = HOST / controller
        if v1.is_dir() and (v1 / "cgroup.procs").exists():
            return v1 / rel
        return self.v2_root / rel

    def read(self, controller, cgpath, name):
        """The content of a cgroup file of cgpath, stripped."""
        return (self.controller_dir(controller, cgpath) / name).read_text().strip()

    def procs_dir(self, cgpath):
        """A host directory whose cgroup.procs lists the container's processes."""
        return self.controller_dir("freezer" if self.name == "hybrid" else "", cgpath)

    def freeze(self, cgpath, frozen):
        """Freeze or thaw the cgroup from the host, with the file the runtime's code reads."""
        if self.name == "hybrid":
            (HOST / "freezer" / cgpath.lstrip("/") / "freezer.state").write_text(
                "FROZEN" if frozen else "THAWED")
        else:
            (self.v2_root / cgpath.lstrip("/") / "cgroup.freeze").write_text("1" if frozen else "0")


def hierarchies():
    """Every cgroup hierarchy mounted on the host (v1 ones and the v2 one)."""
    if host_layout() == "v2":
        return [HOST]
    return [h for h in sorted(HOST.iterdir())
            if h.is_dir() and not h.is_symlink() and (h / "cgroup.procs").exists()]


def left_behind(cgpath):
    """The host directories of cgpath that still exist, in any hierarchy."""
    rel = cgpath.lstrip("/")
    return [h / rel for h in hierarchies() if (h / rel).is_dir()]


def remove_tree(cgpath):
    """rmdir cgpath and every cgroup below it, in every hierarchy (test cleanup of parents
    the runtime made and leaves, as runc does).  Errors are ignored: a busy cgroup stays
    and left_behind() reports it."""
    rel = cgpath.lstrip("/")
    for h in hierarchies():
        top = h / rel
        if not top.is_dir():
            continue
        for dirpath, dirnames, _ in sorted(os.walk(top), key=lambda t: -t[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def subtree_snapshot(layout, cgpaths=("/", "/proxmox-lxcri")):
    """cgroup.subtree_control of the v2 cgroups given, to put back with
    subtree_restore(): liblxc enables a pure-v2 container's controllers in every ancestor,
    which on an emulated v2 host changes the host's own v2 hierarchy."""
    snap = {}
    for p in cgpaths:
        f = layout.v2_root / p.lstrip("/") / "cgroup.subtree_control"
        snap[f] = set(f.read_text().split()) if f.exists() else set()  # made later: made with none
    return snap


def subtree_restore(snap):
    """Disable what was enabled since subtree_snapshot(), deepest cgroup first; a controller
    still in use below stays (best effort)."""
    for f, before in sorted(snap.items(), key=lambda kv: -len(kv[0].parts)):
        try:
            if not f.exists():
                continue
            added = set(f.read_text().split()) - before
            if added:
                f.write_text(" ".join("-" + c for c in sorted(added)))
        except OSError:
            pass
