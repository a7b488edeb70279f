# SPDX-License-Identifier: Apache-2.0
"""A certificate authority's SCEP handler as a newcomer writes it with intune_scep:
validate with Intune, issue only on Success, then tell Intune what was issued."""

from __future__ import annotations

from typing import Callable, Optional

from intune_scep import IntuneClientException, IntuneScepServiceClient


class ScepHandler:
    def __init__(self, client: IntuneScepServiceClient, issue: Callable[[object], object]) -> None:
        self.client = client  # one client, shared by every request
        self.issue = issue    # the CA: CSR -> certificate

    def enroll(self, transaction_id: str, csr) -> Optional[object]:
        """The issued certificate, or None when Intune did not say Success (nothing issued)."""
        try:
            self.client.ValidateRequest(transaction_id, csr)  # the CSR as the device sent it: PEM is fine
        except IntuneClientException:
            return None  # the library logged the outcome (logger intune_scep) with the activity id
        cert = self.issue(csr)
        try:
            self.client.notify_success_for_certificate(transaction_id, csr, cert)
        except IntuneClientException:
            return None  # Intune does not know the certificate: do not hand it out
        return cert
