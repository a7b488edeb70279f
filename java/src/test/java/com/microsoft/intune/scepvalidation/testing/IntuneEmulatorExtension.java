// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5: one Intune emulator per test class, reset before each test, handed to test
 * methods, constructors and lifecycle methods as an {@link IntuneEmulator} parameter.
 *
 * <pre>{@code
 * @ExtendWith(IntuneEmulatorExtension.class)
 * class MyCaTest {
 *     @Test
 *     void issuesAfterSuccess(IntuneEmulator emu) throws Exception {
 *         try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties())) {
 *             String csr = emu.makeCsr("CN=alice");
 *             client.ValidateRequest("tx-1", csr);
 *             client.notifySuccessForCertificate("tx-1", csr, emu.sign(csr));
 *         }
 *     }
 * }
 * }</pre>
 *
 * The emulator runs as a process (see {@link IntuneEmulator} for which command) and stops
 * after the class's last test.
 */
public final class IntuneEmulatorExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(IntuneEmulatorExtension.class);
    private static final String KEY = "emulator";

    /** The class's emulator in its store; afterAll closes it. */
    private static final class Holder implements AutoCloseable {
        final IntuneEmulator emulator;

        Holder(IntuneEmulator emulator) {
            this.emulator = emulator;
        }

        @Override
        public void close() {
            emulator.close();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        emulator(context);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Holder h = context.getStore(NS).remove(KEY, Holder.class);
        if (h != null) {
            h.close();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        emulator(context).reset();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == IntuneEmulator.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        try {
            return emulator(extensionContext);
        } catch (Exception e) {
            throw new ParameterResolutionException("the Intune emulator could not be started: " + e.getMessage(), e);
        }
    }

    /** The emulator of the test class of {@code context}, started on first use. */
    private static IntuneEmulator emulator(ExtensionContext context) throws Exception {
        ExtensionContext classContext = context;
        while (classContext.getTestMethod().isPresent() && classContext.getParent().isPresent()) {
            classContext = classContext.getParent().get();
        }
        ExtensionContext.Store store = classContext.getStore(NS);
        Holder h = store.get(KEY, Holder.class);
        if (h == null) {
            h = new Holder(IntuneEmulator.start());
            store.put(KEY, h);
        }
        return h.emulator;
    }
}
