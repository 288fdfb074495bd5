"""The history package's one error type."""

from __future__ import annotations

from ..errors import VerificationError

__all__ = ["HistoryError"]


class HistoryError(VerificationError):
    """The attestation history could not be used: bad URL, missing, unreachable, or too new.

    Codes: ``history_url_invalid``, ``history_missing``, ``history_unavailable``,
    ``history_schema_unsupported`` (and ``input_invalid`` for a bad window or time).
    """

    default_code = "history_unavailable"
    default_step = "history"
