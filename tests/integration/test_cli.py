# SPDX-License-Identifier: Apache-2.0
"""The runc-compatible command line: help, version, usage errors, flag forms, spec, features,
state/list without containers, and the log formats.  The spec template is also run under runc
itself, unchanged but for the args and terminal edit one makes to runc's own template."""
import json
import os
import re
import shutil
import subprocess

import pytest

COMMANDS = ["create", "delete", "kill", "list", "run", "spec", "start", "state", "features", "help"]
EMPTY_TABLE = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"


def plain(binary, *args, **kw):
    """The binary without --root (global flags of the test's own choosing)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=60, **kw)


LOGFMT_RE = re.compile(r'time="[^"]*" level=(\w+) msg="((?:[^"\\]|\\.)*)"')


def messages(stderr):
    """The messages on stderr: a text log line's msg (unescaped), or a plain line as it is."""
    out = []
    for line in stderr.splitlines():
        m = LOGFMT_RE.fullmatch(line)
        out.append(json.loads(f'"{m.group(2)}"') if m else line)
    return out


def fails_with(p, message):
    """Exit status 1 and message on stderr."""
    assert p.returncode == 1, p
    assert any(message in m for m in messages(p.stderr)), p.stderr


# --- help and version -------------------------------------------------------------------------

VERSION_RE = re.compile(r"proxmox-lxcri version \d+\.\d+\.\d+\n"
                        r"commit: \S+\n"
                        r"spec: 1\.2\.0\n"
                        r"liblxc: \d+\.\d+\.\d+\S*\n"
                        r"libseccomp: \d+\.\d+\.\d+\n")


@pytest.mark.parametrize("flag", ["--version", "-v", "-version", "--version=true"])
def test_version(binary, flag):
    p = plain(binary, flag)
    assert p.returncode == 0, p.stderr
    assert VERSION_RE.fullmatch(p.stdout), p.stdout


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["help"], ["h"], ["--help", "list"]])
def test_app_help(binary, args):
    p = plain(binary, *args)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("NAME:\n   proxmox-lxcri - ")
    for section in ("USAGE:", "VERSION:", "COMMANDS:", "GLOBAL OPTIONS:"):
        assert f"\n{section}\n" in p.stdout
    for cmd in COMMANDS:
        assert re.search(rf"^   {cmd}\b", p.stdout, re.M), cmd
    for flag in ("--debug", "--log value", "--log-format value", "--root value", "--criu value",
                 "--systemd-cgroup", "--rootless value", "--help, -h", "--version, -v"):
        assert f"   {flag} " in p.stdout, flag


@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("how", ["--help", "-h", "help"])
def test_command_help(binary, cmd, how):
    p = plain(binary, "help", cmd) if how == "help" else plain(binary, cmd, how)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"NAME:\n   proxmox-lxcri {cmd} - ")
    assert f"\nUSAGE:\n   proxmox-lxcri {cmd}" in p.stdout
    assert p.stderr == ""


def test_create_help_lists_runc_flags(binary):
    out = plain(binary, "create", "--help").stdout
    for flag in ("--bundle value, -b value", "--console-socket value", "--pid-file value", "--no-pivot",
                 "--no-new-keyring", "--preserve-fds value"):
        assert f"   {flag} " in out, flag
    run = plain(binary, "run", "--help").stdout
    for flag in ("--detach, -d", "--keep", "--no-subreaper"):
        assert f"   {flag} " in run, flag


IMAGE_COMMANDS = ["pull", "import", "ls", "inspect", "rm", "prune", "bundle", "export"]


@pytest.mark.parametrize("args", [["image", "--help"], ["image", "-h"], ["image", "help"], ["image"],
                                  ["help", "image"]])
def test_image_help_lists_its_commands(binary, args):
    p = plain(binary, *args)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("NAME:\n   proxmox-lxcri image - ")
    assert "\nUSAGE:\n   proxmox-lxcri image command " in p.stdout
    commands = p.stdout.split("\nCOMMANDS:\n", 1)[1]
    for cmd in IMAGE_COMMANDS:
        assert re.search(rf"^   {cmd} +\S", commands, re.M), cmd


def test_image_command_help(binary):
    p = plain(binary, "image", "pull", "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("NAME:\n   proxmox-lxcri image pull - ")
    assert "COMMANDS:" not in p.stdout


# --- usage errors -----------------------------------------------------------------------------

def test_unknown_command(binary):
    p = plain(binary, "nosuch")
    fails_with(p, "No help topic for 'nosuch'")
    assert "COMMANDS:" in p.stdout


def test_help_for_unknown_command(binary):
    fails_with(plain(binary, "help", "nosuch"), "No help topic for 'nosuch'")


@pytest.mark.parametrize("flag", ["--nosuch", "-nosuch", "--nosuch=1"])
def test_unknown_global_flag(binary, flag):
    p = plain(binary, flag, "list")
    fails_with(p, "flag provided but not defined: -nosuch")
    assert p.stdout.startswith("Incorrect Usage. flag provided but not defined: -nosuch\n\nNAME:\n")


def test_unknown_command_flag(cli):
    p = cli("list", "--nosuch")
    fails_with(p, "flag provided but not defined: -nosuch")
    assert p.stdout.startswith("Incorrect Usage: flag provided but not defined: -nosuch\n\n"
                               "NAME:\n   proxmox-lxcri list - ")


def test_no_abbreviations_and_no_clusters(binary, cli):
    fails_with(plain(binary, "--roo", "/tmp", "list"), "flag provided but not defined: -roo")
    fails_with(cli("list", "-qf", "json"), "flag provided but not defined: -qf")


def test_flag_needs_an_argument(binary, cli):
    fails_with(plain(binary, "--root"), "flag needs an argument: -root")
    fails_with(cli("list", "--format"), "flag needs an argument: -format")


def test_bad_boolean(binary):
    fails_with(plain(binary, "--debug=maybe", "list"), 'invalid boolean value "maybe" for -debug: parse error')


def test_bad_uint(cli):
    fails_with(cli("create", "--preserve-fds", "x", "id"),
                'invalid value "x" for flag -preserve-fds: parse error')


@pytest.mark.parametrize("args,message", [
    (["state"], '"state" requires exactly 1 argument(s)'),
    (["state", "a", "b"], '"state" requires exactly 1 argument(s)'),
    (["start"], '"start" requires exactly 1 argument(s)'),
    (["create"], '"create" requires exactly 1 argument(s)'),
    (["run"], '"run" requires exactly 1 argument(s)'),
    (["delete"], '"delete" requires exactly 1 argument(s)'),
    (["kill"], '"kill" requires a minimum of 1 argument(s)'),
    (["kill", "a", "KILL", "c"], '"kill" requires a maximum of 2 argument(s)'),
    (["list", "x"], '"list" requires exactly 0 argument(s)'),
    (["spec", "x"], '"spec" requires exactly 0 argument(s)'),
    (["features", "x"], '"features" requires exactly 0 argument(s)'),
])
def test_argument_count(cli, args, message):
    p = cli(*args)
    fails_with(p, message)
    assert p.stdout.startswith(f"Incorrect Usage.\n\nNAME:\n   proxmox-lxcri {args[0]} - ")


def test_bad_log_format(binary):
    fails_with(plain(binary, "--log-format", "xml", "list"), "invalid log-format: xml")


def test_bad_rootless_value(cli):
    fails_with(cli("--rootless", "maybe", "list"), '"maybe" for --rootless')


@pytest.mark.parametrize("value", ["true", "false", "auto"])
def test_rootless_values_accepted(cli, value):
    assert cli("--rootless", value, "list").returncode == 0


# --- flag forms -------------------------------------------------------------------------------

@pytest.mark.parametrize("form", [["--root", "{}"], ["--root={}"], ["-root", "{}"], ["-root={}"]])
def test_global_flag_forms(binary, runtime_root, form):
    p = plain(binary, *[f.format(runtime_root) for f in form], "list")
    assert p.returncode == 0, p.stderr
    assert p.stdout == EMPTY_TABLE


@pytest.mark.parametrize("form", [["--format", "json"], ["--format=json"], ["-f", "json"], ["-f=json"],
                                  ["-format", "json"], ["--f", "json"]])
def test_command_flag_forms(cli, form):
    p = cli("list", *form)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "null\n"


def test_flags_may_follow_arguments(cli):
    # as with runc (urfave/cli moves command flags before the arguments)
    p = cli("delete", "nosuch", "--force")
    assert p.returncode == 0, p.stderr


def test_double_dash_ends_flags(cli):
    # "--force" after "--" is an argument: two arguments for delete
    fails_with(cli("delete", "--", "x", "--force"), '"delete" requires exactly 1 argument(s)')


def test_global_flags_stop_at_the_command(binary, runtime_root):
    # a global flag after the command is the command's (unknown there), as in runc
    fails_with(plain(binary, "list", "--root", runtime_root), "flag provided but not defined: -root")


# --- state, list, kill, delete without containers -----------------------------------------------

def test_list_empty(cli):
    p = cli("list")
    assert p.returncode == 0, p.stderr
    assert p.stdout == EMPTY_TABLE
    assert cli("list", "-q").stdout == ""
    assert cli("list", "--format", "json").stdout == "null\n"


def test_list_bad_format(cli):
    fails_with(cli("list", "--format", "yaml"), "invalid format option")


def test_list_missing_root(binary, tmp_path):
    p = plain(binary, "--root", tmp_path / "not-yet", "list")
    assert p.returncode == 0, p.stderr
    assert p.stdout == EMPTY_TABLE


@pytest.mark.parametrize("cmd", [["state"], ["start"], ["kill"], ["delete"]])
def test_missing_container(cli, cmd):
    p = cli(*cmd, "nosuch")
    assert p.returncode == 1
    assert "nosuch" in p.stderr
    assert p.stdout == ""


def test_delete_force_missing_is_fine(cli):
    assert cli("delete", "--force", "nosuch").returncode == 0


@pytest.mark.parametrize("sig", ["FOO", "0", "65", "SIGKIL", "-9"])
def test_kill_unknown_signal(cli, sig):
    fails_with(cli("kill", "--", "nosuch", sig), f'unknown signal "{sig}"')


# --- log ----------------------------------------------------------------------------------------

def test_error_goes_to_stderr_as_text_log(cli):
    p = cli("state", "nosuch")
    assert p.returncode == 1
    line = p.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r'time="[^"]+" level=error msg=".*nosuch.*"', line), line


def test_json_log_file(cli, tmp_path):
    log = tmp_path / "log.json"
    p = cli("--log", log, "--log-format", "json", "state", "nosuch")
    assert p.returncode == 1
    # with a log file, the message also reaches stderr, plain (as runc's fatal())
    assert "nosuch" in p.stderr and not p.stderr.startswith("{") and "level=" not in p.stderr
    lines = log.read_text().splitlines()
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert set(entry) >= {"level", "msg", "time"}
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", entry["time"])
    assert lines and json.loads(lines[-1])["level"] == "error"
    assert "nosuch" in json.loads(lines[-1])["msg"]
    assert p.stderr.strip() == json.loads(lines[-1])["msg"]


def test_text_log_file(cli, tmp_path):
    log = tmp_path / "log.txt"
    p = cli("--log", log, "state", "nosuch")
    assert p.returncode == 1
    assert re.fullmatch(r'time="[^"]+" level=error msg=".*nosuch.*"\n', log.read_text())


def test_log_file_is_appended(cli, tmp_path):
    log = tmp_path / "log.json"
    for _ in range(2):
        cli("--log", log, "--log-format", "json", "state", "nosuch")
    assert len(log.read_text().splitlines()) == 2


def test_debug_logs_the_command_line(cli, tmp_path):
    log = tmp_path / "log.json"
    p = cli("--debug", "--log", log, "--log-format", "json", "list", "-q")
    assert p.returncode == 0, p.stderr
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    debug = [e for e in entries if e["level"] == "debug"]
    assert any("list -q" in e["msg"] for e in debug), entries
    # without --debug, nothing at debug level
    log.unlink()
    cli("--log", log, "--log-format", "json", "list", "-q")
    assert not log.exists() or all(json.loads(line)["level"] != "debug"
                                   for line in log.read_text().splitlines())


def test_unopenable_log(binary, tmp_path):
    p = plain(binary, "--log", tmp_path / "no" / "dir" / "log", "list")
    assert p.returncode == 1
    assert "no/dir/log" in p.stderr


# --- spec ---------------------------------------------------------------------------------------

def test_spec_writes_runc_style_config(binary, tmp_path):
    p = plain(binary, "spec", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    text = (tmp_path / "config.json").read_text()
    # json.MarshalIndent(spec, "", "\t") and no newline at the end, as runc writes it
    assert text.startswith('{\n\t"ociVersion": "1.2.0",\n')
    assert not text.endswith("\n")
    assert "\n  " not in text
    spec = json.loads(text)
    assert spec["process"]["args"] == ["sh"]
    assert spec["process"]["terminal"] is True
    assert spec["root"]["path"] == "rootfs"
    assert {ns["type"] for ns in spec["linux"]["namespaces"]} >= {"pid", "mount"}


def test_spec_refuses_to_overwrite(binary, tmp_path):
    assert plain(binary, "spec", cwd=tmp_path).returncode == 0
    before = (tmp_path / "config.json").read_text()
    p = plain(binary, "spec", cwd=tmp_path)
    fails_with(p, "File config.json exists. Remove it first")
    assert (tmp_path / "config.json").read_text() == before


@pytest.mark.parametrize("form", [["--bundle", "{}"], ["-b", "{}"], ["--bundle={}"], ["-b={}"]])
def test_spec_bundle_flag(binary, tmp_path, form):
    p = plain(binary, "spec", *[f.format(tmp_path) for f in form])
    assert p.returncode == 0, p.stderr
    json.loads((tmp_path / "config.json").read_text())
    fails_with(plain(binary, "spec", "-b", tmp_path),
               f"File {tmp_path / 'config.json'} exists. Remove it first")


def test_spec_missing_bundle(binary, tmp_path):
    p = plain(binary, "spec", "-b", tmp_path / "nope")
    assert p.returncode == 1
    assert "nope" in p.stderr and "No such file" in p.stderr


def test_spec_rootless_maps_the_caller(binary, tmp_path):
    p = plain(binary, "spec", "--rootless", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    spec = json.loads((tmp_path / "config.json").read_text())
    assert "user" in {ns["type"] for ns in spec["linux"]["namespaces"]}
    assert spec["linux"]["uidMappings"][0]["hostID"] == os.getuid()
    assert spec["linux"]["gidMappings"][0]["hostID"] == os.getgid()


# --- features -----------------------------------------------------------------------------------

def test_features(binary):
    p = plain(binary, "features")
    assert p.returncode == 0, p.stderr
    # runc: json.Encoder with SetIndent("", "    ")
    assert p.stdout.startswith('{\n    "ociVersionMin": "1.0.0",\n    "ociVersionMax": "1.2.0",\n')
    assert p.stdout.endswith("}\n")
    f = json.loads(p.stdout)
    assert f["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                          "poststop"]
    assert "bind" in f["mountOptions"] and "rbind" in f["mountOptions"]
    # runc extensions the liblxc translation refuses are not claimed
    assert "rro" not in f["mountOptions"] and "tmpcopyup" not in f["mountOptions"]
    lx = f["linux"]
    assert sorted(lx["namespaces"]) == ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]
    assert "CAP_SYS_ADMIN" in lx["capabilities"]
    assert lx["cgroup"] == {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": False}
    assert lx["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in lx["seccomp"]["actions"]
    assert "SCMP_CMP_EQ" in lx["seccomp"]["operators"]
    assert "SCMP_ARCH_X86_64" in lx["seccomp"]["archs"]
    assert lx["apparmor"]["enabled"] == os.path.exists("/sys/kernel/security/apparmor")
    assert lx["selinux"] == {"enabled": False}
    assert lx["mountExtensions"] == {"idmap": {"enabled": True}}
    version = plain(binary, "--version").stdout.split("\n")[0].split()[-1]
    assert f["annotations"]["org.proxmox-lxcri.version"] == version


# --- the fixtures themselves ------------------------------------------------------------------

def test_make_bundle(make_bundle):
    b = make_bundle(["/bin/echo", "hi"], hostname="h1", process={"cwd": "/tmp"}, linux={"maskedPaths": None})
    spec = json.load(open(os.path.join(b, "config.json")))
    assert spec["process"]["args"] == ["/bin/echo", "hi"]
    assert spec["process"]["terminal"] is False
    assert spec["process"]["cwd"] == "/tmp"
    assert spec["process"]["env"], "merging a dict must keep its other keys"
    assert spec["hostname"] == "h1"
    assert "maskedPaths" not in spec["linux"]
    rootfs = os.path.join(b, "rootfs")
    assert os.access(os.path.join(rootfs, "bin", "busybox"), os.X_OK)
    assert os.readlink(os.path.join(rootfs, "bin", "sh")) == "/bin/busybox"
    assert os.path.islink(os.path.join(rootfs, "usr", "bin", "env"))
    assert "nobody:x:65534" in open(os.path.join(rootfs, "etc", "passwd")).read()
    for d in ("proc", "sys", "dev", "tmp"):
        assert os.path.isdir(os.path.join(rootfs, d))


# --- our template under runc --------------------------------------------------------------------

# CI installs runc and runs as root (make deps): there the comparison must run, never skip
needs_runc = pytest.mark.skipif(os.environ.get("CI") != "true" and (shutil.which("runc") is None or os.geteuid() != 0),
                                reason="needs runc and root")


@needs_runc
@pytest.mark.parametrize("rootless", [False, True])
def test_spec_runs_unchanged_under_runc(binary, busybox_rootfs, tmp_path, rootless):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    subprocess.run(["cp", "-a", busybox_rootfs, bundle / "rootfs"], check=True)
    p = plain(binary, "spec", *(["--rootless"] if rootless else []), "-b", bundle)
    assert p.returncode == 0, p.stderr
    # the one edit one makes to runc's own template as well
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["args"] = ["true"]
    spec["process"]["terminal"] = False
    (bundle / "config.json").write_text(json.dumps(spec, indent="\t"))

    root = tmp_path / "runc-root"
    cid = f"plx-spec-{'rootless' if rootless else 'root'}-{os.getpid()}"
    try:
        r = subprocess.run(["runc", "--root", root, "run", "-b", bundle, cid], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60)
        assert r.returncode == 0, r.stderr
    finally:
        subprocess.run(["runc", "--root", root, "delete", "--force", cid], capture_output=True, timeout=60)
