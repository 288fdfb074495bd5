"""The verify command's appraisal flags: a policy composed from flags (with or without ``--policy``) and
``--event-log``.

How flags combine with ``--policy FILE``: each flag is one more rule, and
flags only ever tighten the file. A rule the file does not set is set by the
flag; a rule both set must hold for both: ``--rtmr3`` / ``--status`` keep only
the values both list, ``--no-advisories`` accepts none, ``--report-data`` must
agree with the file's (the longer prefix wins), ``--public-key`` must equal the
file's. When the result could never pass (no common RTMR3, no common status,
different keys) the command is refused as a contradiction (exit 2), naming
both sides.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from ..binding import parse_public_key
from ..errors import PolicyError
from ..eventlog import FORMATS, MAX_EVENT_LOG_SIZE, EventLog, parse_event_log
from ..policy import Policy, policy_mapping
from ..tcb import RESULT_STATUSES
from .common import UsageError

__all__ = ["add_appraisal_flags", "event_log_from_args", "policy_from_args"]


def add_appraisal_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--rtmr3``, ``--status``, ``--no-advisories``, ``--report-data``, ``--public-key``, ``--event-log``."""
    g = parser.add_argument_group("policy from flags (each adds a rule; with --policy, both must hold)")
    g.add_argument("--rtmr3", action="append", metavar="HEX", help="an approved RTMR3 (repeatable)")
    g.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="an accepted TCB status, e.g. UpToDate (repeatable; default with any policy: UpToDate)",
    )
    g.add_argument("--no-advisories", action="store_true", help="reject a quote with any security advisory")
    g.add_argument("--report-data", metavar="HEX", help="report data must start with these bytes")
    g.add_argument(
        "--public-key",
        metavar="KEY",
        help="ed25519:<base58> or 64 hex digits: report data must start with the raw key, the rest zero",
    )
    e = parser.add_argument_group("event log")
    e.add_argument("--event-log", metavar="FILE", help="the TD's event log (dstack JSON or CCEL binary) to replay")
    e.add_argument("--event-log-format", choices=FORMATS, help="the event log's format (default: detected)")


def _hex_flag(flag: str, text: str, size: int | None = None) -> bytes:
    t = text.strip()
    try:
        raw = bytes.fromhex(t[2:] if t[:2] in ("0x", "0X") else t)
    except ValueError:
        raise UsageError(f"{flag} {text[:100]!r}: not hex") from None
    if size is not None and len(raw) != size:
        raise UsageError(f"{flag}: {len(raw)} bytes given, {size} expected ({2 * size} hex digits)")
    if not raw or len(raw) > 64:
        raise UsageError(f"{flag}: give 1 to 64 bytes")
    return raw


def _flag_policy(args: argparse.Namespace) -> dict[str, Any]:
    """The rules the flags ask for, as Policy keyword arguments."""
    out: dict[str, Any] = {}
    if args.rtmr3:
        out["measurements"] = {"rtmr3": frozenset(_hex_flag("--rtmr3", h, 48) for h in args.rtmr3)}
    if args.status:
        known = RESULT_STATUSES - {"Revoked"}
        bad = sorted(set(args.status) - known)
        if bad:
            raise UsageError(f"--status {', '.join(bad)}: not a TCB status; known: {', '.join(sorted(known))}")
        out["accepted_statuses"] = frozenset(args.status)
    if args.no_advisories:
        out["accepted_advisory_ids"] = frozenset()
    if args.report_data is not None:
        out["report_data"] = _hex_flag("--report-data", args.report_data)
    if args.public_key is not None:
        try:
            out["public_key"] = parse_public_key(args.public_key, "--public-key")
        except PolicyError as err:
            raise UsageError(err.message.removeprefix("policy: ")) from None
    return out


def _contradiction(flag: str, detail: str) -> UsageError:
    return UsageError(f"{flag} contradicts --policy: {detail}; no quote could satisfy both")


def _combine(base: Policy, file_keys: set[str], flags: dict[str, Any]) -> Policy:
    merged: dict[str, Any] = {}
    for key, value in flags.items():
        if key == "measurements":
            have = base.measurements.get("rtmr3") if "measurements" in file_keys else None
            common = value["rtmr3"] if have is None else value["rtmr3"] & have
            if not common:
                raise _contradiction("--rtmr3", "the file approves other RTMR3 values")
            merged["measurements"] = {**base.measurements, "rtmr3": common}
        elif key == "accepted_statuses":
            common = value if key not in file_keys else value & base.accepted_statuses
            if not common:
                shown = ", ".join(sorted(base.accepted_statuses))
                raise _contradiction("--status", f"the file accepts only {shown}")
            merged[key] = common
        elif key == "report_data" and base.report_data is not None:
            short, long_ = sorted((value, base.report_data), key=len)
            if not long_.startswith(short):
                raise _contradiction("--report-data", f"the file expects report data {base.report_data.hex()}")
            merged[key] = long_
        elif key == "public_key" and (base.public_key is not None or base.key_hash is not None):
            if base.public_key != value:
                raise _contradiction("--public-key", "the file binds another key (public_key / key_hash)")
        else:
            merged[key] = value
    try:
        return replace(base, **merged)
    except PolicyError as err:  # e.g. --report-data against the file's key
        raise UsageError(f"the flags and --policy together are not a valid policy: {err.message}") from None


def policy_from_args(args: argparse.Namespace, policy_text: str | None) -> Policy | None:
    """The policy to apply: the file's (if any) tightened by the flags; ``None`` when neither is given.

    A malformed file raises its coded :class:`PolicyError` (exit 1); a malformed or
    contradicting flag a :class:`UsageError` (exit 2).
    """
    flags = _flag_policy(args)
    if policy_text is None:
        if not flags:
            return None
        try:
            return Policy(**flags)
        except PolicyError as err:
            raise UsageError(f"the policy flags are not a valid policy: {err.message}") from None
    mapping = policy_mapping(policy_text)
    base = Policy.from_mapping(mapping)
    return _combine(base, set(mapping), flags) if flags else base


def event_log_from_args(args: argparse.Namespace) -> EventLog | None:
    """``--event-log FILE`` parsed (format from ``--event-log-format`` or detected); unreadable -> exit 2."""
    if args.event_log is None:
        if args.event_log_format is not None:
            raise UsageError("--event-log-format needs --event-log FILE")
        return None
    return parse_event_log(read_limited(args.event_log, MAX_EVENT_LOG_SIZE), args.event_log_format)


def read_limited(path: str, limit: int) -> bytes:
    """A file's bytes, reading at most ``limit + 1`` so an oversized file costs no more than the limit."""
    try:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None
