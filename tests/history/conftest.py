"""Fixtures for the history tests: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL is a throwaway cluster this suite starts (``tdxverify.testing.postgres``),
or the server in ``$TDXVERIFY_TEST_POSTGRES_URL`` (its role needs CREATE on that
database: each test gets a fresh schema, its search path). When no server can be started, the PostgreSQL half
is skipped with the reason, a warning, and a banner at the end of the run; with
``TDXVERIFY_REQUIRE_POSTGRES=1`` (CI) it fails instead.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tdxverify.testing.postgres import PostgresUnavailable, TempPostgres, create_schema

PG_URL_ENV = "TDXVERIFY_TEST_POSTGRES_URL"
REQUIRE_ENV = "TDXVERIFY_REQUIRE_POSTGRES"
_NOT_TESTED: list[str] = []


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server for the whole session."""
    given = os.environ.get(PG_URL_ENV)
    if given:
        yield given
        return
    try:
        pg = TempPostgres().start()
    except PostgresUnavailable as exc:
        reason = f"PostgreSQL half of the history tests NOT RUN: {exc}"
        _NOT_TESTED.append(reason)
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set)", pytrace=False)
        warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
        pytest.skip(reason)
    try:
        yield pg.url
    finally:
        pg.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason in dict.fromkeys(_NOT_TESTED):
        terminalreporter.section("PostgreSQL NOT TESTED", sep="!", red=True, bold=True)
        terminalreporter.write_line(reason, red=True, bold=True)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    admin: str = request.getfixturevalue("postgres_admin_url")
    return create_schema(admin)
