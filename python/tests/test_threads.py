# SPDX-License-Identifier: Apache-2.0
"""One client shared by many threads; the GIL is released during a call."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest

from intune_scep import IntuneScepServiceClient
from scep_helpers import SUCCESS_BODY


def test_8_threads_x_100_calls_on_one_client(emu, config, csr, caplog):
    # DEBUG: every call also sends its log lines through the GIL-taking log sink
    caplog.set_level(logging.DEBUG, logger="intune_scep")
    client = IntuneScepServiceClient(config)
    threads_n, calls_n = 8, 100
    errors = []
    barrier = threading.Barrier(threads_n)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for j in range(calls_n):
                client.ValidateRequest(f"{csr['txid']}-{i}-{j}", csr["csr_b64"])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "threads did not finish"
    assert errors == []
    reqs = emu.requests("validateRequest")
    assert len(reqs) == threads_n * calls_n
    # every call its own activity id, every transaction id sent once
    assert len({r["headers"]["client-request-id"] for r in reqs}) == threads_n * calls_n
    assert len({r["json"]["request"]["transactionId"] for r in reqs}) == threads_n * calls_n
    for r in reqs:
        uuid.UUID(r["headers"]["client-request-id"])
    # tokens were fetched once (single flight), not per call or per thread
    assert emu.stats()["token_requests"]["intune"] == 1
    assert len(emu.requests("discovery")) == 1
    client.close()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "intune_scep")
    missing = [r["headers"]["client-request-id"] for r in reqs if r["headers"]["client-request-id"] not in logged]
    assert missing == []


def test_gil_released_calls_overlap(emu, client, csr):
    """4 calls delayed 200 ms each by the emulator, on 4 threads, overlap in wall time."""
    client.ValidateRequest(csr["txid"], csr["csr_b64"])  # warm: token and discovery
    n, delay = 4, 0.2
    emu.fault(endpoint="validateRequest", status=200, body=SUCCESS_BODY, content_type="application/json",
              delay_ms=int(delay * 1000), times=n)
    barrier = threading.Barrier(n + 1)
    durations = []
    errors = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            t0 = time.monotonic()
            client.ValidateRequest(f"{csr['txid']}-gil-{i}", csr["csr_b64"])
            durations.append(time.monotonic() - t0)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join(timeout=30)
    wall = time.monotonic() - start
    assert errors == []
    assert len(durations) == n and min(durations) >= delay * 0.9  # each call really waited
    # serialised calls would take n * delay = 0.8 s; overlapping ones about 0.2 s
    assert wall < n * delay * 0.75, f"calls did not overlap: {wall:.3f}s for {n} x {delay}s"


def test_python_thread_runs_during_a_call(emu, client, csr):
    """While one thread waits in a call, another Python thread keeps running bytecode."""
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    emu.fault(endpoint="validateRequest", status=200, body=SUCCESS_BODY, content_type="application/json",
              delay_ms=300, times=1)
    in_call = threading.Event()
    done = threading.Event()
    ticks = []

    def caller() -> None:
        in_call.set()
        try:
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
        finally:
            done.set()

    t = threading.Thread(target=caller)
    t.start()
    in_call.wait()
    time.sleep(0.05)  # let the caller enter the native call
    count = 0
    while not done.is_set():
        count += 1
        if count % 10000 == 0:
            ticks.append(time.monotonic())
    t.join()
    # the counting loop ran for most of the 300 ms the call was waiting
    assert len(ticks) >= 2 and ticks[-1] - ticks[0] > 0.1, (count, len(ticks))


def test_close_waits_for_running_calls(emu, client, csr):
    """close() from another thread waits for a running call instead of freeing under it."""
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    emu.fault(endpoint="validateRequest", status=200, body=SUCCESS_BODY, content_type="application/json",
              delay_ms=300, times=1)
    outcome = []

    def caller() -> None:
        try:
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
            outcome.append("ok")
        except BaseException as e:  # noqa: BLE001
            outcome.append(e)

    t = threading.Thread(target=caller)
    t.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    client.close()
    waited = time.monotonic() - t0
    t.join(10)
    assert outcome == ["ok"]
    assert waited > 0.1  # it waited for the call in flight
    with pytest.raises(ValueError, match="closed"):
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
