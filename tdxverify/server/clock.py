"""The service's time source, injectable so that tests and demos never depend on the wall clock.

Two readings: :meth:`Clock.now` is the time every validity window is checked
at (what ``verify(now=...)`` gets); :meth:`Clock.monotonic` paces the refresh
schedule and back-off. :class:`ManualClock` moves both only when told.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from ..pki import Instant, as_utc

__all__ = ["Clock", "FixedClock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where the service reads the time."""

    def now(self) -> datetime:
        """The current time (aware, UTC) for validity checks."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for schedules and back-off."""
        ...


class SystemClock:
    """The machine's clock (production)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """Validity is always checked at one instant (``tdxverify serve --now T``); schedules run in real time.

    For demos and tests with collateral that is only valid at a known past time.
    """

    def __init__(self, at: Instant) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when :meth:`advance` or :meth:`set` is called (tests); thread-safe."""

    def __init__(self, at: Instant) -> None:
        self._lock = threading.Lock()
        self._at = as_utc(at)
        self._mono = 0.0

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        """Move both readings forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock never goes back: advance by a non-negative number of seconds")
        with self._lock:
            self._at += timedelta(seconds=seconds)
            self._mono += seconds

    def set(self, at: Instant) -> None:
        """Jump ``now`` to ``at`` (the monotonic reading moves by the same amount, never back)."""
        t = as_utc(at)
        with self._lock:
            step = max(0.0, (t - self._at).total_seconds())
            self._at = t
            self._mono += step
