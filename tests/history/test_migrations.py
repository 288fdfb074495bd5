"""The schema is created and migrated by the library, forward only, and a reader never changes it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tdxverify.history import MIGRATIONS, History, HistoryError, Migration, Recorder, resolve_url
from tdxverify.history.engine import open_engine
from tdxverify.history.migrations import check, migrate, schema_version
from tdxverify.history.schema import ATTESTATIONS, SCHEMA_VERSION

from .fakes import OLD, FakeWorker

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _engine(url: str) -> sa.Engine:
    return open_engine(resolve_url(url), write=True)


def test_fresh_database_gets_the_current_schema(db_url: str) -> None:
    with Recorder(db_url) as rec:
        assert rec.schema_version == MIGRATIONS[-1].version == 1
    engine = _engine(db_url)
    try:
        insp = sa.inspect(engine)
        got = {c["name"]: c["nullable"] for c in insp.get_columns(ATTESTATIONS.name)}
        # The frozen v1 DDL and schema.ATTESTATIONS (what the code reads and writes) agree.
        assert got == {c.name: c.nullable for c in ATTESTATIONS.columns}
        assert {i["name"] for i in insp.get_indexes(ATTESTATIONS.name)} == {i.name for i in ATTESTATIONS.indexes}
        with engine.connect() as conn:
            rows = conn.execute(sa.select(SCHEMA_VERSION)).all()
        assert [r.version for r in rows] == [1]
    finally:
        engine.dispose()


def test_reopening_applies_nothing_twice(db_url: str) -> None:
    for _ in range(3):
        Recorder(db_url).close()
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(SCHEMA_VERSION)).scalar() == 1
    finally:
        engine.dispose()


def _add_note_column(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE tdxverify_attestations ADD COLUMN note TEXT"))


V2 = (*MIGRATIONS, Migration(2, "test: a note column", _add_note_column))


def test_upgrade_keeps_recorded_outcomes(db_url: str) -> None:
    with Recorder(db_url) as rec:
        rec.record(FakeWorker("a", OLD).attest(), worker="a", at=T0)
    engine = _engine(db_url)
    try:
        assert migrate(engine, V2, now=T0) == 2
        with engine.connect() as conn:
            assert schema_version(conn) == 2
            row = conn.execute(sa.text("SELECT worker, rtmr3, note FROM tdxverify_attestations")).one()
            assert tuple(row) == ("a", OLD.hex(), None)
            versions = conn.execute(sa.select(SCHEMA_VERSION.c.version, SCHEMA_VERSION.c.applied_at)).all()
        assert [v for v, _ in versions] == [1, 2] and versions[1][1] == T0
        assert check(engine, V2) == 2
        # This tdxverify (v1) refuses a database a newer one migrated: never guess at a newer schema.
        for make in (lambda: Recorder(db_url), lambda: History(db_url)):
            with pytest.raises(HistoryError) as info:
                make()
            assert info.value.code == "history_schema_unsupported"
            assert "newer" in info.value.message
    finally:
        engine.dispose()


def test_a_failed_migration_leaves_the_database_as_it_was(db_url: str) -> None:
    def broken(conn: Connection) -> None:
        conn.execute(sa.text("ALTER TABLE tdxverify_attestations ADD COLUMN half TEXT"))
        conn.execute(sa.text("SELECT * FROM no_such_table"))

    Recorder(db_url).close()
    engine = _engine(db_url)
    try:
        with pytest.raises(sa.exc.SQLAlchemyError):
            migrate(engine, (*MIGRATIONS, Migration(2, "broken", broken)))
        with engine.connect() as conn:
            assert schema_version(conn) == 1
        cols = {c["name"] for c in sa.inspect(engine).get_columns(ATTESTATIONS.name)}
        assert "half" not in cols  # transactional DDL: the half-done step is gone
    finally:
        engine.dispose()


def test_reader_on_an_older_schema_asks_for_a_migration(db_url: str) -> None:
    Recorder(db_url).close()
    engine = _engine(db_url)
    try:
        with pytest.raises(HistoryError) as info:
            check(engine, V2)
        assert info.value.code == "history_schema_unsupported" and "history init" in info.value.message
    finally:
        engine.dispose()


def test_damaged_version_table_is_refused(db_url: str) -> None:
    Recorder(db_url).close()
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(SCHEMA_VERSION.delete())
    finally:
        engine.dispose()
    with pytest.raises(HistoryError) as info:
        Recorder(db_url)
    assert info.value.code == "history_schema_unsupported" and "damaged" in info.value.message


def test_reader_never_creates_anything(db_url: str, tmp_path: Path) -> None:
    # A database that exists but holds no history: "missing", never an empty answer.
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE coordinator_stuff (x INTEGER)"))
    finally:
        engine.dispose()
    with pytest.raises(HistoryError) as info:
        History(db_url)
    assert info.value.code == "history_missing"
    engine = _engine(db_url)
    try:
        assert not sa.inspect(engine).has_table(ATTESTATIONS.name)
    finally:
        engine.dispose()
    missing = tmp_path / "nowhere" / "history.sqlite3"
    with pytest.raises(HistoryError) as info:
        History(missing)
    assert info.value.code == "history_missing"
    assert not missing.parent.exists()
