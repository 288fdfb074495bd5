"""The SGX extension's fast entry reader gives exactly what the checked reader gives, or steps aside.

``pck._entries_fast`` reads a SEQUENCE OF SEQUENCE {OID, value} without the
per-element bookkeeping of ``pck._entries_checked``; it must return None
wherever the checked reader would raise, and the very same entries wherever
it returns something. Walked on the genuine extensions of every real vector
and on many mutations of them.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import pck
from tdxverify.errors import CertificateError
from tdxverify.quote import parse_quote

from .vectors import verifiable_vectors


def _genuine_extensions() -> list[bytes]:
    out: list[bytes] = []
    for vec in verifiable_vectors():
        chain = parse_quote(vec.quote).pck_chain
        if not chain:
            continue
        leaf = x509.load_der_x509_certificate(chain[0])
        value = leaf.extensions.get_extension_for_oid(x509.ObjectIdentifier(pck.SGX_EXTENSION_OID)).value
        assert isinstance(value, x509.UnrecognizedExtension)
        if value.value not in out:
            out.append(value.value)
    return out


GENUINE = _genuine_extensions()


def _sequences(der: bytes) -> list[bytes]:
    """The extension and the nested sequences it holds (TCB, configuration)."""
    out = [der]
    for tag, value in pck._index(der, "extension").values():
        if tag == 0x30:
            out.append(value)
    return out


SEQUENCES = [s for der in GENUINE for s in _sequences(der)]


def _agree(buf: bytes) -> None:
    try:
        tag, start, end = pck._tlv(buf, 0, len(buf), "x")
    except CertificateError:
        return  # the outer sequence is refused before either reader runs
    if tag != 0x30 or end != len(buf):
        return
    try:
        checked: Any = pck._entries_checked(buf, start, end, "x")
    except CertificateError:
        checked = None
    fast = pck._entries_fast(buf, start, end)
    if checked is None:
        assert fast is None, "the fast reader accepted what the checked reader refuses"
    else:
        assert fast is None or (fast == checked and list(fast) == list(checked))


def test_there_are_genuine_extensions_to_walk() -> None:
    assert len(GENUINE) >= 3 and len(SEQUENCES) >= 2 * len(GENUINE)


@pytest.mark.parametrize("buf", SEQUENCES, ids=lambda b: f"{len(b)}B-{b[-4:].hex()}")
def test_the_fast_reader_reads_every_genuine_sequence(buf: bytes) -> None:
    _, start, end = pck._tlv(buf, 0, len(buf), "x")
    fast = pck._entries_fast(buf, start, end)
    assert fast is not None  # the genuine shape takes the fast path
    assert fast == pck._entries_checked(buf, start, end, "x")


def test_parse_of_genuine_extensions_is_unchanged() -> None:
    for der in GENUINE:
        ext = pck.parse_pck_extension(der)
        assert len(ext.fmspc) == 6 and len(ext.cpu_svn_components) == 16


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(SEQUENCES), st.data())
def test_mutations_agree(buf: bytes, data: st.DataObject) -> None:
    b = bytearray(buf)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        if not b:
            break
        i = data.draw(st.integers(0, len(b) - 1))
        if op == "set":
            b[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            b.insert(i, data.draw(st.integers(0, 255)))
        elif op == "delete":
            del b[i]
        else:
            del b[i:]
    _agree(bytes(b))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEQUENCES), st.data())
def test_length_and_tag_bytes_agree(buf: bytes, data: st.DataObject) -> None:
    """Mutations aimed at the structure: each tag or length byte of an entry set to any value."""
    _, start, end = pck._tlv(buf, 0, len(buf), "x")
    spots: list[int] = []
    pos = start
    while pos < end:
        _, es, ee = pck._tlv(buf, pos, end, "x")
        spots += [pos, pos + 1, es, es + 1]
        _, _, oe = pck._tlv(buf, es, ee, "x")
        spots += [oe, oe + 1]
        pos = ee
    b = bytearray(buf)
    i = data.draw(st.sampled_from(spots))
    b[i] = data.draw(st.integers(0, 255))
    _agree(bytes(b))


def test_handmade_shapes_agree() -> None:
    oid = b"\x06\x03\x2a\x03\x04"
    cases = [
        b"\x30\x00",  # empty: no entries
        b"\x30\x07\x30\x05" + oid,  # an entry without a value
        b"\x30\x0a\x30\x08" + oid + b"\x02\x01\x05",  # a good entry
        b"\x30\x0d\x30\x0b" + oid + b"\x02\x01\x05\x02\x01\x06",  # three parts
        b"\x30\x14\x30\x08" + oid + b"\x02\x01\x05\x30\x08" + oid + b"\x02\x01\x06",  # a repeated OID
        b"\x30\x0a\x30\x08\x06\x03\x80\x03\x04\x02\x01\x05",  # a non-minimal OID
        b"\x30\x0b\x30\x81\x08" + oid + b"\x02\x01\x05",  # a long-form length that DER forbids
        b"\x30\x0a\x30\x08" + oid + b"\x1f\x01\x05",  # a multi-byte tag
        b"\x30\x0a\x30\x08" + oid + b"\x02\x80\x05",  # an indefinite length
        b"\x30\x0a\x31\x08" + oid + b"\x02\x01\x05",  # a SET, not a SEQUENCE
    ]
    for buf in cases:
        _agree(buf)
    assert pck._entries_fast(cases[2], 2, len(cases[2])) is not None
    for bad in cases[3:]:
        assert pck._entries_fast(bad, 2, len(bad)) is None
