// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

/**
 * The identity platform (Entra ID) did not issue a token: a wrong or expired
 * client secret (AAD_APP_KEY), a wrong AAD_APP_ID or TENANT, missing admin
 * consent... {@link #getErrorCode()} is the OAuth {@code error} (e.g.
 * {@code invalid_client}), {@link #getErrorDescription()} the platform's
 * {@code error_description} and {@link #getAadstsCode()} its AADSTS number
 * (e.g. 7000215 for an invalid client secret): what an administrator needs to
 * fix it. Never holds the secret.
 */
public class IntuneClientAuthException extends IntuneClientException {
    private static final long serialVersionUID = 1L;

    private final String errorCode;
    private final String errorDescription;
    private final long aadstsCode;

    /** An exception for the identity platform's answer. */
    public IntuneClientAuthException(String message, String errorCode, String errorDescription, long aadstsCode) {
        super(message);
        this.errorCode = errorCode;
        this.errorDescription = errorDescription;
        this.aadstsCode = aadstsCode;
    }

    /** The OAuth "error", e.g. "invalid_client"; null when the answer had none. */
    public String getErrorCode() {
        return errorCode;
    }

    /** The identity platform's "error_description"; null when none. */
    public String getErrorDescription() {
        return errorDescription;
    }

    /** The AADSTS number, e.g. 7000215; 0 when none. */
    public long getAadstsCode() {
        return aadstsCode;
    }
}
