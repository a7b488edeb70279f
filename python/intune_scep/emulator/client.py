# SPDX-License-Identifier: Apache-2.0
"""A small client of the control API, usable against an emulator in another process."""

import http.client
import json
import ssl
from urllib.parse import quote, urlencode, urlsplit


class EmulatorControlError(RuntimeError):
    """A control call was refused; `status` and `body` say why."""

    def __init__(self, method, path, status, body):
        super().__init__("%s %s answered %d: %s" % (method, path, status, body[:500]))
        self.status = status
        self.body = body


class ControlMethods:
    """The control API as Python methods; subclasses provide _call(method, path, body)."""

    def _call(self, method, path, body=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def issue_challenge(self, profile=None, **fields):
        """Issue a challenge for a profile; returns {"challenge", "profile_id", "expires_at"}."""
        p = dict(profile or {})
        p.update(fields)
        return self._call("POST", "challenges", p)

    def device_csr(self, profile=None, **fields):
        """A device's certificate request, built by the emulator (POST device/csr).

        With `profile`, a challenge is issued for it and the request follows it;
        `fields` change what the device asks for (subject, san_emails, san_upns,
        san_dns, key_usage, ekus, key_size, key_type, key_pem, hash, challenge, fresh_key,
        corrupt_signature, tamper_challenge; docs/emulator.md).  Returns
        {"csr": base64 DER, "csr_pem", "key_pem", "challenge", "profile_id"}.
        """
        body = dict(fields)
        if profile is not None:
            body["profile"] = dict(profile)
        return self._call("POST", "device/csr", body)

    def device_certificate(self, csr, validity_days=365):
        """A certificate for `csr` (PEM or base64 DER) from the emulator's test CA (POST
        device/certificate): {"certificate": base64 DER, "certificate_pem", "ca_pem",
        and the four certificate fields of a success notification}."""
        return self._call("POST", "device/certificate", {"csr": csr, "validity_days": validity_days})

    def untarget(self, profile_id):
        return self._call("POST", "profiles/%s/untarget" % quote(profile_id, safe=""))

    def add_fault(self, endpoint=None, action=None, **fields):
        """Script a fault; returns its id.

        ``add_fault("validateRequest", status=503, headers={"Retry-After": "1"}, times=2)``
        or ``add_fault({"endpoint": "token", "action": "reset"})``.  Fields: endpoint,
        action (default respond), times, status, body, content_type, headers, delay_ms.
        """
        if isinstance(endpoint, dict):
            spec = dict(endpoint)
        else:
            spec = {}
            if endpoint is not None:
                spec["endpoint"] = endpoint
        spec.update(fields)
        if action is not None:
            spec["action"] = action
        return self._call("POST", "faults", spec)["id"]

    def faults(self):
        return self._call("GET", "faults")

    def clear_faults(self):
        return self._call("DELETE", "faults")

    def expire_tokens(self):
        return self._call("POST", "tokens/expire")

    def move_endpoint(self, service="ScepRequestValidationFEService"):
        """Move a service to a new URI (the old one answers 404); returns the new URI."""
        return self._call("POST", "move_endpoint", {"service": service})["uri"]

    def settings(self, **values):
        return self._call("POST", "settings", values)

    def get_settings(self):
        return self._call("GET", "settings")

    def requests(self, endpoint=None):
        path = "requests" + ("?" + urlencode({"endpoint": endpoint}) if endpoint else "")
        return self._call("GET", path)

    def notifications(self):
        return self._call("GET", "notifications")

    def validations(self):
        return self._call("GET", "validations")

    def stats(self):
        return self._call("GET", "stats")

    def reset(self):
        return self._call("POST", "reset")

    def queue_revocations(self, requests):
        """Queue revocation requests for downloadRevocationRequests; returns them with requestContext."""
        return self._call("POST", "revocations", {"requests": list(requests)})["queued"]

    def revocation_results(self):
        return self._call("GET", "revocation_results")


class ControlClient(ControlMethods):
    """Talks to the control API at `control_url`, trusting `ca_file`."""

    def __init__(self, control_url, ca_file, timeout=30, check_hostname=True):
        u = urlsplit(control_url)
        if u.scheme != "https":
            raise ValueError("control_url must be an https URL")
        self._host = u.hostname
        self._port = u.port or 443
        self._prefix = u.path if u.path.endswith("/") else u.path + "/"
        self._ctx = ssl.create_default_context(cafile=ca_file)
        # An emulator started with a certificate for another host name is still
        # verified against its CA; only the name check is left out.
        self._ctx.check_hostname = check_hostname
        self._timeout = timeout

    def _call(self, method, path, body=None):
        conn = http.client.HTTPSConnection(self._host, self._port, context=self._ctx, timeout=self._timeout)
        try:
            data = None if body is None else json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, self._prefix + path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", errors="replace")
        finally:
            conn.close()
        if not 200 <= resp.status < 300:
            raise EmulatorControlError(method, path, resp.status, text)
        return json.loads(text) if text else None
