"""Command line: ``tdxverify`` / ``python -m tdxverify``.

Exit codes: 0 verified (or, for ``parse`` / ``collateral``, the input is
sound); 1 not verified: any problem with the quote, collateral or policy;
2 the command itself was wrong (unknown flag, unreadable path).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import NoReturn, TextIO

from .errors import CertificateError, PolicyError, VerificationError
from .pck import pck_extension_of
from .pki import load_certificates
from .quote import Quote, decode_quote_file, parse_quote
from .verdict import Verdict, failure_dict

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

SUBCOMMANDS = ("verify", "parse", "collateral", "fetch-collateral")


class UsageError(Exception):
    """The command line itself is wrong: exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None


def _quote_from_file(path: str) -> Quote:
    # Reading is the CLI's job (exit 2 when it fails); decoding is the library's.
    return parse_quote(decode_quote_file(_read_input(path)))


def _pck_facts(quote: Quote) -> dict[str, object]:
    chain = quote.pck_chain
    if not chain:
        raise CertificateError(
            "the quote carries no PCK certificate chain (certification data type 5), so its "
            "FMSPC cannot be read; supply the PCK chain in the collateral to verify it",
            code="unsupported_certification_data",
            step="parse",
        )
    certs = load_certificates(chain, code="pck_chain_invalid", step="parse", what="the quote's PCK chain")
    # The leaf is the one certificate that issued no other in the chain.
    issuers = {c.issuer for c in certs}
    leaves = [c for c in certs if c.subject not in issuers]
    leaf = leaves[0] if len(leaves) == 1 else certs[0]
    ext = pck_extension_of(leaf)
    return {
        "fmspc": ext.fmspc_hex,
        "pce_id": ext.pce_id.hex(),
        "pce_svn": ext.pce_svn,
        "cpu_svn_components": list(ext.cpu_svn_components),
        "sgx_type": ext.sgx_type_name,
        "ppid": ext.ppid.hex(),
    }


def _parse_payload(quote: Quote) -> dict[str, object]:
    pck = _pck_facts(quote)
    parsed = quote.to_dict()
    parsed["fmspc"] = pck["fmspc"]
    sig = quote.signature_data
    qe = sig.qe_report_certification
    details: dict[str, object] = {
        "header": {
            "qe_svn": quote.header.qe_svn,
            "pce_svn": quote.header.pce_svn,
            "user_data": quote.header.user_data.hex(),
        },
        "body_type": quote.body_descriptor.body_type if quote.body_descriptor else None,
        "certification_data_type": sig.certification_data.cert_type,
        "attestation_key": sig.attestation_key.hex(),
        "pck_certificates": len(quote.pck_chain or ()),
        "trailing_data_length": len(quote.trailing_data),
    }
    if qe is not None:
        details["qe_report"] = {
            "mr_enclave": qe.qe_report.mr_enclave.hex(),
            "mr_signer": qe.qe_report.mr_signer.hex(),
            "isv_prod_id": qe.qe_report.isv_prod_id,
            "isv_svn": qe.qe_report.isv_svn,
            "qe_auth_data_length": len(qe.qe_auth_data),
        }
    return {"parsed": parsed, "pck": pck, "quote": details}


def _print_human(obj: dict[str, object], out: TextIO, indent: str = "") -> None:
    for key, value in obj.items():
        if isinstance(value, dict):
            out.write(f"{indent}{key}:\n")
            _print_human(value, out, indent + "  ")
        else:
            out.write(f"{indent}{key}: {value}\n")


def _error_json(err: VerificationError) -> str:
    return json.dumps({"ok": False, "error": err.to_dict()}, indent=2)


def cmd_parse(args: argparse.Namespace) -> int:
    try:
        payload = _parse_payload(_quote_from_file(args.quote))
    except VerificationError as err:
        if args.json:
            print(_error_json(err))
        else:
            print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        _print_human(payload, sys.stdout)
    return EXIT_OK


def parse_time(text: str) -> datetime:
    """``--now``: unix seconds or ISO-8601 (a time without an offset is UTC)."""
    t = text.strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", t):
            return datetime.fromtimestamp(float(t), tz=timezone.utc)
        parsed = datetime.fromisoformat(t[:-1] + "+00:00" if t[-1:] in ("Z", "z") else t)
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"--now {text!r} is neither unix seconds nor an ISO-8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _short(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"


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
        ("TCB date", _short(v.tcb_date)),
    ]
    m = v.measurements()
    names = ("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3") if v.tee_type == "TDX" else ("mr_enclave", "mr_signer")
    rows += [(n.upper().replace("_", ""), m[n]) for n in names]
    rows.append(("report data", v.report_data.hex()))
    c = v.collateral
    rows.append(
        (
            "collateral",
            f"TCB eval #{c.tcb_evaluation_data_number}, TCB info issued {_short(c.tcb_info_issue_date)}, "
            f"valid until {_short(v.collateral_expires_at)}",
        )
    )
    width = max(len(k) for k, _ in rows)
    for k, val in rows:
        out.write(f"  {k.ljust(width)}  {val}\n")
    if v.policy is not None:
        out.write("  policy:\n")
        for chk in v.policy.checks:
            out.write(f"    [{'ok' if chk.ok else 'FAIL'}] {chk.name}: {chk.detail}\n")


def _read_root(path: str | None) -> bytes | None:
    return None if path is None else _read_input(path)


def cmd_verify(args: argparse.Namespace) -> int:
    from .policy import load_policy
    from .verify import Verifier

    now = parse_time(args.now) if args.now is not None else None
    quote_bytes = _read_input(args.quote)
    collateral_bytes = _read_input(args.collateral)
    policy_text = _read_input(args.policy).decode("utf-8", "replace") if args.policy else None
    root = _read_root(args.root_ca)
    quote: Quote | None = None
    try:
        quote = parse_quote(decode_quote_file(quote_bytes))
        policy = load_policy(policy_text) if policy_text is not None else None
        verdict = Verifier(root_ca=root, policy=policy).verify(quote, collateral_bytes, now)
    except VerificationError as err:
        partial = err.verdict if isinstance(err, PolicyError) and isinstance(err.verdict, Verdict) else None
        if args.json:
            print(json.dumps(failure_dict(err.to_dict(), quote, verdict=partial), indent=2))
        else:
            print(f"NOT VERIFIED: [{err.code}] at step {err.step}: {err.message}")
            if partial is not None:
                _print_verdict(partial, sys.stdout)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2))
    else:
        _print_verdict(verdict, sys.stdout)
    return EXIT_OK


def cmd_collateral(args: argparse.Namespace) -> int:
    """Authenticate collateral at T and report its freshness: exit 0 only if it authenticates and is fresh."""
    from .collateral import load_collateral
    from .pccs import format_freshness, freshness_report
    from .pki import load_root_ca

    now = parse_time(args.now) if args.now is not None else datetime.now(timezone.utc)
    collateral_bytes = _read_input(args.collateral)
    root = _read_root(args.root_ca)
    try:
        anchor = load_root_ca(root) if root is not None else None
        report = freshness_report(load_collateral(collateral_bytes), now=now, root=anchor)
    except VerificationError as err:
        if args.json:
            print(_error_json(err))
        else:
            print(f"NOT USABLE: [{err.code}] at step {err.step}: {err.message}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(format_freshness(report))
    return EXIT_OK if report["ok"] else EXIT_FAILED


def cmd_fetch_collateral(args: argparse.Namespace) -> int:
    """Fetch the quote's collateral, check it, and write it only if it authenticates and is fresh at T."""
    import os
    import ssl

    from .pccs import (
        collateral_document,
        collateral_request,
        fetch_collateral_for,
        freshness_report,
        pcs_base_url,
        tls_opener,
        write_collateral,
    )
    from .pki import load_root_ca

    try:
        pcs_base_url(args.pccs_url)
    except VerificationError as err:
        raise UsageError(f"--pccs-url: {err.message}") from None
    if not 0 < args.timeout <= 3600:
        raise UsageError(f"--timeout {args.timeout:g}: give seconds between 0 and 3600")
    if args.output and args.output != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        raise UsageError(f"-o {args.output!r}: the directory does not exist")  # before any request is made
    now = parse_time(args.now) if args.now is not None else datetime.now(timezone.utc)
    quote_bytes = _read_input(args.quote)
    root = _read_root(args.root_ca)
    try:
        opener = tls_opener(args.tls_ca) if args.tls_ca is not None else None
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--tls-ca {args.tls_ca!r}: cannot load CA certificates ({exc})") from None
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
            write_collateral(collateral, args.output, source=source)
        except VerificationError as err:
            raise UsageError(f"-o: {err.message}") from None
    else:
        sys.stdout.write(json.dumps(collateral_document(collateral, source=source), indent=2) + "\n")
    left = int(report["seconds_until_expiry"])
    print(
        f"fetched {what}: tcbEvaluationDataNumber {report['tcb_evaluation_data_number']}, fresh until "
        f"{report['expires_at']} (in {left // 86400}d {left % 86400 // 3600}h; first to expire: "
        f"{report['expires_first']}) -> {args.output if args.output and args.output != '-' else 'stdout'}",
        file=sys.stderr,
    )
    return EXIT_OK


def _build_parsers() -> dict[str, _Parser]:
    parsers: dict[str, _Parser] = {}
    v = _Parser(prog="tdxverify", description="Verify a DCAP quote against Intel collateral.")
    v.add_argument("quote", help="quote file: raw binary, hex (optionally 0x) or base64; '-' for stdin")
    v.add_argument("collateral", help="collateral JSON (dcap-qvl QuoteCollateralV3 or a PCS bundle)")
    v.add_argument("--now", help="verification time: unix seconds or ISO-8601 (default: now)")
    v.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    v.add_argument("--policy", help="appraisal policy JSON file (see docs/policy.md)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=cmd_verify)
    parsers["verify"] = v
    p = _Parser(prog="tdxverify parse", description="Print the fields of a DCAP quote.")
    p.add_argument("quote", help="quote file: raw binary, hex (optionally 0x) or base64; '-' for stdin")
    p.add_argument("--json", action="store_true", help="print JSON (expected.json key names)")
    p.set_defaults(func=cmd_parse)
    parsers["parse"] = p
    c = _Parser(prog="tdxverify collateral", description="Authenticate collateral and report its freshness.")
    c.add_argument("collateral", help="collateral JSON (dcap-qvl QuoteCollateralV3 or a PCS bundle); '-' for stdin")
    c.add_argument("--now", help="time to check at: unix seconds or ISO-8601 (default: now)")
    c.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=cmd_collateral)
    parsers["collateral"] = c
    f = _Parser(
        prog="tdxverify fetch-collateral",
        description="Fetch the collateral a quote needs from Intel PCS or a PCCS; written only if it "
        "authenticates and is fresh.",
    )
    f.add_argument("quote", help="quote file: raw binary, hex (optionally 0x) or base64; '-' for stdin")
    f.add_argument("--pccs-url", help="PCCS base URL, e.g. https://localhost:8081 (default: Intel PCS)")
    f.add_argument("-o", "--output", help="write the collateral JSON here, atomically (default: stdout)")
    f.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per request (default: 30)")
    f.add_argument("--update", choices=("standard", "early"), help="Intel's TCB update channel (default: standard)")
    f.add_argument("--tls-ca", help="CA certificates (PEM) to trust for the PCCS's TLS certificate")
    f.add_argument("--now", help="time for the freshness check: unix seconds or ISO-8601 (default: now)")
    f.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    f.set_defaults(func=cmd_fetch_collateral)
    parsers["fetch-collateral"] = f
    return parsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parsers = _build_parsers()
    try:
        if not args_list or args_list[0] in ("-h", "--help"):
            print(_usage())
            return EXIT_OK if args_list else EXIT_USAGE
        name = args_list[0] if args_list[0] in parsers else "verify"
        if name not in parsers:
            raise UsageError(f"the {name!r} command is not available in this build")
        rest = args_list[1:] if args_list[0] == name else args_list
        ns = parsers[name].parse_args(rest)
        func: Callable[[argparse.Namespace], int] = ns.func
        return func(ns)
    except UsageError as exc:
        print(f"{exc}\n\n{_usage()}", file=sys.stderr)
        return EXIT_USAGE
    except VerificationError as err:  # a command's own handler normally catches these
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still no traceback, and never a success
        print(
            f"error: [internal_error] {type(exc).__name__}: {exc}; nothing was verified. "
            "Please report this with the inputs.",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _usage() -> str:
    return (
        "usage:\n"
        "  tdxverify QUOTE COLLATERAL [--now T] [--root-ca FILE] [--policy FILE] [--json]\n"
        "  tdxverify parse QUOTE [--json]\n"
        "  tdxverify collateral COLLATERAL [--now T] [--root-ca FILE] [--json]\n"
        "  tdxverify fetch-collateral QUOTE [--pccs-url URL] [-o FILE] [--timeout S] [--update standard|early]\n"
        "                                   [--tls-ca FILE] [--now T] [--root-ca FILE]\n"
        "QUOTE: raw binary, hex (optionally 0x-prefixed) or base64; T: unix seconds or ISO-8601.\n"
        "'tdxverify COMMAND --help' describes each command. Exit codes: 0 verified, 1 not verified, 2 usage."
    )
