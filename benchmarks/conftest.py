import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Benchmarks reuse the test suite's vector loader.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass(frozen=True)
class Row:
    """One measured ratio: ``ours / reference`` (for memory, bytes / limit)."""

    name: str
    ours: float
    reference: float
    reference_name: str
    target: float | None
    absolute_target: float | None = None

    @property
    def ratio(self) -> float:
        return self.ours / self.reference


_ROWS: list[Row] = []


@pytest.fixture
def record() -> Callable[..., None]:
    """``record(name, ours, reference, reference_name, target, absolute_target=None)``: add a row to the table."""

    def add(*args: Any, **kwargs: Any) -> None:
        _ROWS.append(Row(*args, **kwargs))

    return add


def _fmt(row: Row, value: float) -> str:
    if "memory" in row.name:
        return f"{value / 1e6:.2f} MB"
    return f"{value * 1e6:.1f} us"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS:
        return
    tr = terminalreporter
    tr.section("tdxverify ratios (same run)")
    tr.write_line(f"{'operation':58} {'tdxverify':>11} {'reference':>11} {'ratio':>7}  target  reference side")
    for row in _ROWS:
        verdict = ""
        if row.target is not None:
            verdict = f"<= {row.target:.1f} {'met' if row.ratio <= row.target else 'NOT met'}"
        if row.absolute_target is not None:
            ok = row.ours <= row.absolute_target
            verdict = f"<= {row.absolute_target * 1e6:.0f} us {'met' if ok else 'NOT met'}"
        tr.write_line(
            f"{row.name:58} {_fmt(row, row.ours):>11} {_fmt(row, row.reference):>11} {row.ratio:7.2f}  "
            f"{verdict:16} {row.reference_name}"
        )
