"""``tdxverify collateral COLLATERAL``: authenticate collateral and report its freshness."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from ..errors import VerificationError
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Parser,
    check_collateral_arg,
    error_json,
    one_stdin,
    parse_duration,
    parse_time,
    read_input,
    read_root,
)

NAME = "collateral"
USAGE = ("tdxverify collateral COLLATERAL [--max-age D] [--min-valid D] [--now T] [--root-ca FILE] [--json]",)


def build_parser() -> Parser:
    c = Parser(prog="tdxverify collateral", description="Authenticate collateral and report its freshness.")
    c.add_argument("collateral", help="collateral JSON (dcap-qvl QuoteCollateralV3 or a PCS bundle); '-' for stdin")
    c.add_argument("--now", help="time to check at: unix seconds or ISO-8601 (default: now)")
    c.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument(
        "--max-age",
        metavar="D",
        help="fail if the TCB info or QE identity was issued longer ago than D (30d, 12h, ...)",
    )
    c.add_argument("--min-valid", metavar="D", help="fail if any piece expires within D (3d, 12h, ...)")
    return c


def run(args: argparse.Namespace) -> int:
    """Authenticate collateral at T and report its freshness: exit 0 only if it authenticates and is fresh."""
    from ..collateral import load_collateral
    from ..pccs import format_freshness, freshness_report
    from ..pki import load_root_ca

    one_stdin(COLLATERAL=args.collateral, root_ca=args.root_ca)
    max_age = parse_duration(args.max_age, "--max-age") if args.max_age is not None else None
    min_valid = parse_duration(args.min_valid, "--min-valid") if args.min_valid is not None else None
    now = parse_time(args.now) if args.now is not None else datetime.now(timezone.utc)
    collateral_bytes = read_input(args.collateral)
    check_collateral_arg(args.collateral, collateral_bytes)
    root = read_root(args.root_ca)
    try:
        anchor = load_root_ca(root) if root is not None else None
        report = freshness_report(
            load_collateral(collateral_bytes), now=now, root=anchor, max_age=max_age, min_valid=min_valid
        )
    except VerificationError as err:
        if args.json:
            print(error_json(err))
        else:
            print(f"NOT USABLE: [{err.code}] at step {err.step}: {err.message}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(format_freshness(report))
    return EXIT_OK if report["ok"] else EXIT_FAILED
