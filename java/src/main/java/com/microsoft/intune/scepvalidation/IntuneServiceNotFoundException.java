// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

/**
 * Service discovery (Microsoft Graph) answered without the service the call
 * needs, e.g. ScepRequestValidationFEService: the tenant is not set up for it,
 * or INTUNE_APP_ID / MS_GRAPH_RESOURCE_URL are wrong. The message lists the
 * service names discovery returned.
 */
public class IntuneServiceNotFoundException extends IntuneClientException {
    private static final long serialVersionUID = 1L;

    private final String serviceName;

    /** An exception for the missing service {@code serviceName}. */
    public IntuneServiceNotFoundException(String serviceName) {
        this(serviceName, "Did not find service named '" + serviceName
                + "' listed in the Microsoft Graph service discovery list.");
    }

    IntuneServiceNotFoundException(String serviceName, String message) {
        super(message);
        this.serviceName = serviceName;
    }

    /** The service that was looked for, e.g. ScepRequestValidationFEService. */
    public String getServiceName() {
        return serviceName;
    }
}
