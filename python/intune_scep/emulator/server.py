# SPDX-License-Identifier: Apache-2.0
"""The HTTPS server: connection handling, routing, recording and scripted faults."""

import ipaddress
import json
import logging
import re
import select
import socket
import socketserver
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

from . import control, faults, graph, identity, intune, workload
from .state import PKI_SERVICE, SCEP_SERVICE, Request, Response, json_response, loads

log = logging.getLogger("intune_scep.emulator")

TOKEN_RE = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
DISCOVERY_RE = re.compile(r"^/(v1\.0|beta)/servicePrincipals/appId=([^/]+)/endpoints$")
SCEP_ACTIONS = ("validateRequest", "successNotification", "failureNotification")
PKI_ACTIONS = ("downloadRevocationRequests", "uploadRevocationResults")
OVERSIZE_BYTES = 2 * 1024 * 1024
HANDSHAKE_TIMEOUT_S = 10
IDLE_TIMEOUT_S = 60


class _Abort(Exception):
    """The connection was (deliberately) ended; stop handling it."""


def is_loopback(host):
    try:
        addr = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "IntuneEmulator/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    # -- connection life ---------------------------------------------------
    def setup(self):
        super().setup()
        self.counted = False
        self.server.track(self.connection, True)

    def handle(self):
        try:
            super().handle()
        except _Abort:
            pass
        except (OSError, ssl.SSLError, ValueError):
            pass

    def finish(self):
        self.server.track(self.connection, False)
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    def log_message(self, fmt, *args):  # BaseHTTPRequestHandler's own lines (errors)
        log.debug("%s %s", self.client_address[0], fmt % args)

    def send_error(self, code, message=None, explain=None):
        """Malformed requests (bad request line, too many headers...): a JSON error, then close."""
        self.close_connection = True
        body = json.dumps({"error": {"code": "BadRequest", "message": message or "bad request"}}).encode()
        try:
            self.wfile.write(self._head_bytes(code, [("Content-Type", "application/json")], len(body)) + body)
            self.wfile.flush()
        except (OSError, ValueError):
            pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- low-level output ----------------------------------------------------
    def _head_bytes(self, status, headers, content_length):
        reason = self.responses.get(status, ("Status",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        names = {k.lower() for k, _ in headers}
        if "date" not in names:
            lines.append("Date: " + self.date_time_string())
        if "server" not in names:
            lines.append("Server: " + self.server_version)
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if content_length is not None:
            lines.append("Content-Length: %d" % content_length)
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def _send(self, resp):
        data = self._head_bytes(resp.status, resp.headers, len(resp.body)) + resp.body
        self.wfile.write(data)
        self.wfile.flush()

    def _rst(self):
        """End the connection with a TCP reset (no TLS close_notify)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _close_plain(self):
        try:
            self.wfile.flush()
        except (OSError, ValueError):
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass
        self.close_connection = True

    def _sleep(self, seconds):
        if self.server.stopping.wait(seconds):
            raise _Abort()

    # -- requests -----------------------------------------------------------
    def _read_body(self, headers):
        state = self.server.state
        limit = state.settings["max_body"]
        te = headers.get("transfer-encoding")
        cl = headers.get("content-length")
        if te is not None and te.strip().lower() != "identity":
            if te.strip().lower() != "chunked":
                self.close_connection = True
                self._send(json_response(501, {"error": "unsupported Transfer-Encoding"}))
                return None
            return self._read_chunked(limit)
        if cl is None:
            return b""
        cl = cl.strip()
        if not cl.isdigit() or len(cl) > 18:
            self.close_connection = True
            self._send(json_response(400, {"error": "bad Content-Length"}))
            return None
        n = int(cl)
        if n > limit:
            self._too_large(n)
            return None
        body = self.rfile.read(n)
        if len(body) < n:
            raise _Abort()
        return body

    def _read_chunked(self, limit):
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise _Abort()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                self.close_connection = True
                self._send(json_response(400, {"error": "bad chunk size"}))
                return None
            if size == 0:
                while True:  # trailers
                    t = self.rfile.readline(8192)
                    if t in (b"\r\n", b"\n", b""):
                        break
                return bytes(out)
            if len(out) + size > limit:
                self._too_large(len(out) + size)
                return None
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise _Abort()
            out += chunk
            self.rfile.readline(8)

    def _too_large(self, n):
        self.close_connection = True
        self._send(json_response(413, {"error": "request body of %d bytes is too large" % n}))
        # Read (and drop) a little of what the client is still sending, so that it
        # gets to read the 413 rather than a reset.
        try:
            self.connection.settimeout(1.0)
            left = min(n, 16 * 1024 * 1024)
            while left > 0:
                chunk = self.rfile.read1(min(65536, left)) if hasattr(self.rfile, "read1") \
                    else self.rfile.read(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
        except (OSError, ValueError):
            pass

    def _route(self, path, method):
        """(endpoint, handler, live): handler(req) -> Response."""
        state = self.server.state
        if self.server.ssl_context is None:
            # The plain-http listener serves the managed-identity endpoints only.
            styles = {workload.IMDS_PATH: "imds", workload.APP_SERVICE_PATH: "appservice"}
            if path in styles:
                if method != "GET":
                    return "managed_identity", None, False
                return "managed_identity", lambda r: workload.handle_managed_identity(state, r, styles[path]), True
            return None, None, False
        m = TOKEN_RE.match(path)
        if m:
            if method != "POST":
                return "token", None, False
            return "token", lambda r: identity.handle_token(state, r, m.group(1)), True
        m = DISCOVERY_RE.match(path)
        if m:
            if method != "GET":
                return "discovery", None, False
            return "discovery", lambda r: graph.handle_discovery(state, r, m.group(1), m.group(2)), True
        with state.lock:
            scep_prefix = state.prefixes[SCEP_SERVICE]
            pki_prefix = state.prefixes[PKI_SERVICE]
        for action in SCEP_ACTIONS:
            if path.endswith("/ScepActions/" + action):
                live = path == scep_prefix + "/ScepActions/" + action and method == "POST"
                return action, (lambda r, a=action: intune.handle_scep(state, r, a)) if live else None, live
        for action in PKI_ACTIONS:
            if path.endswith("/CertificateAuthorityRequests/" + action):
                live = path == pki_prefix + "/CertificateAuthorityRequests/" + action and method == "POST"
                return action, (lambda r, a=action: intune.handle_revocation(state, r, a)) if live else None, live
        return None, None, False

    def _dispatch(self):
        state = self.server.state
        split = urlsplit(self.path)
        raw_path, query = split.path or "/", split.query
        path = unquote(raw_path)
        headers = {}
        for k, v in self.headers.items():
            lk = k.lower()
            headers[lk] = headers[lk] + ", " + v if lk in headers else v
        peer = self.client_address[0]
        if (path == "/_emulator" or path.startswith("/_emulator/")) and self.server.ssl_context is not None:
            body = self._read_body(headers)
            if body is None:
                return
            if not is_loopback(peer):
                self._send(json_response(403, {"error": "the control API answers loopback clients only"}))
                return
            req = Request(self.command, path, raw_path, query, headers, body, peer)
            try:
                resp = control.handle(state, req, path[len("/_emulator/"):])
            except Exception:  # noqa: BLE001 - a bug answers 500, the server goes on
                log.exception("internal error answering control call %s %s", self.command, raw_path)
                resp = json_response(500, {"error": "emulator internal error"})
            self._send(resp)
            return
        if not self.counted:
            self.counted = True
            with state.lock:
                state.connections += 1
        body = self._read_body(headers)
        if body is None:
            return
        req = Request(self.command, path, raw_path, query, headers, body, peer)
        endpoint, handler, live = self._route(path, self.command)
        record = self._record(req, endpoint)
        fault = faults.take(state, endpoint) if live else None
        if fault is not None:
            record["fault"] = fault["id"]
            self._apply_fault(fault, req, handler, record)
            return
        if handler is None:
            if endpoint is not None and self._path_is_live(path):
                resp = json_response(405, {"error": {"code": "MethodNotAllowed", "message": "method not allowed"}})
            else:
                resp = json_response(404, {"error": {"code": "NotFound",
                                                     "message": "no resource at %s" % raw_path}})
        else:
            try:
                resp = handler(req)
            except Exception:  # noqa: BLE001 - a bug must not kill the connection thread silently
                log.exception("internal error answering %s %s", self.command, raw_path)
                resp = json_response(500, {"error": {"code": "InternalServerError",
                                                     "message": "emulator internal error"}})
        record["status"] = resp.status
        log.info("%s %s -> %d (%s)", self.command, raw_path, resp.status, endpoint or "-")
        self._send(resp)

    def _path_is_live(self, path):
        state = self.server.state
        if self.server.ssl_context is None:
            return path in (workload.IMDS_PATH, workload.APP_SERVICE_PATH)
        if TOKEN_RE.match(path) or DISCOVERY_RE.match(path):
            return True
        with state.lock:
            prefixes = list(state.prefixes.values())
        return any(path.startswith(p + "/ScepActions/") or path.startswith(p + "/CertificateAuthorityRequests/")
                   for p in prefixes)

    def _record(self, req, endpoint):
        try:
            text = req.body.decode("utf-8")
        except UnicodeDecodeError:
            text = req.body.decode("utf-8", errors="replace")
        try:
            parsed = loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        rec = {"method": req.method, "path": req.raw_path, "query": req.query, "endpoint": endpoint,
               "headers": dict(req.headers), "body": text, "json": parsed, "time": time.time(),
               "status": None}
        state = self.server.state
        with state.lock:
            state.requests.append(rec)
            state.request_count += 1
            excess = len(state.requests) - max(1, state.settings["max_recorded"])
            if excess > 0:  # a long run keeps the newest requests only
                del state.requests[:excess]
            key = endpoint or "other"
            state.endpoint_counts[key] = state.endpoint_counts.get(key, 0) + 1
        if self.server.debug:
            log.debug("request %s %s headers=%s body=%s", req.method, req.raw_path, req.headers, text)
        return rec

    # -- faults -------------------------------------------------------------
    def _fault_response(self, fault, req, handler, default_status):
        """The answer a fault sends: its own status/body when given, else the real one."""
        if fault["status"] is None and fault["body"] is None:
            return handler(req)
        body = fault["body"] or ""
        headers = list(fault["headers"].items())
        ctype = fault["content_type"] or ("application/json" if body else None)
        if ctype and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", ctype))
        return Response(fault["status"] or default_status, body, headers)

    def _apply_fault(self, fault, req, handler, record):
        if fault["delay_ms"]:
            self._sleep(fault["delay_ms"] / 1000.0)
        action = fault["action"]
        log.info("%s %s -> fault %s (%s)", self.command, req.raw_path, fault["id"], action)
        extra = [(k, v) for k, v in fault["headers"].items()]
        if action == "reset":
            self._rst()
            raise _Abort()
        if action == "hang":
            self._hang()
            raise _Abort()
        if action == "respond":
            resp = self._fault_response(dict(fault, status=fault["status"] or 500,
                                             body=fault["body"] or ""), req, handler, 500)
            record["status"] = resp.status
            self._send(resp)
            return
        if action == "redirect":
            status = fault["status"] if fault["status"] and 300 <= fault["status"] < 400 else 302
            headers = list(extra)
            if fault["body"] and not any(k.lower() == "location" for k, _ in headers):
                headers.append(("Location", fault["body"]))
            record["status"] = status
            self._send(Response(status, b"", headers))
            return
        if action == "oversize":
            real = handler(req)
            try:
                obj = json.loads(real.body.decode("utf-8"))
                if not isinstance(obj, dict):
                    obj = {"value": obj}
            except ValueError:
                obj = {}
            obj["padding"] = "x" * OVERSIZE_BYTES
            resp = Response(fault["status"] or 200, json.dumps(obj).encode(), extra,
                            "application/json; charset=utf-8")
            record["status"] = resp.status
            self._send(resp)
            return
        resp = self._fault_response(fault, req, handler, 200)
        for k, v in extra:
            if not any(k.lower() == h.lower() for h, _ in resp.headers):
                resp.headers.append((k, v))
        record["status"] = resp.status
        if action == "reset_after_headers":
            # Close with a FIN rather than a reset: a reset can make the peer's kernel
            # drop the head before the client has read it.
            self.close_connection = True
            self.wfile.write(self._head_bytes(resp.status, resp.headers, len(resp.body)))
            self._close_plain()
            raise _Abort()
        if action == "short_body":
            self.close_connection = True
            announced = len(resp.body) + max(100, len(resp.body))
            self.wfile.write(self._head_bytes(resp.status, resp.headers, announced) + resp.body)
            self._close_plain()
            raise _Abort()
        if action in ("drip", "drip_head"):
            # drip: the status line and headers at once, then the body a byte a second;
            # drip_head: the whole answer a byte a second, from the status line on.
            self.close_connection = True
            head = self._head_bytes(resp.status, resp.headers, len(resp.body))
            if action == "drip":
                self.wfile.write(head)
                self.wfile.flush()
                rest = resp.body
            else:
                rest = head + resp.body
            deadline = time.monotonic() + faults.DRIP_LIMIT_S
            for i in range(len(rest)):
                if time.monotonic() > deadline:
                    break
                self.wfile.write(rest[i:i + 1])
                self.wfile.flush()
                if i + 1 < len(rest):
                    self._sleep(1.0)
            self._close_plain()
            raise _Abort()
        raise AssertionError("unknown fault action " + action)

    def _hang(self):
        """Send nothing until the client goes away, the server stops, or the hang limit."""
        sock = self.connection
        deadline = time.monotonic() + faults.HANG_LIMIT_S
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            try:
                if sock.pending() if hasattr(sock, "pending") else False:
                    ready = True
                else:
                    ready = bool(select.select([sock], [], [], 0.2)[0])
                if ready:
                    sock.settimeout(0.2)
                    try:
                        data = sock.recv(4096)
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    if not data:
                        break
            except (OSError, ValueError):
                break
        self._close_plain()
        try:
            sock.close()
        except OSError:
            pass


class EmulatorHTTPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A threading TCP server whose connections are wrapped in TLS in their own thread."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address, state, ssl_context, debug=False):
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.state = state
        self.ssl_context = ssl_context
        self.debug = debug
        self.stopping = threading.Event()
        self._live = set()
        self._live_lock = threading.Lock()
        super().__init__(address, Handler)

    def track(self, sock, add):
        with self._live_lock:
            if add:
                self._live.add(sock)
            else:
                self._live.discard(sock)

    def process_request_thread(self, request, client_address):
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            request.settimeout(HANDSHAKE_TIMEOUT_S)
            # No TLS context: the plain-http managed-identity listener on loopback.
            tls = self.ssl_context.wrap_socket(request, server_side=True) if self.ssl_context else request
        except (OSError, ssl.SSLError, ValueError):
            self.shutdown_request(request)
            return
        try:
            tls.settimeout(IDLE_TIMEOUT_S)
            self.finish_request(tls, client_address)
        except Exception:  # noqa: BLE001 - hostile peers must not kill the server
            pass
        finally:
            self.shutdown_request(tls)

    def handle_error(self, request, client_address):  # pragma: no cover - quiet
        log.debug("error on connection from %s", client_address, exc_info=True)

    def stop(self):
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self._live_lock:
            live = list(self._live)
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass


def make_ssl_context(cert_file, key_file):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx
