#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The emulator's own distribution (emulator/): build its wheel, check it is pure Python,
# install it into a fresh virtualenv with no compiler reachable, and check that it serves:
# the command line (serve --properties-out, make-csr, sign), a token and a validateRequest
# over HTTPS trusting only its CA, and its pytest fixtures without any conftest.py.
#   emulator/check-dist.sh [WORK_DIR]     (default build-emulator/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$ROOT/build-emulator}"
PYTHON="${PYTHON:-python3}"
PIP_FLAGS=(-q --disable-pip-version-check)
rm -rf "$WORK" && mkdir -p "$WORK/bin"

echo "== the wheel"
"$PYTHON" -m pip wheel "${PIP_FLAGS[@]}" --no-deps --no-build-isolation -w "$WORK/dist" "$ROOT/emulator" \
  2>/dev/null || "$PYTHON" -m pip wheel "${PIP_FLAGS[@]}" --no-deps -w "$WORK/dist" "$ROOT/emulator"
rm -rf "$ROOT/emulator/build" "$ROOT/emulator/"*.egg-info
wheel=$(ls "$WORK"/dist/intune_scep_emulator-*-py3-none-any.whl)
listing=$("$PYTHON" -m zipfile -l "$wheel")
if grep -Eq '\.(so|pyd|c)( |$)' <<<"$listing"; then echo "the wheel holds a native part:"; echo "$listing"; exit 1; fi
if grep -q 'intune_scep/__init__.py' <<<"$listing"; then echo "the wheel must not own intune_scep/__init__.py"; exit 1; fi
grep -q 'intune_scep/emulator/__main__.py' <<<"$listing" || { echo "the wheel lacks the emulator"; exit 1; }

echo "== a fresh virtualenv, no compiler reachable"
"$PYTHON" -m venv "$WORK/venv"
# Every compiler name fails: were anything to be compiled, the install would fail.
for cc in cc gcc g++ c++ clang x86_64-linux-gnu-gcc; do printf '#!/bin/sh\nexit 1\n' > "$WORK/bin/$cc"; chmod +x "$WORK/bin/$cc"; done
PATH="$WORK/bin:$PATH" CC=false CXX=false "$WORK/venv/bin/python" -m pip install "${PIP_FLAGS[@]}" --only-binary=:all: \
  "$wheel[pytest]"

cd "$WORK"
echo "== it serves"
coproc EMU { "$WORK/venv/bin/intune-scep-emulator" --properties-out "$WORK/emu.properties" --exit-on-stdin-eof; }
read -r -u "${EMU[0]}" info
test "$(stat -c %a "$WORK/emu.properties")" = 600
"$WORK/venv/bin/intune-scep-emulator" make-csr --properties "$WORK/emu.properties" --subject "CN=dist" \
  --format base64 > "$WORK/device.b64"
"$WORK/venv/bin/intune-scep-emulator" sign --csr "$WORK/device.b64" > "$WORK/issued.pem"
grep -q "BEGIN CERTIFICATE" "$WORK/issued.pem"
INFO="$info" "$WORK/venv/bin/python" - "$WORK/device.b64" <<'PY'
import http.client, json, os, ssl, sys, urllib.parse
info = json.loads(os.environ["INFO"])
cfg = info["config"]
ctx = ssl.create_default_context(cafile=info["ca_file"])
u = urllib.parse.urlsplit(info["base_url"])
def post(path, body, headers):
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, json.loads(r.read())
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": cfg["AAD_APP_ID"],
                               "client_secret": cfg["AAD_APP_KEY"],
                               "scope": cfg["INTUNE_RESOURCE_URL"] + "/.default"})
st, tok = post("/%s/oauth2/v2.0/token" % cfg["TENANT"], form, {"Content-Type": "application/x-www-form-urlencoded"})
assert st == 200 and tok["access_token"], (st, tok)
from intune_scep.emulator.client import ControlClient
ctl = ControlClient(info["control_url"], info["ca_file"])
assert ctl.stats()["token_requests"]["intune"] == 1  # the control API answers
csr = open(sys.argv[1]).read().strip()
st, ans = post("/ScepRequestValidationFEService/ScepActions/validateRequest",
               json.dumps({"request": {"transactionId": "dist-1", "certificateRequest": csr, "callerInfo": "dist/1"}}),
               {"Authorization": "Bearer " + tok["access_token"], "Content-Type": "application/json",
                "api-version": "2018-02-20", "client-request-id": "0f0f0f0f-0000-4000-8000-000000000001",
                "UserAgent": "dist/1"})
assert st == 200 and ans["code"] == "Success", (st, ans)
try:
    from intune_scep import IntuneScepServiceClient  # noqa: F401
except ImportError:
    pass
else:
    raise AssertionError("the emulator's distribution must not carry the native client")
print("the emulator distribution serves: token, validateRequest Success at", info["base_url"])
PY
exec {EMU[1]}>&-
wait "$EMU_PID"

echo "== its pytest fixtures, with no conftest.py"
mkdir -p "$WORK/plugin-test"
cat > "$WORK/plugin-test/test_fixture.py" <<'PY'
def test_fixture_is_there(intune_emulator):
    assert intune_emulator.config["AUTH_AUTHORITY"] == intune_emulator.base_url
    assert intune_emulator.issue_challenge(subject="CN=x")["challenge"]
PY
(cd "$WORK/plugin-test" && "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider test_fixture.py)
echo "emulator distribution: pure-Python wheel, installed without a compiler, serves"
