"""Where the history lives by default, and which URLs are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tdxverify.history import ENV_VAR, HistoryError, Recorder, default_path, default_url, resolve_url


def test_default_path_follows_xdg_state_home() -> None:
    assert default_path({"XDG_STATE_HOME": "/var/state", "HOME": "/home/u"}) == Path(
        "/var/state/tdxverify/history.sqlite3"
    )
    # Unset, empty or relative XDG_STATE_HOME: the spec's fallback ~/.local/state.
    for env in (
        {"HOME": "/home/u"},
        {"XDG_STATE_HOME": "", "HOME": "/home/u"},
        {"XDG_STATE_HOME": "rel", "HOME": "/home/u"},
    ):
        assert default_path(env) == Path("/home/u/.local/state/tdxverify/history.sqlite3")


def test_env_var_overrides_the_default() -> None:
    env = {ENV_VAR: "postgresql://u@db/h", "HOME": "/home/u"}
    assert default_url(env) == "postgresql://u@db/h"
    assert resolve_url(None, env).drivername == "postgresql+psycopg"
    assert default_url({"HOME": "/home/u"}) == "sqlite:////home/u/.local/state/tdxverify/history.sqlite3"


@pytest.mark.parametrize(
    ("given", "driver", "database"),
    [
        ("/tmp/h.db", "sqlite", "/tmp/h.db"),
        ("sqlite:////tmp/h.db", "sqlite", "/tmp/h.db"),
        ("sqlite+pysqlite:////tmp/h.db", "sqlite", "/tmp/h.db"),
        ("postgres://u:p@host:5433/db", "postgresql+psycopg", "db"),
        ("postgresql://u@host/db", "postgresql+psycopg", "db"),
        ("postgresql+psycopg://u@host/db", "postgresql+psycopg", "db"),
    ],
)
def test_accepted_urls(given: str, driver: str, database: str) -> None:
    url = resolve_url(given)
    assert (url.drivername, url.database) == (driver, database)


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_url("h.db").database == str(tmp_path / "h.db")


@pytest.mark.parametrize(
    "given", ["", "  ", "mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "oracle://x", "::://"]
)
def test_refused_urls(given: str) -> None:
    with pytest.raises(HistoryError) as info:
        resolve_url(given)
    assert info.value.code == "history_url_invalid"


def test_default_location_is_created_by_a_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with Recorder() as rec:
        assert rec.url.database == str(tmp_path / "state" / "tdxverify" / "history.sqlite3")
    assert (tmp_path / "state" / "tdxverify" / "history.sqlite3").is_file()
