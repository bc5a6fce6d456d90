#!/usr/bin/env bash
# The main job on embedded defaults: make a small OCI image on the spot (a
# busybox rootfs as one layer, with an entrypoint and env, written by umoci:
# there is no internet here), import it into the image store and run a
# container from it with `run --image`.  The image is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/src/cli/proxmox-lxcri}
"$here/install-deps.sh" build test clients

work=$(mktemp -d /tmp/proxmox-lxcri-demo.XXXXXX)
ref=localhost/proxmox-lxcri-demo:latest
cleanup() {
	"$bin" image rm "$ref" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

oci=$work/oci
umoci init --layout "$oci"
umoci new --image "$oci:demo"
umoci unpack --rootless --image "$oci:demo" "$work/unpacked" >/dev/null
"$here/make-busybox-rootfs.sh" "$work/unpacked/rootfs"
umoci repack --image "$oci:demo" "$work/unpacked"
umoci config --image "$oci:demo" --config.env GREETING=hello \
	--config.entrypoint sh --config.entrypoint -c \
	--config.cmd 'echo "$GREETING from $(hostname), pid $$, uid $(id -u)"; echo "rootfs: $(ls / | tr "\n" " ")"'

echo "+ proxmox-lxcri image import --name $ref $oci"
"$bin" image import --name "$ref" "$oci"
"$bin" image ls
id=demo-$$
echo "+ proxmox-lxcri --root $work/state run --image $ref $id"
status=0
"$bin" --root "$work/state" run --image "$ref" "$id" || status=$?
echo "container $id exited with status $status"
exit "$status"
