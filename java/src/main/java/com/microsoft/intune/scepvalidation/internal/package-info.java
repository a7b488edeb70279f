// SPDX-License-Identifier: Apache-2.0
/**
 * Not an API: the SWIG-generated bindings of the C library, the native library
 * loader and the log bridge. Use {@link com.microsoft.intune.scepvalidation.IntuneScepServiceClient}.
 */
package com.microsoft.intune.scepvalidation.internal;
