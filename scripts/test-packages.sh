#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packages, shown to work where none of the build's tools are:
#  1. scripts/build-packages.sh builds dist/ (jar + sources + javadoc + pom, wheel, sdist, .debs);
#     examples/java is built against the installed jar by its Maven coordinates;
#  2. readelf -d over every ELF object in the jar and in the wheel: each may need only
#     glibc's own libraries or objects carried beside it (and the jar's have RUNPATH $ORIGIN);
#     the glibc floor is the newest GLIBC_ symbol version they need;
#  3. the Python suite runs against the installed wheel, the Java suite against the built jar;
#  4. a minimal Debian 12 root file system (scripts/make-rootfs.sh: debootstrap minbase +
#     openjdk-17-jre-headless + python3/python3-venv, built once per machine and cached) is
#     copied, and inside it (chroot; the emulator runs outside on loopback):
#       - the jar alone on the class path (with the example) runs the documented flow to Success;
#       - the wheel installs into a fresh venv with pip --no-index and validates a request;
#       - apt-get installs the .debs with their dependencies and `intune-scep check` passes.
#
#   scripts/test-packages.sh [--no-build]    (--no-build: use dist/ as it is)
# Needs root (chroot, mount). Downloaded .debs are kept in the root file system's cache
# directory (…/apt-archives) so later runs install from there.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${INTUNE_SCEP_PACKAGES_BUILD:-$ROOT/build-packages}
DIST=$ROOT/dist
VERSION=$(cat "$ROOT/VERSION")
PYTHON=${PYTHON:-python3}
CACHE=${INTUNE_SCEP_ROOTFS_CACHE:-/var/cache/intune-scep-rootfs}
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }
cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "test-packages.sh: needs root (debootstrap, mount, chroot)" >&2; exit 2; }

if [ "${1:-}" != --no-build ]; then
  step "building the packages"
  scripts/build-packages.sh
fi
jar="$DIST/intune-scep-$VERSION.jar"
wheel=$(ls "$DIST"/intune_scep-"$VERSION"-*manylinux*.whl)
[ -f "$jar" ] && [ -f "$wheel" ] || { echo "dist/ lacks the jar or the wheel" >&2; exit 1; }

step "examples/java: built against io.github.intunescep:intune-scep:$VERSION from the local Maven repository"
(cd examples/java && mvn -B -q -ntp -Dstyle.color=never -Dintune-scep.version="$VERSION" clean package)
example_jar="$ROOT/examples/java/target/intune-scep-example-1.0.jar"

step "readelf -d: every object of the jar and of the wheel needs only glibc or objects beside it"
GLIBC_RE='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'
check_objects() {  # $1: label, $2: directory holding the unpacked archive
  local label=$1 dir=$2 bad=0 n=0 floor="2.0"
  local -A carried=()
  while IFS= read -r f; do carried[$(basename "$f")]=1; done < <(find "$dir" -type f)
  while IFS= read -r f; do
    head -c4 "$f" | grep -q $'^\x7fELF' || continue
    n=$((n + 1))
    local needed runpath rel=${f#"$dir"/}
    needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    runpath=$(readelf -d "$f" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
    for lib in $needed; do
      if [[ "$lib" =~ $GLIBC_RE ]] || [ -n "${carried[$lib]:-}" ]; then continue; fi
      echo "  $label: $rel needs $lib, which is neither glibc nor carried" >&2
      bad=1
    done
    # the object the JVM or Python loads must say where the carried objects are
    case "$rel" in
      com/microsoft/intune/scepvalidation/native/*/libintunescep_jni.so|intune_scep/_native*.so)
        [ -n "$runpath" ] || { echo "  $label: $rel has no RUNPATH/RPATH" >&2; bad=1; } ;;
    esac
    local v
    v=$(readelf --version-info "$f" | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: GLIBC_//' | sort -V | tail -1)
    [ -n "$v" ] && floor=$(printf '%s\n%s\n' "$floor" "$v" | sort -V | tail -1)
    printf '  %-58s R(UN)PATH=%-24s NEEDED: %s\n' "$rel" "${runpath:--}" "$needed"
  done < <(find "$dir" -type f | sort)
  echo "$label: $n ELF objects; glibc floor GLIBC_$floor"
  [ "$n" -gt 1 ] || { echo "$label: expected the library and its shared objects, found $n objects" >&2; bad=1; }
  return $bad
}
rm -rf "$BUILD/unpacked"
mkdir -p "$BUILD/unpacked/jar" "$BUILD/unpacked/wheel"
"$PYTHON" -m zipfile -e "$jar" "$BUILD/unpacked/jar"
"$PYTHON" -m zipfile -e "$wheel" "$BUILD/unpacked/wheel"
check_objects jar "$BUILD/unpacked/jar"
check_objects wheel "$BUILD/unpacked/wheel"

step "the Python suite against the installed wheel (python/tests)"
SUITEVENV="$BUILD/suite-venv"
rm -rf "$SUITEVENV"
"$PYTHON" -m venv "$SUITEVENV"
"$SUITEVENV/bin/python" -m pip install -q --disable-pip-version-check "$wheel[test]"
(cd "$BUILD" && INTUNE_SCEP_TEST_INSTALLED=1 "$SUITEVENV/bin/python" -m pytest -q -p no:cacheprovider \
  --rootdir "$ROOT/python" "$ROOT/python/tests")

step "the Java suite against the built jar (java/src/test)"
(cd java && mvn -B -q -ntp -Dstyle.color=never -Drevision="$VERSION" -Dintunescep.native.dir="$BUILD/java-native/java" \
  -Dintunescep.test.against="$jar" test)

step "the Debian 12 root file system (cached under $CACHE)"
tree=$(scripts/make-rootfs.sh | tail -1)
work="$BUILD/rootfs"
overlay="$BUILD/rootfs-overlay"
cleanup() {
  for m in var/cache/apt/archives dev/pts dev proc; do
    if mountpoint -q "$work/$m" 2>/dev/null; then umount -l "$work/$m" || true; fi
  done
  if mountpoint -q "$work" 2>/dev/null; then umount -l "$work" || true; fi
  # the copy held the test configuration (the emulator's test secret): nothing stays behind
  if ! mountpoint -q "$work" 2>/dev/null; then rm -rf "$work" "$overlay"; fi
}
trap cleanup EXIT
cleanup
rm -rf "$work" "$overlay"
mkdir -p "$work" "$overlay/upper" "$overlay/work"
# a throw-away copy: an overlay on the cached tree (a plain copy where overlayfs is not available)
if ! mount -t overlay overlay -o "lowerdir=$tree,upperdir=$overlay/upper,workdir=$overlay/work" "$work" 2>/dev/null; then
  echo "(no overlayfs: copying the root file system)"
  cp -a "$tree/." "$work/"
fi
mkdir -p "$CACHE/apt-archives/partial"
mount -t proc proc "$work/proc"
mount --bind /dev "$work/dev"
mount --bind /dev/pts "$work/dev/pts"
mount --bind "$CACHE/apt-archives" "$work/var/cache/apt/archives"
cp /etc/resolv.conf "$work/etc/resolv.conf"

step "the emulator on the host: the wheel with its [emulator] extra in a venv"
HOSTVENV="$BUILD/host-venv"
rm -rf "$HOSTVENV"
"$PYTHON" -m venv "$HOSTVENV"
"$HOSTVENV/bin/python" -m pip install -q --disable-pip-version-check "$wheel[emulator]"

step "the checks inside the root file system"
"$HOSTVENV/bin/python" "$ROOT/scripts/package_checks.py" "$work" "$DIST" "$example_jar" "$VERSION"
step "done"
