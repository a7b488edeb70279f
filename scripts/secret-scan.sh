#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fail when a test secret or bearer token appears in anything the test suites
# printed or left behind.
#
#   scripts/secret-scan.sh [PATH...]
#
# Scanned (besides any PATH given): every file under
# ${INTUNE_SCEP_ARTIFACTS:-build-artifacts}/ (each test script writes what it
# prints there), the logs ctest keeps (build*/Testing/Temporary/*.log), JUnit
# reports (java/target/surefire-reports, failsafe-reports), JVM crash reports
# (hs_err_pid*.log, replay_pid*.log), core files (core, core.<pid>) and the fuzzers'
# crash artifacts under the repository.
#
# Looked for: the emulator's generated client secret ("Emu~" + 24 characters + "+/=.",
# also form-encoded), the emulator's bearer tokens ("EmuTok-" + 43 characters), and
# the recognisable secrets the test suites configure (app keys, proxy passwords,
# key passwords; listed below). More values: SECRET_SCAN_VALUES=<file with one
# per line>; more extended regular expressions: SECRET_SCAN_PATTERNS=<file>.
#
# A finding prints the file and line number only, never the secret. Exit 1 when
# anything was found, 0 when clean, 2 when there was nothing to scan.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ART="${INTUNE_SCEP_ARTIFACTS:-$ROOT/build-artifacts}"

work="$(mktemp -d "${TMPDIR:-/tmp}/secret-scan.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Extended regular expressions (one per line).
cat >"$work/patterns" <<'PAT'
Emu~[A-Za-z0-9_-]{24}\+/=\.
Emu%7[Ee][A-Za-z0-9_-]{24}%2[Bb]%2[Ff]%3[Dd]\.
EmuTok-[A-Za-z0-9_-]{20,}
EmuIdh-[A-Za-z0-9_-]{20,}
PropKey-[A-Za-z0-9]{20,}
PAT
[ -n "${SECRET_SCAN_PATTERNS:-}" ] && cat "$SECRET_SCAN_PATTERNS" >>"$work/patterns"

# Fixed strings: the secrets the C, Python, Java and CLI tests set on purpose so a
# leak is recognisable (keep in step with the tests).
cat >"$work/values" <<'VAL'
Harden~AppSecret+/=7Kq2vX9wLm4pRt8z
Harden~SoakSecret+/=Qw3rTy9Zx8Lk2
Sx~9+/=kEy.Do-Not-Print-7Q
Pr0xy~Pass+/=Never-Shown
Pr0xy~S3cret/+=
K3y~Passw0rd
Wrong~Secret+/=123
r0tated~Secret+With/Form=Chars&x
wr0ng~Pass
definitely-not-the-key~+/=
FreeScan~
Wrong~Header
VAL
[ -n "${SECRET_SCAN_VALUES:-}" ] && cat "$SECRET_SCAN_VALUES" >>"$work/values"
# The form-encoded spelling of each value too (as a token request body carries it).
python3 - "$work/values" >>"$work/values.enc" <<'PY' 2>/dev/null || true
import sys, urllib.parse
for line in open(sys.argv[1], encoding="utf-8"):
    v = line.rstrip("\n")
    if v:
        e = urllib.parse.quote(v, safe="")
        for form in {e, e.replace("~", "%7E"), e.replace("~", "%7e")}:
            if form != v:
                print(form)
PY
cat "$work/values.enc" >>"$work/values" 2>/dev/null
sed -i '/^$/d' "$work/values"

# What to scan (NUL-separated file list).
: >"$work/files"
add_tree() { [ -e "$1" ] && find "$1" -type f -print0 >>"$work/files"; }
add_tree "$ART"
for p in "$@"; do add_tree "$p"; done
find "$ROOT" -maxdepth 2 -type d -name 'build*' -prune -print0 2>/dev/null | while IFS= read -r -d '' b; do
  [ -d "$b/Testing/Temporary" ] && find "$b/Testing/Temporary" -type f -name '*.log' -print0
  find "$b" -type f \( -name 'core' -o -name 'core.[0-9]*' -o -path '*/fuzz-artifacts/*' \) -print0 2>/dev/null
done >>"$work/files"
for d in java/target/surefire-reports java/target/failsafe-reports; do add_tree "$d"; done
find "$ROOT" -maxdepth 3 -type f \( -name 'hs_err_pid*.log' -o -name 'replay_pid*.log' -o -name 'core' -o -name 'core.[0-9]*' \) \
  -not -path '*/.git/*' -print0 2>/dev/null >>"$work/files"

count=$(tr -cd '\0' <"$work/files" | wc -c)
if [ "$count" -eq 0 ]; then
  echo "secret-scan: nothing to scan (no $ART, no test logs): run the tests first" >&2
  exit 2
fi

# grep prints file:line:content; only file:line is kept, so the secret never reaches the terminal.
sort -zu "$work/files" | xargs -0 -r grep -a -n -H -E -f "$work/patterns" -- 2>/dev/null | cut -d: -f1,2 >"$work/hits"
sort -zu "$work/files" | xargs -0 -r grep -a -n -H -F -f "$work/values" -- 2>/dev/null | cut -d: -f1,2 >>"$work/hits"
sort -u -o "$work/hits" "$work/hits"
found=$(wc -l <"$work/hits")
if [ "$found" -ne 0 ]; then
  echo "secret-scan: FAILED: a secret or token appears in $found place(s) (file:line; the value is not shown):"
  sed 's/^/  /' "$work/hits"
  exit 1
fi
echo "secret-scan: clean ($count files scanned for $(wc -l <"$work/patterns") patterns and $(wc -l <"$work/values") values)"
