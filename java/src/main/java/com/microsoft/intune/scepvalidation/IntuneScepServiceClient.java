// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.io.IOException;
import java.io.Writer;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Enumeration;
import java.util.List;
import java.util.Properties;
import java.util.logging.Logger;

import javax.net.ssl.SSLSocketFactory;

import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.IntuneScepNativeConstants;
import com.microsoft.intune.scepvalidation.internal.LogBridge;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_cert_details;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_client;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_config;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_java_log_sink;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_java_transport;
import com.microsoft.intune.scepvalidation.internal.SocketFactoryTransport;
import com.microsoft.intune.scepvalidation.internal.intune_scep_credential_kind;
import com.microsoft.intune.scepvalidation.internal.intune_scep_resource;
import com.microsoft.intune.scepvalidation.internal.intune_scep_status;

/**
 * Client of Intune's SCEP validation service (ScepRequestValidationFEService),
 * with the API of Microsoft's reference client: a SCEP server or CA asks
 * Intune whether a device's certificate request and its challenge are genuine
 * ({@link #ValidateRequest}), then tells Intune what it issued
 * ({@link #SendSuccessNotification}) or why it failed
 * ({@link #SendFailureNotification}).
 *
 * <p><b>Fail closed:</b> a method returns normally only when Intune answered
 * {@code Success}. Any exception (an Intune code, an HTTP error, a timeout, a
 * TLS failure, an authentication failure...) means the certificate must not be
 * issued (or, for a success notification, not handed to the device).
 *
 * <p><b>Threads:</b> one client serves any number of threads at once; create
 * one per configuration and share it. Calls take no lock: tokens, service
 * discovery and connections are cached and shared natively.
 *
 * <p><b>Configuration:</b> the keys of the reference client (AAD_APP_ID,
 * AAD_APP_KEY, TENANT, PROVIDER_NAME_AND_VERSION, PROXY_*, ...) and this
 * library's own (TLS_CA_FILE, TIMEOUT_MS, CONNECT_TIMEOUT_MS, MAX_RETRIES...).
 * An invalid configuration is an {@link IllegalArgumentException} naming the
 * key, raised by the constructor; nothing is sent before the first call.
 *
 * <p><b>Lifetime:</b> {@link #close()} frees the native client (calls still
 * running finish first); a client that becomes unreachable without being
 * closed is freed by a {@link Cleaner}.
 *
 * <p><b>TLS:</b> native (libcurl and OpenSSL), trusting the system store,
 * TLS_CA_FILE or {@link #SetTrustStore}; or Java's, through the factory given
 * to {@link #SetSslSocketFactory}.
 *
 * <p><b>Logging:</b> java.util.logging, logger
 * {@code com.microsoft.intune.scepvalidation}; never a secret.
 */
public class IntuneScepServiceClient implements AutoCloseable {
    /** The Intune service the SCEP calls go to: ScepRequestValidationFEService. */
    public static final String VALIDATION_SERVICE_NAME = IntuneScepNativeConstants.INTUNE_SCEP_SERVICE_VALIDATION;

    private static final String TLS_CA_FILE = "TLS_CA_FILE";
    private static final String AAD_APP_KEY = "AAD_APP_KEY";

    private static final Cleaner CLEANER = Cleaner.create();

    private final Logger logger = Logger.getLogger(LogBridge.LOGGER_NAME);
    private final NativeState state;
    private final Cleaner.Cleanable cleanable;
    private final Object configLock = new Object();
    /** Set by SetSslSocketFactory (guarded by configLock): new native clients then use a Java transport. */
    private SSLSocketFactory sslSocketFactory;

    /** One native call, made with a live client and a fresh error object. */
    interface NativeCall {
        int run(SWIGTYPE_p_intune_scep_client client, SWIGTYPE_p_intune_scep_error err);
    }

    /**
     * A client configured by {@code configProperties} (copied: later changes to
     * the object have no effect).
     *
     * @param configProperties the configuration
     * @throws IllegalArgumentException when it is null, or a key is missing or
     *         invalid (the message names the key; never a value)
     */
    public IntuneScepServiceClient(Properties configProperties) throws IllegalArgumentException {
        if (configProperties == null) {
            throw new IllegalArgumentException("The argument 'configProperties' is missing");
        }
        SWIGTYPE_p_intune_scep_config config = IntuneScepNative.intune_scep_config_new();
        if (config == null) {
            throw new OutOfMemoryError("intune-scep: out of native memory for the configuration");
        }
        SWIGTYPE_p_intune_scep_java_log_sink sink = null;
        NativeState.Shared shared = null;
        try {
            for (String key : configProperties.stringPropertyNames()) {
                setConfig(config, key, configProperties.getProperty(key));
            }
            LogBridge bridge = new LogBridge(logger);
            sink = IntuneScepNative.intune_scep_java_log_sink_new(bridge);
            IntuneScepNative.intune_scep_config_set_log_callback_java(config, sink, LogBridge.minNativeLevel(logger));
            shared = new NativeState.Shared(config, sink);
        } finally {
            if (shared == null) {
                IntuneScepNative.intune_scep_config_free(config);
                IntuneScepNative.intune_scep_java_log_sink_free(sink);
            }
        }
        NativeState.Handle handle;
        try {
            handle = newHandle(shared, null);
        } catch (RuntimeException | Error e) {
            shared.release();
            throw e;
        }
        NativeState s = new NativeState(shared);
        s.init(handle);
        this.state = s;
        this.cleanable = CLEANER.register(this, s);
    }

    private static void setConfig(SWIGTYPE_p_intune_scep_config config, String key, String value) {
        if (key.isEmpty()) {
            throw new IllegalArgumentException("A configuration property has an empty key");
        }
        if (key.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("A configuration property key contains a NUL character");
        }
        if (value != null && value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("The property '" + key + "' contains a NUL character");
        }
        int st = IntuneScepNative.intune_scep_config_set(config, key, value);
        if (st == intune_scep_status.INTUNE_SCEP_E_NOMEM) {
            throw new OutOfMemoryError("intune-scep: out of native memory setting the property '" + key + "'");
        }
        if (st != intune_scep_status.INTUNE_SCEP_OK) {
            throw new IllegalArgumentException("The property '" + key
                    + "' is invalid: its key or value is not valid UTF-8 or holds a control character");
        }
    }

    /**
     * A native client from the shared configuration (which takes a reference for it); its HTTPS goes
     * through a Java transport over {@link #sslSocketFactory} when one is set.
     */
    private NativeState.Handle newHandle(NativeState.Shared shared, Path privateCaFile) {
        int level = LogBridge.minNativeLevel(logger);
        IntuneScepNative.intune_scep_config_set_log_callback_java(shared.config, shared.sink, level);
        SWIGTYPE_p_intune_scep_java_transport transport = null;
        SSLSocketFactory factory = sslSocketFactory;
        if (factory != null) {
            transport = IntuneScepNative.intune_scep_java_transport_new(newTransport(shared, factory));
        }
        boolean made = false;
        IntuneScepNative.intune_scep_config_set_transport_java(shared.config, transport);
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            SWIGTYPE_p_intune_scep_client client = IntuneScepNative.intune_scep_client_new_ret(shared.config, err);
            IntuneScepNative.intune_scep_config_set_transport_java(shared.config, null);
            if (client == null) {
                int st = IntuneScepNative.intune_scep_error_status(err);
                Exception e = NativeErrors.toException(st, err, null);
                if (e instanceof IllegalArgumentException) {
                    throw (IllegalArgumentException) e;
                }
                if (st == intune_scep_status.INTUNE_SCEP_E_NOMEM) {
                    throw new OutOfMemoryError("intune-scep: " + e.getMessage());
                }
                throw new IllegalStateException("intune-scep: cannot create the client: " + e.getMessage(), e);
            }
            if (!shared.acquire()) {
                IntuneScepNative.intune_scep_client_free(client);
                throw new IllegalStateException("The IntuneScepServiceClient is closed");
            }
            made = true; // the handle owns the transport from here on
            return new NativeState.Handle(client, shared, privateCaFile, level, transport);
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
            if (!made) {
                IntuneScepNative.intune_scep_java_transport_free(transport);
            }
        }
    }

    /** The Java transport over {@code factory}, with the configuration's PROXY_* keys. */
    private static SocketFactoryTransport newTransport(NativeState.Shared shared, SSLSocketFactory factory) {
        SWIGTYPE_p_intune_scep_config config = shared.config;
        String host = IntuneScepNative.intune_scep_config_get(config, "PROXY_HOST");
        String port = IntuneScepNative.intune_scep_config_get(config, "PROXY_PORT");
        int p = 0;
        if (host != null && !host.isEmpty()) {
            try {
                p = Integer.parseInt(port == null ? "" : port.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("The property 'PROXY_PORT' must be a port number (1-65535)");
            }
        }
        return new SocketFactoryTransport(factory, host, p, IntuneScepNative.intune_scep_config_get(config,
                "PROXY_USER"), IntuneScepNative.intune_scep_config_get(config, "PROXY_PASS"));
    }

    /** Run {@code call} on a live native client; throws the mapped exception when it fails. */
    void invoke(String transactionId, NativeCall call) throws IntuneClientException {
        NativeState.Handle h = state.acquire();
        try {
            invokeOn(h, transactionId, call);
        } finally {
            h.release();
        }
    }

    /** As {@link #invoke(String, NativeCall)} for a call to the Intune service {@code serviceName}. */
    void invokeService(String serviceName, String transactionId, NativeCall call) throws IntuneClientException {
        NativeState.Handle h = state.acquire();
        try {
            invokeOn(h, serviceName, transactionId, call);
        } finally {
            h.release();
        }
    }

    /** The native error objects kept for reuse by the current handle (for tests). */
    int spareErrorObjects() {
        NativeState.Handle h = state.acquire();
        try {
            return h.spareErrorCount();
        } finally {
            h.release();
        }
    }

    /** Run {@code call} on the handle {@code h}, which the caller holds a reference on. */
    private void invokeOn(NativeState.Handle h, String transactionId, NativeCall call) throws IntuneClientException {
        invokeOn(h, NativeErrors.SCEP_SERVICE, transactionId, call);
    }

    private void invokeOn(NativeState.Handle h, String serviceName, String transactionId, NativeCall call)
            throws IntuneClientException {
        int level = LogBridge.minNativeLevel(logger);
        if (level != h.logLevel) {
            h.logLevel = level;
            IntuneScepNative.intune_scep_client_set_log_callback_java(h.client, h.shared.sink, level);
        }
        SWIGTYPE_p_intune_scep_error err = h.takeError();
        try {
            int st = call.run(h.client, err);
            if (st != intune_scep_status.INTUNE_SCEP_OK) {
                throwMapped(NativeErrors.toException(st, err, transactionId, serviceName));
            }
        } finally {
            h.giveBack(err);
        }
    }

    private static void throwMapped(Exception e) throws IntuneClientException {
        if (e instanceof IntuneClientException) {
            throw (IntuneClientException) e;
        }
        if (e instanceof RuntimeException) {
            throw (RuntimeException) e;
        }
        throw new IllegalStateException(e);
    }

    private static void requireArgument(String name, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("The argument '" + name + "' is missing");
        }
        checkNoNul(name, value);
    }

    private static void checkNoNul(String name, String value) {
        if (value != null && value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("The argument '" + name + "' contains a NUL character");
        }
    }

    private static void requireArgument(String name, byte[] value) {
        if (value == null || value.length == 0) {
            throw new IllegalArgumentException("The argument '" + name + "' is missing");
        }
    }

    /**
     * Asks Intune whether the certificate request and the challenge inside it
     * are genuine. Returns normally only when Intune answered Success: issue
     * the certificate then, and never otherwise.
     *
     * @param transactionId the SCEP transaction id of the request
     * @param certificateRequest the DER PKCS#10 request in base64 (no PEM armour, no line breaks)
     * @throws IntuneScepServiceException Intune answered with another code (see getParsedErrorCode)
     * @throws Exception any other failure (an {@link IntuneClientException} subclass;
     *         {@link IllegalArgumentException} for a missing argument, before anything is sent)
     */
    public void ValidateRequest(String transactionId, String certificateRequest)
            throws IntuneScepServiceException, Exception {
        requireArgument("transactionId", transactionId);
        requireArgument("certificateRequest", certificateRequest);
        invoke(transactionId, (c, e) -> IntuneScepNative.intune_scep_validate_request(c, transactionId,
                certificateRequest, e));
    }

    /**
     * Tells Intune the certificate was issued. When this throws, the
     * certificate should not be handed to the device.
     *
     * @param transactionId the SCEP transaction id
     * @param certificateRequest the DER PKCS#10 request in base64
     * @param certThumbprint SHA-1 of the issued certificate's DER, in hex
     * @param certSerialNumber the serial number in hex
     * @param certExpirationDate notAfter as ISO 8601 UTC, e.g. "2027-06-11T16:11:20.000Z"
     * @param certIssuingAuthority the issuer's name
     * @throws IntuneScepServiceException Intune answered with a code other than Success
     * @throws Exception any other failure
     */
    public void SendSuccessNotification(String transactionId, String certificateRequest, String certThumbprint,
            String certSerialNumber, String certExpirationDate, String certIssuingAuthority)
            throws IntuneScepServiceException, Exception {
        SendSuccessNotification(transactionId, certificateRequest, certThumbprint, certSerialNumber,
                certExpirationDate, certIssuingAuthority, null, null);
    }

    /**
     * {@link #SendSuccessNotification(String, String, String, String, String, String)}
     * with the two optional fields of the current service: the CA configuration
     * and the certificate authority (null or empty: sent as JSON null).
     *
     * @throws IntuneScepServiceException Intune answered with a code other than Success
     * @throws Exception any other failure
     */
    public void SendSuccessNotification(String transactionId, String certificateRequest, String certThumbprint,
            String certSerialNumber, String certExpirationDate, String certIssuingAuthority,
            String caConfiguration, String certificateAuthority) throws IntuneScepServiceException, Exception {
        requireArgument("transactionId", transactionId);
        requireArgument("certificateRequest", certificateRequest);
        requireArgument("certThumbprint", certThumbprint);
        requireArgument("certSerialNumber", certSerialNumber);
        requireArgument("certExpirationDate", certExpirationDate);
        requireArgument("certIssuingAuthority", certIssuingAuthority);
        checkNoNul("caConfiguration", caConfiguration);
        checkNoNul("certificateAuthority", certificateAuthority);
        invoke(transactionId, (c, e) -> IntuneScepNative.intune_scep_send_success_notification(c, transactionId,
                certificateRequest, certThumbprint, certSerialNumber, certExpirationDate, certIssuingAuthority,
                caConfiguration, certificateAuthority, e));
    }

    /**
     * Tells Intune that issuing the certificate failed. The certificate must not be issued.
     *
     * @param transactionId the SCEP transaction id
     * @param certificateRequest the DER PKCS#10 request in base64
     * @param hResult the HRESULT reported to the administrator, sent as the exact
     *        64-bit value given: {@code 0x80004005L} is 2147500037, while the int
     *        literal {@code 0x80004005} widens to -2147467259
     * @param errorDescription what went wrong (non-empty)
     * @throws IntuneScepServiceException Intune answered with a code other than Success
     * @throws Exception any other failure
     */
    public void SendFailureNotification(String transactionId, String certificateRequest, long hResult,
            String errorDescription) throws IntuneScepServiceException, Exception {
        requireArgument("transactionId", transactionId);
        requireArgument("certificateRequest", certificateRequest);
        requireArgument("errorDescription", errorDescription);
        invoke(transactionId, (c, e) -> IntuneScepNative.intune_scep_send_failure_notification(c, transactionId,
                certificateRequest, hResult, errorDescription, e));
    }

    /**
     * Sends the success notification for an issued certificate, deriving the
     * thumbprint, serial number, expiration date and issuer from it.
     *
     * @throws IntuneScepServiceException Intune answered with a code other than Success
     * @throws Exception any other failure; IllegalArgumentException when {@code certificate} is not one
     */
    public void notifySuccessForCertificate(String transactionId, String certificateRequest,
            X509Certificate certificate) throws IntuneScepServiceException, Exception {
        notifySuccessForCertificate(transactionId, certificateRequest, certificate, null, null);
    }

    /** As {@link #notifySuccessForCertificate(String, String, X509Certificate)}, with the two optional fields. */
    public void notifySuccessForCertificate(String transactionId, String certificateRequest,
            X509Certificate certificate, String caConfiguration, String certificateAuthority)
            throws IntuneScepServiceException, Exception {
        if (certificate == null) {
            throw new IllegalArgumentException("The argument 'certificate' is missing");
        }
        notifySuccessForCertificate(transactionId, certificateRequest, certificate.getEncoded(), caConfiguration,
                certificateAuthority);
    }

    /**
     * As {@link #notifySuccessForCertificate(String, String, X509Certificate)},
     * with the certificate as PEM or DER bytes.
     */
    public void notifySuccessForCertificate(String transactionId, String certificateRequest, byte[] certificate)
            throws IntuneScepServiceException, Exception {
        notifySuccessForCertificate(transactionId, certificateRequest, certificate, null, null);
    }

    /** As {@link #notifySuccessForCertificate(String, String, byte[])}, with the two optional fields. */
    public void notifySuccessForCertificate(String transactionId, String certificateRequest, byte[] certificate,
            String caConfiguration, String certificateAuthority) throws IntuneScepServiceException, Exception {
        requireArgument("transactionId", transactionId);
        requireArgument("certificateRequest", certificateRequest);
        requireArgument("certificate", certificate);
        checkNoNul("caConfiguration", caConfiguration);
        checkNoNul("certificateAuthority", certificateAuthority);
        invoke(transactionId, (c, e) -> IntuneScepNative.intune_scep_send_success_notification_for_cert(c,
                transactionId, certificateRequest, certificate, caConfiguration, certificateAuthority, e));
    }

    /**
     * Replaces the client secret (AAD_APP_KEY) of this live client, as
     * administrators rotate it: cached tokens are dropped and the next call
     * uses the new key. Safe while other threads make calls.
     *
     * @throws IllegalArgumentException when {@code appKey} is null or empty, or holds a control character
     * @throws IllegalStateException when the client refuses it (a client with a certificate
     *         credential, AAD_CLIENT_CERT_FILE, has no secret to replace); nothing is changed then
     */
    public void SetAppKey(String appKey) throws IllegalArgumentException {
        requireArgument("appKey", appKey);
        for (int i = 0; i < appKey.length(); i++) {
            char ch = appKey.charAt(i);
            if (ch < 0x20 || ch == 0x7f) {
                throw new IllegalArgumentException("The argument 'appKey' holds a control character");
            }
        }
        synchronized (configLock) { // no network call in here: only memory
            NativeState.Handle h = state.acquire(); // fails when closed; keeps the configuration alive
            try {
                // The native client first: when it refuses the key, the shared configuration is left as it
                // was, so clients rebuilt later (SetTrustStore) keep a valid configuration.
                invokeOn(h, null, (c, e) -> IntuneScepNative.intune_scep_client_set_app_key(c, appKey, e));
                setConfig(h.shared.config, AAD_APP_KEY, appKey); // for clients rebuilt later (SetTrustStore)
            } catch (IntuneClientException e) {
                throw new IllegalStateException("intune-scep: cannot set the client secret: " + e.getMessage(), e);
            } finally {
                h.release();
            }
        }
    }

    /** The configuration keys of a credential: UpdateCredentials replaces exactly these. */
    private static final String[] CREDENTIAL_KEYS = {"AAD_APP_KEY", "AAD_CLIENT_CERT_FILE", "AAD_CLIENT_KEY_FILE",
        "AAD_CLIENT_KEY_PASSWORD", "AAD_FEDERATED_TOKEN_FILE", "AAD_MANAGED_IDENTITY",
        "AAD_MANAGED_IDENTITY_ENDPOINT", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"};

    /**
     * Swaps the whole credential of this live client, atomically: a client
     * secret (AAD_APP_KEY), a certificate (AAD_CLIENT_CERT_FILE with
     * AAD_CLIENT_KEY_FILE, AAD_CLIENT_KEY_PASSWORD), a federated token file
     * (AAD_FEDERATED_TOKEN_FILE) or a managed identity (AAD_MANAGED_IDENTITY
     * with its endpoint keys); exactly one kind, which may differ from the
     * current one. Other properties are ignored. The new credential is checked
     * first (nothing changes when it is refused); then cached tokens are
     * dropped. Calls in flight on other threads finish with the credential
     * they started with. Safe while other threads make calls.
     *
     * @param credentialProperties the credential keys
     * @throws IllegalArgumentException when it is null, holds no credential or two kinds, or a file
     *         cannot be used (the message names the key; never a secret)
     */
    public void UpdateCredentials(Properties credentialProperties) throws IllegalArgumentException {
        if (credentialProperties == null) {
            throw new IllegalArgumentException("The argument 'credentialProperties' is missing");
        }
        SWIGTYPE_p_intune_scep_config candidate = IntuneScepNative.intune_scep_config_new();
        if (candidate == null) {
            throw new OutOfMemoryError("intune-scep: out of native memory for the credential");
        }
        try {
            for (String key : CREDENTIAL_KEYS) {
                String value = credentialProperties.getProperty(key);
                if (value != null) {
                    setConfig(candidate, key, value);
                }
            }
            synchronized (configLock) { // no network call in here: loading a credential sends nothing
                NativeState.Handle h = state.acquire();
                try {
                    invokeOn(h, null, (c, e) -> IntuneScepNative.intune_scep_client_update_credentials(c, candidate, e));
                    // The shared configuration follows, for clients rebuilt later (SetTrustStore).
                    for (String key : CREDENTIAL_KEYS) {
                        IntuneScepNative.intune_scep_config_set(h.shared.config, key,
                                credentialProperties.getProperty(key));
                    }
                } catch (IntuneClientException e) {
                    throw new IllegalStateException("intune-scep: cannot replace the credential: " + e.getMessage(), e);
                } finally {
                    h.release();
                }
            }
        } finally {
            IntuneScepNative.intune_scep_config_free(candidate);
        }
    }

    /**
     * The kind of credential this client uses now: {@code "secret"}, {@code "certificate"},
     * {@code "federated"} or {@code "managed_identity"}.
     */
    public String getCredentialKind() {
        NativeState.Handle h = state.acquire();
        try {
            int kind = IntuneScepNative.intune_scep_client_credential_kind(h.client);
            if (kind == intune_scep_credential_kind.INTUNE_SCEP_CREDENTIAL_SECRET) {
                return "secret";
            }
            if (kind == intune_scep_credential_kind.INTUNE_SCEP_CREDENTIAL_CERTIFICATE) {
                return "certificate";
            }
            if (kind == intune_scep_credential_kind.INTUNE_SCEP_CREDENTIAL_FEDERATED) {
                return "federated";
            }
            return kind == intune_scep_credential_kind.INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY ? "managed_identity"
                    : "none";
        } finally {
            h.release();
        }
    }

    /**
     * Fetches a fresh token for {@code "intune"} or {@code "graph"} and returns its
     * {@code roles} claim, decoded WITHOUT verifying the token: the application
     * permissions granted, for diagnostics. The token itself is never given out.
     *
     * @param resource {@code "intune"} or {@code "graph"}
     * @return the roles (empty when none)
     * @throws IntuneClientException when the token cannot be had (IntuneClientAuthException: refused)
     */
    public List<String> getTokenRoles(String resource) throws IntuneClientException {
        int res;
        if ("graph".equals(resource)) {
            res = intune_scep_resource.INTUNE_SCEP_RESOURCE_GRAPH;
        } else if ("intune".equals(resource)) {
            res = intune_scep_resource.INTUNE_SCEP_RESOURCE_INTUNE;
        } else {
            throw new IllegalArgumentException("The argument 'resource' must be \"intune\" or \"graph\"");
        }
        NativeState.Handle h = state.acquire();
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            String roles = IntuneScepNative.intune_scep_client_token_roles_ret(h.client, res, err);
            if (roles == null) {
                throwMapped(NativeErrors.toException(IntuneScepNative.intune_scep_error_status(err), err, null));
            }
            List<String> out = new ArrayList<>();
            for (String r : roles.split(",")) {
                if (!r.isEmpty()) {
                    out.add(r);
                }
            }
            return out;
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
            h.release();
        }
    }

    /**
     * Sends every later HTTPS request of this client (token, discovery, SCEP
     * and revocation calls) through {@code factory}: its trust material, client
     * certificate and JSSE provider apply, over {@link javax.net.ssl.HttpsURLConnection}
     * (host names checked, keep-alive connections reused, the PROXY_* keys,
     * CONNECT_TIMEOUT_MS and the call's deadline). TLS_CA_FILE and
     * {@link #SetTrustStore(KeyStore)} do not apply while a factory is set. The
     * native library still keeps tokens, discovery, retries, Retry-After, the
     * deadline, the 1 MiB cap, the activity id, the fail-closed verdict and the
     * log lines. Set it before the first request, as the reference documents:
     * a new native client is made (tokens and the service map start afresh);
     * calls already running finish on the previous one. The last of
     * SetSslSocketFactory and SetTrustStore called wins.
     *
     * @throws IllegalArgumentException when {@code factory} is null
     */
    public void SetSslSocketFactory(SSLSocketFactory factory) throws IllegalArgumentException {
        if (factory == null) {
            throw new IllegalArgumentException("The argument 'factory' is missing");
        }
        synchronized (configLock) { // no network call in here: creating a client sends nothing
            NativeState.Handle cur = state.acquire(); // fails when closed; keeps the configuration alive
            SSLSocketFactory previous = sslSocketFactory;
            try {
                sslSocketFactory = factory;
                if (cur.privateCaFile != null) {
                    // the file of SetTrustStore belongs to the native path, which this replaces
                    IntuneScepNative.intune_scep_config_set(cur.shared.config, TLS_CA_FILE, null);
                }
                NativeState.Handle h;
                try {
                    h = newHandle(cur.shared, null);
                } catch (RuntimeException | Error e) {
                    sslSocketFactory = previous;
                    if (cur.privateCaFile != null) {
                        setConfig(cur.shared.config, TLS_CA_FILE, cur.privateCaFile.toString());
                    }
                    throw e;
                }
                if (!state.replace(h)) {
                    throw new IllegalStateException("The IntuneScepServiceClient is closed");
                }
            } finally {
                cur.release();
            }
        }
    }

    /** The reference's lower-case spelling of {@link #SetSslSocketFactory}. */
    public void setSslSocketFactory(SSLSocketFactory factory) throws IllegalArgumentException {
        SetSslSocketFactory(factory);
    }

    /**
     * Trusts exactly the trusted-certificate entries of {@code trustStore}
     * (instead of the system store or a previous TLS_CA_FILE) for every later
     * call. The certificates are written as a PEM bundle to a new private file
     * (directory 0700, file 0600) under java.io.tmpdir, and a new native client
     * is created with TLS_CA_FILE set to it; calls already running finish on
     * the previous client, whose file is then deleted. Tokens and the service
     * map start afresh. Safe while other threads make calls.
     *
     * @throws IllegalArgumentException when {@code trustStore} is null or holds no trusted certificate
     * @throws KeyStoreException when the key store cannot be read (not loaded)
     * @throws IOException when the private file cannot be written
     */
    public void SetTrustStore(KeyStore trustStore) throws KeyStoreException, IOException {
        if (trustStore == null) {
            throw new IllegalArgumentException("The argument 'trustStore' is missing");
        }
        List<X509Certificate> certs = new ArrayList<>();
        for (Enumeration<String> aliases = trustStore.aliases(); aliases.hasMoreElements();) {
            String alias = aliases.nextElement();
            if (trustStore.isCertificateEntry(alias)) {
                Certificate c = trustStore.getCertificate(alias);
                if (c instanceof X509Certificate) {
                    certs.add((X509Certificate) c);
                }
            }
        }
        if (certs.isEmpty()) {
            throw new IllegalArgumentException("The argument 'trustStore' holds no trusted X.509 certificate entry");
        }
        Path file = writePrivatePem(certs);
        boolean installed = false;
        try {
            synchronized (configLock) { // no network call in here: creating a client sends nothing
                NativeState.Handle cur = state.acquire(); // fails when closed; keeps the configuration alive
                try {
                    SWIGTYPE_p_intune_scep_config config = cur.shared.config;
                    String previous = IntuneScepNative.intune_scep_config_get(config, TLS_CA_FILE);
                    SSLSocketFactory previousFactory = sslSocketFactory;
                    setConfig(config, TLS_CA_FILE, file.toString());
                    sslSocketFactory = null; // back on the native path, which TLS_CA_FILE governs
                    NativeState.Handle h;
                    try {
                        h = newHandle(cur.shared, file);
                    } catch (RuntimeException | Error e) {
                        IntuneScepNative.intune_scep_config_set(config, TLS_CA_FILE, previous);
                        sslSocketFactory = previousFactory;
                        throw e;
                    }
                    installed = true; // from here on the handle owns the file
                    if (!state.replace(h)) {
                        throw new IllegalStateException("The IntuneScepServiceClient is closed");
                    }
                } finally {
                    cur.release();
                }
            }
        } finally {
            if (!installed) {
                NativeState.deletePrivateFile(file);
            }
        }
    }

    private static Path writePrivatePem(List<X509Certificate> certs) throws IOException {
        Path base = Paths.get(System.getProperty("java.io.tmpdir"));
        Path dir;
        Path file;
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            dir = Files.createTempDirectory(base, "intune-scep-ca-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            file = Files.createFile(dir.resolve("truststore.pem"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            dir = Files.createTempDirectory(base, "intune-scep-ca-");
            file = Files.createFile(dir.resolve("truststore.pem"));
        }
        boolean ok = false;
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            Base64.Encoder enc = Base64.getMimeEncoder(64, new byte[] {'\n'});
            for (X509Certificate c : certs) {
                w.write("-----BEGIN CERTIFICATE-----\n");
                w.write(enc.encodeToString(c.getEncoded()));
                w.write("\n-----END CERTIFICATE-----\n");
            }
            ok = true;
        } catch (CertificateEncodingException e) {
            throw new IOException("cannot encode a trusted certificate: " + e.getMessage(), e);
        } finally {
            if (!ok) {
                NativeState.deletePrivateFile(file);
            }
        }
        return file;
    }

    /**
     * Frees the native client. Calls running on other threads finish first
     * (the native objects are freed by the last of them); later calls throw
     * {@link IllegalStateException}. Idempotent.
     */
    @Override
    public void close() {
        cleanable.clean();
    }

    /** The native library's version, e.g. "1.0.0". */
    public static String getLibraryVersion() {
        return IntuneScepNative.intune_scep_version();
    }

    /**
     * The four success-notification fields of an issued certificate (PEM or DER).
     *
     * @throws IllegalArgumentException when {@code certificate} is missing or not a certificate
     */
    public static CertificateDetails certificateDetails(byte[] certificate) throws IllegalArgumentException {
        requireArgument("certificate", certificate);
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            SWIGTYPE_p_intune_scep_cert_details d =
                    IntuneScepNative.intune_scep_cert_details_from_cert_ret(certificate, err);
            if (d == null) {
                throw staticFailure("certificate", err);
            }
            try {
                return new CertificateDetails(IntuneScepNative.intune_scep_cert_details_thumbprint(d),
                        IntuneScepNative.intune_scep_cert_details_serial_number(d),
                        IntuneScepNative.intune_scep_cert_details_expiration_date(d),
                        IntuneScepNative.intune_scep_cert_details_issuing_authority(d));
            } finally {
                IntuneScepNative.intune_scep_cert_details_free(d);
            }
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
        }
    }

    /** As {@link #certificateDetails(byte[])} for an X509Certificate. */
    public static CertificateDetails certificateDetails(X509Certificate certificate)
            throws IllegalArgumentException, CertificateEncodingException {
        if (certificate == null) {
            throw new IllegalArgumentException("The argument 'certificate' is missing");
        }
        return certificateDetails(certificate.getEncoded());
    }

    /**
     * A certificate request given as PEM, DER, or base64 with or without line
     * breaks, as the one-line base64 DER the SCEP calls take (after checking it
     * parses as PKCS#10).
     *
     * @throws IllegalArgumentException when {@code certificateRequest} is missing or not a certificate request
     */
    public static String normalizeCertificateRequest(byte[] certificateRequest) throws IllegalArgumentException {
        requireArgument("certificateRequest", certificateRequest);
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            String out = IntuneScepNative.intune_scep_csr_to_base64_der_ret(certificateRequest, err);
            if (out == null) {
                throw staticFailure("certificateRequest", err);
            }
            return out;
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
        }
    }

    private static RuntimeException staticFailure(String argument, SWIGTYPE_p_intune_scep_error err) {
        int st = IntuneScepNative.intune_scep_error_status(err);
        String message = IntuneScepNative.intune_scep_error_message(err);
        if (st == intune_scep_status.INTUNE_SCEP_E_NOMEM) {
            throw new OutOfMemoryError("intune-scep: " + message);
        }
        if (st == intune_scep_status.INTUNE_SCEP_E_INVALID_ARGUMENT) {
            return new IllegalArgumentException("The argument '" + argument + "' is invalid: " + message);
        }
        return new IllegalStateException("intune-scep: " + IntuneScepNative.intune_scep_status_name(st) + ": "
                + message);
    }
}
