"""``tdxverify QUOTE COLLATERAL`` (or ``tdxverify verify ...``): verify a quote."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ..errors import PolicyError, VerificationError
from ..quote import Quote, decode_quote_file, parse_quote
from ..verdict import Verdict, failure_dict
from .common import EXIT_FAILED, EXIT_OK, Parser, parse_time, read_input, read_root, short_time
from .history import add_record_arguments, record_result

NAME = "verify"
USAGE = (
    "tdxverify QUOTE COLLATERAL [--now T] [--root-ca FILE] [--policy FILE] [--json] [--record [URL] [--worker NAME]]",
)


def build_parser() -> Parser:
    v = Parser(prog="tdxverify", description="Verify a DCAP quote against Intel collateral.")
    v.add_argument("quote", help="quote file: raw binary, hex (optionally 0x) or base64; '-' for stdin")
    v.add_argument("collateral", help="collateral JSON (dcap-qvl QuoteCollateralV3 or a PCS bundle)")
    v.add_argument("--now", help="verification time: unix seconds or ISO-8601 (default: now)")
    v.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    v.add_argument("--policy", help="appraisal policy JSON file (see docs/policy.md)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    add_record_arguments(v)
    return v


def _print_verdict(v: Verdict, out: TextIO) -> None:
    out.write(f"VERIFIED: {v.tee_type} quote v{v.quote_version}, TCB status {v.status}\n")
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
    c = v.collateral
    rows.append(
        (
            "collateral",
            f"TCB eval #{c.tcb_evaluation_data_number}, TCB info issued {short_time(c.tcb_info_issue_date)}, "
            f"valid until {short_time(v.collateral_expires_at)}",
        )
    )
    width = max(len(k) for k, _ in rows)
    for k, val in rows:
        out.write(f"  {k.ljust(width)}  {val}\n")
    if v.policy is not None:
        out.write("  policy:\n")
        for chk in v.policy.checks:
            out.write(f"    [{'ok' if chk.ok else 'FAIL'}] {chk.name}: {chk.detail}\n")


def run(args: argparse.Namespace) -> int:
    from ..policy import load_policy
    from ..verify import Verifier

    now = parse_time(args.now) if args.now is not None else None
    quote_bytes = read_input(args.quote)
    collateral_bytes = read_input(args.collateral)
    policy_text = read_input(args.policy).decode("utf-8", "replace") if args.policy else None
    root = read_root(args.root_ca)
    quote: Quote | None = None
    try:
        quote = parse_quote(decode_quote_file(quote_bytes))
        policy = load_policy(policy_text) if policy_text is not None else None
        verdict = Verifier(root_ca=root, policy=policy).verify(quote, collateral_bytes, now)
    except VerificationError as err:
        record_result(args, err, source=NAME, quote=quote, quote_file=quote_bytes, at=now)
        partial = err.verdict if isinstance(err, PolicyError) and isinstance(err.verdict, Verdict) else None
        if args.json:
            print(json.dumps(failure_dict(err.to_dict(), quote, verdict=partial), indent=2))
        else:
            print(f"NOT VERIFIED: [{err.code}] at step {err.step}: {err.message}")
            if partial is not None:
                _print_verdict(partial, sys.stdout)
        return EXIT_FAILED
    record_result(args, verdict, source=NAME, quote=quote, quote_file=quote_bytes, at=now)
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2))
    else:
        _print_verdict(verdict, sys.stdout)
    return EXIT_OK
