// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.UUID;

import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.IntuneScepNativeConstants;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.intune_scep_status;

/** Turns a native status and error object into the Java exception of the documented API. */
final class NativeErrors {
    static final String SCEP_SERVICE = IntuneScepNativeConstants.INTUNE_SCEP_SERVICE_VALIDATION;

    private NativeErrors() {
    }

    /** A new native error object; OutOfMemoryError when none can be had. */
    static SWIGTYPE_p_intune_scep_error newError() {
        SWIGTYPE_p_intune_scep_error err = IntuneScepNative.intune_scep_error_new();
        if (err == null) {
            throw new OutOfMemoryError("intune-scep: out of native memory for an error object");
        }
        return err;
    }

    static UUID parseUuid(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        try {
            return UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The exception for {@code status} (not OK), with every field of {@code err}.
     * IllegalArgumentException (invalid argument or configuration) is returned,
     * not thrown, like the checked ones: the caller throws what it gets.
     */
    static Exception toException(int status, SWIGTYPE_p_intune_scep_error err, String transactionIdGiven) {
        return toException(status, err, transactionIdGiven, SCEP_SERVICE);
    }

    /**
     * As {@link #toException(int, SWIGTYPE_p_intune_scep_error, String)} for a call to the Intune service
     * {@code serviceName}: outside the SCEP service a refusal (INTUNE_SCEP_E_REJECTED, e.g. an upload answered
     * {"value": false}) is an {@link IntuneClientException}, as in the reference.
     */
    static Exception toException(int status, SWIGTYPE_p_intune_scep_error err, String transactionIdGiven,
            String serviceName) {
        String message = IntuneScepNative.intune_scep_error_message(err);
        if (message == null || message.isEmpty()) {
            message = IntuneScepNative.intune_scep_status_name(status);
        }
        String statusName = IntuneScepNative.intune_scep_status_name(status);
        switch (status) {
            case intune_scep_status.INTUNE_SCEP_E_INVALID_ARGUMENT:
            case intune_scep_status.INTUNE_SCEP_E_CONFIG:
                return new IllegalArgumentException(message);
            default:
                break;
        }
        UUID activityId = parseUuid(IntuneScepNative.intune_scep_error_activity_id(err));
        String transactionId = IntuneScepNative.intune_scep_error_transaction_id(err);
        if (transactionId == null) {
            transactionId = transactionIdGiven;
        }
        int httpStatus = (int) IntuneScepNative.intune_scep_error_http_status(err);
        String body = IntuneScepNative.intune_scep_error_response_body(err);
        String serviceCode = IntuneScepNative.intune_scep_error_service_code(err);
        String description = IntuneScepNative.intune_scep_error_description(err);

        IntuneClientException e;
        switch (status) {
            case intune_scep_status.INTUNE_SCEP_E_REJECTED:
                if (!SCEP_SERVICE.equals(serviceName)) {
                    e = new IntuneClientException(message);
                    break;
                }
                e = new IntuneScepServiceException(serviceCode, description, transactionId, activityId);
                break;
            case intune_scep_status.INTUNE_SCEP_E_HTTP:
                e = new IntuneClientHttpErrorException(message, httpStatus, body, activityId);
                ((IntuneClientHttpErrorException) e).setServiceError(serviceCode, description);
                break;
            case intune_scep_status.INTUNE_SCEP_E_AUTH:
                e = new IntuneClientAuthException(message, serviceCode, description,
                        IntuneScepNative.intune_scep_error_aadsts_code(err));
                break;
            case intune_scep_status.INTUNE_SCEP_E_SERVICE_NOT_FOUND:
                e = new IntuneServiceNotFoundException(serviceName, message);
                break;
            default: // TRANSPORT, PROTOCOL, NOMEM, INTERNAL and any status this version does not know
                e = new IntuneClientException(message);
                break;
        }
        e.setDetails(statusName, activityId, transactionId, httpStatus, body);
        return e;
    }
}
