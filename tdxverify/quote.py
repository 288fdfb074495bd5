"""DCAP quote parsing: bytes in, a frozen typed :class:`Quote` out.

Pure parsing with exact bounds; no cryptography and no clock. Layouts follow
Intel's "TDX DCAP Quote Generation Library and Quote Verification Library"
specification (quote v4/v5) and the SGX ECDSA quote library reference (v3).
Every malformed input raises :class:`~tdxverify.errors.QuoteFormatError`
naming the field and its byte offset.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import os
import re
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TypeVar

from .errors import QuoteFormatError
from .limits import DEFAULT_LIMITS, Limits, check_size

__all__ = [
    "HEADER_SIZE",
    "INTEL_QE_VENDOR_ID",
    "TEE_TYPE_SGX",
    "TEE_TYPE_TDX",
    "BodyDescriptor",
    "CertificationData",
    "EnclaveReport",
    "QeReportCertificationData",
    "Quote",
    "QuoteHeader",
    "QuoteSignatureData",
    "Report",
    "TdReport10",
    "TdReport15",
    "decode_quote_file",
    "load_quote",
    "parse_quote",
]

HEADER_SIZE = 48
ENCLAVE_REPORT_SIZE = 384
TD_REPORT10_SIZE = 584
TD_REPORT15_SIZE = 648
ECDSA_SIGNATURE_SIZE = 64
ECDSA_KEY_SIZE = 64

TEE_TYPE_SGX = 0x00000000
TEE_TYPE_TDX = 0x00000081
ATTESTATION_KEY_ECDSA_P256 = 2
_TEE_NAMES = {TEE_TYPE_TDX: "TDX", TEE_TYPE_SGX: "SGX"}
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")

# v5 body descriptor types and the body size each one implies.
BODY_SGX = 1
BODY_TDX10 = 2
BODY_TDX15 = 3
_BODY_SIZES = {BODY_SGX: ENCLAVE_REPORT_SIZE, BODY_TDX10: TD_REPORT10_SIZE, BODY_TDX15: TD_REPORT15_SIZE}

# Certification data types (Intel's QuoteLib spec, "Certification Data Type").
CERT_PCK_CHAIN = 5
CERT_QE_REPORT = 6
_KNOWN_CERT_TYPES = range(1, 8)

# A real PCK chain is three certificates of well under 2 KiB each.
_MAX_PEM_CERTS = 8


class _Reader:
    """Bounded little-endian reader that names the field on every failure."""

    __slots__ = ("_buf", "_end", "pos")

    def __init__(self, buf: bytes, start: int = 0, end: int | None = None) -> None:
        self._buf = buf
        self.pos = start
        self._end = len(buf) if end is None else end

    @property
    def remaining(self) -> int:
        return self._end - self.pos

    def take(self, n: int, field: str) -> bytes:
        pos = self.pos
        if n < 0 or pos + n > self._end:
            raise QuoteFormatError(
                f"{field} at offset {self.pos} needs {n} bytes but only {self.remaining} remain: "
                "the quote is truncated or a length field is wrong; check that the whole quote was captured"
            )
        self.pos = pos + n
        return self._buf[pos : pos + n]

    def u16(self, field: str) -> int:
        value: int = struct.unpack("<H", self.take(2, field))[0]
        return value

    def u32(self, field: str) -> int:
        value: int = struct.unpack("<I", self.take(4, field))[0]
        return value


@dataclass(frozen=True)
class QuoteHeader:
    """The 48-byte quote header."""

    version: int
    attestation_key_type: int
    tee_type: int
    qe_svn: int
    pce_svn: int
    qe_vendor_id: bytes
    user_data: bytes

    @property
    def tee(self) -> str:
        """``"TDX"``, ``"SGX"`` or ``"0x%08X"`` for anything else."""
        name = _TEE_NAMES.get(self.tee_type)
        return f"0x{self.tee_type:08X}" if name is None else name


@dataclass(frozen=True)
class EnclaveReport:
    """SGX enclave report body (384 bytes): the SGX quote body and the QE report."""

    raw: bytes
    cpu_svn: bytes
    misc_select: int
    attributes: bytes
    mr_enclave: bytes
    mr_signer: bytes
    isv_prod_id: int
    isv_svn: int
    report_data: bytes

    @property
    def debug(self) -> bool:
        """ATTRIBUTES.DEBUG (bit 1 of the first byte)."""
        return bool(self.attributes[0] & 0x02)


@dataclass(frozen=True)
class TdReport10:
    """TD report body for TDX 1.0 (584 bytes)."""

    raw: bytes
    tee_tcb_svn: bytes
    mr_seam: bytes
    mr_signer_seam: bytes
    seam_attributes: bytes
    td_attributes: bytes
    xfam: bytes
    mr_td: bytes
    mr_config_id: bytes
    mr_owner: bytes
    mr_owner_config: bytes
    rtmr0: bytes
    rtmr1: bytes
    rtmr2: bytes
    rtmr3: bytes
    report_data: bytes

    @property
    def rtmrs(self) -> tuple[bytes, bytes, bytes, bytes]:
        return (self.rtmr0, self.rtmr1, self.rtmr2, self.rtmr3)

    @property
    def debug(self) -> bool:
        """TDATTRIBUTES.DEBUG (bit 0)."""
        return bool(self.td_attributes[0] & 0x01)


@dataclass(frozen=True)
class TdReport15(TdReport10):
    """TD report body for TDX 1.5 (648 bytes): adds TEE_TCB_SVN2 and MRSERVICETD."""

    tee_tcb_svn2: bytes = b""
    mr_service_td: bytes = b""


Report = TdReport10 | TdReport15 | EnclaveReport


@dataclass(frozen=True)
class BodyDescriptor:
    """v5 only: the body type (1 SGX, 2 TDX 1.0, 3 TDX 1.5) and its size."""

    body_type: int
    size: int


@dataclass(frozen=True)
class CertificationData:
    """One certification data element: type, raw payload, and the PCK chain for type 5."""

    cert_type: int
    data: bytes
    pck_chain: tuple[bytes, ...] | None = None
    """DER certificates in the order they appear (type 5 only)."""


@dataclass(frozen=True)
class QeReportCertificationData:
    """QE report, its PCK signature, QE auth data and the nested certification data."""

    qe_report: EnclaveReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    certification_data: CertificationData


@dataclass(frozen=True)
class QuoteSignatureData:
    """ECDSA-256 quote signature data.

    ``certification_data`` is the outer element for v4/v5 (type 6 in every
    genuine quote) and the element after the QE auth data for v3.
    ``qe_report_certification`` is inline for v3 and parsed from a type-6
    outer element for v4/v5 (``None`` if the outer type is something else).
    """

    signature: bytes
    attestation_key: bytes
    certification_data: CertificationData
    qe_report_certification: QeReportCertificationData | None


@dataclass(frozen=True)
class Quote:
    """A parsed DCAP quote (SGX v3, TDX v4, TDX v5)."""

    header: QuoteHeader
    body_descriptor: BodyDescriptor | None
    report: Report
    signature_data: QuoteSignatureData
    signed_region: bytes
    """Exactly the bytes the attestation key signs: header (+ v5 descriptor) + body."""
    trailing_data: bytes
    """Bytes after the declared signature data: outside every signature, never checked."""

    @property
    def version(self) -> int:
        return self.header.version

    @property
    def tee(self) -> str:
        return self.header.tee

    @property
    def report_data(self) -> bytes:
        return self.report.report_data

    @property
    def pck_chain(self) -> tuple[bytes, ...] | None:
        """DER PCK chain carried by the quote (leaf first, as Intel emits it), if any."""
        qe = self.signature_data.qe_report_certification
        if qe is None:
            return None
        return qe.certification_data.pck_chain

    def to_dict(self) -> dict[str, object]:
        """Parsed fields with the key names of ``vectors/*/expected.json`` (lowercase hex)."""
        out: dict[str, object] = {
            "quote_version": self.header.version,
            "tee_type": self.header.tee,
            "attestation_key_type": self.header.attestation_key_type,
            "qe_vendor_id": self.header.qe_vendor_id.hex(),
            "report_data": self.report.report_data.hex(),
        }
        out.update(report_fields(self.report))
        return out


_T = TypeVar("_T")


def _build(cls: type[_T], names: tuple[str, ...], values: tuple[object, ...]) -> _T:
    """An instance of the frozen dataclass ``cls`` with every field given, in ``names`` order.

    The parser's hot path: a frozen dataclass's generated ``__init__`` sets each
    field through ``object.__setattr__`` (around the frozen guard), which was
    half the cost of the fixed-layout fields. None of these classes has a
    ``__post_init__``, so the instance is the one ``cls(*values)`` makes.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(zip(names, values, strict=True))
    return obj


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def report_fields(report: Report) -> dict[str, str]:
    """The measurement fields of a report as lowercase hex, by expected.json names."""
    if isinstance(report, EnclaveReport):
        return {
            "cpu_svn": report.cpu_svn.hex(),
            "attributes": report.attributes.hex(),
            "mr_enclave": report.mr_enclave.hex(),
            "mr_signer": report.mr_signer.hex(),
            "misc_select": f"{report.misc_select:08x}",
            "isv_prod_id": f"{report.isv_prod_id:04x}",
            "isv_svn": f"{report.isv_svn:04x}",
        }
    out = {
        "tee_tcb_svn": report.tee_tcb_svn.hex(),
        "mr_seam": report.mr_seam.hex(),
        "mr_signer_seam": report.mr_signer_seam.hex(),
        "seam_attributes": report.seam_attributes.hex(),
        "td_attributes": report.td_attributes.hex(),
        "xfam": report.xfam.hex(),
        "mr_td": report.mr_td.hex(),
        "mr_config_id": report.mr_config_id.hex(),
        "mr_owner": report.mr_owner.hex(),
        "mr_owner_config": report.mr_owner_config.hex(),
        "rtmr0": report.rtmr0.hex(),
        "rtmr1": report.rtmr1.hex(),
        "rtmr2": report.rtmr2.hex(),
        "rtmr3": report.rtmr3.hex(),
    }
    if isinstance(report, TdReport15):
        out["tee_tcb_svn2"] = report.tee_tcb_svn2.hex()
        out["mr_service_td"] = report.mr_service_td.hex()
    return out


# --------------------------------------------------------------------------- parsing


_HEADER = struct.Struct("<HHIHH16s20s")
_HEADER_FIELDS = _names(QuoteHeader)
_ENCLAVE_FIELDS = _names(EnclaveReport)
_TD10_FIELDS = _names(TdReport10)
_TD15_FIELDS = _names(TdReport15)
_QUOTE_FIELDS = _names(Quote)
_CD_FIELDS = _names(CertificationData)
_QE_BLOCK_FIELDS = _names(QeReportCertificationData)
_SIG_FIELDS = _names(QuoteSignatureData)


def _parse_header(r: _Reader) -> QuoteHeader:
    if r.remaining >= HEADER_SIZE:  # one unpack; the field-by-field path below names a truncated field
        return _build(QuoteHeader, _HEADER_FIELDS, _HEADER.unpack(r.take(HEADER_SIZE, "header")))
    version = r.u16("header.version")
    ak_type = r.u16("header.attestation_key_type")
    tee_type = r.u32("header.tee_type")
    qe_svn = r.u16("header.qe_svn")
    pce_svn = r.u16("header.pce_svn")
    vendor = r.take(16, "header.qe_vendor_id")
    user_data = r.take(20, "header.user_data")
    return QuoteHeader(version, ak_type, tee_type, qe_svn, pce_svn, vendor, user_data)


def _parse_enclave_report(r: _Reader, field: str) -> EnclaveReport:
    return _enclave_report(r.take(ENCLAVE_REPORT_SIZE, field))


_ENCLAVE_INTS = struct.Struct("<I")
_ENCLAVE_IDS = struct.Struct("<HH")


def _enclave_report(raw: bytes) -> EnclaveReport:
    """The 384-byte enclave report in ``raw``."""
    (misc_select,) = _ENCLAVE_INTS.unpack_from(raw, 16)
    isv_prod_id, isv_svn = _ENCLAVE_IDS.unpack_from(raw, 256)
    return _build(
        EnclaveReport,
        _ENCLAVE_FIELDS,
        (raw, raw[0:16], misc_select, raw[48:64], raw[64:96], raw[128:160], isv_prod_id, isv_svn, raw[320:384]),
    )


def _parse_td_report(r: _Reader, size: int) -> TdReport10:
    return _td_report(r.take(size, "td_report"))


# TD report fields after the raw bytes, in declaration order: TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM,
# SEAM_ATTRIBUTES, TD_ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3, REPORTDATA
# (TDX 1.5 adds TEE_TCB_SVN2 and MRSERVICETD). One unpack makes every slice in C.
_TD10_LAYOUT = struct.Struct("<16s48s48s8s8s8s48s48s48s48s48s48s48s48s64s")
_TD15_LAYOUT = struct.Struct(_TD10_LAYOUT.format + "16s48s")


def _td_report(raw: bytes) -> TdReport10:
    """The TD report in ``raw`` (584 or 648 bytes); fields by position (this runs on every quote)."""
    if len(raw) == TD_REPORT15_SIZE:
        return _build(TdReport15, _TD15_FIELDS, (raw, *_TD15_LAYOUT.unpack(raw)))
    return _build(TdReport10, _TD10_FIELDS, (raw, *_TD10_LAYOUT.unpack(raw)))


_PEM_GAP = b" \t\n\r\x0b\x0c"
# base64.b64decode(validate=True) is exactly this from 3.11 on; calling it directly saves the wrapper.
_b64_strict: Callable[[bytes], bytes] = (
    functools.partial(binascii.a2b_base64, strict_mode=True)
    if sys.version_info >= (3, 11)
    else functools.partial(base64.b64decode, validate=True)
)
_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


def decode_pem_chain(data: bytes, offset: int) -> tuple[bytes, ...]:
    """The DER certificates of a type-5 PEM chain: CERTIFICATE blocks and whitespace only.

    Each marker is found by one forward ``bytes.find``, and a BEGIN without its
    END fails at once, so the work is linear in the data whatever it holds.
    """
    # Intel's QE NUL-terminates the chain inside its declared size.
    text = data.rstrip(b"\x00")
    fast = _pem_chain_fast(text)
    return fast if fast is not None else _pem_chain_checked(text, offset)


def _pem_chain_checked(text: bytes, offset: int) -> tuple[bytes, ...]:
    """:func:`decode_pem_chain` block by block: any input, and each problem is named."""
    certs: list[bytes] = []
    pos = 0
    while True:
        begin = text.find(_PEM_BEGIN, pos)
        gap = text[pos:] if begin < 0 else text[pos:begin]
        if gap.strip(_PEM_GAP):
            if certs:
                raise QuoteFormatError(
                    f"PCK certificate chain at offset {offset} has non-PEM bytes after certificate {len(certs)}"
                )
            raise QuoteFormatError(f"certification data type 5 at offset {offset} is not a PEM certificate chain")
        if begin < 0:
            break
        body_start = begin + len(_PEM_BEGIN)
        end = text.find(_PEM_END, body_start)
        if end < 0:
            raise QuoteFormatError(
                f"PCK certificate {len(certs) + 1} at offset {offset} has no END CERTIFICATE line"
                if certs
                else f"certification data type 5 at offset {offset} is not a PEM certificate chain"
            )
        if len(certs) == _MAX_PEM_CERTS:
            raise QuoteFormatError(
                f"PCK certificate chain at offset {offset} has more than {_MAX_PEM_CERTS} certificates"
            )
        body = text[body_start:end]
        try:
            # Intel's lines end in LF only: removing LFs is cheaper than deleting every kind of
            # whitespace, and strict decoding of what is left succeeds only if no other kind was there.
            der = _b64_strict(body.replace(b"\n", b""))
        except (binascii.Error, ValueError):
            der = None
        if der is None:
            try:
                der = _b64_strict(body.translate(None, _PEM_GAP))
            except (binascii.Error, ValueError):
                raise QuoteFormatError(
                    f"PCK certificate {len(certs) + 1} at offset {offset} is not valid base64 PEM"
                ) from None
        if not der:
            raise QuoteFormatError(f"PCK certificate {len(certs) + 1} at offset {offset} is empty")
        certs.append(der)
        pos = end + len(_PEM_END)
    if not certs:
        raise QuoteFormatError(f"certification data type 5 at offset {offset} is not a PEM certificate chain")
    return tuple(certs)


def _pem_chain_fast(text: bytes) -> tuple[bytes, ...] | None:
    """The chain in ``text`` if it is well formed with LF line ends, else None (then the loop names the problem).

    Split at the END markers, each piece is whitespace, a BEGIN marker and a
    body that decodes strictly once its LFs are removed; the tail is
    whitespace. Exactly then :func:`decode_pem_chain`'s loop finds the same
    blocks and returns the same certificates, with fewer steps per block.
    """
    parts = text.split(_PEM_END)
    if not 1 < len(parts) <= _MAX_PEM_CERTS + 1 or parts[-1].strip(_PEM_GAP):
        return None
    certs: list[bytes] = []
    for part in parts[:-1]:
        gap, begin, body = part.partition(_PEM_BEGIN)
        if not begin or gap.strip(_PEM_GAP):
            return None
        try:
            der = _b64_strict(body.replace(b"\n", b""))
        except (binascii.Error, ValueError):
            return None
        if not der:
            return None
        certs.append(der)
    return tuple(certs)


ChainDecoder = Callable[[bytes, int], tuple[bytes, ...]]
"""Decodes type-5 certification data (at the given quote offset) to its DER certificates, or raises."""


def _parse_certification_data(r: _Reader, field: str, limits: Limits, decode: ChainDecoder) -> CertificationData:
    start = r.pos
    cert_type = r.u16(f"{field}.type")
    size = r.u32(f"{field}.size")
    if cert_type not in _KNOWN_CERT_TYPES:
        raise QuoteFormatError(
            f"{field}.type at offset {start} is {cert_type}, not a known certification data type (1-7)",
            code="unsupported_certification_data",
        )
    data_offset = r.pos
    data = r.take(size, f"{field}.data")
    # After take(): a size larger than the input is a truncation (quote_format), not a size attack.
    check_size(
        size,
        limits.certification_data,
        f"{field} at offset {start}",
        name="certification_data",
        step="parse",
        error=QuoteFormatError,
    )
    chain = decode(data, data_offset) if cert_type == CERT_PCK_CHAIN else None
    return CertificationData(cert_type, data, chain)


def _parse_qe_report_block(r: _Reader, field: str, limits: Limits, decode: ChainDecoder) -> QeReportCertificationData:
    qe_report = _parse_enclave_report(r, f"{field}.qe_report")
    qe_sig = r.take(ECDSA_SIGNATURE_SIZE, f"{field}.qe_report_signature")
    auth_len = r.u16(f"{field}.qe_auth_data.size")
    auth = r.take(auth_len, f"{field}.qe_auth_data")
    nested = _parse_certification_data(r, f"{field}.certification_data", limits, decode)
    return QeReportCertificationData(qe_report, qe_sig, auth, nested)


def _expect_consumed(r: _Reader, field: str) -> None:
    if r.remaining:
        raise QuoteFormatError(
            f"{field} has {r.remaining} unexplained bytes at offset {r.pos}: its size field does not match its contents"
        )


_U16 = struct.Struct("<H")
_CERT_HEAD = struct.Struct("<HI")  # certification data type and size
_QE_BLOCK_FIXED = ENCLAVE_REPORT_SIZE + ECDSA_SIGNATURE_SIZE + 2  # QE report, its signature, auth data size


def _qe_block_exact(
    buf: bytes, start: int, end: int, limits: Limits, decode: ChainDecoder
) -> QeReportCertificationData | None:
    """The QE report block at ``buf[start:end]`` if it has the genuine shape, else None.

    The genuine shape: every length in bounds and under the limits, a PCK chain
    (type 5) as the nested certification data, and nothing left over. Then
    every check :func:`_parse_qe_report_block` makes passes except, possibly,
    the chain's decoding, which is the next one it would make and raises the
    same error here. Anything else returns None, and the caller parses field
    by field, which names what is wrong.
    """
    auth_start = start + _QE_BLOCK_FIXED
    if auth_start > end:
        return None
    auth_end = auth_start + _U16.unpack_from(buf, auth_start - 2)[0]
    data_start = auth_end + 6
    if data_start > end:
        return None
    cert_type, size = _CERT_HEAD.unpack_from(buf, auth_end)
    if cert_type != CERT_PCK_CHAIN or data_start + size != end or size > limits.certification_data:
        return None
    data = buf[data_start:end]
    nested = _build(CertificationData, _CD_FIELDS, (CERT_PCK_CHAIN, data, decode(data, data_start)))
    qe_sig_start = start + ENCLAVE_REPORT_SIZE
    return _build(
        QeReportCertificationData,
        _QE_BLOCK_FIELDS,
        (
            _enclave_report(buf[start:qe_sig_start]),
            buf[qe_sig_start : qe_sig_start + ECDSA_SIGNATURE_SIZE],
            buf[auth_start:auth_end],
            nested,
        ),
    )


def _signature_data_exact(
    buf: bytes, start: int, end: int, version: int, limits: Limits, decode: ChainDecoder
) -> QuoteSignatureData | None:
    """Signature data of the genuine shape in one pass (see :func:`_qe_block_exact`), else None."""
    block = start + ECDSA_SIGNATURE_SIZE + ECDSA_KEY_SIZE
    if version == 3:
        qe = _qe_block_exact(buf, block, end, limits, decode)
        if qe is None:
            return None
        outer = qe.certification_data
    else:
        inner = block + 6
        if inner > end:
            return None
        cert_type, size = _CERT_HEAD.unpack_from(buf, block)
        if cert_type != CERT_QE_REPORT or inner + size != end or size > limits.certification_data:
            return None
        qe = _qe_block_exact(buf, inner, end, limits, decode)
        if qe is None:
            return None
        outer = _build(CertificationData, _CD_FIELDS, (CERT_QE_REPORT, buf[inner:end], None))
    sig, key = buf[start : start + ECDSA_SIGNATURE_SIZE], buf[start + ECDSA_SIGNATURE_SIZE : block]
    return _build(QuoteSignatureData, _SIG_FIELDS, (sig, key, outer, qe))


def _parse_signature_data(
    buf: bytes, start: int, end: int, version: int, limits: Limits, decode: ChainDecoder = decode_pem_chain
) -> QuoteSignatureData:
    exact = _signature_data_exact(buf, start, end, version, limits, decode)
    return exact if exact is not None else _signature_data_fields(buf, start, end, version, limits, decode)


def _signature_data_fields(
    buf: bytes, start: int, end: int, version: int, limits: Limits, decode: ChainDecoder
) -> QuoteSignatureData:
    """Signature data read field by field: any shape, and each error names its field and offset."""
    r = _Reader(buf, start, end)
    sig = r.take(ECDSA_SIGNATURE_SIZE, "signature_data.signature")
    key = r.take(ECDSA_KEY_SIZE, "signature_data.attestation_key")
    if version == 3:
        qe = _parse_qe_report_block(r, "signature_data", limits, decode)
        outer = qe.certification_data
    else:
        outer = _parse_certification_data(r, "signature_data.certification_data", limits, decode)
        qe = None
        if outer.cert_type == CERT_QE_REPORT:
            inner_start = r.pos - len(outer.data)
            ir = _Reader(buf, inner_start, r.pos)
            qe = _parse_qe_report_block(ir, "qe_report_certification_data", limits, decode)
            _expect_consumed(ir, "qe_report_certification_data")
    _expect_consumed(r, "signature_data")
    return QuoteSignatureData(sig, key, outer, qe)


def parse_quote(raw: bytes, *, limits: Limits | None = None) -> Quote:
    """Parse raw quote bytes (SGX v3, TDX v4, TDX v5) into a :class:`Quote`.

    Raises :class:`QuoteFormatError` (code ``quote_format``,
    ``unsupported_quote_version``, ``unsupported_certification_data``, or
    ``input_too_large`` past ``limits``, default :data:`~tdxverify.limits.DEFAULT_LIMITS`).
    Bytes after the declared signature data are kept as ``trailing_data``.
    """
    return _parse(raw, limits, decode_pem_chain)


def parse_quote_with(raw: bytes, *, limits: Limits | None = None, decode: ChainDecoder = decode_pem_chain) -> Quote:
    """:func:`parse_quote` with the PCK chain decoded by ``decode`` (a :class:`~tdxverify.Verifier`'s memo)."""
    return _parse(raw, limits, decode)


def _parse(raw: bytes, limits: Limits | None, decode: ChainDecoder) -> Quote:
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise QuoteFormatError(f"a quote must be bytes, not {type(raw).__name__}")
    limits = DEFAULT_LIMITS if limits is None else limits
    if len(raw) > limits.quote:
        check_size(len(raw), limits.quote, "the quote", name="quote", step="parse", error=QuoteFormatError)
    r = _Reader(raw)
    header = _parse_header(r)
    descriptor: BodyDescriptor | None = None
    report: Report
    if header.version == 3:
        if header.tee_type != TEE_TYPE_SGX:
            raise QuoteFormatError(
                f"quote version 3 with TEE type {header.tee}: version 3 is SGX only",
                code="unsupported_quote_version",
            )
        report = _parse_enclave_report(r, "enclave_report")
    elif header.version == 4:
        if header.tee_type != TEE_TYPE_TDX:
            raise QuoteFormatError(
                f"quote version 4 with TEE type {header.tee}: only TDX v4 quotes are supported",
                code="unsupported_quote_version",
            )
        report = _parse_td_report(r, TD_REPORT10_SIZE)
    elif header.version == 5:
        d_off = r.pos
        body_type = r.u16("body_descriptor.type")
        body_size = r.u32("body_descriptor.size")
        expected = _BODY_SIZES.get(body_type)
        if expected is None:
            raise QuoteFormatError(
                f"body_descriptor.type at offset {d_off} is {body_type}; known types are "
                "1 (SGX), 2 (TDX 1.0) and 3 (TDX 1.5)"
            )
        if body_size != expected:
            raise QuoteFormatError(
                f"body_descriptor.size at offset {d_off + 2} is {body_size}, but body type "
                f"{body_type} is {expected} bytes"
            )
        if (body_type == BODY_SGX) != (header.tee_type == TEE_TYPE_SGX) or header.tee_type not in (
            TEE_TYPE_SGX,
            TEE_TYPE_TDX,
        ):
            raise QuoteFormatError(
                f"body type {body_type} does not match TEE type {header.tee}",
                code="unsupported_quote_version",
            )
        descriptor = BodyDescriptor(body_type, body_size)
        report = _parse_enclave_report(r, "enclave_report") if body_type == BODY_SGX else _parse_td_report(r, body_size)
    else:
        raise QuoteFormatError(
            f"quote version {header.version} is not supported (3, 4 and 5 are)",
            code="unsupported_quote_version",
        )
    signed_end = r.pos
    sig_len = r.u32("signature_data.size")
    sig_start = r.pos
    if sig_len > r.remaining:
        raise QuoteFormatError(
            f"signature_data.size at offset {sig_start - 4} is {sig_len} but only {r.remaining} "
            "bytes follow: the quote is truncated"
        )
    sig_data = _parse_signature_data(raw, sig_start, sig_start + sig_len, header.version, limits, decode)
    return _build(
        Quote,
        _QUOTE_FIELDS,
        (header, descriptor, report, sig_data, raw[:signed_end], raw[sig_start + sig_len :]),
    )


_HEX_RE = re.compile(r"^(?:0[xX])?[0-9a-fA-F\s]+$")
_URLSAFE_B64_RE = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# A hex quote starts with its version (3, 4 or 5) as a little-endian u16; base64 of a quote starts with A or B.
_HEX_QUOTE_START = re.compile(r"^0[345]00", re.IGNORECASE)
_NOT_TEXT = re.compile(r"[^\t\n\v\f\r\x20-\x7e]")
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\v\f\r"


def _load_error(msg: str) -> QuoteFormatError:
    return QuoteFormatError(msg, code="input_invalid", step="load")


def _where(text: str, i: int) -> str:
    line = text.count("\n", 0, i) + 1
    column = i - (text.rfind("\n", 0, i) + 1) + 1
    return f"offset {i} (line {line}, column {column})"


def _first_non_hex(text: str) -> int:
    """Index in ``text`` of the first character that is neither a hex digit nor whitespace (after any 0x)."""
    i = len(text) - len(text.lstrip())
    if text[i : i + 2] in ("0x", "0X"):
        i += 2
    while i < len(text) and (text[i] in _HEX_DIGITS or text[i].isspace()):
        i += 1
    return i


def _decode_text(text: str, *, from_file: bool = False) -> bytes:
    compact = "".join(text.split())
    if compact[:2] in ("0x", "0X"):
        compact = compact[2:]
    if not compact:
        raise _load_error("the quote file holds no quote text" if from_file else "the quote text is empty")
    if _HEX_RE.match(compact):
        if len(compact) % 2:
            raise _load_error("the quote looks like hex but has an odd number of digits: it was cut short")
        return bytes.fromhex(compact)
    decoded: bytes | None = None
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        if _URLSAFE_B64_RE.match(compact):
            with contextlib.suppress(binascii.Error, ValueError):
                decoded = base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
    if decoded is not None and _looks_binary(decoded):
        return decoded
    hex_share = sum(c in _HEX_DIGITS for c in compact) / len(compact)
    if _HEX_QUOTE_START.match(compact) or hex_share >= 0.9:
        # Hex with damage: base64 would "decode" it to garbage, so say where the damage is.
        i = _first_non_hex(text)
        raise _load_error(
            f"the quote looks like hex, but {text[i : i + 1]!r} at {_where(text, i)} is not a hex digit: "
            "keep only the hex digits (no quotes, log prefixes or other text)"
        )
    if decoded is not None:
        return decoded  # base64 of something that is not a quote: the parser says what is wrong
    if from_file:
        raise _load_error("the quote file holds text that is neither hex (optionally 0x-prefixed) nor base64")
    raise _load_error(
        "the quote text is neither hex (optionally 0x-prefixed) nor base64; to load a file, pass a "
        "pathlib.Path (a str is always taken as the quote's text)"
    )


def _looks_binary(data: bytes) -> bool:
    return len(data) >= 2 and data[1] == 0 and data[0] in (3, 4, 5)


def _file_problem(data: bytes) -> str | None:
    """Why ``data`` (not a raw quote) is not usable quote text either, or None to go on decoding."""
    printable = not data.translate(None, _TEXT_BYTES)  # only printable ASCII and whitespace
    if printable and not data.strip():
        return "the quote file is empty" if not data else "the quote file holds only whitespace"
    if not printable and not data.strip(b"\x00"):
        return (
            f"the quote file is {len(data)} zero bytes, not a quote (a raw quote starts with its version, "
            "3, 4 or 5): the quote was not captured; fetch it again from the TD"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        return (
            "the quote text starts with a UTF-8 byte-order mark (bytes 0-2: EF BB BF): save it as plain "
            "ASCII hex or base64, without the mark"
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return (
            f"the quote text is UTF-16 (byte-order mark {data[:2].hex(' ').upper()} at offset 0), as some "
            "Windows tools write it: save it as ASCII hex or base64"
        )
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        return (
            "the quote file holds JSON, not a quote; collateral JSON belongs in the second argument "
            "(tdxverify QUOTE COLLATERAL), and a quote inside JSON must be extracted first (e.g. jq -r .quote)"
        )
    if printable:
        return None  # hex or base64 decoding says the rest
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # binary: the parser reports what is wrong with it
    bad = _NOT_TEXT.search(text)
    if bad is not None:
        i, ch = bad.start(), bad.group()
        return (
            f"the quote text has {ch!r} (U+{ord(ch):04X}) at {_where(text, i)}, which is not part of "
            "hex or base64: the text was mis-encoded or mixed with something else; keep only the "
            "hex or base64 characters"
        )
    return None


def decode_quote_file(data: bytes) -> bytes:
    """The raw quote held by a file's contents: raw binary, or hex / base64 text.

    Raw binary starts with the quote version (3, 4 or 5, little-endian); text
    that is damaged (a byte-order mark, a stray character, JSON, zeros) is
    ``input_invalid`` with what is wrong and where, never parsed as binary.
    """
    if _looks_binary(data):
        return data
    problem = _file_problem(data)
    if problem is not None:
        raise _load_error(problem)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return data  # not text: let the parser report what is wrong with it
    return _decode_text(text, from_file=True)


# Hex doubles the size and base64 adds a third; whitespace and line breaks add more.
_TEXT_FACTOR = 4


def load_quote(src: bytes | bytearray | str | os.PathLike[str], *, limits: Limits | None = None) -> Quote:
    """Load a quote from raw bytes, a hex / base64 string, or a file path.

    Files may hold the raw quote, or hex / base64 text. Text and files may be
    up to 4x ``limits.quote`` (``input_too_large`` beyond).
    """
    return load_quote_with(src, limits=limits)


def load_quote_with(
    src: bytes | bytearray | str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    decode: ChainDecoder = decode_pem_chain,
) -> Quote:
    """:func:`load_quote` with the PCK chain decoded by ``decode`` (see :func:`parse_quote_with`)."""
    limits = DEFAULT_LIMITS if limits is None else limits
    text_limit = _TEXT_FACTOR * limits.quote
    if isinstance(src, (bytes, bytearray, memoryview)):
        return parse_quote_with(bytes(src), limits=limits, decode=decode)
    if isinstance(src, os.PathLike):
        try:
            with open(src, "rb") as fh:
                data = fh.read(text_limit + 1)
        except OSError as exc:
            raise QuoteFormatError(
                f"cannot read quote file {os.fspath(src)!r}: {exc.strerror or exc}",
                code="input_invalid",
                step="load",
            ) from None
        check_size(
            len(data), text_limit, "the quote file", name="quote", step="load", error=QuoteFormatError, truncated=True
        )
        return parse_quote_with(decode_quote_file(data), limits=limits, decode=decode)
    if isinstance(src, str):
        check_size(len(src), text_limit, "the quote text", name="quote", step="load", error=QuoteFormatError)
        return parse_quote_with(_decode_text(src), limits=limits, decode=decode)
    raise QuoteFormatError(
        f"cannot load a quote from {type(src).__name__}: pass bytes, a hex/base64 string or a path",
        code="input_invalid",
        step="load",
    )
