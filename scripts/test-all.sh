#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every test of intune-scep, from a fresh clone: the C suite (plain, ASan+UBSan,
# valgrind), the hardening suite (fault matrix, soak, TSan, fuzz smoke, the Python
# extension under ASan+UBSan), the Python and Java packages, the CLI, the SCEP server
# with real SCEP clients, the demo, the built packages (jar, wheel, .deb on a minimal
# Debian 12 root file system: needs root), the benchmark smoke run, and the secret scan
# over everything the steps printed. Each step's output is kept under
# $INTUNE_SCEP_ARTIFACTS (default build-artifacts/). Exits non-zero when any step failed.
#
#   scripts/test-all.sh            every step
#   scripts/test-all.sh c python   only the named steps
#   INTUNE_SCEP_SKIP_INSTALL=1     do not run scripts/install-deps.sh first
set -uo pipefail
cd "$(dirname "$0")/.."
export INTUNE_SCEP_ARTIFACTS="${INTUNE_SCEP_ARTIFACTS:-$PWD/build-artifacts}"
mkdir -p "$INTUNE_SCEP_ARTIFACTS"

declare -A STEP=(
  [c]="scripts/test-c.sh"
  [asan]="scripts/test-c.sh asan"
  [valgrind]="scripts/test-c.sh valgrind"
  [hardening]="scripts/test-hardening.sh all"
  [python]="scripts/test-python.sh"
  [java]="scripts/test-java.sh"
  [server]="scripts/test-server.sh"
  [demo]="scripts/demo.sh"
  [packages]="scripts/test-packages.sh"
  [bench]="bench/run --quick"
  [secrets]="scripts/secret-scan.sh"
)
ORDER=(c asan valgrind hardening python java server demo packages bench secrets)
[ "$#" -gt 0 ] && ORDER=("$@")

# What the steps need (idempotent: nothing happens when all is installed).
if [ "${INTUNE_SCEP_SKIP_INSTALL:-0}" != 1 ]; then
  scripts/install-deps.sh || { echo "test-all.sh: installing the dependencies failed" >&2; exit 2; }
fi

failed=()
summary=()
for name in "${ORDER[@]}"; do
  cmd="${STEP[$name]:-}"
  if [ -z "$cmd" ]; then
    echo "unknown step: $name (steps: ${!STEP[*]})" >&2
    exit 2
  fi
  echo
  echo "=== [$name] $cmd"
  start=$(date +%s)
  # shellcheck disable=SC2086
  bash -c "$cmd" 2>&1 | tee "$INTUNE_SCEP_ARTIFACTS/$name.log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  if [ "$rc" -eq 0 ]; then
    summary+=("ok      $name (${secs}s)")
  else
    summary+=("FAILED  $name (${secs}s, exit $rc)")
    failed+=("$name")
  fi
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed steps: ${failed[*]}"
  exit 1
fi
echo "all steps passed"
