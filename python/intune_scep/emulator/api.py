# SPDX-License-Identifier: Apache-2.0
"""The Emulator class: one emulator in a background thread of this process."""

import logging
import os
import shutil
import tempfile
import threading

from . import tlsgen
from .client import ControlClient, ControlMethods
from .server import EmulatorHTTPServer, make_ssl_context
from .state import State

log = logging.getLogger("intune_scep.emulator")


def _load_cert_text(item):
    """A client certificate given as PEM text/bytes, a path, or a cryptography Certificate."""
    if hasattr(item, "public_bytes"):
        from cryptography.hazmat.primitives import serialization
        return item.public_bytes(serialization.Encoding.PEM).decode("ascii")
    if isinstance(item, bytes):
        item = item.decode("ascii")
    if isinstance(item, os.PathLike) or (isinstance(item, str) and "-----BEGIN" not in item):
        with open(item, "r", encoding="ascii") as f:
            return f.read()
    return item


class Emulator(ControlMethods):
    """The Intune emulator on loopback HTTPS, as a context manager.

    ``with Emulator() as emu:`` starts it in a background thread; ``emu.base_url``,
    ``emu.control_url``, ``emu.ca_file`` and ``emu.config`` (a complete client
    configuration) describe it, and the control API is available as methods
    (issue_challenge, add_fault, requests, stats, reset...).
    """

    def __init__(self, host="127.0.0.1", port=0, tenant=None, app_id=None, app_secret=None,
                 token_lifetime=3599, page_size=0, extra_endpoints=4, cert_file=None, key_file=None,
                 ca_file=None, server_cert_hostname=None, client_certificates=None, debug=False,
                 workdir=None, single_use_challenges=False):
        if (cert_file is None) != (key_file is None):
            raise ValueError("cert_file and key_file go together")
        self._opts = dict(host=host, port=port, cert_file=cert_file, key_file=key_file, ca_file=ca_file,
                          server_cert_hostname=server_cert_hostname, debug=debug, workdir=workdir)
        self.state = State(tenant=tenant, app_id=app_id, app_secret=app_secret,
                           token_lifetime=token_lifetime, page_size=page_size,
                           extra_endpoints=extra_endpoints,
                           client_certificates=[_load_cert_text(c) for c in (client_certificates or [])])
        if single_use_challenges:
            self.state.initial_settings["single_use_challenges"] = True
            self.state.reset()
        self._server = None
        self._thread = None
        self._mi_server = None
        self._mi_thread = None
        self.managed_identity_url = None
        self._tmpdir = None
        self._control = None
        self.base_url = self.control_url = self.ca_file = None
        self.host = host
        self.port = None

    # -- life ----------------------------------------------------------------
    def start(self):
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        o = self._opts
        if o["cert_file"]:
            cert_file, key_file = o["cert_file"], o["key_file"]
            ca_file = o["ca_file"] or cert_file
        else:
            self._tmpdir = tempfile.mkdtemp(prefix="intune-emu-", dir=o["workdir"])
            ca_file, cert_file, key_file = tlsgen.generate(self._tmpdir, o["server_cert_hostname"])
        ctx = make_ssl_context(cert_file, key_file)
        self._server = EmulatorHTTPServer((o["host"], o["port"]), self.state, ctx, debug=o["debug"])
        host, port = self._server.server_address[:2]
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        url_host = "[%s]" % host if ":" in host else host
        self.port = port
        self.base_url = "https://%s:%d/" % (url_host, port)
        self.control_url = self.base_url + "_emulator/"
        self.ca_file = os.path.abspath(ca_file)
        self.state.base_url = self.base_url
        self._control = ControlClient(self.control_url, self.ca_file,
                                      check_hostname=not o["server_cert_hostname"])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="intune-emulator", daemon=True)
        self._thread.start()
        # The managed-identity endpoints: plain http, like the platform's on its local address.
        self._mi_server = EmulatorHTTPServer((o["host"], 0), self.state, None, debug=o["debug"])
        mi_port = self._mi_server.server_address[1]
        self.managed_identity_url = "http://%s:%d/" % (url_host, mi_port)
        self._mi_thread = threading.Thread(target=self._mi_server.serve_forever, kwargs={"poll_interval": 0.2},
                                           name="intune-emulator-mi", daemon=True)
        self._mi_thread.start()
        log.info("Intune emulator listening on %s", self.base_url)
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.stop()
        self._thread.join(10)
        self._server = None
        if self._mi_server is not None:
            self._mi_server.stop()
            self._mi_thread.join(10)
            self._mi_server = None
        self._control = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    close = stop

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- description -----------------------------------------------------------
    @property
    def config(self):
        """A complete client configuration (AAD_APP_ID, AAD_APP_KEY, TENANT, ...)."""
        return self.state.client_config(self.ca_file)

    @property
    def tenant(self):
        return self.state.tenant

    @property
    def app_id(self):
        return self.state.app_id

    @property
    def app_secret(self):
        with self.state.lock:
            return self.state.settings["app_secret"]

    @property
    def token_url(self):
        return self.state.token_url()

    @property
    def graph_scope(self):
        return self.base_url + ".default"

    @property
    def intune_scope(self):
        return self.state.intune_resource_url + "/.default"

    def service_uri(self, service="ScepRequestValidationFEService"):
        with self.state.lock:
            return self.state.service_uri(service)

    def info(self):
        """What ``python -m intune_scep.emulator`` prints."""
        return {"base_url": self.base_url, "control_url": self.control_url, "ca_file": self.ca_file,
                "pid": os.getpid(), "config": self.config, "managed_identity_url": self.managed_identity_url,
                "identity_header": self.identity_header}

    @property
    def identity_header(self):
        """The X-IDENTITY-HEADER value of the App Service style managed-identity endpoint (a secret)."""
        with self.state.lock:
            return self.state.settings["identity_header"]

    @property
    def imds_endpoint(self):
        """The instance-metadata-service style managed-identity endpoint on loopback."""
        return self.managed_identity_url.rstrip("/") + "/metadata/identity/oauth2/token"

    @property
    def app_service_endpoint(self):
        """The App Service / Functions style managed-identity endpoint (IDENTITY_ENDPOINT) on loopback."""
        return self.managed_identity_url.rstrip("/") + "/msi/token"

    def register_client_certificate(self, cert):
        """Accept client assertions signed by the key of `cert` (PEM, path or Certificate)."""
        with self.state.lock:
            self.state.settings["client_certificates"].append(_load_cert_text(cert))
            self.state.initial_settings["client_certificates"].append(_load_cert_text(cert))

    def _call(self, method, path, body=None):
        if self._control is None:
            raise RuntimeError("the emulator is not running")
        return self._control._call(method, path, body)
