"""The write side: :class:`Recorder`, the hook services call after each verification."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from .background import BackgroundRecorder

from ..errors import VerificationError
from ..quote import Quote
from ..verdict import Verdict
from .engine import describe, open_engine, translated
from .migrations import migrate
from .outcome import Outcome
from .schema import ATTESTATIONS

__all__ = ["OutcomeBuffer", "Recorder"]


class Recorder:
    """Record verification outcomes in the attestation history.

    ``Recorder(url)`` opens (and creates or migrates) the database: ``url`` is a
    SQLite file path, ``sqlite:///PATH``, ``postgresql+psycopg://USER@HOST/DB``,
    or None for the default (``$TDXVERIFY_HISTORY_URL``, else
    ``$XDG_STATE_HOME/tdxverify/history.sqlite3``). ``source`` names the writer
    in every row (``verify``, ``batch``, ``serve``, or your service's name).

    Each :meth:`record` call is one committed transaction: when it returns, the
    outcome is durable; if the process dies before, nothing of it is written.
    :meth:`record_many` commits a group at once (all or none). One recorder may
    be shared by threads; processes each open their own (never across fork).
    Every failure raises :class:`~tdxverify.history.HistoryError`.
    """

    def __init__(self, url: str | os.PathLike[str] | None = None, *, source: str = "library") -> None:
        from .location import resolve_url

        self.url: URL = resolve_url(url)
        self.source = source
        self._engine = open_engine(self.url, write=True)
        try:
            with translated(self.url, "opening and migrating the schema"):
                self.schema_version = migrate(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Recorder({describe(self.url)!r}, source={self.source!r})"

    def record(
        self,
        result: Verdict | VerificationError,
        *,
        worker: str | None = None,
        at: datetime | float | None = None,
        quote: Quote | None = None,
        raw_quote: bytes | None = None,
    ) -> int:
        """Record one outcome and commit it; returns its row id.

        ``result``: the :class:`~tdxverify.Verdict` or the
        :class:`~tdxverify.VerificationError` the verification raised.
        ``worker``: the worker's identity as your system knows it (name or key).
        ``at``: the verification time (aware datetime or unix seconds); default
        the verdict's ``verified_at`` (the ``now`` it was verified at), or the
        current time for an error. ``quote`` / ``raw_quote``: the parsed quote
        and its bytes, when you have them (a failure's TEE type and version, the
        quote's SHA-256).
        """
        outcome = Outcome.of(result, worker=worker, source=self.source, at=at, quote=quote, raw_quote=raw_quote)
        return self.record_many([outcome])[0]

    def record_many(self, outcomes: Iterable[Outcome]) -> list[int]:
        """Record prepared outcomes in one transaction (all or none); returns their row ids."""
        rows = [o.to_row() for o in outcomes]
        ids: list[int] = []
        if not rows:
            return ids
        with translated(self.url, "recording an outcome"), self._engine.begin() as conn:
            for row in rows:
                key = conn.execute(ATTESTATIONS.insert().values(**row)).inserted_primary_key
                assert key is not None
                ids.append(int(key[0]))
        return ids

    def buffered(self, size: int = 100, max_delay: float = 1.0) -> OutcomeBuffer:
        """A buffer that commits outcomes in groups: for streams (``batch``) where a commit per row costs too much."""
        return OutcomeBuffer(self.record_many, size=size, max_delay=max_delay)

    def background(self, *, max_queue: int = 10_000) -> BackgroundRecorder:
        """A thread committing queued outcomes: :meth:`BackgroundRecorder.submit` never waits on the database."""
        from .background import BackgroundRecorder

        return BackgroundRecorder(self.record_many, max_queue=max_queue)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class OutcomeBuffer:
    """Collects outcomes and commits them in groups of ``size``, or once the oldest waited ``max_delay`` seconds.

    A crash loses at most the group not yet committed; every group committed
    before is whole. Leaving the ``with`` block, normally or by an exception,
    commits what is pending. Not thread-safe: one buffer per producer.
    """

    def __init__(
        self,
        commit: Callable[[list[Outcome]], list[int]],
        *,
        size: int = 100,
        max_delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._commit = commit
        self.size = size
        self.max_delay = max_delay
        self._clock = clock
        self._pending: list[Outcome] = []
        self._since = 0.0
        self.committed = 0
        """Outcomes committed so far."""

    def add(self, outcome: Outcome) -> None:
        """Queue one outcome; commits the group when it is full or old enough."""
        if not self._pending:
            self._since = self._clock()
        self._pending.append(outcome)
        if len(self._pending) >= self.size or self._clock() - self._since >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        """Commit everything pending now (one transaction)."""
        if self._pending:
            group, self._pending = self._pending, []
            self._commit(group)
            self.committed += len(group)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def __enter__(self) -> OutcomeBuffer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()
