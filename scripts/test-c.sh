#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the C library and its tests, then run the C suite (CTest) against the Intune
# emulator on 127.0.0.1 (python/intune_scep/emulator; needs python3 with `cryptography`).
#
#   scripts/test-c.sh                 warnings as errors, build-test/, every test but the
#                                     long hardening runs (label "hardening")
#   scripts/test-c.sh asan            ASan + UBSan build in build-asan/, the C suite (tests c_*)
#   scripts/test-c.sh valgrind        the C suite (tests c_*) with each test binary under
#                                     valgrind memcheck (leaks and errors fail), build-valgrind/
#   scripts/test-c.sh tsan            ThreadSanitizer build in build-tsan/, the thread test
#   scripts/test-c.sh [mode] -- ARGS  extra ctest arguments, e.g. -- -R c_calls
#
# BUILD_DIR overrides the build directory of the chosen mode; JOBS the build's -j (2).
# The emulator child process is never run under valgrind or a sanitizer: only the C test
# binaries are (valgrind does not follow children; the sanitizers live in the binary).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=plain
if [ "$#" -gt 0 ] && [ "$1" != "--" ]; then MODE="$1"; shift; fi
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
JOBS="${JOBS:-2}"

CMAKE_ARGS=(-DINTUNE_SCEP_WERROR=ON -DINTUNE_SCEP_BUILD_TESTS=ON -DINTUNE_SCEP_BUILD_JAVA=OFF)
case "$MODE" in
  plain)
    BUILD="${BUILD_DIR:-$ROOT/build-test}"
    CTEST_SELECT=(-LE 'hardening|server')
    ;;
  asan)
    BUILD="${BUILD_DIR:-$ROOT/build-asan}"
    CMAKE_ARGS+=(-DINTUNE_SCEP_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DINTUNE_SCEP_BUILD_BENCH=OFF)
    CTEST_SELECT=(-R '^(c_|cli_)')
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    ;;
  valgrind)
    command -v valgrind >/dev/null || { echo "test-c.sh: valgrind is not installed" >&2; exit 2; }
    BUILD="${BUILD_DIR:-$ROOT/build-valgrind}"
    WRAPPER="valgrind;--tool=memcheck;--error-exitcode=99;--leak-check=full;--show-leak-kinds=definite,indirect,possible"
    WRAPPER+=";--errors-for-leak-kinds=definite,indirect,possible;--track-origins=yes;--num-callers=30"
    WRAPPER+=";--suppressions=$ROOT/tests/valgrind.supp;--gen-suppressions=all"
    CMAKE_ARGS+=(-DCMAKE_BUILD_TYPE=Debug -DINTUNE_SCEP_BUILD_BENCH=OFF "-DINTUNE_SCEP_TEST_WRAPPER=$WRAPPER"
                 -DINTUNE_SCEP_TEST_TIME_SCALE=6)
    CTEST_SELECT=(-R '^c_')
    ;;
  tsan)
    BUILD="${BUILD_DIR:-$ROOT/build-tsan}"
    CMAKE_ARGS+=(-DINTUNE_SCEP_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug -DINTUNE_SCEP_BUILD_BENCH=OFF
                 -DINTUNE_SCEP_BUILD_CLI=OFF -DINTUNE_SCEP_BUILD_SERVER=OFF -DINTUNE_SCEP_TEST_TIME_SCALE=3)
    CTEST_SELECT=(-R '^c_threads$')
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
    ;;
  -h|--help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "test-c.sh: unknown mode '$MODE' (plain, asan, valgrind, tsan)" >&2
    exit 2
    ;;
esac

echo "== configure $BUILD ($MODE)"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" "${CMAKE_ARGS[@]}" >"$BUILD/configure.log" 2>&1 || {
  cat "$BUILD/configure.log" >&2
  exit 1
}
echo "== build"
cmake --build "$BUILD" -j "$JOBS"
echo "== ctest ${CTEST_SELECT[*]} ${EXTRA[*]:-}"
cd "$BUILD"
ctest --output-on-failure "${CTEST_SELECT[@]}" "${EXTRA[@]}"
