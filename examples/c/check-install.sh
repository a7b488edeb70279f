#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A C user's first hour, as a test: install the library from BUILD_DIR into a custom
# prefix, build the README's example against it as users do (CMake's find_package,
# pkg-config with a run path, pkg-config --static, the archive), run it against the Intune
# emulator with the secret from the environment, and check that a project including this
# one with add_subdirectory does not build its tests and benchmarks.
#   check-install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
prefix=$(mktemp -d)
emu_pid=
cleanup() {
  [ -n "$emu_pid" ] && { exec 9>&- 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; }
  rm -rf "$prefix"
}
trap cleanup EXIT
cmake --install "$build" --prefix "$prefix/usr" > /dev/null
test -f "$prefix/usr/include/intune_scep.h"
libdir=$(dirname "$(find "$prefix/usr" -name 'intunescep.pc' | head -n1)")   # .../lib/pkgconfig
lib=$(dirname "$libdir")

# 1. CMake: find_package through CMAKE_PREFIX_PATH; CMake gives the program a run path.
cmake -S "$src/examples/c" -B "$prefix/example" -DCMAKE_PREFIX_PATH="$prefix/usr" > /dev/null
cmake --build "$prefix/example" > /dev/null
"$prefix/example/validate_and_notify" > /dev/null 2>&1 && exit 1 || true   # usage error without arguments

# 2. pkg-config through PKG_CONFIG_PATH, with a run path so no LD_LIBRARY_PATH is needed.
PKG_CONFIG_PATH="$libdir" cc -std=c11 -Wall -Wextra -Werror -o "$prefix/example-pc" "$src/examples/c/validate_and_notify.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs intunescep) -Wl,-rpath,"$lib"
out=$(env -u LD_LIBRARY_PATH "$prefix/example-pc" 2>&1 || true)
grep -q usage <<<"$out"
# Without the run path (nor ldconfig, nor LD_LIBRARY_PATH) the loader cannot find the library:
# the README says so.
cc -std=c11 -o "$prefix/example-norpath" "$src/examples/c/validate_and_notify.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs intunescep)
out=$(env -u LD_LIBRARY_PATH "$prefix/example-norpath" 2>&1 || true)
grep -q "libintunescep.so.1" <<<"$out"

# 3. pkg-config --static: the line links (libcurl's own static dependencies included).
PKG_CONFIG_PATH="$libdir" cc -std=c11 -o "$prefix/example-pcstatic" "$src/examples/c/validate_and_notify.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --static --cflags --libs intunescep) -Wl,-rpath,"$lib"

# 4. The archive, its dependencies shared.
cc -std=c11 -o "$prefix/example-static" "$src/examples/c/validate_and_notify.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags intunescep) "$lib/libintunescep.a" \
  $(pkg-config --libs libcurl openssl libcjson) -lpthread
! ldd "$prefix/example-static" | grep -q libintunescep

# 5. Run it: the emulator stands in for Intune; the app key comes from the environment.
exec 9> >(cd "$prefix" && PYTHONPATH="$src/python" exec python3 -m intune_scep.emulator --exit-on-stdin-eof \
  --properties-out "$prefix/emu.properties" > "$prefix/emu.json" 2> "$prefix/emu.log")
emu_pid=$!
for _ in $(seq 600); do [ -s "$prefix/emu.json" ] && break; sleep 0.1; done
[ -s "$prefix/emu.json" ] || { cat "$prefix/emu.log" >&2; exit 1; }
emu() { PYTHONPATH="$src/python" python3 -m intune_scep.emulator "$@"; }
emu make-csr --properties "$prefix/emu.properties" --subject "CN=first-hour,O=Contoso" > "$prefix/device.csr"
emu sign --csr "$prefix/device.csr" > "$prefix/issued.pem"
app_key=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["config"]["AAD_APP_KEY"])' "$prefix/emu.json")
grep -v '^AAD_APP_KEY=' "$prefix/emu.properties" > "$prefix/intune.properties"
for prog in example/validate_and_notify example-pc example-static; do
  # without the variable, the configuration names the missing key
  out=$(env -u LD_LIBRARY_PATH "$prefix/$prog" "$prefix/intune.properties" "tx-$prog" "$prefix/device.csr" \
        "$prefix/issued.pem" 2>&1) && exit 1
  grep -q AAD_APP_KEY <<<"$out"
  out=$(env -u LD_LIBRARY_PATH INTUNE_SCEP_AAD_APP_KEY="$app_key" "$prefix/$prog" "$prefix/intune.properties" \
        "tx-$prog" "$prefix/device.csr" "$prefix/issued.pem")
  grep -q "validated, issued and notified" <<<"$out"
done
# A request Intune refuses: nothing is issued, the certificate file is never read.
emu make-csr --properties "$prefix/emu.properties" --subject "CN=first-hour,O=Contoso" \
  --csr-subject "CN=mallory,O=Contoso" > "$prefix/bad.csr"
out=$(INTUNE_SCEP_AAD_APP_KEY="$app_key" "$prefix/example-pc" "$prefix/intune.properties" tx-bad "$prefix/bad.csr" \
      /nonexistent/issued.pem 2>&1) && exit 1
grep -q "validateRequest: not issuing: INTUNE_SCEP_E_REJECTED" <<<"$out"
grep -q SubjectNameMismatch <<<"$out"
! grep -q /nonexistent <<<"$out"

# 6. Included by another project: no tests, no benchmarks built by default.
mkdir -p "$prefix/parent"
cat > "$prefix/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(parent C)
add_subdirectory("$src" intune-scep)
CMAKE
cmake -S "$prefix/parent" -B "$prefix/parent/build" > /dev/null
grep -q '^INTUNE_SCEP_BUILD_TESTS:BOOL=OFF' "$prefix/parent/build/CMakeCache.txt"
grep -q '^INTUNE_SCEP_BUILD_BENCH:BOOL=OFF' "$prefix/parent/build/CMakeCache.txt"

echo "installed into a custom prefix: built with find_package, pkg-config (run path), pkg-config --static and"
echo "the archive; validated, issued and notified against the emulator; tests and benchmarks off when included"
