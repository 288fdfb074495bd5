"""A one-line progress bar (count, rate, ETA) for long commands, drawn only on a terminal."""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 24
_INTERVAL = 0.1  # seconds between redraws: cheap even at thousands of items per second


def _clock(seconds: float) -> str:
    s = max(0, int(seconds + 0.5))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Draws ``done/total, rate, ETA, failures`` on ``stream`` if it is a terminal; else nothing."""

    def __init__(self, stream: TextIO, total: int | None, *, enabled: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.enabled = stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self._last = 0.0
        self.done = 0
        self.failed = 0

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        now = time.monotonic()
        if self.enabled and now - self._last >= _INTERVAL:
            self._last = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The bar as text (no carriage return)."""
        elapsed = (time.monotonic() if now is None else now) - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        failed = f"  {self.failed} failed" if self.failed else ""
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(frac * _WIDTH)
            eta = _clock((self.total - self.done) / rate) if rate > 0 else "-:--:--"
            return (
                f"[{bar.ljust(_WIDTH, '.')}] {self.done}/{self.total} {frac:6.1%}  {rate:,.0f} quotes/s  "
                f"ETA {eta}{failed}"
            )
        return f"{self.done} quotes  {rate:,.0f} quotes/s  elapsed {_clock(elapsed)}{failed}"

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start
