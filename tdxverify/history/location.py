"""Where the history lives: the default SQLite file and URL normalisation.

Resolution order for the default: ``$TDXVERIFY_HISTORY_URL`` (any accepted URL or
path), else ``$XDG_STATE_HOME/tdxverify/history.sqlite3`` (``XDG_STATE_HOME``
defaulting to ``~/.local/state``, as the XDG base directory spec says for state
that should survive restarts but is not configuration).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import HistoryError

__all__ = ["ENV_VAR", "default_path", "default_url", "resolve_url"]

ENV_VAR = "TDXVERIFY_HISTORY_URL"
"""Environment variable that overrides the default history location."""

_POSTGRES_ALIASES = ("postgres", "postgresql", "postgresql+psycopg")


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """The default SQLite file (ignores ``$TDXVERIFY_HISTORY_URL``)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or ""
    # The spec says a relative XDG path is invalid and must be ignored.
    base = Path(state) if os.path.isabs(state) else Path(env.get("HOME") or Path.home()) / ".local" / "state"
    return base / "tdxverify" / "history.sqlite3"


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """The URL writers and readers use when none is given."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR) or f"sqlite:///{default_path(env)}"


def resolve_url(url: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> URL:
    """A database URL from a URL, a plain file path (SQLite) or None (the default).

    ``postgres://`` and ``postgresql://`` mean psycopg 3 (the only PostgreSQL
    driver the ``history`` extra installs). Anything else but SQLite is refused.
    """
    text = default_url(environ) if url is None else os.fspath(url)
    if not text.strip():
        raise HistoryError("the history database URL is empty", code="history_url_invalid")
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().absolute()))
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise HistoryError(f"cannot parse history database URL: {exc}", code="history_url_invalid") from None
    if parsed.drivername in _POSTGRES_ALIASES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise HistoryError(
                "an in-memory SQLite history would vanish with the process: give a file (sqlite:///PATH)",
                code="history_url_invalid",
            )
        return parsed.set(drivername="sqlite", database=str(Path(parsed.database).expanduser().absolute()))
    raise HistoryError(
        f"unsupported history database {parsed.drivername!r}: use a SQLite file (PATH or sqlite:///PATH) "
        "or PostgreSQL (postgresql+psycopg://USER@HOST/DB)",
        code="history_url_invalid",
    )
