// SPDX-License-Identifier: Apache-2.0
/**
 * The revocation types of Intune's certificate authority requests, with the
 * API of Microsoft's reference client: the requests a CA downloads
 * ({@link com.microsoft.intune.carequest.CARevocationRequest}), the results it
 * uploads ({@link com.microsoft.intune.carequest.CARevocationResult}) and their
 * error codes ({@link com.microsoft.intune.carequest.CARequestErrorCodes}).
 * Used with {@link com.microsoft.intune.scepvalidation.IntuneRevocationClient}.
 */
package com.microsoft.intune.carequest;
