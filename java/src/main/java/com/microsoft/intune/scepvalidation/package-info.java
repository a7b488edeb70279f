// SPDX-License-Identifier: Apache-2.0
/**
 * Intune SCEP validation: {@link com.microsoft.intune.scepvalidation.IntuneScepServiceClient}
 * with the API of Microsoft's reference client, over the native intune-scep library.
 */
package com.microsoft.intune.scepvalidation;
