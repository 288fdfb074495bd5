"""Prometheus text exposition (format 0.0.4) for the service's counters, histogram and gauges.

Written here rather than with ``prometheus_client``: the service exports a
dozen series, and owning the few lines that print them keeps the ``server``
extra to Starlette + uvicorn, keeps every series in one object per app (no
process-global registry), and lets gauges be computed from the cache at
scrape time with the service's own clock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Counter", "Histogram", "Sample", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def _fmt_value(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, labels: Mapping[str, str] | None = None, amount: float = 1.0) -> None:
        key = _labels(labels or {})
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, labels: Mapping[str, str] | None = None) -> float:
        with self._lock:
            return self._values.get(_labels(labels or {}), 0.0)

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            items = sorted(self._values.items())
        out += [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in items]
        return out


class Histogram:
    """Observations counted into cumulative buckets (seconds)."""

    def __init__(self, name: str, help_text: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help = name, help_text
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        key = _labels(labels or {})
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, labels: Mapping[str, str] | None = None) -> int:
        with self._lock:
            counts = self._counts.get(_labels(labels or {}))
            return counts[-1] if counts else 0

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        for key, counts, total in items:
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                out.append(f"{self.name}_bucket{_fmt_labels((*key, ('le', _fmt_value(bound))))} {n}")
            out.append(f"{self.name}_sum{_fmt_labels(key)} {_fmt_value(total)}")
            out.append(f"{self.name}_count{_fmt_labels(key)} {counts[-1]}")
        return out


class Sample:
    """A family computed at scrape time (a gauge, or a counter kept elsewhere): (labels, value) pairs."""

    def __init__(
        self,
        name: str,
        help_text: str,
        values: Iterable[tuple[Mapping[str, str], float]],
        kind: str = "gauge",
    ) -> None:
        self.name, self.help, self.kind = name, help_text, kind
        self.values = [(_labels(labels), float(v)) for labels, v in values]

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        out += [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in sorted(self.values)]
        return out


def render(families: Iterable[Counter | Histogram | Sample]) -> str:
    """The exposition text of every family, in order."""
    lines: list[str] = []
    for family in families:
        lines += family.lines()
    return "\n".join(lines) + "\n"
