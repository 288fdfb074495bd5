"""Property tests: whatever the bytes, the parser either returns a Quote or raises QuoteFormatError.

Example counts add up to more than 20,000 per run (see the settings on each test).
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import QuoteFormatError, parse_quote
from tdxverify.quote import Quote

from .vectors import all_vectors

REAL = [v.quote for v in all_vectors()]


def parses_or_format_error(raw: bytes) -> Quote | None:
    try:
        quote = parse_quote(raw)
    except QuoteFormatError as err:
        assert err.code in ("quote_format", "unsupported_quote_version", "unsupported_certification_data")
        assert err.message
        return None
    # Whatever parsed must be self-consistent: the signed region is a prefix of the input and
    # the trailing data its suffix.
    assert raw.startswith(quote.signed_region)
    assert raw.endswith(quote.trailing_data)
    return quote


@settings(max_examples=4000)
@given(st.binary(max_size=6000))
def test_random_bytes(raw: bytes) -> None:
    parses_or_format_error(raw)


@settings(max_examples=3000)
@given(st.sampled_from([3, 4, 5]), st.binary(min_size=0, max_size=2000))
def test_random_bytes_with_plausible_header(version: int, rest: bytes) -> None:
    # Random bodies behind a valid-looking header reach the deeper parsing paths.
    tee = 0 if version == 3 else 0x81
    head = struct.pack("<HHI", version, 2, tee) + bytes(40)
    parses_or_format_error(head + rest)


@settings(max_examples=5000)
@given(st.sampled_from(REAL), st.data())
def test_truncations(raw: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    quote = parses_or_format_error(raw[:cut])
    if quote is not None:
        # Only the unsigned trailing bytes may be cut without breaking the structure.
        assert cut >= len(raw) - len(parse_quote(raw).trailing_data)


@settings(max_examples=8000)
@given(st.sampled_from(REAL), st.data())
def test_mutations(raw: bytes, data: st.DataObject) -> None:
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        # Bias mutations towards the header, lengths and structure (the first ~1.2 KiB).
        hi = data.draw(st.sampled_from([1200, len(buf) - 1]))
        pos = data.draw(st.integers(min_value=0, max_value=hi))
        buf[pos] = data.draw(st.integers(min_value=0, max_value=255))
    parses_or_format_error(bytes(buf))


@settings(max_examples=2000)
@given(st.sampled_from(REAL), st.data())
def test_length_field_extremes(raw: bytes, data: st.DataObject) -> None:
    # Overwrite a 2- or 4-byte window with an extreme length anywhere in the structure.
    buf = bytearray(raw)
    pos = data.draw(st.integers(min_value=0, max_value=len(buf) - 4))
    value = data.draw(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, len(buf), len(buf) + 1]))
    if value > 0xFFFF or data.draw(st.booleans()):
        struct.pack_into("<I", buf, pos, value & 0xFFFFFFFF)
    else:
        struct.pack_into("<H", buf, pos, value)
    parses_or_format_error(bytes(buf))
