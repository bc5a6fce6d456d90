# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the client suites (test_containerd.py, test_podman.py): the busybox OCI image,
a private containerd daemon, a private podman store, the snippets of docs/clients.md, a pty runner,
and the teardown that leaves the machine as it was.

    ensure_tools(*names)   installs `scripts/install-deps.sh clients` when a tool is missing
    doc_snippet(name, binary)
                           the code block after `<!-- snippet: NAME -->` in docs/clients.md, with
                           the documented binary path replaced by `binary`
    build_image(workdir)   an OCI layout with the tags `latest` (cmd /bin/sh) and `pause` (a long
                           sleep, the CRI sandbox image), and the same as an OCI archive tar
    Containerd(top, binary, image)
                           a containerd with its config, socket, root and state under `top`
    Podman(top, binary, image)
                           podman with its store, run root and tmp dir under `top`
    run_in_pty(argv)       runs argv with a pty as its terminal: (exit status, output)
"""
import contextlib
import errno
import fcntl
import os
import pathlib
import pty
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import termios
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "clients.md"
DOC_BINARY = "/usr/local/bin/proxmox-lxcri"  # where `meson install` puts it; what the docs name
IMAGE_NAME = "localhost/plx/busybox"
PAUSE_SECONDS = "2147483647"


class ClientError(AssertionError):
    """A client command failed: its command line, exit status and output."""


def run(argv, timeout=60, check=True, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("capture_output", True)
    p = subprocess.run([str(a) for a in argv], text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise ClientError(f"{' '.join(map(str, argv))} exited {p.returncode}\n"
                          f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def ensure_tools(*names):
    """Install the `clients` group when one of names is missing (CI's `make deps` has already)."""
    if all(shutil.which(n) for n in names):
        return
    run([REPO / "scripts" / "install-deps.sh", "clients"], timeout=600)
    missing = [n for n in names if not shutil.which(n)]
    if missing:
        raise ClientError(f"still missing after scripts/install-deps.sh clients: {', '.join(missing)}")


def doc_snippet(name, binary=None):
    text = DOCS.read_text()
    m = re.search(r"<!-- snippet: " + re.escape(name) + r" -->\s*```[\w-]*\n(.*?)```", text, re.S)
    if not m:
        raise ClientError(f"{DOCS}: no snippet '{name}'")
    body = m.group(1)
    return body.replace(DOC_BINARY, str(binary)) if binary else body


# --- image ------------------------------------------------------------------------------------

class OciImage:
    def __init__(self, layout, archive):
        self.layout = layout  # OCI image layout directory
        self.archive = archive  # the same as a tar (what `ctr image import` takes)


def build_image(workdir):
    """Debian's static busybox as an OCI image, made with umoci: one layer, two tags."""
    workdir = pathlib.Path(workdir)
    rootfs, layout = workdir / "rootfs", workdir / "layout"
    run([REPO / "scripts" / "make-busybox-rootfs.sh", rootfs])
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", f"{layout}:latest"])
    run(["umoci", "insert", "--image", f"{layout}:latest", rootfs, "/"])
    env = ["--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    run(["umoci", "config", "--image", f"{layout}:latest", *env, "--config.workingdir", "/",
         "--config.cmd", "/bin/sh"])
    # the CRI sandbox ("pause") container: PID 1 that only waits
    run(["umoci", "config", "--image", f"{layout}:latest", "--tag", "pause", "--clear", "config.cmd",
         "--config.cmd", "/bin/sleep", "--config.cmd", PAUSE_SECONDS])
    run(["umoci", "gc", "--layout", layout])
    shutil.rmtree(rootfs)
    archive = workdir / "busybox-oci.tar"
    run(["tar", "-C", layout, "-cf", archive, "."])
    return OciImage(layout, archive)


# --- processes, mounts ------------------------------------------------------------------------

def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def pids_whose_cmdline(pred):
    """PIDs of processes whose argv satisfies pred (for processes our daemons started)."""
    return [int(d) for d in os.listdir("/proc") if d.isdigit() and pred(_cmdline(d))]


def kill_pids(pids, sig=signal.SIGKILL, wait=5.0):
    """Signal pids and wait until they are gone (their sockets with them)."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    wait_for(lambda: not any(pid_alive(p) for p in pids), wait)


def _unescape(path):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def mounts_under(top):
    """Mount points at or below top, deepest first."""
    top = str(top).rstrip("/")
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = _unescape(line.split()[4])
            if mp == top or mp.startswith(top + "/"):
                found.append(mp)
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def unmount_under(top):
    for mp in mounts_under(top):
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)


def stop_process(proc, timeout=10):
    """SIGTERM a daemon we started, then SIGKILL when it lingers; returns its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


def force_delete(binary, root, ids=None):
    """Force-delete containers of our runtime left under root (all, or only ids)."""
    if not os.path.isdir(root):
        return
    for cid in ids if ids is not None else sorted(os.listdir(root)):
        if os.path.isdir(os.path.join(root, cid)):
            subprocess.run([str(binary), "--root", str(root), "delete", "--force", cid],
                           capture_output=True, timeout=60)


def pid_alive(pid):
    """pid runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_for(pred, timeout=20.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def lacks_cap_sys_resource():
    with open("/proc/self/status") as f:
        eff = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    return not eff & (1 << 24)  # CAP_SYS_RESOURCE


# containerd 1.6 puts shim sockets under /run/containerd/s whatever its config says; a shim
# that was killed leaves its socket there
SHIM_RUN_DIRS = ("/run/containerd", "/run/containerd/s")
# conmon's console sockets for `exec -t` (left there when the runtime fails)
CONMON_TMP_GLOB = ("/tmp", "conmon-term.")


def _entries(dirs):
    """Every path in dirs (and the dirs themselves) that exists now."""
    found = set()
    for d in dirs:
        if os.path.isdir(d):
            found.add(d)
            found.update(os.path.join(d, e) for e in os.listdir(d))
    return found


def _listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def remove_new_entries(dirs, before):
    """Remove what appeared in dirs since `before`: sockets nobody listens on, then the dirs
    themselves when they are new and empty (deepest first)."""
    now = _entries(dirs) - set(before)
    for p in sorted(now, key=lambda x: x.count("/"), reverse=True):
        try:
            if stat.S_ISSOCK(os.lstat(p).st_mode) and not _listening(p):
                os.unlink(p)
            elif os.path.isdir(p) and not os.path.islink(p) and p in dirs:
                os.rmdir(p)
        except OSError:
            pass  # in use or not empty: not ours to force


# --- pty --------------------------------------------------------------------------------------

def run_in_pty(argv, timeout=60, rows=40, cols=100, send=None, env=None):
    """Run argv on a new pty (rows x cols) as its controlling terminal, as from a shell.

    send: bytes written to the terminal once the program produced its first output.
    Returns (exit status as a shell reports it, everything the program wrote)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], [str(a) for a in argv], env if env is not None else os.environ)
        finally:
            os._exit(127)
    out = bytearray()
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError as e:
                if e.errno == errno.EIO:  # the other side closed: the program is gone
                    break
                raise
            if not chunk:
                break
            out += chunk
            if send is not None:
                os.write(fd, send)
                send = None
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise ClientError(f"{' '.join(map(str, argv))}: no end after {timeout} s; output {bytes(out)!r}")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    return (128 - code if code < 0 else code), bytes(out)


def wait_size(rows, cols):
    """Shell code printing the tty and then its size once it is rows x cols (or after 5 s): clients
    resize the pty only after the process started, so the size may come a moment later."""
    return (f"tty; i=0; while [ \"$(stty size 2>/dev/null)\" != '{rows} {cols}' ] && [ $i -lt 50 ]; "
            f"do sleep 0.1; i=$((i+1)); done; stty size; ")


# --- containerd -------------------------------------------------------------------------------

class Containerd:
    """containerd 1.6 with everything under top: config, socket, root, state, the runtime's --root.

    The CRI plugin's runtimes come from the docs snippet `containerd-config`; `ctr` does not read
    them (in containerd 1.6 only the CRI plugin does), so ctr commands name the runtime with
    --runc-binary and --runc-root, as docs/clients.md shows."""

    def __init__(self, top, binary, image):
        # ctr puts a container in the cgroup /<namespace>/<id>: one namespace per daemon, so that
        # two runs of a suite at once (or a run and a leftover) never share a cgroup
        self.namespace = f"plx-test-{os.getpid()}"
        self.top = pathlib.Path(top)
        self.binary = os.path.abspath(binary)  # clients run it from other directories
        self.image = image
        self.sock = self.top / "containerd.sock"
        self.runtime_root = self.top / "runtime-root"  # our --root, for ctr and for the CRI
        self.fifo_dir = self.top / "fifo"
        self.config = self.top / "config.toml"
        self.log = self.top / "containerd.log"
        self.proc = None
        self._run_before = set()
        self.cri_logs = self.top / "pod-logs"
        self.sandbox_image = f"{IMAGE_NAME}:pause"

    def config_text(self):
        snippet = doc_snippet("containerd-config", self.binary)
        # the snippet is a whole file (version = 2 first); the daemon's own paths come first
        snippet = re.sub(r"^version\s*=\s*2\s*$", "", snippet, count=1, flags=re.M)
        # our runtime keeps its state under top too: one more option beside BinaryName
        snippet, n = re.subn(r"^(\s*)(BinaryName\s*=.*)$",
                             lambda m: f'{m.group(1)}{m.group(2)}\n{m.group(1)}Root = "{self.runtime_root}"',
                             snippet, count=1, flags=re.M)
        if n != 1:
            raise ClientError(f"{DOCS}: snippet containerd-config sets no BinaryName")
        t = self.top
        return f"""version = 2
root = "{t}/root"
state = "{t}/state"
plugin_dir = ""
disabled_plugins = ["io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{self.sock}"

[ttrpc]
  address = "{self.sock}.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{t}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{self.sandbox_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # this machine's root lacks CAP_SYS_RESOURCE: no runtime can set the sandbox's oom_score_adj -998
  restrict_oom_score_adj = {'true' if lacks_cap_sys_resource() else 'false'}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{t}/cni/bin"
    conf_dir = "{t}/cni/net.d"
{snippet}"""

    def start(self):
        self._run_before = _entries(SHIM_RUN_DIRS)
        self.top.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self.config_text())
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["containerd", "--config", str(self.config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        def up():
            return self.sock.exists() and self.ctr("version", check=False, timeout=10).returncode == 0
        ok = wait_for(lambda: self.proc.poll() is not None or up(), 30)
        if not ok or self.proc.poll() is not None:
            raise ClientError(f"containerd did not come up; its log:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def ctr(self, *args, namespace=None, timeout=60, check=True, **kw):
        return run(["ctr", "--address", self.sock, "--namespace", namespace or self.namespace, *args],
                   timeout=timeout, check=check, **kw)

    def state_dir(self, cid, namespace=None):
        """Our --root for a container is Root/<namespace> (the shim adds the namespace)."""
        return self.runtime_root / (namespace or self.namespace) / cid

    def runtime_flags(self):
        """`ctr run` flags that select our runtime (options.BinaryName and options.Root)."""
        return ["--runc-binary", self.binary, "--runc-root", str(self.runtime_root),
                "--fifo-dir", str(self.fifo_dir)]

    def import_image(self, namespace=None):
        self.ctr("image", "import", "--base-name", IMAGE_NAME, self.image.archive, namespace=namespace,
                 timeout=120)

    def _ids(self, namespace, *what):
        p = self.ctr(*what, "ls", "-q", namespace=namespace, check=False)
        return p.stdout.split() if p.returncode == 0 else []

    def cleanup(self):
        """Kill and delete every task, container and image in our namespaces, stop the daemon and
        whatever shims it left, unmount and force-delete what is left under top."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                ns_p = self.ctr("namespaces", "ls", "-q", check=False)
                for ns in ns_p.stdout.split() if ns_p.returncode == 0 else []:
                    for task in self._ids(ns, "task"):
                        self.ctr("task", "kill", "-s", "SIGKILL", task, namespace=ns, check=False)
                        self.ctr("task", "delete", "--force", task, namespace=ns, check=False)
                    for c in self._ids(ns, "container"):
                        self.ctr("container", "rm", c, namespace=ns, check=False)
                    imgs = self._ids(ns, "image")
                    if imgs:
                        self.ctr("image", "rm", *imgs, namespace=ns, check=False)
        finally:
            if self.proc is not None:
                stop_process(self.proc)
            sock = str(self.sock)
            kill_pids(pids_whose_cmdline(lambda a: bool(a) and "containerd-shim" in a[0] and sock in a))
            for ns in os.listdir(self.runtime_root) if self.runtime_root.is_dir() else []:
                force_delete(self.binary, self.runtime_root / ns)
            unmount_under(self.top)
            remove_new_entries(SHIM_RUN_DIRS, self._run_before)


# --- podman -----------------------------------------------------------------------------------

class Podman:
    """podman 4.3 with its store, run root and tmp dir under top, our runtime, cgroupfs, vfs and a
    file events log.  The runtime keeps its own default --root (/run/proxmox-lxcri) as it does
    under a real podman: podman passes --runtime-flag to the runtime but not to the cleanup
    process conmon starts, so a private runtime root would split the container's state."""

    # --network none: podman's default bridge network adds a host bridge, iptables rules and
    # /var/lib/cni state that outlive the test; the runtime gets the same netns either way.
    # The ulimits: this machine's root lacks CAP_SYS_RESOURCE, so podman's default rlimits
    # (nofile 1048576) cannot be set by any runtime (runc fails the same way).
    RUN_FLAGS = ["--pull", "never", "--network", "none",
                 "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    RUNTIME_ROOT = "/run/proxmox-lxcri"
    # what podman makes outside its --root whatever the flags say: its lock segment, the image
    # library's blob cache (root's is always under /var/lib/containers), our runtime's default
    # --root; removed when new (directories only when empty), deepest first
    HOST_PATHS = ("/dev/shm/libpod_lock", "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
                  "/var/lib/containers/cache", "/var/lib/containers", RUNTIME_ROOT)

    def __init__(self, top, binary, image):
        self.top = pathlib.Path(top)
        self.binary = os.path.abspath(binary)  # clients run it from other directories
        self.image = image
        self.conf = self.top / "containers.conf"
        self.seen = set()  # full IDs of containers made, for the final force-delete
        self._host_paths_before = {p for p in self.HOST_PATHS if os.path.lexists(p)}
        self._tmp_before = set(self._conmon_sockets())

    def global_flags(self, runtime=True):
        t = self.top
        flags = ["--root", t / "storage", "--runroot", t / "run", "--tmpdir", t / "tmp",
                 "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
        return flags + (["--runtime", self.binary] if runtime else [])

    def env(self):
        # CONTAINERS_CONF: only our file (the docs snippet), not the machine's containers.conf
        return dict(os.environ, CONTAINERS_CONF=str(self.conf))

    def __call__(self, *args, runtime=True, timeout=60, check=True, **kw):
        return run(["podman", *self.global_flags(runtime), *args], timeout=timeout, check=check,
                   env=self.env(), **kw)

    def argv(self, *args, runtime=True):
        return ["podman", *map(str, self.global_flags(runtime)), *map(str, args)]

    def setup(self):
        self.top.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(doc_snippet("containers-conf", self.binary))
        image_id = self("pull", "--quiet", f"oci:{self.image.layout}:latest", timeout=120).stdout.split()[-1]
        # pulled from a layout it is named after the directory: name it as containerd's
        self("untag", image_id)
        self("tag", image_id, f"{IMAGE_NAME}:latest")

    def run_detached(self, *args, name):
        """`podman run -d --name name ...`: the container's full ID."""
        cid = self("run", "-d", "--name", name, *self.RUN_FLAGS, *args).stdout.strip()
        self.seen.add(cid)
        return cid

    def inspect(self, name, fmt):
        return self("inspect", "--format", fmt, name).stdout.strip()

    def cleanup(self):
        try:
            ids = self("ps", "-a", "-q", "--no-trunc", check=False).stdout.split()
            self.seen.update(ids)
            self("rm", "--all", "--force", "--time", "0", check=False, timeout=120)
            self("rmi", "--all", "--force", check=False, timeout=120)
        finally:
            top = str(self.top)
            kill_pids(pids_whose_cmdline(lambda a: bool(a) and a[0].endswith("conmon") and
                                         any(top in x for x in a)))
            force_delete(self.binary, self.RUNTIME_ROOT, sorted(self.seen))
            unmount_under(self.top)
            for p in self.HOST_PATHS:
                if p not in self._host_paths_before and os.path.lexists(p):
                    try:
                        os.rmdir(p) if os.path.isdir(p) else os.unlink(p)
                    except OSError:
                        pass  # not empty: something else uses it now
            for p in set(self._conmon_sockets()) - self._tmp_before:
                if not _listening(p):
                    os.unlink(p)

    @staticmethod
    def _conmon_sockets():
        d, prefix = CONMON_TMP_GLOB
        return [os.path.join(d, e) for e in os.listdir(d) if e.startswith(prefix)]


def mkdtemp_hex(prefix):
    """tempfile.mkdtemp with only hex digits after prefix: podman parses oci:PATH as an image name, where a
    path component ending in '_' (which mkdtemp may pick) is an invalid reference."""
    while True:
        path = os.path.join(tempfile.gettempdir(), prefix + os.urandom(4).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


@contextlib.contextmanager
def client_in_tmp(prefix, make, setup):
    """A temporary directory with the test image built in it and a client made there by make(top, image),
    then setup(client); the client is cleaned up and the directory removed afterwards, even when setup
    fails."""
    top = mkdtemp_hex(prefix)
    client = None
    try:
        image = build_image(os.path.join(top, "image"))
        client = make(top, image)
        setup(client)
        yield client
    finally:
        if client is not None:
            client.cleanup()
        unmount_under(top)
        shutil.rmtree(top, ignore_errors=True)


def container_name_for(request):
    """A container name derived from the running test's name."""
    return "plx-" + re.sub(r"[^A-Za-z0-9.-]+", "-", request.node.name)[:50].strip("-")
