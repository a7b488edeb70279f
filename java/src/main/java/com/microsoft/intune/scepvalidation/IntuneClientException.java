// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.UUID;

/**
 * The base of every error this library reports about a call to Intune, the
 * identity platform or Microsoft Graph. Whatever its subclass, it means: the
 * call did not succeed, and a certificate must not be issued on its strength.
 *
 * <p>Besides the message (one line; it never holds a secret), it carries what
 * the library knew when the call failed: the activity id (the
 * {@code client-request-id} sent with the call, which Intune support correlates
 * by), the SCEP transaction id, the native status name, and for an answer that
 * was received the HTTP status and body. A getter returns null (or 0) for what
 * was not set.
 *
 * <p>Subclasses: {@link IntuneScepServiceException} (Intune answered with a
 * code other than Success), {@link IntuneClientHttpErrorException} (a non-2xx
 * answer), {@link IntuneClientAuthException} (the identity platform refused),
 * {@link IntuneServiceNotFoundException} (discovery lists no such service).
 * This class itself is thrown for transport failures (connect, DNS, TLS,
 * proxy, timeout: status {@code INTUNE_SCEP_E_TRANSPORT}), for a 2xx answer
 * that cannot be trusted ({@code INTUNE_SCEP_E_PROTOCOL}), for exhausted
 * memory ({@code INTUNE_SCEP_E_NOMEM}) and for internal failures
 * ({@code INTUNE_SCEP_E_INTERNAL}).
 */
public class IntuneClientException extends Exception {
    private static final long serialVersionUID = 1L;

    private UUID activityId;
    private String transactionId;
    private String statusName;
    private int httpStatus;
    private String responseBody;

    public IntuneClientException() {
    }

    public IntuneClientException(String message) {
        super(message);
    }

    public IntuneClientException(Throwable cause) {
        super(cause);
    }

    public IntuneClientException(String message, Throwable cause) {
        super(message, cause);
    }

    public IntuneClientException(String message, Throwable cause, boolean enableSuppression,
            boolean writableStackTrace) {
        super(message, cause, enableSuppression, writableStackTrace);
    }

    /** Fill the fields the native error carried (used by the client). */
    final void setDetails(String statusName, UUID activityId, String transactionId, int httpStatus,
            String responseBody) {
        this.statusName = statusName;
        this.activityId = activityId;
        this.transactionId = transactionId;
        this.httpStatus = httpStatus;
        this.responseBody = responseBody;
    }

    /**
     * The activity id: the {@code client-request-id} UUID of the failing call
     * (every attempt of one call carries the same one); null when nothing was sent.
     */
    public UUID getActivityId() {
        return activityId;
    }

    /** The SCEP transaction id of the failing call as the caller gave it, or null. */
    public String getTransactionId() {
        return transactionId;
    }

    /**
     * The library's status name, e.g. {@code INTUNE_SCEP_E_TRANSPORT},
     * {@code INTUNE_SCEP_E_PROTOCOL}, {@code INTUNE_SCEP_E_REJECTED}; null for an
     * exception not made by this library.
     */
    public String getStatusName() {
        return statusName;
    }

    /** The HTTP status of the last answer of the failing call; 0 when there was no HTTP answer. */
    public int getHttpStatus() {
        return httpStatus;
    }

    /** The body of a non-2xx (or untrusted 2xx) answer, capped at 4 KiB; null when none. */
    public String getResponseBody() {
        return responseBody;
    }
}
