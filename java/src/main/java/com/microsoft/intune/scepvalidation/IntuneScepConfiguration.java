// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.Map;
import java.util.Properties;

import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.IntuneScepNativeConstants;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_config;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.intune_scep_status;

/**
 * Configuration from environment variables, for a client's {@link Properties}.
 *
 * <p>An administrator may keep a secret out of the configuration file by setting it as
 * an environment variable {@code INTUNE_SCEP_<KEY>} (for example
 * {@code INTUNE_SCEP_AAD_APP_KEY}). The client never reads the environment by itself;
 * an application that wants these variables applies them with this helper:
 *
 * <pre>{@code
 * Properties props = new Properties();
 * try (Reader r = Files.newBufferedReader(path)) { props.load(r); }
 * IntuneScepServiceClient client =
 *         new IntuneScepServiceClient(IntuneScepConfiguration.fromEnvironment(props));
 * }</pre>
 *
 * <p>The rules are those of the C library's {@code intune_scep_config_load_env}: only
 * configuration keys are read (other variables with the prefix are left alone), names
 * are case-sensitive like the keys, a variable that is set wins over the property, and
 * a variable set to the empty string sets the property to "".
 */
public final class IntuneScepConfiguration {
    /** The prefix of the environment variables: {@code INTUNE_SCEP_}. */
    public static final String DEFAULT_PREFIX = IntuneScepNativeConstants.INTUNE_SCEP_ENV_PREFIX;

    private IntuneScepConfiguration() {
    }

    /**
     * The configuration keys set by {@code INTUNE_SCEP_<KEY>} variables.
     *
     * @return a new Properties object
     * @throws IllegalArgumentException as {@link #fromEnvironment(Properties, String)}
     */
    public static Properties fromEnvironment() {
        return fromEnvironment(new Properties(), DEFAULT_PREFIX);
    }

    /**
     * A copy of {@code base} with the {@code INTUNE_SCEP_<KEY>} variables applied.
     *
     * @param base the configuration read elsewhere (a file); not changed
     * @return a new Properties object
     * @throws IllegalArgumentException as {@link #fromEnvironment(Properties, String)}
     */
    public static Properties fromEnvironment(Properties base) {
        return fromEnvironment(base, DEFAULT_PREFIX);
    }

    /**
     * A copy of {@code base} with the {@code <prefix><KEY>} variables applied.
     *
     * @param base the configuration read elsewhere (a file); not changed
     * @param prefix the variables' prefix: letters, digits and '_'
     * @return a new Properties object
     * @throws IllegalArgumentException when {@code base} or {@code prefix} is null, the
     *         prefix is empty or holds another character, or a variable's value holds a
     *         control character (the message names the variable, never the value)
     */
    public static Properties fromEnvironment(Properties base, String prefix) {
        if (base == null) {
            throw new IllegalArgumentException("The argument 'base' is missing");
        }
        if (prefix == null) {
            throw new IllegalArgumentException("The argument 'prefix' is missing");
        }
        if (prefix.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("The argument 'prefix' contains a NUL character");
        }
        Properties out = new Properties();
        for (String key : base.stringPropertyNames()) {
            out.setProperty(key, base.getProperty(key));
        }
        SWIGTYPE_p_intune_scep_config config = IntuneScepNative.intune_scep_config_new();
        if (config == null) {
            throw new OutOfMemoryError("intune-scep: out of native memory for the configuration");
        }
        SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        try {
            int st = IntuneScepNative.intune_scep_config_load_env(config, prefix, err);
            if (st == intune_scep_status.INTUNE_SCEP_E_NOMEM) {
                throw new OutOfMemoryError("intune-scep: " + IntuneScepNative.intune_scep_error_message(err));
            }
            if (st != intune_scep_status.INTUNE_SCEP_OK) {
                throw new IllegalArgumentException(IntuneScepNative.intune_scep_error_message(err));
            }
            // The native call set exactly the keys it knows; read back those that have a variable.
            for (Map.Entry<String, String> e : System.getenv().entrySet()) {
                String name = e.getKey();
                if (!name.startsWith(prefix) || name.length() == prefix.length()) {
                    continue;
                }
                String key = name.substring(prefix.length());
                String value = IntuneScepNative.intune_scep_config_get(config, key);
                if (value != null) {
                    out.setProperty(key, value);
                }
            }
            return out;
        } finally {
            IntuneScepNative.intune_scep_error_free(err);
            IntuneScepNative.intune_scep_config_free(config);
        }
    }
}
