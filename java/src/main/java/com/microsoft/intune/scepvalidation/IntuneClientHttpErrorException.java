// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.UUID;

/**
 * Intune or Microsoft Graph answered with an HTTP status outside 2xx (after the
 * library's retries, token refresh and rediscovery). Nothing was accepted.
 *
 * <p>{@link #getResponse()} is the body as received (capped at 4 KiB), as text;
 * Microsoft's reference client returned it as a JSON object, which would need
 * a JSON library: parse the string with the one your application uses.
 */
public class IntuneClientHttpErrorException extends IntuneClientException {
    private static final long serialVersionUID = 1L;

    private final int statusCode;
    private final String response;
    private String serviceCode;
    private String errorDescription;

    /** An exception for the answer {@code statusCode} with body {@code response} to the call {@code activityId}. */
    public IntuneClientHttpErrorException(int statusCode, String response, UUID activityId) {
        this("HTTP " + statusCode + " (activity " + activityId + ")", statusCode, response, activityId);
    }

    IntuneClientHttpErrorException(String message, int statusCode, String response, UUID activityId) {
        super(message);
        this.statusCode = statusCode;
        this.response = response;
        setDetails(null, activityId, null, statusCode, response);
    }

    void setServiceError(String code, String description) {
        this.serviceCode = code;
        this.errorDescription = description;
    }

    /**
     * The error code the service put in the body, as sent (Intune's {@code code}, or
     * Graph's {@code error.code}, e.g. {@code Authorization_RequestDenied}), or null.
     */
    public String getServiceCode() {
        return serviceCode;
    }

    /** The error description the service put in the body, or null. */
    public String getErrorDescription() {
        return errorDescription;
    }

    /** The HTTP status, e.g. 500. */
    public int getStatusCode() {
        return statusCode;
    }

    /** The response body as text (capped at 4 KiB), or null when the answer had none. */
    public String getResponse() {
        return response;
    }
}
