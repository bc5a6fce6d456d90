#!/usr/bin/env bash
# Install the Debian packages a task needs, only those missing; safe to run
# again and again.  Usage: scripts/install-deps.sh [build] [test] [bench] [fuzz] [clients] [storage] [images]
set -euo pipefail

declare -A groups=(
  [build]="meson ninja-build pkg-config gcc lxc lxc-dev libjansson-dev libseccomp-dev libcap-dev libcmocka-dev libpcre2-dev libcurl4-openssl-dev libarchive-dev libssl-dev git"
  [test]="python3 python3-pytest busybox-static runc"
  [bench]="hyperfine runc busybox-static"
  [fuzz]="clang libclang-rt-14-dev"
  [clients]="containerd podman umoci skopeo"
  [storage]="zfs-fuse btrfs-progs"
  [images]="docker-registry skopeo umoci apache2-utils openssl zstd"
)

want=()
for g in "${@:-build}"; do
  [[ -n "${groups[$g]+x}" ]] || { echo "install-deps: unknown group '$g' (build test bench fuzz clients storage images)" >&2; exit 2; }
  for p in ${groups[$g]}; do want+=("$p"); done
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: need root to install packages: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
