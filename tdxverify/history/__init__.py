"""Attestation history: every verification outcome in a relational database.

Write with :class:`Recorder` (``tdxverify verify --record``, ``batch``,
``serve`` and your own services), read with :class:`History` (``tdxverify
history ...``). SQLite file by default, PostgreSQL by URL; needs the
``history`` extra (``pip install 'tdxverify[history]'``). See docs/history.md.
"""

try:
    import sqlalchemy as _sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tdxverify.history needs SQLAlchemy: install the 'history' extra (pip install 'tdxverify[history]')"
    ) from exc

from .background import BackgroundRecorder
from .errors import HistoryError
from .location import ENV_VAR, default_path, default_url, resolve_url
from .migrations import MIGRATIONS, Migration
from .outcome import Outcome
from .queries import History, Rtmr3Seen, Summary, WorkerSeen, WorkersOn, WorkerStatus
from .recorder import OutcomeBuffer, Recorder
from .window import Window, parse_since

__all__ = [
    "ENV_VAR",
    "MIGRATIONS",
    "BackgroundRecorder",
    "History",
    "HistoryError",
    "Migration",
    "Outcome",
    "OutcomeBuffer",
    "Recorder",
    "Rtmr3Seen",
    "Summary",
    "Window",
    "WorkerSeen",
    "WorkerStatus",
    "WorkersOn",
    "default_path",
    "default_url",
    "parse_since",
    "resolve_url",
]
