"""Mutation test: every single-byte change to what the signatures protect is rejected.

For each real vector that verifies, each byte of the signed region (header + body), the quote
signature, the attestation key, the QE report, the QE report signature and the QE auth data is
changed (XOR 0x01 everywhere; hypothesis adds arbitrary replacement values), and verification
must fail with a coded error.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import VerificationError
from tdxverify.collateral import load_collateral
from tdxverify.quote import parse_quote
from tdxverify.verify import Verifier

from .vectors import Vector, verifiable_vectors

ACCEPTED = [v for v in verifiable_vectors() if v.expected["verdict"]["ok"]]


def protected_ranges(raw: bytes) -> list[tuple[str, int, int]]:
    """(name, start, end) of each protected field, found from the parsed structure."""
    q = parse_quote(raw)
    signed = len(q.signed_region)
    sig_start = signed + 4
    ranges = [("signed_region", 0, signed), ("signature", sig_start, sig_start + 64)]
    ranges.append(("attestation_key", sig_start + 64, sig_start + 128))
    qe_start = sig_start + 128 + (6 if q.version >= 4 else 0)
    ranges.append(("qe_report", qe_start, qe_start + 384))
    ranges.append(("qe_report_signature", qe_start + 384, qe_start + 448))
    qe = q.signature_data.qe_report_certification
    assert qe is not None
    auth_len = struct.unpack_from("<H", raw, qe_start + 448)[0]
    assert auth_len == len(qe.qe_auth_data)
    ranges.append(("qe_auth_data", qe_start + 450, qe_start + 450 + auth_len))
    assert all(end <= len(raw) for _, _, end in ranges)
    return ranges


def _rejected(verifier: Verifier, vec: Vector, col: object, raw: bytes) -> str:
    try:
        verifier.verify(raw, col, vec.now)  # type: ignore[arg-type]
    except VerificationError as err:
        assert err.code != "internal_error", err
        return err.code
    raise AssertionError("a mutated quote verified")


@pytest.mark.parametrize("vec", ACCEPTED, ids=lambda v: v.name)
def test_every_protected_byte(vec: Vector) -> None:
    verifier = Verifier()
    col = load_collateral(vec.collateral_path)  # type: ignore[arg-type]
    raw = vec.quote
    verifier.verify(raw, col, vec.now)  # the unmutated quote verifies
    ranges = protected_ranges(raw)
    count = 0
    codes: dict[str, set[str]] = {}
    for name, start, end in ranges:
        for pos in range(start, end):
            buf = bytearray(raw)
            buf[pos] ^= 0x01
            codes.setdefault(name, set()).add(_rejected(verifier, vec, col, bytes(buf)))
            count += 1
    assert count == sum(b - a for _, a, b in ranges) > 1000
    # Changes to each field are caught by the check that protects it (or an earlier structural one).
    assert codes["signature"] == {"quote_signature_invalid"}
    assert codes["qe_report_signature"] == {"qe_report_signature_invalid"}
    assert codes["qe_auth_data"] == {"qe_report_data_mismatch"}
    assert codes["attestation_key"] <= {"qe_report_data_mismatch"}
    assert codes["qe_report"] == {"qe_report_signature_invalid"}


@settings(max_examples=300)
@given(st.sampled_from(ACCEPTED), st.data())
def test_arbitrary_replacements(vec: Vector, data: st.DataObject) -> None:
    raw = vec.quote
    _, start, end = data.draw(st.sampled_from(protected_ranges(raw)))
    pos = data.draw(st.integers(min_value=start, max_value=end - 1))
    value = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[pos]))
    buf = bytearray(raw)
    buf[pos] = value
    _rejected(Verifier(), vec, load_collateral(vec.collateral_path), bytes(buf))  # type: ignore[arg-type]
