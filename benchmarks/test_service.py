"""Speed target of tdxverify serve: one POST /v1/verify round trip (collateral cached, keep-alive),
against the service in a thread on 127.0.0.1. The bounded load test (many clients) is in
tests/test_server_process.py; its numbers are in docs/performance.md.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from tdxverify.server import ManualClock, ServiceConfig
from tdxverify.server.runner import BackgroundServer
from tests.vectors import verifiable_vectors

VEC = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")

# Upper bound on the mean, in seconds. Measured on the 2-core dev machine (2026-12), shared: mean 3.5-3.8 ms,
# median 2.4 ms.
TARGET = 20e-3


def test_verify_round_trip(benchmark: Any) -> None:
    assert VEC.now is not None and VEC.collateral is not None
    with BackgroundServer(ServiceConfig(pccs_url="http://127.0.0.1:9"), ManualClock(VEC.now)) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        body = json.dumps({"quote": VEC.quote.hex(), "collateral": VEC.collateral}).encode()

        def once() -> dict[str, Any]:
            conn.request("POST", "/v1/verify", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            out: dict[str, Any] = json.loads(r.read())
            return out

        once()
        verdict = benchmark(once)
        conn.close()
    assert verdict["ok"] is True and verdict["status"] == "UpToDate"
    mean = benchmark.stats.stats.mean
    assert mean < TARGET, f"round trip: mean {mean * 1e3:.2f} ms exceeds {TARGET * 1e3:.0f} ms"
