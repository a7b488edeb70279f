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
#   scripts/test-hardening.sh python-asan  the Python extension (the core, SWIG's wrapper and the call gate)
#                                          built with ASan+UBSan into build-pyasan/venv, and python/tests
#                                          run against it with the sanitizer runtimes preloaded
#   scripts/test-hardening.sh all          all five, in that order (default)
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

python_asan() {
  echo "== Python extension under ASan+UBSan: build-pyasan/venv, python/tests"
  local venv="$ROOT/build-pyasan/venv" flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  local asan ubsan
  asan="$(gcc -print-file-name=libasan.so)"; ubsan="$(gcc -print-file-name=libubsan.so)"
  [ -f "$asan" ] && [ -f "$ubsan" ] || { echo "gcc's libasan.so/libubsan.so not found"; return 1; }
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "pytest>=7" requests || return 1
  CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir "$ROOT/python[test]" || return 1
  local symbols
  symbols="$(nm -D "$venv"/lib/python3*/site-packages/intune_scep/_native*.so)" || return 1
  grep -q __asan_init <<<"$symbols" || { echo "the extension was not built with ASan"; return 1; }
  # The runtimes come first (LD_PRELOAD: python itself is not instrumented); Python's own allocator
  # is off so that ASan sees every block. Leak detection is off: the interpreter keeps objects to the
  # end. test_swig_copies_of_secrets_are_wiped preloads its own free() interposer, which cannot
  # come before ASan's: it runs in the python step. Any report aborts the interpreter, so the run
  # fails; pytest holds the process's stderr then, so the reports go to files, printed here.
  local logs="$ART/hardening/python-asan-reports" rc
  rm -rf "$logs"; mkdir -p "$logs"
  (cd "$ROOT/build-pyasan" && env LD_PRELOAD="$asan $ubsan" PYTHONMALLOC=malloc \
     ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
     UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" INTUNE_SCEP_TEST_INSTALLED=1 \
     "$venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$ROOT/python" "$ROOT/python/tests" \
       -k "not test_swig_copies_of_secrets_are_wiped")
  rc=$?
  if [ -n "$(ls -A "$logs")" ]; then
    echo "sanitizer reports:"; cat "$logs"/*; return 1
  fi
  return "$rc"
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
  fuzz-smoke|matrix|soak|tsan|python-asan) run "$cmd" ;;
  all)
    failed=()
    for step in fuzz-smoke matrix soak tsan python-asan; do run "$step" || failed+=("$step"); done
    if [ ${#failed[@]} -ne 0 ]; then echo "hardening: FAILED: ${failed[*]}"; exit 1; fi
    echo "hardening: all passed" ;;
  *) echo "usage: $0 fuzz-smoke|matrix|soak|tsan|python-asan|all" >&2; exit 2 ;;
esac
