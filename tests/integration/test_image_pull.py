# SPDX-License-Identifier: Apache-2.0
"""image pull/import/ls/inspect/rm/prune against a real docker-registry (registry_env.py)."""
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

from registry_env import registry_env, throttle_proxy  # noqa: F401  (fixtures)


@pytest.fixture
def store(tmp_path):
    return str(tmp_path / "store")


@pytest.fixture
def image(binary, store, tmp_path, registry_env):  # noqa: F811
    """image(*args, registries=None, env=None) -> CompletedProcess of `binary image ARGS`."""
    def run(*args, registries=None, env=None, check=None, timeout=120):
        cfg = tmp_path / "config.json"
        regs = {registry_env.tls.host: {"ca_file": registry_env.ca_file},
                registry_env.basic.host: {"ca_file": registry_env.ca_file, "username": "bob",
                                          "password": "secret"},
                registry_env.token.host: {"username": "bob", "password": "secret"}}
        if registries is not None:
            regs = registries
        cfg.write_text(json.dumps({"images": {"store": store}, "registries": regs}))
        e = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg), HOME=str(tmp_path))
        e.pop("REGISTRY_AUTH_FILE", None)
        e.update(env or {})
        p = subprocess.run([binary, "image", *args], capture_output=True, text=True, env=e,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        if check is True:
            assert p.returncode == 0, p.stderr
        return p
    return run


def names(image):
    p = image("ls", "--format", "json", check=True)
    return {i["name"]: i for i in json.loads(p.stdout)}


def blobs(store):
    d = os.path.join(store, "blobs", "sha256")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def partials(store):
    d = os.path.join(store, "ingest")
    return [f for f in os.listdir(d) if f.endswith(".partial")] if os.path.isdir(d) else []


def check_layout(store, ref):
    """skopeo reads the store as an OCI layout."""
    out = subprocess.run(["skopeo", "inspect", f"oci:{store}:{ref}"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_anonymous_plain_http(image, store, registry_env):  # noqa: F811
    ref = f"{registry_env.plain.host}/test/busybox:v1"
    p = image("pull", ref, check=True)
    assert f"Pulled {ref}" in p.stdout
    manifest, digest = registry_env.manifest("test/busybox", "v1")
    assert digest in p.stdout
    # every blob of the manifest, and nothing half-written
    want = {manifest["config"]["digest"][7:]} | {layer["digest"][7:] for layer in manifest["layers"]}
    assert want <= blobs(store)
    assert partials(store) == []
    assert check_layout(store, ref)["Digest"] == digest
    assert names(image)[ref]["digest"] == digest


def test_tls_with_ca_and_without(image, registry_env):  # noqa: F811
    ref = f"{registry_env.tls.host}/test/busybox:v2"
    p = image("pull", ref, registries={})
    assert p.returncode != 0
    assert f"TLS verification of registry {registry_env.tls.host} failed" in p.stderr
    assert "ca_file" in p.stderr
    image("pull", ref, check=True)


def test_basic_auth(image, registry_env):  # noqa: F811
    ref = f"{registry_env.basic.host}/test/busybox:v1"
    image("pull", ref, check=True)
    assert ref in names(image)


def test_wrong_password(image, registry_env):  # noqa: F811
    for reg in (registry_env.basic, registry_env.token):
        regs = {reg.host: {"ca_file": registry_env.ca_file, "username": "bob", "password": "wrong"}}
        p = image("pull", f"{reg.host}/test/busybox:v1", registries=regs)
        assert p.returncode != 0
        assert f"registry {reg.host} refused the credentials for user bob (401 Unauthorized)" in p.stderr


def test_no_credentials(image, registry_env):  # noqa: F811
    reg = registry_env.basic
    p = image("pull", f"{reg.host}/test/busybox:v1", registries={reg.host: {"ca_file": registry_env.ca_file}})
    assert p.returncode != 0
    assert f"registry {reg.host} requires authentication" in p.stderr


def test_bearer_token(image, registry_env):  # noqa: F811
    before = len(registry_env.tokens.requests)
    ref = f"{registry_env.token.host}/test/busybox:v1"
    image("pull", ref, check=True)
    asked = registry_env.tokens.requests[before:]
    assert asked and "scope=repository%3Atest%2Fbusybox%3Apull" in asked[0]
    assert ref in names(image)


def test_registry_auth_file(image, registry_env, tmp_path):  # noqa: F811
    import base64
    reg = registry_env.basic
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {reg.host: {"auth": base64.b64encode(b"bob:secret").decode()}}}))
    regs = {reg.host: {"ca_file": registry_env.ca_file}}
    image("pull", f"{reg.host}/test/busybox:v1", registries=regs, env={"REGISTRY_AUTH_FILE": str(auth)},
          check=True)
    # ~/.docker/config.json too (HOME is the test's directory)
    os.makedirs(tmp_path / ".docker", exist_ok=True)
    shutil.move(str(auth), str(tmp_path / ".docker" / "config.json"))
    image("pull", f"{reg.host}/test/busybox:v2", registries=regs, check=True)


def test_unknown_tag(image, registry_env):  # noqa: F811
    p = image("pull", f"{registry_env.plain.host}/test/busybox:nope")
    assert p.returncode != 0
    assert "tag nope is not in registry" in p.stderr


def test_digest_pull(image, registry_env):  # noqa: F811
    _, digest = registry_env.manifest("test/busybox", "v2")
    ref = f"{registry_env.plain.host}/test/busybox@{digest}"
    p = image("pull", "-q", ref, check=True)
    assert p.stdout.strip() == digest
    assert names(image)[ref]["digest"] == digest
    wrong = "sha256:" + "0" * 64
    p = image("pull", f"{registry_env.plain.host}/test/busybox@{wrong}")
    assert p.returncode != 0 and wrong in p.stderr


def test_multi_arch(image, registry_env, store):  # noqa: F811
    index, _ = registry_env.manifest("test/multi", "latest")
    by_arch = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    ref = f"{registry_env.plain.host}/test/multi:latest"
    p = image("pull", ref, check=True)
    assert by_arch["amd64"] in p.stdout and "linux/amd64" in p.stdout
    p = image("pull", "--platform", "linux/arm64", ref, check=True)
    assert by_arch["arm64"] in p.stdout and "linux/arm64" in p.stdout
    assert names(image)[ref]["digest"] == by_arch["arm64"]
    p = image("pull", "--platform", "linux/s390x", ref)
    assert p.returncode != 0 and "no image for platform linux/s390x" in p.stderr


def test_corrupted_blob(image, registry_env, store, tmp_path):  # noqa: F811
    # the registry's own file is damaged, and restored for the other tests
    env = registry_env
    manifest, _ = env.manifest("test/busybox", "v1")
    layer = manifest["layers"][1]["digest"]
    path = env.blob_path(layer)
    saved = open(path, "rb").read()
    try:
        with open(path, "r+b") as f:
            f.seek(100)
            f.write(b"\xff" * 16)
        p = image("pull", f"{env.plain.host}/test/busybox:v1")
    finally:
        with open(path, "wb") as f:
            f.write(saved)
    assert p.returncode != 0
    assert f"blob {layer}: digest mismatch: got sha256:" in p.stderr
    assert layer[7:] not in blobs(store)
    # the bad blob's partial is dropped; others cut short by the failure stay for a resume
    assert layer[7:] + ".partial" not in partials(store)
    assert f"{env.plain.host}/test/busybox:v1" not in names(image)
    image("pull", f"{env.plain.host}/test/busybox:v1", check=True)
    assert partials(store) == []


def test_sigkill_mid_pull_resumes(binary, image, registry_env, store, throttle_proxy, tmp_path):  # noqa: F811
    proxy = throttle_proxy(int(registry_env.plain.host.split(":")[1]), 4 << 20)
    ref = f"127.0.0.1:{proxy.port}/test/big:latest"
    cfg = tmp_path / "slow.json"
    cfg.write_text(json.dumps({"images": {"store": store}}))
    proc = subprocess.Popen([binary, "image", "pull", ref], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg)))
    got = 0
    end = time.time() + 30
    while time.time() < end and got < (4 << 20):
        for f in partials(store):
            try:
                got = max(got, os.path.getsize(os.path.join(store, "ingest", f)))
            except FileNotFoundError:
                pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert got >= (4 << 20), "the pull never got going"
    left = partials(store)
    assert left, "the partial download should be kept for the resume"
    assert ref not in names(image)
    # again, straight from the registry: continues at the partial's end and verifies
    direct = f"{registry_env.plain.host}/test/big:latest"
    e = dict(os.environ, PROXMOX_LXCRI_CONFIG=str(cfg))
    p = subprocess.run([binary, "--debug", "image", "pull", direct], capture_output=True, text=True, env=e,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "resuming at byte" in p.stderr
    assert partials(store) == []
    assert left[0][:-len(".partial")] in blobs(store)


def test_import_layout_dir_tar_and_docker_archive(image, registry_env, store, tmp_path):  # noqa: F811
    layout = registry_env.layouts["busybox"]
    p = image("import", "--name", "local/bb:one", layout)
    # two images in the layout: the bare tags v1/v2 complete --name's repository
    assert p.returncode == 0, p.stderr
    got = names(image)
    assert "docker.io/local/bb:v1" in got and "docker.io/local/bb:v2" in got
    tarball = tmp_path / "layout.tar"
    with tarfile.open(tarball, "w") as t:
        t.add(registry_env.layouts["multi"], arcname=".")
    image("import", "--name", "local/multi:latest", str(tarball), check=True)
    assert "docker.io/local/multi:latest" in names(image)
    # a docker-archive, as skopeo (and docker save) writes it
    archive = tmp_path / "docker.tar"
    subprocess.run(["skopeo", "copy", f"oci:{layout}:v1", f"docker-archive:{archive}:saved/bb:v1"],
                   check=True, capture_output=True)
    image("import", str(archive), check=True)
    inspected = json.loads(image("inspect", "saved/bb:v1", check=True).stdout)
    assert inspected["Name"] == "docker.io/saved/bb:v1"
    assert inspected["Config"]["rootfs"]["diff_ids"]
    check_layout(store, "docker.io/saved/bb:v1")


def test_ls_inspect_rm_prune(image, registry_env, store):  # noqa: F811
    host = registry_env.plain.host
    image("pull", f"{host}/test/busybox:v1", check=True)
    image("pull", f"{host}/test/busybox:v2", check=True)
    table = image("ls", check=True).stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "DIGEST", "SIZE"]
    assert any(line.split()[:2] == [f"{host}/test/busybox", "v1"] for line in table[1:])
    info = json.loads(image("inspect", f"{host}/test/busybox:v1", check=True).stdout)
    assert info["Config"]["architecture"] == "amd64" and len(info["Manifest"]["layers"]) == 3
    v1, _ = registry_env.manifest("test/busybox", "v1")
    v2, _ = registry_env.manifest("test/busybox", "v2")
    shared = {layer["digest"][7:] for layer in v1["layers"]} & {layer["digest"][7:] for layer in v2["layers"]}
    only_v1 = {layer["digest"][7:] for layer in v1["layers"]} - shared
    assert shared and only_v1
    image("rm", f"{host}/test/busybox:v1", check=True)
    assert f"{host}/test/busybox:v1" not in names(image)
    left = blobs(store)
    assert shared <= left, "a layer v2 still uses must stay"
    assert not (only_v1 & left)
    p = image("rm", f"{host}/test/busybox:v1")
    assert p.returncode != 0 and "is not in the store" in p.stderr
    # prune: a stray blob and a stale partial go, the image's blobs stay
    stray = os.path.join(store, "blobs", "sha256", "ab" * 32)
    open(stray, "w").write("x")
    open(os.path.join(store, "ingest", "cd" * 32 + ".partial"), "w").write("y")
    p = image("prune", check=True)
    assert "Removed 1 blobs and 1 partial downloads" in p.stdout
    assert not os.path.exists(stray) and partials(store) == []
    assert shared <= blobs(store)
