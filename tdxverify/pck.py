"""The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1).

Decoded with asn1crypto into a frozen :class:`PckExtension`, strictly: each
required entry present exactly once with the type and length Intel's
"SGX PCK Certificate and CRL Profile" gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import core
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


class _Entry(core.Sequence):
    _fields = [("id", core.ObjectIdentifier), ("value", core.Any)]  # noqa: RUF012


class _Entries(core.SequenceOf):
    _child_spec = _Entry


class _SgxType(core.Enumerated):
    # asn1crypto maps ENUMERATED values through _map; identity keeps the integer.
    _map = {i: i for i in range(256)}  # noqa: RUF012


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


def _index(der: bytes, where: str) -> dict[str, Any]:
    try:
        entries = _Entries.load(der, strict=True)
        out: dict[str, Any] = {}
        for entry in entries:
            oid = entry["id"].dotted
            if oid in out:
                raise _bad(f"{where} repeats entry {oid}")
            out[oid] = entry["value"]
        return out
    except CertificateError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise _bad(f"{where} is not a valid ASN.1 sequence ({exc})") from None


def _typed(entries: dict[str, Any], oid: str, spec: type[core.Asn1Value], name: str, required: bool = True) -> Any:
    value = entries.get(oid)
    if value is None:
        if required:
            raise _bad(f"missing {name} ({oid})")
        return None
    try:
        return spec.load(value.dump(), strict=True).native
    except (ValueError, TypeError) as exc:
        raise _bad(f"{name} ({oid}) has the wrong type ({exc})") from None


def _octets(entries: dict[str, Any], oid: str, name: str, size: int, required: bool = True) -> bytes | None:
    value = _typed(entries, oid, core.OctetString, name, required)
    if value is None:
        return None
    if len(value) != size:
        raise _bad(f"{name} is {len(value)} bytes, expected {size}")
    return bytes(value)


def _svn(entries: dict[str, Any], oid: str, name: str) -> int:
    value = _typed(entries, oid, core.Integer, name)
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise _bad(f"{name} is {value}, outside 0..65535")
    return value


def _der_of(value: Any, name: str) -> bytes:
    # asn1crypto parses lazily: a malformed nested value only fails when re-encoded here.
    try:
        return bytes(value.dump())
    except (ValueError, TypeError) as exc:
        raise _bad(f"{name} is not valid DER ({exc})") from None


def parse_pck_extension(der: bytes) -> PckExtension:
    """Decode the DER value of the SGX extension."""
    top = _index(der, "extension")
    ppid = _octets(top, f"{_P}.1", "PPID", 16)
    tcb_any = top.get(f"{_P}.2")
    if tcb_any is None:
        raise _bad(f"missing TCB ({_P}.2)")
    tcb = _index(_der_of(tcb_any, "TCB"), "TCB")
    comps = tuple(_svn(tcb, f"{_P}.2.{i}", f"SGX TCB component {i}") for i in range(1, 17))
    for c in comps:
        if c > 0xFF:
            raise _bad(f"SGX TCB component SVN {c} exceeds 255")
    pce_svn = _svn(tcb, f"{_P}.2.17", "PCESVN")
    cpu_svn = _octets(tcb, f"{_P}.2.18", "CPUSVN", 16)
    pce_id = _octets(top, f"{_P}.3", "PCE-ID", 2)
    fmspc = _octets(top, f"{_P}.4", "FMSPC", 6)
    sgx_type = _typed(top, f"{_P}.5", _SgxType, "SGX Type")
    if not isinstance(sgx_type, int):
        raise _bad(f"SGX Type {sgx_type!r} is not an integer")
    instance = _octets(top, f"{_P}.6", "PlatformInstanceID", 16, required=False)
    config: PlatformConfiguration | None = None
    cfg_any = top.get(f"{_P}.7")
    if cfg_any is not None:
        cfg = _index(_der_of(cfg_any, "Configuration"), "Configuration")
        config = PlatformConfiguration(
            dynamic_platform=_typed(cfg, f"{_P}.7.1", core.Boolean, "dynamicPlatform", False),
            cached_keys=_typed(cfg, f"{_P}.7.2", core.Boolean, "cachedKeys", False),
            smt_enabled=_typed(cfg, f"{_P}.7.3", core.Boolean, "SMTEnabled", False),
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
