"""The one-pass signature-data parser agrees with the field-by-field one on every input.

``quote._signature_data_exact`` handles the genuine shape in one pass and
returns None for anything else; where it answers (a result or an error), the
answer must be exactly what ``quote._signature_data_fields`` gives.
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import Limits, QuoteFormatError
from tdxverify.limits import DEFAULT_LIMITS
from tdxverify.quote import (
    _pem_chain_checked,
    _pem_chain_fast,
    _signature_data_exact,
    _signature_data_fields,
    decode_pem_chain,
    parse_quote,
)
from tdxverify.testing import Forge

from .vectors import all_vectors

FORGE = Forge()
QUOTES = [v.quote for v in all_vectors()] + [FORGE.quote(version=n) for n in (3, 4, 5)]


def _span(raw: bytes) -> tuple[int, int, int]:
    """(start, end, version) of the signature data of a parseable quote."""
    q = parse_quote(raw)
    start = len(q.signed_region) + 4
    return start, len(raw) - len(q.trailing_data), q.version


def _outcome(fn: object, *args: object) -> object:
    try:
        return fn(*args)  # type: ignore[operator]
    except QuoteFormatError as err:
        return ("error", err.code, err.message)


def _agree(buf: bytes, start: int, end: int, version: int, limits: Limits = DEFAULT_LIMITS) -> bool:
    """Assert agreement; True if the one-pass parser answered."""
    exact = _outcome(_signature_data_exact, buf, start, end, version, limits, decode_pem_chain)
    if exact is None:
        return False
    assert exact == _outcome(_signature_data_fields, buf, start, end, version, limits, decode_pem_chain)
    return True


def test_genuine_quotes_take_the_one_pass_path() -> None:
    for raw in QUOTES:
        assert _agree(raw, *_span(raw))


@settings(max_examples=3000)
@given(
    st.sampled_from(QUOTES),
    st.integers(min_value=0, max_value=2000),
    st.binary(min_size=1, max_size=6),
    st.sampled_from([0, -1, 1, -100]),
)
def test_mutated_signature_data(raw: bytes, where: int, patch: bytes, shift: int) -> None:
    """Overwrite bytes (lengths, types, PEM) and move the end: the paths still agree."""
    start, end, version = _span(raw)
    # Bias towards the length and type fields, where the shapes differ.
    heads = [start + 128, start + 130, start + 134 + 384 + 64, start + 134 + 450, start + 128 + 450]
    pos = heads[where % len(heads)] + (where // len(heads)) % 8 if where < 1000 else start + where
    buf = bytearray(raw)
    buf[pos : pos + len(patch)] = patch
    _agree(bytes(buf), start, max(start, min(len(buf), end + shift)), version)


@given(st.sampled_from(QUOTES), st.integers(min_value=1, max_value=8000))
def test_certification_data_limit(raw: bytes, limit: int) -> None:
    _agree(raw, *_span(raw), limits=Limits(certification_data=limit))


def test_nested_length_off_by_one_falls_back() -> None:
    raw = FORGE.quote(version=4)
    start, end, version = _span(raw)
    (size,) = struct.unpack_from("<I", raw, start + 130)
    buf = bytearray(raw)
    struct.pack_into("<I", buf, start + 130, size - 1)
    assert _outcome(_signature_data_exact, bytes(buf), start, end, version, DEFAULT_LIMITS, decode_pem_chain) is None


@settings(max_examples=300)
@given(st.lists(st.sampled_from([b"\r\n", b"\t", b" ", b"\x0b", b"\x0c", b"\n\n"]), min_size=1, max_size=40), st.data())
def test_pem_with_any_whitespace_decodes_as_with_lf(gaps: list[bytes], data: st.DataObject) -> None:
    """The LF-only fast decoding and the any-whitespace fallback give the same certificates."""
    raw = QUOTES[-2]
    pem = parse_quote(raw).signature_data.qe_report_certification.certification_data.data  # type: ignore[union-attr]
    lines = pem.split(b"\n")
    for gap in gaps:
        i = data.draw(st.integers(min_value=1, max_value=len(lines) - 1))
        if not lines[i].startswith(b"-----"):
            lines[i] = gap + lines[i]
    assert decode_pem_chain(b"\n".join(lines), 0) == decode_pem_chain(pem, 0)


PEMS = [
    q.signature_data.qe_report_certification.certification_data.data.rstrip(b"\x00")  # type: ignore[union-attr]
    for q in (parse_quote(raw) for raw in QUOTES)
    if q.pck_chain
]


def _pem_agree(text: bytes) -> bool:
    """Assert the split-based reader agrees with the block loop; True if it answered."""
    fast = _pem_chain_fast(text)
    if fast is None:
        return False
    assert fast == _pem_chain_checked(text, 0)
    return True


def test_genuine_chains_take_the_split_path() -> None:
    assert PEMS and all(_pem_agree(pem) for pem in PEMS)


_INSERTS = [b"\n", b"=", b"-----END CERTIFICATE-----", b"-----BEGIN CERTIFICATE-----"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(PEMS), st.data())
def test_mutated_pem_chains_agree(pem: bytes, data: st.DataObject) -> None:
    b = bytearray(pem)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(b) - 1))
        op = data.draw(st.sampled_from(["set", "insert", "delete", "marker"]))
        if op == "set":
            b[i] = data.draw(st.sampled_from([0x00, 0x0A, 0x0D, 0x20, 0x2D, 0x3D, 0x41, 0x2B, 0xFF]))
        elif op == "insert":
            b[i:i] = data.draw(st.sampled_from(_INSERTS))
        elif op == "delete":
            del b[i : i + data.draw(st.integers(1, 30))]
        else:
            b[i:i] = b"x"
    _pem_agree(bytes(b))


def test_handmade_pem_shapes_fall_back() -> None:
    good = PEMS[0]
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    for bad in (
        b"",
        b"junk" + good,
        good + b"junk",
        good.replace(begin, b"", 1),
        good.replace(end, b"", 1),
        begin + b"\n" + end + b"\n",
        good + good + good,  # nine certificates: over the limit
        good.replace(b"\n", b"\r\n"),  # CRLF: the loop's any-whitespace decoding handles it
    ):
        if _pem_chain_fast(bad) is not None:
            assert _pem_chain_fast(bad) == _pem_chain_checked(bad, 0)
        else:
            assert not _pem_agree(bad)
    assert _pem_chain_fast(good.replace(b"\n", b"\r\n")) is None
