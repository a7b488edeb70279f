// SPDX-License-Identifier: Apache-2.0
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The measuring harness of the Java benchmark programs: the same figures and the same
 * one-JSON-object-per-line output as the C harness (bench/bench_util.c), so bench/driver.py
 * reads every front door alike.
 */
final class BenchHarness {
    static final String TRANSACTION_ID = "bench-transaction-0001";
    static final String PROVIDER = "intune-scep-bench/1.0";

    /** One call; throws unless the answer was a verified Success. */
    interface Call {
        void call() throws Exception;
    }

    private BenchHarness() {
    }

    static String opt(String[] args, String key, String dflt) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals(key)) {
                return args[i + 1];
            }
        }
        return dflt;
    }

    static String readTrimmed(String path) throws IOException {
        return Files.readString(Path.of(path), StandardCharsets.UTF_8).trim();
    }

    static double monotonicSeconds() {
        // System.nanoTime is CLOCK_MONOTONIC on Linux: comparable with the driver's time.monotonic().
        return System.nanoTime() / 1e9;
    }

    static long procStatusKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /**
     * The Java heap still reachable, in kB, after a full collection: RSS alone
     * cannot tell a leak from the collector growing its heap.
     */
    static long liveHeapKb() {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return (rt.totalMemory() - rt.freeMemory()) / 1024;
    }

    /** CPU time (user + system) of the whole JVM so far: every thread, the JIT and the collector included. */
    static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return 0;
    }

    /**
     * Context switches (voluntary + involuntary) of the JVM's threads alive now, summed from
     * /proc/self/task/N/status (Java has no getrusage); -1 where that cannot be read. The
     * measured rounds' threads live through both readings.
     */
    static long contextSwitches() {
        long total = 0;
        try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                List<String> lines;
                try {
                    lines = Files.readAllLines(t.resolve("status"), StandardCharsets.US_ASCII);
                } catch (IOException gone) {
                    continue; // a thread that ended meanwhile
                }
                for (String line : lines) {
                    if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                        total += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return total;
    }

    /** nginx stub_status: {accepts, requests}. One plain connection per reading, closed after it. */
    static long[] stubStatus(String url) throws IOException {
        URI u = URI.create(url);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(u.getHost(), u.getPort()), 5000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + u.getPath() + " HTTP/1.0\r\nHost: " + u.getHost() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            String text = buf.toString(StandardCharsets.US_ASCII);
            int i = text.indexOf("requests\n");
            if (i < 0) {
                throw new IOException("unexpected stub_status answer");
            }
            String[] nums = text.substring(i + 9).trim().split("\\s+");
            return new long[] {Long.parseLong(nums[0]), Long.parseLong(nums[2])};
        }
    }

    private static final class Run {
        final Call call;
        final AtomicLong[] counts;
        volatile boolean stop;
        final AtomicReference<String> error = new AtomicReference<>();
        final List<Thread> threads = new ArrayList<>();

        Run(Call call, int n) {
            this.call = call;
            this.counts = new AtomicLong[n];
            for (int i = 0; i < n; i++) {
                counts[i] = new AtomicLong();
            }
        }

        void start() {
            for (int i = 0; i < counts.length; i++) {
                final AtomicLong c = counts[i];
                Thread t = new Thread(() -> {
                    try {
                        while (!stop) {
                            call.call();
                            c.lazySet(c.get() + 1);
                        }
                    } catch (Throwable e) {
                        error.compareAndSet(null, e.getClass().getName() + ": " + e.getMessage());
                        stop = true;
                    }
                }, "bench-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        long total() {
            long s = 0;
            for (AtomicLong c : counts) {
                s += c.get();
            }
            return s;
        }

        void nap(double secs) throws InterruptedException {
            long end = System.nanoTime() + (long) (secs * 1e9);
            while (!stop) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                Thread.sleep(Math.min(50, Math.max(1, left / 1_000_000)));
            }
        }

        void finish() throws InterruptedException {
            stop = true;
            for (Thread t : threads) {
                t.join();
            }
        }
    }

    static int throughput(String name, Call call, String[] args) throws Exception {
        double warmup = Double.parseDouble(opt(args, "--warmup", "1"));
        double seconds = Double.parseDouble(opt(args, "--seconds", "5"));
        int rounds = Integer.parseInt(opt(args, "--rounds", "3"));
        String statusUrl = opt(args, "--status-url", null);
        for (String tn : opt(args, "--threads", "1,2,4,8").split(",")) {
            int n = Integer.parseInt(tn);
            Run run = new Run(call, n);
            run.start();
            run.nap(warmup);
            long[] st0 = statusUrl != null ? stubStatus(statusUrl) : null;
            List<Double> rates = new ArrayList<>();
            long measured = 0;
            long cpu0 = processCpuNanos();
            long cs0 = contextSwitches();
            for (int r = 0; r < rounds && run.error.get() == null; r++) {
                long c0 = run.total();
                long t0 = System.nanoTime();
                run.nap(seconds);
                long c1 = run.total();
                long t1 = System.nanoTime();
                rates.add((c1 - c0) / ((t1 - t0) / 1e9));
                measured += c1 - c0;
            }
            long cpu1 = processCpuNanos();
            long cs1 = contextSwitches();
            long[] st1 = statusUrl != null ? stubStatus(statusUrl) : null;
            run.finish();
            if (run.error.get() != null) {
                System.err.println(name + ", " + n + " threads: a call failed: " + run.error.get());
                return 1;
            }
            StringBuilder sb = new StringBuilder();
            double best = 0;
            sb.append("{\"figure\":\"throughput\",\"front_door\":\"").append(name).append("\",\"threads\":").append(n)
                    .append(",\"rounds\":[");
            for (int i = 0; i < rates.size(); i++) {
                sb.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.1f", rates.get(i)));
                best = Math.max(best, rates.get(i));
            }
            sb.append("],\"calls_per_s\":").append(String.format(Locale.ROOT, "%.1f", best));
            sb.append(",\"calls\":").append(measured);
            sb.append(",\"cpu_s\":").append(String.format(Locale.ROOT, "%.4f", (cpu1 - cpu0) / 1e9));
            if (cs0 >= 0 && cs1 >= 0) {
                sb.append(",\"context_switches\":").append(cs1 - cs0);
            }
            if (statusUrl != null) {
                long conns = st1[0] - st0[0] - 1; // the second reading's own connection
                sb.append(",\"new_connections\":").append(conns);
                sb.append(",\"connections_per_1000\":")
                        .append(String.format(Locale.ROOT, "%.3f", measured > 0 ? conns * 1000.0 / measured : 0.0));
                sb.append(",\"server_requests\":").append(st1[1] - st0[1] - 1);
            }
            sb.append('}');
            System.out.println(sb);
            System.out.flush();
        }
        return 0;
    }

    static int memory(String name, Call call, String[] args) throws Exception {
        int n = Integer.parseInt(opt(args, "--threads", "8"));
        long total = Long.parseLong(opt(args, "--calls", "100000"));
        long checkpoint = Long.parseLong(opt(args, "--checkpoint", "10000"));
        AtomicLong tickets = new AtomicLong();
        AtomicLong done = new AtomicLong();
        AtomicLong rssCp = new AtomicLong(-1);
        AtomicLong heapCp = new AtomicLong(-1);
        AtomicReference<String> error = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
                try {
                    while (error.get() == null && tickets.getAndIncrement() < total) {
                        call.call();
                        if (done.incrementAndGet() == checkpoint) {
                            rssCp.set(procStatusKb("VmRSS"));
                            heapCp.set(liveHeapKb());
                        }
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e.getClass().getName() + ": " + e.getMessage());
                }
            }, "bench-" + i);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long t1 = System.nanoTime();
        if (error.get() != null || done.get() != total) {
            System.err.println(name + " memory: " + done.get() + " of " + total + " calls made: " + error.get());
            return 1;
        }
        long rssEnd = procStatusKb("VmRSS");
        long heapEnd = liveHeapKb();
        System.out.println(String.format(Locale.ROOT,
                "{\"figure\":\"memory\",\"front_door\":\"%s\",\"threads\":%d,\"calls\":%d,\"checkpoint\":%d,"
                        + "\"max_rss_kb\":%d,\"rss_at_checkpoint_kb\":%d,\"rss_end_kb\":%d,\"growth_kb\":%d,"
                        + "\"live_heap_at_checkpoint_kb\":%d,\"live_heap_end_kb\":%d,\"live_heap_growth_kb\":%d,"
                        + "\"seconds\":%.2f}",
                name, n, total, checkpoint, procStatusKb("VmHWM"), rssCp.get(), rssEnd, rssEnd - rssCp.get(),
                heapCp.get(), heapEnd, heapEnd - heapCp.get(), (t1 - t0) / 1e9));
        System.out.flush();
        return 0;
    }

    /** Run `mode` (throughput, cold, memory) with a call made by `setup`; returns the exit status. */
    static int main(String name, String[] args, CallFactory setup) throws Exception {
        if (args.length < 1 || !(args[0].equals("throughput") || args[0].equals("cold") || args[0].equals("memory"))) {
            System.err.println("usage: " + name + " throughput|cold|memory [options] (see bench/README.md)");
            return 2;
        }
        long tSetup = System.nanoTime();
        Call call = setup.make(args);
        long t0 = System.nanoTime();
        switch (args[0]) {
            case "cold": {
                call.call();
                long t1 = System.nanoTime();
                System.out.println(String.format(Locale.ROOT,
                        "{\"figure\":\"cold\",\"front_door\":\"%s\",\"first_ok_monotonic\":%.6f,"
                                + "\"setup_s\":%.6f,\"first_call_s\":%.6f}",
                        name, t1 / 1e9, (t0 - tSetup) / 1e9, (t1 - t0) / 1e9));
                System.out.flush();
                return 0;
            }
            case "throughput":
                return throughput(name, call, args);
            default:
                return memory(name, call, args);
        }
    }

    /** Builds the call of one front door from the command line. */
    interface CallFactory {
        Call make(String[] args) throws Exception;
    }
}
