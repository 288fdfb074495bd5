"""The background task that keeps every cached platform's collateral fresh.

Each tick (``config.tick`` seconds) it starts a refresh for every key that is
due (:meth:`CollateralCache.due`: the ``--refresh`` interval, half the time
left before the earliest nextUpdate, or a back-off after a failure) and
forgets keys whose only history is a failed first fetch. Refreshes of
different keys run concurrently; one key never has two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .cache import CollateralCache

__all__ = ["Refresher"]

log = logging.getLogger("tdxverify.server")


class Refresher:
    """Runs :meth:`run` as an asyncio task between :meth:`start` and :meth:`stop`."""

    def __init__(self, cache: CollateralCache, tick: float) -> None:
        self.cache = cache
        self.tick = tick
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self.run())

    def wake(self) -> None:
        """Look for due work now rather than at the next tick."""
        self._wake.set()

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._running) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    def run_once(self) -> list[asyncio.Task[None]]:
        """Start the refreshes that are due; returns their tasks."""
        self.cache.forget_idle()
        started = []
        for key in self.cache.due():
            task = asyncio.ensure_future(self.cache.refresh(key))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            started.append(task)
        return started

    async def run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # never let one bad tick end background refreshing
                log.exception("collateral refresher tick failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()
