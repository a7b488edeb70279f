// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.carequest;

/**
 * What became of a revocation request, as uploaded in a
 * {@link CARevocationResult}: {@link #None} for a revocation that succeeded;
 * the 40xx codes for failures Intune should not retry, the 41xx codes for
 * failures it may retry. {@link #Value} is the code sent on the wire.
 */
public enum CARequestErrorCodes {
    /** No error: the certificate was revoked. */
    None("0"),
    /** A failure of the CA that a retry will not fix. */
    NonRetryableServiceException("4000"),
    /** The request could not be deserialized. */
    DataSerializationError("4001"),
    /** The request holds invalid parameters. */
    ParameterDataInvalidError("4002"),
    /** A cryptographic operation failed. */
    CryptographyError("4003"),
    /** The CA has no certificate with this serial number. */
    CertificateNotFoundError("4004"),
    /** A conflict, e.g. the certificate is already revoked. */
    ConflictError("4005"),
    /** The CA does not support this request. */
    NotSupportedError("4006"),
    /** The request is larger than the CA accepts. */
    PayloadTooLargeError("4007"),
    /** A failure of the CA that a retry may fix. */
    RetryableServiceException("4100"),
    /** The CA is unavailable for now. */
    ServiceUnavailableException("4101"),
    /** The CA is too busy for now. */
    ServiceTooBusyException("4102"),
    /** The CA could not authenticate for now. */
    AuthenticationException("4103");

    /** The code as sent to Intune: "0", "4000"-"4007", "4100"-"4103". */
    public final String Value;

    CARequestErrorCodes(String value) {
        this.Value = value;
    }

    /**
     * The constant whose {@link #Value} is {@code value}.
     *
     * @throws IllegalArgumentException when no constant has that code
     */
    public static CARequestErrorCodes fromValue(String value) {
        for (CARequestErrorCodes c : values()) {
            if (c.Value.equals(value)) {
                return c;
            }
        }
        throw new IllegalArgumentException("The argument 'value' is not a CARequestErrorCodes code: " + value);
    }
}
