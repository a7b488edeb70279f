# SPDX-License-Identifier: Apache-2.0
"""intune_scep.inspect_csr: what a certificate request asks for, from the library's reader."""

import base64

import pytest

import intune_scep
from intune_scep.emulator.device import make_csr


def test_inspect_csr_reads_every_part():
    profile = {"subject": "CN=alice,O=Contoso", "san_emails": ["alice@contoso.com"], "san_upns": ["alice@contoso.com"],
               "san_dns": ["alice.contoso.com"], "key_usage": ["digitalSignature", "keyEncipherment"],
               "ekus": ["1.3.6.1.5.5.7.3.2"], "key_size": 2048}
    _, der = make_csr(profile, "the-challenge", hash="sha1")
    for form in (der, base64.b64encode(der), base64.b64encode(der).decode()):
        info = intune_scep.inspect_csr(form)
        assert info["subject"] == "CN=alice,O=Contoso"
        assert info["challenge_password"] == "the-challenge"
        assert info["sans"] == [{"type": "email", "value": "alice@contoso.com"},
                                {"type": "upn", "value": "alice@contoso.com"},
                                {"type": "dns", "value": "alice.contoso.com"}]
        assert (info["key_type"], info["key_bits"], info["signature_hash"]) == ("RSA", 2048, "sha1")
        assert info["signature_valid"] is True
        assert info["key_usage"] == "digitalSignature,keyEncipherment"
        assert info["ekus"] == ["1.3.6.1.5.5.7.3.2"]
        assert info["sid"] is None and info["validity_days"] == 0


def test_inspect_csr_ec_without_challenge():
    _, der = make_csr({"subject": "CN=bob"}, None, key_type="ec", key_size=256)
    info = intune_scep.inspect_csr(der)
    assert (info["key_type"], info["key_bits"]) == ("EC", 256)
    assert info["challenge_password"] is None and info["key_usage"] is None and info["sans"] == []


@pytest.mark.parametrize("bad", [b"", b"not a csr", b"\x30\x00"])
def test_inspect_csr_refuses_what_is_not_a_request(bad):
    with pytest.raises(ValueError, match="csr"):
        intune_scep.inspect_csr(bad)


def test_inspect_csr_type_errors():
    with pytest.raises(TypeError):
        intune_scep.inspect_csr(12)  # type: ignore[arg-type]
