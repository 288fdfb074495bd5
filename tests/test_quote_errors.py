"""Malformed quotes raise QuoteFormatError naming the field and offset, and nothing else."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tdxverify import QuoteFormatError, VerificationError, load_quote, parse_quote

from .vectors import all_vectors

BY_NAME = {v.name: v for v in all_vectors()}
V4 = BY_NAME["tdx-v4-phala-uptodate"].quote
V5 = BY_NAME["tdx-v5-google-parse-only"].quote
V3 = BY_NAME["sgx-v3-phala"].quote

# Offsets in a v4 quote.
SIG_LEN_OFF = 48 + 584
SIG_OFF = SIG_LEN_OFF + 4
CERT_TYPE_OFF = SIG_OFF + 128
CERT_SIZE_OFF = CERT_TYPE_OFF + 2
QE_REPORT_OFF = CERT_SIZE_OFF + 4
AUTH_LEN_OFF = QE_REPORT_OFF + 384 + 64
INNER_TYPE_OFF = AUTH_LEN_OFF + 2 + 32
INNER_SIZE_OFF = INNER_TYPE_OFF + 2


def patch(buf: bytes, off: int, fmt: str, value: int) -> bytes:
    b = bytearray(buf)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def expect(raw: bytes, code: str | set[str], *words: str) -> QuoteFormatError:
    with pytest.raises(QuoteFormatError) as info:
        parse_quote(raw)
    err = info.value
    assert err.code in ({code} if isinstance(code, str) else code)
    assert err.step in ("parse", "load")
    for w in words:
        assert w in err.message, err.message
    return err


def test_offsets_are_what_the_tests_think() -> None:
    assert struct.unpack_from("<H", V4, CERT_TYPE_OFF)[0] == 6
    assert struct.unpack_from("<H", V4, AUTH_LEN_OFF)[0] == 32
    assert struct.unpack_from("<H", V4, INNER_TYPE_OFF)[0] == 5


def test_empty_and_tiny() -> None:
    expect(b"", "quote_format", "header.version", "offset 0")
    expect(b"\x04", "quote_format", "header.version")
    expect(V4[:47], "quote_format", "header.user_data", "offset 28")


def test_truncated_body_and_signature() -> None:
    expect(V4[:100], "quote_format", "td_report", "offset 48")
    expect(V4[: SIG_LEN_OFF + 2], "quote_format", "signature_data.size")
    expect(V4[: SIG_OFF + 10], "quote_format", "signature_data.size", "truncated")


def test_wrong_versions_and_tee() -> None:
    expect(patch(V4, 0, "<H", 2), "unsupported_quote_version", "version 2")
    expect(patch(V4, 0, "<H", 6), "unsupported_quote_version")
    expect(patch(V4, 4, "<I", 0), "unsupported_quote_version", "TDX")
    expect(patch(V3, 4, "<I", 0x81), "unsupported_quote_version", "SGX only")


def test_v5_body_descriptor() -> None:
    expect(patch(V5, 48, "<H", 9), "quote_format", "body_descriptor.type", "offset 48")
    expect(patch(V5, 48, "<H", 0), "quote_format", "body_descriptor.type")
    expect(patch(V5, 50, "<I", 585), "quote_format", "body_descriptor.size", "offset 50")
    expect(patch(V5, 50, "<I", 0xFFFFFFFF), "quote_format", "body_descriptor.size")
    expect(patch(V5, 48, "<H", 1), "quote_format", "body_descriptor.size")  # SGX type with a TDX size


def test_giant_length_fields_do_not_allocate() -> None:
    # Each declares far more than the input holds; the parser must refuse, not read or allocate.
    expect(patch(V4, SIG_LEN_OFF, "<I", 0xFFFFFFFF), "quote_format", "signature_data.size")
    expect(patch(V4, CERT_SIZE_OFF, "<I", 0xFFFFFFFF), "quote_format", "certification_data.data")
    expect(patch(V4, AUTH_LEN_OFF, "<H", 0xFFFF), "quote_format", "qe_auth_data")
    expect(patch(V4, INNER_SIZE_OFF, "<I", 0x7FFFFFFF), "quote_format", "certification_data.data")


def test_lengths_that_disagree() -> None:
    # Signature data declared shorter than its contents: the inner structure runs past it.
    expect(patch(V4, SIG_LEN_OFF, "<I", struct.unpack_from("<I", V4, SIG_LEN_OFF)[0] - 1), "quote_format")
    # Auth data one byte longer: everything after shifts and no longer fits the declared sizes.
    expect(patch(V4, AUTH_LEN_OFF, "<H", 33), {"quote_format", "unsupported_certification_data"})


def test_overlong_inner_size_is_unexplained_bytes() -> None:
    # Make the outer signature data one byte longer than its contents (steal a trailing zero byte).
    raw = patch(V4, SIG_LEN_OFF, "<I", struct.unpack_from("<I", V4, SIG_LEN_OFF)[0] + 1)
    expect(raw, "quote_format", "unexplained bytes")


def test_unknown_certification_types() -> None:
    expect(patch(V4, CERT_TYPE_OFF, "<H", 99), "unsupported_certification_data", "99")
    expect(patch(V4, INNER_TYPE_OFF, "<H", 0), "unsupported_certification_data")


def test_non_pem_certification_data() -> None:
    inner_size = struct.unpack_from("<I", V4, INNER_SIZE_OFF)[0]
    start = INNER_SIZE_OFF + 4
    garbage = bytearray(V4)
    garbage[start : start + inner_size] = b"\xff" * inner_size
    expect(bytes(garbage), "quote_format", "not a PEM certificate chain")
    bad_b64 = bytearray(V4)
    body = start + len(b"-----BEGIN CERTIFICATE-----\n")
    bad_b64[body : body + 4] = b"!!!!"
    expect(bytes(bad_b64), "quote_format", "base64")
    between = bytearray(V4)
    text = bytes(V4[start : start + inner_size])
    cut = text.index(b"-----END CERTIFICATE-----") + len(b"-----END CERTIFICATE-----")
    between[start + cut : start + cut + 1] = b"X"
    expect(bytes(between), "quote_format", "non-PEM")


def test_type6_with_unconsumed_bytes() -> None:
    # Shrink the nested type-5 size by one: the QE report certification data then has one byte
    # its own fields do not account for.
    inner_size = struct.unpack_from("<I", V4, INNER_SIZE_OFF)[0]
    expect(patch(V4, INNER_SIZE_OFF, "<I", inner_size - 1), "quote_format", "unexplained bytes")


def test_not_bytes() -> None:
    with pytest.raises(QuoteFormatError):
        parse_quote("00" * 10)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("0x", "empty"),
        ("abc", "odd number"),
        ("***not a quote***", "neither"),
    ],
)
def test_load_quote_bad_text(text: str, words: str) -> None:
    with pytest.raises(QuoteFormatError) as info:
        load_quote(text)
    assert info.value.code == "input_invalid"
    assert words in info.value.message


def test_load_quote_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QuoteFormatError) as info:
        load_quote(tmp_path / "nope.bin")
    assert info.value.code == "input_invalid"
    assert "nope.bin" in info.value.message


def test_load_quote_bad_type() -> None:
    with pytest.raises(QuoteFormatError) as info:
        load_quote(12345)  # type: ignore[arg-type]
    assert info.value.code == "input_invalid"


def test_error_is_a_verification_error() -> None:
    err = expect(b"\x00" * 10, "quote_format")
    assert isinstance(err, VerificationError)
    assert err.to_dict() == {"code": err.code, "step": err.step, "message": err.message}
    assert str(err).startswith("[quote_format] ")
