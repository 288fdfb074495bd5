"""The typed result of a successful verification."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .eventlog.model import EventLog
from .quote import EnclaveReport, Quote, Report, TdReport10, TdReport15, report_fields

__all__ = ["CollateralFacts", "PolicyCheck", "PolicyResult", "Verdict", "failure_dict"]


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CollateralFacts:
    """What the verdict rests on, for freshness reporting."""

    tcb_info_issue_date: datetime
    tcb_info_next_update: datetime
    qe_identity_issue_date: datetime
    qe_identity_next_update: datetime
    tcb_evaluation_data_number: int
    expires_at: datetime
    """Earliest moment any piece of collateral (TCB info, QE identity, CRL, certificate) lapses."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tcb_info_issue_date": _iso(self.tcb_info_issue_date),
            "tcb_info_next_update": _iso(self.tcb_info_next_update),
            "qe_identity_issue_date": _iso(self.qe_identity_issue_date),
            "qe_identity_next_update": _iso(self.qe_identity_next_update),
            "tcb_evaluation_data_number": self.tcb_evaluation_data_number,
            "expires_at": _iso(self.expires_at),
        }


@dataclass(frozen=True)
class PolicyCheck:
    """One appraisal rule and its outcome."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class PolicyResult:
    """Every rule a policy applied, in order."""

    checks: tuple[PolicyCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[PolicyCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


@dataclass(frozen=True)
class Verdict:
    """A quote that verified: Intel's TCB rating and the measured identity.

    A ``Verdict`` only exists for a quote whose whole chain verified; failures
    raise :class:`~tdxverify.errors.VerificationError` instead. ``status`` may
    still be something other than ``UpToDate``: decide with a policy.
    """

    status: str
    advisory_ids: tuple[str, ...]
    platform_status: str
    qe_status: str
    module_status: str | None
    tee_type: str
    quote_version: int
    fmspc: str
    pce_id: str
    ppid: str
    report: Report
    tcb_date: datetime | None
    tcb_evaluation_data_number: int
    collateral_expires_at: datetime
    collateral: CollateralFacts
    verified_at: datetime
    quote: Quote = field(repr=False, compare=False)
    policy: PolicyResult | None = None
    event_log: EventLog | None = None
    """The event log given to verification, replayed to this quote's RTMR0-3 (its events and named values)."""

    @property
    def ok(self) -> bool:
        """True: a Verdict is only returned when verification (and any policy) passed."""
        return self.policy is None or self.policy.ok

    @property
    def up_to_date(self) -> bool:
        return self.status == "UpToDate"

    @property
    def report_data(self) -> bytes:
        return self.report.report_data

    def _td(self) -> TdReport10 | None:
        return self.report if isinstance(self.report, TdReport10) else None

    @property
    def mr_td(self) -> bytes | None:
        td = self._td()
        return td.mr_td if td else None

    @property
    def rtmr0(self) -> bytes | None:
        td = self._td()
        return td.rtmr0 if td else None

    @property
    def rtmr1(self) -> bytes | None:
        td = self._td()
        return td.rtmr1 if td else None

    @property
    def rtmr2(self) -> bytes | None:
        td = self._td()
        return td.rtmr2 if td else None

    @property
    def rtmr3(self) -> bytes | None:
        td = self._td()
        return td.rtmr3 if td else None

    @property
    def mr_enclave(self) -> bytes | None:
        return self.report.mr_enclave if isinstance(self.report, EnclaveReport) else None

    @property
    def mr_signer(self) -> bytes | None:
        return self.report.mr_signer if isinstance(self.report, EnclaveReport) else None

    def measurements(self) -> dict[str, str]:
        """The measurement fields as lowercase hex, by the CLI JSON's names."""
        fields = report_fields(self.report)
        fields.pop("report_data", None)
        if not isinstance(self.report, TdReport15):
            fields.pop("tee_tcb_svn2", None)
        return fields

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` object."""
        return {
            "ok": self.ok,
            "status": self.status,
            "advisory_ids": list(self.advisory_ids),
            "platform_status": self.platform_status,
            "qe_status": self.qe_status,
            "module_status": self.module_status,
            "tee_type": self.tee_type,
            "quote_version": self.quote_version,
            "fmspc": self.fmspc,
            "pce_id": self.pce_id,
            "ppid": self.ppid,
            "measurements": self.measurements(),
            "report_data": self.report_data.hex(),
            "tcb_date": _iso(self.tcb_date),
            "tcb_evaluation_data_number": self.tcb_evaluation_data_number,
            "collateral": self.collateral.to_dict(),
            "verified_at": _iso(self.verified_at),
            "policy": self.policy.to_dict() if self.policy else None,
            "event_log": self.event_log.to_dict() if self.event_log else None,
            "error": None,
        }


def failure_dict(
    error: dict[str, str], quote: Quote | None = None, *, verdict: Verdict | None = None
) -> dict[str, Any]:
    """The CLI's ``--json`` object for a failure.

    Measurements are shown only when the quote itself verified (a policy
    rejection), never for a quote whose signatures or collateral failed.
    """
    if verdict is not None:
        out = verdict.to_dict()
        out["ok"] = False
        out["error"] = error
        return out
    return {
        "ok": False,
        "status": None,
        "advisory_ids": [],
        "platform_status": None,
        "qe_status": None,
        "module_status": None,
        "tee_type": quote.tee if quote else None,
        "quote_version": quote.version if quote else None,
        "fmspc": None,
        "measurements": None,
        "report_data": None,
        "collateral": None,
        "policy": None,
        "event_log": None,
        "error": error,
    }
