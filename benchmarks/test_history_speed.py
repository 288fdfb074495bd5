"""Attestation history speed targets (SQLite file and a throwaway PostgreSQL). Run: python -m pytest benchmarks

Measured on the 2-core dev machine (2026-12), see TARGETS: the bounds are
several times those numbers, so only a real regression fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tdxverify.history import History, Outcome, Recorder, Window
from tdxverify.testing.postgres import PostgresUnavailable, TempPostgres, create_schema
from tests.history.fakes import NEW, OLD, FakeWorker

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
ROWS = 20_000  # a day of a 200-worker fleet attesting every ~15 minutes, with room to spare
WORKERS = 200

# Upper bounds on the mean, in seconds.
# Measured on the shared 2-core dev machine under load (2026-12), SQLite file / PostgreSQL
# (the suite's throwaway cluster runs with fsync=off): record 10.8 / 1.1 ms (SQLite: one
# fsync per commit, synchronous=FULL), record_many(100) 56 / 98 ms, over 20k rows: gate
# 118 / 82 ms, rtmr3 values 53 / 39 ms, summary 34 / 74 ms.
TARGETS = {
    "record": 60e-3,
    "record_many_100": 500e-3,
    "gate": 600e-3,
    "rtmr3_values": 400e-3,
    "summary": 400e-3,
}


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    try:
        pg = TempPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL benchmarks not run: {exc}")
    try:
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite3")
    return create_schema(request.getfixturevalue("postgres"))


def _check(benchmark: Any, name: str) -> None:
    mean = benchmark.stats.stats.mean
    assert mean < TARGETS[name], f"{name}: mean {mean * 1e3:.3f} ms exceeds {TARGETS[name] * 1e3:.3f} ms"


VERDICT = FakeWorker("bench", OLD).attest()
VERDICT_NEW = FakeWorker("bench", NEW).attest()


def test_record(benchmark: Any, url: str) -> None:
    with Recorder(url) as rec:
        n = iter(range(10**9))
        benchmark(lambda: rec.record(VERDICT, worker=f"w{next(n) % WORKERS}", at=T0))
    _check(benchmark, "record")


def test_record_many_100(benchmark: Any, url: str) -> None:
    group = [Outcome.of(VERDICT, worker=f"w{i}", at=T0) for i in range(100)]
    with Recorder(url) as rec:
        benchmark(rec.record_many, group)
    _check(benchmark, "record_many_100")


@pytest.fixture
def day(url: str) -> str:
    """ROWS outcomes over a day: the fleet moves from OLD to NEW at noon."""
    with Recorder(url) as rec:
        step = timedelta(days=1) / ROWS
        batch: list[Outcome] = []
        for i in range(ROWS):
            result = VERDICT if i < ROWS // 2 else VERDICT_NEW
            batch.append(Outcome.of(result, worker=f"w{i % WORKERS}", at=T0 + i * step))
            if len(batch) == 1000:
                rec.record_many(batch)
                batch = []
        rec.record_many(batch)
    return url


WINDOW = Window.since(timedelta(days=1), T0 + timedelta(days=1))


def test_gate(benchmark: Any, day: str) -> None:
    with History(day) as h:
        on = benchmark(h.workers_on, OLD.hex(), WINDOW)
    assert on.count == 0 and len(on.moved_on) == WORKERS
    _check(benchmark, "gate")


def test_rtmr3_values(benchmark: Any, day: str) -> None:
    with History(day) as h:
        values = benchmark(h.rtmr3_values, WINDOW)
    assert [v.workers for v in values] == [WORKERS, WORKERS]
    _check(benchmark, "rtmr3_values")


def test_summary(benchmark: Any, day: str) -> None:
    with History(day) as h:
        s = benchmark(h.summary, WINDOW)
    assert s.attestations == ROWS and s.registered_workers == WORKERS
    _check(benchmark, "summary")
