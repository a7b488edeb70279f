# SPDX-License-Identifier: Apache-2.0
"""python -m intune_scep.emulator: run the emulator, print one JSON line, serve until stopped."""

import argparse
import json
import logging
import signal
import sys
import threading

from .api import Emulator


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m intune_scep.emulator",
                                description="Intune, Entra ID and Graph emulator on loopback HTTPS.")
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
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when stdin reaches EOF")
    p.add_argument("--verbose", action="store_true", help="one stderr line per request")
    p.add_argument("--debug", action="store_true",
                   help="log request headers and bodies to stderr (they hold secrets and tokens)")
    args = p.parse_args(argv)
    if (args.cert_file is None) != (args.key_file is None):
        p.error("--cert-file and --key-file go together")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(stream=sys.stderr, level=level, format="intune-emulator: %(message)s")
    emu = Emulator(host=args.host, port=args.port, tenant=args.tenant, app_id=args.app_id,
                   app_secret=args.app_secret, token_lifetime=args.token_lifetime,
                   page_size=args.page_size, extra_endpoints=args.extra_endpoints,
                   cert_file=args.cert_file, key_file=args.key_file, ca_file=args.ca_file,
                   server_cert_hostname=args.server_cert_hostname,
                   client_certificates=args.client_cert_file, debug=args.debug)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emu.start()
    try:
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


if __name__ == "__main__":
    sys.exit(main())
