"""Time windows: ``--since 1h`` and ``--now T`` as a closed interval [now - since, now]."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .errors import HistoryError
from .outcome import as_time

__all__ = ["Window", "parse_since"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")


def parse_since(text: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``24h``, ``1d``, ``2w`` or sums like ``1d12h``."""
    t = text.strip().lower()
    if not t or _PART.sub("", t) or not _PART.search(t):
        raise HistoryError(
            f"{text!r} is not a duration: use a number and a unit s, m, h, d or w (e.g. 1h, 24h, 1d, 1d12h)",
            code="input_invalid",
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(t))
    if seconds <= 0:
        raise HistoryError(f"the duration {text!r} is zero: give a window longer than that", code="input_invalid")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise HistoryError(f"the duration {text!r} is too long", code="input_invalid") from None


@dataclass(frozen=True)
class Window:
    """Attestations with ``start <= attested_at <= end``."""

    start: datetime
    end: datetime

    @classmethod
    def since(cls, since: timedelta, now: datetime | float | None = None) -> Window:
        """The window of length ``since`` ending at ``now`` (aware datetime or unix seconds; None: the current time)."""
        end = as_time(now, "window end")
        try:
            return cls(start=end - since, end=end)
        except OverflowError:
            raise HistoryError(f"the window {since} reaches before year 1", code="input_invalid") from None

    def to_dict(self) -> dict[str, str]:
        return {"start": _iso(self.start), "end": _iso(self.end)}


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
