# SPDX-License-Identifier: Apache-2.0
"""A real registry for the image tests: Debian's docker-registry on 127.0.0.1.

    registry_env    (session) a RegistryEnv: a CA and a server certificate for 127.0.0.1 made
                    with openssl, an htpasswd file (user bob, password secret), test images
                    built here from busybox-static as OCI layouts and pushed with skopeo into
                    one storage directory, and registries serving that directory:
                      .plain   plain HTTP, anonymous
                      .tls     HTTPS (the CA is .ca_file), anonymous
                      .basic   HTTPS + htpasswd basic auth
                      .token   plain HTTP + bearer tokens from a small token server here
                               (JWT signed with openssl; it accepts bob:secret)
                    and the images (repository names): "test/busybox" (tags v1, v2: three
                    layers), "test/multi" (an index: linux/amd64 + linux/arm64), "test/big"
                    (one 24 MiB incompressible layer, for the interrupted pull).
    throttle_proxy(upstream, rate)
                    a forwarding HTTP proxy that sends at most rate bytes/s, to slow pulls down

Everything is torn down after the session.  A missing tool fails (CI=true) or skips.
"""
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import socketserver
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

TOOLS = {"docker-registry": "docker-registry", "skopeo": "skopeo", "htpasswd": "apache2-utils",
         "openssl": "openssl"}
USER, PASSWORD = "bob", "secret"
SERVICE, ISSUER = "plx-test-registry", "plx-test-issuer"


def need_tools(tools=TOOLS):
    """Each tool of tools ({tool: Debian package}) is there, else fail (CI=true) or skip."""
    for tool, pkg in tools.items():
        if not shutil.which(tool):
            msg = f"{tool} missing: apt-get install {pkg}"
            if os.environ.get("CI") == "true":
                pytest.fail(msg)
            pytest.skip(msg)


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=300, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


# ---- OCI layouts built here ----

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_layer(files, compress=True):
    """files: {path: bytes | ("symlink", target) | ("dir",)} -> (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.mtime = 1700000000
            if isinstance(content, tuple) and content[0] == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                t.addfile(info)
            elif isinstance(content, tuple):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.size, info.mode = len(content), 0o755
                t.addfile(info, io.BytesIO(content))
    data = raw.getvalue()
    if not compress:
        return data, sha(data)
    return gzip.compress(data, mtime=0), sha(data)


class Layout:
    """An OCI image layout directory written blob by blob."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.index = {"schemaVersion": 2, "manifests": []}

    def blob(self, data, media_type):
        d = sha(data)
        with open(os.path.join(self.path, "blobs", "sha256", d[7:]), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": d, "size": len(data)}

    def image(self, layers, arch="amd64", env=None):
        descs, diff_ids = [], []
        for blob, diff_id in layers:
            descs.append(self.blob(blob, "application/vnd.oci.image.layer.v1.tar+gzip"))
            diff_ids.append(diff_id)
        config = {"architecture": arch, "os": "linux",
                  "config": {"Env": env or ["PATH=/bin"], "Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        cdesc = self.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cdesc, "layers": descs}
        return self.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")

    def name(self, desc, tag, platform=None):
        desc = dict(desc, annotations={"org.opencontainers.image.ref.name": tag})
        if platform:
            desc["platform"] = platform
        self.index["manifests"].append(desc)
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump(self.index, f)


def busybox_layers(extra=b"v1"):
    bb = open("/bin/busybox", "rb").read()
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True).stdout.split()
    base = {"bin/": ("dir",), "bin/busybox": bb}
    links = {"bin/" + a: ("symlink", "busybox") for a in applets if a != "busybox"}
    etc = {"etc/": ("dir",), "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n",
           "etc/group": b"root:x:0:\n", "etc/version": extra}
    return [tar_layer(base), tar_layer(links), tar_layer(etc)]


def build_layouts(top):
    """The OCI layouts the tests push: returns {name: (layout dir, tag, all?)}."""
    out = {}
    lay = Layout(os.path.join(top, "busybox"))
    lay.name(lay.image(busybox_layers(b"v1")), "v1")
    lay.name(lay.image(busybox_layers(b"v2")), "v2")
    out["busybox"] = lay.path

    multi = Layout(os.path.join(top, "multi"))
    amd = multi.image([tar_layer({"etc/": ("dir",), "etc/arch": b"amd64\n"})], arch="amd64")
    arm = multi.image([tar_layer({"etc/": ("dir",), "etc/arch": b"arm64\n"})], arch="arm64")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [dict(amd, platform={"os": "linux", "architecture": "amd64"}),
                           dict(arm, platform={"os": "linux", "architecture": "arm64", "variant": "v8"})]}
    idesc = multi.blob(json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")
    multi.name(idesc, "latest")
    out["multi"] = multi.path

    big = Layout(os.path.join(top, "big"))
    noise = os.urandom(24 << 20)
    big.name(big.image([tar_layer({"big.bin": noise}, compress=False)]), "latest")
    out["big"] = big.path
    return out


# ---- the token server ----

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry JWTs (RS256, x5c header) to bob:secret, or anonymously when allowed."""

    def __init__(self, key, cert_der, anonymous=False):
        self.key, self.cert_der, self.anonymous = key, cert_der, anonymous
        self.requests = []
        env = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                env.requests.append(self.path)
                auth = self.headers.get("Authorization", "")
                ok = auth == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if not ok and not (env.anonymous and not auth):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="token"')
                    self.end_headers()
                    return
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                access = []
                for scope in q.get("scope", []):
                    typ, name, actions = scope.rsplit(":", 2)[0].split(":", 1)[0], \
                        scope.split(":")[1], scope.split(":")[-1]
                    access.append({"type": typ, "name": name, "actions": actions.split(",")})
                body = json.dumps({"token": env.sign(access, q.get("service", [""])[0])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, access, service):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": USER, "aud": service, "exp": now + 600, "nbf": now - 10,
                  "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input.encode(),
                             capture_output=True, check=True).stdout
        return signing_input + "." + b64url(sig)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


import urllib.parse  # noqa: E402  (used by the handler above)


# ---- a slow proxy ----

class ThrottleProxy:
    """Forwards GETs to upstream (http://127.0.0.1:PORT), sending at most rate bytes/s."""

    def __init__(self, upstream_port, rate):
        env = self
        self.rate = rate

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                req = urllib.request.Request(f"http://127.0.0.1:{upstream_port}{self.path}",
                                             headers={k: v for k, v in self.headers.items()
                                                      if k.lower() not in ("host", "connection")})
                try:
                    resp = urllib.request.urlopen(req, timeout=60)
                except urllib.error.HTTPError as e:
                    resp = e
                self.send_response(resp.status if hasattr(resp, "status") else resp.code)
                for k, v in resp.headers.items():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.end_headers()
                try:
                    while True:
                        chunk = resp.read(max(1, env.rate // 20))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- the environment ----

class Registry:
    def __init__(self, host, proc, config):
        self.host, self.proc, self.config = host, proc, config


class RegistryEnv:
    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="plx-registry-")
        self.storage = os.path.join(self.top, "storage")
        self.procs, self.closers = [], []
        self._make_pki()
        self.htpasswd = os.path.join(self.top, "htpasswd")
        run("htpasswd", "-Bbc", self.htpasswd, USER, PASSWORD)
        self.plain = self.start()
        self._push_images()
        self.tls = self.start(tls=True)
        self.basic = self.start(tls=True, basic=True)
        self.tokens = TokenServer(self.sign_key, self.sign_der)
        self.closers.append(self.tokens.close)
        self.token = self.start(token=self.tokens)

    def _make_pki(self):
        t = self.top
        self.ca_file = os.path.join(t, "ca.pem")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=plx test CA",
            "-keyout", os.path.join(t, "ca.key"), "-out", self.ca_file)
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", os.path.join(t, "server.key"), "-out", os.path.join(t, "server.csr"))
        ext = os.path.join(t, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run("openssl", "x509", "-req", "-in", os.path.join(t, "server.csr"), "-CA", self.ca_file,
            "-CAkey", os.path.join(t, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext,
            "-out", os.path.join(t, "server.pem"))
        # the token signer: a self-signed certificate the registry trusts as its root
        self.sign_key = os.path.join(t, "sign.key")
        self.sign_cert = os.path.join(t, "sign.pem")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=plx token",
            "-keyout", self.sign_key, "-out", self.sign_cert)
        self.sign_der = subprocess.run(["openssl", "x509", "-in", self.sign_cert, "-outform", "DER"],
                                       capture_output=True, check=True).stdout

    def start(self, tls=False, basic=False, token=None):
        port = free_port()
        conf = {"version": 0.1, "log": {"level": "error"},
                "storage": {"filesystem": {"rootdirectory": self.storage}, "delete": {"enabled": True}},
                "http": {"addr": f"127.0.0.1:{port}", "secret": "plx-test"}}
        if tls:
            conf["http"]["tls"] = {"certificate": os.path.join(self.top, "server.pem"),
                                   "key": os.path.join(self.top, "server.key")}
        if basic:
            conf["auth"] = {"htpasswd": {"realm": "plx-test", "path": self.htpasswd}}
        if token:
            conf["auth"] = {"token": {"realm": f"http://127.0.0.1:{token.port}/token", "service": SERVICE,
                                      "issuer": ISSUER, "rootcertbundle": self.sign_cert}}
        path = os.path.join(self.top, f"registry-{port}.yml")
        with open(path, "w") as f:
            json.dump(conf, f)  # YAML is a superset of JSON
        proc = subprocess.Popen(["docker-registry", "serve", path], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(self.top, f"registry-{port}.log"), "w"))
        self.procs.append(proc)
        wait_port(port, proc)
        return Registry(f"127.0.0.1:{port}", proc, path)

    def _push_images(self):
        layouts = build_layouts(os.path.join(self.top, "layouts"))
        dest = f"docker://{self.plain.host}"
        for tag in ("v1", "v2"):
            run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layouts['busybox']}:{tag}",
                f"{dest}/test/busybox:{tag}")
        run("skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{layouts['multi']}:latest",
            f"{dest}/test/multi:latest")
        run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layouts['big']}:latest", f"{dest}/test/big:latest")
        self.layouts = layouts

    def manifest(self, repo, ref, accept="application/vnd.oci.image.manifest.v1+json"):
        req = urllib.request.Request(f"http://{self.plain.host}/v2/{repo}/manifests/{ref}",
                                     headers={"Accept": accept + ", application/vnd.oci.image.index.v1+json"})
        with urllib.request.urlopen(req) as r:
            body = r.read()
        return json.loads(body), sha(body)

    def blob_path(self, digest):
        hexd = digest.split(":")[1]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256", hexd[:2], hexd, "data")

    def close(self):
        for c in self.closers:
            c()
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture(scope="session")
def registry_env():
    need_tools()
    env = RegistryEnv()
    yield env
    env.close()


@pytest.fixture
def throttle_proxy():
    made = []

    def make(upstream_port, rate):
        p = ThrottleProxy(upstream_port, rate)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
