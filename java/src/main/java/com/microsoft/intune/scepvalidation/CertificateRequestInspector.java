// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.intune_scep_status;

/**
 * What a certificate request asks for, read by the native library
 * (intune_scep_csr_info_*): nothing is sent anywhere.
 */
public final class CertificateRequestInspector {
    private CertificateRequestInspector() {
    }

    /**
     * Read a certificate request (PEM, DER, or base64 with or without line breaks) and
     * return what it asks for as one JSON object: {@code subject} (RFC 4514),
     * {@code challenge_password} (null when absent; the device's one-time credential,
     * not to be logged), {@code sans} ({@code [{"type","value"}]}, types email, upn, dns,
     * uri, ip, dirname, other), {@code sid} (from the strong-mapping URI
     * {@code tag:microsoft.com,2022-09-14:sid:<SID>}), {@code key_type}, {@code key_bits},
     * {@code signature_hash}, {@code signature_valid}, {@code key_usage} (comma-separated,
     * null when not requested), {@code ekus} (dotted OIDs), {@code validity_period},
     * {@code validity_period_units} and {@code validity_days} (Intune's name-value pairs).
     *
     * @throws IllegalArgumentException when {@code certificateRequest} is missing or not a certificate request
     */
    public static String inspectJson(byte[] certificateRequest) throws IllegalArgumentException {
        if (certificateRequest == null) {
            throw new IllegalArgumentException("The argument 'certificateRequest' is missing");
        }
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            String out = IntuneScepNative.intune_scep_csr_info_parse_json(certificateRequest, err);
            if (out == null) {
                int st = IntuneScepNative.intune_scep_error_status(err);
                String message = IntuneScepNative.intune_scep_error_message(err);
                if (st == intune_scep_status.INTUNE_SCEP_E_NOMEM) {
                    throw new OutOfMemoryError("intune-scep: " + message);
                }
                throw new IllegalArgumentException("The argument 'certificateRequest' is invalid: " + message);
            }
            return out;
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
        }
    }
}
