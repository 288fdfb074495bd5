"""Trust anchors, certificate chains and CRLs, checked at a given time.

Everything a quote is checked against must come from the trusted Intel SGX
Root CA (pinned in the package), be unrevoked, and be valid at ``now``.

* :func:`load_root_ca` gives the trust root: the pinned Intel SGX Root CA, or
  an explicitly passed alternative (tests, the forge).
* :func:`verify_crl` checks a CRL against the certificate that must have
  issued it and returns a :class:`VerifiedCrl`.
* :func:`verify_chain` builds a path by subject/issuer linkage (never by
  position), checks signatures, CA constraints, revocation and validity, and
  requires the path to end at the trusted root.
* :func:`verify_pck_chain` does that for a PCK chain and decodes the leaf's
  Intel SGX extension.

Time bounds are :class:`TimeBound` values, so callers that cache verified
material can re-apply the exact same time checks cheaply. Semantics follow
Intel's QVL: a certificate is valid while ``notBefore <= now <= notAfter``;
a CRL while ``thisUpdate <= now < nextUpdate``; TCB info and QE identity
while ``issueDate <= now <= nextUpdate``. See ``docs/trust.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from importlib import resources
from typing import Literal, TypeAlias
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import ExtensionOID, NameOID

from .errors import CertificateError, CollateralError, VerificationError
from .pck import PckExtension, pck_extension_of
from .pem import PemProblem, split_pem

__all__ = [
    "PCK_CERTIFICATE_CN",
    "PINNED_ROOT_CA_SHA256",
    "TCB_SIGNING_CN",
    "BoundKind",
    "CertificateInput",
    "DecodedChain",
    "Instant",
    "Link",
    "PckChain",
    "TimeBound",
    "TimeWindow",
    "VerifiedChain",
    "VerifiedCrl",
    "as_utc",
    "certificate_bound",
    "certificate_label",
    "check_revocation",
    "check_time_bounds",
    "check_time_window",
    "load_certificates",
    "load_crl",
    "load_root_ca",
    "pem_chain",
    "pinned_root_ca",
    "require_common_name",
    "signing_key_of",
    "time_window",
    "verify_chain",
    "verify_crl",
    "verify_pck_chain",
    "verify_raw_signature",
]

PINNED_ROOT_CA_SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
"""SHA-256 of the DER of Intel's SGX Root CA certificate shipped in ``tdxverify/data``."""

Instant: TypeAlias = datetime | int | float
"""A verification time: an aware ``datetime`` or unix seconds."""

CertificateInput: TypeAlias = str | bytes | Sequence[bytes | x509.Certificate]
"""A chain as PEM text (str or bytes), or a sequence of DER bytes / certificates."""

BoundKind: TypeAlias = Literal["certificate", "crl", "tcb_info", "qe_identity"]

Link: TypeAlias = tuple[x509.Certificate, x509.Certificate]
"""``(issuer, certificate)``: one signature of a chain."""

# Critical extensions a verifier of Intel's PKI understands; any other
# critical extension makes the certificate unusable (RFC 5280, 4.2).
_KNOWN_CRITICAL = frozenset({ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE})


# --------------------------------------------------------------------------- time


def as_utc(now: Instant) -> datetime:
    """Normalise a verification time to an aware UTC ``datetime``.

    Raises :class:`VerificationError` (``input_invalid``) for a naive
    ``datetime``, a bool, or a value that is not a time.
    """
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise VerificationError(
                "the verification time is a naive datetime; pass an aware datetime (e.g. with "
                "tzinfo=timezone.utc) or unix seconds",
                code="input_invalid",
                step="input",
            )
        return now.astimezone(timezone.utc)
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise VerificationError(
            f"the verification time must be an aware datetime or unix seconds, not {type(now).__name__}",
            code="input_invalid",
            step="input",
        )
    try:
        return datetime.fromtimestamp(now, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise VerificationError(
            f"the verification time {now!r} is out of range", code="input_invalid", step="input"
        ) from None


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TimeBound:
    """One validity window of trust material, with the semantics of its kind.

    ``certificate``: valid while ``not_before <= now <= not_after``;
    ``crl``: while ``not_before (thisUpdate) <= now < not_after (nextUpdate)``;
    ``tcb_info`` / ``qe_identity``: while ``issueDate <= now <= nextUpdate``.
    """

    kind: BoundKind
    label: str
    """What the window belongs to, e.g. "certificate 'Intel SGX TCB Signing'"."""
    step: str
    not_before: datetime
    not_after: datetime

    @property
    def end_inclusive(self) -> bool:
        """Whether ``now == not_after`` is still inside the window (not for CRLs)."""
        return self.kind != "crl"

    def contains(self, now: Instant) -> bool:
        """Whether ``now`` is inside the window (no exception for a valid time)."""
        now = as_utc(now)
        if now < self.not_before:
            return False
        return now <= self.not_after if self.end_inclusive else now < self.not_after

    def check(self, now: Instant) -> None:
        """Raise the coded error of this kind if ``now`` is outside the window."""
        now = as_utc(now)
        if now < self.not_before:
            raise self._error(now, expired=False)
        if not self.contains(now):
            raise self._error(now, expired=True)

    def _error(self, now: datetime, *, expired: bool) -> VerificationError:
        when = (
            f"{self.label} is not valid before {_iso(self.not_before)}"
            if not expired
            else f"{self.label} expired at {_iso(self.not_after)}"
        )
        at = f"(verification time {_iso(now)})"
        if self.kind == "certificate":
            return CertificateError(
                f"{when} {at}; check the verification time, or refresh the certificate chain from Intel PCS",
                code="certificate_not_yet_valid" if not expired else "certificate_expired",
                step=self.step,
            )
        if self.kind == "crl":
            return CertificateError(
                f"{when} {at}; refresh the CRLs from Intel PCS / the PCCS (e.g. `tdxverify fetch-collateral`)",
                code="crl_not_yet_valid" if not expired else "crl_expired",
                step=self.step,
            )
        return CollateralError(
            f"{when} {at}; refresh the collateral from Intel PCS / the PCCS (e.g. `tdxverify fetch-collateral`)",
            code="collateral_not_yet_valid" if not expired else "collateral_expired",
            step=self.step,
        )

    def to_dict(self, now: Instant | None = None) -> dict[str, object]:
        """JSON-ready description; with ``now``, whether it holds then."""
        out: dict[str, object] = {
            "kind": self.kind,
            "label": self.label,
            "step": self.step,
            "not_before": _iso(self.not_before),
            "not_after": _iso(self.not_after),
            "end_inclusive": self.end_inclusive,
        }
        if now is not None:
            out["valid"] = self.contains(now)
        return out


def check_time_bounds(bounds: Iterable[TimeBound], now: Instant) -> None:
    """Check each bound in order; the first one ``now`` is outside of raises."""
    now = as_utc(now)
    for bound in bounds:
        bound.check(now)


@dataclass(frozen=True)
class TimeWindow:
    """The intersection of several :class:`TimeBound` windows: one pair of comparisons decides them all."""

    start: datetime
    end: datetime
    end_inclusive: bool

    def contains(self, now: datetime) -> bool:
        """Whether the aware datetime ``now`` is inside every window this one intersects."""
        if now < self.start:
            return False
        return now <= self.end if self.end_inclusive else now < self.end


def time_window(bounds: Iterable[TimeBound]) -> TimeWindow:
    """The intersection of ``bounds`` (non-empty); an exclusive end wins a tie with an inclusive one."""
    bounds = tuple(bounds)
    first = min(bounds, key=lambda b: (b.not_after, b.end_inclusive))
    return TimeWindow(max(b.not_before for b in bounds), first.not_after, first.end_inclusive)


def check_time_window(bounds: Sequence[TimeBound], window: TimeWindow, now: datetime) -> None:
    """:func:`check_time_bounds` for an aware ``now``, deciding the common case with ``window`` alone.

    Outside the window, the bounds are checked in order, so the error is the
    same one :func:`check_time_bounds` raises.
    """
    if not window.contains(now):
        check_time_bounds(bounds, now)
        raise AssertionError("a time outside the intersection is outside one of its windows")  # pragma: no cover


def certificate_bound(cert: x509.Certificate, step: str) -> TimeBound:
    """The validity window of ``cert`` (``notBefore <= now <= notAfter``), reported under ``step``."""
    return TimeBound(
        kind="certificate",
        label=f"certificate {certificate_label(cert)}",
        step=step,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


# --------------------------------------------------------------------------- helpers


def certificate_label(cert: x509.Certificate) -> str:
    """A short human name: the quoted common name, else the full subject."""
    return _name_label(cert.subject)


def _name_label(name: x509.Name) -> str:
    try:
        cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        cns = []
    if cns:
        return repr(str(cns[0].value))
    return repr(name.rfc4514_string())


def _same_certificate(a: x509.Certificate, b: x509.Certificate) -> bool:
    """``a == b`` (DER equality), cheaply: cryptography re-encodes both certificates to compare them.

    The same object is equal; otherwise equal DER has an equal signature, so
    only certificates with one signature have their encodings compared.
    """
    return a is b or (a.signature == b.signature and a == b)


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _extensions_ok(cert: x509.Certificate) -> str | None:
    """A reason the extensions are unusable, or None."""
    try:
        exts = cert.extensions
    except ValueError as exc:
        return f"its extensions cannot be decoded ({exc})"
    for ext in exts:
        if ext.critical and ext.oid not in _KNOWN_CRITICAL:
            return f"it has an unknown critical extension {ext.oid.dotted_string}"
    return None


# --------------------------------------------------------------------------- loading


def pinned_root_ca() -> x509.Certificate:
    """The Intel SGX Root CA shipped with the package, checked against its pinned SHA-256."""
    try:
        der = resources.files("tdxverify").joinpath("data/intel-sgx-root-ca.der").read_bytes()
    except OSError as exc:
        raise CertificateError(
            f"the pinned Intel SGX Root CA cannot be read from the package ({exc}); reinstall tdxverify",
            code="root_ca_invalid",
            step="root_ca",
        ) from None
    if hashlib.sha256(der).hexdigest() != PINNED_ROOT_CA_SHA256:
        raise CertificateError(
            "the packaged Intel SGX Root CA does not match its pinned SHA-256; the installation "
            "is corrupted or tampered with, reinstall tdxverify",
            code="root_ca_invalid",
            step="root_ca",
        )
    return x509.load_der_x509_certificate(der)


def load_root_ca(data: bytes | str | x509.Certificate | None = None) -> x509.Certificate:
    """The trust root: the pinned Intel SGX Root CA for ``None``, else the given one.

    An alternative root (DER or PEM bytes/text, or a certificate) must be a
    single self-signed CA certificate allowed to sign certificates and CRLs;
    otherwise :class:`CertificateError` with code ``root_ca_invalid``.
    """
    if data is None:
        return pinned_root_ca()

    def bad(why: str) -> CertificateError:
        return CertificateError(
            f"the trust root given is not usable: {why}; pass the DER or PEM of a self-signed CA "
            "certificate, or omit root_ca to use the pinned Intel SGX Root CA",
            code="root_ca_invalid",
            step="root_ca",
        )

    if isinstance(data, x509.Certificate):
        cert = data
    elif isinstance(data, (bytes, bytearray)) and not bytes(data).lstrip().startswith(b"-----BEGIN"):
        try:
            cert = x509.load_der_x509_certificate(bytes(data))
        except _LOAD_ERRORS as exc:
            raise bad(f"it is neither PEM nor a DER certificate ({exc})") from None
    else:
        try:
            certs = load_certificates(data, code="root_ca_invalid", step="root_ca")
        except CertificateError as exc:
            raise bad(exc.message) from None
        if len(certs) != 1:
            raise bad(f"it holds {len(certs)} certificates, expected exactly one")
        cert = certs[0]
    reason = _extensions_ok(cert)
    if reason:
        raise bad(reason)
    if cert.subject != cert.issuer:
        raise bad(f"{certificate_label(cert)} is not self-issued")
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        raise bad(f"{certificate_label(cert)} is not self-signed") from None
    bc = _basic_constraints(cert)
    if bc is None or not bc.ca:
        raise bad(f"{certificate_label(cert)} is not a CA certificate (basicConstraints)")
    ku = _key_usage(cert)
    if ku is None or not ku.key_cert_sign or not ku.crl_sign:
        raise bad(f"{certificate_label(cert)} may not sign certificates and CRLs (keyUsage)")
    return cert


def _pem_blocks(text: str, what: str, code: str, step: str) -> list[str]:
    try:
        blocks = split_pem(text, gap_chars=" \t\r\n\x00")
    except PemProblem as exc:
        raise CertificateError(f"{what} {exc}", code=code, step=step) from None
    for block in blocks:
        if block.label != "CERTIFICATE":
            raise CertificateError(
                f"{what} holds a PEM block of type {block.label!r}; only certificates are allowed",
                code=code,
                step=step,
            )
    return [text[b.start : b.end] for b in blocks]


_UNQUOTE_CHUNK = 16 * 1024


def _unquote(text: str) -> str:
    """``urllib.parse.unquote`` in bounded chunks (never splitting a ``%XX``).

    ``unquote`` builds one list entry per escape; on a large input that list
    outgrows the CPU caches and the work turns visibly superlinear. Chunks
    keep it linear. Splitting a multi-byte UTF-8 escape only turns non-ASCII
    into other non-ASCII, which no PEM text holds either way.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = min(n, i + _UNQUOTE_CHUNK)
        k = text.rfind("%", max(i, j - 2), j)
        if k > i and j < n:
            j = k
        out.append(unquote(text[i:j]))
        i = j
    return "".join(out)


# What cryptography's loaders raise for malformed input (InvalidVersion is not a ValueError).
_LOAD_ERRORS = (ValueError, x509.InvalidVersion)


def _decoded_crl(
    crl: x509.CertificateRevocationList, bad: Callable[[str], CertificateError]
) -> x509.CertificateRevocationList:
    """Decode every field the checks read, now (cryptography decodes CRLs lazily too)."""
    try:
        _ = crl.issuer  # builds the Name (cryptography decodes it on access); formatting it cannot fail then
        _ = crl.last_update_utc, crl.next_update_utc, crl.extensions, crl.signature_hash_algorithm
        for entry in crl:
            _ = entry.serial_number, entry.revocation_date_utc, entry.extensions
    except Exception as exc:  # any decoding failure of a third-party parser is malformed input
        raise bad(f"a field is malformed ({type(exc).__name__}: {exc})") from None
    return crl


def _decoded(cert: x509.Certificate, index: int, what: str, code: str, step: str) -> x509.Certificate:
    """Decode every field the checks read, now, so a malformed one fails here with a code.

    cryptography decodes names, validity and extensions lazily; a damaged field
    would otherwise raise an arbitrary exception (seen: KeyError) deep inside
    chain building.
    """
    try:
        # Accessing a name decodes it (a malformed one raises here); formatting a decoded Name cannot fail,
        # so the labels are left to the error messages that need them.
        _ = cert.subject, cert.issuer
        _ = cert.version, cert.not_valid_before_utc, cert.not_valid_after_utc, cert.serial_number
        _ = cert.extensions, cert.signature_hash_algorithm
        cert.public_key()
    except Exception as exc:  # any decoding failure of a third-party parser is malformed input
        raise CertificateError(
            f"certificate {index + 1} of {what} has a malformed field ({type(exc).__name__}: {exc})",
            code=code,
            step=step,
        ) from None
    return cert


class DecodedChain(tuple[x509.Certificate, ...]):
    """Certificates returned by :func:`load_certificates`: every field the checks read was decoded.

    Certificates are immutable, so :func:`verify_chain` does not decode these again.
    """

    __slots__ = ()


def load_certificates(
    src: CertificateInput,
    *,
    code: str = "pck_chain_invalid",
    step: str = "pki",
    what: str = "the chain",
    known: Mapping[bytes, x509.Certificate] | None = None,
) -> DecodedChain:
    """Certificates from PEM text (str/bytes; URL-encoded PEM, as in PCS headers, too)
    or a sequence of DER bytes / certificate objects.

    Only ``CERTIFICATE`` blocks and whitespace (or trailing NULs) are allowed in
    PEM text. Raises :class:`CertificateError` with ``code``. ``known``: DER ->
    an already decoded certificate of exactly that DER, used instead of decoding
    the same bytes again (e.g. ``AuthenticatedCollateral.decoded_certificates``).
    """
    if isinstance(src, (str, bytes, bytearray)):
        if isinstance(src, (bytes, bytearray)):
            try:
                text = bytes(src).decode("ascii")
            except UnicodeDecodeError:
                raise CertificateError(f"{what} is not PEM text", code=code, step=step) from None
        else:
            text = src
        if "%" in text:
            # PCS sends issuer chains URL-encoded in HTTP headers; PEM itself never holds '%'.
            text = _unquote(text)
        blocks = _pem_blocks(text, what, code, step)
        if not blocks:
            raise CertificateError(f"{what} holds no PEM certificate", code=code, step=step)
        out: list[x509.Certificate] = []
        for i, block in enumerate(blocks):
            try:
                cert = x509.load_pem_x509_certificate(block.encode("ascii"))
            except _LOAD_ERRORS as exc:
                raise CertificateError(
                    f"certificate {i + 1} of {what} cannot be parsed ({exc})", code=code, step=step
                ) from None
            out.append(_decoded(cert, i, what, code, step))
        return DecodedChain(out)
    certs: list[x509.Certificate] = []
    try:
        items = list(src)
    except TypeError:
        raise CertificateError(
            f"{what} must be PEM text or a sequence of DER certificates", code=code, step=step
        ) from None
    for i, item in enumerate(items):
        if isinstance(item, x509.Certificate):
            certs.append(_decoded(item, i, what, code, step))
        elif isinstance(item, (bytes, bytearray)):
            same = known.get(bytes(item)) if known else None
            if same is not None:
                certs.append(same)
                continue
            try:
                cert = x509.load_der_x509_certificate(bytes(item))
            except _LOAD_ERRORS as exc:
                raise CertificateError(
                    f"certificate {i + 1} of {what} is not valid DER ({exc})", code=code, step=step
                ) from None
            certs.append(_decoded(cert, i, what, code, step))
        else:
            raise CertificateError(
                f"certificate {i + 1} of {what} is a {type(item).__name__}, not DER bytes",
                code=code,
                step=step,
            )
    if not certs:
        raise CertificateError(f"{what} is empty", code=code, step=step)
    return DecodedChain(certs)


def pem_chain(certs: Iterable[x509.Certificate]) -> str:
    """PEM text of ``certs`` in the order given."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F\s]+")


def load_crl(
    data: bytes | str | x509.CertificateRevocationList, *, step: str = "crl", what: str = "the CRL"
) -> x509.CertificateRevocationList:
    """A CRL from hex DER (dcap-qvl's encoding, optional ``0x``), PEM, or raw DER.

    Raises :class:`CertificateError` (``crl_invalid``) if it cannot be decoded.
    """
    if isinstance(data, x509.CertificateRevocationList):
        return data

    def bad(why: str) -> CertificateError:
        return CertificateError(
            f"{what} cannot be decoded ({why}); supply it as hex DER, DER or PEM as served by Intel PCS",
            code="crl_invalid",
            step=step,
        )

    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
        if raw.lstrip().startswith(b"-----BEGIN"):
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                raise bad("PEM text with non-ASCII bytes") from None
            return load_crl(text, step=step, what=what)
        if raw and re.fullmatch(rb"(?:0[xX])?[0-9a-fA-F\s]+", raw):
            return load_crl(raw.decode("ascii"), step=step, what=what)
        try:
            return _decoded_crl(x509.load_der_x509_crl(raw), bad)
        except _LOAD_ERRORS as exc:
            raise bad(str(exc)) from None
    if not isinstance(data, str):
        raise bad(f"a {type(data).__name__} is not a CRL encoding")
    text = data.strip()
    if text.startswith("-----BEGIN"):
        try:
            blocks = split_pem(text)
        except PemProblem as exc:
            raise bad(f"the PEM text {exc}") from None
        if len(blocks) != 1 or blocks[0].label != "X509 CRL":
            raise bad("expected exactly one PEM block of type 'X509 CRL'")
        try:
            return _decoded_crl(x509.load_pem_x509_crl(text.encode("ascii")), bad)
        except _LOAD_ERRORS as exc:
            raise bad(str(exc)) from None
    if not text or not _HEX.fullmatch(text):
        raise bad("not hex, DER or PEM")
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        der = bytes.fromhex("".join(text.split()))
    except ValueError as exc:
        raise bad(f"invalid hex: {exc}") from None
    try:
        return _decoded_crl(x509.load_der_x509_crl(der), bad)
    except _LOAD_ERRORS as exc:
        raise bad(str(exc)) from None


# --------------------------------------------------------------------------- signatures


# Stateless (the algorithm and its hash): one instance serves every verification.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def verify_raw_signature(public_key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (raw ``r || s``, 32 bytes each) is a valid
    ECDSA-P256/SHA-256 signature of ``data`` by ``public_key``. Never raises."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        return False
    if len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(utils.encode_dss_signature(r, s), bytes(data), _ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


def _p256_key(cert: x509.Certificate, code: str, step: str) -> ec.EllipticCurvePublicKey:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError(
            f"the public key of {certificate_label(cert)} cannot be read ({exc})", code=code, step=step
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertificateError(
            f"{certificate_label(cert)} does not hold an ECDSA P-256 key, which Intel's PKI always uses",
            code=code,
            step=step,
        )
    return key


# --------------------------------------------------------------------------- CRLs


@dataclass(frozen=True, eq=False)
class VerifiedCrl:
    """A CRL whose issuer name and signature were checked against ``issuer``."""

    crl: x509.CertificateRevocationList
    issuer: x509.Certificate
    """The certificate whose key verified the CRL signature."""
    step: str
    revoked_serials: frozenset[int]

    @property
    def der(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.DER)

    @property
    def this_update(self) -> datetime:
        return self.crl.last_update_utc

    @property
    def next_update(self) -> datetime:
        nu = self.crl.next_update_utc
        assert nu is not None  # verify_crl rejects CRLs without nextUpdate
        return nu

    @cached_property
    def time_bound(self) -> TimeBound:
        return TimeBound(
            kind="crl",
            label=f"the CRL of {_name_label(self.crl.issuer)} ({self.step})",
            step=self.step,
            not_before=self.this_update,
            not_after=self.next_update,
        )

    def covers(self, issuer: x509.Certificate) -> bool:
        """Whether this CRL speaks for certificates issued by ``issuer`` (same name and key)."""
        if _same_certificate(issuer, self.issuer):  # the very certificate that verified it: same name and key
            return True
        return self.issuer_name == issuer.subject and _spki(self.issuer) == _spki(issuer)

    @cached_property
    def issuer_name(self) -> x509.Name:
        """The CRL's issuer name, decoded once (a CRL is immutable)."""
        return self.crl.issuer

    def is_revoked(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` (issued by this CRL's issuer) is listed."""
        # The serial lookup first: it is cheap and almost always misses; names are compared only on a hit.
        return cert.serial_number in self.revoked_serials and cert.issuer == self.issuer_name


def verify_crl(
    crl: bytes | str | x509.CertificateRevocationList,
    issuer: x509.Certificate,
    *,
    now: Instant | None,
    step: str,
) -> VerifiedCrl:
    """Check that ``issuer`` issued and signed ``crl``, and (given ``now``) that
    ``thisUpdate <= now < nextUpdate``.

    ``issuer`` must itself already be trusted (the root, or the leaf of a
    verified chain). Codes: ``crl_invalid``, ``crl_expired``, ``crl_not_yet_valid``.
    """
    parsed = load_crl(crl, step=step)

    def bad(why: str) -> CertificateError:
        return CertificateError(
            f"the CRL of {_name_label(parsed.issuer)} ({step}) {why}; fetch the CRL again from Intel PCS",
            code="crl_invalid",
            step=step,
        )

    if parsed.issuer != issuer.subject:
        raise bad(f"is not issued by {certificate_label(issuer)}, the CA it must come from")
    bc = _basic_constraints(issuer)
    ku = _key_usage(issuer)
    if bc is None or not bc.ca or ku is None or not ku.crl_sign:
        raise bad(f"is issued by {certificate_label(issuer)}, which may not sign CRLs")
    try:
        key = issuer.public_key()
        valid = isinstance(key, ec.EllipticCurvePublicKey) and parsed.is_signature_valid(key)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        raise bad(f"has a signature that does not verify with the key of {certificate_label(issuer)}")
    if parsed.next_update_utc is None:
        raise bad("has no nextUpdate")
    try:
        exts = parsed.extensions
        entries = list(parsed)
        for ext in exts:
            if ext.critical and ext.oid not in (
                ExtensionOID.ISSUING_DISTRIBUTION_POINT,
                ExtensionOID.CRL_NUMBER,
                ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
            ):
                raise bad(f"has an unknown critical extension {ext.oid.dotted_string}")
            if ext.oid == ExtensionOID.DELTA_CRL_INDICATOR:
                raise bad("is a delta CRL; a complete CRL is required")
        serials = frozenset(e.serial_number for e in entries)
    except ValueError as exc:
        raise bad(f"cannot be decoded ({exc})") from None
    out = VerifiedCrl(crl=parsed, issuer=issuer, step=step, revoked_serials=serials)
    if now is not None:
        out.time_bound.check(now)
    return out


# --------------------------------------------------------------------------- chains


@dataclass(frozen=True, eq=False)
class VerifiedChain:
    """A certificate path that verified, ordered root -> leaf."""

    certificates: tuple[x509.Certificate, ...]
    root_included: bool
    """Whether the given chain carried the root itself (else it was completed with the trusted root)."""
    time_bounds: tuple[TimeBound, ...]
    """Validity windows of every certificate in the path, root first."""

    @property
    def root(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def links(self) -> frozenset[Link]:
        """The ``(issuer, certificate)`` pairs whose signatures verified, for ``verify_chain(verified_links=)``."""
        return frozenset(itertools.pairwise(self.certificates))

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[-1]


def _build_path(
    certs: Sequence[x509.Certificate],
    root: x509.Certificate,
    code: str,
    step: str,
    what: str,
) -> tuple[list[x509.Certificate], bool]:
    """Order ``certs`` into a path root -> leaf by issuer/subject linkage."""

    def bad(why: str, c: str = code) -> CertificateError:
        return CertificateError(f"{what} {why}", code=c, step=step)

    # cryptography builds a new Name object on every .subject / .issuer access: read each once.
    subjects = [c.subject for c in certs]
    issuers = [c.issuer for c in certs]
    # Certificate equality is that of the DER, but hashing or comparing certificates re-encodes them:
    # equal DER has an equal signature, so only certificates with one signature are compared.
    by_signature: dict[bytes, list[x509.Certificate]] = {}
    by_subject: dict[x509.Name, int] = {}
    for i, cert in enumerate(certs):
        alike = by_signature.setdefault(cert.signature, [])
        if any(_same_certificate(other, cert) for other in alike):
            raise bad(f"holds {certificate_label(cert)} twice")
        alike.append(cert)
        if subjects[i] in by_subject:
            raise bad(f"holds two different certificates named {certificate_label(cert)}")
        by_subject[subjects[i]] = i
    # Subjects are distinct now, so "issuer of j == subject of i" is "parents[j] == i": one
    # dictionary look-up per certificate instead of comparing every pair of names.
    parents = [by_subject.get(issuer) for issuer in issuers]

    def issues_another(i: int) -> bool:
        return any(j != i and parents[j] == i for j in range(len(certs)))

    leaves = [i for i in range(len(certs)) if not issues_another(i)]
    if len(leaves) != 1:
        if not leaves:
            raise bad("has no leaf: its certificates issue each other in a cycle")
        names = ", ".join(certificate_label(certs[i]) for i in leaves)
        raise bad(
            f"does not form a single path: {names} each end a separate branch "
            "(a missing link, or an extra certificate that does not belong)"
        )
    order = [leaves[0]]
    cur = leaves[0]
    while parents[cur] != cur:
        parent = parents[cur]
        if parent is None:
            break
        if parent in order:
            raise bad("has an issuer cycle")
        order.append(parent)
        cur = parent
    if len(order) != len(certs):
        extra = [certs[i] for i in range(len(certs)) if i not in order]
        raise bad(f"holds certificates outside the path: {', '.join(certificate_label(c) for c in extra)}")
    path = [certs[i] for i in order]
    top_subject, top_issuer = subjects[order[-1]], issuers[order[-1]]

    top = path[-1]
    root_subject = root.subject
    root_included = parents[order[-1]] == order[-1]
    if root_included:
        if top is not root and (top_subject != root_subject or _spki(top) != _spki(root)):
            raise bad(
                f"ends at the self-signed {certificate_label(top)}, which is not the trusted root "
                f"(SHA-256 of its DER {hashlib.sha256(_der(top)).hexdigest()}); only the pinned Intel "
                "SGX Root CA, or a root passed explicitly as root_ca, is trusted",
                "untrusted_root",
            )
        if not _same_certificate(top, root):
            # A re-issue of the anchor by the same key is acceptable (Intel's QVL checks the
            # copy's self-signature); a copy altered by anyone else is not.
            try:
                top.verify_directly_issued_by(root)
            except (InvalidSignature, ValueError, TypeError):
                raise bad(
                    f"holds a copy of the trusted root {certificate_label(top)} that differs from it and is "
                    "not signed by the root's key: the chain was altered",
                    "untrusted_root",
                ) from None
        # Same name and key as the trust anchor: use the anchor itself, so its
        # own validity (not the copy's) is what gets checked.
        path[-1] = root
    elif top_issuer == root_subject:
        path.append(root)
    else:
        raise bad(
            f"stops at {certificate_label(top)}, issued by {_name_label(top_issuer)}, which is neither "
            f"in the chain nor the trusted root {certificate_label(root)} (a missing link)"
        )
    path.reverse()
    return path, root_included


def _check_constraints(path: Sequence[x509.Certificate], leaf_is_ca: bool, code: str, step: str, what: str) -> None:
    def bad(cert: x509.Certificate, why: str) -> CertificateError:
        return CertificateError(f"{what}: {certificate_label(cert)} {why}", code=code, step=step)

    n = len(path)
    for i, cert in enumerate(path):
        reason = _extensions_ok(cert)
        if reason:
            raise bad(cert, f"is unusable: {reason}")
        bc = _basic_constraints(cert)
        ku = _key_usage(cert)
        is_leaf = i == n - 1
        if not is_leaf or leaf_is_ca:
            if bc is None or not bc.ca:
                raise bad(cert, "is not a CA certificate (basicConstraints) but issues or signs for others")
            if ku is None or not ku.key_cert_sign:
                raise bad(cert, "may not sign certificates (keyUsage keyCertSign)")
            # CA certificates below this one, not counting the leaf.
            below = max(0, n - 2 - i)
            if bc.path_length is not None and below > bc.path_length:
                raise bad(cert, f"allows {bc.path_length} CA certificate(s) below it, the path has {below}")
        else:
            if bc is not None and bc.ca:
                raise bad(cert, "is a CA certificate where an end-entity certificate is required")
            if ku is None or not ku.digital_signature:
                raise bad(cert, "may not make signatures (keyUsage digitalSignature)")


def check_revocation(
    path: Sequence[x509.Certificate],
    crls: Sequence[VerifiedCrl],
    *,
    step: str,
    what: str = "the certificate chain",
    revoked_leaf_code: str = "certificate_revoked",
) -> tuple[VerifiedCrl, ...]:
    """Check every certificate of ``path`` (root -> leaf) below the root against
    a CRL from its issuer (same name and key) in ``crls``.

    ``crl_invalid`` if no such CRL was given; ``certificate_revoked`` (or
    ``revoked_leaf_code`` for the leaf) if listed. Returns the CRLs used, in
    order, so their windows can be checked. Does not check CRL times.
    """
    used: list[VerifiedCrl] = []
    top = path[0] if path else None
    if top is not None and top.subject == top.issuer:
        # A root cannot be revoked by its own CRL in RFC 5280 terms (Intel's QVL does not look), but
        # a root CA CRL that lists the root says its key is no longer trusted: fail closed.
        for root_crl in crls:
            if root_crl.covers(top) and root_crl.is_revoked(top):
                raise CertificateError(
                    f"{what}: the root CA CRL lists the trust root {certificate_label(top)} itself (serial "
                    f"{top.serial_number:x}) as revoked; nothing it signed can be trusted",
                    code="untrusted_root",
                    step=step,
                )
    for issuer, cert in itertools.pairwise(path):
        crl = next((c for c in crls if c.covers(issuer)), None)
        if crl is None:
            raise CertificateError(
                f"{what}: no CRL issued by {certificate_label(issuer)} was supplied to check "
                f"{certificate_label(cert)}; supply the matching CRL from Intel PCS",
                code="crl_invalid",
                step=step,
            )
        if crl.is_revoked(cert):
            is_leaf = cert is path[-1]
            raise CertificateError(
                f"{what}: {certificate_label(cert)} (serial {cert.serial_number:x}) is revoked by the CRL "
                f"of {certificate_label(issuer)}; the platform or signing key is no longer trusted by Intel",
                code=revoked_leaf_code if is_leaf else "certificate_revoked",
                step=step,
            )
        if all(u is not crl for u in used):
            used.append(crl)
    return tuple(used)


def _link_in(issuer: x509.Certificate, cert: x509.Certificate, links: Collection[Link]) -> bool:
    """``(issuer, cert) in links``, certificates compared by DER (:func:`_same_certificate`), none hashed."""
    return any(_same_certificate(c, cert) and _same_certificate(i, issuer) for i, c in links)


def verify_chain(
    chain: CertificateInput,
    *,
    root: x509.Certificate,
    now: Instant | None,
    crls: Sequence[VerifiedCrl] | None,
    code: str,
    step: str,
    what: str = "the certificate chain",
    expected_length: int | None = None,
    leaf_is_ca: bool = False,
    revoked_leaf_code: str = "certificate_revoked",
    verified_links: Collection[Link] = (),
) -> VerifiedChain:
    """Build and check a path from ``chain`` to the trusted ``root``.

    Order of checks (first failure wins): decoding and path building by
    subject/issuer linkage (``code``; ``untrusted_root`` if the path ends at
    a self-signed certificate other than ``root``), path length, signatures
    (``code``), basicConstraints / keyUsage / pathLen (``code``), revocation
    of every certificate below the root by a CRL of its issuer in ``crls``
    (``crl_invalid`` if none is given; ``certificate_revoked``, or
    ``revoked_leaf_code`` for the leaf), then validity of every certificate,
    root included, and of the CRLs used (skipped when ``now`` is None;
    the windows are returned in ``time_bounds`` either way).

    ``crls=None`` skips revocation: only for callers that run
    :func:`check_revocation` on the returned path themselves.

    ``verified_links``: ``(issuer, certificate)`` pairs whose signature was
    already verified (``VerifiedChain.links`` of a chain to the same root);
    certificates compare by DER, so only the identical signature by the
    identical issuer is skipped. Every other check still runs on them.

    The root may be absent from ``chain``: the path is completed with
    ``root`` when the top certificate names ``root`` as its issuer, and its
    signature must then verify with ``root``'s key.
    """
    t = as_utc(now) if now is not None else None  # a bad time fails before any work
    certs = chain if isinstance(chain, DecodedChain) else load_certificates(chain, code=code, step=step, what=what)
    path, root_included = _build_path(certs, root, code, step, what)
    if expected_length is not None and len(path) != expected_length:
        raise CertificateError(
            f"{what} has {len(path)} certificates from root to leaf; Intel's PKI uses {expected_length}",
            code=code,
            step=step,
        )
    for issuer, cert in itertools.pairwise(path):
        if _link_in(issuer, cert, verified_links):  # this very signature already verified, see VerifiedChain.links
            continue
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            extra = " (the trusted root)" if issuer is root else ""
            raise CertificateError(
                f"{what}: the signature on {certificate_label(cert)} does not verify with the key of "
                f"{certificate_label(issuer)}{extra}; the chain is forged, corrupted or from another PKI",
                code=code,
                step=step,
            ) from None
    _check_constraints(path, leaf_is_ca, code, step, what)

    used = (
        check_revocation(path, crls, step=step, what=what, revoked_leaf_code=revoked_leaf_code)
        if crls is not None
        else ()
    )

    bounds = tuple(certificate_bound(c, step) for c in path) + tuple(c.time_bound for c in used)
    if t is not None:
        check_time_bounds(bounds, t)
    return VerifiedChain(certificates=tuple(path), root_included=root_included, time_bounds=bounds)


# --------------------------------------------------------------------------- PCK chains


@dataclass(frozen=True, eq=False)
class PckChain:
    """A verified PCK certificate chain and the typed contents of its leaf."""

    certificates: tuple[x509.Certificate, ...]
    """Root -> PCK CA -> PCK leaf."""
    leaf: x509.Certificate
    public_key: ec.EllipticCurvePublicKey
    """The PCK leaf's key: it signs the QE report."""
    extension: PckExtension
    ca: Literal["platform", "processor"]
    """Which PCK CA issued the leaf (from the issuer's common name)."""
    root_included: bool
    time_bounds: tuple[TimeBound, ...]

    @cached_property
    def window(self) -> TimeWindow:
        """The intersection of ``time_bounds``: where a cached chain is valid."""
        return time_window(self.time_bounds)


def _pck_ca_kind(leaf: x509.Certificate, step: str) -> Literal["platform", "processor"]:
    try:
        cns = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        cns = []
    cn = str(cns[0].value).lower() if cns else ""
    words = set(re.split(r"[^a-z]+", cn))
    if "platform" in words and "processor" not in words:
        return "platform"
    if "processor" in words and "platform" not in words:
        return "processor"
    raise CertificateError(
        f"the PCK certificate's issuer {_name_label(leaf.issuer)} is neither a PCK Platform CA nor a PCK Processor CA",
        code="pck_chain_invalid",
        step=step,
    )


def verify_pck_chain(
    chain: CertificateInput,
    *,
    root: x509.Certificate,
    now: Instant | None,
    crls: Sequence[VerifiedCrl],
    step: str = "pck_chain",
    verified_links: Collection[Link] = (),
    known: Mapping[bytes, x509.Certificate] | None = None,
) -> PckChain:
    """Verify a PCK chain (root, PCK Platform/Processor CA, PCK leaf) at ``now``.

    ``crls`` (e.g. ``AuthenticatedCollateral.crls``) must hold the root CA
    CRL, which checks the PCK CA, and the PCK CRL of the very CA (name and
    key) that issued the leaf, which checks the leaf (``pck_revoked``); a
    missing or mismatched CRL is ``crl_invalid``. The windows of the CRLs
    used are re-checked at ``now``. Other codes as :func:`verify_chain`, with
    ``pck_chain_invalid`` for structural and signature problems and
    ``pck_extension_invalid`` for the leaf's SGX extension.
    """
    what = "the PCK certificate chain"
    certs = load_certificates(chain, code="pck_chain_invalid", step=step, what=what, known=known)
    verified = verify_chain(
        certs,
        root=root,
        now=now,
        crls=crls,
        code="pck_chain_invalid",
        step=step,
        what=what,
        expected_length=3,
        revoked_leaf_code="pck_revoked",
        verified_links=verified_links,
    )
    leaf = verified.leaf
    require_common_name(leaf, PCK_CERTIFICATE_CN, code="pck_chain_invalid", step=step, what="the PCK certificate")
    return PckChain(
        certificates=verified.certificates,
        leaf=leaf,
        public_key=_p256_key(leaf, "pck_chain_invalid", step),
        extension=pck_extension_of(leaf),
        ca=_pck_ca_kind(leaf, step),
        root_included=verified.root_included,
        time_bounds=verified.time_bounds,
    )


PCK_CERTIFICATE_CN = "SGX PCK Certificate"
"""Intel's QVL requires the PCK certificate's common name to contain this (``STATUS_INVALID_PCK_CERT``)."""
TCB_SIGNING_CN = "SGX TCB Signing"
"""Intel's QVL requires the TCB signing certificate's common name to contain this
(``STATUS_SGX_TCB_SIGNING_CERT_MISSING``)."""


def require_common_name(cert: x509.Certificate, phrase: str, *, code: str, step: str, what: str) -> None:
    """Raise ``code`` unless a common name of ``cert``'s subject contains ``phrase``."""
    try:
        cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    except ValueError:
        cns = []
    if not any(phrase in cn for cn in cns):
        raise CertificateError(
            f"{what} is named {certificate_label(cert)}, but Intel's certificate profile requires its common "
            f"name to contain {phrase!r}: it is not the kind of certificate this chain needs",
            code=code,
            step=step,
        )


def signing_key_of(cert: x509.Certificate, *, code: str, step: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of ``cert``; ``code`` if it has another kind of key."""
    return _p256_key(cert, code, step)
