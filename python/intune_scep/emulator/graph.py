# SPDX-License-Identifier: Apache-2.0
"""Microsoft Graph: GET /v1.0/servicePrincipals/appId={id}/endpoints"""

import uuid
from urllib.parse import parse_qsl

from .state import INTUNE_APP_ID, PKI_SERVICE, SCEP_SERVICE, json_response

# Unrelated services Intune's service principal also lists (names as Intune uses them).
_UNRELATED = (
    "IntuneEnrollmentFEService", "DeviceManagementFEService", "StatelessGraphWebhookFEService",
    "RACerts", "StatelessIWService", "AndroidSyncFEService", "IntuneDeviceCheckinService",
    "GatewayService",
)

# Stable ids so repeated discovery answers the same entries.
_NS = uuid.UUID("6f1c7a0e-3a51-4b6b-9c43-5b0e6f3e2d10")


def graph_error(status, code, message):
    return json_response(status, {"error": {
        "code": code, "message": message,
        "innerError": {"request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}}})


def _entry(state, name, uri, unknown_fields=False):
    e = {
        "id": str(uuid.uuid5(_NS, name)),
        "deletedDateTime": None,
        "capability": "Intune",
        "providerId": str(uuid.uuid5(_NS, "provider-" + name)),
        "providerName": name,
        "providerResourceId": str(uuid.uuid5(_NS, "resource-" + name)),
        "uri": uri,
    }
    if unknown_fields:
        e["someFutureField"] = {"nested": [1, 2, 3], "flag": True}
        e["@odata.type"] = "#microsoft.graph.endpoint"
    return e


def entries(state):
    with state.lock:
        extra = max(0, state.settings["extra_endpoints"])
        mixed = state.settings["mixed_case_names"]
        scep_uri = state.service_uri(SCEP_SERVICE)
        pki_uri = state.service_uri(PKI_SERVICE)
    unrelated = [_entry(state, _UNRELATED[i % len(_UNRELATED)] + ("" if i < len(_UNRELATED) else str(i)),
                        "https://fef.msua06.manage.microsoft.com/%s" % _UNRELATED[i % len(_UNRELATED)],
                        unknown_fields=(i % 2 == 0))
                 for i in range(extra)]
    scep_name = SCEP_SERVICE.lower() if mixed else SCEP_SERVICE
    pki_name = PKI_SERVICE.upper() if mixed else PKI_SERVICE
    # Unrelated entries come before, between and after the ones a client needs.
    half = len(unrelated) // 2
    out = unrelated[:half] + [_entry(state, scep_name, scep_uri, True)]
    out += unrelated[half:half + 1] + [_entry(state, pki_name, pki_uri)] + unrelated[half + 1:]
    return out


def handle_discovery(state, req, version, app_id):
    resource = state.token_resource(req.header("authorization"))
    if resource != "graph":
        return graph_error(401, "InvalidAuthenticationToken",
                           "Access token is empty, expired or not valid for Microsoft Graph.")
    if app_id.lower() != INTUNE_APP_ID:
        return graph_error(404, "Request_ResourceNotFound",
                           "Resource 'appId=%s' does not exist or one of its queried reference-property "
                           "objects are not present." % app_id)
    all_entries = entries(state)
    with state.lock:
        page_size = state.settings["page_size"]
    skip = 0
    for k, v in parse_qsl(req.query, keep_blank_values=True):
        if k == "$skiptoken":
            try:
                skip = int(v)
                if skip < 0 or skip > len(all_entries):
                    raise ValueError
            except ValueError:
                return graph_error(400, "BadRequest", "Invalid $skiptoken.")
    body = {"@odata.context": "%s%s/$metadata#servicePrincipals('appId%%3D%s')/endpoints"
                              % (state.base_url, version, app_id)}
    if page_size and page_size > 0:
        body["value"] = all_entries[skip:skip + page_size]
        if skip + page_size < len(all_entries):
            body["@odata.nextLink"] = "%s%s/servicePrincipals/appId=%s/endpoints?$skiptoken=%d" % (
                state.base_url, version, app_id, skip + page_size)
    else:
        body["value"] = all_entries[skip:]
    return json_response(200, body)
