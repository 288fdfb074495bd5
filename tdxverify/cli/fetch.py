"""``tdxverify fetch-collateral QUOTE``: fetch a quote's collateral from Intel PCS or a PCCS."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from ..errors import VerificationError
from ..quote import decode_quote_file, parse_quote
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Parser,
    UsageError,
    one_stdin,
    parse_time,
    read_quote_arg,
    read_root,
    shorten,
)

NAME = "fetch-collateral"
USAGE = (
    "tdxverify fetch-collateral (QUOTE | --quote HEX|FILE) [-o FILE] [--format dcap-qvl|pcs-bundle]",
    "                           [--pccs-url URL] [--timeout S] [--update standard|early] [--tls-ca FILE]",
    "                           [--now T] [--root-ca FILE]",
)


def build_parser() -> Parser:
    f = Parser(
        prog="tdxverify fetch-collateral",
        description="Fetch the collateral a quote needs from Intel PCS or a PCCS; written only if it "
        "authenticates and is fresh.",
    )
    f.add_argument(
        "quote", nargs="?", help="quote file (raw binary, hex or base64), '-' for stdin, or the quote's hex itself"
    )
    f.add_argument(
        "--quote", dest="quote_opt", metavar="HEX|FILE", help="the quote (as dcap-qvl takes it): hex or a file"
    )
    f.add_argument("--pccs-url", help="PCCS base URL, e.g. https://localhost:8081 (default: Intel PCS)")
    f.add_argument("-o", "--output", help="write the collateral JSON here, atomically (default: stdout)")
    f.add_argument(
        "--format",
        choices=("dcap-qvl", "pcs-bundle"),
        default="dcap-qvl",
        help="dcap-qvl: QuoteCollateralV3 JSON, what update_collateral stores (default); "
        "pcs-bundle: the PCS responses as served, with where they came from",
    )
    f.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per request (default: 30)")
    f.add_argument("--update", choices=("standard", "early"), help="Intel's TCB update channel (default: standard)")
    f.add_argument("--tls-ca", help="CA certificates (PEM) to trust for the PCCS's TLS certificate")
    f.add_argument("--now", help="time for the freshness check: unix seconds or ISO-8601 (default: now)")
    f.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    return f


def run(args: argparse.Namespace) -> int:
    """Fetch the quote's collateral, check it, and write it only if it authenticates and is fresh at T."""
    import os
    import ssl

    if (args.quote is None) == (args.quote_opt is None):
        raise UsageError(
            "give the quote once: as QUOTE or as --quote HEX|FILE"
            if args.quote is not None
            else "no quote given: tdxverify fetch-collateral --quote HEX|FILE -o collateral.json"
        )
    quote_arg: str = args.quote if args.quote is not None else args.quote_opt
    one_stdin(QUOTE=quote_arg, root_ca=args.root_ca, tls_ca=args.tls_ca)

    from ..pccs import (
        collateral_document,
        collateral_request,
        fetch_collateral_for,
        freshness_report,
        pcs_base_url,
        tls_opener,
        write_collateral,
    )
    from ..pki import load_root_ca

    try:
        pcs_base_url(args.pccs_url)
    except VerificationError as err:
        raise UsageError(f"--pccs-url: {err.message}") from None
    if not 0 < args.timeout <= 3600:
        raise UsageError(f"--timeout {args.timeout:g}: give seconds between 0 and 3600")
    if args.output and args.output != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        raise UsageError(f"-o {shorten(args.output)}: the directory does not exist")  # before any request is made
    now = parse_time(args.now) if args.now is not None else datetime.now(timezone.utc)
    quote_bytes = read_quote_arg(quote_arg)
    root = read_root(args.root_ca)
    try:
        opener = tls_opener(args.tls_ca) if args.tls_ca is not None else None
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--tls-ca {shorten(args.tls_ca)}: cannot load CA certificates ({exc})") from None
    try:
        request = collateral_request(parse_quote(decode_quote_file(quote_bytes)))
        urls = request.urls(args.pccs_url, update=args.update)
        collateral = fetch_collateral_for(
            request, pccs_url=args.pccs_url, timeout=args.timeout, opener=opener, update=args.update
        )
        report = freshness_report(collateral, now=now, root=load_root_ca(root) if root is not None else None)
    except VerificationError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    what = (
        f"{request.tee} collateral for FMSPC {request.fmspc_hex} (PCK {request.ca} CA) "
        f"from {urls.service} {urls.base_url}"
    )
    if not report["ok"]:
        e = report["error"]
        print(
            f"error: [{e['code']}] fetched {what}, but it is not usable at {report['now']}: {e['message']}. "
            "Nothing was written; fix the source (a PCCS may serve a stale cache) and fetch again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    source = {"tee": request.tee, "fmspc": request.fmspc_hex, "pck_ca": request.ca, **urls.to_dict()}
    if args.output and args.output != "-":
        try:
            write_collateral(collateral, args.output, source=source, format=args.format)
        except VerificationError as err:
            raise UsageError(f"-o: {err.message}") from None
    else:
        doc = collateral_document(collateral, source=source, format=args.format)
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    left = int(report["seconds_until_expiry"])
    print(
        f"fetched {what}: tcbEvaluationDataNumber {report['tcb_evaluation_data_number']}, fresh until "
        f"{report['expires_at']} (in {left // 86400}d {left % 86400 // 3600}h; first to expire: "
        f"{report['expires_first']}) -> {args.output if args.output and args.output != '-' else 'stdout'} "
        f"({args.format})",
        file=sys.stderr,
    )
    return EXIT_OK
