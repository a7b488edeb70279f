// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.carequest;

/**
 * One revocation request Intune queued for this CA: revoke the certificate
 * with {@link #serialNumber} issued by {@link #issuerName}, and report the
 * outcome with a {@link CARevocationResult} carrying the same
 * {@link #requestContext}.
 */
public class CARevocationRequest {
    /** Opaque to the CA: echo it in the result. */
    public String requestContext;
    /** The serial number of the certificate to revoke, as Intune sent it (hex). */
    public String serialNumber;
    /** The issuer name Intune holds for the certificate (may be empty). */
    public String issuerName;
    /** The CA configuration Intune holds for the certificate (may be null). */
    public String caConfiguration;

    /** An empty request (every field null), for deserializers. */
    public CARevocationRequest() {
    }

    /**
     * A request with these fields.
     *
     * @param requestContext the request's context (required)
     * @param serialNumber the serial number of the certificate to revoke (required)
     * @param issuerName the issuer name (optional)
     * @param caConfig the CA configuration (optional)
     * @throws IllegalArgumentException when {@code requestContext} or {@code serialNumber} is null
     */
    public CARevocationRequest(String requestContext, String serialNumber, String issuerName, String caConfig) {
        if (requestContext == null) {
            throw new IllegalArgumentException("The argument 'requestContext' may not be null");
        }
        if (serialNumber == null) {
            throw new IllegalArgumentException("The argument 'serialNumber' may not be null");
        }
        this.requestContext = requestContext;
        this.serialNumber = serialNumber;
        this.issuerName = issuerName;
        this.caConfiguration = caConfig;
    }

    @Override
    public String toString() {
        return "CARevocationRequest{serialNumber=" + serialNumber + ", issuerName=" + issuerName
                + ", caConfiguration=" + caConfiguration + "}";
    }
}
