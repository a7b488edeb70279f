# SPDX-License-Identifier: Apache-2.0
"""python -m intune_scep.emulator (or intune-scep-emulator): the emulator and its helpers.

    python -m intune_scep.emulator [serve] [options]   run the emulator, print one JSON line, serve
    python -m intune_scep.emulator make-csr ...        a device's CSR with a fresh challenge (PEM/base64/DER)
    python -m intune_scep.emulator sign ...            a certificate for a CSR from a test CA (PEM/base64/DER)

``serve --properties-out FILE`` also writes a ready client configuration (java.util.Properties,
mode 0600) that ``make-csr --properties FILE`` uses to reach the emulator.
"""

import argparse
import base64
import json
import logging
import os
import signal
import sys
import threading

from .api import Emulator

COMMANDS = ("serve", "make-csr", "sign")


def _serve_parser(p):
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--tenant", help="tenant accepted by the token endpoint")
    p.add_argument("--app-id", help="application (client) id")
    p.add_argument("--app-secret", help="client secret (default: a random one, printed in config)")
    p.add_argument("--token-lifetime", type=int, default=3599, help="token lifetime in seconds")
    p.add_argument("--page-size", type=int, default=0, help="discovery page size (0: one page)")
    p.add_argument("--extra-endpoints", type=int, default=4, help="unrelated discovery entries")
    p.add_argument("--cert-file", help="server certificate (PEM) instead of a generated one")
    p.add_argument("--key-file", help="its private key (PEM)")
    p.add_argument("--ca-file", help="CA file to report with --cert-file (default: the cert file)")
    p.add_argument("--server-cert-hostname", metavar="NAME",
                   help="generate a server certificate whose only name is NAME")
    p.add_argument("--client-cert-file", action="append", default=[], metavar="PEM",
                   help="certificate registered for client-assertion JWTs (repeatable)")
    p.add_argument("--single-use-challenges", action="store_true",
                   help="refuse a challenge in a second transaction (BadCertificateRequestIdInChallenge)")
    p.add_argument("--properties-out", metavar="FILE",
                   help="write the client configuration to FILE (java.util.Properties, mode 0600)")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when stdin reaches EOF")
    p.add_argument("--verbose", action="store_true", help="one stderr line per request")
    p.add_argument("--debug", action="store_true",
                   help="log request headers and bodies to stderr (they hold secrets and tokens)")


def _output_args(p, what):
    p.add_argument("--format", choices=("pem", "base64", "der"), default="pem",
                   help="pem (default), base64 (one line of base64 DER) or der (binary; needs --out)")
    p.add_argument("--out", metavar="FILE", help="write the %s to FILE instead of stdout" % what)


def parse_args(argv):
    argv = list(argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "serve"
    prog = "python -m intune_scep.emulator"
    if command == "serve":
        p = argparse.ArgumentParser(prog=prog,
                                    description="Intune, Entra ID and Graph emulator on loopback HTTPS. "
                                                "Other commands: make-csr, sign (each with --help).")
        _serve_parser(p)
    elif command == "make-csr":
        p = argparse.ArgumentParser(prog=prog + " make-csr",
                                    description="Build a device's certificate request holding a fresh challenge "
                                                "of a running emulator, for the given subject and SANs.")
        where = p.add_mutually_exclusive_group()
        where.add_argument("--properties", metavar="FILE",
                           help="the configuration written by serve --properties-out (finds the emulator)")
        where.add_argument("--control-url", help="the emulator's control URL (with --ca-file)")
        where.add_argument("--challenge", help="embed this challenge; do not ask an emulator")
        p.add_argument("--ca-file", help="the emulator's CA file (with --control-url)")
        p.add_argument("--subject", default="CN=device", help="the profile's subject (default CN=device)")
        p.add_argument("--san-upn", action="append", default=[], metavar="UPN")
        p.add_argument("--san-email", action="append", default=[], metavar="EMAIL")
        p.add_argument("--san-dns", action="append", default=[], metavar="NAME")
        p.add_argument("--csr-subject", metavar="NAME",
                       help="put NAME in the request instead of the profile's subject (a request Intune refuses)")
        p.add_argument("--key-size", type=int, default=2048, help="RSA key size (default 2048)")
        p.add_argument("--key-out", metavar="FILE", help="write the device's private key (PEM, mode 0600)")
        _output_args(p, "request")
    else:
        p = argparse.ArgumentParser(prog=prog + " sign",
                                    description="Issue a certificate for a request, as a CA would, with a test CA.")
        p.add_argument("--csr", required=True, metavar="FILE",
                       help="the request: PEM, DER or base64 ('-' reads stdin)")
        p.add_argument("--ca-dir", metavar="DIR",
                       help="keep the test CA in DIR (ca-key.pem, ca-cert.pem; made when absent) so that "
                            "certificates share an issuer; default: a new CA each time")
        p.add_argument("--validity-days", type=int, default=365)
        _output_args(p, "certificate")
    args = p.parse_args(argv)
    args.command = command
    if command == "serve" and (args.cert_file is None) != (args.key_file is None):
        p.error("--cert-file and --key-file go together")
    if command == "make-csr":
        if args.control_url and not args.ca_file:
            p.error("--control-url needs --ca-file")
        if not (args.properties or args.control_url or args.challenge):
            p.error("say where the emulator is: --properties FILE (from serve --properties-out), "
                    "--control-url URL --ca-file FILE, or give --challenge")
    if command != "serve" and args.format == "der" and not args.out:
        p.error("--format der writes binary: give --out FILE")
    return args


# -- java.util.Properties --------------------------------------------------------

def _escape(text, key=False):
    out = []
    for i, c in enumerate(text):
        if c == "\\":
            out.append("\\\\")
        elif c in "=:#!" or (c == " " and (key or i == 0)):
            out.append("\\" + c)
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\f":
            out.append("\\f")
        elif ord(c) < 0x20 or ord(c) > 0x7e:
            units = c.encode("utf-16-be")
            out.extend("\\u%02X%02X" % (units[j], units[j + 1]) for j in range(0, len(units), 2))
        else:
            out.append(c)
    return "".join(out)


def properties_text(config):
    lines = ["# The client configuration of a running Intune emulator (intune-scep-emulator serve).",
             "# It holds the emulator's client secret: keep it private."]
    lines += ["%s=%s" % (_escape(k, key=True), _escape(str(v))) for k, v in sorted(config.items())]
    return "\n".join(lines) + "\n"


def read_properties(path):
    """The key/value pairs of a simple properties file (as written above, or by hand)."""
    out = {}
    with open(path, "r", encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#!":
                continue
            key, value, i, esc = [], [], 0, False
            target = key
            while i < len(line):
                c = line[i]
                if esc:
                    if c == "u" and i + 4 < len(line):
                        target.append(chr(int(line[i + 1:i + 5], 16)))
                        i += 4
                    else:
                        target.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(c, c))
                    esc = False
                elif c == "\\":
                    esc = True
                elif target is key and c in "=: \t":
                    target = value
                    while i + 1 < len(line) and line[i + 1] in " \t":
                        i += 1
                    if c in " \t" and i + 1 < len(line) and line[i + 1] in "=:":
                        i += 1
                        while i + 1 < len(line) and line[i + 1] in " \t":
                            i += 1
                else:
                    target.append(c)
                i += 1
            join = lambda parts: "".join(parts).encode("utf-16-be", "surrogatepass").decode("utf-16-be")  # noqa: E731
            out[join(key)] = join(value)
    return out


def _write_private(path, data):
    """Write `data` to `path` with mode 0600 (replacing it atomically)."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _emit(args, der, pem_label):
    if args.format == "der":
        data = der
    elif args.format == "base64":
        data = (base64.b64encode(der).decode("ascii") + "\n").encode("ascii")
    else:
        b64 = base64.b64encode(der).decode("ascii")
        body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
        data = ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (pem_label, body, pem_label)).encode("ascii")
    if args.out:
        with open(args.out, "wb") as f:
            f.write(data)
    else:
        sys.stdout.write(data.decode("ascii"))
        sys.stdout.flush()


# -- commands ----------------------------------------------------------------------

def make_csr_main(args):
    from .client import ControlClient
    from .device import make_csr, private_key_pem

    profile = {"subject": args.subject}
    if args.san_upn:
        profile["san_upns"] = args.san_upn
    if args.san_email:
        profile["san_emails"] = args.san_email
    if args.san_dns:
        profile["san_dns"] = args.san_dns
    challenge = args.challenge
    if challenge is None:
        if args.properties:
            cfg = read_properties(args.properties)
            try:
                control_url, ca_file = cfg["AUTH_AUTHORITY"].rstrip("/") + "/_emulator/", cfg["TLS_CA_FILE"]
            except KeyError as e:
                raise SystemExit("make-csr: %s has no %s: not written by serve --properties-out"
                                 % (args.properties, e.args[0]))
        else:
            control_url, ca_file = args.control_url, args.ca_file
        challenge = ControlClient(control_url, ca_file).issue_challenge(profile)["challenge"]
    overrides = {"subject": args.csr_subject} if args.csr_subject is not None else {}
    key, der = make_csr(profile, challenge, key_size=args.key_size, **overrides)
    if args.key_out:
        _write_private(args.key_out, private_key_pem(key).encode("ascii"))
    _emit(args, der, "CERTIFICATE REQUEST")
    return 0


def _load_or_create_ca(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from .device import TestCA

    ca = TestCA()
    if directory is None:
        return ca
    key_path, cert_path = os.path.join(directory, "ca-key.pem"), os.path.join(directory, "ca-cert.pem")
    if os.path.exists(key_path) and os.path.exists(cert_path):
        with open(key_path, "rb") as f:
            ca.key = serialization.load_pem_private_key(f.read(), None)
        with open(cert_path, "rb") as f:
            ca.certificate = x509.load_pem_x509_certificate(f.read())
        ca.name = ca.certificate.subject
    else:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        _write_private(key_path, ca.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
        with open(cert_path, "wb") as f:
            f.write(ca.certificate.public_bytes(serialization.Encoding.PEM))
    return ca


def sign_main(args):
    from cryptography.hazmat.primitives import serialization

    if args.csr == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.csr, "rb") as f:
            data = f.read()
    ca = _load_or_create_ca(args.ca_dir)
    try:
        cert = ca.sign(data.strip() if b"-----BEGIN" not in data else data, validity_days=args.validity_days)
    except ValueError as e:
        raise SystemExit("sign: %s: not a certificate request (%s)" % (args.csr, e))
    _emit(args, cert.public_bytes(serialization.Encoding.DER), "CERTIFICATE")
    return 0


def serve_main(args):
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(stream=sys.stderr, level=level, format="intune-emulator: %(message)s")
    emu = Emulator(host=args.host, port=args.port, tenant=args.tenant, app_id=args.app_id,
                   app_secret=args.app_secret, token_lifetime=args.token_lifetime,
                   page_size=args.page_size, extra_endpoints=args.extra_endpoints,
                   cert_file=args.cert_file, key_file=args.key_file, ca_file=args.ca_file,
                   server_cert_hostname=args.server_cert_hostname,
                   client_certificates=args.client_cert_file, debug=args.debug,
                   single_use_challenges=args.single_use_challenges)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emu.start()
    try:
        if args.properties_out:
            _write_private(args.properties_out, properties_text(emu.config).encode("ascii"))
        sys.stdout.write(json.dumps(emu.info()) + "\n")
        sys.stdout.flush()
        if args.exit_on_stdin_eof:
            def watch():
                try:
                    while sys.stdin.buffer.read1(65536) if hasattr(sys.stdin.buffer, "read1") \
                            else sys.stdin.buffer.read(1):
                        pass
                except (OSError, ValueError):
                    pass
                stop.set()
            threading.Thread(target=watch, daemon=True).start()
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "make-csr":
        return make_csr_main(args)
    if args.command == "sign":
        return sign_main(args)
    return serve_main(args)


if __name__ == "__main__":
    sys.exit(main())
