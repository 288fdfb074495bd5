"""Appraisal: is a verified quote good enough for *me*?

:func:`tdxverify.verify` answers "is this a genuine quote from a TCB Intel
rates X?". A :class:`Policy` then answers the operator's question: which TCB
statuses and advisories are acceptable, which measurements are approved, what
the report data must bind, how old collateral may be. Every rule is reported
in the verdict (``verdict.policy``), passed or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import PolicyError
from .strictjson import JsonProblem, loads_strict
from .tcb import RESULT_STATUSES
from .verdict import PolicyCheck, PolicyResult, Verdict

__all__ = ["MEASUREMENT_NAMES", "Policy", "load_policy"]

# Names usable in Policy.measurements (the CLI JSON's measurement keys).
MEASUREMENT_NAMES = frozenset(
    {
        "mr_td",
        "rtmr0",
        "rtmr1",
        "rtmr2",
        "rtmr3",
        "mr_seam",
        "mr_signer_seam",
        "mr_config_id",
        "mr_owner",
        "mr_owner_config",
        "mr_service_td",
        "td_attributes",
        "xfam",
        "mr_enclave",
        "mr_signer",
    }
)

# Every status a verdict can carry (Revoked never reaches appraisal: it fails verification).
_STATUSES = RESULT_STATUSES - {"Revoked"}


def _invalid(msg: str) -> PolicyError:
    return PolicyError(f"policy: {msg}", code="policy_invalid", step="policy")


@dataclass(frozen=True)
class Policy:
    """Appraisal rules applied after cryptographic verification.

    Empty / ``None`` rules do not constrain. The defaults accept only
    ``UpToDate`` and reject debug TDs and TDs with a bound service TD.
    """

    accepted_statuses: frozenset[str] = frozenset({"UpToDate"})
    accepted_advisory_ids: frozenset[str] | None = None
    """When set, every advisory ID in the verdict must be listed here."""
    allow_debug: bool = False
    allow_service_td: bool = False
    """Accept a non-zero MRSERVICETD (TD 1.5): a service TD can then act on this TD."""
    require_sept_ve_disable: bool = False
    measurements: Mapping[str, frozenset[bytes]] = field(default_factory=dict)
    """Approved values per measurement name (e.g. ``{"rtmr3": {...}}``): the quote's must be one."""
    report_data: bytes | None = None
    """The exact 64 bytes of report data, or a prefix of them (e.g. a 32-byte key hash)."""
    min_tcb_evaluation_data_number: int | None = None
    max_collateral_age_seconds: int | None = None
    """Reject collateral whose TCB info was issued longer ago than this."""

    def __post_init__(self) -> None:
        unknown = set(self.accepted_statuses) - _STATUSES
        if unknown:
            raise _invalid(f"unknown TCB status(es) {sorted(unknown)}; known: {sorted(_STATUSES)}")
        if not self.accepted_statuses:
            raise _invalid("accepted_statuses is empty: no quote could ever pass")
        bad = set(self.measurements) - MEASUREMENT_NAMES
        if bad:
            raise _invalid(f"unknown measurement name(s) {sorted(bad)}; known: {sorted(MEASUREMENT_NAMES)}")
        for name, values in self.measurements.items():
            if not values:
                raise _invalid(f"measurement {name!r} has an empty approved list: nothing could pass")
        if self.report_data is not None and not 0 < len(self.report_data) <= 64:
            raise _invalid("report_data must be 1 to 64 bytes")

    def evaluate(self, verdict: Verdict, now: datetime) -> PolicyResult:
        """Apply every rule to a verdict; never raises for a failed rule."""
        checks = [self._status(verdict)]
        if self.accepted_advisory_ids is not None:
            extra = sorted(set(verdict.advisory_ids) - self.accepted_advisory_ids)
            checks.append(
                PolicyCheck(
                    "advisory_ids",
                    not extra,
                    f"not accepted: {', '.join(extra)}" if extra else "all advisories accepted",
                )
            )
        measured = verdict.measurements()
        for name in sorted(self.measurements):
            approved = self.measurements[name]
            value = measured.get(name)
            ok = value is not None and bytes.fromhex(value) in approved
            shown = value if value is not None else f"absent from a {verdict.tee_type} quote"
            checks.append(
                PolicyCheck(
                    f"measurement:{name}",
                    ok,
                    f"{name} {shown} is approved" if ok else f"{name} {shown} is not on the approved list",
                )
            )
        if self.require_sept_ve_disable:
            attrs = measured.get("td_attributes")
            on = attrs is not None and bool(bytes.fromhex(attrs)[3] & 0x10)
            checks.append(PolicyCheck("sept_ve_disable", on, "SEPT_VE_DISABLE is " + ("set" if on else "not set")))
        if self.report_data is not None:
            rd = verdict.report_data
            ok = rd.startswith(self.report_data)
            checks.append(
                PolicyCheck(
                    "report_data",
                    ok,
                    "report data binds the expected value"
                    if ok
                    else f"report data {rd[: len(self.report_data)].hex()} != expected {self.report_data.hex()}",
                )
            )
        if self.min_tcb_evaluation_data_number is not None:
            n = verdict.tcb_evaluation_data_number
            ok = n >= self.min_tcb_evaluation_data_number
            checks.append(
                PolicyCheck(
                    "tcb_evaluation_data_number",
                    ok,
                    f"{n} >= {self.min_tcb_evaluation_data_number}"
                    if ok
                    else f"{n} < {self.min_tcb_evaluation_data_number}: refresh collateral from Intel PCS",
                )
            )
        if self.max_collateral_age_seconds is not None:
            age = int((now - verdict.collateral.tcb_info_issue_date).total_seconds())
            ok = age <= self.max_collateral_age_seconds
            checks.append(
                PolicyCheck(
                    "collateral_age",
                    ok,
                    f"TCB info is {age}s old (limit {self.max_collateral_age_seconds}s)"
                    + ("" if ok else ": refresh collateral"),
                )
            )
        return PolicyResult(tuple(checks))

    def _status(self, verdict: Verdict) -> PolicyCheck:
        ok = verdict.status in self.accepted_statuses
        detail = f"TCB status {verdict.status} is " + ("accepted" if ok else "not accepted")
        if not ok and verdict.advisory_ids:
            detail += f" (advisories: {', '.join(verdict.advisory_ids)})"
        return PolicyCheck("status", ok, detail)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build from JSON-like data (hex strings for bytes). Unknown keys are errors."""
        if not isinstance(data, Mapping):
            raise _invalid("a policy must be a JSON object")
        known = {
            "accepted_statuses",
            "accepted_advisory_ids",
            "allow_debug",
            "allow_service_td",
            "require_sept_ve_disable",
            "measurements",
            "report_data",
            "min_tcb_evaluation_data_number",
            "max_collateral_age_seconds",
        }
        unknown = set(data) - known
        if unknown:
            # A misspelt rule must not silently stop constraining anything.
            raise _invalid(f"unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        if "accepted_statuses" in data:
            kwargs["accepted_statuses"] = frozenset(_strings(data["accepted_statuses"], "accepted_statuses"))
        if "accepted_advisory_ids" in data and data["accepted_advisory_ids"] is not None:
            ids = _strings(data["accepted_advisory_ids"], "accepted_advisory_ids")
            kwargs["accepted_advisory_ids"] = frozenset(ids)
        for flag in ("allow_debug", "allow_service_td", "require_sept_ve_disable"):
            if flag in data:
                if not isinstance(data[flag], bool):
                    raise _invalid(f"{flag} must be true or false")
                kwargs[flag] = data[flag]
        if "measurements" in data:
            m = data["measurements"]
            if not isinstance(m, Mapping):
                raise _invalid("measurements must be an object of name -> list of hex values")
            kwargs["measurements"] = {
                str(k): frozenset(_hex(v, f"measurements.{k}[{i}]") for i, v in enumerate(_strings(vs, k)))
                for k, vs in m.items()
            }
        if data.get("report_data") is not None:
            kwargs["report_data"] = _hex(data["report_data"], "report_data")
        for num in ("min_tcb_evaluation_data_number", "max_collateral_age_seconds"):
            if data.get(num) is not None:
                v = data[num]
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise _invalid(f"{num} must be a non-negative integer")
                kwargs[num] = v
        return cls(**kwargs)


def _strings(value: Any, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _invalid(f"{name} must be a list of strings")
    out = list(value)
    if not all(isinstance(v, str) for v in out):
        raise _invalid(f"{name} must be a list of strings")
    return out


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a hex string")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise _invalid(f"{name} is not valid hex") from None


def load_policy(src: str | os.PathLike[str] | Mapping[str, Any]) -> Policy:
    """Load a policy from a JSON file path, JSON text, or a mapping."""
    if isinstance(src, Mapping):
        return Policy.from_mapping(src)
    text: str
    if isinstance(src, str) and src.lstrip().startswith("{"):
        text = src
    else:
        try:
            with open(src, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {os.fspath(src)!r}: {exc}", code="input_invalid") from None
    try:
        data = loads_strict(text)
    except JsonProblem as exc:
        raise _invalid(f"the policy file {exc}") from None
    return Policy.from_mapping(data)
