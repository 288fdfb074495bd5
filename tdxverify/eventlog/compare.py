"""What changed between two event logs (e.g. two worker images): per RTMR, and per named value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import RTMR_COUNT, Event, EventLog

__all__ = ["LogDiff", "RtmrDiff", "compare_logs"]


@dataclass(frozen=True)
class RtmrDiff:
    """One RTMR: equal, or where its event sequences part (position within that RTMR's events)."""

    rtmr: int
    equal: bool
    old_value: bytes
    new_value: bytes
    position: int | None
    """Index, among the events extending this RTMR, of the first that differs (``None`` when equal)."""
    old_event: Event | None
    new_event: Event | None
    """The events at ``position`` (``None`` where one log has no more events for this RTMR)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rtmr": self.rtmr,
            "equal": self.equal,
            "old": self.old_value.hex(),
            "new": self.new_value.hex(),
            "position": self.position,
            "old_event": self.old_event.to_dict() if self.old_event else None,
            "new_event": self.new_event.to_dict() if self.new_event else None,
        }


@dataclass(frozen=True)
class LogDiff:
    """Every RTMR's comparison, and the named values whose values differ (old, new)."""

    rtmrs: tuple[RtmrDiff, ...]
    named: dict[str, tuple[tuple[bytes, ...], tuple[bytes, ...]]]

    @property
    def equal(self) -> bool:
        return all(r.equal for r in self.rtmrs) and not self.named

    def to_dict(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "rtmrs": [r.to_dict() for r in self.rtmrs],
            "named": {
                k: {"old": [v.hex() for v in o], "new": [v.hex() for v in n]} for k, (o, n) in self.named.items()
            },
        }


def _extending(log: EventLog, rtmr: int) -> list[Event]:
    return [e for e in log.events if e.rtmr == rtmr]


def compare_logs(old: EventLog, new: EventLog) -> LogDiff:
    """Compare two logs RTMR by RTMR (digest sequences) and by named value."""
    diffs = []
    for i in range(RTMR_COUNT):
        a, b = _extending(old, i), _extending(new, i)
        pos = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x.digest != y.digest), None)
        if pos is None and len(a) != len(b):
            pos = min(len(a), len(b))
        equal = old.rtmrs[i] == new.rtmrs[i]
        if equal:
            pos = None
        at = (
            a[pos] if pos is not None and pos < len(a) else None,
            b[pos] if pos is not None and pos < len(b) else None,
        )
        diffs.append(RtmrDiff(i, equal, old.rtmrs[i], new.rtmrs[i], pos, at[0], at[1]))
    named = {
        name: (old.named.get(name, ()), new.named.get(name, ()))
        for name in sorted(set(old.named) | set(new.named))
        if old.named.get(name, ()) != new.named.get(name, ())
    }
    return LogDiff(tuple(diffs), named)
