#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A minimal Debian 12 root file system for the package tests (scripts/test-packages.sh):
# debootstrap --variant=minbase, plus only a JRE (openjdk-17-jre-headless) and
# python3/python3-venv, with --no-install-recommends. Built once per machine and
# kept under $INTUNE_SCEP_ROOTFS_CACHE (default /var/cache/intune-scep-rootfs);
# later runs reuse it. Prints the path of the finished tree on its last line.
#
#   scripts/make-rootfs.sh            build it unless it is there
#   scripts/make-rootfs.sh --rebuild  build it again
#
# Needs root, debootstrap, and the Debian mirror of this machine's APT sources
# (INTUNE_SCEP_DEBIAN_MIRROR overrides it; default http://deb.debian.org/debian).
set -euo pipefail
CACHE=${INTUNE_SCEP_ROOTFS_CACHE:-/var/cache/intune-scep-rootfs}
SUITE=bookworm
TREE="$CACHE/$SUITE-minbase-jre-python"
STAMP="$TREE/.intune-scep-rootfs-complete"
PACKAGES="openjdk-17-jre-headless python3 python3-venv"

if [ "${1:-}" = --rebuild ]; then
  rm -rf "$TREE"
fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PACKAGES" ]; then
  echo "root file system cached: $TREE" >&2
  echo "$TREE"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "make-rootfs.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "make-rootfs.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }

mirror=${INTUNE_SCEP_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # the first Debian (not -security) URI of this machine's deb822 or one-line sources
  mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | grep '/debian/\?$' | head -1 || true)
  [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

rm -rf "$TREE" "$TREE.partial"
mkdir -p "$CACHE"
work="$TREE.partial"
echo "debootstrap --variant=minbase $SUITE from $mirror (once per machine)" >&2
debootstrap --variant=minbase "$SUITE" "$work" "$mirror" >&2

cleanup() {
  for m in proc dev/pts dev; do
    mountpoint -q "$work/$m" && umount -l "$work/$m"
  done
  return 0
}
trap cleanup EXIT
mount -t proc proc "$work/proc"
mount --bind /dev "$work/dev"
mount --bind /dev/pts "$work/dev/pts"
cp /etc/resolv.conf "$work/etc/resolv.conf"
chroot "$work" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES && apt-get clean" >&2
cleanup
trap - EXIT
echo "$PACKAGES" >"$work/.intune-scep-rootfs-complete"
mv "$work" "$TREE"
echo "root file system built: $TREE ($(du -sh "$TREE" | cut -f1))" >&2
echo "$TREE"
