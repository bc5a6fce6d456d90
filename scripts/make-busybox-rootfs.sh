#!/usr/bin/env bash
# Make a minimal rootfs from Debian's busybox-static: DIR/bin/busybox plus one
# symlink per applet, and the few files a container expects.
set -euo pipefail
dir=${1:?usage: make-busybox-rootfs.sh DIR}
bb=/bin/busybox
[[ -x $bb ]] || { echo "make-busybox-rootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,run,var/tmp}
chmod 1777 "$dir/tmp" "$dir/var/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
  [[ -e "$dir/bin/$applet" ]] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
echo proxmox-lxcri >"$dir/etc/hostname"
