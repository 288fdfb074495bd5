"""Forge DCAP quotes byte-exactly: SGX v3, TDX v4 (TD report 1.0) and TDX v5.

A :class:`QuoteSpec` says what the quote contains; :func:`forge_quote` lays it
out in Intel's format ("Intel TDX DCAP Quoting Library API", quote v4/v5, and
the SGX ECDSA quote format v3), signs it and returns the bytes with a map of
where each part landed. Every field can be chosen, including ones a genuine
quoting enclave would never emit, so tests can build any forgery:

* choose a field (``QuoteSpec(td=TdReportSpec(rtmr3=...))``),
* override a signature, the embedded attestation key or the QE report data,
* or damage a region after signing (``corrupt={"quote_signature"}``).

Signatures are deterministic ECDSA P-256 / SHA-256 (RFC 6979), so the same
keys and spec always give the same bytes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..errors import VerificationError

__all__ = [
    "REGIONS",
    "SGX_APP_ENCLAVE",
    "SGX_QE_REPORT",
    "TD_QE_REPORT",
    "EnclaveReportSpec",
    "ForgeError",
    "ForgedQuote",
    "QuoteSpec",
    "TdReportSpec",
    "derive_p256_key",
    "flip",
    "forge_quote",
    "qe_report_data_for",
    "raw_public_key",
    "sign_raw",
]

INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
TEE_TYPE_SGX = 0x00000000
TEE_TYPE_TDX = 0x00000081

BODY_SGX = 1
BODY_TDX10 = 2
BODY_TDX15 = 3

REGIONS: frozenset[str] = frozenset(
    {
        "header",
        "body_descriptor",
        "body",
        "signature_data_size",
        "quote_signature",
        "attestation_key",
        "certification_data",
        "qe_report",
        "qe_report_signature",
        "qe_auth_data",
        "pck_cert_data",
        "trailing_data",
    }
)
"""Names of the parts of a forged quote (keys of :attr:`ForgedQuote.regions`)."""


class ForgeError(VerificationError, ValueError):
    """A spec cannot be laid out (a fixed-size field has the wrong length, a value is out of range)."""

    default_code = "input_invalid"
    default_step = "forge"


def _pseudo(label: str, size: int) -> bytes:
    """Stable filler that looks like a measurement (not all zeros, not random)."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"tdxverify-forge/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


@dataclass(frozen=True)
class TdReportSpec:
    """A TD report (TDX 1.0: 584 bytes; 1.5 adds ``tee_tcb_svn2`` and ``mr_service_td``).

    Defaults look like a production TD on a TDX 1.5 module (module version 1,
    SVN 6): Intel-signed module (zero MRSIGNER_SEAM), SEPT_VE_DISABLE set,
    no debug.
    """

    tee_tcb_svn: bytes = bytes.fromhex("06010300000000000000000000000000")
    mr_seam: bytes = _pseudo("mr_seam", 48)
    mr_signer_seam: bytes = bytes(48)
    seam_attributes: bytes = bytes(8)
    td_attributes: bytes = bytes.fromhex("0000001000000000")
    xfam: bytes = bytes.fromhex("e702060000000000")
    mr_td: bytes = _pseudo("mr_td", 48)
    mr_config_id: bytes = bytes(48)
    mr_owner: bytes = bytes(48)
    mr_owner_config: bytes = bytes(48)
    rtmr0: bytes = _pseudo("rtmr0", 48)
    rtmr1: bytes = _pseudo("rtmr1", 48)
    rtmr2: bytes = _pseudo("rtmr2", 48)
    rtmr3: bytes = bytes(48)
    report_data: bytes = _pseudo("td_report_data", 64)
    tee_tcb_svn2: bytes = bytes.fromhex("06010300000000000000000000000000")
    """TDX 1.5 only."""
    mr_service_td: bytes = bytes(48)
    """TDX 1.5 only."""

    def to_bytes(self, tdx15: bool) -> bytes:
        """The report in Intel's layout; ``tdx15`` appends the 1.5 fields."""
        parts = [
            _fixed(self.tee_tcb_svn, 16, "tee_tcb_svn"),
            _fixed(self.mr_seam, 48, "mr_seam"),
            _fixed(self.mr_signer_seam, 48, "mr_signer_seam"),
            _fixed(self.seam_attributes, 8, "seam_attributes"),
            _fixed(self.td_attributes, 8, "td_attributes"),
            _fixed(self.xfam, 8, "xfam"),
            _fixed(self.mr_td, 48, "mr_td"),
            _fixed(self.mr_config_id, 48, "mr_config_id"),
            _fixed(self.mr_owner, 48, "mr_owner"),
            _fixed(self.mr_owner_config, 48, "mr_owner_config"),
            _fixed(self.rtmr0, 48, "rtmr0"),
            _fixed(self.rtmr1, 48, "rtmr1"),
            _fixed(self.rtmr2, 48, "rtmr2"),
            _fixed(self.rtmr3, 48, "rtmr3"),
            _fixed(self.report_data, 64, "report_data"),
        ]
        if tdx15:
            parts.append(_fixed(self.tee_tcb_svn2, 16, "tee_tcb_svn2"))
            parts.append(_fixed(self.mr_service_td, 48, "mr_service_td"))
        return b"".join(parts)


@dataclass(frozen=True)
class EnclaveReportSpec:
    """An SGX report body (384 bytes): the SGX quote body, and the QE report.

    ``report_data=None`` means "the right value": for a QE report, the
    binding of the attestation key and QE auth data (see
    :func:`qe_report_data_for`); for a quote body, 64 zero bytes.
    """

    cpu_svn: bytes = bytes.fromhex("0b0b1a18ffff04000000000000000000")
    misc_select: int = 0
    isv_ext_prod_id: bytes = bytes(16)
    attributes: bytes = bytes.fromhex("0500000000000000e700000000000000")
    mr_enclave: bytes = _pseudo("mr_enclave", 32)
    mr_signer: bytes = _pseudo("mr_signer", 32)
    config_id: bytes = bytes(64)
    isv_prod_id: int = 0
    isv_svn: int = 0
    config_svn: int = 0
    isv_family_id: bytes = bytes(16)
    report_data: bytes | None = None

    def to_bytes(self, report_data: bytes) -> bytes:
        """The report in Intel's layout, with ``report_data`` used when the spec leaves it ``None``."""
        data = self.report_data if self.report_data is not None else report_data
        return b"".join(
            [
                _fixed(self.cpu_svn, 16, "cpu_svn"),
                _u32(self.misc_select, "misc_select"),
                bytes(12),
                _fixed(self.isv_ext_prod_id, 16, "isv_ext_prod_id"),
                _fixed(self.attributes, 16, "attributes"),
                _fixed(self.mr_enclave, 32, "mr_enclave"),
                bytes(32),
                _fixed(self.mr_signer, 32, "mr_signer"),
                bytes(32),
                _fixed(self.config_id, 64, "config_id"),
                _u16(self.isv_prod_id, "isv_prod_id"),
                _u16(self.isv_svn, "isv_svn"),
                _u16(self.config_svn, "config_svn"),
                bytes(42),
                _fixed(self.isv_family_id, 16, "isv_family_id"),
                _fixed(data, 64, "report_data"),
            ]
        )


TD_QE_REPORT = EnclaveReportSpec(
    cpu_svn=bytes.fromhex("0303191b04ff00060000000000000000"),
    attributes=bytes.fromhex("1500000000000000e700000000000000"),
    mr_enclave=_pseudo("td_qe_mr_enclave", 32),
    mr_signer=bytes.fromhex("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"),
    isv_prod_id=2,
    isv_svn=4,
)
"""The TD quoting enclave's report: Intel's TD_QE MRSIGNER, ISVPRODID 2, ISVSVN 4."""

SGX_QE_REPORT = EnclaveReportSpec(
    cpu_svn=bytes.fromhex("0b0b1a18ffff04000000000000000000"),
    attributes=bytes.fromhex("1500000000000000e700000000000000"),
    mr_enclave=_pseudo("sgx_qe_mr_enclave", 32),
    mr_signer=bytes.fromhex("8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff"),
    isv_prod_id=1,
    isv_svn=8,
)
"""The SGX quoting enclave's report: Intel's QE MRSIGNER, ISVPRODID 1, ISVSVN 8."""

SGX_APP_ENCLAVE = EnclaveReportSpec(report_data=_pseudo("sgx_report_data", 64))
"""A production (non-debug) application enclave: the default SGX quote body."""


@dataclass(frozen=True)
class QuoteSpec:
    """Everything in a quote. Defaults: a TDX v4 quote from a production TD.

    ``version`` 3 is SGX; 4 is TDX with TD report 1.0; 5 carries a body
    descriptor with ``body_type`` 1 (SGX), 2 (TDX 1.0) or 3 (TDX 1.5, the
    default for v5). Any other version is laid out like v4, so parsers can be
    shown an unknown version. ``None`` fields take the value a genuine quote
    would have.
    """

    version: int = 4
    body_type: int | None = None
    """v5 only; ``None``: 3 (TDX 1.5)."""
    body_size: int | None = None
    """v5 descriptor size; ``None``: the real body size."""
    tee_type: int | None = None
    """``None``: SGX (0) for v3 and v5 body type 1, TDX (0x81) otherwise."""
    attestation_key_type: int = 2
    qe_svn: int | None = None
    """Header QE SVN; ``None``: 0 for TDX (as Intel's TD QE writes it), the QE ISVSVN for SGX."""
    pce_svn: int | None = None
    """Header PCE SVN; ``None``: 0 (informational: verifiers use the PCK certificate's PCESVN)."""
    qe_vendor_id: bytes = INTEL_QE_VENDOR_ID
    user_data: bytes = _pseudo("qe_id", 16) + bytes(4)

    td: TdReportSpec = TdReportSpec()
    """The TD report (TDX quotes)."""
    enclave: EnclaveReportSpec = SGX_APP_ENCLAVE
    """The enclave report (SGX quotes)."""
    qe_report: EnclaveReportSpec | None = None
    """``None``: :data:`TD_QE_REPORT` for TDX, :data:`SGX_QE_REPORT` for SGX."""
    qe_auth_data: bytes = bytes(range(32))

    certification_data_type: int = 6
    """Outer certification data type (v4/v5; genuine quotes use 6, QE report)."""
    outer_certification_data: bytes | None = None
    """v4/v5: replace the whole outer certification data payload with these bytes."""
    pck_cert_data_type: int = 5
    """Type of the certification data that carries the PCK chain (5, PEM chain)."""
    pck_cert_data: bytes | None = None
    """``None``: the PCK chain PEM, NUL-terminated as Intel's QE writes it."""

    attestation_key: bytes | None = None
    """Embedded 64-byte attestation key; ``None``: the signing key's (the quote is still signed by it)."""
    quote_signature: bytes | None = None
    """Replace the quote signature (64 bytes r||s)."""
    qe_report_signature: bytes | None = None
    """Replace the QE report signature (64 bytes r||s)."""
    signature_data_size: int | None = None
    """Declared signature data length; ``None``: the real length."""
    trailing_data: bytes = b""
    """Bytes after the signature data (outside every signature)."""
    corrupt: frozenset[str] = frozenset()
    """Regions (see :data:`REGIONS`) whose last byte is flipped after signing."""

    @property
    def is_sgx(self) -> bool:
        """True when the body is an SGX enclave report."""
        if self.version == 3:
            return True
        return self.version == 5 and self.effective_body_type == BODY_SGX

    @property
    def effective_body_type(self) -> int:
        """The v5 body type used (``body_type`` or its default)."""
        return self.body_type if self.body_type is not None else BODY_TDX15

    @property
    def effective_qe_report(self) -> EnclaveReportSpec:
        """The QE report spec used (``qe_report`` or the TEE's default)."""
        if self.qe_report is not None:
            return self.qe_report
        return SGX_QE_REPORT if self.is_sgx else TD_QE_REPORT


@dataclass(frozen=True)
class ForgedQuote:
    """Quote bytes and where each part is: ``regions[name] = (start, end)``."""

    raw: bytes
    regions: Mapping[str, tuple[int, int]]

    def region(self, name: str) -> bytes:
        """The bytes of one region."""
        start, end = self.regions[name]
        return self.raw[start:end]


# --------------------------------------------------------------------------- keys and signing


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def derive_p256_key(seed: bytes | str, label: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key determined by ``seed`` and ``label`` (test keys only)."""
    seed_bytes = seed.encode() if isinstance(seed, str) else bytes(seed)
    digest = hashlib.sha512(b"tdxverify-forge-key\x00" + seed_bytes + b"\x00" + label.encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def raw_public_key(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 64-byte X||Y form quotes carry."""
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    nums = pub.public_numbers()
    return nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")


def sign_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Deterministic ECDSA P-256 / SHA-256 signature over ``data`` as 64 bytes r||s."""
    der = key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def qe_report_data_for(attestation_key_raw: bytes, qe_auth_data: bytes) -> bytes:
    """The QE report data that binds an attestation key: SHA-256(key || auth data) || 32 zero bytes."""
    return hashlib.sha256(attestation_key_raw + qe_auth_data).digest() + bytes(32)


def flip(raw: bytes, offset: int, mask: int = 0x01) -> bytes:
    """``raw`` with the byte at ``offset`` XORed with ``mask`` (negative offsets count from the end)."""
    if not -len(raw) <= offset < len(raw):
        raise ForgeError(f"offset {offset} is outside the {len(raw)}-byte input")
    buf = bytearray(raw)
    buf[offset] ^= mask
    return bytes(buf)


# --------------------------------------------------------------------------- layout


def _fixed(value: bytes, size: int, name: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise ForgeError(f"{name} must be bytes, not {type(value).__name__}")
    if len(value) != size:
        raise ForgeError(f"{name} must be {size} bytes, got {len(value)}")
    return bytes(value)


def _int(value: int, bits: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ForgeError(f"{name} must be an integer in 0..{(1 << bits) - 1}, got {value!r}")
    return value


def _u16(value: int, name: str) -> bytes:
    return struct.pack("<H", _int(value, 16, name))


def _u32(value: int, name: str) -> bytes:
    return struct.pack("<I", _int(value, 32, name))


class _Builder:
    """Appends parts and records the span of each named region."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.regions: dict[str, tuple[int, int]] = {}

    def add(self, data: bytes, region: str | None = None) -> None:
        start = len(self.buf)
        self.buf += data
        if region is not None:
            self.regions[region] = (start, len(self.buf))


def _cert_data_header(cert_type: int, size: int, name: str) -> bytes:
    return _u16(cert_type, f"{name} type") + _u32(size, f"{name} size")


def forge_quote(
    spec: QuoteSpec,
    *,
    attestation_key: ec.EllipticCurvePrivateKey,
    pck_key: ec.EllipticCurvePrivateKey,
    pck_chain_pem: bytes | str,
) -> ForgedQuote:
    """Lay out, sign and (if asked) corrupt a quote.

    ``attestation_key`` signs the header (+ v5 descriptor) and body;
    ``pck_key`` (the PCK leaf's key) signs the QE report; ``pck_chain_pem``
    is the PEM chain (leaf first) carried in the certification data.
    """
    unknown = set(spec.corrupt) - REGIONS
    if unknown:
        raise ForgeError(f"unknown regions to corrupt: {sorted(unknown)}; known: {sorted(REGIONS)}")
    sgx = spec.is_sgx
    tee_type = spec.tee_type if spec.tee_type is not None else (TEE_TYPE_SGX if sgx else TEE_TYPE_TDX)
    qe_spec = spec.effective_qe_report
    qe_svn = spec.qe_svn if spec.qe_svn is not None else (qe_spec.isv_svn if sgx else 0)
    pce_svn = spec.pce_svn if spec.pce_svn is not None else 0

    b = _Builder()
    header = b"".join(
        [
            _u16(spec.version, "version"),
            _u16(spec.attestation_key_type, "attestation_key_type"),
            _u32(tee_type, "tee_type"),
            _u16(qe_svn, "qe_svn"),
            _u16(pce_svn, "pce_svn"),
            _fixed(spec.qe_vendor_id, 16, "qe_vendor_id"),
            _fixed(spec.user_data, 20, "user_data"),
        ]
    )
    b.add(header, "header")

    if sgx:
        body = spec.enclave.to_bytes(bytes(64))
    else:
        tdx15 = spec.version == 5 and spec.effective_body_type == BODY_TDX15
        body = spec.td.to_bytes(tdx15)
    if spec.version == 5:
        size = spec.body_size if spec.body_size is not None else len(body)
        b.add(_u16(spec.effective_body_type, "body_type") + _u32(size, "body_size"), "body_descriptor")
    b.add(body, "body")
    signed_region = bytes(b.buf)

    ak_raw = raw_public_key(attestation_key)
    embedded_key = _fixed(spec.attestation_key, 64, "attestation_key") if spec.attestation_key is not None else ak_raw
    quote_sig = (
        _fixed(spec.quote_signature, 64, "quote_signature")
        if spec.quote_signature is not None
        else sign_raw(attestation_key, signed_region)
    )

    # The QE block: QE report, its PCK signature, auth data, PCK certification data.
    qe_report = qe_spec.to_bytes(qe_report_data_for(embedded_key, spec.qe_auth_data))
    qe_sig = (
        _fixed(spec.qe_report_signature, 64, "qe_report_signature")
        if spec.qe_report_signature is not None
        else sign_raw(pck_key, qe_report)
    )
    chain = pck_chain_pem.encode("ascii") if isinstance(pck_chain_pem, str) else bytes(pck_chain_pem)
    pck_data = spec.pck_cert_data if spec.pck_cert_data is not None else chain + b"\x00"
    auth = spec.qe_auth_data
    _int(len(auth), 16, "len(qe_auth_data)")

    sig = _Builder()
    sig.add(quote_sig, "quote_signature")
    sig.add(embedded_key, "attestation_key")
    qe_block = _Builder()
    qe_block.add(qe_report, "qe_report")
    qe_block.add(qe_sig, "qe_report_signature")
    qe_block.add(_u16(len(auth), "len(qe_auth_data)"))
    qe_block.add(auth, "qe_auth_data")
    qe_block.add(_cert_data_header(spec.pck_cert_data_type, len(pck_data), "PCK certification data"))
    qe_block.add(pck_data, "pck_cert_data")

    if spec.version == 3:
        # v3 has no outer wrapper: the PCK certification data is "the" certification data.
        _merge(sig, qe_block)
        start = sig.regions["pck_cert_data"][0] - 6
        sig.regions["certification_data"] = (start, sig.regions["pck_cert_data"][1])
    else:
        outer_start = len(sig.buf)
        if spec.outer_certification_data is None:
            sig.add(_cert_data_header(spec.certification_data_type, len(qe_block.buf), "certification data"))
            _merge(sig, qe_block)
        else:
            payload = bytes(spec.outer_certification_data)
            sig.add(_cert_data_header(spec.certification_data_type, len(payload), "certification data"))
            sig.add(payload)
        sig.regions["certification_data"] = (outer_start, len(sig.buf))

    sig_size = spec.signature_data_size if spec.signature_data_size is not None else len(sig.buf)
    b.add(_u32(sig_size, "signature_data_size"), "signature_data_size")
    _merge(b, sig)
    b.add(bytes(spec.trailing_data), "trailing_data")

    raw = bytearray(b.buf)
    for name in sorted(spec.corrupt):
        span = b.regions.get(name)
        if span is None or span[0] == span[1]:
            raise ForgeError(f"region {name!r} is absent or empty in this quote and cannot be corrupted")
        raw[span[1] - 1] ^= 0x01
    return ForgedQuote(bytes(raw), MappingProxyType(dict(b.regions)))


def _merge(into: _Builder, part: _Builder) -> None:
    base = len(into.buf)
    into.buf += part.buf
    for name, (start, end) in part.regions.items():
        into.regions[name] = (base + start, base + end)
