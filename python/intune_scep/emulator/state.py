# SPDX-License-Identifier: Apache-2.0
"""Shared state of one running emulator and the small request/response types."""

import base64
import copy
import json
import os
import secrets
import threading
import time

from .challenges import ChallengeCodec

DEFAULT_TENANT = "contoso.onmicrosoft.com"
DEFAULT_APP_ID = "5e2a1f4c-0b7d-4c1e-9a53-2f6b8d7c9e01"
INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
INTUNE_RESOURCE_URL = "https://api.manage.microsoft.com/"
PROVIDER_NAME_AND_VERSION = "intune-scep-emulator-client/1.0"
SCEP_SERVICE = "ScepRequestValidationFEService"
PKI_SERVICE = "PkiConnectorFEService"
ENDPOINT_NAMES = ("token", "managed_identity", "discovery", "validateRequest", "successNotification",
                  "failureNotification", "downloadRevocationRequests", "uploadRevocationResults")


def default_secret():
    """A random client secret holding the characters that need form-url-encoding."""
    return "Emu~" + secrets.token_urlsafe(18) + "+/=."


def loads(text):
    """json.loads that turns every failure (deep nesting included) into ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class Request:
    """One HTTP request as the services see it."""

    __slots__ = ("method", "path", "raw_path", "query", "headers", "body", "peer", "endpoint")

    def __init__(self, method, path, raw_path, query, headers, body, peer):
        self.method = method
        self.path = path
        self.raw_path = raw_path
        self.query = query
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.peer = peer
        self.endpoint = None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        """The body as JSON, or raise ValueError (also for bytes that are not UTF-8)."""
        try:
            return loads(self.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError("the body is not UTF-8") from None


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, body=b"", headers=None, content_type=None):
        self.status = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.headers = list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))


def json_response(status, obj, headers=None):
    return Response(status, json.dumps(obj).encode("utf-8"), headers, "application/json; charset=utf-8")


class State:
    """Everything one emulator knows; every access holds `lock`."""

    def __init__(self, tenant=None, app_id=None, app_secret=None, token_lifetime=3599,
                 page_size=0, extra_endpoints=4, client_certificates=None,
                 intune_resource_url=INTUNE_RESOURCE_URL):
        self.lock = threading.RLock()
        self.tenant = tenant or DEFAULT_TENANT
        self.app_id = app_id or DEFAULT_APP_ID
        self.intune_resource_url = intune_resource_url
        self.base_url = None  # set when the server is bound
        self.codec = ChallengeCodec()
        self.initial_settings = {
            "token_lifetime": int(token_lifetime),
            "page_size": int(page_size),
            "app_secret": app_secret or default_secret(),
            "extra_endpoints": int(extra_endpoints),
            "expires_in_as_string": False,
            "scep_api_version": "2018-02-20",
            "pki_api_version": "5019-05-05",
            "mixed_case_names": False,
            "client_certificates": list(client_certificates or []),
            "max_body": 4 * 1024 * 1024,
            "max_recorded": 100000,
            "single_use_challenges": False,
            # workload identity federation and managed identity
            "federated_credentials": [],
            "managed_identities": [],
            "system_identity": True,
            "identity_header": "EmuIdh-" + secrets.token_urlsafe(18),
            # the roles claim of the tokens issued, per resource (the app's granted permissions)
            "roles": {"graph": ["Application.Read.All"], "intune": ["scep_challenge_provider"]},
            # raw JSON members added at the end of every token's payload, verbatim (a payload
            # that states a member twice, for the readers of the roles claim); "" adds nothing
            "token_payload_extra": "",
        }
        self.tokens = {}  # token -> (resource, expires_at)
        self.profiles = {}
        self._reset_locked()
        self.started = time.time()
        self.pid = os.getpid()

    # -- reset -------------------------------------------------------------
    def _reset_locked(self):
        self.settings = copy.deepcopy(self.initial_settings)
        self.faults = []
        self.requests = []
        self.request_count = 0
        self.success_notifications = []
        self.failure_notifications = []
        self.rejected_notifications = []
        self.validations = []
        self.validated = {}  # transaction id -> set of CSR DER that validated Success
        self.challenge_used_by = {}  # challenge -> the transaction id it first validated Success for
        self.connections = 0
        self.token_requests = {"graph": 0, "intune": 0, "other": 0}
        self.endpoint_counts = {}
        self.prefixes = {SCEP_SERVICE: "/" + SCEP_SERVICE, PKI_SERVICE: "/" + PKI_SERVICE}
        self.moves = 0
        self.revocation_queue = []
        self.revocation_pending = {}
        self.revocation_results = []
        self.fault_seq = getattr(self, "fault_seq", 0)

    def reset(self):
        with self.lock:
            self._reset_locked()

    # -- helpers -----------------------------------------------------------
    @property
    def graph_resource_url(self):
        return self.base_url

    def token_url(self, tenant=None):
        return "%s%s/oauth2/v2.0/token" % (self.base_url, tenant or self.tenant)

    def service_uri(self, service):
        return self.base_url.rstrip("/") + self.prefixes[service]

    def client_config(self, ca_file):
        return {
            "AAD_APP_ID": self.app_id,
            "AAD_APP_KEY": self.settings["app_secret"],
            "TENANT": self.tenant,
            "PROVIDER_NAME_AND_VERSION": PROVIDER_NAME_AND_VERSION,
            "AUTH_AUTHORITY": self.base_url,
            "MS_GRAPH_RESOURCE_URL": self.base_url,
            "INTUNE_RESOURCE_URL": self.intune_resource_url,
            "TLS_CA_FILE": ca_file,
        }

    def issue_token(self, resource):
        # A JWT-shaped token whose payload carries the `roles` granted (read by diagnostics, never
        # verified) and whose "signature" is recognisable in a secret scan.
        lifetime = self.settings["token_lifetime"]
        with self.lock:
            roles = list(self.settings["roles"].get(resource, []))
            extra = self.settings["token_payload_extra"]
        now = int(time.time())
        aud = self.graph_resource_url if resource == "graph" else self.intune_resource_url
        head = {"typ": "JWT", "alg": "RS256", "kid": "emulator"}
        body = {"aud": aud, "iss": "https://sts.windows.net/%s/" % self.tenant, "iat": now, "nbf": now,
                "exp": now + lifetime, "appid": self.app_id, "roles": roles}

        def part(obj, extra=""):
            text = json.dumps(obj)
            if extra:
                text = text[:-1] + ", " + extra + "}"
            return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")
        token = part(head) + "." + part(body, extra) + ".EmuTok-" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (resource, time.time() + lifetime)
        return token, lifetime

    def token_resource(self, authorization):
        """The resource ("graph"/"intune") a bearer header is good for, or None."""
        if not authorization:
            return None
        parts = authorization.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return None
        with self.lock:
            entry = self.tokens.get(parts[1].strip())
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()
