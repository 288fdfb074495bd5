"""Every real vector parses, and every field of its expected.json "parsed" matches."""

from __future__ import annotations

import pytest
from cryptography import x509

from tdxverify import load_quote, parse_quote
from tdxverify.pck import pck_extension_of
from tdxverify.quote import EnclaveReport, TdReport10, TdReport15

from .vectors import Vector, all_vectors

VECTORS = all_vectors()


def test_vectors_present() -> None:
    names = {v.name for v in VECTORS}
    assert len(VECTORS) >= 8
    assert {"tdx-v4-phala-uptodate", "sgx-v3-phala", "tdx-v5-google-parse-only"} <= names


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_parsed_fields_match_expected(vec: Vector) -> None:
    quote = parse_quote(vec.quote)
    got = quote.to_dict()
    leaf = x509.load_der_x509_certificate(quote.pck_chain[0])  # type: ignore[index]
    got["fmspc"] = pck_extension_of(leaf).fmspc_hex
    expected = vec.expected["parsed"]
    assert {k: got.get(k) for k in expected} == expected


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_structure(vec: Vector) -> None:
    quote = parse_quote(vec.quote)
    sig = quote.signature_data
    assert len(sig.signature) == 64 and len(sig.attestation_key) == 64
    qe = sig.qe_report_certification
    assert qe is not None
    assert qe.certification_data.cert_type == 5
    assert len(quote.pck_chain or ()) == 3
    if quote.version == 3:
        assert isinstance(quote.report, EnclaveReport)
        assert len(quote.signed_region) == 48 + 384
    else:
        assert sig.certification_data.cert_type == 6
        assert isinstance(quote.report, TdReport10)
    if quote.version == 5:
        assert quote.body_descriptor is not None
        assert isinstance(quote.report, TdReport15) == (quote.body_descriptor.body_type == 3)
        assert len(quote.signed_region) == 48 + 6 + quote.body_descriptor.size
    if quote.version == 4:
        assert len(quote.signed_region) == 48 + 584
    # The signed region is a prefix of the input: later signature checks use these exact bytes.
    assert vec.quote.startswith(quote.signed_region)


def test_trailing_data_kept_not_checked() -> None:
    by_name = {v.name: v for v in VECTORS}
    google = parse_quote(by_name["tdx-v4-google-spr-e4-parse-only"].quote)
    assert google.trailing_data == b"\nextra bytes(only for testing purpose)\n"
    for name in ("tdx-v4-phala-uptodate", "tdx-v4-near-contract"):
        q = parse_quote(by_name[name].quote)
        assert q.trailing_data == bytes(70)
    q = parse_quote(by_name["tdx-v5-phala-no-tcb-level"].quote)
    assert q.trailing_data == b""


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_load_quote_encodings(vec: Vector, tmp_path: object) -> None:
    raw = vec.quote
    ref = parse_quote(raw)
    import base64
    from pathlib import Path

    assert tmp_path is not None
    d = Path(str(tmp_path))
    hexed = raw.hex()
    spaced = " ".join(hexed[i : i + 64] for i in range(0, len(hexed), 64)) + "\n"
    b64 = base64.b64encode(raw).decode()
    for src in (raw, hexed, "0x" + hexed, hexed.upper(), spaced, b64):
        assert load_quote(src) == ref
    for name, content in (("q.bin", raw), ("q.hex", spaced.encode()), ("q.b64", b64.encode())):
        (d / name).write_bytes(content)
        assert load_quote(d / name) == ref
