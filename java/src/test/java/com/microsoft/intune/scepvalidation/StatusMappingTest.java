// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import com.microsoft.intune.scepvalidation.IntuneScepServiceException.ErrorCode;
import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.intune_scep_status;

/**
 * Every native status maps to its exception class, including those no test
 * can provoke against the emulator (out of memory, internal, a status a later
 * library version adds). The error object here is empty: only the status and
 * the transaction id given by the caller are known.
 */
class StatusMappingTest {

    private static Exception map(int status) {
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            return NativeErrors.toException(status, err, "tid-1");
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
        }
    }

    private static void assertClientException(int status, Class<?> cls, String name) {
        Exception e = map(status);
        assertEquals(cls, e.getClass(), name);
        IntuneClientException ice = (IntuneClientException) e;
        assertEquals(name, ice.getStatusName());
        assertEquals("tid-1", ice.getTransactionId());
        assertNull(ice.getActivityId());
        assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
    }

    @Test
    void everyStatus() {
        assertEquals(IllegalArgumentException.class, map(intune_scep_status.INTUNE_SCEP_E_INVALID_ARGUMENT).getClass());
        assertEquals(IllegalArgumentException.class, map(intune_scep_status.INTUNE_SCEP_E_CONFIG).getClass());
        assertClientException(intune_scep_status.INTUNE_SCEP_E_AUTH, IntuneClientAuthException.class,
                "INTUNE_SCEP_E_AUTH");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_SERVICE_NOT_FOUND,
                IntuneServiceNotFoundException.class, "INTUNE_SCEP_E_SERVICE_NOT_FOUND");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_HTTP, IntuneClientHttpErrorException.class,
                "INTUNE_SCEP_E_HTTP");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_TRANSPORT, IntuneClientException.class,
                "INTUNE_SCEP_E_TRANSPORT");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_PROTOCOL, IntuneClientException.class,
                "INTUNE_SCEP_E_PROTOCOL");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_REJECTED, IntuneScepServiceException.class,
                "INTUNE_SCEP_E_REJECTED");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_NOMEM, IntuneClientException.class,
                "INTUNE_SCEP_E_NOMEM");
        assertClientException(intune_scep_status.INTUNE_SCEP_E_INTERNAL, IntuneClientException.class,
                "INTUNE_SCEP_E_INTERNAL");
        assertClientException(99, IntuneClientException.class, "INTUNE_SCEP_E_UNKNOWN");
        // a rejection without a code is still a rejection: Unknown, never Success
        IntuneScepServiceException r = (IntuneScepServiceException) map(intune_scep_status.INTUNE_SCEP_E_REJECTED);
        assertEquals(ErrorCode.Unknown, r.getParsedErrorCode());
    }
}
