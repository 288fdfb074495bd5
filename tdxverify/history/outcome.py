"""One verification outcome, as recorded: built from a Verdict or a VerificationError."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import PolicyError, VerificationError
from ..quote import Quote
from ..verdict import Verdict
from .errors import HistoryError

__all__ = ["Outcome", "as_time"]


def as_time(at: datetime | float | None, what: str = "time") -> datetime:
    """An aware UTC datetime from a datetime, unix seconds or None (the current time)."""
    if at is None:
        return datetime.now(timezone.utc)
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise HistoryError(
                f"the {what} {at.isoformat()} has no timezone: pass an aware datetime", code="input_invalid"
            )
        return at.astimezone(timezone.utc)
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        raise HistoryError(
            f"the {what} must be a datetime or unix seconds, not {type(at).__name__}", code="input_invalid"
        )
    try:
        return datetime.fromtimestamp(at, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise HistoryError(f"the {what} {at!r} is not a usable unix time", code="input_invalid") from None


def _hex(b: bytes | None) -> str | None:
    return None if b is None else b.hex()


def _worker(worker: str | None) -> str | None:
    if worker is None:
        return None
    if not isinstance(worker, str) or not worker.strip():
        raise HistoryError("the worker identity must be a non-empty string (a name or a key)", code="input_invalid")
    if "\x00" in worker:
        # PostgreSQL text cannot hold NUL; refusing it everywhere keeps both backends alike.
        raise HistoryError("the worker identity contains a NUL character", code="input_invalid")
    return worker


@dataclass(frozen=True)
class Outcome:
    """A row of ``tdxverify_attestations``.

    Measurements are present only when the quote itself verified (``ok``, or a
    policy rejection): a quote whose chain failed proves nothing about them.
    """

    attested_at: datetime
    ok: bool
    source: str = "library"
    worker: str | None = None
    error_code: str | None = None
    error_step: str | None = None
    error_message: str | None = None
    tee_type: str | None = None
    quote_version: int | None = None
    quote_sha256: str | None = None
    tcb_status: str | None = None
    advisory_ids: tuple[str, ...] | None = None
    fmspc: str | None = None
    mr_td: str | None = None
    rtmr0: str | None = None
    rtmr1: str | None = None
    rtmr2: str | None = None
    rtmr3: str | None = None
    report_data: str | None = None
    tcb_evaluation_data_number: int | None = None

    @classmethod
    def of(
        cls,
        result: Verdict | VerificationError,
        *,
        worker: str | None = None,
        source: str = "library",
        at: datetime | float | None = None,
        quote: Quote | None = None,
        raw_quote: bytes | None = None,
    ) -> Outcome:
        """The outcome of one verification.

        ``result``: the :class:`~tdxverify.Verdict`, or the error it raised (a
        :class:`~tdxverify.PolicyError` carries its verified verdict, whose
        measurements are kept). ``at``: when it was verified; default the
        verdict's ``verified_at``, or the current time for an error.
        ``quote``: the parsed quote, if any (TEE type and version of a failure).
        ``raw_quote``: the quote's bytes, recorded as their SHA-256.
        """
        digest = hashlib.sha256(raw_quote).hexdigest() if raw_quote is not None else None
        common: dict[str, Any] = {"worker": _worker(worker), "source": source, "quote_sha256": digest}
        if isinstance(result, Verdict):
            return cls._verified(result, ok=result.ok, at=at, **common)
        if not isinstance(result, VerificationError):
            raise HistoryError(
                f"record() takes a Verdict or a VerificationError, not {type(result).__name__}", code="input_invalid"
            )
        errors: dict[str, Any] = {"error_code": result.code, "error_step": result.step, "error_message": result.message}
        verdict = result.verdict if isinstance(result, PolicyError) else None
        if isinstance(verdict, Verdict):
            return cls._verified(verdict, ok=False, at=at, **common, **errors)
        return cls(
            attested_at=as_time(at),
            ok=False,
            tee_type=quote.tee if quote is not None else None,
            quote_version=quote.version if quote is not None else None,
            **common,
            **errors,
        )

    @classmethod
    def _verified(cls, v: Verdict, *, ok: bool, at: datetime | float | None, **extra: Any) -> Outcome:
        return cls(
            attested_at=as_time(at if at is not None else v.verified_at),
            ok=ok,
            tee_type=v.tee_type,
            quote_version=v.quote_version,
            tcb_status=v.status,
            advisory_ids=tuple(sorted(v.advisory_ids)),
            fmspc=v.fmspc,
            mr_td=_hex(v.mr_td),
            rtmr0=_hex(v.rtmr0),
            rtmr1=_hex(v.rtmr1),
            rtmr2=_hex(v.rtmr2),
            rtmr3=_hex(v.rtmr3),
            report_data=v.report_data.hex(),
            tcb_evaluation_data_number=v.tcb_evaluation_data_number,
            **extra,
        )

    def to_row(self) -> dict[str, Any]:
        """Column values for ``tdxverify_attestations``."""
        row = asdict(self)
        row["advisory_ids"] = None if self.advisory_ids is None else ",".join(self.advisory_ids)
        return row

    @classmethod
    def from_row(cls, row: Any) -> Outcome:
        """An outcome read back from the table (a SQLAlchemy row mapping)."""
        values = {k: row[k] for k in cls.__dataclass_fields__}
        ids = values["advisory_ids"]
        values["advisory_ids"] = None if ids is None else tuple(i for i in ids.split(",") if i)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO-8601 UTC, advisories as a list."""
        out = asdict(self)
        out["attested_at"] = self.attested_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out["advisory_ids"] = None if self.advisory_ids is None else list(self.advisory_ids)
        return out
