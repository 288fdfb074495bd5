"""Load Intel collateral and authenticate it against the trusted root.

Two input formats (``docs/trust.md`` has the details):

1. dcap-qvl's ``QuoteCollateralV3`` JSON: ``tcb_info`` / ``qe_identity``
   hold the exact signed JSON text, signatures are hex ``r || s``, CRLs hex DER.
2. A *PCS bundle*: Intel PCS v4 response bodies kept as served
   (``tcb_info_response``, ``qe_identity_response``), the issuer chains from
   the PCS response headers, and the CRLs. The signed bytes are cut out of
   the served body as an exact span; nothing is ever re-serialised.

:func:`load_collateral` parses either into a frozen :class:`Collateral` (raw
bytes plus typed :class:`~tdxverify.tcbinfo.TcbInfo` /
:class:`~tdxverify.tcbinfo.QeIdentity`). :func:`authenticate_collateral`
checks signatures, chains to the root, CRLs and every time window, and
returns an :class:`AuthenticatedCollateral`, whose :meth:`~AuthenticatedCollateral.check_time`
re-applies the time checks without any cryptography.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .errors import CertificateError, CollateralError, VerificationError
from .limits import DEFAULT_LIMITS, Limits, check_size
from .pki import (
    TCB_SIGNING_CN,
    Instant,
    Link,
    TimeBound,
    TimeWindow,
    VerifiedChain,
    VerifiedCrl,
    as_utc,
    certificate_bound,
    check_revocation,
    check_time_bounds,
    check_time_window,
    load_certificates,
    load_crl,
    load_root_ca,
    pem_chain,
    require_common_name,
    signing_key_of,
    time_window,
    verify_chain,
    verify_crl,
    verify_raw_signature,
)
from .strictjson import JsonProblem, loads_strict
from .tcbinfo import QeIdentity, TcbInfo, parse_qe_identity, parse_tcb_info

__all__ = [
    "AuthenticatedCollateral",
    "Collateral",
    "CollateralFormat",
    "CollateralSource",
    "authenticate_collateral",
    "json_member_span",
    "load_and_authenticate",
    "load_collateral",
]

CollateralFormat = Literal["dcap-qvl", "pcs-bundle"]
CollateralSource = str | bytes | os.PathLike[str] | Mapping[str, Any]

_DCAP_QVL_KEYS = (
    "pck_crl_issuer_chain",
    "root_ca_crl",
    "pck_crl",
    "tcb_info_issuer_chain",
    "tcb_info",
    "tcb_info_signature",
    "qe_identity_issuer_chain",
    "qe_identity",
    "qe_identity_signature",
)
_BUNDLE_KEYS = (
    "tcb_info_response",
    "tcb_info_issuer_chain",
    "qe_identity_response",
    "qe_identity_issuer_chain",
    "pck_crl_issuer_chain",
    "root_ca_crl",
    "pck_crl",
)
_HEX_SIG = re.compile(r"(?:0[xX])?[0-9a-fA-F]{128}")
_REFRESH = "fetch fresh collateral from Intel PCS / the PCCS (e.g. `tdxverify fetch-collateral`)"


def _fmt(msg: str, step: str = "collateral") -> CollateralError:
    return CollateralError(f"collateral: {msg}", code="collateral_format", step=step)


def _missing(msg: str, step: str = "collateral") -> CollateralError:
    return CollateralError(f"collateral: {msg}", code="collateral_missing", step=step)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- exact JSON spans


def _loads(text: str, what: str) -> Any:
    try:
        return loads_strict(text)
    except JsonProblem as exc:
        raise _fmt(f"{what} {exc}") from None


_WS = " \t\r\n"


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_STRUCTURE = re.compile(r'["{}\[\]]')


def _string_end(text: str, i: int) -> int:
    """Index just past the JSON string starting at ``text[i] == '"'``."""
    m = _JSON_STRING.match(text, i)
    if m is None:
        raise ValueError(f"unterminated string at offset {i}")
    return m.end()


def _value_end(text: str, i: int) -> int:
    """Index just past the JSON value starting at ``text[i]`` (the text is known to be valid JSON)."""
    c = text[i]
    if c == '"':
        return _string_end(text, i)
    if c in "{[":
        # Jump from one structural character to the next in C; strings are skipped whole.
        depth = 0
        j = i
        while True:
            m = _JSON_STRUCTURE.search(text, j)
            if m is None:
                raise ValueError(f"unterminated value at offset {i}")
            c = m.group()
            if c == '"':
                j = _string_end(text, m.start())
                continue
            depth += 1 if c in "{[" else -1
            j = m.end()
            if depth == 0:
                return j
    j = i
    while j < len(text) and text[j] not in ",}] \t\r\n":
        j += 1
    if j == i:
        raise ValueError(f"no JSON value at offset {i}")
    return j


def json_member_span(text: str, key: str) -> tuple[int, int]:
    """``(start, end)`` such that ``text[start:end]`` is, character for character,
    the value of the top-level member ``key`` of the JSON object ``text``.

    This is how the signed bytes of a PCS response (the value of ``tcbInfo``
    or ``enclaveIdentity``) are taken: as served, never re-serialised.
    ``text`` must be one JSON object without duplicate keys
    (``collateral_format`` otherwise); a missing ``key`` is ``collateral_missing``.
    """
    top = _loads(text, "the JSON text")
    if not isinstance(top, dict):
        raise _fmt("the JSON text is not an object")
    if key not in top:
        raise _missing(f"the JSON object has no {key!r} member")
    return _member_span(text, key)


def _member_span(text: str, key: str) -> tuple[int, int]:
    """:func:`json_member_span` for a ``text`` already parsed as strict JSON with a top-level ``key``.

    Scans the text once, without parsing it again.
    """
    try:
        i = _skip_ws(text, 0)
        if text[i] != "{":
            raise ValueError("not an object")
        i = _skip_ws(text, i + 1)
        while text[i] != "}":
            key_end = _string_end(text, i)
            name = json.loads(text[i:key_end])
            i = _skip_ws(text, key_end)
            if text[i] != ":":
                raise ValueError(f"expected ':' at offset {i}")
            start = _skip_ws(text, i + 1)
            end = _value_end(text, start)
            if name == key:
                return start, end
            i = _skip_ws(text, end)
            if text[i] == ",":
                i = _skip_ws(text, i + 1)
            elif text[i] != "}":
                raise ValueError(f"expected ',' or '}}' at offset {i}")
    except (IndexError, ValueError) as exc:
        raise _fmt(f"cannot locate the {key!r} member ({exc})") from None
    raise _missing(f"the JSON object has no {key!r} member")  # unreachable: json.loads saw it


# --------------------------------------------------------------------------- Collateral


@dataclass(frozen=True, eq=False)
class Collateral:
    """Collateral as loaded: raw signed bytes kept exactly, plus typed content. Not yet authenticated."""

    format: CollateralFormat
    tcb_info_raw: bytes
    """The exact bytes the TCB info signature covers."""
    tcb_info_signature: bytes
    """64 bytes, ECDSA P-256 ``r || s``."""
    tcb_info_issuer_chain: tuple[x509.Certificate, ...]
    qe_identity_raw: bytes
    qe_identity_signature: bytes
    qe_identity_issuer_chain: tuple[x509.Certificate, ...]
    pck_crl_issuer_chain: tuple[x509.Certificate, ...]
    root_ca_crl: x509.CertificateRevocationList
    pck_crl: x509.CertificateRevocationList
    pck_certificate_chain: tuple[x509.Certificate, ...] | None
    """Optional and unverified; check it with :func:`tdxverify.pki.verify_pck_chain` before use."""
    tcb_info: TcbInfo
    qe_identity: QeIdentity
    tcb_info_response: str | None = None
    """PCS bundle only: the TCB info response body as served."""
    qe_identity_response: str | None = None
    """PCS bundle only: the QE identity response body as served."""

    @property
    def root_ca_crl_der(self) -> bytes:
        return self.root_ca_crl.public_bytes(serialization.Encoding.DER)

    @cached_property
    def fingerprint(self) -> bytes:
        """SHA-256 over every raw piece (signed bytes, signatures, chains, CRLs).

        Equality and hashing use it, so two loads of the same collateral are
        interchangeable as cache keys.
        """
        h = hashlib.sha256()
        parts: list[bytes] = [
            self.tcb_info_raw,
            self.tcb_info_signature,
            self.qe_identity_raw,
            self.qe_identity_signature,
            self.root_ca_crl_der,
            self.pck_crl_der,
        ]
        for chain in (
            self.tcb_info_issuer_chain,
            self.qe_identity_issuer_chain,
            self.pck_crl_issuer_chain,
            self.pck_certificate_chain or (),
        ):
            parts.append(b"".join(c.public_bytes(serialization.Encoding.DER) for c in chain))
        for part in parts:
            h.update(len(part).to_bytes(8, "big") + part)
        return h.digest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Collateral):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @property
    def pck_crl_der(self) -> bytes:
        return self.pck_crl.public_bytes(serialization.Encoding.DER)

    def to_dcap_qvl(self) -> dict[str, str]:
        """This collateral in dcap-qvl's ``QuoteCollateralV3`` JSON shape (the signed text unchanged)."""
        out = {
            "pck_crl_issuer_chain": pem_chain(self.pck_crl_issuer_chain),
            "root_ca_crl": self.root_ca_crl_der.hex(),
            "pck_crl": self.pck_crl_der.hex(),
            "tcb_info_issuer_chain": pem_chain(self.tcb_info_issuer_chain),
            "tcb_info": self.tcb_info_raw.decode("utf-8"),
            "tcb_info_signature": self.tcb_info_signature.hex(),
            "qe_identity_issuer_chain": pem_chain(self.qe_identity_issuer_chain),
            "qe_identity": self.qe_identity_raw.decode("utf-8"),
            "qe_identity_signature": self.qe_identity_signature.hex(),
        }
        if self.pck_certificate_chain is not None:
            out["pck_certificate_chain"] = pem_chain(self.pck_certificate_chain)
        return out

    def time_bounds(self) -> tuple[TimeBound, ...]:
        """Every validity window in this collateral, as given (unauthenticated).

        Order: certificates of the TCB info, QE identity and PCK CRL issuer
        chains (each once), root CA CRL, PCK CRL, TCB info, QE identity.
        """
        bounds: list[TimeBound] = []
        seen: set[bytes] = set()
        for step, chain in (
            ("tcb_info", self.tcb_info_issuer_chain),
            ("qe_identity", self.qe_identity_issuer_chain),
            ("pck_crl", self.pck_crl_issuer_chain),
        ):
            for cert in chain:
                der = cert.public_bytes(serialization.Encoding.DER)
                if der not in seen:
                    seen.add(der)
                    bounds.append(certificate_bound(cert, step))
        bounds.append(_crl_bound(self.root_ca_crl, "root_ca_crl"))
        bounds.append(_crl_bound(self.pck_crl, "pck_crl"))
        bounds.extend(_content_bounds(self.tcb_info, self.qe_identity))
        return tuple(bounds)

    def freshness(self, now: Instant) -> dict[str, Any]:
        """A JSON-ready freshness report of the unauthenticated content at ``now``."""
        return _freshness(self, self.time_bounds(), as_utc(now), authenticated=False)


def _crl_bound(crl: x509.CertificateRevocationList, step: str) -> TimeBound:
    next_update = crl.next_update_utc
    return TimeBound(
        kind="crl",
        label=f"the CRL of {_cn(crl.issuer)} ({step})",
        step=step,
        not_before=crl.last_update_utc,
        # A CRL without nextUpdate is rejected when authenticated; as given, it has no end.
        not_after=next_update if next_update is not None else datetime.max.replace(tzinfo=timezone.utc),
    )


def _content_bounds(tcb_info: TcbInfo, qe_identity: QeIdentity) -> tuple[TimeBound, TimeBound]:
    return (
        TimeBound(
            kind="tcb_info",
            label=f"the TCB info (FMSPC {tcb_info.fmspc.hex().upper()}, issued {_iso(tcb_info.issue_date)})",
            step="tcb_info",
            not_before=tcb_info.issue_date,
            not_after=tcb_info.next_update,
        ),
        TimeBound(
            kind="qe_identity",
            label=f"the QE identity ({qe_identity.id}, issued {_iso(qe_identity.issue_date)})",
            step="qe_identity",
            not_before=qe_identity.issue_date,
            not_after=qe_identity.next_update,
        ),
    )


def _cn(name: x509.Name) -> str:
    try:
        cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        cns = []
    return repr(str(cns[0].value)) if cns else repr(name.rfc4514_string())


# --------------------------------------------------------------------------- loading


def load_collateral(src: CollateralSource, *, limits: Limits | None = None) -> Collateral:
    """Load collateral from a path, JSON text (str starting with ``{``, or bytes),
    or an already-decoded mapping.

    A ``str`` that does not start with ``{`` or ``[`` (after whitespace) is a path;
    ``os.PathLike`` is always a path. Codes: ``input_invalid`` (unreadable
    path, unsupported argument), ``collateral_format`` (malformed JSON,
    field, type or encoding; duplicate keys), ``collateral_missing`` (a
    required piece absent), ``input_too_large`` (the document over
    ``limits.collateral`` or one member over ``limits.collateral_member``;
    default :data:`~tdxverify.limits.DEFAULT_LIMITS`).

    This parses the TCB info and QE identity before anything is authenticated;
    :func:`load_and_authenticate` checks their signatures first.
    """
    return _typed(_pieces(src, DEFAULT_LIMITS if limits is None else limits))


def _source_mapping(src: CollateralSource, limits: Limits) -> Mapping[str, Any]:
    """The collateral object of ``src`` (a mapping, JSON text or bytes, or a path), size-checked."""
    if isinstance(src, Mapping):
        return src
    if isinstance(src, (bytes, bytearray, memoryview)):
        _check_document(len(src), limits)
        try:
            text = bytes(src).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fmt(f"the collateral file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        return _from_text(text)
    if isinstance(src, str) and src.lstrip().startswith(("{", "[")):
        _check_document(len(src), limits)
        return _from_text(src)
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            with path.open("rb") as fh:
                data = fh.read(limits.collateral + 1)
        except (OSError, ValueError) as exc:
            raise VerificationError(
                f"cannot read the collateral file {str(path)!r:.200} ({exc}); check the path",
                code="input_invalid",
                step="collateral",
            ) from None
        check_size(
            len(data),
            limits.collateral,
            "the collateral file",
            name="collateral",
            step="collateral",
            error=CollateralError,
            truncated=True,
        )
        return _source_mapping(data, limits)
    raise VerificationError(
        f"collateral must be a path, JSON text or a mapping, not {type(src).__name__}",
        code="input_invalid",
        step="collateral",
    )


def _pieces(src: CollateralSource, limits: Limits) -> dict[str, Any]:
    """Every field of a :class:`Collateral` except the typed TCB info and QE identity."""
    return _from_mapping(_source_mapping(src, limits), limits)


def _typed(pieces: Mapping[str, Any]) -> Collateral:
    return Collateral(
        **pieces,
        tcb_info=parse_tcb_info(pieces["tcb_info_raw"]),
        qe_identity=parse_qe_identity(pieces["qe_identity_raw"]),
    )


def _check_document(size: int, limits: Limits) -> None:
    check_size(
        size, limits.collateral, "the collateral document", name="collateral", step="collateral", error=CollateralError
    )


def _from_text(text: str) -> dict[str, Any]:
    value = _loads(text.lstrip("\ufeff"), "the collateral")
    if isinstance(value, str) and value.lstrip().startswith("{"):
        # The collateral JSON inside a JSON string: what a contract's view (get_collateral) returns.
        value = _loads(value, "the collateral (inside a JSON string)")
    if not isinstance(value, dict):
        raise _fmt("the collateral JSON is not an object")
    return value


def _from_mapping(m: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    for key, value in m.items():
        if isinstance(value, (str, bytes, bytearray)):
            check_size(
                len(value),
                limits.collateral_member,
                f"the collateral member {str(key)[:40]!r}",
                name="collateral_member",
                step="collateral",
                error=CollateralError,
            )
    if "tcb_info_response" in m or "qe_identity_response" in m:
        return _from_bundle(m)
    if "tcb_info" in m or "qe_identity" in m:
        return _from_dcap_qvl(m)
    if "tcbInfo" in m or "enclaveIdentity" in m:
        raise _missing(
            "this is a bare Intel PCS response; put the TCB info and QE identity responses, their issuer "
            "chains and the CRLs into one PCS bundle (see docs/trust.md), or use dcap-qvl's collateral JSON"
        )
    raise _fmt(
        "not a recognised collateral object: expected dcap-qvl QuoteCollateralV3 keys "
        f"({', '.join(_DCAP_QVL_KEYS)}) or a PCS bundle ({', '.join(_BUNDLE_KEYS)})"
    )


def _require(m: Mapping[str, Any], keys: tuple[str, ...], what: str) -> None:
    absent = [k for k in keys if m.get(k) is None]
    if absent:
        raise _missing(f"{what} lacks {', '.join(absent)}; {_REFRESH}")


def _text(m: Mapping[str, Any], key: str) -> str:
    value = m[key]
    if not isinstance(value, str):
        raise _fmt(f"{key} must be a string, not {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _chain(m: Mapping[str, Any], key: str) -> tuple[x509.Certificate, ...]:
    value = m[key]
    if not isinstance(value, (str, bytes)):
        raise _fmt(f"{key} must be PEM text, not {_json_kind(value)}")
    try:
        return load_certificates(value, code="collateral_format", step="collateral", what=key)
    except CertificateError as exc:
        raise _fmt(exc.message) from None


def _same_chain(
    m: Mapping[str, Any], key: str, other_key: str, other: tuple[x509.Certificate, ...]
) -> tuple[x509.Certificate, ...]:
    """``_chain(m, key)``, reusing ``other`` (loaded from ``other_key``) when the two texts are identical."""
    if isinstance(m[key], (str, bytes)) and m[key] == m[other_key]:
        return other
    return _chain(m, key)


def _crl(m: Mapping[str, Any], key: str) -> x509.CertificateRevocationList:
    value = m[key]
    if not isinstance(value, (str, bytes)):
        raise _fmt(f"{key} must be hex DER, PEM or DER bytes, not {_json_kind(value)}")
    try:
        return load_crl(value, step=key, what=key)
    except CertificateError as exc:
        raise _fmt(exc.message, step=key) from None


def _signature(value: Any, what: str, step: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, str) and _HEX_SIG.fullmatch(value.strip()):
        text = value.strip()
        raw = bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)
    else:
        raise _fmt(f"{what} must be 128 hex digits (64 bytes, r || s)", step)
    if len(raw) != 64:
        raise _fmt(f"{what} is {len(raw)} bytes; expected 64 (r || s)", step)
    return raw


def _chain_opt(m: Mapping[str, Any], key: str) -> tuple[x509.Certificate, ...] | None:
    if m.get(key) is None or m.get(key) == "":
        return None
    return _chain(m, key)


def _from_dcap_qvl(m: Mapping[str, Any]) -> dict[str, Any]:
    _require(m, _DCAP_QVL_KEYS, "the dcap-qvl collateral")
    tcb_text = _text(m, "tcb_info")
    qe_text = _text(m, "qe_identity")
    tcb_raw = tcb_text.encode("utf-8")
    qe_raw = qe_text.encode("utf-8")
    return dict(
        format="dcap-qvl",
        tcb_info_raw=tcb_raw,
        tcb_info_signature=_signature(m["tcb_info_signature"], "tcb_info_signature", "tcb_info"),
        tcb_info_issuer_chain=(tcb_chain := _chain(m, "tcb_info_issuer_chain")),
        qe_identity_raw=qe_raw,
        qe_identity_signature=_signature(m["qe_identity_signature"], "qe_identity_signature", "qe_identity"),
        qe_identity_issuer_chain=_same_chain(m, "qe_identity_issuer_chain", "tcb_info_issuer_chain", tcb_chain),
        pck_crl_issuer_chain=_chain(m, "pck_crl_issuer_chain"),
        root_ca_crl=_crl(m, "root_ca_crl"),
        pck_crl=_crl(m, "pck_crl"),
        pck_certificate_chain=_chain_opt(m, "pck_certificate_chain"),
    )


def _pcs_body(m: Mapping[str, Any], key: str, member: str, step: str) -> tuple[str, bytes, bytes]:
    """(body as served, exact signed bytes, signature) of one PCS response."""
    body = m[key]
    if not isinstance(body, str):
        raise _fmt(
            f"{key} must be the PCS response body as served, in a JSON string; "
            "a parsed and re-serialised object no longer matches Intel's signature",
            step,
        )
    parsed = _loads(body, key)
    if not isinstance(parsed, dict):
        raise _fmt(f"{key} is not a JSON object", step)
    for k in (member, "signature"):
        if k not in parsed:
            raise _missing(f"{key} has no {k!r} member; it is not an Intel PCS v4 {member} response", step)
    if not isinstance(parsed[member], dict):
        raise _fmt(f"{key}: {member!r} must be an object", step)
    start, end = _member_span(body, member)  # body was parsed (strictly) just above
    signature = _signature(parsed["signature"], f"{key}: 'signature'", step)
    return body, body[start:end].encode("utf-8"), signature


def _from_bundle(m: Mapping[str, Any]) -> dict[str, Any]:
    _require(m, _BUNDLE_KEYS, "the PCS bundle")
    tcb_body, tcb_raw, tcb_sig = _pcs_body(m, "tcb_info_response", "tcbInfo", "tcb_info")
    qe_body, qe_raw, qe_sig = _pcs_body(m, "qe_identity_response", "enclaveIdentity", "qe_identity")
    return dict(
        format="pcs-bundle",
        tcb_info_raw=tcb_raw,
        tcb_info_signature=tcb_sig,
        tcb_info_issuer_chain=(tcb_chain := _chain(m, "tcb_info_issuer_chain")),
        qe_identity_raw=qe_raw,
        qe_identity_signature=qe_sig,
        qe_identity_issuer_chain=_same_chain(m, "qe_identity_issuer_chain", "tcb_info_issuer_chain", tcb_chain),
        pck_crl_issuer_chain=_chain(m, "pck_crl_issuer_chain"),
        root_ca_crl=_crl(m, "root_ca_crl"),
        pck_crl=_crl(m, "pck_crl"),
        pck_certificate_chain=_chain_opt(m, "pck_certificate_chain"),
        tcb_info_response=tcb_body,
        qe_identity_response=qe_body,
    )


# --------------------------------------------------------------------------- authentication


@dataclass(frozen=True, eq=False)
class AuthenticatedCollateral:
    """Collateral whose signatures, chains and CRLs verified against ``root``.

    The cryptography is time-independent and done once; :meth:`check_time`
    re-applies every time window (same semantics and codes as
    :func:`authenticate_collateral`), so a cache can reuse this object and
    still fail closed when ``now`` leaves the window.
    """

    collateral: Collateral
    root: x509.Certificate
    tcb_info: TcbInfo
    qe_identity: QeIdentity
    root_ca_crl: VerifiedCrl
    """Verified with the root: use it for :func:`tdxverify.pki.verify_pck_chain`."""
    pck_crl: VerifiedCrl
    """Verified with the PCK CRL issuer chain's leaf: use it for :func:`tdxverify.pki.verify_pck_chain`."""
    tcb_info_chain: VerifiedChain
    qe_identity_chain: VerifiedChain
    pck_crl_issuer_chain: VerifiedChain
    time_bounds: tuple[TimeBound, ...]
    """Every window checked, in checking order: root and chain certificates, CRLs, TCB info, QE identity."""

    @property
    def pck_certificate_chain(self) -> tuple[x509.Certificate, ...] | None:
        """The collateral's own PCK chain, if any. Unverified: use verify_pck_chain."""
        return self.collateral.pck_certificate_chain

    @cached_property
    def verified_links(self) -> frozenset[Link]:
        """Every certificate signature verified to the root here: a PCK chain through the same
        PCK CA (the PCK CRL issuer) need not verify that CA's signature again."""
        return self.tcb_info_chain.links | self.qe_identity_chain.links | self.pck_crl_issuer_chain.links

    @cached_property
    def decoded_certificates(self) -> Mapping[bytes, x509.Certificate]:
        """DER -> certificate, for every certificate of the verified chains (already decoded):
        pass as ``known=`` so a PCK chain holding the same root and PCK CA does not decode them again."""
        out: dict[bytes, x509.Certificate] = {}
        for chain in (self.tcb_info_chain, self.qe_identity_chain, self.pck_crl_issuer_chain):
            for cert in chain.certificates:
                out.setdefault(cert.public_bytes(serialization.Encoding.DER), cert)
        return MappingProxyType(out)

    @property
    def crls(self) -> tuple[VerifiedCrl, VerifiedCrl]:
        """(root CA CRL, PCK CRL): pass as ``crls=`` to :func:`tdxverify.pki.verify_pck_chain`."""
        return (self.root_ca_crl, self.pck_crl)

    @cached_property
    def root_fingerprint(self) -> bytes:
        """SHA-256 of the DER of the root this collateral was authenticated against."""
        return hashlib.sha256(self.root.public_bytes(serialization.Encoding.DER)).digest()

    @property
    def tcb_evaluation_data_number(self) -> int:
        return self.tcb_info.tcb_evaluation_data_number

    @property
    def valid_from(self) -> datetime:
        """The latest start of all windows: before it, something is not yet valid."""
        return self.window.start

    @property
    def expires_at(self) -> datetime:
        """The earliest end of all windows (a CRL is already expired at its nextUpdate itself)."""
        return self.window.end

    @cached_property
    def expires_first(self) -> TimeBound:
        """The window that ends first."""
        return min(self.time_bounds, key=lambda b: (b.not_after, b.end_inclusive))

    @cached_property
    def window(self) -> TimeWindow:
        """The intersection of ``time_bounds``: one comparison pair decides them all."""
        return time_window(self.time_bounds)

    def check_time(self, now: Instant) -> None:
        """Raise the coded error of the first window ``now`` is outside of; no cryptography."""
        check_time_window(self.time_bounds, self.window, as_utc(now))

    def is_valid_at(self, now: Instant) -> bool:
        t = as_utc(now)
        return all(b.contains(t) for b in self.time_bounds)

    def freshness(self, now: Instant) -> dict[str, Any]:
        """A JSON-ready freshness report at ``now`` (for the CLI ``collateral`` command)."""
        return _freshness(self.collateral, self.time_bounds, as_utc(now), authenticated=True)


def _freshness(c: Collateral, bounds: tuple[TimeBound, ...], now: datetime, *, authenticated: bool) -> dict[str, Any]:
    error: dict[str, str] | None = None
    try:
        check_time_bounds(bounds, now)
    except VerificationError as exc:
        error = exc.to_dict()
    first = min(bounds, key=lambda b: (b.not_after, b.end_inclusive))
    valid_from = max(b.not_before for b in bounds)
    ti, qe = c.tcb_info, c.qe_identity
    return {
        "authenticated": authenticated,
        "format": c.format,
        "now": _iso(now),
        "fresh": error is None,
        "error": error,
        "valid_from": _iso(valid_from),
        "expires_at": _iso(first.not_after),
        "expires_first": first.label,
        "seconds_until_expiry": int((first.not_after - now).total_seconds()),
        "tcb_evaluation_data_number": ti.tcb_evaluation_data_number,
        "tcb_info": {
            "id": ti.id,
            "version": ti.version,
            "fmspc": ti.fmspc.hex().upper(),
            "pce_id": ti.pce_id.hex().upper(),
            "issue_date": _iso(ti.issue_date),
            "next_update": _iso(ti.next_update),
            "tcb_evaluation_data_number": ti.tcb_evaluation_data_number,
        },
        "qe_identity": {
            "id": qe.id,
            "version": qe.version,
            "issue_date": _iso(qe.issue_date),
            "next_update": _iso(qe.next_update),
            "tcb_evaluation_data_number": qe.tcb_evaluation_data_number,
        },
        "root_ca_crl": _crl_facts(c.root_ca_crl),
        "pck_crl": _crl_facts(c.pck_crl),
        "windows": [b.to_dict(now) for b in bounds],
    }


def _crl_facts(crl: x509.CertificateRevocationList) -> dict[str, Any]:
    nu = crl.next_update_utc
    return {
        "issuer": _cn(crl.issuer).strip("'\""),
        "this_update": _iso(crl.last_update_utc),
        "next_update": _iso(nu) if nu is not None else None,
        "revoked_count": sum(1 for _ in crl),
    }


def _signed_document(
    chain_src: Any,
    anchor: x509.Certificate,
    raw: bytes,
    signature: bytes,
    *,
    code: str,
    step: str,
    what: str,
    verified: VerifiedChain | None = None,
) -> VerifiedChain:
    """Verify a signed document's issuer chain to ``anchor``, then its signature over the exact ``raw`` bytes.

    ``verified``: the same chain (certificate for certificate), already verified
    to the same anchor in this call; its links are not checked twice.
    """
    chain = verified or verify_chain(
        chain_src,
        root=anchor,
        now=None,
        crls=None,
        code="tcb_signing_chain_invalid",
        step=step,
        what=f"the {what} issuer chain",
        expected_length=2,
    )
    require_common_name(
        chain.leaf, TCB_SIGNING_CN, code="tcb_signing_chain_invalid", step=step, what=f"the {what} signing certificate"
    )
    key = signing_key_of(chain.leaf, code="tcb_signing_chain_invalid", step=step)
    if not verify_raw_signature(key, raw, signature):
        raise CollateralError(
            f"the {what} signature does not verify with the key of the signing certificate; the {what} "
            f"was altered (even re-formatting breaks it) or is not Intel's; {_REFRESH}",
            code=code,
            step=step,
        )
    return chain


def authenticate_collateral(
    collateral: Collateral,
    *,
    now: Instant,
    root: x509.Certificate | None = None,
) -> AuthenticatedCollateral:
    """Authenticate ``collateral`` against ``root`` (default: the pinned Intel SGX Root CA) at ``now``.

    Order (first failure wins; codes in parentheses):

    1. TCB info issuer chain to the root (``untrusted_root``,
       ``tcb_signing_chain_invalid``), then the TCB info signature over its
       exact bytes (``tcb_info_signature_invalid``);
    2. the same for the QE identity (``qe_identity_signature_invalid``);
    3. PCK CRL issuer chain to the root (``untrusted_root``, ``crl_invalid``);
    4. root CA CRL issued and signed by the root (``crl_invalid``), and every
       certificate of the three chains checked against it (``certificate_revoked``);
    5. PCK CRL issued and signed by the PCK CRL issuer chain's leaf (``crl_invalid``);
    6. every time window at ``now``: certificates (``certificate_not_yet_valid``
       / ``certificate_expired``), CRLs (``crl_not_yet_valid`` / ``crl_expired``),
       TCB info and QE identity (``collateral_not_yet_valid`` / ``collateral_expired``).
    """
    t = as_utc(now)
    anchor = root if root is not None else load_root_ca()
    signed = {
        name: getattr(collateral, name)
        for name in (
            "tcb_info_issuer_chain",
            "tcb_info_raw",
            "tcb_info_signature",
            "qe_identity_issuer_chain",
            "qe_identity_raw",
            "qe_identity_signature",
        )
    }
    tcb_chain, qe_chain = _signed_documents(signed, anchor)
    return _authenticate(collateral, t, anchor, tcb_chain, qe_chain)


def load_and_authenticate(
    src: CollateralSource,
    *,
    now: Instant,
    root: x509.Certificate | None = None,
    limits: Limits | None = None,
) -> AuthenticatedCollateral:
    """:func:`load_collateral` then :func:`authenticate_collateral`, but the TCB info and QE
    identity signatures (and their issuer chains) are verified over the exact signed bytes
    *before* those documents are parsed: unsigned content costs a hash, not a parse.

    Codes and their order are :func:`authenticate_collateral`'s, except that a document
    which is malformed *and* not validly signed reports the signature failure
    (``load_collateral`` would report ``collateral_format``).
    """
    t = as_utc(now)
    anchor = root if root is not None else load_root_ca()
    pieces = _pieces(src, DEFAULT_LIMITS if limits is None else limits)
    tcb_chain, qe_chain = _signed_documents(pieces, anchor)
    return _authenticate(_typed(pieces), t, anchor, tcb_chain, qe_chain)


def _signed_documents(pieces: Mapping[str, Any], anchor: x509.Certificate) -> tuple[VerifiedChain, VerifiedChain]:
    """Steps 1 and 2 of :func:`authenticate_collateral`, on the raw pieces (nothing typed needed)."""
    # Chains first (anchoring, signatures, constraints): collateral from another
    # PKI then reports untrusted_root rather than a CRL signature failure.
    tcb_chain = _signed_document(
        pieces["tcb_info_issuer_chain"],
        anchor,
        pieces["tcb_info_raw"],
        pieces["tcb_info_signature"],
        code="tcb_info_signature_invalid",
        step="tcb_info",
        what="TCB info",
    )
    # Intel signs both documents with one TCB signing certificate: the identical
    # chain is verified once (Certificate equality compares the DER).
    same = pieces["qe_identity_issuer_chain"] == pieces["tcb_info_issuer_chain"]
    qe_chain = _signed_document(
        pieces["qe_identity_issuer_chain"],
        anchor,
        pieces["qe_identity_raw"],
        pieces["qe_identity_signature"],
        code="qe_identity_signature_invalid",
        step="qe_identity",
        what="QE identity",
        verified=tcb_chain if same else None,
    )
    return tcb_chain, qe_chain


def _authenticate(
    collateral: Collateral,
    t: datetime,
    anchor: x509.Certificate,
    tcb_chain: VerifiedChain,
    qe_chain: VerifiedChain,
) -> AuthenticatedCollateral:
    """Steps 3-6 of :func:`authenticate_collateral`, after both documents' signatures verified."""
    crl_chain = verify_chain(
        collateral.pck_crl_issuer_chain,
        root=anchor,
        now=None,
        crls=None,
        code="crl_invalid",
        step="pck_crl",
        what="the PCK CRL issuer chain",
        expected_length=2,
        leaf_is_ca=True,
    )

    # Then revocation: the root CA CRL covers everything the root issued.
    root_crl = verify_crl(collateral.root_ca_crl, anchor, now=None, step="root_ca_crl")
    for chain, step, what in (
        (tcb_chain, "tcb_info", "the TCB info issuer chain"),
        (qe_chain, "qe_identity", "the QE identity issuer chain"),
        (crl_chain, "pck_crl", "the PCK CRL issuer chain"),
    ):
        check_revocation(chain.certificates, (root_crl,), step=step, what=what)
    pck_crl = verify_crl(collateral.pck_crl, crl_chain.leaf, now=None, step="pck_crl")

    bounds: list[TimeBound] = [certificate_bound(anchor, "root_ca"), root_crl.time_bound]
    seen: set[bytes] = set()
    for step, chain in (("tcb_info", tcb_chain), ("qe_identity", qe_chain), ("pck_crl", crl_chain)):
        for cert in chain.certificates[1:]:
            der = cert.public_bytes(serialization.Encoding.DER)
            if der not in seen:  # the TCB signing certificate usually signs both
                seen.add(der)
                bounds.append(certificate_bound(cert, step))
    bounds.append(pck_crl.time_bound)
    bounds.extend(_content_bounds(collateral.tcb_info, collateral.qe_identity))

    out = AuthenticatedCollateral(
        collateral=collateral,
        root=anchor,
        tcb_info=collateral.tcb_info,
        qe_identity=collateral.qe_identity,
        root_ca_crl=root_crl,
        pck_crl=pck_crl,
        tcb_info_chain=tcb_chain,
        qe_identity_chain=qe_chain,
        pck_crl_issuer_chain=crl_chain,
        time_bounds=tuple(bounds),
    )
    out.check_time(t)
    return out
