"""Schema creation and migration: a small versioned migration table.

``tdxverify_schema_version`` holds one row per applied migration. Writers run
:func:`migrate` when they open the database; it is safe for several processes
at once (PostgreSQL: a transaction-scoped advisory lock; SQLite: ``BEGIN
IMMEDIATE``) and all-or-nothing (both backends have transactional DDL).
Readers only :func:`check`: they never change a database.

Alembic was not worth its weight here: one table, forward-only migrations, and
no autogeneration wanted. Each migration's DDL is frozen in its function, so
changing :mod:`.schema` later means appending a migration, never editing one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .errors import HistoryError
from .schema import SCHEMA_VERSION, UtcDateTime

__all__ = ["MIGRATIONS", "Migration", "check", "latest_version", "migrate", "schema_version"]

# Any constant: serialises concurrent migrators on one PostgreSQL database.
_PG_LOCK_KEY = 0x7464787668697374  # "tdxvhist"


@dataclass(frozen=True)
class Migration:
    """One forward step of the schema."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "tdxverify_attestations",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("attested_at", UtcDateTime, nullable=False),
        sa.Column("worker", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error_code", sa.Text, nullable=True),
        sa.Column("error_step", sa.Text, nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("tee_type", sa.Text, nullable=True),
        sa.Column("quote_version", sa.Integer, nullable=True),
        sa.Column("quote_sha256", sa.String(64), nullable=True),
        sa.Column("tcb_status", sa.Text, nullable=True),
        sa.Column("advisory_ids", sa.Text, nullable=True),
        sa.Column("fmspc", sa.String(12), nullable=True),
        sa.Column("mr_td", sa.String(96), nullable=True),
        sa.Column("rtmr0", sa.String(96), nullable=True),
        sa.Column("rtmr1", sa.String(96), nullable=True),
        sa.Column("rtmr2", sa.String(96), nullable=True),
        sa.Column("rtmr3", sa.String(96), nullable=True),
        sa.Column("report_data", sa.String(128), nullable=True),
        sa.Column("tcb_evaluation_data_number", sa.Integer, nullable=True),
        sa.Index("tdxverify_attestations_at", "attested_at"),
        sa.Index("tdxverify_attestations_rtmr3_at", "rtmr3", "attested_at"),
        sa.Index("tdxverify_attestations_worker_at", "worker", "attested_at"),
    )
    md.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "verification outcomes (tdxverify_attestations)", _v1),)
"""Every migration, in version order: append, never edit."""


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return migrations[-1].version


def schema_version(conn: Connection) -> int:
    """The applied version: 0 for a database without the history schema."""
    if not sa.inspect(conn).has_table(SCHEMA_VERSION.name):
        return 0
    found = conn.execute(sa.select(sa.func.max(SCHEMA_VERSION.c.version))).scalar()
    if found is None:
        raise HistoryError(
            f"{SCHEMA_VERSION.name} exists but is empty: the history schema is damaged; restore it from a backup",
            code="history_schema_unsupported",
        )
    return int(found)


def _too_new(found: int, known: int) -> HistoryError:
    return HistoryError(
        f"the history database has schema version {found}, newer than this tdxverify knows ({known}): "
        "upgrade tdxverify to the version that wrote it",
        code="history_schema_unsupported",
    )


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS, *, now: datetime | None = None) -> int:
    """Create or upgrade the schema in one transaction; returns the version now in place."""
    known = latest_version(migrations)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        found = schema_version(conn)
        if found > known:
            raise _too_new(found, known)
        if found == 0:
            SCHEMA_VERSION.create(conn, checkfirst=True)
        for m in migrations:
            if m.version > found:
                m.apply(conn)
                conn.execute(
                    SCHEMA_VERSION.insert().values(
                        version=m.version,
                        description=m.description,
                        applied_at=now or datetime.now(timezone.utc),
                    )
                )
    return known


def check(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """For readers: the schema must exist and be the version this tdxverify reads."""
    known = latest_version(migrations)
    with engine.connect() as conn:
        found = schema_version(conn)
    if found == 0:
        raise HistoryError(
            "the database has no attestation history (no tdxverify tables): nothing was recorded there; "
            "check --db / $TDXVERIFY_HISTORY_URL",
            code="history_missing",
        )
    if found > known:
        raise _too_new(found, known)
    if found < known:
        raise HistoryError(
            f"the history database has schema version {found}; this tdxverify reads {known}: "
            "run `tdxverify history init --db URL` (or record once) to migrate it",
            code="history_schema_unsupported",
        )
    return found
