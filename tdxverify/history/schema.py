"""The tables (SQLAlchemy Core): one row per verification outcome.

Names carry a ``tdxverify_`` prefix so the history can share a database with a
coordinator's own tables. Hex columns are lowercase, as the register contract
stores approved measurements, so a ``psql`` user can compare them directly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["ATTESTATIONS", "METADATA", "SCHEMA_VERSION", "UtcDateTime"]


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time type, so values are
    stored as UTC text in one fixed format, which makes text comparison the same
    as time comparison.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("history times must be timezone-aware")
        utc = value.astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


METADATA = sa.MetaData()

SCHEMA_VERSION = sa.Table(
    "tdxverify_schema_version",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

ATTESTATIONS = sa.Table(
    "tdxverify_attestations",
    METADATA,
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
"""One verification outcome per row.

``ok`` false rows carry ``error_code``/``error_step``/``error_message``. The
measurement columns (``mr_td``, ``rtmr0``-``rtmr3``, ``report_data``, ``fmspc``,
``tcb_status``, ``advisory_ids``) are filled only when the quote itself
verified, i.e. for successes and for policy rejections; a quote whose chain
failed has no trustworthy measurements, so they stay NULL. ``advisory_ids`` is
the sorted IDs joined by commas (empty string: none).
"""
