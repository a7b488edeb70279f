// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.internal;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The Java end of the native log callback: the library's log lines go to
 * java.util.logging, logger {@value #LOGGER_NAME}.
 *
 * <p>Levels: 10 (debug) is FINER, 20 (the one line of each successful call, a
 * retry, a token dropped after a 401, a rediscovery) FINE, 30 (Intune said no)
 * WARNING, 40 (any other failure) SEVERE. So java.util.logging's default
 * configuration (INFO and above to the console) prints what needs an operator:
 * failures, never a line per successful call (see java/README.md, Logging). The
 * library never puts a secret (client secret, proxy password, token) in a log
 * line, and nothing here adds one.
 *
 * <p>One instance is handed to the native side per client (as a JNI global
 * reference); it must not refer to the client, or the client could never be
 * garbage-collected.
 */
public final class LogBridge {
    /** The logger every line of the library goes to. */
    public static final String LOGGER_NAME = "com.microsoft.intune.scepvalidation";
    private static final String SOURCE_CLASS = "com.microsoft.intune.scepvalidation.IntuneScepServiceClient";

    /** Sent as the native minimum level when the logger takes nothing: no line is formatted. */
    public static final int LEVEL_NONE = 1000;

    private final Logger logger;

    /** A bridge to {@code logger}. */
    public LogBridge(Logger logger) {
        this.logger = logger;
    }

    /** A bridge to the library's logger. */
    public LogBridge() {
        this(Logger.getLogger(LOGGER_NAME));
    }

    /** The logger this bridge writes to. */
    public Logger logger() {
        return logger;
    }

    /**
     * Called by the native trampoline (by name and signature "(I[B)V"), from a
     * Java thread or from a native thread attached as a daemon. Never throws:
     * a failing handler must not break a SCEP call.
     */
    void log(int level, byte[] utf8Message) {
        try {
            Level julLevel = toJulLevel(level);
            if (!logger.isLoggable(julLevel)) {
                return;
            }
            LogRecord record = new LogRecord(julLevel, Utf8.decode(utf8Message));
            record.setLoggerName(logger.getName());
            record.setSourceClassName(SOURCE_CLASS);
            record.setSourceMethodName(null);
            logger.log(record);
        } catch (Throwable t) { // NOPMD: a log handler's failure must not reach native code
            // nothing sensible to do: the line is lost
        }
    }

    /** The java.util.logging level of a native level (10, 20, 30, 40). */
    public static Level toJulLevel(int nativeLevel) {
        if (nativeLevel >= 40) {
            return Level.SEVERE;
        }
        if (nativeLevel >= 30) {
            return Level.WARNING;
        }
        if (nativeLevel >= 20) {
            return Level.FINE;
        }
        return Level.FINER;
    }

    /**
     * The lowest native level {@code logger} takes now (10, 20, 30, 40), or
     * {@link #LEVEL_NONE}: lines below it are not even formatted by the library.
     */
    public static int minNativeLevel(Logger logger) {
        if (logger.isLoggable(Level.FINER)) {
            return 10;
        }
        if (logger.isLoggable(Level.FINE)) {
            return 20;
        }
        if (logger.isLoggable(Level.WARNING)) {
            return 30;
        }
        if (logger.isLoggable(Level.SEVERE)) {
            return 40;
        }
        return LEVEL_NONE;
    }
}
