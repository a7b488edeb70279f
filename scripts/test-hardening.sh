#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hardening suite of intune-scep.
#
#   scripts/test-hardening.sh fuzz-smoke   build the libFuzzer harnesses with clang (build-fuzz/) and run
#                                          each for FUZZ_SECONDS (default 15) from its seed corpus
#   scripts/test-hardening.sh matrix       the fault matrix (tests/hardening/test_fault_matrix.c), build-hardening/
#   scripts/test-hardening.sh soak         8 threads on one client for SOAK_SECONDS (default 60) while the
#                                          emulator expires tokens and moves the SCEP endpoint
#   scripts/test-hardening.sh tsan         ThreadSanitizer build (build-tsan/, -DINTUNE_SCEP_SANITIZE=thread)
#                                          running every test labelled "threads" (the C thread test and the soak,
#                                          SOAK_SECONDS default 30 there)
#   scripts/test-hardening.sh all          all four, in that order (default)
#
# Each exits non-zero on failure. What each prints is also written to
# ${INTUNE_SCEP_ARTIFACTS:-build-artifacts}/hardening/<subcommand>.log.
# Needs what scripts/install-deps.sh installs (gcc, clang 14 with libclang-rt-14-dev,
# cmake, libcurl, OpenSSL 3, cJSON, python3 with cryptography for the emulator).
# Environment: CC_FUZZ (default clang), CC_TSAN (default cc), JOBS (default 2).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ART="${INTUNE_SCEP_ARTIFACTS:-$ROOT/build-artifacts}"
mkdir -p "$ART/hardening"
JOBS="${JOBS:-2}"

configure() { # dir, cmake args...
  local dir="$1"; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$dir" -DINTUNE_SCEP_WERROR=ON -DINTUNE_SCEP_BUILD_CLI=OFF -DINTUNE_SCEP_BUILD_SERVER=OFF -DINTUNE_SCEP_BUILD_BENCH=OFF "$@" \
      || return 1
  else
    cmake "$dir" "$@" >/dev/null || return 1
  fi
}

fuzz_smoke() {
  echo "== fuzz smoke: clang build in build-fuzz/, ${FUZZ_SECONDS:-15}s per fuzzer"
  local cc="${CC_FUZZ:-clang}"
  if [ ! -f build-fuzz/CMakeCache.txt ]; then
    CC="$cc" cmake -S "$ROOT" -B build-fuzz -DCMAKE_C_COMPILER="$cc" -DINTUNE_SCEP_BUILD_FUZZ=ON \
      -DINTUNE_SCEP_BUILD_TESTS=OFF -DINTUNE_SCEP_BUILD_CLI=OFF -DINTUNE_SCEP_BUILD_SERVER=OFF -DINTUNE_SCEP_BUILD_BENCH=OFF -DINTUNE_SCEP_WERROR=ON \
      || return 1
  fi
  cmake --build build-fuzz --target fuzzers -j"$JOBS" || return 1
  fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-15}"
}

matrix() {
  echo "== fault matrix (build-hardening/)"
  configure build-hardening || return 1
  cmake --build build-hardening -j"$JOBS" --target hardening_fault_matrix || return 1
  (cd build-hardening && ctest -L matrix --no-tests=error --output-on-failure -V)
}

soak() {
  echo "== soak: ${SOAK_SECONDS:-60}s (build-hardening/)"
  configure build-hardening || return 1
  cmake --build build-hardening -j"$JOBS" --target hardening_soak || return 1
  (cd build-hardening && SOAK_SECONDS="${SOAK_SECONDS:-60}" ctest -L soak --no-tests=error --output-on-failure -V)
}

tsan() {
  echo "== ThreadSanitizer: build-tsan/, tests labelled threads"
  local cc="${CC_TSAN:-cc}"
  if [ ! -f build-tsan/CMakeCache.txt ]; then
    CC="$cc" configure build-tsan -DINTUNE_SCEP_SANITIZE=thread -DINTUNE_SCEP_TEST_TIME_SCALE=3 \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
  fi
  cmake --build build-tsan -j"$JOBS" || return 1
  # TSan reports fail the test (exit 66); suppressions none: the library must be clean.
  (cd build-tsan && SOAK_SECONDS="${SOAK_SECONDS:-30}" \
     TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
     ctest -L threads --no-tests=error --output-on-failure -V)
}

run() { # name
  local name="$1" fn="${1//-/_}"
  echo "=== hardening: $name"
  "$fn" 2>&1 | tee "$ART/hardening/$name.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then echo "=== hardening: $name passed"; else echo "=== hardening: $name FAILED (exit $rc)"; fi
  return "$rc"
}

cmd="${1:-all}"
case "$cmd" in
  fuzz-smoke|matrix|soak|tsan) run "$cmd" ;;
  all)
    failed=()
    for step in fuzz-smoke matrix soak tsan; do run "$step" || failed+=("$step"); done
    if [ ${#failed[@]} -ne 0 ]; then echo "hardening: FAILED: ${failed[*]}"; exit 1; fi
    echo "hardening: all passed" ;;
  *) echo "usage: $0 fuzz-smoke|matrix|soak|tsan|all" >&2; exit 2 ;;
esac
