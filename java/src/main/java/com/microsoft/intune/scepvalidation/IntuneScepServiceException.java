// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.UUID;

/**
 * Intune answered the SCEP call with a code other than {@code Success}: the
 * request is not valid (validation) or the notification was not accepted.
 * The certificate must not be issued (or handed to the device).
 *
 * <p>{@link #getOriginalErrorCode()} is the code exactly as Intune sent it;
 * {@link #getParsedErrorCode()} is its {@link ErrorCode}, {@link ErrorCode#Unknown}
 * for a code this version does not know (the original is kept).
 */
public class IntuneScepServiceException extends IntuneClientException {
    private static final long serialVersionUID = 1L;

    /** The codes Intune defines, in the order of Microsoft's reference client. */
    public enum ErrorCode {
        Unknown,
        Success,
        CertificateRequestDecodingFailed,
        ChallengePasswordMissing,
        ChallengeDeserializationError,
        ChallengeDecryptionError,
        ChallengeDecodingError,
        ChallengeInvalidTimestamp,
        ChallengeExpired,
        SubjectNameMissing,
        SubjectNameMismatch,
        SubjectAltNameMissing,
        SubjectAltNameMismatch,
        KeyUsageMismatch,
        KeyLengthMismatch,
        EnhancedKeyUsageMissing,
        EnhancedKeyUsageMismatch,
        AadKeyIdentifierListMissing,
        RegisteredKeyMismatch,
        SigningCertThumbprintMismatch,
        ScepProfileNoLongerTargetedToTheClient,
        SignatureValidationFailed,
        BadCertificateRequestIdInChallenge,
        BadDeviceIdInChallenge,
        BadUserIdInChallenge;

        /** The code named exactly {@code code} (case-sensitive), or Unknown. */
        public static ErrorCode parse(String code) {
            if (code == null) {
                return Unknown;
            }
            try {
                return ErrorCode.valueOf(code);
            } catch (IllegalArgumentException e) {
                return Unknown;
            }
        }
    }

    private final String errorCode;
    private final String errorDescription;
    private final ErrorCode parsedErrorCode;

    /**
     * An exception for Intune's answer {@code errorCode} / {@code errorDescription}
     * to the call with {@code activityId} for the SCEP transaction {@code transactionId}.
     */
    public IntuneScepServiceException(String errorCode, String errorDescription, String transactionId,
            UUID activityId) {
        super("ActivityId:" + activityId + ",TransactionId:" + transactionId + ",ErrorCode:" + errorCode
                + ",ErrorDescription:" + errorDescription);
        this.errorCode = errorCode;
        this.errorDescription = errorDescription;
        this.parsedErrorCode = ErrorCode.parse(errorCode);
        setDetails(null, activityId, transactionId, 0, null);
    }

    /** The code as Intune sent it, e.g. "ChallengeExpired". */
    public String getOriginalErrorCode() {
        return errorCode;
    }

    /** The code as an {@link ErrorCode}; {@link ErrorCode#Unknown} when not one of them. */
    public ErrorCode getParsedErrorCode() {
        return parsedErrorCode;
    }

    /** Intune's errorDescription (may be empty or null). */
    public String getErrorDescription() {
        return errorDescription;
    }
}
