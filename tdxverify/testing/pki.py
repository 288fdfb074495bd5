"""A synthetic, deterministic copy of Intel's SGX PKI for tests.

:func:`build_pki` makes, from a seed, the same shape of PKI Intel runs: a
self-signed root CA, the PCK Platform CA and PCK Processor CA, a PCK leaf
certificate carrying a full Intel SGX extension, the TCB signing certificate,
the root CA CRL and the two PCK CRLs. Every key is derived from the seed and
every signature is deterministic ECDSA (RFC 6979), so the same
:class:`PkiSpec` always gives byte-identical certificates and CRLs.

Knobs (all on :class:`PkiSpec`): names, which CA issues the PCK leaf, every
field of the SGX extension (or raw extension bytes), validity windows of each
certificate and CRL, revoked entries, a wrong signer for any certificate or
CRL, and basicConstraints / keyUsage overrides. Chains with extra or missing
links are assembled with :meth:`TestPki.pem`.

Use the result with ``root_ca=pki.root_der`` wherever tdxverify takes a root.
Nothing here is secure: the keys are derivable from the seed by design.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Literal

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..pck import SGX_EXTENSION_OID, PlatformConfiguration
from .collateral import (
    DEFAULT_FMSPC,
    DEFAULT_NOW,
    DEFAULT_PCE_ID,
    DEFAULT_PCE_SVN,
    DEFAULT_SGX_COMPONENTS,
    quote_collateral_v3,
    sign_text,
)
from .quotes import ForgeError, derive_p256_key, sign_raw

__all__ = [
    "CERTIFICATE_NAMES",
    "CRL_NAMES",
    "DEFAULT_SEED",
    "KEY_NAMES",
    "PkiSpec",
    "PlatformConfiguration",
    "SgxExtensionSpec",
    "TestPki",
    "build_pki",
    "encode_sgx_extension",
    "key_usage",
    "make_certificate",
    "make_crl",
    "pem",
    "sign_raw",
]

DEFAULT_SEED = "tdxverify-test-pki"

CERTIFICATE_NAMES = ("root", "platform_ca", "processor_ca", "pck", "tcb_signing")
"""The certificates of a :class:`TestPki`, by the names the knobs use."""
CRL_NAMES = ("root_crl", "platform_crl", "processor_crl")
"""The CRLs of a :class:`TestPki`: the root CA CRL and one CRL per PCK CA."""
KEY_NAMES = (*CERTIFICATE_NAMES, "rogue")
"""Keys a signer override may name; ``rogue`` belongs to no certificate."""

_CA_VALIDITY = (
    datetime(2018, 5, 21, tzinfo=timezone.utc),
    datetime(2049, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
)
_DEFAULT_VALIDITY: Mapping[str, tuple[datetime, datetime]] = MappingProxyType(
    {
        "root": _CA_VALIDITY,
        "platform_ca": _CA_VALIDITY,
        "processor_ca": _CA_VALIDITY,
        "pck": (datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2031, 1, 1, tzinfo=timezone.utc)),
        "tcb_signing": (datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2032, 1, 1, tzinfo=timezone.utc)),
    }
)
# PCK CRLs share the default collateral's window (DEFAULT_NOW - 10 days, +30 days),
# the root CA CRL is yearly, as Intel's are.
_PCK_CRL_WINDOW = (DEFAULT_NOW - timedelta(days=10), DEFAULT_NOW + timedelta(days=20))
_DEFAULT_CRL_VALIDITY: Mapping[str, tuple[datetime, datetime]] = MappingProxyType(
    {
        "root_crl": (DEFAULT_NOW - timedelta(days=90), DEFAULT_NOW + timedelta(days=275)),
        "platform_crl": _PCK_CRL_WINDOW,
        "processor_crl": _PCK_CRL_WINDOW,
    }
)


# --------------------------------------------------------------------------- SGX extension


_DEFAULT_CONFIGURATION = PlatformConfiguration(dynamic_platform=True, cached_keys=True, smt_enabled=True)


@dataclass(frozen=True)
class SgxExtensionSpec:
    """Every field of the Intel SGX extension of a PCK certificate.

    ``cpu_svn=None`` means the 16 component SVNs as bytes (what real
    certificates carry); ``platform_instance_id`` / ``configuration`` are
    written only when not None (Intel includes them in Platform CA-issued
    certificates).
    """

    ppid: bytes = bytes(range(16))
    cpu_svn_components: tuple[int, ...] = DEFAULT_SGX_COMPONENTS
    pce_svn: int = DEFAULT_PCE_SVN
    cpu_svn: bytes | None = None
    pce_id: bytes = DEFAULT_PCE_ID
    fmspc: bytes = DEFAULT_FMSPC
    sgx_type: int = 1
    platform_instance_id: bytes | None = bytes(range(0xA0, 0xB0))
    configuration: PlatformConfiguration | None = _DEFAULT_CONFIGURATION

    @property
    def effective_cpu_svn(self) -> bytes:
        """The CPUSVN octets that get encoded."""
        if self.cpu_svn is not None:
            return self.cpu_svn
        return bytes(self.cpu_svn_components)


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        body = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(body)]) + body
    return bytes([tag]) + length + content


def _entry(oid: str, value_der: bytes) -> bytes:
    return _tlv(0x30, core.ObjectIdentifier(oid).dump() + value_der)


def encode_sgx_extension(spec: SgxExtensionSpec) -> bytes:
    """DER of the extension value, laid out as in Intel's "SGX PCK Certificate and CRL Profile".

    No validation beyond what DER needs, so tests can encode values a real
    certificate never holds (a 17-byte PPID, an SVN of 300 ...).
    """
    p = SGX_EXTENSION_OID
    if len(spec.cpu_svn_components) != 16:
        raise ForgeError("cpu_svn_components must have 16 entries")
    tcb = [_entry(f"{p}.2.{i}", core.Integer(v).dump()) for i, v in enumerate(spec.cpu_svn_components, 1)]
    tcb.append(_entry(f"{p}.2.17", core.Integer(spec.pce_svn).dump()))
    tcb.append(_entry(f"{p}.2.18", core.OctetString(spec.effective_cpu_svn).dump()))
    # ENUMERATED shares INTEGER's content encoding; only the tag differs.
    sgx_type = core.Integer(spec.sgx_type).dump()
    parts = [
        _entry(f"{p}.1", core.OctetString(spec.ppid).dump()),
        _entry(f"{p}.2", _tlv(0x30, b"".join(tcb))),
        _entry(f"{p}.3", core.OctetString(spec.pce_id).dump()),
        _entry(f"{p}.4", core.OctetString(spec.fmspc).dump()),
        _entry(f"{p}.5", b"\x0a" + sgx_type[1:]),
    ]
    if spec.platform_instance_id is not None:
        parts.append(_entry(f"{p}.6", core.OctetString(spec.platform_instance_id).dump()))
    if spec.configuration is not None:
        cfg = spec.configuration
        flags = [
            (f"{p}.7.1", cfg.dynamic_platform),
            (f"{p}.7.2", cfg.cached_keys),
            (f"{p}.7.3", cfg.smt_enabled),
        ]
        inner = b"".join(_entry(oid, core.Boolean(v).dump()) for oid, v in flags if v is not None)
        parts.append(_entry(f"{p}.7", _tlv(0x30, inner)))
    return _tlv(0x30, b"".join(parts))


# --------------------------------------------------------------------------- building blocks


def key_usage(
    *,
    digital_signature: bool = False,
    non_repudiation: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    """A KeyUsage value with just the flags Intel's PKI uses."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_certificate(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    basic_constraints: x509.BasicConstraints | None,
    key_usage: x509.KeyUsage | None,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """One X.509 v3 certificate, deterministically signed by ``signing_key``.

    ``issuer_public_key`` feeds the authority key identifier; pass a
    ``signing_key`` that does not match it to make a wrongly signed certificate.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False)
    )
    if basic_constraints is not None:
        builder = builder.add_extension(basic_constraints, critical=True)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(signing_key, hashes.SHA256(), ecdsa_deterministic=True)


def make_crl(
    *,
    issuer: x509.Name,
    issuer_public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    this_update: datetime,
    next_update: datetime,
    revoked_serials: Sequence[int] = (),
    number: int = 1,
) -> x509.CertificateRevocationList:
    """A complete CRL, deterministically signed by ``signing_key``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False)
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(this_update).build()
        )
    return builder.sign(signing_key, hashes.SHA256(), ecdsa_deterministic=True)


def pem(*items: x509.Certificate | x509.CertificateRevocationList) -> str:
    """PEM text of certificates and CRLs, concatenated in the order given."""
    return "".join(i.public_bytes(serialization.Encoding.PEM).decode("ascii") for i in items)


# --------------------------------------------------------------------------- the PKI


@dataclass(frozen=True)
class PkiSpec:
    """What :func:`build_pki` makes. Defaults mirror Intel's PKI with "Test" names.

    Certificate names for the knobs: ``root``, ``platform_ca``,
    ``processor_ca``, ``pck``, ``tcb_signing``; CRL names: ``root_crl``,
    ``platform_crl``, ``processor_crl``.
    """

    seed: bytes | str = DEFAULT_SEED
    organization: str = "tdxverify Test PKI"
    common_names: Mapping[str, str] = field(default_factory=dict)
    """Override the common name of any certificate (defaults "Test SGX Root CA", ...)."""
    pck_ca: Literal["platform", "processor"] = "platform"
    """Which PCK CA issues the PCK leaf."""
    sgx: SgxExtensionSpec = SgxExtensionSpec()
    sgx_extension_der: bytes | None = None
    """Raw DER for the SGX extension instead of encoding ``sgx`` (malformed-extension tests)."""
    validity: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """(notBefore, notAfter) per certificate name."""
    crl_validity: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """(thisUpdate, nextUpdate) per CRL name."""
    revoked: Mapping[str, Sequence[int | str]] = field(default_factory=dict)
    """Entries per CRL name: serial numbers, or certificate names (their serials)."""
    signers: Mapping[str, str] = field(default_factory=dict)
    """Sign a certificate or CRL with another key (a name from :data:`KEY_NAMES`), keeping its issuer name."""
    basic_constraints: Mapping[str, x509.BasicConstraints | None] = field(default_factory=dict)
    """Replace (or, with None, omit) a certificate's basicConstraints."""
    key_usages: Mapping[str, x509.KeyUsage | None] = field(default_factory=dict)
    """Replace (or, with None, omit) a certificate's keyUsage."""


_DEFAULT_CN = MappingProxyType(
    {
        "root": "Test SGX Root CA",
        "platform_ca": "Test SGX PCK Platform CA",
        "processor_ca": "Test SGX PCK Processor CA",
        "pck": "Test SGX PCK Certificate",
        "tcb_signing": "Test SGX TCB Signing",
    }
)
_ISSUER = MappingProxyType({"root": "root", "platform_ca": "root", "processor_ca": "root", "tcb_signing": "root"})
_CRL_ISSUER = MappingProxyType({"root_crl": "root", "platform_crl": "platform_ca", "processor_crl": "processor_ca"})


@dataclass(frozen=True, eq=False)
class TestPki:
    """A built synthetic PKI: keys, certificates, CRLs and ready-made chains."""

    __test__ = False  # not a pytest test class, despite the name

    spec: PkiSpec
    keys: Mapping[str, ec.EllipticCurvePrivateKey]
    """Private keys by name (:data:`KEY_NAMES`)."""
    certificates: Mapping[str, x509.Certificate]
    """Certificates by name (:data:`CERTIFICATE_NAMES`)."""
    crls: Mapping[str, x509.CertificateRevocationList]
    """CRLs by name (:data:`CRL_NAMES`)."""

    # -- keys the forge needs
    @property
    def pck_key(self) -> ec.EllipticCurvePrivateKey:
        """The PCK leaf's private key: signs QE reports."""
        return self.keys["pck"]

    @property
    def tcb_signing_key(self) -> ec.EllipticCurvePrivateKey:
        """The TCB signing key: signs TCB info and QE identity."""
        return self.keys["tcb_signing"]

    # -- certificates
    @property
    def root(self) -> x509.Certificate:
        return self.certificates["root"]

    @property
    def pck(self) -> x509.Certificate:
        return self.certificates["pck"]

    @property
    def pck_ca_name(self) -> str:
        """``platform_ca`` or ``processor_ca``: the CA that issued the PCK leaf."""
        return f"{self.spec.pck_ca}_ca"

    @property
    def pck_ca(self) -> x509.Certificate:
        return self.certificates[self.pck_ca_name]

    @property
    def tcb_signing(self) -> x509.Certificate:
        return self.certificates["tcb_signing"]

    @property
    def root_der(self) -> bytes:
        """The root certificate as DER: pass it as ``root_ca=``."""
        return self.root.public_bytes(serialization.Encoding.DER)

    # -- CRLs
    @property
    def root_crl(self) -> x509.CertificateRevocationList:
        return self.crls["root_crl"]

    @property
    def pck_crl(self) -> x509.CertificateRevocationList:
        """The CRL of the CA that issued the PCK leaf."""
        return self.crls[f"{self.spec.pck_ca}_crl"]

    @property
    def root_crl_der(self) -> bytes:
        return self.root_crl.public_bytes(serialization.Encoding.DER)

    @property
    def pck_crl_der(self) -> bytes:
        return self.pck_crl.public_bytes(serialization.Encoding.DER)

    # -- chains
    def pem(self, *names: str | x509.Certificate) -> str:
        """A PEM chain of the named certificates (or certificate objects), in the order given.

        Leave a name out for a missing link, add a certificate for an extra one.
        """
        return pem(*(self.certificates[n] if isinstance(n, str) else n for n in names))

    @property
    def pck_chain_pem(self) -> str:
        """Leaf, PCK CA, root: the order a quote carries."""
        return self.pem("pck", self.pck_ca_name, "root")

    @property
    def pck_chain_der(self) -> tuple[bytes, ...]:
        """The PCK chain as DER, leaf first (the shape of ``Quote.pck_chain``)."""
        return tuple(
            self.certificates[n].public_bytes(serialization.Encoding.DER) for n in ("pck", self.pck_ca_name, "root")
        )

    @property
    def tcb_info_issuer_chain_pem(self) -> str:
        """TCB signing certificate, root."""
        return self.pem("tcb_signing", "root")

    @property
    def pck_crl_issuer_chain_pem(self) -> str:
        """PCK CA, root."""
        return self.pem(self.pck_ca_name, "root")

    def sign(self, data: bytes, key: str = "tcb_signing") -> bytes:
        """Deterministic raw ``r || s`` signature of ``data`` by the named key."""
        return sign_raw(self.keys[key], data)

    def collateral(
        self,
        tcb_info: str,
        qe_identity: str,
        *,
        with_pck_chain: bool = False,
    ) -> dict[str, str]:
        """dcap-qvl ``QuoteCollateralV3`` JSON for the given TCB info / QE identity
        text, signed with the TCB signing key, with this PKI's chains and CRLs."""
        return quote_collateral_v3(
            tcb_info=tcb_info,
            tcb_info_signature=sign_text(tcb_info, self.tcb_signing_key),
            qe_identity=qe_identity,
            qe_identity_signature=sign_text(qe_identity, self.tcb_signing_key),
            tcb_info_issuer_chain=self.tcb_info_issuer_chain_pem,
            pck_crl_issuer_chain=self.pck_crl_issuer_chain_pem,
            root_ca_crl=self.root_crl_der,
            pck_crl=self.pck_crl_der,
            pck_certificate_chain=self.pck_chain_pem if with_pck_chain else None,
        )


def _serial(seed: bytes | str, name: str) -> int:
    seed_bytes = seed.encode() if isinstance(seed, str) else bytes(seed)
    digest = hashlib.sha256(b"tdxverify-test-pki-serial\x00" + seed_bytes + b"\x00" + name.encode()).digest()
    # Positive, at most 20 octets (RFC 5280), never zero.
    return int.from_bytes(digest[:19], "big") | 1


def build_pki(spec: PkiSpec | None = None, **changes: object) -> TestPki:
    """Build the PKI ``spec`` describes (default :class:`PkiSpec`).

    Keyword arguments replace fields of ``spec``:
    ``build_pki(pck_ca="processor", revoked={"platform_crl": ["pck"]})``.
    """
    base = spec if spec is not None else PkiSpec()
    if changes:
        base = replace(base, **changes)  # type: ignore[arg-type]
    s = base
    for mapping, allowed, what in (
        (s.common_names, CERTIFICATE_NAMES, "common_names"),
        (s.validity, CERTIFICATE_NAMES, "validity"),
        (s.crl_validity, CRL_NAMES, "crl_validity"),
        (s.revoked, CRL_NAMES, "revoked"),
        (s.signers, CERTIFICATE_NAMES + CRL_NAMES, "signers"),
        (s.basic_constraints, CERTIFICATE_NAMES, "basic_constraints"),
        (s.key_usages, CERTIFICATE_NAMES, "key_usages"),
    ):
        unknown = set(mapping) - set(allowed)
        if unknown:
            raise ForgeError(f"{what} names unknown entries {sorted(unknown)}; allowed: {list(allowed)}")
    for signer in s.signers.values():
        if signer not in KEY_NAMES:
            raise ForgeError(f"signer {signer!r} is not one of {list(KEY_NAMES)}")
    if s.pck_ca not in ("platform", "processor"):
        raise ForgeError("pck_ca must be 'platform' or 'processor'")

    keys = {n: derive_p256_key(s.seed, f"test-pki/{n}") for n in KEY_NAMES}
    names = {n: _name(s.common_names.get(n, _DEFAULT_CN[n]), s.organization) for n in CERTIFICATE_NAMES}
    issuer_of = dict(_ISSUER, pck=f"{s.pck_ca}_ca")
    serials = {n: _serial(s.seed, n) for n in CERTIFICATE_NAMES}

    ca_ku = key_usage(key_cert_sign=True, crl_sign=True)
    ee_ku = key_usage(digital_signature=True, non_repudiation=True)
    default_bc = {
        "root": x509.BasicConstraints(ca=True, path_length=1),
        "platform_ca": x509.BasicConstraints(ca=True, path_length=0),
        "processor_ca": x509.BasicConstraints(ca=True, path_length=0),
        "pck": x509.BasicConstraints(ca=False, path_length=None),
        "tcb_signing": x509.BasicConstraints(ca=False, path_length=None),
    }
    default_ku = {
        "root": ca_ku,
        "platform_ca": ca_ku,
        "processor_ca": ca_ku,
        "pck": ee_ku,
        "tcb_signing": ee_ku,
    }

    certs: dict[str, x509.Certificate] = {}
    for n in CERTIFICATE_NAMES:
        issuer = issuer_of[n]
        extensions: list[x509.ExtensionType] = []
        if n == "pck":
            der = s.sgx_extension_der if s.sgx_extension_der is not None else encode_sgx_extension(s.sgx)
            extensions.append(x509.UnrecognizedExtension(x509.ObjectIdentifier(SGX_EXTENSION_OID), der))
        not_before, not_after = s.validity.get(n, _DEFAULT_VALIDITY[n])
        certs[n] = make_certificate(
            subject=names[n],
            issuer=names[issuer],
            public_key=keys[n].public_key(),
            issuer_public_key=keys[issuer].public_key(),
            signing_key=keys[s.signers.get(n, issuer)],
            serial=serials[n],
            not_before=not_before,
            not_after=not_after,
            basic_constraints=s.basic_constraints.get(n, default_bc[n]),
            key_usage=s.key_usages.get(n, default_ku[n]),
            extensions=extensions,
        )

    crls: dict[str, x509.CertificateRevocationList] = {}
    for c in CRL_NAMES:
        issuer = _CRL_ISSUER[c]
        this_update, next_update = s.crl_validity.get(c, _DEFAULT_CRL_VALIDITY[c])
        entries: list[int] = []
        for item in s.revoked.get(c, ()):
            if isinstance(item, str):
                if item not in serials:
                    raise ForgeError(f"revoked entry {item!r} is not a certificate name")
                entries.append(serials[item])
            else:
                entries.append(int(item))
        crls[c] = make_crl(
            issuer=names[issuer],
            issuer_public_key=keys[issuer].public_key(),
            signing_key=keys[s.signers.get(c, issuer)],
            this_update=this_update,
            next_update=next_update,
            revoked_serials=entries,
        )
    return TestPki(
        spec=s,
        keys=MappingProxyType(keys),
        certificates=MappingProxyType(certs),
        crls=MappingProxyType(crls),
    )
