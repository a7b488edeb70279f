#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build intune-scep-server and run its tests: the real SCEP clients Debian ships
# (strongSwan's `pki --scep`, micromdm's `scepclient`) enroll through the server
# against the Intune emulator on 127.0.0.1 (server/tests, pytest, CTest label "server").
#
#   scripts/test-server.sh            build-test/ (warnings as errors), the server tests
#   scripts/test-server.sh asan       build-asan/ (ASan + UBSan): the same tests with the
#                                     server built with the sanitizers (a report fails its exit)
#   scripts/test-server.sh [mode] -- ARGS   extra ctest arguments
#
# Needs libmicrohttpd-dev, libsqlite3-dev, libpq-dev, postgresql (the fleet test starts its own
# PostgreSQL on 127.0.0.1), strongswan-pki, libstrongswan-extra-plugins and scep
# (scripts/install-deps.sh). BUILD_DIR overrides the build directory; JOBS the -j (2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=plain
if [ "$#" -gt 0 ] && [ "$1" != "--" ]; then MODE="$1"; shift; fi
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
JOBS="${JOBS:-2}"

for tool in pki scepclient; do
  command -v "$tool" >/dev/null || { echo "test-server.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 2; }
done

CMAKE_ARGS=(-DINTUNE_SCEP_WERROR=ON -DINTUNE_SCEP_BUILD_TESTS=ON -DINTUNE_SCEP_BUILD_JAVA=OFF)
case "$MODE" in
  plain) BUILD="${BUILD_DIR:-$ROOT/build-test}" ;;
  asan)
    BUILD="${BUILD_DIR:-$ROOT/build-asan}"
    CMAKE_ARGS+=(-DINTUNE_SCEP_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DINTUNE_SCEP_BUILD_BENCH=OFF)
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test-server.sh: unknown mode '$MODE' (plain, asan)" >&2; exit 2 ;;
esac

echo "== configure $BUILD ($MODE)"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" "${CMAKE_ARGS[@]}" >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log" >&2; exit 1; }
echo "== build"
cmake --build "$BUILD" -j "$JOBS" --target intune-scep-server intune-scep scep_tool
echo "== ctest -L server ${EXTRA[*]:-}"
cd "$BUILD"
ctest --output-on-failure -L server "${EXTRA[@]}"
