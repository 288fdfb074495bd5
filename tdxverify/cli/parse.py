"""``tdxverify parse QUOTE``: print a quote's fields."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import CertificateError, VerificationError
from ..pck import pck_extension_of
from ..pki import load_certificates
from ..quote import Quote
from .common import EXIT_FAILED, EXIT_OK, Parser, UsageError, error_json, print_human, quote_from_file, shorten

NAME = "parse"
USAGE = ("tdxverify parse QUOTE [--json] [--field NAME]...",)


def build_parser() -> Parser:
    p = Parser(prog="tdxverify parse", description="Print the fields of a DCAP quote.")
    p.add_argument("quote", help="quote file (raw binary, hex or base64), '-' for stdin, or the quote's hex itself")
    p.add_argument("--json", action="store_true", help="print JSON (expected.json key names)")
    p.add_argument(
        "--field",
        action="append",
        metavar="NAME",
        help="print only this field's value, one line each (repeatable): rtmr3, mr_td, report_data, fmspc, ...",
    )
    return p


# Spellings operators use for the same field (MRTD, RTMR3, mrtd, mr-td).
_ALIASES = {"mrtd": "mr_td", "mrseam": "mr_seam", "mrenclave": "mr_enclave", "mrsigner": "mr_signer"}


def _field_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key.replace("_", ""), key)


def _field_values(quote: Quote, names: list[str]) -> list[str]:
    """The values of ``names`` (usage error for an unknown one); PCK facts are read only when asked for."""
    parsed: dict[str, object] = {**quote.to_dict(), "trailing_bytes": len(quote.trailing_data)}
    pck_keys = ("fmspc", "pce_id", "pce_svn", "cpu_svn_components", "sgx_type", "ppid")
    keys = [_field_name(n) for n in names]
    unknown = [n for n, k in zip(names, keys, strict=True) if k not in parsed and k not in pck_keys]
    if unknown:
        known = ", ".join(sorted({*parsed, *pck_keys}))
        names_given = ", ".join(n if len(n) <= 40 else shorten(n, 40) for n in unknown)
        raise UsageError(f"--field {names_given}: no such field in a {quote.tee} quote; known: {known}")
    if any(k in pck_keys and k not in parsed for k in keys):
        parsed = {**_pck_facts(quote), **parsed}
    out = []
    for k in keys:
        value = parsed[k]
        out.append(" ".join(str(x) for x in value) if isinstance(value, list) else str(value))
    return out


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
        "trailing_bytes": len(quote.trailing_data),
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


def run(args: argparse.Namespace) -> int:
    try:
        quote = quote_from_file(args.quote)
        if args.field:
            sys.stdout.write("".join(f"{v}\n" for v in _field_values(quote, args.field)))
            return EXIT_OK
        payload = _parse_payload(quote)
    except VerificationError as err:
        if args.json:
            print(error_json(err))
        else:
            print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print_human(payload, sys.stdout)
    return EXIT_OK
