"""The write side: :class:`Recorder`, the hook services call after each verification."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType

from sqlalchemy.engine import URL

from ..errors import VerificationError
from ..quote import Quote
from ..verdict import Verdict
from .engine import describe, open_engine, translated
from .migrations import migrate
from .outcome import Outcome
from .schema import ATTESTATIONS

__all__ = ["Recorder"]


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
        with translated(self.url, "opening and migrating the schema"):
            self.schema_version = migrate(self._engine)

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

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
