# SPDX-License-Identifier: Apache-2.0
"""Configuration from a dict and from a .properties file; ValueError naming the argument or key."""

from __future__ import annotations

import pytest

from intune_scep import IntuneScepServiceClient

REQUIRED = ["AAD_APP_ID", "AAD_APP_KEY", "TENANT", "PROVIDER_NAME_AND_VERSION"]


def _escape(value: str) -> str:
    """java.util.Properties escaping, as Properties.store writes it."""
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def test_config_from_dict(emu, config, csr):
    with IntuneScepServiceClient(config) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert len(emu.requests("validateRequest")) == 1


def test_config_values_may_be_ints(emu, config, csr):
    cfg = dict(config, TIMEOUT_MS=20000, MAX_RETRIES=1)
    with IntuneScepServiceClient(cfg) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])


def test_config_from_properties_file(emu, config, csr, tmp_path):
    lines = ["# written by a test", "! another comment style", ""]
    items = sorted(config.items())
    for i, (k, v) in enumerate(items):
        sep = ["=", ": ", " "][i % 3]  # every separator java.util.Properties knows
        lines.append(f"{k}{sep}{_escape(v)}")
    # a continued line and a \u escape
    lines.append("PROVIDER_NAME_AND_VERSION = Contoso \\\n    SCEP \\u00fc/1.0")
    path = tmp_path / "intune.properties"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with IntuneScepServiceClient.from_properties_file(path) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    [req] = emu.requests("validateRequest")
    assert req["json"]["request"]["callerInfo"] == "Contoso SCEP ü/1.0"


def test_properties_file_with_overrides(emu, config, csr, tmp_path):
    path = tmp_path / "intune.properties"
    path.write_text("".join(f"{k}={_escape(v)}\n" for k, v in config.items()), encoding="utf-8")
    with IntuneScepServiceClient.from_properties_file(str(path), {"PROVIDER_NAME_AND_VERSION": "Override/2"}) as c:
        c.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert emu.requests("validateRequest")[0]["json"]["request"]["callerInfo"] == "Override/2"


def test_properties_file_missing(tmp_path):
    missing = tmp_path / "nope.properties"
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient.from_properties_file(missing)
    assert "nope.properties" in str(info.value)


def test_properties_file_syntax_error_names_line(config, tmp_path):
    path = tmp_path / "bad.properties"
    body = "".join(f"{k}={_escape(v)}\n" for k, v in config.items()) + "BROKEN=\\u12G4\n"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient.from_properties_file(path)
    msg = str(info.value)
    assert "bad.properties" in msg and str(len(config) + 1) in msg
    assert config["AAD_APP_KEY"] not in msg


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_key(config, key):
    cfg = dict(config)
    del cfg[key]
    with pytest.raises(ValueError, match=key):
        IntuneScepServiceClient(cfg)


@pytest.mark.parametrize("key", REQUIRED)
def test_empty_required_key(config, key):
    with pytest.raises(ValueError, match=key):
        IntuneScepServiceClient(dict(config, **{key: ""}))


@pytest.mark.parametrize("overrides,key", [
    ({"PROXY_HOST": "127.0.0.1", "PROXY_PORT": "70000"}, "PROXY_PORT"),
    ({"PROXY_HOST": "127.0.0.1", "PROXY_PORT": "abc"}, "PROXY_PORT"),
    ({"PROXY_HOST": "127.0.0.1"}, "PROXY_PORT"),
    ({"PROXY_HOST": "127.0.0.1", "PROXY_PORT": "3128", "PROXY_USER": "u"}, "PROXY_PASS"),
    ({"TIMEOUT_MS": "soon"}, "TIMEOUT_MS"),
    ({"CONNECT_TIMEOUT_MS": "-5"}, "CONNECT_TIMEOUT_MS"),
    ({"MAX_RETRIES": "many"}, "MAX_RETRIES"),
])
def test_invalid_key_named(config, overrides, key):
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient(dict(config, **overrides))
    assert key in str(info.value)
    assert config["AAD_APP_KEY"] not in str(info.value)


def test_control_character_in_value_names_key_not_value(config):
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient(dict(config, TENANT="con\x01toso-zzz"))
    assert "TENANT" in str(info.value)
    assert "toso-zzz" not in str(info.value)


def test_nul_in_value_names_key_not_value(config):
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient(dict(config, AAD_APP_KEY="sec\x00ret-zzz"))
    assert "AAD_APP_KEY" in str(info.value) and "ret-zzz" not in str(info.value)


def test_value_without_utf8_form_names_key_not_value(config):
    # A lone surrogate has no UTF-8 form: refused naming the key, the value never shown.
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient(dict(config, AAD_APP_KEY="sec\udcffret-zzz"))
    assert "AAD_APP_KEY" in str(info.value) and "ret-zzz" not in str(info.value)
    assert "UTF-8" in str(info.value)


def test_config_type_errors(config):
    with pytest.raises(TypeError, match="config"):
        IntuneScepServiceClient(["AAD_APP_ID"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TIMEOUT_MS"):
        IntuneScepServiceClient(dict(config, TIMEOUT_MS=1.5))


def test_none_value_means_not_set(config):
    with pytest.raises(ValueError, match="AAD_APP_ID"):
        IntuneScepServiceClient(dict(config, AAD_APP_ID=None))


# -- arguments ----------------------------------------------------------------

VALIDATE_ARGS = {"transaction_id": "tx-1", "certificate_request": "MIIB"}


@pytest.mark.parametrize("empty", ["transaction_id", "certificate_request"])
def test_validate_empty_argument_named(emu, client, empty):
    args = dict(VALIDATE_ARGS, **{empty: ""})
    with pytest.raises(ValueError, match=empty):
        client.ValidateRequest(**args)
    assert not emu.requests()  # nothing was sent


SUCCESS_ARGS = {"transaction_id": "tx-1", "certificate_request": "MIIB", "cert_thumbprint": "AA",
                "cert_serial_number": "01", "cert_expiration_date": "2030-01-01T00:00:00.000Z",
                "cert_issuing_authority": "CN=CA"}


@pytest.mark.parametrize("empty", list(SUCCESS_ARGS))
def test_success_notification_empty_argument_named(emu, client, empty):
    with pytest.raises(ValueError, match=empty):
        client.SendSuccessNotification(**dict(SUCCESS_ARGS, **{empty: ""}))
    assert not emu.requests()


@pytest.mark.parametrize("empty", ["transaction_id", "certificate_request", "error_description"])
def test_failure_notification_empty_argument_named(emu, client, empty):
    args = {"transaction_id": "tx-1", "certificate_request": "MIIB", "hresult": 1, "error_description": "x"}
    args[empty] = ""
    with pytest.raises(ValueError, match=empty):
        client.SendFailureNotification(**args)
    assert not emu.requests()


def test_hresult_out_of_range(client):
    with pytest.raises(ValueError, match="hresult"):
        client.SendFailureNotification("tx", "MIIB", 2**63, "x")
    with pytest.raises(TypeError, match="hresult"):
        client.SendFailureNotification("tx", "MIIB", "0x80004005", "x")  # type: ignore[arg-type]


def test_nul_in_argument_named(client):
    with pytest.raises(ValueError, match="transaction_id"):
        client.ValidateRequest("tx\x00y", "MIIB")


def test_wrong_type_argument_named(client):
    with pytest.raises(TypeError, match="certificate_request"):
        client.ValidateRequest("tx", 1234)  # type: ignore[arg-type]
    # bytes are taken as DER or PEM: these are neither
    with pytest.raises(ValueError, match="^certificate_request: not a PKCS#10 certificate request"):
        client.ValidateRequest("tx", b"MIIB")


def test_set_app_key_empty(client):
    with pytest.raises(ValueError, match="app_key"):
        client.set_app_key("")


def test_notify_with_non_certificate(emu, client):
    with pytest.raises(ValueError):
        client.notify_success_for_certificate("tx-1", "MIIB", b"not a certificate")
    assert not emu.requests()


# -- lifetime -------------------------------------------------------------------

def test_close_is_idempotent_and_later_calls_raise(client, csr):
    client.close()
    client.close()
    assert client.closed
    for call in (lambda: client.ValidateRequest(csr["txid"], csr["csr_b64"]),
                 lambda: client.SendFailureNotification("t", "c", 1, "d"),
                 lambda: client.set_app_key("k"),
                 lambda: client.discover_service()):
        with pytest.raises(ValueError, match="closed"):
            call()
    with pytest.raises(ValueError, match="closed"):
        with client:
            pass


def test_context_manager_closes(config):
    with IntuneScepServiceClient(config) as client:
        assert not client.closed
    assert client.closed


def test_from_env_sets_the_app_key(emu, config, csr, tmp_path, monkeypatch):
    # The file without the secret; the secret from the environment, through the explicit call.
    path = tmp_path / "intune.properties"
    path.write_text("".join(f"{k}={_escape(v)}\n" for k, v in config.items() if k != "AAD_APP_KEY"),
                    encoding="utf-8")
    monkeypatch.setenv("INTUNE_SCEP_AAD_APP_KEY", config["AAD_APP_KEY"])
    # Nothing reads the environment behind the caller's back.
    with pytest.raises(ValueError, match="AAD_APP_KEY"):
        IntuneScepServiceClient.from_properties_file(path)
    with IntuneScepServiceClient.from_env(properties_file=path) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert len(emu.requests("validateRequest")) == 1


def test_from_env_alone_with_a_prefix_and_overrides(emu, config, csr, monkeypatch):
    for k, v in config.items():
        monkeypatch.setenv("MYCA_" + k, v)
    monkeypatch.setenv("MYCA_PROVIDER_NAME_AND_VERSION", "From the environment/1")
    monkeypatch.setenv("MYCA_NOT_A_KEY", "ignored")
    with IntuneScepServiceClient.from_env("MYCA_") as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    with IntuneScepServiceClient.from_env("MYCA_", overrides={"PROVIDER_NAME_AND_VERSION": "Override/3"}) as c:
        c.ValidateRequest(csr["txid"], csr["csr_b64"])
    callers = [r["json"]["request"]["callerInfo"] for r in emu.requests("validateRequest")]
    assert callers == ["From the environment/1", "Override/3"]


def test_from_env_errors_name_the_variable_never_the_value(config, monkeypatch):
    for k, v in config.items():
        monkeypatch.setenv("MYCA_" + k, v)
    monkeypatch.setenv("MYCA_AAD_APP_KEY", config["AAD_APP_KEY"] + "\t")
    with pytest.raises(ValueError) as info:
        IntuneScepServiceClient.from_env("MYCA_")
    assert "MYCA_AAD_APP_KEY" in str(info.value) and config["AAD_APP_KEY"] not in str(info.value)
    with pytest.raises(ValueError, match="prefix"):
        IntuneScepServiceClient.from_env("")
    with pytest.raises(ValueError, match="prefix"):
        IntuneScepServiceClient.from_env("A-B")
    with pytest.raises(TypeError, match="prefix"):
        IntuneScepServiceClient.from_env(None)  # type: ignore[arg-type]
