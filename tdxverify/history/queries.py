"""The read side: :class:`History` answers the register guide's roll-over questions.

Each answer is computed from the recorded outcomes in a time window
[now - since, now]. A worker's identity is the name (or key) it was recorded
with; an outcome recorded without one counts as a worker of its own, so an
anonymous attestation is never lost from a count (the removal gate fails
closed). Only verified measurements count: rows of quotes whose chain failed
have none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType, TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .engine import describe, open_engine, translated
from .migrations import check
from .outcome import Outcome
from .schema import ATTESTATIONS as A
from .window import Window

__all__ = ["History", "Rtmr3Seen", "Summary", "WorkerSeen", "WorkerStatus", "WorkersOn"]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Rtmr3Seen:
    """One RTMR3 value that attested in the window."""

    rtmr3: str
    workers: int
    attestations: int
    rejected: int
    """Attestations with this (verified) RTMR3 that a policy rejected."""
    first_at: datetime
    last_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "rtmr3": self.rtmr3,
            "workers": self.workers,
            "attestations": self.attestations,
            "rejected": self.rejected,
            "first_at": _iso(self.first_at),
            "last_at": _iso(self.last_at),
        }


@dataclass(frozen=True)
class WorkerSeen:
    """A worker's latest verified attestation in the window."""

    worker: str
    named: bool
    """False: recorded without a worker identity (``worker`` then describes the row)."""
    at: datetime
    ok: bool
    tcb_status: str | None
    error_code: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "named": self.named,
            "at": _iso(self.at),
            "ok": self.ok,
            "tcb_status": self.tcb_status,
            "error_code": self.error_code,
        }


@dataclass(frozen=True)
class WorkersOn:
    """Workers still on one RTMR3: their latest verified attestation in the window has it."""

    rtmr3: str
    window: Window
    workers: tuple[WorkerSeen, ...]
    moved_on: tuple[str, ...]
    """Named workers that attested with this RTMR3 in the window but were last seen on another."""

    @property
    def count(self) -> int:
        return len(self.workers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rtmr3": self.rtmr3,
            "window": self.window.to_dict(),
            "count": self.count,
            "workers": [w.to_dict() for w in self.workers],
            "moved_on": list(self.moved_on),
        }


@dataclass(frozen=True)
class Summary:
    """Counts over the window."""

    window: Window
    registered_workers: int
    """Workers with at least one successful attestation."""
    workers_seen: int
    attestations: int
    ok: int
    failed: int
    failures_by_code: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    rtmr3_values: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window.to_dict(),
            "registered_workers": self.registered_workers,
            "workers_seen": self.workers_seen,
            "attestations": self.attestations,
            "ok": self.ok,
            "failed": self.failed,
            "failures_by_code": dict(self.failures_by_code),
            "rtmr3_values": self.rtmr3_values,
        }


@dataclass(frozen=True)
class WorkerStatus:
    """What the history knows of one worker (up to ``now``)."""

    worker: str
    last: Outcome
    """Its latest outcome, whatever it was."""
    last_seen_rtmr3: str | None
    last_seen_rtmr3_at: datetime | None
    attestations: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "last_attestation_at": _iso(self.last.attested_at),
            "ok": self.last.ok,
            "tcb_status": self.last.tcb_status,
            "error_code": self.last.error_code,
            "last_seen_rtmr3": self.last_seen_rtmr3,
            "last_seen_rtmr3_at": _iso(self.last_seen_rtmr3_at),
            "attestations": self.attestations,
            "last": self.last.to_dict(),
        }


def _in(window: Window) -> sa.ColumnElement[bool]:
    return sa.and_(A.c.attested_at >= window.start, A.c.attested_at <= window.end)


def _failed() -> sa.ColumnElement[int]:
    return sa.case((A.c.ok == sa.false(), 1), else_=0)


def _distinct_workers(where: sa.ColumnElement[bool] | None = None) -> sa.ColumnElement[int]:
    """Distinct named workers plus one per anonymous row (optionally among rows matching ``where``)."""
    named = A.c.worker if where is None else sa.case((where, A.c.worker))
    anonymous = A.c.worker.is_(None) if where is None else sa.and_(A.c.worker.is_(None), where)
    return sa.func.count(sa.distinct(named)) + sa.func.coalesce(sa.func.sum(sa.case((anonymous, 1), else_=0)), 0)


def _anonymous_name(row_id: int, report_data: str | None) -> str:
    return f"(unnamed: row {row_id}, report data {(report_data or '')[:16]}...)"


class History:
    """Read the attestation history (never writes; a missing database is an error, not "none")."""

    def __init__(self, url: str | os.PathLike[str] | None = None) -> None:
        from .location import resolve_url

        self.url: URL = resolve_url(url)
        self._engine = open_engine(self.url, write=False)
        try:
            with translated(self.url, "opening the history"):
                check(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"History({describe(self.url)!r})"

    def rtmr3_values(self, window: Window) -> tuple[Rtmr3Seen, ...]:
        """Distinct verified RTMR3 values in the window, most recently seen first."""
        last = sa.func.max(A.c.attested_at)
        q = (
            sa.select(
                A.c.rtmr3,
                _distinct_workers().label("workers"),
                sa.func.count().label("attestations"),
                sa.func.sum(_failed()).label("rejected"),
                sa.func.min(A.c.attested_at).label("first_at"),
                last.label("last_at"),
            )
            .where(A.c.rtmr3.is_not(None), _in(window))
            .group_by(A.c.rtmr3)
            .order_by(last.desc(), A.c.rtmr3)
        )
        with translated(self.url, "reading RTMR3 values"), self._engine.connect() as conn:
            rows = conn.execute(q).all()
        return tuple(
            Rtmr3Seen(
                rtmr3=r.rtmr3,
                workers=int(r.workers),
                attestations=int(r.attestations),
                rejected=int(r.rejected or 0),
                first_at=r.first_at,
                last_at=r.last_at,
            )
            for r in rows
        )

    def workers_on(self, rtmr3: str, window: Window) -> WorkersOn:
        """Workers whose latest verified attestation in the window has ``rtmr3`` (lowercase hex)."""
        rtmr3 = rtmr3.lower()
        # Anonymous rows partition by their own id: each is a worker of its own.
        identity = (A.c.worker, sa.case((A.c.worker.is_(None), A.c.id)))
        rank = sa.func.row_number().over(partition_by=identity, order_by=(A.c.attested_at.desc(), A.c.id.desc()))
        ranked = (
            sa.select(
                A.c.id, A.c.worker, A.c.rtmr3, A.c.attested_at, A.c.ok, A.c.tcb_status, A.c.error_code, A.c.report_data
            )
            .add_columns(rank.label("rn"))
            .where(A.c.rtmr3.is_not(None), _in(window))
            .subquery()
        )
        latest = (
            sa.select(ranked)
            .where(ranked.c.rn == 1, ranked.c.rtmr3 == rtmr3)
            .order_by(ranked.c.attested_at.desc(), ranked.c.id.desc())
        )
        ever = sa.select(A.c.worker).distinct().where(A.c.rtmr3 == rtmr3, A.c.worker.is_not(None), _in(window))
        with translated(self.url, "reading workers"), self._engine.connect() as conn:
            rows = conn.execute(latest).all()
            seen = {r.worker for r in conn.execute(ever)}
        workers = tuple(
            WorkerSeen(
                worker=r.worker if r.worker is not None else _anonymous_name(r.id, r.report_data),
                named=r.worker is not None,
                at=r.attested_at,
                ok=bool(r.ok),
                tcb_status=r.tcb_status,
                error_code=r.error_code,
            )
            for r in rows
        )
        still = {w.worker for w in workers if w.named}
        return WorkersOn(rtmr3=rtmr3, window=window, workers=workers, moved_on=tuple(sorted(seen - still)))

    def summary(self, window: Window) -> Summary:
        """Registered workers, attestations and failures by code in the window."""
        totals = sa.select(
            sa.func.count().label("attestations"),
            sa.func.coalesce(sa.func.sum(_failed()), 0).label("failed"),
            _distinct_workers().label("seen"),
            _distinct_workers(A.c.ok == sa.true()).label("registered"),
            sa.func.count(sa.distinct(A.c.rtmr3)).label("rtmr3_values"),
        ).where(_in(window))
        by_code = (
            sa.select(A.c.error_code, sa.func.count().label("n"))
            .where(_in(window), A.c.ok == sa.false())
            .group_by(A.c.error_code)
            .order_by(sa.func.count().desc(), A.c.error_code)
        )
        with translated(self.url, "reading the summary"), self._engine.connect() as conn:
            t = conn.execute(totals).one()
            codes = {str(r.error_code): int(r.n) for r in conn.execute(by_code)}
        return Summary(
            window=window,
            registered_workers=int(t.registered),
            workers_seen=int(t.seen),
            attestations=int(t.attestations),
            ok=int(t.attestations) - int(t.failed),
            failed=int(t.failed),
            failures_by_code=MappingProxyType(codes),
            rtmr3_values=int(t.rtmr3_values),
        )

    def worker(self, name: str, now: datetime | None = None) -> WorkerStatus | None:
        """The latest outcome and last seen RTMR3 of one worker (None: never recorded)."""
        mine = A.c.worker == name
        if now is not None:
            mine = sa.and_(mine, A.c.attested_at <= now)
        newest = (A.c.attested_at.desc(), A.c.id.desc())
        with translated(self.url, "reading a worker"), self._engine.connect() as conn:
            last = conn.execute(sa.select(A).where(mine).order_by(*newest).limit(1)).mappings().first()
            if last is None:
                return None
            rtmr3 = conn.execute(
                sa.select(A.c.rtmr3, A.c.attested_at).where(mine, A.c.rtmr3.is_not(None)).order_by(*newest).limit(1)
            ).first()
            count = conn.execute(sa.select(sa.func.count()).where(mine)).scalar_one()
        return WorkerStatus(
            worker=name,
            last=Outcome.from_row(last),
            last_seen_rtmr3=rtmr3.rtmr3 if rtmr3 else None,
            last_seen_rtmr3_at=rtmr3.attested_at if rtmr3 else None,
            attestations=int(count),
        )

    def outcomes(self, window: Window, worker: str | None = None) -> tuple[Outcome, ...]:
        """Every outcome in the window (optionally one worker's), oldest first."""
        where = _in(window) if worker is None else sa.and_(_in(window), A.c.worker == worker)
        with translated(self.url, "reading outcomes"), self._engine.connect() as conn:
            rows = conn.execute(sa.select(A).where(where).order_by(A.c.attested_at, A.c.id)).mappings().all()
        return tuple(Outcome.from_row(r) for r in rows)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
