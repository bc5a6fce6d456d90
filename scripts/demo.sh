#!/usr/bin/env bash
# The main job on embedded defaults: build a bundle (a busybox rootfs and the
# config `proxmox-lxcri spec` writes) and run it as a container.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/src/cli/proxmox-lxcri}
"$here/install-deps.sh" build test

work=$(mktemp -d /tmp/proxmox-lxcri-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
bundle=$work/bundle
"$here/make-busybox-rootfs.sh" "$bundle/rootfs"
"$bin" spec --bundle "$bundle"
# the only edit anyone makes to the template: what to run, and no terminal
/usr/bin/python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c",
    "echo \"hello from $(hostname), pid $$, uid $(id -u)\"; "
    "echo \"rootfs: $(ls / | tr '\\n' ' ')\"; "
    "echo \"cgroup: $(cut -d: -f3 /proc/self/cgroup | sort -u | tr '\\n' ' ')\""]
json.dump(c, open(p, "w"), indent="\t")
PY
id=demo-$$
echo "+ proxmox-lxcri --root $work/state run --bundle $bundle $id"
"$bin" --root "$work/state" run --bundle "$bundle" "$id"
echo "container $id exited with status $?"
