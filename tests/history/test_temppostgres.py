"""The throwaway PostgreSQL helper: says why it cannot start, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tdxverify.testing.postgres import PostgresUnavailable, TempPostgres, create_schema, find_bindir


def test_missing_binaries_are_a_clear_reason(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match="no PostgreSQL server binaries"):
        TempPostgres(bindir=tmp_path).start()


def test_failed_initdb_says_why_and_cleans_up(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "initdb").write_text("#!/bin/sh\necho 'initdb: cannot be run as root' >&2\nexit 1\n")
    (fake / "initdb").chmod(0o755)
    pg = TempPostgres(bindir=fake)
    with pytest.raises(PostgresUnavailable, match="initdb exited 1: "):
        pg.start()
    assert pg.dir is None


@pytest.mark.postgres
def test_cluster_runs_and_is_removed(postgres_admin_url: str) -> None:
    if find_bindir() is None:
        pytest.skip("no PostgreSQL binaries: the suite uses TDXVERIFY_TEST_POSTGRES_URL")
    with TempPostgres() as pg:
        directory = pg.dir
        assert directory is not None and directory.is_dir()
        url = create_schema(pg.url)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert (
                    conn.exec_driver_sql("SELECT current_schema()").scalar()
                    == sa.make_url(url).query["options"].split("=")[1]
                )
                assert conn.exec_driver_sql("SHOW listen_addresses").scalar() == "127.0.0.1"
        finally:
            engine.dispose()
    assert not directory.exists()
    pg.stop()  # idempotent
