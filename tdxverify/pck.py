"""The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1).

Decoded by a small strict DER reader (this one extension only) into a frozen
:class:`PckExtension`: each required entry present exactly once with the type
and length Intel's "SGX PCK Certificate and CRL Profile" gives it, and the
encoding DER, not merely BER: definite lengths in their shortest form,
minimal INTEGERs, BOOLEANs 0x00/0xFF, no bytes after a value. Work is linear
in the input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography import x509

from .errors import CertificateError

__all__ = [
    "SGX_EXTENSION_OID",
    "PckExtension",
    "PlatformConfiguration",
    "parse_pck_extension",
    "pck_extension_of",
]

SGX_EXTENSION_OID = "1.2.840.113741.1.13.1"
_P = SGX_EXTENSION_OID

SGX_TYPES = {0: "Standard", 1: "Scalable", 2: "ScalableWithIntegrity"}

# Universal tags (class universal, primitive unless noted).
_BOOLEAN = 0x01
_INTEGER = 0x02
_OCTET_STRING = 0x04
_OID = 0x06
_ENUMERATED = 0x0A
_SEQUENCE = 0x30  # constructed

_TAG_NAMES = {
    _BOOLEAN: "BOOLEAN",
    _INTEGER: "INTEGER",
    _OCTET_STRING: "OCTET STRING",
    _OID: "OBJECT IDENTIFIER",
    _ENUMERATED: "ENUMERATED",
    _SEQUENCE: "SEQUENCE",
}


@dataclass(frozen=True)
class PlatformConfiguration:
    """Platform CA certificates only: how the platform was provisioned."""

    dynamic_platform: bool | None
    cached_keys: bool | None
    smt_enabled: bool | None


@dataclass(frozen=True)
class PckExtension:
    """Typed contents of the Intel SGX extension of a PCK certificate."""

    ppid: bytes
    cpu_svn_components: tuple[int, ...]
    """The 16 SGX TCB component SVNs (OIDs ...1.2.1 to ...1.2.16): Intel matches these."""
    pce_svn: int
    cpu_svn: bytes
    """The raw 16-byte CPUSVN (OID ...1.2.18)."""
    pce_id: bytes
    fmspc: bytes
    sgx_type: int
    platform_instance_id: bytes | None = None
    configuration: PlatformConfiguration | None = None

    @property
    def fmspc_hex(self) -> str:
        """FMSPC as Intel writes it: 12 upper-case hex digits."""
        return self.fmspc.hex().upper()

    @property
    def sgx_type_name(self) -> str:
        return SGX_TYPES.get(self.sgx_type, f"Unknown({self.sgx_type})")


def _bad(msg: str) -> CertificateError:
    return CertificateError(
        f"PCK certificate SGX extension: {msg}; the PCK certificate is not a genuine Intel PCK certificate",
        code="pck_extension_invalid",
        step="pck_extension",
    )


def _tlv(buf: bytes, pos: int, end: int, where: str) -> tuple[int, int, int]:
    """``(tag, value_start, value_end)`` of the DER element at ``buf[pos]`` (ending by ``end``)."""
    if pos + 2 > end:
        raise _bad(f"{where} is truncated")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise _bad(f"{where} uses a multi-byte tag, which this extension never has")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise _bad(f"{where} uses an indefinite length (BER, not DER)")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > end:
            raise _bad(f"{where} has a length of {n} bytes that does not fit")
        length = int.from_bytes(buf[pos : pos + n], "big")
        if buf[pos] == 0 or length < 0x80:
            raise _bad(f"{where} has a long-form length where DER requires the shortest form")
        pos += n
    if length > end - pos:
        raise _bad(f"{where} claims {length} bytes but only {end - pos} remain")
    return tag, pos, pos + length


# One subidentifier: a byte < 0x80, or a first byte 0x81-0xFF (0x80 would be a non-minimal
# leading zero), continuation bytes >= 0x80, and a last byte < 0x80. Deterministic: linear.
_OID_CONTENT = re.compile(rb"(?:[\x81-\xff][\x80-\xff]*[\x00-\x7f]|[\x00-\x7f])+", re.DOTALL)


def _check_oid(value: bytes, where: str) -> bytes:
    """The content octets of a DER OBJECT IDENTIFIER, checked to be well formed and minimal."""
    if _OID_CONTENT.fullmatch(value) is None:
        raise _bad(f"{where} is not a valid, minimal OBJECT IDENTIFIER encoding")
    return value


def _oid_text(value: bytes) -> str:
    """Dotted form of valid OID content octets (for messages)."""
    arcs: list[int] = []
    cur = 0
    for b in value:
        cur = (cur << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(cur)
            cur = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _oid_content(dotted: str) -> bytes:
    """DER content octets of a dotted OID (for the OIDs this module looks up)."""
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def _sequence_items(buf: bytes, start: int, end: int, where: str) -> list[tuple[int, int, int, int]]:
    """``(tag, element_start, value_start, value_end)`` of each element in ``buf[start:end]``."""
    items: list[tuple[int, int, int, int]] = []
    pos = start
    while pos < end:
        tag, vs, ve = _tlv(buf, pos, end, where)
        items.append((tag, pos, vs, ve))
        pos = ve
    return items


_Entries = dict[bytes, tuple[int, bytes]]
"""OID content octets -> (tag, content octets; the whole element for a SEQUENCE) of a SEQUENCE OF SEQUENCE
{OID, value}. DER makes an OID's encoding unique, so equal bytes are equal OIDs."""


# "<where> entry <n>" for the entries a genuine extension has, named once instead of on every decode.
_ENTRY_NAMES: Mapping[tuple[str, int], str] = MappingProxyType(
    {(where, i): f"{where} entry {i + 1}" for where in ("extension", "TCB", "Configuration") for i in range(24)}
)


def _index(buf: bytes, where: str) -> _Entries:
    """The entries of the SEQUENCE OF SEQUENCE {OID, value} that is the whole of ``buf``."""
    tag, start, end = _tlv(buf, 0, len(buf), where)
    if tag != _SEQUENCE:
        raise _bad(f"{where} is not a valid ASN.1 sequence (tag {tag:#04x})")
    if end != len(buf):
        raise _bad(f"{where} has {len(buf) - end} bytes after its sequence")
    fast = _entries_fast(buf, start, end)
    return fast if fast is not None else _entries_checked(buf, start, end, where)


def _short_or_tlv(buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """``(value_start, value_end)`` of the element at ``pos``, or None where :func:`_tlv` would fail."""
    if pos + 2 > end or buf[pos] & 0x1F == 0x1F:
        return None
    n = buf[pos + 1]
    if n < 0x80:
        ve = pos + 2 + n
        return (pos + 2, ve) if ve <= end else None
    try:
        _, vs, ve = _tlv(buf, pos, end, "")
    except CertificateError:
        return None
    return vs, ve


def _entries_fast(buf: bytes, start: int, end: int) -> _Entries | None:
    """:func:`_entries_checked` for well-formed input, else None (and that one names the problem).

    Where every entry is a SEQUENCE of exactly an OBJECT IDENTIFIER and one
    value, with DER lengths, valid distinct OIDs and nothing left over, the
    checked reader passes every check and returns these very entries; this
    reads them without its per-element bookkeeping (the SGX extension is
    decoded for every new PCK certificate). Anything else returns None.
    """
    out: _Entries = {}
    pos = start
    while pos < end:
        if buf[pos] != _SEQUENCE:
            return None
        entry = _short_or_tlv(buf, pos, end)
        if entry is None:
            return None
        es, ee = entry
        if es + 2 > ee or buf[es] != _OID:
            return None
        oid_span = _short_or_tlv(buf, es, ee)
        if oid_span is None:
            return None
        v = oid_span[1]
        value = _short_or_tlv(buf, v, ee)
        if value is None or value[1] != ee:
            return None
        oid = buf[oid_span[0] : v]
        if oid in out or _OID_CONTENT.fullmatch(oid) is None:
            return None
        vtag = buf[v]
        out[oid] = (vtag, buf[v:ee] if vtag == _SEQUENCE else buf[value[0] : ee])
        pos = ee
    return out


def _entries_checked(buf: bytes, start: int, end: int, where: str) -> _Entries:
    """The entries of ``buf[start:end]``, each element checked; the first problem raises, by name."""
    out: _Entries = {}
    for i, (etag, _, es, ee) in enumerate(_sequence_items(buf, start, end, where)):
        at = _ENTRY_NAMES.get((where, i)) or f"{where} entry {i + 1}"
        if etag != _SEQUENCE:
            raise _bad(f"{at} is not a SEQUENCE")
        parts = _sequence_items(buf, es, ee, at)
        if len(parts) != 2 or parts[0][0] != _OID:
            raise _bad(f"{at} is not a SEQUENCE of an OBJECT IDENTIFIER and a value")
        oid = _check_oid(buf[parts[0][2] : parts[0][3]], at)
        if oid in out:
            raise _bad(f"{where} repeats entry {_oid_text(oid)}")
        vtag, vstart, vs, ve = parts[1]
        # A nested SEQUENCE keeps its whole encoding, to be indexed in turn.
        out[oid] = (vtag, buf[vstart:ve] if vtag == _SEQUENCE else buf[vs:ve])
    return out


# Content octets of every OID this module looks up, computed once.
_ENCODED: Mapping[str, bytes] = MappingProxyType(
    {
        oid: _oid_content(oid)
        for oid in (
            *(f"{_P}.{i}" for i in range(1, 8)),
            *(f"{_P}.2.{i}" for i in range(1, 19)),
            *(f"{_P}.7.{i}" for i in range(1, 4)),
        )
    }
)


def _value(entries: _Entries, oid: str, tag: int, name: str, required: bool = True) -> bytes | None:
    found = entries.get(_ENCODED[oid])
    if found is None:
        if required:
            raise _bad(f"missing {name} ({oid})")
        return None
    if found[0] != tag:
        raise _bad(f"{name} ({oid}) has the wrong type (tag {found[0]:#04x}, expected {_TAG_NAMES[tag]})")
    return found[1]


def _integer(value: bytes, name: str) -> int:
    if not value:
        raise _bad(f"{name} is an empty INTEGER")
    if len(value) > 1 and ((value[0] == 0x00 and not value[1] & 0x80) or (value[0] == 0xFF and value[1] & 0x80)):
        raise _bad(f"{name} is not a minimal INTEGER encoding (DER)")
    return int.from_bytes(value, "big", signed=True)


def _octets(entries: _Entries, oid: str, name: str, size: int, required: bool = True) -> bytes | None:
    value = _value(entries, oid, _OCTET_STRING, name, required)
    if value is None:
        return None
    if len(value) != size:
        raise _bad(f"{name} is {len(value)} bytes, expected {size}")
    return value


def _svn(entries: _Entries, oid: str, name: str) -> int:
    value = _integer(_value(entries, oid, _INTEGER, name) or b"", name)
    if not 0 <= value <= 0xFFFF:
        raise _bad(f"{name} is {value}, outside 0..65535")
    return value


def _boolean(entries: _Entries, oid: str, name: str) -> bool | None:
    value = _value(entries, oid, _BOOLEAN, name, required=False)
    if value is None:
        return None
    if value not in (b"\x00", b"\xff"):
        raise _bad(f"{name} ({oid}) is not a DER BOOLEAN (one byte, 0x00 or 0xFF)")
    return value == b"\xff"


_COMPONENT_NAMES = tuple((f"{_P}.2.{i}", f"SGX TCB component {i}") for i in range(1, 17))


def parse_pck_extension(der: bytes) -> PckExtension:
    """Decode the DER value of the SGX extension."""
    top = _index(bytes(der), "extension")
    ppid = _octets(top, f"{_P}.1", "PPID", 16)
    tcb_der = _value(top, f"{_P}.2", _SEQUENCE, "TCB")
    assert tcb_der is not None
    tcb = _index(tcb_der, "TCB")
    comps = tuple(_svn(tcb, oid, name) for oid, name in _COMPONENT_NAMES)
    for c in comps:
        if c > 0xFF:
            raise _bad(f"SGX TCB component SVN {c} exceeds 255")
    pce_svn = _svn(tcb, f"{_P}.2.17", "PCESVN")
    cpu_svn = _octets(tcb, f"{_P}.2.18", "CPUSVN", 16)
    pce_id = _octets(top, f"{_P}.3", "PCE-ID", 2)
    fmspc = _octets(top, f"{_P}.4", "FMSPC", 6)
    sgx_type = _integer(_value(top, f"{_P}.5", _ENUMERATED, "SGX Type") or b"", "SGX Type")
    if not 0 <= sgx_type <= 0xFF:
        raise _bad(f"SGX Type {sgx_type} is outside 0..255")
    instance = _octets(top, f"{_P}.6", "PlatformInstanceID", 16, required=False)
    config: PlatformConfiguration | None = None
    cfg_der = _value(top, f"{_P}.7", _SEQUENCE, "Configuration", required=False)
    if cfg_der is not None:
        cfg = _index(cfg_der, "Configuration")
        config = PlatformConfiguration(
            dynamic_platform=_boolean(cfg, f"{_P}.7.1", "dynamicPlatform"),
            cached_keys=_boolean(cfg, f"{_P}.7.2", "cachedKeys"),
            smt_enabled=_boolean(cfg, f"{_P}.7.3", "SMTEnabled"),
        )
    assert ppid is not None and cpu_svn is not None and pce_id is not None and fmspc is not None
    return PckExtension(
        ppid=ppid,
        cpu_svn_components=comps,
        pce_svn=pce_svn,
        cpu_svn=cpu_svn,
        pce_id=pce_id,
        fmspc=fmspc,
        sgx_type=sgx_type,
        platform_instance_id=instance,
        configuration=config,
    )


def pck_extension_of(cert: x509.Certificate) -> PckExtension:
    """Find and decode the SGX extension of a PCK certificate."""
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(SGX_EXTENSION_OID))
    except x509.ExtensionNotFound:
        raise _bad("the certificate has no Intel SGX extension") from None
    except ValueError as exc:
        raise _bad(f"the certificate's extensions cannot be decoded ({exc})") from None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise _bad("unexpected extension type")
    return parse_pck_extension(value.value)
