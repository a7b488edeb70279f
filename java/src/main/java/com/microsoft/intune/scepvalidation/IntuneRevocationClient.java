// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.io.IOException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

import javax.net.ssl.SSLSocketFactory;

import com.microsoft.intune.carequest.CARequestErrorCodes;
import com.microsoft.intune.carequest.CARevocationRequest;
import com.microsoft.intune.carequest.CARevocationResult;
import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.IntuneScepNativeConstants;
import com.microsoft.intune.scepvalidation.internal.LogBridge;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_revocation_requests;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_revocation_results;
import com.microsoft.intune.scepvalidation.internal.intune_scep_status;

/**
 * Client of Intune's certificate revocation service (PkiConnectorFEService),
 * with the API of Microsoft's reference client: a CA downloads the revocation
 * requests Intune queued for it ({@link #DownloadCARevocationRequests}),
 * revokes the certificates, and uploads what became of each request
 * ({@link #UploadRevocationResults}).
 *
 * <p>Microsoft's guidance, followed here: download at most 100 requests at a
 * time (500 is the service's limit: more is refused); give as
 * {@code issuerName} the issuing authority sent in the success notifications
 * (at most 256 characters), or null for every issuer; use the same transaction
 * id for a download and the upload of its results; download once an hour or
 * less often.
 *
 * <p><b>Fail closed:</b> an upload returns normally only when Intune answered
 * {@code {"value": true}}; anything else throws. Configuration, threads,
 * lifetime, logging (logger {@code com.microsoft.intune.scepvalidation}),
 * {@link #SetAppKey}, {@link #SetTrustStore} and {@link #SetSslSocketFactory}
 * are those of {@link IntuneScepServiceClient}: tokens, discovery, retries and
 * the deadline are the native library's.
 */
public class IntuneRevocationClient implements AutoCloseable {
    /** The Intune service the revocation calls go to: PkiConnectorFEService. */
    public static final String CONNECTOR_SERVICE_NAME = IntuneScepNativeConstants.INTUNE_SCEP_SERVICE_REVOCATION;
    /** The path of the download call under the service. */
    public static final String DOWNLOADREVOCATIONREQUESTS_URL = "CertificateAuthorityRequests/downloadRevocationRequests";
    /** The path of the upload call under the service. */
    public static final String UPLOADREVOCATIONRESULTS_URL = "CertificateAuthorityRequests/uploadRevocationResults";
    /** The most requests one download may ask for (the service's limit; 100 is recommended). */
    public static final int MAXREQUESTS_MAXVALUE = 500;
    /** The number of requests per download Microsoft recommends at most. */
    public static final int MAXREQUESTS_RECOMMENDED = 100;
    /** The longest issuer name Intune accepts. */
    public static final int ISSUERNAME_MAXLENGTH = 256;

    private final Logger logger = Logger.getLogger(LogBridge.LOGGER_NAME);
    private final IntuneScepServiceClient client;
    private final AtomicBoolean warnedAboutSize = new AtomicBoolean();

    /**
     * A client configured by {@code configProperties} (copied), with the keys of
     * {@link IntuneScepServiceClient} (PkiConnectorFEServiceVersion sets the
     * service's api-version, default 5019-05-05).
     *
     * @throws IllegalArgumentException when it is null, or a key is missing or invalid (the message names the key)
     */
    public IntuneRevocationClient(Properties configProperties) throws IllegalArgumentException {
        this.client = new IntuneScepServiceClient(configProperties);
    }

    private static void requireTransactionId(String transactionId) {
        if (transactionId == null || transactionId.isEmpty()) {
            throw new IllegalArgumentException("The argument 'transactionId' is missing");
        }
        if (transactionId.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("The argument 'transactionId' contains a NUL character");
        }
    }

    /**
     * Downloads up to {@code maxCARequestsToDownload} revocation requests Intune
     * queued for this CA, only those of {@code issuerName} when it is not null.
     * An empty list when there are none.
     *
     * @param transactionId an id of this download (use it again for the upload of its results)
     * @param maxCARequestsToDownload 1 to {@link #MAXREQUESTS_MAXVALUE}; at most 100 is recommended
     * @param issuerName the issuing authority sent in the success notifications (at most 256
     *        characters), or null for every issuer
     * @return the requests, in Intune's order
     * @throws IllegalArgumentException for an invalid argument, before anything is sent
     * @throws IntuneClientException the download failed (a subclass tells how)
     * @throws Exception as the reference declares
     */
    public List<CARevocationRequest> DownloadCARevocationRequests(String transactionId, int maxCARequestsToDownload,
            String issuerName) throws IntuneScepServiceException, Exception {
        requireTransactionId(transactionId);
        if (maxCARequestsToDownload <= 0 || maxCARequestsToDownload > MAXREQUESTS_MAXVALUE) {
            throw new IllegalArgumentException("The argument 'maxCARequestsToDownload' should be between 1 and "
                    + MAXREQUESTS_MAXVALUE + ". Value received: " + maxCARequestsToDownload);
        }
        if (issuerName != null) {
            if (issuerName.length() > ISSUERNAME_MAXLENGTH) {
                throw new IllegalArgumentException("The argument 'issuerName' is longer than " + ISSUERNAME_MAXLENGTH
                        + " characters");
            }
            if (issuerName.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("The argument 'issuerName' contains a NUL character");
            }
        }
        if (maxCARequestsToDownload > MAXREQUESTS_RECOMMENDED && warnedAboutSize.compareAndSet(false, true)) {
            logger.warning("downloadRevocationRequests: maxCARequestsToDownload=" + maxCARequestsToDownload
                    + "; Microsoft recommends at most " + MAXREQUESTS_RECOMMENDED + " per download");
        }
        List<CARevocationRequest> out = new ArrayList<>();
        client.invokeService(CONNECTOR_SERVICE_NAME, transactionId, (c, e) -> {
            SWIGTYPE_p_intune_scep_revocation_requests list = IntuneScepNative
                    .intune_scep_download_revocation_requests_ret(c, maxCARequestsToDownload, issuerName, e);
            if (list == null) {
                int st = IntuneScepNative.intune_scep_error_status(e);
                return st == intune_scep_status.INTUNE_SCEP_OK ? intune_scep_status.INTUNE_SCEP_E_INTERNAL : st;
            }
            try {
                long n = IntuneScepNative.intune_scep_revocation_requests_count(list);
                for (long i = 0; i < n; i++) {
                    CARevocationRequest r = new CARevocationRequest();
                    r.requestContext = IntuneScepNative.intune_scep_revocation_requests_request_context(list, i);
                    r.serialNumber = IntuneScepNative.intune_scep_revocation_requests_serial_number(list, i);
                    r.issuerName = IntuneScepNative.intune_scep_revocation_requests_issuer_name(list, i);
                    r.caConfiguration = IntuneScepNative.intune_scep_revocation_requests_ca_configuration(list, i);
                    out.add(r);
                }
            } finally {
                IntuneScepNative.intune_scep_revocation_requests_free(list);
            }
            logCompleted("downloadRevocationRequests", transactionId, e, out.size() + " requests");
            return intune_scep_status.INTUNE_SCEP_OK;
        });
        return out;
    }

    /**
     * Uploads what became of downloaded revocation requests. Returns normally
     * only when Intune accepted them.
     *
     * @param transactionId the id used for the download of these requests
     * @param revocationResults one result per request (at least one, at most 500)
     * @throws IllegalArgumentException for an invalid argument or result, before anything is sent
     * @throws IntuneClientException Intune did not accept the results, or the upload failed
     * @throws Exception as the reference declares
     */
    public void UploadRevocationResults(String transactionId, List<CARevocationResult> revocationResults)
            throws IntuneScepServiceException, Exception {
        requireTransactionId(transactionId);
        if (revocationResults == null || revocationResults.isEmpty()) {
            throw new IllegalArgumentException("The argument 'revocationResults' may not be null or empty.");
        }
        if (revocationResults.size() > MAXREQUESTS_MAXVALUE) {
            throw new IllegalArgumentException("The argument 'revocationResults' holds more than "
                    + MAXREQUESTS_MAXVALUE + " results");
        }
        SWIGTYPE_p_intune_scep_revocation_results nativeResults = IntuneScepNative.intune_scep_revocation_results_new();
        if (nativeResults == null) {
            throw new OutOfMemoryError("intune-scep: out of native memory for the revocation results");
        }
        try {
            SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
            try {
                int i = 0;
                for (CARevocationResult r : revocationResults) {
                    addResult(nativeResults, r, i++, err);
                }
            } finally {
                IntuneScepNative.intune_scep_error_free(err);
            }
            client.invokeService(CONNECTOR_SERVICE_NAME, transactionId, (c, e) -> {
                int st = IntuneScepNative.intune_scep_upload_revocation_results(c, nativeResults, e);
                if (st == intune_scep_status.INTUNE_SCEP_OK) {
                    logCompleted("uploadRevocationResults", transactionId, e, revocationResults.size() + " results");
                }
                return st;
            });
        } finally {
            IntuneScepNative.intune_scep_revocation_results_free(nativeResults);
        }
    }

    private static void addResult(SWIGTYPE_p_intune_scep_revocation_results out, CARevocationResult r, int index,
            SWIGTYPE_p_intune_scep_error err) {
        String where = "The argument 'revocationResults' item " + index;
        if (r == null) {
            throw new IllegalArgumentException(where + " is null");
        }
        if (r.requestContext == null || r.requestContext.isEmpty() || r.requestContext.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(where + ": requestContext is missing or holds a NUL character");
        }
        String code = r.errorCode;
        if (code == null) {
            throw new IllegalArgumentException(where + ": errorCode is missing");
        }
        CARequestErrorCodes parsed;
        try {
            parsed = CARequestErrorCodes.fromValue(code);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": errorCode \"" + code + "\" is not a CARequestErrorCodes value");
        }
        if (r.succeeded != (parsed == CARequestErrorCodes.None)) {
            throw new IllegalArgumentException(where + ": errorCode must be None (\"0\") exactly when succeeded is true");
        }
        String message = r.errorMessage;
        if (message != null && message.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(where + ": errorMessage contains a NUL character");
        }
        int st = IntuneScepNative.intune_scep_revocation_results_add(out, r.requestContext, r.succeeded ? 1 : 0,
                code, message, err);
        if (st == intune_scep_status.INTUNE_SCEP_E_NOMEM) {
            throw new OutOfMemoryError("intune-scep: out of native memory for the revocation results");
        }
        if (st != intune_scep_status.INTUNE_SCEP_OK) {
            throw new IllegalArgumentException(where + ": " + IntuneScepNative.intune_scep_error_message(err));
        }
    }

    private void logCompleted(String op, String transactionId, SWIGTYPE_p_intune_scep_error e, String what) {
        if (logger.isLoggable(Level.FINE)) {
            logger.fine(op + " transaction_id=" + transactionId + " activity_id="
                    + IntuneScepNative.intune_scep_error_activity_id(e) + ": " + what);
        }
    }

    /** As {@link IntuneScepServiceClient#SetAppKey(String)}. */
    public void SetAppKey(String appKey) throws IllegalArgumentException {
        client.SetAppKey(appKey);
    }

    /** As {@link IntuneScepServiceClient#SetTrustStore(KeyStore)}. */
    public void SetTrustStore(KeyStore trustStore) throws KeyStoreException, IOException {
        client.SetTrustStore(trustStore);
    }

    /** As {@link IntuneScepServiceClient#SetSslSocketFactory(SSLSocketFactory)}. */
    public void SetSslSocketFactory(SSLSocketFactory factory) throws IllegalArgumentException {
        client.SetSslSocketFactory(factory);
    }

    /** The reference's lower-case spelling of {@link #SetSslSocketFactory}. */
    public void setSslSocketFactory(SSLSocketFactory factory) throws IllegalArgumentException {
        client.SetSslSocketFactory(factory);
    }

    /** Frees the native client (calls still running finish first). Idempotent. */
    @Override
    public void close() {
        client.close();
    }
}
