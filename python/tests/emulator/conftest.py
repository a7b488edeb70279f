# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the emulator's own tests: one emulator per session, reset before each test."""

import json
import uuid

import pytest
import requests

from intune_scep.emulator import Emulator
from intune_scep.emulator.device import csr_base64


@pytest.fixture(scope="session")
def emu_server():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(emu_server):
    emu_server.reset()
    yield emu_server
    emu_server.reset()


class Wire:
    """Plain HTTPS requests against the emulator, trusting only its CA."""

    def __init__(self, emu):
        self.emu = emu
        self.s = requests.Session()
        self._tokens = {}

    def close(self):
        self.s.close()

    def post(self, url, **kw):
        kw.setdefault("timeout", 30)
        return self.s.post(url, verify=self.emu.ca_file, **kw)

    def get(self, url, **kw):
        kw.setdefault("timeout", 30)
        return self.s.get(url, verify=self.emu.ca_file, **kw)

    def token_form(self, resource="intune", **fields):
        form = {"grant_type": "client_credentials", "client_id": self.emu.app_id,
                "client_secret": self.emu.app_secret,
                "scope": self.emu.intune_scope if resource == "intune" else self.emu.graph_scope}
        for k, v in fields.items():
            if v is None:
                form.pop(k, None)
            else:
                form[k] = v
        return form

    def token_request(self, resource="intune", url=None, **fields):
        return self.post(url or self.emu.token_url, data=self.token_form(resource, **fields))

    def token(self, resource="intune", fresh=False):
        if fresh or resource not in self._tokens:
            r = self.token_request(resource)
            assert r.status_code == 200, r.text
            self._tokens[resource] = r.json()["access_token"]
        return self._tokens[resource]

    def intune_headers(self, token=None, api_version="2018-02-20"):
        return {"Authorization": "Bearer " + (token or self.token("intune")),
                "api-version": api_version, "Content-Type": "application/json",
                "client-request-id": str(uuid.uuid4()), "UserAgent": "tests/1.0"}

    def scep(self, action, body, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body)
        return self.post(self.emu.service_uri() + "/ScepActions/" + action,
                         data=data, headers=headers or self.intune_headers())

    def revocation(self, action, body, headers=None):
        return self.post(self.emu.service_uri("PkiConnectorFEService") + "/CertificateAuthorityRequests/" + action,
                         data=json.dumps(body), headers=headers or self.intune_headers(api_version="5019-05-05"))

    def validate(self, der_or_text, tid="tid-1"):
        csr = der_or_text if isinstance(der_or_text, str) else csr_base64(der_or_text)
        r = self.scep("validateRequest", {"request": {"transactionId": tid, "certificateRequest": csr,
                                                      "callerInfo": "tests/1.0"}})
        assert r.status_code == 200, r.text
        return r.json()["code"]

    def discovery_url(self, app_id="0000000a-0000-0000-c000-000000000000"):
        return self.emu.base_url + "v1.0/servicePrincipals/appId=%s/endpoints" % app_id


@pytest.fixture
def wire(emu):
    w = Wire(emu)
    yield w
    w.close()
