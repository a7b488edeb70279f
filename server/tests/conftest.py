# SPDX-License-Identifier: Apache-2.0
"""Fixtures of intune-scep-server's tests: a test PKI (root, issuing CA, RA, TLS
certificate), the Intune emulator, the built server as a child process, and the
two real SCEP clients Debian ships (strongSwan's `pki --scep`, micromdm's
`scepclient`), each run unmodified.

Environment:
  INTUNE_SCEP_SERVER  path of the built intune-scep-server (CTest sets it); else
                      build*/server/intune-scep-server under the source tree.
"""

from __future__ import annotations

import datetime
import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from intune_scep.emulator import Emulator  # noqa: E402

PKI_BIN = shutil.which("pki")
SCEPCLIENT_BIN = shutil.which("scepclient")


def _find_server() -> str:
    path = os.environ.get("INTUNE_SCEP_SERVER")
    if path:
        return path
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "server", "intune-scep-server")), key=os.path.getmtime)
    if not found:
        raise RuntimeError("set INTUNE_SCEP_SERVER to the built intune-scep-server binary")
    return found[-1]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso Test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer_name, key, issuer_key, ca: bool, days=3650, ku=None, eku=None, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
    if ku is None:
        ku = dict(digital_signature=ca is False, content_commitment=False, key_encipherment=ca is False,
                  data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                  encipher_only=False, decipher_only=False)
    b = b.add_extension(x509.KeyUsage(**ku), critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class TestPKI:
    """Root CA -> issuing CA -> RA certificate, and a TLS certificate for 127.0.0.1."""

    def __init__(self, directory: str, issuing_key_type: str = "rsa") -> None:
        self.dir = directory
        self.root_key = rsa.generate_private_key(65537, 2048)
        self.root = _cert(_name("Contoso Test Root CA"), _name("Contoso Test Root CA"), self.root_key,
                          self.root_key, True)
        self.ca_key = (rsa.generate_private_key(65537, 2048) if issuing_key_type == "rsa"
                       else ec.generate_private_key(ec.SECP256R1()))
        self.ca = _cert(_name("Contoso Test Issuing CA"), self.root.subject, self.ca_key, self.root_key, True)
        self.ra_key = rsa.generate_private_key(65537, 2048)
        self.ra = _cert(_name("Contoso Test SCEP RA"), self.ca.subject, self.ra_key, self.ca_key, False,
                        ku=dict(digital_signature=True, content_commitment=False, key_encipherment=True,
                                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                crl_sign=False, encipher_only=False, decipher_only=False))
        tls_key = ec.generate_private_key(ec.SECP256R1())
        tls = _cert(_name("127.0.0.1"), self.root.subject, tls_key, self.root_key, False,
                    ku=dict(digital_signature=True, content_commitment=False, key_encipherment=False,
                            data_encipherment=False, key_agreement=False, key_cert_sign=False,
                            crl_sign=False, encipher_only=False, decipher_only=False),
                    eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                    san=[x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))])
        files = {
            "root.pem": _pem(self.root), "ca.pem": _pem(self.ca), "ca.key": _pem_key(self.ca_key),
            "ra.pem": _pem(self.ra), "ra.key": _pem_key(self.ra_key),
            "tls.pem": _pem(tls), "tls.key": _pem_key(tls_key),
            "chain.pem": _pem(self.ca) + _pem(self.root),
        }
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)


class ScepServer:
    """intune-scep-server as a child process; its log lines are collected."""

    def __init__(self, workdir: str, pki: TestPKI, emu_config: Dict[str, str], **overrides: str) -> None:
        self.workdir = workdir
        self.db_path = os.path.join(workdir, overrides.pop("db_name", "issued.sqlite"))
        config = dict(emu_config)
        config.update({
            "CA_CERT_FILE": pki.path("ca.pem"), "CA_KEY_FILE": pki.path("ca.key"),
            "CA_CHAIN_FILE": pki.path("root.pem"),
            "RA_CERT_FILE": pki.path("ra.pem"), "RA_KEY_FILE": pki.path("ra.key"),
            "DB_PATH": self.db_path, "HTTP_PORT": "0", "HTTPS_PORT": "0", "BIND_ADDRESS": "127.0.0.1",
            "TLS_CERT_FILE": pki.path("tls.pem"), "TLS_KEY_FILE": pki.path("tls.key"),
            "THREADS": "4", "STATIC_PATH": "/static", "STATIC_CHALLENGE": "static-secret-1",
            "MAX_VALIDITY_DAYS": "730", "DEFAULT_VALIDITY_DAYS": "365", "MIN_RSA_BITS": "1024",
            "ADMIN_PORT": "0", "REVOCATION_INTERVAL_SECONDS": "0",
            "CRL_FILE": os.path.join(workdir, "ca.crl"), "CRL_NEXT_UPDATE_HOURS": "24",
        })
        config.update(overrides)
        self.config = config
        self.crl_file = config.get("CRL_FILE")
        self.config_path = os.path.join(workdir, "server.properties")
        self.write_config()
        self.lines: List[str] = []
        self.proc = subprocess.Popen([_find_server(), "--config", self.config_path, "--exit-on-stdin-eof"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        first = self.proc.stdout.readline()
        if not first.startswith("listening"):
            err = self.proc.stderr.read()
            raise RuntimeError(f"server did not start: {first!r} {err}")
        ports = dict(p.split("=") for p in first.split()[1:])
        self.http_port = int(ports["http"])
        self.https_port = int(ports["https"])
        self.admin_port = int(ports.get("admin", "-1"))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def url(self, path: str = "/scep", https: bool = False) -> str:
        if https:
            return f"https://127.0.0.1:{self.https_port}{path}"
        return f"http://127.0.0.1:{self.http_port}{path}"

    def write_config(self, **changes: str) -> None:
        self.config.update(changes)
        with open(self.config_path, "w") as f:
            for k, v in self.config.items():
                if v is not None:
                    f.write(f"{k}={_escape(v)}\n")

    def admin(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def wait_line(self, needle: str, start: int = 0, timeout: float = 30) -> str:
        """The first log line from index `start` on that holds `needle` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ln in self.lines[start:]:
                if needle in ln:
                    return ln
            time.sleep(0.05)
        raise AssertionError(f"no log line with {needle!r}:\n" + "\n".join(self.lines[-20:]))

    def enrollment_lines(self) -> List[str]:
        return [ln for ln in self.lines if " enrollment " in ln]

    def db_rows(self) -> List[dict]:
        con = sqlite3.connect(self.db_path)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("SELECT * FROM certificates ORDER BY rowid")]
        finally:
            con.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return self.proc.returncode


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="intune-scep-server-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pki(workdir):
    d = os.path.join(workdir, "pki")
    os.mkdir(d)
    return TestPKI(d)


@pytest.fixture(scope="session")
def emulator_session():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emulator(emulator_session):
    emulator_session.reset()
    yield emulator_session


@pytest.fixture(scope="session")
def server_session(workdir, pki, emulator_session):
    d = os.path.join(workdir, "server")
    os.mkdir(d)
    srv = ScepServer(d, pki, emulator_session.config)
    yield srv
    assert srv.stop() == 0


@pytest.fixture
def server(server_session, emulator):
    time.sleep(0.1)  # lines of the previous test are read
    server_session.mark = len(server_session.enrollment_lines())
    yield server_session


class Clients:
    """Runs the real SCEP clients in fresh directories."""

    def __init__(self, base: str, pki: TestPKI) -> None:
        self.base = base
        self.pki = pki
        self.n = 0

    def fresh_dir(self, name: str) -> str:
        self.n += 1
        d = os.path.join(self.base, f"{name}-{self.n}")
        os.makedirs(d)
        return d

    def strongswan(self, url: str, dn: str, challenge: Optional[str], sans=(), cipher="aes", digest="sha256",
                   key_bits=2048, fetch_ca=True, timeout=60) -> "ClientRun":
        d = self.fresh_dir("pki")
        key = os.path.join(d, "key.pem")
        k = rsa.generate_private_key(65537, key_bits)
        with open(key, "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
        if fetch_ca:
            ca = subprocess.run([PKI_BIN, "--scepca", "--url", url, "--caout", os.path.join(d, "ca.der"),
                                 "--raout", os.path.join(d, "ra.der"), "--force"],
                                capture_output=True, text=True, timeout=timeout)
            if ca.returncode != 0:
                return ClientRun("pki --scepca", ca.returncode, ca.stdout, ca.stderr, None, d)
            cacerts = sorted(p for p in glob.glob(os.path.join(d, "ca*.der")))
            ra = os.path.join(d, "ra.der")
            if not os.path.exists(ra):  # GetCACert gave one certificate: the CA is its own RA
                ra = cacerts[0]
        else:
            cacerts = [self.pki.path("ca.pem"), self.pki.path("root.pem")]
            ra = self.pki.path("ra.pem")
        args = [PKI_BIN, "--scep", "--url", url, "--in", key, "--dn", dn,
                "--cacert-enc", ra, "--cacert-sig", ra, "--cipher", cipher, "--digest", digest,
                "--outform", "pem"]
        for c in cacerts:
            args += ["--cacert", c]
        for s in sans:
            args += ["--san", s]
        if challenge is not None:
            args += ["--password", challenge]
        r = subprocess.run(args, capture_output=True, timeout=timeout)
        cert = None
        if r.returncode == 0 and b"BEGIN CERTIFICATE" in r.stdout:
            cert = x509.load_pem_x509_certificate(r.stdout)
        return ClientRun("pki --scep", r.returncode, r.stdout.decode(errors="replace"),
                         r.stderr.decode(errors="replace"), cert, d, key=k)

    def micromdm(self, url: str, cn: str, challenge: Optional[str], org="scep-client", ou="MDM", country="US",
                 key_bits=2048, timeout=60) -> "ClientRun":
        d = self.fresh_dir("scepclient")
        key = os.path.join(d, "key.pem")
        cert_path = os.path.join(d, "cert.pem")
        args = [SCEPCLIENT_BIN, "-private-key", key, "-certificate", cert_path, "-server-url", url,
                "-cn", cn, "-organization", org, "-ou", ou, "-country", country, "-keySize", str(key_bits)]
        if challenge is not None:
            args += ["-challenge", challenge]
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=d)
        cert = None
        if r.returncode == 0 and os.path.exists(cert_path):
            with open(cert_path, "rb") as f:
                cert = x509.load_pem_x509_certificate(f.read())
        return ClientRun("scepclient", r.returncode, r.stdout, r.stderr, cert, d)


class ClientRun:
    def __init__(self, name, code, out, err, cert, directory, key=None):
        self.name, self.code, self.out, self.err, self.cert, self.dir, self.key = (
            name, code, out, err, cert, directory, key)

    def __repr__(self) -> str:
        return f"{self.name} -> {self.code}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"


@pytest.fixture(scope="session")
def clients(workdir, pki):
    d = os.path.join(workdir, "clients")
    os.mkdir(d)
    return Clients(d, pki)


class RecordingProxy:
    """A plain HTTP relay in front of the server that keeps every PKIOperation message a
    client sent (to replay it, e.g. as a GET, and to seed the fuzzer)."""

    def __init__(self, target_port: int) -> None:
        import http.client
        import http.server

        proxy = self
        self.messages: List[bytes] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _relay(self, body: Optional[bytes]) -> None:
                if body is not None and "operation=PKIOperation" in self.path:
                    proxy.messages.append(body)
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=60)
                headers = {"Content-Type": self.headers.get("Content-Type", "application/octet-stream")}
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("content-type",):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def do_GET(self):
                self._relay(None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self._relay(self.rfile.read(n))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/scep") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(server):
    p = RecordingProxy(server.http_port)
    yield p
    p.close()


class Postgres:
    """Debian's PostgreSQL in a temporary directory on 127.0.0.1 (run as the postgres user when
    the tests run as root, since PostgreSQL refuses root), stopped by stop()."""

    def __init__(self) -> None:
        import socket
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (scripts/install-deps.sh: postgresql)")
        self.bindir = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="intune-scep-pg-")
        self.data = os.path.join(self.dir, "data")
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off", "start")
        self.psql("CREATE DATABASE scep", db="postgres")
        self.conninfo = f"host=127.0.0.1 port={self.port} dbname=scep user=postgres connect_timeout=5"

    def _run(self, tool: str, *args: str) -> None:
        r = subprocess.run(self.as_user + [os.path.join(self.bindir, tool), *args], capture_output=True, text=True,
                           timeout=120, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError(f"{tool} failed: {r.stdout}{r.stderr}")

    def psql(self, sql: str, db: str = "scep") -> List[List[str]]:
        r = subprocess.run(["psql", f"host=127.0.0.1 port={self.port} dbname={db} user=postgres", "-v",
                            "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return [ln.split("\t") for ln in r.stdout.splitlines() if ln]

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres()
    yield pg
    pg.stop()
