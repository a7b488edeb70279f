// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

/**
 * The four fields of a success notification, derived from an issued
 * certificate by {@link IntuneScepServiceClient#certificateDetails(byte[])}.
 */
public final class CertificateDetails {
    private final String thumbprint;
    private final String serialNumber;
    private final String expirationDate;
    private final String issuingAuthority;

    CertificateDetails(String thumbprint, String serialNumber, String expirationDate, String issuingAuthority) {
        this.thumbprint = thumbprint;
        this.serialNumber = serialNumber;
        this.expirationDate = expirationDate;
        this.issuingAuthority = issuingAuthority;
    }

    /** SHA-1 of the certificate's DER, 40 upper-case hex digits. */
    public String getThumbprint() {
        return thumbprint;
    }

    /** The serial number in upper-case hex, without leading zeros. */
    public String getSerialNumber() {
        return serialNumber;
    }

    /** notAfter as ISO 8601 UTC with milliseconds, e.g. "2027-06-11T16:11:20.000Z". */
    public String getExpirationDate() {
        return expirationDate;
    }

    /** The issuer's distinguished name (RFC 4514), e.g. "CN=Contoso Issuing CA,O=Contoso". */
    public String getIssuingAuthority() {
        return issuingAuthority;
    }

    @Override
    public String toString() {
        return "CertificateDetails[thumbprint=" + thumbprint + ", serialNumber=" + serialNumber
                + ", expirationDate=" + expirationDate + ", issuingAuthority=" + issuingAuthority + "]";
    }
}
