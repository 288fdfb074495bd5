"""Speed targets for event-log parsing and replay on the real vectors (pytest-benchmark).

Measured on the shared 2-core dev machine (2026-12, medians): dstack tcb_info (29 events) 0.16 ms, CCEL log area
(256 KiB, 43 events) 0.68 ms. Targets are generous upper bounds on the mean.
"""

from __future__ import annotations

from typing import Any

from tdxverify.eventlog import parse_event_log
from tests.vectors import VECTORS_DIR

DSTACK = (VECTORS_DIR / "tdx-v4-near-mpc-dstack" / "tcb_info.json").read_bytes()
CCEL = (VECTORS_DIR / "tdx-v4-gcp-cos-ccel" / "ccel_data.bin").read_bytes()
TARGETS = {"dstack": 2e-3, "ccel": 5e-3}


def _check(benchmark: Any, name: str) -> None:
    mean = benchmark.stats.stats.mean
    assert mean < TARGETS[name], f"{name}: mean {mean * 1e3:.3f} ms exceeds {TARGETS[name] * 1e3:.3f} ms"


def test_parse_dstack_log(benchmark: Any) -> None:
    log = benchmark(parse_event_log, DSTACK)
    assert len(log.events) == 29
    _check(benchmark, "dstack")


def test_parse_ccel_log(benchmark: Any) -> None:
    log = benchmark(parse_event_log, CCEL)
    assert len(log.events) == 43
    _check(benchmark, "ccel")
