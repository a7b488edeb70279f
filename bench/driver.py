#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run every benchmark figure against the nginx fake bench/run started, print one
table and write the figures as JSON. Standard library only; bench/run calls it.

Each front door is a program that prints one JSON object per line on stdout:
  {"figure":"throughput","front_door":..,"threads":N,"calls_per_s":..,"rounds":[..],
   "calls":M,"new_connections":C,"connections_per_1000":X}
  {"figure":"cold","first_ok_monotonic":T, ...phases...}
  {"figure":"memory","max_rss_kb":..,"rss_at_checkpoint_kb":..,"rss_end_kb":..,"growth_kb":..}
A program that exits non-zero, or prints no figure, leaves its cells missing.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

THREADS = [1, 2, 4, 8]
DOORS = {
    # key: (label, ours?)
    "curl": ("plain libcurl loop (the limit)", False),
    "c": ("C ABI (libintunescep)", True),
    "python": ("Python package (intune_scep)", True),
    "java": ("Java jar (IntuneScepServiceClient)", True),
    "javasf": ("Java jar + SetSslSocketFactory", True),
    "requests": ("Python requests.Session", False),
    "httpclient": ("Java java.net.http.HttpClient", False),
}
ORDER = ["curl", "c", "python", "java", "javasf", "requests", "httpclient"]
COLD_DOORS = ["c", "python", "java"]
# RSS moves by a few pages at random (allocator arenas, thread stacks, stdio):
# growth up to this much counts as none.
GROWTH_NOISE_KB = 256
MEMORY_DOORS = ["c", "python", "java"]
SCEP_PATH = "ScepRequestValidationFEService/ScepActions/validateRequest"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tmp", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--status-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--properties", required=True)
    p.add_argument("--csr", required=True)
    p.add_argument("--only", default=",".join(ORDER))
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--passes", type=int, default=None, help="passes over the front doors (default 3; --quick 1)")
    p.add_argument("--cbin")
    p.add_argument("--python")
    p.add_argument("--java-classes")
    p.add_argument("--jar")
    p.add_argument("--profile", action="store_true",
                   help="instead of the figures: instructions per call under callgrind (curl, c, python)")
    return p.parse_args()


def log(msg):
    print("bench/run: " + msg, file=sys.stderr, flush=True)


class Runner:
    def __init__(self, a):
        self.a = a
        self.quick = a.quick
        self.here = os.path.dirname(os.path.abspath(__file__))
        self.selected = [d for d in ORDER if d in a.only.split(",")]
        if a.quick:
            self.timing = {"warmup": 0.3, "seconds": 1.0, "rounds": 1}
            self.java_warmup = 1.0
            self.cold_runs = 3
            self.mem_calls, self.mem_checkpoint = 10_000, 1_000
        else:
            self.timing = {"warmup": 1.0, "seconds": 5.0, "rounds": 3}
            self.java_warmup = 3.0
            self.cold_runs = 5
            self.mem_calls, self.mem_checkpoint = 100_000, 10_000
        if a.passes is not None:
            self.timing["rounds"] = a.passes
        self.url = a.base_url + SCEP_PATH
        self.user_agent = library_user_agent()
        self.results = {"throughput": {}, "cold_start": {}, "memory": {}}
        self.missing = []
        self.errors = {}
        self.passes = {}
        self.failed_throughput = set()

    # -- commands per front door ------------------------------------------------
    def timing_args(self, door):
        warmup = self.java_warmup if door in ("java", "javasf", "httpclient") else self.timing["warmup"]
        return ["--warmup", str(warmup), "--seconds", str(self.timing["seconds"]),
                "--rounds", "1", "--status-url", self.a.status_url]

    def baseline_args(self):
        return ["--url", self.url, "--token", self.a.token, "--ca", self.a.ca, "--csr", self.a.csr,
                "--user-agent", self.user_agent]

    def ours_args(self):
        return ["--properties", self.a.properties, "--csr", self.a.csr]

    def command(self, door, mode):
        """The argv running `mode` (throughput, cold, memory) for `door`, or a reason it cannot run."""
        a = self.a
        py_script = os.path.join(self.here, "bench_python.py")
        if door == "curl":
            if not a.cbin:
                return None, "the C benchmarks were not built"
            return [os.path.join(a.cbin, "intune-scep-bench-curl")] + self.baseline_args(), None
        if door == "c":
            if not a.cbin:
                return None, "the C benchmarks were not built"
            return [os.path.join(a.cbin, "intune-scep-bench-c"), mode] + self.ours_args(), None
        if door == "python":
            if not a.python:
                return None, "no Python with the intune_scep package"
            return [a.python, py_script, mode, "--impl", "package"] + self.ours_args(), None
        if door == "requests":
            if not a.python:
                return None, "no Python interpreter for the requests baseline"
            return [a.python, py_script, mode, "--impl", "requests"] + self.baseline_args(), None
        if door == "java":
            if not a.jar or not a.java_classes:
                return None, "no intune-scep jar (java/ not built)"
            cp = a.jar + os.pathsep + a.java_classes
            return ["java", "-cp", cp, "JarBench", mode] + self.ours_args(), None
        if door == "javasf":
            if not a.jar or not a.java_classes:
                return None, "no intune-scep jar (java/ not built)"
            cp = a.jar + os.pathsep + a.java_classes
            # the same client, its HTTPS through an SSLSocketFactory trusting the bench CA
            return ["java", "-cp", cp, "JarBench", mode] + self.ours_args() + ["--socket-factory", a.ca], None
        if door == "httpclient":
            if not a.java_classes:
                return None, "the Java benchmark classes were not compiled"
            return ["java", "-cp", a.java_classes, "HttpClientBench", mode] + self.baseline_args(), None
        raise ValueError(door)

    def run_program(self, argv, timeout):
        """Run argv; return (figures, error). figures: the JSON lines it printed."""
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError as e:
            return [], f"cannot start {argv[0]}: {e}"
        except subprocess.TimeoutExpired:
            return [], f"timed out after {timeout:.0f} s"
        figures = []
        for line in p.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    figures.append(json.loads(line))
                except ValueError:
                    pass
        if p.returncode != 0:
            tail = " | ".join(p.stderr.strip().splitlines()[-5:])
            return figures, f"exit status {p.returncode}: {tail}"
        return figures, None

    # -- figures -----------------------------------------------------------------
    def throughput(self, door, pass_no):
        """One pass of `door` over every thread count: warm-up and one measured round each.
        Passes go round every front door in turn, so a burst of load from elsewhere
        on the machine hits all rows alike; each cell is the best of its passes."""
        argv, why = self.command(door, "throughput")
        if argv is None:
            if pass_no == 0:
                log(f"  {door} throughput: missing: {why}")
                self.errors.setdefault(door, []).append(f"throughput: {why}")
            self.failed_throughput.add(door)
            return
        if door in self.failed_throughput:
            return
        argv = argv + ["--threads", ",".join(map(str, THREADS))] + self.timing_args(door)
        per = self.timing["seconds"] + 3 * max(self.timing["warmup"], self.java_warmup)
        log(f"throughput, pass {pass_no + 1} of {self.timing['rounds']}: {DOORS[door][0]}")
        figures, err = self.run_program(argv, timeout=120 + per * len(THREADS) * 2)
        passes = self.passes.setdefault(door, {})
        for f in figures:
            if f.get("figure") != "throughput":
                continue
            # nginx must have answered at least the calls counted (less the few
            # in flight across a window's edge): a loop that counts calls it did
            # not make loses its cell.
            sr = f.get("server_requests")
            if sr is None or sr + f["threads"] < f["calls"] or f["calls"] <= 0:
                msg = (f"{f['threads']} threads: {f['calls']} calls counted but nginx answered "
                       f"{sr} requests in that time")
                self.errors.setdefault(door, []).append(f"throughput: {msg}")
                log(f"  {door}: {msg}")
                continue
            passes.setdefault(str(f["threads"]), []).append(f)
        if err:
            self.errors.setdefault(door, []).append(f"throughput: {err}")
            log(f"  {door}: {err}")
            # A front door that failed once has no trustworthy figure: no more passes.
            self.failed_throughput.add(door)

    def merge_throughput(self, door):
        cells = self.results["throughput"].setdefault(door, {})
        if door in self.failed_throughput:
            self.missing.extend(f"throughput/{door}/{t}" for t in THREADS)
            return
        for t in THREADS:
            runs = self.passes.get(door, {}).get(str(t), [])
            if len(runs) < self.timing["rounds"]:
                self.missing.append(f"throughput/{door}/{t}")
                continue
            rates = [r for f in runs for r in f["rounds"]]
            cells[str(t)] = {
                "threads": t, "calls_per_s": max(rates), "rounds": rates,
                "calls": sum(f["calls"] for f in runs),
                "new_connections": sum(f["new_connections"] for f in runs),
                "server_requests": sum(f["server_requests"] for f in runs),
                "cpu_s": sum(f.get("cpu_s", 0.0) for f in runs),
            }
            cells[str(t)]["cpu_us_per_call"] = cells[str(t)]["cpu_s"] * 1e6 / cells[str(t)]["calls"]
            if all("context_switches" in f for f in runs):
                cells[str(t)]["context_switches"] = sum(f["context_switches"] for f in runs)
                cells[str(t)]["context_switches_per_call"] = (cells[str(t)]["context_switches"]
                                                              / cells[str(t)]["calls"])
            cells[str(t)]["connections_per_1000"] = (cells[str(t)]["new_connections"] * 1000.0
                                                     / cells[str(t)]["calls"])

    def cold(self, door):
        argv, why = self.command(door, "cold")
        if argv is None:
            self.fail(door, "cold_start", why)
            return
        log(f"cold start: {DOORS[door][0]} ({self.cold_runs} fresh processes)")
        runs = []
        for _ in range(self.cold_runs):
            t0 = time.monotonic()
            figures, err = self.run_program(argv, timeout=60)
            cold = [f for f in figures if f.get("figure") == "cold"]
            if err or not cold:
                self.errors.setdefault(door, []).append(f"cold start: {err or 'no figure printed'}")
                log(f"  {door}: {err or 'no figure printed'}")
                self.missing.append(f"cold_start/{door}")
                return
            f = cold[0]
            f["seconds"] = f["first_ok_monotonic"] - t0
            runs.append(f)
        secs = [r["seconds"] for r in runs]
        self.results["cold_start"][door] = {
            "median_s": statistics.median(secs), "min_s": min(secs), "runs_s": secs,
            "phases_of_median_run": sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]}

    def memory(self, door):
        argv, why = self.command(door, "memory")
        if argv is None:
            self.fail(door, "memory", why)
            return
        argv = argv + ["--threads", "8", "--calls", str(self.mem_calls), "--checkpoint", str(self.mem_checkpoint)]
        log(f"memory: {DOORS[door][0]} ({self.mem_calls:,} calls on 8 threads)")
        figures, err = self.run_program(argv, timeout=900)
        mem = [f for f in figures if f.get("figure") == "memory"]
        if err or not mem:
            self.errors.setdefault(door, []).append(f"memory: {err or 'no figure printed'}")
            log(f"  {door}: {err or 'no figure printed'}")
            self.missing.append(f"memory/{door}")
            return
        self.results["memory"][door] = mem[0]

    def fail(self, door, figure, why):
        log(f"  {door} {figure}: missing: {why}")
        self.errors.setdefault(door, []).append(f"{figure}: {why}")
        self.missing.append(f"{figure}/{door}")

    def run(self):
        # Passes go round the front doors forwards, then backwards, then forwards: a load or a
        # slowness of the machine that grows or fades during the run hits every row alike, and
        # no row is always measured right after another one.
        for p in range(self.timing["rounds"]):
            for d in (self.selected if p % 2 == 0 else list(reversed(self.selected))):
                self.throughput(d, p)
        for d in self.selected:
            self.merge_throughput(d)
        for d in COLD_DOORS:
            if d in self.selected:
                self.cold(d)
        for d in MEMORY_DOORS:
            if d in self.selected:
                self.memory(d)

    # -- report ------------------------------------------------------------------
    def rate(self, door, t):
        c = self.results["throughput"].get(door, {}).get(str(t))
        return c["calls_per_s"] if c else None

    def cpu(self, door, t):
        c = self.results["throughput"].get(door, {}).get(str(t))
        return c["cpu_us_per_call"] if c and c.get("cpu_s") else None

    def connections(self, door):
        cells = self.results["throughput"].get(door, {})
        calls = sum(c.get("calls", 0) for c in cells.values())
        if not cells or any("new_connections" not in c for c in cells.values()) or not calls:
            return None
        conns = sum(c["new_connections"] for c in cells.values())
        return conns * 1000.0 / calls

    def targets(self):
        out = []

        def ratio(door, base, t):
            a, b = self.rate(door, t), self.rate(base, t)
            return b / a if a and b else None

        def add(name, value, limit, fmt, ok=None):
            if value is None:
                out.append({"target": name, "value": None, "met": None})
                return
            met = (value <= limit) if ok is None else ok(value)
            out.append({"target": name, "value": value, "limit": limit, "met": met, "shown": fmt(value)})

        x = lambda v: f"{v:.2f}x"
        ms = lambda v: f"{v * 1000:.0f} ms"
        mb = lambda v: f"{v / 1024:.1f} MB"
        def plural(t):
            return f"{t} thread" + ("s" if t > 1 else "")
        if "c" in self.selected:
            for t in (1, 2, 8):
                add(f"C per call / libcurl loop, {plural(t)} <= 1.10x", ratio("c", "curl", t), 1.10, x)
            s = (self.rate("c", 8) / self.rate("c", 1)) if self.rate("c", 8) and self.rate("c", 1) else None
            add(f"C calls/s 8 threads / 1 thread >= 1.7x ({os.cpu_count()} cores)", s, 1.7, x, lambda v: v >= 1.7)
        for d, name in (("python", "Python"), ("java", "Java")):
            if d in self.selected:
                for t in THREADS:
                    add(f"{name} per call / C, {plural(t)} <= 1.10x", ratio(d, "c", t), 1.10, x)
        for d, lim in (("c", 0.050), ("python", 0.3), ("java", 0.5)):
            if d in self.selected:
                v = self.results["cold_start"].get(d, {}).get("median_s")
                add(f"cold start {d} <= {lim * 1000:.0f} ms", v, lim, ms)
        if "c" in self.selected:
            m = self.results["memory"].get("c")
            add("C max RSS <= 20 MB", m["max_rss_kb"] if m else None, 20 * 1024, mb)
        for d in MEMORY_DOORS:
            if d in self.selected:
                m = self.results["memory"].get(d)
                if d == "java":
                    # A JVM's RSS follows its heap sizing, not leaks: judged by the live heap after a full GC.
                    v = m.get("live_heap_growth_kb") if m else None
                    add(f"java live heap growth after a full GC = 0 (within {GROWTH_NOISE_KB} kB)", v,
                        GROWTH_NOISE_KB, lambda v: f"{v:+d} kB")
                    continue
                add(f"{d} RSS growth after warm-up = 0 (within {GROWTH_NOISE_KB} kB)", m["growth_kb"] if m else None,
                    GROWTH_NOISE_KB, lambda v: f"{v:+d} kB")
        for d in ("c", "python", "java"):
            if d in self.selected:
                add(f"{d} new connections per 1,000 warm calls = 0", self.connections(d), 0, lambda v: f"{v:.2f}")
        return out

    def table(self):
        L = []
        w = 36
        L.append("Throughput: validate calls/s, one shared client; (ratio) = time per call / the libcurl loop's")
        L.append(f"{'front door':<{w}}" + "".join(f"{f'{t} thread' + ('s' if t > 1 else ''):>18}" for t in THREADS)
                 + f"{'conn/1000 calls':>17}")
        for d in self.selected:
            row = f"{DOORS[d][0]:<{w}}"
            for t in THREADS:
                r, base = self.rate(d, t), self.rate("curl", t)
                if r is None:
                    cell = "MISSING"
                elif base:
                    cell = f"{r:,.0f} ({base / r:.2f}x)"
                else:
                    cell = f"{r:,.0f}"
                row += f"{cell:>18}"
            c = self.connections(d)
            row += f"{'-' if c is None else f'{c:.2f}':>17}"
            L.append(row)
        L.append("")
        def spread(d, t):
            c = self.results["throughput"].get(d, {}).get(str(t))
            rounds = c.get("rounds") if c else None
            return f"{min(rounds) / max(rounds) * 100:.0f}%" if rounds and max(rounds) else "-"

        def cpu(d, t):
            v, base = self.cpu(d, t), self.cpu("curl", t)
            return "MISSING" if v is None else (f"{v:,.1f} ({v / base:.2f}x)" if base else f"{v:,.1f}")

        def switches(d, t):
            c = self.results["throughput"].get(d, {}).get(str(t))
            v = c.get("context_switches_per_call") if c else None
            return "-" if v is None else f"{v:.2f}"

        for title, cell in [
                ("Spread of the passes: calls/s of the slowest round as a share of the best (the cell above)", spread),
                ("Client CPU per call: user + system µs of the whole client process over the measured rounds; "
                 "(ratio) to the libcurl loop's", cpu),
                ("Context switches per call (voluntary + involuntary, every thread of the client process, over the "
                 "measured rounds): a thread that sleeps for a lock another holds, Python's GIL say, adds one",
                 switches)]:
            L.append(title)
            L.append(f"{'front door':<{w}}" + "".join(f"{f'{t} thread' + ('s' if t > 1 else ''):>18}"
                                                       for t in THREADS))
            for d in self.selected:
                L.append(f"{DOORS[d][0]:<{w}}" + "".join(f"{cell(d, t):>18}" for t in THREADS))
            L.append("")
        del L[-1]
        scal = []
        for d in self.selected:
            if self.rate(d, 1) and self.rate(d, 8):
                scal.append(f"{d} {self.rate(d, 8) / self.rate(d, 1):.2f}x")
        if scal:
            L.append(f"8 threads / 1 thread ({os.cpu_count()} cores): " + ", ".join(scal))
        L.append("")
        cold = [d for d in COLD_DOORS if d in self.selected]
        if cold:
            L.append(f"Cold start: process start to first validated request (token, discovery, token, validate); "
                     f"median of {self.cold_runs} fresh processes")
            for d in cold:
                c = self.results["cold_start"].get(d)
                label = DOORS[d][0]
                if c:
                    L.append(f"  {label:<{w}}{c['median_s'] * 1000:8.1f} ms   (min {c['min_s'] * 1000:.1f} ms)")
                else:
                    L.append(f"  {label:<{w}}MISSING")
            L.append("")
        mem = [d for d in MEMORY_DOORS if d in self.selected]
        if mem:
            L.append(f"Memory: {self.mem_calls:,} calls on 8 threads; max RSS, and RSS growth from the "
                     f"{self.mem_checkpoint:,}th to the {self.mem_calls:,}th call"
                     + (" (--quick: scaled down from 100,000 / 10,000)" if self.quick else ""))
            for d in mem:
                m = self.results["memory"].get(d)
                label = DOORS[d][0]
                if m:
                    line = f"  {label:<{w}}max RSS {m['max_rss_kb'] / 1024:7.1f} MB   growth {m['growth_kb']:+7d} kB"
                    if "live_heap_growth_kb" in m:
                        line += f"   (live Java heap after a full GC: {m['live_heap_growth_kb']:+d} kB)"
                    L.append(line)
                else:
                    L.append(f"  {label:<{w}}MISSING")
            L.append("")
        L.append("Targets (figures, not assertions):")
        for t in self.targets():
            state = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
            L.append(f"  {t['target']:<58} {t.get('shown', '-'):>12}  {state}")
        return "\n".join(L)


def library_user_agent():
    """The User-Agent the C library sends ("intune-scep/VERSION libcurl/VERSION"): the
    baselines send the same one, so every request has the same bytes."""
    import ctypes
    import re
    version = "1.0.0"
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "CMakeLists.txt")) as f:
            m = re.search(r"project\(\s*IntuneScep\s+VERSION\s+([0-9.]+)", f.read())
            version = m.group(1) if m else version
    except OSError:
        pass
    curl = "?"
    try:
        lib = ctypes.CDLL("libcurl.so.4")
        lib.curl_version.restype = ctypes.c_char_p
        m = re.match(r"libcurl/(\S+)", lib.curl_version().decode())
        curl = m.group(1) if m else curl
    except OSError:
        pass
    return f"intune-scep/{version} libcurl/{curl}"


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "kernel": platform.release(), "python": platform.python_version()}


PROFILE_DOORS = {"curl": (500, 2500), "c": (500, 2500), "python": (300, 1300)}


def callgrind_functions(path):
    """{function: inclusive instructions} from a callgrind output file."""
    import re
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    funcs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*?)(?: \[(.*)\])?$", line)
        if m and not m.group(2).startswith("=>"):
            name = m.group(2).split(":")[-1]
            funcs[name] = max(funcs.get(name, 0), int(m.group(1).replace(",", "")))
    return funcs


def strace_counts(path):
    """{system call: calls} from the summary `strace -c` writes."""
    import re
    counts = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$", line)
        if m and m.group(2) != "total":
            counts[m.group(2)] = int(m.group(1))
    return counts


def syscalls_per_call(r, door, argv):
    """System calls per warm call (`strace -f -c`, the same two call counts as callgrind's
    difference): the kernel's share of a call, which callgrind does not see. None without strace."""
    import shutil
    if not shutil.which("strace"):
        return None
    runs = []
    for n in PROFILE_DOORS[door]:
        out = os.path.join(r.a.tmp, f"strace.{door}.{n}")
        extra = ["--threads", "1", "--calls", str(n), "--checkpoint", "1"]
        p = subprocess.run(["strace", "-f", "-c", "-o", out] + argv + extra,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            log(f"{door}: strace: {p.stderr.strip().splitlines()[-3:]}")
            return None
        runs.append((n, strace_counts(out)))
    (n1, c1), (n2, c2) = runs
    return {k: (c2.get(k, 0) - c1.get(k, 0)) / (n2 - n1) for k in set(c1) | set(c2)}


def profile(r):
    """Instructions per warm call under callgrind: a fixed number of calls on one
    thread, run twice with different counts; the difference over the difference in
    calls removes start-up (TLS handshakes, tokens, discovery, the interpreter)."""
    import shutil
    if not shutil.which("valgrind"):
        log("valgrind is not installed")
        return 2
    per_call = {}
    details = {}
    syscalls = {}
    for door in [d for d in ("curl", "c", "python") if d in r.selected]:
        argv, why = r.command(door, "memory")
        if argv is None:
            log(f"{door}: {why}")
            return 1
        runs = []
        for n in PROFILE_DOORS[door]:
            out = os.path.join(r.a.tmp, f"callgrind.{door}.{n}")
            extra = ["--threads", "1", "--calls", str(n), "--checkpoint", "1"]
            log(f"callgrind: {DOORS[door][0]}, {n} calls")
            p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv + extra,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                log(f"{door}: {p.stderr.strip().splitlines()[-3:]}")
                return 1
            runs.append((n, callgrind_functions(out)))
        (n1, f1), (n2, f2) = runs
        delta = {k: (f2.get(k, 0) - f1.get(k, 0)) / (n2 - n1) for k in f2}
        per_call[door] = delta.get("PROGRAM TOTALS", 0)
        details[door] = delta
        log(f"strace: {DOORS[door][0]}")
        syscalls[door] = syscalls_per_call(r, door, argv)
    print()
    print("Instructions per warm call (callgrind, one thread):")
    for door, v in per_call.items():
        ratio = f"  ({v / per_call['curl']:.2f}x the libcurl loop)" if "curl" in per_call and door != "curl" else ""
        print(f"  {DOORS[door][0]:<36}{v:10,.0f}{ratio}")
    if any(v is not None for v in syscalls.values()):
        print()
        print("System calls per warm call (strace -c, one thread; the kernel's share, which callgrind does not see):")
        for door, sc in syscalls.items():
            if sc is None:
                continue
            shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(sc.items(), key=lambda kv: -kv[1]) if v >= 0.01)
            print(f"  {DOORS[door][0]:<36}{sum(sc.values()):6.2f}   ({shown})")
    for door in ("c", "python"):
        d = details.get(door)
        if not d:
            continue
        base = d.get("intune_scep_validate_request", 0)
        print()
        print(f"{DOORS[door][0]}: inclusive instructions per call")
        if door == "python":
            total = per_call["python"]
            print(f"  {'the Python side (facade, SWIG, GIL)':<44}{total - base:10,.0f}")
        rows = sorted(((v, k) for k, v in d.items()
                       if v >= 1000 and (k.startswith(("isc_", "intune_scep", "check_", "curl_easy_perform",
                                                       "cJSON_Print", "cJSON_Parse", "RAND_bytes", "curl_maprintf"))
                                         or k.startswith("_wrap_"))), reverse=True)
        for v, k in rows[:25]:
            print(f"  {k:<44}{v:10,.0f}")
    return 0


def main():
    a = parse_args()
    r = Runner(a)
    if a.profile:
        return profile(r)
    started = datetime.datetime.now(datetime.timezone.utc)
    r.run()
    command = "bench/run" + (" --quick" if a.quick else "") + \
        (f" --passes {a.passes}" if a.passes is not None else "") + \
        ("" if r.selected == ORDER else " --only " + ",".join(r.selected))
    m = machine()
    text = r.table()
    print()
    print(text)
    print()
    print(f"Machine: {m['cores']} cores, {m['cpu']}; {started:%Y-%m-%d %H:%M} UTC; command: {command}")
    results = {
        "date": started.isoformat(timespec="seconds"),
        "command": command,
        "quick": a.quick,
        "machine": m,
        "settings": {"threads": THREADS, **r.timing, "java_warmup": r.java_warmup, "cold_runs": r.cold_runs,
                     "memory_calls": r.mem_calls, "memory_checkpoint": r.mem_checkpoint},
        "front_doors": {d: DOORS[d][0] for d in r.selected},
        **r.results,
        "connections_per_1000": {d: r.connections(d) for d in r.selected},
        "targets": r.targets(),
        "missing": r.missing,
        "errors": r.errors,
        "table": text,
    }
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    if r.missing:
        print(f"\nMISSING CELLS ({len(r.missing)}): " + ", ".join(r.missing), file=sys.stderr)
        for d, errs in r.errors.items():
            for e in errs:
                print(f"  {d}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
