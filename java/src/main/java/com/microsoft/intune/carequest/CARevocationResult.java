// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.carequest;

/**
 * What became of one {@link CARevocationRequest}, to upload with
 * {@code IntuneRevocationClient.UploadRevocationResults}. A result that
 * succeeded carries {@link CARequestErrorCodes#None}; a failed one never does.
 */
public class CARevocationResult {
    /** The {@link CARevocationRequest#requestContext} of the request. */
    public String requestContext;
    /** Whether the CA revoked the certificate. */
    public boolean succeeded;
    /** The {@link CARequestErrorCodes#Value} of the outcome ("0" for a success). */
    public String errorCode;
    /** What went wrong, for the administrator (optional). */
    public String errorMessage;

    /**
     * A result.
     *
     * @param requestContext the request's context (required, non-empty)
     * @param succeeded whether the revocation succeeded
     * @param errorCode {@link CARequestErrorCodes#None} when it succeeded, another code when it failed
     * @param errorMessage what went wrong (optional)
     * @throws IllegalArgumentException when {@code requestContext} is null or empty, {@code errorCode}
     *         is null, or {@code errorCode} does not fit {@code succeeded}
     */
    public CARevocationResult(String requestContext, boolean succeeded, CARequestErrorCodes errorCode,
            String errorMessage) {
        if (requestContext == null || requestContext.isEmpty()) {
            throw new IllegalArgumentException("The argument 'requestContext' may not be null or empty");
        }
        if (errorCode == null) {
            throw new IllegalArgumentException("The argument 'errorCode' may not be null (use CARequestErrorCodes.None"
                    + " for a success)");
        }
        if (succeeded && errorCode != CARequestErrorCodes.None) {
            throw new IllegalArgumentException("The argument 'errorCode' must be None (\"0\") when succeeded is true");
        }
        if (!succeeded && errorCode == CARequestErrorCodes.None) {
            throw new IllegalArgumentException("The argument 'errorCode' may not be None (\"0\") when succeeded is"
                    + " false");
        }
        this.requestContext = requestContext;
        this.succeeded = succeeded;
        this.errorCode = errorCode.Value;
        this.errorMessage = errorMessage;
    }

    @Override
    public String toString() {
        return "CARevocationResult{succeeded=" + succeeded + ", errorCode=" + errorCode + "}";
    }
}
