#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every libFuzzer harness for a bounded time.
#
#   fuzz/run.sh [BUILD_DIR] [SECONDS_EACH] [FUZZER...]
#
# BUILD_DIR (default build-fuzz) must hold the fuzzers (configure with
# CC=clang -DINTUNE_SCEP_BUILD_FUZZ=ON; `scripts/test-hardening.sh fuzz-smoke` does
# both). Each fuzzer starts from its committed seed corpus fuzz/corpus/<name>/
# (never written to: new inputs go to a scratch corpus under the build dir) and
# runs -max_total_time=SECONDS_EACH (default 20, or $FUZZ_SECONDS). A crash,
# leak or broken invariant fails the script; the input is kept under
# BUILD_DIR/fuzz-artifacts/ and its path printed. Extra libFuzzer flags come from
# $FUZZ_FLAGS (e.g. "-runs=1000000"). Output goes to stdout and to
# ${INTUNE_SCEP_ARTIFACTS:-build-artifacts}/fuzz/<name>.log.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build-fuzz}"
seconds="${2:-${FUZZ_SECONDS:-20}}"
shift $(( $# > 2 ? 2 : $# ))
fuzzers=("$@")
if [ ${#fuzzers[@]} -eq 0 ]; then
  fuzzers=(fuzz_properties fuzz_token_answer fuzz_token_error fuzz_discovery fuzz_scep_answer
           fuzz_error_body fuzz_revocation fuzz_cert_details fuzz_csr fuzz_csr_info fuzz_scep_message
           fuzz_json_writer)
fi
artifacts="${INTUNE_SCEP_ARTIFACTS:-build-artifacts}/fuzz"
mkdir -p "$artifacts" "$build/fuzz-artifacts"

dict_for() {
  case "$1" in
    fuzz_properties) echo "$here/properties.dict" ;;
    fuzz_cert_details|fuzz_csr|fuzz_csr_info|fuzz_scep_message|fuzz_json_writer) echo "" ;;
    *) echo "$here/json.dict" ;;
  esac
}

failed=()
for f in "${fuzzers[@]}"; do
  bin="$build/fuzz/$f"
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is missing (build the 'fuzzers' target)" >&2
    failed+=("$f(missing)")
    continue
  fi
  scratch="$build/fuzz-corpus/$f"
  mkdir -p "$scratch"
  dict="$(dict_for "$f")"
  log="$artifacts/$f.log"
  echo "== $f: ${seconds}s from $here/corpus/$f"
  # shellcheck disable=SC2086
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$f-" ${dict:+-dict="$dict"} ${FUZZ_FLAGS:-} \
      "$scratch" "$here/corpus/$f" >"$log" 2>&1
  rc=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tail -3
  grep -E 'DONE|pulse|NEW' "$log" | tail -1
  if [ $rc -ne 0 ]; then
    echo "!! $f failed (exit $rc); see $log"
    grep -E 'ERROR: |invariant broken|SUMMARY|Test unit written to|runtime error' "$log" | head -8
    failed+=("$f")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#fuzzers[@]} fuzzer(s) ran (up to ${seconds}s each) without a crash"
