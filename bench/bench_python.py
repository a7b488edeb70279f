#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Python front doors of the benchmark (bench/run drives this; see bench/README.md).

usage: bench_python.py MODE --impl package --properties FILE --csr FILE [options]
       bench_python.py MODE --impl requests --url URL --token T --ca CA --csr FILE [options]
MODE: throughput (--threads 1,2,4,8 --warmup S --seconds S --rounds N --status-url URL),
      cold (one process start to first validated request), memory (--threads N --calls N --checkpoint N).

--impl package: the intune_scep package, one IntuneScepServiceClient shared by every thread.
--impl requests: what a Python user writes instead: one requests.Session (keep-alive)
shared by every thread, the same request (URL, headers, body), verify= the CA per call,
every answer checked for HTTP 200 and "code" == "Success".

Prints one JSON object per figure on stdout, as the C programs do.
"""
import sys
import time

T_START = time.monotonic()  # noqa: E402  (cold start phases are measured from here)

import functools  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import threading  # noqa: E402

TRANSACTION_ID = "bench-transaction-0001"
PROVIDER = "intune-scep-bench/1.0"


def opt(key, default=None):
    argv = sys.argv
    for i in range(2, len(argv) - 1):
        if argv[i] == key:
            return argv[i + 1]
    return default


def read_properties(path):
    """The bench's properties file: simple key=value lines (no escapes or continuations)."""
    props = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#!":
                continue
            k, _, v = line.partition("=")
            props[k.strip()] = v.strip()
    return props


def read_csr():
    with open(opt("--csr"), encoding="ascii") as f:
        return f.read().strip()


def context_switches():
    """Context switches (voluntary + involuntary) of every thread of the process so far: a thread
    that sleeps for the GIL another thread holds adds one each time."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_nvcsw + ru.ru_nivcsw


def proc_status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def stub_status(url):
    """(accepts, requests) from nginx's stub_status; each reading opens one connection."""
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    nums = text.split("requests\n", 1)[1].split()
    return int(nums[0]), int(nums[2])


# --- the two implementations ---------------------------------------------------

def make_package_call():
    import intune_scep
    props = read_properties(opt("--properties"))
    csr = read_csr()
    t0 = time.monotonic()
    client = intune_scep.IntuneScepServiceClient(props)
    t1 = time.monotonic()

    # The bound method with its arguments, called by C (functools.partial), as the C and Java
    # harnesses call a function pointer or a lambda the JIT inlines: no Python frame of the
    # harness's own per call. Raises on anything but Intune's "Success" (the package fails closed).
    call = functools.partial(client.ValidateRequest, TRANSACTION_ID, csr)
    return call, {"client_new_s": t1 - t0}


def make_requests_call():
    import uuid
    import requests
    url, token, ca = opt("--url"), opt("--token"), opt("--ca")
    csr = read_csr()
    user_agent = opt("--user-agent", "intune-scep/1.0.0 libcurl/7.88.1")
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=16)
    session.mount("https://", adapter)
    base_headers = {
        "Authorization": "Bearer " + token,
        "Content-Type": "application/json",
        "api-version": "2018-02-20",
        "UserAgent": PROVIDER,
        "User-Agent": user_agent,
        "Accept": "application/json",
    }

    def call():
        headers = dict(base_headers)
        headers["client-request-id"] = str(uuid.uuid4())
        body = {"request": {"transactionId": TRANSACTION_ID, "certificateRequest": csr, "callerInfo": PROVIDER}}
        # REQUESTS_CA_BUNDLE would override Session.verify: pass the CA per call.
        r = session.post(url, json=body, headers=headers, verify=ca, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        if r.json().get("code") != "Success":
            raise RuntimeError(f"answer is not code Success: {r.text[:200]}")

    return call, {}


# --- harness ---------------------------------------------------------------------

class Run:
    def __init__(self, call, threads):
        self.call = call
        self.threads = threads
        self.counts = [0] * threads
        self.stop = threading.Event()
        # Read by the workers on every call: a plain list cell, as the C and Java harnesses read
        # a flag (Event.is_set is a Python-level call, a frame per call charged to the front door).
        self.stopped = [False]
        self.error = None
        self.lock = threading.Lock()

    def fail(self, e):
        with self.lock:
            if self.error is None:
                self.error = f"{type(e).__name__}: {e}"
        self.stopped[0] = True
        self.stop.set()

    def worker(self, i):
        counts, call, stopped = self.counts, self.call, self.stopped
        try:
            while not stopped[0]:
                call()
                counts[i] += 1
        except Exception as e:  # noqa: BLE001 - any failure ends the cell
            self.fail(e)

    def start(self):
        self.tids = [threading.Thread(target=self.worker, args=(i,), daemon=True) for i in range(self.threads)]
        for t in self.tids:
            t.start()

    def nap(self, secs):
        self.stop.wait(secs)

    def finish(self):
        self.stopped[0] = True
        self.stop.set()
        for t in self.tids:
            t.join()


def throughput(call, name):
    threads = [int(x) for x in opt("--threads", "1,2,4,8").split(",")]
    warmup = float(opt("--warmup", "1"))
    seconds = float(opt("--seconds", "5"))
    rounds = int(opt("--rounds", "3"))
    status_url = opt("--status-url")
    for n in threads:
        run = Run(call, n)
        run.start()
        run.nap(warmup)
        acc0, req0 = stub_status(status_url) if status_url else (None, None)
        rates, measured = [], 0
        cpu0 = time.process_time()
        cs0 = context_switches()
        for _ in range(rounds):
            if run.error:
                break
            c0, t0 = sum(run.counts), time.monotonic()
            run.nap(seconds)
            c1, t1 = sum(run.counts), time.monotonic()
            rates.append((c1 - c0) / (t1 - t0))
            measured += c1 - c0
        cpu1 = time.process_time()
        cs1 = context_switches()
        acc1, req1 = stub_status(status_url) if status_url else (None, None)
        run.finish()
        if run.error:
            print(f"{name}, {n} threads: a call failed: {run.error}", file=sys.stderr)
            return 1
        fig = {"figure": "throughput", "front_door": name, "threads": n, "rounds": [round(r, 1) for r in rates],
               "calls_per_s": round(max(rates), 1), "calls": measured, "cpu_s": round(cpu1 - cpu0, 4),
               "context_switches": cs1 - cs0}
        if acc0 is not None:
            conns = acc1 - acc0 - 1  # the second reading's own connection
            fig["new_connections"] = conns
            fig["connections_per_1000"] = conns * 1000.0 / measured if measured else 0.0
            fig["server_requests"] = req1 - req0 - 1
        print(json.dumps(fig), flush=True)
    return 0


def memory(call, name):
    n = int(opt("--threads", "8"))
    total = int(opt("--calls", "100000"))
    checkpoint = int(opt("--checkpoint", "10000"))
    lock = threading.Lock()
    state = {"rss_cp": -1, "error": None}
    # Tickets and the count of calls made are itertools counters: next() is one C call,
    # atomic under the GIL, so the harness takes no lock per call (the C harness counts
    # with atomics; under callgrind, --profile charges the harness's work to the front door).
    tickets, done = itertools.count(1), itertools.count(1)

    def worker():
        try:
            while next(tickets) <= total and state["error"] is None:
                call()
                if next(done) == checkpoint:
                    state["rss_cp"] = proc_status_kb("VmRSS")
        except Exception as e:  # noqa: BLE001
            with lock:
                state["error"] = state["error"] or f"{type(e).__name__}: {e}"

    t0 = time.monotonic()
    tids = [threading.Thread(target=worker) for _ in range(n)]
    for t in tids:
        t.start()
    for t in tids:
        t.join()
    t1 = time.monotonic()
    made = next(done) - 1
    if state["error"] or made != total:
        print(f"{name} memory: {made} of {total} calls made: {state['error']}", file=sys.stderr)
        return 1
    rss_end = proc_status_kb("VmRSS")
    print(json.dumps({"figure": "memory", "front_door": name, "threads": n, "calls": total, "checkpoint": checkpoint,
                      "max_rss_kb": proc_status_kb("VmHWM"), "rss_at_checkpoint_kb": state["rss_cp"],
                      "rss_end_kb": rss_end, "growth_kb": rss_end - state["rss_cp"], "seconds": round(t1 - t0, 2)}),
          flush=True)
    return 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("throughput", "cold", "memory"):
        print(__doc__, file=sys.stderr)
        return 2
    mode = sys.argv[1]
    impl = opt("--impl", "package")
    name = "python" if impl == "package" else "requests"
    t_setup = time.monotonic()
    call, phases = (make_package_call if impl == "package" else make_requests_call)()
    if mode == "cold":
        t0 = time.monotonic()
        call()
        t1 = time.monotonic()
        print(json.dumps({"figure": "cold", "front_door": name, "first_ok_monotonic": t1,
                          "import_and_setup_s": t0 - t_setup,
                          "first_call_s": t1 - t0, "script_s": t1 - T_START, **phases}), flush=True)
        return 0
    if mode == "throughput":
        return throughput(call, name)
    return memory(call, name)


if __name__ == "__main__":
    sys.exit(main())
