"""``tdxverify QUOTE COLLATERAL`` (or ``tdxverify verify ...``): verify a quote."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ..errors import PolicyError, VerificationError
from ..eventlog import NAMED_SHORTCUTS, EventLog
from ..eventlog.tcg import printable
from ..quote import Quote, decode_quote_file, parse_quote
from ..verdict import Verdict, failure_dict
from .appraisal import add_appraisal_flags, event_log_from_args, policy_from_args
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Parser,
    check_order,
    one_stdin,
    parse_time,
    read_input,
    read_quote_arg,
    read_root,
    short_time,
)
from .history import add_record_arguments, record_result

NAME = "verify"
USAGE = (
    "tdxverify QUOTE COLLATERAL [--now T] [--root-ca FILE] [--policy FILE] [--json]",
    "          [--rtmr3 HEX]... [--status S]... [--no-advisories] [--report-data HEX] [--public-key KEY]",
    "          [--event-log FILE [--event-log-format dstack|ccel]] [--record [URL] [--worker NAME]]",
)


def build_parser() -> Parser:
    v = Parser(prog="tdxverify", description="Verify a DCAP quote against Intel collateral.")
    v.add_argument("quote", help="quote file (raw binary, hex or base64), '-' for stdin, or the quote's hex itself")
    v.add_argument("collateral", help="collateral JSON (dcap-qvl QuoteCollateralV3 or a PCS bundle)")
    v.add_argument("--now", help="verification time: unix seconds or ISO-8601 (default: now)")
    v.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    v.add_argument("--policy", help="appraisal policy JSON file (see docs/policy.md)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    add_appraisal_flags(v)
    add_record_arguments(v)
    return v


def _print_verdict(v: Verdict, out: TextIO, trailing: int, *, accepted: bool = True) -> None:
    if accepted:
        out.write(f"VERIFIED: {v.tee_type} quote v{v.quote_version}, TCB status {v.status}\n")
    else:  # the headline was NOT VERIFIED: no line of a rejected quote may read as verified
        out.write(
            f"  the quote is genuine ({v.tee_type} quote v{v.quote_version}, TCB status {v.status}) but not accepted\n"
        )
    if v.status != "UpToDate":
        out.write(
            f"  WARNING: the TCB is not UpToDate ({v.status}): Intel knows of issues this platform has not "
            "fully mitigated; decide with a policy (--policy) whether that is acceptable\n"
        )
    rows: list[tuple[str, str]] = [
        ("advisories", ", ".join(v.advisory_ids) or "none"),
        ("platform / QE / module", f"{v.platform_status} / {v.qe_status} / {v.module_status or '-'}"),
        ("FMSPC", v.fmspc),
        ("TCB date", short_time(v.tcb_date)),
    ]
    m = v.measurements()
    names = ("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3") if v.tee_type == "TDX" else ("mr_enclave", "mr_signer")
    rows += [(n.upper().replace("_", ""), m[n]) for n in names]
    rows.append(("report data", v.report_data.hex()))
    rows.append(
        ("trailing bytes", f"{trailing}{' after the quote (outside every signature, ignored)' if trailing else ''}")
    )
    c = v.collateral
    rows.append(
        (
            "collateral",
            f"TCB eval #{c.tcb_evaluation_data_number}, TCB info issued {short_time(c.tcb_info_issue_date)}, "
            f"valid until {short_time(v.collateral_expires_at)}",
        )
    )
    log = v.event_log
    if log is not None:
        rows.append(("event log", f"{log.format}, {len(log.events)} events, replays to the quote's RTMR0-3"))
        rows += _named_rows(log)
    width = max(len(k) for k, _ in rows)
    for k, val in rows:
        out.write(f"  {k.ljust(width)}  {val}\n")
    if v.policy is not None:
        out.write("  policy:\n")
        for chk in v.policy.checks:
            out.write(f"    [{'ok' if chk.ok else 'FAIL'}] {chk.name}: {chk.detail}\n")


def _named_rows(log: EventLog) -> list[tuple[str, str]]:
    """The log's well-known named values (app id, compose hash, ...), then the names of the others."""
    rows = []
    for name in NAMED_SHORTCUTS.values():
        values = log.named.get(name, ())
        if len(values) > 1:
            rows.append((f"  {name}", f"logged {len(values)} times (ambiguous: no single value)"))
        elif values:
            text = printable(values[0])
            shown = text if name == "kernel-cmdline" and text else values[0].hex() + (f" ({text})" if text else "")
            rows.append((f"  {name}", shown or '""'))
    others = [n for n in log.named if n not in NAMED_SHORTCUTS.values()]
    if others:
        rows.append(("  other named events", ", ".join(others)))
    return rows


def run(args: argparse.Namespace) -> int:
    from ..verify import Verifier

    one_stdin(
        QUOTE=args.quote,
        COLLATERAL=args.collateral,
        policy=args.policy,
        root_ca=args.root_ca,
        event_log=args.event_log,
    )
    now = parse_time(args.now) if args.now is not None else None
    quote_bytes = read_quote_arg(args.quote)
    collateral_bytes = read_input(args.collateral)
    check_order(args.quote, quote_bytes, args.collateral, collateral_bytes)
    policy_text = read_input(args.policy).decode("utf-8", "replace") if args.policy else None
    root = read_root(args.root_ca)
    quote: Quote | None = None
    try:
        quote = parse_quote(decode_quote_file(quote_bytes))
        policy = policy_from_args(args, policy_text)
        event_log = event_log_from_args(args)
        verdict = Verifier(root_ca=root, policy=policy).verify(quote, collateral_bytes, now, event_log)
    except VerificationError as err:
        record_result(args, err, source=NAME, quote=quote, quote_file=quote_bytes, at=now)
        partial = err.verdict if isinstance(err, PolicyError) and isinstance(err.verdict, Verdict) else None
        if args.json:
            print(json.dumps(failure_dict(err.to_dict(), quote, verdict=partial), indent=2))
        else:
            print(f"NOT VERIFIED: [{err.code}] at step {err.step}: {err.message}")
            if partial is not None and quote is not None:
                _print_verdict(partial, sys.stdout, len(quote.trailing_data), accepted=False)
        return EXIT_FAILED
    record_result(args, verdict, source=NAME, quote=quote, quote_file=quote_bytes, at=now)
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2))
    else:
        _print_verdict(verdict, sys.stdout, len(quote.trailing_data))
    return EXIT_OK
