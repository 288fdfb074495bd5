"""Opening the database: one SQLAlchemy engine per recorder or reader.

SQLite gets what several writer processes need: WAL (readers never block
writers), ``synchronous=FULL`` (a committed outcome survives a crash or power
loss), a 30 s busy timeout, and ``BEGIN IMMEDIATE`` for writers so a
transaction takes the write lock before it reads (deferred transactions can
fail with "database is locked" instead of waiting). Readers open the file
``mode=rw`` so a mistyped path is an error, never a fresh empty history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from .errors import HistoryError

__all__ = ["BUSY_TIMEOUT_S", "describe", "dialect_name", "open_engine", "translated", "unavailable"]

BUSY_TIMEOUT_S = 30
"""How long a SQLite writer waits for another writer's lock (and a PostgreSQL connect may take)."""


def describe(url: URL) -> str:
    """The URL for messages: never the password."""
    return url.render_as_string(hide_password=True)


def unavailable(url: URL, exc: BaseException, doing: str) -> HistoryError:
    """A driver error as a :class:`HistoryError` naming the database and what failed."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return HistoryError(f"history database {describe(url)}: {doing} failed: {first}", code="history_unavailable")


def open_engine(url: URL, *, write: bool) -> Engine:
    """An engine for ``url``; readers of a SQLite file require the file to exist."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, write=write)
    try:
        return sa.create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": BUSY_TIMEOUT_S, "application_name": "tdxverify"}
        )
    except ImportError as exc:
        raise HistoryError(
            f"PostgreSQL needs psycopg 3: install the 'history' extra (pip install 'tdxverify[history]'): {exc}",
            code="history_unavailable",
        ) from None


def _sqlite_engine(url: URL, *, write: bool) -> Engine:
    assert url.database is not None
    path = Path(url.database)
    if write:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"cannot create the directory for the history file {path}: {exc.strerror or exc}",
                code="history_unavailable",
            ) from None
    elif not path.is_file():
        raise HistoryError(
            f"no attestation history at {path}: nothing was recorded there (check --db / $TDXVERIFY_HISTORY_URL)",
            code="history_missing",
        )
    mode = "rwc" if write else "rw"

    def connect() -> sqlite3.Connection:
        uri = f"{path.resolve().as_uri()}?mode={mode}"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        # Transactions are ours (the "begin" hook below), not the sqlite3 module's implicit ones.
        conn.isolation_level = None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        if write:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    # The real URL (a file) makes SQLAlchemy pick a QueuePool; ``creator`` makes the connection.
    engine = sa.create_engine(url, creator=connect)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextmanager
def translated(url: URL, doing: str) -> Iterator[None]:
    """Turn driver failures inside the block into :class:`HistoryError`."""
    try:
        yield
    except HistoryError:
        raise
    except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as exc:
        raise unavailable(url, exc, doing) from None


def dialect_name(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    name: str = engine.dialect.name
    return name
