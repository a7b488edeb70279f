#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The intune-scep demo: one certificate enrollment, end to end, against the Intune
# emulator on loopback (nothing leaves the machine).
#
#   scripts/demo.sh                 install what is missing, build, run the demo
#   scripts/demo.sh --skip-install  do not run scripts/install-deps.sh (needs root or sudo)
#
# It builds the library and the intune-scep tool into build-demo/ (BUILD_DIR overrides),
# starts the emulator, and plays an Intune-managed device and a SCEP server with its CA:
# Intune issues a challenge -> the device builds its CSR with it -> `intune-scep validate`
# -> the CA signs -> `intune-scep notify-success` -> what Intune recorded; then a CSR asking
# for another subject, which Intune rejects; then `intune-scep check`; then the same through
# intune-scep-server with real SCEP clients: micromdm's scepclient enrolls with a genuine
# challenge, strongSwan's pki asks for another subject and is refused. Exits 0 when every
# step behaved as it should, and stops the emulator and the server whatever happens.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build-demo}"
SKIP_INSTALL=0
for arg in "$@"; do
  case "$arg" in
    --skip-install) SKIP_INSTALL=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [ -t 1 ]; then B=$'\033[1m'; G=$'\033[32m'; R=$'\033[31m'; D=$'\033[2m'; N=$'\033[0m'; else B= G= R= D= N=; fi
say()  { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }
ok()   { printf '   %sok%s  %s\n' "$G" "$N" "$*"; }
die()  { printf '   %sFAILED%s  %s\n' "$R" "$N" "$*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/intune-scep-demo.XXXXXX")"
EMU_PID=""
SRV_PID=""
cleanup() {
  local rc=$?
  exec 3>&-                              # the emulator's stdin: EOF makes it exit
  exec 4>&-                              # the server's stdin, likewise
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
  fi
  if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)

# --------------------------------------------------------------------------
say "0. Prerequisites and build"
if [ "$SKIP_INSTALL" -eq 0 ]; then
  "$ROOT/scripts/install-deps.sh" > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; die "scripts/install-deps.sh (needs root or sudo; or pass --skip-install)"; }
  ok "system packages and Python modules present (scripts/install-deps.sh)"
fi
configure() {
  [ -f "$BUILD/CMakeCache.txt" ] && return 0     # configured before: the build re-runs cmake when needed
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTUNE_SCEP_BUILD_TESTS=OFF \
        -DINTUNE_SCEP_BUILD_BENCH=OFF -DINTUNE_SCEP_BUILD_JAVA=OFF -DINTUNE_SCEP_BUILD_FUZZ=OFF
}
if ! { configure > "$WORK/build.log" 2>&1 &&
       cmake --build "$BUILD" -j2 --target intune-scep intune-scep-server >> "$WORK/build.log" 2>&1; }; then
  tail -40 "$WORK/build.log" >&2
  die "build (cmake, see above)"
fi
CLI="$BUILD/cli/intune-scep"
SERVER="$BUILD/server/intune-scep-server"
ok "built $("$CLI" version) and intune-scep-server into ${BUILD#"$ROOT"/}/"

# --------------------------------------------------------------------------
say "1. Start the Intune emulator (identity platform, Graph and Intune on loopback HTTPS)"
mkfifo "$WORK/emu.stdin"
PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" \
  python3 -m intune_scep.emulator --port 0 --exit-on-stdin-eof < "$WORK/emu.stdin" > "$WORK/emu.json" 2> "$WORK/emu.log" &
EMU_PID=$!
exec 3> "$WORK/emu.stdin"      # held open by this shell: when it goes, the emulator goes
for _ in $(seq 1 300); do
  [ -s "$WORK/emu.json" ] && break
  kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORK/emu.log" >&2; die "the emulator did not start"; }
  sleep 0.1
done
[ -s "$WORK/emu.json" ] || die "the emulator did not start within 30 s"

# One small helper plays the administrator (control API), the device and the CA.
cat > "$WORK/helper.py" <<'PY'
import json, os, ssl, sys, urllib.request
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from intune_scep.emulator.device import TestCA, make_csr

work = os.environ["DEMO_WORK"]
info = json.load(open(os.path.join(work, "emu.json")))
ctx = ssl.create_default_context(cafile=info["ca_file"])

def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(info["control_url"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read() or b"null")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "config":              # the client configuration, written 0600
    fd = os.open(args[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# intune-scep configuration for the emulator (java.util.Properties syntax)\n")
        for k, v in info["config"].items():
            f.write("%s=%s\n" % (k, v.replace("\\", "\\\\")))
    print(info["base_url"])
elif cmd == "challenge":         # Intune issues a challenge for a SCEP profile
    subject, out = args
    ans = control("POST", "challenges", {"subject": subject, "key_size": 2048, "validity_days": 365})
    with open(out, "w") as f:
        f.write(ans["challenge"])
    print(ans["profile_id"], len(ans["challenge"]))
elif cmd == "csr":               # the device builds its CSR, the challenge inside
    profile_subject, challenge_file, subject, out = args
    _, der = make_csr({"subject": profile_subject, "key_size": 2048}, open(challenge_file).read(), subject=subject)
    with open(out, "wb") as f:
        f.write(x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM))
    print(x509.load_der_x509_csr(der).subject.rfc4514_string())
elif cmd == "sign":              # the SCEP server's CA issues the certificate
    csr_file, out = args
    csr = x509.load_pem_x509_csr(open(csr_file, "rb").read())
    ca = TestCA(name="CN=Contoso Demo Issuing CA,O=Contoso")
    cert = ca.sign(csr.public_bytes(serialization.Encoding.DER), validity_days=365)
    with open(out, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    print(cert.subject.rfc4514_string(), "| issued by", cert.issuer.rfc4514_string(),
          "| thumbprint", TestCA.thumbprint(cert))
elif cmd == "notifications":     # what Intune recorded
    n = control("GET", "notifications")
    for s in n["success"]:
        for k in ("transactionId", "certificateThumbprint", "certificateSerialNumber",
                  "certificateExpirationDateUtc", "issuingCertificateAuthority", "caConfiguration",
                  "certificateAuthority", "callerInfo"):
            print("%-29s %s" % (k, json.dumps(s.get(k)) if s.get(k) is None else s.get(k)))
    print("(%d success, %d failure notification(s) recorded)" % (len(n["success"]), len(n["failure"])))
    sys.exit(0 if len(n["success"]) == 1 and n["success"][0]["transactionId"] == args[0] else 1)
elif cmd == "server-config":     # intune-scep-server: the client keys plus its CA, database and port
    out, ca_cert, ca_key, db = args
    with open(out, "w") as f:
        f.write("# intune-scep-server configuration (java.util.Properties syntax)\n")
        for k, v in info["config"].items():
            f.write("%s=%s\n" % (k, v.replace("\\", "\\\\")))
        f.write("CA_CERT_FILE=%s\nCA_KEY_FILE=%s\nDB_PATH=%s\n" % (ca_cert, ca_key, db))
        f.write("HTTP_PORT=0\nBIND_ADDRESS=127.0.0.1\nINTUNE_PATH=/scep\nDEFAULT_VALIDITY_DAYS=365\n")
    os.chmod(out, 0o600)
elif cmd == "server-notification":   # the success notification of one serial
    n = [s for s in control("GET", "notifications")["success"] if s["certificateSerialNumber"] == args[0]]
    for s in n:
        for k in ("transactionId", "certificateThumbprint", "certificateSerialNumber",
                  "certificateExpirationDateUtc", "issuingCertificateAuthority"):
            print("%-29s %s" % (k, s.get(k)))
    sys.exit(0 if len(n) == 1 else 1)
elif cmd == "db":                # the server's issued-certificate database
    import sqlite3
    con = sqlite3.connect(args[0])
    for row in con.execute("SELECT serial, status, subject, transaction_id FROM certificates ORDER BY rowid"):
        print("%-34s %-9s %-36s %s" % row)
elif cmd == "validations":
    for v in control("GET", "validations"):
        print("%-16s %s" % (v["transaction_id"], v["code"]))
else:
    sys.exit("unknown helper command " + cmd)
PY
helper() { DEMO_WORK="$WORK" PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" python3 "$WORK/helper.py" "$@"; }

CONF="$WORK/intune-scep.properties"
base_url=$(helper config "$CONF")
APP_KEY=$(sed -n 's/^AAD_APP_KEY=//p' "$CONF")
ok "emulator at $base_url (pid $EMU_PID)"
note "client configuration: $(basename "$CONF") (mode $(stat -c %a "$CONF")), the keys a real tenant needs:"
sed -n 's/^\([A-Z_a-z]*\)=.*/\1/p' "$CONF" | paste -sd' ' | fold -s -w 90 | sed 's/^/     /'

# Run intune-scep, show its output indented, and make sure no secret is in it.
run_cli() {
  local out rc=0
  local shown="" a
  for a in "$@"; do
    case "$a" in *[[:space:]\\\'\"]*) shown+=" '${a//\'/\'\\\'\'}'" ;; *) shown+=" $a" ;; esac
  done
  printf '   %s$ intune-scep%s%s\n' "$D" "$shown" "$N"
  out=$("$CLI" -c "$CONF" "$@" 2>&1) || rc=$?
  case "$out" in *"$APP_KEY"*) die "the client secret appeared in the output of intune-scep $1" ;; esac
  printf '%s\n' "$out" | sed 's/^/     /'
  return "$rc"
}

cd "$WORK"
SUBJECT="CN=alice,O=Contoso"

# --------------------------------------------------------------------------
say "2. Intune issues a challenge for a SCEP profile (subject $SUBJECT)"
read -r profile_id challenge_len < <(helper challenge "$SUBJECT" challenge.txt) || true
[ -n "${challenge_len:-}" ] || die "the emulator did not issue a challenge"
ok "profile $profile_id: a challenge of $challenge_len characters, valid 60 minutes (Intune gives it an expiry)"

say "3. The device builds its certificate request with the challenge inside"
subject=$(helper csr "$SUBJECT" challenge.txt "$SUBJECT" device.csr)
ok "device.csr: PKCS#10, RSA 2048, subject $subject, challengePassword set"

say "4. The SCEP server asks Intune whether the request is genuine"
run_cli validate --transaction-id demo-tx-1 --csr device.csr || die "validate should succeed (exit $?)"
ok "Intune said Success: the CA may issue the certificate"

say "5. The CA issues the certificate"
issued=$(helper sign device.csr device.crt)
ok "device.crt: $issued"

say "6. The SCEP server tells Intune the certificate was issued"
run_cli notify-success --transaction-id demo-tx-1 --csr device.csr --cert device.crt \
        --ca-configuration 'ca01.contoso.com\Contoso Demo Issuing CA' || die "notify-success should succeed (exit $?)"
ok "Intune recorded it"

say "7. What Intune recorded (GET /_emulator/notifications)"
helper notifications demo-tx-1 | sed 's/^/     /' || die "the emulator did not record exactly the one success notification"

# --------------------------------------------------------------------------
say "8. A device asks for a different subject with a genuine challenge"
helper challenge "$SUBJECT" challenge2.txt > /dev/null
subject=$(helper csr "$SUBJECT" challenge2.txt "CN=mallory,O=Contoso" mallory.csr)
note "the profile says $SUBJECT; this request asks for $subject"
rc=0
run_cli validate --transaction-id demo-tx-2 --csr mallory.csr || rc=$?
[ "$rc" -eq 3 ] || die "validate should be rejected with exit 3, got $rc"
ok "rejected with SubjectNameMismatch (exit 3, as expected): no certificate is issued"
note "Intune's view of both validations:"
helper validations | sed 's/^/     /'

# --------------------------------------------------------------------------
say "9. The administrator's check: token, discovery, token"
run_cli check || die "check should pass (exit $?)"

# --------------------------------------------------------------------------
say "10. The same through intune-scep-server, with real SCEP clients (RFC 8894)"
for tool in scepclient pki openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing: scripts/install-deps.sh installs scep and strongswan-pki"
done
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
        -subj "/O=Contoso/CN=Contoso Demo SCEP CA" > openssl.log 2>&1 || { cat openssl.log >&2; die "openssl req"; }
helper server-config server.properties "$WORK/ca.pem" "$WORK/ca.key" "$WORK/issued.sqlite"
mkfifo "$WORK/srv.stdin"
"$SERVER" --config server.properties --exit-on-stdin-eof < "$WORK/srv.stdin" > server.out 2> server.log &
SRV_PID=$!
exec 4> "$WORK/srv.stdin"
for _ in $(seq 1 100); do
  [ -s server.out ] && break
  kill -0 "$SRV_PID" 2>/dev/null || { cat server.log >&2; die "intune-scep-server did not start"; }
  sleep 0.1
done
port=$(sed -n 's/^listening http=\([0-9]*\).*/\1/p' server.out)
[ -n "$port" ] || die "intune-scep-server did not start"
URL="http://127.0.0.1:$port/scep"
ok "intune-scep-server at $URL (pid $SRV_PID): every request on /scep is validated with Intune"

say "11. micromdm's scepclient enrolls with a genuine challenge (DES envelope, POST)"
helper challenge "CN=alice,OU=MDM,O=Contoso,C=US" challenge3.txt > /dev/null
mkdir -p device1
printf '   %s$ scepclient -server-url %s -cn alice -organization Contoso -ou MDM -country US -challenge ...%s\n' "$D" "$URL" "$N"
(cd device1 && scepclient -private-key key.pem -certificate cert.pem -server-url "$URL" -cn alice \
   -organization Contoso -ou MDM -country US -challenge "$(cat ../challenge3.txt)") > device1.log 2>&1 ||
  { sed 's/^/     /' device1.log; die "scepclient should have received a certificate"; }
sed 's/^/     /' device1.log | tail -2
openssl verify -CAfile ca.pem device1/cert.pem > verify.log 2>&1 || { cat verify.log; die "the certificate does not verify"; }
serial=$(openssl x509 -in device1/cert.pem -noout -serial | sed 's/serial=//')
ok "device1/cert.pem: $(openssl x509 -in device1/cert.pem -noout -subject | sed 's/^subject=//'), serial $serial, verifies against the CA"
note "Intune's success notification for it (the server sent it before handing the certificate out):"
helper server-notification "$serial" | sed 's/^/     /' || die "no matching success notification"

say "12. strongSwan's pki asks for another subject with a genuine challenge"
helper challenge "CN=alice,O=Contoso" challenge4.txt > /dev/null
openssl genrsa -out device2.key 2048 > /dev/null 2>&1
pki --scepca --url "$URL" --caout device2-ca.der --force > pki-ca.log 2>&1 || { cat pki-ca.log >&2; die "pki --scepca"; }
printf '   %s$ pki --scep --url %s --dn "O=Contoso, CN=mallory" --password ...%s\n' "$D" "$URL" "$N"
rc=0
pki --scep --url "$URL" --in device2.key --dn "O=Contoso, CN=mallory" --password "$(cat challenge4.txt)" \
    --cacert-enc device2-ca.der --cacert-sig device2-ca.der --cacert device2-ca.der > device2.crt 2> pki.log || rc=$?
grep -E "failInfo|reply status" pki.log | sed 's/^/     /'
[ "$rc" -ne 0 ] && [ ! -s device2.crt ] || die "pki should have been refused"
ok "refused: Intune said SubjectNameMismatch, the server answered FAILURE (badRequest), nothing was issued"

say "13. The server's log (one line per enrollment) and its database"
grep ' enrollment ' server.log | sed 's/^/     /'
case "$(cat server.log)" in *"$(cat challenge3.txt)"*|*"$APP_KEY"*) die "a secret appeared in the server's log" ;; esac
helper db issued.sqlite | sed 's/^/     /'

say "Done in $(( $(date +%s) - started )) s: validate, issue, notify, reject, check, and real SCEP clients through the server all behaved."
note "The emulator is stopped on exit. Try it yourself: $CLI --help"
