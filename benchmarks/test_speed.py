"""Speed and memory targets (pytest-benchmark). Run: python -m pytest benchmarks

Targets are generous upper bounds for a 2-core CI-class machine; each
benchmark asserts its own mean against them so a regression of several times
fails here, never in the unit tests.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from tdxverify import Verifier, load_collateral, parse_quote
from tests.vectors import verifiable_vectors

VEC = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")
RAW = VEC.quote
COLLATERAL = VEC.collateral_path

# Upper bounds on the mean, in seconds.
# Measured on the 2-core dev machine (2026-11): parse 0.07 ms, load_collateral 0.29 ms,
# verify_cached 0.22 ms, verify_cold 2.9 ms.
TARGETS = {
    "parse": 0.25e-3,
    "verify_cached": 1e-3,
    "verify_cold": 10e-3,
    "load_collateral": 1.5e-3,
}
MAX_PEAK_BYTES = 2 * 1024 * 1024


def _check(benchmark: Any, name: str) -> None:
    mean = benchmark.stats.stats.mean
    assert mean < TARGETS[name], f"{name}: mean {mean * 1e3:.3f} ms exceeds {TARGETS[name] * 1e3:.3f} ms"


def test_parse(benchmark: Any) -> None:
    quote = benchmark(parse_quote, RAW)
    assert quote.version == 4
    _check(benchmark, "parse")


def test_load_collateral(benchmark: Any) -> None:
    col = benchmark(load_collateral, COLLATERAL)
    assert col.tcb_info.fmspc.hex().upper() == "20A06F000000"
    _check(benchmark, "load_collateral")


def test_verify_cached(benchmark: Any) -> None:
    """The service hot path: one Verifier, the same collateral, many quotes."""
    verifier = Verifier()
    col = load_collateral(COLLATERAL)
    verifier.verify(RAW, col, VEC.now)
    verdict = benchmark(verifier.verify, RAW, col, VEC.now)
    assert verdict.status == "UpToDate"
    _check(benchmark, "verify_cached")


def test_verify_cold(benchmark: Any) -> None:
    """Everything from bytes: parse, load and authenticate collateral, verify."""

    def cold() -> Any:
        return Verifier().verify(RAW, COLLATERAL, VEC.now)

    assert benchmark(cold).status == "UpToDate"
    _check(benchmark, "verify_cold")


@pytest.mark.parametrize("rounds", [200])
def test_memory_peak(rounds: int) -> None:
    verifier = Verifier()
    col = load_collateral(COLLATERAL)
    verifier.verify(RAW, col, VEC.now)
    tracemalloc.start()
    for _ in range(rounds):
        verifier.verify(RAW, col, VEC.now)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Verifying must not accumulate memory per call.
    assert peak < MAX_PEAK_BYTES, f"peak {peak} bytes over {rounds} verifications"
