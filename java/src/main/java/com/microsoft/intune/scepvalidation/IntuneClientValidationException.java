// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.UUID;

/**
 * Kept so that code written against early versions of Microsoft's reference
 * client (which threw it for a failed validation) still compiles. This library
 * never throws it: a refused validation is an {@link IntuneScepServiceException}.
 *
 * @deprecated catch {@link IntuneScepServiceException} instead
 */
@Deprecated
public class IntuneClientValidationException extends IntuneClientException {
    private static final long serialVersionUID = 1L;

    private final String errorCode;

    /** An exception for the validation failure {@code errorCode}. */
    public IntuneClientValidationException(String errorCode, String errorMessage, String transactionId,
            UUID activityId) {
        super(errorMessage);
        this.errorCode = errorCode;
        setDetails(null, activityId, transactionId, 0, null);
    }

    /** The code that describes why the request failed validation. */
    public String getErrorCode() {
        return errorCode;
    }
}
