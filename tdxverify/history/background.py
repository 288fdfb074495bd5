"""Recording off the caller's thread: for services whose request path must never wait on the database."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType

from .errors import HistoryError
from .outcome import Outcome

__all__ = ["BackgroundRecorder"]

log = logging.getLogger("tdxverify.history")

_STOP = object()


class BackgroundRecorder:
    """A thread that commits queued outcomes, as many as are waiting in one transaction.

    ``commit`` is :meth:`Recorder.record_many <tdxverify.history.Recorder.record_many>`.
    :meth:`submit` never blocks: when ``max_queue`` outcomes are already waiting
    it drops the new one and counts it in :attr:`dropped`. A group whose commit
    fails is retried ``retries`` times, ``retry_delay`` seconds apart, then
    counted in :attr:`lost` and logged. :meth:`close` commits everything still
    queued, then stops the thread. Outcomes still queued when the process dies
    are lost; every committed one stays.
    """

    def __init__(
        self,
        commit: Callable[[list[Outcome]], list[int]],
        *,
        max_queue: int = 10_000,
        max_group: int = 500,
        retries: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        self._commit = commit
        self._queue: queue.Queue[object] = queue.Queue(max_queue)
        self.max_group = max_group
        self.retries = retries
        self.retry_delay = retry_delay
        self.committed = 0
        self.dropped = 0
        self.lost = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tdxverify-history", daemon=True)
        self._thread.start()

    def submit(self, outcome: Outcome) -> bool:
        """Queue one outcome; False if the queue was full and it was dropped."""
        try:
            self._queue.put_nowait(outcome)
        except queue.Full:
            with self._lock:
                self.dropped += 1
            log.warning("attestation history queue full: an outcome was dropped (%d so far)", self.dropped)
            return False
        return True

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            group: list[Outcome] = []
            for item in (first, *self._drain()):
                if item is _STOP:
                    stop = True
                else:
                    assert isinstance(item, Outcome)
                    group.append(item)
            if group:
                self._write(group)

    def _drain(self) -> list[object]:
        items: list[object] = []
        while len(items) < self.max_group:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _write(self, group: list[Outcome]) -> None:
        for attempt in range(self.retries + 1):
            try:
                self._commit(group)
            except HistoryError as err:
                if attempt == self.retries:
                    with self._lock:
                        self.lost += len(group)
                    log.error("attestation history: %d outcome(s) not recorded: %s", len(group), err)
                    return
                log.warning("attestation history: commit failed (%s); retrying", err)
                time.sleep(self.retry_delay)
            else:
                with self._lock:
                    self.committed += len(group)
                return

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued and stop (idempotent)."""
        if self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                log.error("attestation history: the writer thread is stuck; %d outcome(s) queued", self._queue.qsize())
                return
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
