# SPDX-License-Identifier: Apache-2.0
"""An HTTP CONNECT proxy on loopback, for testing clients configured with a proxy.

It tunnels ``CONNECT host:port`` to loopback targets only, optionally requires
Basic proxy authentication (answering 407 otherwise), and records every CONNECT
it saw (target, whether the credentials were right; never the credentials).

    with ConnectProxy(user="u", password="p") as proxy:
        config["PROXY_HOST"], config["PROXY_PORT"] = "127.0.0.1", str(proxy.port)

Or as a process: ``python -m intune_scep.emulator.proxy [--user U --password P]``
prints one JSON line ``{"port": N, "pid": N}`` and serves until stopped (or until
stdin reaches EOF with ``--exit-on-stdin-eof``).
"""

import argparse
import base64
import hmac
import json
import os
import select
import socket
import socketserver
import sys
import threading

__all__ = ["ConnectProxy"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_HEADER = 16 * 1024


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        proxy = self.server.owner
        sock = self.request
        sock.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head:
            try:
                chunk = sock.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            head += chunk
            if len(head) > _MAX_HEADER:
                self._reply(sock, 431, "Request Header Fields Too Large")
                return
        header, _, rest = head.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[0] != "CONNECT":
            self._reply(sock, 405, "Method Not Allowed")
            return
        target = parts[1]
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        authorized = proxy._check_auth(headers.get("proxy-authorization"))
        with proxy._lock:
            proxy.connects.append({"target": target, "authorized": authorized})
        if not authorized:
            self._reply(sock, 407, "Proxy Authentication Required",
                        'Proxy-Authenticate: Basic realm="intune-scep-test"\r\n')
            return
        if host not in _LOOPBACK or not port.isdigit():
            self._reply(sock, 403, "Forbidden")
            return
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            self._reply(sock, 502, "Bad Gateway")
            return
        sock.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        self._pipe(sock, upstream)

    @staticmethod
    def _reply(sock, status, reason, extra=""):
        try:
            sock.sendall(("HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n"
                          % (status, reason, extra)).encode("latin-1"))
        except OSError:
            pass

    @staticmethod
    def _pipe(a, b):
        socks = [a, b]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 60)
                if not readable:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            b.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ConnectProxy:
    """A CONNECT proxy on 127.0.0.1; ``port`` and ``connects`` (what it saw)."""

    def __init__(self, user=None, password=None, host="127.0.0.1", port=0):
        self._user, self._password = user, password
        self._lock = threading.Lock()
        self.connects = []
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = None

    def _check_auth(self, value):
        if self._user is None:
            return True
        if not value or not value.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(value[6:], validate=True)
        except ValueError:
            return False
        want = ("%s:%s" % (self._user, self._password or "")).encode("utf-8")
        return hmac.compare_digest(given, want)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m intune_scep.emulator.proxy", description=__doc__.split("\n")[0])
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--exit-on-stdin-eof", action="store_true")
    args = p.parse_args(argv)
    proxy = ConnectProxy(args.user, args.password, port=args.port).start()
    sys.stdout.write(json.dumps({"port": proxy.port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    try:
        if args.exit_on_stdin_eof:
            while sys.stdin.buffer.read(4096):
                pass
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    proxy.stop()


if __name__ == "__main__":
    main()
