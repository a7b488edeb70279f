#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora of the fuzzers (fuzz/corpus/<fuzzer>/): real-looking
inputs of each reader. Run once; the files are committed. Needs `cryptography`."""
import base64
import datetime
import hashlib
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(fuzzer, name, data):
    d = os.path.join(ROOT, fuzzer)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def js(obj):
    return json.dumps(obj, separators=(",", ":"))


# ---- properties files ----------------------------------------------------
put("fuzz_properties", "reference.properties", """# Intune SCEP validation client
AAD_APP_ID=00000000-1111-2222-3333-444444444444
AAD_APP_KEY=Seed~Secret+/=value
TENANT=contoso.onmicrosoft.com
PROVIDER_NAME_AND_VERSION=Contoso CA 1.0
PROXY_HOST=proxy.contoso.com
PROXY_PORT=8080
PROXY_USER=svc
PROXY_PASS=p@ss
""")
put("fuzz_properties", "escapes.properties",
    "key\\ with\\ blanks = value\\tTab\\n\n! bang comment\nunicode=\\u00e9\\u4e2d\\ud83d\\ude00\n"
    "cont = first \\\n    second \\\r\n\tthird\ncolon:value\nspace value\n  \n=nokey?\n")
put("fuzz_properties", "crlf-bom.properties", "\xef\xbb\xbfTIMEOUT_MS=2000\r\nMAX_RETRIES=0\r\nTLS_CA_FILE=/etc/ca.pem\r")
put("fuzz_properties", "latin1.properties", b"PROVIDER_NAME_AND_VERSION=Soci\xe9t\xe9 CA 2.1\nTENANT=x\n")
put("fuzz_properties", "bad-escape.properties", "A=\\u12G4\n")
put("fuzz_properties", "surrogate.properties", "A=\\ud800x\nB=\\udc00\n")
put("fuzz_properties", "retired.properties",
    "GRAPH_RESOURCE_URL=https://graph.windows.net/\nGRAPH_API_VERSION=1.6\nMS_GRAPH_API_VERSION=beta\n"
    "ScepRequestValidationFEServiceVersion=2018-02-20\nPkiConnectorFEServiceVersion=5019-05-05\n")

# ---- token answers -------------------------------------------------------
tok = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2ln"
put("fuzz_token_answer", "ok.json", js({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok}))
put("fuzz_token_answer", "ok-string.json", js({"token_type": "Bearer", "expires_in": "3599", "access_token": tok}))
put("fuzz_token_answer", "no-type.json", js({"expires_in": 60, "access_token": "abc"}))
put("fuzz_token_answer", "bad-type.json", js({"token_type": "mac", "expires_in": 60, "access_token": "abc"}))
put("fuzz_token_answer", "no-token.json", js({"token_type": "Bearer", "expires_in": 60}))
put("fuzz_token_answer", "space.json", js({"token_type": "Bearer", "expires_in": 60, "access_token": "a b"}))
put("fuzz_token_answer", "neg.json", '{"token_type":"Bearer","expires_in":-5,"access_token":"x"}')
put("fuzz_token_answer", "huge.json", '{"token_type":"Bearer","expires_in":1e308,"access_token":"x"}')
put("fuzz_token_answer", "array.json", "[1,2,3]")
put("fuzz_token_answer", "html.txt", "<html><body>Service Unavailable</body></html>")

# ---- token errors --------------------------------------------------------
put("fuzz_token_error", "invalid-client.json", js({
    "error": "invalid_client",
    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0b1c\r\nCorrelation ID: 9d2e\r\nTimestamp: 2026-11-25 03:00:00Z",
    "error_codes": [7000215], "timestamp": "2026-11-25 03:00:00Z",
    "trace_id": "0b1c", "correlation_id": "9d2e",
    "error_uri": "https://login.microsoftonline.com/error?code=7000215"}))
put("fuzz_token_error", "tenant.json", js({"error": "invalid_request", "error_description": "AADSTS90002: Tenant 'x' not found.", "error_codes": [90002]}))
put("fuzz_token_error", "no-codes.json", js({"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found"}))
put("fuzz_token_error", "codes-string.json", '{"error":"x","error_codes":["7000215"],"error_description":"AADSTS99999999999999999999"}')
put("fuzz_token_error", "graph-style.json", js({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}}))
put("fuzz_token_error", "plain.txt", "Bad Request")

# ---- discovery pages -----------------------------------------------------
def entry(name, uri, key="providerName", **extra):
    e = {"id": "a1b2", "capability": "Intune", "providerId": "c3d4", key: name,
         "providerResourceId": "0000000a-0000-0000-c000-000000000000", "uri": uri}
    e.update(extra)
    return e

page1 = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('appId%3D0000000a')/endpoints",
         "value": [entry("OtherService", "https://other.manage.microsoft.com/Other"),
                   entry("ScepRequestValidationFEService", "https://fef.msub02.manage.microsoft.com/ScepRequestValidationFEService", futureField=[1, {"x": None}]),
                   entry("PkiConnectorFEService", "https://fef.msub02.manage.microsoft.com/PkiConnectorFEService")]}
put("fuzz_discovery", "one-page.json", js(page1))
paged = dict(page1)
paged["@odata.nextLink"] = "https://graph.microsoft.com/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints?$skiptoken=2"
put("fuzz_discovery", "next-link.json", js(paged))
put("fuzz_discovery", "two-pages.bin", js(paged).encode() + b"\xff" + js({"value": [entry("scepREQUESTvalidationfeservice", "https://dup/ignored"), entry("Late", "https://late/")]}).encode())
put("fuzz_discovery", "retired-serviceName.json", js({"odata.metadata": "https://graph.windows.net/x/$metadata", "value": [
    entry("ScepRequestValidationFEService", "https://fef.msub01.manage.microsoft.com/ScepRequestValidationFEService", key="serviceName"),
    entry("PkiConnectorFEService", "https://fef.msub01.manage.microsoft.com/PkiConnectorFEService", key="serviceName")]}))
put("fuzz_discovery", "empty.json", '{"value":[]}')
put("fuzz_discovery", "wrong-shape.json", '{"value":{"providerName":"x"}}')
put("fuzz_discovery", "mixed.json", '{"value":[1,"s",null,{"providerName":5,"uri":"x"},{"providerName":"A","uri":""},{"serviceName":"B","uri":"https://b"}]}')

# ---- SCEP answers and error bodies ---------------------------------------
for name, body in [("success.json", '{"code":"Success","errorDescription":""}'),
                   ("success-odata.json", '{"@odata.context":"https://fef/$metadata#Edm.String","code":"Success"}'),
                   ("rejected.json", '{"code":"ChallengeExpired","errorDescription":"The challenge has expired."}'),
                   ("unknown.json", '{"code":"SomethingNew","errorDescription":null}'),
                   ("lower.json", '{"code":"success"}'),
                   ("number.json", '{"code":1,"errorDescription":"x"}'),
                   ("missing.json", '{"errorDescription":"no code"}'),
                   ("array.json", '["Success"]'),
                   ("string.json", '"Success"'),
                   ("dup.json", '{"code":"Success","code":"Unknown"}'),
                   ("nul.json", '{"code":"Success\\u0000x"}')]:
    put("fuzz_scep_answer", name, body)
for name, body in [("intune-500.json", '{"code":"InternalError","errorDescription":"Something went wrong. ActivityId: 1d2e"}'),
                   ("graph-404.json", js({"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist.", "innerError": {"date": "2026-11-25T03:00:00", "request-id": "1", "client-request-id": "2"}}})),
                   ("aad-401.json", js({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})),
                   ("html.html", "<!DOCTYPE html>\r\n<html><head><title>502 Bad Gateway</title></head>\n\t<body>nginx</body></html>\r\n"),
                   ("binary.bin", bytes(range(256)) * 20),
                   ("split-utf8.bin", b"x" * 4095 + "\u00e9\u4e2d".encode())]:
    put("fuzz_error_body", name, body)

# ---- certificates and CSRs ----------------------------------------------
now = datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc)
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Issuing CA"),
                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso, Ltd")])
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)


def cert(subject_cn, serial, key, days=365, utf8=False):
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    b = (x509.CertificateBuilder().subject_name(subj).issuer_name(ca_name).public_key(key.public_key())
         .serial_number(serial).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days)))
    b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name("alice@contoso.com")]), critical=False)
    return b.sign(ca_key, hashes.SHA256())


c1 = cert("alice", 0x1A2B3C, rsa_key)
c2 = cert("Zoë 中文", 0x00FF00000000000000000001, ec.generate_private_key(ec.SECP256R1()), days=40000)
c3 = cert("bob", 1, rsa_key, days=1)
for name, c in [("rsa", c1), ("utf8-2135", c2), ("short", c3)]:
    put("fuzz_cert_details", name + ".der", c.public_bytes(serialization.Encoding.DER))
    put("fuzz_cert_details", name + ".pem", c.public_bytes(serialization.Encoding.PEM))
put("fuzz_cert_details", "chain.pem", c1.public_bytes(serialization.Encoding.PEM) + c2.public_bytes(serialization.Encoding.PEM))
put("fuzz_cert_details", "text-before.pem", b"Subject: alice\r\n" + c1.public_bytes(serialization.Encoding.PEM).replace(b"\n", b"\r\n"))
put("fuzz_cert_details", "trailing.der", c1.public_bytes(serialization.Encoding.DER) + b"\x00")


def csr(cn, key, sha=hashes.SHA256(), challenge=True):
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso")]))
    b = b.add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
    b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name("alice@contoso.com")]), critical=False)
    if challenge:
        b = b.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, b"EMU1.eyJwIjoxfQ.c2ln")
    return b.sign(key, sha)


r1 = csr("alice", rsa_key)
r2 = csr("device-1", ec.generate_private_key(ec.SECP256R1()), challenge=False)
der1 = r1.public_bytes(serialization.Encoding.DER)
pem1 = r1.public_bytes(serialization.Encoding.PEM)
put("fuzz_csr", "rsa.der", der1)
put("fuzz_csr", "rsa.pem", pem1)
put("fuzz_csr", "ec.der", r2.public_bytes(serialization.Encoding.DER))
put("fuzz_csr", "new-csr.pem", pem1.replace(b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"))
put("fuzz_csr", "one-line.b64", base64.b64encode(der1))
put("fuzz_csr", "wrapped.b64", base64.encodebytes(der1))
put("fuzz_csr", "crlf.b64", base64.encodebytes(der1).replace(b"\n", b"\r\n"))
put("fuzz_csr", "cert-not-csr.pem", c1.public_bytes(serialization.Encoding.PEM))
put("fuzz_csr", "trailing.der", der1 + b"\x00\x00")
# ---- answers that must not pass: a duplicated member name, a NUL (escaped or raw) ----
UNTRUSTED = {
    "fuzz_scep_answer": [
        ("dup-code.json", '{"code":"Success","code":"ChallengeExpired"}'),
        ("dup-code-last-success.json", '{"code":"ChallengeExpired","code":"Success"}'),
        ("nul-in-code.json", '{"code":"Success\\u0000ChallengeExpired"}'),
        ("nul-in-name.json", '{"code\\u0000x":"Success"}'),
        ("escaped-backslash-not-nul.json", '{"code":"Success","errorDescription":"a\\\\u0000b"}'),
        ("dup-nested.json", '{"code":"Success","errorDescription":"","x":{"a":1,"a":2}}'),
        ("dup-escaped-name.json", '{"code":"Success","co\\u0064e":"X"}'),
        ("raw-nul.bin", b'{"code":"Success\x00X"}'),
    ],
    "fuzz_token_answer": [
        ("dup-token.json", '{"token_type":"Bearer","expires_in":3599,"access_token":"a","access_token":"b"}'),
        ("dup-expires.json", '{"token_type":"Bearer","expires_in":3599,"expires_in":"0","access_token":"a"}'),
        ("nul-in-token.json", '{"token_type":"Bearer","expires_in":3599,"access_token":"abc\\u0000 def"}'),
        ("nul-in-expires.json", '{"token_type":"Bearer","expires_in":"3599\\u0000x","access_token":"abc"}'),
    ],
    "fuzz_token_error": [
        ("dup-error.json", '{"error":"invalid_client","error":"Success","error_codes":[7000215]}'),
        ("nul-in-error.json", '{"error":"invalid_client\\u0000x","error_description":"AADSTS7000215: no"}'),
        ("success-code.json", '{"error":"Success","error_description":"not a success"}'),
    ],
    "fuzz_error_body": [
        ("dup-code.json", '{"code":"InternalError","code":"Success","errorDescription":"boom"}'),
        ("nul-in-name.json", '{"error":{"code\\u0000x":"BadRequest","message":"no"}}'),
        ("success-code.json", '{"code":"Success","errorDescription":"an HTTP error"}'),
        ("success-graph.json", '{"error":{"code":"success","message":"an HTTP error"}}'),
    ],
    "fuzz_discovery": [
        ("dup-uri.json", '{"value":[{"providerName":"ScepRequestValidationFEService","uri":"https://a/","uri":"https://b/"}]}'),
        ("nul-in-name.json", '{"value":[{"providerName":"ScepRequestValidationFEService\\u0000x","uri":"https://a/"}]}'),
        ("dup-value.json", '{"value":[],"value":[{"providerName":"X","uri":"https://x/"}]}'),
    ],
    "fuzz_revocation": [
        ("upload-true.json", '{"value":true}'),
        ("upload-false.json", '{"value":false}'),
        ("upload-dup-value.json", '{"value":true,"value":false}'),
        ("upload-nul-name.json", '{"value\\u0000x":false,"value":true}'),
        ("requests.json", js({"value": [{"requestContext": "ctx-1", "serialNumber": "1A2B", "issuerName": "CN=Contoso CA",
                                          "caConfiguration": "ca01\\Contoso"}, {"requestContext": "ctx-2", "serialNumber": "FF"}]})),
        ("requests-dup-serial.json", '{"value":[{"requestContext":"c","serialNumber":"1","serialNumber":"2"}]}'),
        ("requests-nul-serial.json", '{"value":[{"requestContext":"c","serialNumber":"1\\u0000"}]}'),
        ("requests-empty.json", '{"value":[]}'),
    ],
}
put("fuzz_properties", "stray-secret-line.properties",
    "AAD_APP_ID=00000000-1111-2222-3333-444444444444\nAAD_APP_KEY=New~Secret+/=value\nOld~Secret+/=stray-line-value\n"
    "TENANT=contoso.onmicrosoft.com\nPROVIDER_NAME_AND_VERSION=Contoso CA 1.0\nTIMEOUT_MSX=5\n")
for fuzzer, seeds in UNTRUSTED.items():
    for name, data in seeds:
        put(fuzzer, name, data)
print("seeds written under", ROOT)
