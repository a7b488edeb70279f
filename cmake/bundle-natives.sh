#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Puts a native library and every shared object it needs beyond glibc into one
# directory, each with the run path $ORIGIN, so the directory can move as a whole
# (the jar carries it under com/microsoft/intune/scepvalidation/native/<os>-<arch>/
# and NativeLoader extracts it together). Writes libraries.list there: the file names, the library itself last.
#
#   cmake/bundle-natives.sh LIBRARY OUT_DIR
#
# The closure is what the dynamic loader resolves on this machine (ldd). glibc's
# own libraries are never copied: they must be the host's (the glibc floor is the
# newest GLIBC_ symbol version any of the objects needs).
set -euo pipefail
lib=$1
out=$2
command -v patchelf >/dev/null || { echo "bundle-natives.sh: patchelf is needed (apt-get install patchelf)" >&2; exit 1; }

is_glibc() {
  case "$1" in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|libanl.so.*) return 0 ;;
    ld-linux*.so.*|ld64.so.*|linux-vdso.so.*|linux-gate.so.*) return 0 ;;
  esac
  return 1
}

rm -rf "$out"
mkdir -p "$out"
deps=()
while read -r name arrow path _; do
  [ -n "$name" ] || continue
  name=${name##*/}
  if is_glibc "$name"; then
    continue
  fi
  if [ "$arrow" != "=>" ] || [ "$path" = "not" ] || [ ! -f "$path" ]; then
    echo "bundle-natives.sh: $lib needs $name, which the dynamic loader cannot find" >&2
    exit 1
  fi
  cp -L "$path" "$out/$name"
  deps+=("$name")
done < <(ldd "$lib")

base=$(basename "$lib")
cp -L "$lib" "$out/$base"
# Debug sections stay in the build tree; the symbol table stays for stack traces.
strip --strip-debug "$out/$base"
for f in "${deps[@]}" "$base"; do
  chmod 0644 "$out/$f"
  patchelf --set-rpath '$ORIGIN' "$out/$f"
done
printf '%s\n' "${deps[@]}" "$base" >"$out/libraries.list"
echo "bundled $base with ${#deps[@]} shared objects into $out"
